//! Closed days from an iCalendar file (RFC 5545), as public-holiday feeds publish them (Google's
//! and Outlook's national holiday calendars, officeholidays.com, ...): a calendar's
//! `holidays_ics`.
//!
//! Every `VEVENT` is a closed day, whatever its `TRANSP` (feeds often mark holidays
//! `TRANSPARENT`), except one with `STATUS:CANCELLED`:
//! - `DTSTART;VALUE=DATE:20261224` closes that day; a date-time (`DTSTART:20261224T000000`,
//!   `...Z`, `DTSTART;TZID=Europe/Budapest:...`) closes the date as written.
//! - `DTEND` (exclusive for a date, or a date-time at midnight) or `DURATION` (`P3D`, `P1W`)
//!   closes each day of a longer event; without either, one day.
//! - `RRULE:FREQ=YEARLY` (with `INTERVAL`, `COUNT`, `UNTIL`, and `BYMONTH` / `BYMONTHDAY` that
//!   repeat DTSTART's) repeats the days every year: up to `COUNT` or `UNTIL`, else for DTSTART's
//!   year and the ten after it, and never past 2100. Other rules (`FREQ=MONTHLY`, `BYDAY`, ...)
//!   are not expanded: the event closes its first day only, with a warning. `EXDATE` removes an
//!   occurrence.
//!
//! The parser is small and bounded on purpose: it unfolds continuation lines (§3.1), splits
//! `NAME;PARAM=VALUE:VALUE` with quoted parameter values, and tracks `BEGIN`/`END` without
//! recursion. Files over [`MAX_BYTES`] or with more than [`MAX_EVENTS`] events are refused; every
//! error carries the (first physical) line it is about.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

/// The largest file read: national feeds are tens of kilobytes.
pub const MAX_BYTES: u64 = 5 * 1024 * 1024;
/// The most `VEVENT`s in one file.
pub const MAX_EVENTS: usize = 10_000;
/// The most days one event may close.
const MAX_EVENT_DAYS: i64 = 366;
/// The most days all events together may close (repeats counted), a bound on the work.
const MAX_CLOSED_DAYS: usize = 1_000_000;
/// A yearly rule without `COUNT` or `UNTIL` repeats for this many years after DTSTART's.
const OPEN_ENDED_YEARS: i32 = 10;
/// No repetition goes past this year.
const LAST_YEAR: i32 = 2100;
/// Deeper `BEGIN` nesting is refused (a calendar is VCALENDAR > VEVENT > VALARM).
const MAX_DEPTH: usize = 16;

/// A mistake in the file, at a line when it can be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsError {
    /// 1-based line in the file (the first physical line of a folded one).
    pub line: Option<usize>,
    pub message: String,
}

impl IcsError {
    fn at(line: usize, message: impl Into<String>) -> IcsError {
        IcsError { line: Some(line), message: message.into() }
    }
}

impl std::fmt::Display for IcsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The closed days of a file, sorted and without repeats, and what was not understood.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClosedDays {
    pub days: Vec<NaiveDate>,
    /// (line, what): a recurrence rule that was not expanded.
    pub warnings: Vec<(usize, String)>,
}

/// Reads `path` (at most [`MAX_BYTES`]) and returns its closed days.
pub fn read(path: &Path) -> Result<ClosedDays, IcsError> {
    let cannot = |e: std::io::Error| IcsError { line: None, message: format!("cannot read: {e}") };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    // `take` rather than the file's length: a device or a growing file has none to trust.
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(IcsError { line: None, message: format!("larger than {} MB: refused", MAX_BYTES / (1024 * 1024)) });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        IcsError::at(line, "not UTF-8 (RFC 5545 files are UTF-8)")
    })?;
    parse(&text)
}

/// The closed days of an iCalendar text.
pub fn parse(text: &str) -> Result<ClosedDays, IcsError> {
    let lines = unfold(text.strip_prefix('\u{feff}').unwrap_or(text));
    match lines.first() {
        Some(first) if first.text.trim_end().eq_ignore_ascii_case("BEGIN:VCALENDAR") => {}
        Some(first) => {
            return Err(IcsError::at(first.number, "not an iCalendar file: it must begin with BEGIN:VCALENDAR"))
        }
        None => return Err(IcsError { line: None, message: "empty: not an iCalendar file".into() }),
    }

    let mut out = Closed { days: BTreeSet::new(), work: 0 };
    let mut warnings = Vec::new();
    // Open components: name and the line of their BEGIN.
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut event: Option<Event> = None;
    let mut events = 0;
    for line in &lines {
        let prop = Property::parse(line)?;
        if prop.name == "BEGIN" {
            let name = prop.value.trim().to_ascii_uppercase();
            if stack.len() >= MAX_DEPTH {
                return Err(IcsError::at(line.number, format!("components nested deeper than {MAX_DEPTH}")));
            }
            if name == "VEVENT" {
                events += 1;
                if events > MAX_EVENTS {
                    return Err(IcsError::at(line.number, format!("more than {MAX_EVENTS} events: refused")));
                }
            }
            if name == "VEVENT" && stack.len() == 1 && stack[0].0 == "VCALENDAR" {
                event = Some(Event { line: line.number, ..Event::default() });
            }
            stack.push((name, line.number));
        } else if prop.name == "END" {
            let name = prop.value.trim().to_ascii_uppercase();
            match stack.pop() {
                Some((open, _)) if open == name => {}
                Some((open, begun)) => {
                    return Err(IcsError::at(line.number, format!("END:{name} closes BEGIN:{open} of line {begun}")))
                }
                None => return Err(IcsError::at(line.number, format!("END:{name} without a BEGIN"))),
            }
            if name == "VEVENT" && stack.len() == 1 {
                if let Some(e) = event.take() {
                    e.close_days(&mut out, &mut warnings)?;
                }
            }
        } else if stack.is_empty() {
            return Err(IcsError::at(line.number, format!("{} outside BEGIN:VCALENDAR ... END:VCALENDAR", prop.name)));
        } else if stack.len() == 2 {
            // A property of the event itself (not of an alarm inside it).
            if let Some(e) = event.as_mut() {
                e.take(prop)?;
            }
        }
    }
    if let Some((open, begun)) = stack.last() {
        return Err(IcsError::at(*begun, format!("BEGIN:{open} is never closed (the file is cut short?)")));
    }
    Ok(ClosedDays { days: out.days.into_iter().collect(), warnings })
}

/// One content line after unfolding, with the number of its first physical line.
#[derive(Debug)]
struct Line {
    number: usize,
    text: String,
}

/// Joins folded lines (RFC 5545 §3.1: a line break followed by one space or tab continues the
/// line), accepting CRLF or bare LF breaks; blank lines are dropped.
fn unfold(text: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for (i, physical) in text.split('\n').enumerate() {
        let physical = physical.strip_suffix('\r').unwrap_or(physical);
        if let Some(rest) = physical.strip_prefix([' ', '\t']) {
            if let Some(last) = lines.last_mut() {
                last.text.push_str(rest);
                continue;
            }
        }
        if !physical.trim().is_empty() {
            lines.push(Line { number: i + 1, text: physical.to_string() });
        }
    }
    lines
}

/// `NAME;PARAM=VALUE;...:VALUE`, the name upper-cased. The parameters (`VALUE=DATE`, `TZID=...`)
/// change nothing here: the value's own shape tells a date from a date-time, and a date-time's
/// date is taken as written.
#[derive(Debug)]
struct Property<'a> {
    line: usize,
    name: String,
    value: &'a str,
}

impl<'a> Property<'a> {
    fn parse(line: &'a Line) -> Result<Property<'a>, IcsError> {
        let text = line.text.as_str();
        // The value starts at the first colon outside a quoted parameter value.
        let mut quoted = false;
        let mut colon = None;
        for (i, c) in text.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ':' if !quoted => {
                    colon = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(colon) = colon else {
            let why = if quoted { "a quote is never closed" } else { "no ':'" };
            return Err(IcsError::at(line.number, format!("not an iCalendar line ({why}): {:?}", clip(text))));
        };
        let (head, value) = (&text[..colon], &text[colon + 1..]);
        let name = head.split(';').next().unwrap_or_default().trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(IcsError::at(line.number, format!("not an iCalendar line (bad name): {:?}", clip(text))));
        }
        Ok(Property { line: line.number, name: name.to_ascii_uppercase(), value })
    }
}

/// The start of a long line, for messages.
fn clip(text: &str) -> String {
    text.chars().take(60).collect()
}

/// A DATE or DATE-TIME value: its date, and whether it is a date or a midnight.
#[derive(Clone, Copy, Debug)]
struct When {
    date: NaiveDate,
    /// A DATE, or a DATE-TIME at 00:00:00: an end there is exclusive.
    day_boundary: bool,
}

/// `20261224`, `20261224T000000` or `20261224T000000Z` (the date is taken as written, whatever
/// the TZID).
fn parse_when(prop_line: usize, name: &str, value: &str) -> Result<When, IcsError> {
    let value = value.trim();
    let bad =
        || IcsError::at(prop_line, format!("{name}: bad date {:?} (write YYYYMMDD or YYYYMMDDTHHMMSS)", clip(value)));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = match value.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t.strip_suffix(['Z', 'z']).unwrap_or(t))),
        None => (value, None),
    };
    if date.len() != 8 || !digits(date) {
        return Err(bad());
    }
    let date = NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad())?;
    let day_boundary = match time {
        None => true,
        Some(t) if t.len() == 6 && digits(t) => {
            let t = NaiveTime::parse_from_str(t, "%H%M%S").map_err(|_| bad())?;
            t == NaiveTime::MIN
        }
        Some(_) => return Err(bad()),
    };
    Ok(When { date, day_boundary })
}

/// Whole days of a DURATION (`P1D`, `P2W`, `PT24H`, `P1DT12H`), at least one.
fn duration_days(prop: &Property) -> Result<i64, IcsError> {
    let bad = || IcsError::at(prop.line, format!("DURATION: bad duration {:?} (write e.g. P1D)", clip(prop.value)));
    let v = prop.value.trim().to_ascii_uppercase();
    let v = v.strip_prefix('+').unwrap_or(&v);
    let rest = v.strip_prefix('P').ok_or_else(bad)?;
    let (mut seconds, mut number, mut in_time, mut any) = (0i64, String::new(), false, false);
    for c in rest.chars() {
        match c {
            '0'..='9' if number.len() < 9 => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' if !number.is_empty() => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                let unit = match (c, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(bad()),
                };
                seconds += n * unit;
                number.clear();
                any = true;
            }
            _ => return Err(bad()),
        }
    }
    if !any || !number.is_empty() {
        return Err(bad());
    }
    Ok(((seconds + 86_399) / 86_400).max(1))
}

/// The properties of one VEVENT that matter here.
#[derive(Debug, Default)]
struct Event {
    line: usize,
    start: Option<(usize, When)>,
    end: Option<(usize, When)>,
    duration_days: Option<i64>,
    rrule: Option<(usize, String)>,
    exdates: BTreeSet<NaiveDate>,
    cancelled: bool,
}

struct Closed {
    days: BTreeSet<NaiveDate>,
    /// Days closed so far, repeats counted.
    work: usize,
}

impl Event {
    fn take(&mut self, prop: Property) -> Result<(), IcsError> {
        match prop.name.as_str() {
            "DTSTART" => self.start = Some((prop.line, parse_when(prop.line, "DTSTART", prop.value)?)),
            "DTEND" => self.end = Some((prop.line, parse_when(prop.line, "DTEND", prop.value)?)),
            "DURATION" => self.duration_days = Some(duration_days(&prop)?),
            "RRULE" => self.rrule = Some((prop.line, prop.value.trim().to_string())),
            "EXDATE" => {
                for v in prop.value.split(',') {
                    self.exdates.insert(parse_when(prop.line, "EXDATE", v)?.date);
                }
            }
            "STATUS" => self.cancelled = prop.value.trim().eq_ignore_ascii_case("CANCELLED"),
            _ => {}
        }
        Ok(())
    }

    fn close_days(self, out: &mut Closed, warnings: &mut Vec<(usize, String)>) -> Result<(), IcsError> {
        let Some((_, start)) = self.start else {
            return Err(IcsError::at(self.line, "VEVENT without DTSTART"));
        };
        if self.cancelled {
            return Ok(());
        }
        let length = match (self.end, self.duration_days) {
            (Some((line, end)), _) => {
                let mut days = (end.date - start.date).num_days();
                if !end.day_boundary {
                    days += 1; // it ends during that day
                }
                if days > MAX_EVENT_DAYS {
                    return Err(IcsError::at(line, format!("DTEND: an event longer than {MAX_EVENT_DAYS} days")));
                }
                days.max(1)
            }
            (None, Some(days)) if days > MAX_EVENT_DAYS => {
                return Err(IcsError::at(self.line, format!("DURATION: an event longer than {MAX_EVENT_DAYS} days")))
            }
            (None, Some(days)) => days,
            (None, None) => 1,
        };
        let starts = match &self.rrule {
            None => vec![start.date],
            Some((line, rule)) => match yearly(start.date, rule) {
                Ok(starts) => starts,
                Err(Unsupported(why)) => {
                    warnings.push((*line, format!("RRULE {rule:?}: {why}; only its first day is closed")));
                    vec![start.date]
                }
            },
        };
        for first in starts.into_iter().filter(|d| !self.exdates.contains(d)) {
            for offset in 0..length {
                out.work += 1;
                if out.work > MAX_CLOSED_DAYS {
                    return Err(IcsError::at(self.line, format!("the events close more than {MAX_CLOSED_DAYS} days")));
                }
                if let Some(day) = first.checked_add_signed(Duration::days(offset)) {
                    out.days.insert(day);
                }
            }
        }
        Ok(())
    }
}

/// Why a rule is not expanded.
struct Unsupported(String);

/// The start dates of a `FREQ=YEARLY` rule from `start` (included), bounded as documented above.
fn yearly(start: NaiveDate, rule: &str) -> Result<Vec<NaiveDate>, Unsupported> {
    let mut freq = None;
    let (mut interval, mut count, mut until) = (1i32, None::<usize>, None::<NaiveDate>);
    for part in rule.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let key = key.trim().to_ascii_uppercase();
        let value = value.trim();
        let number = || value.parse::<u32>().map_err(|_| Unsupported(format!("bad {key} {value:?}")));
        match key.as_str() {
            "FREQ" => freq = Some(value.to_ascii_uppercase()),
            "INTERVAL" => interval = number()?.clamp(1, 1000) as i32,
            "COUNT" => count = Some(number()? as usize),
            "UNTIL" => {
                until =
                    Some(parse_when(0, "UNTIL", value).map_err(|_| Unsupported(format!("bad UNTIL {value:?}")))?.date)
            }
            "BYMONTH" if number().ok() == Some(start.month()) => {}
            "BYMONTHDAY" if number().ok() == Some(start.day()) => {}
            "WKST" => {}
            _ => return Err(Unsupported(format!("{key} is not supported"))),
        }
    }
    match freq.as_deref() {
        Some("YEARLY") => {}
        Some(other) => return Err(Unsupported(format!("FREQ={other} is not supported (only YEARLY)"))),
        None => return Err(Unsupported("no FREQ".into())),
    }
    let last_year = match (count, until) {
        (None, None) => (start.year() + OPEN_ENDED_YEARS).min(LAST_YEAR),
        _ => LAST_YEAR,
    };
    let mut dates = Vec::new();
    let mut year = start.year();
    while year <= last_year.max(start.year()) {
        // 29 February repeats only in leap years (RFC 5545: invalid dates are skipped).
        if let Some(date) = NaiveDate::from_ymd_opt(year, start.month(), start.day()) {
            if until.is_some_and(|u| date > u) || count.is_some_and(|c| dates.len() >= c) {
                break;
            }
            dates.push(date);
        }
        year += interval;
    }
    if dates.is_empty() {
        dates.push(start); // COUNT=0 or UNTIL before DTSTART: DTSTART still counts
    }
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn days(text: &str) -> Vec<String> {
        parse(text).unwrap().days.iter().map(|d| d.to_string()).collect()
    }

    fn wrap(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n")
    }

    #[test]
    fn all_day_events_close_their_days() {
        let text = wrap(concat!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nSUMMARY:Szenteste\r\nEND:VEVENT\r\n",
            // DTEND is exclusive: the 25th and the 26th.
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n",
            // A DTEND equal to DTSTART still closes the day.
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nDTEND;VALUE=DATE:20270101\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(days(&text), ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"]);
    }

    #[test]
    fn date_times_close_the_date_as_written() {
        let text = wrap(concat!(
            "BEGIN:VEVENT\r\nDTSTART:20260315T000000\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;TZID=\"Europe/Budapest\":20261023T080000\r\n",
            "DTEND;TZID=Europe/Budapest:20261023T170000\r\nEND:VEVENT\r\n",
            // Midnight to midnight is one day; past midnight reaches the next.
            "BEGIN:VEVENT\r\nDTSTART:20260501T000000Z\r\nDTEND:20260502T000000Z\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART:20260819T120000Z\r\nDTEND:20260820T120000Z\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(days(&text), ["2026-03-15", "2026-05-01", "2026-08-19", "2026-08-20", "2026-10-23"]);
    }

    #[test]
    fn durations_close_whole_days() {
        let text = wrap(concat!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260406\r\nDURATION:P2D\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260601\r\nDURATION:PT24H\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(days(&text), ["2026-04-06", "2026-04-07", "2026-06-01"]);
        let e = parse(&wrap("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260406\r\nDURATION:two days\r\nEND:VEVENT\r\n"))
            .unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
    }

    #[test]
    fn folded_lines_bare_newlines_and_a_bom_are_read() {
        let text = "\u{feff}BEGIN:VCALENDAR\nPRODID:-//Example//Holidays//HU\nBEGIN:VEVENT\nSUMMARY:Az 1956-os \n forradalom \n\tünnepe\nDTSTART;VALUE=\n DATE:202610\n 23\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(days(text), ["2026-10-23"]);
        let lines = unfold("A:1\r\n B\r\n\tC\r\nD:2");
        assert_eq!((lines[0].number, lines[0].text.as_str()), (1, "A:1BC"));
        assert_eq!((lines[1].number, lines[1].text.as_str()), (4, "D:2"));
    }

    #[test]
    fn quoted_parameters_may_hold_colons_and_semicolons() {
        let line = Line { number: 7, text: "DTSTART;X-NOTE=\"a:b;c\";TZID=\"Europe/Budapest\":20261224T000000".into() };
        let p = Property::parse(&line).unwrap();
        assert_eq!((p.name.as_str(), p.value), ("DTSTART", "20261224T000000"));
        let line = Line { number: 8, text: "dtstart;x-note=\"a:b:20261224".into() };
        assert!(Property::parse(&line).unwrap_err().message.contains("quote"));
    }

    #[test]
    fn yearly_rules_repeat_within_bounds() {
        let open = wrap("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n");
        let got = days(&open);
        assert_eq!(got.len(), 11, "DTSTART's year and ten more: {got:?}");
        assert_eq!((got[0].as_str(), got[10].as_str()), ("2026-12-24", "2036-12-24"));

        let counted = wrap(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nRRULE:FREQ=YEARLY;COUNT=2\r\nEND:VEVENT\r\n",
        );
        assert_eq!(days(&counted), ["2026-12-25", "2026-12-26", "2027-12-25", "2027-12-26"]);

        let until = wrap(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20240315\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15;UNTIL=20260315\r\nEXDATE;VALUE=DATE:20250315\r\nEND:VEVENT\r\n",
        );
        assert_eq!(days(&until), ["2024-03-15", "2026-03-15"]);

        let leap = wrap("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20240229\r\nRRULE:FREQ=YEARLY;COUNT=2\r\nEND:VEVENT\r\n");
        assert_eq!(days(&leap), ["2024-02-29", "2028-02-29"]);

        let forever =
            wrap("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20900101\r\nRRULE:FREQ=YEARLY;COUNT=500\r\nEND:VEVENT\r\n");
        assert_eq!(days(&forever).last().map(String::as_str), Some("2100-01-01"), "never past 2100");
    }

    #[test]
    fn other_rules_close_the_first_day_with_a_warning() {
        let text = wrap(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260525\r\nRRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO\r\nEND:VEVENT\r\n",
        );
        let got = parse(&text).unwrap();
        assert_eq!(got.days, [d("2026-05-25")]);
        assert_eq!(got.warnings[0].0, 5);
        assert!(got.warnings[0].1.contains("BYDAY is not supported"), "{:?}", got.warnings);
        let monthly = wrap("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=MONTHLY\r\nEND:VEVENT\r\n");
        assert_eq!(parse(&monthly).unwrap().days, [d("2026-01-01")]);
    }

    #[test]
    fn transparent_events_count_and_cancelled_ones_do_not() {
        let text = wrap(concat!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260102\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
            // An alarm's properties are not the event's.
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260103\r\nBEGIN:VALARM\r\nDTSTART:20990101T000000\r\nEND:VALARM\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(days(&text), ["2026-01-01", "2026-01-03"]);
        // Timezones and to-dos are not events.
        let text = wrap(concat!(
            "BEGIN:VTIMEZONE\r\nTZID:Europe/Budapest\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
            "BEGIN:VTODO\r\nDTSTART:20260105T000000\r\nEND:VTODO\r\n",
        ));
        assert!(days(&text).is_empty());
    }

    #[test]
    fn mistakes_are_refused_at_their_line() {
        let bad_date = wrap("BEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART;VALUE=DATE:2026-12-24\r\nEND:VEVENT\r\n");
        let e = parse(&bad_date).unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("bad date \"2026-12-24\""), "{e}");
        for (text, line, words) in [
            (wrap("BEGIN:VEVENT\r\nDTSTART:20261340\r\nEND:VEVENT\r\n"), Some(4), "bad date"),
            (wrap("BEGIN:VEVENT\r\nDTSTART:20261224T250000\r\nEND:VEVENT\r\n"), Some(4), "bad date"),
            (wrap("BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n"), Some(3), "without DTSTART"),
            ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261224\r\n".into(), Some(2), "never closed"),
            (wrap("BEGIN:VEVENT\r\nDTSTART:20261224\r\nEND:VTODO\r\n"), Some(5), "closes BEGIN:VEVENT"),
            (wrap("BEGIN:VEVENT\r\ngarbage\r\nEND:VEVENT\r\n"), Some(4), "no ':'"),
            ("<html><body>Not found</body></html>".into(), Some(1), "must begin with BEGIN:VCALENDAR"),
            (String::new(), None, "empty"),
            (
                wrap("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nDTEND;VALUE=DATE:20300101\r\nEND:VEVENT\r\n"),
                Some(5),
                "longer than",
            ),
        ] {
            let e = parse(&text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(words), "{text:?}: {e}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let event = "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nEND:VEVENT\r\n";
        assert_eq!(parse(&wrap(&event.repeat(MAX_EVENTS))).unwrap().days.len(), 1);
        let e = parse(&wrap(&event.repeat(MAX_EVENTS + 1))).unwrap_err();
        assert!(e.message.contains("more than 10000 events"), "{e}");
        let deep = format!("BEGIN:VCALENDAR\r\n{}", "BEGIN:X\r\n".repeat(100_000));
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));

        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.ics");
        let padding = format!("X-PAD:{}\r\n", "x".repeat(1000));
        std::fs::write(&big, wrap(&padding.repeat(6 * 1024))).unwrap();
        let e = read(&big).unwrap_err();
        assert!(e.message.contains("larger than 5 MB"), "{e}");
        let e = read(&dir.path().join("missing.ics")).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
        let latin1 = dir.path().join("latin1.ics");
        std::fs::write(&latin1, b"BEGIN:VCALENDAR\r\nSUMMARY:Kar\xe1csony\r\nEND:VCALENDAR\r\n").unwrap();
        assert_eq!(read(&latin1).unwrap_err().line, Some(2));
    }
}
