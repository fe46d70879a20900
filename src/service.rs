//! Service: ticketd's side of the systemd notify protocol (Type=notify) — READY once the
//! mailbox tasks run, a STATUS line people see in `systemctl status` ("3 mailboxes, 12 open
//! tickets, outbox 0"), WATCHDOG pings while the daemon can still reach its database, RELOADING
//! around a rules reload and STOPPING on the way out.
//!
//! Without NOTIFY_SOCKET (not under systemd) every call is a no-op. It never decides anything
//! about mail; a failed notification is logged and ignored.

use std::time::Duration;

use sd_notify::NotifyState;

use crate::config::Config;
use crate::store::Store;

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// The one-line status: mailboxes, open tickets, outbox depth.
pub fn status_line(config: &Config, store: &Store) -> Result<String, crate::store::StoreError> {
    let open = crate::store::open_ticket_count(store.conn())?;
    let outbox = crate::store::outbox::pending_count(store.conn())?;
    let mailboxes = config.mailboxes.len();
    Ok(format!(
        "{mailboxes} mailbox{}, {open} open ticket{}, outbox {outbox}",
        if mailboxes == 1 { "" } else { "es" },
        if open == 1 { "" } else { "s" }
    ))
}

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn reloading() {
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        send(&[NotifyState::Reloading, now]);
    }
}

pub fn reloaded() {
    send(&[NotifyState::Ready]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Pings the watchdog (at half its interval) with a fresh status line, as long as the database
/// answers: a daemon that can no longer reach it gets restarted by systemd.
pub async fn watchdog(config: std::sync::Arc<Config>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let interval = sd_notify::watchdog_enabled().map(|d| d / 2).unwrap_or(Duration::from_secs(30));
    let mut store: Option<Store> = None;
    loop {
        if store.is_none() {
            store = Store::open(&config.database.path).ok();
        }
        match store.as_ref().map(|s| status_line(&config, s)) {
            Some(Ok(status)) => {
                let mut states = vec![NotifyState::Status(&status)];
                if sd_notify::watchdog_enabled().is_some() {
                    states.push(NotifyState::Watchdog);
                }
                send(&states);
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "database check failed; not pinging the watchdog");
                store = None;
            }
            None => tracing::error!("cannot open the database; not pinging the watchdog"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
