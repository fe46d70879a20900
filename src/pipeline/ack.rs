//! Ack: whether a new ticket's sender may be acknowledged, and in which languages and from
//! which address — the rules against backscatter, loops and floods (docs/message-handling.md).
//!
//! It must never send: the acknowledgement is composed into the outbox by file, in the
//! ticket's transaction.

use rusqlite::Connection;

use crate::config::MailboxConfig;
use crate::filter::{self, Class, Verdict};
use crate::parse::ParsedMessage;
use crate::route::Route;
use crate::store::StoreError;

use super::*;

/// Why a new ticket's message must not be acknowledged, as far as the message itself tells
/// (age and rate limits are checked against the store by the caller).
pub fn ack_blocker(
    p: &Pipeline<'_>,
    class: Class,
    verdict: &Verdict,
    requester: &str,
    routed: &Route,
    m: &ParsedMessage,
) -> Option<String> {
    if class != Class::Customer {
        Some(format!("{} mail is never acknowledged", class.as_str()))
    } else if verdict.forged_staff || p.config.staff.is_staff(requester) {
        Some("sender is a staff address".to_string())
    } else if p.own_addresses.iter().any(|a| a.as_str() == requester) {
        Some(format!("{requester} is ticketd's own address"))
    } else if filter::is_automatic_sender(requester) {
        Some(format!("{requester} is an automatic sender"))
    } else if let Some(why) = &verdict.forged_sender {
        Some(format!("the sender is forged: {why}"))
    } else if let Some(asked) = filter::suppresses_auto_responses(m) {
        Some(format!("the sender asked for no automatic replies (X-Auto-Response-Suppress: {asked})"))
    } else if !routed.ack {
        Some("a rule said ack = false".to_string())
    } else if m.is_flagged("unparsable") {
        Some("the message could not be parsed".to_string())
    } else if requester.parse::<lettre::Address>().is_err() {
        Some(format!("no valid address to answer ({requester:?})"))
    } else {
        None
    }
}

/// A display name ticketd may repeat in its own mail (docs/message-handling.md): short, and without anything
/// that reads as a link or a domain ("Dear CHEAP PILLS at pills.example" is an advert).
pub fn harmless_display_name(name: &str) -> bool {
    use std::sync::OnceLock;
    static LINKISH: OnceLock<regex::Regex> = OnceLock::new();
    let linkish = LINKISH.get_or_init(|| {
        // A domain (two labels, the last of letters), a link, an address, or digits joined by
        // dots (an IP address, a price).
        regex::Regex::new(r"(?i)(://|www\.|@|[\p{L}\p{N}-]\.[\p{L}]{2,}\b|\d[.,]\d)").expect("a valid pattern")
    });
    let name = name.trim();
    // Letters, digits, marks and plain punctuation only: no format characters (zero-width,
    // bidi overrides), no look-alike dots or symbols that could carry an advert.
    let plain = |c: char| {
        c.is_alphanumeric()
            || c == ' '
            || ".,'’-&()".contains(c)
            || matches!(c, '\u{300}'..='\u{36f}' | '\u{591}'..='\u{5c7}')
    };
    !name.is_empty() && name.chars().count() <= 64 && name.chars().all(plain) && !linkish.is_match(name)
}

/// Sender of ticketd's mail for a ticket (docs/message-handling.md): the department's, else the mailbox's
/// address, else `[smtp].from`.
pub fn sender_for(
    p: &Pipeline<'_>,
    department_from: Option<&crate::config::NamedAddress>,
    mailbox: &MailboxConfig,
) -> crate::config::NamedAddress {
    if let Some(f) = department_from {
        return f.clone();
    }
    crate::config::NamedAddress { name: p.config.smtp.from.name.clone(), address: mailbox.address.clone() }
}

/// Acknowledgements queued in the last hour, to anyone.
pub(super) fn all_recent_acks(tx: &Connection, now: i64) -> Result<i64, StoreError> {
    store::outbox::acks_since(tx, now - 3600)
}

/// Acknowledgements queued in the last hour to `address` alone.
pub(super) fn recent_acks(tx: &Connection, address: &str, now: i64) -> Result<i64, StoreError> {
    store::outbox::acks_to_since(tx, address, now - 3600)
}

#[cfg(test)]
mod tests {
    #[test]
    fn display_names_are_repeated_only_when_harmless() {
        for ok in ["Anna Kovács", "Müller, Jörg", "אבי כהן", "Dr. J. Smith", "O'Brien"] {
            assert!(super::harmless_display_name(ok), "{ok}");
        }
        for bad in [
            "CHEAP PILLS at pills.example",
            "visit http://x",
            "www.win",
            "x@y.test",
            &"a".repeat(65),
            "bell\u{7}",
            "",
            "pills\u{200b}.example",
            "pills。com",
            "pills․com",
            "win at 192.0.2.1",
            "\u{202e}moc.sllip",
            "only $9.99",
        ] {
            assert!(!super::harmless_display_name(bad), "{bad}");
        }
    }
}
