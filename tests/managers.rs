//! What managers and customers see of the numbers, against a real Dovecot and Postfix: contract
//! notices at the warning share and at the limit, once per period and in the customer's
//! language; the digest arriving in the manager's mailbox with figures that match the database.

mod support;

use support::{budapest, Mail, MailServer, Ticketd};

const CONTRACT: &str = r#"
[[contract]]
name = "acme-support"
customers = ["*@acme.test"]
hours = 1
period = "month"
warn_at = 0.8
notify = ["accounts@example.test"]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn contract_notices_go_out_once_at_the_warning_share_and_once_at_the_limit() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "", "");
    std::fs::write(t.path("rules/60-contracts.toml"), CONTRACT).unwrap();
    let mail = Mail::new(
        "Kovács Béla <bela@acme.test>",
        "Nem megy a szinkronizálás",
        "Jó napot! Tegnap óta nem szinkronizál a telefonos alkalmazás, kérem, nézzék meg.",
    );
    server.append("support@example.test", "INBOX", &mail.bytes(), None).await;
    t.ok(&["run", "--once"]);
    let log = |minutes: &str, at: &str| {
        t.ok(&["tickets", "time", "1", minutes, "--by", "bob", "--now", &budapest(at).to_rfc3339()]);
    };
    let notices = |t: &Ticketd| -> i64 {
        t.db().query_row("SELECT COUNT(*) FROM outbox WHERE kind = 'notice'", [], |r| r.get(0)).unwrap()
    };
    log("30m", "2026-11-10 10:00"); // 50% of one hour
    assert_eq!(notices(&t), 0);
    log("20m", "2026-11-11 10:00"); // 83%: the warning
    assert_eq!(notices(&t), 1);
    log("5m", "2026-11-12 10:00"); // 92%
    assert_eq!(notices(&t), 1, "not again for the same level");
    log("10m", "2026-11-13 10:00"); // 108%: the limit
    log("15m", "2026-11-14 10:00");
    assert_eq!(notices(&t), 2, "one warning and one limit notice in the period");

    let inbox = server.wait_for("bela@acme.test", "INBOX", 3).await;
    assert_eq!(inbox.len(), 3, "the acknowledgement and two notices: {}", server.maillog());
    let texts: Vec<ticketd::parse::ParsedMessage> = inbox.iter().map(|m| m.parsed()).collect();
    let warning = texts.iter().find(|m| m.subject.contains("0.8 / 1")).expect("the warning");
    assert!(warning.text.contains("83%") && warning.text.contains("tájékoztatjuk"), "{}", warning.text);
    assert_eq!(warning.header("content-language"), Some("hu"));
    let limit = texts.iter().find(|m| m.subject.contains("elfogyott")).expect("the limit notice");
    assert!(limit.text.contains("1.0 órát") || limit.text.contains("1.1 órát"), "{}", limit.text);
    let staff = server.wait_for("accounts@example.test", "INBOX", 2).await;
    assert_eq!(staff.len(), 2);
    let events: i64 = t
        .db()
        .query_row("SELECT COUNT(*) FROM events WHERE kind = 'contract' AND ticket_id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(events, 2, "each crossing is recorded on the ticket");

    // A new month starts afresh.
    log("50m", "2026-12-02 10:00");
    assert_eq!(notices(&t), 3);
}

/// The text of the element with `id` in the digest's HTML, cell by cell.
fn table_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    table
        .split("<tr>")
        .skip(2)
        .map(|row| row.split("<td>").skip(1).map(|cell| cell.split("</td>").next().unwrap_or("").to_string()).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_digest_reaches_the_manager_with_the_figures_of_the_database() {
    let server = MailServer::start();
    let t = Ticketd::new(
        &server,
        "",
        "[digest]\nto = [\"manager@example.test\"]\nevery = \"daily 08:00\"\ntimezone = \"Europe/Budapest\"\n",
    );
    for (n, (who, to)) in [
        ("anna@customer.test", "support@example.test"),
        ("bela@customer.test", "support@example.test"),
        ("cili@customer.test", "support@example.test"),
        ("dora@customer.test", "support@example.test"),
    ]
    .iter()
    .enumerate()
    {
        let m = Mail::new(who, &format!("Question {n}"), "x").to(to);
        server.append("support@example.test", "INBOX", &m.bytes(), Some(budapest("2026-11-16 09:00"))).await;
    }
    // A rule-free way to have two departments: move one ticket, assign another, answer none.
    t.ok(&["run", "--once", "--now", &budapest("2026-11-16 09:01").to_rfc3339()]);
    t.ok(&["tickets", "department", "4", "billing", "--now", &budapest("2026-11-16 09:02").to_rfc3339()]);
    t.ok(&["tickets", "assign", "2", "bob", "--now", &budapest("2026-11-16 09:03").to_rfc3339()]);
    t.ok(&["tickets", "close", "3", "--now", &budapest("2026-11-16 09:04").to_rfc3339()]);
    // The next morning at 08:05: the 08:00 digest goes out (the first looks back a week); by
    // then the first-response targets (8 working hours) of the open ones have lapsed.
    t.ok(&["run", "--once", "--now", &budapest("2026-11-17 08:05").to_rfc3339()]);
    t.ok(&["run", "--once", "--now", &budapest("2026-11-17 09:00").to_rfc3339()]);
    // The first pass (Monday 09:01) already owed Monday's 08:00 digest; Tuesday's is the second.
    let inbox = server.wait_for("manager@example.test", "INBOX", 2).await;
    assert_eq!(inbox.len(), 2, "one digest per scheduled moment: {}", server.maillog());
    let tuesday = inbox.iter().find(|m| m.parsed().subject.contains("2026-11-17")).expect("Tuesday's digest");
    let raw = String::from_utf8_lossy(&tuesday.raw).to_string();
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let parsed = mail_parser::MessageParser::default().parse(tuesday.raw.as_slice()).unwrap();
    let html = parsed.body_html(0).expect("an HTML part").to_string();
    let text = parsed.body_text(0).expect("a text part").to_string();

    let db = t.db();
    let open_by_dept: Vec<(String, i64)> = db
        .prepare(
            "SELECT department, COUNT(*) FROM tickets WHERE status != 'closed' GROUP BY department ORDER BY department",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(open_by_dept, vec![("billing".to_string(), 1), ("support".to_string(), 2)]);
    let table: Vec<(String, i64)> =
        table_rows(&html, "open-by-department").into_iter().map(|r| (r[0].clone(), r[1].parse().unwrap())).collect();
    assert_eq!(table, open_by_dept, "the table");
    for (dept, n) in &open_by_dept {
        assert!(html.contains(&format!("data-label=\"{dept}\" data-value=\"{n}\"")), "the chart bar for {dept}");
    }
    let agents = table_rows(&html, "open-by-agent");
    assert!(agents.contains(&vec!["bob@example.test".to_string(), "1".to_string()]), "{agents:?}");
    assert!(agents.contains(&vec!["(unassigned)".to_string(), "2".to_string()]), "{agents:?}");
    let waiting = table_rows(&html, "waiting");
    assert_eq!(waiting.len(), 3, "three open tickets without any response: {waiting:?}");
    let breaches: i64 = db.query_row("SELECT COUNT(*) FROM breaches", [], |r| r.get(0)).unwrap();
    assert!(breaches >= 1);
    assert!(html.contains(&format!("<span id=\"breach-count\">{breaches}</span>")), "breaches {breaches}");
    assert!(text.contains("Open tickets per department") && text.contains("billing"), "{text}");

    // The next day's digest goes out once too.
    t.ok(&["run", "--once", "--now", &budapest("2026-11-18 08:01").to_rfc3339()]);
    t.ok(&["run", "--once", "--now", &budapest("2026-11-18 08:30").to_rfc3339()]);
    assert_eq!(server.wait_for("manager@example.test", "INBOX", 3).await.len(), 3);
    std::fs::write(std::env::temp_dir().join("ticketd-digest.html"), &html).unwrap();
}
