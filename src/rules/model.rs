//! The validated policy types and the raw TOML shapes they are made from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use regex::Regex;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use toml::Spanned;

use super::calendar::Calendar;
use crate::config::{Address, AddressGlob, HumanDuration, NamedAddress};

pub use crate::domain::Priority;

/// A compiled regular expression that reports its syntax error at its own line.
#[derive(Clone, Debug)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Regex::new(&s)
            .map(Pattern)
            .map_err(|e| de::Error::custom(format!("bad regular expression: {}", e.to_string().replace('\n', " "))))
    }
}

/// A time zone name such as "Europe/Budapest".
#[derive(Clone, Copy, Debug)]
pub struct Zone(pub chrono_tz::Tz);

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map(Zone).map_err(|_| de::Error::custom(format!("unknown time zone {s:?}")))
    }
}

/// One or several values: `when.from = "*@x.test"` or `when.from = ["*@x.test", "y@z.test"]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub urgent: Option<HumanDuration>,
    pub high: Option<HumanDuration>,
    pub normal: Option<HumanDuration>,
    pub low: Option<HumanDuration>,
}

impl Targets {
    /// Whether any priority has a target.
    pub fn any(&self) -> bool {
        self.urgent.is_some() || self.high.is_some() || self.normal.is_some() || self.low.is_some()
    }

    pub fn get(&self, p: Priority) -> Option<HumanDuration> {
        match p {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        }
    }
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    pub after: HumanDuration,
    pub to: Vec<Address>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSla {
    pub name: String,
    pub calendar: Spanned<String>,
    #[serde(default)]
    pub first_response: Targets,
    #[serde(default)]
    pub resolution: Targets,
    #[serde(default)]
    pub next_response: Targets,
    pub warn_before: Option<HumanDuration>,
    #[serde(default)]
    pub delay_notice: bool,
    #[serde(default = "default_delay_notice_before")]
    pub delay_notice_before: HumanDuration,
    #[serde(default = "default_extension")]
    pub extension: HumanDuration,
    #[serde(default)]
    pub escalate_to: Vec<Address>,
    #[serde(default)]
    pub escalation: Vec<EscalationLevel>,
}

fn default_delay_notice_before() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(4 * 3600))
}

fn default_extension() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(8 * 3600))
}

#[derive(Clone, Debug)]
pub struct SlaPolicy {
    pub name: String,
    pub calendar: String,
    pub first_response: Targets,
    pub resolution: Targets,
    /// From the first customer message after a staff response to the next staff response.
    pub next_response: Targets,
    pub warn_before: Option<HumanDuration>,
    pub delay_notice: bool,
    /// Working time before the resolution due at which the assignee is asked for an ETA.
    pub delay_notice_before: HumanDuration,
    /// At a resolution breach with no ETA, the new promise is the due time plus this.
    pub extension: HumanDuration,
    pub escalate_to: Vec<Address>,
    pub escalation: Vec<EscalationLevel>,
}

impl SlaPolicy {
    pub(super) fn from_raw(raw: RawSla) -> Result<SlaPolicy, String> {
        Ok(SlaPolicy {
            name: raw.name,
            calendar: raw.calendar.into_inner(),
            first_response: raw.first_response,
            resolution: raw.resolution,
            next_response: raw.next_response,
            warn_before: raw.warn_before,
            delay_notice: raw.delay_notice,
            delay_notice_before: raw.delay_notice_before,
            extension: raw.extension,
            escalate_to: raw.escalate_to,
            escalation: raw.escalation,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDepartment {
    pub name: String,
    pub sla: Option<String>,
    pub language: Option<String>,
    pub from: Option<NamedAddress>,
    #[serde(default)]
    pub notify: Vec<Address>,
    #[serde(default)]
    pub escalate_to: Vec<Address>,
    #[serde(default)]
    pub remind_after: String,
    #[serde(default)]
    pub close_after: String,
    #[serde(default)]
    pub close_mail: bool,
    #[serde(default)]
    pub survey: Option<String>,
}

/// The rating a closing mail asks for (docs/conversation.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Survey {
    /// Net Promoter Score: 0 to 10.
    Nps,
    /// Customer satisfaction: 1 to 5.
    Csat,
}

impl Survey {
    pub fn as_str(self) -> &'static str {
        match self {
            Survey::Nps => "nps",
            Survey::Csat => "csat",
        }
    }
    pub fn parse(text: &str) -> Option<Survey> {
        match text {
            "nps" => Some(Survey::Nps),
            "csat" => Some(Survey::Csat),
            _ => None,
        }
    }
    /// The lowest and highest score.
    pub fn scale(self) -> (i64, i64) {
        match self {
            Survey::Nps => (0, 10),
            Survey::Csat => (1, 5),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Department {
    pub name: String,
    pub sla: Option<String>,
    /// Template language when the customer's is unknown.
    pub language: String,
    pub from: Option<NamedAddress>,
    pub notify: Vec<Address>,
    pub escalate_to: Vec<Address>,
    /// Waiting this long on the customer, they get a reminder (None: never).
    pub remind_after: Option<super::calendar::WorkingSpan>,
    /// Waiting this long, the ticket is closed (None: never).
    pub close_after: Option<super::calendar::WorkingSpan>,
    /// The customer is told when their ticket is closed.
    pub close_mail: bool,
    /// The rating the closing mail asks for.
    pub survey: Option<Survey>,
}

impl Department {
    pub(super) fn from_raw(raw: RawDepartment) -> Result<Department, String> {
        let span = |key: &str, text: &str| -> Result<Option<super::calendar::WorkingSpan>, String> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            super::calendar::WorkingSpan::parse(text).map(Some).map_err(|e| format!("{key}: {e}"))
        };
        let survey = match raw.survey.as_deref().map(str::trim) {
            None | Some("") | Some("none") => None,
            Some(s) => Some(
                Survey::parse(s)
                    .ok_or_else(|| format!("survey: unknown survey {s:?}: use \"nps\", \"csat\" or \"none\""))?,
            ),
        };
        Ok(Department {
            remind_after: span("remind_after", &raw.remind_after)?,
            close_after: span("close_after", &raw.close_after)?,
            close_mail: raw.close_mail,
            survey,
            name: raw.name,
            sla: raw.sla,
            language: raw.language.unwrap_or_else(|| "en".into()).to_ascii_lowercase(),
            from: raw.from,
            notify: raw.notify,
            escalate_to: raw.escalate_to,
        })
    }
}

/// The template languages for mail to a customer, in order (docs/conversation.md): the customer's, then the
/// department's; English is the last resort of the template lookup.
pub fn customer_languages<'a>(customer: Option<&'a str>, department: Option<&'a Department>) -> Vec<&'a str> {
    customer.into_iter().chain(department.map(|d| d.language.as_str())).collect()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWhen {
    pub subject: Option<Pattern>,
    pub body: Option<Pattern>,
    pub from: Option<OneOrMany<AddressGlob>>,
    pub to: Option<OneOrMany<AddressGlob>>,
    #[serde(default)]
    pub header: BTreeMap<String, Pattern>,
    pub mailbox: Option<OneOrMany<String>>,
    pub language: Option<OneOrMany<String>>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RequesterSource {
    /// The customer is in Reply-To (web forms sent from a noreply address).
    ReplyTo,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    pub department: Option<String>,
    pub priority: Option<Priority>,
    pub assignee: Option<Address>,
    pub tags: Option<Vec<String>>,
    pub ack: Option<bool>,
    pub spam: Option<bool>,
    pub requester: Option<RequesterSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: String,
    #[serde(default)]
    pub when: RawWhen,
    #[serde(default)]
    pub set: Actions,
    #[serde(default, rename = "continue")]
    pub continue_: bool,
}

/// The conditions of a rule; all that are given must match.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    pub subject: Option<Regex>,
    pub body: Option<Regex>,
    pub from: Vec<AddressGlob>,
    pub to: Vec<AddressGlob>,
    pub headers: Vec<(String, Regex)>,
    pub mailbox: Vec<String>,
    pub language: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub when: Conditions,
    pub set: Actions,
    pub continue_: bool,
}

impl Rule {
    pub(super) fn from_raw(raw: RawRule) -> Rule {
        let w = raw.when;
        Rule {
            name: raw.name,
            when: Conditions {
                subject: w.subject.map(|p| p.0),
                body: w.body.map(|p| p.0),
                from: w.from.map(OneOrMany::into_vec).unwrap_or_default(),
                to: w.to.map(OneOrMany::into_vec).unwrap_or_default(),
                headers: w.header.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v.0)).collect(),
                mailbox: w.mailbox.map(OneOrMany::into_vec).unwrap_or_default(),
                language: w
                    .language
                    .map(OneOrMany::into_vec)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| l.to_ascii_lowercase())
                    .collect(),
            },
            set: raw.set,
            continue_: raw.continue_,
        }
    }
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Month,
    Quarter,
    Year,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContract {
    pub name: String,
    pub customers: Vec<AddressGlob>,
    pub hours: f64,
    #[serde(default = "month")]
    pub period: Period,
    #[serde(default = "default_warn_at")]
    pub warn_at: f64,
    #[serde(default)]
    pub notify: Vec<Address>,
}

fn month() -> Period {
    Period::Month
}
fn default_warn_at() -> f64 {
    0.8
}

#[derive(Clone, Debug)]
pub struct Contract {
    pub name: String,
    pub customers: Vec<AddressGlob>,
    pub hours: f64,
    pub period: Period,
    pub warn_at: f64,
    pub notify: Vec<Address>,
}

impl Contract {
    pub(super) fn from_raw(raw: RawContract) -> Result<Contract, String> {
        if !(raw.hours >= 0.0 && raw.hours.is_finite()) {
            return Err(format!("contract {:?}: hours must be zero or more", raw.name));
        }
        if !(0.0..=1.0).contains(&raw.warn_at) {
            return Err(format!("contract {:?}: warn_at must be between 0 and 1", raw.name));
        }
        Ok(Contract {
            name: raw.name,
            customers: raw.customers,
            hours: raw.hours,
            period: raw.period,
            warn_at: raw.warn_at,
            notify: raw.notify,
        })
    }
}

/// The whole validated policy. Swapped atomically on reload.
#[derive(Clone, Debug)]
pub struct Rules {
    pub calendars: Vec<Calendar>,
    pub slas: Vec<SlaPolicy>,
    pub departments: Vec<Department>,
    pub rules: Vec<Rule>,
    pub contracts: Vec<Contract>,
    /// Strips reply / forward prefixes from subjects (defaults plus `subject_prefixes`).
    pub subject_prefixes: crate::parse::subject::PrefixStripper,
    /// All subject and body patterns compiled into sets, so a message is scanned once per field
    /// whatever the number of rules.
    pub index: RuleIndex,
    pub templates_dir: PathBuf,
    /// What loading noticed without refusing it (an iCalendar rule only partly understood).
    pub warnings: Vec<String>,
}

impl Rules {
    pub fn department(&self, name: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.name == name)
    }
    pub fn sla(&self, name: &str) -> Option<&SlaPolicy> {
        self.slas.iter().find(|s| s.name == name)
    }
    pub fn calendar(&self, name: &str) -> Option<&Calendar> {
        self.calendars.iter().find(|c| c.name == name)
    }
    /// The calendar that governs a department (through its SLA policy), if any.
    pub fn department_calendar(&self, department: &str) -> Option<&Calendar> {
        let sla = self.department(department)?.sla.as_deref()?;
        self.calendar(&self.sla(sla)?.calendar)
    }
    /// The time zone times are shown in for a department: its calendar's, else UTC.
    pub fn department_zone(&self, department: &str) -> chrono_tz::Tz {
        self.department_calendar(department).map(|c| c.timezone).unwrap_or(chrono_tz::UTC)
    }
}

/// The subject and body patterns of every rule, each field compiled into one [`regex::RegexSet`].
#[derive(Clone, Debug, Default)]
pub struct RuleIndex {
    subject: Option<(regex::RegexSet, Vec<usize>)>,
    body: Option<(regex::RegexSet, Vec<usize>)>,
}

/// Below this many patterns in a field, trying them one by one is faster: the regex crate's
/// literal prefilters scan 50 KB for a few hundred words in microseconds, while a large set
/// costs a fixed ~90 µs (measured by `cargo bench --bench rules`).
pub const SET_THRESHOLD: usize = 300;

impl RuleIndex {
    /// Compiles the sets when a field has at least `SET_THRESHOLD` patterns.
    pub fn build(rules: &[Rule]) -> RuleIndex {
        RuleIndex::build_from(rules, SET_THRESHOLD)
    }

    /// Compiles a field's set when it has at least `min_patterns` patterns (0: always).
    pub fn build_from(rules: &[Rule], min_patterns: usize) -> RuleIndex {
        let set = |pick: &dyn Fn(&Rule) -> Option<&Regex>| {
            let (patterns, owners): (Vec<&str>, Vec<usize>) =
                rules.iter().enumerate().filter_map(|(i, r)| pick(r).map(|re| (re.as_str(), i))).unzip();
            if patterns.is_empty() || patterns.len() < min_patterns {
                return None;
            }
            // A set too large to build only costs speed: the rules are then tried one by one.
            regex::RegexSetBuilder::new(patterns).size_limit(256 << 20).build().ok().map(|s| (s, owners))
        };
        RuleIndex { subject: set(&|r| r.when.subject.as_ref()), body: set(&|r| r.when.body.as_ref()) }
    }

    /// For each rule, whether its subject and body patterns can match (true where it has none,
    /// or where no set could be built).
    pub fn candidates(&self, rules: &[Rule], subject: &str, body: &str) -> Vec<bool> {
        let mut ok = vec![true; rules.len()];
        for (field, text) in [(&self.subject, subject), (&self.body, body)] {
            let Some((set, owners)) = field else { continue };
            let hits = set.matches(text);
            for (pattern, &rule) in owners.iter().enumerate() {
                if !hits.matched(pattern) {
                    ok[rule] = false;
                }
            }
        }
        ok
    }
}
