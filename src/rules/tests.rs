use super::*;

fn load(files: &[(&str, &str)]) -> Result<Rules, ConfigError> {
    let sources: Vec<(PathBuf, String)> =
        files.iter().map(|(n, t)| (PathBuf::from(format!("rules/{n}")), t.to_string())).collect();
    Rules::from_sources(&sources, PathBuf::from("rules/templates"))
}

const BASE: &str = r#"
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
holidays = ["2026-12-24"]
[calendar.hours]
mon = "08:00-17:00"
fri = "08:00-12:00,13:00-15:00"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "8h" }

[[department]]
name = "support"
sla = "standard"

[[department]]
name = "billing"

[[rule]]
name = "invoices"
when.subject = "(?i)számla"
set.department = "billing"
set.priority = "high"
"#;

#[test]
fn a_valid_set_loads() {
    let r = load(&[("10-base.toml", BASE)]).unwrap();
    assert_eq!(r.departments.len(), 2);
    assert_eq!(r.calendars[0].hours[4].len(), 2);
    assert_eq!(r.rules[0].set.priority, Some(Priority::High));
    assert_eq!(r.department_zone("support"), chrono_tz::Europe::Budapest);
    assert_eq!(r.department_zone("billing"), chrono_tz::UTC);
}

#[test]
fn duplicate_names_name_both_places() {
    let e = load(&[("10-base.toml", BASE), ("20-more.toml", "\n[[department]]\nname = \"billing\"\n")]).unwrap_err();
    assert_eq!(e.file, PathBuf::from("rules/20-more.toml"));
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("10-base.toml:"), "{e}");
}

#[test]
fn bad_regex_is_refused_at_its_line() {
    let text = BASE.replace("(?i)számla", "(unclosed");
    let e = load(&[("10-base.toml", &text)]).unwrap_err();
    assert_eq!(e.line, Some(24), "{e}");
    assert!(e.message.contains("regular expression"), "{e}");
}

#[test]
fn unknown_references_are_refused() {
    let text = BASE.replace("set.department = \"billing\"", "set.department = \"nobody\"");
    let e = load(&[("10-base.toml", &text)]).unwrap_err();
    assert!(e.message.contains("nobody"), "{e}");
    let text = BASE.replace("calendar = \"office\"", "calendar = \"home\"");
    assert!(load(&[("a.toml", &text)]).unwrap_err().message.contains("home"));
    let text = BASE.replace("sla = \"standard\"", "sla = \"gold\"");
    assert!(load(&[("a.toml", &text)]).unwrap_err().message.contains("gold"));
}

#[test]
fn bad_times_and_zones_are_refused() {
    let text = BASE.replace("Europe/Budapest", "Europe/Atlantis");
    let e = load(&[("a.toml", &text)]).unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    let text = BASE.replace("mon = \"08:00-17:00\"", "mon = \"17:00-08:00\"");
    assert!(load(&[("a.toml", &text)]).unwrap_err().message.contains("ends before"));
    let text = BASE.replace("first_response = { normal = \"8h\" }", "first_response = { normal = \"8 hours\" }");
    assert_eq!(load(&[("a.toml", &text)]).unwrap_err().line, Some(13));
    let text = BASE.replace("[[rule]]", "[[rule]]\nwhen.colour = \"red\"");
    assert!(load(&[("a.toml", &text)]).unwrap_err().message.contains("colour"));
}

#[test]
fn a_bad_holiday_is_refused_at_its_own_line() {
    let text = BASE.replace("holidays = [\"2026-12-24\"]", "holidays = [\n  \"2026-12-24\",\n  \"2026-13-01\",\n]");
    let e = load(&[("a.toml", &text)]).unwrap_err();
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("bad holiday \"2026-13-01\""), "{e}");
}

#[test]
fn a_date_both_workday_and_holiday_is_refused() {
    let text = BASE.replace(
        "holidays = [\"2026-12-24\"]",
        "holidays = [\"2026-12-24\"]\nworkdays = [\n  \"2026-01-10\",\n  \"2026-12-24\",\n]",
    );
    let e = load(&[("10-base.toml", &text)]).unwrap_err();
    assert_eq!((e.file.as_path(), e.line), (Path::new("rules/10-base.toml"), Some(8)), "{e}");
    assert!(e.message.contains("workday 2026-12-24 is also in holidays"), "{e}");
    // Without the clash, the workdays load sorted.
    let text = BASE.replace("holidays = [\"2026-12-24\"]", "workdays = [\"2026-12-12\", \"2026-01-10\"]");
    let r = load(&[("a.toml", &text)]).unwrap();
    assert_eq!(r.calendars[0].workdays.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["2026-01-10", "2026-12-12"]);
    // A workday copies Monday's hours: a calendar without hours has none to copy.
    let text = "[[calendar]]\nname = \"c\"\ntimezone = \"UTC\"\nworkdays = [\"2026-01-10\"]\n";
    assert!(load(&[("a.toml", text)]).unwrap_err().message.contains("workdays need working hours"));
}

/// A rules directory with one calendar file naming `ics` (relative to the directory).
fn calendar_dir(ics: &str, ics_text: Option<&[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text =
        BASE.replace("holidays = [\"2026-12-24\"]", &format!("holidays = [\"2026-12-24\"]\nholidays_ics = {ics:?}"));
    let file = dir.path().join("10-base.toml");
    std::fs::write(&file, text).unwrap();
    if let Some(body) = ics_text {
        std::fs::write(dir.path().join(ics), body).unwrap();
    }
    (dir, file)
}

#[test]
fn holidays_ics_is_read_beside_the_rules_file_and_merged() {
    let feed = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (dir, _) = calendar_dir("hu.ics", Some(feed.as_bytes()));
    let r = Rules::load(dir.path()).unwrap();
    let days: Vec<String> = r.calendars[0].holidays.iter().map(|d| d.to_string()).collect();
    assert_eq!(days, ["2026-12-24", "2026-12-25", "2026-12-26"], "merged, sorted, once each");
    assert!(r.warnings.is_empty());
    // A rule that is not expanded closes its first day, with a warning naming the file's line.
    let feed = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260525\r\nRRULE:FREQ=YEARLY;BYDAY=-1MO\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (dir, _) = calendar_dir("us.ics", Some(feed.as_bytes()));
    let r = Rules::load(dir.path()).unwrap();
    assert_eq!(r.calendars[0].holidays.len(), 2);
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].contains(&format!("{}:4: RRULE", dir.path().join("us.ics").display())), "{:?}", r.warnings);
    // An empty path is no file.
    let (dir, _) = calendar_dir("", None);
    assert_eq!(Rules::load(dir.path()).unwrap().calendars[0].holidays.len(), 1);
}

#[test]
fn a_bad_holidays_ics_refuses_the_rules() {
    // Missing: the error is at the key's line and names the file.
    let (dir, file) = calendar_dir("missing.ics", None);
    let e = Rules::load(dir.path()).unwrap_err();
    assert_eq!((e.file.as_path(), e.line), (file.as_path(), Some(6)), "{e}");
    assert!(e.message.contains(&format!("{}: cannot read", dir.path().join("missing.ics").display())), "{e}");

    // A bad date: the ics file's line too.
    let feed = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Szenteste\r\nDTSTART;VALUE=DATE:2026-12-24\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (dir, _) = calendar_dir("hu.ics", Some(feed.as_bytes()));
    let e = Rules::load(dir.path()).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.message.contains(&format!("{}:4: DTSTART: bad date", dir.path().join("hu.ics").display())), "{e}");

    // Oversized.
    let mut big = b"BEGIN:VCALENDAR\r\n".to_vec();
    big.resize(6 * 1024 * 1024, b'x');
    let (dir, _) = calendar_dir("big.ics", Some(&big));
    assert!(Rules::load(dir.path()).unwrap_err().message.contains("larger than 5 MB"));

    // A workday the feed closes.
    let feed = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260110\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (dir, file) = calendar_dir("hu.ics", Some(feed.as_bytes()));
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("[calendar.hours]", "workdays = [\"2026-01-10\"]\n[calendar.hours]");
    std::fs::write(&file, text).unwrap();
    let e = Rules::load(dir.path()).unwrap_err();
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("workday 2026-01-10 is a holiday in holidays_ics"), "{e}");
}
