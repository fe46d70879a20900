//! `rules test`: what would happen to a message, explained by the library's `explain` with the
//! very pipeline the daemon runs. It writes nothing, and never creates or migrates a database.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Subcommand;

use ticketd::store::Store;

use super::{load_checked, output, Args};

#[derive(Subcommand)]
pub enum RulesCommand {
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

pub fn dispatch(args: &Args, command: &RulesCommand) -> Result<()> {
    match command {
        RulesCommand::Test { file, json, mailbox, sent } => test(args, file, *json, mailbox.as_deref(), *sent),
    }
}

fn test(args: &Args, file: &Path, json: bool, mailbox: Option<&str>, sent: bool) -> Result<()> {
    let (config, rules, _) = load_checked(&args.config)?;
    let raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let message = ticketd::parse::parse(&raw);
    let mb = match mailbox {
        Some(name) => config
            .mailboxes
            .iter()
            .find(|m| m.name == name)
            .with_context(|| format!("no mailbox {name:?} in the config"))?,
        None => &config.mailboxes[0],
    };
    let parts = ticketd::pipeline::Parts::new(&config, &rules);
    // With a live scanner configured, ask it too: the explanation must be the truth.
    let scanner = ticketd::scan::Scanner::from_config(&config.spam);
    let scan = match &scanner {
        Some(s) if !sent => {
            Some(tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(s.scan(&raw)))
        }
        _ => None,
    };
    let pipeline = ticketd::pipeline::Pipeline::new(&config, &rules, &parts, scanner.as_ref());
    // It only reads: a database that is missing (or has another schema) is never created or
    // migrated here, and then which ticket the message would join is not checked.
    if let Err(e) = Store::open_existing(&config.database.path) {
        eprintln!("warning: {e}; which ticket it would join is not checked");
    }
    let v = ticketd::explain::explain(&pipeline, &message, mb, sent, scan.as_ref(), chrono::Utc::now().timestamp());
    output::explanation(&v, json)
}
