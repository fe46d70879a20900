//! Staff actions from the shell (`ticketd tickets close|reopen|wait|priority|note|assign`): each
//! changes one ticket and records an event with its time and author, in one transaction.
//!
//! Mail an action causes (an assignment notice) is queued in the same transaction; delivery is
//! the outbox's. Never touches a mailbox.

use rusqlite::{params, TransactionBehavior};

use crate::config::{Config, StaffConfig};
use crate::rules::{Priority, Rules};
use crate::store::{self, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("ticket {0} does not exist")]
    NoTicket(i64),
    #[error("{0:?} is not a staff address or a unique staff local part")]
    UnknownAgent(String),
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

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Close,
    Reopen,
    Wait,
    Priority(Priority),
    Note(String),
    Assign(String),
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

/// Applies an action; returns a one-line summary.
pub fn apply(
    store: &mut Store,
    config: &Config,
    rules: &Rules,
    id: i64,
    action: &Action,
    by: Option<&str>,
    now: i64,
) -> Result<String, ActionError> {
    let staff = &config.staff;
    let by = by.map(|b| resolve_agent(staff, b)).transpose()?;
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    let t = store::get_ticket(&tx, id)?.ok_or(ActionError::NoTicket(id))?;
    let by_ref = by.as_deref();
    let summary = match action {
        Action::Close | Action::Reopen | Action::Wait => {
            let next = match action {
                Action::Close => "closed",
                Action::Wait => "waiting",
                _ if t.first_response_at.is_some() => "open",
                _ => "new",
            };
            if t.status != next {
                store::set_status(&tx, id, next, now)?;
                store::add_event(&tx, id, now, "status", by_ref, &format!("{} -> {next}", t.status))?;
            }
            format!("ticket {id}: {next}")
        }
        Action::Priority(p) => {
            tx.execute(
                "UPDATE tickets SET priority = ?2, updated_at = MAX(updated_at, ?3) WHERE id = ?1",
                params![id, p.as_str(), now],
            )?;
            store::add_event(&tx, id, now, "priority", by_ref, &format!("{} -> {}", t.priority, p.as_str()))?;
            format!("ticket {id}: priority {}", p.as_str())
        }
        Action::Note(text) => {
            store::add_event(&tx, id, now, "note", by_ref, text)?;
            store::touch_ticket(&tx, id, now)?;
            format!("ticket {id}: note added")
        }
        Action::Assign(agent) => {
            let agent = resolve_agent(staff, agent)?;
            tx.execute(
                "UPDATE tickets SET assignee = ?2, updated_at = MAX(updated_at, ?3) WHERE id = ?1",
                params![id, agent, now],
            )?;
            store::add_event(&tx, id, now, "assigned", by_ref, &agent)?;
            let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
            crate::notify::assigned(&tx, config, rules, id, by_ref, at)?;
            format!("ticket {id}: assigned to {agent}")
        }
    };
    // Status and priority move the SLA clocks; recompute them in the same transaction.
    crate::sla::refresh(&tx, rules, id, now)?;
    tx.commit()?;
    Ok(summary)
}
