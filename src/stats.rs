//! Stats (docs/stats.md): the figures a manager runs the desk by — per department, agent and customer
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
//!
//! The promises of docs/conversation.md, per department and agent:
//! - a ticket's *closer* is the `by` of the status event that closed it (`... -> closed`, also
//!   `waiting -> closed: close_after`, whose closer is "ticketd", listed as an agent like any
//!   other); a ticket closed without such an event (a merge) counts for its department only;
//!   an agent's `closed` counts the closing events in the period, so a ticket closed, reopened and
//!   closed again counts for each closer;
//! - resolution_p50 / resolution_p90: of the tickets whose (last) closing fell in the period, the
//!   working time on the department's calendar from receipt to that closing, less the working
//!   time of the resolution clock's pauses (waiting on the customer, an earlier closing) in
//!   between; a pause still open at the closing (waiting, then closed by `close_after`) ends at
//!   the closing. Nearest-rank. Per agent: the tickets whose last closing was theirs;
//! - reopened: reopen events (a customer's reply to a closed ticket, `tickets reopen`) in the
//!   period; per agent: the closer of the closing just before the reopen, not who reopened it;
//! - eta_kept: of the tickets closed in the period that had an ETA, the share closed at or before
//!   it (the ETA as it stands); per agent: by the last closing's closer, as for resolution times;
//! - ratings: ratings given in the period (a later rating of a ticket replaces the earlier, so
//!   each ticket counts once, when it was last rated); per agent: the closer of the closing just
//!   before the rating. nps: % promoters (9–10) less % detractors (0–6) of the `nps` ratings,
//!   −100…100 to one decimal; csat: the mean `csat` score to two decimals; null without such
//!   ratings.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::domain::Status;
use crate::rules::Rules;
use crate::store::stats::PeriodTicket;
use crate::store::{self, StoreError};

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
    /// Working seconds from receipt to closing, pauses left out (tickets closed in the period).
    pub resolution_p50: Option<i64>,
    pub resolution_p90: Option<i64>,
    pub reopened: u64,
    /// Of the tickets closed in the period with an ETA, the share closed by it.
    pub eta_kept: Option<f64>,
    pub ratings: u64,
    pub nps: Option<f64>,
    pub csat: Option<f64>,
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
    pub resolution_p50: Option<i64>,
    pub resolution_p90: Option<i64>,
    /// Reopens of tickets this agent had closed last.
    pub reopened: u64,
    pub eta_kept: Option<f64>,
    /// Ratings of tickets this agent had closed last.
    pub ratings: u64,
    pub nps: Option<f64>,
    pub csat: Option<f64>,
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

/// Per department or agent, what its figures are made of.
#[derive(Default)]
struct Tally {
    first_response: Vec<i64>,
    resolution: Vec<i64>,
    /// (met, decided) first-response and resolution targets; (kept, with an ETA).
    first_met: (u64, u64),
    resolution_met: (u64, u64),
    eta: (u64, u64),
    nps: Vec<i64>,
    csat: Vec<i64>,
}

impl Tally {
    /// % promoters (9–10) less % detractors (0–6), to one decimal.
    fn nps(&self) -> Option<f64> {
        if self.nps.is_empty() {
            return None;
        }
        let promoters = self.nps.iter().filter(|s| **s >= 9).count() as f64;
        let detractors = self.nps.iter().filter(|s| **s <= 6).count() as f64;
        // + 0.0: never a negative zero.
        Some(((promoters - detractors) * 1000.0 / self.nps.len() as f64).round() / 10.0 + 0.0)
    }

    /// The mean score, to two decimals.
    fn csat(&self) -> Option<f64> {
        if self.csat.is_empty() {
            return None;
        }
        Some((self.csat.iter().sum::<i64>() as f64 * 100.0 / self.csat.len() as f64).round() / 100.0)
    }
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

    let tickets = store::stats::tickets_created_closed_or_answered(conn, wide_from, wide_to)?;
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
    // Working time from receipt to `closed`, less the resolution clock's pauses before it (a
    // pause still open at the closing ends there; the closing's own pause starts there).
    let resolution = |t: &PeriodTicket, closed: i64| -> Result<i64, StoreError> {
        let mut paused: Vec<(i64, i64)> = crate::store::sla::pauses(conn, t.id)?
            .into_iter()
            .map(|(paused, resumed)| (paused.max(t.created_at), resumed.unwrap_or(closed).min(closed)))
            .filter(|(a, b)| a < b)
            .collect();
        paused.sort_unstable();
        let mut total = working(&t.department, t.created_at, closed);
        let mut counted_until = t.created_at;
        for (a, b) in paused {
            let a = a.max(counted_until);
            if a < b {
                total -= working(&t.department, a, b);
                counted_until = b;
            }
        }
        Ok(total.max(0))
    };

    let mut departments: BTreeMap<String, (DepartmentStats, Tally)> = BTreeMap::new();
    let mut agents: BTreeMap<String, (AgentStats, Tally)> = BTreeMap::new();
    fn agent<'a>(agents: &'a mut BTreeMap<String, (AgentStats, Tally)>, by: &str) -> &'a mut (AgentStats, Tally) {
        let a = agents.entry(by.to_string()).or_default();
        a.0.address = by.to_string();
        a
    }
    fn department<'a>(
        departments: &'a mut BTreeMap<String, (DepartmentStats, Tally)>,
        name: &str,
    ) -> &'a mut (DepartmentStats, Tally) {
        let d = departments.entry(name.to_string()).or_default();
        d.0.name = name.to_string();
        d
    }
    // (met, decided) next-response cycles per department and per agent.
    let mut next_by_department: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut next_by_agent: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut customers: BTreeMap<String, CustomerStats> = BTreeMap::new();
    for d in &rules.departments {
        department(&mut departments, &d.name);
    }
    for t in &tickets {
        let entry = department(&mut departments, &t.department);
        let breaches = breaches_of(t.id)?;
        let breached = |kind: &str| breaches.iter().any(|(k, _)| k == kind);
        let policy = crate::sla::policy_for(rules, &t.department);
        if within(&t.department, t.created_at) {
            entry.0.created += 1;
            if t.status != Status::Closed {
                entry.0.open += 1;
            }
            let domain = t.requester.rsplit_once('@').map(|(_, d)| d).unwrap_or("").to_string();
            let c = customers.entry(domain.clone()).or_default();
            c.domain = domain;
            c.tickets += 1;
            if let Some(answered) = t.first_response_at {
                entry.1.first_response.push(working(&t.department, t.created_at, answered));
            }
            let has_target = policy.as_ref().is_some_and(|p| p.sla.first_response.any());
            if has_target && !t.silent && (t.first_response_at.is_some() || breached("first_response")) {
                entry.1.first_met.1 += 1;
                entry.1.first_met.0 += u64::from(!breached("first_response"));
            }
        }
        if let Some(closed) = t.closed_at.filter(|c| within(&t.department, *c)) {
            entry.0.closed += 1;
            let has_target = policy.as_ref().is_some_and(|p| p.sla.resolution.any());
            if has_target && !t.silent {
                entry.1.resolution_met.1 += 1;
                entry.1.resolution_met.0 += u64::from(!breached("resolution"));
            }
            let seconds = resolution(t, closed)?;
            let kept = t.eta.map(|eta| u64::from(closed <= eta));
            let count = |tally: &mut Tally| {
                tally.resolution.push(seconds);
                if let Some(kept) = kept {
                    tally.eta.0 += kept;
                    tally.eta.1 += 1;
                }
            };
            count(&mut entry.1);
            if let Some(by) = &t.closer {
                count(&mut agent(&mut agents, by).1);
            }
        }
        if let (Some(at), Some(by)) = (t.first_response_at, &t.first_response_by) {
            if within(&t.department, at) {
                let a = agent(&mut agents, by);
                a.0.first_responses += 1;
                a.1.first_response.push(working(&t.department, t.created_at, at));
            }
        }
    }

    // Breaches by the due time they missed.
    for b in store::stats::breaches_due_between(conn, wide_from, wide_to)? {
        if within(&b.department, b.due_at) {
            department(&mut departments, &b.department).0.breaches += 1;
        }
    }
    // Next-response cycles that ended in the period: in time when they ended by their due time.
    for n in store::stats::next_responses_ended(conn, wide_from, wide_to)? {
        if within(&n.department, n.ended_at) {
            let met = u64::from(n.ended_at <= n.due_at);
            let d = next_by_department.entry(n.department).or_default();
            d.0 += met;
            d.1 += 1;
            if let Some(by) = n.ended_by {
                let a = next_by_agent.entry(by).or_default();
                a.0 += met;
                a.1 += 1;
            }
        }
    }
    // Cycles still running whose due time passed in the period: decided, and missed.
    for b in store::stats::running_next_response_breaches(conn, wide_from, wide_to)? {
        if within(&b.department, b.due_at) {
            next_by_department.entry(b.department).or_default().1 += 1;
        }
    }
    // Responses by agent (staff messages received in the period).
    for r in store::stats::staff_responses(conn, wide_from, wide_to)? {
        if within(&r.department, r.at) {
            agent(&mut agents, &r.by).0.responses += 1;
        }
    }
    // Tickets closed by each agent (the status events that closed them).
    for c in store::status::closings(conn, wide_from, wide_to)? {
        if within(&c.department, c.at) {
            agent(&mut agents, &c.by).0.closed += 1;
        }
    }
    // Reopens, by the department and by whoever had closed the ticket just before.
    for r in store::stats::reopens(conn, wide_from, wide_to)? {
        if within(&r.department, r.at) {
            department(&mut departments, &r.department).0.reopened += 1;
            if let Some(by) = r.closer {
                agent(&mut agents, &by).0.reopened += 1;
            }
        }
    }
    // Ratings given in the period, by the department and by whoever had closed the ticket.
    for r in store::stats::ratings_given(conn, wide_from, wide_to)? {
        if !within(&r.department, r.at) {
            continue;
        }
        let count = |tally: &mut Tally| match r.scale.as_str() {
            "nps" => tally.nps.push(r.score),
            _ => tally.csat.push(r.score),
        };
        let d = department(&mut departments, &r.department);
        d.0.ratings += 1;
        count(&mut d.1);
        if let Some(by) = &r.closer {
            let a = agent(&mut agents, by);
            a.0.ratings += 1;
            count(&mut a.1);
        }
    }
    // Hours logged, by department, agent and customer domain.
    for e in store::stats::time_logged(conn, wide_from, wide_to)? {
        if !within(&e.department, e.at) {
            continue;
        }
        let hours = e.minutes as f64 / 60.0;
        department(&mut departments, &e.department).0.hours_logged += hours;
        if let Some(by) = e.agent {
            agent(&mut agents, &by).0.hours_logged += hours;
        }
        let domain = e.requester.rsplit_once('@').map(|(_, d)| d).unwrap_or("").to_string();
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
            .map(|(mut d, mut tally)| {
                d.next_response_met = next_by_department.get(&d.name).copied().and_then(share);
                tally.first_response.sort_unstable();
                d.first_response_p50 = nearest_rank(&tally.first_response, 50);
                d.first_response_p90 = nearest_rank(&tally.first_response, 90);
                d.first_response_met = share(tally.first_met);
                d.resolution_met = share(tally.resolution_met);
                d.hours_logged = round(d.hours_logged);
                tally.resolution.sort_unstable();
                d.resolution_p50 = nearest_rank(&tally.resolution, 50);
                d.resolution_p90 = nearest_rank(&tally.resolution, 90);
                d.eta_kept = share(tally.eta);
                d.nps = tally.nps();
                d.csat = tally.csat();
                d
            })
            .collect(),
        agents: agents
            .into_values()
            .map(|(mut a, mut tally)| {
                a.next_response_met = next_by_agent.get(&a.address).copied().and_then(share);
                tally.first_response.sort_unstable();
                a.first_response_p50 = nearest_rank(&tally.first_response, 50);
                a.hours_logged = round(a.hours_logged);
                tally.resolution.sort_unstable();
                a.resolution_p50 = nearest_rank(&tally.resolution, 50);
                a.resolution_p90 = nearest_rank(&tally.resolution, 90);
                a.eta_kept = share(tally.eta);
                a.nps = tally.nps();
                a.csat = tally.csat();
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

/// NPS, CSAT: `decimals` places, "-" for none.
fn score(value: Option<f64>, decimals: usize) -> String {
    match value {
        // No "-0" for a score that rounds to zero from below.
        Some(v) => format!("{:.decimals$}", if v.abs() < 0.5 / 10f64.powi(decimals as i32) { 0.0 } else { v }),
        None => "-".into(),
    }
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
            "RES p50",
            "p90",
            "REOPENED",
            "ETA KEPT",
            "RATINGS",
            "NPS",
            "CSAT",
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
                    duration(d.resolution_p50),
                    duration(d.resolution_p90),
                    d.reopened.to_string(),
                    percent(d.eta_kept),
                    d.ratings.to_string(),
                    score(d.nps, 0),
                    score(d.csat, 2),
                ]
            })
            .collect(),
    ));
    out.push('\n');
    out.push_str(&table(
        &[
            "AGENT",
            "RESPONSES",
            "FIRST RESPONSES",
            "FIRST REPLY p50",
            "NR MET",
            "CLOSED",
            "HOURS",
            "RES p50",
            "p90",
            "REOPENED",
            "ETA KEPT",
            "RATINGS",
            "NPS",
            "CSAT",
        ],
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
                    duration(a.resolution_p50),
                    duration(a.resolution_p90),
                    a.reopened.to_string(),
                    percent(a.eta_kept),
                    a.ratings.to_string(),
                    score(a.nps, 0),
                    score(a.csat, 2),
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
/// Columns are only ever added at the end, so that a position keeps its meaning.
pub fn csv(s: &Stats) -> String {
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let share = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    let number = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let quote =
        |t: &str| if t.contains([',', '"', '\n']) { format!("\"{}\"", t.replace('"', "\"\"")) } else { t.to_string() };
    let mut out = String::from(
        "scope,name,created,closed,open,first_response_p50,first_response_p90,first_response_met,resolution_met,breaches,responses,first_responses,tickets,hours_logged,next_response_met,\
         resolution_p50,resolution_p90,reopened,eta_kept,ratings,nps,csat\n",
    );
    for d in &s.departments {
        out.push_str(&format!(
            "department,{},{},{},{},{},{},{},{},{},,,,{:.2},{},{},{},{},{},{},{},{}\n",
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
            share(d.next_response_met),
            opt(d.resolution_p50),
            opt(d.resolution_p90),
            d.reopened,
            share(d.eta_kept),
            d.ratings,
            number(d.nps),
            number(d.csat)
        ));
    }
    for a in &s.agents {
        out.push_str(&format!(
            "agent,{},,{},,{},,,,,{},{},,{:.2},{},{},{},{},{},{},{},{}\n",
            quote(&a.address),
            a.closed,
            opt(a.first_response_p50),
            a.responses,
            a.first_responses,
            a.hours_logged,
            share(a.next_response_met),
            opt(a.resolution_p50),
            opt(a.resolution_p90),
            a.reopened,
            share(a.eta_kept),
            a.ratings,
            number(a.nps),
            number(a.csat)
        ));
    }
    for c in &s.customers {
        out.push_str(&format!("customer,{},,,,,,,,,,,{},{:.2},,,,,,,,\n", quote(&c.domain), c.tickets, c.hours_logged));
    }
    out
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

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
            crate::store::add_status_event(c, t, at(when), Some(by), Status::Open, Status::Closed, None).unwrap();
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
                // T1: Monday 09:00 to Tuesday 10:00 = 8 h + 2 h; T2: Monday 16:00 to Wednesday
                // 16:00 = 1 h + 9 h + 8 h; no pauses: [36000, 64800].
                resolution_p50: Some(36000),
                resolution_p90: Some(64800),
                reopened: 0,
                eta_kept: None,
                ratings: 0,
                nps: None,
                csat: None,
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
                ..Default::default()
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
                    // T1.
                    resolution_p50: Some(36000),
                    resolution_p90: Some(36000),
                    ..Default::default()
                },
                AgentStats {
                    address: "bob@example.test".into(),
                    responses: 1,
                    first_responses: 1,
                    first_response_p50: Some(10800),
                    next_response_met: Some(0.0),
                    closed: 1,
                    hours_logged: 1.0,
                    // T2.
                    resolution_p50: Some(64800),
                    resolution_p90: Some(64800),
                    ..Default::default()
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

    /// The promises of docs/conversation.md on a desk of its own: resolution times less the waits, reopens,
    /// ETAs, ratings. Office hours are Monday to Friday 08:00–17:00 (Budapest); 2026-11-09 is a
    /// Monday. Every expected figure is worked out by hand in the comments.
    #[test]
    fn promise_figures_match_the_hand_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn();
        let rules = Rules::from_sources(&[("r.toml".into(), RULES.into())], "templates".into()).unwrap();
        let ticket = |dept: &str, who: &str, created: &str| {
            c.execute(
                "INSERT INTO tickets (subject, department, requester, created_at, updated_at, status) \
                 VALUES ('x', ?1, ?2, ?3, ?3, 'open')",
                params![dept, who, at(created)],
            )
            .unwrap();
            c.last_insert_rowid()
        };
        let status = |t: i64, status: &str, when: &str| {
            crate::store::set_status(c, t, Status::parse(status).unwrap(), at(when)).unwrap()
        };
        let event = |t: i64, when: &str, kind: &str, by: Option<&str>, detail: &str| {
            crate::store::add_event(c, t, at(when), kind, by, detail).unwrap()
        };
        let status_event = |t: i64, when: &str, by: Option<&str>, from: &str, to: &str, why: Option<&str>| {
            let (from, to) = (Status::parse(from).unwrap(), Status::parse(to).unwrap());
            crate::store::add_status_event(c, t, at(when), by, from, to, why).unwrap()
        };
        // Closing as `tickets close` does it: the status, and an event naming the closer.
        let close = |t: i64, by: &str, when: &str| {
            status(t, "closed", when);
            status_event(t, when, Some(by), "open", "closed", None);
        };
        // The customer's reply to a closed ticket.
        let reopen = |t: i64, who: &str, when: &str| {
            status(t, "open", when);
            status_event(t, when, None, "closed", "open", Some("reopened by the customer's reply"));
            event(t, when, "reopened", Some(who), "");
        };
        let eta = |t: i64, when: &str| crate::store::set_eta(c, t, Some(at(when))).unwrap();
        let rate = |t: i64, score: i64, scale: &str, when: &str| {
            let rating = crate::store::Rating {
                score,
                scale: scale.into(),
                comment: String::new(),
                at: at(when),
                via: "reply".into(),
            };
            crate::store::record_rating(c, t, &rating).unwrap()
        };
        let (alice, bob) = ("alice@example.test", "bob@example.test");

        // P1 (support): Monday 09:00, waiting on the customer from 11:00 until their reply on
        // Tuesday 10:00, closed by alice Tuesday 12:00, three hours before its ETA (kept).
        // Receipt to closing: Monday 09–17 (8 h) + Tuesday 08–12 (4 h) = 12 h; the wait:
        // Monday 11–17 (6 h) + Tuesday 08–10 (2 h) = 8 h; resolution 4 h = 14400 s. The
        // closing's own pause starts at the closing: nothing. Rated NPS 10 on Wednesday (alice).
        let p1 = ticket("support", "anna@customer.test", "2026-11-09 09:00");
        status(p1, "waiting", "2026-11-09 11:00");
        status(p1, "open", "2026-11-10 10:00");
        eta(p1, "2026-11-10 15:00");
        close(p1, alice, "2026-11-10 12:00");
        rate(p1, 10, "nps", "2026-11-11 09:00");
        // P2 (support): Monday 10:00, closed by bob at 15:00, reopened by the customer Tuesday
        // 09:00 (a reopen of bob's closing), closed again by alice Wednesday 10:00 — after its
        // ETA of Tuesday 17:00 (missed). Receipt to the last closing: Monday 10–17 (7 h) +
        // Tuesday (9 h) + Wednesday 08–10 (2 h) = 18 h; closed Monday 15–17 (2 h) + Tuesday
        // 08–09 (1 h) = 3 h; resolution 15 h = 54000 s, alice's. NPS 6 Wednesday 12:00 (alice's).
        let p2 = ticket("support", "bela@customer.test", "2026-11-09 10:00");
        close(p2, bob, "2026-11-09 15:00");
        reopen(p2, "bela@customer.test", "2026-11-10 09:00");
        eta(p2, "2026-11-10 17:00");
        close(p2, alice, "2026-11-11 10:00");
        rate(p2, 6, "nps", "2026-11-11 12:00");
        // P3 (support): Tuesday 09:00, waiting from 10:00, closed by ticketd (close_after) on
        // Friday 10:00 while still waiting: the open pause ends at the closing. 28 h less
        // 27 h = 1 h = 3600 s, ticketd's. No ETA. NPS 0 on Friday (ticketd's).
        let p3 = ticket("support", "cili@customer.test", "2026-11-10 09:00");
        status(p3, "waiting", "2026-11-10 10:00");
        status(p3, "closed", "2026-11-13 10:00");
        status_event(p3, "2026-11-13 10:00", Some("ticketd"), "waiting", "closed", Some("close_after"));
        rate(p3, 0, "nps", "2026-11-13 12:00");
        // P4 (support): October, closed by bob and rated then (outside the period); the
        // customer reopens it on Monday 2026-11-09: a reopen in the period, of bob's closing.
        let p4 = ticket("support", "dora@customer.test", "2026-10-30 09:00");
        close(p4, bob, "2026-10-30 12:00");
        rate(p4, 9, "nps", "2026-10-30 13:00");
        reopen(p4, "dora@customer.test", "2026-11-09 09:00");
        // An automatic ticket closed, rated, reopened and closed again with an ETA: in no figure.
        let auto = ticket("support", "mailer-daemon@customer.test", "2026-11-09 09:00");
        c.execute("UPDATE tickets SET automatic = 1 WHERE id = ?1", [auto]).unwrap();
        eta(auto, "2026-11-09 10:00");
        close(auto, alice, "2026-11-09 12:00");
        rate(auto, 0, "nps", "2026-11-09 13:00");
        reopen(auto, "mailer-daemon@customer.test", "2026-11-09 14:00");
        close(auto, alice, "2026-11-09 15:00");

        // B1 (billing): Monday 09:00, closed by alice 11:30, exactly at its ETA (kept):
        // 2.5 h = 9000 s. CSAT 4 (alice's).
        let b1 = ticket("billing", "boss@acme.test", "2026-11-09 09:00");
        eta(b1, "2026-11-09 11:30");
        close(b1, alice, "2026-11-09 11:30");
        rate(b1, 4, "csat", "2026-11-09 12:00");
        // B2: Tuesday 09:00, closed by bob Thursday 09:00, after its ETA of Wednesday 17:00
        // (missed): 8 h + 9 h + 1 h = 18 h = 64800 s. CSAT 5 (bob's).
        let b2 = ticket("billing", "boss@acme.test", "2026-11-10 09:00");
        eta(b2, "2026-11-11 17:00");
        close(b2, bob, "2026-11-12 09:00");
        rate(b2, 5, "csat", "2026-11-12 10:00");
        // B3: Wednesday 09:00, closed by bob at 10:00, before its ETA of 12:00 (kept): 3600 s.
        // CSAT 2 (bob's).
        let b3 = ticket("billing", "boss@acme.test", "2026-11-11 09:00");
        eta(b3, "2026-11-11 12:00");
        close(b3, bob, "2026-11-11 10:00");
        rate(b3, 2, "csat", "2026-11-11 11:00");
        // B4: Thursday 09:00, closed by alice at 10:00, reopened by bob (`tickets reopen`) at
        // 11:00: a reopen of alice's closing, not bob's; open now, so in no resolution figure.
        let b4 = ticket("billing", "boss@acme.test", "2026-11-12 09:00");
        close(b4, alice, "2026-11-12 10:00");
        status(b4, "open", "2026-11-12 11:00");
        status_event(b4, "2026-11-12 11:00", Some(bob), "closed", "open", None);
        event(b4, "2026-11-12 11:00", "reopened", Some(bob), "");
        // B5: Thursday 09:00, closed by a merge at 11:00 (no closing event): 7200 s for the
        // department, nobody's.
        let b5 = ticket("billing", "boss@acme.test", "2026-11-12 09:00");
        status(b5, "closed", "2026-11-12 11:00");

        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let s = compute(c, &rules, from, to).unwrap();
        let support = s.departments.iter().find(|d| d.name == "support").unwrap();
        // Closed in the period: P1, P2, P3.
        assert_eq!(support.closed, 3);
        // [3600, 14400, 54000]: ranks ceil(0.5·3) = 2 and ceil(0.9·3) = 3.
        assert_eq!((support.resolution_p50, support.resolution_p90), (Some(14400), Some(54000)));
        // P2 on Tuesday, P4 on Monday.
        assert_eq!(support.reopened, 2);
        // With an ETA: P1 kept, P2 missed.
        assert_eq!(support.eta_kept, Some(0.5));
        // P1 10, P2 6, P3 0 (P4's was in October): 1 promoter, 2 detractors of 3 = −33.3.
        assert_eq!(support.ratings, 3);
        assert_eq!(support.nps, Some(-33.3));
        assert_eq!(support.csat, None);
        let billing = s.departments.iter().find(|d| d.name == "billing").unwrap();
        // Closed in the period: B1, B2, B3, B5 (B4 was reopened).
        assert_eq!(billing.closed, 4);
        // [3600, 7200, 9000, 64800]: ranks 2 and ceil(0.9·4) = 4.
        assert_eq!((billing.resolution_p50, billing.resolution_p90), (Some(7200), Some(64800)));
        assert_eq!(billing.reopened, 1);
        // B1 kept (at the ETA), B2 missed, B3 kept.
        assert_eq!(billing.eta_kept, Some(2.0 / 3.0));
        // (4 + 5 + 2) / 3 = 3.666… → 3.67.
        assert_eq!((billing.ratings, billing.nps, billing.csat), (3, None, Some(3.67)));
        assert_eq!(
            s.agents,
            vec![
                AgentStats {
                    address: alice.into(),
                    // Closings: P1, P2, B1, B4 (the automatic ticket's are left out).
                    closed: 4,
                    // Last closer of P1 (14400), P2 (54000), B1 (9000).
                    resolution_p50: Some(14400),
                    resolution_p90: Some(54000),
                    // B4, which alice had closed.
                    reopened: 1,
                    // P1 kept, P2 missed, B1 kept.
                    eta_kept: Some(2.0 / 3.0),
                    // P1 (10) and P2 (6): (1 − 1) / 2 = 0; B1: CSAT 4.
                    ratings: 3,
                    nps: Some(0.0),
                    csat: Some(4.0),
                    ..Default::default()
                },
                AgentStats {
                    address: bob.into(),
                    // Closings: P2 on Monday, B2, B3.
                    closed: 3,
                    // Last closer of B3 (3600) and B2 (64800): ranks 1 and 2.
                    resolution_p50: Some(3600),
                    resolution_p90: Some(64800),
                    // P2 and P4, both last closed by bob when reopened.
                    reopened: 2,
                    // B2 missed, B3 kept.
                    eta_kept: Some(0.5),
                    // B2 5, B3 2: 3.5.
                    ratings: 2,
                    nps: None,
                    csat: Some(3.5),
                    ..Default::default()
                },
                AgentStats {
                    address: "ticketd".into(),
                    closed: 1,
                    resolution_p50: Some(3600),
                    resolution_p90: Some(3600),
                    reopened: 0,
                    eta_kept: None,
                    // P3: one detractor of one.
                    ratings: 1,
                    nps: Some(-100.0),
                    csat: None,
                    ..Default::default()
                },
            ]
        );

        // CSV: the new columns at the end, the old ones where they were.
        let csv = csv(&s);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].ends_with(
                ",tickets,hours_logged,next_response_met,resolution_p50,resolution_p90,reopened,eta_kept,ratings,nps,csat"
            ),
            "{csv}"
        );
        assert!(lines.iter().all(|l| l.split(',').count() == 22), "{csv}");
        // support: created P1, P2, P3; all closed; resolution met 3 of 3; no breaches.
        assert!(
            lines.contains(&"department,support,3,3,0,,,,1.0000,0,,,,0.00,,14400,54000,2,0.5000,3,-33.3,"),
            "{csv}"
        );
        assert!(lines.contains(&"department,billing,5,4,1,,,,1.0000,0,,,,0.00,,7200,64800,1,0.6667,3,,3.67"), "{csv}");
        assert!(lines.contains(&"agent,alice@example.test,,4,,,,,,,0,0,,0.00,,14400,54000,1,0.6667,3,0,4"), "{csv}");
        assert!(lines.contains(&"agent,ticketd,,1,,,,,,,0,0,,0.00,,3600,3600,0,,1,-100,"), "{csv}");
        // The table for people: the last seven columns of a department's and an agent's row.
        let human = human(&s);
        let cells = |first: &str| -> Vec<String> {
            let line = human.lines().find(|l| l.starts_with(first)).unwrap_or_else(|| panic!("{human}"));
            let cells: Vec<String> =
                line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect();
            cells[cells.len() - 7..].to_vec()
        };
        assert_eq!(cells("support "), ["4 h", "15 h", "2", "50%", "3", "-33", "-"], "{human}");
        assert_eq!(cells("billing "), ["2 h", "18 h", "1", "67%", "3", "-", "3.67"], "{human}");
        assert_eq!(cells("alice@"), ["4 h", "15 h", "1", "67%", "3", "0", "4.00"], "{human}");
        assert!(human.lines().next().is_some_and(|l| l.contains("2026-11-01")));
        assert!(human.contains("RES p50") && human.contains("NPS") && human.contains("CSAT"), "{human}");
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
