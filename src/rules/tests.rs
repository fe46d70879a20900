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
