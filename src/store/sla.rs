//! The stored facts of SLA clocks: pauses of the resolution clock, the steps already taken
//! (warnings, escalations, notices), breaches, and the derived due times the scheduler's index
//! and the JSON read. What is due when is decided in `crate::sla`, never here.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// The resolution clock's pauses of a ticket, in order: (paused_at, resumed_at or None).
pub fn pauses(conn: &Connection, ticket: i64) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT paused_at, resumed_at FROM sla_pauses WHERE ticket_id = ?1 ORDER BY paused_at, rowid",
    )?;
    let rows = stmt.query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A step already taken: its clock, the clock's cycle (the next-response clock runs once per
/// customer follow-up; 0 for the others) and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepDone {
    pub clock: String,
    pub cycle: i64,
    pub step: String,
}

/// Steps already taken on a ticket.
pub fn steps_done(conn: &Connection, ticket: i64) -> Result<Vec<StepDone>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT clock, cycle, step FROM sla_steps WHERE ticket_id = ?1")?;
    let rows = stmt.query_map([ticket], |r| {
        Ok(StepDone { clock: r.get("clock")?, cycle: r.get("cycle")?, step: r.get("step")? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records a step as taken; false if it had been taken already (then the caller sends nothing).
pub fn mark_step(
    conn: &Connection,
    ticket: i64,
    clock: &str,
    cycle: i64,
    step: &str,
    due_at: i64,
    done_at: i64,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO sla_steps (ticket_id, clock, cycle, step, due_at, done_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![ticket, clock, cycle, step, due_at, done_at])?;
    Ok(n > 0)
}

/// Sets or clears the breach of one clock cycle; true when a breach was newly recorded.
pub fn set_breach(
    conn: &Connection,
    ticket: i64,
    kind: &str,
    cycle: i64,
    due_at: Option<i64>,
) -> Result<bool, StoreError> {
    match due_at {
        Some(due) => {
            let existing: Option<i64> = conn
                .prepare_cached("SELECT due_at FROM breaches WHERE ticket_id = ?1 AND kind = ?2 AND cycle = ?3")?
                .query_row(params![ticket, kind, cycle], |r| r.get(0))
                .optional()?;
            match existing {
                Some(d) if d == due => Ok(false),
                Some(_) => {
                    conn.prepare_cached(
                        "UPDATE breaches SET due_at = ?4 WHERE ticket_id = ?1 AND kind = ?2 AND cycle = ?3",
                    )?
                    .execute(params![ticket, kind, cycle, due])?;
                    Ok(false)
                }
                None => {
                    conn.prepare_cached(
                        "INSERT INTO breaches (ticket_id, kind, cycle, due_at) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![ticket, kind, cycle, due])?;
                    Ok(true)
                }
            }
        }
        None => {
            conn.prepare_cached("DELETE FROM breaches WHERE ticket_id = ?1 AND kind = ?2 AND cycle = ?3")?
                .execute(params![ticket, kind, cycle])?;
            Ok(false)
        }
    }
}

/// A ticket's breaches: (kind, the due time that was missed).
pub fn breaches(conn: &Connection, ticket: i64) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT kind, due_at FROM breaches WHERE ticket_id = ?1 ORDER BY due_at, kind")?;
    let rows = stmt.query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The derived due times of a ticket's running clocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Due {
    pub first_response: Option<i64>,
    pub next_response: Option<i64>,
    pub resolution: Option<i64>,
}

/// Stores the derived due times and the scheduler's next look.
pub fn set_due(conn: &Connection, ticket: i64, due: Due, next: Option<i64>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE tickets SET first_response_due = ?2, resolution_due = ?3, next_sla_at = ?4, next_response_due = ?5 \
         WHERE id = ?1",
    )?
    .execute(params![ticket, due.first_response, due.resolution, next, due.next_response])?;
    Ok(())
}

/// Tickets whose next SLA moment has come, earliest first (an index range: the cost follows
/// the number due, not the number open).
pub fn due_tickets(conn: &Connection, now: i64, limit: usize) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM tickets WHERE next_sla_at IS NOT NULL AND next_sla_at <= ?1 ORDER BY next_sla_at LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit as i64], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The earliest moment any ticket needs the scheduler.
pub fn next_moment(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MIN(next_sla_at) FROM tickets WHERE next_sla_at IS NOT NULL")?
        .query_row([], |r| r.get(0))?)
}
