//! The pipeline: runs one fetched message through its stages — decide (filter, language,
//! owner mailbox, route: pure), then file (join or open a ticket, its state, events and clocks;
//! ack decides whether and how the sender is acknowledged) — and writes the outcome into the
//! caller's transaction: the ticket, the message, its events, the folder checkpoint, the
//! server-side action owed for it, and any mail in the outbox. Either all of it is stored or
//! none of it, so a crash at any moment loses and duplicates nothing: an uncommitted message is
//! fetched again, a committed one is recognised. Messages that enter other than from a mailbox
//! (quarantine release, tickets by hand, placeholders) go through reenter.
//!
//! This module must never talk to the network: the IMAP side applies the owed action after
//! the commit, and the outbox delivers the mail.

mod ack;
mod decide;
mod file;
mod open;
mod reenter;

pub use ack::*;
pub use decide::*;
pub use file::*;
use open::*;
pub use reenter::*;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::config::{Address, Config, MailboxConfig};
use crate::filter::Class;
use crate::outbox::compose;
use crate::parse::ParsedMessage;
use crate::rules::Rules;
use crate::scan::ScanResult;
use crate::store::{self, StoreError};
use crate::thread::TagMatcher;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot store attachment in {path}: {source}")]
    Attachment { path: String, source: std::io::Error },
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
    #[error("message {0} is not held in the quarantine")]
    NotHeld(i64),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Action(#[from] crate::actions::ActionError),
}

impl IngestError {
    /// The disk (or the database) is full: the message stays on the server and is tried again
    /// later, while the messages beside it are stored.
    pub fn is_disk_full(&self) -> bool {
        let io_full = |e: &std::io::Error| e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28);
        match self {
            IngestError::Attachment { source, .. } => io_full(source),
            IngestError::Store(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for IngestError {
    fn from(e: rusqlite::Error) -> Self {
        IngestError::Store(StoreError::Sqlite(e))
    }
}

/// Everything about the pipeline that does not change per message.
pub struct Pipeline<'a> {
    pub config: &'a Config,
    pub rules: &'a Rules,
    pub tags: &'a TagMatcher,
    pub own_addresses: &'a [Address],
    /// The live spam scanner, asked by the mailbox side before [`ingest_in`] (never by it).
    pub scanner: Option<&'a crate::scan::Scanner>,
}

/// What a pipeline derives once from the config and the rules: the subject-tag matcher and
/// ticketd's own addresses.
pub struct Parts {
    pub tags: TagMatcher,
    pub own_addresses: Vec<Address>,
}

impl Parts {
    pub fn new(config: &Config, rules: &Rules) -> Parts {
        Parts { tags: TagMatcher::new(&config.tickets.tag_prefix), own_addresses: own_addresses(config, rules) }
    }
}

/// Every address ticketd sends from or receives at — the mailboxes', `[smtp].from` and every
/// department's `from` — mail from them is its own (docs/message-handling.md).
pub fn own_addresses(config: &Config, rules: &Rules) -> Vec<Address> {
    let mut all = config.own_addresses();
    all.extend(rules.departments.iter().filter_map(|d| d.from.as_ref()).map(|f| f.address.clone()));
    all.sort();
    all.dedup();
    all
}

impl<'a> Pipeline<'a> {
    /// The one way to make a pipeline: over a config, its rules, what they derive, and the live
    /// spam scanner if there is one.
    pub fn new(
        config: &'a Config,
        rules: &'a Rules,
        parts: &'a Parts,
        scanner: Option<&'a crate::scan::Scanner>,
    ) -> Pipeline<'a> {
        Pipeline { config, rules, tags: &parts.tags, own_addresses: &parts.own_addresses, scanner }
    }
}

/// Where a fetched message came from on the server.
#[derive(Clone, Debug)]
pub struct Origin<'a> {
    pub mailbox: &'a MailboxConfig,
    /// The mailbox the ticket belongs to (docs/message-handling.md): the first configured mailbox whose address
    /// is in To, else in Cc, else the one that fetched it. Filled in by [`ingest_in`].
    pub owner: &'a MailboxConfig,
    pub folder: &'a str,
    pub from_sent_folder: bool,
    pub uidvalidity: u32,
    pub uid: u32,
    /// The server's receipt time (IMAP INTERNALDATE).
    pub received_at: DateTime<Utc>,
    /// Imported under `initial_sync = "all"`: stored, never acknowledged, notified or escalated.
    pub import_silently: bool,
    /// Only the header was fetched (larger than `max_message_size`).
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored before (same Message-ID or content); nothing new was written but the checkpoint.
    Duplicate,
    /// Held as spam: stored without a ticket, moved to the junk folder.
    Spam,
    Stored {
        ticket: i64,
        new_ticket: bool,
        acknowledged: bool,
        /// The acknowledgement was withheld because the sender looks like a mail loop.
        loop_suspected: bool,
        /// Automatic mail (never acknowledged).
        automatic: bool,
    },
    /// Stored without a ticket (own mail that belongs to none).
    Unfiled,
}

/// The action owed on the server once the message is committed.
pub fn after_action_for(outcome: &Outcome, mailbox: &MailboxConfig, from_sent_folder: bool) -> Option<String> {
    if from_sent_folder {
        // A Sent folder is the staff's record; ticketd only reads it.
        return None;
    }
    match outcome {
        Outcome::Spam => Some(format!("junk:{}", mailbox.junk_folder)),
        _ => match &mailbox.after {
            crate::config::AfterAction::Move(folder) => Some(format!("move:{folder}")),
            crate::config::AfterAction::Flag => Some("flag".into()),
            crate::config::AfterAction::None => None,
        },
    }
}

/// Runs one message, parsed already (by the caller, off the async threads and under a time
/// limit), through the pipeline inside the caller's transaction: the message, its ticket, the
/// folder checkpoint, the owed server action and any acknowledgement are written there, so they
/// are committed together or not at all. `scan` is the live scanner's answer about `raw`, when
/// one is configured. The mailbox side commits a whole fetched batch at once: one commit per
/// message would rewrite the same index pages fifty times over.
pub fn ingest_in(
    tx: &Connection,
    p: &Pipeline<'_>,
    origin: &Origin<'_>,
    raw: &[u8],
    parsed: ParsedMessage,
    scan: Option<&ScanResult>,
    now: DateTime<Utc>,
) -> Result<Outcome, IngestError> {
    let mut message = parsed;
    if origin.truncated {
        message.flags.push("too_large".into());
    }
    if origin.truncated {
        message.text = format!(
            "(This message is larger than max_message_size ({} bytes); only its header was fetched. \
             The whole message stays on the server in {}/{}.)",
            origin.mailbox.max_message_size.0, origin.mailbox.name, origin.folder
        );
    }
    let own = sent_by_ticketd(tx, &message)?;
    let Decision { verdict, class, routed, language, owner } =
        decide(p, &message, origin.mailbox, origin.from_sent_folder, scan, own);
    // A bounce or other report about ticketd's own mail carries that mail's Message-ID in its
    // returned headers: thread it there, so the bounce lands on the ticket (RFC 3464).
    let bounced = if class == Class::Automatic { returned_own_ids(raw) } else { Vec::new() };
    for id in &bounced {
        if !message.references.contains(id) {
            message.references.push(id.clone());
        }
    }
    let origin = &Origin { owner, ..origin.clone() };
    let attachments = store_attachments(&p.config.database.data_dir, &message)?;

    let outcome = if store::message_seen(tx, &message.identity())?.is_some() {
        Outcome::Duplicate
    } else {
        let stored = Stored {
            message: &message,
            raw,
            attachments: &attachments,
            origin,
            verdict: &verdict,
            language,
            forwarded_by: None,
            no_ack: None,
        };
        match class {
            Class::Spam => {
                stored.insert(tx, None, "spam", now)?;
                Outcome::Spam
            }
            _ => file_message(tx, p, &stored, class, &routed, now)?,
        }
    };
    store::sync::advance(tx, &origin.mailbox.name, origin.folder, origin.uidvalidity, origin.uid)?;
    if let Some(action) = after_action_for(&outcome, origin.mailbox, origin.from_sent_folder) {
        store::sync::add_pending_action(
            tx,
            &origin.mailbox.name,
            origin.folder,
            origin.uidvalidity,
            origin.uid,
            &action,
        )?;
    }
    Ok(outcome)
}
