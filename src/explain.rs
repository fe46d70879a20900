//! `rules test`: what would happen to a message — class with reasons, the rules that matched and
//! the text each condition matched, department, priority, assignee, whether it would be
//! acknowledged, and the ticket it would join — computed by the very stages ingest uses.
//!
//! Writes nothing: the database is opened read-only, and only when it exists.

use serde_json::{json, Value};

use crate::config::MailboxConfig;
use crate::filter::{self, Class};
use crate::parse::ParsedMessage;
use crate::pipeline::{self, Pipeline};
use crate::scan::ScanResult;
use crate::store::Store;
use crate::thread::{self, ThreadInput, Threading};

pub fn explain(
    p: &Pipeline<'_>,
    message: &ParsedMessage,
    mailbox: &MailboxConfig,
    from_sent_folder: bool,
    scan: Option<&ScanResult>,
    now: i64,
) -> Value {
    let store = Store::open_read_only(&p.config.database.path).ok();
    let conn = store.as_ref().map(Store::conn);
    let own = conn.is_some_and(|c| pipeline::sent_by_ticketd(c, message).unwrap_or(false));
    let d = pipeline::decide(p, message, mailbox, from_sent_folder, scan, own);
    let (spam_reasons, score) = filter::spam_verdict(message, &p.config.spam, scan);
    let automatic = filter::automatic_reasons(message);
    let (requester, _) = pipeline::requester_of(message, d.class, &d.routed, p);
    let threads = conn.and_then(|conn| {
        let input = ThreadInput {
            message,
            tags: p.tags,
            sender: pipeline::thread_sender(d.class, &d.verdict),
            now,
            reopen_window_secs: p.config.tickets.reopen_window.as_secs() as i64,
        };
        thread::thread(&input, &pipeline::ThreadLookup { conn, tickets: &p.config.tickets }).ok()
    });
    let joins = match threads {
        Some(Threading::Join { ticket, .. }) => Some(ticket),
        _ => None,
    };
    let ack =
        joins.is_none() && pipeline::ack_blocker(p, d.class, &d.verdict, &requester, &d.routed, message).is_none();
    // A trusted staff mail that opens no ticket and forwards a customer's mail opens theirs.
    let opens_plain = matches!(threads, Some(Threading::New) | None);
    let forwarded = (d.class == Class::StaffNote && opens_plain && !from_sent_folder).then(|| {
        match pipeline::forwarded_mail(message) {
            Ok(Some((inner, style))) => {
                json!({ "from": inner.from.map(|f| f.address), "subject": inner.subject, "style": style })
            }
            Ok(None) => Value::Null,
            Err(why) => json!({ "unreadable": why }),
        }
    });
    let languages = crate::rules::customer_languages(d.language, p.rules.department(&d.routed.department));
    let (ack_template, ack_language) =
        crate::outbox::compose::template_choice(&p.rules.templates_dir, &d.routed.department, "ack", &languages);
    json!({
        "class": d.class.as_str(),
        "reasons": d.verdict.reasons,
        "spam": {
            "verdict": d.class == Class::Spam,
            "score": score,
            "reasons": spam_reasons,
            "unscanned": d.verdict.unscanned,
        },
        "automatic": { "verdict": d.class == Class::Automatic, "reasons": automatic },
        "rules": d.routed.rules.iter().map(|r| json!({ "name": r.name, "matched": r.matched })).collect::<Vec<_>>(),
        "department": d.routed.department,
        "priority": d.routed.priority.as_str(),
        "assignee": d.routed.assignee,
        "tags": d.routed.tags,
        "ack": ack,
        "ack_blocked_by": if joins.is_some() { Some("joins an existing ticket".to_string()) } else { pipeline::ack_blocker(p, d.class, &d.verdict, &requester, &d.routed, message) },
        "joins": joins,
        "forwarded": forwarded.unwrap_or(Value::Null),
        "language": d.language,
        "ack_language": ack.then_some(ack_language),
        "ack_template": ack.then_some(ack_template),
        "mailbox": d.owner.name,
        "requester": requester,
        "subject": message.subject,
        "flags": message.flags,
    })
}

/// The explanation for people.
pub fn human(v: &Value) -> String {
    let mut out = String::new();
    let list = |v: &Value| {
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; ")).unwrap_or_default()
    };
    out.push_str(&format!("subject:     {}\n", v["subject"].as_str().unwrap_or("")));
    out.push_str(&format!("class:       {}", v["class"].as_str().unwrap_or("")));
    let reasons = list(&v["reasons"]);
    if !reasons.is_empty() {
        out.push_str(&format!(" ({reasons})"));
    }
    out.push('\n');
    out.push_str(&format!(
        "spam:        {} (score {})\n",
        if v["spam"]["verdict"].as_bool() == Some(true) { "yes" } else { "no" },
        v["spam"]["score"].as_f64().map(|s| s.to_string()).unwrap_or_else(|| "none".into())
    ));
    let auto = list(&v["automatic"]["reasons"]);
    out.push_str(&format!(
        "automatic:   {}\n",
        if auto.is_empty() { "no".to_string() } else { format!("signs: {auto}") }
    ));
    out.push_str("rules:\n");
    match v["rules"].as_array() {
        Some(rules) if !rules.is_empty() => {
            for r in rules {
                let matched: Vec<String> = r["matched"]
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| format!("{k} matched {:?}", v.as_str().unwrap_or(""))).collect())
                    .unwrap_or_default();
                let why = if matched.is_empty() { "no conditions".to_string() } else { matched.join(", ") };
                out.push_str(&format!("  {}: {why}\n", r["name"].as_str().unwrap_or("")));
            }
        }
        _ => out.push_str("  (none matched: the mailbox's department applies)\n"),
    }
    out.push_str(&format!("mailbox:     {}\n", v["mailbox"].as_str().unwrap_or("")));
    out.push_str(&format!("department:  {}\n", v["department"].as_str().unwrap_or("")));
    out.push_str(&format!("priority:    {}\n", v["priority"].as_str().unwrap_or("")));
    out.push_str(&format!("assignee:    {}\n", v["assignee"].as_str().unwrap_or("-")));
    out.push_str(&format!("language:    {}\n", v["language"].as_str().unwrap_or("unknown")));
    out.push_str(&format!("requester:   {}\n", v["requester"].as_str().unwrap_or("")));
    if let Some(from) = v["forwarded"]["from"].as_str() {
        out.push_str(&format!(
            "forwards:    mail from {from} ({}): the ticket is theirs, acknowledged when ack_forwarded\n",
            v["forwarded"]["style"].as_str().unwrap_or("")
        ));
    } else if let Some(why) = v["forwarded"]["unreadable"].as_str() {
        out.push_str(&format!("forwards:    a forwarded mail whose sender cannot be read ({why})\n"));
    }
    match v["joins"].as_i64() {
        Some(t) => out.push_str(&format!("joins:       ticket {t}\n")),
        None => out.push_str("joins:       none (a new ticket)\n"),
    }
    if v["ack"].as_bool() == Some(true) {
        out.push_str(&format!(
            "acknowledge: yes, in {} ({})\n",
            v["ack_language"].as_str().unwrap_or("en"),
            v["ack_template"].as_str().unwrap_or("")
        ));
    } else {
        out.push_str(&format!("acknowledge: no ({})\n", v["ack_blocked_by"].as_str().unwrap_or("")));
    }
    out
}
