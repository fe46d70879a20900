//! Value types that appear in `config.toml` and `rules/*.toml`: durations, sizes, addresses,
//! connection security. Each one validates itself while it is deserialized, so that a bad value
//! is reported by the TOML parser with the exact line it sits on.
//!
//! This module owns parsing of single values; it must never read files or look at other keys.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// A duration written as "30s", "15m", "8h", "30d" (or a sum such as "1h30m").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
    pub fn to_chrono(self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX / 1000))
    }
}

impl FromStr for HumanDuration {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("bad duration {text:?}: write it as \"30s\", \"15m\", \"8h\" or \"30d\"");
        if text.is_empty() {
            return Err(bad());
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            digits.clear();
            total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        }
        if !digits.is_empty() {
            return Err(bad());
        }
        Ok(HumanDuration(Duration::from_secs(total)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        if s != 0 && s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// A size written as "25MB", "512KB", "1GB" or a plain number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = || format!("bad size {text:?}: write it as \"25MB\", \"512KB\" or a number of bytes");
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| bad())?;
        let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "KB" | "K" => 1024,
            "MB" | "M" => 1024 * 1024,
            "GB" | "G" => 1024 * 1024 * 1024,
            _ => return Err(bad()),
        };
        n.checked_mul(mult).map(ByteSize).ok_or_else(bad)
    }
}

/// An e-mail address, stored in lower case (addresses are compared case-insensitively in
/// practice, although RFC 5321 allows case-sensitive local parts).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub String);

impl Address {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }
}

impl FromStr for Address {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let valid = t.parse::<lettre::Address>().is_ok();
        if !valid {
            return Err(format!("bad e-mail address {text:?}"));
        }
        Ok(Address(t.to_ascii_lowercase()))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sender written as "Support <support@example.test>" or a bare address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedAddress {
    pub name: Option<String>,
    pub address: Address,
}

impl FromStr for NamedAddress {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let mailbox: lettre::message::Mailbox = text
            .trim()
            .parse()
            .map_err(|_| format!("bad sender {text:?}: write \"Name <user@domain>\" or \"user@domain\""))?;
        Ok(NamedAddress {
            name: mailbox.name.filter(|n| !n.is_empty()),
            address: Address(mailbox.email.to_string().to_ascii_lowercase()),
        })
    }
}

impl fmt::Display for NamedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} <{}>", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// An address pattern for allow / block / customer lists: "user@domain", "*@domain",
/// "billing@*" or a bare "domain". Matching is case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressGlob(pub String);

impl AddressGlob {
    pub fn matches(&self, address: &str) -> bool {
        let pattern = &self.0;
        let address = address.to_ascii_lowercase();
        if !pattern.contains('@') {
            // A bare domain covers the domain itself.
            return address.rsplit_once('@').is_some_and(|(_, d)| d == pattern);
        }
        glob_match(pattern.as_bytes(), address.as_bytes())
    }
}

/// `*` matches any run of characters, `?` one character; nothing else is special.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

impl FromStr for AddressGlob {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        if t.is_empty() || t.contains(char::is_whitespace) || t.matches('@').count() > 1 {
            return Err(format!("bad address pattern {text:?}: write \"user@domain\", \"*@domain\" or \"domain\""));
        }
        Ok(AddressGlob(t))
    }
}

macro_rules! deserialize_from_str {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    )*};
}
deserialize_from_str!(HumanDuration, ByteSize, Address, NamedAddress, AddressGlob);

/// How a connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text; only allowed towards a loopback host for IMAP.
    None,
    /// Plain connect, then STARTTLS (required: a server that does not offer it is an error).
    Starttls,
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
}

/// When digests go out (`[digest] every`): "daily 08:00", "weekdays 08:00", "weekly mon 08:00".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    Daily(NaiveTime),
    Weekdays(NaiveTime),
    Weekly(Weekday, NaiveTime),
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(text: &str) -> Result<Schedule, String> {
        let bad = || format!("every = {text:?}: write \"daily 08:00\", \"weekdays 08:00\" or \"weekly mon 08:00\"");
        let parts: Vec<&str> = text.split_whitespace().collect();
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| bad());
        match parts.as_slice() {
            ["daily", t] => Ok(Schedule::Daily(time(t)?)),
            ["weekdays", t] => Ok(Schedule::Weekdays(time(t)?)),
            ["weekly", day, t] => Ok(Schedule::Weekly(day.parse().map_err(|_| bad())?, time(t)?)),
            _ => Err(bad()),
        }
    }
}

impl Schedule {
    /// The latest scheduled moment at or before `now`, in `zone`.
    pub fn latest(&self, zone: chrono_tz::Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&zone).date_naive();
        (0..8).map(|back| today - chrono::Duration::days(back)).find_map(|day| {
            let (fits, time) = match *self {
                Schedule::Daily(t) => (true, t),
                Schedule::Weekdays(t) => (!matches!(day.weekday(), Weekday::Sat | Weekday::Sun), t),
                Schedule::Weekly(d, t) => (day.weekday() == d, t),
            };
            let at = zone.from_local_datetime(&day.and_time(time)).earliest()?.with_timezone(&Utc);
            (fits && at <= now).then_some(at)
        })
    }
}

/// "45m", "1h30m", "2h", "90" (minutes), "1.5h" → minutes.
pub fn parse_minutes(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase().replace(' ', "");
    let bad = || format!("bad duration {text:?}: write 45m, 1h30m or 1.5h");
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(minutes) = t.parse::<i64>() {
        return (minutes > 0).then_some(minutes).ok_or_else(bad);
    }
    if let Some(hours) = t.strip_suffix('h').and_then(|h| h.parse::<f64>().ok()) {
        let minutes = (hours * 60.0).round() as i64;
        return (minutes > 0 && minutes < 100_000).then_some(minutes).ok_or_else(bad);
    }
    let mut total = 0i64;
    let mut digits = String::new();
    for c in t.chars() {
        match c {
            '0'..='9' => digits.push(c),
            'h' | 'm' => {
                let n: i64 = digits.parse().map_err(|_| bad())?;
                digits.clear();
                total += if c == 'h' { n * 60 } else { n };
            }
            _ => return Err(bad()),
        }
    }
    if !digits.is_empty() || total <= 0 || total >= 100_000 {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!("30s".parse::<HumanDuration>().unwrap().as_secs(), 30);
        assert_eq!("15m".parse::<HumanDuration>().unwrap().as_secs(), 900);
        assert_eq!("1h30m".parse::<HumanDuration>().unwrap().as_secs(), 5400);
        assert_eq!("30d".parse::<HumanDuration>().unwrap().as_secs(), 30 * 86_400);
        for bad in ["", "10", "h", "5x", "-5m", "1.5h"] {
            assert!(bad.parse::<HumanDuration>().is_err(), "{bad}");
        }
        assert_eq!("24h".parse::<HumanDuration>().unwrap().to_string(), "1d");
    }

    #[test]
    fn sizes() {
        assert_eq!("25MB".parse::<ByteSize>().unwrap().0, 25 * 1024 * 1024);
        assert_eq!("100".parse::<ByteSize>().unwrap().0, 100);
        assert!("25 parsecs".parse::<ByteSize>().is_err());
    }

    #[test]
    fn named_addresses() {
        let n: NamedAddress = "Support <Support@Example.test>".parse().unwrap();
        assert_eq!(n.name.as_deref(), Some("Support"));
        assert_eq!(n.address.as_str(), "support@example.test");
        assert!("not an address".parse::<NamedAddress>().is_err());
    }

    #[test]
    fn globs() {
        let g: AddressGlob = "*@Acme.test".parse().unwrap();
        assert!(g.matches("boss@acme.test"));
        assert!(!g.matches("boss@acme.test.evil"));
        let g: AddressGlob = "billing@*".parse().unwrap();
        assert!(g.matches("billing@example.test"));
        let g: AddressGlob = "acme.test".parse().unwrap();
        assert!(g.matches("x@ACME.test"));
        assert!(!g.matches("x@sub.acme.test"));
    }
}
