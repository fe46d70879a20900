//! The conversation after the first answer (SPEC §7), end to end against a real Dovecot and
//! Postfix on an injected clock: whose turn it is, a customer's follow-up reaching the
//! assignee, the next-response clock with its warning, escalation and breach, automatic
//! tickets kept out of the way, and forwarded mail opening a ticket for the customer.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::{Mail, MailServer, Ticketd};

const RULES: &str = r#"
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
[calendar.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-17:00"

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
    std::fs::write(t.path("rules/10-base.toml"), RULES).unwrap();
    t
}

fn budapest(local: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    chrono_tz::Europe::Budapest.from_local_datetime(&naive).unwrap().with_timezone(&Utc)
}

fn run_at(t: &Ticketd, local: &str) {
    t.ok(&["run", "--once", "--now", &budapest(local).to_rfc3339()]);
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
