//! Notify: the mails about a ticket other than the acknowledgement — new-ticket notifications
//! to the department, assignment notices, SLA warnings and escalations to staff, and delay
//! notices to the customer — with the facts that make each useful on its own: the customer's
//! text, priority, due times, how long they have waited, and their history with us.
//!
//! Writes into the caller's transaction only (outbox, outgoing message, event); never sends and
//! never decides *when* — ingest, the shell actions and the scheduler do.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use crate::config::{Config, NamedAddress};
use crate::domain::Status;
use crate::outbox::compose::{self, header_safe, local_time, TemplateMail, Threading};
use crate::outbox::queue;
use crate::rules::Rules;
use crate::sla::{Action, Clock, Step};
use crate::store::{self, StoreError, Ticket};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
}

impl From<rusqlite::Error> for NotifyError {
    fn from(e: rusqlite::Error) -> Self {
        NotifyError::Store(StoreError::Sqlite(e))
    }
}

/// The longest customer text quoted in a mail to staff.
const QUOTED_CHARS: usize = 4000;

/// What ticketd sends as for a ticket (docs/message-handling.md): the department's `from`, else the address of the
/// mailbox the ticket came in on, else `[smtp].from`.
pub fn sender(config: &Config, rules: &Rules, t: &Ticket) -> NamedAddress {
    if let Some(from) = rules.department(&t.department).and_then(|d| d.from.clone()) {
        return from;
    }
    let mailbox = t.mailbox.as_deref().and_then(|name| config.mailboxes.iter().find(|m| m.name == name));
    match mailbox {
        Some(m) => NamedAddress { name: config.smtp.from.name.clone(), address: m.address.clone() },
        None => config.smtp.from.clone(),
    }
}

/// "3 d 2 h", "2 h 15 min", "45 min": wall-clock spans for people.
pub fn human(d: Duration) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, mins) = (minutes / (24 * 60), minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// The template variables every mail about `t` can use.
fn ticket_context(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    language: &str,
    now: DateTime<Utc>,
) -> Result<minijinja::Value, StoreError> {
    let zone = rules.department_zone(&t.department);
    let when = |unix: i64| DateTime::from_timestamp(unix, 0).map(|at| local_time(at, zone, language));
    let tag = |id: i64| format!("[{}#{id}]", config.tickets.tag_prefix);
    let (last_from, last_text) = store::last_incoming(conn, t.id)?.unwrap_or_default();
    let last_text: String = last_text.chars().take(QUOTED_CHARS).collect();
    let history = store::tickets_of_requester(conn, &t.requester)?;
    let others: Vec<&Ticket> = history.iter().filter(|h| h.id != t.id).collect();
    let closed = others.iter().filter(|h| h.status == Status::Closed).count();
    let last = others.iter().find(|h| h.id < t.id).map(|h| {
        minijinja::context! {
            tag => tag(h.id),
            subject => header_safe(&h.subject),
            status => h.status.as_str(),
            created => when(h.created_at),
        }
    });
    Ok(minijinja::context! {
        ticket_id => t.id,
        tag => tag(t.id),
        subject => header_safe(&t.subject),
        status => t.status.as_str(),
        priority => t.priority.as_str(),
        department => &t.department,
        requester => &t.requester,
        requester_name => t.requester_name.as_deref().map(header_safe),
        assignee => &t.assignee,
        created => when(t.created_at),
        waiting => human(now - DateTime::from_timestamp(t.created_at, 0).unwrap_or(now)),
        due_first_response => t.first_response_due.and_then(when),
        due_resolution => t.resolution_due.and_then(when),
        due_next_response => t.next_response_due.and_then(when),
        awaiting => &t.awaiting,
        last_from => last_from,
        last_message => last_text,
        history => minijinja::context! { open => others.len() - closed, closed => closed, last => last },
    })
}

/// The language a mail of `template` is written in: the first of `languages` with a template
/// file (English last). Dates and times in the mail follow it, not merely the first wish.
fn written_in(rules: &Rules, t: &Ticket, template: &str, languages: &[&str]) -> String {
    compose::template_choice(&rules.templates_dir, &t.department, template, languages).1
}

/// The department's language first, then English: mail to staff.
fn staff_languages<'a>(rules: &'a Rules, t: &Ticket) -> Vec<&'a str> {
    rules.department(&t.department).map(|d| vec![d.language.as_str()]).unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn send(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    kind: &str,
    template: &str,
    languages: &[&str],
    extra: minijinja::Value,
    to: &[String],
    auto_submitted: &str,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    if to.is_empty() {
        return Ok(false);
    }
    let language = &written_in(rules, t, template, languages);
    let context = ticket_context(conn, config, rules, t, language, now)?;
    let from = sender(config, rules, t);
    let tag = format!("[{}#{}]", config.tickets.tag_prefix, t.id);
    // Staff mail threads under the customer's first message, so a reply to it finds the ticket.
    let first_id = store::first_message_id(conn, t.id)?;
    let references: Vec<String> = first_id.iter().cloned().collect();
    let mail = compose::from_template(
        &rules.templates_dir,
        &TemplateMail {
            kind: template,
            department: &t.department,
            languages,
            context: minijinja::context! { ..extra, ..context },
            default_subject: format!("{tag} {}", t.subject),
            from: &from,
            to,
            ticket: t.id,
            auto_submitted,
            threading: Threading { in_reply_to: first_id.as_deref(), references: &references },
            now,
        },
    )?;
    queue::queue(conn, t.id, kind, &from.address, to, &mail, now.timestamp())?;
    Ok(true)
}

/// Tells the department's `notify` list about a new ticket.
pub fn new_ticket(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    ticket: i64,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    let Some(t) = store::get_ticket(conn, ticket)? else { return Ok(false) };
    let to: Vec<String> = rules
        .department(&t.department)
        .map(|d| d.notify.iter().map(|a| a.as_str().to_string()).collect())
        .unwrap_or_default();
    let languages = staff_languages(rules, &t);
    send(
        conn,
        config,
        rules,
        &t,
        "notification",
        "notification",
        &languages,
        minijinja::context! {},
        &to,
        "auto-generated",
        now,
    )
}

/// Tells the assignee (else the department's `notify` list) that the customer wrote again on
/// their ticket (docs/conversation.md "Follow-ups"): the new text, the conversation before it, and when the
/// next response is due. `reopened` when the message reopened a closed ticket.
pub fn followup(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    ticket: i64,
    reopened: bool,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    let Some(t) = store::get_ticket(conn, ticket)? else { return Ok(false) };
    let to: Vec<String> = match &t.assignee {
        Some(agent) => vec![agent.clone()],
        None => rules
            .department(&t.department)
            .map(|d| d.notify.iter().map(|a| a.as_str().to_string()).collect())
            .unwrap_or_default(),
    };
    let languages = staff_languages(rules, &t);
    let language = &written_in(rules, &t, "followup", &languages);
    let zone = rules.department_zone(&t.department);
    // The follow-up itself is the newest; the conversation is what came before it.
    let mut conversation = store::recent_conversation(conn, t.id, CONVERSATION_MESSAGES + 1)?;
    conversation.pop();
    let conversation: Vec<minijinja::Value> = conversation
        .iter()
        .map(|e| {
            let text: String = e.text.chars().take(QUOTED_CHARS / CONVERSATION_MESSAGES).collect();
            minijinja::context! {
                from => &e.from,
                staff => e.direction == "out" || e.kind != "customer",
                kind => &e.kind,
                at => DateTime::from_timestamp(e.received_at, 0).map(|at| local_time(at, zone, language)),
                text => text.trim(),
            }
        })
        .collect();
    let extra = minijinja::context! { reopened => reopened, conversation => conversation };
    send(conn, config, rules, &t, "notification", "followup", &languages, extra, &to, "auto-generated", now)
}

/// How many earlier messages a follow-up mail quotes.
const CONVERSATION_MESSAGES: usize = 5;

/// Tells an agent that a ticket is now theirs.
pub fn assigned(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    ticket: i64,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    let Some(t) = store::get_ticket(conn, ticket)? else { return Ok(false) };
    let Some(agent) = t.assignee.clone() else { return Ok(false) };
    if by == Some(agent.as_str()) {
        return Ok(false); // "I'll take it" needs no mail to oneself.
    }
    let languages = staff_languages(rules, &t);
    let extra = minijinja::context! { assigned_by => by };
    send(conn, config, rules, &t, "assignment", "assignment", &languages, extra, &[agent], "auto-generated", now)
}

/// Tells a staff member which of their email commands were not carried out, and why.
#[allow(clippy::too_many_arguments)]
pub fn command_errors(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    to: &str,
    invalid: &[(String, String)],
    done: &[String],
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    let invalid: Vec<minijinja::Value> =
        invalid.iter().map(|(line, reason)| minijinja::context! { line => line, reason => reason }).collect();
    let extra = minijinja::context! { invalid => invalid, done => done.to_vec() };
    let languages = staff_languages(rules, t);
    send(
        conn,
        config,
        rules,
        t,
        "notification",
        "command_error",
        &languages,
        extra,
        &[to.to_string()],
        "auto-replied",
        now,
    )
}

/// Tells the customer (in their language) and the contract's `notify` list that the contract's
/// hours for this period reached `level` ("warning" or "limit").
#[allow(clippy::too_many_arguments)]
pub fn contract_notice(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    contract: &crate::rules::Contract,
    level: &str,
    used_minutes: i64,
    period_start: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), NotifyError> {
    let period = match contract.period {
        crate::rules::Period::Month => "month",
        crate::rules::Period::Quarter => "quarter",
        crate::rules::Period::Year => "year",
    };
    let hours = contract.hours;
    let percent = if hours > 0.0 { (used_minutes as f64 / 60.0 / hours * 100.0).round() as i64 } else { 100 };
    let extra = minijinja::context! {
        contract => &contract.name,
        level => level,
        hours => format!("{hours}"),
        used_hours => format!("{:.1}", used_minutes as f64 / 60.0),
        percent => percent,
        period => period,
        period_start => period_start.to_string(),
    };
    let languages = customer_languages(rules, t);
    send(
        conn,
        config,
        rules,
        t,
        "notice",
        "contract",
        &languages,
        extra.clone(),
        std::slice::from_ref(&t.requester),
        "auto-generated",
        now,
    )?;
    let staff: Vec<String> = contract.notify.iter().map(|a| a.as_str().to_string()).collect();
    let languages = staff_languages(rules, t);
    send(conn, config, rules, t, "notification", "contract_staff", &languages, extra, &staff, "auto-generated", now)?;
    Ok(())
}

/// Why mail to a ticket's customer must not go out, if it must not: the ticket was opened by
/// automatic mail, the requester is an automatic sender, staff or ticketd itself, or mail to them
/// bounced lately.
pub fn customer_unreachable(conn: &Connection, config: &Config, t: &Ticket) -> Result<Option<String>, StoreError> {
    let requester = t.requester.as_str();
    if t.automatic {
        return Ok(Some("the ticket was opened by automatic mail".into()));
    }
    if crate::filter::is_automatic_sender(requester) {
        return Ok(Some(format!("{requester} is an automatic sender")));
    }
    if config.staff.is_staff(requester) || config.own_addresses().iter().any(|a| a.as_str() == requester) {
        return Ok(Some(format!("{requester} is a staff or ticketd address")));
    }
    if let Some((at, detail)) = store::addresses::last_bounce(conn, requester)? {
        let customer_wrote_since = store::last_customer_message_at(conn, t.id)?.is_some_and(|m| m > at);
        if !customer_wrote_since {
            return Ok(Some(format!("mail to {requester} bounced ({detail})")));
        }
    }
    Ok(None)
}

/// The customer's languages, then the department's: mail to the customer.
fn customer_languages<'a>(rules: &'a Rules, t: &'a Ticket) -> Vec<&'a str> {
    crate::rules::customer_languages(t.language.as_deref(), rules.department(&t.department))
}

/// Sends the mail of a step that has come due (SLA warnings, escalations, the delay notice,
/// the request for an ETA, the end of a snooze, the reminder). A step for the customer whose
/// mail cannot go to them records why on the ticket and sends nothing.
pub fn sla_step(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    step: &Step,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    let zone = rules.department_zone(&t.department);
    let to: Vec<String> = step.to.iter().map(|a| a.as_str().to_string()).collect();
    let clock_name = match step.clock {
        Clock::FirstResponse => "first response",
        Clock::NextResponse => "next response",
        Clock::Resolution | Clock::Eta => "resolution",
        Clock::Waiting => "wait",
    };
    let due = DateTime::from_timestamp(step.due, 0).unwrap_or(now);
    let staff = staff_languages(rules, t);
    let customer = customer_languages(rules, t);
    let (kind, template, languages, auto) = match step.action {
        Action::Warning => ("warning", "warning", staff, "auto-generated"),
        Action::Escalation { .. } => ("escalation", "escalation", staff, "auto-generated"),
        Action::DelayWarning => ("delay-warning", "delay-warning", staff, "auto-generated"),
        Action::Snooze => ("notification", "snooze", staff, "auto-generated"),
        Action::DelayNotice => ("notice", "delay", customer, "auto-replied"),
        Action::Reminder => ("notice", "reminder", customer, "auto-generated"),
        Action::AutoClose => return Ok(false),
    };
    if matches!(step.action, Action::DelayNotice | Action::Reminder) {
        if let Some(why) = customer_unreachable(conn, config, t)? {
            store::add_event(conn, t.id, now.timestamp(), "notice_suppressed", None, &format!("{template}: {why}"))?;
            return Ok(true);
        }
    }
    let language = &written_in(rules, t, template, &languages);
    let when =
        |unix: Option<i64>| unix.and_then(|u| DateTime::from_timestamp(u, 0)).map(|at| local_time(at, zone, language));
    let left = crate::sla::policy_for(rules, &t.department)
        .map(|p| p.calendar.working_between(now, due))
        .unwrap_or_else(|| due - now);
    let level = match step.action {
        Action::Escalation { level } => level,
        _ => 0,
    };
    // When the customer is asked to answer by a moment (the wait's closing).
    let close_on = match step.action {
        Action::Reminder => {
            let policy = crate::sla::policy_or_none(rules, &t.department);
            policy
                .department
                .and_then(|d| d.close_after)
                .zip(t.waiting_since.and_then(|s| DateTime::from_timestamp(s, 0)))
                .map(|(span, since)| local_time(span.after(policy.calendar, since), zone, language))
        }
        _ => None,
    };
    let extra = minijinja::context! {
        clock => step.clock.as_str(),
        clock_name => clock_name,
        due => local_time(due, zone, language),
        left => human(left),
        overdue => human(now - due),
        level => level,
        new_eta => when(t.eta),
        eta => when(t.eta),
        since => when(t.waiting_since),
        until => when(t.wait_until),
        close_on => close_on,
    };
    send(conn, config, rules, t, kind, template, &languages, extra, &to, auto, now)
}

/// Tells the customer the resolution time staff promise (`#eta`, `tickets eta`), in their
/// language and the department's zone; `previous` when it replaces an earlier one.
pub fn eta(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    previous: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    if let Some(why) = customer_unreachable(conn, config, t)? {
        store::add_event(conn, t.id, now.timestamp(), "notice_suppressed", None, &format!("eta: {why}"))?;
        return Ok(false);
    }
    let zone = rules.department_zone(&t.department);
    let languages = customer_languages(rules, t);
    let language = &written_in(rules, t, "eta", &languages);
    let when =
        |unix: Option<i64>| unix.and_then(|u| DateTime::from_timestamp(u, 0)).map(|at| local_time(at, zone, language));
    let extra = minijinja::context! { eta => when(t.eta), previous_eta => when(previous) };
    send(
        conn,
        config,
        rules,
        t,
        "notice",
        "eta",
        &languages,
        extra,
        std::slice::from_ref(&t.requester),
        "auto-generated",
        now,
    )
}

/// Tells the customer their ticket is closed, when the department says so (`close_mail`), with
/// the survey question and, with `[http] public_url`, one rating link per score. Records on
/// the ticket which survey was asked, so that a reply with a score is taken as a rating.
pub fn closed(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    now: DateTime<Utc>,
) -> Result<bool, NotifyError> {
    let Some(department) = rules.department(&t.department).filter(|d| d.close_mail) else { return Ok(false) };
    if let Some(why) = customer_unreachable(conn, config, t)? {
        store::add_event(conn, t.id, now.timestamp(), "notice_suppressed", None, &format!("closed: {why}"))?;
        return Ok(false);
    }
    let survey = department.survey;
    store::set_survey(conn, t.id, survey.map(|s| s.as_str()))?;
    let links: Vec<minijinja::Value> = match (survey, config.http_public_url.as_str()) {
        (Some(survey), url) if !url.is_empty() => {
            let key = crate::ratings::key(&config.database.data_dir)
                .map_err(|e| NotifyError::Store(StoreError::Create { path: "rating.key".into(), source: e }))?;
            crate::ratings::links(url, &key, t.id, survey)
                .into_iter()
                .map(|(score, url)| minijinja::context! { score => score, url => url })
                .collect()
        }
        _ => Vec::new(),
    };
    let (low, high) = survey.map(|s| s.scale()).unwrap_or((0, 0));
    let zone = rules.department_zone(&t.department);
    let languages = customer_languages(rules, t);
    let language = &written_in(rules, t, "closed", &languages);
    let reopen_until = DateTime::from_timestamp(now.timestamp() + config.tickets.reopen_window.as_secs() as i64, 0)
        .map(|at| crate::outbox::compose::local_date(at, zone, language));
    let extra = minijinja::context! {
        survey => survey.map(|s| s.as_str()),
        scale_min => low,
        scale_max => high,
        rating_links => links,
        reopen_until => reopen_until,
    };
    send(
        conn,
        config,
        rules,
        t,
        "notice",
        "closed",
        &languages,
        extra,
        std::slice::from_ref(&t.requester),
        "auto-generated",
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(human(Duration::minutes(45)), "45 min");
        assert_eq!(human(Duration::minutes(120)), "2 h");
        assert_eq!(human(Duration::minutes(135)), "2 h 15 min");
        assert_eq!(human(Duration::hours(50)), "2 d 2 h");
        assert_eq!(human(Duration::hours(48)), "2 d");
        assert_eq!(human(Duration::minutes(-5)), "0 min");
    }
}
