//! The conversation after the first answer (docs/conversation.md), end to end against a real Dovecot and
//! Postfix on an injected clock: whose turn it is, a customer's follow-up reaching the
//! assignee, the next-response clock with its warning, escalation and breach, automatic
//! tickets kept out of the way, and forwarded mail opening a ticket for the customer.

mod support;

use support::{budapest, office_calendar, run_at, Mail, MailServer, Ticketd, DKIM_PASS};

const RULES: &str = r#"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "2h" }
next_response = { normal = "2h" }
warn_before = "1h"
escalate_to = ["manager@example.test"]

[[department]]
name = "support"
sla = "standard"
language = "hu"
notify = ["alice@example.test"]
"#;

fn desk(server: &MailServer, extra_mailbox: &str, extra: &str) -> Ticketd {
    let t = Ticketd::new(server, extra_mailbox, extra);
    std::fs::write(t.path("rules/10-base.toml"), format!("{}{RULES}", office_calendar(""))).unwrap();
    t
}

/// Outbox rows of one kind about one ticket, with their recipients and subjects, oldest first.
fn outbox(t: &Ticketd, ticket: i64, kind: &str) -> Vec<(String, String)> {
    let db = t.db();
    let mut stmt =
        db.prepare("SELECT recipients, raw FROM outbox WHERE ticket_id = ?1 AND kind = ?2 ORDER BY id").unwrap();
    stmt.query_map(rusqlite::params![ticket, kind], |r| {
        let raw: Vec<u8> = r.get(1)?;
        Ok((r.get(0)?, ticketd::parse::parse(&raw).subject))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follow_up_after_the_answer_reaches_the_assignee_and_runs_the_next_response_clock() {
    let server = MailServer::start();
    let t = desk(&server, "sent_folder = \"Sent\"", "");
    let show = || t.json(&["tickets", "show", "1"]);

    // An English customer of a Hungarian department: acknowledged in English, and `rules test`
    // says so beforehand.
    let first = Mail::new(
        "Jane Doe <jane@customer.test>",
        "Cannot log in",
        "Hello, since this morning I cannot log in to the web shop. Could you please help me?",
    );
    let eml = t.path("first.eml");
    std::fs::write(&eml, first.bytes()).unwrap();
    let explained = t.json(&["rules", "test", eml.to_str().unwrap()]);
    assert_eq!(explained["ack_language"], "en", "{explained:#}");
    assert!(t.ok(&["rules", "test", eml.to_str().unwrap()]).contains("acknowledge: yes, in en (ack.txt)"));
    server.append("support@example.test", "INBOX", &first.bytes(), Some(budapest("2026-11-23 09:00"))).await;
    run_at(&t, "2026-11-23 09:01");
    let ack = server.wait_for("jane@customer.test", "INBOX", 1).await[0].parsed();
    assert!(ack.text.contains("thank you for your message"), "English ack expected:\n{}", ack.text);
    assert_eq!(show()["awaiting"], "staff");

    // Bob answers from the shared mailbox; the server keeps his reply in its Sent folder.
    let answer = Mail::new("Bob <bob@example.test>", "Re: [Ticket#1] Cannot log in", "Please clear the cookies.")
        .to("jane@customer.test")
        .header(&format!("In-Reply-To: <{}>", ack.message_id.clone().unwrap()));
    server.append("support@example.test", "Sent", &answer.bytes(), Some(budapest("2026-11-23 10:00"))).await;
    run_at(&t, "2026-11-23 10:01");
    let shown = show();
    assert_eq!(shown["awaiting"], "customer", "{shown:#}");
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["first_response_by"], "bob@example.test");
    assert_eq!(shown["assignee"], "bob@example.test", "who answers an unassigned ticket first takes it");
    assert!(shown["due"]["next_response"].is_null());

    // A stranger who writes with the tag gets a new, linked ticket: no follow-up on ticket 1.
    let stranger = Mail::new("eve@elsewhere.test", "Re: [Ticket#1] Cannot log in", "Me too!");
    server.append("support@example.test", "INBOX", &stranger.bytes(), Some(budapest("2026-11-23 10:30"))).await;

    // Jane follows up.
    let follow_up =
        Mail::new("Jane Doe <jane@customer.test>", "Re: [Ticket#1] Cannot log in", "It still fails with error 42.")
            .header(&format!("In-Reply-To: <{}>", answer.message_id));
    server.append("support@example.test", "INBOX", &follow_up.bytes(), Some(budapest("2026-11-23 11:00"))).await;
    run_at(&t, "2026-11-23 11:01");
    let shown = show();
    assert_eq!(shown["awaiting"], "staff", "{shown:#}");
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["due"]["next_response"], "2026-11-23T13:00:00+01:00", "receipt + 2 working hours");
    assert_eq!(t.json(&["tickets", "show", "2"])["linked_to"], 1);
    // Bob hears of it, with the new text and what came before; Jane gets no second ack.
    let mail = server.wait_for("bob@example.test", "INBOX", 1).await[0].parsed();
    assert!(mail.subject.contains("[Ticket#1]"), "{}", mail.subject);
    for fact in ["error 42", "Please clear the cookies.", "since this morning", "13:00"] {
        assert!(mail.text.contains(fact), "the follow-up mail lacks {fact:?}:\n{}", mail.text);
    }
    assert!(!mail.text.contains("Me too!"), "the stranger's mail is not on ticket 1:\n{}", mail.text);
    let acks_to_jane = || outbox(&t, 1, "ack").iter().filter(|(to, _)| to.contains("jane@")).count();
    assert_eq!(acks_to_jane(), 1);
    // The list puts tickets awaiting staff first within their status, and says so.
    let table = t.ok(&["tickets", "list"]);
    assert!(table.lines().next().unwrap().contains("AWAITING"), "{table}");

    // No answer: the warning an hour before the due time, the escalation at it, once each.
    run_at(&t, "2026-11-23 11:59");
    let warnings_to_bob = || outbox(&t, 1, "warning").iter().filter(|(to, _)| to.contains("bob@")).count();
    assert_eq!(warnings_to_bob(), 0, "not a minute early");
    run_at(&t, "2026-11-23 12:00");
    assert_eq!(warnings_to_bob(), 1);
    let warning = &outbox(&t, 1, "warning")[0].1;
    assert!(warning.contains("next response"), "{warning}");
    run_at(&t, "2026-11-23 12:59");
    assert!(outbox(&t, 1, "escalation").is_empty());
    run_at(&t, "2026-11-23 13:00");
    for _ in 0..2 {
        run_at(&t, "2026-11-23 13:05");
    }
    let escalations = outbox(&t, 1, "escalation");
    assert_eq!(escalations.len(), 1, "{escalations:?}");
    assert!(escalations[0].0.contains("manager@example.test"));
    assert_eq!(warnings_to_bob(), 1);
    let shown = show();
    let breaches: Vec<(&str, &str)> = shown["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["kind"].as_str().unwrap(), b["at"].as_str().unwrap()))
        .collect();
    assert_eq!(breaches, vec![("next_response", "2026-11-23T13:00:00+01:00")], "{shown:#}");
    let followups = outbox(&t, 1, "notification").iter().filter(|(to, _)| to.contains("bob@")).count();
    assert_eq!(followups, 1, "the follow-up mail went once");
    let manager = server.wait_for_text("manager@example.test", "INBOX", "[Ticket#1]", 1).await[0].parsed();
    assert!(manager.text.contains("error 42") && manager.text.contains("next response"), "{}", manager.text);

    // Bob answers at 14:00: the customer's turn again, the clock stopped, the breach kept.
    let late = Mail::new("Bob <bob@example.test>", "Re: [Ticket#1] Cannot log in", "Fixed now, sorry for the wait.")
        .to("jane@customer.test");
    server.append("support@example.test", "Sent", &late.bytes(), Some(budapest("2026-11-23 14:00"))).await;
    run_at(&t, "2026-11-23 14:01");
    let shown = show();
    assert_eq!(shown["awaiting"], "customer", "{shown:#}");
    assert!(shown["due"]["next_response"].is_null());
    assert_eq!(shown["breaches"].as_array().unwrap().len(), 1);
    let stats = t.json(&["stats", "--from", "2026-11-01", "--to", "2026-11-30"]);
    let support = stats["departments"].as_array().unwrap().iter().find(|d| d["name"] == "support").unwrap();
    assert_eq!(support["next_response_met"], 0.0, "{stats:#}");
    let bob = stats["agents"].as_array().unwrap().iter().find(|a| a["address"] == "bob@example.test").unwrap();
    assert_eq!(bob["next_response_met"], 0.0, "{stats:#}");

    // Closing: nobody's turn.
    t.ok(&["tickets", "close", "1", "--now", &budapest("2026-11-23 15:00").to_rfc3339()]);
    assert!(show()["awaiting"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auto_reply_opens_an_automatic_ticket_without_clocks_kept_out_of_lists_and_stats() {
    let server = MailServer::start();
    let t = desk(&server, "", "");
    let away = Mail::new("Jane Doe <jane@customer.test>", "Out of office: your newsletter", "I am away until Monday.")
        .header("Auto-Submitted: auto-replied");
    let person = Mail::new("anna@customer.test", "A real question", "How do I export invoices?");
    server.append("support@example.test", "INBOX", &away.bytes(), Some(budapest("2026-11-23 09:00"))).await;
    server.append("support@example.test", "INBOX", &person.bytes(), Some(budapest("2026-11-23 09:05"))).await;
    run_at(&t, "2026-11-23 09:10");

    let listed = t.json(&["tickets", "list"]);
    let ids: Vec<i64> = listed.as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![2], "the automatic ticket is not in the default list: {listed:#}");
    for args in [&["tickets", "list", "--automatic"][..], &["tickets", "list", "--status", "all"]] {
        assert_eq!(t.json(args).as_array().unwrap().len(), 2, "{args:?}");
    }
    let auto = t.json(&["tickets", "show", "1"]);
    assert_eq!(auto["automatic"], true, "{auto:#}");
    assert!(auto["due"]["first_response"].is_null() && auto["due"]["resolution"].is_null(), "{auto:#}");
    assert!(auto["awaiting"].is_null());
    assert_eq!(t.json(&["tickets", "show", "2"])["automatic"], false);
    // No clock, so nothing to escalate; nobody is told of it.
    run_at(&t, "2026-11-24 17:00");
    assert!(t.json(&["tickets", "show", "1"])["breaches"].as_array().unwrap().is_empty());
    assert!(outbox(&t, 1, "notification").is_empty(), "nobody is told of the automatic ticket");
    assert_eq!(outbox(&t, 2, "notification").len(), 1, "the person's ticket is notified");
    let stats = t.json(&["stats", "--from", "2026-11-01", "--to", "2026-11-30"]);
    let support = stats["departments"].as_array().unwrap().iter().find(|d| d["name"] == "support").unwrap();
    assert_eq!(support["created"], 1, "{stats:#}");
    assert_eq!(support["breaches"], 1, "the person's ticket only: {stats:#}");
}

/// A staff member's mail to the shared mailbox alone, forwarding `body`.
fn forward(from: &str, subject: &str, body: &str) -> Mail {
    Mail::new(from, subject, body).header(DKIM_PASS)
}

fn events(shown: &serde_json::Value, kind: &str) -> Vec<(String, String)> {
    shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| (e["by"].as_str().unwrap_or("").to_string(), e["detail"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_s_mail_forwarded_by_staff_becomes_the_customer_s_ticket() {
    let server = MailServer::start();
    let t = desk(&server, "", "");
    // (customer, the forwarded subject, a phrase of their text, the forwarding mail's body)
    let cases: Vec<(&str, &str, &str, String)> = vec![
        (
            "kovacs@customer.test",
            "Nem működik a számlázás",
            "a számlázó modul hibát ad",
            "Ezt nekem küldte, kérlek nézzétek meg.\n\n---------- Továbbított levél ---------\nFeladó: Kovács Anna <kovacs@customer.test>\nDate: 2026. nov. 20., P 14:02\nSubject: Nem működik a számlázás\nTo: Bob <bob@example.test>\n\n\nJó napot! Tegnap óta a számlázó modul hibát ad mentéskor.\n".into(),
        ),
        (
            "john@customer.test",
            "Order 1234 is late",
            "my order has not arrived",
            "FYI, this came to me.\n\n________________________________\nFrom: John Smith <john@customer.test>\nSent: Friday, November 20, 2026 2:02 PM\nTo: Bob <bob@example.test>\nSubject: Order 1234 is late\n\nHello, my order has not arrived yet. Can you check?\n".into(),
        ),
        (
            "mueller@kunde.test",
            "Rechnung fehlt",
            "die Rechnung für Oktober fehlt",
            "Bitte übernehmen.\n\nAnfang der weitergeleiteten Nachricht:\n\nVon: Jörg Müller <mueller@kunde.test>\nBetreff: Rechnung fehlt\nDatum: 20. November 2026 um 14:02:00 MEZ\nAn: bob@example.test\n\nGuten Tag, die Rechnung für Oktober fehlt noch.\n".into(),
        ),
        (
            "novak@zakaznik.test",
            "Nefunguje přihlášení",
            "nefunguje nám přihlášení",
            "Prosím o převzetí.\n\n-------- Přeposlaná zpráva --------\nPředmět: Nefunguje přihlášení\nDatum: Fri, 20 Nov 2026 14:02:00 +0100\nOd: Jan Novák <novak@zakaznik.test>\nKomu: bob@example.test\n\nDobrý den, nefunguje nám přihlášení do systému.\n".into(),
        ),
        (
            "nowak@klient.test",
            "Brak faktury",
            "nie dostaliśmy faktury",
            "Przekazuję.\n\nOd: Anna Nowak <nowak@klient.test>\nWysłane: piątek, 20 listopada 2026 14:02\nDo: Bob <bob@example.test>\nTemat: Brak faktury\n\nDzień dobry, nie dostaliśmy faktury za październik.\n".into(),
        ),
        (
            "cohen@lakoah.test",
            "המערכת לא עובדת",
            "המערכת לא עובדת מהבוקר",
            "\n---------- הודעה שהועברה ---------\nמאת: אבי כהן <cohen@lakoah.test>\nתאריך: יום ו׳, 20 בנוב׳ 2026 ב-14:02\nנושא: המערכת לא עובדת\nאל: bob@example.test\n\nשלום, המערכת לא עובדת מהבוקר.\n".into(),
        ),
    ];
    for (i, (_, _, _, body)) in cases.iter().enumerate() {
        let mail = forward("Bob <bob@example.test>", &format!("Fwd: case {i}"), body);
        server.append("support@example.test", "INBOX", &mail.bytes(), None).await;
    }
    // As a message/rfc822 attachment (Outlook's "Forward as attachment").
    let original = "From: Eva Svoboda <eva@customer.test>\r\nTo: alice@example.test\r\nSubject: Export broken\r\n\
Message-ID: <orig.export@customer.test>\r\nDate: Fri, 20 Nov 2026 14:02:00 +0100\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nThe CSV export stopped working yesterday.\r\n";
    let attached = forward("Alice <alice@example.test>", "FW: Export broken", "")
        .header("MIME-Version: 1.0")
        .header("Content-Type: multipart/mixed; boundary=\"fwd\"")
        .body_raw(&format!(
            "--fwd\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease take this one.\r\n\
--fwd\r\nContent-Type: message/rfc822\r\n\r\n{original}\r\n--fwd--\r\n"
        ));
    server.append("support@example.test", "INBOX", &attached.bytes(), None).await;
    t.ok(&["run", "--once"]);

    let tickets = t.json(&["tickets", "list"]);
    assert_eq!(tickets.as_array().unwrap().len(), cases.len() + 1, "{tickets:#}");
    let mut all: Vec<(&str, &str, &str, &str)> =
        cases.iter().map(|(c, s, p, _)| (*c, *s, *p, "bob@example.test")).collect();
    all.push(("eva@customer.test", "Export broken", "CSV export stopped", "alice@example.test"));
    for (customer, subject, phrase, forwarder) in all {
        let ticket = tickets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["requester"] == customer)
            .unwrap_or_else(|| panic!("no ticket for {customer}: {tickets:#}"));
        assert_eq!(ticket["subject"], subject, "{ticket:#}");
        assert_eq!(ticket["awaiting"], "staff");
        let shown = t.json(&["tickets", "show", &ticket["id"].to_string()]);
        let first = &shown["messages"][0];
        assert_eq!((first["kind"].as_str(), first["from"].as_str()), (Some("customer"), Some(customer)), "{shown:#}");
        assert!(first["text"].as_str().unwrap().contains(phrase), "{shown:#}");
        let forwarded = events(&shown, "forwarded");
        assert_eq!(forwarded.len(), 1, "{shown:#}");
        assert_eq!(forwarded[0].0, forwarder);
        // The customer is acknowledged, the department told.
        let ack = server.wait_for(customer, "INBOX", 1).await[0].parsed();
        assert!(ack.subject.contains(&format!("[Ticket#{}]", ticket["id"])), "{}", ack.subject);
        let id = ticket["id"].as_i64().unwrap();
        assert_eq!(outbox(&t, id, "notification").len(), 1, "ticket {id}");
    }
    // The acknowledgement of an attached original answers it.
    let eva = server.wait_for("eva@customer.test", "INBOX", 1).await[0].parsed();
    assert_eq!(eva.in_reply_to, vec!["orig.export@customer.test".to_string()]);
    // A second run changes nothing.
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), cases.len() + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn forwards_that_cannot_be_trusted_or_read_or_name_staff_change_nothing_they_should_not() {
    let server = MailServer::start();
    let t = desk(&server, "", "");
    let block = |from: &str| {
        format!(
            "---------- Forwarded message ---------\nFrom: {from}\nDate: Fri, Nov 20, 2026 at 2:02 PM\nSubject: Please refund\nTo: bob@example.test\n\nRefund me now.\n"
        )
    };
    // 1. Untrusted: a stranger claims to be Bob forwarding a "customer's" mail.
    let forged = Mail::new("Bob <bob@example.test>", "Fwd: Please refund", &block("Victim <victim@customer.test>"));
    // 2. Trusted, but the forwarded header names no address.
    let unreadable = forward("Bob <bob@example.test>", "Fwd: Please refund", &block("Peter Parker"));
    // 3. Trusted, forwarding mail that names staff and ticketd itself as its sender.
    let staff = forward("Bob <bob@example.test>", "Fwd: internal", &block("Alice <alice@example.test>"));
    let own = forward("Bob <bob@example.test>", "Fwd: ours", &block("Support <support@example.test>"));
    for mail in [&forged, &unreadable, &staff, &own] {
        server.append("support@example.test", "INBOX", &mail.bytes(), None).await;
    }
    t.ok(&["run", "--once"]);
    let requesters: Vec<String> = (1..=4)
        .map(|id| t.json(&["tickets", "show", &id.to_string()])["requester"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        requesters,
        vec!["bob@example.test", "bob@example.test", "alice@example.test", "support@example.test"],
        "the forgery and the unreadable forward are the sender's; the others the named sender's"
    );
    let forged_shown = t.json(&["tickets", "show", "1"]);
    assert!(events(&forged_shown, "forwarded").is_empty(), "{forged_shown:#}");
    assert!(forged_shown["messages"][0]["flags"].to_string().contains("forged_staff"));
    let unreadable_shown = t.json(&["tickets", "show", "2"]);
    let why = events(&unreadable_shown, "forward_unreadable");
    assert!(why[0].1.contains("names no address") && why[0].1.contains("#requester"), "{unreadable_shown:#}");
    // No mail to the victim, to staff as a "customer", or to ticketd itself.
    assert!(outbox(&t, 1, "ack").is_empty() && outbox(&t, 3, "ack").is_empty() && outbox(&t, 4, "ack").is_empty());
    for id in [3, 4] {
        let shown = t.json(&["tickets", "show", &id.to_string()]);
        assert_eq!(events(&shown, "ack_suppressed").len(), 1, "{shown:#}");
    }
    // The unreadable forward is put right from the shell (or with #requester in a mail).
    t.ok(&["tickets", "requester", "2", "peter@customer.test", "--by", "bob"]);
    let fixed = t.json(&["tickets", "show", "2"]);
    assert_eq!(fixed["requester"], "peter@customer.test");
    assert_eq!(
        events(&fixed, "requester"),
        vec![("bob@example.test".into(), "bob@example.test -> peter@customer.test".into())]
    );
    let refused = t.run(&["tickets", "requester", "2", "alice@example.test"]);
    assert!(!refused.status.success(), "a staff address is no requester");
    // #requester by mail, from trusted staff.
    let command = forward("Bob <bob@example.test>", "[Ticket#4] Fwd: ours", "#requester client@customer.test");
    server.append("support@example.test", "INBOX", &command.bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "show", "4"])["requester"], "client@customer.test");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_reply_read_after_a_newer_follow_up_leaves_the_customer_waiting_for_staff() {
    let server = MailServer::start();
    let t = desk(&server, "sent_folder = \"Sent\"", "");
    let first = Mail::new("jane@customer.test", "Cannot log in", "Help please.");
    server.append("support@example.test", "INBOX", &first.bytes(), Some(budapest("2026-11-23 09:00"))).await;
    run_at(&t, "2026-11-23 09:01");
    let reply =
        |text: &str| Mail::new("Bob <bob@example.test>", "Re: [Ticket#1] Cannot log in", text).to("jane@customer.test");
    server
        .append("support@example.test", "Sent", &reply("Try again.").bytes(), Some(budapest("2026-11-23 10:00")))
        .await;
    run_at(&t, "2026-11-23 10:01");
    // In one pass: Jane's follow-up at 11:00 in the INBOX, and Bob's earlier note to her at
    // 10:55 in the Sent folder, read after the INBOX.
    let again = Mail::new("jane@customer.test", "Re: [Ticket#1] Cannot log in", "Still broken.");
    server.append("support@example.test", "INBOX", &again.bytes(), Some(budapest("2026-11-23 11:00"))).await;
    server
        .append("support@example.test", "Sent", &reply("One more idea.").bytes(), Some(budapest("2026-11-23 10:55")))
        .await;
    run_at(&t, "2026-11-23 11:01");
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["awaiting"], "staff", "Jane's 11:00 message is still unanswered: {shown:#}");
    assert_eq!(shown["due"]["next_response"], "2026-11-23T13:00:00+01:00");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_of_mail_already_on_a_ticket_is_a_note_and_forwarded_spam_gets_no_ack() {
    let server = MailServer::start();
    let t = desk(&server, "", "");
    // The customer wrote to support and, the same mail, to Bob, who forwards it as an attachment.
    let original = Mail::new("Eva <eva@customer.test>", "Export broken", "The CSV export stopped working.")
        .to("support@example.test, bob@example.test");
    server.append("support@example.test", "INBOX", &original.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let as_attachment = |from: &str, inner: &[u8]| {
        forward(from, "FW: see attached", "")
            .header("MIME-Version: 1.0")
            .header("Content-Type: multipart/mixed; boundary=\"fwd\"")
            .body_raw(&format!(
                "--fwd\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFYI\r\n\
--fwd\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--fwd--\r\n",
                String::from_utf8_lossy(inner)
            ))
    };
    let again = as_attachment("Bob <bob@example.test>", &original.bytes());
    // Alice reports a phishing mail, spoofing a customer, to the desk.
    let phish = Mail::new("Bank <victim@customer.test>", "Verify your account", "Click here to verify.")
        .header("X-Spam-Flag: YES")
        .header("X-Spam-Status: Yes, score=15.2");
    let reported = as_attachment("Alice <alice@example.test>", &phish.bytes());
    server.append("support@example.test", "INBOX", &again.bytes(), None).await;
    server.append("support@example.test", "INBOX", &reported.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let all = t.json(&["tickets", "list", "--status", "all"]);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all:#}");
    let eva = t.json(&["tickets", "show", "1"]);
    assert_eq!(events(&eva, "forwarded")[0].0, "bob@example.test", "{eva:#}");
    assert_eq!(eva["messages"].as_array().unwrap().iter().filter(|m| m["kind"] == "note").count(), 1);
    let phished = t.json(&["tickets", "show", "2"]);
    assert_eq!(phished["requester"], "victim@customer.test");
    assert!(outbox(&t, 2, "ack").is_empty(), "the spoofed address gets nothing");
    assert!(events(&phished, "ack_suppressed")[0].1.contains("spam"), "{phished:#}");
}
