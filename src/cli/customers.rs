//! `customers show`: one customer's history. It only reads.

use anyhow::Result;
use clap::Subcommand;

use ticketd::store;

use super::{output, Args, BrokenRules, Context};

#[derive(Subcommand)]
pub enum CustomersCommand {
    /// A customer's history: every ticket, open and closed.
    Show {
        address: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn dispatch(args: &Args, command: &CustomersCommand) -> Result<()> {
    match command {
        CustomersCommand::Show { address, json } => show(args, address, *json),
    }
}

fn show(args: &Args, address: &str, json: bool) -> Result<()> {
    let cx = Context::read_only(args, BrokenRules::Ignore)?;
    let address = address.trim().to_ascii_lowercase();
    let tickets = store::tickets_of_requester(cx.store.conn(), &address)?;
    let bounce = store::addresses::last_bounce(cx.store.conn(), &address)?;
    let customer = output::Customer { address: &address, tickets: &tickets, bounce: bounce.as_ref() };
    output::customer(&customer, &cx.rules, &cx.config.tickets.tag_prefix, json, args.now().timestamp())
}
