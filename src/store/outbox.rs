//! The outbox queue: every mail ticketd sends is a row here first, written in the same
//! transaction as the change that caused it, and leaves the queue only when the SMTP server
//! accepted it (or refused it permanently).

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

#[derive(Clone, Debug)]
pub struct NewOutgoing<'a> {
    pub ticket_id: Option<i64>,
    pub kind: &'a str,
    pub message_id: &'a str,
    pub mail_from: &'a str,
    pub recipients: &'a [String],
    pub raw: &'a [u8],
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct Outgoing {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub kind: String,
    pub message_id: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    pub attempts: i64,
}

pub fn enqueue(conn: &Connection, m: &NewOutgoing<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox (ticket_id, kind, message_id, mail_from, recipients, raw, created_at, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        m.ticket_id,
        m.kind,
        m.message_id,
        m.mail_from,
        serde_json::to_string(m.recipients).unwrap_or_else(|_| "[]".into()),
        m.raw,
        m.created_at,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Pending mail whose next attempt is due at `now` (Unix seconds), oldest first. A mail waits
/// while an earlier one of its ticket is still pending and not yet due, so that the mail of a
/// ticket arrives in the order it was written.
pub fn due(conn: &Connection, now: i64, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, ticket_id, kind, message_id, mail_from, recipients, raw, attempts FROM outbox o \
         WHERE state = 'pending' AND next_attempt_at <= ?1 AND NOT EXISTS (\
             SELECT 1 FROM outbox e WHERE e.ticket_id = o.ticket_id AND e.state = 'pending' \
             AND e.id < o.id AND e.next_attempt_at > ?1) \
         ORDER BY next_attempt_at, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit as i64], |r| {
        let recipients: String = r.get(5)?;
        Ok(Outgoing {
            id: r.get(0)?,
            ticket_id: r.get(1)?,
            kind: r.get(2)?,
            message_id: r.get(3)?,
            mail_from: r.get(4)?,
            recipients: serde_json::from_str(&recipients).unwrap_or_default(),
            raw: r.get(6)?,
            attempts: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next pending mail is due, if any.
pub fn next_due(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .flatten())
}

pub fn pending_count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.prepare_cached("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")?.query_row([], |r| r.get(0))?)
}

/// The kind of the mail queued with `message_id` ("ack", "alert", ...), if it is in the outbox.
pub fn kind_of(conn: &Connection, message_id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT kind FROM outbox WHERE message_id = ?1")?
        .query_row([message_id], |r| r.get("kind"))
        .optional()?)
}

/// How many acknowledgements were queued after `since`, to anyone.
pub fn acks_since(conn: &Connection, since: i64) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) AS acks FROM outbox WHERE kind = 'ack' AND created_at > ?1")?
        .query_row([since], |r| r.get("acks"))?)
}

/// How many acknowledgements were queued after `since` to `address` alone.
pub fn acks_to_since(conn: &Connection, address: &str, since: i64) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) AS acks FROM outbox WHERE kind = 'ack' AND recipients = ?1 AND created_at > ?2",
        )?
        .query_row(params![serde_json::to_string(&[address]).unwrap_or_default(), since], |r| r.get("acks"))?)
}

/// Whether an alert whose Message-ID carries `.{key}@` was queued after `since`. `key` holds
/// only letters, digits and '-' (no LIKE wildcards).
pub fn alert_queued_since(conn: &Connection, key: &str, since: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM outbox WHERE kind = 'alert' AND message_id LIKE ?1 AND created_at > ?2 LIMIT 1",
        )?
        .query_row(params![format!("%.{key}@%"), since], |r| r.get("id"))
        .optional()?;
    Ok(found.is_some())
}

/// Claims a due row for one delivery attempt: its next attempt moves `lease` seconds ahead, so
/// a second process (the daemon beside `run --once` or a shell command) does not send it too.
/// False when someone else claimed it first.
pub fn claim(conn: &Connection, id: i64, now: i64, lease: i64) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET next_attempt_at = ?3 WHERE id = ?1 AND state = 'pending' AND next_attempt_at <= ?2",
        )?
        .execute(params![id, now, now + lease])?;
    Ok(changed == 1)
}

pub fn mark_sent(conn: &Connection, id: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
    )?
    .execute(params![id, at])?;
    Ok(())
}

pub fn mark_retry(conn: &Connection, id: i64, next_at: i64, error: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
    )?
    .execute(params![id, next_at, error])?;
    Ok(())
}

pub fn mark_failed(conn: &Connection, id: i64, error: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1")?
        .execute(params![id, error])?;
    Ok(())
}
