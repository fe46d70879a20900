//! Subjects for display and for tickets: stacked reply and forward prefixes removed, in every
//! language customers write in ("Re: AW: Fwd:", "VS: SV:", "Vá:", "Továbbítás:", "Odp:",
//! "השב:" ...). The list is data: admins extend it in rules (`subject_prefixes`).
//!
//! Display only: a subject never decides which ticket a message joins.

use regex::Regex;

/// Prefixes known out of the box (compared case-insensitively).
pub const DEFAULT_PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "vá",
    "vl",
    "továbbítás",
    "továbbítva",
    "odp",
    "odp.",
    "pd",
    "pd.",
    "rv",
    "tr",
    "antw",
    "antwort",
    "r",
    "ynt",
    "enc",
    "res",
    "השב",
    "הועבר",
    "תשובה",
    "תגובה",
    "בתשובה",
];

/// Strips stacked prefixes such as "Re: AW: \[2\] Fwd:" from the start of subjects.
#[derive(Clone, Debug)]
pub struct PrefixStripper(Regex);

impl PrefixStripper {
    pub fn new(extra: &[String]) -> PrefixStripper {
        let mut words: Vec<String> = DEFAULT_PREFIXES.iter().map(|s| s.to_string()).collect();
        words.extend(extra.iter().map(|s| s.trim().trim_end_matches(':').to_lowercase()).filter(|s| !s.is_empty()));
        words.sort();
        words.dedup();
        // Longest first, so "fwd" wins over "fw".
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        let alternatives: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
        // A prefix, an optional counter "[2]" or "(2)", then a colon (ASCII or full-width).
        let pattern = format!(r"(?i)^(?:\s*(?:{})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+", alternatives.join("|"));
        PrefixStripper(Regex::new(&pattern).expect("escaped words make a valid pattern"))
    }

    pub fn strip<'a>(&self, subject: &'a str) -> &'a str {
        let rest = match self.0.find(subject) {
            Some(m) => &subject[m.end()..],
            None => subject,
        };
        rest.trim()
    }
}

impl Default for PrefixStripper {
    fn default() -> Self {
        PrefixStripper::new(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_and_localized() {
        let s = PrefixStripper::default();
        for (input, want) in [
            ("Re: AW: Fwd: Számla hiba", "Számla hiba"),
            ("VS: SV: Faktura", "Faktura"),
            ("Vá: Nem működik", "Nem működik"),
            ("Továbbítás: Rendelés", "Rendelés"),
            ("Odp: Reklamace", "Reklamace"),
            ("PD: RV: TR: Antw: WG: Rechnung", "Rechnung"),
            ("השב: הועבר: תשובה: בעיה", "בעיה"),
            ("RE[2]: re(3): hello", "hello"),
            ("Re：全角", "全角"),
            ("Report: sales", "Report: sales"),
            ("Reply needed", "Reply needed"),
            ("Re:", ""),
        ] {
            assert_eq!(s.strip(input), want, "{input}");
        }
        let custom = PrefixStripper::new(&["Válasz".to_string()]);
        assert_eq!(custom.strip("Válasz: Re: x"), "x");
    }
}
