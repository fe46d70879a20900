//! Filter: decides what kind of mail a message is (SPEC §4) — ticketd's own, spam, automatic,
//! staff (response or note) or a customer's — with the reasons for the verdict.
//!
//! Pure: it reads only the parsed message and the configuration. It must never let automatic
//! mail, bounces, lists or ticketd's own mail through as a customer message: those must never be
//! acknowledged, or mail loops start.

use crate::config::{Address, SpamConfig, StaffConfig, StaffTrust};
use crate::parse::ParsedMessage;
use crate::scan::ScanResult;

/// The marker ticketd writes into every mail it sends (X-Loop), and looks for in what it reads.
pub const LOOP_MARKER_PREFIX: &str = "ticketd";
/// Every Message-ID ticketd makes starts with this.
pub const OWN_MESSAGE_ID_PREFIX: &str = "ticketd.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Own,
    Spam,
    Automatic,
    StaffResponse,
    StaffNote,
    Customer,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Own => "own",
            Class::Spam => "spam",
            Class::Automatic => "automatic",
            Class::StaffResponse => "staff-response",
            Class::StaffNote => "staff-note",
            Class::Customer => "customer",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub class: Class,
    pub reasons: Vec<String>,
    /// Upstream spam score, when the server wrote one.
    pub spam_score: Option<f64>,
    /// A staff From without any trust source: stored as a customer message, flagged.
    pub forged_staff: bool,
    /// The live scanner was configured but could not check this message (fail-open).
    pub unscanned: Option<String>,
}

pub struct FilterContext<'a> {
    pub staff: &'a StaffConfig,
    pub spam: &'a SpamConfig,
    /// ticketd's own addresses: the mailboxes' and the SMTP sender's.
    pub own_addresses: &'a [Address],
    /// The message was read from a mailbox's `sent_folder`.
    pub from_sent_folder: bool,
    /// The live scanner's answer (spamd, rspamd), when one is configured.
    pub scan: Option<&'a ScanResult>,
}

pub fn classify(m: &ParsedMessage, ctx: &FilterContext<'_>) -> Verdict {
    let from = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    let unscanned = match ctx.scan {
        Some(ScanResult::Unscanned { reason }) => Some(reason.clone()),
        _ => None,
    };
    let verdict = |class, reasons, spam_score| Verdict {
        class,
        reasons,
        spam_score,
        forged_staff: false,
        unscanned: unscanned.clone(),
    };

    // 1. Own mail.
    let mut own = Vec::new();
    if m.headers_named("x-loop").any(|v| v.trim().to_ascii_lowercase().starts_with(LOOP_MARKER_PREFIX)) {
        own.push("X-Loop marker".to_string());
    }
    if m.message_id.as_deref().is_some_and(|id| id.starts_with(OWN_MESSAGE_ID_PREFIX)) {
        own.push("Message-ID made by ticketd".to_string());
    }
    // Staff may reply from the shared mailbox itself; in its Sent folder that is a staff reply.
    if !ctx.from_sent_folder && ctx.own_addresses.iter().any(|a| a.as_str() == from) {
        own.push(format!("sent from ticketd's own address {from}"));
    }
    if !own.is_empty() {
        return verdict(Class::Own, own, None);
    }

    // 2. Spam: the verdicts the mail server already wrote, and the local lists.
    let (spam_reasons, spam_score) = spam_verdict(m, ctx.spam, ctx.scan);
    if !spam_reasons.is_empty() && !ctx.from_sent_folder {
        return verdict(Class::Spam, spam_reasons, spam_score);
    }

    // 3. Automatic mail.
    let auto = automatic_reasons(m);
    if !auto.is_empty() && !ctx.from_sent_folder {
        return verdict(Class::Automatic, auto, spam_score);
    }

    // 4. Staff mail.
    if ctx.from_sent_folder || ctx.staff.is_staff(from) {
        match staff_trust(m, ctx) {
            Some(source) => {
                let outside =
                    m.to.iter().chain(&m.cc).find(|a| {
                        !ctx.staff.is_staff(a) && !ctx.own_addresses.iter().any(|o| o.as_str() == a.as_str())
                    });
                let mut reasons = vec![format!("staff mail from {from} ({source})")];
                return match outside {
                    Some(customer) => {
                        reasons.push(format!("goes to {customer}, outside the company"));
                        verdict(Class::StaffResponse, reasons, spam_score)
                    }
                    None => {
                        reasons.push("stays internal".into());
                        verdict(Class::StaffNote, reasons, spam_score)
                    }
                };
            }
            None => {
                return Verdict {
                    forged_staff: true,
                    ..verdict(
                        Class::Customer,
                        vec![format!("claims staff sender {from} without a trust source")],
                        spam_score,
                    )
                };
            }
        }
    }

    verdict(Class::Customer, Vec::new(), spam_score)
}

/// Upstream spam headers, the live scanner's verdict and the local allow / block lists; the
/// allow list wins.
pub fn spam_verdict(m: &ParsedMessage, spam: &SpamConfig, scan: Option<&ScanResult>) -> (Vec<String>, Option<f64>) {
    let from = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    let mut reasons = Vec::new();
    let mut score: Option<f64> = None;
    if let Some(v) = m.header("x-spam-score") {
        score = v.trim().parse().ok();
    }
    if let Some(v) = m.header("x-rspamd-score") {
        score = score.or_else(|| v.trim().parse().ok());
    }
    if let Some(v) = m.header("x-spam-status") {
        if let Some(s) = v.split([' ', ',', '\t']).find_map(|p| p.strip_prefix("score=")) {
            score = score.or_else(|| s.parse().ok());
        }
        if v.trim_start().to_ascii_lowercase().starts_with("yes") {
            reasons.push(format!("X-Spam-Status: {}", v.split_whitespace().next().unwrap_or("")));
        }
    }
    if m.header("x-spam-flag").is_some_and(|v| v.trim().eq_ignore_ascii_case("yes")) {
        reasons.push("X-Spam-Flag: YES".into());
    }
    if let Some(a) = m.header("x-rspamd-action") {
        let a = a.trim().to_ascii_lowercase();
        if a == "reject" || a == "add header" || a == "rewrite subject" {
            reasons.push(format!("X-Rspamd-Action: {a}"));
        }
    }
    if let Some(s) = score {
        if s >= spam.score_threshold {
            reasons.push(format!("score {s} at or above {}", spam.score_threshold));
        }
    }
    // The live scanner decides by its own threshold, as it does for the mail server.
    if let Some(ScanResult::Scanned { scanner, score: live, required, spam: is_spam, symbols }) = scan {
        score = Some(*live);
        if *is_spam {
            let shown: Vec<&str> = symbols.iter().take(8).map(String::as_str).collect();
            reasons.push(format!("{scanner}: score {live} / {required} ({})", shown.join(", ")));
        }
    }
    if spam.block.iter().any(|g| g.matches(from)) {
        reasons.push(format!("sender {from} is on the block list"));
    }
    if !from.is_empty() && spam.allow.iter().any(|g| g.matches(from)) {
        reasons.clear();
    }
    (reasons, score)
}

/// RFC 3834 and common practice for auto-replies, bounces, bulk and list mail.
pub fn automatic_reasons(m: &ParsedMessage) -> Vec<String> {
    let mut reasons = Vec::new();
    let from = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    if let Some(v) = m.header("auto-submitted") {
        if !v.trim().to_ascii_lowercase().starts_with("no") {
            reasons.push(format!("Auto-Submitted: {}", v.trim()));
        }
    }
    for h in ["x-autoreply", "x-autorespond", "x-autogenerated", "x-auto-reply"] {
        if m.header(h).is_some() {
            reasons.push(format!("{h} header"));
        }
    }
    if let Some(p) = m.header("precedence") {
        let p = p.trim().to_ascii_lowercase();
        if ["bulk", "junk", "list", "auto_reply"].contains(&p.as_str()) {
            reasons.push(format!("Precedence: {p}"));
        }
    }
    if m.header("list-id").is_some() {
        reasons.push("List-Id header".into());
    }
    if m.header("list-unsubscribe").is_some() {
        reasons.push("List-Unsubscribe header".into());
    }
    if m.header("return-path").is_some_and(|v| v.trim() == "<>") {
        reasons.push("empty Return-Path (a bounce)".into());
    }
    if m.header("x-auto-response-suppress").is_some_and(|v| {
        let v = v.to_ascii_lowercase();
        v.contains("all") || v.contains("oof")
    }) && m.header("x-ms-exchange-inbox-rules-loop").is_some()
    {
        reasons.push("Exchange inbox-rule loop headers".into());
    } else if m.header("x-ms-exchange-inbox-rules-loop").is_some() {
        reasons.push("X-MS-Exchange-Inbox-Rules-Loop header".into());
    }
    let local = from.split('@').next().unwrap_or("");
    if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
        reasons.push(format!("sender {from}"));
    }
    if is_noreply(local) {
        reasons.push(format!("no-reply sender {from}"));
    }
    if m.content_type == "multipart/report" {
        reasons.push("delivery or disposition report (multipart/report)".into());
    }
    if from.is_empty() && !m.is_flagged("unparsable") {
        reasons.push("no sender address".into());
    }
    reasons
}

/// Microsoft's request not to auto-answer a message (`X-Auto-Response-Suppress: All`, `OOF`,
/// `AutoReply`): honoured by not acknowledging; the mail itself is a person's and stays a
/// customer message.
pub fn suppresses_auto_responses(m: &ParsedMessage) -> Option<String> {
    let v = m.header("x-auto-response-suppress")?;
    let asks = v
        .split([',', ' ', '\t'])
        .any(|t| ["all", "oof", "autoreply"].contains(&t.trim().to_ascii_lowercase().as_str()));
    asks.then(|| v.trim().to_string())
}

fn is_noreply(local: &str) -> bool {
    let squashed: String = local.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    squashed.starts_with("noreply") || squashed.starts_with("donotreply")
}

/// An address that never reads replies: mailer-daemon, postmaster, no-reply.
pub fn is_automatic_sender(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") || is_noreply(local)
}

/// The trust source that lets staff mail count (SPEC §4), if any.
fn staff_trust(m: &ParsedMessage, ctx: &FilterContext<'_>) -> Option<String> {
    if ctx.from_sent_folder {
        return Some("sent folder".into());
    }
    if ctx.staff.trust == StaffTrust::FromHeader {
        return Some("trust = from-header".into());
    }
    let from = m.from.as_ref()?.address.as_str();
    let from_domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    if !ctx.staff.authserv_id.is_empty() {
        // Only results our own server wrote count: those above the second Received header (a
        // sender can put any Authentication-Results lower in the message).
        let mut received = 0;
        let ours = m.headers.iter().take_while(|(name, _)| {
            received += usize::from(name == "received");
            received < 2
        });
        for ar in ours.filter(|(name, _)| name == "authentication-results").map(|(_, v)| v.as_str()) {
            let mut parts = ar.split(';');
            let authserv = parts.next().unwrap_or("").split_whitespace().next().unwrap_or("");
            if !authserv.eq_ignore_ascii_case(&ctx.staff.authserv_id) {
                continue;
            }
            for result in parts {
                let r = result.trim().to_ascii_lowercase();
                let aligned = |key: &str| {
                    r.split_whitespace()
                        .filter_map(|kv| kv.strip_prefix(key))
                        .any(|d| d.trim_matches(['"', ';']) == from_domain || d.ends_with(&format!("@{from_domain}")))
                };
                if r.starts_with("dkim=pass") && aligned("header.d=") {
                    return Some("DKIM pass aligned with From".into());
                }
                if r.starts_with("dmarc=pass") && aligned("header.from=") {
                    return Some("DMARC pass".into());
                }
            }
        }
    }
    if m.header("x-ms-exchange-organization-authas").is_some_and(|v| v.trim().eq_ignore_ascii_case("internal")) {
        return Some("Exchange internal".into());
    }
    // Only the top Received header was written by our own server.
    if m.header("received").is_some_and(|v| v.contains("Authenticated sender:")) {
        return Some("authenticated submission".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn staff() -> StaffConfig {
        StaffConfig {
            addresses: vec![Address("alice@example.test".into()), Address("bob@example.test".into())],
            domains: vec![],
            trust: StaffTrust::Authenticated,
            authserv_id: "mail.example.test".into(),
        }
    }

    fn spam() -> SpamConfig {
        SpamConfig {
            score_threshold: 5.0,
            spamd: None,
            rspamd_url: None,
            timeout: "10s".parse().unwrap(),
            allow: vec!["*@partner.test".parse().unwrap()],
            block: vec!["*@spammer.test".parse().unwrap()],
        }
    }

    fn class_of(headers: &str, sent: bool) -> Verdict {
        let raw = format!("{headers}\r\nSubject: x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n");
        let own = [Address("support@example.test".into())];
        let (staff, spam) = (staff(), spam());
        let ctx = FilterContext { staff: &staff, spam: &spam, own_addresses: &own, from_sent_folder: sent, scan: None };
        classify(&parse(raw.as_bytes()), &ctx)
    }

    #[test]
    fn table() {
        let cases: &[(&str, bool, Class)] = &[
            ("From: anna@customer.test\r\nTo: support@example.test", false, Class::Customer),
            ("From: support@example.test\r\nTo: anna@customer.test", false, Class::Own),
            ("From: x@customer.test\r\nX-Loop: ticketd support@example.test", false, Class::Own),
            ("From: x@customer.test\r\nAuto-Submitted: auto-replied", false, Class::Automatic),
            ("From: x@customer.test\r\nAuto-Submitted: no", false, Class::Customer),
            ("From: x@customer.test\r\nPrecedence: bulk", false, Class::Automatic),
            ("From: x@customer.test\r\nList-Id: <l.x>", false, Class::Automatic),
            ("From: MAILER-DAEMON@customer.test", false, Class::Automatic),
            ("From: no-reply@shop.test", false, Class::Automatic),
            ("From: x@customer.test\r\nReturn-Path: <>", false, Class::Automatic),
            ("From: x@customer.test\r\nX-Spam-Flag: YES", false, Class::Spam),
            ("From: x@customer.test\r\nX-Spam-Status: No, score=7.1", false, Class::Spam),
            ("From: x@partner.test\r\nX-Spam-Flag: YES", false, Class::Customer),
            ("From: x@spammer.test", false, Class::Spam),
            ("From: alice@example.test\r\nTo: anna@customer.test", true, Class::StaffResponse),
            ("From: support@example.test\r\nTo: anna@customer.test", true, Class::StaffResponse),
            ("From: alice@example.test\r\nTo: bob@example.test", true, Class::StaffNote),
            (
                "From: alice@example.test\r\nTo: anna@customer.test\r\nAuthentication-Results: mail.example.test; dkim=pass header.d=example.test",
                false,
                Class::StaffResponse,
            ),
            (
                "From: alice@example.test\r\nTo: anna@customer.test\r\nAuthentication-Results: evil.test; dkim=pass header.d=example.test",
                false,
                Class::Customer,
            ),
        ];
        for (headers, sent, want) in cases {
            let v = class_of(headers, *sent);
            assert_eq!(v.class, *want, "{headers}: {v:?}");
        }
        assert!(class_of("From: alice@example.test\r\nTo: anna@customer.test", false).forged_staff);
        // A forged result below our server's Received header does not count.
        let forged = "Received: by mail.example.test\r\nReceived: by evil.test\r\n\
            Authentication-Results: mail.example.test; dkim=pass header.d=example.test\r\n\
            From: alice@example.test\r\nTo: anna@customer.test";
        assert_eq!(class_of(forged, false).class, Class::Customer);
        let genuine = "Authentication-Results: mail.example.test; dkim=pass header.d=example.test\r\n\
            Received: by mail.example.test\r\nReceived: by out.example.test\r\n\
            From: alice@example.test\r\nTo: anna@customer.test";
        assert_eq!(class_of(genuine, false).class, Class::StaffResponse);
    }
}
