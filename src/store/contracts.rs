//! What contracts (`crate::contracts`) read and record: the time logged per requester, and the
//! notices already sent per contract, period and level. Which customer a contract covers and
//! when a notice is owed are decided there.

use rusqlite::{params, Connection};

use super::StoreError;

/// Minutes logged in [from, to) per requester of the ticket they were logged on:
/// (requester, minutes).
pub fn minutes_by_requester(conn: &Connection, from: i64, to: i64) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.requester, SUM(e.minutes) AS minutes FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
         WHERE e.at >= ?1 AND e.at < ?2 GROUP BY t.requester",
    )?;
    let rows = stmt.query_map(params![from, to], |r| Ok((r.get("requester")?, r.get("minutes")?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records that `contract`'s notice of `level` for the period starting `period_start` was
/// owed, by `ticket` at `at`. False when it had been recorded already (told once per period).
pub fn record_notice(
    conn: &Connection,
    contract: &str,
    period_start: &str,
    level: &str,
    ticket: i64,
    at: i64,
) -> Result<bool, StoreError> {
    let fresh = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO contract_notices (contract, period_start, level, ticket_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![contract, period_start, level, ticket, at])?;
    Ok(fresh != 0)
}
