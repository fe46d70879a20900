//! `quarantine`: the messages held as spam, and releasing one into a ticket (filed by
//! `ticketd::pipeline::release`, then moved out of the junk folder by `ticketd::mailbox`).

use anyhow::{Context as _, Result};
use clap::Subcommand;

use ticketd::clock::SystemClock;
use ticketd::config::{AfterAction, Config};
use ticketd::daemon;
use ticketd::store::{self, Store};

use super::{output, run, Args, Context};

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// Messages held as spam.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Turn a held message into a ticket as if it had just arrived, and move it out of the junk
    /// folder to where ticketd puts what it has stored.
    Release { id: i64 },
}

pub fn dispatch(args: &Args, command: &QuarantineCommand) -> Result<()> {
    match command {
        QuarantineCommand::List { json } => list(args, *json),
        QuarantineCommand::Release { id } => release(args, *id),
    }
}

/// It needs no rules; it only reads.
fn list(args: &Args, json: bool) -> Result<()> {
    let config = Config::load(&args.config)?;
    let store = Store::open_existing(&config.database.path)?;
    output::quarantine(&store::quarantine(store.conn())?, json)
}

fn release(args: &Args, id: i64) -> Result<()> {
    let mut cx = Context::writable_checked(args)?;
    let parts = cx.pipeline_parts();
    let pipeline = ticketd::pipeline::Pipeline::new(&cx.config, &cx.rules, &parts, None);
    let released = ticketd::pipeline::release(&mut cx.store, &pipeline, id, args.now())?;
    println!("message {id} released as ticket {}", released.ticket);
    let config = &cx.config;
    let mb = config.mailboxes.iter().find(|m| m.name == released.mailbox).context("mailbox vanished")?;
    let target = match &mb.after {
        AfterAction::Move(folder) => folder.clone(),
        _ => mb.folders[0].clone(),
    };
    run::runtime()?.block_on(async {
        match &released.message_id {
            Some(mid) => {
                match ticketd::mailbox::move_by_message_id(mb, &config.database.data_dir, &mb.junk_folder, mid, &target)
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
        if let Err(e) = daemon::deliver(config, &mut cx.store, &SystemClock).await {
            eprintln!("warning: acknowledgement queued, not yet delivered: {e}");
        }
    });
    Ok(())
}
