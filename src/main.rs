//! The `ticketd` binary: parses the command line, sets up logging, dispatches, and maps errors
//! to exit status 1 with a one-line cause. Everything else lives in the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A usage mistake exits 1 like every other error (docs/commands.md); --help and --version exit 0.
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if !args.is_daemon() {
        // A command's output piped into `head` ends quietly when the pipe closes, as Unix tools
        // do, instead of panicking on the failed write. The daemon keeps ignoring SIGPIPE: its
        // sockets report a closed peer as an error to handle.
        // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ticketd: {e:#}");
            ExitCode::from(1)
        }
    }
}
