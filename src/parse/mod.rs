//! Parse: raw RFC 5322 bytes into an owned [`ParsedMessage`] with decoded text, addresses,
//! threading headers and attachments, using mail-parser.
//!
//! This stage is pure and must never fail: a message the parser cannot make sense of (or that
//! makes it panic) still yields a [`ParsedMessage`] flagged `unparsable`, and the raw bytes are
//! kept by the caller, so no mail is ever dropped.

pub mod forward;
pub mod limits;
pub mod repair;
pub mod reply;
pub mod subject;

use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::{DateTime, TimeZone, Utc};
use limits::MimeLimit;
use mail_parser::{Address as MpAddress, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

/// A decoded message, owning everything later stages need.
#[derive(Clone, Debug, Default)]
pub struct ParsedMessage {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: String,
    pub from: Option<Sender>,
    pub reply_to: Option<Sender>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub delivered_to: Vec<String>,
    pub date: Option<DateTime<Utc>>,
    /// The whole decoded text (text/plain preferred; HTML made readable).
    pub text: String,
    /// The new part of a reply, without quoted history and signature (best effort).
    pub new_text: String,
    /// Header fields as (lower-case name, unfolded raw value), in order.
    pub headers: Vec<(String, String)>,
    /// The top-level MIME type, e.g. "multipart/report".
    pub content_type: String,
    pub attachments: Vec<ParsedAttachment>,
    /// SHA-256 of the raw bytes.
    pub content_hash: String,
    /// SHA-256 of what stays the same in every copy of a message (From, To, Cc, Subject, Date
    /// and the body), unlike Received or Delivered-To: identity where Message-ID is missing.
    pub copy_hash: String,
    /// Problems met while decoding ("unparsable", ...).
    pub flags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    /// Lower case.
    pub address: String,
}

#[derive(Clone, Debug)]
pub struct ParsedAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

impl ParsedMessage {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a header, by lower-case name.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The Message-ID, or for a message without one a stable synthetic ID made from its
    /// content, so that duplicates are still recognised.
    pub fn identity(&self) -> String {
        match &self.message_id {
            Some(id) => id.clone(),
            None => {
                let hash = if self.copy_hash.is_empty() { &self.content_hash } else { &self.copy_hash };
                format!("synthetic.{}@ticketd.invalid", &hash[..32.min(hash.len())])
            }
        }
    }

    pub fn is_flagged(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// Message-IDs this message refers to: In-Reply-To, then References.
    pub fn referenced_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.references.clone();
        for id in &self.in_reply_to {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

/// A hash over the parts every copy of a message shares, whichever mailbox it was delivered to.
pub fn copy_hash(raw: &[u8]) -> String {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(raw.len());
    let (head, body) = raw.split_at(split);
    let mut hasher = Sha256::new();
    for (name, value) in scan_headers(head) {
        if matches!(name.as_str(), "from" | "to" | "cc" | "subject" | "date") {
            hasher.update(name.as_bytes());
            hasher.update(b":");
            hasher.update(value.as_bytes());
            hasher.update(b"\n");
        }
    }
    hasher.update(body);
    hex::encode(hasher.finalize())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses a message; never fails and never panics.
pub fn parse(raw: &[u8]) -> ParsedMessage {
    let parsed = catch_unwind(AssertUnwindSafe(|| parse_unguarded(raw)));
    match parsed {
        Ok(m) => m,
        Err(_) => {
            tracing::warn!(bytes = raw.len(), "the MIME parser panicked on a message; it is kept raw and flagged");
            unparsable(raw)
        }
    }
}

/// [`parse`] without the panic guard, for fuzzing: a panic here is a bug to fix.
#[doc(hidden)]
pub fn parse_unguarded(raw: &[u8]) -> ParsedMessage {
    let content_hash = sha256_hex(raw);
    match parse_inner(raw) {
        Some(mut m) => {
            m.content_hash = content_hash;
            m.copy_hash = copy_hash(raw);
            m
        }
        None => unparsable(raw),
    }
}

fn unparsable(raw: &[u8]) -> ParsedMessage {
    ParsedMessage {
        subject: "(message could not be parsed)".into(),
        headers: scan_headers(raw),
        content_hash: sha256_hex(raw),
        flags: vec!["unparsable".into()],
        ..Default::default()
    }
}

fn parse_inner(raw: &[u8]) -> Option<ParsedMessage> {
    if raw.is_empty() {
        return None;
    }
    // Before the full parser: it nests message/rfc822 parts as nested values, and a deep enough
    // nest overflows the stack when dropped, which nothing catches.
    if let Err(limit) = limits::mime_depth(raw, limits::MAX_MIME_DEPTH) {
        return Some(headers_only(raw, limit));
    }
    let message = MessageParser::default().parse(raw)?;
    // Without a single header field a mail must have, it is not a message, whatever the
    // parser made of it (RFC 5322 §3.6: From and Date are required; we accept any of these).
    let known = ["from", "date", "subject", "message-id", "to", "sender", "received", "return-path"];
    if !message.headers_raw().any(|(name, _)| known.contains(&name.to_ascii_lowercase().as_str())) {
        return None;
    }
    let mut m = header_fields(&message);
    // multipart/alternative: mail-parser lists text/plain first when there is one; an HTML-only
    // message is made readable here, links and lists kept.
    let text = match message.text_part(0) {
        Some(part) if part.is_text_html() => message.body_html(0).map(|h| html_to_text(&h)).unwrap_or_default(),
        _ => message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
    };
    let text = repaired_text(&message, &text).unwrap_or(text).replace("\r\n", "\n");
    if has_unknown_charset(&message) {
        // The parser guessed; the text may be imperfect, and staff should know why.
        m.flags.push("unknown_charset".to_string());
    }
    m.new_text = reply::new_part(&text);
    m.text = text;
    m.attachments = message
        .attachments()
        .map(|part| {
            let ct = mime_type(part, "application/octet-stream");
            let content = match part.message() {
                // A forwarded message keeps its own headers: store it whole.
                Some(inner) => inner.raw_message().to_vec(),
                None => repaired_contents(&message, part).unwrap_or_else(|| part.contents().to_vec()),
            };
            let mut name = part.attachment_name().unwrap_or("attachment").to_string();
            if name.contains('\u{fffd}') {
                name = repaired_filename(&message, part).unwrap_or(name);
            }
            ParsedAttachment { filename: safe_filename(&name), content_type: ct, content }
        })
        .collect();
    Some(m)
}

/// What the top-level header fields say: addresses, subject, threading headers, the header list
/// and the top-level MIME type; flagged `no_message_id` where there is none.
fn header_fields(message: &mail_parser::Message<'_>) -> ParsedMessage {
    let message_id = message.message_id().map(clean_id).filter(|s| !s.is_empty());
    let flags = if message_id.is_none() { vec!["no_message_id".to_string()] } else { Vec::new() };
    ParsedMessage {
        message_id,
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        subject: repaired_header(message, "subject", message.subject().unwrap_or("")).trim().to_string(),
        from: message.from().and_then(first_sender).map(|mut s| {
            if let Some(name) = s.name.as_deref().filter(|n| n.contains('\u{fffd}')) {
                s.name = Some(repaired_display_name(message, name));
            }
            s
        }),
        reply_to: message.reply_to().and_then(first_sender),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        delivered_to: message
            .headers_raw()
            .filter(|(n, _)| n.eq_ignore_ascii_case("delivered-to"))
            .map(|(_, v)| v.trim().trim_matches(['<', '>']).to_ascii_lowercase())
            .collect(),
        date: message.date().and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single()),
        headers: message.headers_raw().map(|(n, v)| (n.to_ascii_lowercase(), unfold(v))).collect(),
        content_type: mime_type(message.root_part(), "text/plain"),
        flags,
        ..Default::default()
    }
}

/// A message that is not handed to the full parser (docs/message-handling.md "Hostile and broken input"): its
/// top-level header block alone is read, the rest is left to the raw copy the caller keeps for
/// every message flagged `unparsable`.
fn headers_only(raw: &[u8], limit: MimeLimit) -> ParsedMessage {
    let (flag, why) = match limit {
        MimeLimit::TooDeep => (
            "too_deep",
            format!(
                "This message nests MIME parts deeper than {} levels; it was stored raw and not decoded.",
                limits::MAX_MIME_DEPTH
            ),
        ),
        MimeLimit::TooCostly => (
            "too_costly",
            "This message's MIME structure is too costly to decode (multipart parts whose boundary never \
comes); it was stored raw and not decoded."
                .to_string(),
        ),
    };
    tracing::warn!(bytes = raw.len(), flag, "a message is not handed to the MIME parser; it is kept raw and flagged");
    let head = limits::header_block(raw);
    let mut m = match MessageParser::default().parse_headers(head) {
        Some(message) => header_fields(&message),
        None => ParsedMessage { headers: scan_headers(head), ..Default::default() },
    };
    m.text = why.clone();
    m.new_text = why;
    m.flags.splice(0..0, ["unparsable".to_string(), flag.to_string()]);
    m
}

/// A part's "type/subtype" in lower case, or `default` when it declares none.
fn mime_type(part: &mail_parser::MessagePart<'_>, default: &str) -> String {
    part.content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| default.into())
        .to_ascii_lowercase()
}

fn raw_body<'a>(message: &'a mail_parser::Message<'_>, part: &mail_parser::MessagePart<'_>) -> &'a [u8] {
    let raw = message.raw_message();
    let (start, end) = (part.offset_body as usize, part.offset_end as usize);
    raw.get(start.min(end)..end.min(raw.len())).unwrap_or_default()
}

fn lenient_decode(message: &mail_parser::Message<'_>, part: &mail_parser::MessagePart<'_>) -> Option<Vec<u8>> {
    // The declared encoding: the parser may have given up on it and kept the raw text.
    let declared = part.content_transfer_encoding().map(|e| e.trim().to_ascii_lowercase());
    match declared.as_deref() {
        Some("base64") => Some(repair::lenient_base64(raw_body(message, part))),
        Some("quoted-printable") => Some(repair::lenient_qp(raw_body(message, part))),
        _ => None,
    }
}

fn charset_of<'a>(part: &'a mail_parser::MessagePart<'_>) -> Option<&'a str> {
    part.content_type().and_then(|ct| ct.attribute("charset"))
}

/// The text part decoded leniently (RFC 2045 §6.7, §6.8): base64 with junk or without padding,
/// quoted-printable with a stray "=". None for 7bit/8bit parts, which need no decoding.
fn repaired_text(message: &mail_parser::Message<'_>, parsed: &str) -> Option<String> {
    let id = *message.text_body.first()?;
    let part = message.parts.get(id as usize)?;
    // Quoted-printable and base64 text is always decoded here: the parser reads "= 49" as a hex
    // escape and gives up on base64 with one stray character, and both are common.
    let _ = parsed;
    let bytes = lenient_decode(message, part)?;
    let text = repair::decode_charset(&bytes, charset_of(part));
    Some(if part.is_text_html() { html_to_text(&text) } else { text })
}

/// Attachment bytes decoded leniently where the parser lost some (base64 without padding).
fn repaired_contents(message: &mail_parser::Message<'_>, part: &mail_parser::MessagePart<'_>) -> Option<Vec<u8>> {
    let ours = lenient_decode(message, part)?;
    let base64 = part.content_transfer_encoding().is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
    (base64 && ours.len() > part.contents().len()).then_some(ours)
}

/// The raw bytes of a top-level header's value.
fn raw_header<'a>(
    message: &'a mail_parser::Message<'_>,
    part: &mail_parser::MessagePart<'_>,
    name: &str,
) -> Option<&'a [u8]> {
    let h = part.headers.iter().find(|h| h.name().eq_ignore_ascii_case(name))?;
    message.raw_message().get(h.offset_start as usize..h.offset_end as usize)
}

/// A header value decoded again when the parser's result shows damage (U+FFFD): encoded words
/// joined before decoding, or 8-bit bytes read in the body's charset.
fn repaired_header(message: &mail_parser::Message<'_>, name: &str, parsed: &str) -> String {
    if !parsed.contains('\u{fffd}') {
        return parsed.to_string();
    }
    let Some(raw) = raw_header(message, message.root_part(), name) else { return parsed.to_string() };
    let unfolded: Vec<u8> = raw.iter().copied().filter(|b| *b != b'\r' && *b != b'\n').collect();
    let fixed = if std::str::from_utf8(&unfolded).is_ok() {
        repair::decode_encoded_words(&String::from_utf8_lossy(&unfolded))
    } else {
        // 8-bit bytes sent without encoding: the charset of the body is the best witness.
        let charset = message.text_body.first().and_then(|id| message.parts.get(*id as usize)).and_then(charset_of);
        repair::decode_charset(&unfolded, charset.or(Some("windows-1252")))
    };
    if fixed.contains('\u{fffd}') {
        parsed.to_string()
    } else {
        fixed.trim().to_string()
    }
}

fn repaired_display_name(message: &mail_parser::Message<'_>, parsed: &str) -> String {
    let fixed = repaired_header(message, "from", parsed);
    if fixed == parsed {
        return parsed.to_string();
    }
    // The display name is what stands before the address.
    let name = fixed.split('<').next().unwrap_or("").trim().trim_matches('"').trim();
    if name.is_empty() {
        parsed.to_string()
    } else {
        name.to_string()
    }
}

/// An attachment name again from the raw RFC 2231 parameters, continuations joined as bytes.
fn repaired_filename(message: &mail_parser::Message<'_>, part: &mail_parser::MessagePart<'_>) -> Option<String> {
    for (header, param) in [("content-disposition", "filename"), ("content-type", "name")] {
        let raw = raw_header(message, part, header)?;
        let text = String::from_utf8_lossy(raw).replace(['\r', '\n'], "");
        if let Some(name) = repair::rfc2231_param(&text, param).filter(|n| !n.contains('\u{fffd}')) {
            return Some(name);
        }
    }
    None
}

/// Whether a part declares a charset no decoder knows (the parser then falls back to a guess).
fn has_unknown_charset(message: &mail_parser::Message<'_>) -> bool {
    message.parts.iter().any(|part| {
        let Some(label) = part.content_type().and_then(|ct| ct.attribute("charset")) else { return false };
        let label = label.trim().to_ascii_lowercase();
        !matches!(label.as_str(), "" | "utf-8" | "utf8" | "us-ascii" | "ascii")
            && mail_parser::decoders::charsets::map::charset_decoder(label.as_bytes()).is_none()
    })
}

/// Readable plain text from HTML: no tags, scripts or styles; links, lists and paragraphs kept.
///
/// At most [`limits::MAX_HTML_INPUT`] bytes are read, and elements nested deeper than
/// [`limits::MAX_HTML_DEPTH`] are dropped first (their text kept): html2text takes time quadratic
/// in the nesting depth.
pub fn html_to_text(html: &str) -> String {
    let html = limits::flatten_html(limits::prefix(html, limits::MAX_HTML_INPUT), limits::MAX_HTML_DEPTH);
    match html2text::config::plain().no_table_borders().string_from_read(html.as_bytes(), 100_000) {
        Ok(text) => text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string(),
        Err(_) => String::new(),
    }
}

fn clean_id(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).trim().to_string()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

fn first_sender(address: &MpAddress<'_>) -> Option<Sender> {
    address.iter().find_map(|a| {
        let addr = a.address()?.trim().to_ascii_lowercase();
        (!addr.is_empty())
            .then(|| Sender { name: a.name().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()), address: addr })
    })
}

fn addresses(address: Option<&MpAddress<'_>>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address())
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn unfold(value: &str) -> String {
    value.split(['\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Header fields read by hand (lower-case names, unfolded values), for a message the parser gave
/// up on or was never given. Simple and linear: it cannot fail.
pub fn scan_headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("").split("\n\n").next().unwrap_or("");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    headers
}

/// A file name that is safe to show and to write: no directories, no control characters, no
/// leading dots, at most 200 bytes.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        "attachment".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_without_message_id_share_their_identity() {
        let one = b"Received: from a\r\nDelivered-To: support@x\r\nFrom: p@c.test\r\nSubject: s\r\n\r\nbody\r\n";
        let two = b"Received: from b\r\nDelivered-To: billing@x\r\nFrom: p@c.test\r\nSubject: s\r\n\r\nbody\r\n";
        let other = b"From: p@c.test\r\nSubject: s\r\n\r\nanother body\r\n";
        assert_eq!(parse(one).identity(), parse(two).identity());
        assert_ne!(parse(one).identity(), parse(other).identity());
        assert!(parse(one).identity().starts_with("synthetic."));
    }

    #[test]
    fn decodes_headers_and_ids() {
        let raw = b"From: =?utf-8?q?Anna_Kov=C3=A1cs?= <Anna@Customer.test>\r\n\
To: support@example.test, Billing <billing@example.test>\r\n\
Subject: =?iso-8859-2?q?Nem_m=FBk=F6dik?=\r\n\
Message-ID: <abc@customer.test>\r\n\
In-Reply-To: <ack1@example.test>\r\n\
References: <x@y> <ack1@example.test>\r\n\
Date: Mon, 23 Nov 2026 09:14:00 +0100\r\n\r\nHello\r\n";
        let m = parse(raw);
        assert_eq!(m.message_id.as_deref(), Some("abc@customer.test"));
        assert_eq!(m.subject, "Nem működik");
        let from = m.from.clone().unwrap();
        assert_eq!(from.address, "anna@customer.test");
        assert_eq!(from.name.as_deref(), Some("Anna Kovács"));
        assert_eq!(m.to, vec!["support@example.test", "billing@example.test"]);
        assert_eq!(m.in_reply_to, vec!["ack1@example.test"]);
        assert_eq!(m.references, vec!["x@y", "ack1@example.test"]);
        assert_eq!(m.referenced_ids(), vec!["x@y", "ack1@example.test"]);
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-11-23T08:14:00+00:00");
        assert_eq!(m.text.trim(), "Hello");
        assert!(m.flags.is_empty());
    }

    #[test]
    fn garbage_is_flagged_not_dropped() {
        for raw in [&b""[..], b"\x00\x01\x02", b"no header here at all"] {
            let m = parse(raw);
            assert!(m.is_flagged("unparsable") || m.is_flagged("no_message_id"), "{raw:?}: {m:?}");
            assert_eq!(m.content_hash.len(), 64);
        }
    }

    fn nested_rfc822(levels: usize) -> Vec<u8> {
        let mut raw = b"From: Anna <anna@customer.test>\r\nTo: support@example.test\r\nCc: boss@customer.test\r\n\
Subject: =?utf-8?q?Sz=C3=A1mla?=\r\nMessage-ID: <deep@customer.test>\r\nIn-Reply-To: <ack@example.test>\r\n\
References: <ack@example.test>\r\nDate: Mon, 23 Nov 2026 09:14:00 +0100\r\nContent-Type: message/rfc822\r\n\r\n"
            .to_vec();
        for i in 1..levels {
            raw.extend_from_slice(
                format!("From: a{i}@x.test\r\nSubject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
            );
        }
        raw.extend_from_slice(b"From: x@x.test\r\nSubject: bottom\r\n\r\ntext\r\n");
        raw
    }

    fn assert_headers_only(m: &ParsedMessage) {
        assert!(m.is_flagged("unparsable") && m.is_flagged("too_deep"), "{:?}", m.flags);
        assert_eq!(m.message_id.as_deref(), Some("deep@customer.test"));
        assert_eq!(m.subject, "Számla");
        assert_eq!(m.from.as_ref().map(|f| f.address.as_str()), Some("anna@customer.test"));
        assert_eq!(m.to, vec!["support@example.test"]);
        assert_eq!(m.cc, vec!["boss@customer.test"]);
        assert_eq!(m.in_reply_to, vec!["ack@example.test"]);
        assert_eq!(m.references, vec!["ack@example.test"]);
        assert!(m.date.is_some());
        assert!(m.text.contains("deeper than 20 levels"), "{}", m.text);
        assert!(m.attachments.is_empty());
        assert_eq!(m.content_hash.len(), 64);
    }

    #[test]
    fn deeply_nested_messages_are_not_handed_to_the_parser() {
        // ~3 MB: mail-parser builds a value 35,000 levels deep, whose drop overflows this
        // thread's stack.
        let raw = nested_rfc822(35_000);
        assert!(raw.len() > 2_500_000);
        assert_headers_only(&parse(&raw));
        assert_headers_only(&parse(&nested_rfc822(21)));
        assert!(!parse(&nested_rfc822(20)).is_flagged("too_deep"));

        let mut raw = b"From: Anna <anna@customer.test>\r\nTo: support@example.test\r\nCc: boss@customer.test\r\n\
Subject: =?utf-8?q?Sz=C3=A1mla?=\r\nMessage-ID: <deep@customer.test>\r\nIn-Reply-To: <ack@example.test>\r\n\
References: <ack@example.test>\r\nDate: Mon, 23 Nov 2026 09:14:00 +0100\r\n"
            .to_vec();
        for i in 0..35_000 {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n").as_bytes(),
            );
        }
        raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\ntext\r\n");
        for i in (0..35_000).rev() {
            raw.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
        }
        let m = parse(&raw);
        assert_headers_only(&m);
        assert_eq!(m.content_type, "multipart/mixed");
    }

    #[test]
    fn a_forwarded_message_is_parsed_as_usual() {
        // multipart/mixed > message/rfc822 > multipart/alternative: three levels.
        let raw = b"From: Anna <anna@customer.test>\r\nTo: support@example.test\r\nSubject: Fwd: order\r\n\
Message-ID: <fwd@customer.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee below.\r\n\
--outer\r\nContent-Type: message/rfc822\r\n\r\n\
From: shop@shop.test\r\nSubject: order\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
--alt\r\nContent-Type: text/plain\r\n\r\nYour order\r\n--alt\r\nContent-Type: text/html\r\n\r\n<p>Your order</p>\r\n\
--alt--\r\n\r\n--outer--\r\n";
        assert_eq!(limits::mime_depth(raw, limits::MAX_MIME_DEPTH), Ok(3));
        let m = parse(raw);
        assert!(m.flags.is_empty(), "{:?}", m.flags);
        assert_eq!(m.text.trim(), "See below.");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].content_type, "message/rfc822");
        assert!(String::from_utf8_lossy(&m.attachments[0].content).contains("Your order"));
    }

    #[test]
    fn deep_html_is_converted_with_its_text() {
        let html = format!("<p>before</p>{}deep text{}<p>after</p>", "<div>".repeat(100_000), "</div>".repeat(100_000));
        let text = html_to_text(&html);
        assert!(text.contains("before") && text.contains("deep text"), "{text}");
        // The input is capped: what comes after 512 KB is not read.
        assert!(!text.contains("after"));
        let ordinary =
            "<html><body><p>Hello <b>Anna</b>,</p><ul><li>one<li>two</ul><a href=\"https://x.test\">link</a>";
        assert!(matches!(limits::flatten_html(ordinary, limits::MAX_HTML_DEPTH), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\x\\..\\evil.exe"), "evil.exe");
        assert_eq!(safe_filename(".hidden"), "hidden");
        assert_eq!(safe_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(safe_filename(""), "attachment");
        assert_eq!(safe_filename("számla.pdf"), "számla.pdf");
    }
}
