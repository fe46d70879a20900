//! Repairs for what old and broken clients send and the MIME parser gets wrong: base64 with
//! stray characters or without padding, quoted-printable with a stray "=", a multi-byte character
//! split across two RFC 2047 encoded words or two RFC 2231 continuations, and 8-bit header bytes
//! in a legacy charset. Each repair is applied only where the parser's own result shows the
//! damage (an encoding problem, or U+FFFD in the text), so correct mail is never second-guessed.
//!
//! Pure functions over bytes; nothing here may panic on any input.

use mail_parser::decoders::charsets::map::charset_decoder;

/// Decodes base64, skipping characters outside the alphabet and tolerating missing padding
/// (RFC 2045 §6.8 asks decoders to ignore what is not in the alphabet).
pub fn lenient_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decodes quoted-printable; an "=" not followed by two hex digits or a line end is kept as it
/// is (RFC 2045 §6.7, note 1).
pub fn lenient_qp(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        let hex = |b: u8| (b as char).to_digit(16);
        match (input.get(i + 1), input.get(i + 2)) {
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (Some(&a), Some(&b)) if hex(a).is_some() && hex(b).is_some() => {
                out.push((hex(a).unwrap_or(0) * 16 + hex(b).unwrap_or(0)) as u8);
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

/// Bytes in a named charset to text; an unknown label falls back to UTF-8, then windows-1252.
pub fn decode_charset(bytes: &[u8], label: Option<&str>) -> String {
    if let Some(label) = label.map(|l| l.trim().to_ascii_lowercase()) {
        if label != "utf-8" && label != "utf8" && label != "us-ascii" {
            if let Some(decoder) = charset_decoder(label.as_bytes()) {
                return decoder(bytes);
            }
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => charset_decoder(b"windows-1252")
            .map(|d| d(bytes))
            .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// RFC 2047 decoding that joins adjacent encoded words of one charset before decoding their
/// bytes, so a character split across two words survives (and drops the whitespace between
/// encoded words, §6.2).
pub fn decode_encoded_words(raw: &str) -> String {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut rest = raw;
    // Where the last "?=" starts: a word opened after it cannot end, and looking for its end
    // again for each of many "=?" would take quadratic time.
    let last_end = raw.rfind("?=");
    let flush = |out: &mut String, pending: &mut Option<(String, Vec<u8>)>| {
        if let Some((cs, bytes)) = pending.take() {
            out.push_str(&decode_charset(&bytes, Some(&cs)));
        }
    };
    loop {
        let Some(start) = rest.find("=?") else {
            flush(&mut out, &mut pending);
            out.push_str(rest);
            break;
        };
        let offset = raw.len() - rest.len() + start;
        let parsed = last_end.filter(|end| *end > offset).and_then(|_| parse_word(&rest[start..]));
        let Some((charset, bytes, len)) = parsed else {
            flush(&mut out, &mut pending);
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        };
        let between = &rest[..start];
        let same = pending.as_ref().is_some_and(|(cs, _)| cs.eq_ignore_ascii_case(&charset));
        if !(pending.is_some() && between.trim().is_empty()) {
            flush(&mut out, &mut pending);
            out.push_str(between);
        } else if !same {
            flush(&mut out, &mut pending);
        }
        match pending.as_mut() {
            Some((_, acc)) => acc.extend_from_slice(&bytes),
            None => pending = Some((charset, bytes)),
        }
        rest = &rest[start + len..];
    }
    out
}

/// Parses one "=?charset?Q|B?text?=" at the start of `s`: (charset, bytes, length).
fn parse_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let charset = body[..q1].split('*').next()?.to_string();
    let enc = body.get(q1 + 1..q1 + 2)?;
    if body.get(q1 + 2..q1 + 3)? != "?" {
        return None;
    }
    let text_start = q1 + 3;
    let end = body[text_start..].find("?=")? + text_start;
    let text = &body[text_start..end];
    let bytes = match enc {
        "B" | "b" => lenient_base64(text.as_bytes()),
        "Q" | "q" => lenient_qp(text.replace('_', " ").as_bytes()),
        _ => return None,
    };
    Some((charset, bytes, 2 + end + 2))
}

/// RFC 2231 `name*0*=utf-8''..; name*1*=..` continuations of parameter `param`, joined as bytes
/// before decoding.
pub fn rfc2231_param(header_value: &str, param: &str) -> Option<String> {
    let mut parts: Vec<(u32, bool, String)> = Vec::new();
    for piece in header_value.split(';') {
        let piece = piece.trim();
        let Some((key, value)) = piece.split_once('=') else { continue };
        let key = key.trim().to_ascii_lowercase();
        let Some(rest) = key.strip_prefix(&format!("{param}*")) else { continue };
        let (index, encoded) = match rest.strip_suffix('*') {
            Some(n) => (n, true),
            None => (rest, false),
        };
        let index: u32 = if index.is_empty() { 0 } else { index.parse().ok()? };
        parts.push((index, encoded || rest.is_empty(), value.trim().trim_matches('"').to_string()));
    }
    if parts.is_empty() {
        return None;
    }
    parts.sort_by_key(|p| p.0);
    let mut charset = None;
    let mut bytes = Vec::new();
    for (i, (_, encoded, value)) in parts.iter().enumerate() {
        let mut v = value.as_str();
        if i == 0 && *encoded {
            let mut it = v.splitn(3, '\'');
            if let (Some(cs), Some(_lang), Some(text)) = (it.next(), it.next(), it.next()) {
                charset = Some(cs.to_string());
                v = text;
            }
        }
        if *encoded {
            bytes.extend(percent_decode(v));
        } else {
            bytes.extend_from_slice(v.as_bytes());
        }
    }
    Some(decode_charset(&bytes, charset.as_deref()))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_tolerates_junk_and_missing_padding() {
        assert_eq!(lenient_base64(b"aGVsbG8gd29ybGQ"), b"hello world");
        assert_eq!(lenient_base64(b"aGVs\r\nbG8g!d29y*bGQ="), b"hello world");
    }

    #[test]
    fn qp_keeps_stray_equals() {
        assert_eq!(lenient_qp(b"a = b =3d c=\r\nd =zz"), b"a = b = cd =zz");
        assert_eq!(lenient_qp(b"x=c3=a1"), "xá".as_bytes());
    }

    #[test]
    fn split_characters_survive() {
        // "ő" is C5 91 in UTF-8, split across two words.
        assert_eq!(decode_encoded_words("=?utf-8?q?El=C5?= =?utf-8?q?=91fizet=C3=A9s?="), "Előfizetés");
        assert_eq!(decode_encoded_words("Re: =?iso-8859-2?q?sz=E1mla?= x"), "Re: számla x");
        assert_eq!(decode_encoded_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn many_unterminated_words_take_linear_time() {
        // Each "=?" opens a word whose "?=" never comes.
        let raw = "=?a?q?x ".repeat(200_000);
        assert_eq!(decode_encoded_words(&raw), raw);
        let tail = "=?a?q?x ".repeat(1000);
        assert_eq!(decode_encoded_words(&format!("=?utf-8?q?caf=C3=A9?= {tail}")), format!("café {tail}"));
    }

    #[test]
    fn rfc2231_continuations_join_bytes() {
        let v = "attachment; filename*0*=utf-8''P%C5%99%C3; filename*1*=%ADloha.pdf";
        assert_eq!(rfc2231_param(v, "filename").as_deref(), Some("Příloha.pdf"));
    }
}
