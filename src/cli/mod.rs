//! The command line (docs/commands.md): the clap definitions, each subcommand's doc comment its
//! help text, and `dispatch`, which hands each command to the file of its group.
//!
//! It owns parsing arguments, loading what a command needs (once, through [`Context`]), calling
//! the library and printing the result (all formatting in [`output`]). It must never hold
//! policy: what a ticket action does, how a message is filed, what counts in the statistics,
//! all live in the library, where the daemon and email commands share them. Commands that only
//! read never create or migrate a database; those that write check their arguments before they
//! open it, so a usage mistake creates nothing.

mod customers;
mod db;
mod man;
mod output;
mod quarantine;
mod rules;
mod run;
mod stats;
mod tickets;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use ticketd::config::{Config, LogFormat};
use ticketd::daemon;
use ticketd::rules::Rules;
use ticketd::store::Store;

use customers::CustomersCommand;
use db::DbCommand;
use quarantine::QuarantineCommand;
use rules::RulesCommand;
use tickets::TicketsCommand;

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

    /// The clock of a one-shot command: `--now`, else the system clock.
    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))
}

pub fn dispatch(args: Args) -> Result<ExitCode> {
    match &args.command {
        // The only command with an exit status of its own (a pass in which a mailbox failed).
        Command::Run { once, no_send } => return run::run(&args, *once, *no_send),
        Command::CheckConfig => run::check_config(&args),
        Command::Rules { command } => rules::dispatch(&args, command),
        Command::Tickets { command } => tickets::dispatch(&args, command),
        Command::Quarantine { command } => quarantine::dispatch(&args, command),
        Command::Customers { command } => customers::dispatch(&args, command),
        Command::Stats { from, to, json, csv } => stats::stats(&args, *from, *to, output::Format::of(*json, *csv)),
        Command::Db { command } => db::dispatch(&args, command),
        Command::Man => man::man(),
        Command::Completions { shell } => man::completions(*shell),
    }?;
    Ok(ExitCode::SUCCESS)
}

/// The configuration and the rules checked against each other, as the daemon loads them (`run`,
/// `check-config`, `rules test`, `quarantine release`), with the warnings of that check.
fn load_checked(path: &Path) -> Result<(Config, Rules, Vec<String>)> {
    let config = Config::load(path)?;
    let rules = Rules::load(&config.tickets.rules_dir)?;
    let warnings = daemon::cross_check(&config, &rules)?;
    Ok((config, rules, warnings))
}

/// What a command that reads does when the rules directory does not load.
#[derive(Clone, Copy)]
enum BrokenRules {
    /// Fail: the answer depends on the rules (statistics per calendar).
    Fail,
    /// Go on with no rules (times in UTC), and say so: reading tickets must work while someone
    /// fixes a broken rules edit.
    Warn,
    /// Go on with no rules, silently.
    Ignore,
}

/// What one command works on, loaded once: the configuration, the rules and the database.
struct Context {
    config: Config,
    rules: Rules,
    store: Store,
}

impl Context {
    /// For commands that only read: the database is opened with [`Store::open_existing`], so
    /// one that is missing, or has another schema, is an error, never created or migrated
    /// (docs/commands.md).
    fn read_only(args: &Args, broken: BrokenRules) -> Result<Context> {
        let config = Config::load(&args.config)?;
        let rules = match (Rules::load(&config.tickets.rules_dir), broken) {
            (Ok(rules), _) => rules,
            (Err(e), BrokenRules::Fail) => return Err(e.into()),
            (Err(e), BrokenRules::Warn) => {
                eprintln!("warning: {e}; times are shown in UTC");
                no_rules(&config)
            }
            (Err(_), BrokenRules::Ignore) => no_rules(&config),
        };
        let store = Store::open_existing(&config.database.path)?;
        Ok(Context { config, rules, store })
    }

    /// For commands that change tickets: the rules must load (the SLA clocks need the
    /// calendars: due times computed without them would be wrong), and the database is created
    /// or migrated as the daemon would.
    fn writable(args: &Args) -> Result<Context> {
        let config = Config::load(&args.config)?;
        let rules = Rules::load(&config.tickets.rules_dir)?;
        let store = Store::open(&config.database.path)?;
        Ok(Context { config, rules, store })
    }

    /// Like [`Context::writable`], with the configuration and the rules checked against each
    /// other first as `run` checks them, for what handles a message as the daemon would.
    fn writable_checked(args: &Args) -> Result<Context> {
        let (config, rules, _warnings) = load_checked(&args.config)?;
        let store = Store::open(&config.database.path)?;
        Ok(Context { config, rules, store })
    }

    /// The parts of a pipeline that filing a message needs.
    fn pipeline_parts(&self) -> ticketd::pipeline::Parts {
        ticketd::pipeline::Parts::new(&self.config, &self.rules)
    }
}

/// An empty rule set (every time in UTC) for reading while the rules do not load.
fn no_rules(config: &Config) -> Rules {
    Rules::from_sources(&[], config.tickets.rules_dir.join("templates")).expect("an empty rule set is valid")
}
