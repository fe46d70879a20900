//! Mailbox: reads a shared mailbox's folders over IMAP and feeds every new message to the
//! pipeline ([`crate::pipeline`]). Messages are fetched by UID above the folder's checkpoint
//! (RFC 3501 §2.3.1.1); a message is moved or flagged on the server only after its ticket is
//! committed, through the `pending_actions` table, so a crash repeats an action but never skips
//! one.
//!
//! This module must never delete mail: no EXPUNGE except UID EXPUNGE of the very messages it
//! just copied elsewhere (RFC 4315), and never anything that touches `\Seen`.

pub mod connect;
mod folder;
mod tries;

pub use connect::{connect, ImapSession};
pub use folder::{sync_folder, FolderReport};

use crate::clock::Clock;
use crate::config::MailboxConfig;
use crate::pipeline::Pipeline;
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
    #[error("OAuth2: {0}")]
    Oauth(#[from] crate::oauth::OauthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] crate::pipeline::IngestError),
}

/// Whether an IMAP error is the connection failing (temporary) rather than the server's answer.
pub(crate) fn connection_failed(e: &async_imap::error::Error) -> bool {
    matches!(e, async_imap::error::Error::Io(_) | async_imap::error::Error::ConnectionLost)
}

impl MailboxError {
    /// A folder command the server refused (NO, BAD): a person must look; a connection that
    /// failed under it is only an IMAP error, retried soon.
    pub(crate) fn folder(folder: &str, what: &str, e: async_imap::error::Error) -> MailboxError {
        if connection_failed(&e) {
            MailboxError::Imap(e)
        } else {
            MailboxError::Folder { folder: folder.to_string(), message: format!("{what}: {e}") }
        }
    }

    /// A failure only a person can fix — a refused login, a password or token that cannot be
    /// read or refreshed, a certificate that does not verify, a folder that cannot be selected or
    /// created — as opposed to one that passes by itself (a timeout, a dropped connection, a busy
    /// database). The daemon retries the first kind rarely and tells the admins once; the second
    /// soon and quietly.
    pub fn is_permanent(&self) -> bool {
        match self {
            MailboxError::Login(_)
            | MailboxError::Secret(_)
            | MailboxError::Tls(_)
            | MailboxError::Oauth(_)
            | MailboxError::Folder { .. } => true,
            MailboxError::Connect(_)
            | MailboxError::Timeout(_)
            | MailboxError::Imap(_)
            | MailboxError::Store(_)
            | MailboxError::Ingest(_) => false,
        }
    }
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
    pub loops: usize,
    pub automatic: usize,
    pub gaps: usize,
}

impl MailboxReport {
    /// The pass's figures for the metrics.
    pub fn counts(&self) -> crate::metrics::PassCounts {
        crate::metrics::PassCounts {
            outcomes: vec![
                ("new_ticket", self.new_tickets),
                ("joined", self.joined),
                ("duplicate", self.duplicates),
                ("spam", self.spam),
                ("automatic", self.automatic),
                ("acknowledged", self.acknowledged),
                ("skipped_old", self.skipped_old),
            ],
            gaps: self.gaps,
            loops: self.loops,
        }
    }

    fn add(&mut self, f: &FolderReport) {
        self.fetched += f.fetched;
        self.new_tickets += f.new_tickets;
        self.joined += f.joined;
        self.duplicates += f.duplicates;
        self.spam += f.spam;
        self.skipped_old += f.skipped_old;
        self.acknowledged += f.acknowledged;
        self.gaps += f.gaps;
        self.loops += f.loops;
        self.automatic += f.automatic;
    }
}

/// A mailbox's connection, kept between passes so that IDLE can wait on it.
pub struct MailboxClient {
    cfg: MailboxConfig,
    tokens: Option<std::sync::Arc<crate::oauth::TokenProvider>>,
    session: Option<ImapSession>,
    state: folder::SessionState,
    idle_supported: bool,
    /// UIDNEXT of the first folder at its last pass.
    last_uid_next: Option<u32>,
}

impl MailboxClient {
    pub fn new(cfg: MailboxConfig, data_dir: &std::path::Path) -> MailboxClient {
        let tokens = match &cfg.credentials {
            crate::config::Credentials::Xoauth2 { token, .. } => {
                Some(std::sync::Arc::new(crate::oauth::TokenProvider::new(&cfg.name, token.clone(), data_dir)))
            }
            _ => None,
        };
        MailboxClient {
            cfg,
            tokens,
            session: None,
            state: folder::SessionState::default(),
            idle_supported: false,
            last_uid_next: None,
        }
    }

    pub fn config(&self) -> &MailboxConfig {
        &self.cfg
    }

    async fn session(&mut self) -> Result<&mut ImapSession, MailboxError> {
        if self.session.is_none() {
            let mut session = connect(&self.cfg, self.tokens.as_ref()).await?;
            let caps = connect::timed("CAPABILITY", session.capabilities()).await??;
            self.idle_supported = caps.has_str("IDLE");
            self.state = folder::SessionState::default();
            tracing::info!(
                mailbox = %self.cfg.name, host = %self.cfg.host, port = self.cfg.port,
                idle = self.idle_supported, r#move = caps.has_str("MOVE"), uidplus = caps.has_str("UIDPLUS"),
                "connected and logged in"
            );
            self.session = Some(session);
        }
        Ok(self.session.as_mut().expect("session was just set"))
    }

    /// Forgets the connection (after an error); the next pass reconnects.
    pub fn disconnect(&mut self) {
        self.session = None;
    }

    /// One pass over every folder and the sent folder. On error the connection is dropped.
    pub async fn pass(
        &mut self,
        store: &mut Store,
        pipeline: &Pipeline<'_>,
        clock: &dyn Clock,
    ) -> Result<MailboxReport, MailboxError> {
        let result = self.pass_inner(store, pipeline, clock).await;
        if result.is_err() {
            self.disconnect();
        }
        result
    }

    async fn pass_inner(
        &mut self,
        store: &mut Store,
        pipeline: &Pipeline<'_>,
        clock: &dyn Clock,
    ) -> Result<MailboxReport, MailboxError> {
        self.session().await?;
        let cfg = self.cfg.clone();
        let session = self.session.as_mut().expect("connected above");
        let mut report = MailboxReport::default();
        for (i, folder) in cfg.folders.iter().enumerate() {
            let r = sync_folder(session, &mut self.state, &cfg, folder, false, store, pipeline, clock).await?;
            if i == 0 {
                self.last_uid_next = r.uid_next;
            }
            report.add(&r);
        }
        if let Some(sent) = &cfg.sent_folder {
            let sent = folder::resolve_folder(session, sent).await?;
            let r = sync_folder(session, &mut self.state, &cfg, &sent, true, store, pipeline, clock).await?;
            report.add(&r);
        }
        Ok(report)
    }

    /// Whether the server offers IDLE and the config wants it.
    pub fn can_idle(&self) -> bool {
        self.cfg.idle && self.idle_supported && self.session.is_some()
    }

    /// Waits in IDLE (RFC 2177) on the first folder until the server reports a change or `max`
    /// passes. Returns whether something happened. IDLE is always ended before `max`, which the
    /// caller keeps under the 29 minutes servers allow.
    pub async fn idle(&mut self, max: std::time::Duration) -> Result<bool, MailboxError> {
        let folder = self.cfg.folders[0].clone();
        let Some(mut session) = self.session.take() else {
            return Ok(false);
        };
        let selected = connect::timed("SELECT", session.select(&folder)).await??;
        // Mail that arrived after the pass selected the folder shows only here, not in IDLE.
        if selected.uid_next.is_some() && selected.uid_next != self.last_uid_next {
            self.session = Some(session);
            return Ok(true);
        }
        let mut handle = session.idle();
        connect::timed("IDLE", handle.init()).await??;
        let news = {
            // A silent connection (no keepalive for 5 minutes) is a dead one: Dovecot says
            // "Still here" every 2 minutes, Exchange and Gmail more rarely than that.
            let (wait, _interrupt) = handle
                .wait_with_timeout(std::time::Duration::from_secs(5 * 60).min(max + std::time::Duration::from_secs(1)));
            match tokio::time::timeout(max, wait).await {
                Err(_) => false,
                Ok(Ok(async_imap::extensions::idle::IdleResponse::NewData(_))) => true,
                Ok(Ok(_)) => false,
                Ok(Err(e)) => return Err(e.into()),
            }
        };
        let session = connect::timed("DONE", handle.done()).await??;
        self.session = Some(session);
        Ok(news)
    }

    /// Logs out politely.
    pub async fn close(mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = connect::timed("LOGOUT", s.logout()).await;
        }
    }
}

/// Moves the message with `message_id` out of `from` (a name or special-use flag) into `to`.
/// False when it is not there (someone moved it already).
pub async fn move_by_message_id(
    cfg: &MailboxConfig,
    data_dir: &std::path::Path,
    from: &str,
    message_id: &str,
    to: &str,
) -> Result<bool, MailboxError> {
    let mut client = MailboxClient::new(cfg.clone(), data_dir);
    client.session().await?;
    let session = client.session.as_mut().expect("connected above");
    let from = folder::resolve_folder(session, from).await?;
    connect::timed("SELECT", session.select(&from)).await??;
    // Quoted for the IMAP string; Message-IDs hold no quotes or backslashes in practice.
    let wanted = message_id.replace(['"', '\\'], "");
    let found = connect::timed("UID SEARCH", session.uid_search(format!("HEADER Message-ID \"{wanted}\""))).await??;
    if found.is_empty() {
        client.close().await;
        return Ok(false);
    }
    let set: Vec<String> = found.iter().map(|u| u.to_string()).collect();
    folder::move_messages(session, &mut client.state, cfg, &set.join(","), to, true).await?;
    client.close().await;
    Ok(true)
}

/// One pass: connect, read every folder and the sent folder, log out.
pub async fn sync_mailbox(
    cfg: &MailboxConfig,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
) -> Result<MailboxReport, MailboxError> {
    let mut client = MailboxClient::new(cfg.clone(), &pipeline.config.database.data_dir);
    let report = client.pass(store, pipeline, clock).await?;
    client.close().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::MailboxError;

    #[test]
    fn what_a_person_must_fix_is_permanent_and_what_passes_is_not() {
        for permanent in [
            MailboxError::Login("support@example.test".into()),
            MailboxError::Secret("cannot read /etc/ticketd/support.pass".into()),
            MailboxError::Tls("certificate not valid for mail.example.test".into()),
            MailboxError::Folder { folder: "Processed".into(), message: "cannot create: NO".into() },
        ] {
            assert!(permanent.is_permanent(), "{permanent}");
        }
        for passing in [MailboxError::Connect("connection refused".into()), MailboxError::Timeout("FETCH")] {
            assert!(!passing.is_permanent(), "{passing}");
        }
    }
}
