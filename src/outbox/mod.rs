//! Outbox: delivers the mail queued in the `outbox` table over SMTP (lettre), retrying with
//! capped, jittered, doubling backoff until the server accepts it. A permanent refusal (5xx) is
//! recorded on the ticket and the mail is not tried again.
//!
//! The outbox never composes mail and never decides whether mail is sent: rows are written by the
//! pipeline in the transaction that caused them. It must never delete a row it has not
//! delivered or recorded as refused.

pub mod compose;
pub mod queue;

use std::time::Duration;

use futures::StreamExt;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials as SmtpCredentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::clock::Clock;
use crate::config::{Credentials, Security, SmtpConfig};
use crate::store::{self, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("SMTP {host}:{port}: {message}")]
    Setup { host: String, port: u16, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The result of one delivery attempt.
#[derive(Debug)]
enum Attempt {
    Sent,
    /// Worth trying again later.
    Temporary(String),
    /// The server refused for good.
    Permanent(String),
}

/// An SMTP client for the configured relay.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// For a plain relay without authentication (Postfix beside ticketd): our own connections
    /// with TCP_NODELAY, which lettre's pool does not set — without it every mail waits for
    /// the relay's delayed ACK (about 40 ms) between its body and the final dot.
    plain: Option<PlainRelay>,
    timeout: Duration,
    label: String,
    connections: usize,
}

impl Mailer {
    /// Builds the transport; must be called inside a tokio runtime. Secrets are read now.
    pub fn new(cfg: &SmtpConfig, data_dir: &std::path::Path) -> Result<Mailer, OutboxError> {
        let setup = |message: String| OutboxError::Setup { host: cfg.host.clone(), port: cfg.port, message };
        let pool = lettre::transport::smtp::PoolConfig::new().max_size(cfg.connections);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .timeout(Some(cfg.timeout.0))
            .pool_config(pool);
        if cfg.security != Security::None {
            let mut tls = TlsParameters::builder(cfg.host.clone());
            if let Some(ca) = &cfg.ca_file {
                let pem = std::fs::read(ca).map_err(|e| setup(format!("cannot read ca_file {}: {e}", ca.display())))?;
                let cert =
                    Certificate::from_pem(&pem).map_err(|e| setup(format!("bad ca_file {}: {e}", ca.display())))?;
                tls = tls.add_root_certificate(cert);
            }
            let params = tls.build_rustls().map_err(|e| setup(e.to_string()))?;
            builder = builder.tls(match cfg.security {
                Security::Tls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        }
        match &cfg.credentials {
            Credentials::None => {}
            Credentials::Password { username, password } => {
                let secret = password.read().map_err(|e| setup(e.to_string()))?;
                builder = builder
                    .credentials(SmtpCredentials::new(username.clone(), secret.expose().to_string()))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            Credentials::Xoauth2 { username, token } => {
                let provider = crate::oauth::TokenProvider::new("smtp", token.clone(), data_dir);
                let secret = tokio::task::block_in_place(|| provider.token(false)).map_err(|e| setup(e.to_string()))?;
                builder = builder
                    .credentials(SmtpCredentials::new(username.clone(), secret.expose().to_string()))
                    .authentication(vec![Mechanism::Xoauth2]);
            }
        }
        let plain = (cfg.security == Security::None && matches!(cfg.credentials, Credentials::None)).then(|| {
            PlainRelay { address: format!("{}:{}", cfg.host, cfg.port), idle: tokio::sync::Mutex::new(Vec::new()) }
        });
        Ok(Mailer {
            plain,
            transport: builder.build(),
            timeout: cfg.timeout.0,
            label: format!("{}:{}", cfg.host, cfg.port),
            connections: cfg.connections as usize,
        })
    }

    async fn send(&self, mail_from: &str, recipients: &[String], raw: &[u8]) -> Attempt {
        let from = match mail_from.parse() {
            Ok(a) => Some(a),
            Err(_) if mail_from.is_empty() => None,
            Err(e) => return Attempt::Permanent(format!("bad sender {mail_from:?}: {e}")),
        };
        let mut to = Vec::new();
        for r in recipients {
            match r.parse() {
                Ok(a) => to.push(a),
                Err(e) => return Attempt::Permanent(format!("bad recipient {r:?}: {e}")),
            }
        }
        let envelope = match Envelope::new(from, to) {
            Ok(e) => e,
            Err(e) => return Attempt::Permanent(format!("bad envelope: {e}")),
        };
        // lettre's own timeout bounds only the connect; a silent server must not block us.
        let budget = self.timeout * 4;
        if let Some(plain) = &self.plain {
            return match tokio::time::timeout(budget, plain.send(&envelope, raw, self.timeout)).await {
                Err(_) => Attempt::Temporary(format!("no answer from {} within {}s", self.label, budget.as_secs())),
                Ok(Ok(())) => Attempt::Sent,
                Ok(Err(e)) if e.is_permanent() => Attempt::Permanent(e.to_string()),
                Ok(Err(e)) => Attempt::Temporary(e.to_string()),
            };
        }
        match tokio::time::timeout(budget, self.transport.send_raw(&envelope, raw)).await {
            Err(_) => Attempt::Temporary(format!("no answer from {} within {}s", self.label, budget.as_secs())),
            Ok(Ok(_)) => Attempt::Sent,
            // A refused login (530/534/535/538) says nothing about this mail: the credentials
            // are wrong until an admin fixes them, so the mail waits instead of failing.
            Ok(Err(e)) if e.status().is_some_and(|code| code.to_string().starts_with("53")) => {
                tracing::error!(relay = %self.label, error = %e, "the SMTP relay refused ticketd's login");
                Attempt::Temporary(format!("login refused by {}: {e}", self.label))
            }
            Ok(Err(e)) if e.is_permanent() => Attempt::Permanent(e.to_string()),
            Ok(Err(e)) => Attempt::Temporary(e.to_string()),
        }
    }
}

/// Connections to a plain relay, kept open between mails (at most `[smtp] connections` are in
/// use at once: the outbox never runs more sends than that).
struct PlainRelay {
    address: String,
    idle: tokio::sync::Mutex<Vec<lettre::transport::smtp::client::AsyncSmtpConnection>>,
}

#[derive(Debug)]
enum PlainError {
    Connect(std::io::Error),
    Smtp(lettre::transport::smtp::Error),
}

impl PlainError {
    fn is_permanent(&self) -> bool {
        matches!(self, PlainError::Smtp(e) if e.is_permanent())
    }
}

impl std::fmt::Display for PlainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlainError::Connect(e) => write!(f, "cannot connect: {e}"),
            PlainError::Smtp(e) => write!(f, "{e}"),
        }
    }
}

impl PlainRelay {
    async fn send(&self, envelope: &Envelope, raw: &[u8], timeout: Duration) -> Result<(), PlainError> {
        use lettre::transport::smtp::client::AsyncSmtpConnection;
        use lettre::transport::smtp::extension::ClientId;
        let reused = self.idle.lock().await.pop().filter(|c| !c.has_broken());
        if let Some(mut conn) = reused {
            match conn.send(envelope, raw).await {
                Ok(_) => {
                    self.idle.lock().await.push(conn);
                    return Ok(());
                }
                // The server answered: its answer stands, and the session is still good.
                Err(e) if e.is_permanent() || e.is_transient() => {
                    if !conn.has_broken() {
                        self.idle.lock().await.push(conn);
                    }
                    return Err(PlainError::Smtp(e));
                }
                // The idle connection went stale (the relay closed it): a fresh one below.
                Err(_) => {}
            }
        }
        let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&self.address))
            .await
            .map_err(|_| PlainError::Connect(std::io::ErrorKind::TimedOut.into()))?
            .map_err(PlainError::Connect)?;
        stream.set_nodelay(true).map_err(PlainError::Connect)?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default())
            .await
            .map_err(PlainError::Smtp)?;
        let sent = conn.send(envelope, raw).await;
        if !conn.has_broken() {
            self.idle.lock().await.push(conn);
        }
        sent.map(|_| ()).map_err(PlainError::Smtp)
    }
}

/// Seconds to wait before attempt `attempts + 1`: 30 s doubling to at most an hour, with up to
/// 20% jitter so that a backlog does not hit a recovering server all at once.
pub fn backoff_secs(attempts: i64, seed: i64) -> i64 {
    let base = 30i64.saturating_mul(1i64 << attempts.clamp(0, 7)).min(3600);
    let jitter = (seed.wrapping_mul(2_654_435_761).rem_euclid(1000)) * base / 5000;
    base + jitter
}

/// How long a claimed row is left to the process that claimed it before another may try:
/// longer than one SMTP transaction may take, short enough that a crash delays little.
const CLAIM_LEASE_SECS: i64 = 60;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub deferred: usize,
    pub refused: usize,
}

/// Delivers every outbox row that is due now, over up to `[smtp] connections` connections at
/// once. Each result is committed as soon as it is known, so a crash after the server accepted
/// a mail can at worst send that one mail again.
pub async fn deliver_due(store: &mut Store, mailer: &Mailer, clock: &dyn Clock) -> Result<DeliveryReport, OutboxError> {
    let mut report = DeliveryReport::default();
    loop {
        let now = clock.now().timestamp();
        let batch = store::outbox::due(store.conn(), now, 50)?;
        if batch.is_empty() {
            return Ok(report);
        }
        let mut progressed = false;
        let mut claimed = Vec::with_capacity(batch.len());
        for mail in batch {
            if store::outbox::claim(store.conn(), mail.id, clock.now().timestamp(), CLAIM_LEASE_SECS)? {
                claimed.push(mail);
            }
        }
        // Mail of one ticket goes out in the order it was queued: each ticket's mails travel
        // together, one after the other, while different tickets share the connections.
        let mut by_ticket: Vec<Vec<store::outbox::Outgoing>> = Vec::new();
        for mail in claimed {
            match by_ticket.iter_mut().find(|g| g[0].ticket_id.is_some() && g[0].ticket_id == mail.ticket_id) {
                Some(group) => group.push(mail),
                None => by_ticket.push(vec![mail]),
            }
        }
        for group in &mut by_ticket {
            group.sort_by_key(|m| m.id);
        }
        let (results_tx, mut results) = tokio::sync::mpsc::unbounded_channel();
        let sending = futures::stream::iter(by_ticket)
            .map(move |group| {
                let results_tx = results_tx.clone();
                async move {
                    for mail in group {
                        let attempt = mailer.send(&mail.mail_from, &mail.recipients, &mail.raw).await;
                        let stop = !matches!(attempt, Attempt::Sent);
                        let _ = results_tx.send((mail, attempt));
                        if stop {
                            // A later mail of this ticket must not overtake one that failed.
                            break;
                        }
                    }
                }
            })
            .buffer_unordered(mailer.connections.max(1))
            .collect::<()>();
        tokio::pin!(sending);
        let mut sending_done = false;
        loop {
            tokio::select! {
                biased;
                Some((mail, attempt)) = results.recv() => {
                    progressed |= record(store, mail, attempt, clock.now().timestamp(), &mut report)?;
                }
                _ = &mut sending, if !sending_done => sending_done = true,
            }
            if sending_done && results.is_empty() {
                break;
            }
        }
        if !progressed {
            return Ok(report);
        }
    }
}

/// Commits the result of one attempt; true when the row is settled (sent or refused).
fn record(
    store: &mut Store,
    mail: store::outbox::Outgoing,
    attempt: Attempt,
    now: i64,
    report: &mut DeliveryReport,
) -> Result<bool, OutboxError> {
    match attempt {
        Attempt::Sent => {
            store::outbox::mark_sent(store.conn(), mail.id, now)?;
            crate::metrics::global().delivery(&mail.kind, "sent");
            tracing::info!(outbox = mail.id, ticket = ?mail.ticket_id, kind = %mail.kind, "mail delivered");
            report.sent += 1;
            Ok(true)
        }
        Attempt::Temporary(error) => {
            let next = now + backoff_secs(mail.attempts, mail.id);
            store::outbox::mark_retry(store.conn(), mail.id, next, &error)?;
            crate::metrics::global().delivery(&mail.kind, "deferred");
            tracing::warn!(outbox = mail.id, attempts = mail.attempts + 1, %error, "delivery deferred");
            report.deferred += 1;
            Ok(false)
        }
        Attempt::Permanent(error) => {
            let tx = store.conn().unchecked_transaction().map_err(StoreError::from)?;
            store::outbox::mark_failed(&tx, mail.id, &error)?;
            crate::metrics::global().delivery(&mail.kind, "refused");
            if let Some(ticket) = mail.ticket_id {
                let detail = format!("{} to {} refused: {error}", mail.kind, mail.recipients.join(", "));
                store::add_event(&tx, ticket, now, "delivery_failed", None, &detail)?;
            }
            tx.commit().map_err(StoreError::from)?;
            tracing::error!(outbox = mail.id, %error, "delivery refused permanently");
            report.refused += 1;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert!((30..=36).contains(&backoff_secs(0, 1)));
        assert!((60..=72).contains(&backoff_secs(1, 1)));
        assert!(backoff_secs(20, 3) <= 3600 + 720);
        assert!(backoff_secs(20, 3) >= 3600);
    }
}
