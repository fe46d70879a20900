//! Signals and reloads: SIGTERM and SIGINT stop the daemon, SIGHUP reloads the rules (and
//! retries mailboxes that failed for a reason a person had to fix); a change under the rules
//! directory reloads them too. A rules file with a mistake is refused with file:line and the old
//! rules keep running.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::{cross_check, SharedRules};
use crate::config::{Config, ConfigError};
use crate::rules::Rules;

/// Reloads the rules; a broken set is refused and the old one keeps running.
pub fn reload_rules(config: &Config, shared: &SharedRules) -> Result<(), ConfigError> {
    crate::service::reloading();
    // Whatever the outcome, the daemon runs on (with the old rules if the new ones are broken).
    struct Ready;
    impl Drop for Ready {
        fn drop(&mut self) {
            crate::service::reloaded();
        }
    }
    let _ready = Ready;
    let fresh = Rules::load(&config.tickets.rules_dir)?;
    cross_check(config, &fresh)?;
    let count = fresh.rules.len();
    *shared.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
    tracing::info!(rules = count, "rules reloaded");
    Ok(())
}

/// Woken on SIGHUP: mailboxes waiting out a permanent failure try again now.
pub(super) fn retry_now() -> &'static Notify {
    static RETRY_NOW: std::sync::OnceLock<Notify> = std::sync::OnceLock::new();
    RETRY_NOW.get_or_init(Notify::new)
}

/// What the rules directory looks like now: every `*.toml` with its size and modification time.
fn rules_fingerprint(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .filter_map(|e| e.metadata().ok().map(|m| (e.path(), m.len(), m.modified().ok())))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Reloads the rules when a file under the rules directory changes (checked every two seconds,
/// which also works where inotify does not: network shares, bind mounts, editors that replace
/// files).
pub fn spawn_rules_watcher(config: Arc<Config>, rules: SharedRules, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let dir = config.tickets.rules_dir.clone();
        let mut seen = rules_fingerprint(&dir);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = stop.changed() => return,
            }
            let now = rules_fingerprint(&dir);
            if now != seen {
                seen = now;
                tracing::info!(dir = %dir.display(), "rules changed on disk; reloading");
                if let Err(e) = reload_rules(&config, &rules) {
                    tracing::error!(error = %e, "rules not reloaded; the old rules keep running");
                }
            }
        }
    });
}

/// Turns SIGTERM / SIGINT into the stop signal and SIGHUP into a rules reload (and a retry of
/// mailboxes that failed for a reason a person had to fix).
pub fn spawn_signal_handlers(
    config: Arc<Config>,
    rules: SharedRules,
    stop: watch::Sender<bool>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); let _ = stop.send(true); return; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); let _ = stop.send(true); return; }
                _ = hup.recv() => {
                    retry_now().notify_waiters();
                    if let Err(e) = reload_rules(&config, &rules) {
                        tracing::error!(error = %e, "rules not reloaded; the old rules keep running");
                    }
                }
            }
        }
    });
    Ok(())
}
