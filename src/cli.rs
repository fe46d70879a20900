//! The command line (docs/commands.md). Each subcommand's doc comment is its help text.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use ticketd::actions::Action;
use ticketd::clock::{Clock, FixedClock, SystemClock};
use ticketd::config::{Config, LogFormat};
use ticketd::daemon;
use ticketd::present;
use ticketd::rules::Rules;
use ticketd::store::{self, Store};

#[derive(Parser)]
#[command(name = "ticketd", version, about = "Turns shared IMAP mailboxes into acknowledged, threaded tickets")]
pub struct Args {
    /// The configuration file.
    #[arg(long, global = true, env = "TICKETD_CONFIG", default_value = "/etc/ticketd/config.toml")]
    config: PathBuf,
    /// The clock (RFC 3339) for SLA decisions, events and tickets changed from the shell, for
    /// dry runs and tests; the system clock when absent.
    #[arg(long, global = true, value_parser = parse_time)]
    now: Option<DateTime<Utc>>,
    /// Log format, overriding `[log] format`: auto (plain lines with syslog priorities under
    /// systemd's journal, text otherwise), text, or json (one object per line, for shippers).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: every mailbox, the scheduler and the outbox, until SIGTERM or SIGINT.
    /// SIGHUP reloads the rules.
    Run {
        /// One full pass, then exit (status 1 if any mailbox failed).
        #[arg(long)]
        once: bool,
        /// With --once: store and queue, but leave the outbox for later (a backlog caught up
        /// while the relay is known to be down; benchmarks of the ingest alone).
        #[arg(long, requires = "once")]
        no_send: bool,
    },
    /// Validate config.toml and every rules file; print a summary.
    CheckConfig,
    /// Explain and test the routing rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// List, show and act on tickets.
    Tickets {
        #[command(subcommand)]
        command: TicketsCommand,
    },
    /// Messages held as spam.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Customers and their history.
    Customers {
        #[command(subcommand)]
        command: CustomersCommand,
    },
    /// KPIs per department, agent and customer domain over a period (default: the last 30 days).
    Stats {
        /// First day (YYYY-MM-DD), in each department calendar's zone.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day, included.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Print the manual page ticketd(1), in roff, made from these very definitions.
    #[command(hide = true)]
    Man,
    /// Print shell completions: bash, zsh, fish, elvish or powershell.
    Completions { shell: clap_complete::Shell },
}

impl Args {
    /// Whether this runs the daemon (`run`, not a one-shot command).
    pub fn is_daemon(&self) -> bool {
        matches!(self.command, Command::Run { .. })
    }
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Explain what would happen to a message; writes nothing.
    Test {
        /// The message, as a .eml file.
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// The mailbox it arrives in (default: the first configured).
        #[arg(long)]
        mailbox: Option<String>,
        /// As if read from the mailbox's sent folder.
        #[arg(long)]
        sent: bool,
    },
}

#[derive(Subcommand)]
enum TicketsCommand {
    /// Tickets by status, those awaiting staff first, then newest first.
    List {
        /// new, open, waiting, closed or all (default: all but closed; all includes tickets
        /// opened by automatic mail).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        department: Option<String>,
        /// Include tickets opened by automatic mail (auto-replies, bounces, notifications).
        #[arg(long)]
        automatic: bool,
        #[arg(long)]
        json: bool,
    },
    /// One ticket with its messages and events.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Assign a ticket to a staff member (an address or a unique local part such as bob).
    Assign {
        id: i64,
        agent: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Close a ticket.
    Close {
        id: i64,
        #[arg(long)]
        by: Option<String>,
    },
    /// Reopen a closed or waiting ticket.
    Reopen {
        id: i64,
        #[arg(long)]
        by: Option<String>,
    },
    /// Mark a ticket as waiting on the customer (pauses the resolution clock); with --until, a
    /// snooze: then it comes back to staff unless the customer wrote.
    Wait {
        id: i64,
        /// An RFC 3339 time, a date (the start of its working hours) or working time from now
        /// ("2d", "4h").
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        by: Option<String>,
    },
    /// Promise the customer a resolution time and tell them (in their language).
    Eta {
        id: i64,
        /// An RFC 3339 time, a date (the end of its working hours) or working time from now
        /// ("2d", "4h").
        when: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Correct a ticket's requester (the customer it is for).
    Requester {
        id: i64,
        address: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Set a ticket's priority: urgent, high, normal or low.
    Priority {
        id: i64,
        priority: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Add an internal note to a ticket.
    Note {
        id: i64,
        text: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Log time worked on a ticket: 45m, 1h30m, 1.5h.
    Time {
        id: i64,
        duration: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Merge a ticket into another: its messages, time and threading move there; it is closed.
    Merge {
        id: i64,
        into_id: i64,
        #[arg(long)]
        by: Option<String>,
    },
    /// Move a ticket to another department (its SLA clocks are recomputed).
    Department {
        id: i64,
        department: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Log a ticket by hand (a phone call); the body is read from standard input.
    New {
        /// The customer's address (and name: "Anna <anna@customer.test>").
        #[arg(long)]
        from: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        priority: Option<String>,
        /// Do not acknowledge it to the customer.
        #[arg(long)]
        no_ack: bool,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// Messages held as spam.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Turn a held message into a ticket as if it had just arrived, and move it out of the junk
    /// folder to where ticketd puts what it has stored.
    Release { id: i64 },
}

#[derive(Subcommand)]
enum CustomersCommand {
    /// A customer's history: every ticket, open and closed.
    Show {
        address: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// A consistent copy of the database while the daemon runs (VACUUM INTO).
    Backup { path: PathBuf },
}

fn act(config: &Config, id: i64, action: Action, by: Option<String>, now: DateTime<Utc>) -> Result<()> {
    // The SLA clocks need the calendars; a rules directory that does not load is an error here,
    // since due times computed without it would be wrong.
    let rules = Rules::load(&config.tickets.rules_dir)?;
    let mut store = Store::open(&config.database.path)?;
    let summary = ticketd::actions::apply(&mut store, config, &rules, id, &action, by.as_deref(), now.timestamp())?;
    println!("{summary}");
    // Mail the action caused (an assignment notice) is tried once; the daemon delivers the rest.
    if store::outbox::pending_count(store.conn())? > 0 {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        if let Err(e) = runtime.block_on(daemon::deliver(config, &mut store, &ticketd::clock::FixedClock(now))) {
            eprintln!("warning: mail queued, not yet delivered: {e}");
        }
    }
    Ok(())
}

/// Colour for people at a terminal, never in pipes or with NO_COLOR set (no-color.org).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))
}

fn load(path: &Path) -> Result<(Config, Rules, Vec<String>)> {
    let config = Config::load(path)?;
    let rules = Rules::load(&config.tickets.rules_dir)?;
    let warnings = daemon::cross_check(&config, &rules)?;
    Ok((config, rules, warnings))
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

pub fn dispatch(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::CheckConfig => {
            let (config, rules, warnings) = load(&args.config)?;
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
            println!(
                "{}: OK — {} mailbox(es), {} department(s), {} rule(s), {} calendar(s), {} SLA polic{}",
                config.path.display(),
                config.mailboxes.len(),
                rules.departments.len(),
                rules.rules.len(),
                rules.calendars.len(),
                rules.slas.len(),
                if rules.slas.len() == 1 { "y" } else { "ies" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { once, no_send } => {
            let now = args.now;
            let (config, rules, warnings) = load(&args.config)?;
            init_logging(&config, args.log_format);
            for w in &warnings {
                tracing::warn!("{w}");
            }
            // Open (and migrate) the database before anything else, so a bad one stops start-up.
            Store::open(&config.database.path)
                .with_context(|| format!("database {}", config.database.path.display()))?;
            let clock: Arc<dyn Clock> = match now {
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
        Command::Rules { command: RulesCommand::Test { file, json, mailbox, sent } } => {
            let (config, rules, _) = load(&args.config)?;
            let raw = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let message = ticketd::parse::parse(&raw);
            let mb = match &mailbox {
                Some(name) => config
                    .mailboxes
                    .iter()
                    .find(|m| &m.name == name)
                    .with_context(|| format!("no mailbox {name:?} in the config"))?,
                None => &config.mailboxes[0],
            };
            let tags = ticketd::thread::TagMatcher::new(&config.tickets.tag_prefix);
            let own = daemon::own_addresses(&config, &rules);
            // With a live scanner configured, ask it too: the explanation must be the truth.
            let scanner = ticketd::scan::Scanner::from_config(&config.spam);
            let scan = match &scanner {
                Some(s) if !sent => {
                    Some(tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(s.scan(&raw)))
                }
                _ => None,
            };
            let pipeline = ticketd::pipeline::Pipeline {
                config: &config,
                rules: &rules,
                tags: &tags,
                own_addresses: &own,
                scanner: scanner.as_ref(),
            };
            // It only reads: a database that is missing (or has another schema) is never created
            // or migrated here, and then which ticket the message would join is not checked.
            if let Err(e) = Store::open_existing(&config.database.path) {
                eprintln!("warning: {e}; which ticket it would join is not checked");
            }
            let v =
                ticketd::explain::explain(&pipeline, &message, mb, sent, scan.as_ref(), chrono::Utc::now().timestamp());
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", present::for_terminal(&ticketd::explain::human(&v)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tickets { command } => {
            let config = Config::load(&args.config)?;
            let now = args.now.unwrap_or_else(Utc::now);
            // Reading tickets must work while someone fixes a broken rules edit.
            let rules = Rules::load(&config.tickets.rules_dir).unwrap_or_else(|e| {
                eprintln!("warning: {e}; times are shown in UTC");
                Rules::from_sources(&[], config.tickets.rules_dir.join("templates"))
                    .expect("an empty rule set is valid")
            });
            // Commands that only read never create or migrate the database (docs/commands.md).
            let reader = || Store::open_existing(&config.database.path);
            let prefix = &config.tickets.tag_prefix;
            match command {
                TicketsCommand::List { status, department, automatic, json } => {
                    let store = reader()?;
                    let statuses: Vec<&str> = match status.as_deref() {
                        None => vec!["new", "open", "waiting"],
                        Some("all") => vec![],
                        Some(s @ ("new" | "open" | "waiting" | "closed")) => vec![s],
                        Some(other) => {
                            bail!("unknown status {other:?}: use new, open, waiting, closed or all")
                        }
                    };
                    let filter = store::TicketFilter {
                        statuses: &statuses,
                        department: department.as_deref(),
                        automatic: automatic || status.as_deref() == Some("all"),
                    };
                    let tickets = store::list_tickets(store.conn(), &filter)?;
                    if json {
                        let list: Vec<_> = tickets.iter().map(|t| present::ticket_json(t, &rules, prefix)).collect();
                        println!("{}", serde_json::to_string_pretty(&list)?);
                    } else {
                        print!("{}", present::ticket_table(&tickets, &rules, prefix, colour(), now.timestamp()));
                    }
                }
                TicketsCommand::Assign { id, agent, by } => act(&config, id, Action::Assign(agent), by, now)?,
                TicketsCommand::Close { id, by } => act(&config, id, Action::Close, by, now)?,
                TicketsCommand::Reopen { id, by } => act(&config, id, Action::Reopen, by, now)?,
                TicketsCommand::Wait { id, until, by } => act(&config, id, Action::Wait(until), by, now)?,
                TicketsCommand::Eta { id, when, by } => act(&config, id, Action::Eta(when), by, now)?,
                TicketsCommand::Requester { id, address, by } => act(&config, id, Action::Requester(address), by, now)?,
                TicketsCommand::Note { id, text, by } => act(&config, id, Action::Note(text), by, now)?,
                TicketsCommand::Time { id, duration, by } => {
                    let minutes = ticketd::commands::parse_minutes(&duration).map_err(anyhow::Error::msg)?;
                    act(&config, id, Action::Time(minutes), by, now)?
                }
                TicketsCommand::Merge { id, into_id, by } => act(&config, id, Action::Merge(into_id), by, now)?,
                TicketsCommand::Department { id, department, by } => {
                    act(&config, id, Action::Department(department), by, now)?
                }
                TicketsCommand::New { from, subject, department, priority, no_ack, by } => {
                    let mut body = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut body).context("reading the body")?;
                    let priority = match priority.as_deref() {
                        Some(p) => Some(
                            ticketd::rules::Priority::parse(p)
                                .with_context(|| format!("unknown priority {p:?}: use urgent, high, normal or low"))?,
                        ),
                        None => None,
                    };
                    let rules = Rules::load(&config.tickets.rules_dir)?;
                    let by = by.map(|b| ticketd::actions::resolve_agent(&config.staff, &b)).transpose()?;
                    let mut store = Store::open(&config.database.path)?;
                    let own = daemon::own_addresses(&config, &rules);
                    let tags = ticketd::thread::TagMatcher::new(&config.tickets.tag_prefix);
                    let pipeline = ticketd::pipeline::Pipeline {
                        config: &config,
                        rules: &rules,
                        tags: &tags,
                        own_addresses: &own,
                        scanner: None,
                    };
                    let manual = ticketd::pipeline::ByHand {
                        from: &from,
                        subject: &subject,
                        body: &body,
                        department: department.as_deref(),
                        priority,
                        ack: !no_ack,
                        by: by.as_deref(),
                    };
                    let ticket = ticketd::pipeline::file_by_hand(&mut store, &pipeline, &manual, now)?;
                    println!("ticket {ticket} opened");
                    if store::outbox::pending_count(store.conn())? > 0 {
                        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                        let clock = ticketd::clock::FixedClock(now);
                        if let Err(e) = runtime.block_on(daemon::deliver(&config, &mut store, &clock)) {
                            eprintln!("warning: mail queued, not yet delivered: {e}");
                        }
                    }
                }
                TicketsCommand::Priority { id, priority, by } => {
                    let Some(p) = ticketd::rules::Priority::parse(&priority) else {
                        bail!("unknown priority {priority:?}: use urgent, high, normal or low")
                    };
                    act(&config, id, Action::Priority(p), by, now)?
                }
                TicketsCommand::Show { id, json } => {
                    let store = reader()?;
                    let Some(t) = store::get_ticket(store.conn(), id)? else { bail!("ticket {id} does not exist") };
                    let zone = rules.department_zone(&t.department);
                    let messages = store::messages_of(store.conn(), id)?;
                    let events = store::events_of(store.conn(), id)?;
                    if json {
                        let mut v = present::ticket_json(&t, &rules, prefix);
                        v["messages"] = messages.iter().map(|m| present::message_json(m, zone)).collect();
                        v["events"] = events.iter().map(|e| present::event_json(e, zone)).collect();
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    } else {
                        print!("{}", present::ticket_text(&t, &messages, &events, zone, prefix));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Quarantine { command: QuarantineCommand::List { json } } => {
            let config = Config::load(&args.config)?;
            let store = Store::open_existing(&config.database.path)?;
            let held = store::quarantine(store.conn())?;
            if json {
                let list: Vec<_> = held
                    .iter()
                    .map(|q| {
                        serde_json::json!({
                            "id": q.id, "mailbox": q.mailbox, "from": q.from, "subject": q.subject,
                            "received_at": present::time_in(chrono_tz::UTC, q.received_at), "score": q.score, "reasons": q.reasons,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for q in &held {
                    println!(
                        "{:>6}  {}  {:<30}  {}  ({})",
                        q.id,
                        present::time_in(chrono_tz::UTC, q.received_at),
                        present::for_cell(q.from.as_deref().unwrap_or("?")),
                        present::for_cell(&q.subject),
                        present::for_cell(&q.reasons.join("; "))
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Quarantine { command: QuarantineCommand::Release { id } } => {
            let (config, rules, _) = load(&args.config)?;
            let mut store = Store::open(&config.database.path)?;
            let tags = ticketd::thread::TagMatcher::new(&config.tickets.tag_prefix);
            let own = daemon::own_addresses(&config, &rules);
            let pipeline = ticketd::pipeline::Pipeline {
                config: &config,
                rules: &rules,
                tags: &tags,
                own_addresses: &own,
                scanner: None,
            };
            let released = ticketd::pipeline::release(&mut store, &pipeline, id, args.now.unwrap_or_else(Utc::now))?;
            println!("message {id} released as ticket {}", released.ticket);
            let mb = config.mailboxes.iter().find(|m| m.name == released.mailbox).context("mailbox vanished")?;
            let target = match &mb.after {
                ticketd::config::AfterAction::Move(folder) => folder.clone(),
                _ => mb.folders[0].clone(),
            };
            let rt = runtime()?;
            rt.block_on(async {
                match &released.message_id {
                    Some(mid) => {
                        match ticketd::mailbox::move_by_message_id(
                            mb,
                            &config.database.data_dir,
                            &mb.junk_folder,
                            mid,
                            &target,
                        )
                        .await
                        {
                            Ok(true) => println!("moved from {} to {target}", mb.junk_folder),
                            Ok(false) => eprintln!("warning: not found in {} (moved already?)", mb.junk_folder),
                            Err(e) => eprintln!("warning: could not move it out of {}: {e}", mb.junk_folder),
                        }
                    }
                    None => eprintln!("warning: it has no Message-ID; move it out of {} by hand", mb.junk_folder),
                }
                // Shell commands that cause mail try delivery once; the daemon delivers the rest.
                if let Err(e) = daemon::deliver(&config, &mut store, &SystemClock).await {
                    eprintln!("warning: acknowledgement queued, not yet delivered: {e}");
                }
            });
            Ok(ExitCode::SUCCESS)
        }
        Command::Customers { command: CustomersCommand::Show { address, json } } => {
            let config = Config::load(&args.config)?;
            let rules = Rules::load(&config.tickets.rules_dir).unwrap_or_else(|_| {
                Rules::from_sources(&[], config.tickets.rules_dir.join("templates"))
                    .expect("an empty rule set is valid")
            });
            let store = Store::open_existing(&config.database.path)?;
            let address = address.trim().to_ascii_lowercase();
            let tickets = store::tickets_of_requester(store.conn(), &address)?;
            let closed = tickets.iter().filter(|t| t.status == "closed").count();
            let bounce = store::addresses::last_bounce(store.conn(), &address)?;
            let bounce_time = |at: i64| {
                chrono::DateTime::from_timestamp(at, 0).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            };
            if json {
                let v = serde_json::json!({
                    "address": address,
                    "tickets": tickets.iter().map(|t| present::ticket_json(t, &rules, &config.tickets.tag_prefix)).collect::<Vec<_>>(),
                    "open": tickets.len() - closed,
                    "closed": closed,
                    "last_bounce": bounce.as_ref().map(|(at, detail)| serde_json::json!({
                        "at": bounce_time(*at),
                        "report": detail,
                    })),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}: {} open, {closed} closed", present::for_cell(&address), tickets.len() - closed);
                if let Some((at, detail)) = &bounce {
                    println!("last bounce: {} ({})", bounce_time(*at).unwrap_or_default(), present::for_cell(detail));
                }
                let now = args.now.unwrap_or_else(Utc::now).timestamp();
                print!("{}", present::ticket_table(&tickets, &rules, &config.tickets.tag_prefix, colour(), now));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { from, to, json, csv } => {
            let config = Config::load(&args.config)?;
            let rules = Rules::load(&config.tickets.rules_dir)?;
            let store = Store::open_existing(&config.database.path)?;
            let today = args.now.unwrap_or_else(Utc::now).date_naive();
            let to = to.unwrap_or(today);
            let from = from.unwrap_or(to - chrono::Duration::days(29));
            if from > to {
                bail!("--from {from} is after --to {to}");
            }
            let stats = ticketd::stats::compute(store.conn(), &rules, from, to)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else if csv {
                print!("{}", ticketd::stats::csv(&stats));
            } else {
                print!("{}", present::for_terminal(&ticketd::stats::human(&stats)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Args as clap::CommandFactory>::command()).render(&mut page)?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut command = <Args as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "ticketd", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Db { command: DbCommand::Backup { path } } => {
            let config = Config::load(&args.config)?;
            // Read-only and whatever its schema version: a copy before an upgrade is the point.
            let store = Store::open_to_copy(&config.database.path)?;
            if path.symlink_metadata().is_ok() {
                bail!("{} exists already; choose a new file", path.display());
            }
            // Written private (0640) whatever the umask, and owned like its folder under root.
            store.backup(&path)?;
            println!("backup written to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
