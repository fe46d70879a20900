//! Everything the command line prints as a result: JSON for scripts (docs/json.md), tables and
//! text for people, through `present` so customer text is sanitised before it reaches a
//! terminal. It only formats what it is given; it never loads or decides anything.

use anyhow::Result;
use serde::Serialize;

use ticketd::config::Config;
use ticketd::present;
use ticketd::rules::Rules;
use ticketd::store::{Event, Held, StoredMessage, Ticket};

/// Colour for people at a terminal, never in pipes or with NO_COLOR set (no-color.org).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Pretty JSON on standard output.
pub fn json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// How a report is printed: `--json`, `--csv`, or text for people.
#[derive(Clone, Copy)]
pub enum Format {
    Text,
    Json,
    Csv,
}

impl Format {
    /// From the `--json` and `--csv` flags (clap keeps them apart).
    pub fn of(json: bool, csv: bool) -> Format {
        match (json, csv) {
            (true, _) => Format::Json,
            (_, true) => Format::Csv,
            _ => Format::Text,
        }
    }
}

/// `check-config`: what was loaded.
pub fn config_summary(config: &Config, rules: &Rules) {
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
}

/// `rules test`: the explanation of what would happen to a message.
pub fn explanation(v: &serde_json::Value, as_json: bool) -> Result<()> {
    if as_json {
        json(v)
    } else {
        print!("{}", present::for_terminal(&ticketd::explain::human(v)));
        Ok(())
    }
}

/// `tickets list`: a JSON array, or a table (coloured at a terminal).
pub fn ticket_list(tickets: &[Ticket], rules: &Rules, prefix: &str, as_json: bool, now: i64) -> Result<()> {
    if as_json {
        let list: Vec<_> = tickets.iter().map(|t| present::ticket_json(t, rules, prefix)).collect();
        json(&list)
    } else {
        print!("{}", present::ticket_table(tickets, rules, prefix, colour(), now));
        Ok(())
    }
}

/// `tickets show`: one ticket with its messages and events, times in its department's zone.
pub fn ticket(
    t: &Ticket,
    messages: &[StoredMessage],
    events: &[Event],
    rules: &Rules,
    prefix: &str,
    as_json: bool,
) -> Result<()> {
    let zone = rules.department_zone(&t.department);
    if as_json {
        let mut v = present::ticket_json(t, rules, prefix);
        v["messages"] = messages.iter().map(|m| present::message_json(m, zone)).collect();
        v["events"] = events.iter().map(|e| present::event_json(e, zone)).collect();
        json(&v)
    } else {
        print!("{}", present::ticket_text(t, messages, events, zone, prefix));
        Ok(())
    }
}

/// `quarantine list`: the messages held as spam, times in UTC.
pub fn quarantine(held: &[Held], as_json: bool) -> Result<()> {
    if as_json {
        let list: Vec<_> = held
            .iter()
            .map(|q| {
                serde_json::json!({
                    "id": q.id, "mailbox": q.mailbox, "from": q.from, "subject": q.subject,
                    "received_at": present::time_in(chrono_tz::UTC, q.received_at), "score": q.score, "reasons": q.reasons,
                })
            })
            .collect();
        return json(&list);
    }
    for q in held {
        println!(
            "{:>6}  {}  {:<30}  {}  ({})",
            q.id,
            present::time_in(chrono_tz::UTC, q.received_at),
            present::for_cell(q.from.as_deref().unwrap_or("?")),
            present::for_cell(&q.subject),
            present::for_cell(&q.reasons.join("; "))
        );
    }
    Ok(())
}

/// What `customers show` prints: one customer's tickets and last bounce.
pub struct Customer<'a> {
    pub address: &'a str,
    /// Every ticket, newest first.
    pub tickets: &'a [Ticket],
    /// When the last bounce came (Unix time) and its report.
    pub bounce: Option<&'a (i64, String)>,
}

/// `customers show`: counts, the last bounce and the tickets.
pub fn customer(c: &Customer<'_>, rules: &Rules, prefix: &str, as_json: bool, now: i64) -> Result<()> {
    let closed = c.tickets.iter().filter(|t| t.status == ticketd::domain::Status::Closed).count();
    let open = c.tickets.len() - closed;
    let bounce_time =
        |at: i64| chrono::DateTime::from_timestamp(at, 0).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    if as_json {
        return json(&serde_json::json!({
            "address": c.address,
            "tickets": c.tickets.iter().map(|t| present::ticket_json(t, rules, prefix)).collect::<Vec<_>>(),
            "open": open,
            "closed": closed,
            "last_bounce": c.bounce.map(|(at, detail)| serde_json::json!({
                "at": bounce_time(*at),
                "report": detail,
            })),
        }));
    }
    println!("{}: {open} open, {closed} closed", present::for_cell(c.address));
    if let Some((at, detail)) = c.bounce {
        println!("last bounce: {} ({})", bounce_time(*at).unwrap_or_default(), present::for_cell(detail));
    }
    print!("{}", present::ticket_table(c.tickets, rules, prefix, colour(), now));
    Ok(())
}

/// `stats`: JSON, CSV or the report for people.
pub fn stats(stats: &ticketd::stats::Stats, format: Format) -> Result<()> {
    match format {
        Format::Json => return json(stats),
        Format::Csv => print!("{}", ticketd::stats::csv(stats)),
        Format::Text => print!("{}", present::for_terminal(&ticketd::stats::human(stats))),
    }
    Ok(())
}
