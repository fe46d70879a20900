//! SLA clocks (docs/message-handling.md): for a ticket, when the first response and the resolution are due on
//! its department's calendar, which warnings, escalations and notices lie ahead, and which
//! targets were missed.
//!
//! Everything is derived from stored facts — the ticket's receipt, priority, department, first
//! response, status pauses and the steps already taken — so a priority or department change, a
//! restart or a late scheduler run all give the same answer. A breach is decided by the time of
//! the response or the closing, never by when this code happened to run. It sends nothing: the
//! scheduler does, through the outbox.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use crate::config::Address;
use crate::domain::Status;
use crate::rules::{Calendar, Department, Rules, SlaPolicy};
use crate::store::{self, sla as stored, StoreError, Ticket};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    FirstResponse,
    /// From the first customer message after a staff response to the next staff response
    /// (docs/conversation.md); runs once per such follow-up.
    NextResponse,
    Resolution,
    /// The promise of a resolution time (docs/conversation.md): the assignee asked for an ETA before the
    /// due time, warned again when an ETA lapses. Its cycle is the due time it is about.
    Eta,
    /// A wait on the customer: the snooze's end, the reminder, the closing. Its cycle is the
    /// wait's start.
    Waiting,
}

impl Clock {
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::FirstResponse => "first_response",
            Clock::NextResponse => "next_response",
            Clock::Resolution => "resolution",
            Clock::Eta => "eta",
            Clock::Waiting => "waiting",
        }
    }
}

/// What a step does when its moment comes.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `warn_before` the due time: to the assignee, else the department's notify list.
    Warning,
    /// At the breach and at each `[[sla.escalation]]` level: to the managers.
    Escalation { level: usize },
    /// At a resolution breach, where the policy says so and no ETA was given: to the customer,
    /// with a new time (the due time + `extension`), which becomes the ETA.
    DelayNotice,
    /// `delay_notice_before` the resolution due with no ETA, or when an ETA lapses: the assignee
    /// (else the notify list) is asked for one.
    DelayWarning,
    /// A snooze ends: the ticket is open again, awaiting staff, and the assignee is told.
    Snooze,
    /// `remind_after` into a wait: the customer is reminded.
    Reminder,
    /// `close_after` into a wait: the ticket is closed by ticketd.
    AutoClose,
}

/// One moment ahead on a ticket's clocks.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub clock: Clock,
    /// Which run of the clock: the next-response clock's start, 0 for the others.
    pub cycle: i64,
    /// Stable name, recorded once done: "warning", "escalation-1", "escalation-2", "delay_notice".
    pub name: String,
    pub action: Action,
    pub at: i64,
    /// The due time the step is about.
    pub due: i64,
    pub to: Vec<Address>,
}

/// A ticket's clocks at a moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Shown while the first response is outstanding (docs/json.md).
    pub first_response_due: Option<i64>,
    /// Shown while the resolution clock runs (not waiting, not closed).
    pub resolution_due: Option<i64>,
    /// Shown while a customer's follow-up waits for the next response.
    pub next_response_due: Option<i64>,
    /// The first-response target's due time, if missed (by the response, or by `now`).
    pub first_response_breach: Option<i64>,
    /// The running next-response cycle's due time, if `now` is past it.
    pub next_response_breach: Option<i64>,
    pub resolution_breach: Option<i64>,
    /// Every step of the running clocks, done or not, in time order.
    pub steps: Vec<Step>,
}

/// The policy that governs a department's tickets, with its calendar.
pub struct Policy<'a> {
    pub sla: &'a SlaPolicy,
    pub calendar: &'a Calendar,
    pub department: Option<&'a Department>,
}

pub fn policy_for<'a>(rules: &'a Rules, department: &str) -> Option<Policy<'a>> {
    let dept = rules.department(department);
    let sla = rules.sla(dept?.sla.as_deref()?)?;
    let calendar = rules.calendars.iter().find(|c| c.name == sla.calendar)?;
    Some(Policy { sla, calendar, department: dept })
}

/// The policy of a department, or for one without an SLA policy none of its targets on a
/// calendar open round the clock in UTC: its waits still end, remind and close.
pub fn policy_or_none<'a>(rules: &'a Rules, department: &str) -> Policy<'a> {
    use std::sync::OnceLock;
    static NONE: OnceLock<Rules> = OnceLock::new();
    policy_for(rules, department).unwrap_or_else(|| {
        let none = NONE.get_or_init(|| {
            let source = "[[calendar]]\nname = \"always\"\ntimezone = \"UTC\"\n\
                          [[sla]]\nname = \"none\"\ncalendar = \"always\"\ndelay_notice_before = \"0m\"\n";
            Rules::from_sources(&[("(built in)".into(), source.into())], "templates".into())
                .expect("the built-in policy is valid")
        });
        Policy { sla: &none.slas[0], calendar: &none.calendars[0], department: rules.department(department) }
    })
}

fn instant(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

fn chrono(d: crate::config::HumanDuration) -> Duration {
    Duration::seconds(d.as_secs() as i64)
}

/// The instant at which `work` of working time has run on a clock that started at `start` and
/// stopped during `pauses`; None when the clock is paused now, before reaching it.
fn when_worked(cal: &Calendar, start: i64, pauses: &[(i64, Option<i64>)], work: Duration) -> Option<i64> {
    let mut from = start;
    let mut left = work;
    for &(paused, resumed) in pauses {
        if paused < from {
            // A pause inside an earlier one, or before the start: only its end matters.
            if let Some(r) = resumed {
                from = from.max(r);
            } else {
                return None;
            }
            continue;
        }
        let reached = cal.add_working(instant(from), left).timestamp();
        if reached <= paused {
            return Some(reached);
        }
        left -= cal.working_between(instant(from), instant(paused));
        match resumed {
            Some(r) => from = r,
            None => return None,
        }
    }
    Some(cal.add_working(instant(from), left).timestamp())
}

/// The clocks of `t` at `now`, with its resolution pauses.
pub fn plan(t: &Ticket, pauses: &[(i64, Option<i64>)], policy: &Policy<'_>, now: i64) -> Plan {
    let mut plan = Plan::default();
    if t.silent || t.automatic {
        return plan;
    }
    let priority = t.priority;
    let cal = policy.calendar;
    let managers: Vec<Address> = {
        let mut all = policy.sla.escalate_to.clone();
        for a in policy.department.map(|d| d.escalate_to.as_slice()).unwrap_or_default() {
            if !all.contains(a) {
                all.push(a.clone());
            }
        }
        all
    };
    let warned: Vec<Address> = match &t.assignee {
        Some(a) => vec![Address(a.clone())],
        None => policy.department.map(|d| d.notify.clone()).unwrap_or_default(),
    };
    let warn_before = policy.sla.warn_before.map(chrono);

    // Steps of one clock: warning, breach escalation, later levels (and the delay notice).
    let steps_for = |clock: Clock, cycle: i64, due: i64, warn_at: Option<i64>| {
        let mut steps = Vec::new();
        if let Some(at) = warn_at {
            steps.push(Step {
                clock,
                cycle,
                name: "warning".into(),
                action: Action::Warning,
                at,
                due,
                to: warned.clone(),
            });
        }
        steps.push(Step {
            clock,
            cycle,
            name: "escalation-1".into(),
            action: Action::Escalation { level: 1 },
            at: due,
            due,
            to: managers.clone(),
        });
        for (i, level) in policy.sla.escalation.iter().enumerate() {
            steps.push(Step {
                clock,
                cycle,
                name: format!("escalation-{}", i + 2),
                action: Action::Escalation { level: i + 2 },
                at: cal.add_working(instant(due), chrono(level.after)).timestamp(),
                due,
                to: level.to.clone(),
            });
        }
        if clock == Clock::Resolution && policy.sla.delay_notice && t.eta.is_none() {
            steps.push(Step {
                clock,
                cycle,
                name: "delay_notice".into(),
                action: Action::DelayNotice,
                at: due,
                due,
                to: vec![Address(t.requester.clone())],
            });
        }
        steps
    };

    if let Some(target) = policy.sla.first_response.get(priority).map(chrono) {
        let due = cal.add_working(instant(t.created_at), target).timestamp();
        match t.first_response_at {
            Some(answered) => plan.first_response_breach = (answered > due).then_some(due),
            None if t.status == Status::Closed => {
                // Closed without a response: the clock ends at the closing.
                let closed = t.closed_at.unwrap_or(now);
                plan.first_response_breach = (closed > due).then_some(due);
            }
            None => {
                plan.first_response_due = Some(due);
                plan.first_response_breach = (now >= due).then_some(due);
                let warn_at = warn_before
                    .filter(|w| *w < target)
                    .map(|w| cal.add_working(instant(t.created_at), target - w).timestamp());
                plan.steps.extend(steps_for(Clock::FirstResponse, 0, due, warn_at));
            }
        }
    }

    // The next response: the same rules as the first, from the customer's follow-up.
    if let (Some(from), Some(target)) = (t.next_response_from, policy.sla.next_response.get(priority).map(chrono)) {
        if t.status != Status::Closed && t.status != Status::Waiting {
            let due = cal.add_working(instant(from), target).timestamp();
            plan.next_response_due = Some(due);
            plan.next_response_breach = (now >= due).then_some(due);
            let warn_at =
                warn_before.filter(|w| *w < target).map(|w| cal.add_working(instant(from), target - w).timestamp());
            plan.steps.extend(steps_for(Clock::NextResponse, from, due, warn_at));
        }
    }

    if let Some(target) = policy.sla.resolution.get(priority).map(chrono) {
        // Some(due) when the due time comes before the clock's current pause (if any).
        let due = when_worked(cal, t.created_at, pauses, target);
        let running = t.status != Status::Waiting && t.status != Status::Closed;
        plan.resolution_breach = due.filter(|d| *d <= now || !running);
        if running {
            if let Some(due) = due {
                plan.resolution_due = Some(due);
                let warn_at = warn_before
                    .filter(|w| *w < target)
                    .and_then(|w| when_worked(cal, t.created_at, pauses, target - w));
                plan.steps.extend(steps_for(Clock::Resolution, 0, due, warn_at));
                // No ETA yet: the assignee is asked for one in time.
                let before = chrono(policy.sla.delay_notice_before);
                if t.eta.is_none() && before > Duration::zero() && before < target {
                    if let Some(at) = when_worked(cal, t.created_at, pauses, target - before) {
                        plan.steps.push(Step {
                            clock: Clock::Eta,
                            cycle: due,
                            name: "delay-warning".into(),
                            action: Action::DelayWarning,
                            at,
                            due,
                            to: warned.clone(),
                        });
                    }
                }
            }
        }
    }

    // A promised resolution time is the resolution due shown; when it lapses, staff are asked
    // for a new one (the customer got their one delay mail already, if any).
    let running = t.status != Status::Waiting && t.status != Status::Closed;
    if let (Some(eta), true) = (t.eta, running) {
        plan.resolution_due = Some(eta);
        plan.steps.push(Step {
            clock: Clock::Eta,
            cycle: eta,
            name: "lapsed".into(),
            action: Action::DelayWarning,
            at: eta,
            due: eta,
            to: warned.clone(),
        });
    }

    // Waiting on the customer: a snooze ends at its time; otherwise the department's reminder
    // and closing, in working days from the wait's start.
    if let (Some(since), Status::Waiting) = (t.waiting_since, t.status) {
        match t.wait_until {
            Some(until) => plan.steps.push(Step {
                clock: Clock::Waiting,
                cycle: since,
                name: "snooze".into(),
                action: Action::Snooze,
                at: until,
                due: until,
                to: warned.clone(),
            }),
            None => {
                let start = instant(since);
                if let Some(span) = policy.department.and_then(|d| d.remind_after) {
                    let at = span.after(cal, start).timestamp();
                    plan.steps.push(Step {
                        clock: Clock::Waiting,
                        cycle: since,
                        name: "reminder".into(),
                        action: Action::Reminder,
                        at,
                        due: at,
                        to: vec![Address(t.requester.clone())],
                    });
                }
                if let Some(span) = policy.department.and_then(|d| d.close_after) {
                    let at = span.after(cal, start).timestamp();
                    plan.steps.push(Step {
                        clock: Clock::Waiting,
                        cycle: since,
                        name: "close".into(),
                        action: Action::AutoClose,
                        at,
                        due: at,
                        to: Vec::new(),
                    });
                }
            }
        }
    }
    plan.steps.sort_by_key(|s| s.at);
    plan
}

/// Recomputes a ticket's due times, breaches and next scheduler moment from its stored facts,
/// and stores them. Call it in the transaction of any change to the ticket. Returns the plan
/// and the breaches newly recorded.
pub fn refresh(conn: &Connection, rules: &Rules, ticket: i64, now: i64) -> Result<(Plan, Vec<Clock>), StoreError> {
    let Some(t) = store::get_ticket(conn, ticket)? else { return Ok((Plan::default(), Vec::new())) };
    let policy = policy_or_none(rules, &t.department);
    let pauses = stored::pauses(conn, ticket)?;
    let plan = plan(&t, &pauses, &policy, now);
    let mut newly = Vec::new();
    let mut breaches =
        vec![(Clock::FirstResponse, 0, plan.first_response_breach), (Clock::Resolution, 0, plan.resolution_breach)];
    // A next-response breach stays once recorded: the cycle it belongs to is over when the
    // clock stops, and its record with it.
    if let (Some(from), Some(due)) = (t.next_response_from, plan.next_response_breach) {
        breaches.push((Clock::NextResponse, from, Some(due)));
    }
    for (clock, cycle, breach) in breaches {
        if stored::set_breach(conn, ticket, clock.as_str(), cycle, breach)? {
            let due = crate::present::time_in(rules.department_zone(&t.department), breach.unwrap_or_default());
            store::add_event(conn, ticket, now, "breach", None, &format!("{} was due {due}", clock.as_str()))?;
            newly.push(clock);
        }
    }
    let done = stored::steps_done(conn, ticket)?;
    let next = plan.steps.iter().filter(|s| !is_done(&done, s)).map(|s| s.at).min();
    let due = stored::Due {
        first_response: plan.first_response_due,
        next_response: plan.next_response_due,
        resolution: plan.resolution_due,
    };
    stored::set_due(conn, ticket, due, next)?;
    Ok((plan, newly))
}

/// Whether a step of the plan has been taken already.
pub fn is_done(done: &[stored::StepDone], step: &Step) -> bool {
    done.iter().any(|d| d.clock == step.clock.as_str() && d.cycle == step.cycle && d.step == step.name)
}

/// Starts the next-response clock at `at` (a customer's follow-up) unless it runs already.
/// Before the first response the first-response clock covers the customer.
pub fn start_next_response(conn: &Connection, t: &Ticket, at: i64) -> Result<(), StoreError> {
    if t.first_response_at.is_some() && t.next_response_from.is_none() && !t.silent {
        store::set_next_response_from(conn, t.id, Some(at))?;
    }
    Ok(())
}

/// Ends the running next-response clock at `at`: by a staff response (`by`), or by closing or
/// waiting (None). A response after the due time is a breach, decided by the response's time,
/// never by when the scheduler ran; the cycle is recorded for stats.
pub fn end_next_response(
    conn: &Connection,
    rules: &Rules,
    t: &Ticket,
    at: i64,
    by: Option<&str>,
) -> Result<(), StoreError> {
    let Some(from) = t.next_response_from else { return Ok(()) };
    let priority = t.priority;
    let due = policy_for(rules, &t.department).and_then(|policy| {
        let target = policy.sla.next_response.get(priority).map(chrono)?;
        Some(policy.calendar.add_working(instant(from), target).timestamp())
    });
    if let Some(due) = due.filter(|d| at > *d) {
        if stored::set_breach(conn, t.id, Clock::NextResponse.as_str(), from, Some(due))? {
            let shown = crate::present::time_in(rules.department_zone(&t.department), due);
            store::add_event(conn, t.id, at, "breach", None, &format!("next_response was due {shown}"))?;
        }
    }
    store::record_next_response(
        conn,
        &store::NextResponse {
            ticket: t.id,
            started_at: from,
            due_at: due,
            ended_at: at,
            ended_by: by,
            department: &t.department,
        },
    )?;
    store::set_next_response_from(conn, t.id, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
holidays = ["2026-12-24"]
[calendar.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-17:00"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "2h", low = "8h" }
resolution = { normal = "8h" }
warn_before = "1h"
delay_notice = true
escalate_to = ["manager@example.test"]
[[sla.escalation]]
after = "2h"
to = ["director@example.test"]

[[department]]
name = "support"
sla = "standard"
notify = ["alice@example.test"]
escalate_to = ["lead@example.test"]
"#;

    fn rules() -> Rules {
        Rules::from_sources(&[("sla.toml".into(), RULES.into())], "templates".into()).unwrap()
    }

    fn budapest(local: &str) -> i64 {
        use chrono::TimeZone;
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Europe::Budapest.from_local_datetime(&naive).unwrap().timestamp()
    }

    fn ticket(created: &str) -> Ticket {
        Ticket {
            id: 1,
            subject: "x".into(),
            status: Status::New,
            department: "support".into(),
            priority: crate::domain::Priority::Normal,
            requester: "anna@customer.test".into(),
            requester_name: None,
            assignee: None,
            mailbox: None,
            language: None,
            created_at: budapest(created),
            updated_at: 0,
            first_response_at: None,
            first_response_by: None,
            closed_at: None,
            linked_to: None,
            silent: false,
            tags: vec![],
            message_count: 1,
            first_response_due: None,
            resolution_due: None,
            awaiting: Some("staff".into()),
            automatic: false,
            next_response_from: None,
            next_response_due: None,
            eta: None,
            waiting_since: None,
            wait_until: None,
            survey: None,
            rating: None,
            breaches: vec![],
        }
    }

    #[test]
    fn a_department_without_a_policy_still_has_its_waits_on_an_always_open_calendar() {
        let rules = rules();
        let policy = policy_or_none(&rules, "no such department");
        assert!(!policy.sla.first_response.any() && !policy.sla.resolution.any());
        let mut t = ticket("2026-11-23 09:00");
        t.department = "no such department".into();
        t.status = crate::domain::Status::Waiting;
        t.waiting_since = Some(budapest("2026-11-23 09:00"));
        t.wait_until = Some(budapest("2026-11-28 03:00"));
        let p = plan(&t, &[], &policy, budapest("2026-11-23 09:00"));
        assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
        assert_eq!((p.steps[0].action.clone(), p.steps[0].at), (Action::Snooze, budapest("2026-11-28 03:00")));
    }

    #[test]
    fn friday_afternoon_mail_plans_monday() {
        let rules = rules();
        let policy = policy_for(&rules, "support").unwrap();
        let t = ticket("2026-11-20 16:30");
        let p = plan(&t, &[], &policy, budapest("2026-11-20 16:31"));
        assert_eq!(p.first_response_due, Some(budapest("2026-11-23 09:30")));
        let fr: Vec<(&str, i64, Vec<&str>)> = p
            .steps
            .iter()
            .filter(|s| s.clock == Clock::FirstResponse)
            .map(|s| (s.name.as_str(), s.at, s.to.iter().map(|a| a.as_str()).collect()))
            .collect();
        assert_eq!(
            fr,
            vec![
                ("warning", budapest("2026-11-23 08:30"), vec!["alice@example.test"]),
                ("escalation-1", budapest("2026-11-23 09:30"), vec!["manager@example.test", "lead@example.test"]),
                ("escalation-2", budapest("2026-11-23 11:30"), vec!["director@example.test"]),
            ]
        );
        assert_eq!(p.first_response_breach, None);
        // Resolution: 8 working hours = Monday 15:30, with its delay notice to the customer.
        assert_eq!(p.resolution_due, Some(budapest("2026-11-23 15:30")));
        assert!(p.steps.iter().any(|s| s.action == Action::DelayNotice && s.to[0].as_str() == "anna@customer.test"));
    }

    #[test]
    fn a_breach_is_decided_by_the_response_time() {
        let rules = rules();
        let policy = policy_for(&rules, "support").unwrap();
        let mut t = ticket("2026-11-23 09:00");
        // Answered at 10:59, but the scheduler only looks at 12:00: no breach.
        t.first_response_at = Some(budapest("2026-11-23 10:59"));
        t.status = crate::domain::Status::Open;
        let p = plan(&t, &[], &policy, budapest("2026-11-23 12:00"));
        assert_eq!(p.first_response_breach, None);
        assert_eq!(p.first_response_due, None, "shown only while outstanding");
        assert!(
            p.steps.iter().all(|s| matches!(s.clock, Clock::Resolution | Clock::Eta)),
            "no first-response steps after the response"
        );
        // Answered at 11:01: a breach of the 11:00 due time.
        t.first_response_at = Some(budapest("2026-11-23 11:01"));
        let p = plan(&t, &[], &policy, budapest("2026-11-23 11:02"));
        assert_eq!(p.first_response_breach, Some(budapest("2026-11-23 11:00")));
    }

    #[test]
    fn waiting_pauses_the_resolution_clock_and_it_resumes_with_what_was_left() {
        let rules = rules();
        let policy = policy_for(&rules, "support").unwrap();
        let mut t = ticket("2026-11-23 09:00");
        t.first_response_at = Some(budapest("2026-11-23 09:30"));
        t.status = crate::domain::Status::Waiting;
        // Waiting from 11:00 (2 of 8 hours used) until Wednesday 10:00.
        let paused = vec![(budapest("2026-11-23 11:00"), None)];
        let p = plan(&t, &paused, &policy, budapest("2026-11-24 12:00"));
        assert_eq!(p.resolution_due, None, "null while waiting");
        assert!(p.steps.is_empty());
        t.status = crate::domain::Status::Open;
        let resumed = vec![(budapest("2026-11-23 11:00"), Some(budapest("2026-11-25 10:00")))];
        let p = plan(&t, &resumed, &policy, budapest("2026-11-25 10:00"));
        assert_eq!(p.resolution_due, Some(budapest("2026-11-25 16:00")), "6 hours left from Wednesday 10:00");
        // Closed before the due time: no breach; closed after: a breach at the due time.
        t.status = crate::domain::Status::Closed;
        let closed = vec![resumed[0], (budapest("2026-11-25 15:00"), None)];
        assert_eq!(plan(&t, &closed, &policy, budapest("2026-11-26 09:00")).resolution_breach, None);
        let closed = vec![resumed[0], (budapest("2026-11-25 16:30"), None)];
        assert_eq!(
            plan(&t, &closed, &policy, budapest("2026-11-26 09:00")).resolution_breach,
            Some(budapest("2026-11-25 16:00"))
        );
    }

    #[test]
    fn a_priority_change_moves_the_due_time_and_silent_tickets_have_none() {
        let rules = rules();
        let policy = policy_for(&rules, "support").unwrap();
        let mut t = ticket("2026-11-23 09:00");
        t.priority = crate::domain::Priority::Low;
        assert_eq!(plan(&t, &[], &policy, 0).first_response_due, Some(budapest("2026-11-23 17:00")));
        t.silent = true;
        assert_eq!(plan(&t, &[], &policy, 0), Plan::default());
    }
}
