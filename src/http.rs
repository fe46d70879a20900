//! The HTTP listener (`[http] listen`): `/healthz` and `/metrics` for monitoring, and the rating
//! links of [`crate::rating_page`] when `[http] public_url` is set — bounded in connections,
//! time and size so that no client can starve the daemon.
//!
//! It only reads the metrics and hands rating requests to their page; it never touches a
//! mailbox.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::metrics::{global, ReasonLabel};

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
                priority: crate::domain::Priority::Normal,
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
