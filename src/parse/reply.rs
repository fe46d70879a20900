//! The new part of a reply: the text above the quoted history and the signature, found best
//! effort for the common clients — Outlook's header block (in English, German, Hungarian, Czech,
//! Polish and Hebrew), "-----Original Message-----" separators, Gmail's and Apple Mail's
//! "On ... wrote:" lines (localized), "> " quoting and the "-- " signature delimiter.
//!
//! Pure and conservative: when nothing above the cut remains, the whole text is the new part.
//! The full text is always kept beside it by the caller; this never replaces it.

use super::limits::{prefix_lines, MAX_REPLY_TEXT};

/// Labels that open Outlook's header block ("From:"), per language.
const FROM_LABELS: &[&str] = &["from", "von", "feladó", "od", "מאת", "de", "van", "fra", "från", "lähettäjä"];
/// Labels that follow within the block ("Sent:" / "Date:").
const SENT_LABELS: &[&str] = &[
    "sent",
    "date",
    "gesendet",
    "datum",
    "elküldve",
    "dátum",
    "küldve",
    "odesláno",
    "datum odeslání",
    "wysłano",
    "data",
    "נשלח",
    "תאריך",
    "envoyé",
    "enviado",
    "verzonden",
];
/// Words that end an attribution line ("On ... wrote:").
const WROTE_WORDS: &[&str] = &[
    "wrote",
    "írta",
    "schrieb",
    "napsal",
    "napsal(a)",
    "napisał",
    "napisała",
    "napisał(a)",
    "כתב",
    "כתבה",
    "כתב/ה",
    "a écrit",
    "escribió",
    "scrisse",
    "schreef",
    "skrev",
];

/// Strips the bidi controls Gmail puts around Hebrew attribution lines.
fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn clean(line: &str) -> String {
    line.chars().filter(|c| !is_direction_mark(*c)).collect::<String>()
}

/// Whether a line ends with ':' (before trailing spaces and direction marks): every attribution
/// does. Checked before anything that allocates, since most lines of a long mail are not one.
fn ends_with_colon(line: &str) -> bool {
    line.trim_end_matches(|c: char| c.is_whitespace() || is_direction_mark(c)).ends_with(':')
}

fn label_of(line: &str) -> Option<String> {
    // The label of "From: ..." sits within the first few dozen characters.
    if !line.chars().take(40).any(|c| c == ':') {
        return None;
    }
    let l = clean(line).trim().trim_start_matches('*').to_lowercase();
    let (label, _) = l.split_once(':')?;
    let label = label.trim().trim_end_matches('*').trim().to_string();
    (label.chars().count() <= 20).then_some(label)
}

fn is_outlook_block(lines: &[&str], i: usize) -> bool {
    let Some(label) = label_of(lines[i]) else { return false };
    if !FROM_LABELS.contains(&label.as_str()) {
        return false;
    }
    lines[i + 1..].iter().take(4).filter_map(|l| label_of(l)).any(|l| SENT_LABELS.contains(&l.as_str()))
}

fn is_separator(line: &str) -> bool {
    // Nearly every line fails this cheap look, before anything is allocated.
    let bare = line.trim_matches(|c: char| c.is_whitespace() || is_direction_mark(c));
    if !bare.starts_with("-----") && !bare.starts_with("____") {
        return false;
    }
    let t = clean(line);
    let t = t.trim();
    t.len() > 8
        && t.starts_with("-----")
        && t.ends_with("-----")
        && t.trim_matches('-').trim().chars().any(char::is_alphabetic)
        || t.starts_with("________________________________")
}

fn is_attribution(line: &str) -> bool {
    if !ends_with_colon(line) {
        return false;
    }
    let t = clean(line).trim().to_lowercase();
    if !t.ends_with(':') {
        return false;
    }
    let body = t.trim_end_matches(':').trim_end();
    // "... wrote:" at the end, or German-style "Am ... schrieb Name <addr>:".
    WROTE_WORDS.iter().any(|w| body.ends_with(w) || (body.ends_with('>') && body.contains(&format!(" {w} "))))
        // Gmail in Hebrew: "בתאריך ... מאת Name <addr>:".
        || (body.starts_with("בתאריך") && body.ends_with('>'))
}

/// Where the quoted history starts, if it can be found. Linear in the text: the share of quoted
/// lines in what follows each line is kept as running counts, not recounted.
fn cut_index(lines: &[&str]) -> Option<usize> {
    // Over lines[i..]: the lines with something on them, and of those the quoted ones.
    let mut filled_rest = lines.iter().filter(|l| !l.trim().is_empty()).count();
    let mut quoted_rest = lines.iter().filter(|l| l.starts_with('>')).count();
    for i in 0..lines.len() {
        let line = lines[i];
        if is_outlook_block(lines, i) || is_separator(line) || is_attribution(line) {
            return Some(i);
        }
        // An attribution wrapped over two lines by the client.
        if i + 1 < lines.len()
            && !line.trim().is_empty()
            && ends_with_colon(lines[i + 1])
            && is_attribution(&format!("{} {}", line.trim(), lines[i + 1].trim()))
        {
            return Some(i);
        }
        // Quoting that makes up at least half of the rest ('>' lines are never blank).
        if line.starts_with('>') && quoted_rest * 2 >= filled_rest {
            return Some(i);
        }
        if line == "-- " || line == "--" {
            return Some(i);
        }
        if line.starts_with('>') {
            quoted_rest -= 1;
        }
        if !line.trim().is_empty() {
            filled_rest -= 1;
        }
    }
    None
}

/// The new part of `text`, without quoted history and signature.
///
/// Only the first [`MAX_REPLY_TEXT`] bytes are searched for the cut; when there is none in them,
/// the whole text is the new part.
pub fn new_part(text: &str) -> String {
    let searched = prefix_lines(text, MAX_REPLY_TEXT);
    let lines: Vec<&str> = searched.lines().map(|l| l.trim_end_matches('\r')).collect();
    let keep = match cut_index(&lines) {
        Some(0) | None => return text.trim().to_string(),
        Some(cut) => &lines[..cut],
    };
    let joined = keep.join("\n");
    let trimmed = joined.trim();
    if trimmed.is_empty() {
        text.trim().to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::new_part;

    #[test]
    fn client_styles() {
        let cases = [
            (
                "Thanks, works now.\n\nFrom: Support <s@x>\nSent: Monday\nTo: me\nSubject: x\n\nold",
                "Thanks, works now.",
            ),
            (
                "Danke!\n\nVon: Support <s@x>\nGesendet: Montag, 23. November 2026 09:14\nAn: ich\nBetreff: x\n\nalt",
                "Danke!",
            ),
            ("Köszönöm!\n\n*Feladó:* Support <s@x>\n*Elküldve:* 2026. november 23.\n\nrégi", "Köszönöm!"),
            ("Díky.\n\nOd: Support <s@x>\nOdesláno: pondělí\nKomu: já\n\nstaré", "Díky."),
            ("Dziękuję.\n\nOd: Support <s@x>\nWysłano: poniedziałek\nDo: ja\n\nstare", "Dziękuję."),
            ("תודה רבה.\n\nמאת: Support <s@x>\nנשלח: יום שני\nאל: אני\n\nישן", "תודה רבה."),
            ("New text\n\n-----Original Message-----\nFrom: x\n\nold", "New text"),
            ("Neu\n\n-----Ursprüngliche Nachricht-----\nalt", "Neu"),
            ("Fixed?\n\nOn Mon, 23 Nov 2026 at 09:14, Anna <a@x> wrote:\n> old\n> older", "Fixed?"),
            ("Igen.\n\n2026. nov. 23., H 9:14 Anna <a@x> ezt írta:\n> régi", "Igen."),
            ("Ja.\n\nAm Mo., 23. Nov. 2026 um 09:14 Uhr schrieb Anna <a@x>:\n> alt", "Ja."),
            ("Ano.\n\npo 23. 11. 2026 v 9:14 odesílatel Anna <a@x> napsal:\n> staré", "Ano."),
            ("Tak.\n\npon., 23 lis 2026 o 09:14 Anna <a@x> napisał(a):\n> stare", "Tak."),
            ("כן.\n\n\u{202b}בתאריך יום ב׳, 23 בנוב׳ 2026 ב-9:14 מאת Anna <a@x>\u{202c}:\n> ישן", "כן."),
            ("Wrapped\n\nOn Mon, 23 Nov 2026 at 09:14, Anna Kovacs\n<a@x> wrote:\n> old", "Wrapped"),
            ("Just this.\n-- \nAnna\nCEO", "Just this."),
            ("> quoted only\n> more", "> quoted only\n> more"),
            ("No history at all.", "No history at all."),
        ];
        for (text, want) in cases {
            assert_eq!(new_part(text), want, "{text}");
        }
    }

    #[test]
    fn long_replies_take_linear_time() {
        // A quoted line after every two new ones: never the majority of what follows, so every
        // quoted line used to count all the lines after it.
        let text = "new\nok\n> old\n".repeat(80_000);
        assert_eq!(new_part(&text), text.trim());
        // Past the searched part the cut is not looked for; before it, it still is.
        let cut = format!("Thanks.\n\nOn Mon, Anna <a@x> wrote:\n{}", "> old\n".repeat(100_000));
        assert_eq!(new_part(&cut), "Thanks.");
    }

    #[test]
    fn a_from_line_in_the_new_text_alone_is_not_a_cut() {
        let text = "From: the start of the year our invoices are wrong.\nPlease check.";
        assert_eq!(new_part(text), text);
    }
}
