//! Tickets, their messages and events, and the threading index.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreError;
use crate::domain::{Priority, Status};

#[derive(Clone, Debug, PartialEq)]
pub struct Ticket {
    pub id: i64,
    pub subject: String,
    pub status: Status,
    pub department: String,
    pub priority: Priority,
    pub requester: String,
    pub requester_name: Option<String>,
    pub assignee: Option<String>,
    pub mailbox: Option<String>,
    pub language: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_response_at: Option<i64>,
    pub first_response_by: Option<String>,
    pub closed_at: Option<i64>,
    pub linked_to: Option<i64>,
    pub silent: bool,
    pub tags: Vec<String>,
    pub message_count: i64,
    /// Derived by `crate::sla` and stored: while the first response is outstanding.
    pub first_response_due: Option<i64>,
    /// While the resolution clock runs.
    pub resolution_due: Option<i64>,
    /// Whose turn it is: "staff", "customer", or None when closed (or opened by automatic mail
    /// that nobody has written on since).
    pub awaiting: Option<String>,
    /// Opened by automatic mail: no clocks, no notification, left out of lists and stats.
    pub automatic: bool,
    /// The running next-response clock's start, while a customer waits for the next response.
    pub next_response_from: Option<i64>,
    /// Derived by `crate::sla` and stored, while that clock runs.
    pub next_response_due: Option<i64>,
    /// The resolution time promised to the customer (`#eta`, or a delay mail's new time).
    pub eta: Option<i64>,
    /// While waiting on the customer: since when.
    pub waiting_since: Option<i64>,
    /// A snooze: the wait ends then.
    pub wait_until: Option<i64>,
    /// The rating the closing mail asked for ("nps" or "csat").
    pub survey: Option<String>,
    /// The customer's rating, the latest.
    pub rating: Option<Rating>,
    /// Missed targets: (kind, the due time missed).
    pub breaches: Vec<(String, i64)>,
}

const TICKET_COLUMNS: &str = "t.id, t.subject, t.status, t.department, t.priority, t.requester, \
    t.requester_name, t.assignee, t.mailbox, t.language, t.created_at, t.updated_at, \
    t.first_response_at, t.first_response_by, t.closed_at, t.linked_to, t.silent, t.tags, \
    (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = t.id) AS message_count, t.first_response_due, \
    t.resolution_due, t.awaiting, t.automatic, t.next_response_from, t.next_response_due, \
    t.eta, t.waiting_since, t.wait_until, t.survey, \
    (SELECT json_array(r.score, r.scale, r.comment, r.at, r.via) FROM ratings r WHERE r.ticket_id = t.id) AS rating, \
    (SELECT json_group_array(json_array(b.kind, b.due_at)) FROM breaches b WHERE b.ticket_id = t.id) AS breaches";

fn ticket_from_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    let tags: String = r.get("tags")?;
    Ok(Ticket {
        id: r.get("id")?,
        subject: r.get("subject")?,
        status: r.get("status")?,
        department: r.get("department")?,
        priority: r.get("priority")?,
        requester: r.get("requester")?,
        requester_name: r.get("requester_name")?,
        assignee: r.get("assignee")?,
        mailbox: r.get("mailbox")?,
        language: r.get("language")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        first_response_at: r.get("first_response_at")?,
        first_response_by: r.get("first_response_by")?,
        closed_at: r.get("closed_at")?,
        linked_to: r.get("linked_to")?,
        silent: r.get("silent")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        message_count: r.get("message_count")?,
        first_response_due: r.get("first_response_due")?,
        resolution_due: r.get("resolution_due")?,
        awaiting: r.get("awaiting")?,
        automatic: r.get("automatic")?,
        next_response_from: r.get("next_response_from")?,
        next_response_due: r.get("next_response_due")?,
        eta: r.get("eta")?,
        waiting_since: r.get("waiting_since")?,
        wait_until: r.get("wait_until")?,
        survey: r.get("survey")?,
        rating: r
            .get::<_, Option<String>>("rating")?
            .and_then(|json| serde_json::from_str::<(i64, String, String, i64, String)>(&json).ok())
            .map(|(score, scale, comment, at, via)| Rating { score, scale, comment, at, via }),
        breaches: serde_json::from_str(&r.get::<_, String>("breaches")?).unwrap_or_default(),
    })
}

/// A customer's rating of a closed ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct Rating {
    pub score: i64,
    /// "nps" or "csat".
    pub scale: String,
    pub comment: String,
    pub at: i64,
    /// "reply" or "link".
    pub via: String,
}

/// Records a rating; a later one replaces the earlier.
pub fn record_rating(conn: &Connection, ticket: i64, rating: &Rating) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO ratings (ticket_id, score, scale, comment, at, via) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (ticket_id) DO UPDATE SET score = ?2, scale = ?3, comment = ?4, at = ?5, via = ?6",
    )?
    .execute(params![ticket, rating.score, rating.scale, rating.comment, rating.at, rating.via])?;
    Ok(())
}

/// Sets or clears the resolution time promised to the customer.
pub fn set_eta(conn: &Connection, id: i64, eta: Option<i64>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET eta = ?2 WHERE id = ?1")?.execute(params![id, eta])?;
    Ok(())
}

/// Starts (since, and until for a snooze) or ends (None, None) a wait on the customer.
pub fn set_wait(conn: &Connection, id: i64, since: Option<i64>, until: Option<i64>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET waiting_since = ?2, wait_until = ?3 WHERE id = ?1")?
        .execute(params![id, since, until])?;
    Ok(())
}

/// Notes the rating a closing mail asked for (None: it asked for none).
pub fn set_survey(conn: &Connection, id: i64, survey: Option<&str>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET survey = ?2 WHERE id = ?1")?.execute(params![id, survey])?;
    Ok(())
}

/// What a new ticket starts with.
#[derive(Clone, Debug)]
pub struct NewTicket<'a> {
    pub subject: &'a str,
    pub department: &'a str,
    pub priority: Priority,
    pub requester: &'a str,
    pub requester_name: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub mailbox: Option<&'a str>,
    pub language: Option<&'a str>,
    pub created_at: i64,
    pub linked_to: Option<i64>,
    pub silent: bool,
    pub tags: &'a [String],
    pub automatic: bool,
    pub awaiting: Option<&'a str>,
}

pub fn insert_ticket(conn: &Connection, t: &NewTicket<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO tickets (subject, department, priority, requester, requester_name, assignee, \
         mailbox, language, created_at, updated_at, linked_to, silent, tags, automatic, awaiting) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        t.subject,
        t.department,
        t.priority,
        t.requester,
        t.requester_name,
        t.assignee,
        t.mailbox,
        t.language,
        t.created_at,
        t.linked_to,
        t.silent,
        serde_json::to_string(t.tags).unwrap_or_else(|_| "[]".into()),
        t.automatic,
        t.awaiting,
    ])?;
    Ok(conn.last_insert_rowid())
}

pub fn get_ticket(conn: &Connection, id: i64) -> Result<Option<Ticket>, StoreError> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id], ticket_from_row).optional()?)
}

/// Which tickets a list shows.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter<'a> {
    /// Empty means every status.
    pub statuses: &'a [Status],
    pub department: Option<&'a str>,
    /// Tickets opened by automatic mail (nobody has written on since) are left out unless asked for.
    pub automatic: bool,
}

/// Tickets by status (new, open, waiting, closed), those awaiting staff first within a status,
/// then newest first.
pub fn list_tickets(conn: &Connection, filter: &TicketFilter<'_>) -> Result<Vec<Ticket>, StoreError> {
    let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1=1");
    let mut args: Vec<String> = Vec::new();
    if !filter.statuses.is_empty() {
        let marks: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| {
                args.push(s.to_string());
                format!("?{}", args.len())
            })
            .collect();
        sql.push_str(&format!(" AND t.status IN ({})", marks.join(",")));
    }
    if let Some(d) = filter.department {
        args.push(d.to_string());
        sql.push_str(&format!(" AND t.department = ?{}", args.len()));
    }
    if !filter.automatic {
        sql.push_str(" AND t.automatic = 0");
    }
    sql.push_str(
        " ORDER BY CASE t.status WHEN 'new' THEN 0 WHEN 'open' THEN 1 WHEN 'waiting' THEN 2 ELSE 3 END, \
         CASE WHEN t.awaiting = 'staff' THEN 0 ELSE 1 END, t.created_at DESC, t.id DESC",
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), ticket_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The latest incoming message of a ticket: (sender, its new text, else its whole text).
pub fn last_incoming(conn: &Connection, ticket: i64) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(from_addr, ''), CASE WHEN new_text != '' THEN new_text ELSE text END FROM messages \
             WHERE ticket_id = ?1 AND direction = 'in' ORDER BY received_at DESC, id DESC LIMIT 1",
        )?
        .query_row([ticket], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// One line of a ticket's conversation, as a mail to staff quotes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationEntry {
    pub direction: String,
    pub kind: String,
    pub from: String,
    pub received_at: i64,
    /// The new part of the message (quoted history removed), else its whole text.
    pub text: String,
}

/// The last `limit` customer, staff and note messages of a ticket, oldest first.
pub fn recent_conversation(conn: &Connection, ticket: i64, limit: usize) -> Result<Vec<ConversationEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT direction, kind, COALESCE(from_addr, '') AS from_addr, received_at, \
         CASE WHEN new_text != '' THEN new_text ELSE text END AS text FROM messages \
         WHERE ticket_id = ?1 AND kind IN ('customer', 'staff', 'note') \
         ORDER BY received_at DESC, id DESC LIMIT ?2",
    )?;
    let mut rows: Vec<ConversationEntry> = stmt
        .query_map(params![ticket, limit as i64], |r| {
            Ok(ConversationEntry {
                direction: r.get("direction")?,
                kind: r.get("kind")?,
                from: r.get("from_addr")?,
                received_at: r.get("received_at")?,
                text: r.get("text")?,
            })
        })?
        .collect::<Result<_, _>>()?;
    rows.reverse();
    Ok(rows)
}

/// The Message-ID of a ticket's first message.
pub fn first_message_id(conn: &Connection, ticket: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT message_id FROM messages WHERE ticket_id = ?1 AND message_id IS NOT NULL \
             AND message_id NOT LIKE 'synthetic.%' ORDER BY received_at, id LIMIT 1",
        )?
        .query_row([ticket], |r| r.get(0))
        .optional()?)
}

/// Logs minutes of work on a ticket.
pub fn add_time(conn: &Connection, ticket: i64, agent: Option<&str>, minutes: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO time_entries (ticket_id, agent, minutes, at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![ticket, agent, minutes, at])?;
    Ok(())
}

/// Minutes logged on a ticket in all.
pub fn time_on(conn: &Connection, ticket: i64) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(SUM(minutes), 0) FROM time_entries WHERE ticket_id = ?1")?
        .query_row([ticket], |r| r.get(0))?)
}

/// Moves everything of ticket `from` — messages, thread index, events stay — to ticket `into`,
/// so that replies to either thread into `into`.
pub fn merge_tickets(conn: &Connection, from: i64, into: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1")?.execute(params![from, into])?;
    conn.prepare_cached("UPDATE OR IGNORE thread_ids SET ticket_id = ?2 WHERE ticket_id = ?1")?
        .execute(params![from, into])?;
    conn.prepare_cached("UPDATE time_entries SET ticket_id = ?2 WHERE ticket_id = ?1")?.execute(params![from, into])?;
    conn.prepare_cached("UPDATE tickets SET linked_to = ?2 WHERE id = ?1")?.execute(params![from, into])?;
    Ok(())
}

/// Every ticket a customer opened, newest first.
pub fn tickets_of_requester(conn: &Connection, address: &str) -> Result<Vec<Ticket>, StoreError> {
    let sql =
        format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.requester = ?1 ORDER BY t.created_at DESC, t.id DESC");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([address], ticket_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A message held as spam.
#[derive(Clone, Debug)]
pub struct Held {
    pub id: i64,
    pub mailbox: Option<String>,
    pub from: Option<String>,
    pub subject: String,
    pub received_at: i64,
    pub score: Option<f64>,
    pub reasons: Vec<String>,
}

/// The quarantine: spam stored without a ticket, newest first.
pub fn quarantine(conn: &Connection) -> Result<Vec<Held>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, mailbox, from_addr, subject, received_at, flags FROM messages \
         WHERE kind = 'spam' AND ticket_id IS NULL ORDER BY received_at DESC, id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        let flags: String = r.get(5)?;
        let flags: Vec<String> = serde_json::from_str(&flags).unwrap_or_default();
        let reasons = flags
            .iter()
            .filter_map(|f| f.strip_prefix("spam: "))
            .flat_map(|s| s.split("; "))
            .map(str::to_string)
            .collect();
        let score = flags.iter().find_map(|f| f.strip_prefix("spam_score: ")).and_then(|s| s.parse().ok());
        Ok(Held {
            id: r.get(0)?,
            mailbox: r.get(1)?,
            from: r.get(2)?,
            subject: r.get(3)?,
            received_at: r.get(4)?,
            score,
            reasons,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A message held in the quarantine, as it came.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldMessage {
    /// None when the raw bytes were not kept.
    pub raw: Option<Vec<u8>>,
    pub mailbox: Option<String>,
    pub folder: Option<String>,
}

/// The held message `id`: spam stored without a ticket. None for any other message.
pub fn held_message(conn: &Connection, id: i64) -> Result<Option<HeldMessage>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT raw, mailbox, folder FROM messages WHERE id = ?1 AND kind = 'spam' AND ticket_id IS NULL",
        )?
        .query_row([id], |r| {
            Ok(HeldMessage { raw: r.get("raw")?, mailbox: r.get("mailbox")?, folder: r.get("folder")? })
        })
        .optional()?)
}

/// Deletes message `id` with its references and attachment rows (a held message being filed
/// again; the attachment files stay, content-addressed).
pub fn delete_message(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM message_refs WHERE message_id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM attachments WHERE message_id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM messages WHERE id = ?1")?.execute([id])?;
    Ok(())
}

pub fn touch_ticket(conn: &Connection, id: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET updated_at = MAX(updated_at, ?2) WHERE id = ?1")?
        .execute(params![id, at])?;
    Ok(())
}

pub fn set_status(conn: &Connection, id: i64, status: Status, at: i64) -> Result<(), StoreError> {
    // The resolution clock stops while waiting or closed: keep the pauses it is measured by.
    let before: Option<Status> =
        conn.prepare_cached("SELECT status FROM tickets WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
    if let Some(before) = before {
        if status.is_stopped() && !before.is_stopped() {
            conn.prepare_cached("INSERT INTO sla_pauses (ticket_id, paused_at) VALUES (?1, ?2)")?
                .execute(params![id, at])?;
        } else if !status.is_stopped() && before.is_stopped() {
            conn.prepare_cached("UPDATE sla_pauses SET resumed_at = ?2 WHERE ticket_id = ?1 AND resumed_at IS NULL")?
                .execute(params![id, at])?;
        }
    }
    let closed_at: Option<i64> = (status == Status::Closed).then_some(at);
    conn.prepare_cached(
        "UPDATE tickets SET status = ?2, closed_at = ?3, updated_at = MAX(updated_at, ?4) WHERE id = ?1",
    )?
    .execute(params![id, status, closed_at, at])?;
    // Whose turn it is follows the status (docs/message-handling.md): nobody's when closed, the
    // customer's while waiting on them, staff's when a ticket is reopened or a wait ends; a staff
    // response or a customer message set it explicitly.
    let awaiting = match (status, before) {
        (Status::Closed, _) => Some(None),
        (Status::Waiting, _) => Some(Some("customer")),
        (_, Some(b)) if b.is_stopped() => Some(Some("staff")),
        _ => None,
    };
    if let Some(awaiting) = awaiting {
        set_awaiting(conn, id, awaiting)?;
    }
    // A wait on the customer lasts as long as the status; the action that starts one says
    // until when.
    match (status, before) {
        (Status::Waiting, Some(b)) if b != Status::Waiting => set_wait(conn, id, Some(at), None)?,
        (Status::Waiting, _) => {}
        _ => set_wait(conn, id, None, None)?,
    }
    Ok(())
}

/// Gives a ticket to a staff member.
pub fn set_assignee(conn: &Connection, id: i64, agent: &str, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET assignee = ?2, updated_at = MAX(updated_at, ?3) WHERE id = ?1")?
        .execute(params![id, agent, at])?;
    Ok(())
}

/// Says whose turn it is on a ticket: "staff", "customer" or nobody's.
pub fn set_awaiting(conn: &Connection, id: i64, awaiting: Option<&str>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET awaiting = ?2 WHERE id = ?1")?.execute(params![id, awaiting])?;
    Ok(())
}

/// A person wrote on a ticket opened by automatic mail (at `at`, the receipt of their message):
/// from now on it is an ordinary ticket, and its clocks run from that moment, not from the
/// automatic mail's.
pub fn clear_automatic(conn: &Connection, id: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET automatic = 0, created_at = MAX(created_at, ?2) WHERE id = ?1")?
        .execute(params![id, at])?;
    Ok(())
}

/// When the customer's latest message on a ticket was received.
pub fn last_customer_message_at(conn: &Connection, ticket: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MAX(received_at) FROM messages WHERE ticket_id = ?1 AND kind = 'customer'")?
        .query_row([ticket], |r| r.get(0))?)
}

/// Corrects a ticket's requester (a forward whose sender could not be read, a phone number
/// typed wrong); the display name goes with the old address.
pub fn set_requester(conn: &Connection, id: i64, address: &str, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE tickets SET requester = ?2, requester_name = NULL, updated_at = MAX(updated_at, ?3) WHERE id = ?1",
    )?
    .execute(params![id, address, at])?;
    Ok(())
}

/// Sets a ticket's priority ("low", "normal", "high", "urgent").
pub fn set_priority(conn: &Connection, id: i64, priority: &str, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET priority = ?2, updated_at = MAX(updated_at, ?3) WHERE id = ?1")?
        .execute(params![id, priority, at])?;
    Ok(())
}

/// Moves a ticket to another department.
pub fn set_department(conn: &Connection, id: i64, department: &str, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET department = ?2, updated_at = MAX(updated_at, ?3) WHERE id = ?1")?
        .execute(params![id, department, at])?;
    Ok(())
}

/// How many tickets are not closed (automatic ones included).
pub fn open_ticket_count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) AS tickets FROM tickets WHERE status != 'closed'")?
        .query_row([], |r| r.get("tickets"))?)
}

/// Sets or ends (None) a ticket's running next-response clock.
pub fn set_next_response_from(conn: &Connection, id: i64, from: Option<i64>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tickets SET next_response_from = ?2 WHERE id = ?1")?.execute(params![id, from])?;
    Ok(())
}

/// One finished next-response cycle, for stats.
#[derive(Clone, Debug, PartialEq)]
pub struct NextResponse<'a> {
    pub ticket: i64,
    pub started_at: i64,
    pub due_at: Option<i64>,
    pub ended_at: i64,
    pub ended_by: Option<&'a str>,
    pub department: &'a str,
}

pub fn record_next_response(conn: &Connection, n: &NextResponse<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO next_responses (ticket_id, started_at, due_at, ended_at, ended_by, department) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![n.ticket, n.started_at, n.due_at, n.ended_at, n.ended_by, n.department])?;
    Ok(())
}

/// Records the first staff response; later responses leave it as it is.
pub fn record_response(conn: &Connection, id: i64, at: i64, by: &str) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE tickets SET first_response_at = ?2, first_response_by = ?3 \
         WHERE id = ?1 AND first_response_at IS NULL",
        )?
        .execute(params![id, at, by])?;
    Ok(changed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{address_known_to_ticket, insert_message, NewMessage};

    #[test]
    fn who_belongs_on_a_ticket() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        let conn = store.conn();
        let ticket = insert_ticket(
            conn,
            &NewTicket {
                subject: "x",
                department: "support",
                priority: crate::domain::Priority::Normal,
                requester: "anna@customer.test",
                requester_name: None,
                assignee: None,
                mailbox: None,
                language: None,
                created_at: 0,
                linked_to: None,
                silent: false,
                tags: &[],
                automatic: false,
                awaiting: Some("staff"),
            },
        )
        .unwrap();
        let cc = vec!["zed@partner.test".to_string()];
        insert_message(
            conn,
            &NewMessage {
                ticket_id: Some(ticket),
                direction: "in",
                kind: "customer",
                message_id: Some("m1@customer.test"),
                content_hash: "h",
                from_addr: Some("anna@customer.test"),
                cc: &cc,
                ..Default::default()
            },
        )
        .unwrap();
        for (address, known) in [
            ("anna@customer.test", true),
            ("bob@customer.test", true),
            ("zed@partner.test", true),
            ("stranger@evil.test", false),
            ("partner.test", false),
            ("x@%", false),
            ("%", false),
        ] {
            assert_eq!(address_known_to_ticket(conn, ticket, address, true).unwrap(), known, "{address}");
        }
        // Without the shared-domain rule a colleague is a stranger until they are on a message.
        assert!(!address_known_to_ticket(conn, ticket, "bob@customer.test", false).unwrap());
        assert!(address_known_to_ticket(conn, ticket, "zed@partner.test", false).unwrap());
    }
}
