//! The raw shape of config.toml, exactly as serde reads it, with its defaults: what
//! `Config::load` validates into [`super::Config`]. Defaults live here so that
//! docs/configuration.md reads off them.
//!
//! Nothing here is used outside the config module but the public enums, re-exported by it.

use serde::Deserialize;
use toml::Spanned;

use super::{Address, AddressGlob, ByteSize, HumanDuration, NamedAddress, Security};

// ---------------------------------------------------------------------------------------------
// Raw structs: exactly the file's shape. Defaults live here so that docs/configuration.md reads off them.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) database: RawDatabase,
    #[serde(default)]
    pub(super) tickets: RawTickets,
    pub(super) smtp: RawSmtp,
    #[serde(default)]
    pub(super) staff: RawStaff,
    #[serde(default)]
    pub(super) acks: RawAcks,
    #[serde(default)]
    pub(super) spam: RawSpam,
    #[serde(default)]
    pub(super) http: RawHttp,
    #[serde(default)]
    pub(super) log: RawLog,
    #[serde(default)]
    pub(super) digest: RawDigest,
    #[serde(default)]
    pub(super) alerts: RawAlerts,
    #[serde(default, rename = "mailbox")]
    pub(super) mailboxes: Vec<Spanned<RawMailbox>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub(super) path: String,
    #[serde(default)]
    pub(super) data_dir: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTickets {
    pub(super) tag_prefix: Spanned<String>,
    pub(super) rules_dir: String,
    pub(super) reopen_window: HumanDuration,
    pub(super) max_age: HumanDuration,
    pub(super) join_same_domain: bool,
    pub(super) public_domains: Vec<String>,
    pub(super) ack_forwarded: bool,
}

impl Default for RawTickets {
    fn default() -> Self {
        RawTickets {
            tag_prefix: Spanned::new(0..0, "Ticket".into()),
            rules_dir: "rules".into(),
            reopen_window: HumanDuration(std::time::Duration::from_secs(30 * 86_400)),
            max_age: HumanDuration(std::time::Duration::from_secs(86_400)),
            join_same_domain: true,
            public_domains: Vec::new(),
            ack_forwarded: true,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOauth2 {
    #[serde(default)]
    pub(super) token_command: String,
    #[serde(default)]
    pub(super) token_url: String,
    #[serde(default)]
    pub(super) grant: Option<String>,
    #[serde(default)]
    pub(super) client_id: String,
    #[serde(default)]
    pub(super) client_secret_file: String,
    #[serde(default)]
    pub(super) scope: String,
    #[serde(default)]
    pub(super) refresh_token_file: String,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpAuth {
    #[default]
    None,
    Password,
    Xoauth2,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub(super) host: String,
    #[serde(default = "default_smtp_port")]
    pub(super) port: u16,
    #[serde(default = "security_none")]
    pub(super) security: Security,
    #[serde(default)]
    pub(super) ca_file: String,
    #[serde(default = "smtp_auth_none")]
    pub(super) auth: Spanned<SmtpAuth>,
    #[serde(default)]
    pub(super) username: String,
    #[serde(default)]
    pub(super) password_file: String,
    #[serde(default)]
    pub(super) password_env: String,
    pub(super) oauth2: Option<RawOauth2>,
    pub(super) from: NamedAddress,
    #[serde(default = "default_smtp_timeout")]
    pub(super) timeout: HumanDuration,
    #[serde(default = "default_smtp_connections")]
    pub(super) connections: u32,
}

pub(super) fn default_smtp_connections() -> u32 {
    4
}

pub(super) fn default_smtp_port() -> u16 {
    25
}
pub(super) fn smtp_auth_none() -> Spanned<SmtpAuth> {
    Spanned::new(0..0, SmtpAuth::None)
}
pub(super) fn security_none() -> Security {
    Security::None
}
pub(super) fn default_smtp_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}

/// A source that proves a staff From is genuine (docs/message-handling.md "Staff mail"). Each proves something
/// different; the admin lists the ones that hold on their mail system.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum TrustSource {
    /// Read from a mailbox's `sent_folder`: only someone with the mailbox's password put it there.
    SentFolder,
    /// A passing DKIM or DMARC result aligned with From, written by the company's own MTA.
    Dkim,
    /// `X-MS-Exchange-Organization-AuthAs: Internal` (Exchange strips it from outside mail).
    Exchange,
    /// Postfix's `(Authenticated sender: USER)` in the Received header of the company's MTA.
    Submission,
    /// The From header alone: closed mail systems only.
    FromHeader,
}

impl TrustSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustSource::SentFolder => "sent-folder",
            TrustSource::Dkim => "dkim",
            TrustSource::Exchange => "exchange",
            TrustSource::Submission => "submission",
            TrustSource::FromHeader => "from-header",
        }
    }
}

pub(super) fn default_trust() -> Spanned<toml::Value> {
    Spanned::new(
        0..0,
        toml::Value::Array(vec![toml::Value::String("sent-folder".into()), toml::Value::String("dkim".into())]),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStaff {
    #[serde(default)]
    pub(super) addresses: Vec<Address>,
    #[serde(default)]
    pub(super) domains: Vec<String>,
    /// A list of [`TrustSource`] names; the old single word is refused with advice.
    #[serde(default = "default_trust")]
    pub(super) trust: Spanned<toml::Value>,
    #[serde(default)]
    pub(super) authserv_id: String,
    #[serde(default)]
    pub(super) mta_hosts: Vec<String>,
}

impl Default for RawStaff {
    fn default() -> Self {
        RawStaff {
            addresses: Vec::new(),
            domains: Vec::new(),
            trust: default_trust(),
            authserv_id: String::new(),
            mta_hosts: Vec::new(),
        }
    }
}

/// The `[staff] trust` list, with the old single-word form refused by a message that says what
/// to write instead.
pub(super) fn trust_sources(value: &toml::Value) -> Result<Vec<TrustSource>, String> {
    const LIST: &str = "\"sent-folder\", \"dkim\", \"exchange\", \"submission\", \"from-header\"";
    let items = match value {
        toml::Value::Array(items) => items,
        toml::Value::String(word) => {
            let instead = match word.as_str() {
                "from-header" => "trust = [\"from-header\"]".to_string(),
                _ => "trust = [\"sent-folder\", \"dkim\"] (add \"submission\" for Postfix with \
                      smtpd_sasl_authenticated_header, \"exchange\" for Exchange / Microsoft 365)"
                    .to_string(),
            };
            return Err(format!(
                "[staff] trust = {word:?} is the old single-word form; trust is now a list of the sources \
                 in force: write {instead}"
            ));
        }
        other => return Err(format!("[staff] trust must be a list of {LIST}, not {other}")),
    };
    let mut sources = Vec::new();
    for item in items {
        let name = item.as_str().ok_or_else(|| format!("[staff] trust: {item} is not one of {LIST}"))?;
        let source = TrustSource::deserialize(toml::Value::String(name.into()))
            .map_err(|_| format!("[staff] trust: unknown source {name:?}; the sources are {LIST}"))?;
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    Ok(sources)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAcks {
    #[serde(default = "default_per_sender")]
    pub(super) per_sender_per_hour: u32,
    #[serde(default = "default_per_hour")]
    pub(super) per_hour: u32,
    #[serde(default = "default_true")]
    pub(super) loop_breaker: bool,
}
pub(super) fn default_true() -> bool {
    true
}
impl Default for RawAcks {
    fn default() -> Self {
        RawAcks { per_sender_per_hour: default_per_sender(), per_hour: default_per_hour(), loop_breaker: true }
    }
}
pub(super) fn default_per_sender() -> u32 {
    3
}
pub(super) fn default_per_hour() -> u32 {
    1000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSpam {
    pub(super) score_threshold: f64,
    pub(super) spamd: String,
    pub(super) rspamd_url: String,
    pub(super) timeout: HumanDuration,
    pub(super) allow: Vec<AddressGlob>,
    pub(super) block: Vec<AddressGlob>,
}
impl Default for RawSpam {
    fn default() -> Self {
        RawSpam {
            score_threshold: 5.0,
            spamd: String::new(),
            rspamd_url: String::new(),
            timeout: HumanDuration(std::time::Duration::from_secs(10)),
            allow: vec![],
            block: vec![],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    #[serde(default)]
    pub(super) listen: String,
    #[serde(default = "default_http_connections")]
    pub(super) max_connections: Spanned<u32>,
    #[serde(default = "no_public_url")]
    pub(super) public_url: Spanned<String>,
}

pub(super) fn no_public_url() -> Spanned<String> {
    Spanned::new(0..0, String::new())
}

pub(super) fn default_http_connections() -> Spanned<u32> {
    Spanned::new(0..0, 64)
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp { listen: String::new(), max_connections: default_http_connections(), public_url: no_public_url() }
    }
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Auto,
    Text,
    Json,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLog {
    pub(super) format: LogFormat,
    pub(super) level: Spanned<String>,
}
impl Default for RawLog {
    fn default() -> Self {
        RawLog { format: LogFormat::Auto, level: Spanned::new(0..0, "info".into()) }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDigest {
    pub(super) to: Vec<Address>,
    pub(super) every: Spanned<String>,
    pub(super) timezone: Spanned<String>,
}
impl Default for RawDigest {
    fn default() -> Self {
        RawDigest {
            to: vec![],
            every: Spanned::new(0..0, "weekdays 08:00".into()),
            timezone: Spanned::new(0..0, "Europe/Budapest".into()),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    #[serde(default)]
    pub(super) to: Vec<Address>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum InitialSync {
    /// Mail received within `max_age` is processed; older mail is left alone.
    #[default]
    Recent,
    /// Older mail is imported silently as tickets (no ack, notification or SLA).
    All,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    pub(super) name: String,
    pub(super) address: Address,
    pub(super) host: String,
    #[serde(default = "default_imap_port")]
    pub(super) port: u16,
    #[serde(default = "security_tls")]
    pub(super) security: Security,
    #[serde(default)]
    pub(super) ca_file: String,
    pub(super) username: String,
    #[serde(default)]
    pub(super) password_file: String,
    #[serde(default)]
    pub(super) password_env: String,
    pub(super) oauth2: Option<RawOauth2>,
    #[serde(default = "default_folders")]
    pub(super) folders: Vec<String>,
    #[serde(default)]
    pub(super) sent_folder: String,
    #[serde(default = "default_junk")]
    pub(super) junk_folder: String,
    #[serde(default = "default_after")]
    pub(super) after: Spanned<String>,
    pub(super) department: String,
    #[serde(default = "yes")]
    pub(super) idle: bool,
    #[serde(default = "default_poll")]
    pub(super) poll_interval: HumanDuration,
    #[serde(default)]
    pub(super) initial_sync: InitialSync,
    #[serde(default = "default_max_size")]
    pub(super) max_message_size: ByteSize,
}

pub(super) fn default_imap_port() -> u16 {
    993
}
pub(super) fn security_tls() -> Security {
    Security::Tls
}
pub(super) fn default_folders() -> Vec<String> {
    vec!["INBOX".into()]
}
pub(super) fn default_junk() -> String {
    "\\Junk".into()
}
pub(super) fn default_after() -> Spanned<String> {
    Spanned::new(0..0, "move:Processed".into())
}
pub(super) fn yes() -> bool {
    true
}
pub(super) fn default_poll() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(60))
}
pub(super) fn default_max_size() -> ByteSize {
    ByteSize(25 * 1024 * 1024)
}
