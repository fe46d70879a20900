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
    assert!(stdout.contains("1 mailbox(es), 2 department(s), 4 rule(s)"), "{stdout}");
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
