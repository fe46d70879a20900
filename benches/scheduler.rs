//! SLA scheduler cost: one pass over a database of 1,000,000 open tickets of which 1,000 are due
//! (a warning mail each), against the baseline of the same 1,000 due tickets in a database that
//! holds nothing else, measured in the same run; and a pass with nothing due over the million.
//! The pass reads one index range, so its cost must follow the number due, not the number open.
//!
//! cargo bench --bench scheduler    (prints a table, writes target/bench-scheduler.json)

use std::time::{Duration, Instant};

use rusqlite::params;
use ticketd::config::Config;
use ticketd::rules::Rules;
use ticketd::store::Store;

const RULES: &str = r#"
[[calendar]]
name = "office"
timezone = "Europe/Budapest"
[calendar.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"
wed = "08:00-17:00"
thu = "08:00-17:00"
fri = "08:00-17:00"

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "8h" }
warn_before = "1h"
escalate_to = ["manager@example.test"]

[[department]]
name = "support"
sla = "standard"
notify = ["alice@example.test"]
"#;

/// A database with `open` tickets, the first `due` of them needing a warning at `now`.
fn fill(dir: &std::path::Path, open: usize, due: usize, now: i64) -> Store {
    let path = dir.join(format!("bench-{open}-{due}.db"));
    let _ = std::fs::remove_file(&path);
    let mut store = Store::open(&path).unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO tickets (subject, department, priority, requester, created_at, updated_at, \
                 first_response_due, next_sla_at) VALUES (?1, 'support', 'normal', ?2, ?3, ?3, ?4, ?5)",
            )
            .unwrap();
        for n in 0..open {
            // Due ones were created a working day ago; the rest just now, due far ahead.
            let (created, next) = if n < due { (now - 7 * 3600, now - 60) } else { (now, now + 7 * 3600) };
            insert
                .execute(params![
                    format!("Ticket {n}"),
                    format!("customer{}@c{}.test", n, n % 5000),
                    created,
                    next + 3600,
                    next
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    store
}

fn config(dir: &std::path::Path) -> Config {
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("rules/10.toml"), RULES).unwrap();
    std::fs::write(dir.join("pass"), "x\n").unwrap();
    std::fs::write(
        dir.join("config.toml"),
        r#"
[database]
path = "unused.db"
[tickets]
rules_dir = "rules"
[smtp]
host = "127.0.0.1"
port = 25
from = "Support <support@example.test>"
[[mailbox]]
name = "support"
address = "support@example.test"
host = "127.0.0.1"
security = "none"
username = "support"
password_file = "pass"
department = "support"
"#,
    )
    .unwrap();
    Config::load(&dir.join("config.toml")).unwrap()
}

fn pass(store: &mut Store, config: &Config, rules: &Rules, now: i64) -> (Duration, usize) {
    let started = Instant::now();
    let report =
        ticketd::scheduler::run_due(store, config, rules, chrono::DateTime::from_timestamp(now, 0).unwrap()).unwrap();
    (started.elapsed(), report.warnings)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let rules = Rules::load(&dir.path().join("rules")).unwrap();
    // Tuesday 2026-11-24 15:00 Budapest: inside working hours.
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T15:00:00+01:00").unwrap().timestamp();
    let open = std::env::var("BENCH_OPEN").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let due = 1_000;

    let filling = Instant::now();
    let mut big = fill(dir.path(), open, due, now);
    let fill_time = filling.elapsed();
    let mut small = fill(dir.path(), due, due, now);

    let (idle_big, _) = pass(&mut big, &config, &rules, now - 3600);
    let (base, base_sent) = pass(&mut small, &config, &rules, now);
    let (full, full_sent) = pass(&mut big, &config, &rules, now);
    let (again, again_sent) = pass(&mut big, &config, &rules, now);
    assert_eq!(base_sent, due);
    assert_eq!(full_sent, due, "every due ticket warned");
    assert_eq!(again_sent, 0, "nothing twice");

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("scheduler pass ({} tickets filled in {:.1} s)", open, fill_time.as_secs_f64());
    println!("{:<46} {:>10}", "case", "time");
    println!("{:<46} {:>8.1} ms", format!("{due} due among {due} open (baseline)"), ms(base));
    println!("{:<46} {:>8.1} ms", format!("{due} due among {open} open"), ms(full));
    println!("{:<46} {:>8.3} ms", format!("0 due among {open} open"), ms(idle_big));
    println!("{:<46} {:>8.3} ms", format!("again, nothing left due, {open} open"), ms(again));
    println!("ratio {open} open / {due} open: {:.2}x", full.as_secs_f64() / base.as_secs_f64());
    let json = serde_json::json!({
        "open": open,
        "due": due,
        "baseline_ms": ms(base),
        "pass_ms": ms(full),
        "ratio": full.as_secs_f64() / base.as_secs_f64(),
        "idle_pass_ms": ms(idle_big),
        "second_pass_ms": ms(again),
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-scheduler.json");
    std::fs::write(&out, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("written {}", out.display());
}
