//! Metrics for Prometheus (served with `/healthz` by [`crate::http`]): per mailbox the
//! messages ingested by outcome, whether the last pass worked, and the gap count (messages below
//! the checkpoint still in a folder); the outbox's sent, deferred and refused mail and its queue.
//!
//! Counting never fails and never blocks the pipeline. It is fed plain counts and names, and
//! knows nothing of the modules that count.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MailboxLabel {
    pub mailbox: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub mailbox: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabel {
    pub kind: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SlaLabel {
    pub event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabel {
    pub task: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

/// What `/healthz` says of a task that panicked and is being started again.
pub const RESTARTING: &str = "restarting after a panic";

/// What one mailbox pass counted, as plain numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassCounts {
    /// (outcome, messages): "new_ticket", "joined", "duplicate", "spam", "automatic",
    /// "acknowledged", "skipped_old".
    pub outcomes: Vec<(&'static str, usize)>,
    /// Messages left below the checkpoint.
    pub gaps: usize,
    pub loops: usize,
}

pub struct Metrics {
    registry: Registry,
    pub messages: Family<OutcomeLabel, Counter>,
    pub mailbox_up: Family<MailboxLabel, Gauge>,
    pub gaps: Family<MailboxLabel, Gauge>,
    pub deliveries: Family<DeliveryLabel, Counter>,
    pub outbox_pending: Gauge,
    pub loops: Family<MailboxLabel, Counter>,
    pub scans: Family<ResultLabel, Counter>,
    pub sla: Family<SlaLabel, Counter>,
    pub reconnects: Family<MailboxLabel, Counter>,
    pub last_sync: Family<MailboxLabel, Gauge>,
    /// Panicked tasks, by task ("mailbox:NAME", "outbox", "scheduler"); each is restarted.
    pub task_panics: Family<TaskLabel, Counter>,
    /// HTTP connections not served: "busy", "displaced", "timeout", "too_large", and rating
    /// requests over a client's limit, "rate_limited".
    pub http_refused: Family<ReasonLabel, Counter>,
    /// Tasks that panicked and have not had a good pass since, with what `/healthz` says.
    troubled: std::sync::Mutex<std::collections::BTreeMap<String, &'static str>>,
    /// Acknowledgements withheld by the global hourly cap (`[acks] per_hour`).
    pub acks_capped: Counter,
    /// Messages whose processing failed (panic, time-out, or a crash counted on restart), and
    /// those stored as placeholders after the last try.
    pub poison: Family<OutcomeLabel, Counter>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ticketd");
        let messages = Family::<OutcomeLabel, Counter>::default();
        let mailbox_up = Family::<MailboxLabel, Gauge>::default();
        let gaps = Family::<MailboxLabel, Gauge>::default();
        let deliveries = Family::<DeliveryLabel, Counter>::default();
        let outbox_pending = Gauge::default();
        let loops = Family::<MailboxLabel, Counter>::default();
        let scans = Family::<ResultLabel, Counter>::default();
        let sla = Family::<SlaLabel, Counter>::default();
        let reconnects = Family::<MailboxLabel, Counter>::default();
        let last_sync = Family::<MailboxLabel, Gauge>::default();
        let task_panics = Family::<TaskLabel, Counter>::default();
        let http_refused = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "task_panics",
            "Daemon tasks (mailbox:NAME, outbox, scheduler) that panicked and were restarted",
            task_panics.clone(),
        );
        registry.register(
            "http_refused",
            "HTTP connections not served: busy (503), displaced (idle at the limit), timeout, too_large, rate_limited (429)",
            http_refused.clone(),
        );
        let acks_capped = Counter::default();
        let poison = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "acks_capped",
            "Acknowledgements not sent because [acks] per_hour was reached",
            acks_capped.clone(),
        );
        registry.register(
            "poison_messages",
            "Messages whose processing failed (outcome=failed) or that were stored as placeholders (outcome=placeholder)",
            poison.clone(),
        );
        registry.register("messages", "Messages read, by mailbox and outcome", messages.clone());
        registry.register("mailbox_up", "1 if the mailbox's last pass worked", mailbox_up.clone());
        registry.register("gaps", "Messages below the checkpoint still in a folder (never stored)", gaps.clone());
        registry.register("deliveries", "Outbox delivery attempts, by kind of mail and result", deliveries.clone());
        registry.register("outbox_pending", "Mail waiting in the outbox", outbox_pending.clone());
        registry.register(
            "loop_suspected",
            "New tickets not acknowledged because the sender looks like a mail loop",
            loops.clone(),
        );
        registry.register("spam_scans", "Live spam scans, by result (spam, clean, unscanned)", scans.clone());
        registry.register("sla", "SLA warnings, escalations, delay notices and breaches", sla.clone());
        registry.register("reconnects", "Failed mailbox passes that led to a reconnect", reconnects.clone());
        registry.register(
            "last_sync_timestamp_seconds",
            "Unix time of the mailbox's last successful pass",
            last_sync.clone(),
        );
        Metrics {
            registry,
            messages,
            mailbox_up,
            gaps,
            deliveries,
            outbox_pending,
            loops,
            scans,
            sla,
            reconnects,
            last_sync,
            task_panics,
            http_refused,
            troubled: Default::default(),
            acks_capped,
            poison,
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records one mailbox pass: None when it failed.
    pub fn pass(&self, mailbox: &str, report: Option<&PassCounts>) {
        let label = MailboxLabel { mailbox: mailbox.to_string() };
        self.mailbox_up.get_or_create(&label).set(i64::from(report.is_some()));
        if report.is_some() {
            self.task_ok(&mailbox_task(mailbox));
        }
        if let Some(r) = report {
            for &(outcome, n) in &r.outcomes {
                self.messages
                    .get_or_create(&OutcomeLabel { mailbox: mailbox.into(), outcome: outcome.into() })
                    .inc_by(n as u64);
            }
            self.gaps.get_or_create(&label).set(r.gaps as i64);
            self.last_sync.get_or_create(&label).set(chrono::Utc::now().timestamp());
            self.loops.get_or_create(&label).inc_by(r.loops as u64);
        }
    }

    /// One delivery attempt of a mail of `kind` ("ack", "notification", ...).
    pub fn delivery(&self, kind: &str, result: &str) {
        self.deliveries.get_or_create(&DeliveryLabel { kind: kind.into(), result: result.into() }).inc();
    }

    /// What a scheduler pass did: (event, how many), e.g. ("warning", 2).
    pub fn scheduled(&self, events: &[(&str, usize)]) {
        for &(event, n) in events {
            self.sla.get_or_create(&SlaLabel { event: event.into() }).inc_by(n as u64);
        }
    }

    /// A task panicked and is being restarted: counted, and shown (and unhealthy) in `/healthz`
    /// until its next good pass. `task` is "mailbox:NAME" (see [`mailbox_task`]), "outbox" or
    /// "scheduler".
    pub fn task_panicked(&self, task: &str) {
        self.task_panics.get_or_create(&TaskLabel { task: task.to_string() }).inc();
        if let Some(mailbox) = task.strip_prefix("mailbox:") {
            self.mailbox_up.get_or_create(&MailboxLabel { mailbox: mailbox.to_string() }).set(0);
        }
        self.troubled.lock().unwrap_or_else(|e| e.into_inner()).insert(task.to_string(), RESTARTING);
    }

    /// A good pass of a task: whatever panic it had is over.
    pub fn task_ok(&self, task: &str) {
        let mut troubled = self.troubled.lock().unwrap_or_else(|e| e.into_inner());
        if !troubled.is_empty() {
            troubled.remove(task);
        }
    }

    fn trouble(&self, task: &str) -> Option<&'static str> {
        self.troubled.lock().unwrap_or_else(|e| e.into_inner()).get(task).copied()
    }

    /// `/healthz`: per mailbox whether its last pass worked and when one last did, and the
    /// outbox depth; 503 when a mailbox is down. A task restarting after a panic is named with
    /// its `state` and makes it 503 too, until its next good pass.
    pub fn health(&self, mailboxes: &[String]) -> (bool, String) {
        let mut all_up = true;
        let list: Vec<serde_json::Value> = mailboxes
            .iter()
            .map(|name| {
                let label = MailboxLabel { mailbox: name.clone() };
                let up = self.mailbox_up.get_or_create(&label).get() == 1;
                let last = self.last_sync.get_or_create(&label).get();
                all_up &= up;
                let mut entry = serde_json::json!({
                    "name": name,
                    "up": up,
                    "last_sync": (last > 0).then(|| chrono::DateTime::from_timestamp(last, 0).map(|t| t.to_rfc3339())),
                });
                if let Some(state) = self.trouble(&mailbox_task(name)) {
                    all_up = false;
                    entry["up"] = false.into();
                    entry["state"] = state.into();
                }
                entry
            })
            .collect();
        let tasks: Vec<serde_json::Value> = ["outbox", "scheduler"]
            .into_iter()
            .filter_map(|task| self.trouble(task).map(|state| serde_json::json!({ "name": task, "state": state })))
            .collect();
        all_up &= tasks.is_empty();
        let mut body = serde_json::json!({
            "status": if all_up { "ok" } else { "degraded" },
            "mailboxes": list,
            "outbox_pending": self.outbox_pending.get(),
        });
        if !tasks.is_empty() {
            body["tasks"] = tasks.into();
        }
        (all_up, format!("{body}\n"))
    }
}

/// The task name of a mailbox's task, for [`Metrics::task_panicked`].
pub fn mailbox_task(mailbox: &str) -> String {
    format!("mailbox:{mailbox}")
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}
