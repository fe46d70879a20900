//! Present: what the CLI prints — the JSON of SPEC §5 and aligned tables for people. Times are
//! shown in the department calendar's zone, RFC 3339 with whole seconds.
//!
//! Read-only: it formats what the store returns and never changes anything.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use crate::rules::Rules;
use crate::store::{Event, StoredMessage, Ticket};

pub fn time_in(zone: chrono_tz::Tz, unix: i64) -> String {
    match Utc.timestamp_opt(unix, 0).single() {
        Some(t) => t.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        None => String::new(),
    }
}

fn opt_time(zone: chrono_tz::Tz, unix: Option<i64>) -> Value {
    unix.map(|u| Value::String(time_in(zone, u))).unwrap_or(Value::Null)
}

pub fn ticket_json(t: &Ticket, rules: &Rules, tag_prefix: &str) -> Value {
    let zone = rules.department_zone(&t.department);
    json!({
        "id": t.id,
        "tag": format!("[{tag_prefix}#{}]", t.id),
        "subject": t.subject,
        "status": t.status,
        "department": t.department,
        "priority": t.priority,
        "requester": t.requester,
        "assignee": t.assignee,
        "mailbox": t.mailbox,
        "language": t.language,
        "created_at": time_in(zone, t.created_at),
        "updated_at": time_in(zone, t.updated_at),
        "first_response_at": opt_time(zone, t.first_response_at),
        "first_response_by": t.first_response_by,
        "closed_at": opt_time(zone, t.closed_at),
        "linked_to": t.linked_to,
        "due": {
            "first_response": opt_time(zone, t.first_response_due),
            "resolution": opt_time(zone, t.resolution_due),
        },
        "breaches": t.breaches.iter().map(|(kind, at)| json!({ "kind": kind, "at": time_in(zone, *at) })).collect::<Vec<_>>(),
        "message_count": t.message_count,
        "tags": t.tags,
    })
}

pub fn message_json(m: &StoredMessage, zone: chrono_tz::Tz) -> Value {
    json!({
        "id": m.id,
        "direction": m.direction,
        "kind": m.kind,
        "from": m.from_addr,
        "from_name": m.from_name,
        "to": m.to,
        "cc": m.cc,
        "subject": m.subject,
        "date": opt_time(zone, m.date),
        "received_at": time_in(zone, m.received_at),
        "message_id": m.message_id,
        "text": m.text,
        "new_text": m.new_text,
        "flags": m.flags,
        "attachments": m.attachments.iter().map(|a| json!({
            "filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
        })).collect::<Vec<_>>(),
    })
}

pub fn event_json(e: &Event, zone: chrono_tz::Tz) -> Value {
    json!({ "at": time_in(zone, e.at), "kind": e.kind, "by": e.by, "detail": e.detail })
}

/// An aligned table of tickets for people; with `colour` (a terminal without NO_COLOR), status
/// and overdue due times stand out.
pub fn ticket_table(tickets: &[Ticket], rules: &Rules, tag_prefix: &str, colour: bool, now: i64) -> String {
    const COLUMNS: usize = 8;
    let mut rows: Vec<([String; COLUMNS], Option<&str>, bool)> = vec![(
        ["TICKET", "STATUS", "PRIORITY", "DEPARTMENT", "CREATED", "DUE", "REQUESTER", "SUBJECT"].map(String::from),
        None,
        false,
    )];
    for t in tickets {
        let zone = rules.department_zone(&t.department);
        let local = |unix: i64| {
            Utc.timestamp_opt(unix, 0)
                .single()
                .map(|d| d.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default()
        };
        let due = t.first_response_due.or(t.resolution_due);
        let overdue = due.is_some_and(|d| d <= now) || !t.breaches.is_empty() && t.status != "closed";
        rows.push((
            [
                format!("[{tag_prefix}#{}]", t.id),
                t.status.clone(),
                t.priority.clone(),
                t.department.clone(),
                local(t.created_at),
                due.map(local).unwrap_or_else(|| "-".into()),
                t.requester.clone(),
                t.subject.clone(),
            ],
            Some(t.status.as_str()),
            overdue,
        ));
    }
    let widths: Vec<usize> =
        (0..COLUMNS).map(|c| rows.iter().map(|(r, _, _)| r[c].chars().count()).max().unwrap_or(0)).collect();
    let paint = |text: String, code: &str| if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text };
    let mut out = String::new();
    for (n, (r, status, overdue)) in rows.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let padded = if i == COLUMNS - 1 { cell.clone() } else { format!("{cell:<w$}", w = widths[i]) };
                match (n, i, *status) {
                    (0, _, _) => paint(padded, "1"),
                    (_, 1, Some("new")) => paint(padded, "33"),
                    (_, 1, Some("open")) => paint(padded, "32"),
                    (_, 1, Some("waiting")) => paint(padded, "34"),
                    (_, 1, Some("closed")) => paint(padded, "2"),
                    (_, 5, _) if *overdue => paint(padded, "31"),
                    _ => padded,
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
