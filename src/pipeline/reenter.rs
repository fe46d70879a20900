//! Reenter: messages that come into the pipeline other than by a mailbox pass — released from
//! the quarantine, logged by hand (`tickets new`), or stored as placeholders after failing
//! every try.
//!
//! Each is filed like mail (the same stages, the same transaction rules); nothing here talks to
//! a mailbox.

use chrono::{DateTime, Utc};
use rusqlite::TransactionBehavior;

use crate::filter::{Class, Verdict};
use crate::outbox::compose;
use crate::parse::{self, ParsedMessage};
use crate::store::{self, Store};

use super::*;

/// A message released from the quarantine.
#[derive(Debug)]
pub struct Released {
    pub ticket: i64,
    pub mailbox: String,
    /// The Message-ID to find it by in the junk folder (None for a synthetic one).
    pub message_id: Option<String>,
}

/// Turns a held spam message into a ticket as if it had just arrived (docs/message-handling.md): classified
/// again without the spam verdict, acknowledged, its clock starting `now`.
pub fn release(store: &mut Store, p: &Pipeline<'_>, held: i64, now: DateTime<Utc>) -> Result<Released, IngestError> {
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(store::HeldMessage { raw: Some(raw), mailbox, folder }) = store::held_message(&tx, held)? else {
        return Err(IngestError::NotHeld(held));
    };
    let mb = p
        .config
        .mailboxes
        .iter()
        .find(|m| Some(&m.name) == mailbox.as_ref())
        .or(p.config.mailboxes.first())
        .ok_or(IngestError::NotHeld(held))?;
    let folder = folder.unwrap_or_else(|| "INBOX".into());
    let message = parse::parse(&raw);
    let own = sent_by_ticketd(&tx, &message)?;
    let d = decide(p, &message, mb, false, None, own);
    let class = if d.class == Class::Spam { Class::Customer } else { d.class };
    let verdict = Verdict { class, reasons: Vec::new(), unscanned: None, ..d.verdict };
    let origin = Origin {
        mailbox: mb,
        owner: d.owner,
        folder: &folder,
        from_sent_folder: false,
        uidvalidity: 0,
        uid: 0,
        received_at: now,
        import_silently: false,
        truncated: false,
    };
    store::delete_message(&tx, held)?;
    let attachments = store_attachments(&p.config.database.data_dir, &message)?;
    let stored = Stored {
        message: &message,
        raw: &raw,
        attachments: &attachments,
        origin: &origin,
        verdict: &verdict,
        language: d.language,
        forwarded_by: None,
        no_ack: None,
    };
    let mut routed = d.routed;
    routed.spam = false;
    let outcome = file_message(&tx, p, &stored, class, &routed, now)?;
    let Outcome::Stored { ticket, .. } = outcome else { return Err(IngestError::NotHeld(held)) };
    store::add_event(&tx, ticket, now.timestamp(), "released", None, "released from the quarantine")?;
    tx.commit()?;
    Ok(Released { ticket, mailbox: mb.name.clone(), message_id: message.message_id.clone() })
}

/// A ticket logged by hand (`tickets new`: a phone call).
pub struct ByHand<'a> {
    /// The customer: "Anna <anna@customer.test>" or a bare address.
    pub from: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub department: Option<&'a str>,
    pub priority: Option<crate::rules::Priority>,
    pub ack: bool,
    /// The staff member who logged it.
    pub by: Option<&'a str>,
}

/// Opens a ticket logged by hand as if the customer had mailed it at `now`: routed by the rules
/// (unless department or priority are given), acknowledged unless told not to, the department
/// notified, its SLA clocks started. The message is stored as written, as a customer message.
pub fn file_by_hand(
    store: &mut Store,
    p: &Pipeline<'_>,
    manual: &ByHand<'_>,
    now: DateTime<Utc>,
) -> Result<i64, IngestError> {
    let mailbox = p
        .config
        .mailboxes
        .iter()
        .find(|m| Some(m.department.as_str()) == manual.department)
        .or(p.config.mailboxes.first())
        .ok_or(IngestError::NotHeld(0))?;
    let unique = parse::sha256_hex(
        format!("{}{}{}", now.timestamp_nanos_opt().unwrap_or(0), manual.from, manual.subject).as_bytes(),
    );
    let raw = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <manual.{}@ticketd.invalid>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
         X-Ticketd-Logged-By: {}\r\n\r\n{}\r\n",
        compose::header_safe(manual.from),
        mailbox.address,
        compose::header_safe(manual.subject),
        now.to_rfc2822(),
        &unique[..24],
        manual.by.unwrap_or("shell"),
        manual.body.replace("\r\n", "\n").replace('\n', "\r\n"),
    );
    let message = parse::parse(raw.as_bytes());
    let d = decide(p, &message, mailbox, false, None, false);
    let mut routed = d.routed;
    if let Some(department) = manual.department {
        if p.rules.department(department).is_none() {
            return Err(IngestError::Action(crate::actions::ActionError::UnknownDepartment(department.into())));
        }
        routed.department = department.to_string();
    }
    if let Some(priority) = manual.priority {
        routed.priority = priority;
    }
    routed.ack &= manual.ack;
    routed.spam = false;
    let verdict = Verdict { class: Class::Customer, reasons: Vec::new(), unscanned: None, ..d.verdict };
    let origin = Origin {
        mailbox,
        owner: d.owner,
        folder: "(by hand)",
        from_sent_folder: false,
        uidvalidity: 0,
        uid: 0,
        received_at: now,
        import_silently: false,
        truncated: false,
    };
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored = Stored {
        message: &message,
        raw: raw.as_bytes(),
        attachments: &[],
        origin: &origin,
        verdict: &verdict,
        language: d.language,
        forwarded_by: None,
        no_ack: None,
    };
    let outcome = file_message(&tx, p, &stored, Class::Customer, &routed, now)?;
    let Outcome::Stored { ticket, .. } = outcome else { return Err(IngestError::NotHeld(0)) };
    store::add_event(&tx, ticket, now.timestamp(), "logged", manual.by, "logged by hand")?;
    tx.commit()?;
    Ok(ticket)
}

/// A message whose processing failed [`crate::mailbox`]'s last try (panic, abort or time-out):
/// what can be read of its header by a simple, bounded scan that cannot fail, flagged, with an
/// explanation as its text. The caller stores the raw bytes beside it.
pub fn placeholder(raw: &[u8], reason: &str) -> ParsedMessage {
    // The header block lies in the first 64 KB of any message worth reading.
    let headers = parse::scan_headers(&raw[..raw.len().min(64 * 1024)]);
    let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let from = value("from").and_then(|v| {
        let inner = v.rsplit_once('<').map(|(_, r)| r.split('>').next().unwrap_or("")).unwrap_or(&v);
        let address = inner.trim().to_ascii_lowercase();
        (address.contains('@') && !address.contains(char::is_whitespace))
            .then_some(parse::Sender { name: None, address })
    });
    let subject = value("subject").map(|s| crate::outbox::compose::header_safe(&s)).unwrap_or_default();
    let message_id = value("message-id")
        .map(|v| v.trim().trim_matches(['<', '>']).to_string())
        .filter(|v| !v.is_empty() && v.len() < 500);
    let content_hash = parse::sha256_hex(raw);
    ParsedMessage {
        message_id,
        subject: format!("(could not be processed) {subject}").trim().to_string(),
        from,
        text: format!(
            "ticketd could not process this message ({reason}). It is stored whole, undecoded; \
             the original stays on the mail server too. Open it with a mail client to read it."
        ),
        headers,
        copy_hash: content_hash.clone(),
        content_hash,
        flags: vec!["unparsable".into(), format!("poison: {reason}")],
        ..Default::default()
    }
}

/// The last resort when even [`placeholder`] could not be stored: nothing read from the
/// message but its bytes.
pub fn bare_placeholder(raw: &[u8], reason: &str) -> ParsedMessage {
    let content_hash = parse::sha256_hex(raw);
    ParsedMessage {
        subject: "(could not be processed)".into(),
        text: format!(
            "ticketd could not process this message ({reason}), nor read its header. It is stored \
             whole, undecoded; the original stays on the mail server too."
        ),
        copy_hash: content_hash.clone(),
        content_hash,
        flags: vec!["unparsable".into(), format!("poison: {reason}")],
        ..Default::default()
    }
}
