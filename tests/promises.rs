//! Promises kept and said out loud (docs/conversation.md), end to end against a real Dovecot and Postfix on
//! an injected clock: waiting with its reminder and closing, the closing mail's survey and a
//! rating by reply, snoozes, ETAs told in the customer's language, the request for an ETA and
//! the delay mail with a new time — each once, whatever the restarts.

mod support;

use support::{budapest, office_calendar, run_at, Mail, MailServer, Ticketd, DKIM_PASS};

const RULES: &str = r#"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "8h" }
resolution = { normal = "16h" }
delay_notice = true
delay_notice_before = "4h"
extension = "8h"

[[department]]
name = "support"
sla = "standard"
language = "en"
notify = ["alice@example.test"]
remind_after = "2d"
close_after = "4d"
close_mail = true
survey = "nps"
"#;

fn desk(server: &MailServer) -> Ticketd {
    let t = Ticketd::new(server, "", "");
    std::fs::write(t.path("rules/10-base.toml"), format!("{}{RULES}", office_calendar(""))).unwrap();
    t
}

fn at(local: &str) -> String {
    budapest(local).to_rfc3339()
}

/// Outbox rows of one kind about one ticket: (recipients, subject, text).
fn outbox(t: &Ticketd, ticket: i64, kind: &str) -> Vec<(String, String, String)> {
    let db = t.db();
    let mut stmt =
        db.prepare("SELECT recipients, raw FROM outbox WHERE ticket_id = ?1 AND kind = ?2 ORDER BY id").unwrap();
    stmt.query_map(rusqlite::params![ticket, kind], |r| {
        let raw: Vec<u8> = r.get(1)?;
        let m = ticketd::parse::parse(&raw);
        Ok((r.get(0)?, m.subject, m.text))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
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

async fn customer_mail(server: &MailServer, from: &str, subject: &str, body: &str, local: &str) -> Mail {
    let mail = Mail::new(from, subject, body);
    server.append("support@example.test", "INBOX", &mail.bytes(), Some(budapest(local))).await;
    mail
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_reminds_the_customer_then_closes_with_a_survey_and_a_reply_with_a_score_is_a_rating() {
    let server = MailServer::start();
    let t = desk(&server);
    customer_mail(&server, "Anna <anna@customer.test>", "Export fails", "The export fails.", "2026-11-23 09:00").await;
    customer_mail(&server, "bela@customer.test", "Import fails", "The import fails.", "2026-11-23 09:00").await;
    run_at(&t, "2026-11-23 09:01");
    // Alice sets both waiting on the customer by mail: an internal note with the command.
    for id in [1, 2] {
        let note = Mail::new("alice@example.test", &format!("[Ticket#{id}] waiting"), "#waiting").header(DKIM_PASS);
        server.append("support@example.test", "INBOX", &note.bytes(), Some(budapest("2026-11-23 10:00"))).await;
    }
    run_at(&t, "2026-11-23 10:00");
    assert_eq!(t.json(&["tickets", "show", "1"])["status"], "waiting");
    assert_eq!(t.json(&["tickets", "show", "1"])["awaiting"], "customer");
    // Béla answers on Tuesday: his wait ends, and with it its reminder and closing.
    customer_mail(
        &server,
        "bela@customer.test",
        "Re: [Ticket#2] Import fails",
        "Here is the file.",
        "2026-11-24 09:00",
    )
    .await;
    run_at(&t, "2026-11-24 09:01");
    assert_eq!(t.json(&["tickets", "show", "2"])["status"], "new", "no longer waiting (never answered: new)");

    // The reminder: two working days on, not a minute early, once.
    run_at(&t, "2026-11-25 09:59");
    assert!(outbox(&t, 1, "notice").is_empty());
    run_at(&t, "2026-11-25 10:00");
    run_at(&t, "2026-11-25 10:05");
    let notices = outbox(&t, 1, "notice");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].0.contains("anna@customer.test"));
    assert!(
        notices[0].2.contains("waiting for your answer") || notices[0].2.contains("[Ticket#1]"),
        "{}",
        notices[0].2
    );
    let reminder = server.wait_for("anna@customer.test", "INBOX", 2).await[1].parsed();
    assert!(reminder.text.contains("2026"), "the reminder names when it will be closed:\n{}", reminder.text);

    // The closing: four working days on, by ticketd, with the survey question.
    run_at(&t, "2026-11-27 09:59");
    assert_eq!(t.json(&["tickets", "show", "1"])["status"], "waiting");
    run_at(&t, "2026-11-27 10:00");
    run_at(&t, "2026-11-27 10:05");
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["status"], "closed", "{shown:#}");
    assert!(shown["awaiting"].is_null());
    let closings = events(&shown, "status");
    assert_eq!(closings.last().unwrap().0, "ticketd", "{closings:?}");
    let notices = outbox(&t, 1, "notice");
    assert_eq!(notices.len(), 2, "one reminder and one closing mail: {notices:?}");
    let closing = server.wait_for("anna@customer.test", "INBOX", 3).await[2].parsed();
    assert!(closing.text.contains("is now closed"), "{}", closing.text);
    assert!(closing.text.contains("with a number from 0 to 10"), "{}", closing.text);
    // Béla was never reminded nor closed (his ticket, overdue by Friday, got its delay notice).
    let bela = outbox(&t, 2, "notice");
    assert!(
        bela.iter().all(|(_, _, text)| !text.contains("waiting for your answer") && !text.contains("closed")),
        "{bela:?}"
    );
    assert_eq!(t.json(&["tickets", "show", "2"])["status"], "new");

    // Anna answers the closing mail with a score: a rating, no reopening, no acknowledgement.
    let acks_before = outbox(&t, 1, "ack").len();
    let rating = Mail::new("Anna <anna@customer.test>", &format!("Re: {}", closing.subject), "9 — thanks, great help")
        .header(&format!("In-Reply-To: <{}>", closing.message_id.clone().unwrap()));
    server.append("support@example.test", "INBOX", &rating.bytes(), Some(budapest("2026-11-27 11:00"))).await;
    run_at(&t, "2026-11-27 11:01");
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["status"], "closed", "{shown:#}");
    assert_eq!(shown["rating"]["score"], 9);
    assert_eq!(shown["rating"]["scale"], "nps");
    assert_eq!(shown["rating"]["comment"], "thanks, great help");
    assert_eq!(outbox(&t, 1, "ack").len(), acks_before);
    assert!(outbox(&t, 1, "notification").iter().all(|(_, s, _)| !s.contains("wrote again")));

    // Out of scale: not a rating; the reply reopens as any other.
    let again = Mail::new("Anna <anna@customer.test>", "Re: [Ticket#1] Export fails", "11 times it failed again!");
    server.append("support@example.test", "INBOX", &again.bytes(), Some(budapest("2026-11-27 12:00"))).await;
    run_at(&t, "2026-11-27 12:01");
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["status"], "new", "reopened (and never answered): {shown:#}");
    assert_eq!(shown["awaiting"], "staff");
    assert_eq!(shown["rating"]["score"], 9, "the rating stands");
    assert_eq!(events(&shown, "reopened").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snooze_brings_the_ticket_back_to_its_assignee_unless_the_customer_writes_first() {
    let server = MailServer::start();
    let t = desk(&server);
    customer_mail(&server, "anna@customer.test", "Licence renewal", "Please renew.", "2026-11-23 09:00").await;
    customer_mail(&server, "bela@customer.test", "Licence question", "A question.", "2026-11-23 09:00").await;
    run_at(&t, "2026-11-23 09:01");
    for id in ["1", "2"] {
        t.ok(&["tickets", "assign", id, "bob", "--now", &at("2026-11-23 09:30")]);
        let out = t.ok(&[
            "tickets",
            "wait",
            id,
            "--until",
            "2026-11-24T10:00:00+01:00",
            "--by",
            "bob",
            "--now",
            &at("2026-11-23 09:30"),
        ]);
        assert!(out.contains("waiting until 2026-11-24T10:00:00+01:00"), "{out}");
    }
    assert_eq!(t.json(&["tickets", "show", "1"])["waiting_until"], "2026-11-24T10:00:00+01:00");
    // Béla writes before the snooze ends: it is over for him.
    customer_mail(&server, "bela@customer.test", "Re: [Ticket#2] Licence question", "Any news?", "2026-11-24 08:30")
        .await;
    run_at(&t, "2026-11-24 08:31");
    run_at(&t, "2026-11-24 09:59");
    assert_eq!(t.json(&["tickets", "show", "1"])["status"], "waiting");
    run_at(&t, "2026-11-24 10:00");
    run_at(&t, "2026-11-24 10:01");
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!((shown["status"].as_str(), shown["awaiting"].as_str()), (Some("open"), Some("staff")), "{shown:#}");
    assert!(shown["waiting_until"].is_null());
    let snoozes: Vec<_> = outbox(&t, 1, "notification").into_iter().filter(|(to, _, _)| to.contains("bob@")).collect();
    assert_eq!(snoozes.len(), 1, "{snoozes:?}");
    let mail = server.wait_for_text("bob@example.test", "INBOX", "[Ticket#1]", 2).await;
    assert!(mail.iter().any(|m| m.parsed().subject.starts_with("Snooze")), "a snooze mail for bob");
    let bela: Vec<_> = outbox(&t, 2, "notification").into_iter().filter(|(_, s, _)| s.starts_with("Snooze")).collect();
    assert!(bela.is_empty(), "Béla wrote first: no snooze mail for his ticket");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_eta_is_told_in_the_customer_s_language_and_zone() {
    let server = MailServer::start();
    let t = desk(&server);
    let customers = [
        (
            "en@customer.test",
            "Hello, the login page does not work since this morning, please help.",
            "27 November 2026, 17:00",
        ),
        (
            "hu@customer.test",
            "Jó napot! A webshop nem tölt be, kérem segítsenek, nem tudunk rendelni.",
            "2026. november 27. (péntek) 17:00",
        ),
        ("cs@customer.test", "Dobrý den, nefunguje nám přihlášení do systému, prosím o pomoc.", "27. 11. 2026 v 17:00"),
        (
            "pl@customer.test",
            "Dzień dobry, nie działa logowanie do systemu, proszę o pomoc.",
            "27.11.2026, godz. 17:00",
        ),
        ("he@customer.test", "שלום, המערכת לא עובדת, אשמח לעזרה בהקדם.", "27.11.2026, בשעה 17:00"),
        (
            "de@customer.test",
            "Guten Tag, die Rechnung für Oktober fehlt, bitte senden Sie sie uns.",
            "27. November 2026, 17:00 Uhr",
        ),
    ];
    for (from, text, _) in &customers {
        customer_mail(&server, from, "Problem", text, "2026-11-23 09:00").await;
    }
    run_at(&t, "2026-11-23 09:01");
    for (n, (from, _, date)) in customers.iter().enumerate() {
        let id = (n + 1).to_string();
        t.ok(&["tickets", "eta", &id, "2026-11-27", "--by", "alice", "--now", &at("2026-11-23 10:00")]);
        let shown = t.json(&["tickets", "show", &id]);
        assert_eq!(shown["eta"], "2026-11-27T17:00:00+01:00", "{shown:#}");
        assert_eq!(shown["due"]["resolution"], "2026-11-27T17:00:00+01:00", "the ETA is the resolution due");
        run_at(&t, "2026-11-23 10:01");
        let told = server.wait_for(from, "INBOX", 2).await[1].parsed();
        assert!(told.text.contains(date), "{from}: {date:?} expected in:\n{}", told.text);
        assert!(told.subject.contains(&format!("[Ticket#{id}]")), "{}", told.subject);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_eta_the_assignee_is_asked_for_one_and_the_customer_gets_one_delay_mail_with_a_new_time() {
    let server = MailServer::start();
    let t = desk(&server);
    customer_mail(&server, "anna@customer.test", "Report wrong", "The report is wrong.", "2026-11-23 09:00").await;
    run_at(&t, "2026-11-23 09:01");
    t.ok(&["tickets", "assign", "1", "bob", "--now", &at("2026-11-23 09:10")]);
    // Resolution: 16 working hours = Monday 09:00-17:00 and Tuesday 08:00-16:00; asked for an
    // ETA 4 working hours before, Tuesday 12:00.
    assert_eq!(t.json(&["tickets", "show", "1"])["due"]["resolution"], "2026-11-24T16:00:00+01:00");
    run_at(&t, "2026-11-24 11:59");
    assert!(outbox(&t, 1, "delay-warning").is_empty());
    run_at(&t, "2026-11-24 12:00");
    run_at(&t, "2026-11-24 12:05");
    let asked = outbox(&t, 1, "delay-warning");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].0.contains("bob@example.test") && asked[0].2.contains("#eta"), "{asked:?}");
    // Nobody answers: at the due time the customer is told of the delay with a new time, the due
    // time + 8 working hours (Tuesday 16:00-17:00, Wednesday 08:00-15:00), which becomes the ETA.
    run_at(&t, "2026-11-24 16:00");
    run_at(&t, "2026-11-24 16:05");
    let shown = t.json(&["tickets", "show", "1"]);
    assert_eq!(shown["eta"], "2026-11-25T15:00:00+01:00", "{shown:#}");
    let delays = outbox(&t, 1, "notice");
    assert_eq!(delays.len(), 1, "{delays:?}");
    assert!(delays[0].2.contains("25 November 2026, 15:00"), "{}", delays[0].2);
    // The new ETA lapses too: staff are asked again, the customer gets no second delay mail.
    run_at(&t, "2026-11-25 14:59");
    assert_eq!(outbox(&t, 1, "delay-warning").len(), 1);
    run_at(&t, "2026-11-25 15:00");
    run_at(&t, "2026-11-25 15:05");
    assert_eq!(outbox(&t, 1, "notice").len(), 1);
    assert_eq!(outbox(&t, 1, "delay-warning").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_when_is_refused_with_its_reason_and_changes_nothing() {
    let server = MailServer::start();
    let t = desk(&server);
    customer_mail(&server, "anna@customer.test", "Question", "A question.", "2026-11-23 09:00").await;
    run_at(&t, "2026-11-23 09:01");
    let now = at("2026-11-23 10:00");
    for (args, why) in [
        (vec!["tickets", "eta", "1", "next week"], "is not a time"),
        (vec!["tickets", "eta", "1", "2026-11-20"], "in the past"),
        (vec!["tickets", "eta", "1", "2026-11-28T10:00:00+01:00"], "outside working hours"),
        (vec!["tickets", "wait", "1", "--until", "2026-11-22T10:00:00+01:00"], "in the past"),
    ] {
        let mut all = args.clone();
        all.extend(["--now", &now]);
        let out = t.run(&all);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
    }
    let shown = t.json(&["tickets", "show", "1"]);
    assert!(shown["eta"].is_null() && shown["status"] == "new", "{shown:#}");
    assert!(outbox(&t, 1, "notice").is_empty());
    // By mail: the sender is answered with the reason.
    let command = Mail::new("alice@example.test", "[Ticket#1] Question", "#eta someday").header(DKIM_PASS);
    server.append("support@example.test", "INBOX", &command.bytes(), Some(budapest("2026-11-23 10:00"))).await;
    run_at(&t, "2026-11-23 10:01");
    let answer = server.wait_for_text("alice@example.test", "INBOX", "someday", 1).await[0].parsed();
    assert!(answer.text.contains("is not a time"), "{}", answer.text);
    assert!(t.json(&["tickets", "show", "1"])["eta"].is_null());

    // An automatic ticket is closed without a closing mail, and the event says why.
    let away = Mail::new("jane@customer.test", "Out of office", "Away.").header("Auto-Submitted: auto-replied");
    server.append("support@example.test", "INBOX", &away.bytes(), Some(budapest("2026-11-23 11:00"))).await;
    run_at(&t, "2026-11-23 11:01");
    t.ok(&["tickets", "close", "2", "--now", &at("2026-11-23 11:05")]);
    let shown = t.json(&["tickets", "show", "2"]);
    assert!(outbox(&t, 2, "notice").is_empty());
    assert!(events(&shown, "notice_suppressed")[0].1.contains("automatic"), "{shown:#}");
}
