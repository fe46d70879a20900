//! Forwarded messages written inline: when a staff member forwards a customer's mail to the
//! shared mailbox, the decoded text holds the customer's message below a marker and a header
//! block, as the common clients write them — Outlook (a line of underscores, "-----Original
//! Message-----", or New Outlook's bare "From:"/"Sent:" block), Gmail ("---------- Forwarded
//! message ---------"), Apple Mail ("Begin forwarded message:") and Thunderbird ("--------
//! Forwarded Message --------") — in English, Hungarian, Czech, Polish, German and Hebrew.
//! This module owns finding that block and reading its sender, recipients, subject, date and
//! text, so that a ticket can be opened for the original sender.
//!
//! It must never do I/O, touch the store, panic or take more than linear time on any input:
//! markers are looked for only in the first [`SEARCHED`] bytes, each line is looked at a bounded
//! number of times (a header block that turns out not to be one is stepped over, not read again
//! from each of its lines), the first marker found decides, and no regular expression is used. It judges the text only: an Outlook reply and an Outlook
//! forward look the same in the body, so the caller decides from the outer message (who sent
//! it, a "FW:"/"Fwd:"/"WG:" subject) whether a block found here is to be believed.
//!
//! Implementation notes:
//! - Bidi controls (which Gmail and Outlook put around Hebrew) are ignored in markers, labels
//!   and values; labels may be wrapped in `*` or `**` by HTML-to-text conversion.
//! - A block quoted with "> " is read with one level of quoting removed: either the lines after
//!   an unquoted marker (Apple Mail's plain-text forward), or a whole quoted tail of the text
//!   that opens with a marker — unless the line above it ends with ':' ("On ... wrote:"): a
//!   reply quoting a forward is not a forward.
//! - A line of underscores, dashes or box-drawing rules is a marker only when a From line
//!   follows it; a From line with no marker opens a block only when a Sent/Date line follows it
//!   and the block goes on to a To, Cc or Subject line.

use std::borrow::Cow;

use super::Sender;

/// Markers are looked for in this many leading bytes of the text (the block found may run on).
pub const SEARCHED: usize = 256 * 1024;
/// Lines of one header block, at most (continuation lines included).
const MAX_HEADER_LINES: usize = 30;
/// Blank lines skipped between a marker and its header block, at most.
const MAX_BLANK_AFTER_MARKER: usize = 8;
/// Lines kept past [`SEARCHED`], so that a block found near its end can still be read whole.
const LOOKAHEAD: usize = MAX_HEADER_LINES + MAX_BLANK_AFTER_MARKER + 2;
/// A marker line is short; longer lines are not looked at closely.
const MAX_MARKER_BYTES: usize = 400;
/// A label ends with ':' within this many characters from the start of its line.
const MAX_LABEL_CHARS: usize = 40;

/// A message forwarded inline, read from its header block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarded {
    /// The original sender.
    pub from: Sender,
    /// Lower-case addresses found in the To line (may be empty: Outlook often writes names only).
    pub to: Vec<String>,
    /// Lower-case addresses found in the Cc line.
    pub cc: Vec<String>,
    /// The forwarded message's subject as written, trimmed (may be empty).
    pub subject: String,
    /// The date line as written, trimmed.
    pub date: Option<String>,
    /// The forwarded message's own text: everything after its header block, trimmed.
    pub text: String,
    /// What the forwarder wrote above the forwarded block, trimmed.
    pub note: String,
    /// Which client style was recognised: "outlook", "gmail", "apple", "thunderbird".
    pub style: &'static str,
}

/// What [`find_inline`] found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No forwarded block in the text.
    None,
    /// The first (outermost) forwarded block, read.
    Forwarded(Forwarded),
    /// A forwarded-message marker was found, but its header block could not be read (no From
    /// line, or no address in it): `reason` says what was missing, in one English sentence.
    Unreadable { style: &'static str, reason: String },
}

const OUTLOOK: &str = "outlook";
const GMAIL: &str = "gmail";
const APPLE: &str = "apple";
const THUNDERBIRD: &str = "thunderbird";

/// What a header line carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    From,
    Date,
    To,
    Cc,
    Subject,
    /// A label clients write in the block that ticketd does not need (Importance, Bcc, ...).
    Other,
}

/// Header labels, lower case, with whitespace collapsed; per field, in every language handled
/// (and a few more that clients write beside them).
const LABELS: &[(Field, &[&str])] = &[
    (Field::From, &["from", "von", "absender", "feladó", "od", "מאת", "de", "van", "fra", "från"]),
    (
        Field::Date,
        &[
            "date",
            "sent",
            "sent at",
            "datum",
            "gesendet",
            "dátum",
            "elküldve",
            "küldve",
            "küldés ideje",
            "odesláno",
            "datum odeslání",
            "data",
            "wysłane",
            "wysłano",
            "data wysłania",
            "תאריך",
            "נשלח",
            "envoyé",
            "enviado",
            "fecha",
            "verzonden",
        ],
    ),
    (Field::To, &["to", "an", "címzett", "címzettek", "komu", "do", "אל", "à", "para", "aan", "til", "till"]),
    (Field::Cc, &["cc", "kopie", "másolat", "másolatot kap", "kopia", "kopia do", "dw", "עותק"]),
    (Field::Subject, &["subject", "betreff", "tárgy", "předmět", "temat", "נושא", "objet", "asunto", "onderwerp"]),
    (
        Field::Other,
        &[
            "reply-to",
            "antwort an",
            "válaszcím",
            "odpověď komu",
            "odpowiedź do",
            "השב אל",
            "bcc",
            "blindkopie",
            "titkos másolat",
            "skrytá kopie",
            "udw",
            "עותק מוסתר",
            "importance",
            "wichtigkeit",
            "fontosság",
            "důležitost",
            "priorytet",
            "ważność",
            "חשיבות",
            "attachments",
            "anlagen",
            "anhänge",
            "mellékletek",
            "melléklet",
            "přílohy",
            "załączniki",
            "קבצים מצורפים",
            "organization",
            "organisation",
            "newsgroups",
        ],
    ),
];

/// Phrases between dashes that mark a forward (Gmail, Thunderbird and others).
const FORWARD_PHRASES: &[&str] = &[
    "forwarded message",
    "továbbított üzenet",
    "továbbított levél",
    "weitergeleitete nachricht",
    "přeposlaná zpráva",
    "przekazana wiadomość",
    "przekazywana wiadomość",
    "הודעה שהועברה",
    "הודעה מועברת",
];
/// Phrases between dashes that mark Outlook's original message (old Thunderbird's too).
const ORIGINAL_PHRASES: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "originalnachricht",
    "eredeti üzenet",
    "eredeti levél",
    "původní zpráva",
    "oryginalna wiadomość",
    "wiadomość oryginalna",
    "הודעה מקורית",
];
/// Apple Mail's opening line, without its colon.
const APPLE_PHRASES: &[&str] = &[
    "begin forwarded message",
    "anfang der weitergeleiteten nachricht",
    "anfang der weitergeleiteten e-mail",
    "továbbított levél kezdete",
    "továbbított üzenet kezdete",
    "začátek přeposlané zprávy",
    "początek przekazywanej wiadomości",
    "początek przekazanej wiadomości",
    "תחילת הודעה שהועברה",
    "תחילת ההודעה שהועברה",
];

/// A line that opens a forwarded block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    /// "---------- Forwarded message ---------" and its translations: `dashes` leading dashes,
    /// `capital` when written exactly "Forwarded Message" (Thunderbird's spelling).
    Forward { dashes: usize, capital: bool },
    /// "-----Original Message-----" and its translations.
    Original,
    /// "Begin forwarded message:" and its translations.
    Apple,
    /// A rule of underscores, dashes or box drawing: a marker only when a From line follows.
    Rule,
}

/// Finds the first (outermost) message forwarded inline in `text`, the decoded plain text of a
/// mail, and reads its header block.
///
/// Markers are looked for in the first [`SEARCHED`] bytes only; the forwarded text is taken to
/// the end of `text`. Linear in the length of `text`; never panics.
pub fn find_inline(text: &str) -> Found {
    let doc = Doc::new(text);
    let mut i = 0;
    while i < doc.lines.len() && doc.starts[i] < SEARCHED {
        match doc.candidate(i, false) {
            Ok(found) => return found,
            Err(next) => i = next.max(i + 1),
        }
    }
    match doc.quoted_tail() {
        Some(i) => doc.candidate(i, true).unwrap_or(Found::None),
        None => Found::None,
    }
}

/// The lines of a text with their byte offsets: those starting in the searched part and
/// [`LOOKAHEAD`] more.
struct Doc<'a> {
    text: &'a str,
    /// Without their line ends.
    lines: Vec<&'a str>,
    /// Where each line starts in `text`, and one more entry: where the last kept line ends.
    starts: Vec<usize>,
}

/// A header block read after a marker.
struct Block {
    fields: Vec<(Field, String)>,
    /// The first line after the block.
    end: usize,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut starts = Vec::new();
        let mut pos = 0;
        let mut past = 0;
        for piece in text.split_inclusive('\n') {
            if pos >= SEARCHED {
                if past == LOOKAHEAD {
                    break;
                }
                past += 1;
            }
            lines.push(piece.trim_end_matches('\n').trim_end_matches('\r'));
            starts.push(pos);
            pos += piece.len();
        }
        starts.push(pos);
        Doc { text, lines, starts }
    }

    /// Line `i`, with one level of quoting removed when `quoted`.
    fn line(&self, i: usize, quoted: bool) -> &'a str {
        if quoted {
            dequote(self.lines[i])
        } else {
            self.lines[i]
        }
    }

    /// The first line from `from` with something on it, past at most
    /// [`MAX_BLANK_AFTER_MARKER`] blank ones (a line of bare quoting is blank too).
    fn first_filled(&self, from: usize) -> Option<usize> {
        (from..self.lines.len()).take(MAX_BLANK_AFTER_MARKER + 1).find(|&k| !is_blank(dequote(self.lines[k])))
    }

    /// The block opening at line `i`, if one does: a marker with what follows it, or a bare
    /// Outlook header block. With `quoted_marker`, line `i` and everything after it are read
    /// with one level of quoting removed. When none does, the line to look at next.
    fn candidate(&self, i: usize, quoted_marker: bool) -> Result<Found, usize> {
        let line = self.line(i, quoted_marker);
        let note = &self.text[..self.starts[i]];
        if let Some(marker) = marker_of(line) {
            let next = self.first_filled(i + 1);
            let quoted = quoted_marker || next.is_some_and(|k| self.lines[k].starts_with('>'));
            if marker == Marker::Rule {
                // A rule is everywhere (signatures, footers): only one followed by From counts.
                let k = next.ok_or(i + 1)?;
                if split_label(self.line(k, quoted)).map(|(f, _)| f) != Some(Field::From) {
                    return Err(i + 1);
                }
            }
            let block = self.read_block(i + 1, quoted);
            let style = style_of(marker, &block);
            return Ok(self.finish(style, block, note, quoted));
        }
        // New Outlook: no marker, a From line directly followed by a Sent/Date line.
        if split_label(line).map(|(f, _)| f) != Some(Field::From) {
            return Err(i + 1);
        }
        let next = (i + 1..self.lines.len())
            .take(4)
            .map(|k| self.line(k, quoted_marker))
            .find(|l| !is_continuation(l))
            .and_then(split_label);
        if next.map(|(f, _)| f) != Some(Field::Date) {
            return Err(i + 1);
        }
        let block = self.read_block(i, quoted_marker);
        // Real blocks go on with To or Subject; prose that opens with "From: ..." and "Date:
        // ..." lines rarely does. A block starting on one of its lines would lack them too.
        if !block.fields.iter().any(|(f, _)| matches!(f, Field::To | Field::Cc | Field::Subject)) {
            return Err(block.end);
        }
        Ok(self.finish(OUTLOOK, block, note, quoted_marker))
    }

    /// The header block from line `from`: blank lines skipped, then `Label: value` lines (a line
    /// starting with whitespace continues the value above) up to the first blank line or line
    /// that is not one, [`MAX_HEADER_LINES`] at most.
    fn read_block(&self, from: usize, quoted: bool) -> Block {
        let mut fields: Vec<(Field, String)> = Vec::new();
        let Some(start) = self.first_filled(from) else {
            return Block { fields, end: from.min(self.lines.len()) };
        };
        let mut end = start;
        while end < self.lines.len() && end - start < MAX_HEADER_LINES {
            let line = self.line(end, quoted);
            if is_blank(line) {
                break;
            }
            if let Some((field, value)) = split_label(line) {
                fields.push((field, clean(value).trim().to_string()));
            } else if let Some((_, value)) = fields.last_mut().filter(|_| is_continuation(line)) {
                let more = clean(line);
                if !more.trim().is_empty() {
                    value.push(' ');
                    value.push_str(more.trim());
                }
            } else {
                break;
            }
            end += 1;
        }
        Block { fields, end }
    }

    /// The result for a marker of `style` whose header block is `block`.
    fn finish(&self, style: &'static str, block: Block, note: &str, quoted: bool) -> Found {
        let first = |want: Field| block.fields.iter().find(|(f, _)| *f == want).map(|(_, v)| v.as_str());
        let Some(from) = first(Field::From) else {
            let reason = if block.fields.is_empty() {
                "no From line follows the forwarded-message marker"
            } else {
                "the forwarded header block has no From line"
            };
            return Found::Unreadable { style, reason: reason.to_string() };
        };
        let Some(from) = parse_sender(from) else {
            return Found::Unreadable { style, reason: "the forwarded From line names no address".to_string() };
        };
        let list = |want: Field| {
            let mut out: Vec<String> = Vec::new();
            for (_, value) in block.fields.iter().filter(|(f, _)| *f == want) {
                for (_, _, address) in addresses_in(value) {
                    if !out.contains(&address) {
                        out.push(address);
                    }
                }
            }
            out
        };
        let rest = &self.text[self.starts[block.end]..];
        let text = if quoted {
            rest.lines().map(|l| dequote(l.trim_end_matches('\r'))).collect::<Vec<_>>().join("\n").trim().to_string()
        } else {
            rest.trim().to_string()
        };
        Found::Forwarded(Forwarded {
            from,
            to: list(Field::To),
            cc: list(Field::Cc),
            subject: first(Field::Subject).unwrap_or_default().to_string(),
            date: first(Field::Date).filter(|d| !d.is_empty()).map(str::to_string),
            text,
            note: note.trim().to_string(),
            style,
        })
    }

    /// The one line where a wholly quoted forward can open: the first filled line of the quoted
    /// tail of the text (after its last unquoted line with something on it), unless the line
    /// above it ends with ':' as a reply's "On ... wrote:" does.
    fn quoted_tail(&self) -> Option<usize> {
        // The whole text, not only the kept lines: everything after the candidate must be quoted.
        let mut tail_from = 0;
        let mut pos = 0;
        for piece in self.text.split_inclusive('\n') {
            pos += piece.len();
            let line = piece.trim_end_matches('\n').trim_end_matches('\r');
            if !line.starts_with('>') && !is_blank(line) && !is_link_footnote(line) {
                tail_from = pos;
            }
        }
        let k = (0..self.lines.len())
            .skip_while(|&k| self.starts[k] < tail_from)
            .find(|&k| !is_blank(dequote(self.lines[k])))?;
        if self.starts[k] >= SEARCHED || !self.lines[k].starts_with('>') {
            return None;
        }
        let above = self.text[..self.starts[k]].trim_end_matches(|c: char| c.is_whitespace() || is_direction_mark(c));
        (!above.ends_with(':')).then_some(k)
    }
}

/// The style a marker stands for, given the block after it: Thunderbird puts Subject first.
fn style_of(marker: Marker, block: &Block) -> &'static str {
    let subject_first = block.fields.first().is_some_and(|(f, _)| *f == Field::Subject);
    match marker {
        Marker::Forward { .. } if subject_first => THUNDERBIRD,
        Marker::Forward { capital: true, .. } => THUNDERBIRD,
        Marker::Forward { dashes, .. } if dashes >= 9 => GMAIL,
        Marker::Forward { .. } => THUNDERBIRD,
        Marker::Original if subject_first => THUNDERBIRD,
        Marker::Original | Marker::Rule => OUTLOOK,
        Marker::Apple => APPLE,
    }
}

/// Whether `c` is a bidi control, as Gmail and Outlook put around Hebrew.
fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` without bidi controls (borrowed when it has none, as nearly every line).
fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_direction_mark) {
        Cow::Owned(s.chars().filter(|c| !is_direction_mark(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Lower case, whitespace collapsed to single spaces.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn is_blank(line: &str) -> bool {
    line.chars().all(|c| c.is_whitespace() || is_direction_mark(c))
}

/// A link footnote as html2text writes them below the text ("[1]: mailto:a@example.com"): it
/// stands outside any quoting, so it does not end a quoted tail.
fn is_link_footnote(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once("]: "))
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A line that continues the header value above it: indented, not blank, not a label itself.
fn is_continuation(line: &str) -> bool {
    line.starts_with([' ', '\t']) && !is_blank(line) && split_label(line).is_none()
}

/// `line` with one level of "> " quoting removed.
fn dequote(line: &str) -> &str {
    match line.strip_prefix('>') {
        Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
        None => line,
    }
}

/// The marker `line` is, if any.
fn marker_of(line: &str) -> Option<Marker> {
    let t = line.trim_matches(|c: char| c.is_whitespace() || is_direction_mark(c) || c == '*');
    if t.is_empty() || t.len() > MAX_MARKER_BYTES {
        return None;
    }
    let first = t.chars().next()?;
    if matches!(first, '_' | '─' | '━' | '—') || (first == '-' && t.chars().all(|c| c == '-')) {
        return (t.chars().count() >= 10 && t.chars().all(|c| c == first)).then_some(Marker::Rule);
    }
    let t = clean(t);
    if let Some(inner) = t.strip_prefix("--") {
        let dashes = 2 + inner.chars().take_while(|c| *c == '-').count();
        let inner = inner.trim_matches(|c: char| c == '-' || c.is_whitespace());
        let phrase = normalize(inner);
        if FORWARD_PHRASES.contains(&phrase.as_str()) {
            return Some(Marker::Forward { dashes, capital: inner == "Forwarded Message" });
        }
        return ORIGINAL_PHRASES.contains(&phrase.as_str()).then_some(Marker::Original);
    }
    let phrase = normalize(t.trim_end_matches(|c: char| c == ':' || c.is_whitespace()));
    APPLE_PHRASES.contains(&phrase.as_str()).then_some(Marker::Apple)
}

/// A header line's field and its raw value (bidi controls not yet removed), if `line` is one:
/// `Label: value`, the label possibly wrapped in `*` or `**`.
fn split_label(line: &str) -> Option<(Field, &str)> {
    let s = line.trim_start_matches(|c: char| c.is_whitespace() || is_direction_mark(c) || c == '*');
    let (colon, _) = s.char_indices().take(MAX_LABEL_CHARS).find(|(_, c)| *c == ':')?;
    let label = normalize(clean(&s[..colon]).trim_matches(|c: char| c.is_whitespace() || c == '*'));
    let field = LABELS.iter().find(|(_, names)| names.contains(&label.as_str()))?.0;
    let after = s[colon + 1..].trim_start_matches(|c: char| c.is_whitespace() || is_direction_mark(c));
    let value = after.trim_start_matches('*');
    // A value in bold of its own ("**Subject:** **Broken**"): its closing stars go too.
    let opened = after.len() - value.len();
    let closed = value.len() - value.trim_end_matches('*').len();
    let value = if closed > 0 && closed <= opened { value.trim_end_matches('*') } else { value };
    Some((field, value.trim_start()))
}

/// The sender a From value names, or `None` when it holds no address. Reads `Name <addr>`,
/// `"Name" <addr>`, `Name [mailto:addr]`, `Name <mailto:addr>`, `addr`, `Name (addr)` and
/// `addr (Name)`, and what HTML-to-text conversion makes of them.
fn parse_sender(value: &str) -> Option<Sender> {
    let value = clean(value);
    let value = value.trim();
    let (start, end, address) = addresses_in(value).into_iter().next()?;
    let before = value[..start].trim_end_matches(|c: char| c.is_whitespace() || "<[(\"'*:".contains(c));
    let before = strip_suffix_ignore_case(before, "mailto");
    let mut name = trim_name(before);
    if name.is_empty() {
        // "addr (Name)".
        let after = &value[end..];
        if let Some((_, inside)) = after.split_once('(') {
            name = trim_name(inside.split(')').next().unwrap_or_default());
        }
    }
    let name = (!name.is_empty() && !name.eq_ignore_ascii_case(&address)).then(|| name.to_string());
    Some(Sender { name, address })
}

fn strip_suffix_ignore_case<'s>(s: &'s str, suffix: &str) -> &'s str {
    match s.len().checked_sub(suffix.len()) {
        Some(cut) if s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix) => &s[..cut],
        _ => s,
    }
}

/// A display name without the quotes, brackets and bold marks around it.
fn trim_name(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || "\"'*<>[]():,;".contains(c))
}

/// Every address in `value`, lower case, with the byte range where it is written, in order.
/// Separators are whitespace and the punctuation addresses are wrapped in (`<>`, `[]`, `()`,
/// quotes, `mailto:`), so lists separated by ',' or ';' are read too.
fn addresses_in(value: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let is_separator = |c: char| c.is_whitespace() || is_direction_mark(c) || "<>[](),;:\"".contains(c);
    let mut start = None;
    for (i, c) in value.char_indices().chain(std::iter::once((value.len(), ' '))) {
        match (is_separator(c), start) {
            (true, Some(s)) => {
                let token = &value[s..i];
                let trimmed = token.trim_start_matches(['\'', '*', '.']);
                let offset = s + (token.len() - trimmed.len());
                let trimmed = trimmed.trim_end_matches(['\'', '*', '.']);
                if is_address(trimmed) {
                    out.push((offset, offset + trimmed.len(), trimmed.to_lowercase()));
                }
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// Whether `token` looks like an address: one '@' between a local part and a domain of letters,
/// digits, dots and hyphens.
fn is_address(token: &str) -> bool {
    let Some((local, domain)) = token.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        && !local.chars().any(|c| c.is_control() || c == '@')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a fixture must read as.
    struct Want {
        style: &'static str,
        address: &'static str,
        name: Option<&'static str>,
        subject: &'static str,
        to: &'static [&'static str],
        text: &'static str,
        note: &'static str,
    }

    fn check(fixture: &str, want: &Want) -> Forwarded {
        let Found::Forwarded(got) = find_inline(fixture) else {
            panic!("not read as a forward: {:?}\n{fixture}", find_inline(fixture));
        };
        assert_eq!(got.style, want.style, "{fixture}");
        assert_eq!(got.from.address, want.address, "{fixture}");
        assert_eq!(got.from.name.as_deref(), want.name, "{fixture}");
        assert_eq!(got.subject, want.subject, "{fixture}");
        assert_eq!(got.to, want.to, "{fixture}");
        assert_eq!(got.text, want.text, "{fixture}");
        assert_eq!(got.note, want.note, "{fixture}");
        got
    }

    #[test]
    fn english() {
        let got = check(
            "Please open a ticket for this customer.\n\nThanks,\nPeter\n\n________________________________\n\
             From: Anna Smith <Anna.Smith@Example.com>\nSent: Monday, November 23, 2026 9:14 AM\n\
             To: Peter Jones <peter@ourco.example>\nCc: billing@ourco.example; \"Jones, Mary\" <Mary@ourco.example>\n\
             Subject: Invoice 2026-114 is wrong\n\nHello,\n\nthe invoice lists 12 licences; we have 10.\n\nAnna\n",
            &Want {
                style: OUTLOOK,
                address: "anna.smith@example.com",
                name: Some("Anna Smith"),
                subject: "Invoice 2026-114 is wrong",
                to: &["peter@ourco.example"],
                text: "Hello,\n\nthe invoice lists 12 licences; we have 10.\n\nAnna",
                note: "Please open a ticket for this customer.\n\nThanks,\nPeter",
            },
        );
        assert_eq!(got.cc, ["billing@ourco.example", "mary@ourco.example"]);
        assert_eq!(got.date.as_deref(), Some("Monday, November 23, 2026 9:14 AM"));
        check(
            "FYI, see below.\n\n-----Original Message-----\nFrom: Anna Smith [mailto:anna.smith@example.com]\n\
             Sent: Monday, November 23, 2026 9:14 AM\nTo: Peter Jones\nSubject: Printer offline\n\n\
             The printer on floor 2 is offline again.",
            &Want {
                style: OUTLOOK,
                address: "anna.smith@example.com",
                name: Some("Anna Smith"),
                subject: "Printer offline",
                to: &[],
                text: "The printer on floor 2 is offline again.",
                note: "FYI, see below.",
            },
        );
        check(
            "Can support take this one?\n\nFrom: Anna Smith <anna.smith@example.com>\n\
             Sent: Monday, November 23, 2026 9:14\n\
             To: Peter Jones <peter@ourco.example>; Support <support@ourco.example>\n\
             Subject: VPN does not connect\n\nSince this morning the VPN client says \"authentication failed\".",
            &Want {
                style: OUTLOOK,
                address: "anna.smith@example.com",
                name: Some("Anna Smith"),
                subject: "VPN does not connect",
                to: &["peter@ourco.example", "support@ourco.example"],
                text: "Since this morning the VPN client says \"authentication failed\".",
                note: "Can support take this one?",
            },
        );
        let got = check(
            "Forwarding this to support.\n\n---------- Forwarded message ---------\n\
             From: Anna Smith <anna.smith@example.com>\nDate: Mon, Nov 23, 2026 at 9:14 AM\n\
             Subject: Cannot log in\nTo: <peter@ourco.example>\n\n\nHi Peter,\n\nI cannot log in since the update.\n\nAnna\n",
            &Want {
                style: GMAIL,
                address: "anna.smith@example.com",
                name: Some("Anna Smith"),
                subject: "Cannot log in",
                to: &["peter@ourco.example"],
                text: "Hi Peter,\n\nI cannot log in since the update.\n\nAnna",
                note: "Forwarding this to support.",
            },
        );
        assert_eq!(got.date.as_deref(), Some("Mon, Nov 23, 2026 at 9:14 AM"));
        assert!(got.cc.is_empty());
        check(
            "Please handle.\n\nSent from my iPhone\n\nBegin forwarded message:\n\n\
             From: Anna Smith <anna.smith@example.com>\nSubject: Broken delivery\n\
             Date: 23 November 2026 at 09:14:00 CET\nTo: Peter Jones <peter@ourco.example>\n\n\
             The parcel arrived damaged.\n\nAnna",
            &Want {
                style: APPLE,
                address: "anna.smith@example.com",
                name: Some("Anna Smith"),
                subject: "Broken delivery",
                to: &["peter@ourco.example"],
                text: "The parcel arrived damaged.\n\nAnna",
                note: "Please handle.\n\nSent from my iPhone",
            },
        );
        let got = check(
            "Ticket please.\n\n-------- Forwarded Message --------\nSubject: \tRefund request\n\
             Date: \tMon, 23 Nov 2026 09:14:00 +0100\nFrom: \tAnna Smith <anna.smith@example.com>\n\
             To: \tpeter@ourco.example\n\n\n\nI would like a refund for order 5531.\n",
            &Want {
                style: THUNDERBIRD,
                address: "anna.smith@example.com",
                name: Some("Anna Smith"),
                subject: "Refund request",
                to: &["peter@ourco.example"],
                text: "I would like a refund for order 5531.",
                note: "Ticket please.",
            },
        );
        assert_eq!(got.date.as_deref(), Some("Mon, 23 Nov 2026 09:14:00 +0100"));
    }

    #[test]
    fn hungarian() {
        let got = check(
            "Kérlek, nyissatok jegyet.\n\nPéter\n\n________________________________\n\
             Feladó: Kovács Anna <kovacs.anna@pelda.hu>\nElküldve: 2026. november 23., hétfő 9:14\n\
             Címzett: Nagy Péter <peter@cegunk.hu>\nMásolatot kap: szamlazas@cegunk.hu\nTárgy: Hibás számla\n\n\
             Jó napot!\n\nA számlán 12 licenc szerepel, nekünk 10 van.\n\nKovács Anna",
            &Want {
                style: OUTLOOK,
                address: "kovacs.anna@pelda.hu",
                name: Some("Kovács Anna"),
                subject: "Hibás számla",
                to: &["peter@cegunk.hu"],
                text: "Jó napot!\n\nA számlán 12 licenc szerepel, nekünk 10 van.\n\nKovács Anna",
                note: "Kérlek, nyissatok jegyet.\n\nPéter",
            },
        );
        assert_eq!(got.cc, ["szamlazas@cegunk.hu"]);
        check(
            "Továbbítom.\n\n-----Eredeti üzenet-----\nFeladó: Kovács Anna [mailto:kovacs.anna@pelda.hu]\n\
             Küldve: 2026. november 23. 9:14\nCímzett: peter@cegunk.hu\nTárgy: Nem nyomtat a nyomtató\n\n\
             A második emeleti nyomtató megint nem működik.",
            &Want {
                style: OUTLOOK,
                address: "kovacs.anna@pelda.hu",
                name: Some("Kovács Anna"),
                subject: "Nem nyomtat a nyomtató",
                to: &["peter@cegunk.hu"],
                text: "A második emeleti nyomtató megint nem működik.",
                note: "Továbbítom.",
            },
        );
        check(
            "Átvenné a support?\n\nFeladó: Kovács Anna <kovacs.anna@pelda.hu>\n\
             Küldés ideje: 2026. november 23., hétfő 9:14\nCímzett: Nagy Péter <peter@cegunk.hu>\n\
             Tárgy: Nem csatlakozik a VPN\n\nMa reggel óta hitelesítési hibát ír a VPN kliens.",
            &Want {
                style: OUTLOOK,
                address: "kovacs.anna@pelda.hu",
                name: Some("Kovács Anna"),
                subject: "Nem csatlakozik a VPN",
                to: &["peter@cegunk.hu"],
                text: "Ma reggel óta hitelesítési hibát ír a VPN kliens.",
                note: "Átvenné a support?",
            },
        );
        check(
            "Továbbítom a supportnak.\n\n---------- Továbbított üzenet ---------\n\
             Feladó: Kovács Anna <kovacs.anna@pelda.hu>\nDate: 2026. nov. 23., H, 9:14\n\
             Subject: Nem tudok belépni\nTo: <peter@cegunk.hu>\n\n\nSzia Péter!\n\nA frissítés óta nem tudok belépni.",
            &Want {
                style: GMAIL,
                address: "kovacs.anna@pelda.hu",
                name: Some("Kovács Anna"),
                subject: "Nem tudok belépni",
                to: &["peter@cegunk.hu"],
                text: "Szia Péter!\n\nA frissítés óta nem tudok belépni.",
                note: "Továbbítom a supportnak.",
            },
        );
        check(
            "Intézzétek, kérlek.\n\nTovábbított levél kezdete:\n\nFeladó: Kovács Anna <kovacs.anna@pelda.hu>\n\
             Tárgy: Sérült csomag\nDátum: 2026. november 23. 9:14:00 CET\nCímzett: Nagy Péter <peter@cegunk.hu>\n\n\
             A csomag sérülten érkezett meg.",
            &Want {
                style: APPLE,
                address: "kovacs.anna@pelda.hu",
                name: Some("Kovács Anna"),
                subject: "Sérült csomag",
                to: &["peter@cegunk.hu"],
                text: "A csomag sérülten érkezett meg.",
                note: "Intézzétek, kérlek.",
            },
        );
        check(
            "Jegyet kérek.\n\n-------- Továbbított üzenet --------\nTárgy: \tVisszatérítés\n\
             Dátum: \tMon, 23 Nov 2026 09:14:00 +0100\nFeladó: \tKovács Anna <kovacs.anna@pelda.hu>\n\
             Címzett: \tpeter@cegunk.hu\n\nKérem vissza az 5531-es rendelés árát.",
            &Want {
                style: THUNDERBIRD,
                address: "kovacs.anna@pelda.hu",
                name: Some("Kovács Anna"),
                subject: "Visszatérítés",
                to: &["peter@cegunk.hu"],
                text: "Kérem vissza az 5531-es rendelés árát.",
                note: "Jegyet kérek.",
            },
        );
    }

    #[test]
    fn czech() {
        let got = check(
            "Prosím o tiket.\n\n________________________________\nOd: Jana Nováková <jana.novakova@priklad.cz>\n\
             Odesláno: pondělí 23. listopadu 2026 9:14\nKomu: Petr Dvořák <petr@firma.cz>\n\
             Kopie: fakturace@firma.cz\nPředmět: Chybná faktura\n\nDobrý den,\n\nna faktuře je 12 licencí, máme 10.",
            &Want {
                style: OUTLOOK,
                address: "jana.novakova@priklad.cz",
                name: Some("Jana Nováková"),
                subject: "Chybná faktura",
                to: &["petr@firma.cz"],
                text: "Dobrý den,\n\nna faktuře je 12 licencí, máme 10.",
                note: "Prosím o tiket.",
            },
        );
        assert_eq!(got.cc, ["fakturace@firma.cz"]);
        check(
            "Pro informaci.\n\n-----Původní zpráva-----\nOd: Jana Nováková <mailto:jana.novakova@priklad.cz>\n\
             Odesláno: pondělí 23. listopadu 2026 9:14\nKomu: Petr Dvořák\nPředmět: Tiskárna nejde\n\n\
             Tiskárna ve druhém patře je zase offline.",
            &Want {
                style: OUTLOOK,
                address: "jana.novakova@priklad.cz",
                name: Some("Jana Nováková"),
                subject: "Tiskárna nejde",
                to: &[],
                text: "Tiskárna ve druhém patře je zase offline.",
                note: "Pro informaci.",
            },
        );
        check(
            "Může to vzít podpora?\n\nOd: \"Nováková, Jana\" <jana.novakova@priklad.cz>\n\
             Datum: pondělí 23. listopadu 2026 9:14\nKomu: Petr Dvořák <petr@firma.cz>\n\
             Předmět: VPN se nepřipojí\n\nOd rána hlásí VPN klient chybu ověření.",
            &Want {
                style: OUTLOOK,
                address: "jana.novakova@priklad.cz",
                name: Some("Nováková, Jana"),
                subject: "VPN se nepřipojí",
                to: &["petr@firma.cz"],
                text: "Od rána hlásí VPN klient chybu ověření.",
                note: "Může to vzít podpora?",
            },
        );
        check(
            "Přeposílám podpoře.\n\n---------- Přeposlaná zpráva ---------\nOd: Jana Nováková <jana.novakova@priklad.cz>\n\
             Date: po 23. 11. 2026 v 9:14\nSubject: Nemůžu se přihlásit\nTo: <petr@firma.cz>\n\n\n\
             Ahoj Petře,\n\nod aktualizace se nemůžu přihlásit.",
            &Want {
                style: GMAIL,
                address: "jana.novakova@priklad.cz",
                name: Some("Jana Nováková"),
                subject: "Nemůžu se přihlásit",
                to: &["petr@firma.cz"],
                text: "Ahoj Petře,\n\nod aktualizace se nemůžu přihlásit.",
                note: "Přeposílám podpoře.",
            },
        );
        check(
            "Vyřiďte prosím.\n\nZačátek přeposlané zprávy:\n\nOd: Jana Nováková <jana.novakova@priklad.cz>\n\
             Předmět: Poškozená zásilka\nDatum: 23. listopadu 2026 v 9:14:00 SEČ\nKomu: Petr Dvořák <petr@firma.cz>\n\n\
             Zásilka dorazila poškozená.",
            &Want {
                style: APPLE,
                address: "jana.novakova@priklad.cz",
                name: Some("Jana Nováková"),
                subject: "Poškozená zásilka",
                to: &["petr@firma.cz"],
                text: "Zásilka dorazila poškozená.",
                note: "Vyřiďte prosím.",
            },
        );
        check(
            "Tiket prosím.\n\n-------- Přeposlaná zpráva --------\nPředmět: \tVrácení peněz\n\
             Datum: \tMon, 23 Nov 2026 09:14:00 +0100\nOd: \tJana Nováková <jana.novakova@priklad.cz>\n\
             Komu: \tpetr@firma.cz\n\nProsím o vrácení peněz za objednávku 5531.",
            &Want {
                style: THUNDERBIRD,
                address: "jana.novakova@priklad.cz",
                name: Some("Jana Nováková"),
                subject: "Vrácení peněz",
                to: &["petr@firma.cz"],
                text: "Prosím o vrácení peněz za objednávku 5531.",
                note: "Tiket prosím.",
            },
        );
    }

    #[test]
    fn polish() {
        let got = check(
            "Proszę o zgłoszenie.\n\n________________________________\n\
             Od: Katarzyna Wiśniewska <k.wisniewska@przyklad.pl>\nWysłane: poniedziałek, 23 listopada 2026 09:14\n\
             Do: Piotr Nowak <piotr@firma.pl>\nDW: faktury@firma.pl\nTemat: Błędna faktura\n\n\
             Dzień dobry,\n\nna fakturze jest 12 licencji, mamy 10.",
            &Want {
                style: OUTLOOK,
                address: "k.wisniewska@przyklad.pl",
                name: Some("Katarzyna Wiśniewska"),
                subject: "Błędna faktura",
                to: &["piotr@firma.pl"],
                text: "Dzień dobry,\n\nna fakturze jest 12 licencji, mamy 10.",
                note: "Proszę o zgłoszenie.",
            },
        );
        assert_eq!(got.cc, ["faktury@firma.pl"]);
        check(
            "Do wiadomości.\n\n-----Oryginalna wiadomość-----\nOd: Katarzyna Wiśniewska [mailto:k.wisniewska@przyklad.pl]\n\
             Wysłano: poniedziałek, 23 listopada 2026 09:14\nDo: piotr@firma.pl\nTemat: Drukarka nie działa\n\n\
             Drukarka na drugim piętrze znowu jest offline.",
            &Want {
                style: OUTLOOK,
                address: "k.wisniewska@przyklad.pl",
                name: Some("Katarzyna Wiśniewska"),
                subject: "Drukarka nie działa",
                to: &["piotr@firma.pl"],
                text: "Drukarka na drugim piętrze znowu jest offline.",
                note: "Do wiadomości.",
            },
        );
        check(
            "Czy wsparcie może to przejąć?\n\nOd: Katarzyna Wiśniewska <k.wisniewska@przyklad.pl>\n\
             Data: poniedziałek, 23 listopada 2026 09:14\nDo: Piotr Nowak <piotr@firma.pl>\n\
             Temat: VPN się nie łączy\n\nOd rana klient VPN zgłasza błąd uwierzytelniania.",
            &Want {
                style: OUTLOOK,
                address: "k.wisniewska@przyklad.pl",
                name: Some("Katarzyna Wiśniewska"),
                subject: "VPN się nie łączy",
                to: &["piotr@firma.pl"],
                text: "Od rana klient VPN zgłasza błąd uwierzytelniania.",
                note: "Czy wsparcie może to przejąć?",
            },
        );
        check(
            "Przekazuję do wsparcia.\n\n---------- Przekazana wiadomość ---------\n\
             Od: Katarzyna Wiśniewska <k.wisniewska@przyklad.pl>\nDate: pon., 23 lis 2026 o 09:14\n\
             Subject: Nie mogę się zalogować\nTo: <piotr@firma.pl>\n\n\nCześć Piotr,\n\nod aktualizacji nie mogę się zalogować.",
            &Want {
                style: GMAIL,
                address: "k.wisniewska@przyklad.pl",
                name: Some("Katarzyna Wiśniewska"),
                subject: "Nie mogę się zalogować",
                to: &["piotr@firma.pl"],
                text: "Cześć Piotr,\n\nod aktualizacji nie mogę się zalogować.",
                note: "Przekazuję do wsparcia.",
            },
        );
        check(
            "Proszę się tym zająć.\n\nPoczątek przekazywanej wiadomości:\n\n\
             Od: Katarzyna Wiśniewska <k.wisniewska@przyklad.pl>\nTemat: Uszkodzona przesyłka\n\
             Data: 23 listopada 2026 o 09:14:00 CET\nDo: Piotr Nowak <piotr@firma.pl>\n\nPrzesyłka dotarła uszkodzona.",
            &Want {
                style: APPLE,
                address: "k.wisniewska@przyklad.pl",
                name: Some("Katarzyna Wiśniewska"),
                subject: "Uszkodzona przesyłka",
                to: &["piotr@firma.pl"],
                text: "Przesyłka dotarła uszkodzona.",
                note: "Proszę się tym zająć.",
            },
        );
        check(
            "Zgłoszenie proszę.\n\n-------- Przekazana wiadomość --------\nTemat: \tZwrot pieniędzy\n\
             Data: \tMon, 23 Nov 2026 09:14:00 +0100\nOd: \tKatarzyna Wiśniewska <k.wisniewska@przyklad.pl>\n\
             Do: \tpiotr@firma.pl\n\nProszę o zwrot za zamówienie 5531.",
            &Want {
                style: THUNDERBIRD,
                address: "k.wisniewska@przyklad.pl",
                name: Some("Katarzyna Wiśniewska"),
                subject: "Zwrot pieniędzy",
                to: &["piotr@firma.pl"],
                text: "Proszę o zwrot za zamówienie 5531.",
                note: "Zgłoszenie proszę.",
            },
        );
    }

    #[test]
    fn german() {
        let got = check(
            "Bitte ein Ticket anlegen.\n\nGruß\nPeter\n\n________________________________\n\
             Von: Anna Müller <anna.mueller@beispiel.de>\nGesendet: Montag, 23. November 2026 09:14\n\
             An: Peter Schmidt <peter@firma.de>\nCc: buchhaltung@firma.de\nBetreff: Rechnung falsch\n\n\
             Guten Tag,\n\nauf der Rechnung stehen 12 Lizenzen, wir haben 10.",
            &Want {
                style: OUTLOOK,
                address: "anna.mueller@beispiel.de",
                name: Some("Anna Müller"),
                subject: "Rechnung falsch",
                to: &["peter@firma.de"],
                text: "Guten Tag,\n\nauf der Rechnung stehen 12 Lizenzen, wir haben 10.",
                note: "Bitte ein Ticket anlegen.\n\nGruß\nPeter",
            },
        );
        assert_eq!(got.cc, ["buchhaltung@firma.de"]);
        check(
            "Zur Info.\n\n-----Ursprüngliche Nachricht-----\nVon: Anna Müller [mailto:anna.mueller@beispiel.de]\n\
             Gesendet: Montag, 23. November 2026 09:14\nAn: Peter Schmidt\nBetreff: Drucker offline\n\n\
             Der Drucker im 2. Stock ist wieder offline.",
            &Want {
                style: OUTLOOK,
                address: "anna.mueller@beispiel.de",
                name: Some("Anna Müller"),
                subject: "Drucker offline",
                to: &[],
                text: "Der Drucker im 2. Stock ist wieder offline.",
                note: "Zur Info.",
            },
        );
        check(
            "Kann der Support das übernehmen?\n\nVon: Anna Müller <anna.mueller@beispiel.de>\n\
             Datum: Montag, 23. November 2026 09:14\nAn: Peter Schmidt <peter@firma.de>\n\
             Betreff: VPN verbindet nicht\n\nSeit heute Morgen meldet der VPN-Client einen Anmeldefehler.",
            &Want {
                style: OUTLOOK,
                address: "anna.mueller@beispiel.de",
                name: Some("Anna Müller"),
                subject: "VPN verbindet nicht",
                to: &["peter@firma.de"],
                text: "Seit heute Morgen meldet der VPN-Client einen Anmeldefehler.",
                note: "Kann der Support das übernehmen?",
            },
        );
        check(
            "Zur Weiterleitung an den Support.\n\n---------- Weitergeleitete Nachricht ---------\n\
             Von: Anna Müller <anna.mueller@beispiel.de>\nDate: Mo., 23. Nov. 2026 um 09:14 Uhr\n\
             Subject: Anmeldung geht nicht\nTo: <peter@firma.de>\n\n\nHallo Peter,\n\nseit dem Update kann ich mich nicht anmelden.",
            &Want {
                style: GMAIL,
                address: "anna.mueller@beispiel.de",
                name: Some("Anna Müller"),
                subject: "Anmeldung geht nicht",
                to: &["peter@firma.de"],
                text: "Hallo Peter,\n\nseit dem Update kann ich mich nicht anmelden.",
                note: "Zur Weiterleitung an den Support.",
            },
        );
        check(
            "Bitte kümmern.\n\nVon meinem iPhone gesendet\n\nAnfang der weitergeleiteten Nachricht:\n\n\
             Von: Anna Müller <anna.mueller@beispiel.de>\nBetreff: Paket beschädigt\n\
             Datum: 23. November 2026 um 09:14:00 MEZ\nAn: Peter Schmidt <peter@firma.de>\n\nDas Paket kam beschädigt an.",
            &Want {
                style: APPLE,
                address: "anna.mueller@beispiel.de",
                name: Some("Anna Müller"),
                subject: "Paket beschädigt",
                to: &["peter@firma.de"],
                text: "Das Paket kam beschädigt an.",
                note: "Bitte kümmern.\n\nVon meinem iPhone gesendet",
            },
        );
        check(
            "Ticket bitte.\n\n-------- Weitergeleitete Nachricht --------\nBetreff: \tErstattung\n\
             Datum: \tMon, 23 Nov 2026 09:14:00 +0100\nVon: \tAnna Müller <anna.mueller@beispiel.de>\n\
             An: \tpeter@firma.de\n\nBitte erstatten Sie Bestellung 5531.",
            &Want {
                style: THUNDERBIRD,
                address: "anna.mueller@beispiel.de",
                name: Some("Anna Müller"),
                subject: "Erstattung",
                to: &["peter@firma.de"],
                text: "Bitte erstatten Sie Bestellung 5531.",
                note: "Ticket bitte.",
            },
        );
    }

    #[test]
    fn hebrew() {
        let got = check(
            "נא לפתוח קריאה.\n\n________________________________\nמאת: דנה לוי <dana.levi@example.co.il>\n\
             נשלח: יום שני 23 נובמבר 2026 09:14\nאל: פטר <peter@ourco.example>\nעותק: billing@ourco.example\n\
             נושא: חשבונית שגויה\n\nשלום,\n\nבחשבונית מופיעים 12 רישיונות, יש לנו 10.",
            &Want {
                style: OUTLOOK,
                address: "dana.levi@example.co.il",
                name: Some("דנה לוי"),
                subject: "חשבונית שגויה",
                to: &["peter@ourco.example"],
                text: "שלום,\n\nבחשבונית מופיעים 12 רישיונות, יש לנו 10.",
                note: "נא לפתוח קריאה.",
            },
        );
        assert_eq!(got.cc, ["billing@ourco.example"]);
        check(
            "לידיעתכם.\n\n-----הודעה מקורית-----\nמאת: דנה לוי [mailto:dana.levi@example.co.il]\n\
             נשלח: יום שני 23 נובמבר 2026 09:14\nאל: פטר\nנושא: המדפסת לא עובדת\n\nהמדפסת בקומה 2 שוב לא מחוברת.",
            &Want {
                style: OUTLOOK,
                address: "dana.levi@example.co.il",
                name: Some("דנה לוי"),
                subject: "המדפסת לא עובדת",
                to: &[],
                text: "המדפסת בקומה 2 שוב לא מחוברת.",
                note: "לידיעתכם.",
            },
        );
        // New Outlook, with the bidi marks it writes around Hebrew labels.
        check(
            "האם התמיכה יכולה לטפל?\n\n\u{200f}מאת:\u{200f} דנה לוי <dana.levi@example.co.il>\n\
             \u{200f}תאריך:\u{200f} יום שני 23 נובמבר 2026 09:14\n\u{200f}אל:\u{200f} פטר <peter@ourco.example>\n\
             \u{200f}נושא:\u{200f} ה-VPN לא מתחבר\n\nמהבוקר לקוח ה-VPN מדווח על שגיאת אימות.",
            &Want {
                style: OUTLOOK,
                address: "dana.levi@example.co.il",
                name: Some("דנה לוי"),
                subject: "ה-VPN לא מתחבר",
                to: &["peter@ourco.example"],
                text: "מהבוקר לקוח ה-VPN מדווח על שגיאת אימות.",
                note: "האם התמיכה יכולה לטפל?",
            },
        );
        check(
            "מעביר לתמיכה.\n\n---------- הודעה שהועברה ---------\n\
             מאת: \u{202a}דנה לוי\u{202c} <\u{202a}dana.levi@example.co.il\u{202c}>\n\
             Date: יום ב׳, 23 בנוב׳ 2026 ב-9:14\nSubject: לא מצליחה להתחבר\nTo: <peter@ourco.example>\n\n\n\
             היי פטר,\n\nמאז העדכון אני לא מצליחה להתחבר.",
            &Want {
                style: GMAIL,
                address: "dana.levi@example.co.il",
                name: Some("דנה לוי"),
                subject: "לא מצליחה להתחבר",
                to: &["peter@ourco.example"],
                text: "היי פטר,\n\nמאז העדכון אני לא מצליחה להתחבר.",
                note: "מעביר לתמיכה.",
            },
        );
        check(
            "נא לטפל.\n\n\u{202b}תחילת הודעה שהועברה:\u{202c}\n\nמאת: דנה לוי <dana.levi@example.co.il>\n\
             נושא: חבילה פגומה\nתאריך: 23 בנובמבר 2026 בשעה 09:14:00 שעון ישראל\nאל: פטר <peter@ourco.example>\n\n\
             החבילה הגיעה פגומה.",
            &Want {
                style: APPLE,
                address: "dana.levi@example.co.il",
                name: Some("דנה לוי"),
                subject: "חבילה פגומה",
                to: &["peter@ourco.example"],
                text: "החבילה הגיעה פגומה.",
                note: "נא לטפל.",
            },
        );
        check(
            "קריאה בבקשה.\n\n-------- הודעה שהועברה --------\nנושא: \tהחזר כספי\n\
             תאריך: \tMon, 23 Nov 2026 09:14:00 +0200\nמאת: \tדנה לוי <dana.levi@example.co.il>\n\
             אל: \tpeter@ourco.example\n\nאבקש החזר עבור הזמנה 5531.",
            &Want {
                style: THUNDERBIRD,
                address: "dana.levi@example.co.il",
                name: Some("דנה לוי"),
                subject: "החזר כספי",
                to: &["peter@ourco.example"],
                text: "אבקש החזר עבור הזמנה 5531.",
                note: "קריאה בבקשה.",
            },
        );
    }

    #[test]
    fn address_forms() {
        let cases = [
            ("Anna Smith <Anna@Example.com>", Some("Anna Smith"), "anna@example.com"),
            ("\"Smith, Anna\" <anna@example.com>", Some("Smith, Anna"), "anna@example.com"),
            ("'Anna Smith' <anna@example.com>", Some("Anna Smith"), "anna@example.com"),
            ("Anna Smith [mailto:anna@example.com]", Some("Anna Smith"), "anna@example.com"),
            ("Anna Smith [MAILTO:anna@example.com]", Some("Anna Smith"), "anna@example.com"),
            ("Anna Smith <mailto:anna@example.com>", Some("Anna Smith"), "anna@example.com"),
            ("anna@example.com", None, "anna@example.com"),
            ("<anna@example.com>", None, "anna@example.com"),
            ("Anna Smith (anna@example.com)", Some("Anna Smith"), "anna@example.com"),
            ("anna@example.com (Anna Smith)", Some("Anna Smith"), "anna@example.com"),
            ("anna@example.com <anna@example.com>", None, "anna@example.com"),
            // Outlook's plain text made from HTML, and html2text's bold and links.
            ("Anna Smith <anna@example.com<mailto:anna@example.com>>", Some("Anna Smith"), "anna@example.com"),
            ("*Anna Smith* <[anna@example.com][1]>", Some("Anna Smith"), "anna@example.com"),
            ("**Anna Smith** <anna@example.com>", Some("Anna Smith"), "anna@example.com"),
            ("o'brien@example.ie", None, "o'brien@example.ie"),
        ];
        for (value, name, address) in cases {
            let got = parse_sender(value).unwrap_or_else(|| panic!("no address in {value}"));
            assert_eq!((got.name.as_deref(), got.address.as_str()), (name, address), "{value}");
        }
        assert_eq!(parse_sender("Anna Kovács"), None);
        assert_eq!(parse_sender("@ and a@ and @b"), None);
        let list: Vec<String> =
            addresses_in("a@x.hu, \"B, C\" <B@X.hu>; d@x.hu; Names Only").into_iter().map(|(_, _, a)| a).collect();
        assert_eq!(list, ["a@x.hu", "b@x.hu", "d@x.hu"]);
    }

    #[test]
    fn bold_labels_from_html_and_crlf() {
        let fixture = "Bitte übernehmen.\r\n\r\n________________________________\r\n\
                       **Von:** Anna Müller <anna.mueller@beispiel.de>\r\n*Gesendet:* Montag, 23. November 2026 09:14\r\n\
                       *An:* Peter Schmidt <peter@firma.de>\r\n*Betreff:* Rechnung\r\n\r\nHallo,\r\ndie Rechnung.\r\n";
        let got = check(
            fixture,
            &Want {
                style: OUTLOOK,
                address: "anna.mueller@beispiel.de",
                name: Some("Anna Müller"),
                subject: "Rechnung",
                to: &["peter@firma.de"],
                text: "Hallo,\r\ndie Rechnung.",
                note: "Bitte übernehmen.",
            },
        );
        assert_eq!(got.date.as_deref(), Some("Montag, 23. November 2026 09:14"));
    }

    #[test]
    fn long_values_continue_on_indented_lines_and_other_labels_are_skipped() {
        let got = check(
            "fyi\n\n-----Original Message-----\nFrom: Anna <anna@example.com>\nSent: Monday\n\
             To: a@ourco.example; b@ourco.example;\n    c@ourco.example\nImportance: High\nSubject: Long\n\n body",
            &Want {
                style: OUTLOOK,
                address: "anna@example.com",
                name: Some("Anna"),
                subject: "Long",
                to: &["a@ourco.example", "b@ourco.example", "c@ourco.example"],
                text: "body",
                note: "fyi",
            },
        );
        assert_eq!(got.date.as_deref(), Some("Monday"));
    }

    #[test]
    fn a_forward_of_a_forward_gives_the_outermost() {
        let text = "Please handle.\n\n---------- Forwarded message ---------\nFrom: Bob <bob@partner.example>\n\
                    Date: Tue\nSubject: Fwd: Broken\nTo: <peter@ourco.example>\n\nSee Anna's mail.\n\n\
                    ---------- Forwarded message ---------\nFrom: Anna <anna@example.com>\nDate: Mon\n\
                    Subject: Broken\nTo: <bob@partner.example>\n\nIt is broken.";
        let Found::Forwarded(got) = find_inline(text) else { panic!() };
        assert_eq!(got.from.address, "bob@partner.example");
        assert_eq!(got.subject, "Fwd: Broken");
        assert!(got.text.starts_with("See Anna's mail.") && got.text.ends_with("It is broken."));
    }

    #[test]
    fn quoted_blocks() {
        // The whole forward quoted, as some clients write a plain-text forward.
        let got = check(
            "Please look at this.\n\n> ---------- Forwarded message ---------\n> From: Anna <anna@example.com>\n\
             > Date: Mon\n> Subject: Broken\n> To: <peter@ourco.example>\n>\n> It is broken.\n> > older quote\n",
            &Want {
                style: GMAIL,
                address: "anna@example.com",
                name: Some("Anna"),
                subject: "Broken",
                to: &["peter@ourco.example"],
                text: "It is broken.\n> older quote",
                note: "Please look at this.",
            },
        );
        assert_eq!(got.date.as_deref(), Some("Mon"));
        // Apple Mail in plain text: the marker bare, the message quoted.
        check(
            "Begin forwarded message:\n\n> From: Anna <anna@example.com>\n> Subject: Broken\n> Date: Mon\n\
             > To: peter@ourco.example\n> \n> It is broken.\n> Anna",
            &Want {
                style: APPLE,
                address: "anna@example.com",
                name: Some("Anna"),
                subject: "Broken",
                to: &["peter@ourco.example"],
                text: "It is broken.\nAnna",
                note: "",
            },
        );
        // Not when unquoted text follows the quoted marker.
        let text =
            "> ---------- Forwarded message ---------\n> From: Anna <anna@example.com>\n> Date: Mon\n\nmy answer";
        assert_eq!(find_inline(text), Found::None);
    }

    #[test]
    fn plain_mail_and_replies_are_not_forwards() {
        let prose = "Hello,\n\nFrom: the team at ACME we wish you a happy new year.\nDate: to be decided.\n\nBest";
        assert_eq!(find_inline(prose), Found::None);
        let prose = "From: the start of the year our invoices are wrong.\nPlease check.";
        assert_eq!(find_inline(prose), Found::None);
        let reply = "Thanks, that fixed it.\n\nOn Mon, Nov 23, 2026 at 9:14 AM Support <support@ourco.example> wrote:\n\
                     > Hello Anna,\n>\n> please restart the client.\n>\n\
                     > ---------- Forwarded message ---------\n> From: Bob <bob@ourco.example>\n> Date: Mon\n> Subject: x\n";
        assert_eq!(find_inline(reply), Found::None);
        let quoted_forward = "Thanks!\n\nOn Mon, Nov 23, 2026 at 9:14 AM Peter <peter@ourco.example> wrote:\n\
                              > ---------- Forwarded message ---------\n> From: Anna <anna@example.com>\n> Date: Mon\n";
        assert_eq!(find_inline(quoted_forward), Found::None);
        let signature = "Thanks\n\n__________________\nACME Ltd. | Subject: to change\nFrom: our office";
        assert_eq!(find_inline(signature), Found::None);
        assert_eq!(find_inline(""), Found::None);
        assert_eq!(find_inline("\n\n\r\n"), Found::None);
        assert_eq!(find_inline("-----"), Found::None);
        assert_eq!(find_inline("----------"), Found::None);
    }

    #[test]
    fn markers_without_a_readable_from_are_unreadable() {
        let no_from = "fyi\n\n---------- Forwarded message ---------\nDate: Mon\nSubject: x\n\nhello";
        assert_eq!(
            find_inline(no_from),
            Found::Unreadable { style: GMAIL, reason: "the forwarded header block has no From line".into() }
        );
        let nothing = "fyi\n\nBegin forwarded message:\n\nhello there";
        assert_eq!(
            find_inline(nothing),
            Found::Unreadable { style: APPLE, reason: "no From line follows the forwarded-message marker".into() }
        );
        let name_only =
            "fyi\n\n________________________________\nFrom: Anna Kovács\nSent: Monday\nTo: Support\n\nhello";
        assert_eq!(
            find_inline(name_only),
            Found::Unreadable { style: OUTLOOK, reason: "the forwarded From line names no address".into() }
        );
        let new_outlook = "fyi\n\nFeladó: Kovács Anna\nElküldve: 2026. november 23.\nTárgy: x\n\nszia";
        assert!(matches!(find_inline(new_outlook), Found::Unreadable { style: OUTLOOK, .. }));
        let original = "-----Original Message-----\n";
        assert!(matches!(find_inline(original), Found::Unreadable { style: OUTLOOK, .. }));
    }

    #[test]
    fn hostile_input_takes_linear_time() {
        let started = std::time::Instant::now();
        assert_eq!(find_inline(&"From: x\n".repeat(128 * 1024)), Found::None);
        assert_eq!(find_inline(&"________________________________\n".repeat(32 * 1024)), Found::None);
        assert_eq!(find_inline(&"> From: x\n".repeat(100 * 1024)), Found::None);
        // Every From line opens a block of thirty lines that turns out not to be one.
        assert_eq!(find_inline(&"From: x\nDate: y\n".repeat(64 * 1024)), Found::None);
        assert!(matches!(
            find_inline(&"---------- Forwarded message ---------\n".repeat(30_000)),
            Found::Unreadable { .. }
        ));
        assert!(matches!(find_inline(&"Begin forwarded message:\n".repeat(40_000)), Found::Unreadable { .. }));
        let long_line = format!("From: {}\nSent: x\nSubject: y\n", "a".repeat(1 << 20));
        assert!(matches!(find_inline(&long_line), Found::Unreadable { .. }));
        let many_ats = format!("From: {}@x\nSent: x\nSubject: y\n", "a@".repeat(1 << 19));
        assert!(matches!(find_inline(&many_ats), Found::Unreadable { .. }));
        assert_eq!(find_inline(&"-".repeat(1 << 20)), Found::None);
        assert_eq!(find_inline(&"x:".repeat(1 << 19)), Found::None);
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[test]
    fn markers_are_looked_for_in_the_first_256_kb_only() {
        let forward = "---------- Forwarded message ---------\nFrom: Anna <anna@example.com>\nDate: Mon\n\nhi";
        let near = format!("{}\n{forward}", "x".repeat(SEARCHED - 100));
        assert!(matches!(find_inline(&near), Found::Forwarded(_)));
        let far = format!("{}\n{forward}", "x".repeat(SEARCHED + 1));
        assert_eq!(find_inline(&far), Found::None);
    }

    /// Forwards sent as HTML only, as ticketd's own HTML-to-text conversion renders them: bold
    /// labels, link footnotes, Apple Mail's blockquote, Thunderbird's header table, Outlook's
    /// rule dropped.
    #[test]
    fn html_forwards_made_readable() {
        let gmail = r##"<div dir="ltr"><div>Please handle.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">Anna Smith</strong> <span dir="auto">&lt;<a href="mailto:anna@example.com">anna@example.com</a>&gt;</span><br>Date: Mon, Nov 23, 2026 at 9:14 AM<br>Subject: Cannot log in<br>To: &lt;<a href="mailto:peter@ourco.example">peter@ourco.example</a>&gt;<br></div><br><br><div dir="ltr">Hi Peter,<div><br></div><div>I cannot log in.</div></div></div></div>"##;
        let outlook = r##"<div>Please open a ticket.</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>From:</b> Anna Smith &lt;anna@example.com&gt;<br><b>Sent:</b> Monday, November 23, 2026 9:14 AM<br><b>To:</b> Peter Jones &lt;peter@ourco.example&gt;<br><b>Subject:</b> Invoice wrong</font><div>&nbsp;</div></div><div><p>Hello,</p><p>the invoice is wrong.</p></div>"##;
        let apple = r##"<div>Please handle.<br><div><br><blockquote type="cite"><div>Begin forwarded message:</div><br><div style="margin:0px"><span><b>From: </b></span><span>Anna Smith &lt;<a href="mailto:anna@example.com">anna@example.com</a>&gt;</span></div><div><span><b>Subject: </b></span><span><b>Broken</b></span></div><div><span><b>Date: </b></span><span>23 November 2026 at 09:14:00 CET</span></div><div><span><b>To: </b></span><span>peter@ourco.example</span></div><br><div>The parcel arrived damaged.</div></blockquote></div><br></div>"##;
        let tb = r##"<p>Ticket please.</p><div class="moz-forward-container"><br><br>-------- Forwarded Message --------<table class="moz-email-headers-table" border="0" cellpadding="0" cellspacing="0"><tbody><tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Subject: </th><td>Refund request</td></tr><tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Date: </th><td>Mon, 23 Nov 2026 09:14:00 +0100</td></tr><tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">From: </th><td>Anna Smith <a class="moz-txt-link-rfc2396E" href="mailto:anna@example.com">&lt;anna@example.com&gt;</a></td></tr><tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">To: </th><td><a class="moz-txt-link-abbreviated" href="mailto:peter@ourco.example">peter@ourco.example</a></td></tr></tbody></table><br><br><p>I would like a refund.</p></div>"##;
        let cases = [
            (gmail, GMAIL, "Cannot log in", "Please handle.", "Hi Peter,\n\nI cannot log in."),
            (outlook, OUTLOOK, "Invoice wrong", "Please open a ticket.", "Hello,\n\nthe invoice is wrong."),
            (apple, APPLE, "Broken", "Please handle.", "The parcel arrived damaged."),
            (tb, THUNDERBIRD, "Refund request", "Ticket please.", "I would like a refund."),
        ];
        for (html, style, subject, note, text) in cases {
            let Found::Forwarded(got) = find_inline(&crate::parse::html_to_text(html)) else { panic!("{html}") };
            assert_eq!(got.style, style, "{html}");
            assert_eq!(got.from, Sender { name: Some("Anna Smith".into()), address: "anna@example.com".into() });
            assert_eq!(got.to, ["peter@ourco.example"], "{html}");
            assert_eq!(got.subject, subject);
            assert_eq!(got.note, note);
            // html2text's link footnotes for the whole mail come after the text.
            assert!(got.text.starts_with(text), "{html}\n{}", got.text);
        }
    }

    /// Pieces of forwards, quoting, bidi marks and address punctuation, in any order.
    fn piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "---------- Forwarded message ---------",
            "-------- Weitergeleitete Nachricht --------",
            "-----Original Message-----",
            "Begin forwarded message:",
            "________________________________",
            "From: ",
            "**Von:** ",
            "מאת: ",
            "Sent: ",
            "Date: ",
            "Subject: ",
            "To: ",
            "Cc: ",
            "  ",
            "\t",
            "Anna Kovács <",
            "İSTANBUL@EXAMPLE.COM",
            "a@b.c",
            ">",
            "> ",
            "\n",
            "\r\n",
            "*",
            "\u{200f}",
            "\u{202b}",
            ":",
            "@",
            "[mailto:",
            "]",
            "(",
            ")",
            "\"",
            "[1]: mailto:x@y",
            "wrote:",
        ])
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever the text, the answer comes back, and what it reads is well formed.
        #[test]
        fn any_text_is_answered(pieces in proptest::collection::vec(piece(), 0..80)) {
            let text = pieces.concat();
            if let Found::Forwarded(got) = find_inline(&text) {
                proptest::prop_assert!(got.from.address.contains('@'));
                proptest::prop_assert_eq!(got.from.address.to_lowercase(), got.from.address.clone());
                for address in got.to.iter().chain(&got.cc) {
                    proptest::prop_assert_eq!(address.to_lowercase(), address.clone());
                }
                proptest::prop_assert_eq!(got.note.trim(), got.note.as_str());
                proptest::prop_assert_eq!(got.text.trim(), got.text.as_str());
            }
        }
    }
}
