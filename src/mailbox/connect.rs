//! Connecting to an IMAP server: TCP, TLS (implicit or STARTTLS, certificates verified against
//! the web PKI plus an optional private CA), the greeting, and login with a password or XOAUTH2.
//!
//! Every step runs under a time limit: a server that accepts the connection and then stays
//! silent must never hang a mailbox. Passwords and tokens are never logged.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::{Client, Session};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::MailboxError;
use crate::config::{Credentials, MailboxConfig, Security};
use crate::oauth::TokenProvider;

/// How long one IMAP command (or the connect) may take before the connection is given up.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A plain or TLS-wrapped connection.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

pub type ImapSession = Session<ImapStream>;

impl AsyncRead for ImapStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Runs a future under [`COMMAND_TIMEOUT`], naming the step when it expires.
pub async fn timed<T>(what: &'static str, fut: impl std::future::Future<Output = T>) -> Result<T, MailboxError> {
    tokio::time::timeout(COMMAND_TIMEOUT, fut).await.map_err(|_| MailboxError::Timeout(what))
}

fn tls_connector(cfg: &MailboxConfig) -> Result<TlsConnector, MailboxError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &cfg.ca_file {
        let pem =
            std::fs::read(ca).map_err(|e| MailboxError::Tls(format!("cannot read ca_file {}: {e}", ca.display())))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| MailboxError::Tls(format!("bad ca_file {}: {e}", ca.display())))?;
            roots.add(cert).map_err(|e| MailboxError::Tls(format!("bad ca_file {}: {e}", ca.display())))?;
        }
    }
    // Name the provider: with two in the dependency graph the default would panic.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| MailboxError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn wrap_tls(cfg: &MailboxConfig, tcp: TcpStream) -> Result<ImapStream, MailboxError> {
    let connector = tls_connector(cfg)?;
    let host = cfg.host.trim_matches(['[', ']']).to_string();
    let name = ServerName::try_from(host).map_err(|e| MailboxError::Tls(format!("bad host name: {e}")))?;
    let tls = timed("TLS handshake", connector.connect(name, tcp)).await?.map_err(|e| {
        // rustls reports a certificate it will not accept as invalid data; anything else
        // is the connection failing under the handshake.
        if e.kind() == std::io::ErrorKind::InvalidData {
            MailboxError::Tls(e.to_string())
        } else {
            MailboxError::Connect(format!("TLS handshake: {e}"))
        }
    })?;
    Ok(ImapStream::Tls(Box::new(tls)))
}

struct XOauth2 {
    user: String,
    token: String,
}

impl async_imap::Authenticator for &XOauth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

/// Connects, secures, reads the greeting and logs in.
pub async fn connect(cfg: &MailboxConfig, tokens: Option<&Arc<TokenProvider>>) -> Result<ImapSession, MailboxError> {
    let addr = (cfg.host.as_str(), cfg.port);
    let tcp = timed("connect", TcpStream::connect(addr))
        .await?
        .map_err(|e| MailboxError::Connect(format!("{}:{}: {e}", cfg.host, cfg.port)))?;
    tcp.set_nodelay(true).ok();
    let stream = match cfg.security {
        Security::Tls => wrap_tls(cfg, tcp).await?,
        Security::None | Security::Starttls => ImapStream::Plain(tcp),
    };
    let mut client = Client::new(stream);
    // The greeting must be read before anything else is sent.
    let greeting =
        timed("greeting", client.read_response()).await?.map_err(|e| MailboxError::Connect(e.to_string()))?;
    if greeting.is_none() {
        return Err(MailboxError::Connect("the server closed the connection before its greeting".into()));
    }
    if cfg.security == Security::Starttls {
        timed("STARTTLS", client.run_command_and_check_ok("STARTTLS", None))
            .await?
            .map_err(|e| MailboxError::Tls(format!("STARTTLS refused: {e}")))?;
        let ImapStream::Plain(tcp) = client.into_inner() else {
            return Err(MailboxError::Tls("STARTTLS on a TLS connection".into()));
        };
        client = Client::new(wrap_tls(cfg, tcp).await?);
    }
    match &cfg.credentials {
        Credentials::Password { username, password } => {
            let secret = password.read().map_err(|e| MailboxError::Secret(e.to_string()))?;
            timed("LOGIN", client.login(username, secret.expose())).await?.map_err(|(e, _)| {
                // A connection lost during the login is no refusal.
                if super::connection_failed(&e) {
                    MailboxError::Imap(e)
                } else {
                    MailboxError::Login(format!("{username}: {e}"))
                }
            })
        }
        Credentials::Xoauth2 { username, .. } => {
            let tokens = tokens.ok_or_else(|| MailboxError::Secret("no token provider for XOAUTH2".into()))?;
            let mut refreshed = false;
            loop {
                let provider = tokens.clone();
                let token = tokio::task::spawn_blocking(move || provider.token(refreshed))
                    .await
                    .map_err(|e| MailboxError::Secret(e.to_string()))??;
                let auth = XOauth2 { user: username.clone(), token: token.expose().to_string() };
                match timed("AUTHENTICATE XOAUTH2", client.authenticate("XOAUTH2", &auth)).await? {
                    Ok(session) => return Ok(session),
                    // A cached token may have been revoked or expired early: one fresh try.
                    Err((e, back)) if !refreshed => {
                        tracing::info!(mailbox = %cfg.name, error = %e, "token refused; fetching a new one");
                        client = back;
                        refreshed = true;
                    }
                    Err((e, _)) => return Err(MailboxError::Login(format!("{username} (XOAUTH2): {e}"))),
                }
            }
        }
        Credentials::None => Err(MailboxError::Login("no credentials configured".into())),
    }
}
