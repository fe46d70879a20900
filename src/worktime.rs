//! Working time on a business calendar (docs/rules.md): adding a working duration to an instant, and
//! measuring the working time between two instants, in the calendar's time zone — split days,
//! closed days, holidays, extra working days and daylight-saving changes included.
//!
//! Pure arithmetic over instants in UTC; it never reads a clock. A wall-clock time that does not
//! exist on a spring-forward day starts at the first instant after the gap; one that happens twice
//! on a fall-back day opens at its earlier and closes at its later occurrence, so that a working
//! interval is never cut short by a time-zone change.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::rules::Calendar;

/// How far ahead arithmetic looks for working time before giving up: a calendar with hours
/// never needs this long, one that is only holidays would loop forever.
const HORIZON_DAYS: i64 = 3 * 366;

impl Calendar {
    /// True when the calendar has no working hours at all: then time is counted round the clock.
    fn always_open(&self) -> bool {
        self.hours.iter().all(Vec::is_empty)
    }

    /// The working intervals of one local day, as UTC instants, in order.
    fn intervals_on(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.binary_search(&day).is_ok() {
            return Vec::new();
        }
        let tz = self.timezone;
        let hours = if self.workdays.binary_search(&day).is_ok() {
            self.workday_hours()
        } else {
            &self.hours[day.weekday().num_days_from_monday() as usize]
        };
        hours
            .iter()
            .map(|(start, end)| {
                let from = local_instant(tz, day.and_time(*start), Edge::Open);
                // "24:00" is kept as 00:00: the end of the day is the next day's midnight.
                let end_at =
                    if *end == NaiveTime::MIN { (day + Duration::days(1)).and_time(*end) } else { day.and_time(*end) };
                (from, local_instant(tz, end_at, Edge::Close))
            })
            .filter(|(a, b)| a < b)
            .collect()
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.timezone).date_naive()
    }

    /// The instant `working` working time after `start`. Zero returns `start` itself.
    pub fn add_working(&self, start: DateTime<Utc>, working: Duration) -> DateTime<Utc> {
        if working <= Duration::zero() {
            return start;
        }
        if self.always_open() {
            return start + working;
        }
        let mut left = working;
        // The day before too: an interval of the previous local day can still be running.
        let first = self.local_date(start) - Duration::days(1);
        for offset in 0..HORIZON_DAYS {
            for (open, close) in self.intervals_on(first + Duration::days(offset)) {
                if close <= start {
                    continue;
                }
                let from = open.max(start);
                let available = close - from;
                if left <= available {
                    return from + left;
                }
                left -= available;
            }
        }
        // Only holidays ahead: count the rest round the clock rather than never.
        start + working
    }

    /// The working time between two instants (zero when `to` is not after `from`).
    pub fn working_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if self.always_open() {
            return to - from;
        }
        let mut total = Duration::zero();
        let mut day = self.local_date(from) - Duration::days(1);
        let last = self.local_date(to);
        while day <= last {
            for (open, close) in self.intervals_on(day) {
                let (a, b) = (open.max(from), close.min(to));
                if a < b {
                    total += b - a;
                }
            }
            day += Duration::days(1);
        }
        total
    }

    /// Whether `t` falls inside working hours (an interval's start counts, its end does not).
    pub fn is_working(&self, t: DateTime<Utc>) -> bool {
        if self.always_open() {
            return true;
        }
        let day = self.local_date(t);
        [day - Duration::days(1), day].iter().any(|d| self.intervals_on(*d).iter().any(|(a, b)| *a <= t && t < *b))
    }

    /// The working intervals of a local date, as UTC instants, in order (none on a closed day).
    pub fn working_intervals(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.intervals_on(day)
    }

    /// The start of the next working interval at or after `t` (`t` itself when open).
    pub fn next_working(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_working(t) {
            return t;
        }
        let first = self.local_date(t);
        for offset in 0..HORIZON_DAYS {
            for (open, _) in self.intervals_on(first + Duration::days(offset)) {
                if open >= t {
                    return open;
                }
            }
        }
        t
    }
}

#[derive(Clone, Copy)]
enum Edge {
    Open,
    Close,
}

/// The instant of a local wall-clock time, whatever daylight saving did to it.
fn local_instant(tz: Tz, local: NaiveDateTime, edge: Edge) -> DateTime<Utc> {
    use chrono::LocalResult;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, late) => match edge {
            Edge::Open => early.with_timezone(&Utc),
            Edge::Close => late.with_timezone(&Utc),
        },
        LocalResult::None => {
            // In a spring-forward gap: the first wall-clock minute after it.
            let mut probe = local;
            for _ in 0..(3 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            // No zone has a gap this long; read it as UTC rather than fail.
            Utc.from_utc_datetime(&local)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn calendar(zone: &str, hours: &[(&str, &str)], holidays: &[&str]) -> Calendar {
        calendar_with(zone, hours, holidays, "")
    }

    /// A calendar with more keys (`extra`, TOML lines) before its hours.
    fn calendar_with(zone: &str, hours: &[(&str, &str)], holidays: &[&str], extra: &str) -> Calendar {
        let mut src = format!("[[calendar]]\nname = \"c\"\ntimezone = \"{zone}\"\nholidays = [");
        src.push_str(&holidays.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", "));
        src.push_str("]\n");
        src.push_str(extra);
        src.push_str("\n[calendar.hours]\n");
        for (day, spec) in hours {
            src.push_str(&format!("{day} = \"{spec}\"\n"));
        }
        let rules = crate::rules::Rules::from_sources(&[("cal.toml".into(), src)], "templates".into()).unwrap();
        rules.calendars.into_iter().next().unwrap()
    }

    fn office(zone: &str, holidays: &[&str]) -> Calendar {
        office_with(zone, holidays, "")
    }

    const OFFICE_WEEK: [(&str, &str); 5] = [
        ("mon", "08:00-17:00"),
        ("tue", "08:00-17:00"),
        ("wed", "08:00-17:00"),
        ("thu", "08:00-17:00"),
        ("fri", "08:00-12:00,13:00-17:00"),
    ];

    fn office_with(zone: &str, holidays: &[&str], extra: &str) -> Calendar {
        calendar_with(zone, &OFFICE_WEEK, holidays, extra)
    }

    fn at(zone: &str, local: &str) -> DateTime<Utc> {
        let tz: Tz = zone.parse().unwrap();
        let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive).earliest().unwrap().with_timezone(&Utc)
    }

    fn local(c: &Calendar, t: DateTime<Utc>) -> String {
        t.with_timezone(&c.timezone).format("%a %Y-%m-%d %H:%M").to_string()
    }

    const BUD: &str = "Europe/Budapest";

    #[test]
    fn friday_evening_mail_is_due_on_monday_morning() {
        let c = office(BUD, &[]);
        // 2026-11-20 is a Friday.
        let due = c.add_working(at(BUD, "2026-11-20 16:30"), Duration::hours(2));
        assert_eq!(local(&c, due), "Mon 2026-11-23 09:30");
        let due = c.add_working(at(BUD, "2026-11-20 18:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Mon 2026-11-23 10:00");
        // A holiday on the Monday moves it a day.
        let c = office(BUD, &["2026-11-23"]);
        let due = c.add_working(at(BUD, "2026-11-20 16:30"), Duration::hours(2));
        assert_eq!(local(&c, due), "Tue 2026-11-24 09:30");
    }

    #[test]
    fn split_days_skip_the_lunch_break() {
        let c = office(BUD, &[]);
        let due = c.add_working(at(BUD, "2026-11-20 11:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Fri 2026-11-20 14:00");
        let worked = c.working_between(at(BUD, "2026-11-20 11:30"), at(BUD, "2026-11-20 13:30"));
        assert_eq!(worked, Duration::hours(1));
    }

    #[test]
    fn within_hours_is_plain_addition() {
        let c = office(BUD, &[]);
        let due = c.add_working(at(BUD, "2026-11-24 09:15"), Duration::minutes(30));
        assert_eq!(local(&c, due), "Tue 2026-11-24 09:45");
        assert_eq!(local(&c, c.add_working(at(BUD, "2026-11-24 09:15"), Duration::hours(8))), "Wed 2026-11-25 08:15");
    }

    #[test]
    fn daylight_saving_weekends_keep_the_arithmetic_right() {
        // Europe/Budapest springs forward on Sunday 2026-03-29 and falls back on 2026-10-25.
        let c = office(BUD, &[]);
        let due = c.add_working(at(BUD, "2026-03-27 16:00"), Duration::hours(3));
        assert_eq!(local(&c, due), "Mon 2026-03-30 10:00");
        let due = c.add_working(at(BUD, "2026-10-23 16:00"), Duration::hours(3));
        assert_eq!(local(&c, due), "Mon 2026-10-26 10:00");
        // Round-the-clock hours: the short and the long Sunday really are 23 and 25 hours.
        let all_week: Vec<(&str, &str)> =
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].iter().map(|d| (*d, "00:00-24:00")).collect();
        let c = calendar(BUD, &all_week, &[]);
        assert_eq!(c.working_between(at(BUD, "2026-03-29 00:00"), at(BUD, "2026-03-30 00:00")), Duration::hours(23));
        assert_eq!(c.working_between(at(BUD, "2026-10-25 00:00"), at(BUD, "2026-10-26 00:00")), Duration::hours(25));
        // Israel works Sunday to Thursday and changes on a Friday (2026-03-27) and a Sunday
        // (2026-10-25).
        const TLV: &str = "Asia/Jerusalem";
        let hours: Vec<(&str, &str)> =
            ["sun", "mon", "tue", "wed", "thu"].iter().map(|d| (*d, "08:00-17:00")).collect();
        let c = calendar(TLV, &hours, &[]);
        let due = c.add_working(at(TLV, "2026-03-26 16:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Sun 2026-03-29 09:00");
        let due = c.add_working(at(TLV, "2026-10-22 16:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Sun 2026-10-25 09:00");
    }

    #[test]
    fn a_working_day_across_a_changeover_is_not_cut_short() {
        // Hours that span the 02:00-03:00 changeover on the night it happens.
        let c = calendar(BUD, &[("sun", "01:00-05:00")], &[]);
        let day = c.working_between(at(BUD, "2026-03-29 00:00"), at(BUD, "2026-03-29 12:00"));
        assert_eq!(day, Duration::hours(3), "the lost hour is not worked");
        let day = c.working_between(at(BUD, "2026-10-25 00:00"), at(BUD, "2026-10-25 12:00"));
        assert_eq!(day, Duration::hours(5), "the repeated hour is worked twice");
    }

    #[test]
    fn a_calendar_without_hours_counts_round_the_clock() {
        let c = calendar(BUD, &[], &[]);
        let t = at(BUD, "2026-11-21 03:00");
        assert_eq!(c.add_working(t, Duration::hours(5)), t + Duration::hours(5));
        assert_eq!(c.working_between(t, t + Duration::hours(5)), Duration::hours(5));
    }

    #[test]
    fn a_transferred_saturday_works_with_mondays_hours() {
        // Hungary 2026: Friday 2 January is a rest day, worked on Saturday 10 January.
        let c = office_with(BUD, &["2026-01-02"], "workdays = [\"2026-01-10\"]");
        let due = c.add_working(at(BUD, "2026-01-09 16:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Sat 2026-01-10 09:00");
        assert_eq!(c.working_between(at(BUD, "2026-01-10 00:00"), at(BUD, "2026-01-11 00:00")), Duration::hours(9));
        assert!(c.is_working(at(BUD, "2026-01-10 16:59")));
        assert!(!c.is_working(at(BUD, "2026-01-10 17:00")));
        assert_eq!(local(&c, c.next_working(at(BUD, "2026-01-10 06:00"))), "Sat 2026-01-10 08:00");
        assert_eq!(local(&c, c.next_working(at(BUD, "2026-01-10 18:00"))), "Mon 2026-01-12 08:00");
        // The Sunday after stays closed, and without the workday Saturday is closed too.
        assert_eq!(c.working_between(at(BUD, "2026-01-11 00:00"), at(BUD, "2026-01-12 00:00")), Duration::zero());
        let plain = office(BUD, &["2026-01-02"]);
        let due = plain.add_working(at(BUD, "2026-01-09 16:00"), Duration::hours(2));
        assert_eq!(local(&plain, due), "Mon 2026-01-12 09:00");
        // With Monday closed, the first weekday after it with hours lends its own.
        let hours = [("tue", "10:00-14:00"), ("wed", "08:00-17:00")];
        let c = calendar_with(BUD, &hours, &[], "workdays = [\"2026-01-10\"]");
        assert_eq!(c.workday_hours(), c.hours[1].as_slice());
        let due = c.add_working(at(BUD, "2026-01-07 16:00"), Duration::hours(3));
        assert_eq!(local(&c, due), "Sat 2026-01-10 12:00");
    }

    /// An excerpt of a Hungarian public-holiday feed as such feeds are written: CRLF, folded
    /// lines, a multi-day event, a yearly rule and date-times.
    const HU_FEED: &str = "BEGIN:VCALENDAR\r\n\
VERSION:2.0\r\n\
PRODID:-//Example//Magyar munkaszüneti napok//HU\r\n\
X-WR-CALNAME:Munkaszüneti napok\r\n\
BEGIN:VEVENT\r\n\
UID:hu-2026-easter@example.test\r\n\
DTSTART;VALUE=DATE:20260403\r\n\
DTEND;VALUE=DATE:20260407\r\n\
SUMMARY:Nagypéntek\\, húsvét és húsvéthétfő (Good Friday to Easter M\r\n onday)\r\n\
TRANSP:TRANSPARENT\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:hu-christmas-eve@example.test\r\n\
DTSTART;VALUE=DATE:20241224\r\n\
RRULE:FREQ=YEARLY\r\n\
SUMMARY:Szenteste\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:hu-2026-christmas@example.test\r\n\
DTSTART;VALUE=DATE:20261225\r\n\
DTEND;VALUE=DATE:20261227\r\n\
SUMMARY:Karácsony\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:hu-2026-10-23@example.test\r\n\
DTSTART;TZID=Europe/Budapest:20261023T000000\r\n\
DTEND;TZID=Europe/Budapest:20261024T000000\r\n\
SUMMARY:Nemzeti ünnep (1956-os forradalom és szabadságharc emléknapja)\r\n\
DESCRIPTION:Munkaszüneti nap. Az 1956-os forradalom kitörésének évfordulój\r\n a.\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:hu-2026-bridge@example.test\r\n\
DTSTART:20260102T000000Z\r\n\
SUMMARY:Pihenőnap (ledolgozva január 10-én)\r\n\
END:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn a_holiday_feed_closes_its_days() {
        let dir = tempfile::tempdir().unwrap();
        let ics = dir.path().join("hu.ics");
        std::fs::write(&ics, HU_FEED).unwrap();
        let extra = format!("workdays = [\"2026-01-10\"]\nholidays_ics = {:?}", ics.display().to_string());
        let c = office_with(BUD, &["2026-11-02"], &extra);
        // Easter: DTEND is exclusive, so Tuesday 7 April is open again.
        let due = c.add_working(at(BUD, "2026-04-02 16:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Tue 2026-04-07 09:00");
        // The yearly Christmas Eve, then Christmas: Wednesday evening is due the next Monday.
        let due = c.add_working(at(BUD, "2026-12-23 16:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Mon 2026-12-28 09:00");
        assert!(!c.is_working(at(BUD, "2027-12-24 10:00")), "the rule repeats");
        assert!(c.is_working(at(BUD, "2027-12-23 10:00")));
        // The date-time events close their dates.
        let due = c.add_working(at(BUD, "2026-10-22 16:00"), Duration::hours(2));
        assert_eq!(local(&c, due), "Mon 2026-10-26 09:00");
        assert!(!c.is_working(at(BUD, "2026-01-02 10:00")));
        assert!(c.is_working(at(BUD, "2026-01-10 10:00")), "the workday still works");
        // The TOML holidays are kept beside the feed's, sorted and without repeats.
        assert!(c.holidays.contains(&NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()));
        assert!(c.holidays.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(c.holidays.len(), 1 + 4 + 11 + 2 + 1 + 1);
    }

    fn zone() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("Europe/Budapest"), Just("Asia/Jerusalem"), Just("America/New_York"), Just("UTC")]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Adding then measuring gives the duration back, and a due time is never outside
        /// working hours (it may be the very end of an interval).
        #[test]
        fn add_then_measure_round_trips(
            zone in zone(),
            start_minutes in 0i64..(2 * 366 * 24 * 60),
            minutes in 1i64..(80 * 60),
            holiday_offset in 0i64..30,
        ) {
            let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            let start = base + Duration::minutes(start_minutes);
            let holiday = (start + Duration::days(holiday_offset)).date_naive();
            let workday = holiday + Duration::days(1);
            let c = office_with(zone, &[&holiday.to_string()], &format!("workdays = [\"{workday}\"]"));
            let work = Duration::minutes(minutes);
            let due = c.add_working(start, work);
            prop_assert!(due > start);
            prop_assert_eq!(c.working_between(start, due), work);
            prop_assert!(
                c.is_working(due) || c.is_working(due - Duration::minutes(1)),
                "due {} outside hours", local(&c, due)
            );
            // Nothing earlier would do.
            prop_assert!(c.working_between(start, due - Duration::minutes(1)) < work);
        }

        /// Measuring is additive: [a, c] = [a, b] + [b, c].
        #[test]
        fn measuring_is_additive(zone in zone(), a in 0i64..500_000, b in 0i64..500_000, c2 in 0i64..500_000) {
            let mut v = [a, b, c2];
            v.sort_unstable();
            let base = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
            let [a, b, c2] = v.map(|m| base + Duration::minutes(m));
            let cal = office(zone, &[]);
            prop_assert_eq!(cal.working_between(a, c2), cal.working_between(a, b) + cal.working_between(b, c2));
        }
    }
}
