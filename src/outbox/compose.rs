//! Compose: builds the mails ticketd sends (acknowledgements for now) as complete RFC 5322
//! messages, ready to be written to the outbox. Bodies come from templates under
//! `rules/templates/` (a department's own folder first, then the customer's language, then the
//! department's language, then English), with built-in copies as the last resort.
//!
//! Every mail carries ticketd's own Message-ID, `Auto-Submitted: auto-replied` (RFC 3834 §5),
//! an X-Loop marker and X-Ticket-ID, so that no mail loop can start. Text from customers (subject,
//! name) is cleaned of control characters before it reaches a header.

use std::path::Path;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;

use crate::config::NamedAddress;
use crate::filter::{LOOP_MARKER_PREFIX, OWN_MESSAGE_ID_PREFIX};

/// Built-in templates, the same files that ship in `rules/templates/`.
const BUILTIN: &[(&str, &str)] = &[
    ("ack.txt", include_str!("../../rules/templates/ack.txt")),
    ("ack.hu.txt", include_str!("../../rules/templates/ack.hu.txt")),
    ("ack.de.txt", include_str!("../../rules/templates/ack.de.txt")),
    ("ack.cs.txt", include_str!("../../rules/templates/ack.cs.txt")),
    ("ack.pl.txt", include_str!("../../rules/templates/ack.pl.txt")),
    ("ack.he.txt", include_str!("../../rules/templates/ack.he.txt")),
    ("notification.txt", include_str!("../../rules/templates/notification.txt")),
    ("notification.hu.txt", include_str!("../../rules/templates/notification.hu.txt")),
    ("assignment.txt", include_str!("../../rules/templates/assignment.txt")),
    ("warning.txt", include_str!("../../rules/templates/warning.txt")),
    ("command_error.txt", include_str!("../../rules/templates/command_error.txt")),
    ("contract.txt", include_str!("../../rules/templates/contract.txt")),
    ("contract.hu.txt", include_str!("../../rules/templates/contract.hu.txt")),
    ("contract.de.txt", include_str!("../../rules/templates/contract.de.txt")),
    ("contract.cs.txt", include_str!("../../rules/templates/contract.cs.txt")),
    ("contract.pl.txt", include_str!("../../rules/templates/contract.pl.txt")),
    ("contract.he.txt", include_str!("../../rules/templates/contract.he.txt")),
    ("contract_staff.txt", include_str!("../../rules/templates/contract_staff.txt")),
    ("escalation.txt", include_str!("../../rules/templates/escalation.txt")),
    ("delay.txt", include_str!("../../rules/templates/delay.txt")),
    ("delay.hu.txt", include_str!("../../rules/templates/delay.hu.txt")),
    ("delay.de.txt", include_str!("../../rules/templates/delay.de.txt")),
    ("delay.cs.txt", include_str!("../../rules/templates/delay.cs.txt")),
    ("delay.pl.txt", include_str!("../../rules/templates/delay.pl.txt")),
    ("delay.he.txt", include_str!("../../rules/templates/delay.he.txt")),
    ("followup.txt", include_str!("../../rules/templates/followup.txt")),
    ("followup.hu.txt", include_str!("../../rules/templates/followup.hu.txt")),
    ("followup.de.txt", include_str!("../../rules/templates/followup.de.txt")),
    ("followup.cs.txt", include_str!("../../rules/templates/followup.cs.txt")),
    ("followup.pl.txt", include_str!("../../rules/templates/followup.pl.txt")),
    ("followup.he.txt", include_str!("../../rules/templates/followup.he.txt")),
    ("snooze.txt", include_str!("../../rules/templates/snooze.txt")),
    ("snooze.hu.txt", include_str!("../../rules/templates/snooze.hu.txt")),
    ("snooze.de.txt", include_str!("../../rules/templates/snooze.de.txt")),
    ("snooze.cs.txt", include_str!("../../rules/templates/snooze.cs.txt")),
    ("snooze.pl.txt", include_str!("../../rules/templates/snooze.pl.txt")),
    ("snooze.he.txt", include_str!("../../rules/templates/snooze.he.txt")),
    ("delay-warning.txt", include_str!("../../rules/templates/delay-warning.txt")),
    ("delay-warning.hu.txt", include_str!("../../rules/templates/delay-warning.hu.txt")),
    ("delay-warning.de.txt", include_str!("../../rules/templates/delay-warning.de.txt")),
    ("delay-warning.cs.txt", include_str!("../../rules/templates/delay-warning.cs.txt")),
    ("delay-warning.pl.txt", include_str!("../../rules/templates/delay-warning.pl.txt")),
    ("delay-warning.he.txt", include_str!("../../rules/templates/delay-warning.he.txt")),
    ("reminder.txt", include_str!("../../rules/templates/reminder.txt")),
    ("reminder.hu.txt", include_str!("../../rules/templates/reminder.hu.txt")),
    ("reminder.de.txt", include_str!("../../rules/templates/reminder.de.txt")),
    ("reminder.cs.txt", include_str!("../../rules/templates/reminder.cs.txt")),
    ("reminder.pl.txt", include_str!("../../rules/templates/reminder.pl.txt")),
    ("reminder.he.txt", include_str!("../../rules/templates/reminder.he.txt")),
    ("closed.txt", include_str!("../../rules/templates/closed.txt")),
    ("closed.hu.txt", include_str!("../../rules/templates/closed.hu.txt")),
    ("closed.de.txt", include_str!("../../rules/templates/closed.de.txt")),
    ("closed.cs.txt", include_str!("../../rules/templates/closed.cs.txt")),
    ("closed.pl.txt", include_str!("../../rules/templates/closed.pl.txt")),
    ("closed.he.txt", include_str!("../../rules/templates/closed.he.txt")),
    ("eta.txt", include_str!("../../rules/templates/eta.txt")),
    ("eta.hu.txt", include_str!("../../rules/templates/eta.hu.txt")),
    ("eta.de.txt", include_str!("../../rules/templates/eta.de.txt")),
    ("eta.cs.txt", include_str!("../../rules/templates/eta.cs.txt")),
    ("eta.pl.txt", include_str!("../../rules/templates/eta.pl.txt")),
    ("eta.he.txt", include_str!("../../rules/templates/eta.he.txt")),
];

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("template {name}: {source}")]
    Template { name: String, source: minijinja::Error },
    #[error("cannot build mail: {0}")]
    Build(String),
}

/// A composed mail: its Message-ID (without brackets) and its bytes.
#[derive(Clone, Debug)]
pub struct Composed {
    pub message_id: String,
    pub raw: Vec<u8>,
    /// The subject and body as written, for the copy stored on the ticket.
    pub subject: String,
    pub text: String,
}

/// What an acknowledgement needs to say.
pub struct AckFacts<'a> {
    pub ticket_id: i64,
    pub tag: &'a str,
    pub subject: &'a str,
    pub customer_name: Option<&'a str>,
    pub customer_address: &'a str,
    pub department: &'a str,
    pub languages: &'a [&'a str],
    pub from: &'a NamedAddress,
    /// Message-ID of the customer's message and its References, for threading on their side.
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    pub now: DateTime<Utc>,
    /// When a person will answer (the first-response due time), in the department's zone.
    pub reply_by: Option<(DateTime<Utc>, chrono_tz::Tz)>,
    /// When the resolution is due (the SLA's resolution target), for templates that name it.
    pub resolve_by: Option<(DateTime<Utc>, chrono_tz::Tz)>,
}

/// A moment as people write it in `language`, in `zone`, with the zone's abbreviation: the
/// promise in an acknowledgement ("Monday 23 November 2026, 09:30 (CET)").
pub fn local_time(at: DateTime<Utc>, zone: chrono_tz::Tz, language: &str) -> String {
    use chrono::Locale;
    let (locale, pattern) = match language {
        "hu" => (Locale::hu_HU, "%Y. %B %-d. (%A) %H:%M (%Z)"),
        "de" => (Locale::de_DE, "%A, %-d. %B %Y, %H:%M Uhr (%Z)"),
        // Czech and Polish month names change with their case; figures and the day in
        // brackets read right in any sentence.
        "cs" => (Locale::cs_CZ, "%-d. %-m. %Y v %H:%M (%A, %Z)"),
        "pl" => (Locale::pl_PL, "%-d.%m.%Y, godz. %H:%M (%A, %Z)"),
        "he" => (Locale::he_IL, "יום %A, %-d.%-m.%Y, בשעה %H:%M (%Z)"),
        _ => (Locale::en_GB, "%A %-d %B %Y, %H:%M (%Z)"),
    };
    let local = at.with_timezone(&zone);
    // Weekday names are lower case in Czech (glibc's data capitalises them), upper case in
    // English and German.
    let day = local.format_localized("%A", locale).to_string();
    let day = if matches!(language, "en" | "de") { day } else { day.to_lowercase() };
    local.format_localized(&pattern.replace("%A", &day), locale).to_string()
}

/// A date for people, in their language: "Monday 21 December 2026".
pub fn local_date(at: DateTime<Utc>, zone: chrono_tz::Tz, language: &str) -> String {
    use chrono::Locale;
    let (locale, pattern) = match language {
        "hu" => (Locale::hu_HU, "%Y. %B %-d. (%A)"),
        "de" => (Locale::de_DE, "%A, %-d. %B %Y"),
        "cs" => (Locale::cs_CZ, "%-d. %-m. %Y (%A)"),
        "pl" => (Locale::pl_PL, "%-d.%m.%Y (%A)"),
        "he" => (Locale::he_IL, "יום %A, %-d.%-m.%Y"),
        _ => (Locale::en_GB, "%A %-d %B %Y"),
    };
    let local = at.with_timezone(&zone);
    let day = local.format_localized("%A", locale).to_string();
    let day = if matches!(language, "en" | "de") { day } else { day.to_lowercase() };
    local.format_localized(&pattern.replace("%A", &day), locale).to_string()
}

/// Makes a Message-ID that ticketd recognises as its own: `ticketd.<ticket>.<unique>@<domain>`.
pub fn new_message_id(ticket: i64, from: &NamedAddress, now: DateTime<Utc>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let unique = crate::parse::sha256_hex(
        format!(
            "{}:{}:{}:{}",
            std::process::id(),
            n,
            now.timestamp_nanos_opt().unwrap_or(0),
            Utc::now().timestamp_nanos_opt().unwrap_or(0)
        )
        .as_bytes(),
    );
    format!("{OWN_MESSAGE_ID_PREFIX}{ticket}.{}@{}", &unique[..16], from.address.domain())
}

/// Removes what could break a header: control characters (CR, LF, NUL, ...) become spaces.
pub fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn acknowledgement(templates: &Path, facts: &AckFacts<'_>) -> Result<Composed, ComposeError> {
    let (name, source) = find_template(templates, facts.department, "ack", facts.languages);
    let language = language_of(&name);
    let reply_by = facts.reply_by.map(|(at, zone)| local_time(at, zone, language));
    let resolve_by = facts.resolve_by.map(|(at, zone)| local_time(at, zone, language));
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    let body = env
        .render_str(
            &source,
            minijinja::context! {
                ticket_id => facts.ticket_id,
                tag => facts.tag,
                subject => header_safe(facts.subject),
                customer_name => facts.customer_name.map(header_safe),
                customer_address => facts.customer_address,
                department => facts.department,
                reply_by => reply_by,
                resolve_by => resolve_by,
            },
        )
        .map_err(|source| ComposeError::Template { name: name.clone(), source })?;
    let subject = header_safe(&format!("{} {}", facts.tag, facts.subject));
    let to = Mailbox::new(
        facts.customer_name.map(header_safe),
        facts.customer_address.parse().map_err(|e| ComposeError::Build(format!("recipient: {e}")))?,
    );
    let threading = Threading { in_reply_to: facts.in_reply_to, references: facts.references };
    build(facts.from, &[to], &subject, &body, facts.ticket_id, &threading, language, "auto-replied", facts.now)
}

/// The language of a template file name (`ack.hu.txt` → "hu"; `ack.txt` → "en").
fn language_of(name: &str) -> &str {
    name.split('.').nth(1).filter(|l| l.len() == 2).unwrap_or("en")
}

/// Which template file a mail of `kind` would be written from, and its language: what
/// `rules test` reports for the acknowledgement.
pub fn template_choice(templates: &Path, department: &str, kind: &str, languages: &[&str]) -> (String, String) {
    let (name, _) = find_template(templates, department, kind, languages);
    let language = language_of(&name).to_string();
    (name, language)
}

/// A mail about a ticket made from a template of `kind` (notification, assignment, warning,
/// escalation, delay), other than the acknowledgement.
pub struct TemplateMail<'a> {
    pub kind: &'a str,
    pub department: &'a str,
    /// Template languages in order of preference (English is always the last resort).
    pub languages: &'a [&'a str],
    /// The template's variables; `language` is added, set to the template's language.
    pub context: minijinja::Value,
    /// Used when the template does not begin with a `Subject:` line.
    pub default_subject: String,
    pub from: &'a NamedAddress,
    pub to: &'a [String],
    pub ticket: i64,
    /// "auto-generated" for mail on a schedule, "auto-replied" for answers.
    pub auto_submitted: &'a str,
    pub threading: Threading<'a>,
    pub now: DateTime<Utc>,
}

/// In-Reply-To and References of a mail, so that it threads in the recipient's client.
#[derive(Clone, Copy, Default)]
pub struct Threading<'a> {
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
}

/// Renders a template mail. A template may begin with `Subject: ...` and a blank line; the
/// rendered subject is cleaned like any header text.
pub fn from_template(templates: &Path, m: &TemplateMail<'_>) -> Result<Composed, ComposeError> {
    let (name, source) = find_template(templates, m.department, m.kind, m.languages);
    let language = language_of(&name);
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    let context = minijinja::context! { language => language, ..m.context.clone() };
    let rendered =
        env.render_str(&source, context).map_err(|source| ComposeError::Template { name: name.clone(), source })?;
    let (subject, body) = match rendered.strip_prefix("Subject:") {
        Some(rest) => {
            let (line, body) = rest.split_once('\n').unwrap_or((rest, ""));
            (line.trim().to_string(), body.trim_start_matches(['\r', '\n']).to_string())
        }
        None => (m.default_subject.clone(), rendered),
    };
    let mut to = Vec::new();
    for address in m.to {
        to.push(Mailbox::new(
            None,
            address.parse().map_err(|e| ComposeError::Build(format!("recipient {address}: {e}")))?,
        ));
    }
    build(m.from, &to, &header_safe(&subject), &body, m.ticket, &m.threading, language, m.auto_submitted, m.now)
}

/// A mail to the admins about a problem ticketd cannot fix itself. Its Message-ID carries
/// `key`, so that repeats can be recognised.
pub fn alert(
    from: &NamedAddress,
    to: &[String],
    subject: &str,
    body: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Composed, ComposeError> {
    let unique = &crate::parse::sha256_hex(
        format!("{key}{}{}", now.timestamp_nanos_opt().unwrap_or(0), std::process::id()).as_bytes(),
    )[..12];
    let message_id = format!("{OWN_MESSAGE_ID_PREFIX}alert.{unique}.{key}@{}", from.address.domain());
    let mut builder = headed(from, &message_id, &header_safe(&format!("[ticketd] {subject}")), "auto-generated", now)?;
    for t in to {
        builder = builder.to(t.parse().map_err(|e| ComposeError::Build(format!("recipient {t}: {e}")))?);
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Composed { message_id, raw: message.formatted(), subject: subject.to_string(), text: body.to_string() })
}

/// The managers' digest: plain text with an HTML alternative (a chart says some of it faster).
pub fn digest(
    from: &NamedAddress,
    to: &[String],
    subject: &str,
    text: &str,
    html: &str,
    now: DateTime<Utc>,
) -> Result<Composed, ComposeError> {
    let unique = &crate::parse::sha256_hex(
        format!("digest{}{}", now.timestamp_nanos_opt().unwrap_or(0), std::process::id()).as_bytes(),
    )[..16];
    let message_id = format!("{OWN_MESSAGE_ID_PREFIX}digest.{unique}@{}", from.address.domain());
    let mut builder = headed(from, &message_id, subject, "auto-generated", now)?;
    for t in to {
        builder = builder.to(t.parse().map_err(|e| ComposeError::Build(format!("recipient {t}: {e}")))?);
    }
    let message = builder
        .multipart(lettre::message::MultiPart::alternative_plain_html(text.to_string(), html.to_string()))
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Composed { message_id, raw: message.formatted(), subject: subject.to_string(), text: text.to_string() })
}

/// The headers every mail of ticketd's carries: sender, subject, date, its own Message-ID and the
/// loop guards — Auto-Submitted (RFC 3834 §5), the X-Loop marker, and X-Auto-Response-Suppress so
/// that Exchange sends no out-of-office reply to it.
fn headed(
    from: &NamedAddress,
    message_id: &str,
    subject: &str,
    auto_submitted: &str,
    now: DateTime<Utc>,
) -> Result<lettre::message::MessageBuilder, ComposeError> {
    let sender = Mailbox::new(
        from.name.clone(),
        from.address.as_str().parse().map_err(|e| ComposeError::Build(format!("sender: {e}")))?,
    );
    Ok(lettre::Message::builder()
        .from(sender)
        .subject(subject)
        .date(now.into())
        .message_id(Some(format!("<{message_id}>")))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), auto_submitted.into()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Loop"),
            format!("{LOOP_MARKER_PREFIX} {}", from.address),
        ))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".into())))
}

#[allow(clippy::too_many_arguments)]
fn build(
    from: &NamedAddress,
    to: &[Mailbox],
    subject: &str,
    body: &str,
    ticket: i64,
    threading: &Threading<'_>,
    language: &str,
    auto_submitted: &str,
    now: DateTime<Utc>,
) -> Result<Composed, ComposeError> {
    let message_id = new_message_id(ticket, from, now);
    let mut builder = headed(from, &message_id, subject, auto_submitted, now)?;
    for recipient in to {
        builder = builder.to(recipient.clone());
    }
    let (in_reply_to, references) = (threading.in_reply_to, threading.references);
    let mut builder = builder
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Ticket-ID"), ticket.to_string()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Content-Language"), language.into()));
    if let Some(parent) = in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
        let mut chain: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
        let parent = format!("<{parent}>");
        if !chain.contains(&parent) {
            chain.push(parent);
        }
        builder = builder.references(chain.join(" "));
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Composed { message_id, raw: message.formatted(), subject: subject.to_string(), text: body.to_string() })
}

/// Template files read within this long are not read again: a burst of mail (a backlog, a
/// scheduler pass) reads each file once, and an edit is live within seconds.
const TEMPLATE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// A template file's text, or None when it does not exist.
fn read_template(path: &Path) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::Instant;
    type Cache = HashMap<std::path::PathBuf, (Instant, Option<String>)>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(c) = cache.lock() {
        if let Some((read, text)) = c.get(path) {
            if read.elapsed() < TEMPLATE_CACHE_TTL {
                return text.clone();
            }
        }
    }
    let text = std::fs::read_to_string(path).ok();
    if let Ok(mut c) = cache.lock() {
        c.insert(path.to_path_buf(), (Instant::now(), text.clone()));
    }
    text
}

/// The template for `kind`: department folder, then the shared folder, then built-ins, each in
/// the order of `languages` and finally without a language.
fn find_template(dir: &Path, department: &str, kind: &str, languages: &[&str]) -> (String, String) {
    // In order of the languages (the customer's, then the department's), then English; English
    // lives in `{kind}.txt` (or `{kind}.en.txt`). A language is looked for in the department's
    // folder, the templates folder and the built-in set before the next language is tried, so
    // that an English-writing customer of a Hungarian department is answered in English.
    let mut names: Vec<String> = Vec::new();
    for l in languages.iter().copied().chain(["en"]) {
        let mut candidates = vec![format!("{kind}.{l}.txt")];
        if l == "en" {
            candidates.push(format!("{kind}.txt"));
        }
        for c in candidates {
            if !names.contains(&c) {
                names.push(c);
            }
        }
    }
    for name in &names {
        for folder in [dir.join(department), dir.to_path_buf()] {
            if let Some(text) = read_template(&folder.join(name)) {
                return (name.clone(), text);
            }
        }
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| n == name) {
            return (name.clone(), text.to_string());
        }
    }
    ("ack.txt".into(), BUILTIN[0].1.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(from: &'a NamedAddress, languages: &'a [&'a str], subject: &'a str) -> AckFacts<'a> {
        AckFacts {
            ticket_id: 12,
            tag: "[Ticket#12]",
            subject,
            customer_name: Some("Anna\r\nBcc: victim@evil.test"),
            customer_address: "anna@customer.test",
            department: "support",
            languages,
            from,
            in_reply_to: Some("orig@customer.test"),
            references: &[],
            now: Utc::now(),
            reply_by: None,
            resolve_by: None,
        }
    }

    #[test]
    fn every_built_in_template_compiles_and_renders_a_subject() {
        let mut env = minijinja::Environment::new();
        // Syntax is what this checks; the variables are every mail's own.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in BUILTIN {
            let rendered = env.render_str(source, minijinja::context! {}).unwrap_or_else(|e| panic!("{name}: {e}"));
            // The acknowledgement's subject is the customer's, with the tag; the others say theirs.
            assert!(name.starts_with("ack") || rendered.starts_with("Subject:"), "{name}");
        }
    }

    #[test]
    fn the_customers_language_comes_before_the_departments_and_english_lives_in_the_plain_file() {
        // Template reads are cached: every file is in place before the first lookup.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ack.hu.txt"), "Kedves ügyfelünk").unwrap();
        std::fs::write(dir.path().join("ack.txt"), "Dear customer").unwrap();
        std::fs::create_dir_all(dir.path().join("billing")).unwrap();
        std::fs::write(dir.path().join("billing/ack.hu.txt"), "Szia").unwrap();
        // An English-writing customer of a Hungarian department.
        assert_eq!(find_template(dir.path(), "support", "ack", &["en", "hu"]).0, "ack.txt");
        // A Hungarian one, and one whose language is unknown: the department's.
        assert_eq!(find_template(dir.path(), "support", "ack", &["hu"]).0, "ack.hu.txt");
        // The customer's language from the built-in set before the department's file.
        assert_eq!(find_template(dir.path(), "support", "ack", &["pl", "hu"]).0, "ack.pl.txt");
        // A language with no template at all: the department's, then English.
        assert_eq!(find_template(dir.path(), "support", "ack", &["xx", "hu"]).0, "ack.hu.txt");
        assert_eq!(find_template(dir.path(), "support", "ack", &["xx"]).0, "ack.txt");
        // The department's own folder first, language by language.
        assert_eq!(find_template(dir.path(), "billing", "ack", &["hu"]).1, "Szia");
        assert_eq!(find_template(dir.path(), "billing", "ack", &["en", "hu"]).1, "Dear customer");
    }

    #[test]
    fn acknowledgement_headers_and_language() {
        let from: NamedAddress = "Support <support@example.test>".parse().unwrap();
        let c = acknowledgement(Path::new("/nonexistent"), &facts(&from, &["hu"], "Nem működik\r\nBcc: x@evil.test"))
            .unwrap();
        let text = String::from_utf8(c.raw.clone()).unwrap();
        let parsed = crate::parse::parse(&c.raw);
        assert!(parsed.subject.starts_with("[Ticket#12] Nem működik"), "{}", parsed.subject);
        assert!(!text.contains("\r\nBcc:"), "{text}");
        assert_eq!(parsed.header("auto-submitted"), Some("auto-replied"));
        assert!(parsed.header("x-loop").unwrap().starts_with("ticketd"));
        assert_eq!(parsed.in_reply_to, vec!["orig@customer.test"]);
        assert_eq!(parsed.message_id.as_deref(), Some(c.message_id.as_str()));
        assert!(c.message_id.starts_with("ticketd.12."));
        assert_eq!(parsed.header("content-language"), Some("hu"));
        assert!(parsed.text.contains("[Ticket#12]"), "{}", parsed.text);
    }

    #[test]
    fn the_promise_is_written_in_the_customer_s_language_and_zone() {
        use chrono::TimeZone;
        let due = Utc.with_ymd_and_hms(2026, 11, 23, 8, 30, 0).unwrap(); // 09:30 in Budapest
        let zone = chrono_tz::Europe::Budapest;
        let cases = [
            ("en", "Monday 23 November 2026, 09:30 (CET)"),
            ("hu", "2026. november 23. (hétfő) 09:30 (CET)"),
            ("de", "Montag, 23. November 2026, 09:30 Uhr (CET)"),
            ("cs", "23. 11. 2026 v 09:30 (pondělí, CET)"),
            ("pl", "23.11.2026, godz. 09:30 (poniedziałek, CET)"),
            ("he", "יום שני, 23.11.2026, בשעה 09:30 (CET)"),
        ];
        for (language, want) in cases {
            assert_eq!(local_time(due, zone, language), want, "{language}");
        }
        let from: NamedAddress = "Support <support@example.test>".parse().unwrap();
        for (language, want) in cases {
            let languages = [language];
            let mut f = facts(&from, &languages, "Help");
            f.reply_by = Some((due, zone));
            let c = acknowledgement(Path::new("/nonexistent"), &f).unwrap();
            let text = crate::parse::parse(&c.raw).text;
            assert!(text.contains(want), "{language}: {text}");
        }
    }
}
