//! Metrics for Prometheus (`[http] listen` serves `/metrics` and `/healthz`, and the rating links
//! page of [`crate::rating_page`] when `[http] public_url` is set): per mailbox the
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

    /// Records one mailbox pass.
    pub fn pass(&self, mailbox: &str, report: Option<&crate::mailbox::MailboxReport>) {
        let label = MailboxLabel { mailbox: mailbox.to_string() };
        self.mailbox_up.get_or_create(&label).set(i64::from(report.is_some()));
        if report.is_some() {
            self.task_ok(&mailbox_task(mailbox));
        }
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

/// How long a client has to send its request head, and to take the answer.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The most a request head may be, its blank line included.
const MAX_HEAD: usize = 8 * 1024;
/// What a connection gets when every slot is busy answering.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\
Retry-After: 1\r\nConnection: close\r\n\r\nbusy\n";

/// One connection being served.
struct Slot {
    /// Still waiting for its request head: one that may be displaced at the limit.
    waiting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    since: std::time::Instant,
    handle: tokio::task::AbortHandle,
}

/// Serves `/healthz` and `/metrics` on `listen` until `stop` turns true, and the rating links
/// (`/rate/{token}/{score}`) when `rate` is given.
///
/// Bounded, so that no client can starve the daemon of descriptors or memory: at most
/// `max_connections` connections are served at once; a request head must arrive within 5 s and
/// be at most 8 KB (else 431), the answer must be taken within 5 s. At the limit a new
/// connection displaces the one that has waited longest without sending its request (idle
/// connections cannot lock a health check out); when every connection is busy being answered,
/// the new one gets a 503 at once and is closed.
pub async fn serve(
    listen: String,
    mailboxes: Vec<String>,
    max_connections: usize,
    rate: Option<std::sync::Arc<crate::rating_page::RateContext>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%listen, error = %e, "cannot listen for /metrics");
            return;
        }
    };
    if rate.is_some() {
        tracing::info!(%listen, max_connections, "serving /healthz, /metrics and the rating links");
    } else {
        tracing::info!(%listen, max_connections, "serving /healthz and /metrics");
    }
    let mailboxes: Arc<[String]> = mailboxes.into();
    let max_connections = max_connections.max(1);
    let mut tasks = tokio::task::JoinSet::new();
    let mut slots: std::collections::HashMap<tokio::task::Id, Slot> = std::collections::HashMap::new();
    let refused = |reason: &str| global().http_refused.get_or_create(&ReasonLabel { reason: reason.into() }).inc();
    let mut last_accept_error: Option<std::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(done) = tasks.join_next_with_id() => {
                slots.remove(&match done { Ok((id, ())) => id, Err(e) => e.id() });
                continue;
            }
            _ = stop.changed() => return,
        };
        let conn = match accepted {
            Ok((conn, _)) => conn,
            Err(e) => {
                // Out of descriptors (other parts of the daemon hold them) or a connection
                // reset before it was taken: wait a little rather than spin.
                if last_accept_error.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(60)) {
                    tracing::warn!(%listen, error = %e, "cannot accept an HTTP connection");
                    last_accept_error = Some(std::time::Instant::now());
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        while let Some(done) = tasks.try_join_next_with_id() {
            slots.remove(&match done {
                Ok((id, ())) => id,
                Err(e) => e.id(),
            });
        }
        if tasks.len() >= max_connections {
            let idle = slots
                .iter()
                .filter(|(_, s)| s.waiting.load(Ordering::Relaxed))
                .min_by_key(|(_, s)| s.since)
                .map(|(id, s)| (*id, s.handle.clone()));
            match idle {
                Some((victim, handle)) => {
                    handle.abort();
                    refused("displaced");
                    // Its socket is closed once the task is gone: wait for that, so that the
                    // bound holds.
                    while let Some(done) = tasks.join_next_with_id().await {
                        let id = match done {
                            Ok((id, ())) => id,
                            Err(e) => e.id(),
                        };
                        slots.remove(&id);
                        if id == victim {
                            break;
                        }
                    }
                }
                None => {
                    refused("busy");
                    let _ = conn.try_write(BUSY);
                    continue;
                }
            }
        }
        let waiting = Arc::new(AtomicBool::new(true));
        let handle = tasks.spawn(serve_one(conn, mailboxes.clone(), rate.clone(), waiting.clone()));
        slots.insert(handle.id(), Slot { waiting, since: std::time::Instant::now(), handle });
    }
}

/// Why a request head could not be read.
enum HeadError {
    Closed,
    TooLarge,
}

/// Reads until the blank line that ends a request head, at most [`MAX_HEAD`] bytes.
async fn read_head(conn: &mut tokio::net::TcpStream) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = conn.read(&mut chunk).await.map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        let end = head[from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| from + p + 4)
            .or_else(|| head[from..].windows(2).position(|w| w == b"\n\n").map(|p| from + p + 2));
        match end {
            Some(end) if end <= MAX_HEAD => {
                head.truncate(end);
                return Ok(head);
            }
            _ if head.len() >= MAX_HEAD => return Err(HeadError::TooLarge),
            _ => {}
        }
    }
}

/// The method and the path (without its query) of a request head.
fn request_line(request: &str) -> (&str, &str) {
    let mut words = request.split_whitespace();
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("/");
    (method, target.split('?').next().unwrap_or(target))
}

/// The answer to a request head.
fn answer(head: &[u8], mailboxes: &[String]) -> Vec<u8> {
    let request = String::from_utf8_lossy(head);
    let (method, path) = request_line(&request);
    let (status, ctype, body) = match (method, path) {
        ("GET" | "HEAD", "/healthz") => {
            let (healthy, body) = global().health(mailboxes);
            (if healthy { "200 OK" } else { "503 Service Unavailable" }, "application/json", body)
        }
        ("GET" | "HEAD", "/metrics") => {
            ("200 OK", "application/openmetrics-text; version=1.0.0; charset=utf-8", global().encode())
        }
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain", "only GET\n".to_string()),
    };
    let mut reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        reply.extend_from_slice(body.as_bytes());
    }
    reply
}

/// The answer to a rating link (`GET` or `HEAD /rate/...`), None for any other request. The
/// client is counted against its limit first; the database work runs off the async threads.
async fn answer_rating(
    head: &[u8],
    peer: Option<std::net::IpAddr>,
    rate: &std::sync::Arc<crate::rating_page::RateContext>,
) -> Option<Vec<u8>> {
    use crate::rating_page::{client_address, parse_path, Page};
    let request = String::from_utf8_lossy(head);
    let (method, path) = request_line(&request);
    if !matches!(method, "GET" | "HEAD") || !(path == "/rate" || path.starts_with("/rate/")) {
        return None;
    }
    let head_only = method == "HEAD";
    if let Some(peer) = peer {
        if !rate.allow(client_address(peer, &request)) {
            global().http_refused.get_or_create(&ReasonLabel { reason: "rate_limited".into() }).inc();
            return Some(Page::too_many().to_http(head_only));
        }
    }
    let Some((token, score)) = parse_path(path) else { return Some(Page::not_found().to_http(head_only)) };
    let (token, score, rate) = (token.to_string(), score.to_string(), rate.clone());
    let page = tokio::task::spawn_blocking(move || crate::rating_page::handle(&rate, &token, &score, !head_only))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the rating page failed");
            Page {
                status: "500 Internal Server Error",
                content_type: "text/plain; charset=utf-8",
                body: "internal error\n".into(),
                headers: vec![],
            }
        });
    Some(page.to_http(head_only))
}

async fn serve_one(
    mut conn: tokio::net::TcpStream,
    mailboxes: std::sync::Arc<[String]>,
    rate: Option<std::sync::Arc<crate::rating_page::RateContext>>,
    waiting: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let head = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut conn)).await;
    waiting.store(false, std::sync::atomic::Ordering::Relaxed);
    let reply = match head {
        Ok(Ok(head)) => {
            let rating = match &rate {
                Some(rate) => answer_rating(&head, conn.peer_addr().ok().map(|a| a.ip()), rate).await,
                None => None,
            };
            match rating {
                Some(reply) => reply,
                None => answer(&head, &mailboxes),
            }
        }
        Ok(Err(HeadError::TooLarge)) => {
            global().http_refused.get_or_create(&ReasonLabel { reason: "too_large".into() }).inc();
            // Take in (a bounded amount of) the rest first: closing with unread data would reset
            // the connection, and the client might never see the answer.
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(std::time::Duration::from_millis(500), async {
                let mut left: usize = 64 * 1024;
                while left > 0 {
                    match conn.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            })
            .await;
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
        Ok(Err(HeadError::Closed)) => return,
        Err(_) => {
            global().http_refused.get_or_create(&ReasonLabel { reason: "timeout".into() }).inc();
            b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        conn.write_all(&reply).await?;
        conn.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    /// A listener on a free loopback port, serving until the returned sender is dropped.
    fn start(max_connections: usize) -> (u16, tokio::sync::watch::Sender<bool>) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(super::serve(format!("127.0.0.1:{port}"), vec![], max_connections, None, rx));
        (port, tx)
    }

    async fn connect(port: u16) -> std::net::TcpStream {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => return s,
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// Sends `request` (in pieces, a pause between them) and reads the whole answer, off the
    /// runtime's threads.
    async fn exchange(port: u16, pieces: Vec<Vec<u8>>) -> String {
        let mut s = connect(port).await;
        tokio::task::spawn_blocking(move || {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            for p in pieces {
                let _ = s.write_all(&p);
                std::thread::sleep(Duration::from_millis(50));
            }
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn idle_connections_at_the_limit_do_not_lock_out_a_request() {
        let (port, _stop) = start(4);
        let mut idle = Vec::new();
        for _ in 0..20 {
            idle.push(connect(port).await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let asked = Instant::now();
        let answer = exchange(port, vec![b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()]).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(asked.elapsed() < Duration::from_secs(2), "{:?}", asked.elapsed());
        // Idle ones were displaced (closed by the server), never more than 4 served at once.
        let displaced = super::global().http_refused.get_or_create(&super::ReasonLabel { reason: "displaced".into() });
        assert!(displaced.get() >= 16, "{}", displaced.get());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn rating_links_are_checked_recorded_and_limited_beside_health() {
        use crate::store::{self, Store};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let (rated, unasked, unknown_language) = {
            let store = Store::open(&db).unwrap();
            let new = |language| store::NewTicket {
                subject: "Printer",
                department: "support",
                priority: "normal",
                requester: "anna@customer.test",
                requester_name: None,
                assignee: None,
                mailbox: None,
                language,
                created_at: 1_700_000_000,
                linked_to: None,
                silent: false,
                tags: &[],
                automatic: false,
                awaiting: None,
            };
            let rated = store::insert_ticket(store.conn(), &new(Some("de"))).unwrap();
            store::set_survey(store.conn(), rated, Some("csat")).unwrap();
            let unasked = store::insert_ticket(store.conn(), &new(Some("de"))).unwrap();
            let unknown_language = store::insert_ticket(store.conn(), &new(None)).unwrap();
            store::set_survey(store.conn(), unknown_language, Some("nps")).unwrap();
            (rated, unasked, unknown_language)
        };
        let rules = crate::rules::Rules::from_sources(
            &[("r.toml".into(), "[[department]]\nname = \"support\"\nlanguage = \"hu\"\n".into())],
            dir.path().join("templates"),
        )
        .unwrap();
        let at = chrono::DateTime::from_timestamp(1_700_000_500, 0).unwrap();
        let ctx = std::sync::Arc::new(crate::rating_page::RateContext::new(
            db.clone(),
            dir.path().to_path_buf(),
            "Ticket".into(),
            std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(rules))),
            std::sync::Arc::new(crate::clock::FixedClock(at)),
        ));
        let key = crate::ratings::key(dir.path()).unwrap();
        let token = crate::ratings::token(&key, rated);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (_stop, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(super::serve(format!("127.0.0.1:{port}"), vec![], 8, Some(ctx), rx));
        let get = |method: &str, path: String| {
            let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes();
            exchange(port, vec![request])
        };
        let rating = || {
            let store = Store::open_existing(&db).unwrap();
            store::get_ticket(store.conn(), rated).unwrap().unwrap().rating.map(|r| (r.score, r.via, r.at))
        };

        let page = get("GET", format!("/rate/{token}/4")).await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("Content-Type: text/html; charset=utf-8\r\n"), "{page}");
        assert!(page.contains("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'"), "{page}");
        assert!(page.contains("lang=\"de\"") && page.contains(r#"id="score">4<"#), "the customer's language: {page}");
        assert_eq!(rating(), Some((4, "link".to_string(), at.timestamp())));
        let events = store::events_of(Store::open_existing(&db).unwrap().conn(), rated).unwrap();
        assert_eq!(events.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>(), ["4 (csat, by link)"]);
        // HEAD checks and shows, records nothing.
        let head = get("HEAD", format!("/rate/{token}/5?utm=x")).await;
        assert!(head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"), "{head}");
        assert_eq!(rating().unwrap().0, 4);
        // The department's language when the customer's is unknown.
        let page = get("GET", format!("/rate/{}/10", crate::ratings::token(&key, unknown_language))).await;
        assert!(page.contains("lang=\"hu\"") && page.contains(r#"id="score">10<"#), "{page}");
        let other = crate::ratings::token(&key, unasked);
        let flipped = {
            let mut b = token.clone().into_bytes();
            let i = b.len() - 5;
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            String::from_utf8(b).unwrap()
        };
        for path in [
            format!("/rate/{token}/6"),
            format!("/rate/{token}/0"),
            format!("/rate/{token}/+3"),
            format!("/rate/{token}/3/"),
            format!("/rate/{other}/3"),
            format!("/rate/{flipped}/3"),
            format!("/rate/{}/3", crate::ratings::token(&key, 999)),
            "/rate/".to_string(),
        ] {
            let answer = get("GET", path.clone()).await;
            assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{path}: {answer}");
            assert!(answer.contains("Content-Type: text/plain"), "{answer}");
        }
        assert_eq!(rating().unwrap().0, 4);
        let health = get("GET", "/healthz".into()).await;
        assert!(health.starts_with("HTTP/1.1 200 OK"), "{health}");
        // 11 rating requests so far from this address; the 21st of the minute is refused.
        for n in 12..=20 {
            let answer = get("GET", format!("/rate/{token}/2")).await;
            assert!(answer.starts_with("HTTP/1.1 200 OK"), "request {n}: {answer}");
        }
        let limited = super::global().http_refused.get_or_create(&super::ReasonLabel { reason: "rate_limited".into() });
        let before = limited.get();
        let answer = get("GET", format!("/rate/{token}/5")).await;
        assert!(answer.starts_with("HTTP/1.1 429 Too Many Requests\r\n"), "{answer}");
        assert_eq!(rating().unwrap().0, 2, "nothing recorded over the limit");
        assert!(limited.get() > before);
        let metrics = get("GET", "/metrics".into()).await;
        assert!(metrics.starts_with("HTTP/1.1 200 OK") && metrics.contains("reason=\"rate_limited\""), "{metrics}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn request_heads_are_bounded_and_may_come_in_pieces() {
        let (port, _stop) = start(8);
        let answer = exchange(port, vec![b"GET /metr".to_vec(), b"ics HTTP/1.1\r\n".to_vec(), b"\r\n".to_vec()]).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.contains("# EOF"), "{answer}");
        let huge = format!("GET /healthz HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(9000));
        let answer = exchange(port, vec![huge.into_bytes()]).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        let answer = exchange(port, vec![b"HEAD /healthz HTTP/1.1\r\n\r\n".to_vec()]).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("\r\n\r\n"), "{answer}");
        let answer = exchange(port, vec![b"POST /healthz HTTP/1.1\r\n\r\n".to_vec()]).await;
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        let answer = exchange(port, vec![b"GET /nope?x=1 HTTP/1.1\r\n\r\n".to_vec()]).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    }
}
