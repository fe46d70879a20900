//! `stats`: the KPIs `ticketd::stats` computes over a period of days. It only reads.

use anyhow::{bail, Result};
use chrono::NaiveDate;

use super::{output, Args, BrokenRules, Context};

/// The period defaults to the 30 days up to today (by `--now`); the statistics need the rules'
/// calendars, so rules that do not load are an error.
pub fn stats(args: &Args, from: Option<NaiveDate>, to: Option<NaiveDate>, format: output::Format) -> Result<()> {
    let cx = Context::read_only(args, BrokenRules::Fail)?;
    let to = to.unwrap_or(args.now().date_naive());
    let from = from.unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    let stats = ticketd::stats::compute(cx.store.conn(), &cx.rules, from, to)?;
    output::stats(&stats, format)
}
