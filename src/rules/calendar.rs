//! Business calendars (docs/rules.md): working hours per weekday in a time zone, holidays
//! (listed, or from an iCalendar feed) and extra working days, read from the rules files and
//! checked. The arithmetic of working time on them lives in `crate::worktime`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::Deserialize;
use toml::Spanned;

use super::model::Zone;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub name: String,
    pub timezone: Zone,
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
    /// Extra working dates (a transferred Saturday), open with [`Calendar::workday_hours`].
    #[serde(default)]
    pub workdays: Vec<Spanned<String>>,
    /// An iCalendar file of closed days, relative to the rules file's folder; "" is none.
    #[serde(default)]
    pub holidays_ics: Option<Spanned<String>>,
    #[serde(default)]
    pub hours: BTreeMap<String, String>,
}

/// A calendar mistake, at a narrower place than the whole `[[calendar]]` when it has one.
pub(super) struct CalendarError {
    pub message: String,
    /// Byte range in the rules file.
    pub span: Option<Range<usize>>,
}

impl From<String> for CalendarError {
    fn from(message: String) -> Self {
        CalendarError { message, span: None }
    }
}

/// Working hours in a time zone, with holidays.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub name: String,
    pub timezone: chrono_tz::Tz,
    /// Closed dates: `holidays` and the days of `holidays_ics`, sorted, without repeats.
    pub holidays: Vec<NaiveDate>,
    /// Working dates whatever their weekday (`workdays`), sorted: open with
    /// [`Calendar::workday_hours`]. Never a holiday too.
    pub workdays: Vec<NaiveDate>,
    /// Working intervals per weekday (Monday first), sorted and non-overlapping.
    pub hours: [Vec<(NaiveTime, NaiveTime)>; 7],
}

impl Calendar {
    /// The hours of a date in `workdays`: Monday's, or when Monday is closed, those of the first
    /// weekday after it that has hours (Tuesday, then Wednesday, ...). Empty only when the
    /// calendar has no hours at all, which a calendar with workdays is refused for.
    pub fn workday_hours(&self) -> &[(NaiveTime, NaiveTime)] {
        self.hours.iter().find(|h| !h.is_empty()).map(Vec::as_slice).unwrap_or_default()
    }

    /// `dir` is the folder of the rules file, against which a relative `holidays_ics` is read;
    /// what the file holds that is not understood goes to `warnings`.
    pub(super) fn from_raw(
        raw: RawCalendar,
        dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<Calendar, CalendarError> {
        let mut hours: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (day, spec) in &raw.hours {
            let weekday: Weekday = day
                .parse()
                .map_err(|_| format!("calendar {:?}: unknown day {day:?} (write mon, tue, ...)", raw.name))?;
            let mut intervals = Vec::new();
            for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (a, b) = part
                    .split_once('-')
                    .ok_or_else(|| format!("calendar {:?}: {day} = {spec:?}: write \"08:00-17:00\"", raw.name))?;
                let parse = |t: &str| {
                    NaiveTime::parse_from_str(t.trim(), "%H:%M")
                        .or_else(|_| if t.trim() == "24:00" { Ok(NaiveTime::MIN) } else { Err(()) })
                        .map_err(|_| format!("calendar {:?}: {day}: bad time {t:?} (write HH:MM)", raw.name))
                };
                let (start, end) = (parse(a)?, parse(b)?);
                if end <= start && end != NaiveTime::MIN {
                    return Err(format!("calendar {:?}: {day}: {part:?} ends before it starts", raw.name).into());
                }
                intervals.push((start, end));
            }
            intervals.sort();
            for pair in intervals.windows(2) {
                if pair[1].0 < pair[0].1 {
                    return Err(format!("calendar {:?}: {day}: intervals overlap", raw.name).into());
                }
            }
            hours[weekday.num_days_from_monday() as usize] = intervals;
        }
        let name = &raw.name;
        let date = |what: &str, d: &Spanned<String>| {
            NaiveDate::parse_from_str(d.get_ref(), "%Y-%m-%d").map_err(|_| CalendarError {
                message: format!("calendar {name:?}: bad {what} {:?} (write YYYY-MM-DD)", d.get_ref()),
                span: Some(d.span()),
            })
        };
        let mut holidays = Vec::new();
        for h in &raw.holidays {
            holidays.push(date("holiday", h)?);
        }
        holidays.sort();
        let mut workdays = Vec::new();
        for w in &raw.workdays {
            let day = date("workday", w)?;
            if holidays.binary_search(&day).is_ok() {
                return Err(CalendarError {
                    message: format!(
                        "calendar {name:?}: workday {day} is also in holidays: a date is one or the other"
                    ),
                    span: Some(w.span()),
                });
            }
            if hours.iter().all(Vec::is_empty) {
                return Err(CalendarError {
                    message: format!(
                        "calendar {name:?}: workdays need working hours to copy (Monday's), and the calendar has none"
                    ),
                    span: Some(w.span()),
                });
            }
            workdays.push(day);
        }
        workdays.sort();
        workdays.dedup();
        if let Some(ics) = raw.holidays_ics.as_ref().filter(|p| !p.get_ref().trim().is_empty()) {
            let path = dir.join(ics.get_ref().trim());
            let at = |message: String| CalendarError { message, span: Some(ics.span()) };
            let closed = super::ics::read(&path).map_err(|e| {
                let place = match e.line {
                    Some(line) => format!("{}:{line}", path.display()),
                    None => path.display().to_string(),
                };
                at(format!("calendar {name:?}: holidays_ics {place}: {}", e.message))
            })?;
            for (line, what) in &closed.warnings {
                let warning = format!("calendar {name:?}: holidays_ics {}:{line}: {what}", path.display());
                // Logged for a reload; `warnings` reaches check-config and the start-up log.
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
            if let Some(day) = workdays.iter().find(|d| closed.days.binary_search(d).is_ok()) {
                let w =
                    raw.workdays.iter().find(|w| NaiveDate::parse_from_str(w.get_ref(), "%Y-%m-%d").ok() == Some(*day));
                return Err(CalendarError {
                    message: format!(
                        "calendar {name:?}: workday {day} is a holiday in holidays_ics {}: a date is one or the other",
                        path.display()
                    ),
                    span: w.map(|w| w.span()).or(Some(ics.span())),
                });
            }
            holidays.extend(closed.days);
            holidays.sort();
        }
        holidays.dedup();
        Ok(Calendar { name: raw.name, timezone: raw.timezone.0, holidays, workdays, hours })
    }
}

/// A span of working time on a calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkingSpan {
    /// Whole working days: the same clock time N working days later.
    Days(u32),
    /// Working hours and minutes.
    Time(Duration),
}

impl WorkingSpan {
    /// "3d", "4h", "90m", "1h30m". Zero is refused.
    pub fn parse(text: &str) -> Result<WorkingSpan, String> {
        let t = text.trim().to_ascii_lowercase();
        let bad = || format!("{text:?} is not a span of working time: write \"2d\" (working days), \"4h\" or \"30m\"");
        if let Some(days) = t.strip_suffix('d') {
            return match days.parse::<u32>() {
                Ok(n) if n > 0 && n <= 366 => Ok(WorkingSpan::Days(n)),
                _ => Err(bad()),
            };
        }
        let minutes = crate::config::parse_minutes(&t).map_err(|_| bad())?;
        Ok(WorkingSpan::Time(Duration::minutes(minutes)))
    }

    /// The instant this span of working time after `start`.
    pub fn after(self, cal: &Calendar, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            WorkingSpan::Time(d) => cal.add_working(start, d),
            WorkingSpan::Days(n) => add_working_days(cal, start, n),
        }
    }
}

/// The same local clock time `n` working days after `start`, moved on to the next working
/// minute when that is outside hours.
pub fn add_working_days(cal: &Calendar, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    let local = start.with_timezone(&cal.timezone);
    let mut day = local.date_naive();
    let mut counted = 0;
    // A calendar without a working day in a year is a calendar without working days.
    for _ in 0..(366 * 3) {
        if counted == n {
            break;
        }
        day += Duration::days(1);
        if !cal.working_intervals(day).is_empty() {
            counted += 1;
        }
    }
    let wall = day.and_time(local.time());
    let at = cal.timezone.from_local_datetime(&wall).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or(start);
    cal.next_working(at)
}
