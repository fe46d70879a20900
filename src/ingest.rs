//! Ingest: runs one fetched message through the pipeline — parse, filter, thread, route — and
//! writes the outcome into the caller's transaction: the ticket, the message, its events, the
//! folder checkpoint, the server-side action owed for it, and any acknowledgement in the outbox.
//! Either all of it is stored or none of it, so a crash at any moment loses and duplicates
//! nothing: an uncommitted message is fetched again, a committed one is recognised.
//!
//! This module must never talk to the network: the IMAP side applies the owed action after
//! the commit, and the outbox delivers the mail.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::config::{Address, Config, MailboxConfig};
use crate::filter::{self, Class, FilterContext, Verdict};
use crate::outbox::compose::{self, AckFacts};
use crate::parse::{self, ParsedMessage};
use crate::route::{self, Route, RouteInput};
use crate::rules::Rules;
use crate::scan::ScanResult;
use crate::store::{self, NewMessage, NewTicket, Store, StoreError};
use crate::thread::{self, TagMatcher, ThreadIndex, ThreadInput, Threading};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot store attachment in {path}: {source}")]
    Attachment { path: String, source: std::io::Error },
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
    #[error("message {0} is not held in the quarantine")]
    NotHeld(i64),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Action(#[from] crate::actions::ActionError),
}

impl IngestError {
    /// The disk (or the database) is full: the message stays on the server and is tried again
    /// later, while the messages beside it are stored.
    pub fn is_disk_full(&self) -> bool {
        let io_full = |e: &std::io::Error| e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28);
        match self {
            IngestError::Attachment { source, .. } => io_full(source),
            IngestError::Store(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for IngestError {
    fn from(e: rusqlite::Error) -> Self {
        IngestError::Store(StoreError::Sqlite(e))
    }
}

/// Everything about the pipeline that does not change per message.
pub struct Pipeline<'a> {
    pub config: &'a Config,
    pub rules: &'a Rules,
    pub tags: &'a TagMatcher,
    pub own_addresses: &'a [Address],
    /// The live spam scanner, asked by the mailbox side before [`ingest`] (never by it).
    pub scanner: Option<&'a crate::scan::Scanner>,
}

/// Where a fetched message came from on the server.
#[derive(Clone, Debug)]
pub struct Origin<'a> {
    pub mailbox: &'a MailboxConfig,
    /// The mailbox the ticket belongs to (SPEC §4): the first configured mailbox whose address
    /// is in To, else in Cc, else the one that fetched it. Filled in by [`ingest`].
    pub owner: &'a MailboxConfig,
    pub folder: &'a str,
    pub from_sent_folder: bool,
    pub uidvalidity: u32,
    pub uid: u32,
    /// The server's receipt time (IMAP INTERNALDATE).
    pub received_at: DateTime<Utc>,
    /// Imported under `initial_sync = "all"`: stored, never acknowledged, notified or escalated.
    pub import_silently: bool,
    /// Only the header was fetched (larger than `max_message_size`).
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored before (same Message-ID or content); nothing new was written but the checkpoint.
    Duplicate,
    /// Held as spam: stored without a ticket, moved to the junk folder.
    Spam,
    Stored {
        ticket: i64,
        new_ticket: bool,
        acknowledged: bool,
        /// The acknowledgement was withheld because the sender looks like a mail loop.
        loop_suspected: bool,
        /// Automatic mail (never acknowledged).
        automatic: bool,
    },
    /// Stored without a ticket (own mail that belongs to none).
    Unfiled,
}

/// The action owed on the server once the message is committed.
pub fn after_action_for(outcome: &Outcome, mailbox: &MailboxConfig, from_sent_folder: bool) -> Option<String> {
    if from_sent_folder {
        // A Sent folder is the staff's record; ticketd only reads it.
        return None;
    }
    match outcome {
        Outcome::Spam => Some(format!("junk:{}", mailbox.junk_folder)),
        _ => match &mailbox.after {
            crate::config::AfterAction::Move(folder) => Some(format!("move:{folder}")),
            crate::config::AfterAction::Flag => Some("flag".into()),
            crate::config::AfterAction::None => None,
        },
    }
}

/// Threading lookups over a store connection, with the configuration that says who is known to
/// a ticket.
pub struct ThreadLookup<'c> {
    pub conn: &'c Connection,
    pub tickets: &'c crate::config::TicketsConfig,
}

impl ThreadIndex for ThreadLookup<'_> {
    fn ticket_state(&self, id: i64) -> Result<Option<(String, Option<i64>)>, StoreError> {
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

/// Detects the language of a text among those ticketd ships templates for. Restricting the
/// detector to them makes short texts far more reliable; a weak guess counts as unknown.
pub fn detect_language(text: &str) -> Option<&'static str> {
    use std::sync::OnceLock;
    use whatlang::{Detector, Lang};
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    let detector = DETECTOR.get_or_init(|| {
        Detector::with_allowlist(vec![Lang::Hun, Lang::Ces, Lang::Slk, Lang::Pol, Lang::Heb, Lang::Deu, Lang::Eng])
    });
    let info = detector.detect(prefix_chars(text, LANGUAGE_SAMPLE_CHARS))?;
    if !info.is_reliable() && info.confidence() < 0.3 {
        return None;
    }
    match info.lang() {
        Lang::Hun => Some("hu"),
        Lang::Ces | Lang::Slk => Some("cs"),
        Lang::Pol => Some("pl"),
        Lang::Heb => Some("he"),
        Lang::Deu => Some("de"),
        Lang::Eng => Some("en"),
        _ => None,
    }
}

/// A thousand characters tell the language as well as fifty thousand do, at a fiftieth of the cost.
const LANGUAGE_SAMPLE_CHARS: usize = 1000;

/// The first `n` characters of `text`, without copying.
fn prefix_chars(text: &str, n: usize) -> &str {
    text.char_indices().nth(n).map_or(text, |(end, _)| &text[..end])
}

/// What the pure stages decide about a message: its class, its route, its language and the
/// mailbox it belongs to. Shared by ingest and `rules test`, so the explanation is the truth.
pub struct Decision<'a> {
    pub verdict: Verdict,
    pub class: Class,
    pub routed: Route,
    pub language: Option<&'static str>,
    pub owner: &'a MailboxConfig,
}

/// Whether a message's Message-ID is one ticketd sent: the only proof that mail is its own.
pub fn sent_by_ticketd(conn: &Connection, message: &ParsedMessage) -> Result<bool, StoreError> {
    match message.message_id.as_deref() {
        Some(id) if id.starts_with(filter::OWN_MESSAGE_ID_PREFIX) => store::is_sent_message_id(conn, id),
        _ => Ok(false),
    }
}

pub fn decide<'a>(
    p: &Pipeline<'a>,
    message: &ParsedMessage,
    mailbox: &'a MailboxConfig,
    from_sent_folder: bool,
    scan: Option<&ScanResult>,
    sent_by_ticketd: bool,
) -> Decision<'a> {
    let verdict = filter::classify(
        message,
        &FilterContext {
            staff: &p.config.staff,
            spam: &p.config.spam,
            own_addresses: p.own_addresses,
            from_sent_folder,
            scan,
            sent_by_ticketd,
        },
    );
    let language = content_language(message).or_else(|| {
        detect_language(&format!("{}\n{}", message.subject, prefix_chars(&message.text, LANGUAGE_SAMPLE_CHARS)))
    });
    let owner = owner_mailbox(p.config, message, mailbox, from_sent_folder);
    let routed = route::route(
        p.rules,
        &RouteInput { message, mailbox: &owner.name, default_department: &owner.department, language },
    );
    let class = match verdict.class {
        Class::Customer if routed.spam => Class::Spam,
        // A web form sends from a no-reply address with the customer in Reply-To: the rule
        // that says so makes it customer mail again, if nothing else marked it automatic.
        Class::Automatic
            if routed.requester_from_reply_to
                && message.reply_to.is_some()
                && verdict.reasons.iter().all(|r| r.starts_with("no-reply sender")) =>
        {
            Class::Customer
        }
        other => other,
    };
    Decision { verdict, class, routed, language, owner }
}

/// Runs one message, parsed already (by the caller, off the async threads and under a time
/// limit), through the pipeline inside the caller's transaction: the message, its ticket, the
/// folder checkpoint, the owed server action and any acknowledgement are written there, so they
/// are committed together or not at all. `scan` is the live scanner's answer about `raw`, when
/// one is configured. The mailbox side commits a whole fetched batch at once: one commit per
/// message would rewrite the same index pages fifty times over.
pub fn ingest_in(
    tx: &Connection,
    p: &Pipeline<'_>,
    origin: &Origin<'_>,
    raw: &[u8],
    parsed: ParsedMessage,
    scan: Option<&ScanResult>,
    now: DateTime<Utc>,
) -> Result<Outcome, IngestError> {
    let mut message = parsed;
    if origin.truncated {
        message.flags.push("too_large".into());
    }
    if origin.truncated {
        message.text = format!(
            "(This message is larger than max_message_size ({} bytes); only its header was fetched. \
             The whole message stays on the server in {}/{}.)",
            origin.mailbox.max_message_size.0, origin.mailbox.name, origin.folder
        );
    }
    let own = sent_by_ticketd(tx, &message)?;
    let Decision { verdict, class, routed, language, owner } =
        decide(p, &message, origin.mailbox, origin.from_sent_folder, scan, own);
    // A bounce or other report about ticketd's own mail carries that mail's Message-ID in its
    // returned headers: thread it there, so the bounce lands on the ticket (RFC 3464).
    let bounced = if class == Class::Automatic { returned_own_ids(raw) } else { Vec::new() };
    for id in &bounced {
        if !message.references.contains(id) {
            message.references.push(id.clone());
        }
    }
    let origin = &Origin { owner, ..origin.clone() };
    let attachments = store_attachments(&p.config.database.data_dir, &message)?;

    let outcome = if store::message_seen(tx, &message.identity())?.is_some() {
        Outcome::Duplicate
    } else {
        let stored = Stored {
            message: &message,
            raw,
            attachments: &attachments,
            origin,
            verdict: &verdict,
            language,
            forwarded_by: None,
            no_ack: None,
        };
        match class {
            Class::Spam => {
                stored.insert(tx, None, "spam", now)?;
                Outcome::Spam
            }
            _ => file_message(tx, p, &stored, class, &routed, now)?,
        }
    };
    store::sync::advance(tx, &origin.mailbox.name, origin.folder, origin.uidvalidity, origin.uid)?;
    if let Some(action) = after_action_for(&outcome, origin.mailbox, origin.from_sent_folder) {
        store::sync::add_pending_action(
            tx,
            &origin.mailbox.name,
            origin.folder,
            origin.uidvalidity,
            origin.uid,
            &action,
        )?;
    }
    Ok(outcome)
}

struct Stored<'a> {
    message: &'a ParsedMessage,
    raw: &'a [u8],
    attachments: &'a [store::Attachment],
    origin: &'a Origin<'a>,
    verdict: &'a Verdict,
    language: Option<&'a str>,
    /// The staff member who forwarded this customer's mail to a shared mailbox (SPEC §7).
    forwarded_by: Option<&'a str>,
    /// Why the caller forbids an acknowledgement, beyond what the message itself tells.
    no_ack: Option<String>,
}

impl Stored<'_> {
    fn insert(
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
fn file_message(
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
            // A score in reply to the closing mail's survey: a rating, nothing else (SPEC §7).
            Class::Customer if rating_reply(&t, m).is_some() => {
                let (score, scale, comment) = rating_reply(&t, m).unwrap_or_default();
                let rating = store::Rating { score, scale: scale.clone(), comment, at: received, via: "reply".into() };
                store::record_rating(tx, ticket, &rating)?;
                store::add_event(tx, ticket, at, "rating", Some(sender), &format!("{score} ({scale})"))?;
                tracing::info!(ticket, score, scale, "rating by reply");
            }
            Class::Customer => {
                let next = if t.first_response_at.is_some() { "open" } else { "new" };
                if t.status == "waiting" || t.status == "closed" {
                    store::set_status(tx, ticket, next, at)?;
                    let what =
                        if t.status == "closed" { "reopened by the customer's reply" } else { "customer replied" };
                    store::add_event(tx, ticket, at, "status", None, &format!("{} -> {next}: {what}", t.status))?;
                    if t.status == "closed" {
                        store::add_event(tx, ticket, at, "reopened", Some(sender), "")?;
                    }
                }
                // Whose turn it is: staff's, whatever it was (SPEC §4, §7).
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
                    followup = Some(t.status == "closed");
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
                if t.status != "closed" && answers_latest {
                    store::set_awaiting(tx, ticket, Some("customer"))?;
                }
                if t.automatic {
                    store::clear_automatic(tx, ticket, received)?;
                }
                if t.status == "new" {
                    store::set_status(tx, ticket, "open", at)?;
                    store::add_event(tx, ticket, at, "status", Some(by), "new -> open: staff responded")?;
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
    // customer's mail, the ticket is the customer's (SPEC §7 "Forwarded mail").
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

/// Opens a ticket for a message that joins none: its requester, subject, department and
/// clocks; the acknowledgement, unless something forbids it; the department's notification.
#[allow(clippy::too_many_arguments)]
fn open_ticket(
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
            priority: routed.priority.as_str(),
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
        store::set_status(tx, ticket, "open", at)?;
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
            let languages = customer_languages(s.language, department);
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

/// The customer's mail a staff mail forwards: a message/rfc822 attachment, else a forwarded
/// block written inline as the common mail clients write it. Ok(None) when it forwards
/// nothing; Err(why) when it seems to forward something whose sender cannot be read.
pub fn forwarded_mail(m: &ParsedMessage) -> Result<Option<(ParsedMessage, &'static str)>, String> {
    if let Some(attached) = m.attachments.iter().find(|a| a.content_type == "message/rfc822") {
        let inner = parse::parse(&attached.content);
        return match &inner.from {
            Some(f) if !f.address.is_empty() => Ok(Some((inner, "attached"))),
            _ => Err("the attached message names no sender".into()),
        };
    }
    match parse::forward::find_inline(&m.text) {
        parse::forward::Found::None => Ok(None),
        parse::forward::Found::Unreadable { reason, .. } => Err(reason),
        parse::forward::Found::Forwarded(f) => {
            // No Message-ID of its own: an identity made from the forwarding mail's, so that a
            // second copy of the forward is recognised.
            let copy_hash = parse::sha256_hex(format!("forwarded\n{}", m.identity()).as_bytes());
            let new_text = parse::reply::new_part(&f.text);
            Ok(Some((
                ParsedMessage {
                    subject: f.subject,
                    from: Some(f.from),
                    to: f.to,
                    cc: f.cc,
                    content_type: "text/plain".into(),
                    content_hash: parse::sha256_hex(f.text.as_bytes()),
                    copy_hash,
                    new_text,
                    text: f.text,
                    // Inline forwards carry the original's attachments.
                    attachments: m.attachments.clone(),
                    ..Default::default()
                },
                f.style,
            )))
        }
    }
}

/// Opens a ticket for the customer whose mail a trusted staff member forwarded to a shared
/// mailbox: the forwarded mail is the customer's first message (routed, acknowledged when
/// `ack_forwarded`, notified and timed like mail they had sent us), the forwarding mail an
/// internal note on it, and an event `forwarded` names the forwarder.
fn file_forward(
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

/// The template languages for mail to a customer, in order (SPEC §7): the customer's, then the
/// department's; English is the last resort of the template lookup.
pub fn customer_languages<'a>(
    customer: Option<&'a str>,
    department: Option<&'a crate::rules::Department>,
) -> Vec<&'a str> {
    customer.into_iter().chain(department.map(|d| d.language.as_str())).collect()
}

/// A customer's reply to a closed ticket whose closing mail asked for a rating, when its first
/// line is a score in the survey's scale: (score, scale, comment).
fn rating_reply(t: &store::Ticket, m: &ParsedMessage) -> Option<(i64, String, String)> {
    if t.status != "closed" {
        return None;
    }
    let survey = crate::rules::Survey::parse(t.survey.as_deref()?)?;
    let (score, comment) = crate::ratings::from_reply(&m.new_text, survey)?;
    Some((score, survey.as_str().to_string(), comment))
}

/// The stored kind of a message of this class (SPEC §5).
fn message_kind(class: Class) -> &'static str {
    match class {
        Class::Own => "ack",
        Class::Automatic => "auto",
        Class::StaffResponse => "staff",
        Class::StaffNote => "note",
        _ => "customer",
    }
}

/// How threading should treat the sender of a message of this class.
pub fn thread_sender(class: Class, verdict: &Verdict) -> thread::Sender {
    match class {
        Class::Own | Class::StaffResponse | Class::StaffNote => thread::Sender::Trusted,
        Class::Automatic => thread::Sender::Automatic,
        _ if verdict.forged_staff || verdict.forged_sender.is_some() => thread::Sender::Unproven,
        _ => thread::Sender::Customer,
    }
}

/// A display name ticketd may repeat in its own mail (SPEC §4): short, and without anything
/// that reads as a link or a domain ("Dear CHEAP PILLS at pills.example" is an advert).
pub fn harmless_display_name(name: &str) -> bool {
    use std::sync::OnceLock;
    static LINKISH: OnceLock<regex::Regex> = OnceLock::new();
    let linkish = LINKISH.get_or_init(|| {
        // A domain (two labels, the last of letters), a link, an address, or digits joined by
        // dots (an IP address, a price).
        regex::Regex::new(r"(?i)(://|www\.|@|[\p{L}\p{N}-]\.[\p{L}]{2,}\b|\d[.,]\d)").expect("a valid pattern")
    });
    let name = name.trim();
    // Letters, digits, marks and plain punctuation only: no format characters (zero-width,
    // bidi overrides), no look-alike dots or symbols that could carry an advert.
    let plain = |c: char| {
        c.is_alphanumeric()
            || c == ' '
            || ".,'’-&()".contains(c)
            || matches!(c, '\u{300}'..='\u{36f}' | '\u{591}'..='\u{5c7}')
    };
    !name.is_empty() && name.chars().count() <= 64 && name.chars().all(plain) && !linkish.is_match(name)
}

/// Carries out the email commands at the start of a trusted staff mail (`#close`, `#assign bob`,
/// ...), each an event by the sender; what cannot be done is answered to the sender with the
/// reason.
fn apply_commands(
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
        tx.execute_batch("SAVEPOINT command")?;
        match crate::actions::apply_in(tx, p.config, p.rules, ticket, action, Some(by), now.timestamp()) {
            Ok(summary) => {
                tx.execute_batch("RELEASE command")?;
                done.push(summary);
            }
            Err(e) => {
                tx.execute_batch("ROLLBACK TO command; RELEASE command")?;
                invalid.push((line.clone(), e.to_string()));
            }
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
const BOUNCE_MEMORY_SECS: i64 = 24 * 3600;

/// A delivery status notification that reports a failure (RFC 3464), or a bounce in the old
/// free-text style from MAILER-DAEMON.
fn is_delivery_failure(m: &ParsedMessage) -> bool {
    let from = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    m.content_type == "multipart/report"
        || filter::is_automatic_sender(from) && !from.contains("noreply") && !from.contains("no-reply")
}

/// Message-IDs of ticketd's own mail quoted in a delivery report (the returned message or its
/// headers).
fn returned_own_ids(raw: &[u8]) -> Vec<String> {
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

/// A message whose processing failed [`crate::mailbox`]'s last try (panic, abort or time-out):
/// what can be read of its header by a simple, bounded scan that cannot fail, flagged, with an
/// explanation as its text. The caller stores the raw bytes beside it.
pub fn placeholder(raw: &[u8], reason: &str) -> ParsedMessage {
    // The header block lies in the first 64 KB of any message worth reading.
    let headers = parse::scan_headers(&raw[..raw.len().min(64 * 1024)]);
    let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let from = value("from").and_then(|v| {
        let inner = v.rsplit_once('<').map(|(_, r)| r.split('>').next().unwrap_or("")).unwrap_or(&v);
        let address = inner.trim().to_ascii_lowercase();
        (address.contains('@') && !address.contains(char::is_whitespace))
            .then_some(parse::Sender { name: None, address })
    });
    let subject = value("subject").map(|s| crate::outbox::compose::header_safe(&s)).unwrap_or_default();
    let message_id = value("message-id")
        .map(|v| v.trim().trim_matches(['<', '>']).to_string())
        .filter(|v| !v.is_empty() && v.len() < 500);
    let content_hash = parse::sha256_hex(raw);
    ParsedMessage {
        message_id,
        subject: format!("(could not be processed) {subject}").trim().to_string(),
        from,
        text: format!(
            "ticketd could not process this message ({reason}). It is stored whole, undecoded; \
             the original stays on the mail server too. Open it with a mail client to read it."
        ),
        headers,
        copy_hash: content_hash.clone(),
        content_hash,
        flags: vec!["unparsable".into(), format!("poison: {reason}")],
        ..Default::default()
    }
}

/// The last resort when even [`placeholder`] could not be stored: nothing read from the
/// message but its bytes.
pub fn bare_placeholder(raw: &[u8], reason: &str) -> ParsedMessage {
    let content_hash = parse::sha256_hex(raw);
    ParsedMessage {
        subject: "(could not be processed)".into(),
        text: format!(
            "ticketd could not process this message ({reason}), nor read its header. It is stored \
             whole, undecoded; the original stays on the mail server too."
        ),
        copy_hash: content_hash.clone(),
        content_hash,
        flags: vec!["unparsable".into(), format!("poison: {reason}")],
        ..Default::default()
    }
}

/// Why a new ticket's message must not be acknowledged, as far as the message itself tells
/// (age and rate limits are checked against the store by the caller).
pub fn ack_blocker(
    p: &Pipeline<'_>,
    class: Class,
    verdict: &Verdict,
    requester: &str,
    routed: &Route,
    m: &ParsedMessage,
) -> Option<String> {
    if class != Class::Customer {
        Some(format!("{} mail is never acknowledged", class.as_str()))
    } else if verdict.forged_staff || p.config.staff.is_staff(requester) {
        Some("sender is a staff address".to_string())
    } else if p.own_addresses.iter().any(|a| a.as_str() == requester) {
        Some(format!("{requester} is ticketd's own address"))
    } else if filter::is_automatic_sender(requester) {
        Some(format!("{requester} is an automatic sender"))
    } else if let Some(why) = &verdict.forged_sender {
        Some(format!("the sender is forged: {why}"))
    } else if let Some(asked) = filter::suppresses_auto_responses(m) {
        Some(format!("the sender asked for no automatic replies (X-Auto-Response-Suppress: {asked})"))
    } else if !routed.ack {
        Some("a rule said ack = false".to_string())
    } else if m.is_flagged("unparsable") {
        Some("the message could not be parsed".to_string())
    } else if requester.parse::<lettre::Address>().is_err() {
        Some(format!("no valid address to answer ({requester:?})"))
    } else {
        None
    }
}

/// A message released from the quarantine.
#[derive(Debug)]
pub struct Released {
    pub ticket: i64,
    pub mailbox: String,
    /// The Message-ID to find it by in the junk folder (None for a synthetic one).
    pub message_id: Option<String>,
}

/// Turns a held spam message into a ticket as if it had just arrived (SPEC §4): classified
/// again without the spam verdict, acknowledged, its clock starting `now`.
pub fn release(store: &mut Store, p: &Pipeline<'_>, held: i64, now: DateTime<Utc>) -> Result<Released, IngestError> {
    use rusqlite::OptionalExtension;
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The held message's bytes, mailbox and folder.
    type HeldRow = (Option<Vec<u8>>, Option<String>, Option<String>);
    let row: Option<HeldRow> = tx
        .prepare_cached(
            "SELECT raw, mailbox, folder FROM messages WHERE id = ?1 AND kind = 'spam' AND ticket_id IS NULL",
        )?
        .query_row([held], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((Some(raw), mailbox, folder)) = row else { return Err(IngestError::NotHeld(held)) };
    let mb = p
        .config
        .mailboxes
        .iter()
        .find(|m| Some(&m.name) == mailbox.as_ref())
        .or(p.config.mailboxes.first())
        .ok_or(IngestError::NotHeld(held))?;
    let folder = folder.unwrap_or_else(|| "INBOX".into());
    let message = parse::parse(&raw);
    let own = sent_by_ticketd(&tx, &message)?;
    let d = decide(p, &message, mb, false, None, own);
    let class = if d.class == Class::Spam { Class::Customer } else { d.class };
    let verdict = Verdict { class, reasons: Vec::new(), unscanned: None, ..d.verdict };
    let origin = Origin {
        mailbox: mb,
        owner: d.owner,
        folder: &folder,
        from_sent_folder: false,
        uidvalidity: 0,
        uid: 0,
        received_at: now,
        import_silently: false,
        truncated: false,
    };
    tx.prepare_cached("DELETE FROM message_refs WHERE message_id = ?1")?.execute([held])?;
    tx.prepare_cached("DELETE FROM attachments WHERE message_id = ?1")?.execute([held])?;
    tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?.execute([held])?;
    let attachments = store_attachments(&p.config.database.data_dir, &message)?;
    let stored = Stored {
        message: &message,
        raw: &raw,
        attachments: &attachments,
        origin: &origin,
        verdict: &verdict,
        language: d.language,
        forwarded_by: None,
        no_ack: None,
    };
    let mut routed = d.routed;
    routed.spam = false;
    let outcome = file_message(&tx, p, &stored, class, &routed, now)?;
    let Outcome::Stored { ticket, .. } = outcome else { return Err(IngestError::NotHeld(held)) };
    store::add_event(&tx, ticket, now.timestamp(), "released", None, "released from the quarantine")?;
    tx.commit()?;
    Ok(Released { ticket, mailbox: mb.name.clone(), message_id: message.message_id.clone() })
}

/// A ticket logged by hand (`tickets new`: a phone call).
pub struct ByHand<'a> {
    /// The customer: "Anna <anna@customer.test>" or a bare address.
    pub from: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub department: Option<&'a str>,
    pub priority: Option<crate::rules::Priority>,
    pub ack: bool,
    /// The staff member who logged it.
    pub by: Option<&'a str>,
}

/// Opens a ticket logged by hand as if the customer had mailed it at `now`: routed by the rules
/// (unless department or priority are given), acknowledged unless told not to, the department
/// notified, its SLA clocks started. The message is stored as written, as a customer message.
pub fn file_by_hand(
    store: &mut Store,
    p: &Pipeline<'_>,
    manual: &ByHand<'_>,
    now: DateTime<Utc>,
) -> Result<i64, IngestError> {
    let mailbox = p
        .config
        .mailboxes
        .iter()
        .find(|m| Some(m.department.as_str()) == manual.department)
        .or(p.config.mailboxes.first())
        .ok_or(IngestError::NotHeld(0))?;
    let unique = parse::sha256_hex(
        format!("{}{}{}", now.timestamp_nanos_opt().unwrap_or(0), manual.from, manual.subject).as_bytes(),
    );
    let raw = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <manual.{}@ticketd.invalid>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
         X-Ticketd-Logged-By: {}\r\n\r\n{}\r\n",
        compose::header_safe(manual.from),
        mailbox.address,
        compose::header_safe(manual.subject),
        now.to_rfc2822(),
        &unique[..24],
        manual.by.unwrap_or("shell"),
        manual.body.replace("\r\n", "\n").replace('\n', "\r\n"),
    );
    let message = parse::parse(raw.as_bytes());
    let d = decide(p, &message, mailbox, false, None, false);
    let mut routed = d.routed;
    if let Some(department) = manual.department {
        if p.rules.department(department).is_none() {
            return Err(IngestError::Action(crate::actions::ActionError::UnknownDepartment(department.into())));
        }
        routed.department = department.to_string();
    }
    if let Some(priority) = manual.priority {
        routed.priority = priority;
    }
    routed.ack &= manual.ack;
    routed.spam = false;
    let verdict = Verdict { class: Class::Customer, reasons: Vec::new(), unscanned: None, ..d.verdict };
    let origin = Origin {
        mailbox,
        owner: d.owner,
        folder: "(by hand)",
        from_sent_folder: false,
        uidvalidity: 0,
        uid: 0,
        received_at: now,
        import_silently: false,
        truncated: false,
    };
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored = Stored {
        message: &message,
        raw: raw.as_bytes(),
        attachments: &[],
        origin: &origin,
        verdict: &verdict,
        language: d.language,
        forwarded_by: None,
        no_ack: None,
    };
    let outcome = file_message(&tx, p, &stored, Class::Customer, &routed, now)?;
    let Outcome::Stored { ticket, .. } = outcome else { return Err(IngestError::NotHeld(0)) };
    store::add_event(&tx, ticket, now.timestamp(), "logged", manual.by, "logged by hand")?;
    tx.commit()?;
    Ok(ticket)
}

/// What a message of ticketd's own is, by the outbox row that sent it.
fn own_kind(tx: &Connection, m: &ParsedMessage) -> Result<String, StoreError> {
    let kind: Option<String> = match &m.message_id {
        Some(mid) => {
            use rusqlite::OptionalExtension;
            tx.prepare_cached("SELECT kind FROM outbox WHERE message_id = ?1")?
                .query_row([mid], |r| r.get(0))
                .optional()?
        }
        None => None,
    };
    Ok(kind.unwrap_or_else(|| "ack".into()))
}

pub fn requester_of(m: &ParsedMessage, class: Class, routed: &Route, p: &Pipeline<'_>) -> (String, Option<String>) {
    let from = m.from.clone();
    if routed.requester_from_reply_to {
        if let Some(r) = &m.reply_to {
            return (r.address.clone(), r.name.clone());
        }
    }
    if matches!(class, Class::StaffResponse | Class::StaffNote) {
        let outside =
            m.to.iter()
                .chain(&m.cc)
                .find(|a| !p.config.staff.is_staff(a) && !p.own_addresses.iter().any(|o| o.as_str() == a.as_str()));
        if let Some(a) = outside {
            return (a.clone(), None);
        }
    }
    match from {
        Some(f) => (f.address, f.name),
        None => (String::new(), None),
    }
}

/// The mailbox a message belongs to: the first configured mailbox whose address is in To,
/// else in Cc, else the one that fetched it — the same answer for every copy of a message.
fn owner_mailbox<'a>(
    config: &'a Config,
    m: &ParsedMessage,
    mailbox: &'a MailboxConfig,
    from_sent_folder: bool,
) -> &'a MailboxConfig {
    if from_sent_folder {
        return mailbox;
    }
    for list in [&m.to, &m.cc] {
        if let Some(found) = config.mailboxes.iter().find(|mb| list.iter().any(|a| a == mb.address.as_str())) {
            return found;
        }
    }
    mailbox
}

/// The language the sender declared (Content-Language), when it is one ticketd has templates
/// for.
fn content_language(m: &ParsedMessage) -> Option<&'static str> {
    let declared = m.header("content-language")?.split([',', '-', '_']).next()?.trim().to_ascii_lowercase();
    ["en", "hu", "cs", "pl", "he", "de"].into_iter().find(|l| *l == declared)
}

/// Sender of ticketd's mail for a ticket (SPEC §4): the department's, else the mailbox's
/// address, else `[smtp].from`.
pub fn sender_for(
    p: &Pipeline<'_>,
    department_from: Option<&crate::config::NamedAddress>,
    mailbox: &MailboxConfig,
) -> crate::config::NamedAddress {
    if let Some(f) = department_from {
        return f.clone();
    }
    crate::config::NamedAddress { name: p.config.smtp.from.name.clone(), address: mailbox.address.clone() }
}

fn all_recent_acks(tx: &Connection, now: i64) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE kind = 'ack' AND created_at > ?1")?
        .query_row([now - 3600], |r| r.get(0))?)
}

fn recent_acks(tx: &Connection, address: &str, now: i64) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE kind = 'ack' AND recipients = ?1 AND created_at > ?2")?
        .query_row(rusqlite::params![serde_json::to_string(&[address]).unwrap_or_default(), now - 3600], |r| {
            r.get(0)
        })?)
}

/// Writes attachments content-addressed under `data_dir/attachments`, once however often they
/// arrive. Written before the transaction: a crash leaves at worst an unreferenced file.
fn store_attachments(data_dir: &Path, m: &ParsedMessage) -> Result<Vec<store::Attachment>, IngestError> {
    let mut out = Vec::new();
    for a in &m.attachments {
        let sha = parse::sha256_hex(&a.content);
        let dir = data_dir.join("attachments").join(&sha[..2]);
        let path = dir.join(&sha);
        if !path.exists() {
            // Private (0640 files, 0750 folders) whatever the umask, owned like data_dir when a
            // shell command runs as root, fsync'd with its folder before the commit; a failed
            // write (a full disk) leaves no temporary file (SPEC §4 "Durability").
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

#[cfg(test)]
mod tests {
    #[test]
    fn display_names_are_repeated_only_when_harmless() {
        for ok in ["Anna Kovács", "Müller, Jörg", "אבי כהן", "Dr. J. Smith", "O'Brien"] {
            assert!(super::harmless_display_name(ok), "{ok}");
        }
        for bad in [
            "CHEAP PILLS at pills.example",
            "visit http://x",
            "www.win",
            "x@y.test",
            &"a".repeat(65),
            "bell\u{7}",
            "",
            "pills\u{200b}.example",
            "pills。com",
            "pills․com",
            "win at 192.0.2.1",
            "\u{202e}moc.sllip",
            "only $9.99",
        ] {
            assert!(!super::harmless_display_name(bad), "{bad}");
        }
    }

    #[test]
    fn detects_the_six_languages_on_short_texts() {
        let cases = [
            ("Nem működik a webshop. Jó napot! A webshop nem tölt be, kérem segítsenek.", "hu"),
            ("Rechnung fehlt. Guten Tag, die Rechnung für Oktober fehlt.", "de"),
            ("Dobrý den, nefunguje nám přihlášení do systému, prosím o pomoc.", "cs"),
            ("Dzień dobry, nie działa logowanie do systemu, proszę o pomoc.", "pl"),
            ("שלום, המערכת לא עובדת, אשמח לעזרה בהקדם.", "he"),
            ("Hello, the login page does not work since this morning, please help.", "en"),
        ];
        for (text, want) in cases {
            assert_eq!(super::detect_language(text), Some(want), "{text}");
        }
    }
}
