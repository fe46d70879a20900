//! Per-folder checkpoints (UIDVALIDITY and the highest UID processed) and the server-side
//! actions owed for committed messages.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub uidvalidity: u32,
    pub last_uid: u32,
    pub horizon_uid: u32,
}

pub fn checkpoint(conn: &Connection, mailbox: &str, folder: &str) -> Result<Option<Checkpoint>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT uidvalidity, last_uid, horizon_uid FROM folder_state WHERE mailbox = ?1 AND folder = ?2",
        )?
        .query_row(params![mailbox, folder], |r| {
            Ok(Checkpoint { uidvalidity: r.get(0)?, last_uid: r.get(1)?, horizon_uid: r.get(2)? })
        })
        .optional()?)
}

/// The receipt time of the oldest message stored from this folder, if any.
pub fn oldest_stored(conn: &Connection, mailbox: &str, folder: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MIN(received_at) FROM messages WHERE mailbox = ?1 AND folder = ?2")?
        .query_row(params![mailbox, folder], |r| r.get(0))
        .optional()?
        .flatten())
}

/// How often each of `uids` has been tried already (0 for none).
pub fn attempts(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<Vec<(u32, i64, Option<String>)>, StoreError> {
    // The table holds only messages being tried: one read of the folder's rows is cheaper than
    // a lookup (and a read transaction) per message.
    let mut stmt = conn.prepare_cached(
        "SELECT uid, tries, last_error FROM attempts WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3",
    )?;
    let rows: HashMap<u32, (i64, Option<String>)> = stmt
        .query_map(params![mailbox, folder, uidvalidity], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<Result<_, _>>()?;
    Ok(uids
        .iter()
        .map(|uid| {
            let (tries, error) = rows.get(uid).cloned().unwrap_or((0, None));
            (*uid, tries, error)
        })
        .collect())
}

/// Whether any of `uids` has been tried before (alone, or in a group that did not finish).
pub fn any_attempts(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM attempts WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4",
    )?;
    for &uid in uids {
        if stmt.exists(params![mailbox, folder, uidvalidity, uid])? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Notes that `uids` are being tried together: should the process end during the try, it is
/// not known which of them was at fault, so no try is counted; the mark only makes the next
/// pass try each alone.
pub fn mark_group_attempt(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO attempts (mailbox, folder, uidvalidity, uid, tries) VALUES (?1, ?2, ?3, ?4, 0)",
    )?;
    for &uid in uids {
        stmt.execute(params![mailbox, folder, uidvalidity, uid])?;
    }
    Ok(())
}

/// Counts one more try of each of `uids`; the caller commits this before the try begins.
pub fn count_attempt(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    add_tries(conn, (mailbox, folder, uidvalidity), uids, 1)
}

/// Counts one more try of each of `uids` in a commit of its own, before the try begins. The
/// count must outlive a crash of this process (the message itself may cause one), not a power
/// cut: so the commit reaches the operating system but is not fsync'd (`synchronous = NORMAL`
/// for it alone); the next commit of the batch syncs it with everything else. One fsync per
/// batch instead of two keeps the ingest rate.
///
/// A try of several messages together is marked, not counted (see [`mark_group_attempt`]): a
/// process that ends during it (a crash, or a kill -9 from outside) proves nothing about any one
/// of them, and a kill at a random moment must never turn good mail into placeholders.
pub fn count_attempt_committed(
    store: &mut super::Store,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    let conn = store.conn_mut();
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let counted = (|| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if uids.len() > 1 {
            mark_group_attempt(&tx, mailbox, folder, uidvalidity, uids)?;
        } else {
            count_attempt(&tx, mailbox, folder, uidvalidity, uids)?;
        }
        tx.commit()?;
        Ok::<(), StoreError>(())
    })();
    conn.pragma_update(None, "synchronous", "FULL")?;
    counted
}

/// Takes back one try of each of `uids`: it failed for a reason that is not the message's.
pub fn uncount_attempt(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    add_tries(conn, (mailbox, folder, uidvalidity), uids, -1)
}

fn add_tries(conn: &Connection, at: (&str, &str, u32), uids: &[u32], delta: i64) -> Result<(), StoreError> {
    let (mailbox, folder, uidvalidity) = at;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO attempts (mailbox, folder, uidvalidity, uid, tries) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (mailbox, folder, uidvalidity, uid) DO UPDATE SET tries = tries + ?5",
    )?;
    for &uid in uids {
        stmt.execute(params![mailbox, folder, uidvalidity, uid, delta])?;
    }
    conn.prepare_cached("DELETE FROM attempts WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3 AND tries <= 0")?
        .execute(params![mailbox, folder, uidvalidity])?;
    Ok(())
}

/// Notes why a try failed (a panic or a time-out the process survived).
pub fn attempt_failed(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
    error: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE attempts SET last_error = ?5 WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4",
    )?
    .execute(params![mailbox, folder, uidvalidity, uid, error])?;
    Ok(())
}

/// Forgets the tries of a stored message (in the transaction that stores it).
pub fn clear_attempt(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
) -> Result<(), StoreError> {
    forget("attempts", conn, mailbox, folder, uidvalidity, uid)
}

/// A message left on the server for a later pass.
pub struct Deferral<'a> {
    pub uid: u32,
    pub reason: &'a str,
    /// When it was first left (Unix seconds).
    pub since: i64,
    /// Its server receipt (INTERNALDATE).
    pub received_at: i64,
}

/// Leaves a message for a later pass (the disk was full); the checkpoint may pass it.
pub fn defer(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    d: &Deferral<'_>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO deferred (mailbox, folder, uidvalidity, uid, reason, since, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (mailbox, folder, uidvalidity, uid) DO UPDATE SET reason = ?5",
    )?
    .execute(params![mailbox, folder, uidvalidity, d.uid, d.reason, d.since, d.received_at])?;
    Ok(())
}

/// The server receipt of the oldest message of this generation left for later.
pub fn oldest_deferred(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(received_at) FROM deferred WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3",
        )?
        .query_row(params![mailbox, folder, uidvalidity], |r| r.get(0))
        .optional()?
        .flatten())
}

/// The messages of this folder generation left for a later pass.
pub fn deferred(conn: &Connection, mailbox: &str, folder: &str, uidvalidity: u32) -> Result<Vec<u32>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid FROM deferred WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3 ORDER BY uid",
    )?;
    let uids = stmt.query_map(params![mailbox, folder, uidvalidity], |r| r.get(0))?;
    Ok(uids.collect::<Result<_, _>>()?)
}

/// Forgets the tries and deferrals of older generations of a folder (UIDVALIDITY changed).
pub fn drop_stale_retries(conn: &Connection, mailbox: &str, folder: &str, uidvalidity: u32) -> Result<(), StoreError> {
    for table in ["attempts", "deferred"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity <> ?3"))?
            .execute(params![mailbox, folder, uidvalidity])?;
    }
    Ok(())
}

/// Forgets a deferred message: stored at last, or gone from the server.
pub fn clear_deferred(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
) -> Result<(), StoreError> {
    forget("deferred", conn, mailbox, folder, uidvalidity, uid)
}

/// Deletes one message's row of `attempts` or `deferred`.
fn forget(
    table: &str,
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "DELETE FROM {table} WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4"
    ))?
    .execute(params![mailbox, folder, uidvalidity, uid])?;
    Ok(())
}

/// Starts a folder generation: first sync, or UIDVALIDITY changed (RFC 3501 §2.3.1.1).
pub fn start_generation(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    horizon_uid: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO folder_state (mailbox, folder, uidvalidity, last_uid, horizon_uid) \
         VALUES (?1, ?2, ?3, 0, ?4)",
    )?
    .execute(params![mailbox, folder, uidvalidity, horizon_uid])?;
    Ok(())
}

/// Moves the checkpoint forward within the current generation; never backward.
pub fn advance(conn: &Connection, mailbox: &str, folder: &str, uidvalidity: u32, uid: u32) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE folder_state SET last_uid = MAX(last_uid, ?4) \
         WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3",
    )?
    .execute(params![mailbox, folder, uidvalidity, uid])?;
    Ok(())
}

/// When new mail last appeared in a folder (only kept for Sent folders).
pub fn last_new_mail(conn: &Connection, mailbox: &str, folder: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT last_new_at FROM folder_state WHERE mailbox = ?1 AND folder = ?2")?
        .query_row(params![mailbox, folder], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

pub fn note_new_mail(conn: &Connection, mailbox: &str, folder: &str, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE folder_state SET last_new_at = ?3 WHERE mailbox = ?1 AND folder = ?2")?
        .execute(params![mailbox, folder, at])?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAction {
    pub uidvalidity: u32,
    pub uid: u32,
    pub action: String,
}

pub fn add_pending_action(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
    action: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO pending_actions (mailbox, folder, uidvalidity, uid, action) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![mailbox, folder, uidvalidity, uid, action])?;
    Ok(())
}

pub fn pending_actions(conn: &Connection, mailbox: &str, folder: &str) -> Result<Vec<PendingAction>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT uidvalidity, uid, action FROM pending_actions WHERE mailbox = ?1 AND folder = ?2 ORDER BY uid",
    )?;
    let rows = stmt.query_map(params![mailbox, folder], |r| {
        Ok(PendingAction { uidvalidity: r.get(0)?, uid: r.get(1)?, action: r.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn clear_pending_actions(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    // One transaction: in autocommit mode every DELETE would be a commit of its own.
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "DELETE FROM pending_actions WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4",
        )?;
        for uid in uids {
            stmt.execute(params![mailbox, folder, uidvalidity, uid])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Drops actions for a folder generation that no longer exists (UIDVALIDITY changed).
pub fn drop_stale_actions(
    conn: &Connection,
    mailbox: &str,
    folder: &str,
    uidvalidity: u32,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM pending_actions WHERE mailbox = ?1 AND folder = ?2 AND uidvalidity <> ?3")?
        .execute(params![mailbox, folder, uidvalidity])?)
}
