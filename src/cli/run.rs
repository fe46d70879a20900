//! `run` (the daemon, or one pass with `--once`) and `check-config`: loading and checking the
//! configuration and the rules, and the logging the daemon writes. What the daemon does lives in
//! `ticketd::daemon`; this file never decides anything about mail.

use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use anyhow::{Context as _, Result};

use ticketd::clock::{Clock, FixedClock, SystemClock};
use ticketd::config::{Config, LogFormat};
use ticketd::daemon;
use ticketd::store::Store;

use super::{load_checked, output, Args};

/// `check-config`: the configuration and every rules file load and agree; warnings on stderr.
pub fn check_config(args: &Args) -> Result<()> {
    let (config, rules, warnings) = load_checked(&args.config)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    for m in &config.mailboxes {
        if let ticketd::config::Credentials::Password { password, .. } = &m.credentials {
            if let Err(e) = password.read() {
                eprintln!("warning: mailbox {:?}: {e}", m.name);
            }
        }
    }
    output::config_summary(&config, &rules);
    Ok(())
}

/// `run`: the daemon until a signal stops it, or one pass (`--once`), whose status is 1 when a
/// mailbox or the outbox failed.
pub fn run(args: &Args, once: bool, no_send: bool) -> Result<ExitCode> {
    let (config, rules, warnings) = load_checked(&args.config)?;
    init_logging(&config, args.log_format);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    // Open (and migrate) the database before anything else, so a bad one stops start-up.
    Store::open(&config.database.path).with_context(|| format!("database {}", config.database.path.display()))?;
    let clock: Arc<dyn Clock> = match args.now {
        Some(t) => Arc::new(FixedClock(t)),
        None => Arc::new(SystemClock),
    };
    let rt = runtime()?;
    if once {
        let report = rt.block_on(daemon::run_once(&config, &rules, clock.as_ref(), !no_send));
        for (name, r) in &report.mailboxes {
            tracing::info!(
                mailbox = %name, fetched = r.fetched, new_tickets = r.new_tickets, joined = r.joined,
                duplicates = r.duplicates, spam = r.spam, skipped_old = r.skipped_old, "pass done"
            );
        }
        for (name, e) in &report.failures {
            eprintln!("ticketd: mailbox {name:?}: {e}");
        }
        if let Some(e) = &report.delivery_error {
            eprintln!("ticketd: outbox: {e}");
        }
        let failed = !report.failures.is_empty() || report.delivery_error.is_some();
        return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    let config = Arc::new(config);
    let shared = Arc::new(RwLock::new(Arc::new(rules)));
    rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        daemon::spawn_rules_watcher(config.clone(), shared.clone(), stop_rx.clone());
        daemon::spawn_signal_handlers(config.clone(), shared.clone(), stop_tx)
            .context("cannot install signal handlers")?;
        tracing::info!(mailboxes = config.mailboxes.len(), "ticketd running");
        daemon::run(config, shared, clock, stop_rx).await;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The multi-threaded runtime of the daemon and of shell commands that talk to a server.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Under journald: each line starts with its syslog priority (`<3>` error ... `<7>` debug),
/// which the journal turns into the entry's PRIORITY, and carries no timestamp of its own (the
/// journal has one).
struct JournalLines<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for JournalLines<F>
where
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}

fn init_logging(config: &Config, format: Option<LogFormat>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TICKETD_LOG")
        .unwrap_or_else(|_| EnvFilter::new(&config.log.level))
        // The IMAP library traces whole commands, LOGIN passwords and tokens included: never.
        .add_directive("async_imap=info".parse().expect("a valid directive"))
        .add_directive("imap_proto=info".parse().expect("a valid directive"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let _ = match format.unwrap_or(config.log.format) {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Auto if under_journald => builder
            .with_ansi(false)
            .event_format(JournalLines(tracing_subscriber::fmt::format().without_time().with_ansi(false)))
            .try_init(),
        _ => builder.try_init(),
    };
}
