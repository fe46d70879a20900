//! Tries: storing fetched messages so that one message can never stop a folder — each try
//! counted durably before it begins, decoding on the blocking pool under a time limit with
//! panics caught, a failed group retried one message at a time, a message that failed alone
//! [`MAX_TRIES`] times stored as a flagged placeholder, one the disk has no room for left on
//! the server and retried later.
//!
//! It must never talk to the IMAP server: folder fetches before and applies the owed actions
//! after; this only stores.

use std::collections::HashMap;

use super::folder::{Body, FolderReport, Meta, Place};
use super::MailboxError;
use crate::clock::Clock;
use crate::pipeline::{self, Origin, Outcome, Pipeline};
use crate::store::{self, Store};

/// Tries per message before it is stored as a placeholder (docs/message-handling.md): a panic, an abort or a
/// time-out, each counted durably before the try.
pub(super) const MAX_TRIES: i64 = 3;
/// How long decoding one message may take before it counts as a failed try (a group gets up to
/// three times as long). Decoding is bounded by design (nesting, text and HTML caps); this is
/// the backstop.
pub(super) const PARSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// Decoding threads abandoned after [`PARSE_TIMEOUT`] in this process's life (they may still
/// be running), and how many are tolerated before the process exits to be restarted.
pub(super) static STUCK_DECODERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub(super) const MAX_STUCK_DECODERS: usize = 2;

/// Stores a fetched batch in one transaction: each message is still all-or-nothing with its
/// checkpoint and owed action, and a crash before the commit fetches the batch again. One
/// commit per message would rewrite the same index pages fifty times over.
#[allow(clippy::too_many_arguments)]
pub(super) fn store_batch(
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
    place: &Place<'_>,
    batch: &[(Meta, bool)],
    bodies: &HashMap<u32, (Body, bool)>,
    decoded: &mut dyn FnMut(u32) -> Decoded,
    scans: &HashMap<u32, crate::scan::ScanResult>,
    report: &mut FolderReport,
) -> Result<Option<Undecoded>, MailboxError> {
    let Place { cfg, folder, from_sent_folder, uidvalidity } = *place;
    let tx = store
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(store::StoreError::from)?;
    for (meta, silent) in batch {
        store::sync::clear_attempt(&tx, &cfg.name, folder, uidvalidity, meta.uid)?;
        let Some((raw, truncated)) = bodies.get(&meta.uid) else {
            // Expunged by someone else between the two fetches: nothing to store.
            store::sync::advance(&tx, &cfg.name, folder, uidvalidity, meta.uid)?;
            continue;
        };
        let message = match decoded(meta.uid) {
            Decoded::Message(message) => *message,
            // Nothing of the batch is kept: the transaction is dropped, rolled back.
            Decoded::Failed(failure) => return Ok(Some(failure)),
        };
        let (raw, truncated) = (&raw[..], *truncated);
        let origin = Origin {
            mailbox: cfg,
            owner: cfg,
            folder,
            from_sent_folder,
            uidvalidity,
            uid: meta.uid,
            received_at: meta.internal_date,
            import_silently: *silent,
            truncated,
        };
        let poison = message.flags.iter().any(|f| f.starts_with("poison: "));
        // Each message on its own savepoint: one that does not fit on the disk is left on the
        // server for a later pass, and the others are stored.
        let ingested = store::on_savepoint(&tx, "message", || {
            pipeline::ingest_in(&tx, pipeline, &origin, raw, message, scans.get(&meta.uid), clock.now())
        })?;
        let outcome = match ingested {
            Ok(outcome) => {
                store::sync::clear_deferred(&tx, &cfg.name, folder, uidvalidity, meta.uid)?;
                outcome
            }
            Err(e) if e.is_disk_full() => {
                tracing::error!(
                    mailbox = %cfg.name, folder, uid = meta.uid, error = %e,
                    "no space left to store this message; it stays on the server and is tried again"
                );
                let label = crate::metrics::OutcomeLabel { mailbox: cfg.name.clone(), outcome: "disk_full".into() };
                crate::metrics::global().messages.get_or_create(&label).inc();
                let reason = e.to_string();
                let deferral = store::sync::Deferral {
                    uid: meta.uid,
                    reason: &reason,
                    since: clock.now().timestamp(),
                    received_at: meta.internal_date.timestamp(),
                };
                store::sync::defer(&tx, &cfg.name, folder, uidvalidity, &deferral)?;
                store::sync::advance(&tx, &cfg.name, folder, uidvalidity, meta.uid)?;
                report.deferred += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        report.fetched += 1;
        if poison {
            let label = crate::metrics::OutcomeLabel { mailbox: cfg.name.clone(), outcome: "placeholder".into() };
            crate::metrics::global().poison.get_or_create(&label).inc();
            let subject = format!("a message in {}/{} could not be processed", cfg.name, folder);
            let body = format!(
                "Processing message UID {} (UIDVALIDITY {uidvalidity}) of {}/{} failed {MAX_TRIES} times. It is \
                 stored whole as a flagged placeholder ({:?}) and the folder moved on; the original stays on \
                 the server.",
                meta.uid, cfg.name, folder, outcome
            );
            crate::alerts::raise_in(
                &tx,
                pipeline.config,
                &format!("poison-{}", cfg.name),
                &subject,
                &body,
                clock.now(),
                3600,
            )?;
        }
        match outcome {
            Outcome::Duplicate => report.duplicates += 1,
            Outcome::Spam => report.spam += 1,
            Outcome::Stored { automatic: true, new_ticket, .. } => {
                report.automatic += 1;
                report.new_tickets += usize::from(new_ticket);
                report.joined += usize::from(!new_ticket);
            }
            Outcome::Stored { new_ticket: true, acknowledged, ticket, loop_suspected, .. } => {
                report.new_tickets += 1;
                report.acknowledged += usize::from(acknowledged);
                report.loops += usize::from(loop_suspected);
                tracing::info!(mailbox = %cfg.name, folder, uid = meta.uid, ticket, acknowledged, "new ticket");
            }
            Outcome::Stored { .. } => report.joined += 1,
            Outcome::Unfiled => {}
        }
    }
    tx.commit().map_err(store::StoreError::from)?;
    Ok(None)
}

/// [`store_batch`] off the async threads with its panic caught. The report keeps the counts
/// only of a batch that was committed.
#[allow(clippy::too_many_arguments)]
pub(super) fn store_caught(
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
    place: &Place<'_>,
    batch: &[(Meta, bool)],
    bodies: &HashMap<u32, (Body, bool)>,
    decoded: &mut dyn FnMut(u32) -> Decoded,
    scans: &HashMap<u32, crate::scan::ScanResult>,
    report: &mut FolderReport,
) -> std::thread::Result<Result<Option<Undecoded>, MailboxError>> {
    let before = *report;
    let stored = off_the_runtime(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store_batch(store, pipeline, clock, place, batch, bodies, decoded, scans, report)
        }))
    });
    if !matches!(stored, Ok(Ok(None))) {
        *report = before;
    }
    stored
}

/// What decoding gave for a message the batch asked for.
pub(super) enum Decoded {
    Message(Box<crate::parse::ParsedMessage>),
    Failed(Undecoded),
}

/// A message whose decoding failed, and how.
pub(super) struct Undecoded {
    uid: u32,
    why: String,
    /// The decoder is stuck on it (time-out): its thread runs on, abandoned.
    stuck: bool,
}

/// Runs blocking work (SQLite, fsync) without holding up the async threads that serve IMAP,
/// `/healthz` and the watchdog.
pub(super) fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// What one try of a group of messages came to.
pub(super) enum Tried {
    Stored,
    /// A panic or a time-out; the process lives on (a crash is counted on restart instead).
    Failed,
    /// The disk or the database is full: not the messages' fault, so not counted against them.
    DiskFull(String),
}

/// One try of a group: counted durably first, then decoded on the blocking pool under
/// [`PARSE_TIMEOUT`], then stored in one transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn try_group(
    place: &Place<'_>,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
    group: &[(Meta, bool)],
    bodies: &HashMap<u32, (Body, bool)>,
    scans: &HashMap<u32, crate::scan::ScanResult>,
    report: &mut FolderReport,
) -> Result<Tried, MailboxError> {
    let (mailbox, folder, uidvalidity) = (&place.cfg.name, place.folder, place.uidvalidity);
    let uids: Vec<u32> = group.iter().map(|(m, _)| m.uid).collect();
    off_the_runtime(|| store::sync::count_attempt_committed(store, mailbox, folder, uidvalidity, &uids))?;

    // One task on the blocking pool decodes the group in order while this thread stores what
    // it has decoded, so that the two cores share the work; a bounded channel keeps only a few
    // decoded messages in memory. The decoder says which message it is on (a time-out is
    // charged to it) and catches a panic per message.
    let jobs: Vec<(u32, Body)> =
        group.iter().filter_map(|(meta, _)| bodies.get(&meta.uid).map(|(raw, _)| (meta.uid, raw.clone()))).collect();
    let current = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let on = current.clone();
    let (decoder, decoded) = std::sync::mpsc::sync_channel::<(u32, Result<crate::parse::ParsedMessage, String>)>(4);
    // Not awaited: should it hang, it is abandoned (see below).
    drop(tokio::task::spawn_blocking(move || {
        for (uid, raw) in jobs {
            on.store(uid, std::sync::atomic::Ordering::SeqCst);
            let result = std::panic::catch_unwind(|| {
                failpoint(&raw);
                crate::parse::parse(&raw)
            })
            .map_err(|panic| format!("decoding panicked: {}", panic_text(panic)));
            let failed = result.is_err();
            // The batch stopped (a failure, or an error while storing): nothing more to do.
            if decoder.send((uid, result)).is_err() || failed {
                return;
            }
        }
    }));
    let mut next = |uid: u32| -> Decoded {
        let failed = |why: String, stuck| Decoded::Failed(Undecoded { uid, why, stuck });
        match decoded.recv_timeout(PARSE_TIMEOUT) {
            Ok((got, Ok(message))) if got == uid => Decoded::Message(Box::new(message)),
            Ok((got, Err(why))) => Decoded::Failed(Undecoded { uid: got, why, stuck: false }),
            Ok((got, Ok(_))) => failed(format!("decoded UID {got} out of turn"), false),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let uid = current.load(std::sync::atomic::Ordering::SeqCst);
                let why = format!("decoding took longer than {} s", PARSE_TIMEOUT.as_secs());
                Decoded::Failed(Undecoded { uid, why, stuck: true })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => failed("the decoder stopped".into(), false),
        }
    };

    let stored = store_caught(store, pipeline, clock, place, group, bodies, &mut next, scans, report);
    drop(decoded);
    let stored = match stored {
        Ok(Ok(Some(failure))) => {
            if failure.stuck {
                // The thread cannot be stopped: it runs on, abandoned, and its result is
                // dropped when it ends. Should that keep happening, the stuck threads would take
                // the cores; the try is counted already, so a restart by systemd is the cure.
                let stuck = STUCK_DECODERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                if stuck > MAX_STUCK_DECODERS {
                    tracing::error!(
                        stuck,
                        "decoding threads stuck on messages that timed out; exiting so that the service \
                         manager restarts ticketd (the tries are counted, the messages will become placeholders)"
                    );
                    std::process::exit(70);
                }
            }
            if uids.len() > 1 {
                // A panic or time-out the process survived names its message: it counts as
                // that message's try even in a group.
                off_the_runtime(|| {
                    store::sync::count_attempt(store.conn(), mailbox, folder, uidvalidity, &[failure.uid])
                })?;
            }
            return record_failure(place, store, &[failure.uid], failure.why);
        }
        Ok(Ok(None)) => Ok(Ok(())),
        Ok(Err(e)) => Ok(Err(e)),
        Err(panic) => Err(panic),
    };
    match stored {
        Ok(Ok(())) => Ok(Tried::Stored),
        Ok(Err(e)) => {
            // An ordinary error (the database busy or full, a template that does not render, a
            // folder that cannot be written) is not the messages' fault: the try is taken back,
            // so that they are never turned into placeholders for it.
            off_the_runtime(|| -> Result<(), store::StoreError> {
                let tx = store.conn_mut().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                store::sync::uncount_attempt(&tx, mailbox, folder, uidvalidity, &uids)?;
                tx.commit()?;
                Ok(())
            })?;
            if is_disk_full(&e) {
                return Ok(Tried::DiskFull(e.to_string()));
            }
            Err(e)
        }
        Err(panic) => record_failure(place, store, &uids, format!("storing panicked: {}", panic_text(panic))),
    }
}

/// The disk or the database is full (SQLite reports it at the commit, when the page cache
/// held the batch until then).
pub(super) fn is_disk_full(e: &MailboxError) -> bool {
    match e {
        MailboxError::Ingest(e) => e.is_disk_full(),
        MailboxError::Store(store::StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))) => {
            f.code == rusqlite::ErrorCode::DiskFull
        }
        _ => false,
    }
}

/// Notes a failed try (the try itself was counted before it began) and says so.
pub(super) fn record_failure(
    place: &Place<'_>,
    store: &mut Store,
    uids: &[u32],
    why: String,
) -> Result<Tried, MailboxError> {
    tracing::error!(mailbox = %place.cfg.name, folder = place.folder, ?uids, error = %why, "processing failed");
    let label = crate::metrics::OutcomeLabel { mailbox: place.cfg.name.clone(), outcome: "failed".into() };
    crate::metrics::global().poison.get_or_create(&label).inc();
    if let [uid] = uids {
        off_the_runtime(|| {
            store::sync::attempt_failed(store.conn(), &place.cfg.name, place.folder, place.uidvalidity, *uid, &why)
        })?;
    }
    Ok(Tried::Failed)
}

/// Test builds only: `TICKETD_FAILPOINT=abort:MARKER` (or `panic:MARKER`) makes decoding a
/// message that contains MARKER abort the process (or panic), as a parser bug would, so the
/// tests can prove that such a message is tried three times and then stored as a placeholder.
#[cfg(debug_assertions)]
pub(super) fn failpoint(raw: &[u8]) {
    let Ok(spec) = std::env::var("TICKETD_FAILPOINT") else { return };
    let Some((action, marker)) = spec.split_once(':') else { return };
    if marker.is_empty() || !raw.windows(marker.len()).any(|w| w == marker.as_bytes()) {
        return;
    }
    match action {
        "abort" => std::process::abort(),
        "panic" => panic!("failpoint {marker}"),
        _ => {}
    }
}

#[cfg(not(debug_assertions))]
pub(super) fn failpoint(_raw: &[u8]) {}

pub(super) fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Scans (when a live scanner is configured) and stores a group of fetched messages, then
/// lets go of their bodies. A group that fails (or that held a message which failed before, in
/// this process or one that crashed on it) is tried again one message at a time, so that only
/// the message at fault is tried [`MAX_TRIES`] times alone and then stored as a placeholder;
/// the folder always moves on. A process that ends during a group's try counts against none
/// of them (see `store::sync::count_attempt_committed`).
pub(super) async fn store_group(
    place: &Place<'_>,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
    group: &[(Meta, bool)],
    bodies: &mut HashMap<u32, (Body, bool)>,
    report: &mut FolderReport,
) -> Result<(), MailboxError> {
    // The live scanner is asked before the transaction opens, so a slow scorer never holds
    // the database's write lock. Staff's sent mail, headers-only fetches and silent imports
    // are not worth a scan.
    let mut scans = HashMap::new();
    if let Some(scanner) = pipeline.scanner.filter(|_| !place.from_sent_folder) {
        for (meta, silent) in group {
            if let Some((raw, false)) = bodies.get(&meta.uid).filter(|_| !*silent) {
                scans.insert(meta.uid, scanner.scan(raw).await);
            }
        }
    }
    let (mailbox, folder, uidvalidity) = (&place.cfg.name, place.folder, place.uidvalidity);
    let uids: Vec<u32> = group.iter().map(|(m, _)| m.uid).collect();
    let clean = !store::sync::any_attempts(store.conn(), mailbox, folder, uidvalidity, &uids)?;
    let whole = clean
        && matches!(try_group(place, store, pipeline, clock, group, bodies, &scans, report).await?, Tried::Stored);
    if !whole {
        for item in group {
            loop {
                let (_, tries, last_error) =
                    store::sync::attempts(store.conn(), mailbox, folder, uidvalidity, &[item.0.uid])?.remove(0);
                if tries >= MAX_TRIES {
                    let why = last_error.unwrap_or_else(|| "the process ended while processing it".into());
                    store_placeholder(place, store, pipeline, clock, item, bodies, &why, report)?;
                    break;
                }
                let one = std::slice::from_ref(item);
                match try_group(place, store, pipeline, clock, one, bodies, &scans, report).await? {
                    Tried::Stored => break,
                    Tried::Failed => continue,
                    Tried::DiskFull(why) => {
                        defer_alone(place, store, clock, &item.0, &why, report)?;
                        break;
                    }
                }
            }
        }
    }
    for (meta, _) in group {
        bodies.remove(&meta.uid);
    }
    Ok(())
}

/// Stores a message that failed every try: its raw bytes, what a bounded scan of its header
/// says, flagged; an alert tells the admins.
#[allow(clippy::too_many_arguments)]
pub(super) fn store_placeholder(
    place: &Place<'_>,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
    item: &(Meta, bool),
    bodies: &HashMap<u32, (Body, bool)>,
    why: &str,
    report: &mut FolderReport,
) -> Result<(), MailboxError> {
    tracing::error!(
        mailbox = %place.cfg.name, folder = place.folder, uid = item.0.uid, error = why,
        "message failed {MAX_TRIES} times; storing it as a flagged placeholder and moving on"
    );
    let one = std::slice::from_ref(item);
    let mut store_as = |placeholder: &dyn Fn(&[u8]) -> crate::parse::ParsedMessage| {
        let mut made = bodies.get(&item.0.uid).map(|(raw, _)| placeholder(raw));
        let mut decoded = |uid| match made.take() {
            Some(message) => Decoded::Message(Box::new(message)),
            None => Decoded::Failed(Undecoded { uid, why: "no placeholder".into(), stuck: false }),
        };
        store_caught(store, pipeline, clock, place, one, bodies, &mut decoded, &HashMap::new(), report)
            .map(|r| r.map(|_| ()))
    };
    match store_as(&|raw| pipeline::placeholder(raw, why)) {
        Ok(result) => result,
        // Something in the header it could read made storing panic too: store it bare, with
        // nothing but its bytes, so that the folder can never be stuck on it.
        Err(_) => match store_as(&|raw| pipeline::bare_placeholder(raw, why)) {
            Ok(result) => result,
            Err(panic) => Err(MailboxError::Folder {
                folder: place.folder.to_string(),
                message: format!("cannot store UID {} even as a placeholder: {}", item.0.uid, panic_text(panic)),
            }),
        },
    }
}

/// Leaves one message on the server for a later pass: the disk or the database is full.
pub(super) fn defer_alone(
    place: &Place<'_>,
    store: &mut Store,
    clock: &dyn Clock,
    meta: &Meta,
    why: &str,
    report: &mut FolderReport,
) -> Result<(), MailboxError> {
    let uid = meta.uid;
    tracing::error!(
        mailbox = %place.cfg.name, folder = place.folder, uid, error = why,
        "no space left to store this message; it stays on the server and is tried again"
    );
    off_the_runtime(|| -> Result<(), store::StoreError> {
        let tx = store.conn_mut().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (mailbox, folder, uidvalidity) = (&place.cfg.name, place.folder, place.uidvalidity);
        let deferral = store::sync::Deferral {
            uid,
            reason: why,
            since: clock.now().timestamp(),
            received_at: meta.internal_date.timestamp(),
        };
        store::sync::defer(&tx, mailbox, folder, uidvalidity, &deferral)?;
        store::sync::advance(&tx, mailbox, folder, uidvalidity, uid)?;
        tx.commit()?;
        Ok(())
    })?;
    report.deferred += 1;
    Ok(())
}
