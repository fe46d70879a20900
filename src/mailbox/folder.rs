//! One folder: select, check UIDVALIDITY, fetch what is new above the checkpoint in batches,
//! ingest each message, then apply the owed server-side actions.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;

use super::connect::{timed, ImapSession};
use super::tries::*;
use super::MailboxError;
use crate::clock::Clock;
use crate::config::{InitialSync, MailboxConfig};
use crate::pipeline::Pipeline;
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

pub(super) struct Meta {
    pub(super) uid: u32,
    pub(super) internal_date: DateTime<Utc>,
    pub(super) size: u64,
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
    let selected =
        timed("SELECT", session.select(folder)).await?.map_err(|e| MailboxError::folder(folder, "cannot select", e))?;
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
pub(super) struct Place<'a> {
    pub(super) cfg: &'a MailboxConfig,
    pub(super) folder: &'a str,
    pub(super) from_sent_folder: bool,
    pub(super) uidvalidity: u32,
}

/// A fetched message's bytes, shared with the thread that decodes it.
pub(super) type Body = std::sync::Arc<[u8]>;

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
            .map_err(|e| MailboxError::folder(&resolved, "cannot create", e))?;
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
