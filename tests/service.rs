//! ticketd as a systemd service, against a real Dovecot and Postfix: the notify protocol as a
//! NOTIFY_SOCKET listener sees it (READY, STATUS, WATCHDOG, RELOADING, STOPPING), and a SIGTERM
//! in the middle of a backlog that stops cleanly and loses nothing.

mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Mail, MailServer, Ticketd};

fn signal(pid: u32, name: &str) {
    Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
}

/// Reads notify datagrams until one contains `want` (or the time runs out).
fn wait_for_state(socket: &UnixDatagram, seen: &mut Vec<String>, want: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..n]).to_string();
            let hit = message.lines().any(|l| l == want || l.starts_with(want));
            seen.push(message);
            if hit {
                return true;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_speaks_the_notify_protocol() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Hello", "x").bytes(), None).await;
    let path = t.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_ticketd"))
        .args(["--config", t.config().to_str().unwrap(), "run"])
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "1000000")
        .env("TICKETD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(t.path("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    assert!(wait_for_state(&socket, &mut seen, "READY=1", Duration::from_secs(10)), "{seen:?}");
    let status = seen.iter().flat_map(|m| m.lines()).find(|l| l.starts_with("STATUS=")).unwrap().to_string();
    assert!(status.starts_with("STATUS=1 mailbox, ") && status.contains("outbox "), "{status}");
    // The watchdog is pinged at half its interval, with a fresh status line.
    let started = Instant::now();
    let mut pings = 0;
    while pings < 3 && started.elapsed() < Duration::from_secs(5) {
        if wait_for_state(&socket, &mut seen, "WATCHDOG=1", Duration::from_secs(2)) {
            pings += 1;
        }
    }
    assert_eq!(pings, 3, "{seen:?}");
    assert!(
        seen.iter().flat_map(|m| m.lines()).any(|l| l == "STATUS=1 mailbox, 1 open ticket, outbox 0"),
        "the status follows what happened: {seen:?}"
    );
    signal(daemon.id(), "HUP");
    assert!(wait_for_state(&socket, &mut seen, "RELOADING=1", Duration::from_secs(5)), "{seen:?}");
    assert!(wait_for_state(&socket, &mut seen, "READY=1", Duration::from_secs(5)), "{seen:?}");
    signal(daemon.id(), "TERM");
    assert!(wait_for_state(&socket, &mut seen, "STOPPING=1", Duration::from_secs(10)), "{seen:?}");
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_in_the_middle_of_a_backlog_stops_cleanly_and_loses_nothing() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let total = 600;
    let backlog: Vec<(Vec<u8>, Option<chrono::DateTime<chrono::Utc>>)> = (0..total)
        .map(|n| (Mail::new(&format!("c{n}@customer.test"), &format!("Backlog {n}"), "x").bytes(), None))
        .collect();
    server.append_many("support@example.test", "INBOX", &backlog).await;
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_ticketd"))
        .args(["--config", t.config().to_str().unwrap(), "run"])
        .env("TICKETD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(t.path("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    // Stop it once some, not all, of the backlog is in.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored: i64 = t.db().query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0)).unwrap_or(0);
        if stored >= 50 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let asked = Instant::now();
    signal(daemon.id(), "TERM");
    let status = daemon.wait().unwrap();
    let took = asked.elapsed();
    assert!(status.success(), "a clean stop: {status}");
    assert!(took < Duration::from_secs(20), "bounded: {took:?}");
    let stored: i64 = t.db().query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0)).unwrap();
    println!("SIGTERM after {stored} of {total} tickets; stopped in {took:?}");

    // The rest on the next start; everything once.
    t.ok(&["run", "--once"]);
    let count = |sql: &str| -> i64 { t.db().query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM tickets"), total);
    assert_eq!(count("SELECT COUNT(*) FROM messages WHERE direction = 'in'"), total);
    assert_eq!(count("SELECT COUNT(*) FROM outbox WHERE kind = 'ack'"), total);
    assert_eq!(count("SELECT COUNT(*) FROM pending_actions"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM outbox WHERE state != 'sent'"), 0);
    assert!(server.messages("support@example.test", "INBOX").await.is_empty());
}
