//! Messages: what every ticket received and sent — the messages with their attachments, the
//! threading index of Message-IDs and References, and the events of a ticket.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// A message as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMessage {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub direction: String,
    pub kind: String,
    pub message_id: Option<String>,
    pub from_addr: Option<String>,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub date: Option<i64>,
    pub received_at: i64,
    pub text: String,
    pub new_text: String,
    pub flags: Vec<String>,
    pub attachments: Vec<Attachment>,
}

/// A message to store.
#[derive(Clone, Debug, Default)]
pub struct NewMessage<'a> {
    pub ticket_id: Option<i64>,
    pub direction: &'a str,
    pub kind: &'a str,
    pub message_id: Option<&'a str>,
    pub content_hash: &'a str,
    pub from_addr: Option<&'a str>,
    pub from_name: Option<&'a str>,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub subject: &'a str,
    pub date: Option<i64>,
    pub received_at: i64,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    pub text: &'a str,
    pub new_text: &'a str,
    pub raw: Option<&'a [u8]>,
    pub flags: &'a [String],
    pub mailbox: Option<&'a str>,
    pub folder: Option<&'a str>,
    pub uid: Option<u32>,
    pub attachments: &'a [Attachment],
}

/// Stores a message, indexes its Message-ID for threading and its references for late
/// threading, and returns its row id.
pub fn insert_message(conn: &Connection, m: &NewMessage<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO messages (ticket_id, direction, kind, message_id, content_hash, from_addr, \
         from_name, to_addrs, cc_addrs, subject, date, received_at, in_reply_to, text, raw, flags, \
         mailbox, folder, uid, new_text) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?
    .execute(params![
        m.ticket_id,
        m.direction,
        m.kind,
        m.message_id,
        m.content_hash,
        m.from_addr,
        m.from_name,
        json_list(m.to),
        json_list(m.cc),
        m.subject,
        m.date,
        m.received_at,
        m.in_reply_to,
        m.text,
        m.raw,
        json_list(m.flags),
        m.mailbox,
        m.folder,
        m.uid,
        // Most messages are all new: their text is not stored twice ('' reads back as the
        // trimmed text, which is what the reply extractor gives for a message without history).
        if m.new_text == m.text.trim() { "" } else { m.new_text },
    ])?;
    let id = conn.last_insert_rowid();
    if let (Some(ticket), Some(mid)) = (m.ticket_id, m.message_id) {
        add_thread_id(conn, ticket, mid)?;
    }
    let mut refs = conn.prepare_cached("INSERT INTO message_refs (ref, message_id) VALUES (?1, ?2)")?;
    for r in m.references.iter().chain(m.in_reply_to.map(str::to_string).as_ref()) {
        refs.execute(params![r, id])?;
    }
    let mut att = conn.prepare_cached(
        "INSERT INTO attachments (message_id, filename, content_type, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for a in m.attachments {
        att.execute(params![id, a.filename, a.content_type, a.size, a.sha256])?;
    }
    Ok(id)
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Indexes a Message-ID (received or sent) as belonging to a ticket.
pub fn add_thread_id(conn: &Connection, ticket: i64, message_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO thread_ids (message_id, ticket_id) VALUES (?1, ?2)")?
        .execute(params![message_id, ticket])?;
    Ok(())
}

/// The ticket that has received or sent one of these Message-IDs; the latest reference wins.
pub fn ticket_by_thread_ids(conn: &Connection, ids: &[String]) -> Result<Option<i64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT ticket_id FROM thread_ids WHERE message_id = ?1")?;
    for id in ids.iter().rev() {
        if let Some(t) = stmt.query_row([id], |r| r.get(0)).optional()? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// The ticket of a stored message whose References name `message_id` (a reply that arrived
/// before the message it answers).
pub fn ticket_referencing(conn: &Connection, message_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT m.ticket_id FROM message_refs r JOIN messages m ON m.id = r.message_id \
             WHERE r.ref = ?1 AND m.ticket_id IS NOT NULL ORDER BY m.id LIMIT 1",
        )?
        .query_row([message_id], |r| r.get(0))
        .optional()?)
}

/// Whether this message is stored already, by its identity (Message-ID, or the synthetic one
/// made from its content where it has none).
pub fn message_seen(conn: &Connection, identity: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM messages WHERE message_id = ?1")?
        .query_row([identity], |r| r.get(0))
        .optional()?)
}

/// Whether `address` belongs on this ticket: the requester, anyone who wrote on it or was in
/// its To/Cc history, or someone at the requester's domain.
/// Whether `address` is known to a ticket (docs/message-handling.md): its requester, or an address in From, To
/// or Cc of one of its messages; with `same_domain`, also any address at the requester's domain
/// (the caller decides whether that domain proves anything).
pub fn address_known_to_ticket(
    conn: &Connection,
    ticket: i64,
    address: &str,
    same_domain: bool,
) -> Result<bool, StoreError> {
    // Exact comparisons only: an address is untrusted input and must not become a pattern.
    let domain = if same_domain { address.rsplit_once('@').map(|(_, d)| d).unwrap_or("") } else { "" };
    let n: i64 = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM tickets WHERE id = ?1 AND (requester = ?2 \
                   OR (?3 <> '' AND substr(requester, instr(requester, '@') + 1) = ?3))) + \
                (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = ?1 AND (m.from_addr = ?2 \
                   OR EXISTS (SELECT 1 FROM json_each(m.to_addrs) WHERE value = ?2) \
                   OR EXISTS (SELECT 1 FROM json_each(m.cc_addrs) WHERE value = ?2)))",
        )?
        .query_row(params![ticket, address, domain], |r| r.get(0))?;
    Ok(n > 0)
}

/// The ticket of the newest of `ids` that is a Message-ID of mail ticketd sent (the outbox).
pub fn ticket_by_sent_ids(conn: &Connection, ids: &[String]) -> Result<Option<i64>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT ticket_id FROM outbox WHERE message_id = ?1 AND ticket_id IS NOT NULL")?;
    for id in ids.iter().rev() {
        if let Some(t) = stmt.query_row([id], |r| r.get(0)).optional()? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// Whether `message_id` is one ticketd made and sent (so a message carrying it is its own).
pub fn is_sent_message_id(conn: &Connection, message_id: &str) -> Result<bool, StoreError> {
    Ok(conn.prepare_cached("SELECT 1 FROM outbox WHERE message_id = ?1")?.exists([message_id])?)
}

/// Whether one of `ids` is a Message-ID of mail ticketd sent to `address` (a bounce's proof).
pub fn sent_to(conn: &Connection, ids: &[String], address: &str) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM outbox WHERE message_id = ?1 AND EXISTS (SELECT 1 FROM json_each(recipients) WHERE value = ?2)",
    )?;
    for id in ids {
        if stmt.exists(params![id, address])? {
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn messages_of(conn: &Connection, ticket: i64) -> Result<Vec<StoredMessage>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, ticket_id, direction, kind, message_id, from_addr, from_name, to_addrs, cc_addrs, \
         subject, date, received_at, text, flags, new_text FROM messages WHERE ticket_id = ?1 ORDER BY received_at, id",
    )?;
    let mut messages: Vec<StoredMessage> = stmt
        .query_map([ticket], |r| {
            let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                let s: String = r.get(i)?;
                Ok(serde_json::from_str(&s).unwrap_or_default())
            };
            let text: String = r.get(12)?;
            let new_text: String = r.get(14)?;
            Ok(StoredMessage {
                new_text: if new_text.is_empty() { text.trim().to_string() } else { new_text },
                text,
                id: r.get(0)?,
                ticket_id: r.get(1)?,
                direction: r.get(2)?,
                kind: r.get(3)?,
                message_id: r.get(4)?,
                from_addr: r.get(5)?,
                from_name: r.get(6)?,
                to: list(7)?,
                cc: list(8)?,
                subject: r.get(9)?,
                date: r.get(10)?,
                received_at: r.get(11)?,
                flags: list(13)?,
                attachments: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut att = conn.prepare_cached(
        "SELECT filename, content_type, size, sha256 FROM attachments WHERE message_id = ?1 ORDER BY id",
    )?;
    for m in &mut messages {
        m.attachments = att
            .query_map([m.id], |r| {
                Ok(Attachment { filename: r.get(0)?, content_type: r.get(1)?, size: r.get(2)?, sha256: r.get(3)? })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(messages)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub at: i64,
    pub kind: String,
    pub by: Option<String>,
    pub detail: String,
}

pub fn add_event(
    conn: &Connection,
    ticket: i64,
    at: i64,
    kind: &str,
    by: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO events (ticket_id, at, kind, by, detail) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![ticket, at, kind, by, detail])?;
    Ok(())
}

pub fn events_of(conn: &Connection, ticket: i64) -> Result<Vec<Event>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT at, kind, by, detail FROM events WHERE ticket_id = ?1 ORDER BY at, id")?;
    let rows =
        stmt.query_map([ticket], |r| Ok(Event { at: r.get(0)?, kind: r.get(1)?, by: r.get(2)?, detail: r.get(3)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
