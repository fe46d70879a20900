//! Alerts: tells the admins (`[alerts] to`) by mail about problems ticketd cannot fix itself —
//! a failing OAuth2 refresh above all, since a silently expired token stops a mailbox. Each
//! alert is also logged. The same alert is mailed at most once per six hours.
//!
//! Alerts go through the outbox like every other mail; this module never sends directly.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::outbox::compose;
use crate::store::{self, Store, StoreError};

const REPEAT_AFTER_SECS: i64 = 6 * 3600;

/// Queues an alert mail unless the same one (by `key`) went out within six hours.
pub fn raise(
    store: &Store,
    config: &Config,
    key: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    raise_in(store.conn(), config, key, subject, body, now, REPEAT_AFTER_SECS)
}

/// [`raise`] inside the caller's transaction, repeated at most once per `repeat_after_secs`.
pub fn raise_in(
    conn: &rusqlite::Connection,
    config: &Config,
    key: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
    repeat_after_secs: i64,
) -> Result<bool, StoreError> {
    tracing::error!(alert = key, "{subject}: {body}");
    if config.alerts_to.is_empty() {
        return Ok(false);
    }
    if store::outbox::alert_queued_since(conn, &alert_key(key), now.timestamp() - repeat_after_secs)? {
        return Ok(false);
    }
    let recipients: Vec<String> = config.alerts_to.iter().map(|a| a.to_string()).collect();
    let mail = compose::alert(&config.smtp.from, &recipients, subject, body, &alert_key(key), now)
        .map_err(|e| StoreError::Create { path: "alert mail".into(), source: std::io::Error::other(e.to_string()) })?;
    store::outbox::enqueue(
        conn,
        &store::outbox::NewOutgoing {
            ticket_id: None,
            kind: "alert",
            message_id: &mail.message_id,
            mail_from: config.smtp.from.address.as_str(),
            recipients: &recipients,
            raw: &mail.raw,
            created_at: now.timestamp(),
        },
    )?;
    Ok(true)
}

fn alert_key(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}
