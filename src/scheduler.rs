//! Scheduler: takes the SLA steps whose moment has come — warnings, escalations, delay notices
//! with a new time, requests for an ETA, snoozes ending, reminders and closings of waits — and
//! records breaches, for the tickets the `next_sla_at` index says are due. A batch of tickets
//! is one transaction holding their mails in the outbox, the steps marked done, their events and
//! next moments, so every step is taken once whatever restarts or `run --once --now` passes
//! happen.
//!
//! It never scans every ticket: one index range up to now, and the earliest next moment tells
//! the daemon how long to sleep. It never sends: the outbox delivers after the commit.

use chrono::{DateTime, Utc};
use rusqlite::TransactionBehavior;

use crate::config::Config;
use crate::domain::Status;
use crate::notify::{self, NotifyError};
use crate::rules::Rules;
use crate::sla::{self, Action};
use crate::store::{self, sla as stored, Store, StoreError};

/// Tickets handled per batch (each its own transaction).
const BATCH: usize = 500;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SchedulerReport {
    pub tickets: usize,
    pub warnings: usize,
    pub escalations: usize,
    pub notices: usize,
    pub breaches: usize,
    /// Snoozes that ended, tickets closed after a wait (`close_after`).
    pub snoozes: usize,
    pub closed: usize,
}

impl SchedulerReport {
    /// The pass's events for the metrics: (event, how many).
    pub fn events(&self) -> [(&'static str, usize); 4] {
        [
            ("warning", self.warnings),
            ("escalation", self.escalations),
            ("notice", self.notices),
            ("breach", self.breaches),
        ]
    }
}

/// Who changes a ticket when the scheduler does (docs/conversation.md: "event by ticketd").
pub const TICKETD: &str = "ticketd";

/// Takes every step due at `now`.
pub fn run_due(
    store: &mut Store,
    config: &Config,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<SchedulerReport, NotifyError> {
    let mut report = SchedulerReport::default();
    let at = now.timestamp();
    loop {
        let due = stored::due_tickets(store.conn(), at, BATCH)?;
        if due.is_empty() {
            return Ok(report);
        }
        // One transaction per batch: each ticket's steps are idempotent, and nothing is sent
        // before the commit, so a crash simply repeats the batch.
        let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
        for ticket in &due {
            take_steps(&tx, config, rules, *ticket, now, &mut report)?;
        }
        tx.commit()?;
        report.tickets += due.len();
        if due.len() < BATCH {
            return Ok(report);
        }
    }
}

fn take_steps(
    tx: &rusqlite::Connection,
    config: &Config,
    rules: &Rules,
    ticket: i64,
    now: DateTime<Utc>,
    report: &mut SchedulerReport,
) -> Result<(), NotifyError> {
    let at = now.timestamp();
    let (plan, newly) = sla::refresh(tx, rules, ticket, at)?;
    let Some(t) = store::get_ticket(tx, ticket)? else { return Ok(()) };
    for clock in newly {
        report.breaches += 1;
        tracing::warn!(ticket, clock = clock.as_str(), "SLA target missed");
    }
    let done = stored::steps_done(tx, ticket)?;
    let pending: Vec<&sla::Step> = plan.steps.iter().filter(|s| s.at <= at && !sla::is_done(&done, s)).collect();
    for step in &pending {
        // A warning that comes due together with its escalation (the daemon was down) is moot.
        let overtaken = step.action == Action::Warning
            && pending.iter().any(|s| {
                s.clock == step.clock && s.cycle == step.cycle && matches!(s.action, Action::Escalation { .. })
            });
        if !stored::mark_step(tx, ticket, step.clock.as_str(), step.cycle, &step.name, step.due, at)? {
            continue;
        }
        if overtaken {
            continue;
        }
        // Steps that change the ticket first, in this transaction; then their mail, which
        // reads the ticket as changed.
        let current = match step.action {
            Action::DelayNotice => {
                // The customer is told a new time: the due time + the policy's extension.
                let policy = sla::policy_or_none(rules, &t.department);
                let due = DateTime::from_timestamp(step.due, 0).unwrap_or(now);
                let eta = policy.calendar.add_working(due, policy.sla.extension.to_chrono()).timestamp();
                store::set_eta(tx, ticket, Some(eta))?;
                let shown = crate::present::time_in(rules.department_zone(&t.department), eta);
                store::add_event(tx, ticket, at, "eta", Some(TICKETD), &format!("{shown} (delay notice)"))?;
                store::get_ticket(tx, ticket)?.unwrap_or_else(|| t.clone())
            }
            Action::Snooze => {
                let why = Some("the snooze ended");
                store::change_status(tx, ticket, at, Some(TICKETD), Status::Waiting, Status::Open, why)?;
                report.snoozes += 1;
                store::get_ticket(tx, ticket)?.unwrap_or_else(|| t.clone())
            }
            Action::AutoClose => {
                crate::sla::end_next_response(tx, rules, &t, at, None)?;
                let why = Some("close_after");
                store::change_status(tx, ticket, at, Some(TICKETD), Status::Waiting, Status::Closed, why)?;
                report.closed += 1;
                let closed = store::get_ticket(tx, ticket)?.unwrap_or_else(|| t.clone());
                notify::closed(tx, config, rules, &closed, now)?;
                continue;
            }
            _ => t.clone(),
        };
        let sent = notify::sla_step(tx, config, rules, &current, step, now)?;
        match step.action {
            Action::Warning | Action::DelayWarning => report.warnings += usize::from(sent),
            Action::Escalation { .. } => report.escalations += usize::from(sent),
            Action::DelayNotice | Action::Reminder | Action::Snooze => report.notices += usize::from(sent),
            Action::AutoClose => {}
        }
        if !sent {
            let what = format!("{} {}: nobody to tell (no recipients configured)", step.clock.as_str(), step.name);
            store::add_event(tx, ticket, at, "sla", None, &what)?;
        }
    }
    // The steps just taken move the next moment on.
    sla::refresh(tx, rules, ticket, at)?;
    Ok(())
}

/// When the scheduler must look next (None: nothing is ahead).
pub fn next_moment(store: &Store) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(stored::next_moment(store.conn())?.and_then(|t| DateTime::from_timestamp(t, 0)))
}
