#!/usr/bin/env bash
# ticketd in five minutes: installs what is missing, starts a sandbox Dovecot + Postfix on
# loopback ports, mails a shared "support" mailbox from customers writing in six languages (and
# one auto-reply that must not be answered), builds ticketd, runs one pass, prints the tickets
# and shows an acknowledgement as the customer received it.
#
#   scripts/demo.sh           run the demo, then stop the sandbox
#   scripts/demo.sh --keep    leave the sandbox running to play with (it prints how to stop it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

scripts/install-mailserver.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DIR=$(mktemp -d /tmp/ticketd-demo.XXXXXX)
IMAP_PORT=$(free_port)
SMTP_PORT=$(free_port)
echo "==> starting the sandbox mail server in $DIR (IMAP 127.0.0.1:$IMAP_PORT, SMTP 127.0.0.1:$SMTP_PORT)"
tests/mailserver/start.sh "$DIR" "$IMAP_PORT" "$SMTP_PORT" >/dev/null
stop() { tests/mailserver/stop.sh "$DIR" >/dev/null 2>&1 || true; }
if [ "$KEEP" = 0 ]; then trap stop EXIT; fi

echo "==> customers write to support@example.test"
python3 - "$SMTP_PORT" <<'PY'
import smtplib, sys
from email.message import EmailMessage
from email.utils import make_msgid, formatdate
mails = [
    ("Kovács Anna <anna@customer.test>", "Nem működik a webshop", "Jó napot!\n\nReggel óta nem tölt be a webshop, kérem segítsenek.\n\nKöszönöm,\nAnna", "iso-8859-2"),
    ("Hans Müller <hans@other.test>", "Rechnung für Oktober fehlt", "Guten Tag,\n\ndie Rechnung für Oktober ist noch nicht angekommen.\n\nMit freundlichen Grüßen\nHans Müller", "iso-8859-1"),
    ("Petr Novák <petr@customer.test>", "Nefunguje přihlášení", "Dobrý den,\n\nod včerejška se nemohu přihlásit do systému. Prosím o pomoc.\n\nPetr", "iso-8859-2"),
    ("Zofia Wójcik <zofia@customer.test>", "Pilne: błąd przy zamówieniu", "Dzień dobry,\n\nprzy składaniu zamówienia pojawia się błąd. Proszę o pilną pomoc.\n\nZofia", "utf-8"),
    ("דנה לוי <dana@customer.test>", "בעיה בחשבון שלי", "שלום,\n\nאני לא מצליחה להיכנס לחשבון שלי מאז אתמול. אשמח לעזרה.\n\nתודה,\nדנה", "windows-1255"),
    ("John Smith <john@customer.test>", "Cannot download my invoice", "Hello,\n\nthe download link for my invoice gives an error page.\n\nThanks,\nJohn", "us-ascii"),
]
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as smtp:
    for sender, subject, body, charset in mails:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = sender, "support@example.test", subject
        m["Date"], m["Message-ID"] = formatdate(localtime=True), make_msgid(domain=sender.split("@")[1].rstrip(">"))
        m.set_content(body, charset=charset if charset != "us-ascii" else "utf-8")
        smtp.send_message(m)
    ooo = EmailMessage()
    ooo["From"], ooo["To"], ooo["Subject"] = "Out of Office <ooo@customer.test>", "support@example.test", "Automatic reply: I am away"
    ooo["Auto-Submitted"] = "auto-replied"
    ooo.set_content("I am out of the office until Monday.")
    smtp.send_message(ooo)
print("   sent 6 customer mails and 1 auto-reply")
PY

# Delivery through Postfix to Dovecot is asynchronous: wait for all seven.
for _ in $(seq 1 100); do
    n=$(curl -s --url "imap://127.0.0.1:$IMAP_PORT/" -u support@example.test:secret -X 'STATUS INBOX (MESSAGES)' | grep -o 'MESSAGES [0-9]*' | grep -o '[0-9]*' || echo 0)
    [ "${n:-0}" -ge 7 ] && break
    sleep 0.2
done

echo "==> building ticketd"
cargo build --quiet --locked
BIN="$ROOT/target/debug/ticketd"

mkdir -p "$DIR/ticketd"
cp -r rules "$DIR/ticketd/rules"
echo secret > "$DIR/ticketd/support.pass"
cat > "$DIR/ticketd/config.toml" <<TOML
[database]
path = "tickets.db"

[smtp]
host = "127.0.0.1"
port = $SMTP_PORT
from = "Support <support@example.test>"

[staff]
addresses = ["alice@example.test", "bob@example.test"]

[[mailbox]]
name = "support"
address = "support@example.test"
host = "127.0.0.1"
port = $IMAP_PORT
security = "none"
username = "support@example.test"
password_file = "support.pass"
department = "support"
TOML
export TICKETD_CONFIG="$DIR/ticketd/config.toml"

echo "==> ticketd check-config"
"$BIN" check-config
echo "==> ticketd run --once"
TICKETD_LOG=warn "$BIN" run --once
echo "==> ticketd tickets list"
"$BIN" tickets list

echo "==> the acknowledgement as Anna received it"
for _ in $(seq 1 50); do
    curl -s --url "imap://127.0.0.1:$IMAP_PORT/INBOX;UID=1" -u anna@customer.test:secret >"$DIR/ack.eml" 2>/dev/null && [ -s "$DIR/ack.eml" ] && break
    sleep 0.2
done
python3 - "$DIR/ack.eml" <<'PY'
import sys, email
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for h in ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Auto-Submitted", "X-Loop", "X-Ticket-ID", "Content-Language"]:
    if m[h] is not None:
        print(f"   {h}: {m[h]}")
print()
print("   " + m.get_content().replace("\n", "\n   "))
PY

if [ "$KEEP" = 1 ]; then
    cat <<EOF
==> the sandbox keeps running:
    export TICKETD_CONFIG=$TICKETD_CONFIG
    $BIN tickets show 1
    stop it with: tests/mailserver/stop.sh $DIR
EOF
fi
