//! Staff actions — from the shell (`ticketd tickets close|reopen|wait|priority|note|assign|time|
//! merge`) and from email commands (`#close`, ...): each changes one ticket and records an event
//! with its time and author, in one transaction.
//!
//! Mail an action causes (an assignment notice) is queued in the same transaction; delivery is
//! the outbox's. Never touches a mailbox.

use rusqlite::{Connection, TransactionBehavior};

pub use crate::commands::Action;
use crate::config::{Config, StaffConfig};
use crate::domain::Status;
use crate::rules::Rules;
use crate::store::{self, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("ticket {0} does not exist")]
    NoTicket(i64),
    #[error("{0:?} is not a staff address or a unique staff local part")]
    UnknownAgent(String),
    #[error("no department {0:?} in the rules")]
    UnknownDepartment(String),
    #[error("ticket {0} cannot be merged into itself")]
    MergeIntoItself(i64),
    #[error("{0:?} is not a mail address")]
    BadAddress(String),
    #[error("{0}")]
    BadWhen(String),
    #[error("ticket {0} is closed")]
    Closed(i64),
    #[error("{0} is a staff or ticketd address, not a customer's")]
    NotACustomer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
}

impl From<rusqlite::Error> for ActionError {
    fn from(e: rusqlite::Error) -> Self {
        ActionError::Store(StoreError::Sqlite(e))
    }
}

/// A staff address from what was typed: an address (lower-cased) or a unique local part.
pub fn resolve_agent(staff: &StaffConfig, typed: &str) -> Result<String, ActionError> {
    let t = typed.trim().to_ascii_lowercase();
    if t.contains('@') {
        return if t.parse::<lettre::Address>().is_ok() { Ok(t) } else { Err(ActionError::UnknownAgent(typed.into())) };
    }
    let matches: Vec<&str> =
        staff.addresses.iter().map(|a| a.as_str()).filter(|a| a.split('@').next() == Some(&t)).collect();
    match matches.as_slice() {
        [one] => Ok(one.to_string()),
        _ => Err(ActionError::UnknownAgent(typed.into())),
    }
}

fn at(unix: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

/// Applies an action in its own transaction; returns a one-line summary.
pub fn apply(
    store: &mut Store,
    config: &Config,
    rules: &Rules,
    id: i64,
    action: &Action,
    by: Option<&str>,
    now: i64,
) -> Result<String, ActionError> {
    let by = by.map(|b| resolve_agent(&config.staff, b)).transpose()?;
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    let summary = apply_in(&tx, config, rules, id, action, by.as_deref(), now)?;
    tx.commit()?;
    Ok(summary)
}

/// Applies an action inside the caller's transaction (a shell command's, or the transaction of
/// the mail that carried an email command). `by` is a resolved staff address.
pub fn apply_in(
    tx: &Connection,
    config: &Config,
    rules: &Rules,
    id: i64,
    action: &Action,
    by: Option<&str>,
    now: i64,
) -> Result<String, ActionError> {
    let staff = &config.staff;
    let t = store::get_ticket(tx, id)?.ok_or(ActionError::NoTicket(id))?;
    let by_ref = by;
    let summary = match action {
        Action::Close | Action::Reopen | Action::Wait(None) => {
            let next = match action {
                Action::Close => Status::Closed,
                Action::Wait(_) => Status::Waiting,
                _ if t.first_response_at.is_some() => Status::Open,
                _ => Status::New,
            };
            if t.status != next {
                if next.is_stopped() {
                    // Closing or waiting on the customer ends the wait for a next response.
                    crate::sla::end_next_response(tx, rules, &t, now, None)?;
                }
                store::set_status(tx, id, next, now)?;
                store::add_status_event(tx, id, now, by_ref, t.status, next, None)?;
                if t.status == Status::Closed {
                    store::add_event(tx, id, now, "reopened", by_ref, "")?;
                }
                if next == Status::Closed {
                    let closed = store::get_ticket(tx, id)?.ok_or(ActionError::NoTicket(id))?;
                    crate::notify::closed(tx, config, rules, &closed, at(now))?;
                }
            }
            format!("ticket {id}: {next}")
        }
        Action::Wait(Some(when)) => {
            // A snooze: waiting on the customer until then, when it comes back to staff.
            if t.status == Status::Closed {
                return Err(ActionError::Closed(id));
            }
            let policy = crate::sla::policy_or_none(rules, &t.department);
            let until = crate::when::When::parse(when)
                .and_then(|w| w.place(policy.calendar, at(now), crate::when::Purpose::Snooze))
                .map_err(ActionError::BadWhen)?;
            if t.status != Status::Waiting {
                crate::sla::end_next_response(tx, rules, &t, now, None)?;
                store::set_status(tx, id, Status::Waiting, now)?;
                store::add_status_event(tx, id, now, by_ref, t.status, Status::Waiting, None)?;
            }
            let since = store::get_ticket(tx, id)?.and_then(|t| t.waiting_since).unwrap_or(now);
            store::set_wait(tx, id, Some(since), Some(until.timestamp()))?;
            let shown = crate::present::time_in(rules.department_zone(&t.department), until.timestamp());
            store::add_event(tx, id, now, "snooze", by_ref, &format!("until {shown}"))?;
            format!("ticket {id}: waiting until {shown}")
        }
        Action::Eta(when) => {
            if t.status == Status::Closed {
                return Err(ActionError::Closed(id));
            }
            let policy = crate::sla::policy_or_none(rules, &t.department);
            let eta = crate::when::When::parse(when)
                .and_then(|w| w.place(policy.calendar, at(now), crate::when::Purpose::Eta))
                .map_err(ActionError::BadWhen)?;
            store::set_eta(tx, id, Some(eta.timestamp()))?;
            let shown = crate::present::time_in(rules.department_zone(&t.department), eta.timestamp());
            store::add_event(tx, id, now, "eta", by_ref, &shown)?;
            let told = store::get_ticket(tx, id)?.ok_or(ActionError::NoTicket(id))?;
            crate::notify::eta(tx, config, rules, &told, t.eta, at(now))?;
            format!("ticket {id}: ETA {shown}, told to {}", t.requester)
        }
        Action::Requester(typed) => {
            let address = typed.trim().trim_matches(['<', '>']).to_ascii_lowercase();
            if address.parse::<lettre::Address>().is_err() {
                return Err(ActionError::BadAddress(typed.clone()));
            }
            let own = config.own_addresses().iter().any(|a| a.as_str() == address);
            if staff.is_staff(&address) || own {
                return Err(ActionError::NotACustomer(address));
            }
            if address != t.requester {
                store::set_requester(tx, id, &address, now)?;
                store::add_event(tx, id, now, "requester", by_ref, &format!("{} -> {address}", t.requester))?;
            }
            format!("ticket {id}: requester {address}")
        }
        Action::Priority(p) => {
            store::set_priority(tx, id, p.as_str(), now)?;
            store::add_event(tx, id, now, "priority", by_ref, &format!("{} -> {}", t.priority, p.as_str()))?;
            format!("ticket {id}: priority {}", p.as_str())
        }
        Action::Department(name) => {
            if rules.department(name).is_none() {
                return Err(ActionError::UnknownDepartment(name.clone()));
            }
            store::set_department(tx, id, name, now)?;
            store::add_event(tx, id, now, "department", by_ref, &format!("{} -> {name}", t.department))?;
            format!("ticket {id}: department {name}")
        }
        Action::Note(text) => {
            store::add_event(tx, id, now, "note", by_ref, text)?;
            store::touch_ticket(tx, id, now)?;
            format!("ticket {id}: note added")
        }
        Action::Time(minutes) => {
            store::add_time(tx, id, by_ref, *minutes, now)?;
            store::add_event(tx, id, now, "time", by_ref, &format!("{minutes} min"))?;
            crate::contracts::after_time_logged(tx, config, rules, &t, *minutes, now)?;
            let total = store::time_on(tx, id)?;
            format!("ticket {id}: {minutes} min logged ({total} min in all)")
        }
        Action::Merge(into) => {
            if *into == id {
                return Err(ActionError::MergeIntoItself(id));
            }
            let target = store::get_ticket(tx, *into)?.ok_or(ActionError::NoTicket(*into))?;
            store::merge_tickets(tx, id, target.id)?;
            store::add_event(tx, target.id, now, "merged", by_ref, &format!("ticket {id} merged into this one"))?;
            store::add_event(tx, id, now, "merged", by_ref, &format!("merged into ticket {}", target.id))?;
            if t.status != Status::Closed {
                // A customer still waiting for an answer waits on the merged ticket now.
                if t.awaiting.as_deref() == Some("staff") && target.status != Status::Closed {
                    store::set_awaiting(tx, target.id, Some("staff"))?;
                    if target.next_response_from.is_none() && t.next_response_from.is_some() {
                        store::set_next_response_from(tx, target.id, t.next_response_from)?;
                    }
                }
                if target.automatic && !t.automatic {
                    store::clear_automatic(tx, target.id, now)?;
                }
                store::set_next_response_from(tx, id, None)?;
                store::set_status(tx, id, Status::Closed, now)?;
            }
            crate::sla::refresh(tx, rules, target.id, now)?;
            format!("ticket {id}: merged into ticket {}", target.id)
        }
        Action::Assign(agent) => {
            let agent = resolve_agent(staff, agent)?;
            store::set_assignee(tx, id, &agent, now)?;
            store::add_event(tx, id, now, "assigned", by_ref, &agent)?;
            crate::notify::assigned(tx, config, rules, id, by_ref, at(now))?;
            format!("ticket {id}: assigned to {agent}")
        }
    };
    // Status, priority and department move the SLA clocks; recompute them in the same
    // transaction.
    crate::sla::refresh(tx, rules, id, now)?;
    Ok(summary)
}
