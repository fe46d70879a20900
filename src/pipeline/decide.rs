//! Decide: the pure stages of the pipeline for one message — classify (filter), detect its
//! language, find the mailbox it belongs to, route it by the rules, and read who it is from
//! (the requester, a forwarded customer). Shared by ingest and `rules test`, so that the
//! explanation is the truth.
//!
//! It must never write: the only store access is the read that proves a Message-ID is
//! ticketd's own.

use rusqlite::Connection;

use crate::config::{Config, MailboxConfig};
use crate::filter::{self, Class, FilterContext, Verdict};
use crate::parse::{self, ParsedMessage};
use crate::route::{self, Route, RouteInput};
use crate::scan::ScanResult;
use crate::store::{self, StoreError};
use crate::thread;

use super::*;

/// What the pure stages decide about a message: its class, its route, its language and the
/// mailbox it belongs to. Shared by ingest and `rules test`, so the explanation is the truth.
pub struct Decision<'a> {
    pub verdict: Verdict,
    pub class: Class,
    pub routed: Route,
    pub language: Option<&'static str>,
    pub owner: &'a MailboxConfig,
}

pub fn decide<'a>(
    p: &Pipeline<'a>,
    message: &ParsedMessage,
    mailbox: &'a MailboxConfig,
    from_sent_folder: bool,
    scan: Option<&ScanResult>,
    sent_by_ticketd: bool,
) -> Decision<'a> {
    let verdict = filter::classify(
        message,
        &FilterContext {
            staff: &p.config.staff,
            spam: &p.config.spam,
            own_addresses: p.own_addresses,
            from_sent_folder,
            scan,
            sent_by_ticketd,
        },
    );
    let language = content_language(message).or_else(|| {
        detect_language(&format!("{}\n{}", message.subject, prefix_chars(&message.text, LANGUAGE_SAMPLE_CHARS)))
    });
    let owner = owner_mailbox(p.config, message, mailbox, from_sent_folder);
    let routed = route::route(
        p.rules,
        &RouteInput { message, mailbox: &owner.name, default_department: &owner.department, language },
    );
    let class = match verdict.class {
        Class::Customer if routed.spam => Class::Spam,
        // A web form sends from a no-reply address with the customer in Reply-To: the rule
        // that says so makes it customer mail again, if nothing else marked it automatic.
        Class::Automatic
            if routed.requester_from_reply_to
                && message.reply_to.is_some()
                && verdict.reasons.iter().all(|r| r.starts_with("no-reply sender")) =>
        {
            Class::Customer
        }
        other => other,
    };
    Decision { verdict, class, routed, language, owner }
}

/// Whether a message's Message-ID is one ticketd sent: the only proof that mail is its own.
pub fn sent_by_ticketd(conn: &Connection, message: &ParsedMessage) -> Result<bool, StoreError> {
    match message.message_id.as_deref() {
        Some(id) if id.starts_with(filter::OWN_MESSAGE_ID_PREFIX) => store::is_sent_message_id(conn, id),
        _ => Ok(false),
    }
}

/// Detects the language of a text among those ticketd ships templates for. Restricting the
/// detector to them makes short texts far more reliable; a weak guess counts as unknown.
pub fn detect_language(text: &str) -> Option<&'static str> {
    use std::sync::OnceLock;
    use whatlang::{Detector, Lang};
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    let detector = DETECTOR.get_or_init(|| {
        Detector::with_allowlist(vec![Lang::Hun, Lang::Ces, Lang::Slk, Lang::Pol, Lang::Heb, Lang::Deu, Lang::Eng])
    });
    let info = detector.detect(prefix_chars(text, LANGUAGE_SAMPLE_CHARS))?;
    if !info.is_reliable() && info.confidence() < 0.3 {
        return None;
    }
    match info.lang() {
        Lang::Hun => Some("hu"),
        Lang::Ces | Lang::Slk => Some("cs"),
        Lang::Pol => Some("pl"),
        Lang::Heb => Some("he"),
        Lang::Deu => Some("de"),
        Lang::Eng => Some("en"),
        _ => None,
    }
}

/// A thousand characters tell the language as well as fifty thousand do, at a fiftieth of the cost.
pub(super) const LANGUAGE_SAMPLE_CHARS: usize = 1000;

/// The first `n` characters of `text`, without copying.
pub(super) fn prefix_chars(text: &str, n: usize) -> &str {
    text.char_indices().nth(n).map_or(text, |(end, _)| &text[..end])
}

pub fn requester_of(m: &ParsedMessage, class: Class, routed: &Route, p: &Pipeline<'_>) -> (String, Option<String>) {
    let from = m.from.clone();
    if routed.requester_from_reply_to {
        if let Some(r) = &m.reply_to {
            return (r.address.clone(), r.name.clone());
        }
    }
    if matches!(class, Class::StaffResponse | Class::StaffNote) {
        let outside =
            m.to.iter()
                .chain(&m.cc)
                .find(|a| !p.config.staff.is_staff(a) && !p.own_addresses.iter().any(|o| o.as_str() == a.as_str()));
        if let Some(a) = outside {
            return (a.clone(), None);
        }
    }
    match from {
        Some(f) => (f.address, f.name),
        None => (String::new(), None),
    }
}

/// The mailbox a message belongs to: the first configured mailbox whose address is in To,
/// else in Cc, else the one that fetched it — the same answer for every copy of a message.
pub(super) fn owner_mailbox<'a>(
    config: &'a Config,
    m: &ParsedMessage,
    mailbox: &'a MailboxConfig,
    from_sent_folder: bool,
) -> &'a MailboxConfig {
    if from_sent_folder {
        return mailbox;
    }
    for list in [&m.to, &m.cc] {
        if let Some(found) = config.mailboxes.iter().find(|mb| list.iter().any(|a| a == mb.address.as_str())) {
            return found;
        }
    }
    mailbox
}

/// The language the sender declared (Content-Language), when it is one ticketd has templates
/// for.
pub(super) fn content_language(m: &ParsedMessage) -> Option<&'static str> {
    let declared = m.header("content-language")?.split([',', '-', '_']).next()?.trim().to_ascii_lowercase();
    ["en", "hu", "cs", "pl", "he", "de"].into_iter().find(|l| *l == declared)
}

/// The customer's mail a staff mail forwards: a message/rfc822 attachment, else a forwarded
/// block written inline as the common mail clients write it. Ok(None) when it forwards
/// nothing; Err(why) when it seems to forward something whose sender cannot be read.
pub fn forwarded_mail(m: &ParsedMessage) -> Result<Option<(ParsedMessage, &'static str)>, String> {
    if let Some(attached) = m.attachments.iter().find(|a| a.content_type == "message/rfc822") {
        let inner = parse::parse(&attached.content);
        return match &inner.from {
            Some(f) if !f.address.is_empty() => Ok(Some((inner, "attached"))),
            _ => Err("the attached message names no sender".into()),
        };
    }
    match parse::forward::find_inline(&m.text) {
        parse::forward::Found::None => Ok(None),
        parse::forward::Found::Unreadable { reason, .. } => Err(reason),
        parse::forward::Found::Forwarded(f) => {
            // No Message-ID of its own: an identity made from the forwarding mail's, so that a
            // second copy of the forward is recognised.
            let copy_hash = parse::sha256_hex(format!("forwarded\n{}", m.identity()).as_bytes());
            let new_text = parse::reply::new_part(&f.text);
            Ok(Some((
                ParsedMessage {
                    subject: f.subject,
                    from: Some(f.from),
                    to: f.to,
                    cc: f.cc,
                    content_type: "text/plain".into(),
                    content_hash: parse::sha256_hex(f.text.as_bytes()),
                    copy_hash,
                    new_text,
                    text: f.text,
                    // Inline forwards carry the original's attachments.
                    attachments: m.attachments.clone(),
                    ..Default::default()
                },
                f.style,
            )))
        }
    }
}

/// How threading should treat the sender of a message of this class.
pub fn thread_sender(class: Class, verdict: &Verdict) -> thread::Sender {
    match class {
        Class::Own | Class::StaffResponse | Class::StaffNote => thread::Sender::Trusted,
        Class::Automatic => thread::Sender::Automatic,
        _ if verdict.forged_staff || verdict.forged_sender.is_some() => thread::Sender::Unproven,
        _ => thread::Sender::Customer,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn detects_the_six_languages_on_short_texts() {
        let cases = [
            ("Nem működik a webshop. Jó napot! A webshop nem tölt be, kérem segítsenek.", "hu"),
            ("Rechnung fehlt. Guten Tag, die Rechnung für Oktober fehlt.", "de"),
            ("Dobrý den, nefunguje nám přihlášení do systému, prosím o pomoc.", "cs"),
            ("Dzień dobry, nie działa logowanie do systemu, proszę o pomoc.", "pl"),
            ("שלום, המערכת לא עובדת, אשמח לעזרה בהקדם.", "he"),
            ("Hello, the login page does not work since this morning, please help.", "en"),
        ];
        for (text, want) in cases {
            assert_eq!(super::detect_language(text), Some(want), "{text}");
        }
    }
}
