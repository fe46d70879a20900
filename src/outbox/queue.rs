//! Queue: puts a composed mail into the outbox in the caller's transaction — the transaction of
//! the change that caused it — and stores it on its ticket as an outgoing message, with its
//! Message-ID indexed so that replies to it thread, and an event naming the recipients.
//!
//! Never sends: delivery is the outbox's, after the commit.

use rusqlite::Connection;

use crate::config::Address;
use crate::outbox::compose::Composed;
use crate::store::{self, outbox::NewOutgoing, NewMessage, StoreError};

/// The message kind (docs/json.md) of a mail queued as `outbox_kind`.
pub fn message_kind(outbox_kind: &str) -> &'static str {
    match outbox_kind {
        "ack" => "ack",
        "notification" | "assignment" => "notification",
        "warning" => "warning",
        "escalation" => "escalation",
        _ => "notice",
    }
}

/// Queues `mail` for `recipients` on `ticket`; `kind` names it in the outbox and the events.
pub fn queue(
    tx: &Connection,
    ticket: i64,
    kind: &str,
    from: &Address,
    recipients: &[String],
    mail: &Composed,
    at: i64,
) -> Result<(), StoreError> {
    store::outbox::enqueue(
        tx,
        &NewOutgoing {
            ticket_id: Some(ticket),
            kind,
            message_id: &mail.message_id,
            mail_from: from.as_str(),
            recipients,
            raw: &mail.raw,
            created_at: at,
        },
    )?;
    // The stored copy is made from what was composed; parsing the MIME again would cost more
    // than composing it.
    let content_hash = crate::parse::sha256_hex(mail.text.as_bytes());
    store::insert_message(
        tx,
        &NewMessage {
            ticket_id: Some(ticket),
            direction: "out",
            kind: message_kind(kind),
            message_id: Some(&mail.message_id),
            content_hash: &content_hash,
            from_addr: Some(from.as_str()),
            from_name: None,
            to: recipients,
            cc: &[],
            subject: &mail.subject,
            date: Some(at),
            received_at: at,
            in_reply_to: None,
            references: &[],
            text: &mail.text,
            new_text: &mail.text,
            raw: None,
            flags: &[],
            mailbox: None,
            folder: None,
            uid: None,
            attachments: &[],
        },
    )?;
    store::add_event(tx, ticket, at, kind, None, &format!("to {}", recipients.join(", ")))?;
    Ok(())
}
