//! CPU per message for each pure stage — parse, filter, thread, route — over the 71 messages of
//! the decoding corpus (tests/corpus: 17 charsets, broken encodings, attachments, replies), in
//! microseconds, beside the baseline of mail-parser alone (what parse builds on) in the same run.
//!
//! cargo bench --bench pipeline    (prints a table, writes target/bench-pipeline.json)

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ticketd::config::{Address, SpamConfig, StaffConfig, TrustSource};
use ticketd::filter::{classify, FilterContext};
use ticketd::parse::ParsedMessage;
use ticketd::route::{route, RouteInput};
use ticketd::rules::Rules;
use ticketd::store::StoreError;
use ticketd::thread::{thread, TagMatcher, ThreadIndex, ThreadInput};

/// An in-memory threading index: a few thousand known Message-IDs.
struct Index(HashMap<String, i64>);

impl ThreadIndex for Index {
    fn ticket_state(&self, _id: i64) -> Result<Option<(ticketd::domain::Status, Option<i64>)>, StoreError> {
        Ok(Some((ticketd::domain::Status::Open, None)))
    }
    fn by_message_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
        Ok(ids.iter().find_map(|id| self.0.get(id).copied()))
    }
    fn referencing(&self, message_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.0.get(message_id).copied())
    }
    fn sender_known(&self, _ticket: i64, _address: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
    fn by_sent_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
        Ok(ids.iter().find_map(|id| self.0.get(id).copied()))
    }
}

fn per_message(messages: usize, f: &mut dyn FnMut()) -> Duration {
    f();
    let start = Instant::now();
    let mut rounds = 0u32;
    while start.elapsed() < Duration::from_millis(700) {
        f();
        rounds += 1;
    }
    start.elapsed() / (rounds * messages as u32)
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut raws: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| std::fs::read(p).expect("readable"))
        .collect();
    raws.sort();
    let rules = Rules::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("the example rules");
    let parsed: Vec<ParsedMessage> = raws.iter().map(|r| ticketd::parse::parse(r)).collect();
    let staff = StaffConfig {
        addresses: vec![Address("alice@example.test".into())],
        domains: vec![],
        trust: vec![TrustSource::SentFolder, TrustSource::Dkim],
        authserv_id: "mail.example.test".into(),
        mta_hosts: vec!["mail.example.test".into()],
    };
    let spam = SpamConfig {
        score_threshold: 5.0,
        spamd: None,
        rspamd_url: None,
        timeout: "10s".parse().expect("a duration"),
        allow: vec![],
        block: vec![],
    };
    let own = [Address("support@example.test".into())];
    let tags = TagMatcher::new("Ticket");
    let index = Index((0..5000).map(|i| (format!("known{i}@customer.test"), i)).collect());
    let n = raws.len();

    let baseline = per_message(n, &mut || {
        for r in &raws {
            std::hint::black_box(mail_parser::MessageParser::default().parse(r.as_slice()));
        }
    });
    let parse = per_message(n, &mut || {
        for r in &raws {
            std::hint::black_box(ticketd::parse::parse(r));
        }
    });
    let ctx = FilterContext {
        staff: &staff,
        spam: &spam,
        own_addresses: &own,
        from_sent_folder: false,
        scan: None,
        sent_by_ticketd: false,
    };
    let filter = per_message(n, &mut || {
        for m in &parsed {
            std::hint::black_box(classify(m, &ctx));
        }
    });
    let threading = per_message(n, &mut || {
        for m in &parsed {
            let input = ThreadInput {
                message: m,
                tags: &tags,
                sender: ticketd::thread::Sender::Customer,
                now: 0,
                reopen_window_secs: 0,
            };
            let _ = std::hint::black_box(thread(&input, &index));
        }
    });
    let routing = per_message(n, &mut || {
        for m in &parsed {
            std::hint::black_box(route(
                &rules,
                &RouteInput { message: m, mailbox: "support", default_department: "support", language: None },
            ));
        }
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("CPU per message over the {n} corpus messages (example rules)");
    println!("{:<34} {:>10}", "stage", "µs/msg");
    println!("{:<34} {:>10.1}", "baseline: mail-parser alone", us(baseline));
    println!(
        "{:<34} {:>10.1}  ({:.2}x the baseline)",
        "parse (mail-parser + repairs)",
        us(parse),
        us(parse) / us(baseline)
    );
    println!("{:<34} {:>10.2}", "filter (classify)", us(filter));
    println!("{:<34} {:>10.2}", "thread (in-memory index)", us(threading));
    println!("{:<34} {:>10.2}", "route (example rules)", us(routing));
    println!("{:<34} {:>10.1}", "all four", us(parse + filter + threading + routing));
    let json = serde_json::json!({
        "messages": n,
        "baseline_mail_parser_us": us(baseline),
        "parse_us": us(parse),
        "filter_us": us(filter),
        "thread_us": us(threading),
        "route_us": us(routing),
    });
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-pipeline.json");
    std::fs::write(&out, serde_json::to_string_pretty(&json).expect("json")).expect("writable target/");
    println!("written {}", out.display());
}
