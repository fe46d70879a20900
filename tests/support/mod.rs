//! Shared test support: a real Dovecot + Postfix sandbox on loopback ports in a temporary
//! directory (started by `tests/mailserver/start.sh`), an IMAP client to put mail in and read it
//! back, builders for test mail, and a runner for the real `ticketd` binary.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use tokio::net::TcpStream;

pub const PASSWORD: &str = "secret";

pub mod oauth_server;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One IMAP user of a sandbox, usable from a spawned task.
pub struct ImapUser {
    port: u16,
    user: String,
}

impl ImapUser {
    pub fn new(port: u16, user: &str) -> ImapUser {
        ImapUser { port, user: user.into() }
    }

    pub async fn append_all(&self, folder: &str, messages: &[Vec<u8>]) {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        let mut s = client.login(&self.user, PASSWORD).await.map_err(|(e, _)| e).unwrap();
        for raw in messages {
            s.append(folder, None, None, raw).await.unwrap();
        }
        s.logout().await.ok();
    }
}

/// A private Dovecot (IMAP, LMTP) and Postfix (SMTP → LMTP) pair; stopped on drop.
pub struct MailServer {
    pub dir: tempfile::TempDir,
    pub imap_port: u16,
    pub smtp_port: u16,
    /// IMAP over TLS, with a private CA in `dir/tls/ca.pem` (only from [`MailServer::start_tls`]).
    pub imaps_port: Option<u16>,
}

impl MailServer {
    pub fn start() -> MailServer {
        MailServer::start_with_env(&[])
    }

    /// Starts with extra environment for start.sh (e.g. OAUTH2_INTROSPECTION_URL).
    pub fn start_with_env(env: &[(&str, &str)]) -> MailServer {
        MailServer::launch(env, false)
    }

    /// Also serves IMAPS (and STARTTLS on the plain port) with a private CA.
    pub fn start_tls() -> MailServer {
        MailServer::launch(&[], true)
    }

    /// TLS as [`MailServer::start_tls`], with extra environment for start.sh.
    pub fn start_tls_with_env(env: &[(&str, &str)]) -> MailServer {
        MailServer::launch(env, true)
    }

    fn launch(env: &[(&str, &str)], tls: bool) -> MailServer {
        let dir = tempfile::Builder::new().prefix("ticketd-mail-").tempdir().unwrap();
        for attempt in 0..3 {
            let (imap_port, smtp_port) = (free_port(), free_port());
            let imaps_port = tls.then(free_port);
            let out = Command::new("bash")
                .arg(repo().join("tests/mailserver/start.sh"))
                .arg(dir.path())
                .arg(imap_port.to_string())
                .arg(smtp_port.to_string())
                .args(imaps_port.map(|p| p.to_string()))
                .envs(env.iter().copied())
                .output()
                .expect("run tests/mailserver/start.sh");
            if out.status.success() {
                return MailServer { dir, imap_port, smtp_port, imaps_port };
            }
            let _ = Command::new("bash").arg(repo().join("tests/mailserver/stop.sh")).arg(dir.path()).output();
            if attempt == 2 {
                panic!(
                    "mail server sandbox did not start:\n{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        unreachable!()
    }

    async fn session(&self, user: &str) -> async_imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.imap_port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        client.login(user, PASSWORD).await.map_err(|(e, _)| e).unwrap()
    }

    /// Appends a message with the given INTERNALDATE (now if None).
    pub async fn append(&self, user: &str, folder: &str, raw: &[u8], received: Option<DateTime<Utc>>) {
        let mut s = self.session(user).await;
        let date = received.map(|d| format!("\"{}\"", d.format("%d-%b-%Y %H:%M:%S +0000")));
        s.append(folder, None, date.as_deref(), raw).await.unwrap();
        s.logout().await.ok();
    }

    /// Appends many messages over one connection.
    pub async fn append_many(&self, user: &str, folder: &str, messages: &[(Vec<u8>, Option<DateTime<Utc>>)]) {
        let mut s = self.session(user).await;
        for (raw, received) in messages {
            let date = received.map(|d| format!("\"{}\"", d.format("%d-%b-%Y %H:%M:%S +0000")));
            s.append(folder, None, date.as_deref(), raw).await.unwrap();
        }
        s.logout().await.ok();
    }

    /// Every message in a folder (empty if the folder does not exist), without marking it read.
    pub async fn messages(&self, user: &str, folder: &str) -> Vec<ServerMessage> {
        let mut s = self.session(user).await;
        let Ok(mb) = s.select(folder).await else {
            return Vec::new();
        };
        if mb.exists == 0 {
            return Vec::new();
        }
        let fetches: Vec<_> = s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])").await.unwrap().try_collect().await.unwrap();
        let out = fetches
            .iter()
            .map(|f| ServerMessage {
                uid: f.uid.unwrap_or(0),
                raw: f.body().unwrap_or_default().to_vec(),
                flags: f.flags().map(|fl| format!("{fl:?}")).collect(),
            })
            .collect();
        s.logout().await.ok();
        out
    }

    /// Waits (polling, bounded) until a folder holds at least `count` messages.
    pub async fn wait_for(&self, user: &str, folder: &str, count: usize) -> Vec<ServerMessage> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let m = self.messages(user, folder).await;
            if m.len() >= count || Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn dovecot_conf(&self) -> PathBuf {
        self.dir.path().join("dovecot/dovecot.conf")
    }

    /// Stops Dovecot (connections drop) and starts it again on the same port and mail.
    pub fn restart_imap(&self) {
        let pid = std::fs::read_to_string(self.dir.path().join("dovecot/run/master.pid")).unwrap();
        // The master leads its own session: end every process in it, open connections included,
        // as a crash or a reboot of the server would.
        Command::new("pkill").arg("-KILL").arg("-s").arg(pid.trim()).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.imap_port)).is_ok() {
            assert!(Instant::now() < deadline, "dovecot did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        // A killed master may linger as a zombie until init reaps it; Dovecot would take its
        // pid file as a running instance.
        let _ = std::fs::remove_file(self.dir.path().join("dovecot/run/master.pid"));
        // Not .output(): the daemon would keep the pipes open and the call would never return.
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(self.dovecot_conf())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("dovecot/restart.err")).unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "dovecot restart failed: {}",
            std::fs::read_to_string(self.dir.path().join("dovecot/restart.err")).unwrap_or_default()
        );
        while std::net::TcpStream::connect(("127.0.0.1", self.imap_port)).is_err() {
            assert!(Instant::now() < deadline + Duration::from_secs(10), "dovecot did not come back");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs doveadm against this Dovecot.
    pub fn doveadm(&self, args: &[&str]) {
        let out = Command::new("doveadm").arg("-c").arg(self.dovecot_conf()).args(args).output().unwrap();
        assert!(out.status.success(), "doveadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Sends a message through Postfix (delivered to Dovecot over LMTP, asynchronously). An
    /// empty `from` is the null sender `<>` of bounces.
    pub async fn send(&self, from: &str, to: &[&str], raw: &[u8]) {
        use lettre::AsyncTransport;
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.smtp_port)
            .build();
        let envelope = lettre::address::Envelope::new(
            (!from.is_empty()).then(|| from.parse().unwrap()),
            to.iter().map(|t| t.parse().unwrap()).collect(),
        )
        .unwrap();
        transport.send_raw(&envelope, raw).await.unwrap();
    }

    /// Stops Postfix (an SMTP outage); Dovecot keeps running.
    pub fn stop_smtp(&self) {
        self.postfix("stop");
    }

    /// Starts Postfix again on the same port and queue.
    pub fn start_smtp(&self) {
        self.postfix("start");
    }

    fn postfix(&self, verb: &str) {
        let out = Command::new("postfix")
            .arg("-c")
            .arg(self.dir.path().join("postfix/etc"))
            .arg(verb)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "postfix {verb}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The Postfix log, for failure messages.
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postfix/maillog")).unwrap_or_default()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(repo().join("tests/mailserver/stop.sh")).arg(self.dir.path()).output();
    }
}

#[derive(Debug, Clone)]
pub struct ServerMessage {
    pub uid: u32,
    pub raw: Vec<u8>,
    pub flags: Vec<String>,
}

impl ServerMessage {
    pub fn parsed(&self) -> ticketd::parse::ParsedMessage {
        ticketd::parse::parse(&self.raw)
    }
}

/// A test message as a customer's mail client would write it.
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub extra: Vec<String>,
    /// A body written as is, with its own MIME headers among `extra`.
    pub raw_body: Option<String>,
}

impl Mail {
    pub fn new(from: &str, subject: &str, body: &str) -> Mail {
        let n = rand_id();
        Mail {
            from: from.into(),
            to: "support@example.test".into(),
            subject: subject.into(),
            body: body.into(),
            message_id: format!("{n}@{}", from.rsplit('@').next().unwrap_or("x").trim_end_matches('>')),
            extra: Vec::new(),
            raw_body: None,
        }
    }
    pub fn header(mut self, line: &str) -> Mail {
        self.extra.push(line.into());
        self
    }
    /// A body sent as is; the MIME headers for it go in with [`Mail::header`].
    pub fn body_raw(mut self, body: &str) -> Mail {
        self.raw_body = Some(body.into());
        self
    }
    pub fn to(mut self, to: &str) -> Mail {
        self.to = to.into();
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        let subject = if self.subject.is_ascii() {
            self.subject.clone()
        } else {
            format!("=?UTF-8?B?{}?=", base64(self.subject.as_bytes()))
        };
        let mut s = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}>\r\n",
            self.from,
            self.to,
            subject,
            Utc::now().to_rfc2822(),
            self.message_id
        );
        if self.raw_body.is_none() {
            s.push_str(
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
            );
        }
        for e in &self.extra {
            s.push_str(e);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        match &self.raw_body {
            Some(body) => s.push_str(body),
            None => {
                s.push_str(&self.body.replace('\n', "\r\n"));
                s.push_str("\r\n");
            }
        }
        s.into_bytes()
    }
}

fn rand_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}.{}.{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A ticketd installation in a temporary directory: config.toml, rules/, the database.
pub struct Ticketd {
    pub dir: tempfile::TempDir,
}

pub const BASE_RULES: &str = r#"
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
[calendar.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-15:00"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "8h" }

[[department]]
name = "support"
sla = "standard"
language = "en"
notify = ["alice@example.test"]

[[department]]
name = "billing"
sla = "standard"
from = "Billing <billing@example.test>"
"#;

impl Ticketd {
    /// A config with the `support` mailbox on `server`; `extra_mailbox` is appended verbatim
    /// inside the [[mailbox]] table, `extra` after everything.
    pub fn new(server: &MailServer, extra_mailbox: &str, extra: &str) -> Ticketd {
        let dir = tempfile::Builder::new().prefix("ticketd-home-").tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::write(dir.path().join("rules/10-base.toml"), BASE_RULES).unwrap();
        std::fs::write(dir.path().join("support.pass"), format!("{PASSWORD}\n")).unwrap();
        let config = format!(
            r#"
[database]
path = "tickets.db"

[smtp]
host = "127.0.0.1"
port = {smtp}
from = "Support <support@example.test>"
timeout = "10s"

[staff]
addresses = ["alice@example.test", "bob@example.test"]
trust = ["sent-folder", "dkim", "submission"]
authserv_id = "mail.example.test"

[[mailbox]]
name = "support"
address = "support@example.test"
host = "127.0.0.1"
port = {imap}
security = "none"
username = "support@example.test"
password_file = "support.pass"
department = "support"
{extra_mailbox}

{extra}
"#,
            smtp = server.smtp_port,
            imap = server.imap_port,
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Ticketd { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config(&self) -> PathBuf {
        self.path("config.toml")
    }

    /// Runs the real binary with this config.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ticketd"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env("TICKETD_LOG", "info")
            .output()
            .expect("run ticketd")
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ticketd {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("tickets.db")).unwrap()
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// A running `ticketd run`, its log in the installation's `daemon.log`; killed on drop, so a
/// failing test leaves no daemon behind.
pub struct Daemon(pub std::process::Child);

impl Daemon {
    pub fn start(t: &Ticketd) -> Daemon {
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_ticketd"))
                .arg("--config")
                .arg(t.config())
                .arg("run")
                .env("TICKETD_LOG", "info")
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(t.path("daemon.log")).unwrap())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private SpamAssassin spamd on a loopback port, with local tests only (`--local`: no DNS
/// blocklists, no network); stopped on drop.
pub struct Spamd {
    pub port: u16,
    child: std::process::Child,
    pub dir: tempfile::TempDir,
}

impl Spamd {
    pub fn start() -> Spamd {
        let dir = tempfile::Builder::new().prefix("ticketd-spamd-").tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new("spamd");
        cmd.arg(format!("--listen=127.0.0.1:{port}"))
            .args(["--local", "--nouser-config", "--max-children=2", "--syslog=stderr"])
            .arg(format!("--pidfile={}", dir.path().join("spamd.pid").display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("spamd.log")).unwrap());
        // spamd refuses to run its children as root.
        if is_root() {
            cmd.arg("--username=nobody");
        }
        let child = cmd.spawn().expect("spamd (Debian package spamassassin) is installed");
        let spamd = Spamd { port, child, dir };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if spamd.ping() {
                return spamd;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("spamd did not answer PING within 60 s:\n{}", spamd.log());
    }

    fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"PING SPAMC/1.5\r\n\r\n").is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.contains("PONG")
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("spamd.log")).unwrap_or_default()
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl Drop for Spamd {
    fn drop(&mut self) {
        // SIGTERM lets the parent take its preforked children with it.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// The envelope sender for a stored message: its From address (a bounce's null sender aside).
pub fn envelope_sender(raw: &[u8]) -> String {
    ticketd::parse::parse(raw)
        .from
        .map(|f| f.address)
        .filter(|a| a.contains('@'))
        .unwrap_or_else(|| "unknown@sender.test".into())
}

impl MailServer {
    /// Sends a message through Postfix as a logged-in user (SMTP AUTH PLAIN over the loopback
    /// port, as a staff member's mail client submits): Postfix then writes its
    /// "(Authenticated sender: USER)" comment, and the sandbox's verifier stand-in its DKIM pass.
    pub async fn send_authenticated(&self, user: &str, to: &[&str], raw: &[u8]) {
        self.smtp_session(Some(user), user, to, raw).await
    }

    /// One SMTP transaction spoken by hand, so that a test can use envelope senders no client
    /// library would (`<"(Authenticated sender: x)"@evil.test>`), with AUTH PLAIN as `auth`.
    pub async fn smtp_session(&self, auth: Option<&str>, mail_from: &str, to: &[&str], raw: &[u8]) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let stream = TcpStream::connect(("127.0.0.1", self.smtp_port)).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        // Reads one (possibly multi-line) reply and checks its code.
        async fn reply(lines: &mut tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>, want: &str) {
            loop {
                let line = lines.next_line().await.unwrap().expect("an SMTP reply");
                assert!(line.starts_with(want), "SMTP: wanted {want}, got {line}");
                if line.as_bytes().get(3) != Some(&b'-') {
                    return;
                }
            }
        }
        reply(&mut lines, "220").await;
        let mut steps = vec![("EHLO client.example.test".to_string(), "250")];
        if let Some(user) = auth {
            let plain = base64(format!("\0{user}\0{PASSWORD}").as_bytes());
            steps.push((format!("AUTH PLAIN {plain}"), "235"));
        }
        steps.push((format!("MAIL FROM:<{mail_from}>"), "250"));
        for t in to {
            steps.push((format!("RCPT TO:<{t}>"), "250"));
        }
        steps.push(("DATA".into(), "354"));
        for (command, want) in steps {
            write.write_all(format!("{command}\r\n").as_bytes()).await.unwrap();
            reply(&mut lines, want).await;
        }
        let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
        for line in text.split('\n') {
            let stuffed = if line.starts_with('.') { format!(".{line}") } else { line.to_string() };
            write.write_all(format!("{stuffed}\r\n").as_bytes()).await.unwrap();
        }
        write.write_all(b".\r\n").await.unwrap();
        reply(&mut lines, "250").await;
        write.write_all(b"QUIT\r\n").await.unwrap();
    }

    /// Waits until `user`'s `folder` holds at least `count` messages whose raw text contains
    /// `needle`, and returns them.
    pub async fn wait_for_text(&self, user: &str, folder: &str, needle: &str, count: usize) -> Vec<ServerMessage> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found: Vec<ServerMessage> = self
                .messages(user, folder)
                .await
                .into_iter()
                .filter(|m| String::from_utf8_lossy(&m.raw).contains(needle))
                .collect();
            if found.len() >= count || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The office calendar most tests use: Budapest, Monday to Friday 08:00-17:00, with `holidays`
/// (a TOML array's inside, e.g. `"2026-12-24", "2026-12-25"`).
pub fn office_calendar(holidays: &str) -> String {
    format!(
        "[[calendar]]\nname = \"office\"\ntimezone = \"Europe/Budapest\"\nholidays = [{holidays}]\n\
         [calendar.hours]\nmon = \"08:00-17:00\"\ntue = \"08:00-17:00\"\nwed = \"08:00-17:00\"\n\
         thu = \"08:00-17:00\"\nfri = \"08:00-17:00\"\n"
    )
}

/// A local Budapest time ("2026-11-23 09:00") as an instant.
pub fn budapest(local: &str) -> DateTime<Utc> {
    use chrono::TimeZone;
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    chrono_tz::Europe::Budapest.from_local_datetime(&naive).unwrap().with_timezone(&Utc)
}

/// `ticketd run --once` with the clock at a local Budapest time.
pub fn run_at(t: &Ticketd, local: &str) {
    t.ok(&["run", "--once", "--now", &budapest(local).to_rfc3339()]);
}

/// One number from the database.
pub fn count(t: &Ticketd, sql: &str) -> i64 {
    t.db().query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// One number from the database, or `fallback` while it cannot be read (a daemon is writing
/// it, or has not made it yet).
pub fn count_or(t: &Ticketd, sql: &str, fallback: i64) -> i64 {
    t.db().query_row(sql, [], |r| r.get(0)).unwrap_or(fallback)
}

/// What the company's own MTA writes above mail it received from a staff member's client: a
/// passing DKIM result under its authserv-id, above its Received header.
pub const DKIM_PASS: &str = "Authentication-Results: mail.example.test; dkim=pass header.d=example.test\r\n\
    Received: from out.example.test (out.example.test [192.0.2.25]) by mail.example.test (Postfix) with ESMTPS id 9C1";
