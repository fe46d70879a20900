//! When: the moments staff name for a promise or a snooze (`#eta WHEN`, `#waiting WHEN`,
//! `tickets eta`, `tickets wait --until`) and the spans of the waiting policy (`remind_after`,
//! `close_after`), read and placed on a department's calendar (docs/conversation.md).
//!
//! WHEN is an RFC 3339 time, a date, or working time from now: "2d" (two working days: the
//! same clock time two working days later, moved on to the next working minute when that is
//! outside hours) or "4h" / "90m" / "1h30m" (working hours and minutes). A date means the end of
//! that day's working hours for an ETA and their start for a snooze; a closed day means the next
//! working day. Pure: it never reads a clock — `now` is given.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::rules::Calendar;

pub use crate::rules::{add_working_days, WorkingSpan};

/// What WHEN said, before it is placed on a calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    At(DateTime<Utc>),
    Date(NaiveDate),
    From(WorkingSpan),
}

/// What the moment is for: a date means the end of its working hours for an ETA, their start
/// for a snooze.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Eta,
    Snooze,
}

impl When {
    pub fn parse(text: &str) -> Result<When, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("a time is needed: an RFC 3339 time, a date (2026-11-27) or working time (2d, 4h)".into());
        }
        if let Ok(at) = DateTime::parse_from_rfc3339(t) {
            return Ok(When::At(at.with_timezone(&Utc)));
        }
        if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            return Ok(When::Date(date));
        }
        WorkingSpan::parse(t).map(When::From).map_err(|_| {
            format!(
                "{t:?} is not a time: write an RFC 3339 time (2026-11-27T15:00:00+01:00), a date (2026-11-27) \
                 or working time from now (2d, 4h)"
            )
        })
    }

    /// The instant on `cal`, or why it cannot be a promise: in the past, or outside any
    /// working time.
    pub fn place(self, cal: &Calendar, now: DateTime<Utc>, purpose: Purpose) -> Result<DateTime<Utc>, String> {
        let shown = |t: DateTime<Utc>| t.with_timezone(&cal.timezone).format("%Y-%m-%d %H:%M %Z").to_string();
        let at = match self {
            When::At(at) if at <= now => return Err(format!("{} is in the past", shown(at))),
            When::At(at) => {
                // The end of a working interval is a fine promise ("by 17:00"): look a minute back.
                let open = cal.is_working(at) || cal.is_working(at - Duration::minutes(1));
                if !open {
                    return Err(format!("{} is outside working hours on the {} calendar", shown(at), cal.name));
                }
                at
            }
            When::Date(date) => {
                let mut day = date;
                let mut found = None;
                for _ in 0..(366 * 3) {
                    let intervals = cal.working_intervals(day);
                    let picked = match purpose {
                        Purpose::Eta => intervals.last().map(|(_, close)| *close),
                        Purpose::Snooze => intervals.first().map(|(open, _)| *open),
                    };
                    if picked.is_some() {
                        found = picked;
                        break;
                    }
                    day += Duration::days(1);
                }
                found.ok_or_else(|| format!("the {} calendar has no working day on or after {date}", cal.name))?
            }
            When::From(span) => span.after(cal, now),
        };
        if at <= now {
            return Err(format!("{} is in the past", shown(at)));
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn office() -> Calendar {
        let src = r#"
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
holidays = ["2026-11-27"]
[calendar.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-12:00,13:00-15:00"
"#;
        let rules = crate::rules::Rules::from_sources(&[("c.toml".into(), src.into())], "t".into()).unwrap();
        rules.calendars[0].clone()
    }

    fn budapest(local: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Europe::Budapest.from_local_datetime(&naive).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn working_days_keep_the_clock_time_and_skip_closed_days() {
        let cal = office();
        // Monday 10:00 + 2 working days = Wednesday 10:00.
        assert_eq!(add_working_days(&cal, budapest("2026-11-23 10:00"), 2), budapest("2026-11-25 10:00"));
        // Wednesday 16:00 + 2: Thursday, then Friday is a holiday, Saturday and Sunday closed →
        // Monday 16:00.
        assert_eq!(add_working_days(&cal, budapest("2026-11-25 16:00"), 2), budapest("2026-11-30 16:00"));
        // Thursday 16:30 + 1 → Friday is a holiday → Monday 16:30.
        assert_eq!(add_working_days(&cal, budapest("2026-11-26 16:30"), 1), budapest("2026-11-30 16:30"));
        // Monday 16:30 + 4 → Friday 16:30, after Friday's 15:00 close → next Monday 08:00.
        assert_eq!(add_working_days(&cal, budapest("2026-11-30 16:30"), 4), budapest("2026-12-07 08:00"));
    }

    #[test]
    fn when_is_read_and_placed_for_an_eta_and_a_snooze() {
        let cal = office();
        let now = budapest("2026-11-23 10:00");
        let place = |text: &str, purpose| When::parse(text).and_then(|w| w.place(&cal, now, purpose));
        // A date: the end of its working hours for an ETA, the start for a snooze.
        assert_eq!(place("2026-11-25", Purpose::Eta), Ok(budapest("2026-11-25 17:00")));
        assert_eq!(place("2026-11-25", Purpose::Snooze), Ok(budapest("2026-11-25 08:00")));
        // A closed day: the next working day (Friday the 27th is a holiday, then the weekend).
        assert_eq!(place("2026-11-27", Purpose::Eta), Ok(budapest("2026-11-30 17:00")));
        assert_eq!(place("2026-11-28", Purpose::Snooze), Ok(budapest("2026-11-30 08:00")));
        // Working time from now.
        assert_eq!(place("2d", Purpose::Eta), Ok(budapest("2026-11-25 10:00")));
        assert_eq!(place("8h", Purpose::Eta), Ok(budapest("2026-11-24 09:00")));
        // RFC 3339, in hours or at their end.
        assert_eq!(place("2026-11-24T10:00:00+01:00", Purpose::Snooze), Ok(budapest("2026-11-24 10:00")));
        assert_eq!(place("2026-11-24T17:00:00+01:00", Purpose::Eta), Ok(budapest("2026-11-24 17:00")));
        // Refused, each with its reason.
        let refused = |text: &str| place(text, Purpose::Eta).unwrap_err();
        assert!(refused("2026-11-22T10:00:00+01:00").contains("in the past"));
        assert!(refused("2026-11-20").contains("in the past"));
        assert!(refused("2026-11-28T10:00:00+01:00").contains("outside working hours"));
        assert!(refused("2026-11-24T03:00:00+01:00").contains("outside working hours"));
        assert!(refused("next week").contains("is not a time"));
        assert!(refused("").contains("a time is needed"));
        assert!(refused("0d").contains("is not a time"));
    }

    #[test]
    fn spans_of_the_waiting_policy() {
        assert_eq!(WorkingSpan::parse("3d"), Ok(WorkingSpan::Days(3)));
        assert_eq!(WorkingSpan::parse("4h"), Ok(WorkingSpan::Time(Duration::hours(4))));
        assert_eq!(WorkingSpan::parse("1h30m"), Ok(WorkingSpan::Time(Duration::minutes(90))));
        for bad in ["", "d", "-1d", "tomorrow", "0h"] {
            assert!(WorkingSpan::parse(bad).is_err(), "{bad}");
        }
    }
}
