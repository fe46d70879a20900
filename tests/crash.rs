//! Crash safety: mail keeps arriving while the daemon is killed with SIGKILL at random moments
//! and restarted. At the end every message is stored exactly once, every ticket has one
//! acknowledgement in the customer's mailbox, and nothing is left unprocessed on the server.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::{count_or, Mail, MailServer, Ticketd};

const MESSAGES: usize = 2000;
const KILLS: usize = 24;

/// A small deterministic generator, so a failing run can be repeated with its printed seed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn spawn_daemon(t: &Ticketd, round: usize) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_ticketd"))
        .arg("--config")
        .arg(t.config())
        .arg("run")
        .env("TICKETD_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(t.path(&format!("daemon-{round}.log"))).unwrap())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("crash test seed: CRASH_SEED={seed}");
    let mut rng = Lcg(seed);
    let server = MailServer::start();
    // One customer sending 2,000 mails in a minute is what the loop breaker exists for; here
    // every one of them must be acknowledged.
    let t = Ticketd::new(
        &server,
        "poll_interval = \"1s\"",
        "[acks]\nper_sender_per_hour = 100000\nper_hour = 0\nloop_breaker = false\n",
    );

    // Mail arrives throughout, in small bursts.
    let imap_port = server.imap_port;
    let feeder = tokio::spawn(async move {
        let view = support::ImapUser::new(imap_port, "support@example.test");
        for chunk in 0..(MESSAGES / 50) {
            let batch: Vec<Vec<u8>> = (0..50)
                .map(|i| {
                    let n = chunk * 50 + i;
                    Mail::new(
                        "Crash Customer <crash@customer.test>",
                        &format!("Crash test {n}"),
                        &format!("message number {n}"),
                    )
                    .bytes()
                })
                .collect();
            view.append_all("INBOX", &batch).await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });

    for round in 0..KILLS {
        let mut daemon = spawn_daemon(&t, round);
        tokio::time::sleep(Duration::from_millis(150 + rng.next(600))).await;
        daemon.kill().unwrap(); // SIGKILL
        daemon.wait().unwrap();
    }
    feeder.await.unwrap();

    // A last run that is allowed to finish.
    let mut daemon = spawn_daemon(&t, KILLS);
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let inbox = server.messages("support@example.test", "INBOX").await.len();
        let pending = count_or(&t, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'", -1);
        let stored = count_or(&t, "SELECT COUNT(*) FROM messages WHERE direction = 'in'", -1);
        if inbox == 0 && pending == 0 && stored == MESSAGES as i64 {
            break;
        }
        assert!(Instant::now() < deadline, "not settled: inbox {inbox}, pending {pending}, stored {stored}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    std::process::Command::new("kill").arg("-TERM").arg(daemon.id().to_string()).status().unwrap();
    daemon.wait().unwrap();

    assert_eq!(
        count_or(&t, "SELECT COUNT(DISTINCT message_id) FROM messages WHERE direction = 'in'", -1),
        MESSAGES as i64
    );
    assert_eq!(count_or(&t, "SELECT COUNT(*) FROM tickets", -1), MESSAGES as i64);
    let unacknowledged: Vec<String> = t
        .db()
        .prepare(
            "SELECT t.id || ' ' || t.subject || ': ' || COALESCE((SELECT group_concat(e.kind || ' ' || e.detail, '; ') \
             FROM events e WHERE e.ticket_id = t.id), '') || ' flags ' || COALESCE((SELECT group_concat(m.flags, ' ') \
             FROM messages m WHERE m.ticket_id = t.id), '') FROM tickets t \
             WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'ack')",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(unacknowledged.is_empty(), "one acknowledgement per ticket queued; not: {unacknowledged:#?}");
    assert_eq!(count_or(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack'", -1), MESSAGES as i64);
    assert_eq!(count_or(&t, "SELECT COUNT(*) FROM outbox WHERE kind = 'notification'", -1), MESSAGES as i64);
    assert_eq!(count_or(&t, "SELECT COUNT(*) FROM pending_actions", -1), 0);
    assert_eq!(server.messages("support@example.test", "Processed").await.len(), MESSAGES);

    // What the customer received: every ticket acknowledged; duplicates only from the window
    // between the SMTP server's acceptance and the outbox commit.
    let received = server.wait_for("crash@customer.test", "INBOX", MESSAGES).await;
    let mut per_ticket: HashMap<String, usize> = HashMap::new();
    let mut ids: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    for m in &received {
        let parsed = m.parsed();
        let id = parsed.header("x-ticket-id").unwrap_or("?").to_string();
        *per_ticket.entry(id.clone()).or_default() += 1;
        ids.entry(id).or_default().insert(parsed.message_id.unwrap_or_default());
    }
    // A resend is the very same mail: clients that collapse equal Message-IDs show it once.
    assert!(ids.values().all(|set| set.len() == 1), "a resent acknowledgement must keep its Message-ID");
    let duplicates: usize = per_ticket.values().map(|n| n - 1).sum();
    eprintln!(
        "crash test: {MESSAGES} messages, {KILLS} SIGKILLs, {} acknowledgements received, {duplicates} duplicate(s) from the accept/commit window",
        received.len()
    );
    assert_eq!(per_ticket.len(), MESSAGES, "every ticket acknowledged exactly once or more");
    // Each of the outbox's SMTP connections ([smtp] connections, 4 by default) can hold one mail
    // the server accepted and the daemon had not yet recorded when it was killed.
    assert!(duplicates <= KILLS * 4, "at most one duplicate per connection per kill: {duplicates}");
}
