//! Digest: a mail to managers on a schedule (`[digest] every = "weekdays 08:00"`) with the state
//! of the desk — open tickets per department and agent, the tickets waiting longest without any
//! response, breaches since the last digest, SLA compliance since then — as HTML with a small
//! inline-SVG bar chart and a plain-text alternative beside it.
//!
//! Sent once per scheduled moment (a row per slot, written with the outbox mail), only for the
//! latest moment that has passed: a daemon that was down for a week sends one digest, not five.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};
use rusqlite::{params, Connection, OptionalExtension};

use crate::config::Config;
use crate::outbox::compose::{self, header_safe};
use crate::rules::Rules;
use crate::store::{self, StoreError};

/// When digests go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    Daily(NaiveTime),
    Weekdays(NaiveTime),
    Weekly(Weekday, NaiveTime),
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(text: &str) -> Result<Schedule, String> {
        let bad = || format!("every = {text:?}: write \"daily 08:00\", \"weekdays 08:00\" or \"weekly mon 08:00\"");
        let parts: Vec<&str> = text.split_whitespace().collect();
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| bad());
        match parts.as_slice() {
            ["daily", t] => Ok(Schedule::Daily(time(t)?)),
            ["weekdays", t] => Ok(Schedule::Weekdays(time(t)?)),
            ["weekly", day, t] => Ok(Schedule::Weekly(day.parse().map_err(|_| bad())?, time(t)?)),
            _ => Err(bad()),
        }
    }
}

impl Schedule {
    /// The latest scheduled moment at or before `now`, in `zone`.
    pub fn latest(&self, zone: chrono_tz::Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&zone).date_naive();
        (0..8).map(|back| today - chrono::Duration::days(back)).find_map(|day| {
            let (fits, time) = match *self {
                Schedule::Daily(t) => (true, t),
                Schedule::Weekdays(t) => (!matches!(day.weekday(), Weekday::Sat | Weekday::Sun), t),
                Schedule::Weekly(d, t) => (day.weekday() == d, t),
            };
            let at = zone.from_local_datetime(&day.and_time(time)).earliest()?.with_timezone(&Utc);
            (fits && at <= now).then_some(at)
        })
    }
}

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
}

pub fn figures(conn: &Connection, rules: &Rules, since: i64, now: i64) -> Result<Figures, StoreError> {
    let grouped = |sql: &str| -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let open_by_department = grouped(
        "SELECT department, COUNT(*) FROM tickets WHERE status != 'closed' GROUP BY department ORDER BY department",
    )?;
    let open_by_agent = grouped(
        "SELECT COALESCE(assignee, '(unassigned)'), COUNT(*) FROM tickets WHERE status != 'closed' \
         GROUP BY 1 ORDER BY 2 DESC, 1",
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, subject, requester, created_at FROM tickets WHERE status != 'closed' AND first_response_at IS NULL \
         AND silent = 0 ORDER BY created_at, id LIMIT 10",
    )?;
    let waiting_longest =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT ticket_id, kind, due_at FROM breaches WHERE due_at > ?1 AND due_at <= ?2 ORDER BY due_at, ticket_id",
    )?;
    let breaches =
        stmt.query_map(params![since, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    let day = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default().date_naive();
    let stats = crate::stats::compute(conn, rules, day(since), day(now))?;
    let compliance = stats.departments.into_iter().map(|d| (d.name, d.first_response_met, d.resolution_met)).collect();
    Ok(Figures { since, open_by_department, open_by_agent, waiting_longest, breaches, compliance })
}

fn percent(share: Option<f64>) -> String {
    share.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "–".into())
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
    let _ = writeln!(text, "\nBreaches since {}: {}", when(f.since), f.breaches.len());
    for (id, kind, due) in &f.breaches {
        let _ = writeln!(text, "  [{tag_prefix}#{id}] {kind} was due {}", when(*due));
    }
    text.push_str("\nSLA compliance since then (first response / resolution met):\n");
    for (d, fr, res) in &f.compliance {
        let _ = writeln!(text, "  {d:<20} {} / {}", percent(*fr), percent(*res));
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
    let Ok(schedule) = config.digest.every.parse::<Schedule>() else { return Ok(false) };
    let Some(slot) = schedule.latest(config.digest.timezone, now) else { return Ok(false) };
    let tx = store.conn_mut().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let last: Option<i64> = tx
        .prepare_cached("SELECT MAX(slot) FROM digests")?
        .query_row([], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten();
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
    tx.prepare_cached("INSERT INTO digests (slot, sent_at) VALUES (?1, ?2)")?
        .execute(params![slot.timestamp(), now.timestamp()])?;
    tx.commit()?;
    tracing::info!(slot = %slot, recipients = to.len(), "digest queued");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

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
