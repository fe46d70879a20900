//! The SQLite store: tickets, messages, events, attachments, folder checkpoints and the outbox.
//! One database file in WAL mode with foreign keys on; the schema is migrated on open.
//!
//! This module owns every SQL statement. It never talks to the network and never decides policy:
//! callers open a transaction, call the small functions here inside it, and commit.

pub mod addresses;
mod checkpoint;
pub mod outbox;
mod schema;
pub mod sla;
pub mod sync;
pub mod tickets;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

pub use checkpoint::Checkpointer;
pub use schema::SCHEMA_VERSION;
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
    #[error("ticket {0} does not exist")]
    NoSuchTicket(i64),
}

/// An open database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::Create { path: dir.display().to_string(), source })?;
        }
        let mut conn = Connection::open(path)?;
        // Several processes share the file (the daemon and shell commands): wait for locks
        // rather than failing at once.
        conn.busy_timeout(Duration::from_secs(30))?;
        // Messages run to tens of KB: 8 KB pages halve the overflow chains and the log frames
        // they are written in. Only a new, empty database takes the setting (before WAL mode).
        conn.pragma_update(None, "page_size", 8192)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across process crashes in WAL mode; only an OS crash may lose the
        // last commits, and then the IMAP checkpoint is lost with them, so mail is fetched again.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
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

    /// Tunes a connection that ingests mail. It leaves checkpoints to a [`Checkpointer`]
    /// thread, checkpointing by itself only once the log holds 64 MB (a bound should that
    /// thread fall behind); and its page cache holds a whole fetched batch (50 messages of a
    /// few dozen KB), so that no dirty page is spilled to the log before the commit.
    pub fn tune_for_ingest(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "cache_size", -8192)?;
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
    pub fn backup(&self, target: &Path) -> Result<(), StoreError> {
        self.conn.execute("VACUUM INTO ?1", [target.to_string_lossy()])?;
        Ok(())
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
}
