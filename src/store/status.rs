//! Status events: the one writer of their detail text, and the one place that recognises a
//! closing in it. Every status change that is recorded goes through [`add_status_event`]; the
//! readers that ask who closed a ticket, and when, use `closing_event!` (or [`closings`]), so
//! the format and what reads it stay side by side. The status itself is set by
//! `super::set_status`; when a change is worth recording is the caller's decision.

use rusqlite::{params, Connection};

use super::StoreError;
use crate::domain::Status;

/// Records a status change of `ticket` from `from` to `to`, with why when there is a reason
/// worth showing. The detail reads "open -> closed", or "waiting -> closed: close_after" with a
/// reason; people and `closing_event!` read it, so it keeps that shape.
pub fn add_status_event(
    conn: &Connection,
    ticket: i64,
    at: i64,
    by: Option<&str>,
    from: Status,
    to: Status,
    why: Option<&str>,
) -> Result<(), StoreError> {
    let detail = match why {
        Some(why) => format!("{from} -> {to}: {why}"),
        None => format!("{from} -> {to}"),
    };
    super::add_event(conn, ticket, at, "status", by, &detail)
}

/// Changes a ticket's status from `from` to `to` and records the change as an event.
pub fn change_status(
    conn: &Connection,
    ticket: i64,
    at: i64,
    by: Option<&str>,
    from: Status,
    to: Status,
    why: Option<&str>,
) -> Result<(), StoreError> {
    super::set_status(conn, ticket, to, at)?;
    add_status_event(conn, ticket, at, by, from, to, why)
}

/// The status events that close a ticket, as an SQL condition on the events table aliased `$e`:
/// the detail [`add_status_event`] wrote ends in "-> closed" ("open -> closed" by a person), or
/// goes on with a reason ("waiting -> closed: close_after" by the scheduler).
macro_rules! closing_event {
    ($e:literal) => {
        concat!(
            "(",
            $e,
            ".kind = 'status' AND (",
            $e,
            ".detail LIKE '%-> closed' OR ",
            $e,
            ".detail LIKE '%-> closed:%'))"
        )
    };
}
pub(super) use closing_event;

/// Who closed ticket `ticket` last at or before `at`, in SQL (a scalar subquery); `ticket` and
/// `at` are SQL expressions of the outer query.
macro_rules! closer_before {
    ($ticket:literal, $at:literal) => {
        concat!(
            "(SELECT c.by FROM events c WHERE c.ticket_id = ",
            $ticket,
            " AND ",
            $crate::store::status::closing_event!("c"),
            " AND c.at <= ",
            $at,
            " ORDER BY c.at DESC, c.id DESC LIMIT 1)"
        )
    };
}
pub(super) use closer_before;

/// A closing by someone: the ticket's department, who closed it, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closing {
    pub department: String,
    pub by: String,
    pub at: i64,
}

/// The closings with an author in [from, to) of tickets not opened by automatic mail, one per
/// closing status event (a ticket closed, reopened and closed again counts twice).
pub fn closings(conn: &Connection, from: i64, to: i64) -> Result<Vec<Closing>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT t.department, e.by, e.at FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.automatic = 0 AND ",
        closing_event!("e"),
        " AND e.by IS NOT NULL AND e.at >= ?1 AND e.at < ?2",
    ))?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(Closing { department: r.get("department")?, by: r.get("by")?, at: r.get("at")? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{insert_ticket, NewTicket, Store};

    #[test]
    fn what_the_writer_writes_the_reader_recognises() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn();
        let ticket = insert_ticket(
            c,
            &NewTicket {
                subject: "x",
                department: "support",
                priority: crate::domain::Priority::Normal,
                requester: "anna@customer.test",
                requester_name: None,
                assignee: None,
                mailbox: None,
                language: None,
                created_at: 0,
                linked_to: None,
                silent: false,
                tags: &[],
                automatic: false,
                awaiting: Some("staff"),
            },
        )
        .unwrap();
        let bob = Some("bob@example.test");
        add_status_event(c, ticket, 10, bob, Status::New, Status::Open, Some("staff responded")).unwrap();
        add_status_event(c, ticket, 20, bob, Status::Open, Status::Closed, None).unwrap();
        add_status_event(c, ticket, 30, None, Status::Closed, Status::Open, Some("reopened by the customer's reply"))
            .unwrap();
        add_status_event(c, ticket, 40, bob, Status::Open, Status::Waiting, None).unwrap();
        add_status_event(c, ticket, 50, Some("ticketd"), Status::Waiting, Status::Closed, Some("close_after")).unwrap();
        // A closing without an author (none is written today) is no one's.
        add_status_event(c, ticket, 60, None, Status::Open, Status::Closed, None).unwrap();
        let details: Vec<String> = crate::store::events_of(c, ticket)
            .unwrap()
            .into_iter()
            .map(|e| format!("{}: {}", e.kind, e.detail))
            .collect();
        assert_eq!(
            details,
            [
                "status: new -> open: staff responded",
                "status: open -> closed",
                "status: closed -> open: reopened by the customer's reply",
                "status: open -> waiting",
                "status: waiting -> closed: close_after",
                "status: open -> closed",
            ]
        );
        let closings = closings(c, 0, 100).unwrap();
        let seen: Vec<(&str, i64)> = closings.iter().map(|c| (c.by.as_str(), c.at)).collect();
        assert_eq!(seen, [("bob@example.test", 20), ("ticketd", 50)]);
        assert!(closings.iter().all(|c| c.department == "support"));
        // The period is [from, to).
        assert_eq!(super::closings(c, 21, 50).unwrap(), []);
        let closer_at = |at: i64| -> Option<String> {
            c.query_row(concat!("SELECT ", closer_before!("?1", "?2")), params![ticket, at], |r| r.get(0)).unwrap()
        };
        assert_eq!(closer_at(19), None);
        assert_eq!(closer_at(45).as_deref(), Some("bob@example.test"));
        assert_eq!(closer_at(55).as_deref(), Some("ticketd"));
    }
}
