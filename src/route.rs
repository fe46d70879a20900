//! Route: applies the admins' rules (docs/rules.md) to a message — department, priority, assignee,
//! tags, whether to acknowledge — and records which rules matched and the text each condition
//! matched, so `rules test` can explain the decision.
//!
//! Pure: rules are tried in order and the first match wins unless it says `continue = true`.
//! It must never write anything or look at the network.

use std::collections::BTreeMap;

use crate::parse::ParsedMessage;
use crate::rules::{Conditions, Priority, RequesterSource, Rules};

#[derive(Clone, Debug, PartialEq)]
pub struct RuleMatch {
    pub name: String,
    /// Condition name -> the text it matched.
    pub matched: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub department: String,
    pub priority: Priority,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub ack: bool,
    pub spam: bool,
    pub requester_from_reply_to: bool,
    pub rules: Vec<RuleMatch>,
}

pub struct RouteInput<'a> {
    pub message: &'a ParsedMessage,
    pub mailbox: &'a str,
    pub default_department: &'a str,
    pub language: Option<&'a str>,
}

pub fn route(rules: &Rules, input: &RouteInput<'_>) -> Route {
    route_with_index(rules, &rules.index, input)
}

/// Routing with a given pattern index (the benchmark compares indexes).
pub fn route_with_index(rules: &Rules, index: &crate::rules::RuleIndex, input: &RouteInput<'_>) -> Route {
    let candidates = index.candidates(&rules.rules, &input.message.subject, &input.message.text);
    route_among(rules, input, &candidates)
}

/// Routing without the compiled sets: every rule's patterns tried one by one. The baseline the
/// benchmark measures [`route`] against; both must always agree.
pub fn route_one_by_one(rules: &Rules, input: &RouteInput<'_>) -> Route {
    route_among(rules, input, &vec![true; rules.rules.len()])
}

fn route_among(rules: &Rules, input: &RouteInput<'_>, candidates: &[bool]) -> Route {
    let mut out = Route {
        department: input.default_department.to_string(),
        priority: Priority::Normal,
        assignee: None,
        tags: Vec::new(),
        ack: true,
        spam: false,
        requester_from_reply_to: false,
        rules: Vec::new(),
    };
    for (rule, _) in rules.rules.iter().zip(candidates).filter(|(_, c)| **c) {
        let Some(matched) = matches(&rule.when, input) else {
            continue;
        };
        out.rules.push(RuleMatch { name: rule.name.clone(), matched });
        let set = &rule.set;
        if let Some(d) = &set.department {
            out.department = d.clone();
        }
        if let Some(p) = set.priority {
            out.priority = p;
        }
        if let Some(a) = &set.assignee {
            out.assignee = Some(a.to_string());
        }
        if let Some(tags) = &set.tags {
            for t in tags {
                if !out.tags.contains(t) {
                    out.tags.push(t.clone());
                }
            }
        }
        if let Some(ack) = set.ack {
            out.ack = ack;
        }
        if let Some(spam) = set.spam {
            out.spam = spam;
        }
        if set.requester == Some(RequesterSource::ReplyTo) {
            out.requester_from_reply_to = true;
        }
        if !rule.continue_ {
            break;
        }
    }
    out
}

/// All given conditions must hold; returns what each matched.
fn matches(when: &Conditions, input: &RouteInput<'_>) -> Option<BTreeMap<String, String>> {
    let m = input.message;
    let mut found = BTreeMap::new();
    if let Some(re) = &when.subject {
        found.insert("subject".into(), re.find(&m.subject)?.as_str().to_string());
    }
    if let Some(re) = &when.body {
        found.insert("body".into(), re.find(&m.text)?.as_str().to_string());
    }
    if !when.from.is_empty() {
        let from = m.from.as_ref().map(|f| f.address.as_str())?;
        when.from.iter().find(|g| g.matches(from))?;
        found.insert("from".into(), from.to_string());
    }
    if !when.to.is_empty() {
        let hit = m.to.iter().chain(&m.cc).chain(&m.delivered_to).find(|a| when.to.iter().any(|g| g.matches(a)))?;
        found.insert("to".into(), hit.clone());
    }
    for (name, re) in &when.headers {
        let hit = m.headers_named(name).find_map(|v| re.find(v))?;
        found.insert(format!("header.{name}"), hit.as_str().to_string());
    }
    if !when.mailbox.is_empty() {
        when.mailbox.iter().find(|b| b.as_str() == input.mailbox)?;
        found.insert("mailbox".into(), input.mailbox.to_string());
    }
    if !when.language.is_empty() {
        let lang = input.language?;
        when.language.iter().find(|l| l.as_str() == lang)?;
        found.insert("language".into(), lang.to_string());
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn rules(text: &str) -> Rules {
        let base = "[[department]]\nname = \"support\"\n[[department]]\nname = \"billing\"\n";
        Rules::from_sources(&[(PathBuf::from("r.toml"), format!("{base}{text}"))], PathBuf::from("t")).unwrap()
    }

    fn msg(subject: &str, from: &str) -> ParsedMessage {
        ParsedMessage {
            subject: subject.into(),
            from: Some(crate::parse::Sender { name: None, address: from.into() }),
            to: vec!["billing@example.test".into()],
            headers: vec![("x-priority".into(), "1 (Highest)".into())],
            ..Default::default()
        }
    }

    fn run(r: &Rules, m: &ParsedMessage) -> Route {
        route(r, &RouteInput { message: m, mailbox: "support", default_department: "support", language: Some("hu") })
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let r = rules(
            r#"
[[rule]]
name = "vip"
when.from = ["*@bigcustomer.test"]
set.priority = "urgent"
set.tags = ["vip"]
continue = true

[[rule]]
name = "invoices"
when.subject = "(?i)\\b(invoice|számla)\\b"
set.department = "billing"

[[rule]]
name = "never"
when.subject = "."
set.priority = "low"
"#,
        );
        let out = run(&r, &msg("Re: Számla hiba", "boss@bigcustomer.test"));
        assert_eq!(out.department, "billing");
        assert_eq!(out.priority, Priority::Urgent);
        assert_eq!(out.tags, vec!["vip"]);
        assert_eq!(out.rules.len(), 2);
        assert_eq!(out.rules[1].matched["subject"], "Számla");

        let out = run(&r, &msg("hello", "x@else.test"));
        assert_eq!(out.department, "support");
        assert_eq!(out.priority, Priority::Low);
    }

    #[test]
    fn every_condition_kind() {
        let r = rules(
            r#"
[[rule]]
name = "all"
when.to = ["billing@*"]
when.header."X-Priority" = "^1"
when.mailbox = "support"
when.language = "hu"
set.ack = false
"#,
        );
        let out = run(&r, &msg("x", "a@b.test"));
        assert!(!out.ack);
        assert_eq!(out.rules[0].matched["header.x-priority"], "1");
        let mut other = msg("x", "a@b.test");
        other.to = vec!["support@example.test".into()];
        assert!(run(&r, &other).ack);
    }

    #[test]
    fn assignee_spam_requester_and_continue_actions() {
        let r = rules(
            r#"
[[rule]]
name = "tag-all"
set.tags = ["seen"]
continue = true

[[rule]]
name = "casino"
when.body = "(?i)casino"
set.spam = true

[[rule]]
name = "form"
when.from = "noreply@example.test"
set.requester = "reply-to"
set.assignee = "Alice@Example.test"
set.ack = false
"#,
        );
        let mut m = msg("x", "noreply@example.test");
        let out = run(&r, &m);
        assert_eq!(out.assignee.as_deref(), Some("alice@example.test"));
        assert!(out.requester_from_reply_to);
        assert!(!out.ack);
        assert_eq!(out.tags, vec!["seen"]);
        assert_eq!(out.rules.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), vec!["tag-all", "form"]);
        m.text = "Best CASINO offers".into();
        let out = run(&r, &m);
        assert!(out.spam);
        assert_eq!(out.rules[1].matched["body"], "CASINO");
        // The compiled sets and one-by-one matching agree.
        let forced = crate::rules::RuleIndex::build_from(&r.rules, 0);
        let input = RouteInput { message: &m, mailbox: "support", default_department: "support", language: None };
        assert_eq!(route_with_index(&r, &forced, &input), route_one_by_one(&r, &input));
    }
}
