//! Present: what the CLI prints — the JSON of docs/json.md and aligned tables for people. Times are
//! shown in the department calendar's zone, RFC 3339 with whole seconds.
//!
//! Read-only: it formats what the store returns and never changes anything.
//!
//! Customer text (subjects, names, addresses, message text, attachment names, event details) is
//! printed for people through [`for_terminal`] or [`for_cell`]: a control character could
//! otherwise move the cursor, recolour or retitle the terminal, or hide text. Each one — ESC and
//! the other C0 controls but tab and newline, DEL, the C1 controls U+0080–U+009F, and the
//! bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069 — is shown as U+FFFD "�".
//! In a table cell tab, newline, carriage return and the Unicode line and paragraph separators
//! become a space, so that a row stays one line. JSON is left exact: serde escapes controls.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use crate::domain::Status;
use crate::rules::Rules;
use crate::store::{Event, StoredMessage, Ticket};

/// What a character that must not reach a terminal is shown as.
pub const REPLACEMENT: char = '\u{FFFD}';

fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{B}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Customer text made safe for a terminal: tab and newline kept (a CR before a newline
/// dropped), every other control character and bidirectional override shown as U+FFFD.
pub fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            c if is_unsafe(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    out.into()
}

/// Customer text made safe for one cell of a table (or one line): as [`for_terminal`], and
/// tab, newline, carriage return and the line and paragraph separators become a space.
pub fn for_cell(text: &str) -> std::borrow::Cow<'_, str> {
    let breaks = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}');
    if !text.chars().any(|c| breaks(c) || is_unsafe(c)) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if breaks(c) {
                ' '
            } else if is_unsafe(c) {
                REPLACEMENT
            } else {
                c
            }
        })
        .collect::<String>()
        .into()
}

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
            "next_response": opt_time(zone, t.next_response_due),
            "resolution": opt_time(zone, t.resolution_due),
        },
        "breaches": t.breaches.iter().map(|(kind, at)| json!({ "kind": kind, "at": time_in(zone, *at) })).collect::<Vec<_>>(),
        "message_count": t.message_count,
        "tags": t.tags,
        "awaiting": t.awaiting,
        "automatic": t.automatic,
        "eta": opt_time(zone, t.eta),
        "waiting_until": opt_time(zone, t.wait_until),
        "rating": t.rating.as_ref().map(|r| json!({
            "score": r.score, "scale": r.scale, "comment": r.comment, "at": time_in(zone, r.at), "via": r.via,
        })),
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
    const COLUMNS: usize = 9;
    let mut rows: Vec<([String; COLUMNS], Option<&str>, bool)> = vec![(
        ["TICKET", "STATUS", "AWAITING", "PRIORITY", "DEPARTMENT", "CREATED", "DUE", "REQUESTER", "SUBJECT"]
            .map(String::from),
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
        // The nearest promise: a reply owed first, then the resolution.
        let due = [t.first_response_due, t.next_response_due].into_iter().flatten().min().or(t.resolution_due);
        let overdue = due.is_some_and(|d| d <= now) || !t.breaches.is_empty() && t.status != Status::Closed;
        rows.push((
            [
                format!("[{tag_prefix}#{}]", t.id),
                t.status.to_string(),
                t.awaiting.clone().unwrap_or_else(|| "-".into()),
                t.priority.to_string(),
                for_cell(&t.department).into_owned(),
                local(t.created_at),
                due.map(local).unwrap_or_else(|| "-".into()),
                for_cell(&t.requester).into_owned(),
                for_cell(&t.subject).into_owned(),
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
                    (_, 2, _) if cell == "staff" => paint(padded, "1"),
                    (_, 6, _) if *overdue => paint(padded, "31"),
                    _ => padded,
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `tickets show` for people: the ticket, each message with its attachments, and the events;
/// all customer text through [`for_terminal`] / [`for_cell`].
pub fn ticket_text(
    t: &Ticket,
    messages: &[StoredMessage],
    events: &[Event],
    zone: chrono_tz::Tz,
    tag_prefix: &str,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "[{tag_prefix}#{}] {}", t.id, for_cell(&t.subject));
    let _ = writeln!(
        out,
        "status {}  awaiting {}  priority {}  department {}  requester {}",
        t.status,
        t.awaiting.as_deref().unwrap_or("-"),
        t.priority,
        for_cell(&t.department),
        for_cell(&t.requester)
    );
    let _ = writeln!(out, "created {}", time_in(zone, t.created_at));
    for m in messages {
        let _ = writeln!(
            out,
            "\n--- {} {} from {} at {}",
            m.direction,
            m.kind,
            for_cell(m.from_addr.as_deref().unwrap_or("?")),
            time_in(zone, m.received_at)
        );
        for a in &m.attachments {
            let _ = writeln!(
                out,
                "attachment: {} ({}, {} bytes)",
                if a.filename.is_empty() { "(unnamed)".into() } else { for_cell(&a.filename) },
                for_cell(&a.content_type),
                a.size
            );
        }
        let _ = writeln!(out, "{}", for_terminal(m.text.trim_end()));
    }
    let _ = writeln!(out, "\nevents:");
    for e in events {
        let _ = writeln!(
            out,
            "  {} {} {} {}",
            time_in(zone, e.at),
            e.kind,
            for_cell(e.by.as_deref().unwrap_or("-")),
            for_cell(&e.detail)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let hostile = "Invoice\x1b]0;owned\x07\x1b[2J\u{9b}31m\r\u{202e}fdp.exe\u{2066}";
        let shown = for_terminal(hostile);
        assert_eq!(shown, "Invoice\u{fffd}]0;owned\u{fffd}\u{fffd}[2J\u{fffd}31m\u{fffd}\u{fffd}fdp.exe\u{fffd}");
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        // Tab and newline stay in text; a CRLF becomes a newline.
        assert_eq!(for_terminal("a\tb\r\nc\n"), "a\tb\nc\n");
        // In a cell, a row stays one line.
        assert_eq!(for_cell("a\tb\r\nc\u{2028}d\x1b"), "a b  c d\u{fffd}");
        // Ordinary text, accents and right-to-left scripts pass untouched, borrowed.
        for fine in ["Nem működik a webshop", "שלום, המערכת לא עובדת", "Rechnung für Oktober"] {
            assert!(matches!(for_terminal(fine), std::borrow::Cow::Borrowed(_)));
            assert!(matches!(for_cell(fine), std::borrow::Cow::Borrowed(_)));
        }
    }

    #[test]
    fn tables_and_show_print_no_escape_sequences_and_json_stays_exact() {
        let rules = Rules::from_sources(&[], std::path::PathBuf::from("/nonexistent")).unwrap();
        // Through the store, as the CLI reads them.
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO tickets (id, subject, department, requester, created_at, updated_at) \
                 VALUES (7, char(27) || '[31mURGENT' || char(27) || '[0m' || char(10) || 'fake row', 'support', \
                         'eve' || char(155) || '@evil.test', 0, 0);
                 INSERT INTO messages (id, ticket_id, direction, kind, content_hash, from_addr, received_at, text) \
                 VALUES (1, 7, 'in', 'customer', 'h', 'eve@evil.test' || char(7), 0, \
                         'line one' || char(13, 10, 27) || '[8mhidden' || char(27) || '[0m');
                 INSERT INTO attachments (message_id, filename, content_type, size, sha256) \
                 VALUES (1, 'invoice' || char(8238) || 'fdp.exe', 'application/pdf', 3, '');
                 INSERT INTO events (ticket_id, at, kind, detail) \
                 VALUES (7, 0, 'note', char(27) || ']52;c;evil' || char(7));",
            )
            .unwrap();
        let t = crate::store::get_ticket(store.conn(), 7).unwrap().unwrap();
        let table = ticket_table(std::slice::from_ref(&t), &rules, "Ticket", false, 0);
        assert!(!table.contains('\x1b') && !table.contains('\u{9b}'), "{table:?}");
        assert_eq!(table.lines().count(), 2, "{table}");
        assert!(table.contains("\u{fffd}[31mURGENT\u{fffd}[0m fake row"), "{table}");
        let messages = crate::store::messages_of(store.conn(), 7).unwrap();
        let events = crate::store::events_of(store.conn(), 7).unwrap();
        let shown = ticket_text(&t, &messages, &events, chrono_tz::UTC, "Ticket");
        assert!(!shown.chars().any(|c| c.is_control() && c != '\n'), "{shown:?}");
        assert!(shown.contains("invoice\u{fffd}fdp.exe") && shown.contains("line one\n"), "{shown}");
        // JSON keeps the text exact; serde escapes it.
        let json = serde_json::to_string(&ticket_json(&t, &rules, "Ticket")).unwrap();
        assert!(json.contains("\\u001b[31mURGENT"), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["subject"], t.subject);
    }
}
