//! Bounds on what one hostile message can cost (docs/message-handling.md "Hostile and broken input"): MIME
//! nesting measured before the full parser sees a message, and caps on the text given to reply
//! extraction and HTML conversion. The raw message is always kept whole by the caller; these only
//! bound the work done to decode it.
//!
//! Pure functions over bytes, linear in their input; nothing here may panic on any input.

use std::borrow::Cow;
use std::sync::OnceLock;

use mail_parser::parsers::MessageStream;
use mail_parser::{GetHeader, Header, HeaderName, HeaderValue, MessageParser};

/// MIME nesting (multipart and message/rfc822 levels) handed to the full parser, at most.
pub const MAX_MIME_DEPTH: usize = 20;
/// The top-level header block read from a message that is not handed to the full parser.
pub const MAX_HEADER_BLOCK: usize = 256 * 1024;
/// Text given to reply extraction.
pub const MAX_REPLY_TEXT: usize = 256 * 1024;
/// A Content-Type or Content-Disposition field handed to the full parser, at most: it reads
/// their parameters in time quadratic in their number (RFC 2231 continuations, languages).
pub const MAX_MIME_FIELD: usize = 16 * 1024;
/// HTML given to html2text.
pub const MAX_HTML_INPUT: usize = 512 * 1024;
/// Elements nested deeper than this are dropped (their text kept) before html2text.
pub const MAX_HTML_DEPTH: usize = 64;

/// mail-parser 0.11 parses a base64 or quoted-printable encoded message/rfc822 part as a message
/// only this many encodings deep (its `MAX_NESTED_ENCODED`); deeper, the part stays binary.
const ENCODED_MESSAGE_DEPTH: usize = 3;

/// Why a message is not handed to the full parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MimeLimit {
    /// Nested deeper than the limit.
    TooDeep,
    /// It would make the parser work far beyond its size: multipart parts whose boundary never
    /// comes (each sends the parser to the end of the message and back), or a Content-Type or
    /// Content-Disposition field longer than [`MAX_MIME_FIELD`].
    TooCostly,
}

/// The deepest MIME nesting of `raw` as mail-parser would build it (each multipart and each
/// message/rfc822 or message/global part one level), or why it must not be parsed: deeper than
/// `limit`, or too costly to walk. Stops as soon as either is known.
///
/// This walks the message the way `MessageParser::parse` does, with mail-parser's own header
/// parser and boundary search but without building or decoding anything (an encoded nested
/// message is decoded, as the parser would, at most three encodings deep), so a structure the
/// parser would nest cannot hide from it. The parser keeps a nested message as a nested value
/// and drops it recursively: about 35,000 levels overflow the stack, which nothing catches.
pub fn mime_depth(raw: &[u8], limit: usize) -> Result<usize, MimeLimit> {
    let mut walk = Walk { parser: walk_parser(), limit, deepest: 0, wasted: 0, budget: 8 * raw.len() + (8 << 20) };
    walk.message(raw, 0, ENCODED_MESSAGE_DEPTH)?;
    Ok(walk.deepest)
}

/// The header parser of the walk: `MessageParser::default()`'s field parsers, field by field
/// (some end a field elsewhere than at the line break: a Date parser that swallows the line
/// end after a letter in the zone, for one; the walk must split fields exactly as the parser
/// does), except Content-Type and Content-Disposition, read raw here: their parser takes time
/// quadratic in the number of parameters, so Content-Type is parsed afterwards from its own
/// bytes, once its length is known. Both end a field where the raw reader does.
#[doc(hidden)]
pub fn walk_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        use HeaderName::*;
        let mut parser = MessageParser::new();
        for name in [Subject, Comments, ContentDescription, ContentLocation, ContentTransferEncoding] {
            parser = parser.header_text(name);
        }
        for name in [
            From,
            To,
            Cc,
            Bcc,
            ReplyTo,
            Sender,
            ResentTo,
            ResentFrom,
            ResentBcc,
            ResentCc,
            ResentSender,
            ListArchive,
            ListHelp,
            ListId,
            ListOwner,
            ListPost,
            ListSubscribe,
            ListUnsubscribe,
        ] {
            parser = parser.header_address(name);
        }
        for name in [Date, ResentDate] {
            parser = parser.header_date(name);
        }
        for name in [MessageId, References, InReplyTo, ReturnPath, ContentId, ResentMessageId] {
            parser = parser.header_id(name);
        }
        for name in [Keywords, ContentLanguage] {
            parser = parser.header_comma_separated(name);
        }
        // MIME-Version and every other field: raw, as by default.
        parser.header_received(Received).header_raw(ContentType).header_raw(ContentDisposition)
    })
}

/// What the parser's state says about the parts it reads next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A message (the top level or a nested message/rfc822).
    Message,
    /// multipart/digest: a part without Content-Type is a message.
    Digest,
    /// Any other multipart.
    Multipart,
}

struct State {
    kind: Kind,
    boundary: Option<Vec<u8>>,
}

struct Walk<'p> {
    parser: &'p MessageParser,
    limit: usize,
    deepest: usize,
    /// Bytes the parser would scan in vain (a boundary search that fails and rewinds).
    wasted: usize,
    budget: usize,
}

impl Walk<'_> {
    fn reached(&mut self, depth: usize) -> Result<(), MimeLimit> {
        self.deepest = self.deepest.max(depth);
        if depth > self.limit {
            Err(MimeLimit::TooDeep)
        } else {
            Ok(())
        }
    }

    /// One message, `base` levels deep, mirroring mail-parser 0.11's `MessageParser::parse_`
    /// step by step (same stream primitives, same decisions).
    fn message(&mut self, data: &[u8], base: usize, encoded_budget: usize) -> Result<(), MimeLimit> {
        let mut stream = MessageStream::new(data);
        let mut state = State { kind: Kind::Message, boundary: None };
        // Each entry: the enclosing state, and whether it was left for a nested message.
        let mut stack: Vec<(State, bool)> = Vec::new();
        let mut headers: Vec<Header<'_>> = Vec::new();
        'outer: loop {
            headers.clear();
            if !stream.parse_headers(self.parser, &mut headers) {
                break;
            }
            let mut last_content_type = None;
            for h in &headers {
                if matches!(h.name, HeaderName::ContentType | HeaderName::ContentDisposition) {
                    if (h.offset_end as usize).saturating_sub(h.offset_start as usize) > MAX_MIME_FIELD {
                        return Err(MimeLimit::TooCostly);
                    }
                    if h.name == HeaderName::ContentType {
                        last_content_type = data.get(h.offset_start as usize..h.offset_end as usize);
                    }
                }
            }
            // The last one counts, as in the parser's `header_value`.
            let content_type_value = last_content_type.map(|field| MessageStream::new(field).parse_content_type());
            let content_type = content_type_value.as_ref().and_then(|c| c.as_content_type());
            let (multipart, mut message) = match content_type {
                Some(ct) => match ct.ctype() {
                    "multipart" => {
                        (Some(if ct.subtype() == Some("digest") { Kind::Digest } else { Kind::Multipart }), false)
                    }
                    "message" => (None, matches!(ct.subtype(), Some("rfc822") | Some("global"))),
                    _ => (None, false),
                },
                None => (None, state.kind == Kind::Digest),
            };
            if let (Some(kind), Some(boundary)) = (multipart, content_type.and_then(|ct| ct.attribute("boundary"))) {
                let start = stream.offset();
                if stream.seek_next_part(boundary.as_bytes()) {
                    let inner = State { kind, boundary: Some(boundary.as_bytes().to_vec()) };
                    stack.push((std::mem::replace(&mut state, inner), false));
                    self.reached(base + stack.len())?;
                    stream.skip_crlf();
                    continue;
                }
                // The parser searched to the end in vain and reads the part as text.
                self.wasted += data.len() - start;
                if self.wasted > self.budget {
                    return Err(MimeLimit::TooCostly);
                }
                message = false;
            }
            let encoded = match headers.header_value(&HeaderName::ContentTransferEncoding) {
                Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("base64") => Some(true),
                Some(HeaderValue::Text(e)) if e.eq_ignore_ascii_case("quoted-printable") => Some(false),
                _ => None,
            };
            if message && encoded.is_none() {
                // The body is the nested message's header block, read next at one level deeper.
                let inner = State { kind: Kind::Message, boundary: state.boundary.take() };
                stack.push((std::mem::replace(&mut state, inner), true));
                self.reached(base + stack.len())?;
                continue;
            }
            let decoded = match encoded {
                Some(base64) if message && encoded_budget > 0 => {
                    let boundary = state.boundary.as_deref().unwrap_or_default();
                    let (end, bytes) = if base64 {
                        stream.decode_base64_mime(boundary)
                    } else {
                        stream.decode_quoted_printable_mime(boundary)
                    };
                    (end != usize::MAX).then_some(bytes)
                }
                _ => None,
            };
            match decoded {
                Some(bytes) => {
                    let depth = base + stack.len() + 1;
                    self.reached(depth)?;
                    self.message(&bytes, depth, encoded_budget - 1)?;
                }
                // Every decoder, and the raw reader, stops right after the first "--boundary"
                // (anywhere, not only at a line start) or at the end; where the boundary never
                // comes, the parser forgets it.
                None => match state.boundary.as_deref() {
                    Some(boundary) => {
                        if !stream.seek_part_end(Some(boundary)).1 {
                            state.boundary = None;
                        }
                    }
                    None => stream.seek_end(),
                },
            }
            if state.boundary.is_some() {
                loop {
                    if state.kind == Kind::Message {
                        // The end of a nested message: back to the multipart around it.
                        match stack.pop() {
                            Some((mut outer, true)) => {
                                outer.boundary = state.boundary.take();
                                state = outer;
                            }
                            _ => break 'outer,
                        }
                    }
                    if !stream.is_multipart_end() {
                        // The next part's header block.
                        break;
                    }
                    if let Some((outer, _)) = stack.pop() {
                        state = outer;
                        if let Some(boundary) = state.boundary.as_deref() {
                            if stream.seek_next_part_offset(boundary).is_some() {
                                continue;
                            }
                        }
                    }
                    break 'outer;
                }
            } else if stream.offset() >= data.len() {
                break;
            }
        }
        Ok(())
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The longest prefix of `s` of at most `max` bytes that ends at a line end where there is one
/// (a line cut in half could look like a signature delimiter), else at a character boundary.
pub fn prefix_lines(s: &str, max: usize) -> &str {
    let head = prefix(s, max);
    if head.len() == s.len() {
        return s;
    }
    match head.rfind('\n') {
        Some(end) => &head[..end + 1],
        None => head,
    }
}

/// The top-level header block of a message: up to and including the first empty line, at most
/// [`MAX_HEADER_BLOCK`] bytes.
pub fn header_block(raw: &[u8]) -> &[u8] {
    let mut end = raw.len().min(MAX_HEADER_BLOCK);
    let mut line_start = 0;
    for (i, &b) in raw[..end].iter().enumerate() {
        if b == b'\n' {
            if raw[line_start..i].iter().all(|c| *c == b'\r' || *c == b' ' || *c == b'\t') {
                end = i + 1;
                break;
            }
            line_start = i + 1;
        }
    }
    &raw[..end]
}

/// Elements without content: they never open a level.
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link",
    "meta", "param", "source", "track", "wbr",
];
/// Elements whose content is raw text up to their end tag: a "<" inside is not a tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"];
/// Elements a sibling of the same group closes (HTML's implied end tags), and the elements a
/// search for the open one does not pass.
const IMPLIED_END: &[(&[&str], &[&str])] = &[
    (&["p"], &["button", "table", "td", "th", "caption", "object", "marquee", "template", "applet"]),
    (&["li"], &["ul", "ol", "table", "td", "th", "caption", "object", "marquee", "template", "applet"]),
    (&["dd", "dt"], &["dl", "table", "td", "th", "caption", "object", "marquee", "template", "applet"]),
    (&["option"], &["select", "datalist", "optgroup", "table", "td", "th"]),
    (&["optgroup"], &["select", "table", "td", "th"]),
    (&["td", "th"], &["tr", "table", "template"]),
    (&["tr"], &["table", "template"]),
    (&["thead", "tbody", "tfoot"], &["table", "template"]),
    (&["rb", "rt", "rp", "rtc"], &["ruby"]),
];

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Where a tag whose name ends at `from` ends: after its '>', quoted attribute values skipped.
fn tag_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    let mut quote = None;
    let mut after_equals = false;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'>' => return i + 1,
                b'"' | b'\'' if after_equals => quote = Some(c),
                _ => {}
            },
        }
        if !c.is_ascii_whitespace() {
            after_equals = quote.is_none() && c == b'=';
        }
        i += 1;
    }
    b.len()
}

/// `html` with every element nested deeper than `max_depth` removed, its text kept: html2text
/// takes time quadratic in the nesting depth. Markup nested no deeper comes back unchanged.
/// One pass; the open elements are tracked as HTML does for the usual unclosed ones (an open `<p>`,
/// `<li>` or `<td>` closed by the next, an end tag closing what it encloses).
pub fn flatten_html(html: &str, max_depth: usize) -> Cow<'_, str> {
    let b = html.as_bytes();
    let mut out: Option<String> = None;
    // Up to where `html` has been copied to `out`.
    let mut copied = 0;
    let mut open: Vec<&str> = Vec::new();
    // Elements opened beyond `max_depth` and not closed yet: dropped.
    let mut overflow = 0usize;
    let mut i = 0;
    while let Some(lt) = b.get(i..).and_then(|rest| rest.iter().position(|c| *c == b'<')).map(|p| p + i) {
        let rest = &b[lt + 1..];
        if rest.starts_with(b"!--") {
            i = find(b, lt + 4, b"-->").map_or(b.len(), |p| p + 3);
            continue;
        }
        if rest.first().is_some_and(|c| *c == b'!' || *c == b'?') {
            i = find(b, lt + 1, b">").map_or(b.len(), |p| p + 1);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = lt + 1 + usize::from(closing);
        if !b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            i = lt + 1;
            continue;
        }
        let name_end = b[name_start..]
            .iter()
            .position(|c| c.is_ascii_whitespace() || *c == b'/' || *c == b'>')
            .map_or(b.len(), |p| p + name_start);
        // ASCII up to here, so these are character boundaries.
        let name = &html[name_start..name_end];
        let end = tag_end(b, name_end);
        let is = |list: &[&str]| list.iter().any(|n| n.eq_ignore_ascii_case(name));
        if !closing && is(RAW_TEXT) {
            // Raw text up to the end tag: a "<" inside is not a tag.
            let mut at = end;
            let mut content_end = b.len();
            while let Some(p) = find(b, at, b"</") {
                if b.get(p + 2..p + 2 + name.len()).is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
                    content_end = p;
                    break;
                }
                at = p + 2;
            }
            if overflow == 0 && open.len() < max_depth {
                // Kept; its end tag is read next and closes it.
                open.push(name);
                i = content_end;
            } else {
                // Dropped whole, script or style text included.
                let whole = tag_end(b, content_end.saturating_add(2 + name.len()).min(b.len()));
                let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
                o.push_str(&html[copied..lt]);
                copied = whole;
                i = whole;
            }
            continue;
        }
        let keep = if closing {
            if overflow > 0 {
                overflow -= 1;
                false
            } else {
                if let Some(k) = open.iter().rposition(|n| n.eq_ignore_ascii_case(name)) {
                    open.truncate(k);
                }
                true
            }
        } else if is(VOID) {
            true
        } else {
            if overflow == 0 {
                if let Some((group, fence)) = IMPLIED_END.iter().find(|(group, _)| is(group)) {
                    let same = |n: &&str| group.iter().any(|g| g.eq_ignore_ascii_case(n));
                    let fenced = |n: &&str| fence.iter().any(|f| f.eq_ignore_ascii_case(n));
                    if let Some(k) = open.iter().rposition(|n| same(n) || fenced(n)).filter(|k| same(&open[*k])) {
                        open.truncate(k);
                    }
                }
            }
            if overflow == 0 && open.len() < max_depth {
                open.push(name);
                true
            } else {
                overflow += 1;
                false
            }
        };
        if !keep {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(&html[copied..lt]);
            copied = end;
        }
        i = end;
    }
    match out {
        Some(mut o) => {
            o.push_str(&html[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(html),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_rfc822(levels: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..levels {
            out.extend_from_slice(
                format!("From: a{i}@x.test\r\nSubject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
            );
        }
        out.extend_from_slice(b"From: x@x.test\r\nSubject: bottom\r\n\r\ntext\r\n");
        out
    }

    fn nested_multipart(levels: usize, close: bool) -> Vec<u8> {
        let mut out = b"From: a@x.test\r\nSubject: s\r\n".to_vec();
        for i in 0..levels {
            out.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\npreamble\r\n--b{i}\r\n").as_bytes(),
            );
        }
        out.extend_from_slice(b"Content-Type: text/plain\r\n\r\ntext\r\n");
        if close {
            for i in (0..levels).rev() {
                out.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
            }
        }
        out
    }

    #[test]
    fn counts_multipart_and_message_levels() {
        assert_eq!(mime_depth(b"From: a@x\r\n\r\nhello\r\n", 20), Ok(0));
        assert_eq!(mime_depth(&nested_rfc822(3), 20), Ok(3));
        assert_eq!(mime_depth(&nested_rfc822(20), 20), Ok(20));
        assert_eq!(mime_depth(&nested_rfc822(21), 20), Err(MimeLimit::TooDeep));
        assert_eq!(mime_depth(&nested_multipart(20, true), 20), Ok(20));
        assert_eq!(mime_depth(&nested_multipart(21, true), 20), Err(MimeLimit::TooDeep));
        assert_eq!(mime_depth(&nested_multipart(21, false), 20), Err(MimeLimit::TooDeep));
    }

    #[test]
    fn siblings_do_not_add_up() {
        // Thirty forwarded messages side by side, each two levels deep, closed properly.
        let mut raw = b"From: a@x\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n".to_vec();
        for i in 0..30 {
            raw.extend_from_slice(
                format!(
                    "--outer\r\nContent-Type: message/rfc822\r\n\r\nFrom: b{i}@x\r\n\
Content-Type: multipart/alternative; BOUNDARY=\"in{i}\"\r\n\r\n--in{i}\r\nContent-Type: text/plain\r\n\r\n\
t\r\n--in{i}--\r\n"
                )
                .as_bytes(),
            );
        }
        raw.extend_from_slice(b"--outer--\r\n");
        assert_eq!(mime_depth(&raw, 20), Ok(3));
    }

    #[test]
    fn a_boundary_in_the_middle_of_a_line_counts_as_the_parser_reads_it() {
        // mail-parser ends a part at "--b" anywhere; what follows is read as the next part.
        let mut raw = b"From: a@x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext --b\r\n".to_vec();
        raw.extend_from_slice(&nested_rfc822(25));
        assert_eq!(mime_depth(&raw, 20), Err(MimeLimit::TooDeep));
    }

    #[test]
    fn an_encoded_nested_message_is_looked_into() {
        fn base64(bytes: &[u8]) -> String {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
                for i in 0..4 {
                    out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
                }
            }
            out
        }
        let inner = base64(&nested_rfc822(30));
        let raw = format!(
            "From: a@x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{inner}\r\n"
        );
        assert_eq!(mime_depth(raw.as_bytes(), 20), Err(MimeLimit::TooDeep));
    }

    #[test]
    fn a_digest_part_without_content_type_is_a_message() {
        let mut raw = b"From: a@x\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n".to_vec();
        raw.extend_from_slice(b"From: inner@x\r\n\r\nbody\r\n--d--\r\n");
        assert_eq!(mime_depth(&raw, 20), Ok(2));
    }

    #[test]
    fn boundaries_that_never_come_are_too_costly() {
        let mut raw = b"From: a@x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for i in 0..20_000 {
            raw.extend_from_slice(
                format!("--b\r\nContent-Type: multipart/mixed; boundary=never{i}\r\n\r\n{}\r\n", "x".repeat(200))
                    .as_bytes(),
            );
        }
        assert_eq!(mime_depth(&raw, 20), Err(MimeLimit::TooCostly));
    }

    #[test]
    fn header_fields_end_where_the_parser_ends_them() {
        // mail-parser's Date parser reads two more bytes after a letter in the zone: here the
        // line end, so the empty line does not end the header block and Content-Type follows.
        let level = "From: a@x\r\nDate: Mon, 1 Jan 2024 00:00:00 +01t\r\n\r\nContent-Type: message/rfc822\r\n\r\n";
        let raw = format!("{}From: b@x\r\n\r\ntext\r\n", level.repeat(25));
        fn depth(m: &mail_parser::Message<'_>, part: usize) -> usize {
            match m.parts.get(part).map(|p| &p.body) {
                Some(mail_parser::PartType::Multipart(ids)) => {
                    1 + ids.iter().map(|id| depth(m, *id as usize)).max().unwrap_or(0)
                }
                Some(mail_parser::PartType::Message(inner)) => 1 + depth(inner, 0),
                _ => 0,
            }
        }
        let parsed = MessageParser::default().parse(raw.as_bytes()).map(|m| depth(&m, 0));
        assert_eq!(parsed, Some(25));
        assert_eq!(mime_depth(raw.as_bytes(), 20), Err(MimeLimit::TooDeep));
        assert_eq!(mime_depth(raw.as_bytes(), 30), Ok(25));
    }

    #[test]
    fn a_huge_content_type_is_too_costly() {
        let params = "; name*1*=%FF".repeat(MAX_MIME_FIELD / 10);
        let raw = format!("From: a@x\r\nContent-Type: text/plain{params}\r\n\r\nbody\r\n");
        assert_eq!(mime_depth(raw.as_bytes(), 20), Err(MimeLimit::TooCostly));
        let raw = format!(
            "From: a@x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Disposition: attachment{params}\r\n\r\nx\r\n--b--\r\n"
        );
        assert_eq!(mime_depth(raw.as_bytes(), 20), Err(MimeLimit::TooCostly));
        // Folded over lines, an ordinary one is fine.
        let raw = "From: a@x\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n";
        assert_eq!(mime_depth(raw.as_bytes(), 20), Ok(1));
    }

    #[test]
    fn prefixes_end_on_character_and_line_boundaries() {
        assert_eq!(prefix("ab", 5), "ab");
        assert_eq!(prefix("aé", 2), "a");
        assert_eq!(prefix_lines("one\ntwo\nthree", 10), "one\ntwo\n");
        assert_eq!(prefix_lines("onetwothree", 5), "onetw");
        assert_eq!(header_block(b"A: b\r\nC: d\r\n\r\nbody"), b"A: b\r\nC: d\r\n\r\n");
        assert_eq!(header_block(b"A: b\nC: d\n\nbody"), b"A: b\nC: d\n\n");
        assert_eq!(header_block(b"A: b"), b"A: b");
    }

    #[test]
    fn ordinary_html_is_unchanged() {
        let html = "<!DOCTYPE html><html><head><style>p>a{x:1}</style><script>if (a<b) x='</div>';</script>\
</head><body><p>one<p>two<ul><li>a<li>b</ul><table><tr><td>1<td>2<tr><td>3</table>\
<img src=x alt='a>b'><br/><!-- <div> --></body></html>";
        assert!(matches!(flatten_html(html, 64), Cow::Borrowed(_)));
        // Hundreds of unclosed paragraphs and list items are siblings, not levels.
        let many = format!("<body>{}<ul>{}</ul></body>", "<p>para".repeat(500), "<li>item".repeat(500));
        assert!(matches!(flatten_html(&many, 64), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_html_is_flattened_and_keeps_its_text() {
        let html = format!("{}text{}", "<div class=\"x\">".repeat(1000), "</div>".repeat(1000));
        let flat = flatten_html(&html, 64);
        assert_eq!(flat.matches("<div").count(), 64);
        assert_eq!(flat.matches("</div>").count(), 64);
        assert!(flat.contains("text"));
        let tail = format!(
            "{}<b>deep</b><br><script>var a = '<div>';</script>{}after",
            "<span>".repeat(100),
            "</span>".repeat(100)
        );
        let flat = flatten_html(&tail, 64);
        assert!(flat.contains("deep<br>") && flat.ends_with("after"), "{flat}");
        assert!(!flat.contains("var a"), "{flat}");
        assert_eq!(flat.matches("<span>").count(), 64);
        assert_eq!(flat.matches("</span>").count(), 64);
    }
}
