//! One folder: select, check UIDVALIDITY, fetch what is new above the checkpoint in batches,
//! ingest each message, then apply the owed server-side actions.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;

use super::connect::{timed, ImapSession};
use super::MailboxError;
use crate::clock::Clock;
use crate::config::{InitialSync, MailboxConfig};
use crate::pipeline::{self, Origin, Outcome, Pipeline};
use crate::store::{self, Store};

/// Messages stored per transaction, and so held in memory at once while a round streams in.
const BATCH_MESSAGES: usize = 50;

/// Committed messages whose move or flag may wait for company: every MOVE makes the server
/// rewrite the folder's index, so moving 50 at a time out of a 10,000-message backlog cost more
/// than storing them. The owed actions are durable, so waiting risks nothing; they are applied
/// at the latest when the folder's pass ends.
const ACTIONS_PER_ROUND: usize = 500;
/// A round's bodies stream through memory a group at a time. Should the server leave out a
/// message early in a round, the bodies after it wait for it (they are stored in UID order):
/// this bounds what they can add up to.
const ROUND_BYTES: u64 = 64 * 1024 * 1024;

/// The keyword set by `after = "flag"`.
pub const TICKETED_KEYWORD: &str = "$Ticketed";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FolderReport {
    pub fetched: usize,
    pub new_tickets: usize,
    pub joined: usize,
    pub duplicates: usize,
    pub spam: usize,
    pub skipped_old: usize,
    pub acknowledged: usize,
    /// New tickets not acknowledged because their sender looks like a mail loop.
    pub loops: usize,
    /// Automatic mail (auto-replies, bounces, lists) stored.
    pub automatic: usize,
    /// Messages below the checkpoint still in the folder although ticketd moves what it stores.
    pub gaps: usize,
    /// Messages left on the server for a later pass because the disk was full.
    pub deferred: usize,
    /// UIDNEXT when the folder was selected: a later, higher UIDNEXT means new mail.
    pub uid_next: Option<u32>,
}

/// What a session learned once and reuses: capabilities and resolved folder names.
#[derive(Default)]
pub struct SessionState {
    capabilities: Option<(bool, bool)>,
    ensured: Vec<String>,
    warned_no_move: bool,
    /// The day (Unix days) the quiet-Sent-folder warning was last given.
    warned_quiet_sent: Option<i64>,
}

struct Meta {
    uid: u32,
    internal_date: DateTime<Utc>,
    size: u64,
}

/// Resolves a special-use name such as `\Junk` or `\Sent` (RFC 6154) to the folder's name;
/// other names are returned as they are.
pub async fn resolve_folder(session: &mut ImapSession, name: &str) -> Result<String, MailboxError> {
    let Some(wanted) = name.strip_prefix('\\') else {
        return Ok(name.to_string());
    };
    let wanted = wanted.to_ascii_lowercase();
    let names: Vec<async_imap::types::Name> =
        timed("LIST", async { session.list(Some(""), Some("*")).await?.try_collect().await }).await??;
    for n in &names {
        if n.attributes().iter().any(|a| {
            let text = format!("{a:?}").to_ascii_lowercase();
            text == wanted || text.contains(&format!("\\{wanted}"))
        }) {
            return Ok(n.name().to_string());
        }
    }
    // No folder carries the flag: use the conventional name.
    let mut fallback = wanted;
    if let Some(first) = fallback.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Ok(fallback)
}

/// Reads one folder: everything new above its checkpoint becomes tickets; owed actions are
/// applied; a Sent folder is also watched for staying quiet.
#[allow(clippy::too_many_arguments)]
pub async fn sync_folder(
    session: &mut ImapSession,
    state: &mut SessionState,
    cfg: &MailboxConfig,
    folder: &str,
    from_sent_folder: bool,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
) -> Result<FolderReport, MailboxError> {
    let report = read_folder(session, state, cfg, folder, from_sent_folder, store, pipeline, clock).await?;
    if from_sent_folder {
        watch_sent_folder(store, state, cfg, folder, report.fetched > 0, clock.now().timestamp())?;
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn read_folder(
    session: &mut ImapSession,
    state: &mut SessionState,
    cfg: &MailboxConfig,
    folder: &str,
    from_sent_folder: bool,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
) -> Result<FolderReport, MailboxError> {
    let mut report = FolderReport::default();
    let selected = timed("SELECT", session.select(folder))
        .await?
        .map_err(|e| MailboxError::Folder { folder: folder.to_string(), message: format!("cannot select: {e}") })?;
    let uidvalidity = selected.uid_validity.unwrap_or(0);
    report.uid_next = selected.uid_next;
    let may_keyword = selected.permanent_flags.iter().any(|f| matches!(f, async_imap::types::Flag::MayCreate));

    let checkpoint = store::sync::checkpoint(store.conn(), &cfg.name, folder)?;
    // Messages left for later under an older UIDVALIDITY were never stored: after the reset
    // everything received since the oldest of them is read again (what was stored is
    // recognised), so none of them is lost.
    let mut reread_since: Option<i64> = None;
    let checkpoint = match checkpoint {
        Some(cp) if cp.uidvalidity == uidvalidity => cp,
        previous => {
            let horizon = match selected.uid_next {
                Some(next) => next.saturating_sub(1),
                None => all_uids(session).await?.into_iter().max().unwrap_or(0),
            };
            if let Some(old) = previous {
                tracing::warn!(
                    mailbox = %cfg.name, folder, old = old.uidvalidity, new = uidvalidity,
                    "UIDVALIDITY changed: re-reading the folder; messages already stored are recognised"
                );
            }
            if let Some(old) = previous {
                reread_since = store::sync::oldest_deferred(store.conn(), &cfg.name, folder, old.uidvalidity)?;
            }
            store::sync::start_generation(store.conn(), &cfg.name, folder, uidvalidity, horizon)?;
            store::sync::drop_stale_actions(store.conn(), &cfg.name, folder, uidvalidity)?;
            store::sync::drop_stale_retries(store.conn(), &cfg.name, folder, uidvalidity)?;
            store::sync::checkpoint(store.conn(), &cfg.name, folder)?.unwrap_or(store::sync::Checkpoint {
                uidvalidity,
                last_uid: 0,
                horizon_uid: horizon,
            })
        }
    };

    // Actions owed from an earlier pass that was interrupted after its commit.
    apply_pending(session, state, cfg, folder, may_keyword, store).await?;

    if selected.exists == 0 {
        return Ok(report);
    }
    if matches!(cfg.after, crate::config::AfterAction::Move(_)) && !from_sent_folder {
        report.gaps = gap_check(session, cfg, folder, &checkpoint, store).await?;
    }
    let mut metas = fetch_meta(session, checkpoint.last_uid).await?;
    // Messages left for later (the disk was full) come first, in UID order with the rest.
    let deferred = store::sync::deferred(store.conn(), &cfg.name, folder, uidvalidity)?;
    if !deferred.is_empty() {
        let present = fetch_meta_of(session, &deferred).await?;
        for gone in deferred.iter().filter(|u| !present.iter().any(|m| m.uid == **u)) {
            // Expunged by someone else meanwhile: nothing left to store.
            store::sync::clear_deferred(store.conn(), &cfg.name, folder, uidvalidity, *gone)?;
        }
        metas.extend(present);
        metas.sort_by_key(|m| m.uid);
        metas.dedup_by_key(|m| m.uid);
    }
    if metas.is_empty() {
        return Ok(report);
    }
    let now = clock.now();
    // Mail older than max_age below the horizon is what the mailbox held before ticketd: left
    // alone. After a UIDVALIDITY reset the horizon covers mail ticketd may never have seen (it
    // was down during a migration), so only mail older than anything stored here counts as
    // "before ticketd"; the rest is re-read and recognised by its Message-ID.
    let mut cutoff = now - cfg_max_age(pipeline);
    if let Some(oldest) = store::sync::oldest_stored(store.conn(), &cfg.name, folder)? {
        cutoff = cutoff.min(chrono::DateTime::from_timestamp(oldest, 0).unwrap_or(cutoff));
    }
    if let Some(since) = reread_since {
        cutoff = cutoff.min(DateTime::from_timestamp(since, 0).unwrap_or(cutoff));
    }
    let mut todo: Vec<(Meta, bool)> = Vec::new();
    let mut highest_skipped = 0;
    for meta in metas {
        let old = meta.internal_date < cutoff && !deferred.contains(&meta.uid);
        if meta.uid <= checkpoint.horizon_uid && old && !from_sent_folder {
            match cfg.initial_sync {
                InitialSync::Recent => {
                    report.skipped_old += 1;
                    highest_skipped = highest_skipped.max(meta.uid);
                    continue;
                }
                InitialSync::All => todo.push((meta, true)),
            }
        } else if meta.uid <= checkpoint.horizon_uid && old {
            // Old sent mail from before ticketd: nothing to learn from it.
            report.skipped_old += 1;
            highest_skipped = highest_skipped.max(meta.uid);
        } else {
            todo.push((meta, false));
        }
    }
    if report.skipped_old > 0 {
        tracing::info!(mailbox = %cfg.name, folder, count = report.skipped_old, "older mail left alone (initial_sync = \"recent\")");
    }

    let place = Place { cfg, folder, from_sent_folder, uidvalidity };
    let mut start = 0;
    while start < todo.len() {
        // A round: one UID FETCH whose answer is stored while it streams in, then one MOVE.
        let mut end = start;
        let mut bytes = 0;
        while end < todo.len()
            && end - start < ACTIONS_PER_ROUND
            && (end == start || bytes + todo[end].0.size <= ROUND_BYTES)
        {
            bytes += todo[end].0.size;
            end += 1;
        }
        read_round(session, &place, store, pipeline, clock, &todo[start..end], &mut report).await?;
        start = end;
        apply_pending(session, state, cfg, folder, may_keyword, store).await?;
    }
    if highest_skipped > 0 {
        store::sync::advance(store.conn(), &cfg.name, folder, uidvalidity, highest_skipped)?;
    }
    Ok(report)
}

/// The folder a batch comes from.
struct Place<'a> {
    cfg: &'a MailboxConfig,
    folder: &'a str,
    from_sent_folder: bool,
    uidvalidity: u32,
}

/// A fetched message's bytes, shared with the thread that decodes it.
type Body = std::sync::Arc<[u8]>;

/// Tries per message before it is stored as a placeholder (docs/message-handling.md): a panic, an abort or a
/// time-out, each counted durably before the try.
const MAX_TRIES: i64 = 3;
/// How long decoding one message may take before it counts as a failed try (a group gets up to
/// three times as long). Decoding is bounded by design (nesting, text and HTML caps); this is
/// the backstop.
const PARSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// Decoding threads abandoned after [`PARSE_TIMEOUT`] in this process's life (they may still
/// be running), and how many are tolerated before the process exits to be restarted.
static STUCK_DECODERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
const MAX_STUCK_DECODERS: usize = 2;

/// Stores a fetched batch in one transaction: each message is still all-or-nothing with its
/// checkpoint and owed action, and a crash before the commit fetches the batch again. One
/// commit per message would rewrite the same index pages fifty times over.
#[allow(clippy::too_many_arguments)]
fn store_batch(
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
        tx.execute_batch("SAVEPOINT message").map_err(store::StoreError::from)?;
        let outcome = match pipeline::ingest_in(&tx, pipeline, &origin, raw, message, scans.get(&meta.uid), clock.now())
        {
            Ok(outcome) => {
                tx.execute_batch("RELEASE message").map_err(store::StoreError::from)?;
                store::sync::clear_deferred(&tx, &cfg.name, folder, uidvalidity, meta.uid)?;
                outcome
            }
            Err(e) if e.is_disk_full() => {
                tx.execute_batch("ROLLBACK TO message; RELEASE message").map_err(store::StoreError::from)?;
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
fn store_caught(
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
enum Decoded {
    Message(Box<crate::parse::ParsedMessage>),
    Failed(Undecoded),
}

/// A message whose decoding failed, and how.
struct Undecoded {
    uid: u32,
    why: String,
    /// The decoder is stuck on it (time-out): its thread runs on, abandoned.
    stuck: bool,
}

/// Runs blocking work (SQLite, fsync) without holding up the async threads that serve IMAP,
/// `/healthz` and the watchdog.
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// What one try of a group of messages came to.
enum Tried {
    Stored,
    /// A panic or a time-out; the process lives on (a crash is counted on restart instead).
    Failed,
    /// The disk or the database is full: not the messages' fault, so not counted against them.
    DiskFull(String),
}

/// One try of a group: counted durably first, then decoded on the blocking pool under
/// [`PARSE_TIMEOUT`], then stored in one transaction.
#[allow(clippy::too_many_arguments)]
async fn try_group(
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
fn is_disk_full(e: &MailboxError) -> bool {
    match e {
        MailboxError::Ingest(e) => e.is_disk_full(),
        MailboxError::Store(store::StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))) => {
            f.code == rusqlite::ErrorCode::DiskFull
        }
        _ => false,
    }
}

/// Notes a failed try (the try itself was counted before it began) and says so.
fn record_failure(place: &Place<'_>, store: &mut Store, uids: &[u32], why: String) -> Result<Tried, MailboxError> {
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
fn failpoint(raw: &[u8]) {
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
fn failpoint(_raw: &[u8]) {}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// A Sent folder that stays empty means staff replies are not being seen — with Microsoft 365,
/// mail sent *as* a shared mailbox lands in the sender's own Sent Items unless
/// MessageCopyForSentAsEnabled is on. Warn once a day after a week without new mail there.
fn watch_sent_folder(
    store: &mut Store,
    state: &mut SessionState,
    cfg: &MailboxConfig,
    folder: &str,
    new_mail: bool,
    now: i64,
) -> Result<(), MailboxError> {
    const QUIET: i64 = 7 * 86_400;
    let last = store::sync::last_new_mail(store.conn(), &cfg.name, folder)?;
    match last {
        None => store::sync::note_new_mail(store.conn(), &cfg.name, folder, now)?,
        Some(_) if new_mail => store::sync::note_new_mail(store.conn(), &cfg.name, folder, now)?,
        Some(at) if now - at >= QUIET && state.warned_quiet_sent != Some(now / 86_400) => {
            state.warned_quiet_sent = Some(now / 86_400);
            tracing::warn!(
                mailbox = %cfg.name, folder, days = (now - at) / 86_400,
                "no new mail in the sent folder for a week: staff replies may not be reaching it \
                 (Microsoft 365: Set-Mailbox -MessageCopyForSentAsEnabled $true on the shared mailbox)"
            );
        }
        Some(_) => {}
    }
    Ok(())
}

fn cfg_max_age(p: &Pipeline<'_>) -> chrono::Duration {
    p.config.tickets.max_age.to_chrono()
}

/// With `after = "move:..."` every stored message leaves the folder, so a UID below the
/// checkpoint (and above the first-sync horizon) that is still there was never stored, or its
/// move failed: report it, never lose it silently.
async fn gap_check(
    session: &mut ImapSession,
    cfg: &MailboxConfig,
    folder: &str,
    checkpoint: &store::sync::Checkpoint,
    store: &mut Store,
) -> Result<usize, MailboxError> {
    if checkpoint.last_uid <= checkpoint.horizon_uid {
        return Ok(0);
    }
    let query = format!("UID {}:{}", checkpoint.horizon_uid + 1, checkpoint.last_uid);
    let present = timed("UID SEARCH", session.uid_search(&query)).await??;
    let mut pending: Vec<u32> =
        store::sync::pending_actions(store.conn(), &cfg.name, folder)?.iter().map(|p| p.uid).collect();
    pending.extend(store::sync::deferred(store.conn(), &cfg.name, folder, checkpoint.uidvalidity)?);
    let mut missing: Vec<u32> = present
        .into_iter()
        .filter(|u| *u > checkpoint.horizon_uid && *u <= checkpoint.last_uid && !pending.contains(u))
        .collect();
    missing.sort_unstable();
    if !missing.is_empty() {
        tracing::warn!(
            mailbox = %cfg.name, folder, count = missing.len(), uids = ?&missing[..missing.len().min(20)],
            "messages below the checkpoint are still in the folder: not stored, or their move failed"
        );
    }
    Ok(missing.len())
}

/// Whether a UID is still in the selected folder.
async fn still_there(session: &mut ImapSession, uid: u32) -> Result<bool, MailboxError> {
    let found = timed("UID SEARCH", session.uid_search(format!("UID {uid}"))).await??;
    Ok(found.contains(&uid))
}

async fn all_uids(session: &mut ImapSession) -> Result<Vec<u32>, MailboxError> {
    let uids = timed("UID SEARCH", session.uid_search("ALL")).await??;
    Ok(uids.into_iter().collect())
}

/// Metadata of particular messages, those still in the folder.
async fn fetch_meta_of(session: &mut ImapSession, uids: &[u32]) -> Result<Vec<Meta>, MailboxError> {
    let fetches: Vec<async_imap::types::Fetch> = timed("UID FETCH (metadata)", async {
        session.uid_fetch(uid_set(uids.iter().copied()), "(UID INTERNALDATE RFC822.SIZE)").await?.try_collect().await
    })
    .await??;
    Ok(fetches
        .iter()
        .filter_map(|f| {
            let uid = f.uid.filter(|u| uids.contains(u))?;
            Some(Meta {
                uid,
                internal_date: f.internal_date().map(|d| d.with_timezone(&Utc)).unwrap_or_else(Utc::now),
                size: u64::from(f.size.unwrap_or(0)),
            })
        })
        .collect())
}

async fn fetch_meta(session: &mut ImapSession, after_uid: u32) -> Result<Vec<Meta>, MailboxError> {
    let range = format!("{}:*", after_uid.saturating_add(1));
    let fetches: Vec<async_imap::types::Fetch> = timed("UID FETCH (metadata)", async {
        session.uid_fetch(&range, "(UID INTERNALDATE RFC822.SIZE)").await?.try_collect().await
    })
    .await??;
    let mut metas: Vec<Meta> = fetches
        .iter()
        // "N:*" also returns the highest message when it is below N (RFC 3501 §6.4.8).
        .filter_map(|f| {
            let uid = f.uid?;
            (uid > after_uid).then(|| Meta {
                uid,
                internal_date: f.internal_date().map(|d| d.with_timezone(&Utc)).unwrap_or_else(Utc::now),
                size: u64::from(f.size.unwrap_or(0)),
            })
        })
        .collect();
    metas.sort_by_key(|m| m.uid);
    metas.dedup_by_key(|m| m.uid);
    Ok(metas)
}

/// An IMAP UID set with runs collapsed ("3:7,9"), so that commands stay short.
fn uid_set(uids: impl IntoIterator<Item = u32>) -> String {
    let mut sorted: Vec<u32> = uids.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}:{end}") });
        i += 1;
    }
    parts.join(",")
}

/// UIDs per server-side action command: bounded, whatever the backlog.
const ACTION_CHUNK: usize = 500;

/// Reads one round of messages. Headers of messages over `max_message_size` come first (they
/// are few); then one UID FETCH of the bodies, stored in transactions of [`BATCH_MESSAGES`] as
/// the answer streams in, so the server sends the next messages while ticketd stores these.
/// Messages are stored strictly in UID order, so the folder checkpoint never passes one that
/// is not stored yet; one the server does not return is looked at when the answer is complete.
async fn read_round(
    session: &mut ImapSession,
    place: &Place<'_>,
    store: &mut Store,
    pipeline: &Pipeline<'_>,
    clock: &dyn Clock,
    round: &[(Meta, bool)],
    report: &mut FolderReport,
) -> Result<(), MailboxError> {
    let max_size = place.cfg.max_message_size.0;
    let mut bodies: HashMap<u32, (Body, bool)> = HashMap::new();
    let large: Vec<u32> = round.iter().filter(|(m, _)| m.size > max_size).map(|(m, _)| m.uid).collect();
    if !large.is_empty() {
        let fetches: Vec<async_imap::types::Fetch> = timed("UID FETCH (headers)", async {
            session.uid_fetch(uid_set(large), "(UID BODY.PEEK[HEADER])").await?.try_collect().await
        })
        .await??;
        for f in fetches {
            if let (Some(uid), Some(header)) = (f.uid, f.header()) {
                bodies.insert(uid, (Body::from(header), true));
            }
        }
    }
    let mut next = 0;
    let normal: Vec<u32> = round.iter().filter(|(m, _)| m.size <= max_size).map(|(m, _)| m.uid).collect();
    if !normal.is_empty() {
        let stream = timed("UID FETCH (bodies)", session.uid_fetch(uid_set(normal), "(UID BODY.PEEK[])")).await??;
        let mut stream = std::pin::pin!(stream);
        while let Some(f) = timed("UID FETCH (bodies)", stream.try_next()).await?? {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                bodies.insert(uid, (Body::from(body), false));
            }
            let ready = round[next..].iter().take_while(|(m, _)| bodies.contains_key(&m.uid)).count();
            if ready >= BATCH_MESSAGES {
                let group = &round[next..next + ready];
                store_group(place, store, pipeline, clock, group, &mut bodies, report).await?;
                next += ready;
            }
        }
    }
    for (meta, _) in &round[next..] {
        if bodies.contains_key(&meta.uid) || !still_there(session, meta.uid).await? {
            continue;
        }
        // The server will not give the body: a flagged placeholder ticket says where the
        // message is, so it is seen rather than skipped.
        tracing::warn!(mailbox = %place.cfg.name, folder = place.folder, uid = meta.uid, "the server returned no body for this message");
        let placeholder = format!(
            "X-Ticketd-Fetch-Failed: {}/{} UIDVALIDITY {} UID {}\r\n\r\n",
            place.cfg.name, place.folder, place.uidvalidity, meta.uid
        );
        bodies.insert(meta.uid, (Body::from(placeholder.into_bytes()), false));
    }
    for group in round[next..].chunks(BATCH_MESSAGES) {
        store_group(place, store, pipeline, clock, group, &mut bodies, report).await?;
    }
    Ok(())
}

/// Scans (when a live scanner is configured) and stores a group of fetched messages, then
/// lets go of their bodies. A group that fails (or that held a message which failed before, in
/// this process or one that crashed on it) is tried again one message at a time, so that only
/// the message at fault is tried [`MAX_TRIES`] times alone and then stored as a placeholder;
/// the folder always moves on. A process that ends during a group's try counts against none
/// of them (see `store::sync::count_attempt_committed`).
async fn store_group(
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
fn store_placeholder(
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
fn defer_alone(
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

async fn capabilities(session: &mut ImapSession, state: &mut SessionState) -> Result<(bool, bool), MailboxError> {
    if let Some(c) = state.capabilities {
        return Ok(c);
    }
    let caps = timed("CAPABILITY", session.capabilities()).await??;
    let c = (caps.has_str("MOVE"), caps.has_str("UIDPLUS"));
    state.capabilities = Some(c);
    Ok(c)
}

/// Creates a target folder once if it does not exist (never a special-use one the server has).
async fn ensure_folder(
    session: &mut ImapSession,
    state: &mut SessionState,
    name: &str,
) -> Result<String, MailboxError> {
    let resolved = resolve_folder(session, name).await?;
    if state.ensured.contains(&resolved) {
        return Ok(resolved);
    }
    let existing: Vec<async_imap::types::Name> =
        timed("LIST", async { session.list(Some(""), Some(&resolved)).await?.try_collect().await }).await??;
    if existing.is_empty() {
        timed("CREATE", session.create(&resolved))
            .await?
            .map_err(|e| MailboxError::Folder { folder: resolved.clone(), message: format!("cannot create: {e}") })?;
        tracing::info!(folder = %resolved, "created folder");
    }
    state.ensured.push(resolved.clone());
    Ok(resolved)
}

/// Applies the server-side actions owed for committed messages of this folder, then forgets
/// them. An action that fails stays owed and is tried on the next pass.
async fn apply_pending(
    session: &mut ImapSession,
    state: &mut SessionState,
    cfg: &MailboxConfig,
    folder: &str,
    may_keyword: bool,
    store: &mut Store,
) -> Result<(), MailboxError> {
    let pending = store::sync::pending_actions(store.conn(), &cfg.name, folder)?;
    if pending.is_empty() {
        return Ok(());
    }
    let mut groups: BTreeMap<(u32, String), Vec<u32>> = BTreeMap::new();
    for p in pending {
        groups.entry((p.uidvalidity, p.action)).or_default().push(p.uid);
    }
    let chunks = groups
        .into_iter()
        .flat_map(|(key, uids)| uids.chunks(ACTION_CHUNK).map(|c| (key.clone(), c.to_vec())).collect::<Vec<_>>());
    for ((uidvalidity, action), uids) in chunks {
        let set = uid_set(uids.iter().copied());
        let result = if let Some(target) = action.strip_prefix("move:").or_else(|| action.strip_prefix("junk:")) {
            move_messages(session, state, cfg, &set, target, may_keyword).await
        } else if action == "flag" {
            flag_messages(session, &set, may_keyword).await
        } else {
            Ok(())
        };
        match result {
            Ok(()) => store::sync::clear_pending_actions(store.conn(), &cfg.name, folder, uidvalidity, &uids)?,
            Err(
                e @ (MailboxError::Timeout(_)
                | MailboxError::Imap(async_imap::error::Error::Io(_))
                | MailboxError::Imap(async_imap::error::Error::ConnectionLost)),
            ) => return Err(e),
            Err(e) => {
                tracing::warn!(mailbox = %cfg.name, folder, %action, error = %e, "server-side action failed; will retry")
            }
        }
    }
    // Drain notices (EXPUNGE, COPYUID ...) so the bounded channel never drops what matters.
    while session.unsolicited_responses.try_recv().is_ok() {}
    Ok(())
}

pub(crate) async fn move_messages(
    session: &mut ImapSession,
    state: &mut SessionState,
    cfg: &MailboxConfig,
    set: &str,
    target: &str,
    may_keyword: bool,
) -> Result<(), MailboxError> {
    let (has_move, has_uidplus) = capabilities(session, state).await?;
    if !has_move && !has_uidplus {
        if !state.warned_no_move {
            tracing::warn!(
                mailbox = %cfg.name,
                "the server offers neither MOVE nor UIDPLUS: flagging instead of moving (a plain EXPUNGE could remove other clients' deleted mail)"
            );
            state.warned_no_move = true;
        }
        return flag_messages(session, set, may_keyword).await;
    }
    let target = ensure_folder(session, state, target).await?;
    if has_move {
        // RFC 6851
        timed("UID MOVE", session.uid_mv(set, &target)).await??;
    } else {
        // RFC 4315: copy, mark, and expunge exactly these UIDs.
        timed("UID COPY", session.uid_copy(set, &target)).await??;
        let _: Vec<_> = timed("UID STORE", async {
            session.uid_store(set, "+FLAGS.SILENT (\\Deleted)").await?.try_collect().await
        })
        .await??;
        let _: Vec<_> = timed("UID EXPUNGE", async { session.uid_expunge(set).await?.try_collect().await }).await??;
    }
    Ok(())
}

async fn flag_messages(session: &mut ImapSession, set: &str, may_keyword: bool) -> Result<(), MailboxError> {
    if !may_keyword {
        // Exchange and others keep no custom keywords; the UID checkpoint alone guards.
        return Ok(());
    }
    let query = format!("+FLAGS.SILENT ({TICKETED_KEYWORD})");
    let _: Vec<_> = timed("UID STORE", async { session.uid_store(set, &query).await?.try_collect().await }).await??;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn uid_sets_collapse_runs() {
        assert_eq!(super::uid_set([9, 3, 4, 5, 7, 6, 12]), "3:7,9,12");
        assert_eq!(super::uid_set([1]), "1");
    }
}
