//! File: the ticket state changes one message causes, inside the caller's transaction —
//! joining a ticket (follow-ups, responses, ratings, bounces, email commands) or opening one
//! (for the sender, the forwarded customer, or by staff), with its events and SLA clocks.
//!
//! It must never talk to the network or decide what a message is (decide does); the
//! acknowledgement's rules are ack's.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::domain::Status;
use crate::filter::{self, Class, Verdict};
use crate::parse::{self, ParsedMessage};
use crate::route::Route;
use crate::store::{self, NewMessage, StoreError};
use crate::thread::{self, ThreadIndex, ThreadInput, Threading};

use super::*;

pub(super) struct Stored<'a> {
    pub(super) message: &'a ParsedMessage,
    pub(super) raw: &'a [u8],
    pub(super) attachments: &'a [store::Attachment],
    pub(super) origin: &'a Origin<'a>,
    pub(super) verdict: &'a Verdict,
    pub(super) language: Option<&'a str>,
    /// The staff member who forwarded this customer's mail to a shared mailbox (docs/conversation.md).
    pub(super) forwarded_by: Option<&'a str>,
    /// Why the caller forbids an acknowledgement, beyond what the message itself tells.
    pub(super) no_ack: Option<String>,
}

impl Stored<'_> {
    pub(super) fn insert(
        &self,
        conn: &Connection,
        ticket: Option<i64>,
        kind: &str,
        _now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let m = self.message;
        let mut flags = m.flags.clone();
        if self.verdict.forged_staff {
            flags.push("forged_staff".into());
        }
        if let Some(reason) = &self.verdict.unscanned {
            flags.push(format!("unscanned: {reason}"));
        }
        if self.verdict.class == Class::Spam || kind == "spam" {
            flags.push(format!("spam: {}", self.verdict.reasons.join("; ")));
            if let Some(score) = self.verdict.spam_score {
                flags.push(format!("spam_score: {score}"));
            }
        }
        // Spam keeps its bytes, so a release from the quarantine has the whole message.
        let keep_raw = m.is_flagged("unparsable") || kind == "spam";
        let references = m.referenced_ids();
        let identity = m.identity();
        store::insert_message(
            conn,
            &NewMessage {
                ticket_id: ticket,
                direction: if self.origin.from_sent_folder { "out" } else { "in" },
                kind,
                message_id: Some(&identity),
                content_hash: &m.content_hash,
                from_addr: m.from.as_ref().map(|f| f.address.as_str()),
                from_name: m.from.as_ref().and_then(|f| f.name.as_deref()),
                to: &m.to,
                cc: &m.cc,
                subject: &m.subject,
                date: m.date.map(|d| d.timestamp()),
                received_at: self.origin.received_at.timestamp(),
                in_reply_to: m.in_reply_to.first().map(String::as_str),
                references: &references,
                text: &m.text,
                new_text: &m.new_text,
                raw: keep_raw.then_some(self.raw),
                flags: &flags,
                mailbox: Some(&self.origin.mailbox.name),
                folder: Some(self.origin.folder),
                uid: Some(self.origin.uid),
                attachments: self.attachments,
            },
        )
    }
}

/// Files a non-spam message: joins or opens a ticket, updates its state, queues the
/// acknowledgement.
pub(super) fn file_message(
    tx: &Connection,
    p: &Pipeline<'_>,
    s: &Stored<'_>,
    class: Class,
    routed: &Route,
    now: DateTime<Utc>,
) -> Result<Outcome, IngestError> {
    let m = s.message;
    let received = s.origin.received_at.timestamp();
    let too_old = now.timestamp() - received > p.config.tickets.max_age.as_secs() as i64;
    // The company's MTA found the sender forged: its address proves nothing.
    let forged_sender = s.verdict.forged_sender.as_deref().filter(|_| class == Class::Customer);
    let threading = thread::thread(
        &ThreadInput {
            message: m,
            tags: p.tags,
            sender: thread_sender(class, s.verdict),
            now: now.timestamp(),
            reopen_window_secs: p.config.tickets.reopen_window.as_secs() as i64,
        },
        &ThreadLookup { conn: tx, tickets: &p.config.tickets },
    )?;
    let kind = message_kind(class);

    if let Threading::Join { ticket, how } = threading {
        let kind = if class == Class::Own { own_kind(tx, m)? } else { kind.to_string() };
        s.insert(tx, Some(ticket), &kind, now)?;
        if !s.verdict.forged_staff {
            store::touch_ticket(tx, ticket, received)?;
        }
        let t = store::get_ticket(tx, ticket)?.ok_or(StoreError::NoSuchTicket(ticket))?;
        let at = now.timestamp();
        let sender = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
        // Mail imported or too old to act on is stored, never told or timed.
        let live = !s.origin.import_silently && !too_old;
        // Some(reopened) when the customer's message is a follow-up staff must hear of.
        let mut followup = None;
        if class == Class::Customer && sender != t.requester {
            let who = if sender.is_empty() { "a sender without an address" } else { sender };
            store::add_event(tx, ticket, at, "joined", None, &format!("{who} joined by {how}"))?;
        }
        let rating = rating_reply(&t, m, received);
        match class {
            Class::Customer if s.verdict.forged_staff => {
                // Stored as evidence, flagged; it changes nothing on the ticket.
                let detail = format!("mail claiming to be from staff member {sender} without proof; no effect");
                store::add_event(tx, ticket, at, "forged_staff", None, &detail)?;
                tracing::warn!(ticket, sender, "forged staff mail stored; nothing done");
            }
            Class::Customer if forged_sender.is_some() => {
                let why = forged_sender.unwrap_or_default();
                store::add_event(tx, ticket, at, "forged_sender", None, &format!("{sender}: {why}; no effect"))?;
                tracing::warn!(ticket, sender, "mail from a forged sender stored; nothing done");
            }
            // A score in reply to the closing mail's survey: a rating, nothing else (docs/conversation.md).
            Class::Customer if rating.is_some() => {
                let rating = rating.unwrap_or_else(|| unreachable!("the guard saw a rating"));
                store::record_rating(tx, ticket, &rating)?;
                let detail = format!("{} ({})", rating.score, rating.scale);
                store::add_event(tx, ticket, at, "rating", Some(sender), &detail)?;
                tracing::info!(ticket, score = rating.score, scale = %rating.scale, "rating by reply");
            }
            Class::Customer => {
                let next = if t.first_response_at.is_some() { Status::Open } else { Status::New };
                if t.status == Status::Waiting || t.status == Status::Closed {
                    store::set_status(tx, ticket, next, at)?;
                    let what = if t.status == Status::Closed {
                        "reopened by the customer's reply"
                    } else {
                        "customer replied"
                    };
                    store::add_status_event(tx, ticket, at, None, t.status, next, Some(what))?;
                    if t.status == Status::Closed {
                        store::add_event(tx, ticket, at, "reopened", Some(sender), "")?;
                    }
                }
                // Whose turn it is: staff's, whatever it was (docs/message-handling.md, docs/conversation.md).
                store::set_awaiting(tx, ticket, Some("staff"))?;
                if t.automatic {
                    // A person wrote on what automatic mail opened: an ordinary ticket now.
                    store::clear_automatic(tx, ticket, received)?;
                    store::add_event(
                        tx,
                        ticket,
                        at,
                        "automatic",
                        None,
                        &format!("{sender} wrote: a ticket for people now"),
                    )?;
                }
                if live {
                    crate::sla::start_next_response(tx, &t, received)?;
                    followup = Some(t.status == Status::Closed);
                }
            }
            Class::StaffResponse => {
                let by = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
                if store::record_response(tx, ticket, received, by)? {
                    store::add_event(tx, ticket, at, "first_response", Some(by), "")?;
                }
                // A reply that the Sent folder gave up after a newer customer message (folders
                // are read one after the other) answers what came before it, not that message.
                let answers_latest =
                    store::last_customer_message_at(tx, ticket)?.is_none_or(|customer| customer <= received);
                if t.next_response_from.is_some_and(|from| from <= received) {
                    crate::sla::end_next_response(tx, p.rules, &t, received, Some(by))?;
                }
                // Whoever answers an unassigned ticket first takes it: follow-ups reach them.
                if t.assignee.is_none()
                    && p.config.staff.is_staff(by)
                    && !p.own_addresses.iter().any(|a| a.as_str() == by)
                {
                    store::set_assignee(tx, ticket, by, at)?;
                    store::add_event(tx, ticket, at, "assigned", Some(by), &format!("{by} (answered first)"))?;
                }
                if t.status != Status::Closed && answers_latest {
                    store::set_awaiting(tx, ticket, Some("customer"))?;
                }
                if t.automatic {
                    store::clear_automatic(tx, ticket, received)?;
                }
                if t.status == Status::New {
                    store::set_status(tx, ticket, Status::Open, at)?;
                    store::add_status_event(
                        tx,
                        ticket,
                        at,
                        Some(by),
                        Status::New,
                        Status::Open,
                        Some("staff responded"),
                    )?;
                }
            }
            // A bounce marks the requester only when it names mail ticketd sent to them.
            Class::Automatic if is_delivery_failure(m) && store::sent_to(tx, &m.references, &t.requester)? => {
                let detail = format!("{} bounced ({})", t.requester, m.subject);
                store::add_event(tx, ticket, now.timestamp(), "bounce", None, &detail)?;
                store::addresses::mark_bounced(tx, &t.requester, received, &m.subject)?;
                tracing::warn!(ticket, requester = %t.requester, "a mail to the requester bounced");
            }
            _ => {}
        }
        if matches!(class, Class::StaffResponse | Class::StaffNote) {
            apply_commands(tx, p, ticket, m, now)?;
        }
        crate::sla::refresh(tx, p.rules, ticket, at)?;
        if let Some(reopened) = followup {
            if !crate::notify::followup(tx, p.config, p.rules, ticket, reopened, now)? {
                let what = "the customer wrote again, but nobody could be told (no assignee, no notify list)";
                store::add_event(tx, ticket, at, "followup", None, what)?;
            }
        }
        tracing::debug!(ticket, how, "message joined ticket");
        return Ok(Outcome::Stored {
            ticket,
            new_ticket: false,
            acknowledged: false,
            loop_suspected: false,
            automatic: class == Class::Automatic,
        });
    }

    // Trusted staff mail to a shared mailbox alone, opening no ticket: when it forwards a
    // customer's mail, the ticket is the customer's (docs/conversation.md "Forwarded mail").
    let mut unreadable_forward = None;
    if class == Class::StaffNote && threading == Threading::New && !s.origin.from_sent_folder {
        match forwarded_mail(m) {
            Ok(Some((inner, style))) => return file_forward(tx, p, s, inner, style, now),
            Ok(None) => {}
            Err(why) => unreadable_forward = Some(why),
        }
    }

    // Own mail that belongs to no ticket (e.g. a Sent copy of mail ticketd no longer knows).
    if class == Class::Own {
        s.insert(tx, None, "ack", now)?;
        return Ok(Outcome::Unfiled);
    }
    open_ticket(tx, p, s, class, routed, threading, unreadable_forward, now)
}

/// A customer's reply to a closed ticket whose closing mail asked for a rating, when its first
/// line is a score in the survey's scale: the rating it gives.
pub(super) fn rating_reply(t: &store::Ticket, m: &ParsedMessage, received: i64) -> Option<store::Rating> {
    if t.status != Status::Closed {
        return None;
    }
    let survey = crate::rules::Survey::parse(t.survey.as_deref()?)?;
    let (score, comment) = crate::ratings::from_reply(&m.new_text, survey)?;
    Some(store::Rating { score, scale: survey.as_str().to_string(), comment, at: received, via: "reply".into() })
}

/// The stored kind of a message of this class (docs/json.md).
pub(super) fn message_kind(class: Class) -> &'static str {
    match class {
        Class::Own => "ack",
        Class::Automatic => "auto",
        Class::StaffResponse => "staff",
        Class::StaffNote => "note",
        _ => "customer",
    }
}

/// Carries out the email commands at the start of a trusted staff mail (`#close`, `#assign bob`,
/// ...), each an event by the sender; what cannot be done is answered to the sender with the
/// reason.
pub(super) fn apply_commands(
    tx: &Connection,
    p: &Pipeline<'_>,
    ticket: i64,
    m: &ParsedMessage,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    let commands = crate::commands::parse(&m.new_text);
    if commands.actions.is_empty() && commands.invalid.is_empty() {
        return Ok(());
    }
    let by = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    let mut invalid = commands.invalid;
    let mut done = Vec::new();
    for (action, line) in commands.actions.iter().zip(&commands.lines) {
        // Each command on its own: one that fails leaves the others standing.
        let applied = store::on_savepoint(tx, "command", || {
            crate::actions::apply_in(tx, p.config, p.rules, ticket, action, Some(by), now.timestamp())
        })?;
        match applied {
            Ok(summary) => done.push(summary),
            Err(e) => invalid.push((line.clone(), e.to_string())),
        }
    }
    tracing::info!(ticket, by, done = done.len(), refused = invalid.len(), "email commands");
    if !invalid.is_empty() && p.config.staff.is_staff(by) {
        if let Some(t) = store::get_ticket(tx, ticket)? {
            crate::notify::command_errors(tx, p.config, p.rules, &t, by, &invalid, &done, now)?;
        }
    }
    Ok(())
}

/// After a bounce, an address gets no acknowledgement for this long: a full mailbox or a dead
/// address would only bounce again.
pub(super) const BOUNCE_MEMORY_SECS: i64 = 24 * 3600;

/// A delivery status notification that reports a failure (RFC 3464), or a bounce in the old
/// free-text style from MAILER-DAEMON.
pub(super) fn is_delivery_failure(m: &ParsedMessage) -> bool {
    let from = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    m.content_type == "multipart/report"
        || filter::is_automatic_sender(from) && !from.contains("noreply") && !from.contains("no-reply")
}

/// Message-IDs of ticketd's own mail quoted in a delivery report (the returned message or its
/// headers).
pub(super) fn returned_own_ids(raw: &[u8]) -> Vec<String> {
    use std::sync::OnceLock;
    static OWN_ID: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let re = OWN_ID.get_or_init(|| {
        let pattern =
            format!(r"(?im)^message-id:\s*<({}[^>\s]{{1,200}})>", regex::escape(filter::OWN_MESSAGE_ID_PREFIX));
        regex::bytes::Regex::new(&pattern).expect("a valid pattern")
    });
    let mut ids: Vec<String> =
        re.captures_iter(raw).filter_map(|c| std::str::from_utf8(&c[1]).ok().map(str::to_string)).collect();
    ids.dedup();
    ids
}

/// What a message of ticketd's own is, by the outbox row that sent it.
pub(super) fn own_kind(tx: &Connection, m: &ParsedMessage) -> Result<String, StoreError> {
    let kind = match &m.message_id {
        Some(mid) => store::outbox::kind_of(tx, mid)?,
        None => None,
    };
    Ok(kind.unwrap_or_else(|| "ack".into()))
}

/// Writes attachments content-addressed under `data_dir/attachments`, once however often they
/// arrive. Written before the transaction: a crash leaves at worst an unreferenced file.
pub(super) fn store_attachments(data_dir: &Path, m: &ParsedMessage) -> Result<Vec<store::Attachment>, IngestError> {
    let mut out = Vec::new();
    for a in &m.attachments {
        let sha = parse::sha256_hex(&a.content);
        let dir = data_dir.join("attachments").join(&sha[..2]);
        let path = dir.join(&sha);
        if !path.exists() {
            // Private (0640 files, 0750 folders) whatever the umask, owned like data_dir when a
            // shell command runs as root, fsync'd with its folder before the commit; a failed
            // write (a full disk) leaves no temporary file (docs/message-handling.md "Durability").
            let err = |source| IngestError::Attachment { path: path.display().to_string(), source };
            crate::files::create_private_dir_all(&dir).map_err(err)?;
            crate::files::write_private_file_synced(&path, &a.content).map_err(err)?;
        }
        out.push(store::Attachment {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.content.len() as i64,
            sha256: sha,
        });
    }
    Ok(out)
}

/// Threading lookups over a store connection, with the configuration that says who is known to
/// a ticket.
pub struct ThreadLookup<'c> {
    pub conn: &'c Connection,
    pub tickets: &'c crate::config::TicketsConfig,
}

impl ThreadIndex for ThreadLookup<'_> {
    fn ticket_state(&self, id: i64) -> Result<Option<(Status, Option<i64>)>, StoreError> {
        Ok(store::get_ticket(self.conn, id)?.map(|t| (t.status, t.closed_at)))
    }
    fn by_message_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
        store::ticket_by_thread_ids(self.conn, ids)
    }
    fn referencing(&self, mid: &str) -> Result<Option<i64>, StoreError> {
        store::ticket_referencing(self.conn, mid)
    }
    fn sender_known(&self, ticket: i64, address: &str) -> Result<bool, StoreError> {
        // A shared domain proves something only at a company's own domain, never at a public
        // mail provider where anyone can have an address.
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let same_domain = self.tickets.join_same_domain && !domain.is_empty() && !self.tickets.is_public_domain(domain);
        store::address_known_to_ticket(self.conn, ticket, address, same_domain)
    }
    fn by_sent_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
        store::ticket_by_sent_ids(self.conn, ids)
    }
}
