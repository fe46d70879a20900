//! `man` and `completions`: the manual page ticketd(1) and shell completions, made from the clap
//! definitions in this module so they never drift from the real command line.

use anyhow::Result;
use clap::CommandFactory;

use super::Args;

/// The manual page, in roff.
pub fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Args::command()).render(&mut page)?;
    std::io::Write::write_all(&mut std::io::stdout(), &page)?;
    Ok(())
}

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    clap_complete::generate(shell, &mut Args::command(), "ticketd", &mut std::io::stdout());
    Ok(())
}
