//! Loop breaker: decides whether acknowledging a sender would feed a mail loop, from what the
//! store already holds. The hourly rate limit (`[acks] per_sender_per_hour`) bounds a loop; this
//! stops one.
//!
//! Two patterns count, both by one sender: answering ticketd's mail at machine speed with mail
//! that does not thread (an auto-responder without RFC 3834 headers), and opening ticket after
//! ticket under one subject. Volume never counts: ten thousand different customers after an
//! outage are all acknowledged. It must never hold or drop mail — it only withholds the
//! acknowledgement, and the caller says so in the log, the metrics and the ticket's events.

use rusqlite::Connection;

use crate::store::{addresses, StoreError};

/// A new ticket opened this soon after ticketd mailed the sender is a machine's answer.
pub const QUICK_ANSWER_SECS: i64 = 120;
/// That many machine-speed answers within [`QUICK_ANSWER_MEMORY_SECS`] make a loop.
pub const QUICK_ANSWERS_TO_TRIP: i64 = 3;
pub const QUICK_ANSWER_MEMORY_SECS: i64 = 24 * 3600;
/// That many tickets under one subject from one sender within the window make a loop.
pub const SAME_SUBJECT_TO_TRIP: i64 = 3;
pub const SAME_SUBJECT_WINDOW_SECS: i64 = 3600;

/// Why acknowledging `requester`'s new ticket (already inserted, received at `received`) would
/// feed a loop, if it would.
pub fn loop_suspected(
    conn: &Connection,
    requester: &str,
    subject: &str,
    received: i64,
) -> Result<Option<String>, StoreError> {
    let quick = addresses::quick_answers(conn, requester, received - QUICK_ANSWER_MEMORY_SECS, QUICK_ANSWER_SECS)?;
    if quick >= QUICK_ANSWERS_TO_TRIP {
        return Ok(Some(format!(
            "mail loop suspected: {requester} opened {quick} tickets within {QUICK_ANSWER_SECS}s of our mail to it in 24 hours"
        )));
    }
    let same = addresses::same_subject_tickets(conn, requester, subject, received - SAME_SUBJECT_WINDOW_SECS)?;
    if same >= SAME_SUBJECT_TO_TRIP {
        return Ok(Some(format!(
            "mail loop suspected: {requester} opened {same} tickets with the subject {subject:?} within an hour"
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{insert_ticket, outbox, NewTicket, Store};

    fn ticket(conn: &Connection, requester: &str, subject: &str, at: i64) -> i64 {
        insert_ticket(
            conn,
            &NewTicket {
                subject,
                department: "support",
                priority: crate::domain::Priority::Normal,
                requester,
                requester_name: None,
                assignee: None,
                mailbox: None,
                language: None,
                created_at: at,
                linked_to: None,
                silent: false,
                tags: &[],
                automatic: false,
                awaiting: Some("staff"),
            },
        )
        .unwrap()
    }

    fn ack_sent(conn: &Connection, ticket: i64, to: &str, at: i64) {
        let id = outbox::enqueue(
            conn,
            &outbox::NewOutgoing {
                ticket_id: Some(ticket),
                kind: "ack",
                message_id: &format!("ticketd.{ticket}@x"),
                mail_from: "support@example.test",
                recipients: &[to.to_string()],
                raw: b"x",
                created_at: at,
            },
        )
        .unwrap();
        outbox::mark_sent(conn, id, at).unwrap();
    }

    #[test]
    fn machine_speed_answers_trip_and_a_person_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn();
        let bot = "bot@customer.test";
        // The first mail, acknowledged a second later (its own ack never counts).
        let mut t = ticket(c, bot, "Question", 1000);
        ack_sent(c, t, bot, 1001);
        assert_eq!(loop_suspected(c, bot, "Question", 1000).unwrap(), None);
        // Two answers within seconds are tolerated; the third is a loop.
        for (n, at) in [1004, 1010].into_iter().enumerate() {
            t = ticket(c, bot, &format!("Thanks {n}"), at);
            assert_eq!(loop_suspected(c, bot, &format!("Thanks {n}"), at).unwrap(), None);
            ack_sent(c, t, bot, at + 1);
        }
        ticket(c, bot, "Thanks 3", 1014);
        let why = loop_suspected(c, bot, "Thanks 3", 1014).unwrap().expect("a loop");
        assert!(why.contains("3 tickets within 120s"), "{why}");
        // A day later it is forgotten.
        ticket(c, bot, "Thanks 4", 1014 + QUICK_ANSWER_MEMORY_SECS + 60);
        assert_eq!(loop_suspected(c, bot, "Thanks 4", 1014 + QUICK_ANSWER_MEMORY_SECS + 60).unwrap(), None);

        // A person who writes again ten minutes after each acknowledgement is no loop.
        let anna = "anna@customer.test";
        for n in 0..6 {
            let at = 10_000 + n * 600;
            let t = ticket(c, anna, &format!("Issue {n}"), at);
            assert_eq!(loop_suspected(c, anna, &format!("Issue {n}"), at).unwrap(), None, "mail {n}");
            ack_sent(c, t, anna, at + 1);
        }
    }

    #[test]
    fn one_subject_again_and_again_trips_and_volume_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let c = store.conn();
        let monitor = "alerts@customer.test";
        for n in 0..2 {
            ticket(c, monitor, "Disk full on db1", 5000 + n * 600);
            assert_eq!(loop_suspected(c, monitor, "Disk full on db1", 5000 + n * 600).unwrap(), None);
        }
        ticket(c, monitor, "Disk full on db1", 6300);
        assert!(loop_suspected(c, monitor, "Disk full on db1", 6300).unwrap().is_some());
        // An hour later, the window has moved on.
        ticket(c, monitor, "Disk full on db1", 6300 + 3700);
        assert_eq!(loop_suspected(c, monitor, "Disk full on db1", 6300 + 3700).unwrap(), None);
        // A thousand customers with one subject at once: no loop.
        for n in 0..1000 {
            let who = format!("customer{n}@c.test");
            ticket(c, &who, "Outage", 20_000);
            assert_eq!(loop_suspected(c, &who, "Outage", 20_000).unwrap(), None);
        }
    }
}
