//! `config.toml` (docs/configuration.md): where things are — the database, the mailboxes, the SMTP relay, who is
//! staff. Loading happens in two steps: the file is deserialized into raw structs that refuse
//! unknown keys (serde reports the line), then validated into the typed [`Config`] that the rest
//! of ticketd trusts without checking again.
//!
//! This module never opens network connections and never logs secret values; secrets are read
//! from files, the environment or a command when a connection needs them (see [`secret`]).

mod domains;
mod raw;
pub mod secret;
pub mod values;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

pub use domains::PUBLIC_MAIL_DOMAINS;
use raw::*;
pub use raw::{InitialSync, LogFormat, SmtpAuth, TrustSource};
pub use secret::SecretSource;
pub use values::{parse_minutes, Address, AddressGlob, ByteSize, HumanDuration, NamedAddress, Schedule, Security};

/// A configuration mistake, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line, when the mistake can be placed.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line number of a byte offset.
pub fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Turns a TOML/serde error into a one-line cause with the line it points at.
pub fn toml_error(file: &Path, source: &str, err: &toml::de::Error) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line: err.span().map(|s| line_of(source, s.start)),
        message: err.message().trim().replace('\n', " "),
    }
}

// ---------------------------------------------------------------------------------------------
// Validated configuration.

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    pub database: DatabaseConfig,
    pub tickets: TicketsConfig,
    pub smtp: SmtpConfig,
    pub staff: StaffConfig,
    pub acks: AcksConfig,
    pub spam: SpamConfig,
    pub http_listen: Option<String>,
    /// Connections the HTTP listener serves at once (`[http] max_connections`).
    pub http_max_connections: usize,
    /// Where customers reach the listener's rating links (`[http] public_url`; empty: none).
    pub http_public_url: String,
    pub log: LogConfig,
    pub digest: DigestConfig,
    /// Admins told by mail about problems ticketd cannot fix itself (a failing OAuth refresh).
    pub alerts_to: Vec<Address>,
    pub mailboxes: Vec<MailboxConfig>,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub path: PathBuf,
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct TicketsConfig {
    pub tag_prefix: String,
    pub rules_dir: PathBuf,
    pub reopen_window: HumanDuration,
    pub max_age: HumanDuration,
    /// A colleague at the requester's domain may join a ticket by its tag (never at a public
    /// mail provider).
    pub join_same_domain: bool,
    /// Added to [`PUBLIC_MAIL_DOMAINS`].
    pub public_domains: Vec<String>,
    /// A customer's mail forwarded to a shared mailbox by staff: acknowledge the customer.
    pub ack_forwarded: bool,
}

impl TicketsConfig {
    /// Whether a domain is a public mail provider's, shipped or configured.
    pub fn is_public_domain(&self, domain: &str) -> bool {
        let domain = domain.trim().to_ascii_lowercase();
        PUBLIC_MAIL_DOMAINS.contains(&domain.as_str()) || self.public_domains.contains(&domain)
    }
}

#[derive(Debug, Clone)]
pub enum Credentials {
    None,
    Password { username: String, password: SecretSource },
    Xoauth2 { username: String, token: OauthConfig },
}

#[derive(Debug, Clone)]
pub enum OauthConfig {
    /// A command printing an access token on standard output.
    Command(String),
    /// The client-credentials grant (Microsoft 365 app-only access): nothing expires but the
    /// client secret itself.
    ClientCredentials { token_url: String, client_id: String, client_secret: SecretSource, scope: String },
    /// The refresh-token grant; a rotated refresh token is saved in data_dir and used from then on.
    RefreshToken {
        token_url: String,
        client_id: String,
        client_secret: Option<SecretSource>,
        scope: String,
        refresh_token_file: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub ca_file: Option<PathBuf>,
    pub credentials: Credentials,
    pub from: NamedAddress,
    pub timeout: HumanDuration,
    /// SMTP connections the outbox delivers over at once.
    pub connections: u32,
}

#[derive(Debug, Clone)]
pub struct StaffConfig {
    pub addresses: Vec<Address>,
    pub domains: Vec<String>,
    /// The trust sources in force (docs/message-handling.md).
    pub trust: Vec<TrustSource>,
    /// Whose Authentication-Results count (`dkim`); empty = none do.
    pub authserv_id: String,
    /// Host names of the company's own receiving MTAs (Received "by"), lower case; defaults to
    /// the authserv_id host.
    pub mta_hosts: Vec<String>,
}

impl StaffConfig {
    pub fn trusts(&self, source: TrustSource) -> bool {
        self.trust.contains(&source)
    }

    /// What check-config should tell the admin about the trust sources.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.trusts(TrustSource::FromHeader) {
            out.push(
                "[staff] trust lists \"from-header\": anyone on the internet can write a staff From; \
                 use it only on a closed mail system"
                    .to_string(),
            );
        }
        if self.trusts(TrustSource::Dkim) && self.authserv_id.is_empty() {
            out.push(
                "[staff] trust lists \"dkim\" but authserv_id is empty: no Authentication-Results count \
                 until it names your MTA's authserv-id"
                    .to_string(),
            );
        }
        if self.trusts(TrustSource::Submission) && self.mta_hosts.is_empty() {
            out.push(
                "[staff] trust lists \"submission\" but neither mta_hosts nor authserv_id names your MTA".to_string(),
            );
        }
        out
    }

    pub fn is_staff(&self, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        if self.addresses.iter().any(|a| a.as_str() == address) {
            return true;
        }
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        !domain.is_empty() && self.domains.iter().any(|d| d == domain)
    }
}

#[derive(Debug, Clone)]
pub struct AcksConfig {
    pub per_sender_per_hour: u32,
    /// Acknowledgements in all per hour; 0 = no cap.
    pub per_hour: u32,
    /// Withhold acknowledgements from senders that look like a mail loop (`crate::loops`).
    pub loop_breaker: bool,
}

#[derive(Debug, Clone)]
pub struct SpamConfig {
    pub score_threshold: f64,
    pub spamd: Option<String>,
    pub rspamd_url: Option<String>,
    pub timeout: HumanDuration,
    pub allow: Vec<AddressGlob>,
    pub block: Vec<AddressGlob>,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub to: Vec<Address>,
    pub every: Schedule,
    pub timezone: chrono_tz::Tz,
}

/// What happens on the server to a message once its ticket is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAction {
    Move(String),
    Flag,
    None,
}

#[derive(Debug, Clone)]
pub struct MailboxConfig {
    pub name: String,
    /// Line of its `[[mailbox]]` table in config.toml, for messages.
    pub line: Option<usize>,
    pub address: Address,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub ca_file: Option<PathBuf>,
    pub credentials: Credentials,
    pub folders: Vec<String>,
    pub sent_folder: Option<String>,
    pub junk_folder: String,
    pub after: AfterAction,
    pub department: String,
    pub idle: bool,
    pub poll_interval: HumanDuration,
    pub initial_sync: InitialSync,
    pub max_message_size: ByteSize,
}

impl Config {
    /// Reads and validates a config file. Relative paths resolve against its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(path, &source)
    }

    /// Validates `source` as if it had been read from `path`.
    pub fn parse(path: &Path, source: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(source).map_err(|e| toml_error(path, source, &e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let at = |span: std::ops::Range<usize>, message: String| ConfigError {
            file: path.to_path_buf(),
            line: (span != (0..0)).then(|| line_of(source, span.start)),
            message,
        };
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let optional_path = |p: &str| (!p.is_empty()).then(|| resolve(p));

        let db_path = resolve(&raw.database.path);
        let data_dir = if raw.database.data_dir.is_empty() {
            db_path.parent().map(|p| p.join("data")).unwrap_or_else(|| PathBuf::from("data"))
        } else {
            resolve(&raw.database.data_dir)
        };

        let tag_prefix = raw.tickets.tag_prefix.get_ref().clone();
        if tag_prefix.is_empty() || !tag_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(at(
                raw.tickets.tag_prefix.span(),
                format!("tag_prefix {tag_prefix:?} must be letters, digits, '-' or '_'"),
            ));
        }

        let smtp_credentials = credentials(
            *raw.smtp.auth.get_ref(),
            &raw.smtp.username,
            &raw.smtp.password_file,
            &raw.smtp.password_env,
            raw.smtp.oauth2.as_ref(),
            &resolve,
        )
        .map_err(|m| at(0..0, format!("[smtp]: {m}")))?;

        let staff_trust = trust_sources(raw.staff.trust.get_ref()).map_err(|m| at(raw.staff.trust.span(), m))?;

        let public_url = raw.http.public_url.get_ref().trim();
        if !public_url.is_empty() && !public_url.starts_with("https://") && !public_url.starts_with("http://") {
            return Err(at(
                raw.http.public_url.span(),
                format!("[http] public_url {public_url:?} must be an http:// or https:// address"),
            ));
        }
        if !public_url.is_empty() && raw.http.listen.is_empty() {
            return Err(at(
                raw.http.public_url.span(),
                "[http] public_url needs [http] listen: the rating links are served there".into(),
            ));
        }
        if *raw.http.max_connections.get_ref() == 0 {
            return Err(at(raw.http.max_connections.span(), "[http] max_connections must be at least 1".into()));
        }
        if raw.smtp.auth.get_ref() != &SmtpAuth::None
            && raw.smtp.security == Security::None
            && !is_loopback(&raw.smtp.host)
        {
            return Err(at(
                raw.smtp.auth.span(),
                format!(
                    "[smtp] security = \"none\" would send the {} in clear text to {:?}; use security = \"starttls\" \
                     or \"tls\" (\"none\" with auth is only allowed for a loopback host)",
                    if *raw.smtp.auth.get_ref() == SmtpAuth::Password { "password" } else { "OAuth2 token" },
                    raw.smtp.host
                ),
            ));
        }

        let level = raw.log.level.get_ref().to_ascii_lowercase();
        if !["error", "warn", "info", "debug", "trace"].contains(&level.as_str()) {
            return Err(at(raw.log.level.span(), format!("unknown log level {level:?}")));
        }
        let every: Schedule = raw.digest.every.get_ref().parse().map_err(|m| at(raw.digest.every.span(), m))?;
        let timezone: chrono_tz::Tz = raw.digest.timezone.get_ref().parse().map_err(|_| {
            at(raw.digest.timezone.span(), format!("unknown time zone {:?}", raw.digest.timezone.get_ref()))
        })?;

        let mut names = HashSet::new();
        let mut mailboxes = Vec::new();
        for spanned in raw.mailboxes {
            let span = spanned.span();
            let m = spanned.into_inner();
            let err = |message: String| at(span.clone(), format!("mailbox {:?}: {message}", m.name));
            if m.name.is_empty() {
                return Err(at(span.clone(), "mailbox name must not be empty".into()));
            }
            if !names.insert(m.name.clone()) {
                return Err(err("defined twice".into()));
            }
            if m.security == Security::None && !is_loopback(&m.host) {
                return Err(err(format!(
                    "security = \"none\" sends the password in clear text; it is only allowed for a loopback host, not {:?}",
                    m.host
                )));
            }
            if m.folders.is_empty() {
                return Err(err("folders must name at least one folder".into()));
            }
            let auth = if m.oauth2.is_some() { SmtpAuth::Xoauth2 } else { SmtpAuth::Password };
            let creds = credentials(auth, &m.username, &m.password_file, &m.password_env, m.oauth2.as_ref(), &resolve)
                .map_err(&err)?;
            let after_text = m.after.get_ref().trim();
            let after = match after_text {
                "flag" => AfterAction::Flag,
                "none" => AfterAction::None,
                other => match other.strip_prefix("move:") {
                    Some(folder) if !folder.trim().is_empty() => AfterAction::Move(folder.trim().to_string()),
                    _ => {
                        return Err(at(
                            m.after.span(),
                            format!("after = {other:?}: write \"move:FOLDER\", \"flag\" or \"none\""),
                        ))
                    }
                },
            };
            let moved_to = match &after {
                AfterAction::Move(target) => Some(target.as_str()),
                _ => None,
            };
            for watched in &m.folders {
                if Some(watched.as_str()) == moved_to || *watched == m.junk_folder {
                    return Err(err(format!(
                        "folder {watched:?} is both read and a target of ticketd's moves: mail would be read again forever"
                    )));
                }
            }
            if !m.sent_folder.is_empty() && !staff_trust.contains(&TrustSource::SentFolder) {
                return Err(err(format!(
                    "sent_folder = {:?} is read only when [staff] trust lists \"sent-folder\"",
                    m.sent_folder
                )));
            }
            if m.poll_interval.as_secs() == 0 {
                return Err(err("poll_interval must be at least 1s".into()));
            }
            mailboxes.push(MailboxConfig {
                line: Some(line_of(source, span.start)),
                ca_file: optional_path(&m.ca_file),
                credentials: creds,
                sent_folder: (!m.sent_folder.is_empty()).then_some(m.sent_folder),
                after,
                name: m.name,
                address: m.address,
                host: m.host,
                port: m.port,
                security: m.security,
                folders: m.folders,
                junk_folder: m.junk_folder,
                department: m.department,
                idle: m.idle,
                poll_interval: m.poll_interval,
                initial_sync: m.initial_sync,
                max_message_size: m.max_message_size,
            });
        }
        if mailboxes.is_empty() {
            return Err(at(0..0, "no [[mailbox]] is configured".into()));
        }

        Ok(Config {
            path: path.to_path_buf(),
            database: DatabaseConfig { path: db_path, data_dir },
            tickets: TicketsConfig {
                tag_prefix,
                rules_dir: resolve(&raw.tickets.rules_dir),
                reopen_window: raw.tickets.reopen_window,
                max_age: raw.tickets.max_age,
                join_same_domain: raw.tickets.join_same_domain,
                public_domains: raw.tickets.public_domains.iter().map(|d| d.trim().to_ascii_lowercase()).collect(),
                ack_forwarded: raw.tickets.ack_forwarded,
            },
            smtp: SmtpConfig {
                host: raw.smtp.host,
                port: raw.smtp.port,
                security: raw.smtp.security,
                ca_file: optional_path(&raw.smtp.ca_file),
                credentials: smtp_credentials,
                from: raw.smtp.from,
                timeout: raw.smtp.timeout,
                connections: raw.smtp.connections.clamp(1, 32),
            },
            staff: StaffConfig {
                addresses: raw.staff.addresses,
                domains: raw.staff.domains.iter().map(|d| d.trim().to_ascii_lowercase()).collect(),
                trust: staff_trust,
                mta_hosts: if raw.staff.mta_hosts.is_empty() {
                    let host = raw.staff.authserv_id.trim().to_ascii_lowercase();
                    if host.is_empty() {
                        Vec::new()
                    } else {
                        vec![host]
                    }
                } else {
                    raw.staff.mta_hosts.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).collect()
                },
                authserv_id: raw.staff.authserv_id.trim().to_string(),
            },
            acks: AcksConfig {
                per_sender_per_hour: raw.acks.per_sender_per_hour,
                per_hour: raw.acks.per_hour,
                loop_breaker: raw.acks.loop_breaker,
            },
            spam: SpamConfig {
                score_threshold: raw.spam.score_threshold,
                spamd: (!raw.spam.spamd.is_empty()).then_some(raw.spam.spamd),
                rspamd_url: (!raw.spam.rspamd_url.is_empty()).then_some(raw.spam.rspamd_url),
                timeout: raw.spam.timeout,
                allow: raw.spam.allow,
                block: raw.spam.block,
            },
            http_listen: (!raw.http.listen.is_empty()).then_some(raw.http.listen),
            http_max_connections: *raw.http.max_connections.get_ref() as usize,
            http_public_url: raw.http.public_url.get_ref().trim().trim_end_matches('/').to_string(),
            log: LogConfig { format: raw.log.format, level },
            digest: DigestConfig { to: raw.digest.to, every, timezone },
            alerts_to: raw.alerts.to,
            mailboxes,
        })
    }

    /// The addresses ticketd sends from or receives at: mail from them is its own (docs/message-handling.md).
    pub fn own_addresses(&self) -> Vec<Address> {
        let mut all: Vec<Address> = self.mailboxes.iter().map(|m| m.address.clone()).collect();
        all.push(self.smtp.from.address.clone());
        all.sort();
        all.dedup();
        all
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn credentials(
    auth: SmtpAuth,
    username: &str,
    password_file: &str,
    password_env: &str,
    oauth2: Option<&RawOauth2>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Credentials, String> {
    match auth {
        SmtpAuth::None => Ok(Credentials::None),
        SmtpAuth::Password => {
            if username.is_empty() {
                return Err("username is required for password authentication".into());
            }
            let password = match (password_file.is_empty(), password_env.is_empty()) {
                (false, true) => SecretSource::File(resolve(password_file)),
                (true, false) => SecretSource::Env(password_env.to_string()),
                (true, true) => {
                    return Err("set password_file or password_env (passwords are never written in config.toml)".into())
                }
                (false, false) => return Err("set only one of password_file and password_env".into()),
            };
            Ok(Credentials::Password { username: username.to_string(), password })
        }
        SmtpAuth::Xoauth2 => {
            let o = oauth2.ok_or("auth = \"xoauth2\" needs an oauth2 table")?;
            if username.is_empty() {
                return Err("username is required for XOAUTH2".into());
            }
            let token = if !o.token_command.is_empty() {
                OauthConfig::Command(o.token_command.clone())
            } else if !o.token_url.is_empty() {
                if o.client_id.is_empty() {
                    return Err("oauth2.client_id is required with token_url".into());
                }
                let secret =
                    (!o.client_secret_file.is_empty()).then(|| SecretSource::File(resolve(&o.client_secret_file)));
                match o.grant.as_deref().unwrap_or("client_credentials") {
                    "client_credentials" => OauthConfig::ClientCredentials {
                        token_url: o.token_url.clone(),
                        client_id: o.client_id.clone(),
                        client_secret: secret
                            .ok_or("oauth2.client_secret_file is required for grant = \"client_credentials\"")?,
                        scope: o.scope.clone(),
                    },
                    "refresh_token" => {
                        if o.refresh_token_file.is_empty() {
                            return Err("oauth2.refresh_token_file is required for grant = \"refresh_token\"".into());
                        }
                        OauthConfig::RefreshToken {
                            token_url: o.token_url.clone(),
                            client_id: o.client_id.clone(),
                            client_secret: secret,
                            scope: o.scope.clone(),
                            refresh_token_file: resolve(&o.refresh_token_file),
                        }
                    }
                    other => {
                        return Err(format!(
                            "oauth2.grant = {other:?}: write \"client_credentials\" or \"refresh_token\""
                        ))
                    }
                }
            } else {
                return Err("oauth2 needs token_command or token_url".into());
            };
            Ok(Credentials::Xoauth2 { username: username.to_string(), token })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[database]
path = "/tmp/t.db"

[smtp]
host = "127.0.0.1"
from = "Support <support@example.test>"

[[mailbox]]
name = "support"
address = "support@example.test"
host = "127.0.0.1"
security = "none"
port = 143
username = "support@example.test"
password_env = "PW"
department = "support"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/ticketd/config.toml"), text)
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.tickets.tag_prefix, "Ticket");
        assert_eq!(c.tickets.max_age.as_secs(), 86_400);
        assert_eq!(c.mailboxes[0].after, AfterAction::Move("Processed".into()));
        assert_eq!(c.tickets.rules_dir, Path::new("/etc/ticketd/rules"));
        assert_eq!(c.database.data_dir, Path::new("/tmp/data"));
    }

    #[test]
    fn staff_trust_is_a_list_and_the_old_word_is_refused_with_advice() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.staff.trust, vec![TrustSource::SentFolder, TrustSource::Dkim]);
        let text = GOOD.replace("[smtp]\n", "[staff]\ntrust = \"authenticated\"\n\n[smtp]\n");
        let e = parse(&text).unwrap_err();
        assert!(e.line.is_some(), "{e}");
        assert!(
            e.message.contains("old single-word form") && e.message.contains("trust = [\"sent-folder\", \"dkim\"]"),
            "{e}"
        );
        let text = GOOD.replace("[smtp]\n", "[staff]\ntrust = [\"dkim\", \"carrier-pigeon\"]\n\n[smtp]\n");
        assert!(parse(&text).unwrap_err().message.contains("carrier-pigeon"));
        let text = GOOD.replace(
            "[smtp]\n",
            "[staff]\ntrust = [\"submission\", \"from-header\"]\nauthserv_id = \"MX.Example.test\"\n\n[smtp]\n",
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.staff.mta_hosts, vec!["mx.example.test".to_string()], "defaults to the authserv_id host");
        assert!(c.staff.warnings().iter().any(|w| w.contains("from-header")));
        // A sent folder is read only when its trust source is listed.
        let text = GOOD
            .replace("[smtp]\n", "[staff]\ntrust = [\"dkim\"]\n\n[smtp]\n")
            .replace("department = \"support\"", "department = \"support\"\nsent_folder = \"Sent\"");
        assert!(parse(&text).unwrap_err().message.contains("sent-folder"));
    }

    #[test]
    fn public_domains_prove_nothing() {
        let text = GOOD.replace("[smtp]\n", "[tickets]\npublic_domains = [\"Mail.Example\"]\n\n[smtp]\n");
        let c = parse(&text).unwrap();
        for d in ["gmail.com", "seznam.cz", "freemail.hu", "mail.example"] {
            assert!(c.tickets.is_public_domain(d), "{d}");
        }
        assert!(!c.tickets.is_public_domain("customer.test"));
    }

    #[test]
    fn unknown_key_is_refused_with_line() {
        let text = GOOD.replace("[smtp]\n", "[smtp]\nhots = \"x\"\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("hots"), "{e}");
    }

    #[test]
    fn missing_required_key_is_refused() {
        let text = GOOD.replace("department = \"support\"\n", "");
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("department"), "{e}");
        assert!(e.line.is_some());
    }

    #[test]
    fn bad_values_are_refused_with_line() {
        let text = GOOD.replace("port = 143", "port = 143\npoll_interval = \"soon\"");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(15), "{e}");
        let text = GOOD.replace("security = \"none\"", "security = \"ssl\"");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(13), "{e}");
        let text = GOOD.replace("host = \"127.0.0.1\"\nsecurity", "host = \"mail.example.test\"\nsecurity");
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("loopback"), "{e}");
        let text = GOOD.replace("password_env = \"PW\"", "password = \"hunter2\"");
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("password"), "{e}");
        assert!(!e.to_string().contains("hunter2") || e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn after_values() {
        let text = GOOD.replace("department = \"support\"", "department = \"support\"\nafter = \"delete\"");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(18), "{e}");
        let text = GOOD.replace("department = \"support\"", "department = \"support\"\nafter = \"flag\"");
        assert_eq!(parse(&text).unwrap().mailboxes[0].after, AfterAction::Flag);
    }

    #[test]
    fn smtp_credentials_in_clear_text_go_only_to_a_loopback_host() {
        let remote = |auth: &str, security: &str| {
            GOOD.replace(
                "[smtp]\nhost = \"127.0.0.1\"\n",
                &format!(
                    "[smtp]\nhost = \"relay.example.test\"\nsecurity = \"{security}\"\n{auth}\
                     username = \"u\"\npassword_env = \"SMTP_PW\"\n"
                ),
            )
        };
        let e = parse(&remote("auth = \"password\"\n", "none")).unwrap_err();
        assert!(e.message.contains("clear text") && e.message.contains("relay.example.test"), "{e}");
        assert!(e.message.contains("starttls"), "{e}");
        assert_eq!(e.line, Some(8), "{e}");
        assert!(parse(&remote("auth = \"password\"\n", "starttls")).is_ok());
        assert!(parse(&remote("auth = \"password\"\n", "tls")).is_ok());
        // No credentials: nothing secret is sent.
        assert!(parse(&remote("", "none")).is_ok());
        // A relay on this machine may take a password over plain SMTP.
        let local = GOOD.replace(
            "[smtp]\nhost = \"127.0.0.1\"\n",
            "[smtp]\nhost = \"127.0.0.1\"\nauth = \"password\"\nusername = \"u\"\npassword_env = \"P\"\n",
        );
        assert!(parse(&local).is_ok());
    }

    #[test]
    fn http_max_connections() {
        assert_eq!(parse(GOOD).unwrap().http_max_connections, 64);
        let text = format!("{GOOD}\n[http]\nlisten = \"127.0.0.1:9187\"\nmax_connections = 8\n");
        assert_eq!(parse(&text).unwrap().http_max_connections, 8);
        let e = parse(&text.replace("= 8", "= 0")).unwrap_err();
        assert!(e.message.contains("max_connections"), "{e}");
        assert!(e.line.is_some(), "{e}");
    }
}
