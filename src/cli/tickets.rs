//! `tickets`: list and show tickets, act on one (the same `Action`s as the email commands,
//! applied by `ticketd::actions`), and log one by hand (filed by `ticketd::pipeline`). Reading
//! opens the database as it is; acting loads the rules and opens the database once.

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use clap::Subcommand;

use ticketd::actions::Action;
use ticketd::daemon;
use ticketd::rules::Priority;
use ticketd::store::{self, Store};

use super::{output, Args, BrokenRules, Context};

#[derive(Subcommand)]
pub enum TicketsCommand {
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

pub fn dispatch(args: &Args, command: &TicketsCommand) -> Result<()> {
    let apply = |id: &i64, action: Action, by: &Option<String>| act(args, *id, action, by.as_deref());
    match command {
        TicketsCommand::List { status, department, automatic, json } => {
            list(args, status.as_deref(), department.as_deref(), *automatic, *json)
        }
        TicketsCommand::Show { id, json } => show(args, *id, *json),
        TicketsCommand::New { from, subject, department, priority, no_ack, by } => {
            let manual = Manual { from, subject, department: department.as_deref(), ack: !no_ack, by: by.as_deref() };
            file_by_hand(args, &manual, priority.as_deref())
        }
        TicketsCommand::Assign { id, agent, by } => apply(id, Action::Assign(agent.clone()), by),
        TicketsCommand::Close { id, by } => apply(id, Action::Close, by),
        TicketsCommand::Reopen { id, by } => apply(id, Action::Reopen, by),
        TicketsCommand::Wait { id, until, by } => apply(id, Action::Wait(until.clone()), by),
        TicketsCommand::Eta { id, when, by } => apply(id, Action::Eta(when.clone()), by),
        TicketsCommand::Requester { id, address, by } => apply(id, Action::Requester(address.clone()), by),
        TicketsCommand::Priority { id, priority, by } => apply(id, Action::Priority(parse_priority(priority)?), by),
        TicketsCommand::Note { id, text, by } => apply(id, Action::Note(text.clone()), by),
        TicketsCommand::Time { id, duration, by } => {
            let minutes = ticketd::commands::parse_minutes(duration).map_err(anyhow::Error::msg)?;
            apply(id, Action::Time(minutes), by)
        }
        TicketsCommand::Merge { id, into_id, by } => apply(id, Action::Merge(*into_id), by),
        TicketsCommand::Department { id, department, by } => apply(id, Action::Department(department.clone()), by),
    }
}

fn parse_priority(text: &str) -> Result<Priority> {
    Priority::parse(text).with_context(|| format!("unknown priority {text:?}: use urgent, high, normal or low"))
}

fn list(args: &Args, status: Option<&str>, department: Option<&str>, automatic: bool, json: bool) -> Result<()> {
    let cx = Context::read_only(args, BrokenRules::Warn)?;
    use ticketd::domain::Status;
    let statuses: Vec<Status> = match status {
        None => vec![Status::New, Status::Open, Status::Waiting],
        Some("all") => vec![],
        Some(s) => match Status::parse(s) {
            Some(one) => vec![one],
            None => bail!("unknown status {s:?}: use new, open, waiting, closed or all"),
        },
    };
    let filter = store::TicketFilter { statuses: &statuses, department, automatic: automatic || status == Some("all") };
    let tickets = store::list_tickets(cx.store.conn(), &filter)?;
    output::ticket_list(&tickets, &cx.rules, &cx.config.tickets.tag_prefix, json, args.now().timestamp())
}

fn show(args: &Args, id: i64, json: bool) -> Result<()> {
    let cx = Context::read_only(args, BrokenRules::Warn)?;
    let Some(t) = store::get_ticket(cx.store.conn(), id)? else { bail!("ticket {id} does not exist") };
    let messages = store::messages_of(cx.store.conn(), id)?;
    let events = store::events_of(cx.store.conn(), id)?;
    output::ticket(&t, &messages, &events, &cx.rules, &cx.config.tickets.tag_prefix, json)
}

/// One action on one ticket, in one transaction; then the mail it caused is tried once.
fn act(args: &Args, id: i64, action: Action, by: Option<&str>) -> Result<()> {
    let now = args.now();
    let mut cx = Context::writable(args)?;
    let summary = ticketd::actions::apply(&mut cx.store, &cx.config, &cx.rules, id, &action, by, now.timestamp())?;
    println!("{summary}");
    deliver_once(&cx.config, &mut cx.store, now)
}

/// What `tickets new` says besides its priority and the body it reads.
struct Manual<'a> {
    from: &'a str,
    subject: &'a str,
    department: Option<&'a str>,
    ack: bool,
    by: Option<&'a str>,
}

/// `tickets new`: a ticket logged by hand, its body read from standard input.
fn file_by_hand(args: &Args, manual: &Manual<'_>, priority: Option<&str>) -> Result<()> {
    let now = args.now();
    let priority = priority.map(parse_priority).transpose()?;
    let mut body = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut body).context("reading the body")?;
    let mut cx = Context::writable(args)?;
    let by = manual.by.map(|b| ticketd::actions::resolve_agent(&cx.config.staff, b)).transpose()?;
    let parts = cx.pipeline_parts();
    let pipeline = ticketd::pipeline::Pipeline::new(&cx.config, &cx.rules, &parts, None);
    let by_hand = ticketd::pipeline::ByHand {
        from: manual.from,
        subject: manual.subject,
        body: &body,
        department: manual.department,
        priority,
        ack: manual.ack,
        by: by.as_deref(),
    };
    let ticket = ticketd::pipeline::file_by_hand(&mut cx.store, &pipeline, &by_hand, now)?;
    println!("ticket {ticket} opened");
    deliver_once(&cx.config, &mut cx.store, now)
}

/// Mail a shell command caused (an acknowledgement, an assignment notice) is tried once; the
/// daemon delivers the rest.
fn deliver_once(config: &ticketd::config::Config, store: &mut Store, now: DateTime<Utc>) -> Result<()> {
    if store::outbox::pending_count(store.conn())? > 0 {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        if let Err(e) = runtime.block_on(daemon::deliver(config, store, &ticketd::clock::FixedClock(now))) {
            eprintln!("warning: mail queued, not yet delivered: {e}");
        }
    }
    Ok(())
}
