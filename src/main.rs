//! The `ticketd` binary: parses the command line, sets up logging, dispatches, and maps errors
//! to exit status 1 with a one-line cause. Everything else lives in the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ticketd: {e:#}");
            ExitCode::from(1)
        }
    }
}
