//! SLA clocks end to end with `run --once --now` against a real Dovecot and Postfix: the promise
//! in the acknowledgement, the warning and the escalation at their moments and not before, once
//! each, holidays and daylight saving, a response that stops the clock, and the delay notice to
//! the customer in their language.

mod support;

use support::{budapest, office_calendar, run_at, Mail, MailServer, Ticketd};

const RULES: &str = r#"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "2h" }
resolution = { normal = "4h" }
warn_before = "1h"
delay_notice = true
escalate_to = ["manager@example.test"]

[[department]]
name = "support"
sla = "standard"
language = "en"
notify = ["alice@example.test"]
"#;

fn with_rules(server: &MailServer, holidays: &str, extra: &str) -> Ticketd {
    let t = Ticketd::new(server, "", extra);
    std::fs::write(t.path("rules/10-base.toml"), format!("{}{RULES}", office_calendar(holidays))).unwrap();
    t
}

/// Outbox rows of one kind: (recipients JSON, sent?).
fn sent(t: &Ticketd, kind: &str) -> Vec<String> {
    t.db()
        .prepare("SELECT recipients FROM outbox WHERE kind = ?1 AND state = 'sent' ORDER BY id")
        .unwrap()
        .query_map([kind], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_friday_evening_mail_is_promised_for_monday_warned_and_escalated_on_time_once() {
    let server = MailServer::start();
    let t = with_rules(&server, "", "");
    let mail = Mail::new("Anna Kovacs <anna@customer.test>", "The invoice export fails", "It stopped on Friday.");
    // Received Friday 16:30 Budapest time (2026-11-20).
    server.append("support@example.test", "INBOX", &mail.bytes(), Some(budapest("2026-11-20 16:30"))).await;
    run_at(&t, "2026-11-20 16:31");

    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["due"]["first_response"], "2026-11-23T09:30:00+01:00", "{shown:#}");
    // Resolution: 4 working hours = 30 min on Friday + 3.5 h on Monday.
    assert_eq!(shown["due"]["resolution"], "2026-11-23T11:30:00+01:00");
    let ack = server.wait_for("anna@customer.test", "INBOX", 1).await[0].parsed();
    assert!(ack.text.contains("by Monday 23 November 2026, 09:30 (CET)"), "{}", ack.text);
    // The department hears of it, with the customer's text and the due time.
    let note = server.wait_for("alice@example.test", "INBOX", 1).await[0].parsed();
    assert!(note.subject.starts_with("New ticket [Ticket#1]"), "{}", note.subject);
    assert!(note.text.contains("It stopped on Friday.") && note.text.contains("09:30"), "{}", note.text);

    // Not a minute early.
    run_at(&t, "2026-11-23 08:29");
    assert!(sent(&t, "warning").is_empty());
    run_at(&t, "2026-11-23 08:30");
    assert_eq!(sent(&t, "warning"), vec![r#"["alice@example.test"]"#]);
    run_at(&t, "2026-11-23 09:29");
    assert!(sent(&t, "escalation").is_empty(), "no escalation before the due time");
    assert!(t.json(&["tickets", "show", "1"])["breaches"].as_array().unwrap().is_empty());
    run_at(&t, "2026-11-23 09:30");
    assert_eq!(sent(&t, "escalation"), vec![r#"["manager@example.test"]"#]);
    // Once each, however often the scheduler runs.
    run_at(&t, "2026-11-23 09:31");
    run_at(&t, "2026-11-23 09:31");
    assert_eq!(sent(&t, "warning").len(), 1);
    assert_eq!(sent(&t, "escalation").len(), 1);

    let escalation = server.wait_for("manager@example.test", "INBOX", 1).await;
    assert_eq!(escalation.len(), 1);
    let e = escalation[0].parsed();
    assert!(e.subject.contains("SLA breach [Ticket#1]"), "{}", e.subject);
    for fact in ["anna@customer.test", "It stopped on Friday.", "Overdue:", "The invoice export fails"] {
        assert!(e.text.contains(fact), "escalation lacks {fact:?}:\n{}", e.text);
    }
    assert_eq!(e.header("auto-submitted"), Some("auto-generated"));
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["breaches"][0]["kind"], "first_response", "{shown:#}");
    assert_eq!(shown["breaches"][0]["at"], "2026-11-23T09:30:00+01:00");
    // Every mail ticketd sent is on the ticket as an outgoing message.
    let kinds: Vec<&str> = shown["messages"].as_array().unwrap().iter().filter_map(|m| m["kind"].as_str()).collect();
    for kind in ["customer", "ack", "notification", "warning", "escalation"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holiday_monday_moves_everything_a_day_and_daylight_saving_keeps_the_hours() {
    let server = MailServer::start();
    let t = with_rules(&server, r#""2026-11-23""#, "");
    server
        .append(
            "support@example.test",
            "INBOX",
            &Mail::new("anna@customer.test", "Holiday", "x").bytes(),
            Some(budapest("2026-11-20 16:30")),
        )
        .await;
    run_at(&t, "2026-11-20 16:31");
    assert_eq!(t.json(&["tickets", "show", "1"])["due"]["first_response"], "2026-11-24T09:30:00+01:00");
    run_at(&t, "2026-11-23 08:30");
    assert!(sent(&t, "warning").is_empty(), "nothing on the holiday");
    run_at(&t, "2026-11-24 08:30");
    assert_eq!(sent(&t, "warning").len(), 1);

    // Europe/Budapest springs forward in the night to Sunday 2026-03-29.
    let server = MailServer::start();
    let t = with_rules(&server, "", "");
    server
        .append(
            "support@example.test",
            "INBOX",
            &Mail::new("anna@customer.test", "Spring", "x").bytes(),
            Some(budapest("2026-03-27 16:30")),
        )
        .await;
    run_at(&t, "2026-03-27 16:31");
    assert_eq!(t.json(&["tickets", "show", "1"])["due"]["first_response"], "2026-03-30T09:30:00+02:00");
    run_at(&t, "2026-03-30 08:29");
    assert!(sent(&t, "warning").is_empty());
    run_at(&t, "2026-03-30 08:30");
    assert_eq!(sent(&t, "warning").len(), 1, "the warning keeps to wall-clock 08:30 in summer time");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_before_the_moment_sends_nothing_and_a_late_one_is_a_breach() {
    let server = MailServer::start();
    let t = with_rules(&server, "", "");
    for (who, subject) in [("anna@customer.test", "Answered in time"), ("bela@customer.test", "Answered late")] {
        server
            .append(
                "support@example.test",
                "INBOX",
                &Mail::new(who, subject, "x").bytes(),
                Some(budapest("2026-11-23 09:00")),
            )
            .await;
    }
    run_at(&t, "2026-11-23 09:01");
    // Alice answers Anna at 10:00 and Béla at 11:15, from her own mail client, with the shared
    // address in Cc; Postfix's authenticated submission vouches for her.
    for (ticket, to, at) in
        [(1, "anna@customer.test", "2026-11-23 10:00"), (2, "bela@customer.test", "2026-11-23 11:15")]
    {
        let reply = Mail::new("Alice <alice@example.test>", &format!("Re: [Ticket#{ticket}] x"), "Here you go.")
            .to(to)
            .header("Cc: support@example.test")
            .header(
                "Received: from client.example.test (unknown [10.0.0.5]) (Authenticated sender: alice@example.test) by mail.example.test (Postfix) with ESMTPSA id 4F2A1C0",
            );
        server.append("support@example.test", "INBOX", &reply.bytes(), Some(budapest(at))).await;
    }
    // The scheduler only runs at 12:00, after both due times (11:00): the breach is decided by
    // the response times, not by when it looked.
    run_at(&t, "2026-11-23 12:00");
    let anna = t.json(&["tickets", "show", "1"]);
    let bela = t.json(&["tickets", "show", "2"]);
    assert_eq!(anna["first_response_by"], "alice@example.test", "{anna:#}");
    assert!(anna["breaches"].as_array().unwrap().iter().all(|b| b["kind"] != "first_response"), "{anna:#}");
    assert!(anna["due"]["first_response"].is_null());
    assert_eq!(bela["breaches"][0]["kind"], "first_response", "{bela:#}");
    assert_eq!(bela["breaches"][0]["at"], "2026-11-23T11:00:00+01:00");
    assert!(sent(&t, "escalation").is_empty(), "both were answered before the scheduler looked");
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_pauses_the_resolution_clock_and_the_customer_is_told_of_a_delay_in_their_language() {
    let server = MailServer::start();
    let t = with_rules(&server, "", "");
    let hungarian = Mail::new(
        "Kovács Anna <anna@customer.test>",
        "Nem működik a számlázás",
        "Jó napot! A számlázó program tegnap óta nem indul el. Kérem, segítsenek!",
    );
    server.append("support@example.test", "INBOX", &hungarian.bytes(), Some(budapest("2026-11-23 09:00"))).await;
    run_at(&t, "2026-11-23 09:01");
    // Waiting on the customer from 10:00 to Tuesday 10:00: one hour used, three left.
    t.ok(&["tickets", "wait", "1", "--now", &budapest("2026-11-23 10:00").to_rfc3339()]);
    run_at(&t, "2026-11-23 15:00");
    let shown = t.json(&["tickets", "show", "1"]);
    assert!(shown["due"]["resolution"].is_null(), "null while waiting: {shown:#}");
    assert!(sent(&t, "notice").is_empty(), "no notice while the clock is stopped");
    // The customer answers on Tuesday 10:00: the clock resumes with three hours left.
    let reply = Mail::new("anna@customer.test", "Re: [Ticket#1] Nem működik a számlázás", "Itt a naplófájl.");
    server.append("support@example.test", "INBOX", &reply.bytes(), Some(budapest("2026-11-24 10:00"))).await;
    run_at(&t, "2026-11-24 10:00");
    assert_eq!(t.json(&["tickets", "show", "1"])["due"]["resolution"], "2026-11-24T13:00:00+01:00");
    run_at(&t, "2026-11-24 12:59");
    assert!(sent(&t, "notice").is_empty());
    run_at(&t, "2026-11-24 13:00");
    assert_eq!(sent(&t, "notice"), vec![r#"["anna@customer.test"]"#]);
    let inbox = server.wait_for("anna@customer.test", "INBOX", 2).await;
    let notice = inbox.iter().map(|m| m.parsed()).find(|m| !m.text.contains("legkésőbb")).expect("the notice");
    assert!(notice.text.contains("Elnézést kérünk a késésért"), "{}", notice.text);
    assert_eq!(notice.header("content-language"), Some("hu"));
    assert!(notice.subject.contains("[Ticket#1]"), "{}", notice.subject);
}
