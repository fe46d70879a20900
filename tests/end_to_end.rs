//! End to end against a real Dovecot and Postfix: mail in a shared inbox becomes acknowledged
//! tickets, replies thread, nothing is sent twice, bad input is kept and reported.

mod support;

use chrono::{Duration, Utc};
use support::{Mail, MailServer, Ticketd};

fn outbox_count(t: &Ticketd) -> i64 {
    t.db().query_row("SELECT COUNT(*) FROM outbox WHERE kind = 'ack'", [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_customers_get_tickets_and_acknowledgements_and_a_reply_threads() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let anna = Mail::new(
        "Anna Kovács <anna@customer.test>",
        "Nem működik a webshop",
        "Jó napot! A webshop nem tölt be, kérem segítsenek.",
    );
    let hans =
        Mail::new("Hans Müller <hans@other.test>", "Rechnung fehlt", "Guten Tag, die Rechnung für Oktober fehlt.");
    server.append("support@example.test", "INBOX", &anna.bytes(), None).await;
    server.append("support@example.test", "INBOX", &hans.bytes(), None).await;

    t.ok(&["run", "--once"]);

    let tickets = t.json(&["tickets", "list"]);
    let list = tickets.as_array().unwrap();
    assert_eq!(list.len(), 2, "{tickets:#}");
    let anna_ticket = list.iter().find(|x| x["requester"] == "anna@customer.test").unwrap();
    assert_eq!(anna_ticket["status"], "new");
    assert_eq!(anna_ticket["subject"], "Nem működik a webshop");
    assert_eq!(anna_ticket["department"], "support");
    assert_eq!(anna_ticket["language"], "hu");
    assert!(anna_ticket["due"].is_object());
    let anna_id = anna_ticket["id"].as_i64().unwrap();

    // The acknowledgements as the customers received them.
    let acks = server.wait_for("anna@customer.test", "INBOX", 1).await;
    assert_eq!(acks.len(), 1, "postfix log:\n{}", server.maillog());
    let ack = acks[0].parsed();
    assert_eq!(ack.subject, format!("[Ticket#{anna_id}] Nem működik a webshop"));
    assert_eq!(ack.from.as_ref().unwrap().address, "support@example.test");
    assert_eq!(ack.to, vec!["anna@customer.test"]);
    assert_eq!(ack.in_reply_to, vec![anna.message_id.clone()]);
    assert_eq!(ack.references, vec![anna.message_id.clone()]);
    assert_eq!(ack.header("auto-submitted"), Some("auto-replied"));
    assert!(ack.header("x-loop").unwrap().starts_with("ticketd"));
    assert_eq!(ack.header("x-ticket-id"), Some(anna_id.to_string().as_str()));
    assert_eq!(ack.header("content-language"), Some("hu"));
    let ack_id = ack.message_id.clone().unwrap();
    assert!(ack_id.starts_with("ticketd."), "{ack_id}");
    assert!(ack.text.contains(&format!("[Ticket#{anna_id}]")), "{}", ack.text);
    assert!(ack.text.contains("Köszönjük"), "Hungarian template expected: {}", ack.text);
    let hans_acks = server.wait_for("hans@other.test", "INBOX", 1).await;
    assert_eq!(hans_acks.len(), 1);
    assert!(hans_acks[0].parsed().text.contains("vielen Dank"), "{}", hans_acks[0].parsed().text);

    // The originals were moved to Processed, unread.
    assert!(server.messages("support@example.test", "INBOX").await.is_empty());
    let processed = server.messages("support@example.test", "Processed").await;
    assert_eq!(processed.len(), 2);
    assert!(processed.iter().all(|m| !m.flags.iter().any(|f| f.contains("Seen"))), "{:?}", processed[0].flags);

    // Anna answers the acknowledgement as her mail client would.
    let reply = Mail::new("Anna Kovács <anna@customer.test>", &format!("Re: {}", ack.subject), "Még mindig nem megy.")
        .header(&format!("In-Reply-To: <{ack_id}>"))
        .header(&format!("References: <{}> <{ack_id}>", anna.message_id));
    server.append("support@example.test", "INBOX", &reply.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let shown = t.json(&["tickets", "show", &anna_id.to_string()]);
    // The customer's two messages, and what ticketd sent: the acknowledgement, the
    // department's notification, and the follow-up notice to the department.
    assert_eq!(shown["message_count"], 5, "{shown:#}");
    let incoming: Vec<&serde_json::Value> =
        shown["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "in").collect();
    assert_eq!(incoming.len(), 2);
    assert_eq!(incoming[1]["kind"], "customer");
    assert_eq!(incoming[1]["text"].as_str().unwrap().trim(), "Még mindig nem megy.");
    let sent: Vec<&str> = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(sent, vec!["ack", "notification", "notification"]);
    assert_eq!(outbox_count(&t), 2, "the reply must not be acknowledged, only passed on to staff");
    assert_eq!(shown["awaiting"], "staff");
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 2);

    // A further pass changes nothing and sends nothing.
    let before = t.json(&["tickets", "list", "--status", "all"]);
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "list", "--status", "all"]), before);
    assert_eq!(outbox_count(&t), 2);
    assert_eq!(server.messages("anna@customer.test", "INBOX").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_automatic_and_own_mail_are_never_acknowledged() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let mails = [
        Mail::new("Alice <alice@example.test>", "Internal question", "staff writing in"),
        Mail::new("Out of office <ooo@customer.test>", "Automatic reply: x", "I am away")
            .header("Auto-Submitted: auto-replied"),
        Mail::new("MAILER-DAEMON@mail.customer.test", "Undelivered Mail Returned to Sender", "bounce"),
        Mail::new("news@shop.test", "Weekly offers", "buy")
            .header("List-Id: <offers.shop.test>")
            .header("Precedence: bulk"),
        Mail::new("Support <support@example.test>", "[Ticket#99] copy of our own mail", "own")
            .header("X-Loop: ticketd support@example.test"),
    ];
    for m in &mails {
        server.append("support@example.test", "INBOX", &m.bytes(), None).await;
    }
    t.ok(&["run", "--once"]);
    assert_eq!(outbox_count(&t), 0);
    // Everything is kept: automatic mail and untrusted staff mail are stored on tickets.
    let stored: i64 =
        t.db().query_row("SELECT COUNT(*) FROM messages WHERE direction = 'in'", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 5);
    let suppressed: i64 =
        t.db().query_row("SELECT COUNT(*) FROM events WHERE kind = 'ack_suppressed'", [], |r| r.get(0)).unwrap();
    assert_eq!(suppressed, 1, "the forged/untrusted staff mail is recorded as suppressed");
    assert_eq!(server.messages("support@example.test", "Processed").await.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_mailbox_is_named_and_the_others_still_run() {
    let server = MailServer::start();
    std::fs::write(std::env::temp_dir().join("ticketd-wrong.pass"), "wrong\n").unwrap();
    let extra = format!(
        r#"
[[mailbox]]
name = "billing"
address = "billing@example.test"
host = "127.0.0.1"
port = {imap}
security = "none"
username = "billing@example.test"
password_file = "{pass}"
department = "billing"

[[mailbox]]
name = "sales"
address = "sales@example.test"
host = "127.0.0.1"
port = 1
security = "none"
username = "sales@example.test"
password_env = "TICKETD_TEST_UNSET_PASSWORD"
department = "support"
"#,
        imap = server.imap_port,
        pass = std::env::temp_dir().join("ticketd-wrong.pass").display()
    );
    let t = Ticketd::new(&server, "", &extra);
    server
        .append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Help", "please").bytes(), None)
        .await;
    let out = t.run(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("mailbox \"billing\""), "{stderr}");
    assert!(stderr.contains("login refused"), "{stderr}");
    assert!(stderr.contains("mailbox \"sales\""), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password must never be printed: {stderr}");
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(server.wait_for("anna@customer.test", "INBOX", 1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_message_is_kept_raw_and_flagged_and_does_not_block_the_next() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    // No header block at all, binary noise: the parser cannot make sense of it.
    let garbage: Vec<u8> =
        b"\xff\xfe\x00garbage without any header\r\n\x01\x02".iter().copied().filter(|b| *b != 0).collect();
    server.append("support@example.test", "INBOX", &garbage, None).await;
    let good = Mail::new("anna@customer.test", "After the garbage", "still processed");
    server.append("support@example.test", "INBOX", &good.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let all = t.json(&["tickets", "list", "--status", "all"]);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all:#}");
    let raw: Vec<u8> = t
        .db()
        .query_row("SELECT raw FROM messages WHERE flags LIKE '%unparsable%'", [], |r| r.get(0))
        .expect("the garbage is stored raw with a flag");
    assert_eq!(raw, garbage);
    assert_eq!(server.wait_for("anna@customer.test", "INBOX", 1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn years_of_old_mail_are_left_alone_on_the_first_sync() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let old = Utc::now() - Duration::days(400);
    let batch: Vec<(Vec<u8>, Option<chrono::DateTime<Utc>>)> = (0..5000)
        .map(|i| {
            (
                Mail::new(&format!("c{i}@customer.test"), &format!("old {i}"), "old").bytes(),
                Some(old + Duration::minutes(i)),
            )
        })
        .collect();
    server.append_many("support@example.test", "INBOX", &batch).await;
    let fresh = Mail::new("anna@customer.test", "New today", "hello");
    server.append("support@example.test", "INBOX", &fresh.bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(outbox_count(&t), 1);
    assert_eq!(server.messages("support@example.test", "INBOX").await.len(), 5000, "old mail stays where it is");
    // A second pass does not look at them again.
    t.ok(&["run", "--once"]);
    assert_eq!(outbox_count(&t), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn initial_sync_all_imports_old_mail_silently_and_flag_never_touches_seen() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "initial_sync = \"all\"\nafter = \"flag\"", "");
    let old = Utc::now() - Duration::days(30);
    server
        .append("support@example.test", "INBOX", &Mail::new("old@customer.test", "Old", "x").bytes(), Some(old))
        .await;
    server.append("support@example.test", "INBOX", &Mail::new("new@customer.test", "New", "y").bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 2);
    assert_eq!(outbox_count(&t), 1, "only the recent mail is acknowledged");
    let inbox = server.messages("support@example.test", "INBOX").await;
    assert_eq!(inbox.len(), 2);
    for m in &inbox {
        assert!(m.flags.iter().any(|f| f.contains("$Ticketed")), "{:?}", m.flags);
        assert!(!m.flags.iter().any(|f| f.contains("Seen")), "{:?}", m.flags);
    }
}

#[test]
fn config_errors_stop_start_up_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[database]\npath = \"t.db\"\n\n[smtp]\nhost = \"127.0.0.1\"\nfrom = \"s@example.test\"\nport = \"twenty-five\"\n").unwrap();
    for args in [&["check-config"][..], &["run", "--once"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ticketd"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("{}:7:", config.display())), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(!dir.path().join("t.db").exists(), "nothing starts half-configured");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_polls_reloads_rules_on_sighup_and_stops_cleanly_on_sigterm() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "poll_interval = \"1s\"\nidle = false", "");
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_ticketd"))
        .arg("--config")
        .arg(t.config())
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let signal = |sig: &str| {
        std::process::Command::new("kill").arg(format!("-{sig}")).arg(daemon.id().to_string()).status().unwrap();
    };
    server
        .append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Daemon test", "hi").bytes(), None)
        .await;
    let acks = server.wait_for("anna@customer.test", "INBOX", 1).await;
    assert_eq!(acks.len(), 1, "the running daemon acknowledges new mail");

    // A broken rules edit is refused; the old rules keep running.
    std::fs::write(t.path("rules/20-broken.toml"), "[[rule]]\nname = \"x\"\nwhen.subject = \"(\"\n").unwrap();
    signal("HUP");
    server.append("support@example.test", "INBOX", &Mail::new("hans@other.test", "Second", "hi").bytes(), None).await;
    assert_eq!(server.wait_for("hans@other.test", "INBOX", 1).await.len(), 1, "still running after a bad reload");

    signal("TERM");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(s) = daemon.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "daemon did not stop within 15 s of SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    daemon.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("20-broken.toml:3"), "the refused reload names file:line: {stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_are_stored_once_by_content() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let with_pdf = |from: &str, name: &str| {
        format!(
            "From: {from}\r\nTo: support@example.test\r\nSubject: Invoice copy\r\nMessage-ID: <{name}.{}@customer.test>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             See the attachment.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n--b--\r\n",
            std::process::id()
        )
        .into_bytes()
    };
    server.append("support@example.test", "INBOX", &with_pdf("anna@customer.test", "../../számla.pdf"), None).await;
    server.append("support@example.test", "INBOX", &with_pdf("hans@other.test", "copy.pdf"), None).await;
    t.ok(&["run", "--once"]);
    let shown = t.json(&["tickets", "show", "1"]);
    let att = &shown["messages"][0]["attachments"][0];
    assert_eq!(att["filename"], "számla.pdf", "path stripped, name kept");
    assert_eq!(att["content_type"], "application/pdf");
    let sha = att["sha256"].as_str().unwrap();
    let files: Vec<_> = walk(&t.path("data/attachments"));
    assert_eq!(files.len(), 1, "the same content is stored once: {files:?}");
    assert!(files[0].ends_with(sha));
    assert_eq!(std::fs::metadata(&files[0]).unwrap().len() as i64, att["size"].as_i64().unwrap());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_act_on_tickets_from_the_shell_and_every_action_is_an_event() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Help", "x").bytes(), None).await;
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Again", "y").bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert!(t.ok(&["tickets", "assign", "1", "bob", "--by", "alice"]).contains("bob@example.test"));
    t.ok(&["tickets", "priority", "1", "urgent", "--by", "alice@example.test"]);
    t.ok(&["tickets", "note", "1", "Called her back", "--by", "bob"]);
    t.ok(&["tickets", "wait", "1"]);
    t.ok(&["tickets", "close", "2", "--by", "bob"]);
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["assignee"], "bob@example.test");
    assert_eq!(shown["priority"], "urgent");
    assert_eq!(shown["status"], "waiting");
    let kinds: Vec<&str> = shown["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in ["assigned", "priority", "note", "status"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let note = shown["events"].as_array().unwrap().iter().find(|e| e["kind"] == "note").unwrap();
    assert_eq!(note["by"], "bob@example.test");
    assert_eq!(note["detail"], "Called her back");
    t.ok(&["tickets", "reopen", "1"]);
    assert_eq!(t.json(&["tickets", "show", "1"])["status"], "new", "no response yet: back to new");
    // Mistakes are refused with a clear message.
    let out = t.run(&["tickets", "assign", "1", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a staff address"));
    assert_eq!(t.run(&["tickets", "close", "99"]).status.code(), Some(1));
    assert_eq!(t.run(&["tickets", "priority", "1", "asap"]).status.code(), Some(1));
    // The customer's history.
    let history = t.json(&["customers", "show", "Anna@Customer.test"]);
    assert_eq!(history["open"], 1);
    assert_eq!(history["closed"], 1);
    assert_eq!(history["tickets"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bounced_acknowledgement_lands_on_its_ticket_and_is_never_answered() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Help", "x").bytes(), None).await;
    t.ok(&["run", "--once"]);
    let ack = server.wait_for("anna@customer.test", "INBOX", 1).await[0].parsed();
    let ack_id = ack.message_id.unwrap();
    let dsn = format!(
        "From: MAILER-DAEMON@mail.customer.test\r\nTo: support@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn1@mail.customer.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered: mailbox unknown.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.customer.test\r\n\r\n\
         Final-Recipient: rfc822; anna@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Support <support@example.test>\r\nTo: anna@customer.test\r\n\
         Subject: {}\r\nMessage-ID: <{ack_id}>\r\n--r--\r\n",
        ack.subject
    );
    server.append("support@example.test", "INBOX", dsn.as_bytes(), None).await;
    t.ok(&["run", "--once"]);
    let shown = t.json(&["tickets", "show", "1"]);
    let incoming: Vec<&serde_json::Value> =
        shown["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "in").collect();
    assert_eq!(incoming.len(), 2, "{shown:#}");
    assert_eq!(incoming[1]["kind"], "auto");
    assert!(shown["events"].as_array().unwrap().iter().any(|e| e["kind"] == "bounce"), "{shown:#}");
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 1, "no ticket of its own");
    let outbox: i64 = t.db().query_row("SELECT COUNT(*) FROM outbox WHERE kind = 'ack'", [], |r| r.get(0)).unwrap();
    assert_eq!(outbox, 1, "a bounce is never answered");
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledgements_to_one_sender_are_limited_per_hour() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "[acks]\nper_sender_per_hour = 2\n");
    for n in 0..5 {
        server
            .append(
                "support@example.test",
                "INBOX",
                &Mail::new("anna@customer.test", &format!("Issue {n}"), "x").bytes(),
                None,
            )
            .await;
    }
    server
        .append("support@example.test", "INBOX", &Mail::new("hans@other.test", "Other customer", "y").bytes(), None)
        .await;
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 6, "every mail is a ticket");
    let outbox: i64 = t.db().query_row("SELECT COUNT(*) FROM outbox WHERE kind = 'ack'", [], |r| r.get(0)).unwrap();
    assert_eq!(outbox, 3, "two to anna, one to hans");
    let suppressed: i64 = t
        .db()
        .query_row("SELECT COUNT(*) FROM events WHERE kind = 'ack_suppressed' AND detail LIKE '%last hour%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(suppressed, 3);
}
