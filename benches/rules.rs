//! Rule evaluation speed: 200 and 1,000 rules over a 50 KB message, with the compiled regex
//! sets (`route`) against the baseline of trying every rule's patterns one by one
//! (`route_one_by_one`), both measured in the same run.
//!
//! cargo bench --bench rules    (prints a table, writes target/bench-rules.json)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ticketd::parse::{ParsedMessage, Sender};
use ticketd::route::{route, route_one_by_one, route_with_index, RouteInput};
use ticketd::rules::RuleIndex;
use ticketd::rules::Rules;

const WORDS: &[&str] = &[
    "webshop",
    "rendelés",
    "szállítás",
    "kosár",
    "objednávka",
    "doprava",
    "zamówienie",
    "dostawa",
    "Bestellung",
    "Lieferung",
    "delivery",
    "order",
    "login",
    "jelszó",
    "heslo",
    "hasło",
    "Passwort",
    "password",
    "nem",
    "működik",
    "nefunguje",
    "działa",
];

fn rules(n: usize) -> Rules {
    let mut text = String::from("[[department]]\nname = \"support\"\n[[department]]\nname = \"billing\"\n");
    for i in 0..n {
        // Patterns like admins write: alternations of words, case-insensitive, word bounded.
        text.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\nwhen.subject = \"(?i)\\\\b(invoice{i}|számla{i}|faktura{i})\\\\b\"\n\
             when.body = \"(?i)\\\\b(contract{i}|szerződés{i}|smlouva{i}|umowa{i})\\\\b\"\nset.department = \"billing\"\n\n"
        ));
    }
    Rules::from_sources(&[(PathBuf::from("bench.toml"), text)], PathBuf::from("templates")).expect("valid rules")
}

fn message(size: usize, tail: &str) -> ParsedMessage {
    let mut body = String::new();
    let mut i = 0;
    while body.len() < size {
        body.push_str(WORDS[i % WORDS.len()]);
        body.push(if i % 13 == 12 { '\n' } else { ' ' });
        i += 7;
    }
    body.push_str(tail);
    ParsedMessage {
        subject: "Re: Nem működik a webshop, kérem segítsenek".into(),
        from: Some(Sender { name: None, address: "anna@customer.test".into() }),
        to: vec!["support@example.test".into()],
        text: body,
        ..Default::default()
    }
}

fn per_call(f: &dyn Fn()) -> Duration {
    // Warm up, then run for about half a second.
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(500) {
        f();
        n += 1;
    }
    start.elapsed() / n
}

fn main() {
    let mut rows = Vec::new();
    println!(
        "{:<6} {:<30} {:>12} {:>14} {:>10} {:>14}",
        "rules", "message", "one by one", "compiled set", "ticketd", "vs baseline"
    );
    for n in [200usize, 1000] {
        let set = rules(n);
        for (label, m) in [
            ("50 KB, no rule matches", message(50 * 1024, "")),
            ("50 KB, the last rule matches", message(50 * 1024, &format!(" contract{} ", n - 1))),
        ] {
            let input = RouteInput { message: &m, mailbox: "support", default_department: "support", language: None };
            assert_eq!(route(&set, &input), route_one_by_one(&set, &input), "both strategies must agree");
            let baseline = per_call(&|| {
                std::hint::black_box(route_one_by_one(&set, &input));
            });
            let forced = RuleIndex::build_from(&set.rules, 0);
            let compiled = per_call(&|| {
                std::hint::black_box(route_with_index(&set, &forced, &input));
            });
            let adaptive = per_call(&|| {
                std::hint::black_box(route(&set, &input));
            });
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            let ratio = baseline.as_secs_f64() / adaptive.as_secs_f64();
            println!(
                "{n:<6} {label:<30} {:>10.1}µs {:>12.1}µs {:>8.1}µs {:>13.2}x",
                us(baseline),
                us(compiled),
                us(adaptive),
                ratio
            );
            rows.push(format!(
                "{{\"rules\": {n}, \"message\": \"{label}\", \"one_by_one_us\": {:.1}, \"compiled_set_us\": {:.1}, \"ticketd_us\": {:.1}, \"speedup_vs_one_by_one\": {ratio:.2}}}",
                us(baseline),
                us(compiled),
                us(adaptive)
            ));
        }
    }
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-rules.json");
    let _ = std::fs::write(&out, format!("[\n  {}\n]\n", rows.join(",\n  ")));
    println!("written to {}", out.display());
}
