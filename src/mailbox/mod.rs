//! Mailbox: reads a shared mailbox's folders over IMAP and feeds every new message to the
//! pipeline ([`crate::ingest`]). Messages are fetched by UID above the folder's checkpoint
//! (RFC 3501 §2.3.1.1); a message is moved or flagged on the server only after its ticket is
//! committed, through the `pending_actions` table, so a crash repeats an action but never skips
//! one.
//!
//! This module must never delete mail: no EXPUNGE except UID EXPUNGE of the very messages it
//! just copied elsewhere (RFC 4315), and never anything that touches `\Seen`.

pub mod connect;
mod folder;

pub use connect::{connect, ImapSession};
pub use folder::{sync_folder, FolderReport};

use crate::clock::Clock;
use crate::config::MailboxConfig;
use crate::ingest::Pipeline;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("login refused for {0}")]
    Login(String),
    #[error("password: {0}")]
    Secret(String),
    #[error("no answer from the server within the time limit ({0})")]
    Timeout(&'static str),
    #[error("IMAP {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("folder {folder:?}: {message}")]
    Folder { folder: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
}

/// Summary of one pass over a mailbox.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MailboxReport {
    pub fetched: usize,
    pub new_tickets: usize,
    pub joined: usize,
    pub duplicates: usize,
    pub spam: usize,
    pub skipped_old: usize,
    pub acknowledged: usize,
}

impl MailboxReport {
    fn add(&mut self, f: &FolderReport) {
        self.fetched += f.fetched;
        self.new_tickets += f.new_tickets;
        self.joined += f.joined;
        self.duplicates += f.duplicates;
        self.spam += f.spam;
        self.skipped_old += f.skipped_old;
        self.acknowledged += f.acknowledged;
    }
}

/// One pass: connect, read every folder and the sent folder, log out.
pub async fn sync_mailbox(
    cfg: &MailboxConfig,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
) -> Result<MailboxReport, MailboxError> {
    let mut session = connect(cfg).await?;
    let mut report = MailboxReport::default();
    let mut state = folder::SessionState::default();
    for folder in &cfg.folders {
        let r = sync_folder(
            &mut session,
            &mut state,
            cfg,
            folder,
            false,
            store,
            pipeline,
            clock,
        )
        .await?;
        report.add(&r);
    }
    if let Some(sent) = &cfg.sent_folder {
        let sent = folder::resolve_folder(&mut session, sent).await?;
        let r = sync_folder(
            &mut session,
            &mut state,
            cfg,
            &sent,
            true,
            store,
            pipeline,
            clock,
        )
        .await?;
        report.add(&r);
    }
    let _ = connect::timed("LOGOUT", session.logout()).await;
    Ok(report)
}
