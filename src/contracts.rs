//! Contracts: a customer's included hours per month, quarter or year (docs/rules.md `[[contract]]`).
//! When time logged on their tickets crosses the contract's warning share and when it reaches
//! the included hours, the customer and the contract's `notify` list get a mail — once each per
//! period — and the crossing is recorded on the ticket whose time crossed it.
//!
//! Runs in the transaction that logged the time; never sends (the outbox does), never blocks
//! logging: a customer without a contract simply has none.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use rusqlite::Connection;

use crate::config::Config;
use crate::notify::{self, NotifyError};
use crate::rules::{Contract, Period, Rules};
use crate::store::{self, Ticket};

/// The contract that covers an address (the first that matches, in rules order).
pub fn contract_for<'a>(rules: &'a Rules, address: &str) -> Option<&'a Contract> {
    rules.contracts.iter().find(|c| c.customers.iter().any(|g| g.matches(address)))
}

/// The first day of the period `day` falls in.
pub fn period_start(period: Period, day: NaiveDate) -> NaiveDate {
    let month = match period {
        Period::Month => day.month(),
        Period::Quarter => (day.month() - 1) / 3 * 3 + 1,
        Period::Year => 1,
    };
    NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
}

fn next_period(period: Period, start: NaiveDate) -> NaiveDate {
    let months = match period {
        Period::Month => 1,
        Period::Quarter => 3,
        Period::Year => 12,
    };
    start.checked_add_months(chrono::Months::new(months)).unwrap_or(start)
}

/// Minutes logged in [from, to) on tickets of any customer the contract covers.
fn minutes_used(conn: &Connection, contract: &Contract, from: i64, to: i64) -> Result<i64, store::StoreError> {
    let rows = store::contracts::minutes_by_requester(conn, from, to)?;
    let mut total = 0;
    for (requester, minutes) in rows {
        if contract.customers.iter().any(|g| g.matches(&requester)) {
            total += minutes;
        }
    }
    Ok(total)
}

/// After `added` minutes were logged on ticket `t` at `at`: the notices the contract owes, sent
/// once per period and level.
pub fn after_time_logged(
    conn: &Connection,
    config: &Config,
    rules: &Rules,
    t: &Ticket,
    added: i64,
    at: i64,
) -> Result<(), NotifyError> {
    let Some(contract) = contract_for(rules, &t.requester) else { return Ok(()) };
    let zone = rules.department_zone(&t.department);
    let Some(now) = DateTime::<Utc>::from_timestamp(at, 0) else { return Ok(()) };
    let start = period_start(contract.period, now.with_timezone(&zone).date_naive());
    let bound = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|t| t.timestamp())
    };
    let (Some(from), Some(to)) = (bound(start), bound(next_period(contract.period, start))) else { return Ok(()) };
    let used = minutes_used(conn, contract, from, to)?;
    let before = used - added;
    let included = (contract.hours * 60.0).round() as i64;
    for (level, share) in [("warning", contract.warn_at), ("limit", 1.0)] {
        let threshold = (included as f64 * share).ceil() as i64;
        if before >= threshold || used < threshold {
            continue;
        }
        if !store::contracts::record_notice(conn, &contract.name, &start.to_string(), level, t.id, at)? {
            continue; // Told already in this period.
        }
        let detail = format!(
            "contract {}: {:.1} of {} hours used this {} ({level})",
            contract.name,
            used as f64 / 60.0,
            contract.hours,
            match contract.period {
                Period::Month => "month",
                Period::Quarter => "quarter",
                Period::Year => "year",
            }
        );
        store::add_event(conn, t.id, at, "contract", None, &detail)?;
        tracing::info!(ticket = t.id, contract = %contract.name, level, "contract notice");
        notify::contract_notice(conn, config, rules, t, contract, level, used, start, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_where_people_expect() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(period_start(Period::Month, d(2026, 11, 23)), d(2026, 11, 1));
        assert_eq!(period_start(Period::Quarter, d(2026, 11, 23)), d(2026, 10, 1));
        assert_eq!(period_start(Period::Quarter, d(2026, 3, 31)), d(2026, 1, 1));
        assert_eq!(period_start(Period::Year, d(2026, 11, 23)), d(2026, 1, 1));
        assert_eq!(next_period(Period::Quarter, d(2026, 10, 1)), d(2027, 1, 1));
    }
}
