//! Staff at work, against a real Dovecot and Postfix: email commands from trusted staff (and
//! none from a forged sender), refused commands answered with the reason, assignment notices,
//! and the shell's `tickets time / merge / department / new` and its table.

mod support;

use std::io::Write;

use support::{Mail, MailServer, Ticketd, DKIM_PASS};

const AUTHENTICATED: &str =
    "Received: from client.example.test (unknown [10.0.0.5]) (Authenticated sender: alice@example.test) by mail.example.test (Postfix) with ESMTPSA id 4F2A1C0";

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

#[tokio::test(flavor = "multi_thread")]
async fn the_manager_sees_who_answered_and_forgeries_change_nothing() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "sent_folder = \"Sent\"", "");
    let at = |minutes: i64| chrono::Utc::now() - chrono::Duration::minutes(60 - minutes);
    let anna = Mail::new("Anna <anna@customer.test>", "Cannot log in", "Since this morning.");
    server.append("support@example.test", "INBOX", &anna.bytes(), Some(at(0))).await;
    t.ok(&["run", "--once"]);
    let show = || t.json(&["tickets", "show", "1"]);
    assert_eq!(show()["status"], "new");

    // Alice answers from her own mailbox, support@ in Cc; the company's server signed it.
    let answer = Mail::new("Alice <alice@example.test>", "Re: [Ticket#1] Cannot log in", "Please try again now.")
        .to("anna@customer.test")
        .header("Cc: support@example.test")
        .header(DKIM_PASS);
    server.append("support@example.test", "INBOX", &answer.bytes(), Some(at(10))).await;
    t.ok(&["run", "--once"]);
    let shown = show();
    assert_eq!(shown["status"], "open", "{shown:#}");
    assert_eq!(shown["first_response_by"], "alice@example.test");
    let receipt = chrono::DateTime::parse_from_rfc3339(shown["first_response_at"].as_str().unwrap()).unwrap();
    assert!((receipt.timestamp() - at(10).timestamp()).abs() <= 1, "the response's receipt, not the pass time");

    // #waiting from Alice, then the customer answers.
    let waiting = Mail::new("alice@example.test", "[Ticket#1] Cannot log in", "#waiting").header(DKIM_PASS);
    server.append("support@example.test", "INBOX", &waiting.bytes(), Some(at(15))).await;
    t.ok(&["run", "--once"]);
    assert_eq!(show()["status"], "waiting");
    let again = Mail::new("anna@customer.test", "Re: [Ticket#1] Cannot log in", "Still no luck.");
    server.append("support@example.test", "INBOX", &again.bytes(), Some(at(20))).await;
    t.ok(&["run", "--once"]);
    assert_eq!(show()["status"], "open");

    // Bob answers from the shared mailbox: his reply is in its Sent folder.
    let bob = Mail::new("Support <support@example.test>", "Re: [Ticket#1] Cannot log in", "Fixed on our side.")
        .to("anna@customer.test")
        .header("X-Sent-By: bob");
    server.append("support@example.test", "Sent", &bob.bytes(), Some(at(25))).await;
    // Alice replies to the department's notification only: an internal note.
    let notification = server.wait_for("alice@example.test", "INBOX", 1).await[0].parsed();
    let note = Mail::new("alice@example.test", &format!("Re: {}", notification.subject), "I called her, all good.")
        .header(&format!("In-Reply-To: <{}>", notification.message_id.unwrap()))
        .header(DKIM_PASS);
    server.append("support@example.test", "INBOX", &note.bytes(), Some(at(30))).await;
    // From: alice@ sent from outside, without a passing result from the company's server.
    let forged = Mail::new("alice@example.test", "Re: [Ticket#1] Cannot log in", "#close\nAll done.")
        .header("Authentication-Results: evil.test; dkim=pass header.d=example.test");
    server.append("support@example.test", "INBOX", &forged.bytes(), Some(at(35))).await;
    // The copy of ticketd's acknowledgement that the server saved in the Sent folder.
    let ack = server.wait_for("anna@customer.test", "INBOX", 1).await[0].raw.clone();
    server.append("support@example.test", "Sent", &ack, Some(at(40))).await;
    t.ok(&["run", "--once"]);

    let shown = show();
    assert_eq!(shown["status"], "open", "the forgery closed nothing: {shown:#}");
    assert_eq!(shown["first_response_by"], "alice@example.test");
    let messages = shown["messages"].as_array().unwrap();
    let kind_of = |needle: &str| {
        messages
            .iter()
            .find(|m| m["text"].as_str().unwrap_or("").contains(needle))
            .map(|m| (m["kind"].as_str().unwrap().to_string(), m["flags"].to_string()))
            .unwrap_or_else(|| panic!("no message with {needle:?}: {shown:#}"))
    };
    assert_eq!(kind_of("Fixed on our side.").0, "staff", "Bob's Sent-folder reply is a response");
    assert_eq!(kind_of("I called her").0, "note");
    // The forgery is kept as a customer's message, flagged (on this ticket or, as a tag from a
    // stranger, on a new one linked to it).
    let (kind, flags): (String, String) = t
        .db()
        .query_row("SELECT kind, flags FROM messages WHERE text LIKE '%All done.%'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(kind, "customer");
    assert!(flags.contains("forged_staff"), "{flags}");
    let acks: Vec<&serde_json::Value> = messages.iter().filter(|m| m["kind"] == "ack").collect();
    assert_eq!(acks.len(), 1, "the Sent copy of the acknowledgement is the same message, not a response");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_email_command_valid_and_invalid() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    for subject in ["First matter", "Second matter"] {
        server
            .append("support@example.test", "INBOX", &Mail::new("anna@customer.test", subject, "x").bytes(), None)
            .await;
    }
    t.ok(&["run", "--once"]);
    let command =
        |text: &str| Mail::new("alice@example.test", "Re: [Ticket#1] First matter", text).header(AUTHENTICATED).bytes();
    // (command, what the ticket shows afterwards, or the reason a wrong one is refused)
    /// What the ticket shows after a valid command (field, value), or why a wrong one is refused.
    type Expected = Result<(&'static str, &'static str), &'static str>;
    let cases: &[(&str, Expected)] = &[
        ("#waiting", Ok(("status", "waiting"))),
        ("#waiting now", Err("is not a time")),
        ("#eta someday", Err("is not a time")),
        ("#reopen", Ok(("status", "new"))),
        ("#reopen please", Err("takes no argument")),
        ("#close", Ok(("status", "closed"))),
        ("#close it", Err("takes no argument")),
        ("#reopen", Ok(("status", "new"))),
        ("#assign bob", Ok(("assignee", "bob@example.test"))),
        ("#assign nobody", Err("not a staff address")),
        ("#assign", Err("needs an agent")),
        ("#priority high", Ok(("priority", "high"))),
        ("#priority sky-high", Err("unknown priority")),
        ("#department billing", Ok(("department", "billing"))),
        ("#department nowhere", Err("no department")),
        ("#department", Err("needs a name")),
        ("#note called the customer", Ok(("", ""))),
        ("#note", Err("needs a text")),
        ("#time 45m", Ok(("", ""))),
        ("#time soon", Err("bad duration")),
        ("#merge 999", Err("ticket 999 does not exist")),
        ("#merge abc", Err("needs a ticket number")),
        ("#merge 1", Err("cannot be merged into itself")),
        ("#frobnicate", Err("unknown command")),
        ("#merge 2", Ok(("status", "closed"))),
    ];
    let mut expected_refusals = 0;
    for (text, want) in cases {
        server.append("support@example.test", "INBOX", &command(text), None).await;
        t.ok(&["run", "--once"]);
        let shown = t.json(&["tickets", "show", "1"]);
        match want {
            Ok(("", "")) => {}
            Ok((field, value)) => assert_eq!(shown[*field], *value, "after {text:?}: {shown:#}"),
            Err(reason) => {
                expected_refusals += 1;
                let inbox = server.wait_for("alice@example.test", "INBOX", 2 + expected_refusals).await;
                let last = inbox.iter().map(|m| m.parsed()).rfind(|m| m.subject.starts_with("Not done"));
                let last = last.unwrap_or_else(|| panic!("no refusal for {text:?}"));
                assert!(last.text.contains(text) && last.text.contains(reason), "{text:?}: {}", last.text);
            }
        }
    }
    let events = events(&t, 1);
    assert!(events.iter().any(|(k, by, d)| k == "note" && by == "alice@example.test" && d == "called the customer"));
    assert!(events.iter().any(|(k, _, d)| k == "time" && d == "45 min"));
    assert!(events.iter().any(|(k, _, d)| k == "merged" && d == "merged into ticket 2"));
    let minutes: i64 =
        t.db().query_row("SELECT SUM(minutes) FROM time_entries WHERE ticket_id = 2", [], |r| r.get(0)).unwrap();
    assert_eq!(minutes, 45, "the time moved with the merge");
}
