#!/usr/bin/env bash
# Start a private, loopback-only Dovecot + Postfix sandbox for ticketd's
# integration tests and demo.
#
#   tests/mailserver/start.sh DIR IMAP_PORT SMTP_PORT [IMAPS_PORT]
#
# DIR must be an existing (normally empty) directory, e.g. from `mktemp -d`.
# Everything -- configs, sockets, queues, mail, logs, TLS material -- lives
# under DIR; nothing under /etc, /run, /var is read for configuration or
# written. Several sandboxes can run at the same time as long as they use
# different DIRs and ports. The script returns once IMAP (and IMAPS) and SMTP
# answer with a greeting; on failure it prints the relevant log tail, stops
# whatever it started and exits non-zero. Stop with tests/mailserver/stop.sh DIR.
#
# Layout:
#   DIR/dovecot/dovecot.conf   Dovecot config     DIR/dovecot/dovecot.log  its log
#   DIR/dovecot/run/           base_dir (LMTP socket: DIR/dovecot/run/lmtp)
#   DIR/dovecot/users          optional extra passwd-file users
#   DIR/mail/<domain>/<user>/Maildir   mailboxes (owned by uid/gid 5000)
#   DIR/postfix/etc/{main,master}.cf   Postfix config   DIR/postfix/maillog  its log
#   DIR/postfix/queue, DIR/postfix/data  Postfix queue and data directories
#   DIR/tls/{ca.pem,server.pem,server.key}  only when IMAPS_PORT is given (IMAPS, and
#                                       STARTTLS on the SMTP port too)
#   DIR/dovecot/dovecot-oauth2.conf.ext  only with OAUTH2_INTROSPECTION_URL
#
# Optional environment:
#   IMAP_IDLE_NOTIFY_INTERVAL   e.g. "5 secs" (IDLE keepalive, default 2 mins)
#   IMAP_CAPABILITY             replaces the advertised capabilities, e.g. to play a
#       server without MOVE: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS"
#   OAUTH2_INTROSPECTION_URL    e.g. http://127.0.0.1:PORT/introspect -- also
#       accept SASL XOAUTH2 and OAUTHBEARER, validated by POSTing
#       "token=<urlencoded token>" to this URL (RFC 7662 style; the reply must
#       be JSON with "active": true and "username": "<user>").
#
# Must run as root (Postfix and Dovecot drop privileges themselves).
set -euo pipefail

usage() {
    echo "usage: $0 DIR IMAP_PORT SMTP_PORT [IMAPS_PORT]" >&2
    exit 2
}
die() {
    echo "start.sh: $*" >&2
    exit 1
}

[[ $# -eq 3 || $# -eq 4 ]] || usage
[[ -d $1 ]] || die "$1 is not a directory"
DIR=$(cd "$1" && pwd -P) # absolute, symlinks resolved (Postfix wants absolute paths)
IMAP_PORT=$2
SMTP_PORT=$3
IMAPS_PORT=${4:-}
OAUTH2_INTROSPECTION_URL=${OAUTH2_INTROSPECTION_URL:-}

for p in "$IMAP_PORT" "$SMTP_PORT" ${IMAPS_PORT:+"$IMAPS_PORT"}; do
    [[ $p =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "bad port: $p"
done
ports=("$IMAP_PORT" "$SMTP_PORT" ${IMAPS_PORT:+"$IMAPS_PORT"})
[[ $(printf '%s\n' "${ports[@]}" | sort -u | wc -l) -eq ${#ports[@]} ]] || die "ports must differ: ${ports[*]}"
[[ $(id -u) -eq 0 ]] || die "must run as root"
# Postfix config values are whitespace-separated lists, so a path with
# blanks would silently break them.
[[ $DIR != *[[:space:]]* ]] || die "DIR must not contain whitespace: $DIR"
# Unix socket paths are limited to 107 bytes; the longest ones we create are
# DIR/dovecot/run/token-login/tokenlogin and DIR/postfix/queue/private/...
((${#DIR} <= 64)) || die "DIR path too long (max 64 chars, unix socket limit): $DIR"
# Plain http only (the endpoint is a local test server; https would need CA
# settings). Whitespace would break the config line.
if [[ -n $OAUTH2_INTROSPECTION_URL ]]; then
    [[ $OAUTH2_INTROSPECTION_URL =~ ^http://[^[:space:]]+$ ]] ||
        die "OAUTH2_INTROSPECTION_URL must be an http:// URL without whitespace: $OAUTH2_INTROSPECTION_URL"
fi

# Executables (Debian locations) -- overridable for other layouts.
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
POSTFIX=${POSTFIX:-/usr/sbin/postfix}
MAIL_UID=5000
MAIL_GID=5000
PASSWORD=secret

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

DC=$DIR/dovecot
PF=$DIR/postfix
LMTP_SOCKET=$DC/run/lmtp

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# probe PORT PREFIX [QUIT-COMMAND]: connect to 127.0.0.1:PORT and succeed if
# the first line the server sends starts with PREFIX. Runs in a subshell so a
# failed /dev/tcp redirection cannot kill this script.
probe() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        IFS= read -r -t 2 line <&3
        [[ -z ${3:-} ]] || printf '%s\r\n' "$3" >&3
        [[ $line == "$2"* ]]
    ) 2>/dev/null
}

# probe_tls PORT: full IMAPS handshake, verifying the server certificate
# against our CA for IP 127.0.0.1, and a "* OK" greeting.
probe_tls() {
    local out
    out=$(printf 'a LOGOUT\r\n' | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$1" \
        -CAfile "$DIR/tls/ca.pem" -verify_return_error -verify_ip 127.0.0.1 2>/dev/null) || return 1
    [[ $out == "* OK"* ]]
}

# port_in_use PORT: something already accepts TCP connections on it.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fail() {
    echo "start.sh: $*" >&2
    if [[ -f $DC/dovecot.log ]]; then
        echo "---- tail of $DC/dovecot.log ----" >&2
        tail -n 25 "$DC/dovecot.log" >&2 || true
    fi
    if [[ -f $PF/maillog ]]; then
        echo "---- tail of $PF/maillog ----" >&2
        tail -n 25 "$PF/maillog" >&2 || true
    fi
    # Do not leave half a sandbox running.
    "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
    exit 1
}

# ---------------------------------------------------------------------------
# Pre-flight
# ---------------------------------------------------------------------------

# A port that is already taken would make the readiness poll below talk to
# somebody else's server, so refuse early with a clear message.
for p in "${ports[@]}"; do
    if port_in_use "$p"; then
        die "port $p on 127.0.0.1 is already in use"
    fi
done

# mktemp -d creates 0700 directories; the unprivileged users the daemons run
# as (postfix, dovenull, dovecot, uid 5000) must be able to traverse DIR.
chmod 0755 "$DIR"
# ...and every ancestor of DIR as well (e.g. a 0700 $HOME would break things).
d=$DIR
while [[ $d != / ]]; do
    d=$(dirname "$d")
    perm=$(stat -c %A "$d")
    [[ ${perm:9:1} == [xt] ]] || die "$d is not world-traversable (o+x); the mail daemons could not reach $DIR"
done

# Postfix: the `postfix` command chdir()s to queue_directory before anything
# else ("fatal: chdir(...): No such file or directory"), so that one must
# exist (root-owned, as Postfix expects). data_directory and the queue
# subdirectories are created by `postfix start` itself (post-install
# create-missing) with the right owners; creating data/ here as root would
# make master fail with "open lock file .../data/master.lock: cannot create
# file exclusively: Permission denied".
mkdir -p "$DC/run" "$DC/state" "$DIR/mail" "$PF/etc" "$PF/queue"
# Dovecot delivers and reads mail as uid/gid 5000 (no /etc/passwd entry needed).
chown "$MAIL_UID:$MAIL_GID" "$DIR/mail"
chmod 0755 "$DIR/mail"

# ---------------------------------------------------------------------------
# TLS material (only with IMAPS_PORT): private CA + server cert for
# localhost / 127.0.0.1. EC P-256 keys are generated in milliseconds and are
# accepted by rustls/webpki, OpenSSL and curl.
# ---------------------------------------------------------------------------
if [[ -n $IMAPS_PORT ]]; then
    TLS=$DIR/tls
    mkdir -p "$TLS"
    (
        cd "$TLS"
        umask 077
        openssl req -x509 -new -nodes -days 30 \
            -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -keyout ca.key -out ca.pem -subj "/CN=ticketd test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -new -nodes \
            -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
        cat >server.ext <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
            -CAcreateserial -days 30 -extfile server.ext -out server.pem 2>/dev/null
        rm -f server.csr server.ext ca.srl
        # Certificates are public; keys stay root-only (Dovecot reads them as root).
        chmod 0644 ca.pem server.pem
    ) || die "generating TLS certificates with openssl failed"
    SSL_SETTINGS="ssl = yes
ssl_cert = <$TLS/server.pem
ssl_key = <$TLS/server.key"
    IMAPS_LISTENER_PORT=$IMAPS_PORT
    # Postfix offers STARTTLS with the same certificate (read by the master, as root).
    SMTPD_TLS="smtpd_tls_cert_file = $TLS/server.pem
smtpd_tls_key_file = $TLS/server.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1"
else
    SSL_SETTINGS="ssl = no"
    # The built-in imap-login service has an imaps listener on 993; port 0
    # disables it explicitly.
    IMAPS_LISTENER_PORT=0
    SMTPD_TLS=""
fi

# ---------------------------------------------------------------------------
# Dovecot
# ---------------------------------------------------------------------------

# Optional extra users with their own password, one per line:
#   bob@example.test:{PLAIN}hunter2
# Every address also logs in with the password "secret" (static passdb).
if [[ ! -f $DC/users ]]; then
    cat >"$DC/users" <<'EOF'
# passwd-file: user@domain:{PLAIN}password
# Users listed here may log in with their own password; every address,
# listed or not, also accepts the sandbox password "secret".
EOF
fi

# Password passdbs. Without OAuth2 they serve every mechanism (as always).
PASSWORD_PASSDBS="passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $DC/users
}
passdb {
  driver = static
  args = password=$PASSWORD
}"
AUTH_MECHANISMS="plain login"
OAUTH2_SETTINGS=""
if [[ -n $OAUTH2_INTROSPECTION_URL ]]; then
    # OAuth2 token validation by introspection (POST token=...). Only
    # introspection_url is mandatory in 2.3.19 (tokeninfo_url is not).
    # active_attribute/active_value make {"active": false} a failure even if
    # the reply still names a user.
    cat >"$DC/dovecot-oauth2.conf.ext" <<EOF
# Generated by tests/mailserver/start.sh (OAUTH2_INTROSPECTION_URL).
introspection_mode = post
introspection_url = $OAUTH2_INTROSPECTION_URL
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
EOF
    chmod 0644 "$DC/dovecot-oauth2.conf.ext"
    AUTH_MECHANISMS="plain login xoauth2 oauthbearer"
    # The oauth2 passdb comes first and only serves the token mechanisms.
    # The password passdbs are restricted to PLAIN/LOGIN: otherwise a
    # rejected token would fall through to them and be tried as a password
    # (an XOAUTH2 "token" equal to "secret" would log in via the static passdb).
    # auth_cache_size = 0 (also Dovecot's default) so that a token revoked at
    # the endpoint is refused at the very next login.
    OAUTH2_SETTINGS="# OAuth2 (OAUTH2_INTROSPECTION_URL): XOAUTH2 / OAUTHBEARER tokens are
# validated against $OAUTH2_INTROSPECTION_URL on every login.
auth_cache_size = 0
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $DC/dovecot-oauth2.conf.ext
}"
    PASSWORD_PASSDBS=${PASSWORD_PASSDBS//  driver = passwd-file/  driver = passwd-file
  mechanisms = plain login}
    PASSWORD_PASSDBS=${PASSWORD_PASSDBS//  driver = static/  driver = static
  mechanisms = plain login}
fi

cat >"$DC/dovecot.conf" <<EOF
# Generated by tests/mailserver/start.sh -- private Dovecot for tests.
# Only this file is read (dovecot -c); /etc/dovecot is never touched.

# Keep all runtime state inside the sandbox.
base_dir = $DC/run
state_dir = $DC/state
instance_name = ticketd-test-$(basename "$DIR")
log_path = $DC/dovecot.log
auth_verbose = yes
verbose_proctitle = yes

protocols = imap lmtp
listen = 127.0.0.1
# The name in the Received header of LMTP deliveries: the same host as Postfix, as on a
# one-machine mail server ([staff] mta_hosts).
hostname = mail.example.test

$SSL_SETTINGS
# Tests log in with plain passwords over the unencrypted port.
disable_plaintext_auth = no
auth_mechanisms = $AUTH_MECHANISMS
# Default is 2 s per failed login; wrong-password tests must be fast.
auth_failure_delay = 0
${OAUTH2_SETTINGS:+
$OAUTH2_SETTINGS
}
# Authentication: listed users from the passwd-file first, then the static
# passdb accepts "$PASSWORD" for any user name. A wrong password fails.
$PASSWORD_PASSDBS
# Every address exists (LMTP delivery to anyone, e.g. anna@customer.test).
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$DIR/mail/%Ld/%Ln allow_all_users=yes
}

mail_location = maildir:~/Maildir

namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Processed {
    auto = create
  }
}

protocol imap {
  # Default 10 per user+IP; tests open many parallel sessions from 127.0.0.1.
  mail_max_userip_connections = 1000
  # IDLE keepalive ("* OK Still here"); Dovecot's default is 2 mins.
  imap_idle_notify_interval = ${IMAP_IDLE_NOTIFY_INTERVAL:-2 mins}
${IMAP_CAPABILITY:+  imap_capability = $IMAP_CAPABILITY}
}

protocol lmtp {
  postmaster_address = postmaster@example.test
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_LISTENER_PORT
    ssl = yes
  }
}

service lmtp {
  # Postfix's lmtp client (user postfix) connects here.
  unix_listener lmtp {
    mode = 0666
  }
}

service auth {
  # Postfix's smtpd asks Dovecot to check SMTP AUTH (PLAIN/LOGIN, and XOAUTH2 with OAuth2).
  unix_listener auth-postfix {
    mode = 0666
  }
}
EOF

# ---------------------------------------------------------------------------
# Postfix
# ---------------------------------------------------------------------------
# Debian installed with "No configuration" has no /etc/postfix/main.cf at all.
# That is fine: `postfix -c DIR` (as root) reads only DIR/main.cf and
# DIR/master.cf. The only things still taken from /etc/postfix are the
# installation metadata (postfix-files, dynamicmaps.cf in meta_directory).

cat >"$PF/etc/main.cf" <<EOF
# Generated by tests/mailserver/start.sh -- private Postfix for tests.
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
# All logging goes to this file via postlogd (no syslog needed). The
# file must lie under one of maillog_file_prefixes (default /var, /dev/stdout).
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
syslog_name = postfix-sandbox

myhostname = mail.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# Do not reverse-resolve 127.0.0.1 (avoids DNS stalls in isolated sandboxes).
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no

# Every *.test domain is a virtual mailbox domain delivered to Dovecot over
# LMTP. virtual_mailbox_domains is a plain *string* list (no ".test"
# parent-domain magic as in relay_domains), hence the regexp table; the
# explicit names are only for readability. An empty virtual_mailbox_maps
# means every recipient in these domains is accepted.
virtual_mailbox_domains = example.test customer.test other.test regexp:$PF/etc/virtual_domains.regexp
virtual_mailbox_maps =
virtual_transport = lmtp:unix:$LMTP_SOCKET

# Nothing ever leaves the machine.
local_transport = error:local delivery is disabled in the test sandbox
relay_transport = error:relaying is disabled in the test sandbox
default_transport = error:outbound mail is disabled in the test sandbox
relay_domains =
relayhost =

# No aliases, no NIS, no local users.
alias_maps =
alias_database =
local_recipient_maps =

message_size_limit = 52428800
mailbox_size_limit = 0
virtual_mailbox_limit = 0

# Fast retries so outage tests (Dovecot down, LMTP deferrals) stay short.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
# Do not throttle smtpd when mail arrives faster than it is delivered.
in_flow_delay = 0
# SMTP AUTH through Dovecot (the same users and passwords as IMAP); mail from
# loopback is accepted with or without it.
smtpd_sasl_type = dovecot
smtpd_sasl_path = $DC/run/auth-postfix
smtpd_sasl_auth_enable = yes
# Postfix writes "(Authenticated sender: USER)" into its Received header: ticketd's
# "submission" trust source.
smtpd_sasl_authenticated_header = yes
# Stand-ins for a DKIM/DMARC verifier milter (OpenDKIM, rspamd): the company's MTA writes its
# own Authentication-Results above its Received header. Staff who authenticated get a DKIM
# pass; envelope senders at forged.test fail SPF and DMARC.
smtpd_sender_restrictions = check_sasl_access regexp:$PF/etc/verifier_staff.regexp, check_sender_access regexp:$PF/etc/verifier_forged.regexp
$SMTPD_TLS
EOF

cat >"$PF/etc/virtual_domains.regexp" <<'EOF'
/\.test$/	OK
EOF
cat >"$PF/etc/verifier_staff.regexp" <<'EOF'
/^[^@]+@example\.test$/	PREPEND Authentication-Results: mail.example.test; dkim=pass header.d=example.test header.i=@example.test
EOF
cat >"$PF/etc/verifier_forged.regexp" <<'EOF'
/@forged\.test$/	PREPEND Authentication-Results: mail.example.test; spf=fail smtp.mailfrom=forged.test; dkim=none; dmarc=fail header.from=forged.test
EOF

# chroot = n everywhere: the daemons need the absolute sandbox paths.
cat >"$PF/etc/master.cf" <<EOF
# Generated by tests/mailserver/start.sh -- private Postfix for tests.
# service            type  private unpriv chroot wakeup maxproc command
127.0.0.1:$SMTP_PORT inet  n       -      n      -      -       smtpd
pickup               unix  n       -      n      60     1       pickup
cleanup              unix  n       -      n      -      0       cleanup
qmgr                 unix  n       -      n      300    1       qmgr
rewrite              unix  -       -      n      -      -       trivial-rewrite
bounce               unix  -       -      n      -      0       bounce
defer                unix  -       -      n      -      0       bounce
trace                unix  -       -      n      -      0       bounce
verify               unix  -       -      n      -      1       verify
flush                unix  n       -      n      1000?  0       flush
proxymap             unix  -       -      n      -      -       proxymap
proxywrite           unix  -       -      n      -      1       proxymap
showq                unix  n       -      n      -      -       showq
error                unix  -       -      n      -      -       error
retry                unix  -       -      n      -      -       error
discard              unix  -       -      n      -      -       discard
lmtp                 unix  -       -      n      -      -       lmtp
anvil                unix  -       -      n      -      1       anvil
scache               unix  -       -      n      -      1       scache
postlog              unix-dgram n  -      n      -      1       postlogd
# TLS needs its PRNG and session-cache manager, even when only smtpd uses TLS.
tlsmgr               unix  -       -      n      1000?  1       tlsmgr
EOF

# Postfix refuses to read a "hot" main.cf: if its mtime is within the last
# second it sleeps in 300 ms steps (dict_load_file: "pausing to let main.cf
# cool down") until it is older -- ~1.5 s per fresh sandbox. Backdating the
# freshly written files removes that delay.
touch -d '1 minute ago' "$PF/etc/main.cf" "$PF/etc/master.cf" "$PF/etc/virtual_domains.regexp" \
    "$PF/etc/verifier_staff.regexp" "$PF/etc/verifier_forged.regexp"

# ---------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------

# The daemons' stdio goes to files, never to our caller's stdout/stderr:
# the backgrounded masters inherit those descriptors and keep them open, so
# `out=$(dovecot ...)` -- or a test harness capturing start.sh's output
# through a pipe -- would wait for EOF forever.

# Dovecot binds its listeners before daemonizing and exits non-zero on
# errors such as "bind(...) failed: Address already in use".
if ! "$DOVECOT" -c "$DC/dovecot.conf" </dev/null >"$DC/startup.out" 2>&1; then
    fail "dovecot failed to start: $(cat "$DC/startup.out")"
fi

# `postfix start` creates the queue directories (post-install create-missing)
# and waits (master -w) until the master daemon has bound its sockets.
if ! "$POSTFIX" -c "$PF/etc" start </dev/null >"$PF/startup.out" 2>&1; then
    fail "postfix failed to start: $(cat "$PF/startup.out")"
fi

# Wait until every endpoint answers with a greeting (~10 s max).
deadline=$((SECONDS + 10))
ready() {
    probe "$IMAP_PORT" "* OK" "a LOGOUT" || return 1
    probe "$SMTP_PORT" "220" "QUIT" || return 1
    [[ -S $LMTP_SOCKET ]] || return 1
    if [[ -n $IMAPS_PORT ]]; then
        probe_tls "$IMAPS_PORT" || return 1
    fi
}
until ready; do
    ((SECONDS < deadline)) || fail "timed out waiting for IMAP :$IMAP_PORT / SMTP :$SMTP_PORT${IMAPS_PORT:+ / IMAPS :$IMAPS_PORT} / $LMTP_SOCKET"
    sleep 0.05
done

echo "mail sandbox ready in $DIR: IMAP 127.0.0.1:$IMAP_PORT${IMAPS_PORT:+, IMAPS 127.0.0.1:$IMAPS_PORT}, SMTP 127.0.0.1:$SMTP_PORT"
