//! The WAL checkpointer: a thread of its own that copies committed pages from the write-ahead
//! log into the database file, so the connections that ingest mail never stop to do it.
//!
//! Copying into the growing database file (and its fsync) cost a fifth of the ingest's CPU when
//! SQLite did it inline at every 1,000 pages; here it runs beside the pipeline on the other core.
//! Writers keep a raised automatic checkpoint (([`super::Store::tune_for_ingest`])) only as a bound on
//! the log's size should this thread fall behind. It never writes a row.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// How often the log is copied into the database while mail is being written: often enough to
/// keep up with a bulk ingest, so the log can start over instead of growing until the writer
/// must checkpoint by itself. An idle daemon backs off to [`IDLE_INTERVAL`].
const BUSY_INTERVAL: Duration = Duration::from_millis(20);
const IDLE_INTERVAL: Duration = Duration::from_secs(5);

/// Checkpoints the database at a fixed interval until dropped.
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` (which must already exist in WAL mode).
    pub fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                let (lock, wake) = &*signal;
                let Ok(mut stopped) = lock.lock() else { return };
                let mut interval = BUSY_INTERVAL;
                let mut copied_before = -1;
                loop {
                    stopped = match wake.wait_timeout(stopped, interval) {
                        Ok((guard, _)) => guard,
                        Err(_) => return,
                    };
                    if *stopped {
                        return;
                    }
                    // PASSIVE never waits for readers or writers: it copies what it can. The
                    // answer is (busy, frames in the log, frames copied).
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2)) {
                        Ok(copied) if copied != copied_before => {
                            copied_before = copied;
                            interval = BUSY_INTERVAL;
                        }
                        Ok(_) => interval = (interval * 2).min(IDLE_INTERVAL),
                        Err(e) => tracing::debug!(error = %e, "WAL checkpoint skipped"),
                    }
                }
            })
            .map_err(|e| StoreError::Create { path: "wal-checkpoint thread".into(), source: e })?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        if let Ok(mut stopped) = lock.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn the_log_is_copied_into_the_database_without_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        store.tune_for_ingest().unwrap();
        let _checkpointer = Checkpointer::start(&path).unwrap();
        store.conn().execute_batch("CREATE TABLE filler (x BLOB)").unwrap();
        for _ in 0..200 {
            store.conn().execute("INSERT INTO filler VALUES (zeroblob(8192))", []).unwrap();
        }
        let size = || std::fs::metadata(&path).unwrap().len();
        // 200 × 8 KB is far below the writer's own threshold: only the thread can have copied it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() < 1_600_000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(size() >= 1_600_000, "database file is {} bytes", size());
    }
}
