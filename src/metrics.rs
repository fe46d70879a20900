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

pub struct Metrics {
    registry: Registry,
    pub messages: Family<OutcomeLabel, Counter>,
    pub mailbox_up: Family<MailboxLabel, Gauge>,
    pub gaps: Family<MailboxLabel, Gauge>,
    pub deliveries: Family<ResultLabel, Counter>,
    pub outbox_pending: Gauge,
    pub loops: Family<MailboxLabel, Counter>,
    pub scans: Family<ResultLabel, Counter>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ticketd");
        let messages = Family::<OutcomeLabel, Counter>::default();
        let mailbox_up = Family::<MailboxLabel, Gauge>::default();
        let gaps = Family::<MailboxLabel, Gauge>::default();
        let deliveries = Family::<ResultLabel, Counter>::default();
        let outbox_pending = Gauge::default();
        let loops = Family::<MailboxLabel, Counter>::default();
        let scans = Family::<ResultLabel, Counter>::default();
        registry.register("messages", "Messages read, by mailbox and outcome", messages.clone());
        registry.register("mailbox_up", "1 if the mailbox's last pass worked", mailbox_up.clone());
        registry.register("gaps", "Messages below the checkpoint still in a folder (never stored)", gaps.clone());
        registry.register("deliveries", "Outbox delivery attempts, by result", deliveries.clone());
        registry.register("outbox_pending", "Mail waiting in the outbox", outbox_pending.clone());
        registry.register(
            "loop_suspected",
            "New tickets not acknowledged because the sender looks like a mail loop",
            loops.clone(),
        );
        registry.register("spam_scans", "Live spam scans, by result (spam, clean, unscanned)", scans.clone());
        Metrics { registry, messages, mailbox_up, gaps, deliveries, outbox_pending, loops, scans }
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
                ("skipped_old", r.skipped_old),
            ] {
                self.messages
                    .get_or_create(&OutcomeLabel { mailbox: mailbox.into(), outcome: outcome.into() })
                    .inc_by(n as u64);
            }
            self.gaps.get_or_create(&label).set(r.gaps as i64);
            self.loops.get_or_create(&label).inc_by(r.loops as u64);
        }
    }

    pub fn delivered(&self, d: &crate::outbox::DeliveryReport) {
        for (result, n) in [("sent", d.sent), ("deferred", d.deferred), ("refused", d.refused)] {
            self.deliveries.get_or_create(&ResultLabel { result: result.into() }).inc_by(n as u64);
        }
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Serves `/healthz` and `/metrics` on `listen` until `stop` turns true.
pub async fn serve(listen: String, mut stop: tokio::sync::watch::Receiver<bool>) {
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
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let n = match tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (status, ctype, body) = match path {
                "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
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
