//! Stats (SPEC §6): the figures a manager runs the desk by — per department, agent and customer
//! domain over a period: tickets created, closed and still open; first-response time median
//! and 90th percentile in working time; the share of tickets that met their first-response and
//! resolution targets; breaches; hours logged.
//!
//! Read-only. Definitions, so that every figure can be checked by hand:
//! - the period is [from 00:00, the day after `to` 00:00) in each department calendar's zone;
//! - created / first-response figures count tickets *created* in the period; closed counts
//!   tickets *closed* in it; open counts tickets created in it and not closed now;
//! - first-response times are working time on the department's calendar from receipt to the
//!   first response; percentiles are nearest-rank;
//! - first_response_met: of the tickets created in the period whose first-response target is
//!   decided (answered, or breached), the share without a first-response breach;
//!   resolution_met: of the tickets closed in the period with a resolution target, the share
//!   without a resolution breach; tickets imported silently (old mail) are left out of both;
//! - next_response_met: of the next-response cycles (a customer's follow-up after a staff
//!   response, waiting for the next response) decided in the period — ended by a response,
//!   closing or waiting in it, or still running past a due time that fell in it — the share
//!   that ended by their due time; per agent, the cycles their responses ended;
//! - tickets opened by automatic mail that nobody has written on are left out of every figure;
//! - breaches are counted by the due time they missed; hours by the time they were logged.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::rules::Rules;
use crate::store::StoreError;

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct DepartmentStats {
    pub name: String,
    pub created: u64,
    pub closed: u64,
    pub open: u64,
    pub first_response_p50: Option<i64>,
    pub first_response_p90: Option<i64>,
    pub first_response_met: Option<f64>,
    /// Of the next-response cycles decided in the period, the share answered in time.
    pub next_response_met: Option<f64>,
    pub resolution_met: Option<f64>,
    pub breaches: u64,
    pub hours_logged: f64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct AgentStats {
    pub address: String,
    pub responses: u64,
    pub first_responses: u64,
    pub first_response_p50: Option<i64>,
    /// Of the next-response cycles this agent's responses ended in the period, the share in time.
    pub next_response_met: Option<f64>,
    pub closed: u64,
    pub hours_logged: f64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct CustomerStats {
    pub domain: String,
    pub tickets: u64,
    pub hours_logged: f64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub departments: Vec<DepartmentStats>,
    pub agents: Vec<AgentStats>,
    pub customers: Vec<CustomerStats>,
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% at or below.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1) as usize;
    sorted.get(rank - 1).copied()
}

struct Row {
    id: i64,
    department: String,
    requester: String,
    created_at: i64,
    closed_at: Option<i64>,
    status: String,
    first_response_at: Option<i64>,
    first_response_by: Option<String>,
    silent: bool,
}

/// The figures for [from, to] (dates in each department calendar's zone).
pub fn compute(conn: &Connection, rules: &Rules, from: NaiveDate, to: NaiveDate) -> Result<Stats, StoreError> {
    // The period's bounds in a department's zone.
    let bounds = |department: &str| -> (i64, i64) {
        let zone = rules.department_zone(department);
        let start = |d: NaiveDate| {
            zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map(|t| t.timestamp())
                .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp())
        };
        (start(from), start(to + chrono::Duration::days(1)))
    };
    let within = |department: &str, at: i64| {
        let (a, b) = bounds(department);
        a <= at && at < b
    };
    // Every zone is within a day of UTC: read a day more on each side, then filter exactly.
    let wide_from = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp() - 86_400;
    let wide_to = (to + chrono::Duration::days(2)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp();

    let mut stmt = conn.prepare_cached(
        "SELECT id, department, requester, created_at, closed_at, status, first_response_at, first_response_by, silent \
         FROM tickets WHERE automatic = 0 AND ((created_at >= ?1 AND created_at < ?2) \
         OR (closed_at >= ?1 AND closed_at < ?2) OR (first_response_at >= ?1 AND first_response_at < ?2))",
    )?;
    let tickets: Vec<Row> = stmt
        .query_map(params![wide_from, wide_to], |r| {
            Ok(Row {
                id: r.get(0)?,
                department: r.get(1)?,
                requester: r.get(2)?,
                created_at: r.get(3)?,
                closed_at: r.get(4)?,
                status: r.get(5)?,
                first_response_at: r.get(6)?,
                first_response_by: r.get(7)?,
                silent: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let breaches_of =
        |ticket: i64| -> Result<Vec<(String, i64)>, StoreError> { crate::store::sla::breaches(conn, ticket) };
    let working = |department: &str, a: i64, b: i64| -> i64 {
        let (Some(a), Some(b)) = (DateTime::<Utc>::from_timestamp(a, 0), DateTime::<Utc>::from_timestamp(b, 0)) else {
            return 0;
        };
        match crate::sla::policy_for(rules, department) {
            Some(p) => p.calendar.working_between(a, b).num_seconds(),
            None => (b - a).num_seconds(),
        }
    };

    // Per department: its figures, first-response times, and (met, decided) for both targets.
    type Tally = (DepartmentStats, Vec<i64>, (u64, u64), (u64, u64));
    let mut departments: BTreeMap<String, Tally> = BTreeMap::new();
    let mut agents: BTreeMap<String, (AgentStats, Vec<i64>)> = BTreeMap::new();
    // (met, decided) next-response cycles per department and per agent.
    let mut next_by_department: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut next_by_agent: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut customers: BTreeMap<String, CustomerStats> = BTreeMap::new();
    for d in &rules.departments {
        departments.entry(d.name.clone()).or_default().0.name = d.name.clone();
    }
    for t in &tickets {
        let entry = departments.entry(t.department.clone()).or_default();
        entry.0.name = t.department.clone();
        let breaches = breaches_of(t.id)?;
        let breached = |kind: &str| breaches.iter().any(|(k, _)| k == kind);
        let policy = crate::sla::policy_for(rules, &t.department);
        if within(&t.department, t.created_at) {
            entry.0.created += 1;
            if t.status != "closed" {
                entry.0.open += 1;
            }
            let domain = t.requester.rsplit_once('@').map(|(_, d)| d).unwrap_or("").to_string();
            let c = customers.entry(domain.clone()).or_default();
            c.domain = domain;
            c.tickets += 1;
            if let Some(answered) = t.first_response_at {
                entry.1.push(working(&t.department, t.created_at, answered));
            }
            let has_target = policy.as_ref().is_some_and(|p| p.sla.first_response.any());
            if has_target && !t.silent && (t.first_response_at.is_some() || breached("first_response")) {
                entry.2 .1 += 1;
                entry.2 .0 += u64::from(!breached("first_response"));
            }
        }
        if t.closed_at.is_some_and(|c| within(&t.department, c)) {
            entry.0.closed += 1;
            let has_target = policy.as_ref().is_some_and(|p| p.sla.resolution.any());
            if has_target && !t.silent {
                entry.3 .1 += 1;
                entry.3 .0 += u64::from(!breached("resolution"));
            }
        }
        if let (Some(at), Some(by)) = (t.first_response_at, &t.first_response_by) {
            if within(&t.department, at) {
                let a = agents.entry(by.clone()).or_default();
                a.0.address = by.clone();
                a.0.first_responses += 1;
                a.1.push(working(&t.department, t.created_at, at));
            }
        }
    }

    // Breaches by the due time they missed.
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, b.due_at FROM breaches b JOIN tickets t ON t.id = b.ticket_id \
         WHERE t.automatic = 0 AND b.due_at >= ?1 AND b.due_at < ?2",
    )?;
    for row in stmt.query_map(params![wide_from, wide_to], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (department, due) = row?;
        if within(&department, due) {
            departments.entry(department.clone()).or_default().0.breaches += 1;
        }
    }
    // Next-response cycles that ended in the period: in time when they ended by their due time.
    let mut stmt = conn.prepare_cached(
        "SELECT department, ended_by, ended_at, due_at FROM next_responses \
         WHERE due_at IS NOT NULL AND ended_at >= ?1 AND ended_at < ?2",
    )?;
    for row in stmt.query_map(params![wide_from, wide_to], |r| {
        Ok((
            r.get::<_, String>("department")?,
            r.get::<_, Option<String>>("ended_by")?,
            r.get::<_, i64>("ended_at")?,
            r.get::<_, i64>("due_at")?,
        ))
    })? {
        let (department, by, ended, due) = row?;
        if within(&department, ended) {
            let met = u64::from(ended <= due);
            let d = next_by_department.entry(department).or_default();
            d.0 += met;
            d.1 += 1;
            if let Some(by) = by {
                let a = next_by_agent.entry(by).or_default();
                a.0 += met;
                a.1 += 1;
            }
        }
    }
    // Cycles still running whose due time passed in the period: decided, and missed.
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, b.due_at FROM breaches b JOIN tickets t ON t.id = b.ticket_id \
         WHERE b.kind = 'next_response' AND b.cycle = t.next_response_from AND b.due_at >= ?1 AND b.due_at < ?2",
    )?;
    for row in stmt.query_map(params![wide_from, wide_to], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (department, due) = row?;
        if within(&department, due) {
            next_by_department.entry(department).or_default().1 += 1;
        }
    }
    // Responses by agent (staff messages received in the period).
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, m.from_addr, m.received_at FROM messages m JOIN tickets t ON t.id = m.ticket_id \
         WHERE m.kind = 'staff' AND m.received_at >= ?1 AND m.received_at < ?2 AND m.from_addr IS NOT NULL",
    )?;
    for row in stmt.query_map(params![wide_from, wide_to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })? {
        let (department, by, at) = row?;
        if within(&department, at) {
            let a = agents.entry(by.clone()).or_default();
            a.0.address = by;
            a.0.responses += 1;
        }
    }
    // Tickets closed by each agent (the status events that closed them).
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, e.by, e.at FROM events e JOIN tickets t ON t.id = e.ticket_id \
         WHERE e.kind = 'status' AND e.detail LIKE '%-> closed' AND e.by IS NOT NULL AND e.at >= ?1 AND e.at < ?2",
    )?;
    for row in stmt.query_map(params![wide_from, wide_to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })? {
        let (department, by, at) = row?;
        if within(&department, at) {
            let a = agents.entry(by.clone()).or_default();
            a.0.address = by;
            a.0.closed += 1;
        }
    }
    // Hours logged, by department, agent and customer domain.
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, e.agent, t.requester, e.minutes, e.at FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
         WHERE e.at >= ?1 AND e.at < ?2",
    )?;
    for row in stmt.query_map(params![wide_from, wide_to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })? {
        let (department, agent, requester, minutes, at) = row?;
        if !within(&department, at) {
            continue;
        }
        let hours = minutes as f64 / 60.0;
        departments.entry(department.clone()).or_default().0.hours_logged += hours;
        if let Some(agent) = agent {
            let a = agents.entry(agent.clone()).or_default();
            a.0.address = agent;
            a.0.hours_logged += hours;
        }
        let domain = requester.rsplit_once('@').map(|(_, d)| d).unwrap_or("").to_string();
        let c = customers.entry(domain.clone()).or_default();
        c.domain = domain;
        c.hours_logged += hours;
    }

    let share = |(met, of): (u64, u64)| (of > 0).then(|| met as f64 / of as f64);
    let round = |h: f64| (h * 100.0).round() / 100.0;
    Ok(Stats {
        from: from.to_string(),
        to: to.to_string(),
        departments: departments
            .into_values()
            .map(|(mut d, mut times, first, resolution)| {
                d.next_response_met = next_by_department.get(&d.name).copied().and_then(share);
                times.sort_unstable();
                d.first_response_p50 = nearest_rank(&times, 50);
                d.first_response_p90 = nearest_rank(&times, 90);
                d.first_response_met = share(first);
                d.resolution_met = share(resolution);
                d.hours_logged = round(d.hours_logged);
                d
            })
            .collect(),
        agents: agents
            .into_values()
            .map(|(mut a, mut times)| {
                a.next_response_met = next_by_agent.get(&a.address).copied().and_then(share);
                times.sort_unstable();
                a.first_response_p50 = nearest_rank(&times, 50);
                a.hours_logged = round(a.hours_logged);
                a
            })
            .collect(),
        customers: customers
            .into_values()
            .map(|mut c| {
                c.hours_logged = round(c.hours_logged);
                c
            })
            .collect(),
    })
}

fn duration(seconds: Option<i64>) -> String {
    match seconds {
        Some(s) => crate::notify::human(chrono::Duration::seconds(s)),
        None => "-".into(),
    }
}

fn percent(share: Option<f64>) -> String {
    share.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "-".into())
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut all = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    all.extend(rows);
    let widths: Vec<usize> =
        (0..header.len()).map(|c| all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in all {
        let cells: Vec<String> = r.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Aligned tables for people.
pub fn human(s: &Stats) -> String {
    let mut out = format!("{} to {}\n\n", s.from, s.to);
    out.push_str(&table(
        &[
            "DEPARTMENT",
            "CREATED",
            "CLOSED",
            "OPEN",
            "FIRST REPLY p50",
            "p90",
            "FR MET",
            "NR MET",
            "RES MET",
            "BREACHES",
            "HOURS",
        ],
        s.departments
            .iter()
            .map(|d| {
                vec![
                    d.name.clone(),
                    d.created.to_string(),
                    d.closed.to_string(),
                    d.open.to_string(),
                    duration(d.first_response_p50),
                    duration(d.first_response_p90),
                    percent(d.first_response_met),
                    percent(d.next_response_met),
                    percent(d.resolution_met),
                    d.breaches.to_string(),
                    format!("{:.1}", d.hours_logged),
                ]
            })
            .collect(),
    ));
    out.push('\n');
    out.push_str(&table(
        &["AGENT", "RESPONSES", "FIRST RESPONSES", "FIRST REPLY p50", "NR MET", "CLOSED", "HOURS"],
        s.agents
            .iter()
            .map(|a| {
                vec![
                    a.address.clone(),
                    a.responses.to_string(),
                    a.first_responses.to_string(),
                    duration(a.first_response_p50),
                    percent(a.next_response_met),
                    a.closed.to_string(),
                    format!("{:.1}", a.hours_logged),
                ]
            })
            .collect(),
    ));
    out.push('\n');
    out.push_str(&table(
        &["CUSTOMER DOMAIN", "TICKETS", "HOURS"],
        s.customers
            .iter()
            .map(|c| vec![c.domain.clone(), c.tickets.to_string(), format!("{:.1}", c.hours_logged)])
            .collect(),
    ));
    out
}

/// One CSV table: a `scope` column (department, agent, customer) and the union of the fields.
pub fn csv(s: &Stats) -> String {
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let share = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    let quote =
        |t: &str| if t.contains([',', '"', '\n']) { format!("\"{}\"", t.replace('"', "\"\"")) } else { t.to_string() };
    let mut out = String::from(
        "scope,name,created,closed,open,first_response_p50,first_response_p90,first_response_met,resolution_met,breaches,responses,first_responses,tickets,hours_logged,next_response_met\n",
    );
    for d in &s.departments {
        out.push_str(&format!(
            "department,{},{},{},{},{},{},{},{},{},,,,{:.2},{}\n",
            quote(&d.name),
            d.created,
            d.closed,
            d.open,
            opt(d.first_response_p50),
            opt(d.first_response_p90),
            share(d.first_response_met),
            share(d.resolution_met),
            d.breaches,
            d.hours_logged,
            share(d.next_response_met)
        ));
    }
    for a in &s.agents {
        out.push_str(&format!(
            "agent,{},,{},,{},,,,,{},{},,{:.2},{}\n",
            quote(&a.address),
            a.closed,
            opt(a.first_response_p50),
            a.responses,
            a.first_responses,
            a.hours_logged,
            share(a.next_response_met)
        ));
    }
    for c in &s.customers {
        out.push_str(&format!("customer,{},,,,,,,,,,,{},{:.2},\n", quote(&c.domain), c.tickets, c.hours_logged));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
[calendar.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-17:00"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "2h" }
resolution = { normal = "8h" }

[[department]]
name = "support"
sla = "standard"

[[department]]
name = "billing"
sla = "standard"
"#;

    fn at(local: &str) -> i64 {
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Europe::Budapest.from_local_datetime(&naive).unwrap().timestamp()
    }

    /// A desk with known tickets, responses, breaches and time entries; every expected figure
    /// below is worked out by hand in the comments.
    #[test]
    fn every_figure_matches_the_hand_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn();
        let rules = Rules::from_sources(&[("r.toml".into(), RULES.into())], "templates".into()).unwrap();
        let ticket =
            |dept: &str, who: &str, created: &str, status: &str, fr: Option<(&str, &str)>, closed: Option<&str>| {
                c.execute(
                    "INSERT INTO tickets (subject, department, requester, created_at, updated_at, status, \
                 first_response_at, first_response_by, closed_at) VALUES ('x', ?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
                    params![dept, who, at(created), status, fr.map(|f| at(f.0)), fr.map(|f| f.1), closed.map(at)],
                )
                .unwrap();
                c.last_insert_rowid()
            };
        let staff_message = |t: i64, by: &str, when: &str| {
            c.execute(
                "INSERT INTO messages (ticket_id, direction, kind, content_hash, from_addr, subject, received_at) \
                 VALUES (?1, 'in', 'staff', 'h', ?2, 'Re: x', ?3)",
                params![t, by, at(when)],
            )
            .unwrap();
        };
        let closed_by = |t: i64, by: &str, when: &str| {
            c.execute(
                "INSERT INTO events (ticket_id, at, kind, by, detail) VALUES (?1, ?2, 'status', ?3, 'open -> closed')",
                params![t, at(when), by],
            )
            .unwrap();
        };
        let time = |t: i64, by: &str, minutes: i64, when: &str| {
            crate::store::add_time(c, t, Some(by), minutes, at(when)).unwrap()
        };
        let breach =
            |t: i64, kind: &str, due: &str| crate::store::sla::set_breach(c, t, kind, 0, Some(at(due))).unwrap();

        // T1: answered after 1 working hour by alice, closed by alice; 90 minutes logged.
        let t1 = ticket(
            "support",
            "anna@customer.test",
            "2026-11-02 09:00",
            "closed",
            Some(("2026-11-02 10:00", "alice@example.test")),
            Some("2026-11-03 10:00"),
        );
        staff_message(t1, "alice@example.test", "2026-11-02 10:00");
        closed_by(t1, "alice@example.test", "2026-11-03 10:00");
        time(t1, "alice@example.test", 90, "2026-11-02 12:00");
        // T2: Monday 16:00, answered Tuesday 10:00 by bob: 1 h + 2 h = 3 working hours, both
        // targets missed; closed by bob; 60 minutes.
        let t2 = ticket(
            "support",
            "bela@customer.test",
            "2026-11-02 16:00",
            "closed",
            Some(("2026-11-03 10:00", "bob@example.test")),
            Some("2026-11-04 16:00"),
        );
        staff_message(t2, "bob@example.test", "2026-11-03 10:00");
        closed_by(t2, "bob@example.test", "2026-11-04 16:00");
        breach(t2, "first_response", "2026-11-03 09:00");
        breach(t2, "resolution", "2026-11-03 15:00");
        time(t2, "bob@example.test", 60, "2026-11-03 11:00");
        // T3: never answered, its first-response target missed at 11:00; still open.
        let t3 = ticket("support", "cili@customer.test", "2026-11-03 09:00", "new", None, None);
        breach(t3, "first_response", "2026-11-03 11:00");
        // T4: billing, answered after half an hour by alice; 30 minutes.
        let t4 = ticket(
            "billing",
            "boss@acme.test",
            "2026-11-05 09:00",
            "open",
            Some(("2026-11-05 09:30", "alice@example.test")),
            None,
        );
        staff_message(t4, "alice@example.test", "2026-11-05 09:30");
        time(t4, "alice@example.test", 30, "2026-11-05 10:00");
        // T5: before the period; nothing of it counts.
        let t5 = ticket(
            "support",
            "old@customer.test",
            "2026-10-01 09:00",
            "closed",
            Some(("2026-10-01 09:10", "bob@example.test")),
            Some("2026-10-01 12:00"),
        );
        time(t5, "bob@example.test", 120, "2026-10-01 10:00");
        // Next-response cycles (a customer's follow-up after a response, 2 h each here):
        let cycle = |t: i64, started: &str, due: &str, ended: &str, by: Option<&str>, dept: &str| {
            let n = crate::store::NextResponse {
                ticket: t,
                started_at: at(started),
                due_at: Some(at(due)),
                ended_at: at(ended),
                ended_by: by,
                department: dept,
            };
            crate::store::record_next_response(c, &n).unwrap();
        };
        let cycle_breach = |t: i64, started: &str, due: &str| {
            crate::store::sla::set_breach(c, t, "next_response", at(started), Some(at(due))).unwrap()
        };
        // T1: alice answered an hour before the due time: met.
        cycle(t1, "2026-11-02 11:00", "2026-11-02 13:00", "2026-11-02 12:00", Some("alice@example.test"), "support");
        // T2: bob answered an hour late: missed, and a breach.
        cycle(t2, "2026-11-03 11:00", "2026-11-03 13:00", "2026-11-03 14:00", Some("bob@example.test"), "support");
        cycle_breach(t2, "2026-11-03 11:00", "2026-11-03 13:00");
        // T2 again: closed in time without a response: met, for the department only.
        cycle(t2, "2026-11-04 09:00", "2026-11-04 11:00", "2026-11-04 10:00", None, "support");
        // T5: October, outside the period.
        cycle(t5, "2026-10-01 10:00", "2026-10-01 12:00", "2026-10-01 11:00", Some("bob@example.test"), "support");
        // T4 (billing): a follow-up still unanswered past its due time: decided, missed.
        c.execute("UPDATE tickets SET next_response_from = ?2 WHERE id = ?1", params![t4, at("2026-11-06 09:00")])
            .unwrap();
        cycle_breach(t4, "2026-11-06 09:00", "2026-11-06 11:00");
        // An auto-reply's ticket: in no figure.
        let auto = ticket("support", "mailer-daemon@customer.test", "2026-11-04 09:00", "new", None, None);
        c.execute("UPDATE tickets SET automatic = 1 WHERE id = ?1", [auto]).unwrap();
        breach(auto, "first_response", "2026-11-04 11:00");

        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let s = compute(c, &rules, from, to).unwrap();
        let support = s.departments.iter().find(|d| d.name == "support").unwrap();
        assert_eq!(
            support,
            &DepartmentStats {
                name: "support".into(),
                created: 3,
                closed: 2,
                open: 1,
                // [3600, 10800]: rank ceil(0.5·2) = 1 and ceil(0.9·2) = 2.
                first_response_p50: Some(3600),
                first_response_p90: Some(10800),
                // decided: T1 met, T2 and T3 missed.
                first_response_met: Some(1.0 / 3.0),
                // T1 met, T2's first cycle missed, its second met (closed in time).
                next_response_met: Some(2.0 / 3.0),
                // closed with a target: T1 met, T2 missed.
                resolution_met: Some(0.5),
                // T2 first response and resolution, T3 first response, T2 next response.
                breaches: 4,
                hours_logged: 2.5,
            }
        );
        let billing = s.departments.iter().find(|d| d.name == "billing").unwrap();
        assert_eq!(
            billing,
            &DepartmentStats {
                name: "billing".into(),
                created: 1,
                closed: 0,
                open: 1,
                first_response_p50: Some(1800),
                first_response_p90: Some(1800),
                first_response_met: Some(1.0),
                next_response_met: Some(0.0),
                resolution_met: None,
                breaches: 1,
                hours_logged: 0.5,
            }
        );
        assert_eq!(
            s.agents,
            vec![
                AgentStats {
                    address: "alice@example.test".into(),
                    responses: 2,
                    first_responses: 2,
                    first_response_p50: Some(1800),
                    next_response_met: Some(1.0),
                    closed: 1,
                    hours_logged: 2.0,
                },
                AgentStats {
                    address: "bob@example.test".into(),
                    responses: 1,
                    first_responses: 1,
                    first_response_p50: Some(10800),
                    next_response_met: Some(0.0),
                    closed: 1,
                    hours_logged: 1.0,
                },
            ]
        );
        assert_eq!(
            s.customers,
            vec![
                CustomerStats { domain: "acme.test".into(), tickets: 1, hours_logged: 0.5 },
                CustomerStats { domain: "customer.test".into(), tickets: 3, hours_logged: 2.5 },
            ]
        );
        // The machine formats carry the same figures.
        let csv = csv(&s);
        assert!(csv.contains("department,support,3,2,1,3600,10800,0.3333,0.5000,4,,,,2.50,0.6667"), "{csv}");
        assert!(csv.contains("agent,bob@example.test,,1,,10800,,,,,1,1,,1.00,0.0000"), "{csv}");
        assert!(human(&s).contains("33%"));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(nearest_rank(&v, 50), Some(50));
        assert_eq!(nearest_rank(&v, 90), Some(90));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
        assert_eq!(nearest_rank(&[], 50), None);
    }
}
