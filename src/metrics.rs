//! Metrics for Prometheus (`[http] listen` serves `/metrics` and `/healthz`): per mailbox the
//! messages ingested by outcome, whether the last pass worked, and the gap count (messages below
//! the checkpoint still in a folder); the outbox's sent, deferred and refused mail and its queue.
//!
//! Counting never fails and never blocks the pipeline; the HTTP side only reads.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records one mailbox pass.
    pub fn pass(&self, mailbox: &str, report: Option<&crate::mailbox::MailboxReport>) {
        let label = MailboxLabel { mailbox: mailbox.to_string() };
        self.mailbox_up.get_or_create(&label).set(i64::from(report.is_some()));
        if let Some(r) = report {
            for (outcome, n) in [
                ("new_ticket", r.new_tickets),
                ("joined", r.joined),
                ("duplicate", r.duplicates),
                ("spam", r.spam),
                ("automatic", r.automatic),
                ("acknowledged", r.acknowledged),
                ("skipped_old", r.skipped_old),
            ] {
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

    pub fn scheduled(&self, r: &crate::scheduler::SchedulerReport) {
        for (event, n) in
            [("warning", r.warnings), ("escalation", r.escalations), ("notice", r.notices), ("breach", r.breaches)]
        {
            self.sla.get_or_create(&SlaLabel { event: event.into() }).inc_by(n as u64);
        }
    }

    /// `/healthz`: per mailbox whether its last pass worked and when one last did, and the
    /// outbox depth; 503 when a mailbox is down.
    pub fn health(&self, mailboxes: &[String]) -> (bool, String) {
        let mut all_up = true;
        let list: Vec<serde_json::Value> = mailboxes
            .iter()
            .map(|name| {
                let label = MailboxLabel { mailbox: name.clone() };
                let up = self.mailbox_up.get_or_create(&label).get() == 1;
                let last = self.last_sync.get_or_create(&label).get();
                all_up &= up;
                serde_json::json!({
                    "name": name,
                    "up": up,
                    "last_sync": (last > 0).then(|| chrono::DateTime::from_timestamp(last, 0).map(|t| t.to_rfc3339())),
                })
            })
            .collect();
        let body = serde_json::json!({
            "status": if all_up { "ok" } else { "degraded" },
            "mailboxes": list,
            "outbox_pending": self.outbox_pending.get(),
        });
        (all_up, format!("{body}\n"))
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Serves `/healthz` and `/metrics` on `listen` until `stop` turns true.
pub async fn serve(listen: String, mailboxes: Vec<String>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%listen, error = %e, "cannot listen for /metrics");
            return;
        }
    };
    tracing::info!(%listen, "serving /healthz and /metrics");
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((mut conn, _)) = accepted else { continue };
        let mailboxes = mailboxes.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let n = match tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (status, ctype, body) = match path {
                "/healthz" => {
                    let (healthy, body) = global().health(&mailboxes);
                    (if healthy { "200 OK" } else { "503 Service Unavailable" }, "application/json", body)
                }
                "/metrics" => {
                    ("200 OK", "application/openmetrics-text; version=1.0.0; charset=utf-8", global().encode())
                }
                _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(reply.as_bytes()).await;
        });
    }
}
