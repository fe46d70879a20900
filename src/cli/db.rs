//! `db`: database maintenance (`backup`), done by `ticketd::store`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Subcommand;

use ticketd::config::Config;
use ticketd::store::Store;

use super::Args;

#[derive(Subcommand)]
pub enum DbCommand {
    /// A consistent copy of the database while the daemon runs (VACUUM INTO).
    Backup { path: PathBuf },
}

pub fn dispatch(args: &Args, command: &DbCommand) -> Result<()> {
    match command {
        DbCommand::Backup { path } => backup(args, path),
    }
}

fn backup(args: &Args, path: &Path) -> Result<()> {
    let config = Config::load(&args.config)?;
    // Read-only and whatever its schema version: a copy before an upgrade is the point.
    let store = Store::open_to_copy(&config.database.path)?;
    if path.symlink_metadata().is_ok() {
        bail!("{} exists already; choose a new file", path.display());
    }
    // Written private (0640) whatever the umask, and owned like its folder under root.
    store.backup(path)?;
    println!("backup written to {}", path.display());
    Ok(())
}
