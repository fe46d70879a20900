//! A hostile inbox, against a real Postfix and Dovecot: every attack of issue 17 as its own
//! test, each asserting the safe outcome. Strangers write through the company's own Postfix
//! (which writes its Received header and, through the sandbox's verifier stand-in, its
//! Authentication-Results), exactly as they would on the internet.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{count, Mail, MailServer, Ticketd};

fn set_trust(t: &Ticketd, trust: &str) {
    let path = t.config();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen("trust = [\"sent-folder\", \"dkim\", \"submission\"]", &format!("trust = {trust}"), 1);
    std::fs::write(path, text).unwrap();
}

fn events(t: &Ticketd, ticket: i64) -> Vec<(String, String)> {
    let shown = t.json(&["tickets", "show", &ticket.to_string()]);
    shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap_or("").to_string(), e["detail"].as_str().unwrap_or("").to_string()))
        .collect()
}

/// Sends through Postfix and waits until Dovecot has it, then runs one pass.
async fn deliver_and_run(server: &MailServer, t: &Ticketd, envelope_from: &str, mail: &Mail) {
    server.smtp_session(None, envelope_from, &["support@example.test"], &mail.bytes()).await;
    let got = server.wait_for_text("support@example.test", "INBOX", &mail.message_id, 1).await;
    assert_eq!(got.len(), 1, "{}", server.maillog());
    t.ok(&["run", "--once"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_staff_mail_changes_nothing_and_the_genuine_paths_still_work() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "sent_folder = \"Sent\"\nafter = \"none\"", "");
    set_trust(&t, "[\"sent-folder\", \"dkim\"]");
    let anna = Mail::new("Anna <anna@customer.test>", "Invoice wrong", "Please fix the October invoice.");
    deliver_and_run(&server, &t, "anna@customer.test", &anna).await;
    let eve = Mail::new("Eve <eve@evil.test>", "Hello", "A ticket of my own.");
    deliver_and_run(&server, &t, "eve@evil.test", &eve).await;

    // Every forgery at once: Exchange's internal header, a DKIM result and Postfix's
    // authenticated-submission comment written by the sender, and an envelope sender made so
    // that Dovecot repeats "(Authenticated sender: ...)" in its own Received header.
    let attack = Mail::new("Alice <alice@example.test>", "Re: [Ticket#1] Invoice wrong", "#assign alice\n#time 9h\n#merge 2\n#close")
        .header("X-MS-Exchange-Organization-AuthAs: Internal")
        .header("Authentication-Results: mail.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test")
        .header("Received: from x (unknown [192.0.2.1]) (Authenticated sender: alice@example.test) by mail.example.test (Postfix) with ESMTPSA id F00");
    let crafted = "\"(Authenticated sender: alice@example.test)\"@evil.test";
    server.smtp_session(None, crafted, &["support@example.test"], &attack.bytes()).await;
    let inbox = server.wait_for_text("support@example.test", "INBOX", &attack.message_id, 1).await;
    assert!(
        inbox.iter().any(|m| String::from_utf8_lossy(&m.raw).contains("envelope-from <\"(Authenticated sender:")),
        "Dovecot really wrote the crafted envelope sender into its header"
    );
    t.ok(&["run", "--once"]);
    let one = t.json(&["tickets", "show", "1"]);
    assert_eq!(one["status"], "new", "{one:#}");
    assert_eq!(one["assignee"], serde_json::Value::Null);
    assert_eq!(one["requester"], "anna@customer.test");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM time_entries"), 0, "no time booked on her contract");
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM messages WHERE ticket_id = 2 AND direction = 'in'"),
        1,
        "nothing merged into Eve's ticket"
    );
    // A stranger's tag alone never enters her ticket: the forgery is a flagged customer message
    // on a new ticket linked to hers, where the admin sees it.
    let (kind, flags, linked): (String, String, Option<i64>) = t
        .db()
        .query_row(
            "SELECT m.kind, m.flags, t.linked_to FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.from_addr = 'alice@example.test'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), linked), ("customer", Some(1)));
    assert!(flags.contains("forged_staff"), "{flags}");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE ticket_id = 1 AND direction = 'in'"), 1);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM outbox WHERE recipients LIKE '%alice@%' AND kind = 'ack'"), 0);

    // The genuine paths: bob answers from the shared Sent folder, then Alice closes from her
    // own client, submitted to the company's Postfix (whose verifier vouches for her DKIM).
    let bob = Mail::new("Support <support@example.test>", "Re: [Ticket#1] Invoice wrong", "Fixed, sorry.")
        .to("anna@customer.test")
        .header("X-Sent-By: bob");
    server.append("support@example.test", "Sent", &bob.bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "show", "1"])["status"], "open");
    let close =
        Mail::new("Alice <alice@example.test>", "Re: [Ticket#1] Invoice wrong", "#close\nDone, see Bob's reply.");
    server.send_authenticated("alice@example.test", &["support@example.test"], &close.bytes()).await;
    server.wait_for_text("support@example.test", "INBOX", &close.message_id, 1).await;
    t.ok(&["run", "--once"]);
    let closed = t.json(&["tickets", "show", "1"]);
    assert_eq!(closed["status"], "closed", "{closed:#}");
    assert!(events(&t, 1).iter().any(|(k, d)| k == "status" && d.contains("closed")), "{:?}", events(&t, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn strangers_automatic_mail_and_forged_loops_do_not_enter_tickets() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    // 1: a customer at a public mail provider; 2: one at a company.
    deliver_and_run(&server, &t, "anna@gmail.com", &Mail::new("anna@gmail.com", "Order 17", "Where is it?")).await;
    let bela = Mail::new("Béla <bela@customer.test>", "Login broken", "Cannot log in.");
    deliver_and_run(&server, &t, "bela@customer.test", &bela).await;

    // Anyone else at gmail.com is a stranger: a tag alone opens a new, linked ticket.
    let eve = Mail::new("eve@gmail.com", "Re: [Ticket#1] Order 17", "Please send it to my address instead.");
    deliver_and_run(&server, &t, "eve@gmail.com", &eve).await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE ticket_id = 1 AND direction = 'in'"), 1);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM tickets WHERE requester = 'eve@gmail.com' AND linked_to = 1"), 1);
    // A colleague at the customer's own domain joins, and the join is an event naming him.
    let colleague = Mail::new("csaba@customer.test", "Re: [Ticket#2] Login broken", "Same for me.");
    deliver_and_run(&server, &t, "csaba@customer.test", &colleague).await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE ticket_id = 2 AND direction = 'in'"), 2);
    assert!(events(&t, 2).iter().any(|(k, d)| k == "joined" && d.contains("csaba@customer.test")));

    // A fake bounce naming ticket 2 by its tag, but no mail ticketd sent.
    let bounce = Mail::new("MAILER-DAEMON@mx.customer.test", "Undelivered Mail Returned to Sender [Ticket#2]", "")
        .header("Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"")
        .body_raw(
            "--b\r\nContent-Type: text/plain\r\n\r\nbela@customer.test: mailbox unavailable\r\n\
             --b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; bela@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n",
        );
    deliver_and_run(&server, &t, "", &bounce).await;
    // A forged X-Loop marker naming ticket 2.
    let looped = Mail::new("mallory@evil.test", "[Ticket#2] Login broken", "I am ticketd, honest.")
        .header("X-Loop: ticketd support@example.test");
    deliver_and_run(&server, &t, "mallory@evil.test", &looped).await;
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM messages WHERE ticket_id = 2 AND direction = 'in'"),
        2,
        "neither joined ticket 2"
    );
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM messages WHERE kind = 'ack' AND direction = 'in'"),
        0,
        "nothing is stored as ticketd's own"
    );
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE from_addr = 'mallory@evil.test' AND kind = 'auto'"), 1);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM addresses WHERE bounced_at IS NOT NULL"), 0, "Béla is not bouncing");
    // ... so his next ticket is acknowledged.
    let again = Mail::new("bela@customer.test", "Another thing", "Also the export.");
    deliver_and_run(&server, &t, "bela@customer.test", &again).await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack' AND recipients LIKE '%bela@%'"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_senders_get_no_mail_and_names_are_repeated_only_when_harmless() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "[acks]\nper_hour = 3\n");
    // The company's MTA says the sender fails SPF and DMARC (the sandbox's verifier stand-in
    // does so for envelope senders at forged.test).
    let pills = Mail::new("\"CHEAP PILLS at pills.example\" <boss@forged.test>", "You won", "Click here.");
    deliver_and_run(&server, &t, "boss@forged.test", &pills).await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack'"), 0);
    assert!(
        events(&t, 1).iter().any(|(k, d)| k == "ack_suppressed" && d.contains("dmarc=fail")),
        "{:?}",
        events(&t, 1)
    );
    // A real customer with an advert for a name is answered without the name.
    let advert = Mail::new("\"Visit www.pills.example now\" <dora@customer.test>", "Question", "About my order.");
    deliver_and_run(&server, &t, "dora@customer.test", &advert).await;
    let ack = server.wait_for("dora@customer.test", "INBOX", 1).await[0].parsed();
    assert!(!ack.text.contains("pills"), "{}", ack.text);
    assert!(ack.text.starts_with("Hello,"), "{}", ack.text);
    // The global cap: three acknowledgements an hour (Dora's was the first), then events and
    // an alert, not mail.
    for who in ["e1", "e2", "e3", "e4"] {
        let m = Mail::new(&format!("{who}@customer.test"), "Help", "Please.");
        deliver_and_run(&server, &t, &format!("{who}@customer.test"), &m).await;
    }
    assert_eq!(count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack'"), 3);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM events WHERE kind = 'ack_suppressed' AND detail LIKE '%per_hour%'"), 2);
    // Dora's own address, but the MTA says the sender was forged: her ticket stays hers.
    let dora_ticket = count(&t, "SELECT id FROM tickets WHERE requester = 'dora@customer.test'");
    let spoof = Mail::new("dora@customer.test", &format!("Re: [Ticket#{dora_ticket}] Question"), "Change my address.");
    deliver_and_run(&server, &t, "dora@forged.test", &spoof).await;
    let joined = format!("SELECT COUNT(*) FROM messages WHERE ticket_id = {dora_ticket} AND direction = 'in'");
    assert_eq!(count(&t, &joined), 1, "the forged mail did not join");
    let linked = format!("SELECT COUNT(*) FROM tickets WHERE linked_to = {dora_ticket}");
    assert_eq!(count(&t, &linked), 1);
}

/// The three figures' messages of issue 17: 35,000 nested message/rfc822 parts (~3 MB), a
/// megabyte of alternating quoted and new lines, and 100,000 nested divs.
fn poison_mails() -> Vec<Vec<u8>> {
    let mut nested = String::new();
    for _ in 0..35_000 {
        nested.push_str("Content-Type: message/rfc822\r\n\r\nSubject: x\r\n");
    }
    nested.push_str("\r\ninnermost\r\n");
    let deep = Mail::new("deep@customer.test", "Deep", "")
        .header("MIME-Version: 1.0")
        .header("Content-Type: message/rfc822")
        .body_raw(&nested);
    let mut reply = String::new();
    while reply.len() < 1_000_000 {
        reply.push_str("> quoted history line\nnew text line\n");
    }
    let long = Mail::new("long@customer.test", "Long", &reply);
    let divs = format!("<html><body>{}deep{}</body></html>", "<div>".repeat(100_000), "</div>".repeat(100_000));
    let html = Mail::new("divs@customer.test", "Divs", "")
        .header("MIME-Version: 1.0")
        .header("Content-Type: text/html; charset=utf-8")
        .body_raw(&divs);
    vec![deep.bytes(), long.bytes(), html.bytes()]
}

fn get_healthz(port: u16) -> Option<Duration> {
    use std::io::{Read, Write};
    let started = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    (answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 503")).then(|| started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_mail_is_stored_while_the_mail_around_it_is_acknowledged_and_healthz_answers() {
    let server = MailServer::start();
    let port = support::free_port();
    let t = Ticketd::new(&server, "", &format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    let mut mails = vec![Mail::new("before@customer.test", "Before", "First.").bytes()];
    mails.extend(poison_mails());
    mails.push(Mail::new("after@customer.test", "After", "Last.").bytes());
    for m in &mails {
        server.append("support@example.test", "INBOX", m, None).await;
    }
    let _daemon = support::Daemon::start(&t);
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(120) {
        if let Some(took) = get_healthz(port) {
            worst = worst.max(took);
            answered += 1;
        } else if started.elapsed() > Duration::from_secs(5) {
            panic!("/healthz did not answer: {}", std::fs::read_to_string(t.path("daemon.log")).unwrap_or_default());
        }
        let before = server.messages("before@customer.test", "INBOX").await.len();
        let after = server.messages("after@customer.test", "INBOX").await.len();
        if before == 1 && after == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("/healthz: {answered} answers, worst {worst:?}, everything acknowledged after {:?}", started.elapsed());
    assert_eq!(server.messages("after@customer.test", "INBOX").await.len(), 1, "the mail after the poison is answered");
    assert!(worst < Duration::from_secs(2), "/healthz took {worst:?}");
    // All five are stored; the deep one raw and flagged, none of them dropped.
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in'"), 5);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE flags LIKE '%unparsable%' AND raw IS NOT NULL"), 1);
    assert!(t.ok(&["tickets", "list"]).contains("Divs"));
}

fn run_with_failpoint(t: &Ticketd, failpoint: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ticketd"))
        .arg("--config")
        .arg(t.config())
        .args(["run", "--once"])
        .env("TICKETD_LOG", "info")
        .env("TICKETD_FAILPOINT", failpoint)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_crashes_the_process_alone_three_times_becomes_a_placeholder() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let poison = Mail::new("poison@customer.test", "Crash me", "KILLER-BYTES-7 in the body");
    for m in [
        Mail::new("before@customer.test", "Before", "First."),
        poison,
        Mail::new("after@customer.test", "After", "Last."),
    ] {
        server.append("support@example.test", "INBOX", &m.bytes(), None).await;
    }
    let mut crashes = 0;
    loop {
        let out = run_with_failpoint(&t, "abort:KILLER-BYTES-7");
        if out.status.success() {
            break;
        }
        crashes += 1;
        assert!(crashes <= 4, "still crashing after {crashes} runs: {}", String::from_utf8_lossy(&out.stderr));
    }
    // One try with its batch, which proves nothing about any one message (a kill -9 from
    // outside ends a process the same way), then three tries alone, each counted before it
    // began; then the placeholder, and the folder moved on.
    assert_eq!(crashes, 4);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE flags LIKE '%poison:%' AND raw IS NOT NULL"), 1);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in'"), 3);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM attempts"), 0);
    assert_eq!(server.wait_for("after@customer.test", "INBOX", 1).await.len(), 1);
    assert_eq!(server.wait_for("before@customer.test", "INBOX", 1).await.len(), 1);
    let listed = t.ok(&["tickets", "list"]);
    assert!(listed.contains("(could not be processed) Crash me"), "{listed}");
    assert!(server.messages("support@example.test", "INBOX").await.is_empty(), "all moved on the server");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_panics_is_placeholdered_in_one_pass() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    server
        .append("support@example.test", "INBOX", &Mail::new("p@customer.test", "Panic", "PANIC-BYTES-9").bytes(), None)
        .await;
    server.append("support@example.test", "INBOX", &Mail::new("q@customer.test", "Fine", "ok").bytes(), None).await;
    let out = run_with_failpoint(&t, "panic:PANIC-BYTES-9");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE flags LIKE '%poison: decoding panicked%'"), 1);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in'"), 2);
}

fn mount_tmpfs(dir: &std::path::Path, size: &str) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0750"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

fn umount(dir: &std::path::Path) {
    let _ = Command::new("umount").arg(dir).status();
}

/// Unmounts on drop, so a failing test leaves no mount behind.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        umount(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_too_big_for_the_disk_waits_on_the_server_and_the_others_are_stored() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let data = t.path("data");
    if !mount_tmpfs(&data, "1m") {
        // Mounting needs root (CI runs as root); say so rather than pass silently.
        eprintln!("SKIPPED: cannot mount a small tmpfs here (not root?)");
        return;
    }
    let _mounted = Mounted(data.clone());
    let config = std::fs::read_to_string(t.config()).unwrap().replacen(
        "path = \"tickets.db\"",
        "path = \"tickets.db\"\ndata_dir = \"data\"",
        1,
    );
    std::fs::write(t.config(), config).unwrap();
    let big = support::base64(&vec![7u8; 3 * 1024 * 1024]);
    let big = Mail::new("big@customer.test", "Big scan", "").header("MIME-Version: 1.0").header("Content-Type: multipart/mixed; boundary=\"b\"").body_raw(&format!(
        "--b\r\nContent-Type: text/plain\r\n\r\nThe scan is attached.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{big}\r\n--b--\r\n"
    ));
    for m in [Mail::new("small1@customer.test", "First", "x"), big, Mail::new("small2@customer.test", "Last", "y")] {
        server.append("support@example.test", "INBOX", &m.bytes(), None).await;
    }
    let out = t.run(&["run", "--once"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no space left"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in'"), 2, "the small ones are stored");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM deferred"), 1);
    let left = server.messages("support@example.test", "INBOX").await;
    assert_eq!(left.len(), 1, "the big one stays on the server");
    let stray: Vec<_> = walk(&data).into_iter().filter(|p| p.to_string_lossy().contains(".tmp")).collect();
    assert!(stray.is_empty(), "no temporary files left: {stray:?}");
    // Room again: the next pass stores it.
    umount(&data);
    assert!(mount_tmpfs(&data, "64m"));
    t.ok(&["run", "--once"]);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in'"), 3);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM deferred"), 0);
    assert!(server.messages("support@example.test", "INBOX").await.is_empty());
    assert_eq!(count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack'"), 3);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ordinary_error_is_not_the_messages_fault_and_never_makes_placeholders() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    // An admin's broken edit of the acknowledgement: every pass fails the same way.
    std::fs::create_dir_all(t.path("rules/templates")).unwrap();
    std::fs::write(t.path("rules/templates/ack.txt"), "Hello {% if %}\n").unwrap();
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Help", "x").bytes(), None).await;
    for _ in 0..4 {
        let out = t.run(&["run", "--once"]);
        assert!(!out.status.success(), "the pass reports the failure");
    }
    assert_eq!(count(&t, "SELECT COUNT(*) FROM attempts"), 0, "no try is held against the message");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in'"), 0);
    std::fs::remove_file(t.path("rules/templates/ack.txt")).unwrap();
    t.ok(&["run", "--once"]);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND flags LIKE '%poison%'"), 0);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack'"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_at_the_companys_postfix_is_proof_by_itself_with_submission() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    set_trust(&t, "[\"submission\"]");
    let anna = Mail::new("anna@customer.test", "Export fails", "Since Monday.");
    deliver_and_run(&server, &t, "anna@customer.test", &anna).await;
    // Bob, logged in to the company's Postfix, answers Anna with the shared address in Cc:
    // Postfix writes "(Authenticated sender: bob@example.test)" into its own Received header.
    let answer = Mail::new("Bob <bob@example.test>", "Re: [Ticket#1] Export fails", "#priority high\nFixed now.")
        .to("anna@customer.test")
        .header("Cc: support@example.test");
    server
        .send_authenticated("bob@example.test", &["anna@customer.test", "support@example.test"], &answer.bytes())
        .await;
    server.wait_for_text("support@example.test", "INBOX", &answer.message_id, 1).await;
    t.ok(&["run", "--once"]);
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["status"], "open", "{shown:#}");
    assert_eq!(shown["first_response_by"], "bob@example.test");
    assert_eq!(shown["priority"], "high");
    // Alice's name in someone else's login proves nothing: Bob logs in, writes as Alice.
    let impostor = Mail::new("alice@example.test", "Re: [Ticket#1] Export fails", "#close");
    server.send_authenticated("bob@example.test", &["support@example.test"], &impostor.bytes()).await;
    server.wait_for_text("support@example.test", "INBOX", &impostor.message_id, 1).await;
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "show", "1"])["status"], "open");
    assert_eq!(count(&t, "SELECT COUNT(*) FROM messages WHERE flags LIKE '%forged_staff%'"), 1);
}
