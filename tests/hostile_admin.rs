//! The smaller holes of a hostile inbox, from the admin's side (issue 17), against the real
//! `ticketd` binary and, where mail is involved, a real Dovecot and Postfix: a flood of idle
//! connections to the HTTP listener, files created under a loose umask or by root, and
//! read-only commands on an installation that has no database yet.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Mail, MailServer, Ticketd};

/// `ticketd ARGS` with this installation's config, under `umask`.
fn ticketd(t: &Ticketd, umask: libc::mode_t, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ticketd"));
    cmd.arg("--config").arg(t.config()).args(args).env("TICKETD_LOG", "info");
    // SAFETY: umask is async-signal-safe and has no preconditions.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask);
            Ok(())
        });
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run ticketd");
    assert!(
        out.status.success(),
        "ticketd failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every file and folder under `dir`, `dir` excluded.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        out.push(e.path());
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.extend(walk(&e.path()));
        }
    }
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn with_attachment(from: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: Invoice copy\r\nMessage-ID: <inv.{}@customer.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n--b\r\n\
         Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n--b--\r\n",
        std::process::id()
    )
    .into_bytes()
}

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// What ticketd wrote: the database and its side files, backups, and everything in data/.
fn written_by_ticketd(t: &Ticketd) -> Vec<PathBuf> {
    walk(t.dir.path())
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(t.dir.path()).unwrap().to_string_lossy().into_owned();
            rel.starts_with("tickets.db") || rel.starts_with("data") || rel.starts_with("backup")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn files_stay_private_under_umask_000_and_keep_their_owner_under_root() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    // Under root, the installation belongs to a service user (a uid no one uses here): what a
    // root shell creates must stay that user's.
    let service = (64_123, 64_124);
    if is_root() {
        std::os::unix::fs::chown(t.dir.path(), Some(service.0), Some(service.1)).unwrap();
    }
    server.append("support@example.test", "INBOX", &with_attachment("anna@customer.test"), None).await;
    run(&mut ticketd(&t, 0o000, &["run", "--once"]));
    run(&mut ticketd(&t, 0o000, &["db", "backup", t.path("backup.db").to_str().unwrap()]));
    assert_eq!(mode(&t.path("backup.db")), 0o640);

    // While the daemon runs, the -wal and -shm files exist: they are checked too.
    let mut daemon = support::Daemon(
        ticketd(&t, 0o000, &["run"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(t.path("daemon.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(t.path("tickets.db-wal").exists() && t.path("tickets.db-shm").exists()) {
        assert!(Instant::now() < deadline, "no -wal / -shm while the daemon runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    let files = written_by_ticketd(&t);
    let _ = daemon.0.kill();
    let _ = daemon.0.wait();

    let names: Vec<String> =
        files.iter().map(|p| p.strip_prefix(t.dir.path()).unwrap().display().to_string()).collect();
    for want in ["tickets.db", "tickets.db-wal", "tickets.db-shm", "data", "data/attachments", "backup.db"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    let attachments: Vec<&PathBuf> =
        files.iter().filter(|p| p.starts_with(t.path("data/attachments")) && p.is_file()).collect();
    assert_eq!(attachments.len(), 1, "{names:?}");
    for p in &files {
        let m = mode(p);
        assert_eq!(m & 0o007, 0, "{} is {m:o}: readable by others", p.display());
        if p.is_dir() {
            assert_eq!(m, 0o750, "{}", p.display());
        }
        if is_root() {
            let meta = std::fs::metadata(p).unwrap();
            assert_eq!((meta.uid(), meta.gid()), service, "{} keeps the service user's ownership", p.display());
        }
    }
    assert_eq!(mode(attachments[0]), 0o640);
    assert_eq!(mode(&t.path("tickets.db")), 0o640);
    // No temporary file is left behind.
    assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");
    println!("files written under umask 000 (root: {}):", is_root());
    for (p, n) in files.iter().zip(&names) {
        println!("  {:o} {n}", mode(p));
    }
}

/// A config for an installation that has never run: nothing listens on its ports.
fn fresh_install() -> Ticketd {
    let dir = tempfile::Builder::new().prefix("ticketd-fresh-").tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/10-base.toml"), support::BASE_RULES).unwrap();
    std::fs::write(dir.path().join("support.pass"), "secret\n").unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        r#"
[database]
path = "tickets.db"

[smtp]
host = "127.0.0.1"
port = 9
from = "Support <support@example.test>"

[[mailbox]]
name = "support"
address = "support@example.test"
host = "127.0.0.1"
port = 9
security = "none"
username = "support@example.test"
password_file = "support.pass"
department = "support"
"#,
    )
    .unwrap();
    Ticketd { dir }
}

#[test]
fn read_only_commands_never_create_or_migrate_a_database() {
    let t = fresh_install();
    let db = t.path("tickets.db");
    let missing = format!("database {} does not exist (run `ticketd run` first)", db.display());
    for args in [
        &["tickets", "list"][..],
        &["tickets", "list", "--json"],
        &["tickets", "show", "1"],
        &["customers", "show", "anna@customer.test"],
        &["stats"],
        &["quarantine", "list"],
        &["db", "backup", t.path("copy.db").to_str().unwrap()],
    ] {
        let out = t.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim(), format!("ticketd: {missing}"), "{args:?}");
        assert!(!db.exists(), "{args:?} created the database");
    }
    // Those that work without one say so where it matters, and create nothing either.
    t.ok(&["check-config"]);
    std::fs::write(t.path("m.eml"), Mail::new("anna@customer.test", "Hello", "x").bytes()).unwrap();
    let out = t.run(&["rules", "test", t.path("m.eml").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&missing));
    let left: Vec<_> = walk(t.dir.path()).into_iter().filter(|p| !p.starts_with(t.path("rules"))).collect();
    assert_eq!(left.len(), 3, "only config.toml, support.pass and m.eml: {left:?}");

    // A database with an older schema is refused, not migrated.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE tickets (id INTEGER PRIMARY KEY)").unwrap();
    conn.pragma_update(None, "user_version", ticketd::store::SCHEMA_VERSION - 1).unwrap();
    drop(conn);
    let out = t.run(&["tickets", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("older than this ticketd") && stderr.contains("ticketd run"), "{stderr}");
    let version: i64 =
        rusqlite::Connection::open(&db).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, ticketd::store::SCHEMA_VERSION - 1);
}

/// Raises this process's soft limit on open files to at least `want` (within the hard limit).
fn raise_nofile(want: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: a valid pointer to a rlimit.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < want as libc::rlim_t {
            lim.rlim_cur = (want as libc::rlim_t).min(lim.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
    }
}

/// GET `path`: the status line and how long the answer took (None: no answer within 5 s).
fn get(port: u16, path: &str) -> (Option<String>, Duration) {
    let started = Instant::now();
    let answer = (|| -> std::io::Result<String> {
        let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })();
    (answer.ok().and_then(|a| a.lines().next().map(str::to_string)), started.elapsed())
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_idle_connections_leave_health_and_mail_working() {
    const IDLE: usize = 1000;
    raise_nofile(IDLE as u64 + 512);
    let server = MailServer::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let t = Ticketd::new(&server, "poll_interval = \"1s\"", &format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    // The daemon under the usual limit of 1,024 open files (systemd's default soft limit),
    // which 1,000 connections held by the listener would use up.
    let mut cmd = ticketd(&t, 0o027, &["run"]);
    // SAFETY: setrlimit is async-signal-safe; the pointer is valid.
    unsafe {
        cmd.pre_exec(|| {
            let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
            lim.rlim_cur = lim.rlim_max.min(1024);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let daemon = support::Daemon(
        cmd.stdout(Stdio::null()).stderr(std::fs::File::create(t.path("daemon.log")).unwrap()).spawn().unwrap(),
    );
    let pid = daemon.0.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(port, "/healthz").0.as_deref() != Some("HTTP/1.1 200 OK") {
        assert!(Instant::now() < deadline, "the daemon never became healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
    let fds_before = open_files(pid);

    // The flood: 1,000 connections that never send a request, each one the server closes
    // opened again, until the test is done.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let flood = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let connect = || {
                let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
                s.set_nonblocking(true).ok()?;
                Some(s)
            };
            let mut conns: Vec<Option<TcpStream>> = (0..IDLE).map(|_| connect()).collect();
            let _ = opened_tx.send(conns.iter().flatten().count());
            let mut total = IDLE;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                for c in conns.iter_mut() {
                    let alive = c.as_ref().is_some_and(
                        |s| matches!(s.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
                    );
                    if !alive {
                        *c = connect();
                        total += 1;
                    }
                }
            }
            total
        })
    };
    let opened = opened_rx.recv().unwrap();
    assert_eq!(opened, IDLE, "the test could not open its connections");

    // /healthz answers throughout, new mail is still read and acknowledged.
    let mut worst = Duration::ZERO;
    let mut statuses = Vec::new();
    let mut fds_max = 0;
    let anna = Mail::new("anna@customer.test", "Still there?", "Hello during the flood");
    server.append("support@example.test", "INBOX", &anna.bytes(), None).await;
    let started = Instant::now();
    let mut acked = None;
    while started.elapsed() < Duration::from_secs(30) {
        let (status, took) = get(port, "/healthz");
        worst = worst.max(took);
        fds_max = fds_max.max(open_files(pid));
        let status = status.unwrap_or_else(|| format!("no answer within 5 s (after {took:?})"));
        assert!(
            status == "HTTP/1.1 200 OK" || status == "HTTP/1.1 503 Service Unavailable",
            "/healthz during the flood: {status}"
        );
        statuses.push(status);
        if acked.is_none() && !server.messages("anna@customer.test", "INBOX").await.is_empty() {
            acked = Some(started.elapsed());
        }
        // Long enough for the 5 s request time-out to come round.
        if acked.is_some() && started.elapsed() >= Duration::from_secs(7) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total = flood.join().unwrap();
    let log = std::fs::read_to_string(t.path("daemon.log")).unwrap();
    let acked = acked.unwrap_or_else(|| panic!("the acknowledgement never came:\n{log}\n{}", server.maillog()));
    assert!(worst < Duration::from_secs(5), "worst /healthz latency {worst:?}");
    assert!(!log.contains("Too many open files") && !log.contains("os error 24"), "{log}");
    assert!(fds_max < 1024, "the daemon held {fds_max} descriptors");
    let ok = statuses.iter().filter(|s| s.contains("200")).count();
    println!(
        "{IDLE} idle connections ({total} opened in all): /healthz answered {} times ({ok} × 200), worst {worst:?}; \
         the acknowledgement arrived after {acked:?}; the daemon held at most {fds_max} descriptors ({fds_before} before)",
        statuses.len()
    );
    // The metrics say what happened to the flood.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut metrics = String::new();
    s.read_to_string(&mut metrics).unwrap();
    let refused: Vec<&str> = metrics.lines().filter(|l| l.starts_with("ticketd_http_refused_total")).collect();
    assert!(refused.iter().any(|l| l.contains("displaced")), "{metrics}");
    println!("{}", refused.join("\n"));
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_login_alerts_the_admins_once_and_sighup_retries_at_once_after_the_fix() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "[alerts]\nto = [\"admin@example.test\"]\n");
    std::fs::write(t.path("support.pass"), "not the password\n").unwrap();
    let daemon = support::Daemon::start(&t);
    // The admins hear of it once: a refused login is not retried every few seconds.
    let alert = server.wait_for("admin@example.test", "INBOX", 1).await[0].parsed();
    assert!(alert.subject.contains("cannot be read"), "{}", alert.subject);
    assert!(!alert.text.contains("not the password"), "the password must never be mailed");
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(server.messages("admin@example.test", "INBOX").await.len(), 1, "one alert, not one per retry");
    // The admin fixes the password and sends SIGHUP: the mailbox is read at once, not in 15 minutes.
    std::fs::write(t.path("support.pass"), format!("{}\n", support::PASSWORD)).unwrap();
    let mail = Mail::new("anna@customer.test", "Hello", "Are you there?");
    server.append("support@example.test", "INBOX", &mail.bytes(), None).await;
    let status = std::process::Command::new("kill").args(["-HUP", &daemon.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let ack = server.wait_for("anna@customer.test", "INBOX", 1).await;
    assert_eq!(ack.len(), 1);
}
