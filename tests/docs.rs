//! The shipped examples are the user's manual: they must stay valid.

use std::process::Command;

#[test]
fn config_example_and_rules_examples_pass_check_config() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_ticketd"))
        .args(["--config", &format!("{root}/config.example.toml"), "check-config"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 mailbox(es), 3 department(s), 6 rule(s)"), "{stdout}");
}

#[test]
fn rules_examples_cover_every_shipped_template_language() {
    let root = env!("CARGO_MANIFEST_DIR");
    for lang in ["", ".hu", ".cs", ".pl", ".he", ".de"] {
        let path = format!("{root}/rules/templates/ack{lang}.txt");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(text.contains("{{ tag }}"), "{path} must name the ticket");
    }
}

#[test]
fn the_example_rules_do_what_their_comments_say() {
    use ticketd::parse::{ParsedMessage, Sender};
    use ticketd::route::{route, RouteInput};
    let rules = ticketd::rules::Rules::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap();
    let msg = |from: &str, to: &str, subject: &str, headers: &[(&str, &str)]| ParsedMessage {
        subject: subject.into(),
        from: Some(Sender { name: None, address: from.into() }),
        reply_to: Some(Sender { name: None, address: "customer@web.test".into() }),
        to: vec![to.into()],
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    };
    let run = |m: &ParsedMessage| {
        route(&rules, &RouteInput { message: m, mailbox: "support", default_department: "support", language: None })
    };
    let r = run(&msg("x@customer.test", "support@example.test", "Faktura za říjen", &[]));
    assert_eq!((r.department.as_str(), r.ack), ("billing", true));
    let r = run(&msg("x@customer.test", "support@example.test", "Brak faktury VAT", &[]));
    assert_eq!(r.department, "billing", "Polish inflected form");
    let r = run(&msg("billing@supplier.test", "support@example.test", "Invoice 2026-11", &[]));
    assert_eq!((r.department.as_str(), r.ack), ("billing", false));
    let r = run(&msg("x@customer.test", "sales@example.test", "Price list please", &[]));
    assert_eq!(r.department, "sales");
    let r = run(&msg("boss@bigcustomer.test", "support@example.test", "Számla hiba", &[]));
    assert_eq!(
        (r.department.as_str(), r.priority.as_str(), r.tags.clone()),
        ("billing", "high", vec!["vip".to_string()])
    );
    let r = run(&msg("noreply@example.test", "support@example.test", "Contact form", &[("x-form", "contact")]));
    assert!(r.requester_from_reply_to);
    let r = run(&msg("x@customer.test", "support@example.test", "SÜRGŐS: leállt a rendszer", &[]));
    assert_eq!(r.priority.as_str(), "urgent");
    assert_eq!(rules.contracts[0].hours, 10.0);
}
