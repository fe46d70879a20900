//! The reads behind `crate::stats` and `crate::digest`, and the record of the digests sent.
//! Rows, never figures: what counts in which period and zone, percentiles and shares are the
//! callers'. Tickets opened by automatic mail are left out of every read here except where
//! said. A closing is recognised by `super::status`, where status events are written.

use rusqlite::{params, Connection, OptionalExtension};

use super::status::{closer_before, closing_event};
use super::StoreError;

/// A ticket as the stats read it.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodTicket {
    pub id: i64,
    pub department: String,
    pub requester: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub status: crate::domain::Status,
    pub first_response_at: Option<i64>,
    pub first_response_by: Option<String>,
    pub silent: bool,
    pub eta: Option<i64>,
    /// Who closed it last: the `by` of the closing status event at `closed_at` (a merge writes
    /// none).
    pub closer: Option<String>,
}

/// The tickets created, closed or first answered in [from, to).
pub fn tickets_created_closed_or_answered(
    conn: &Connection,
    from: i64,
    to: i64,
) -> Result<Vec<PeriodTicket>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT id, department, requester, created_at, closed_at, status, first_response_at, first_response_by, \
         silent, eta, (SELECT c.by FROM events c WHERE c.ticket_id = tickets.id AND ",
        closing_event!("c"),
        " AND c.at = tickets.closed_at ORDER BY c.id DESC LIMIT 1) AS closer \
         FROM tickets WHERE automatic = 0 AND ((created_at >= ?1 AND created_at < ?2) \
         OR (closed_at >= ?1 AND closed_at < ?2) OR (first_response_at >= ?1 AND first_response_at < ?2))",
    ))?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(PeriodTicket {
            id: r.get("id")?,
            department: r.get("department")?,
            requester: r.get("requester")?,
            created_at: r.get("created_at")?,
            closed_at: r.get("closed_at")?,
            status: r.get("status")?,
            first_response_at: r.get("first_response_at")?,
            first_response_by: r.get("first_response_by")?,
            silent: r.get("silent")?,
            eta: r.get("eta")?,
            closer: r.get("closer")?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A missed due time, by the department of its ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentBreach {
    pub department: String,
    pub due_at: i64,
}

fn department_breach(r: &rusqlite::Row<'_>) -> rusqlite::Result<DepartmentBreach> {
    Ok(DepartmentBreach { department: r.get("department")?, due_at: r.get("due_at")? })
}

/// The breaches whose missed due time is in [from, to), of every clock.
pub fn breaches_due_between(conn: &Connection, from: i64, to: i64) -> Result<Vec<DepartmentBreach>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, b.due_at FROM breaches b JOIN tickets t ON t.id = b.ticket_id \
         WHERE t.automatic = 0 AND b.due_at >= ?1 AND b.due_at < ?2",
    )?;
    let rows = stmt.query_map(params![from, to], department_breach)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The breaches of next-response cycles still running (the breach is of the ticket's current
/// cycle) whose missed due time is in [from, to).
pub fn running_next_response_breaches(
    conn: &Connection,
    from: i64,
    to: i64,
) -> Result<Vec<DepartmentBreach>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, b.due_at FROM breaches b JOIN tickets t ON t.id = b.ticket_id \
         WHERE t.automatic = 0 AND b.kind = 'next_response' AND b.cycle = t.next_response_from \
         AND b.due_at >= ?1 AND b.due_at < ?2",
    )?;
    let rows = stmt.query_map(params![from, to], department_breach)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A next-response cycle that ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedCycle {
    pub department: String,
    /// Whose response ended it (None: a closing or a wait ended it).
    pub ended_by: Option<String>,
    pub ended_at: i64,
    pub due_at: i64,
}

/// The next-response cycles with a due time that ended in [from, to).
pub fn next_responses_ended(conn: &Connection, from: i64, to: i64) -> Result<Vec<EndedCycle>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT n.department, n.ended_by, n.ended_at, n.due_at FROM next_responses n \
         JOIN tickets t ON t.id = n.ticket_id \
         WHERE t.automatic = 0 AND n.due_at IS NOT NULL AND n.ended_at >= ?1 AND n.ended_at < ?2",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(EndedCycle {
            department: r.get("department")?,
            ended_by: r.get("ended_by")?,
            ended_at: r.get("ended_at")?,
            due_at: r.get("due_at")?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A staff message on a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffResponse {
    pub department: String,
    pub by: String,
    pub at: i64,
}

/// The staff messages with a sender received in [from, to).
pub fn staff_responses(conn: &Connection, from: i64, to: i64) -> Result<Vec<StaffResponse>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, m.from_addr, m.received_at FROM messages m JOIN tickets t ON t.id = m.ticket_id \
         WHERE t.automatic = 0 AND m.kind = 'staff' AND m.received_at >= ?1 AND m.received_at < ?2 \
         AND m.from_addr IS NOT NULL",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(StaffResponse { department: r.get("department")?, by: r.get("from_addr")?, at: r.get("received_at")? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A reopen, with whoever had closed the ticket just before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reopen {
    pub department: String,
    pub at: i64,
    pub closer: Option<String>,
}

/// The reopen events in [from, to).
pub fn reopens(conn: &Connection, from: i64, to: i64) -> Result<Vec<Reopen>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT t.department, e.at, ",
        closer_before!("e.ticket_id", "e.at"),
        " AS closer FROM events e JOIN tickets t ON t.id = e.ticket_id \
         WHERE t.automatic = 0 AND e.kind = 'reopened' AND e.at >= ?1 AND e.at < ?2",
    ))?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(Reopen { department: r.get("department")?, at: r.get("at")?, closer: r.get("closer")? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A rating as it stands, with whoever had closed the ticket just before it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenRating {
    pub department: String,
    pub score: i64,
    /// "nps" or "csat".
    pub scale: String,
    pub at: i64,
    pub closer: Option<String>,
}

/// The ratings given in [from, to) (a ticket keeps only its latest).
pub fn ratings_given(conn: &Connection, from: i64, to: i64) -> Result<Vec<GivenRating>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT t.department, r.score, r.scale, r.at, ",
        closer_before!("r.ticket_id", "r.at"),
        " AS closer FROM ratings r JOIN tickets t ON t.id = r.ticket_id \
         WHERE t.automatic = 0 AND r.at >= ?1 AND r.at < ?2",
    ))?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(GivenRating {
            department: r.get("department")?,
            score: r.get("score")?,
            scale: r.get("scale")?,
            at: r.get("at")?,
            closer: r.get("closer")?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Time logged on a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedTime {
    pub department: String,
    pub agent: Option<String>,
    /// The ticket's requester.
    pub requester: String,
    pub minutes: i64,
    pub at: i64,
}

/// The time entries logged in [from, to).
pub fn time_logged(conn: &Connection, from: i64, to: i64) -> Result<Vec<LoggedTime>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.department, e.agent, t.requester, e.minutes, e.at FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
         WHERE t.automatic = 0 AND e.at >= ?1 AND e.at < ?2",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(LoggedTime {
            department: r.get("department")?,
            agent: r.get("agent")?,
            requester: r.get("requester")?,
            minutes: r.get("minutes")?,
            at: r.get("at")?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// The digest's reads.

/// Tickets not closed, per department (in name order): (department, count).
pub fn open_by_department(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT department, COUNT(*) AS tickets FROM tickets WHERE status != 'closed' AND automatic = 0 \
         GROUP BY department ORDER BY department",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get("department")?, r.get("tickets")?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Tickets not closed, per assignee ("(unassigned)" for none), the most first: (agent, count).
pub fn open_by_agent(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(assignee, '(unassigned)') AS agent, COUNT(*) AS tickets FROM tickets WHERE status != 'closed' \
         AND automatic = 0 GROUP BY 1 ORDER BY 2 DESC, 1",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get("agent")?, r.get("tickets")?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A ticket nobody has responded to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unanswered {
    pub id: i64,
    pub subject: String,
    pub requester: String,
    pub created_at: i64,
}

/// Up to `limit` tickets not closed and never responded to (not imported silently), oldest
/// first.
pub fn unanswered_oldest(conn: &Connection, limit: usize) -> Result<Vec<Unanswered>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, subject, requester, created_at FROM tickets WHERE status != 'closed' AND first_response_at IS NULL \
         AND silent = 0 AND automatic = 0 ORDER BY created_at, id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(Unanswered {
            id: r.get("id")?,
            subject: r.get("subject")?,
            requester: r.get("requester")?,
            created_at: r.get("created_at")?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A missed due time of a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissedDue {
    pub ticket: i64,
    /// The clock: "first_response", "next_response" or "resolution".
    pub kind: String,
    pub due_at: i64,
}

/// The breaches whose missed due time is in (after, until], in that order; automatic tickets
/// included.
pub fn breaches_missed_between(conn: &Connection, after: i64, until: i64) -> Result<Vec<MissedDue>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ticket_id, kind, due_at FROM breaches WHERE due_at > ?1 AND due_at <= ?2 ORDER BY due_at, ticket_id",
    )?;
    let rows = stmt.query_map(params![after, until], |r| {
        Ok(MissedDue { ticket: r.get("ticket_id")?, kind: r.get("kind")?, due_at: r.get("due_at")? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A ticket whose customer waits for staff.
#[derive(Debug, Default, PartialEq)]
pub struct Awaiting {
    pub ticket: i64,
    pub subject: String,
    pub department: String,
    pub assignee: Option<String>,
    /// Since when the customer has waited.
    pub since: i64,
}

/// Up to `limit` tickets new or open that await staff (not imported silently), the customer
/// waiting longest first: since the running next-response clock's start, else since receipt.
pub fn awaiting_staff_longest(conn: &Connection, limit: usize) -> Result<Vec<Awaiting>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, subject, department, assignee, COALESCE(next_response_from, created_at) AS since FROM tickets \
         WHERE status IN ('new', 'open') AND awaiting = 'staff' AND automatic = 0 AND silent = 0 \
         ORDER BY since, id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(Awaiting {
            ticket: r.get("id")?,
            subject: r.get("subject")?,
            department: r.get("department")?,
            assignee: r.get("assignee")?,
            since: r.get("since")?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The latest digest slot sent (Unix seconds), if any.
pub fn last_digest_slot(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MAX(slot) AS slot FROM digests")?
        .query_row([], |r| r.get::<_, Option<i64>>("slot"))
        .optional()?
        .flatten())
}

/// Records the digest of `slot` as sent at `sent_at`.
pub fn record_digest(conn: &Connection, slot: i64, sent_at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO digests (slot, sent_at) VALUES (?1, ?2)")?.execute(params![slot, sent_at])?;
    Ok(())
}
