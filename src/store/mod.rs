//! The SQLite store: tickets, messages, events, attachments, folder checkpoints and the outbox.
//! One database file in WAL mode with foreign keys on; the schema is migrated on open.
//!
//! This module owns every SQL statement. It never talks to the network and never decides policy:
//! callers open a transaction, call the small functions here inside it, and commit.

pub mod addresses;
mod checkpoint;
pub mod contracts;
mod messages;
pub mod outbox;
mod schema;
pub mod sla;
pub mod stats;
pub mod status;
pub mod sync;
pub mod tickets;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

pub use checkpoint::Checkpointer;
pub use messages::*;
pub use schema::SCHEMA_VERSION;
pub use status::{add_status_event, change_status};
pub use tickets::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database has schema version {found}, newer than this ticketd understands ({supported}); \
         run the newer ticketd or restore a backup"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("cannot create {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("database {0} does not exist (run `ticketd run` first)")]
    Missing(String),
    #[error(
        "database {path} has schema version {found}, older than this ticketd's ({supported}); \
         start `ticketd run` once to migrate it (commands that only read never do)"
    )]
    TooOld { path: String, found: i64, supported: i64 },
    #[error("ticket {0} does not exist")]
    NoSuchTicket(i64),
}

/// An open database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    ///
    /// The files are private to the service user and its group whatever the umask (docs/message-handling.md): a
    /// new database is created empty with mode 0640 before SQLite opens it (its -wal and -shm
    /// files take the database's mode and owner), owned like its folder when created by root;
    /// an existing one readable by others loses that.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir_all(dir)
                .map_err(|source| StoreError::Create { path: dir.display().to_string(), source })?;
        }
        match crate::files::create_private_file(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                for suffix in ["", "-wal", "-shm"] {
                    let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
                    if let Err(e) = crate::files::restrict(&file) {
                        tracing::warn!(file = %file.display(), error = %e, "cannot make the database private");
                    }
                }
            }
            Err(source) => return Err(StoreError::Create { path: path.display().to_string(), source }),
        }
        let mut conn = Connection::open(path)?;
        // Several processes share the file (the daemon and shell commands): wait for locks
        // rather than failing at once.
        conn.busy_timeout(Duration::from_secs(30))?;
        // Messages run to tens of KB: 8 KB pages halve the overflow chains and the log frames
        // they are written in. Only a new, empty database takes the setting (before WAL mode).
        conn.pragma_update(None, "page_size", 8192)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk (the log fsync'd) before it returns. Messages are moved out
        // of the INBOX right after their commit, so with NORMAL a power cut could lose the last
        // commits of mail that had already left the server's INBOX (docs/message-handling.md "Durability").
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Every statement of the pipeline stays prepared: parsing SQL would cost more than
        // running it.
        conn.set_prepared_statement_cache_capacity(256);
        // The query planner's stability guarantee: one plan per statement, never re-prepared
        // because a newly bound value might suggest another (with STAT4 that happened on every
        // binding and cost a third of a scheduler pass).
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// Opens an existing database for commands that only read (docs/commands.md): never creates one, never
    /// migrates one. A missing file, or a schema older or newer than this binary's, is an error
    /// that says so. The connection is read-only.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        let store = Store::open_to_copy(path)?;
        let conn = store.conn;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found, supported: SCHEMA_VERSION });
        }
        if found < SCHEMA_VERSION {
            return Err(StoreError::TooOld { path: path.display().to_string(), found, supported: SCHEMA_VERSION });
        }
        conn.set_prepared_statement_cache_capacity(256);
        Ok(Store { conn })
    }

    /// Opens an existing database read-only whatever its schema version, for `db backup` (a copy
    /// before an upgrade is what a backup is for). A missing file is an error that says so.
    pub fn open_to_copy(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let conn = read_only_connection(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        Ok(Store { conn })
    }

    /// Opens an existing database read-only as it is, for a look that can do without it
    /// (`explain`): no schema check, no migration, no waiting on locks. A missing file is an
    /// error that says so.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        Ok(Store { conn: read_only_connection(path)? })
    }

    /// Tunes a connection that delivers the outbox (and runs the scheduler beside it).
    pub fn tune_for_delivery(&self) -> Result<(), StoreError> {
        // The delivering connection commits a row per mail the relay accepted. What a power cut
        // could lose of those commits (NORMAL syncs the log at checkpoints, not at every commit)
        // is only the record that a mail went out: it is sent again, the same bytes and
        // Message-ID — the gap SMTP leaves anyway. Nothing on the IMAP server moves on them, so
        // the per-commit fsync that ingest needs would only halve the delivery rate.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(())
    }

    /// Tunes a connection that ingests mail. It leaves checkpoints to a [`Checkpointer`]
    /// thread, checkpointing by itself only once the log holds 64 MB (a bound should that
    /// thread fall behind); and its page cache holds a whole fetched batch (50 messages of a
    /// few dozen KB), so that no dirty page is spilled to the log before the commit.
    pub fn tune_for_ingest(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "cache_size", -8192)?;
        // Each message is stored on a savepoint of the batch's transaction (so that one that
        // does not fit on the disk can be left out): its statement journal stays in memory
        // instead of a temporary file per message.
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        self.conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        // A log that grew large is cut back when it is next reset.
        self.conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        Ok(())
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// A consistent copy of the database, safe while the daemon writes (SQLite `VACUUM INTO`).
    /// The target must not exist: it is created empty first, private (0640, owned like its
    /// folder when run as root), which SQLite accepts and keeps; it is fsync'd when written. On
    /// failure nothing is left at `target`.
    pub fn backup(&self, target: &Path) -> Result<(), StoreError> {
        let create = |source| StoreError::Create { path: target.display().to_string(), source };
        crate::files::create_private_file(target).map_err(create)?;
        let written = self
            .conn
            .execute("VACUUM INTO ?1", [target.to_string_lossy()])
            .map_err(StoreError::from)
            .and_then(|_| std::fs::File::open(target).and_then(|f| f.sync_all()).map_err(create))
            .and_then(|_| crate::files::sync_dir(folder_of(target)).map_err(create));
        if written.is_err() {
            let _ = std::fs::remove_file(target);
        }
        written
    }
}

fn read_only_connection(path: &Path) -> Result<Connection, StoreError> {
    use rusqlite::OpenFlags;
    Ok(Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?)
}

/// Runs `work` on a savepoint `name` of the caller's transaction: what it wrote stays when it
/// returns Ok and is undone when it returns Err, the transaction going on either way. `name`
/// is an SQL identifier chosen by the caller, never input. The outer Result is the store's,
/// the inner one `work`'s.
pub fn on_savepoint<T, E>(
    conn: &Connection,
    name: &str,
    work: impl FnOnce() -> Result<T, E>,
) -> Result<Result<T, E>, StoreError> {
    conn.execute_batch(&format!("SAVEPOINT {name}"))?;
    let done = work();
    match &done {
        Ok(_) => conn.execute_batch(&format!("RELEASE {name}"))?,
        Err(_) => conn.execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"))?,
    }
    Ok(done)
}

/// The folder a file is in ("." for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_and_refuses_newer_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        let v: i64 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = store.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        store.conn().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(store);
        let err = Store::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer than this ticketd"), "{err}");
        // Opening again at the same version is a no-op.
        let store2 = {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION).unwrap();
            drop(c);
            Store::open(&path).unwrap()
        };
        drop(store2);
    }

    #[test]
    fn readers_never_create_or_migrate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let err = Store::open_existing(&path).err().unwrap();
        assert_eq!(err.to_string(), format!("database {} does not exist (run `ticketd run` first)", path.display()));
        assert!(!path.exists());
        // An older schema is refused, not migrated.
        drop(Store::open(&path).unwrap());
        Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION - 1).unwrap();
        let err = Store::open_existing(&path).err().unwrap();
        assert!(err.to_string().contains("older than this ticketd"), "{err}");
        let v: i64 = Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION - 1);
        Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION).unwrap();
        let store = Store::open_existing(&path).unwrap();
        let n: i64 = store.conn().query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
        // Read-only: nothing can be written through it.
        assert!(store.conn().execute("DELETE FROM tickets", []).is_err());
    }

    #[test]
    fn the_database_and_its_backup_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db/t.db");
        let store = Store::open(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path) & 0o007, 0);
        assert_eq!(mode(&dir.path().join("db")), 0o750);
        let backup = dir.path().join("backup.db");
        // As `db backup` does it: read-only, beside the daemon's connection.
        Store::open_to_copy(&path).unwrap().backup(&backup).unwrap();
        assert_eq!(mode(&backup), 0o640);
        let copy = Connection::open(&backup).unwrap();
        let v: i64 = copy.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        // An existing target is refused and left alone.
        assert!(store.backup(&backup).is_err());
        assert!(backup.exists());
        // A database left world-readable by an older ticketd is made private when opened.
        drop(store);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&path).unwrap());
        assert_eq!(mode(&path), 0o640);
    }
}
