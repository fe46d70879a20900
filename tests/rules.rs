//! Routing rules as admins use them: `rules test` explains without writing, and edits under a
//! running daemon take effect at once — or are refused, with the old rules still routing.

mod support;

use std::time::{Duration, Instant};

use support::{Mail, MailServer, Ticketd};

#[test]
fn rules_test_explains_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let config = std::fs::read_to_string(format!("{root}/config.example.toml"))
        .unwrap()
        .replace("/var/lib/ticketd/tickets.db", &dir.path().join("t.db").display().to_string())
        .replace("rules_dir = \"rules\"", &format!("rules_dir = \"{root}/rules\""));
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let eml = dir.path().join("m.eml");
    std::fs::write(
        &eml,
        "From: Boss <boss@bigcustomer.test>\r\nTo: support@example.test\r\nSubject: =?utf-8?q?Sz=C3=A1mla_hiba?=\r\n\
         Message-ID: <x1@bigcustomer.test>\r\n\r\nA múlt havi számla hibás, kérem javítsák mielőbb. Köszönöm szépen.\r\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ticketd"))
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["rules", "test", eml.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["class"], "customer");
    assert_eq!(v["department"], "billing");
    assert_eq!(v["priority"], "high");
    assert_eq!(v["tags"], serde_json::json!(["vip"]));
    assert_eq!(v["rules"][0]["name"], "vip-customers");
    assert_eq!(v["rules"][1]["matched"]["subject"], "Számla");
    assert_eq!(v["ack"], true);
    assert_eq!(v["joins"], serde_json::Value::Null);
    assert_eq!(v["language"], "hu");
    assert_eq!(v["spam"]["verdict"], false);
    assert_eq!(v["automatic"]["verdict"], false);
    assert!(!dir.path().join("t.db").exists(), "rules test writes nothing");

    let text = run(&["rules", "test", eml.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("invoices: subject matched \"Számla\""), "{text}");

    // Automatic mail is explained as such, and never acknowledged.
    std::fs::write(&eml, "From: noreply@shop.test\r\nTo: support@example.test\r\nSubject: Your order\r\nAuto-Submitted: auto-generated\r\n\r\nx\r\n").unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&run(&["rules", "test", eml.to_str().unwrap(), "--json"]).stdout).unwrap();
    assert_eq!(v["class"], "automatic");
    assert_eq!(v["ack"], false);
    assert!(v["automatic"]["reasons"].as_array().unwrap().len() >= 2, "{v:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_rules_under_a_running_daemon_takes_effect_and_a_broken_edit_is_refused() {
    let server = MailServer::start();
    let t = Ticketd::new(&server, "poll_interval = \"1s\"\nidle = false", "");
    let _daemon = support::Daemon::start(&t);
    let wait_for_ticket = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let list = t.json(&["tickets", "list"]);
            if list.as_array().unwrap().len() >= n {
                return list;
            }
            assert!(Instant::now() < deadline, "{}", std::fs::read_to_string(t.path("daemon.log")).unwrap());
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // No routing rule yet: mail goes to the mailbox's department.
    let write_rule = |subject: &str| {
        std::fs::write(
            t.path("rules/50-routing.toml"),
            format!("[[rule]]\nname = \"invoices\"\nwhen.subject = \"(?i){subject}\"\nset.department = \"billing\"\n"),
        )
        .unwrap();
    };
    // Wait until the daemon has seen the new file (its log says so), not for a fixed time.
    let reloads = |t: &Ticketd| {
        let log = std::fs::read_to_string(t.path("daemon.log")).unwrap_or_default();
        log.matches("rules reloaded").count() + log.matches("rules not reloaded").count()
    };
    let wait_reload = |before: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while reloads(&t) <= before {
            assert!(Instant::now() < deadline, "no reload: {}", std::fs::read_to_string(t.path("daemon.log")).unwrap());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Let the daemon start (and its watcher take the first look at the rules directory).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(t.path("daemon.log")).unwrap_or_default().contains("connected and logged in") {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = reloads(&t);
    write_rule("faktura");
    wait_reload(before);
    server
        .append("support@example.test", "INBOX", &Mail::new("a@customer.test", "Faktura 12", "x").bytes(), None)
        .await;
    let list = wait_for_ticket(1);
    assert_eq!(list[0]["department"], "billing");

    // A broken edit: refused with file:line, the old rule still routes.
    let before = reloads(&t);
    std::fs::write(t.path("rules/50-routing.toml"), "[[rule]]\nname = \"invoices\"\nwhen.subject = \"(faktura\"\n")
        .unwrap();
    wait_reload(before);
    server
        .append("support@example.test", "INBOX", &Mail::new("b@customer.test", "Faktura 13", "y").bytes(), None)
        .await;
    let list = wait_for_ticket(2);
    assert_eq!(list[0]["department"], "billing", "the old rules keep running");
    let log = std::fs::read_to_string(t.path("daemon.log")).unwrap();
    assert!(log.contains("50-routing.toml:3"), "{log}");

    // A good edit takes effect for the next message.
    let before = reloads(&t);
    write_rule("számla");
    wait_reload(before);
    server
        .append("support@example.test", "INBOX", &Mail::new("c@customer.test", "Faktura 14", "z").bytes(), None)
        .await;
    let list = wait_for_ticket(3);
    assert_eq!(list[0]["subject"], "Faktura 14");
    assert_eq!(list[0]["department"], "support", "the new rule no longer matches this subject");
}
