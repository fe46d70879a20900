//! Digest: a mail to managers on a schedule (`[digest] every = "weekdays 08:00"`) with the state
//! of the desk — open tickets per department and agent, the tickets waiting longest without any
//! response, the tickets whose customer has waited longest for staff, breaches since the last
//! digest, SLA compliance since then, and the promises of docs/conversation.md since then (ratings with NPS
//! and CSAT, reopened tickets, ETAs kept; defined in `crate::stats`) — as HTML with a small
//! inline-SVG bar chart and a plain-text alternative beside it.
//!
//! "Awaiting staff longest": up to ten tickets that are not closed, not automatic, not imported
//! silently, and await staff (`awaiting = 'staff'`), ordered by how long the customer has
//! waited: since the follow-up that started the running next-response clock, else since the
//! ticket was received (a ticket staff reopened, or whose snooze ended, counts from its receipt).
//!
//! Sent once per scheduled moment (a row per slot, written with the outbox mail), only for the
//! latest moment that has passed: a daemon that was down for a week sends one digest, not five.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::config::Config;
use crate::outbox::compose::{self, header_safe};
use crate::rules::Rules;
use crate::store::{self, StoreError};

/// What the digest reports, read from the store.
#[derive(Debug, Default, PartialEq)]
pub struct Figures {
    pub since: i64,
    pub open_by_department: Vec<(String, i64)>,
    pub open_by_agent: Vec<(String, i64)>,
    /// (ticket, subject, requester, created_at), oldest first.
    pub waiting_longest: Vec<(i64, String, String, i64)>,
    /// (ticket, kind, missed due time).
    pub breaches: Vec<(i64, String, i64)>,
    /// (department, first-response share met, resolution share met) since the last digest.
    pub compliance: Vec<(String, Option<f64>, Option<f64>)>,
    /// Per department since the last digest: ratings, NPS, CSAT, reopens, ETAs kept.
    pub promises: Vec<Promises>,
    /// Tickets awaiting staff, the customer waiting longest first; at most ten.
    pub awaiting_staff: Vec<Awaiting>,
}

/// A department's promise figures (docs/conversation.md), as `crate::stats` computes them.
#[derive(Debug, Default, PartialEq)]
pub struct Promises {
    pub department: String,
    pub ratings: u64,
    pub nps: Option<f64>,
    pub csat: Option<f64>,
    pub reopened: u64,
    pub eta_kept: Option<f64>,
}

/// A ticket whose customer waits for staff.
pub use crate::store::stats::Awaiting;

/// How many tickets each list of the digest shows at most.
const LISTED: usize = 10;

pub fn figures(conn: &Connection, rules: &Rules, since: i64, now: i64) -> Result<Figures, StoreError> {
    let open_by_department = store::stats::open_by_department(conn)?;
    let open_by_agent = store::stats::open_by_agent(conn)?;
    let waiting_longest = store::stats::unanswered_oldest(conn, LISTED)?
        .into_iter()
        .map(|t| (t.id, t.subject, t.requester, t.created_at))
        .collect();
    let breaches = store::stats::breaches_missed_between(conn, since, now)?
        .into_iter()
        .map(|b| (b.ticket, b.kind, b.due_at))
        .collect();
    let awaiting_staff = store::stats::awaiting_staff_longest(conn, LISTED)?;
    let day = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default().date_naive();
    let stats = crate::stats::compute(conn, rules, day(since), day(now))?;
    let compliance =
        stats.departments.iter().map(|d| (d.name.clone(), d.first_response_met, d.resolution_met)).collect();
    let promises = stats
        .departments
        .into_iter()
        .map(|d| Promises {
            department: d.name,
            ratings: d.ratings,
            nps: d.nps,
            csat: d.csat,
            reopened: d.reopened,
            eta_kept: d.eta_kept,
        })
        .collect();
    Ok(Figures {
        since,
        open_by_department,
        open_by_agent,
        waiting_longest,
        breaches,
        compliance,
        promises,
        awaiting_staff,
    })
}

fn percent(share: Option<f64>) -> String {
    share.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "–".into())
}

/// An NPS or CSAT score with `decimals` places; a dash without one.
fn score(value: Option<f64>, decimals: usize) -> String {
    match value {
        // No "-0" for a score that rounds to zero from below.
        Some(v) => format!("{:.decimals$}", if v.abs() < 0.5 / 10f64.powi(decimals as i32) { 0.0 } else { v }),
        None => "–".into(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart as inline SVG: one bar per (label, value), each with its value written
/// beside it and in a `data-value` attribute.
pub fn bar_chart(title: &str, bars: &[(String, i64)]) -> String {
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let (row, label_width, bar_width) = (26, 160, 300);
    let height = row * bars.len() as i64 + 30;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">\
         <text x=\"0\" y=\"16\" font-family=\"sans-serif\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        label_width + bar_width + 50,
        escape(title),
        escape(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 28 + row * i as i64;
        let width = (bar_width * value / max).max(1);
        let _ = write!(
            svg,
            "<g class=\"bar\" data-label=\"{l}\" data-value=\"{value}\">\
             <text x=\"0\" y=\"{ty}\" font-family=\"sans-serif\" font-size=\"13\">{l}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{width}\" height=\"18\" fill=\"#3b73b9\"/>\
             <text x=\"{vx}\" y=\"{ty}\" font-family=\"sans-serif\" font-size=\"13\">{value}</text></g>",
            l = escape(label),
            ty = y + 14,
            vx = label_width + width + 6,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The digest as (subject, plain text, HTML).
pub fn render(f: &Figures, tag_prefix: &str, zone: chrono_tz::Tz, now: DateTime<Utc>) -> (String, String, String) {
    let when = |t: i64| {
        DateTime::<Utc>::from_timestamp(t, 0)
            .map(|d| d.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let open: i64 = f.open_by_department.iter().map(|(_, n)| n).sum();
    let subject = format!(
        "ticketd digest {}: {open} open, {} waiting for a first reply, {} breaches",
        now.with_timezone(&zone).format("%Y-%m-%d"),
        f.waiting_longest.len(),
        f.breaches.len()
    );
    let mut text = format!("{subject}\n\nOpen tickets per department:\n");
    for (d, n) in &f.open_by_department {
        let _ = writeln!(text, "  {d:<20} {n}");
    }
    text.push_str("\nOpen tickets per agent:\n");
    for (a, n) in &f.open_by_agent {
        let _ = writeln!(text, "  {a:<30} {n}");
    }
    text.push_str("\nWaiting longest without any response:\n");
    for (id, subject, requester, created) in &f.waiting_longest {
        let _ = writeln!(text, "  [{tag_prefix}#{id}] since {}  {requester}  {subject}", when(*created));
    }
    let waited = |since: i64| crate::notify::human(chrono::Duration::seconds(now.timestamp() - since));
    let assignee = |a: &Option<String>| a.clone().unwrap_or_else(|| "unassigned".into());
    text.push_str("\nAwaiting staff longest:\n");
    for a in &f.awaiting_staff {
        let _ = writeln!(
            text,
            "  [{tag_prefix}#{}] waiting {}  {}  {}  {}",
            a.ticket,
            waited(a.since),
            a.department,
            assignee(&a.assignee),
            a.subject
        );
    }
    let _ = writeln!(text, "\nBreaches since {}: {}", when(f.since), f.breaches.len());
    for (id, kind, due) in &f.breaches {
        let _ = writeln!(text, "  [{tag_prefix}#{id}] {kind} was due {}", when(*due));
    }
    text.push_str("\nSLA compliance since then (first response / resolution met):\n");
    for (d, fr, res) in &f.compliance {
        let _ = writeln!(text, "  {d:<20} {} / {}", percent(*fr), percent(*res));
    }
    text.push_str("\nRatings, reopened tickets and ETAs kept since then:\n");
    for p in &f.promises {
        let _ = writeln!(
            text,
            "  {:<20} ratings {}, NPS {}, CSAT {}, reopened {}, ETAs kept {}",
            p.department,
            p.ratings,
            score(p.nps, 0),
            score(p.csat, 2),
            p.reopened,
            percent(p.eta_kept)
        );
    }

    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:sans-serif\"><h1 style=\"font-size:18px\">{}</h1>",
        escape(&subject),
        escape(&subject)
    );
    html.push_str(&bar_chart("Open tickets per department", &f.open_by_department));
    html.push_str("<table id=\"open-by-department\" border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>Department</th><th>Open</th></tr>");
    for (d, n) in &f.open_by_department {
        let _ = write!(html, "<tr><td>{}</td><td>{n}</td></tr>", escape(d));
    }
    html.push_str("</table><h2 style=\"font-size:16px\">Open tickets per agent</h2>");
    html.push_str("<table id=\"open-by-agent\" border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>Agent</th><th>Open</th></tr>");
    for (a, n) in &f.open_by_agent {
        let _ = write!(html, "<tr><td>{}</td><td>{n}</td></tr>", escape(a));
    }
    html.push_str("</table><h2 style=\"font-size:16px\">Waiting longest without any response</h2>");
    html.push_str("<table id=\"waiting\" border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>Ticket</th><th>Since</th><th>Customer</th><th>Subject</th></tr>");
    for (id, subject, requester, created) in &f.waiting_longest {
        let _ = write!(
            html,
            "<tr><td>[{tag_prefix}#{id}]</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(*created),
            escape(requester),
            escape(subject)
        );
    }
    html.push_str("</table><h2 style=\"font-size:16px\">Awaiting staff longest</h2>");
    html.push_str("<table id=\"awaiting-staff\" border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>Ticket</th><th>Waiting</th><th>Department</th><th>Assignee</th><th>Subject</th></tr>");
    for a in &f.awaiting_staff {
        let _ = write!(
            html,
            "<tr><td>[{tag_prefix}#{}]</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.ticket,
            waited(a.since),
            escape(&a.department),
            escape(&assignee(&a.assignee)),
            escape(&a.subject)
        );
    }
    let _ = write!(
        html,
        "</table><h2 style=\"font-size:16px\">Breaches since {}: <span id=\"breach-count\">{}</span></h2><ul>",
        when(f.since),
        f.breaches.len()
    );
    for (id, kind, due) in &f.breaches {
        let _ = write!(html, "<li>[{tag_prefix}#{id}] {} was due {}</li>", escape(kind), when(*due));
    }
    html.push_str("</ul><h2 style=\"font-size:16px\">SLA compliance since then</h2>");
    html.push_str("<table id=\"compliance\" border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>Department</th><th>First response met</th><th>Resolution met</th></tr>");
    for (d, fr, res) in &f.compliance {
        let _ = write!(html, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", escape(d), percent(*fr), percent(*res));
    }
    html.push_str("</table><h2 style=\"font-size:16px\">Ratings, reopened tickets and ETAs kept since then</h2>");
    html.push_str("<table id=\"promises\" border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>Department</th><th>Ratings</th><th>NPS</th><th>CSAT</th><th>Reopened</th><th>ETAs kept</th></tr>");
    for p in &f.promises {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.department),
            p.ratings,
            score(p.nps, 0),
            score(p.csat, 2),
            p.reopened,
            percent(p.eta_kept)
        );
    }
    html.push_str("</table></body></html>");
    (subject, text, html)
}

/// Sends the digest for the latest scheduled moment if it has not gone out yet. Returns
/// whether one was queued.
pub fn send_if_due(
    store: &mut store::Store,
    config: &Config,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<bool, crate::notify::NotifyError> {
    if config.digest.to.is_empty() {
        return Ok(false);
    }
    let schedule = config.digest.every;
    let Some(slot) = schedule.latest(config.digest.timezone, now) else { return Ok(false) };
    let tx = store.conn_mut().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let last = store::stats::last_digest_slot(&tx)?;
    if last.is_some_and(|l| l >= slot.timestamp()) {
        return Ok(false);
    }
    // The first digest looks back a week.
    let since = last.unwrap_or(slot.timestamp() - 7 * 86_400);
    let f = figures(&tx, rules, since, now.timestamp())?;
    let (subject, text, html) = render(&f, &config.tickets.tag_prefix, config.digest.timezone, now);
    let to: Vec<String> = config.digest.to.iter().map(|a| a.as_str().to_string()).collect();
    let mail = compose::digest(&config.smtp.from, &to, &header_safe(&subject), &text, &html, now)?;
    store::outbox::enqueue(
        &tx,
        &store::outbox::NewOutgoing {
            ticket_id: None,
            kind: "digest",
            message_id: &mail.message_id,
            mail_from: config.smtp.from.address.as_str(),
            recipients: &to,
            raw: &mail.raw,
            created_at: now.timestamp(),
        },
    )?;
    store::stats::record_digest(&tx, slot.timestamp(), now.timestamp())?;
    tx.commit()?;
    tracing::info!(slot = %slot, recipients = to.len(), "digest queued");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use chrono::TimeZone;

    use crate::domain::Status;

    use crate::config::Schedule;

    use super::*;

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
first_response = { normal = "8h" }
resolution = { normal = "40h" }

[[department]]
name = "support"
sla = "standard"

[[department]]
name = "billing"
sla = "standard"
"#;

    /// The digest's new lines with figures known by hand: ratings, NPS, CSAT, reopens and ETAs
    /// kept per department, and the tickets whose customer has waited longest for staff.
    #[test]
    fn the_digest_names_the_promises_and_who_waits_longest_for_staff() {
        let zone = chrono_tz::Europe::Budapest;
        let at = |local: &str| {
            let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
            zone.from_local_datetime(&naive).unwrap().timestamp()
        };
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn();
        let rules = Rules::from_sources(&[("r.toml".into(), RULES.into())], "templates".into()).unwrap();
        let ticket = |dept: &str, subject: &str, created: &str, status: &str, awaiting: Option<&str>| {
            c.execute(
                "INSERT INTO tickets (subject, department, requester, created_at, updated_at, status, awaiting) \
                 VALUES (?1, ?2, 'customer@customer.test', ?3, ?3, ?4, ?5)",
                params![subject, dept, at(created), status, awaiting],
            )
            .unwrap();
            c.last_insert_rowid()
        };
        let set = |t: i64, column: &str, value: &dyn rusqlite::ToSql| {
            c.execute(&format!("UPDATE tickets SET {column} = ?2 WHERE id = ?1"), params![t, value]).unwrap();
        };
        let close = |t: i64, by: &str, when: &str| {
            store::set_status(c, t, Status::Closed, at(when)).unwrap();
            store::add_status_event(c, t, at(when), Some(by), Status::Open, Status::Closed, None).unwrap();
        };
        let rate = |t: i64, score: i64, scale: &str, when: &str| {
            let rating =
                store::Rating { score, scale: scale.into(), comment: String::new(), at: at(when), via: "link".into() };
            store::record_rating(c, t, &rating).unwrap();
        };
        // The digest of Tuesday 2026-11-17 08:00, looking back a week.
        let now = at("2026-11-17 08:00");

        // 1: new since Monday 09:00, nobody's: the customer has waited 23 h.
        ticket("support", "Printer on fire", "2026-11-16 09:00", "new", Some("staff"));
        // 2: answered long ago; bob's; the customer followed up Monday 15:30: 16 h 30 min,
        // the shortest wait although the oldest ticket.
        let t2 = ticket("billing", "Invoice wrong", "2026-11-10 09:00", "open", Some("staff"));
        set(t2, "assignee", &"bob@example.test");
        set(t2, "first_response_at", &at("2026-11-10 10:00"));
        set(t2, "next_response_from", &at("2026-11-16 15:30"));
        // 3: waiting on the customer, and 4: automatic: in neither list.
        ticket("support", "Waiting on you", "2026-11-02 09:00", "waiting", Some("customer"));
        let t4 = ticket("support", "Out of office", "2026-11-01 09:00", "new", Some("staff"));
        set(t4, "automatic", &1);
        // 5: closed by alice Monday 10:00, two hours before its ETA (kept); rated NPS 9.
        let t5 = ticket("support", "Done", "2026-11-16 08:00", "open", Some("staff"));
        store::set_eta(c, t5, Some(at("2026-11-16 12:00"))).unwrap();
        close(t5, "alice@example.test", "2026-11-16 10:00");
        rate(t5, 9, "nps", "2026-11-16 11:00");
        // 6: alice's, answered and closed last week, reopened by the customer Monday 12:00: waiting 20 h.
        let t6 = ticket("support", "Again", "2026-11-12 09:00", "open", Some("staff"));
        set(t6, "assignee", &"alice@example.test");
        set(t6, "first_response_at", &at("2026-11-12 10:00"));
        close(t6, "alice@example.test", "2026-11-13 10:00");
        store::set_status(c, t6, Status::Open, at("2026-11-16 12:00")).unwrap();
        store::add_event(c, t6, at("2026-11-16 12:00"), "reopened", Some("customer@customer.test"), "").unwrap();
        set(t6, "next_response_from", &at("2026-11-16 12:00"));
        // 7: billing, closed by bob, rated CSAT 4.
        let t7 = ticket("billing", "Thanks", "2026-11-12 09:00", "open", Some("staff"));
        close(t7, "bob@example.test", "2026-11-12 11:00");
        rate(t7, 4, "csat", "2026-11-13 09:00");

        let f = figures(c, &rules, now - 7 * 86_400, now).unwrap();
        let waiting: Vec<(i64, Option<&str>, i64)> =
            f.awaiting_staff.iter().map(|a| (a.ticket, a.assignee.as_deref(), a.since)).collect();
        assert_eq!(
            waiting,
            vec![
                (1, None, at("2026-11-16 09:00")),
                (6, Some("alice@example.test"), at("2026-11-16 12:00")),
                (2, Some("bob@example.test"), at("2026-11-16 15:30")),
            ]
        );
        assert_eq!(
            f.promises,
            vec![
                Promises { department: "billing".into(), ratings: 1, csat: Some(4.0), ..Default::default() },
                Promises {
                    department: "support".into(),
                    ratings: 1,
                    // One promoter of one.
                    nps: Some(100.0),
                    csat: None,
                    // Ticket 6.
                    reopened: 1,
                    // Ticket 5 (ticket 6 is open again).
                    eta_kept: Some(1.0),
                }
            ]
        );

        let (_, text, html) = render(&f, "TD", zone, DateTime::from_timestamp(now, 0).unwrap());
        let lines = [
            "Awaiting staff longest:",
            "  [TD#1] waiting 23 h  support  unassigned  Printer on fire",
            "  [TD#6] waiting 20 h  support  alice@example.test  Again",
            "  [TD#2] waiting 16 h 30 min  billing  bob@example.test  Invoice wrong",
            "Ratings, reopened tickets and ETAs kept since then:",
            "  billing              ratings 1, NPS –, CSAT 4.00, reopened 0, ETAs kept –",
            "  support              ratings 1, NPS 100, CSAT –, reopened 1, ETAs kept 100%",
        ];
        let mut after = 0;
        for line in lines {
            let found = text.lines().skip(after).position(|l| l == line);
            assert!(found.is_some(), "{line:?} in order in:\n{text}");
            after += found.unwrap_or(0) + 1;
        }
        assert!(
            html.contains(
                "<tr><td>[TD#1]</td><td>23 h</td><td>support</td><td>unassigned</td><td>Printer on fire</td></tr>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<tr><td>[TD#2]</td><td>16 h 30 min</td><td>billing</td><td>bob@example.test</td><td>Invoice wrong</td></tr>"),
            "{html}"
        );
        assert!(
            html.contains("<tr><td>support</td><td>1</td><td>100</td><td>–</td><td>1</td><td>100%</td></tr>"),
            "{html}"
        );
        assert!(
            html.contains("<tr><td>billing</td><td>1</td><td>–</td><td>4.00</td><td>0</td><td>–</td></tr>"),
            "{html}"
        );
    }

    #[test]
    fn schedules() {
        let zone = chrono_tz::Europe::Budapest;
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let weekdays: Schedule = "weekdays 08:00".parse().unwrap();
        // Monday 2026-11-23 07:59 Budapest: the last one was Friday 08:00.
        assert_eq!(weekdays.latest(zone, at("2026-11-23T07:59:00+01:00")), Some(at("2026-11-20T08:00:00+01:00")));
        assert_eq!(weekdays.latest(zone, at("2026-11-23T08:00:00+01:00")), Some(at("2026-11-23T08:00:00+01:00")));
        let weekly: Schedule = "weekly mon 09:30".parse().unwrap();
        assert_eq!(weekly.latest(zone, at("2026-11-22T12:00:00+01:00")), Some(at("2026-11-16T09:30:00+01:00")));
        let daily: Schedule = "daily 18:00".parse().unwrap();
        assert_eq!(daily.latest(zone, at("2026-11-22T12:00:00+01:00")), Some(at("2026-11-21T18:00:00+01:00")));
        for bad in ["hourly", "daily 25:00", "weekly funday 08:00", "weekdays"] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_chart_says_what_the_table_says() {
        let svg = bar_chart("Open", &[("support".into(), 4), ("billing & co".into(), 2)]);
        assert!(svg.contains("data-label=\"support\" data-value=\"4\""));
        assert!(svg.contains("billing &amp; co"));
        assert!(svg.contains("width=\"300\"") && svg.contains("width=\"150\""), "bars scale to the largest: {svg}");
    }
}
