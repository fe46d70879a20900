//! Open: a ticket for a message that joins none — for its sender, for the customer whose mail
//! staff forwarded, or by staff writing first — with its requester, subject, department, clocks,
//! acknowledgement (as ack allows) and the department's notification, in the caller's
//! transaction.

use super::*;
use crate::domain::Status;
use crate::filter::{Class, Verdict};
use crate::outbox::compose::{self, AckFacts};
use crate::parse::{self, ParsedMessage};
use crate::route::Route;
use crate::store::{self, NewTicket};
use crate::thread::Threading;
use chrono::{DateTime, Utc};
use rusqlite::Connection;

/// Opens a ticket for a message that joins none: its requester, subject, department and
/// clocks; the acknowledgement, unless something forbids it; the department's notification.
#[allow(clippy::too_many_arguments)]
pub(super) fn open_ticket(
    tx: &Connection,
    p: &Pipeline<'_>,
    s: &Stored<'_>,
    class: Class,
    routed: &Route,
    threading: Threading,
    unreadable_forward: Option<String>,
    now: DateTime<Utc>,
) -> Result<Outcome, IngestError> {
    let m = s.message;
    let received = s.origin.received_at.timestamp();
    let too_old = now.timestamp() - received > p.config.tickets.max_age.as_secs() as i64;
    let linked_to = match threading {
        Threading::NewLinked { ticket, .. } => Some(ticket),
        _ => None,
    };
    let (requester, requester_name) = requester_of(m, class, routed, p);
    let silent = s.origin.import_silently || too_old;
    let subject = p.rules.subject_prefixes.strip(&p.tags.strip(&m.subject)).to_string();
    let subject = if subject.is_empty() { "(no subject)".to_string() } else { subject };
    let department = p.rules.department(&routed.department);
    let ticket = store::insert_ticket(
        tx,
        &NewTicket {
            subject: &subject,
            department: &routed.department,
            priority: routed.priority,
            requester: &requester,
            requester_name: requester_name.as_deref(),
            assignee: routed.assignee.as_deref(),
            mailbox: Some(&s.origin.owner.name),
            language: s.language,
            created_at: received,
            linked_to,
            silent,
            tags: &routed.tags,
            automatic: class == Class::Automatic,
            // Whose turn it is: nobody's on what automatic mail opened, the customer's when
            // staff wrote first to them, else staff's.
            awaiting: match class {
                Class::Automatic => None,
                Class::StaffResponse => Some("customer"),
                _ => Some("staff"),
            },
        },
    )?;
    s.insert(tx, Some(ticket), message_kind(class), now)?;
    let at = now.timestamp();
    let how = match (&threading, class) {
        _ if s.forwarded_by.is_some() => {
            format!("mail from {requester} forwarded to {} by {}", s.origin.owner.address, s.forwarded_by.unwrap_or(""))
        }
        (Threading::NewLinked { why, ticket: old }, _) => format!("linked to ticket {old}: {why}"),
        (_, Class::StaffResponse | Class::StaffNote) => "opened by staff mail".to_string(),
        (_, Class::Automatic) => format!("automatic mail: {}", s.verdict.reasons.join("; ")),
        _ => format!("mail to {}", s.origin.owner.address),
    };
    store::add_event(tx, ticket, at, "created", None, &how)?;
    if let Some(why) = &unreadable_forward {
        let detail = format!(
            "this looks like a forwarded mail, but {why}: the ticket is the forwarder's; \
             #requester ADDR (or `ticketd tickets requester`) names the customer"
        );
        store::add_event(tx, ticket, at, "forward_unreadable", None, &detail)?;
    }
    if let Some(reason) = &s.verdict.unscanned {
        store::add_event(tx, ticket, at, "unscanned", None, reason)?;
    }
    for r in &routed.rules {
        store::add_event(tx, ticket, at, "rule", None, &r.name)?;
    }
    if class == Class::StaffResponse {
        let by = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
        store::record_response(tx, ticket, received, by)?;
        store::set_status(tx, ticket, Status::Open, at)?;
        if routed.assignee.is_none() && p.config.staff.is_staff(by) {
            // Staff writing first to a customer own what they started.
            store::set_assignee(tx, ticket, by, at)?;
        }
    }
    let (clocks, _) = crate::sla::refresh(tx, p.rules, ticket, at)?;

    // The acknowledgement.
    let mut loop_suspected = false;
    let suppressed = match ack_blocker(p, class, s.verdict, &requester, routed, m) {
        Some(reason) => Some(reason),
        None if s.no_ack.is_some() => s.no_ack.clone(),
        None if s.origin.import_silently => Some("imported by initial_sync = \"all\"".to_string()),
        None if too_old => Some(format!("received more than {} ago", p.config.tickets.max_age)),
        None if recent_acks(tx, &requester, at)? >= i64::from(p.config.acks.per_sender_per_hour) => Some(format!(
            "already {} acknowledgements to {requester} in the last hour",
            p.config.acks.per_sender_per_hour
        )),
        None if p.config.acks.per_hour > 0 && all_recent_acks(tx, at)? >= i64::from(p.config.acks.per_hour) => {
            let cap = p.config.acks.per_hour;
            crate::metrics::global().acks_capped.inc();
            crate::alerts::raise_in(
                tx,
                p.config,
                "acks-per-hour",
                &format!("acknowledgements suppressed: more than {cap} in an hour"),
                &format!(
                    "ticketd has sent {cap} acknowledgements within the last hour ([acks] per_hour = {cap}); \
                     new tickets are stored, but not acknowledged until the rate falls. A flood of new \
                     senders is often a spam run or a mail loop: look at `ticketd tickets list`."
                ),
                now,
                3600,
            )?;
            Some(format!("more than {cap} acknowledgements in the last hour ([acks] per_hour)"))
        }
        None => match store::addresses::last_bounce(tx, &requester)? {
            Some((bounced, detail)) if received - bounced < BOUNCE_MEMORY_SECS => {
                Some(format!("mail to {requester} bounced within the last day ({detail})"))
            }
            _ if !p.config.acks.loop_breaker => None,
            _ => {
                let suspected = crate::loops::loop_suspected(tx, &requester, &subject, received)?;
                if let Some(why) = &suspected {
                    loop_suspected = true;
                    tracing::warn!(ticket, requester = %requester, "{why}; not acknowledging");
                }
                suspected
            }
        },
    };
    let acknowledged = match suppressed {
        Some(reason) => {
            if class == Class::Customer {
                store::add_event(tx, ticket, at, "ack_suppressed", None, &reason)?;
            }
            false
        }
        None => {
            let from = sender_for(p, department.and_then(|d| d.from.as_ref()), s.origin.owner);
            let languages = crate::rules::customer_languages(s.language, department);
            let tag = format!("[{}#{ticket}]", p.config.tickets.tag_prefix);
            let composed = compose::acknowledgement(
                &p.rules.templates_dir,
                &AckFacts {
                    ticket_id: ticket,
                    tag: &tag,
                    subject: &subject,
                    customer_name: requester_name.as_deref().filter(|n| harmless_display_name(n)),
                    customer_address: &requester,
                    department: &routed.department,
                    languages: &languages,
                    from: &from,
                    in_reply_to: m.message_id.as_deref(),
                    references: &m.references,
                    now,
                    resolve_by: clocks
                        .resolution_due
                        .and_then(|due| DateTime::from_timestamp(due, 0))
                        .map(|due| (due, p.rules.department_zone(&routed.department))),
                    reply_by: clocks
                        .first_response_due
                        .and_then(|due| DateTime::from_timestamp(due, 0))
                        .map(|due| (due, p.rules.department_zone(&routed.department))),
                },
            )?;
            crate::outbox::queue::queue(
                tx,
                ticket,
                "ack",
                &from.address,
                std::slice::from_ref(&requester),
                &composed,
                at,
            )?;
            true
        }
    };
    // The department hears of every new customer ticket; an assignee set by a rule, of theirs.
    if class == Class::Customer && !silent {
        crate::notify::new_ticket(tx, p.config, p.rules, ticket, now)?;
        if routed.assignee.is_some() {
            crate::notify::assigned(tx, p.config, p.rules, ticket, None, now)?;
        }
    }
    Ok(Outcome::Stored { ticket, new_ticket: true, acknowledged, loop_suspected, automatic: class == Class::Automatic })
}

/// Opens a ticket for the customer whose mail a trusted staff member forwarded to a shared
/// mailbox: the forwarded mail is the customer's first message (routed, acknowledged when
/// `ack_forwarded`, notified and timed like mail they had sent us), the forwarding mail an
/// internal note on it, and an event `forwarded` names the forwarder.
pub(super) fn file_forward(
    tx: &Connection,
    p: &Pipeline<'_>,
    outer: &Stored<'_>,
    mut inner: ParsedMessage,
    style: &'static str,
    now: DateTime<Utc>,
) -> Result<Outcome, IngestError> {
    let forwarder = outer.message.from.as_ref().map(|f| f.address.clone()).unwrap_or_default();
    let customer = inner.from.as_ref().map(|f| f.address.clone()).unwrap_or_default();
    let at = now.timestamp();
    // The customer's mail may have reached us already (they wrote to us too): the forward is
    // a note on that ticket.
    if store::message_seen(tx, &inner.identity())?.is_some() {
        if let Some(ticket) = store::ticket_by_thread_ids(tx, &[inner.identity()])? {
            outer.insert(tx, Some(ticket), "note", now)?;
            let detail = format!("{forwarder} forwarded mail from {customer} that is on this ticket already");
            store::add_event(tx, ticket, at, "forwarded", Some(&forwarder), &detail)?;
            return Ok(Outcome::Stored {
                ticket,
                new_ticket: false,
                acknowledged: false,
                loop_suspected: false,
                automatic: false,
            });
        }
        // Stored without a ticket (held as spam, say): this copy gets an identity of its own.
        inner.message_id = None;
        inner.copy_hash = parse::sha256_hex(format!("forwarded\n{}", outer.message.identity()).as_bytes());
    }
    let d = decide(p, &inner, outer.origin.mailbox, false, None, false);
    // The forwarder vouches for the mail: it is the customer's, whatever a filter would say of
    // a message without its transport headers; what the company's MTA found forged stays so.
    let verdict = Verdict {
        class: Class::Customer,
        reasons: Vec::new(),
        spam_score: None,
        forged_staff: false,
        unscanned: None,
        forged_sender: d.verdict.forged_sender.clone(),
    };
    let mut routed = d.routed;
    routed.spam = false;
    // Staff forward spam and automatic mail too (to report a phishing mail, to pass on a
    // supplier's notice): the ticket opens, but such a sender gets nothing from us.
    let no_ack = match d.class {
        Class::Spam => Some(format!("the forwarded mail looks like spam ({})", d.verdict.reasons.join("; "))),
        Class::Automatic => Some(format!("the forwarded mail is automatic ({})", d.verdict.reasons.join("; "))),
        _ if !p.config.tickets.ack_forwarded => Some("a forwarded mail, and [tickets] ack_forwarded = false".into()),
        _ => None,
    };
    let attachments = store_attachments(&p.config.database.data_dir, &inner)?;
    let inner_raw = outer.raw;
    let stored = Stored {
        message: &inner,
        raw: inner_raw,
        attachments: &attachments,
        origin: outer.origin,
        verdict: &verdict,
        language: d.language,
        forwarded_by: Some(&forwarder),
        no_ack,
    };
    let outcome = open_ticket(tx, p, &stored, Class::Customer, &routed, Threading::New, None, now)?;
    if let Outcome::Stored { ticket, .. } = outcome {
        outer.insert(tx, Some(ticket), "note", now)?;
        let detail = format!("mail from {customer} forwarded by {forwarder} ({style})");
        store::add_event(tx, ticket, at, "forwarded", Some(&forwarder), &detail)?;
        tracing::info!(ticket, forwarder, customer, style, "forwarded mail opened a ticket for the customer");
    }
    Ok(outcome)
}
