//! The daemon: one task per mailbox, the outbox deliverer, signal handling and a clean stop.
//! `run_once` is one full pass of the same parts, for `run --once` and tests.
//!
//! Each mailbox task owns its own database connection and IMAP session, so a mailbox whose
//! server is down, slow or refusing logins never delays the others. Stopping is safe at any
//! await point: a message is committed whole or not at all, so cancelling a pass loses nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::clock::Clock;
use crate::config::{Config, ConfigError, MailboxConfig};
use crate::mailbox::{self, MailboxClient, MailboxReport};
use crate::outbox::{self, Mailer};
use crate::pipeline::Pipeline;
use crate::rules::Rules;
use crate::store::{self, Store};

mod signals;
use signals::retry_now;
pub use signals::{reload_rules, spawn_rules_watcher, spawn_signal_handlers};

pub use crate::rules::SharedRules;

/// Checks what config.toml and the rules say about each other.
pub fn cross_check(config: &Config, rules: &Rules) -> Result<Vec<String>, ConfigError> {
    let mut warnings = config.staff.warnings();
    warnings.extend(rules.warnings.iter().cloned());
    for m in &config.mailboxes {
        let Some(dept) = rules.department(&m.department) else {
            return Err(ConfigError {
                file: config.path.clone(),
                line: m.line,
                message: format!(
                    "mailbox {:?}: department {:?} is not defined in {}",
                    m.name,
                    m.department,
                    config.tickets.rules_dir.display()
                ),
            });
        };
        if let Some(from) = &dept.from {
            if !config.mailboxes.iter().any(|x| x.address == from.address) {
                warnings.push(format!(
                    "department {:?} sends from {} which is not a configured mailbox: customers' replies would be lost",
                    dept.name, from.address
                ));
            }
        }
    }
    Ok(warnings)
}

/// What one pass did, and which mailboxes failed.
#[derive(Debug, Default)]
pub struct PassReport {
    pub mailboxes: Vec<(String, MailboxReport)>,
    pub failures: Vec<(String, String)>,
    pub delivery: outbox::DeliveryReport,
    pub scheduler: crate::scheduler::SchedulerReport,
    pub delivery_error: Option<String>,
}

pub use crate::pipeline::own_addresses;

async fn sync_one(
    config: &Config,
    rules: &Rules,
    mailbox: &MailboxConfig,
    clock: &dyn Clock,
) -> Result<MailboxReport, mailbox::MailboxError> {
    let mut store = Store::open(&config.database.path)?;
    store.tune_for_ingest()?;
    let parts = crate::pipeline::Parts::new(config, rules);
    let scanner = crate::scan::Scanner::from_config(&config.spam);
    let pipeline = Pipeline::new(config, rules, &parts, scanner.as_ref());
    let result = mailbox::sync_mailbox(mailbox, &mut store, &pipeline, clock).await;
    if let Err(e) = &result {
        alert_on_failure(config, &store, mailbox, e, clock.now());
    }
    result
}

/// The WAL checkpointer for this process, if the database can be opened (when it cannot,
/// every pass reports that anyway).
fn start_checkpointer(config: &Config) -> Option<crate::store::Checkpointer> {
    let _migrated = Store::open(&config.database.path).ok()?;
    crate::store::Checkpointer::start(&config.database.path)
        .map_err(|e| tracing::warn!(error = %e, "no background WAL checkpoints"))
        .ok()
}

/// Failures a person must fix are mailed to the admins: above all an OAuth2 refresh that no
/// longer works, which would otherwise stop a mailbox silently.
fn alert_on_failure(
    config: &Config,
    store: &Store,
    mailbox: &MailboxConfig,
    error: &mailbox::MailboxError,
    now: chrono::DateTime<chrono::Utc>,
) {
    let mailbox::MailboxError::Oauth(e) = error else {
        if error.is_permanent() {
            let subject = format!("mailbox {:?} cannot be read: {error}", mailbox.name);
            let body = format!(
                "ticketd cannot read mailbox {:?} ({}):\n\n  {error}\n\n\
                 New mail in this mailbox is not being read until this is fixed; ticketd tries again \
                 every {} minutes. Check the credentials, the certificate and the folder names in {}, \
                 then: ticketd check-config\n",
                mailbox.name,
                mailbox.address,
                PERMANENT_RETRY.as_secs() / 60,
                config.path.display()
            );
            let key = format!("mailbox-{}", mailbox.name);
            if let Err(err) = crate::alerts::raise(store, config, &key, &subject, &body, now) {
                tracing::error!(error = %err, "cannot queue the alert mail");
            }
        }
        return;
    };
    let subject = format!("mailbox {:?} cannot log in: OAuth2 token refresh failed", mailbox.name);
    let body = format!(
        "ticketd could not get an access token for mailbox {:?} ({}):\n\n  {e}\n\n\
         New mail in this mailbox is not being read. Renew the grant or the client secret \
         (see [mailbox.oauth2] in {}), then check with: ticketd check-config\n",
        mailbox.name,
        mailbox.address,
        config.path.display()
    );
    if let Err(err) = crate::alerts::raise(store, config, &format!("oauth-{}", mailbox.name), &subject, &body, now) {
        tracing::error!(error = %err, "cannot queue the alert mail");
    }
}

/// One full pass: every mailbox (concurrently), then the outbox, waiting for the SMTP answers.
pub async fn run_once(config: &Config, rules: &Rules, clock: &dyn Clock, send: bool) -> PassReport {
    let _checkpointer = start_checkpointer(config);
    let passes =
        config.mailboxes.iter().map(|m| async move { (m.name.clone(), sync_one(config, rules, m, clock).await) });
    let mut report = PassReport::default();
    for (name, result) in futures::future::join_all(passes).await {
        match result {
            Ok(r) => report.mailboxes.push((name, r)),
            Err(e) => {
                tracing::error!(mailbox = %name, error = %e, "mailbox pass failed");
                // What the person running the pass reads: the error's own words.
                report.failures.push((name, e.to_string()));
            }
        }
    }
    // SLA steps due now, then everything the pass queued goes out.
    let delivery = match Store::open(&config.database.path).and_then(|s| s.tune_for_delivery().map(|()| s)) {
        Ok(mut store) => {
            match crate::scheduler::run_due(&mut store, config, rules, clock.now()) {
                Ok(r) => report.scheduler = r,
                Err(e) => tracing::error!(error = %e, "SLA scheduler failed"),
            }
            if let Err(e) = crate::digest::send_if_due(&mut store, config, rules, clock.now()) {
                tracing::error!(error = %e, "digest failed");
            }
            if send {
                deliver(config, &mut store, clock).await
            } else {
                Ok(Default::default())
            }
        }
        Err(e) => Err(e.into()),
    };
    match delivery {
        Ok(d) => report.delivery = d,
        Err(e) => {
            tracing::error!(error = %e, "outbox delivery failed");
            report.delivery_error = Some(e.to_string());
        }
    }
    report
}

/// Delivers whatever is due in the outbox once (also for shell commands that cause mail).
pub async fn deliver(
    config: &Config,
    store: &mut Store,
    clock: &dyn Clock,
) -> Result<outbox::DeliveryReport, outbox::OutboxError> {
    if store::outbox::pending_count(store.conn())? == 0 {
        return Ok(Default::default());
    }
    let mailer = Mailer::new(&config.smtp, &config.database.data_dir)?;
    outbox::deliver_due(store, &mailer, clock).await
}

fn current_rules(shared: &SharedRules) -> Arc<Rules> {
    shared.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs the task `start` makes until it returns (it does when `stop` turns true). A panic in it
/// is logged as an error, counted (`ticketd_task_panics_total{task}`) and shown in `/healthz`
/// until the task's next good pass, and the task is started afresh (new connections, new
/// state) after `backoff(panics in a row)`; a task that ran ten minutes before panicking starts
/// the count again.
async fn supervise<F, Fut>(task: String, mut stop: watch::Receiver<bool>, backoff: fn(u32) -> Duration, mut start: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::FutureExt;
    let mut panics = 0u32;
    loop {
        let started = std::time::Instant::now();
        let Err(payload) = std::panic::AssertUnwindSafe(start()).catch_unwind().await else {
            return;
        };
        if *stop.borrow() {
            return;
        }
        if started.elapsed() > Duration::from_secs(600) {
            panics = 0;
        }
        let delay = backoff(panics);
        panics = panics.saturating_add(1);
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        crate::metrics::global().task_panicked(&task);
        tracing::error!(
            task = %task, panic = %message, restart_in_ms = delay.as_millis() as u64,
            "task panicked; restarting it"
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// How long a mailbox waits after a failure only a person can fix (a refused login, a missing
/// folder): retrying sooner only fills the server's log with refusals. SIGHUP (the admin fixed
/// it) retries at once.
const PERMANENT_RETRY: Duration = Duration::from_secs(15 * 60);

/// Doubling backoff with jitter for a failing mailbox or relay: about 1 s, doubling to 5 min.
fn retry_delay(failures: u32) -> Duration {
    let base = (1u64 << failures.min(9)).min(300);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    // Up to +25% so that many mailboxes on one restarted server do not reconnect in step.
    Duration::from_millis(base * 1000 + u64::from(nanos) % (base * 250 + 1))
}

/// How long one IDLE may last before it is re-issued: under the 29 minutes servers allow
/// (RFC 2177), and no longer than `poll_interval` when other folders must be polled too.
fn idle_span(mailbox: &MailboxConfig) -> Duration {
    let cap = Duration::from_secs(25 * 60);
    if mailbox.folders.len() > 1 || mailbox.sent_folder.is_some() {
        mailbox.poll_interval.0.min(cap)
    } else {
        cap
    }
}

async fn mailbox_task(
    config: Arc<Config>,
    rules: SharedRules,
    mailbox: MailboxConfig,
    clock: Arc<dyn Clock>,
    outbox_wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    let mut client = MailboxClient::new(mailbox.clone(), &config.database.data_dir);
    // One scanner per task, so that its memory of a failure spans the passes.
    let scanner = crate::scan::Scanner::from_config(&config.spam);
    let mut store: Option<Store> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let outcome = async {
            if store.is_none() {
                let opened = Store::open(&config.database.path)?;
                opened.tune_for_ingest()?;
                store = Some(opened);
            }
            let db = store.as_mut().expect("opened above");
            let rule_set = current_rules(&rules);
            let parts = crate::pipeline::Parts::new(&config, &rule_set);
            let pipeline = Pipeline::new(&config, &rule_set, &parts, scanner.as_ref());
            let result = client.pass(db, &pipeline, clock.as_ref()).await;
            if let Err(e) = &result {
                alert_on_failure(&config, db, &mailbox, e, clock.now());
            }
            result
        };
        let result = tokio::select! {
            r = outcome => r,
            _ = stop.changed() => return,
        };
        crate::metrics::global().pass(&mailbox.name, result.as_ref().ok().map(MailboxReport::counts).as_ref());
        match result {
            Ok(r) => {
                failures = 0;
                if r.fetched > 0 {
                    outbox_wake.notify_one();
                    tracing::info!(
                        mailbox = %mailbox.name, fetched = r.fetched, new_tickets = r.new_tickets, joined = r.joined,
                        duplicates = r.duplicates, spam = r.spam, "pass done"
                    );
                }
            }
            Err(e) => {
                // What passes by itself is retried soon; what a person must fix, rarely (the
                // admins were told, once).
                let delay = if e.is_permanent() { PERMANENT_RETRY } else { retry_delay(failures) };
                failures = failures.saturating_add(1);
                let label = crate::metrics::MailboxLabel { mailbox: mailbox.name.clone() };
                crate::metrics::global().reconnects.get_or_create(&label).inc();
                tracing::error!(
                    mailbox = %mailbox.name, error = %e, permanent = e.is_permanent(),
                    retry_in_ms = delay.as_millis() as u64, "mailbox pass failed"
                );
                store = None;
                // An alert may have been queued for the admins.
                outbox_wake.notify_one();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => continue,
                    _ = retry_now().notified() => continue,
                    _ = stop.changed() => return,
                }
            }
        }
        if client.can_idle() {
            let idle = client.idle(idle_span(&mailbox));
            tokio::select! {
                r = idle => if let Err(e) = r {
                    tracing::warn!(mailbox = %mailbox.name, error = %e, "IDLE ended with an error; reconnecting");
                    client.disconnect();
                },
                _ = stop.changed() => return,
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(mailbox.poll_interval.0) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

async fn outbox_task(config: Arc<Config>, clock: Arc<dyn Clock>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let mut failures = 0u32;
    let mut db: Option<Store> = None;
    loop {
        let attempt = async {
            if db.is_none() {
                let opened = Store::open(&config.database.path)?;
                opened.tune_for_delivery()?;
                db = Some(opened);
            }
            let store = db.as_mut().expect("opened above");
            deliver(&config, store, clock.as_ref()).await
        };
        let next = match attempt.await {
            Ok(_) => {
                failures = 0;
                crate::metrics::global().task_ok("outbox");
                let store = db.as_ref().expect("delivery opened it");
                if let Ok(pending) = store::outbox::pending_count(store.conn()) {
                    crate::metrics::global().outbox_pending.set(pending);
                }
                let due = store::outbox::next_due(store.conn()).ok().flatten();
                let now = clock.now().timestamp();
                Duration::from_secs(due.map(|d| (d - now).clamp(1, 300) as u64).unwrap_or(300))
            }
            Err(e) => {
                let delay = retry_delay(failures);
                failures = failures.saturating_add(1);
                tracing::error!(error = %e, retry_in = delay.as_secs(), "outbox delivery failed");
                db = None;
                delay
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Sleeps until the next SLA moment (at most a minute, so that changes made from the shell by
/// another process are seen), takes the steps due, and wakes the outbox for their mail.
async fn scheduler_task(
    config: Arc<Config>,
    rules: SharedRules,
    clock: Arc<dyn Clock>,
    outbox_wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut db: Option<Store> = None;
    loop {
        let mut sleep = Duration::from_secs(60);
        if db.is_none() {
            db = Store::open(&config.database.path).map_err(|e| tracing::error!(error = %e, "scheduler")).ok();
        }
        if let Some(store) = db.as_mut() {
            let rule_set = current_rules(&rules);
            match crate::digest::send_if_due(store, &config, &rule_set, clock.now()) {
                Ok(true) => outbox_wake.notify_one(),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "digest failed"),
            }
            match crate::scheduler::run_due(store, &config, &rule_set, clock.now()) {
                Ok(r) => {
                    crate::metrics::global().scheduled(&r.events());
                    crate::metrics::global().task_ok("scheduler");
                    if r.warnings + r.escalations + r.notices > 0 {
                        tracing::info!(
                            warnings = r.warnings,
                            escalations = r.escalations,
                            notices = r.notices,
                            breaches = r.breaches,
                            "SLA steps taken"
                        );
                        outbox_wake.notify_one();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "SLA scheduler failed; retrying");
                    db = None;
                }
            }
            if let Some(store) = db.as_ref() {
                if let Ok(Some(next)) = crate::scheduler::next_moment(store) {
                    let wait = (next - clock.now()).num_seconds().clamp(0, 60) as u64;
                    sleep = Duration::from_secs(wait);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Runs until `stop` turns true: every mailbox, the outbox, the SLA scheduler, and rule reloads
/// on SIGHUP.
pub async fn run(config: Arc<Config>, rules: SharedRules, clock: Arc<dyn Clock>, stop: watch::Receiver<bool>) {
    let wake = Arc::new(Notify::new());
    let _checkpointer = start_checkpointer(&config);
    if let Some(listen) = config.http_listen.clone() {
        let names = config.mailboxes.iter().map(|m| m.name.clone()).collect();
        // The rating links are served only while mail carries them.
        let rate = (!config.http_public_url.is_empty()).then(|| {
            Arc::new(crate::rating_page::RateContext::new(
                config.database.path.clone(),
                config.database.data_dir.clone(),
                config.tickets.tag_prefix.clone(),
                rules.clone(),
                clock.clone(),
            ))
        });
        tokio::spawn(crate::http::serve(listen, names, config.http_max_connections, rate, stop.clone()));
    }
    // Each task is supervised: one that panics is logged, counted, shown in /healthz and started
    // again after the usual backoff, never left silently gone.
    let mut tasks = tokio::task::JoinSet::new();
    for m in &config.mailboxes {
        let (config, rules, m, clock, wake, task_stop) =
            (config.clone(), rules.clone(), m.clone(), clock.clone(), wake.clone(), stop.clone());
        tasks.spawn(supervise(crate::metrics::mailbox_task(&m.name), stop.clone(), retry_delay, move || {
            mailbox_task(config.clone(), rules.clone(), m.clone(), clock.clone(), wake.clone(), task_stop.clone())
        }));
    }
    let outbox = {
        let (config, clock, wake, task_stop) = (config.clone(), clock.clone(), wake.clone(), stop.clone());
        tokio::spawn(supervise("outbox".into(), stop.clone(), retry_delay, move || {
            outbox_task(config.clone(), clock.clone(), wake.clone(), task_stop.clone())
        }))
    };
    let scheduler = {
        let (config, rules, clock, wake, task_stop) =
            (config.clone(), rules.clone(), clock.clone(), wake.clone(), stop.clone());
        tokio::spawn(supervise("scheduler".into(), stop.clone(), retry_delay, move || {
            scheduler_task(config.clone(), rules.clone(), clock.clone(), wake.clone(), task_stop.clone())
        }))
    };
    let status = Store::open(&config.database.path)
        .and_then(|s| crate::service::status_line(&config, &s))
        .unwrap_or_else(|e| format!("database: {e}"));
    crate::service::ready(&status);
    tracing::info!(status = %status, "ready");
    tokio::spawn(crate::service::watchdog(config.clone(), stop.clone()));
    while tasks.join_next().await.is_some() {}
    crate::service::stopping();
    let _ = scheduler.await;
    // The mailboxes have stopped; give the outbox a bounded grace period for mail in flight.
    if tokio::time::timeout(Duration::from_secs(10), outbox).await.is_err() {
        tracing::warn!("outbox still busy after 10 s; stopping anyway (unsent mail stays queued)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_task_is_restarted_counted_and_shown_in_healthz() {
        let (stop_tx, stop) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let name = "panicky-test";
        let task = crate::metrics::mailbox_task(name);
        let supervised = {
            let (runs, stop) = (runs.clone(), stop.clone());
            tokio::spawn(supervise(
                task.clone(),
                stop.clone(),
                |_| Duration::from_millis(20),
                move || {
                    let (runs, mut stop) = (runs.clone(), stop.clone());
                    async move {
                        let n = runs.fetch_add(1, Ordering::SeqCst);
                        if n < 2 {
                            panic!("test panic {n}");
                        }
                        // The third start behaves until it is told to stop.
                        let _ = stop.changed().await;
                    }
                },
            ))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(std::time::Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let metrics = crate::metrics::global();
        let panics = metrics.task_panics.get_or_create(&crate::metrics::TaskLabel { task: task.clone() }).get();
        assert_eq!(panics, 2);
        let (healthy, body) = metrics.health(&[name.to_string()]);
        assert!(!healthy, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["mailboxes"][0]["state"], crate::metrics::RESTARTING, "{body}");
        assert_eq!(body["status"], "degraded");
        // Its next good pass clears it.
        metrics.pass(name, Some(&MailboxReport::default().counts()));
        // (Not the overall status: the other test here makes the outbox panic meanwhile.)
        let (_, body) = metrics.health(&[name.to_string()]);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["mailboxes"][0]["up"], true, "{body}");
        assert!(body["mailboxes"][0].get("state").is_none(), "{body}");
        // The clean stop still works.
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(2), supervised).await.expect("stopped").unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_stop_during_the_backoff_ends_the_supervisor() {
        let (stop_tx, stop) = watch::channel(false);
        let supervised = tokio::spawn(supervise(
            "outbox".into(),
            stop,
            |_| Duration::from_secs(3600),
            || async {
                panic!("always");
            },
        ));
        // (The panic hook may take a while to print a backtrace.)
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (healthy, body) = crate::metrics::global().health(&[]);
            if !healthy && body.contains("\"tasks\"") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{body}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(2), supervised).await.expect("stopped").unwrap();
        crate::metrics::global().task_ok("outbox");
    }
}
