//! What ticketd learns about an address over time, and the recent history the loop breaker
//! reads: bounces, and how quickly a sender answered ticketd's own mail.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// Records that mail to `address` bounced (the latest bounce wins).
pub fn mark_bounced(conn: &Connection, address: &str, at: i64, detail: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO addresses (address, bounced_at, bounce_detail) VALUES (?1, ?2, ?3) \
         ON CONFLICT(address) DO UPDATE SET bounced_at = excluded.bounced_at, bounce_detail = excluded.bounce_detail",
    )?
    .execute(params![address, at, detail])?;
    Ok(())
}

/// When mail to `address` last bounced, and what the report said.
pub fn last_bounce(conn: &Connection, address: &str) -> Result<Option<(i64, String)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT bounced_at, COALESCE(bounce_detail, '') FROM addresses WHERE address = ?1 AND bounced_at IS NOT NULL")?.query_row([address],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Tickets `address` opened since `since` that arrived within `window` seconds after ticketd
/// had sent it a mail (an answer to ticketd that did not thread, at machine speed).
pub fn quick_answers(conn: &Connection, address: &str, since: i64, window: i64) -> Result<i64, StoreError> {
    let recipients = serde_json::to_string(&[address]).unwrap_or_default();
    // The mail must have gone out for an earlier ticket (never the ticket's own
    // acknowledgement), and a few seconds of slack after the receipt time allow for the mail
    // server's clock and ours to differ.
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM tickets t WHERE t.requester = ?1 AND t.created_at >= ?2 AND EXISTS (\
             SELECT 1 FROM outbox o WHERE o.recipients = ?3 AND o.ticket_id < t.id \
             AND o.sent_at BETWEEN t.created_at - ?4 AND t.created_at + 5)",
        )?
        .query_row(params![address, since, recipients, window], |r| r.get(0))?)
}

/// Tickets `address` opened since `since` under exactly this subject.
pub fn same_subject_tickets(conn: &Connection, address: &str, subject: &str, since: i64) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM tickets WHERE requester = ?1 AND created_at >= ?2 AND subject = ?3")?
        .query_row(params![address, since, subject], |r| r.get(0))?)
}
