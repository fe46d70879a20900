#!/usr/bin/env python3
"""ticketd's benchmark suite against the same private Dovecot + Postfix the tests use, each
figure beside a baseline measured in the same run. One command (README, section Performance):

    benches/suite.sh [--messages 10000] [--latency-seconds 60] [--skip-scale]

prints a table and writes target/bench-suite.json:

1. ingest     `ticketd run --once --no-send` over N generated messages (1-50 KB, the corpus'
              charsets, attachments, a third replies, thousands of senders) until every ticket
              is stored and every acknowledgement queued; baselines: mbsync (isync) copying the
              same mailbox to a Maildir with its defaults, and the floor - one plain
              `UID FETCH 1:* BODY.PEEK[]` by Python's imaplib. Three rounds, taking turns; medians.
2. delivery   the N queued acknowledgements into Postfix over [smtp] connections = 4, against
              Postfix's own load generator smtp-source sending N messages of the same size over
              4 connections.
3. latency    `ticketd run` with IDLE; a message appended every 100 ms; append -> acknowledgement
              in the customer's mailbox (seen by an IMAP IDLE watcher); p50 / p99.
4. scale      the same ingest into a database already holding 1,000,000 tickets, taking turns
              with the same ingest into an empty one.
5. memory     peak RSS of the ingest; steady RSS of `ticketd run` with 10 idle mailboxes.

Stdlib only. Needs: a release build, Dovecot, Postfix, isync (mbsync).
"""

import argparse
import imaplib
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "target", "release", "ticketd")
PASSWORD = "secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ticketd-bench-mail-")
        self.imap, self.smtp = free_port(), free_port()
        subprocess.run(
            ["bash", os.path.join(REPO, "tests/mailserver/start.sh"), self.dir, str(self.imap), str(self.smtp)],
            check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )

    def stop(self):
        subprocess.run(["bash", os.path.join(REPO, "tests/mailserver/stop.sh"), self.dir], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def login(self, user):
        c = imaplib.IMAP4("127.0.0.1", self.imap)
        c.login(user, PASSWORD)
        return c


# ---- the messages -------------------------------------------------------------------------

WORDS = {
    "utf-8": "Jó napot! A számlázó program nem indul el. Dobrý den, nefunguje přihlášení. "
             "Dzień dobry, nie działa logowanie. Guten Tag, die Anmeldung geht nicht. "
             "Hello, the export stopped working. שלום, המערכת אינה עובדת. ",
    "iso-8859-2": "Jó napot! A számlázó program nem indul el, kérem segítsenek. Dobrý den, nefunguje. ",
    "windows-1250": "Dzień dobry, od wczoraj nie działa logowanie do systemu. Prosimy o pomoc. ",
    "iso-8859-1": "Guten Tag, seit gestern funktioniert die Anmeldung nicht mehr. Grüße. ",
    "windows-1255": "שלום, מאז אתמול איננו מצליחים להתחבר למערכת. תודה. ",
}


def message(n, rng, replies_to):
    charset = rng.choice(list(WORDS))
    size = int(rng.uniform(1, 50) * 1024)
    sender = f"customer{rng.randrange(4000)}@c{rng.randrange(400)}.test"
    body = (WORDS[charset] * (size // len(WORDS[charset]) + 1))[:size]
    lines = "\r\n".join(body[i:i + 70] for i in range(0, len(body), 70))
    headers = [
        f"From: Customer {n} <{sender}>",
        "To: support@example.test",
        f"Subject: Question number {n}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: <bench.{n}@{sender.split('@')[1]}>",
        "MIME-Version: 1.0",
    ]
    if replies_to is not None and n % 3 == 0:
        headers[2] = f"Subject: Re: Question number {replies_to}"
        headers.append(f"In-Reply-To: <bench.{replies_to}@x.test>")
    encoded = lines.encode(charset, errors="replace")
    if n % 10 == 0:
        boundary = f"b{n}"
        attachment = os.urandom(rng.randrange(1000, 8000)).hex()
        text = (
            "\r\n".join(headers)
            + f"\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
            + f"--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode() + encoded + (
            f"\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"log{n}.txt\"\r\n"
            f"Content-Disposition: attachment; filename=\"log{n}.txt\"\r\n\r\n{attachment}\r\n--{boundary}--\r\n"
        ).encode()
        return text
    head = "\r\n".join(headers) + f"\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    return head.encode() + encoded + b"\r\n"


def fill_inbox(server, count, seed=7):
    rng = random.Random(seed)
    c = server.login("support@example.test")
    total = 0
    for n in range(count):
        raw = message(n, rng, n - rng.randrange(1, 50) if n > 50 else None)
        total += len(raw)
        c.append("INBOX", None, None, raw)
    c.logout()
    return total


# ---- ticketd --------------------------------------------------------------------------------

RULES = """
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
[calendar.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-17:00"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "8h" }

[[department]]
name = "support"
sla = "standard"
"""


def install(server, mailboxes=1, after="move:Processed"):
    home = tempfile.mkdtemp(prefix="ticketd-bench-home-")
    os.makedirs(os.path.join(home, "rules"))
    with open(os.path.join(home, "rules", "10.toml"), "w") as f:
        f.write(RULES)
    with open(os.path.join(home, "pass"), "w") as f:
        f.write(PASSWORD + "\n")
    boxes = ""
    for i in range(mailboxes):
        name = "support" if i == 0 else f"box{i}"
        boxes += f"""
[[mailbox]]
name = "{name}"
address = "{name}@example.test"
host = "127.0.0.1"
port = {server.imap}
security = "none"
username = "{name}@example.test"
password_file = "pass"
department = "support"
after = "{after}"
"""
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(f"""
[database]
path = "tickets.db"
[acks]
per_sender_per_hour = 1000000
per_hour = 0
loop_breaker = false
[smtp]
host = "127.0.0.1"
port = {server.smtp}
from = "Support <support@example.test>"
connections = 4
{boxes}
""")
    return home


def ticketd(home, *args, env=None):
    cmd = [BIN, "--config", os.path.join(home, "config.toml"), *args]
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env={**os.environ, "TICKETD_LOG": "warn", **(env or {})})


def timed_rss(cmd, env=None):
    """Runs cmd under /usr/bin/time -v when present: (seconds, peak RSS in KB or None)."""
    started = time.perf_counter()
    if shutil.which("time") or os.path.exists("/usr/bin/time"):
        out = subprocess.run(["/usr/bin/time", "-v", *cmd], check=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=env, text=True)
        took = time.perf_counter() - started
        peak = next((int(l.split(":")[1]) for l in out.stderr.splitlines() if "Maximum resident set size" in l), None)
        return took, peak
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started, None


def count(home, sql):
    db = sqlite3.connect(os.path.join(home, "tickets.db"))
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


# ---- baselines ------------------------------------------------------------------------------

def floor_fetch(server):
    c = server.login("support@example.test")
    c.select("INBOX", readonly=True)
    started = time.perf_counter()
    typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
    took = time.perf_counter() - started
    fetched = sum(len(d[1]) for d in data if isinstance(d, tuple))
    c.logout()
    return took, fetched


def mbsync(server):
    work = tempfile.mkdtemp(prefix="ticketd-bench-mbsync-")
    rc = os.path.join(work, "mbsyncrc")
    os.makedirs(os.path.join(work, "mail"))
    with open(rc, "w") as f:
        f.write(f"""IMAPAccount bench
Host 127.0.0.1
Port {server.imap}
User support@example.test
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {work}/mail/
Inbox {work}/mail/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""")
    started = time.perf_counter()
    done = subprocess.run(["mbsync", "-c", rc, "bench"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"mbsync failed: {done.stderr[-1000:]}")
    took = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return took


def smtp_source(server, count, size):
    started = time.perf_counter()
    subprocess.run(
        ["smtp-source", "-s", "4", "-m", str(count), "-l", str(size), "-f", "support@example.test",
         "-t", "sink@customer.test", f"127.0.0.1:{server.smtp}"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return time.perf_counter() - started


# ---- the benchmarks -------------------------------------------------------------------------

def refill_inbox(server):
    """Moves what ticketd moved to Processed back into INBOX (new UIDs), for another round."""
    c = server.login("support@example.test")
    c.select("Processed")
    c.uid("MOVE", "1:*", "INBOX")
    c.logout()


def bench_ingest_and_delivery(n, results, rounds=3):
    server = MailServer()
    try:
        size = fill_inbox(server, n)
        # A shared 2-core machine is noisy: the baselines and ticketd take turns, `rounds` times,
        # and the medians are compared.
        floors, mbsyncs, tooks, peaks = [], [], [], []
        for r in range(rounds):
            if r:
                refill_inbox(server)
                shutil.rmtree(home, ignore_errors=True)
            floors.append(floor_fetch(server)[0])
            mbsyncs.append(mbsync(server))
            home = install(server)
            took, peak = timed_rss([BIN, "--config", os.path.join(home, "config.toml"), "run", "--once", "--no-send"],
                                   env={**os.environ, "TICKETD_LOG": "warn"})
            tooks.append(took)
            peaks.append(peak or 0)
            messages = count(home, "SELECT COUNT(*) FROM messages WHERE direction = 'in'")
            assert messages == n, f"stored {messages} of {n}"
        tickets = count(home, "SELECT COUNT(*) FROM tickets")
        queued = count(home, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack'")
        took, mb, floor = statistics.median(tooks), statistics.median(mbsyncs), statistics.median(floors)
        results["ingest"] = {
            "messages": n, "mailbox_bytes": size, "ticketd_s": took, "mbsync_s": mb, "floor_s": floor,
            "ticketd_per_mbsync": took / mb, "ticketd_per_floor": took / floor, "tickets": tickets,
            "acks_queued": queued, "peak_rss_kb": max(peaks) or None, "rounds": rounds,
            "ticketd_runs_s": tooks, "mbsync_runs_s": mbsyncs, "floor_runs_s": floors,
        }
        # Delivery of what was queued, against smtp-source at the same size and connections.
        ack_size = count(home, "SELECT CAST(AVG(LENGTH(raw)) AS INTEGER) FROM outbox WHERE kind = 'ack'")
        started = time.perf_counter()
        ticketd(home, "run", "--once")
        delivery = time.perf_counter() - started
        pending = count(home, "SELECT COUNT(*) FROM outbox WHERE state != 'sent'")
        assert pending == 0, f"{pending} not delivered"
        baseline = smtp_source(server, queued, ack_size)
        results["delivery"] = {
            "mails": queued, "mail_bytes": ack_size, "ticketd_s": delivery, "smtp_source_s": baseline,
            "ticketd_rate": queued / delivery, "smtp_source_rate": queued / baseline,
            "rate_ratio": (queued / delivery) / (queued / baseline),
        }
        shutil.rmtree(home, ignore_errors=True)
    finally:
        server.stop()


def bench_scale(n, results, prefill=1_000_000, rounds=2):
    server = MailServer()
    try:
        fill_inbox(server, n, seed=11)
        template = install(server)
        ticketd(template, "tickets", "list")  # creates and migrates the database
        db = sqlite3.connect(os.path.join(template, "tickets.db"))
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO tickets (subject, department, requester, created_at, updated_at, status) "
            "VALUES (?, 'support', ?, ?, ?, 'closed')",
            ((f"old {i}", f"old{i}@o{i % 5000}.test", 1_600_000_000 + i, 1_600_000_000 + i) for i in range(prefill)),
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        # The empty database and the full one take turns on the same mailbox.
        empty, full = [], []
        for r in range(rounds):
            for runs, prefilled in ((empty, False), (full, True)):
                if empty:
                    refill_inbox(server)
                home = install(server)
                if prefilled:
                    shutil.copy(os.path.join(template, "tickets.db"), os.path.join(home, "tickets.db"))
                took, _ = timed_rss([BIN, "--config", os.path.join(home, "config.toml"), "run", "--once", "--no-send"])
                messages = count(home, "SELECT COUNT(*) FROM messages WHERE direction = 'in'")
                assert messages == n, f"stored {messages} of {n}"
                runs.append(took)
                shutil.rmtree(home, ignore_errors=True)
        took, base = statistics.median(full), statistics.median(empty)
        results["scale"] = {"prefilled_tickets": prefill, "messages": n, "ticketd_s": took, "empty_s": base,
                            "slowdown": took / base, "full_runs_s": full, "empty_runs_s": empty}
        shutil.rmtree(template, ignore_errors=True)
    finally:
        server.stop()


def watch_arrivals(server, user, arrivals, stop):
    c = server.login(user)
    c.select("INBOX")
    seen = set()
    while not stop.is_set():
        # NOOP makes the server report new mail; SEARCH alone may answer from a stale view.
        c.noop()
        typ, data = c.uid("SEARCH", None, "ALL")
        uids = [u for u in data[0].split() if u not in seen]
        if uids:
            now = time.perf_counter()
            typ, heads = c.uid("FETCH", b",".join(uids), "(BODY.PEEK[HEADER.FIELDS (IN-REPLY-TO)])")
            for part in heads:
                if isinstance(part, tuple):
                    line = part[1].decode(errors="replace").strip()
                    if "<" in line:
                        arrivals[line.split("<", 1)[1].split(">", 1)[0]] = now
            seen.update(uids)
        time.sleep(0.01)
    c.logout()


def bench_latency(seconds, results):
    server = MailServer()
    home = install(server)
    try:
        ticketd(home, "run", "--once")  # the database and the first sync
        daemon = subprocess.Popen([BIN, "--config", os.path.join(home, "config.toml"), "run"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "TICKETD_LOG": "warn"})
        time.sleep(1.0)
        arrivals, stop = {}, threading.Event()
        watcher = threading.Thread(target=watch_arrivals, args=(server, "latency@customer.test", arrivals, stop))
        watcher.start()
        c = server.login("support@example.test")
        sent = {}
        rng = random.Random(3)
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            mid = f"lat.{n}@customer.test"
            raw = (f"From: latency@customer.test\r\nTo: support@example.test\r\nSubject: Latency {n}\r\n"
                   f"Date: {formatdate()}\r\nMessage-ID: <{mid}>\r\n\r\n" + "x" * rng.randrange(100, 3000) + "\r\n").encode()
            t0 = time.perf_counter()
            c.append("INBOX", None, None, raw)
            sent[mid] = t0
            n += 1
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - t0)))
        c.logout()
        settle = time.perf_counter() + 15
        while len(arrivals) < len(sent) and time.perf_counter() < settle:
            time.sleep(0.1)
        stop.set()
        watcher.join()
        daemon.terminate()
        daemon.wait(timeout=30)
        lat = sorted(arrivals[m] - t for m, t in sent.items() if m in arrivals)
        pick = lambda p: lat[max(0, min(len(lat) - 1, -(-p * len(lat) // 100) - 1))] if lat else None
        results["latency"] = {"sent": len(sent), "acknowledged": len(lat), "p50_s": pick(50), "p99_s": pick(99),
                              "max_s": lat[-1] if lat else None}
    finally:
        shutil.rmtree(home, ignore_errors=True)
        server.stop()


def bench_idle_memory(results):
    server = MailServer()
    home = install(server, mailboxes=10)
    try:
        ticketd(home, "run", "--once")
        daemon = subprocess.Popen([BIN, "--config", os.path.join(home, "config.toml"), "run"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(20)
        with open(f"/proc/{daemon.pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        daemon.terminate()
        daemon.wait(timeout=30)
        results["memory"] = {"idle_mailboxes": 10, "steady_rss_kb": rss}
    finally:
        shutil.rmtree(home, ignore_errors=True)
        server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--latency-seconds", type=int, default=60)
    ap.add_argument("--skip-scale", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"build first: cargo build --release ({BIN} is missing)")
    results = {}
    bench_ingest_and_delivery(args.messages, results)
    bench_latency(args.latency_seconds, results)
    bench_idle_memory(results)
    if not args.skip_scale:
        bench_scale(args.messages, results)

    i, d, l, m = results["ingest"], results["delivery"], results["latency"], results["memory"]
    rows = [
        (f"ingest: ticketd run --once (median of {i['rounds']})", f"{i['ticketd_s']:.2f} s", f"{i['messages']} msgs, {i['mailbox_bytes'] / 1e6:.0f} MB"),
        ("  baseline mbsync (isync)", f"{i['mbsync_s']:.2f} s", f"ticketd / mbsync = {i['ticketd_per_mbsync']:.2f}x"),
        ("  floor: one UID FETCH 1:*", f"{i['floor_s']:.2f} s", f"ticketd / floor = {i['ticketd_per_floor']:.1f}x"),
        ("delivery: outbox -> Postfix", f"{d['ticketd_rate']:.0f} /s", f"{d['mails']} mails of {d['mail_bytes']} B"),
        ("  baseline smtp-source -s 4", f"{d['smtp_source_rate']:.0f} /s", f"ticketd / smtp-source = {d['rate_ratio']:.2f}x"),
        ("latency append -> ack (IDLE)", f"p50 {l['p50_s']:.3f} s", f"p99 {l['p99_s']:.3f} s, {l['acknowledged']}/{l['sent']}"),
        ("memory: peak RSS of the ingest", f"{(i['peak_rss_kb'] or 0) / 1024:.0f} MB", ""),
        ("  steady RSS, 10 idle mailboxes", f"{m['steady_rss_kb'] / 1024:.1f} MB", ""),
    ]
    if "scale" in results:
        s = results["scale"]
        rows.append(("scale: ingest over 1M tickets", f"{s['ticketd_s']:.2f} s",
                     f"{s['slowdown']:.2f}x the empty database ({s['empty_s']:.2f} s), medians"))
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    out = os.path.join(REPO, "target", "bench-suite.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"written {out}")


if __name__ == "__main__":
    main()
