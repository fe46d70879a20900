//! Acknowledgements and notifications as people receive them, read back from the real
//! mailboxes: each customer's language and an honest promise (inside hours, Friday evening, a
//! holiday eve), well-formed headers, right-to-left text intact, a staff reply to a notification
//! joining its ticket, header tricks neutralised, and an SMTP outage that delays mail but loses
//! and duplicates none.

mod support;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use support::{budapest, office_calendar, Mail, MailServer, Ticketd};

const HOLIDAYS: &str = r#""2025-12-24", "2025-12-25", "2025-12-26""#;

const RULES: &str = r#"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "2h" }

[[department]]
name = "support"
sla = "standard"
language = "en"
notify = ["alice@example.test"]
"#;

fn desk(server: &MailServer, extra: &str) -> Ticketd {
    let t = Ticketd::new(server, "", extra);
    std::fs::write(t.path("rules/10-base.toml"), format!("{}{RULES}", office_calendar(HOLIDAYS))).unwrap();
    t
}

fn run_at(t: &Ticketd, at: DateTime<Utc>) {
    t.ok(&["run", "--once", "--now", &at.to_rfc3339()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_customer_is_answered_in_their_language_with_an_honest_promise() {
    let server = MailServer::start();
    let t = desk(&server, "");
    // (address, text, language, phrase of the template, the promise as written)
    let customers = [
        (
            "anna@customer.test",
            "Jó napot! A számlázó programunk tegnap óta nem indul el, kérem, segítsenek, mert holnap le kell zárnunk a hónapot.",
            "hu",
            "Munkatársunk legkésőbb",
            "2026. november 17. (kedd) 12:00 (CET)",
        ),
        (
            "jana@customer.test",
            "Dobrý den, od včerejška nám nefunguje přihlášení do systému. Prosím o pomoc, potřebujeme to vyřešit co nejdříve.",
            "cs",
            "nejpozději",
            "17. 11. 2026 v 12:00 (úterý, CET)",
        ),
        (
            "piotr@customer.test",
            "Dzień dobry, od wczoraj nie działa nam logowanie do systemu. Proszę o pomoc, musimy to szybko rozwiązać.",
            "pl",
            "najpóźniej",
            "17.11.2026, godz. 12:00 (wtorek, CET)",
        ),
        (
            "dana@customer.test",
            "שלום, מאז אתמול איננו מצליחים להתחבר למערכת. אנא עזרו לנו בהקדם, זה דחוף מאוד עבורנו.",
            "he",
            "לא יאוחר",
            "יום שלישי, 17.11.2026, בשעה 12:00 (CET)",
        ),
        (
            "hans@customer.test",
            "Guten Tag, seit gestern funktioniert die Anmeldung in Ihrem System nicht mehr. Bitte helfen Sie uns schnell.",
            "de",
            "spätestens am",
            "Dienstag, 17. November 2026, 12:00 Uhr (CET)",
        ),
        (
            "john@customer.test",
            "Hello, since yesterday we cannot log in to your system any more. Please help us, it is quite urgent for us.",
            "en",
            "personally by",
            "Tuesday 17 November 2026, 12:00 (CET)",
        ),
    ];
    // Inside business hours: Tuesday 10:00, two working hours → 12:00 the same day. (Times in
    // these tests lie in the past: Dovecot takes a future INTERNALDATE as "now".)
    let received = budapest("2026-11-17 10:00");
    for (address, text, _, _, _) in &customers {
        server
            .append("support@example.test", "INBOX", &Mail::new(address, "Login", text).bytes(), Some(received))
            .await;
    }
    run_at(&t, received + chrono::Duration::minutes(1));
    for (address, _, language, phrase, promise) in &customers {
        let inbox = server.wait_for(address, "INBOX", 1).await;
        assert_eq!(inbox.len(), 1, "{address}: {}", server.maillog());
        let raw = String::from_utf8_lossy(&inbox[0].raw).to_string();
        let ack = inbox[0].parsed();
        assert_eq!(ack.header("content-language"), Some(*language), "{address}");
        assert!(ack.text.contains(phrase), "{address}: {}", ack.text);
        assert!(ack.text.contains(promise), "{address} should be promised {promise}:\n{}", ack.text);
        // Well-formed: the headers every mail of ticketd's carries.
        for header in ["date", "message-id", "x-ticket-id", "x-loop", "auto-submitted", "x-auto-response-suppress"] {
            assert!(ack.header(header).is_some(), "{address}: no {header}:\n{raw}");
        }
        assert!(raw.contains("charset=utf-8") || raw.contains("charset=\"utf-8\""), "{raw}");
        assert!(
            raw.contains("Content-Transfer-Encoding: quoted-printable")
                || raw.contains("Content-Transfer-Encoding: base64")
                || raw.contains("Content-Transfer-Encoding: 7bit"),
            "{raw}"
        );
        assert!(raw.lines().all(|l| l.len() <= 998), "no line over RFC 5322's limit");
    }
    // Right-to-left text survives as written.
    let hebrew = server.messages("dana@customer.test", "INBOX").await[0].parsed();
    assert!(hebrew.text.contains("תודה על פנייתך"), "{}", hebrew.text);

    // Friday evening → Monday morning; the eve of a three-day holiday → after it.
    for (address, at, promise) in [
        ("late@customer.test", "2026-11-20 18:00", "Monday 23 November 2026, 10:00 (CET)"),
        ("eve@customer.test", "2025-12-23 16:30", "Monday 29 December 2025, 09:30 (CET)"),
    ] {
        let mail = Mail::new(address, "Still broken", "Hello, the export is still broken. Please have a look.");
        server.append("support@example.test", "INBOX", &mail.bytes(), Some(budapest(at))).await;
        run_at(&t, budapest(at) + chrono::Duration::minutes(1));
        let ack = server.wait_for(address, "INBOX", 1).await[0].parsed();
        assert!(ack.text.contains(promise), "{address} should be promised {promise}:\n{}", ack.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_reply_to_the_notification_reaches_the_ticket() {
    let server = MailServer::start();
    let t = desk(&server, "");
    let at = budapest("2026-11-17 10:00");
    let mail = Mail::new("Anna <anna@customer.test>", "Printer on fire", "Our printer is on fire, please advise.");
    server.append("support@example.test", "INBOX", &mail.bytes(), Some(at)).await;
    run_at(&t, at + chrono::Duration::minutes(1));
    let note = server.wait_for("alice@example.test", "INBOX", 1).await[0].parsed();
    assert!(note.text.contains("Our printer is on fire"), "{}", note.text);
    assert!(note.text.contains("0 open and 0 closed"), "history: {}", note.text);
    // Alice answers from her mail client (Reply goes to the shared address).
    let reply = Mail::new("Alice <alice@example.test>", &format!("Re: {}", note.subject), "I'll take it; calling them now.")
        .header(&format!("In-Reply-To: <{}>", note.message_id.clone().unwrap()))
        .header(&format!("References: <{}>", note.message_id.clone().unwrap()))
        .header("Received: from client.example.test (unknown [10.0.0.5]) (Authenticated sender: alice@example.test) by mail.example.test (Postfix) with ESMTPSA id 4F2A1C0");
    server.append("support@example.test", "INBOX", &reply.bytes(), Some(at + chrono::Duration::minutes(5))).await;
    run_at(&t, at + chrono::Duration::minutes(6));
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 1, "no new ticket");
    let shown = t.json(&["tickets", "show", "1"]);
    let last_in = shown["messages"].as_array().unwrap().iter().rev().find(|m| m["direction"] == "in").unwrap();
    assert_eq!(last_in["kind"], "note", "{shown:#}");
    assert_eq!(last_in["from"], "alice@example.test");
    let acks: i64 = t.db().query_row("SELECT COUNT(*) FROM outbox WHERE kind = 'ack'", [], |r| r.get(0)).unwrap();
    assert_eq!(acks, 1, "the note is not acknowledged");
    assert_eq!(shown["status"], "new", "an internal note is not a response to the customer");
}

#[tokio::test(flavor = "multi_thread")]
async fn header_tricks_in_subjects_and_names_never_reach_a_header() {
    let server = MailServer::start();
    let t = desk(&server, "");
    let b64 = support::base64;
    let tricks = [
        // An encoded word that decodes to CR LF and a new header.
        (
            format!("=?UTF-8?B?{}?=", b64(b"Hello\r\nBcc: victim@evil.test")),
            format!("=?UTF-8?B?{}?= <trick1@customer.test>", b64(b"Anna\r\nBcc: victim@evil.test")),
        ),
        // Quoted-printable encoded words with NUL and bare LF.
        (
            "=?UTF-8?Q?Order=00_=0ABcc:_victim@evil.test?=".to_string(),
            "=?UTF-8?Q?Eve=0D=0ATo:_victim@evil.test?= <trick2@customer.test>".to_string(),
        ),
        // Raw 8-bit text and a folded line that tries to continue a header.
        (
            "Nem működik\r\n Bcc: victim@evil.test".to_string(),
            "\"Bob\\\"\r\n Cc: victim@evil.test\" <trick3@customer.test>".to_string(),
        ),
    ];
    let at = budapest("2026-11-17 10:00");
    for (n, (subject, from)) in tricks.iter().enumerate() {
        let raw = format!(
            "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <trick{n}@customer.test>\r\n\
             Date: Tue, 17 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n"
        );
        server.append("support@example.test", "INBOX", raw.as_bytes(), Some(at)).await;
    }
    run_at(&t, at + chrono::Duration::minutes(1));
    for n in 1..=3 {
        let address = format!("trick{n}@customer.test");
        let inbox = server.wait_for(&address, "INBOX", 1).await;
        assert_eq!(inbox.len(), 1, "{address} is acknowledged: {}", server.maillog());
        let raw = String::from_utf8_lossy(&inbox[0].raw).to_string();
        let head = raw.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(!head.contains("\nbcc:") && !head.contains("\ncc:"), "{raw}");
        assert_eq!(head.matches("\nto:").count() + usize::from(head.starts_with("to:")), 1, "{raw}");
        assert!(!raw.contains('\0'), "{raw}");
    }
    let notifications = server.wait_for("alice@example.test", "INBOX", 3).await;
    assert_eq!(notifications.len(), 3);
    for n in &notifications {
        let head = String::from_utf8_lossy(&n.raw).split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(!head.contains("\nbcc:") && !head.contains("\ncc:"), "{head}");
    }
    assert!(server.messages("victim@evil.test", "INBOX").await.is_empty(), "nothing reached the victim");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smtp_outage_of_minutes_delays_mail_and_loses_and_duplicates_none() {
    let server = MailServer::start();
    let t = desk(&server, "");
    server.stop_smtp();
    let start = budapest("2026-11-17 10:00");
    // Five customers write during a five-minute outage; each pass fails to deliver.
    for minute in 0..5 {
        let at = start + chrono::Duration::minutes(minute);
        let mail = Mail::new(&format!("c{minute}@customer.test"), &format!("Question {minute}"), "Hello, a question.");
        server.append("support@example.test", "INBOX", &mail.bytes(), Some(at)).await;
        let out = t.run(&["run", "--once", "--now", &(at + chrono::Duration::seconds(30)).to_rfc3339()]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("delivery deferred"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pending: i64 =
        t.db().query_row("SELECT COUNT(*) FROM outbox WHERE state = 'pending'", [], |r| r.get(0)).unwrap();
    assert_eq!(pending, 10, "five acknowledgements and five notifications wait");
    server.start_smtp();
    // Well past every backoff: one pass delivers everything, once.
    run_at(&t, start + chrono::Duration::minutes(30));
    run_at(&t, start + chrono::Duration::minutes(31));
    let pending: i64 = t.db().query_row("SELECT COUNT(*) FROM outbox WHERE state != 'sent'", [], |r| r.get(0)).unwrap();
    assert_eq!(pending, 0);
    for minute in 0..5 {
        let inbox = server.wait_for(&format!("c{minute}@customer.test"), "INBOX", 1).await;
        assert_eq!(inbox.len(), 1, "c{minute}: exactly one acknowledgement");
    }
    let notes = server.wait_for("alice@example.test", "INBOX", 5).await;
    assert_eq!(notes.len(), 5, "exactly five notifications");
    let mut ids: Vec<String> = notes.iter().filter_map(|m| m.parsed().message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    // In order per ticket: Postfix logs each accepted message; a ticket's acknowledgement (queued
    // first) was accepted before its notification.
    let order: Vec<String> = server
        .maillog()
        .lines()
        .filter_map(|l| l.split("message-id=<").nth(1).map(|r| r.trim_end_matches('>').to_string()))
        .collect();
    let mut rows: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    let db = t.db();
    let mut stmt = db.prepare("SELECT ticket_id, id, message_id FROM outbox").unwrap();
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))).unwrap() {
        let (ticket, id, mid) = row.unwrap();
        rows.entry(ticket).or_default().push((id, mid));
    }
    for (ticket, mut mails) in rows {
        mails.sort();
        let positions: Vec<usize> = mails
            .iter()
            .map(|(_, mid)| order.iter().position(|o| o == mid).unwrap_or_else(|| panic!("{mid} not in the log")))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "ticket {ticket}: out of order {positions:?}");
    }
}

/// A Ticketd whose [smtp] uses STARTTLS against the sandbox's Postfix, with or without the
/// sandbox's private CA.
fn starttls_desk(server: &MailServer, trust_the_ca: bool) -> Ticketd {
    let t = desk(server, "");
    let config = std::fs::read_to_string(t.config()).unwrap();
    let ca = server.dir.path().join("tls/ca.pem");
    let tls = if trust_the_ca {
        format!("timeout = \"10s\"\nsecurity = \"starttls\"\nca_file = \"{}\"\n", ca.display())
    } else {
        "timeout = \"10s\"\nsecurity = \"starttls\"\n".to_string()
    };
    let config = config.replacen("timeout = \"10s\"\n", &tls, 1);
    assert!(config.contains("starttls"), "{config}");
    std::fs::write(t.config(), config).unwrap();
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_goes_out_over_starttls_and_an_unknown_certificate_is_refused() {
    let server = MailServer::start_tls();
    let at = budapest("2026-11-17 10:00");
    // Without the private CA the relay's certificate is not trusted: nothing is sent.
    let untrusting = starttls_desk(&server, false);
    let log = mail_and_run(&server, &untrusting, "TLS", at).await;
    assert!(log.contains("delivery deferred"), "{log}");
    let pending: i64 =
        untrusting.db().query_row("SELECT COUNT(*) FROM outbox WHERE state = 'pending'", [], |r| r.get(0)).unwrap();
    assert!(pending >= 1);
    assert!(server.messages("anna@customer.test", "INBOX").await.is_empty());

    // With it, the acknowledgement goes out encrypted.
    let server = MailServer::start_tls();
    let t = starttls_desk(&server, true);
    assert_delivered(&server, &t, "TLS", at, "TLS connection established").await;
}

/// Anna writes at `at`; a successful `run --once` a minute later delivers her acknowledgement,
/// and Postfix's log shows `maillog_line`.
async fn assert_delivered(server: &MailServer, t: &Ticketd, subject: &str, at: DateTime<Utc>, maillog_line: &str) {
    server
        .append("support@example.test", "INBOX", &Mail::new("anna@customer.test", subject, "x").bytes(), Some(at))
        .await;
    run_at(t, at + chrono::Duration::minutes(1));
    assert_eq!(server.wait_for("anna@customer.test", "INBOX", 1).await.len(), 1, "{}", server.maillog());
    assert!(server.maillog().contains(maillog_line), "{}", server.maillog());
}

/// Anna writes at `at`; one `run --once` a minute later; its log.
async fn mail_and_run(server: &MailServer, t: &Ticketd, subject: &str, at: DateTime<Utc>) -> String {
    server
        .append("support@example.test", "INBOX", &Mail::new("anna@customer.test", subject, "x").bytes(), Some(at))
        .await;
    let out = t.run(&["run", "--once", "--now", &(at + chrono::Duration::minutes(1)).to_rfc3339()]);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A STARTTLS desk that logs in to the relay with the password in `password_file`.
fn password_desk(server: &MailServer, password_file: &str) -> Ticketd {
    let t = starttls_desk(server, true);
    let config = std::fs::read_to_string(t.config()).unwrap().replacen(
        "security = \"starttls\"\n",
        &format!(
            "security = \"starttls\"\nauth = \"password\"\nusername = \"support@example.test\"\npassword_file = \"{password_file}\"\n"
        ),
        1,
    );
    std::fs::write(t.config(), config).unwrap();
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_authentication_by_password_and_a_refused_login_keeps_the_mail() {
    let server = MailServer::start_tls();
    let at = budapest("2026-11-17 10:00");
    // A wrong password: the relay refuses the login; the acknowledgement waits, it is not lost.
    let refused = password_desk(&server, "wrong.pass");
    std::fs::write(refused.path("wrong.pass"), "not-the-password\n").unwrap();
    let log = mail_and_run(&server, &refused, "Auth", at).await;
    assert!(log.contains("refused ticketd's login"), "{log}");
    assert!(!log.contains("not-the-password"), "the password never reaches the log");
    let states: Vec<String> = refused
        .db()
        .prepare("SELECT state FROM outbox")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(states.iter().all(|s| s == "pending"), "{states:?}");

    // The right password over STARTTLS: delivered, and Postfix logged the authenticated login.
    let server2 = MailServer::start_tls();
    let t = password_desk(&server2, "support.pass");
    assert_delivered(&server2, &t, "Auth", at, "sasl_username=support@example.test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_english_customer_of_a_hungarian_department_is_answered_in_english() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    let rules = t.path("rules/10-base.toml");
    let text = std::fs::read_to_string(&rules).unwrap().replacen("language = \"en\"", "language = \"hu\"", 1);
    assert!(text.contains("language = \"hu\""));
    std::fs::write(&rules, text).unwrap();
    let english = Mail::new(
        "Jane <jane@customer.test>",
        "Cannot log in",
        "Hello, since this morning I cannot log in to the web shop. Could you please help me?",
    );
    let hungarian = Mail::new(
        "Anna <anna@customer.test>",
        "Nem tudok belépni",
        "Jó napot! Ma reggel óta nem tudok belépni a webáruházba. Kérem, segítsenek.",
    );
    server.append("support@example.test", "INBOX", &english.bytes(), None).await;
    server.append("support@example.test", "INBOX", &hungarian.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let jane = server.wait_for("jane@customer.test", "INBOX", 1).await[0].parsed();
    assert!(jane.text.contains("thank you for your message"), "English ack expected:\n{}", jane.text);
    let anna = server.wait_for("anna@customer.test", "INBOX", 1).await[0].parsed();
    assert!(!anna.text.contains("thank you for your message"), "Hungarian ack expected:\n{}", anna.text);
}
