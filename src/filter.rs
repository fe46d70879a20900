//! Filter: decides what kind of mail a message is (docs/message-handling.md) — ticketd's own, spam, automatic,
//! staff (response or note) or a customer's — with the reasons for the verdict.
//!
//! Pure: it reads only the parsed message and the configuration. It must never let automatic
//! mail, bounces, lists or ticketd's own mail through as a customer message: those must never be
//! acknowledged, or mail loops start.

use crate::config::{Address, SpamConfig, StaffConfig, TrustSource};
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
    /// The company's MTA found the sender forged (`dmarc=fail`, or `spf=fail` without a DKIM
    /// pass): such a sender gets no mail from ticketd and its address proves nothing.
    pub forged_sender: Option<String>,
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
    /// The message's Message-ID is one ticketd sent (looked up in the outbox by the caller).
    pub sent_by_ticketd: bool,
}

pub fn classify(m: &ParsedMessage, ctx: &FilterContext<'_>) -> Verdict {
    let from = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    let unscanned = match ctx.scan {
        Some(ScanResult::Unscanned { reason }) => Some(reason.clone()),
        _ => None,
    };
    // What the company's own MTA wrote about the message, read once for every use.
    let auth =
        trusted_zone(&m.headers, &ctx.staff.mta_hosts).map(|boundary| (boundary, company_auth(m, ctx.staff, boundary)));
    let verdict = |class, reasons, spam_score| Verdict {
        class,
        reasons,
        spam_score,
        forged_staff: false,
        unscanned: unscanned.clone(),
        forged_sender: auth.as_ref().and_then(|(_, a)| a.forged.clone()),
    };

    // 1. Own mail: only what ticketd provably sent. Its X-Loop marker, its Message-ID
    // prefix and its From address can be written by anyone; mail that only carries those is
    // automatic mail from whoever sent it.
    if ctx.sent_by_ticketd {
        return verdict(Class::Own, vec!["a Message-ID ticketd sent".to_string()], None);
    }
    let mut claims = Vec::new();
    if m.headers_named("x-loop").any(|v| v.trim().to_ascii_lowercase().starts_with(LOOP_MARKER_PREFIX)) {
        claims.push("ticketd's X-Loop marker".to_string());
    }
    if m.message_id.as_deref().is_some_and(|id| id.starts_with(OWN_MESSAGE_ID_PREFIX)) {
        claims.push("a Message-ID in ticketd's form".to_string());
    }
    // Staff may reply from the shared mailbox itself; in its Sent folder that is a staff reply.
    if !ctx.from_sent_folder && ctx.own_addresses.iter().any(|a| a.as_str() == from) {
        claims.push(format!("ticketd's own address {from} as sender"));
    }
    if !claims.is_empty() {
        let reasons = vec![format!("claims to be ticketd's mail ({}) but is none it sent", claims.join(", "))];
        return verdict(Class::Automatic, reasons, None);
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
        match staff_trust(m, ctx, auth.as_ref()) {
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

/// The trust source that lets staff mail count (docs/message-handling.md), if a listed one holds.
fn staff_trust(m: &ParsedMessage, ctx: &FilterContext<'_>, auth: Option<&(usize, CompanyAuth)>) -> Option<String> {
    let staff = ctx.staff;
    if ctx.from_sent_folder {
        // check-config refuses a sent_folder unless "sent-folder" is listed.
        return Some("sent folder".into());
    }
    if staff.trusts(TrustSource::FromHeader) {
        return Some("trust lists from-header".into());
    }
    let from = m.from.as_ref()?.address.as_str();
    if staff.trusts(TrustSource::Dkim) {
        if let Some(proof) = auth.and_then(|(_, a)| a.staff_proof.clone()) {
            return Some(proof);
        }
    }
    if staff.trusts(TrustSource::Submission) {
        if let Some(user) = auth.and_then(|(z, _)| authenticated_sender(&m.headers[*z].1)) {
            let local = from.split('@').next().unwrap_or("");
            if user.eq_ignore_ascii_case(from) || user.eq_ignore_ascii_case(local) {
                return Some(format!("authenticated submission as {user}"));
            }
        }
    }
    if staff.trusts(TrustSource::Exchange) {
        // Exchange removes the header from mail that did not authenticate; two of them mean
        // one was written by someone else.
        let mut values = m.headers_named("x-ms-exchange-organization-authas");
        if let (Some(v), None) = (values.next(), values.next()) {
            if v.trim().eq_ignore_ascii_case("internal") {
                return Some("Exchange internal".into());
            }
        }
    }
    None
}

/// What the company's own MTA said about a message's sender in its Authentication-Results
/// (RFC 8601), as far as ticketd acts on it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompanyAuth {
    /// A DKIM pass aligned with From, or a DMARC pass: proves a staff From.
    pub staff_proof: Option<String>,
    /// The sender is forged by the MTA's own verdict: `dmarc=fail`, or `spf=fail` without any
    /// DKIM pass. Such a sender gets no mail from ticketd.
    pub forged: Option<String>,
}

/// The Authentication-Results written by the company's own MTA (those above `boundary`, with
/// its authserv-id), read for From's domain.
fn company_auth(m: &ParsedMessage, staff: &StaffConfig, boundary: usize) -> CompanyAuth {
    let mut out = CompanyAuth::default();
    if staff.authserv_id.is_empty() {
        return out;
    }
    let from = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    let from_domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let (mut dkim_pass, mut spf_fail, mut dmarc_fail) = (false, false, false);
    for (_, ar) in m.headers[..boundary].iter().filter(|(name, _)| name == "authentication-results") {
        // RFC 8601 §2.2, read with quoted strings and comments as the units they are: a value
        // the verifier copied from the envelope (`smtp.mailfrom="x;dkim=pass ..."@evil.test`)
        // stays one value and can never start a result of its own.
        let lexemes = lex(ar);
        let mut results = lexemes.split(|l| *l == Lexeme::Semi);
        let authserv = results.next().and_then(|r| r.iter().find_map(Lexeme::word)).unwrap_or("");
        if !authserv.eq_ignore_ascii_case(&staff.authserv_id) {
            continue;
        }
        for result in results {
            let Some(method) = result.first().and_then(Lexeme::word) else { continue };
            let method = method.to_ascii_lowercase();
            // A property counts only as a bare domain, never quoted or glued to a quoted string.
            let property = |key: &str| -> Vec<String> {
                result
                    .iter()
                    .enumerate()
                    .filter_map(|(k, l)| match (l, result.get(k + 1)) {
                        (Lexeme::Word(kv), Some(Lexeme::Quoted(_))) if kv.ends_with('=') => None,
                        (Lexeme::Word(kv), _) => Some(*kv),
                        _ => None,
                    })
                    .filter_map(|kv| {
                        let (k, v) = kv.split_once('=')?;
                        k.eq_ignore_ascii_case(key).then(|| v.trim_start_matches('@').to_ascii_lowercase())
                    })
                    .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c)))
                    .collect()
            };
            // Relaxed alignment (RFC 7489 §3.1): From's domain or a subdomain of the signer's.
            let aligned = |d: &str| {
                let d = d.rsplit_once('@').map(|(_, x)| x).unwrap_or(d);
                !d.is_empty() && (from_domain == d || from_domain.ends_with(&format!(".{d}")))
            };
            match method.as_str() {
                "dkim=pass" => {
                    dkim_pass = true;
                    if out.staff_proof.is_none() && property("header.d").iter().any(|d| aligned(d)) {
                        out.staff_proof = Some("DKIM pass aligned with From".into());
                    }
                }
                "dmarc=pass" if out.staff_proof.is_none() && property("header.from").iter().any(|d| aligned(d)) => {
                    out.staff_proof = Some("DMARC pass".into());
                }
                "dmarc=fail" => dmarc_fail = true,
                "spf=fail" => spf_fail = true,
                _ => {}
            }
        }
    }
    if dmarc_fail {
        out.forged = Some(format!("{} says dmarc=fail for {from_domain}", staff.authserv_id));
    } else if spf_fail && !dkim_pass {
        out.forged = Some(format!("{} says spf=fail and no DKIM signature passed", staff.authserv_id));
    }
    out
}

/// One unit of a structured header field (RFC 5322 §3.2): a run of other characters, a quoted
/// string, a comment (nested comments and quoted pairs inside it), or a ';'.
#[derive(Debug, PartialEq, Eq)]
enum Lexeme<'a> {
    Word(&'a str),
    Quoted(&'a str),
    Comment(&'a str),
    Semi,
}

impl<'a> Lexeme<'a> {
    fn word(&self) -> Option<&'a str> {
        match self {
            Lexeme::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// Splits a structured header value into [`Lexeme`]s. Linear; an unclosed quote or comment
/// runs to the end of the value.
fn lex(value: &str) -> Vec<Lexeme<'_>> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b';' => {
                out.push(Lexeme::Semi);
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(bytes.len());
                out.push(Lexeme::Quoted(value.get(start..end).unwrap_or("")));
                i = end + 1;
            }
            b'(' => {
                let start = i + 1;
                let mut depth = 1;
                i = start;
                while i < bytes.len() && depth > 0 {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => depth -= 1,
                        // Not special in a comment by RFC 5322, but verifiers write addresses
                        // there, and an address with a ')' in it is always quoted: keep it whole.
                        b'"' => {
                            i += 1;
                            while i < bytes.len() && bytes[i] != b'"' {
                                i += if bytes[i] == b'\\' { 2 } else { 1 };
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let end = if depth == 0 { i - 1 } else { bytes.len() };
                out.push(Lexeme::Comment(value.get(start..end.min(bytes.len())).unwrap_or("")));
            }
            _ => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b';' | b'"' | b'(') {
                    i += 1;
                }
                out.push(Lexeme::Word(&value[start..i]));
            }
        }
    }
    out
}

/// The parts of a Received header (RFC 5321 §4.4) that tell who wrote it and from whom.
#[derive(Debug, PartialEq, Eq)]
struct Hop<'a> {
    /// The name after "from": the client's own claim (HELO) for most MTAs.
    from: Option<&'a str>,
    /// The first word of the comment right after it: Postfix's and sendmail's verified reverse
    /// name ("unknown" when it did not verify).
    verified: Option<&'a str>,
    /// Postfix's `(Authenticated sender: USER)`: the last comment of the from clause, exactly.
    authenticated: Option<&'a str>,
    /// The host that wrote the header.
    by: Option<&'a str>,
    /// "with LMTP" and similar.
    with: Option<&'a str>,
}

/// Reads a Received header's clauses, comments as units (Postfix writes TLS details, nested
/// parentheses included, between the client and "by"). Postfix writes a client's HELO with
/// spaces and parentheses as '?', so a client cannot forge a clause or a comment of its own.
fn hop(value: &str) -> Hop<'_> {
    let lexemes = lex(value);
    let lexemes = lexemes.split(|l| *l == Lexeme::Semi).next().unwrap_or(&[]);
    let mut h = Hop { from: None, verified: None, authenticated: None, by: None, with: None };
    let mut i = 0;
    if lexemes.first().and_then(Lexeme::word).is_some_and(|w| w.eq_ignore_ascii_case("from")) {
        h.from = lexemes.get(1).and_then(Lexeme::word);
        i = 2;
        let mut comments = Vec::new();
        while let Some(Lexeme::Comment(c)) = lexemes.get(i) {
            comments.push(*c);
            i += 1;
        }
        h.verified = comments.first().and_then(|c| c.split_whitespace().next());
        h.authenticated = comments.last().filter(|_| comments.len() > 1).and_then(|c| {
            let user = c.strip_prefix("Authenticated sender: ")?;
            (!user.is_empty() && !user.contains(char::is_whitespace)).then_some(user)
        });
    }
    if lexemes.get(i).and_then(Lexeme::word).is_some_and(|w| w.eq_ignore_ascii_case("by")) {
        h.by = lexemes.get(i + 1).and_then(Lexeme::word);
        let rest = lexemes.get(i + 2..).unwrap_or(&[]);
        let with = rest.iter().position(|l| l.word().is_some_and(|w| w.eq_ignore_ascii_case("with")));
        h.with = with.and_then(|k| rest.get(k + 1)).and_then(Lexeme::word);
    }
    h
}

fn is_mta(host: Option<&str>, mta_hosts: &[String]) -> bool {
    host.is_some_and(|h| {
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        mta_hosts.contains(&h)
    })
}

/// Where the company's own header block ends (docs/message-handling.md): the index of the topmost Received
/// header in which a host of `mta_hosts` took the message from a host outside them. Everything
/// above it was written by the company's servers; everything from it down may be the sender's.
/// None when the message did not come in through such a host (IMAP APPEND, another server).
pub fn trusted_zone(headers: &[(String, String)], mta_hosts: &[String]) -> Option<usize> {
    if mta_hosts.is_empty() {
        return None;
    }
    for (i, (name, value)) in headers.iter().enumerate() {
        if name != "received" {
            continue;
        }
        let h = hop(value);
        // Local delivery (Dovecot's LMTP, over a socket or TCP): the MTA handing over. Only one
        // of ours writes such a header above the boundary; Postfix's smtpd never says LMTP.
        let local_delivery = h.with.is_some_and(|w| w.eq_ignore_ascii_case("lmtp") || w.eq_ignore_ascii_case("lmtps"))
            && (is_mta(h.from, mta_hosts) || is_mta(h.by, mta_hosts));
        if local_delivery {
            continue;
        }
        if !is_mta(h.by, mta_hosts) {
            // A hop above the boundary that none of ours wrote: nothing here can be trusted.
            return None;
        }
        if h.from.is_some() && is_mta(h.verified, mta_hosts) {
            // From one of ours to one of ours (an inbound relay): still inside.
            continue;
        }
        return Some(i);
    }
    None
}

/// The user in Postfix's `(Authenticated sender: USER)` comment of one Received header.
fn authenticated_sender(received: &str) -> Option<&str> {
    let h = hop(received);
    h.authenticated.filter(|_| h.with.is_some_and(|w| w.to_ascii_uppercase().starts_with("ESMTP")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn staff_with(trust: &[TrustSource]) -> StaffConfig {
        StaffConfig {
            addresses: vec![Address("alice@example.test".into()), Address("bob@example.test".into())],
            domains: vec![],
            trust: trust.to_vec(),
            authserv_id: "mail.example.test".into(),
            mta_hosts: vec!["mail.example.test".into()],
        }
    }

    fn staff() -> StaffConfig {
        staff_with(&[TrustSource::SentFolder, TrustSource::Dkim, TrustSource::Submission])
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

    fn classify_with(headers: &str, sent: bool, staff: &StaffConfig, sent_by_ticketd: bool) -> Verdict {
        let raw = format!("{headers}\r\nSubject: x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n");
        let own = [Address("support@example.test".into())];
        let spam = spam();
        let ctx = FilterContext {
            staff,
            spam: &spam,
            own_addresses: &own,
            from_sent_folder: sent,
            scan: None,
            sent_by_ticketd,
        };
        classify(&parse(raw.as_bytes()), &ctx)
    }

    fn class_of(headers: &str, sent: bool) -> Verdict {
        classify_with(headers, sent, &staff(), false)
    }

    /// What Postfix and Dovecot write above a message they received from `client` (docs/message-handling.md).
    const LMTP: &str = "Received: from mail.example.test\r\n\tby mail.example.test with LMTP id x\r\n\t\
        (envelope-from <a@b>) for <support@example.test>; Sun, 06 Dec 2026 02:41:01 +0000";
    const SMTP_IN: &str = "Received: from [127.0.0.1] (unknown [127.0.0.1])\r\n\tby mail.example.test (Postfix) \
        with ESMTP id C1 for <support@example.test>; Sun,  6 Dec 2026 02:41:01 +0000 (UTC)";
    const OUR_DKIM: &str = "Authentication-Results: mail.example.test; dkim=pass header.d=example.test";

    #[test]
    fn table() {
        let cases: &[(&str, bool, Class)] = &[
            ("From: anna@customer.test\r\nTo: support@example.test", false, Class::Customer),
            // ticketd's address, X-Loop and Message-ID form are claims anyone can write.
            ("From: support@example.test\r\nTo: anna@customer.test", false, Class::Automatic),
            ("From: x@customer.test\r\nX-Loop: ticketd support@example.test", false, Class::Automatic),
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
        ];
        for (headers, sent, want) in cases {
            let v = class_of(headers, *sent);
            assert_eq!(v.class, *want, "{headers}: {v:?}");
        }
        assert!(class_of("From: alice@example.test\r\nTo: anna@customer.test", false).forged_staff);
        // Only a Message-ID ticketd sent makes mail its own.
        let own = classify_with("From: support@example.test\r\nTo: anna@customer.test", false, &staff(), true);
        assert_eq!(own.class, Class::Own);
    }

    #[test]
    fn dkim_counts_only_above_the_company_mtas_received_header() {
        let staff = staff_with(&[TrustSource::Dkim]);
        let from = "From: alice@example.test\r\nTo: anna@customer.test";
        let genuine = format!("{LMTP}\r\n{OUR_DKIM}\r\n{SMTP_IN}\r\n{from}");
        assert_eq!(classify_with(&genuine, false, &staff, false).class, Class::StaffResponse);
        // The sender's own header, below our Received: never.
        let forged = format!("{LMTP}\r\n{SMTP_IN}\r\n{OUR_DKIM}\r\n{from}");
        assert!(classify_with(&forged, false, &staff, false).forged_staff);
        // One hop only (no LMTP header): the forged result is still below the boundary.
        let one_hop = format!("{SMTP_IN}\r\n{OUR_DKIM}\r\n{from}");
        assert!(classify_with(&one_hop, false, &staff, false).forged_staff);
        // Put in by IMAP APPEND: no host of ours received it.
        assert!(classify_with(&format!("{OUR_DKIM}\r\n{from}"), false, &staff, false).forged_staff);
        // Another authserv-id, or a signature of another domain.
        let other = format!(
            "{LMTP}\r\nAuthentication-Results: evil.test; dkim=pass header.d=example.test\r\n{SMTP_IN}\r\n{from}"
        );
        assert!(classify_with(&other, false, &staff, false).forged_staff);
        let unaligned = format!(
            "{LMTP}\r\nAuthentication-Results: mail.example.test; dkim=pass header.d=evil.test\r\n{SMTP_IN}\r\n{from}"
        );
        assert!(classify_with(&unaligned, false, &staff, false).forged_staff);
        // A client that says HELO mail.example.test is not one of ours: Postfix's verified
        // name is "unknown", so the boundary stays at its header.
        let helo = SMTP_IN.replace("from [127.0.0.1]", "from mail.example.test");
        let spoofed = format!("{LMTP}\r\n{helo}\r\n{OUR_DKIM}\r\n{SMTP_IN}\r\n{from}");
        assert!(classify_with(&spoofed, false, &staff, false).forged_staff);
        // Not listed: not trusted, however genuine.
        let unlisted = staff_with(&[TrustSource::SentFolder]);
        assert!(classify_with(&genuine, false, &unlisted, false).forged_staff);
    }

    #[test]
    fn submission_needs_postfixs_exact_comment_in_its_own_header() {
        let staff = staff_with(&[TrustSource::Submission]);
        let from = "From: alice@example.test\r\nTo: anna@customer.test";
        let submitted = "Received: from mail.example.test (unknown [127.0.0.1])\r\n\t(Authenticated sender: alice@example.test)\r\n\t\
            by mail.example.test (Postfix) with ESMTPA id C3 for <support@example.test>; Sun,  6 Dec 2026 02:41:01 +0000";
        assert_eq!(
            classify_with(&format!("{LMTP}\r\n{submitted}\r\n{from}"), false, &staff, false).class,
            Class::StaffResponse
        );
        // The local part alone is what Postfix writes for a plain login name.
        let local = submitted.replace("sender: alice@example.test", "sender: alice");
        assert_eq!(
            classify_with(&format!("{LMTP}\r\n{local}\r\n{from}"), false, &staff, false).class,
            Class::StaffResponse
        );
        // Someone else's login does not vouch for Alice.
        let bob = submitted.replace("sender: alice@example.test", "sender: bob@example.test");
        assert!(classify_with(&format!("{LMTP}\r\n{bob}\r\n{from}"), false, &staff, false).forged_staff);
        // The words in an envelope sender that Dovecot repeats, or below our header: no.
        let envelope = LMTP.replace("<a@b>", "<\"(Authenticated sender: alice@example.test)\"@evil.test>");
        assert!(classify_with(&format!("{envelope}\r\n{SMTP_IN}\r\n{from}"), false, &staff, false).forged_staff);
        assert!(
            classify_with(&format!("{LMTP}\r\n{SMTP_IN}\r\n{submitted}\r\n{from}"), false, &staff, false).forged_staff
        );
        // A HELO cannot carry a comment: Postfix writes its spaces as '?'.
        let helo = SMTP_IN.replace("from [127.0.0.1]", "from x?(Authenticated?sender:?alice)");
        assert!(classify_with(&format!("{LMTP}\r\n{helo}\r\n{from}"), false, &staff, false).forged_staff);
    }

    #[test]
    fn exchange_header_counts_only_when_listed_and_alone() {
        let from = "From: alice@example.test\r\nTo: anna@customer.test\r\nX-MS-Exchange-Organization-AuthAs: Internal";
        assert!(class_of(from, false).forged_staff, "not listed by default");
        let exchange = staff_with(&[TrustSource::Exchange]);
        assert_eq!(classify_with(from, false, &exchange, false).class, Class::StaffResponse);
        let twice = format!("{from}\r\nX-MS-Exchange-Organization-AuthAs: Internal");
        assert!(classify_with(&twice, false, &exchange, false).forged_staff);
    }

    /// The MTA's verdict on the sender, as classify records it.
    fn forged_sender(m: &ParsedMessage, staff: &StaffConfig) -> Option<String> {
        let (own, spam) = ([Address("support@example.test".into())], spam());
        let ctx = FilterContext {
            staff,
            spam: &spam,
            own_addresses: &own,
            from_sent_folder: false,
            scan: None,
            sent_by_ticketd: false,
        };
        classify(m, &ctx).forged_sender
    }

    #[test]
    fn the_mtas_dmarc_or_spf_failure_marks_a_forged_sender() {
        let staff = staff();
        let forged = |ar: &str| {
            let raw = format!(
                "{LMTP}\r\nAuthentication-Results: mail.example.test; {ar}\r\n{SMTP_IN}\r\nFrom: x@pills.test\r\n\
                 Subject: s\r\nMessage-ID: <m@x>\r\n\r\nb\r\n"
            );
            forged_sender(&parse(raw.as_bytes()), &staff)
        };
        assert!(forged("dmarc=fail header.from=pills.test").is_some());
        assert!(forged("spf=fail smtp.mailfrom=pills.test; dkim=none").is_some());
        assert!(forged("spf=fail smtp.mailfrom=pills.test; dkim=pass header.d=pills.test").is_none());
        assert!(forged("spf=pass smtp.mailfrom=pills.test").is_none());
        // The sender's own claim of a failure (below our header) is not the MTA's verdict.
        let raw = format!(
            "{LMTP}\r\n{SMTP_IN}\r\nAuthentication-Results: mail.example.test; dmarc=fail\r\nFrom: x@pills.test\r\n\r\nb\r\n"
        );
        assert!(forged_sender(&parse(raw.as_bytes()), &staff).is_none());
    }

    #[test]
    fn a_value_the_verifier_copied_from_the_envelope_is_one_value() {
        // rspamd writes the envelope sender into its own result; a quoted local part must not
        // start a result of its own.
        let staff = staff_with(&[TrustSource::Dkim]);
        let from = "From: alice@example.test\r\nTo: anna@customer.test";
        let injected = format!(
            "{LMTP}\r\nAuthentication-Results: mail.example.test; spf=pass \
             smtp.mailfrom=\"x;dkim=pass header.d=example.test y\"@evil.test; dkim=none\r\n{SMTP_IN}\r\n{from}"
        );
        assert!(classify_with(&injected, false, &staff, false).forged_staff);
        let in_comment = format!(
            "{LMTP}\r\nAuthentication-Results: mail.example.test; spf=pass (sender \"x);dkim=pass header.d=example.test(\") \
             smtp.mailfrom=evil.test\r\n{SMTP_IN}\r\n{from}"
        );
        assert!(classify_with(&in_comment, false, &staff, false).forged_staff);
        let quoted_d = format!(
            "{LMTP}\r\nAuthentication-Results: mail.example.test; dkim=pass header.d=\"example.test\"\r\n{SMTP_IN}\r\n{from}"
        );
        assert!(classify_with(&quoted_d, false, &staff, false).forged_staff);
        // The real thing, with comments and a version, still counts.
        let genuine = format!(
            "{LMTP}\r\nAuthentication-Results: mail.example.test 1; dkim=pass (2048-bit key; unprotected) \
             header.d=example.test header.i=@example.test header.b=\"AbC\"\r\n{SMTP_IN}\r\n{from}"
        );
        assert_eq!(classify_with(&genuine, false, &staff, false).class, Class::StaffResponse);
    }

    #[test]
    fn common_postfix_and_dovecot_layouts_are_read() {
        let staff = staff_with(&[TrustSource::Dkim, TrustSource::Submission]);
        let from = "From: alice@example.test\r\nTo: anna@customer.test";
        // smtpd_tls_received_header = yes puts TLS details (nested parentheses) before "by";
        // Dovecot's LMTP over TCP writes its client's address in a comment.
        let tcp_lmtp = "Received: from mail.example.test ([127.0.0.1])\r\n\tby mail.example.test with LMTPS id x\r\n\t\
            (envelope-from <a@b>) for <support@example.test>; Sun, 06 Dec 2026 02:41:01 +0000";
        let tls_in = "Received: from out.partner.test (out.partner.test [192.0.2.7])\r\n\t(using TLSv1.3 with cipher \
            TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits))\r\n\t\
            (No client certificate requested)\r\n\tby mail.example.test (Postfix) with ESMTPS id 1A2B";
        let genuine = format!("{tcp_lmtp}\r\n{OUR_DKIM}\r\n{tls_in}\r\n{from}");
        assert_eq!(classify_with(&genuine, false, &staff, false).class, Class::StaffResponse);
        let forged = format!("{tcp_lmtp}\r\n{tls_in}\r\n{OUR_DKIM}\r\n{from}");
        assert!(classify_with(&forged, false, &staff, false).forged_staff);
        let submitted = "Received: from client (unknown [192.0.2.9])\r\n\t(using TLSv1.3 with cipher \
            TLS_AES_128_GCM_SHA256 (128/128 bits))\r\n\t(Authenticated sender: alice)\r\n\tby mail.example.test \
            (Postfix) with ESMTPSA id 3C4D";
        let only_submission = staff_with(&[TrustSource::Submission]);
        let ok = format!("{tcp_lmtp}\r\n{submitted}\r\n{from}");
        assert_eq!(classify_with(&ok, false, &only_submission, false).class, Class::StaffResponse);
        // A client certificate's name shown by Postfix cannot stand in for the comment: it is
        // never the last comment before "by".
        let cn =
            "Received: from client (unknown [192.0.2.9])\r\n\t(Client CN \"a) (Authenticated sender: alice) (b\", \
            Issuer \"x\" (not verified))\r\n\tby mail.example.test (Postfix) with ESMTPS id 5E6F";
        assert!(classify_with(&format!("{tcp_lmtp}\r\n{cn}\r\n{from}"), false, &only_submission, false).forged_staff);
    }

    #[test]
    fn received_headers_are_read_clause_by_clause() {
        let h =
            hop("from a.test (b.test [1.2.3.4]) (Authenticated sender: u) by mx.test (Postfix) with ESMTPSA id 1; d");
        assert_eq!(
            h,
            Hop {
                from: Some("a.test"),
                verified: Some("b.test"),
                authenticated: Some("u"),
                by: Some("mx.test"),
                with: Some("ESMTPSA")
            }
        );
        let h = hop("by mx.test (Postfix, from userid 0) id 2; d");
        assert_eq!((h.from, h.by, h.with), (None, Some("mx.test"), None));
    }
}
