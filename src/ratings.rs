//! Ratings (docs/conversation.md "Closing and rating"): the score a customer gives a closed ticket, by a reply
//! to the closing mail or by a signed link in it.
//!
//! This module owns what counts as a rating and the link tokens: reading a score from the first
//! line of a reply, and the HMAC that makes `{public_url}/rate/{token}/{score}` unforgeable. The
//! key lives in `data_dir/rating.key`, private, made on first use. It never decides when a
//! closing mail is sent (notify and the scheduler do) and never reopens anything.

use std::path::Path;

use crate::rules::Survey;

/// A score at the start of the first line that is not blank: a whole number in the survey's
/// scale, not followed by more digits or a decimal part ("9", "9 - thanks", "9, great";
/// not "9.5", "11", "-3", "10/10"?). The rest of the text is the comment.
pub fn from_reply(text: &str, survey: Survey) -> Option<(i64, String)> {
    let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty());
    let first = lines.next()?;
    let digits: String = first.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    let rest = &first[digits.len()..];
    // "9.5", "9,5" and "9/10"-style fractions other than out of the scale's top are no whole
    // score; a letter glued on ("9am", "3rd") is no score either.
    let mut after = rest.chars();
    match after.next() {
        None => {}
        Some(c) if c.is_whitespace() => {}
        Some('.' | ',') if after.next().is_some_and(|d| d.is_ascii_digit()) => return None,
        Some('/') => {
            let of: String = after.take_while(char::is_ascii_digit).collect();
            if of.parse::<i64>().ok() != Some(survey.scale().1) {
                return None;
            }
        }
        Some(c) if c.is_alphanumeric() => return None,
        Some(_) => {}
    }
    let score: i64 = digits.parse().ok()?;
    let (low, high) = survey.scale();
    if score < low || score > high {
        return None;
    }
    // The comment: the rest of the line without the separator, then the other lines (the
    // quoted closing mail is gone already: this reads a reply's new text).
    let first_rest = rest
        .trim_start_matches(|c: char| c == '/' || c.is_ascii_digit() && rest.starts_with('/'))
        .trim_start_matches(|c: char| c.is_whitespace() || "-–—:,.;!)/".contains(c))
        .trim();
    let mut comment: Vec<&str> = Vec::new();
    if !first_rest.is_empty() {
        comment.push(first_rest);
    }
    comment.extend(lines);
    Some((score, comment.join("\n").trim().to_string()))
}

/// The key the rating links are signed with: 32 random bytes in `data_dir/rating.key`,
/// readable by the service user and its group only, made on first use.
pub fn key(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join("rating.key");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => return Ok(bytes),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is shorter than 32 bytes", path.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut fresh = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut fresh)
        .map_err(|_| std::io::Error::other("no randomness for the rating key"))?;
    crate::files::create_private_dir_all(data_dir)?;
    // Written whole beside it, then linked into place: a crash leaves no empty key, and of two
    // processes making one at once, the first link wins and the other reads it.
    let fresh_path = data_dir.join(format!("rating.key.{}", std::process::id()));
    crate::files::write_private_file_synced(&fresh_path, &fresh)?;
    let linked = std::fs::hard_link(&fresh_path, &path);
    let _ = std::fs::remove_file(&fresh_path);
    match linked {
        Ok(()) => Ok(fresh.to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path),
        Err(e) => Err(e),
    }
}

fn tag(key: &[u8], ticket: i64) -> ring::hmac::Tag {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, format!("ticketd rating {ticket}").as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token of a ticket's rating links: its id and an HMAC over it.
pub fn token(key: &[u8], ticket: i64) -> String {
    format!("{ticket}-{}", hex(tag(key, ticket).as_ref()))
}

/// The ticket a token names, when its HMAC is right (compared in constant time).
pub fn verify(key: &[u8], token: &str) -> Option<i64> {
    let (id, mac) = token.split_once('-')?;
    let ticket: i64 = id.parse().ok().filter(|t| *t > 0)?;
    if mac.len() != 64 || !mac.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return None;
    }
    let given: Vec<u8> =
        (0..32).map(|i| u8::from_str_radix(&mac[2 * i..2 * i + 2], 16)).collect::<Result<_, _>>().ok()?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::verify(&key, format!("ticketd rating {ticket}").as_bytes(), &given).ok()?;
    Some(ticket)
}

/// One link per score of the survey's scale.
pub fn links(public_url: &str, key: &[u8], ticket: i64, survey: Survey) -> Vec<(i64, String)> {
    let base = public_url.trim_end_matches('/');
    let token = token(key, ticket);
    let (low, high) = survey.scale();
    (low..=high).map(|score| (score, format!("{base}/rate/{token}/{score}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_is_a_whole_number_in_the_scale_at_the_start_of_the_first_line() {
        let nps = Survey::Nps;
        assert_eq!(from_reply("9 — thanks, great help", nps), Some((9, "thanks, great help".into())));
        assert_eq!(from_reply("\n\n  10\nFast and friendly.\n", nps), Some((10, "Fast and friendly.".into())));
        assert_eq!(from_reply("0", nps), Some((0, String::new())));
        assert_eq!(from_reply("7/10 ok", nps), Some((7, "ok".into())));
        assert_eq!(from_reply("8: fine", nps), Some((8, "fine".into())));
        for not in ["11", "-3", "9.5", "9,5 nice", "", "thanks! 9", "9am tomorrow", "100", "3/5", "1st"] {
            assert_eq!(from_reply(not, nps), None, "{not:?}");
        }
        let csat = Survey::Csat;
        assert_eq!(from_reply("5 super", csat), Some((5, "super".into())));
        assert_eq!(from_reply("0", csat), None);
        assert_eq!(from_reply("6", csat), None);
    }

    #[test]
    fn tokens_are_unforgeable_and_name_their_ticket() {
        let key = b"0123456789abcdef0123456789abcdef";
        let t = token(key, 42);
        assert_eq!(verify(key, &t), Some(42));
        assert_eq!(verify(b"another key, another world, 32b!", &t), None);
        let forged = t.replacen("42-", "43-", 1);
        assert_eq!(verify(key, &forged), None);
        let mut flipped = t.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(verify(key, &String::from_utf8(flipped).unwrap()), None);
        for junk in ["", "-", "42", "42-", "x-00", &format!("42-{}", "g".repeat(64)), &t.to_uppercase()] {
            assert_eq!(verify(key, junk), None, "{junk}");
        }
        let l = links("https://support.example.test/t/", key, 42, Survey::Csat);
        assert_eq!(l.len(), 5);
        assert_eq!(l[0], (1, format!("https://support.example.test/t/rate/{t}/1")));
    }

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = key(dir.path()).unwrap();
        let b = key(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let mode = std::fs::metadata(dir.path().join("rating.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o007, 0, "{mode:o}");
    }
}
