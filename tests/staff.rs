//! Staff at work, against a real Dovecot and Postfix: email commands from trusted staff (and
//! none from a forged sender), refused commands answered with the reason, assignment notices,
//! and the shell's `tickets time / merge / department / new` and its table.

mod support;

use std::io::Write;

use support::{Mail, MailServer, Ticketd};

const AUTHENTICATED: &str =
    "Received: from [10.0.0.5] by mail.example.test (Postfix) with ESMTPSA (Authenticated sender: alice@example.test)";

fn events(t: &Ticketd, ticket: i64) -> Vec<(String, String, String)> {
    let shown = t.json(&["tickets", "show", &ticket.to_string()]);
    shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["by"].as_str().unwrap_or("").to_string(),
                e["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn email_commands_from_trusted_staff_act_and_mistakes_are_answered() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let anna = Mail::new("Anna <anna@customer.test>", "Export fails", "The export stopped working.");
    server.append("support@example.test", "INBOX", &anna.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let note = server.wait_for("alice@example.test", "INBOX", 1).await[0].parsed();
    let note_id = note.message_id.clone().unwrap();

    // Alice answers the notification with commands only (and one she mistyped).
    let commands = Mail::new(
        "Alice <alice@example.test>",
        &format!("Re: {}", note.subject),
        "#assign bob\n#priority high\n#time 45m\n#frobnicate now\n#note called Anna, she will send logs\n\n> quoted notification",
    )
    .header(&format!("In-Reply-To: <{note_id}>"))
    .header(AUTHENTICATED);
    server.append("support@example.test", "INBOX", &commands.bytes(), None).await;
    t.ok(&["run", "--once"]);

    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["assignee"], "bob@example.test", "{shown:#}");
    assert_eq!(shown["priority"], "high");
    assert_eq!(shown["status"], "new", "commands alone are no response to the customer");
    let ev = events(&t, 1);
    for (kind, detail) in [("assigned", "bob@example.test"), ("priority", "normal -> high"), ("time", "45 min")] {
        assert!(
            ev.iter().any(|(k, by, d)| k == kind && by == "alice@example.test" && d == detail),
            "no {kind} event by alice: {ev:?}"
        );
    }
    assert!(ev.iter().any(|(k, _, d)| k == "note" && d.contains("called Anna")), "{ev:?}");
    let minutes: i64 = t.db().query_row("SELECT SUM(minutes) FROM time_entries", [], |r| r.get(0)).unwrap();
    assert_eq!(minutes, 45);
    // Bob hears it is his; Alice hears what was not done and why.
    let bob = server.wait_for("bob@example.test", "INBOX", 1).await;
    assert_eq!(bob.len(), 1, "{}", server.maillog());
    assert!(bob[0].parsed().subject.starts_with("Assigned to you: [Ticket#1]"));
    let alice = server.wait_for("alice@example.test", "INBOX", 2).await;
    let refusal = alice.iter().map(|m| m.parsed()).find(|m| m.subject.starts_with("Not done")).expect("a refusal");
    assert!(refusal.text.contains("#frobnicate now") && refusal.text.contains("unknown command"), "{}", refusal.text);
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 1, "no new ticket");

    // The same commands from a forged Alice (no trust source) change nothing.
    let forged = Mail::new("Alice <alice@example.test>", "Re: [Ticket#1] Export fails", "#close\n#assign alice")
        .header(&format!("In-Reply-To: <{note_id}>"));
    server.append("support@example.test", "INBOX", &forged.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["status"], "new", "{shown:#}");
    assert_eq!(shown["assignee"], "bob@example.test");
    let last = shown["messages"].as_array().unwrap().iter().rev().find(|m| m["direction"] == "in").unwrap();
    assert!(last["flags"].to_string().contains("forged_staff"), "{last:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shell_logs_time_merges_moves_and_opens_tickets() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    for (who, subject) in [("anna@customer.test", "Invoice wrong"), ("anna@customer.test", "Invoice still wrong")] {
        server.append("support@example.test", "INBOX", &Mail::new(who, subject, "x").bytes(), None).await;
    }
    t.ok(&["run", "--once"]);
    assert!(t.ok(&["tickets", "time", "1", "1h30m", "--by", "bob"]).contains("90 min logged"));
    assert!(t.run(&["tickets", "time", "1", "soon"]).status.code() == Some(1));
    assert!(t.ok(&["tickets", "department", "1", "billing", "--by", "bob"]).contains("department billing"));
    let refused = t.run(&["tickets", "department", "1", "nowhere"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no department \"nowhere\""));
    // The second ticket is the same matter: merge it into the first.
    assert!(t.ok(&["tickets", "merge", "2", "1", "--by", "bob"]).contains("merged into ticket 1"));
    let one = t.json(&["tickets", "show", "1"]);
    let two = t.json(&["tickets", "show", "2"]);
    assert_eq!(two["status"], "closed");
    assert_eq!(two["linked_to"], 1);
    let incoming = one["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "in").count();
    assert_eq!(incoming, 2, "both customer mails are on ticket 1: {one:#}");
    // A reply to the merged ticket's acknowledgement now threads into ticket 1.
    let acks = server.wait_for("anna@customer.test", "INBOX", 2).await;
    let second_ack = acks.iter().map(|m| m.parsed()).find(|m| m.subject.contains("#2]")).unwrap();
    let reply = Mail::new("anna@customer.test", "Re: the second one", "Any news?")
        .header(&format!("In-Reply-To: <{}>", second_ack.message_id.unwrap()));
    server.append("support@example.test", "INBOX", &reply.bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "list", "--status", "all"]).as_array().unwrap().len(), 2, "no new ticket");

    // A phone call, logged by hand: acknowledged like mail, routed as asked.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ticketd"))
        .args(["--config", t.config().to_str().unwrap(), "tickets", "new"])
        .args(["--from", "Hans Müller <hans@customer.test>", "--subject", "Anruf: Drucker", "--priority", "urgent"])
        .args(["--by", "alice"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all("Herr Müller rief an: der Drucker druckt nicht.\n".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ticket 3 opened"));
    let three = t.json(&["tickets", "show", "3"]);
    assert_eq!(three["priority"], "urgent");
    assert_eq!(three["requester"], "hans@customer.test");
    assert!(events(&t, 3).iter().any(|(k, by, _)| k == "logged" && by == "alice@example.test"));
    let ack = server.wait_for("hans@customer.test", "INBOX", 1).await;
    assert_eq!(ack.len(), 1, "acknowledged at once by the shell command");

    // The table for people: aligned columns, no colour in a pipe.
    let table = t.ok(&["tickets", "list", "--status", "all"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("TICKET") && lines[0].contains("DUE"), "{table}");
    let column = lines[0].find("STATUS").unwrap();
    assert!(lines[1..].iter().all(|l| l[column..].starts_with(|c: char| c.is_ascii_lowercase())), "{table}");
    assert!(!table.contains('\x1b'), "no escape codes outside a terminal");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sent_folder_quiet_for_a_week_is_warned_about() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "sent_folder = \"Sent\"", "");
    server
        .append(
            "support@example.test",
            "Sent",
            b"From: support@example.test\r\nTo: x@y.test\r\nSubject: old\r\n\r\nx\r\n",
            None,
        )
        .await;
    let now = chrono::Utc::now();
    let run = |at: chrono::DateTime<chrono::Utc>| {
        let out = t.run(&["run", "--once", "--now", &at.to_rfc3339()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(!run(now).contains("sent folder"));
    assert!(!run(now + chrono::Duration::days(6)).contains("no new mail in the sent folder"));
    let log = run(now + chrono::Duration::days(8));
    assert!(log.contains("no new mail in the sent folder") && log.contains("MessageCopyForSentAsEnabled"), "{log}");
}
