//! The page behind a rating link (docs/conversation.md "Closing and rating"): `GET /rate/{token}/{score}` on
//! the `[http]` listener records the score (a later one replaces it), thanks the customer in
//! their language, and changes nothing else.
//!
//! A link is good only when its token is signed with this installation's key
//! ([`crate::ratings::verify`]), its ticket exists, the ticket's closing mail asked for a rating
//! and the score is a whole number of that survey's scale written as plain digits. Anything else
//! is a 404 that records nothing. Each client address may ask 20 times a minute (a bounded map of
//! addresses; 429 beyond). The token is never logged, only the ticket it names.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::rules::Survey;
use crate::store::{self, Store, StoreError};

/// Rating requests one client address may make per minute.
pub const PER_MINUTE: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);
/// Client addresses remembered by the limiter at most (the oldest is forgotten first).
pub const MAX_ADDRESSES: usize = 10_000;

/// The built-in thank-you pages, used when neither the department's folder nor the templates
/// folder has one.
const BUILTIN: &[(&str, &str)] = &[
    ("rated.html", include_str!("../rules/templates/rated.html")),
    ("rated.hu.html", include_str!("../rules/templates/rated.hu.html")),
    ("rated.de.html", include_str!("../rules/templates/rated.de.html")),
    ("rated.cs.html", include_str!("../rules/templates/rated.cs.html")),
    ("rated.pl.html", include_str!("../rules/templates/rated.pl.html")),
    ("rated.he.html", include_str!("../rules/templates/rated.he.html")),
];

/// What the rating page needs of the daemon.
pub struct RateContext {
    pub database: PathBuf,
    /// Where `rating.key` lives.
    pub data_dir: PathBuf,
    pub tag_prefix: String,
    pub rules: crate::rules::SharedRules,
    pub clock: Arc<dyn Clock>,
    limiter: Mutex<RateLimiter>,
    /// One connection kept between requests (opened on first use, dropped after an error).
    store: Mutex<Option<Store>>,
}

impl RateContext {
    pub fn new(
        database: PathBuf,
        data_dir: PathBuf,
        tag_prefix: String,
        rules: crate::rules::SharedRules,
        clock: Arc<dyn Clock>,
    ) -> RateContext {
        RateContext {
            database,
            data_dir,
            tag_prefix,
            rules,
            clock,
            limiter: Mutex::new(RateLimiter::new(PER_MINUTE, WINDOW, MAX_ADDRESSES)),
            store: Mutex::new(None),
        }
    }

    /// Whether `client` may ask once more now (and counts it).
    pub fn allow(&self, client: IpAddr) -> bool {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner()).allow(client, Instant::now())
    }
}

/// At most `limit` requests per `window` from one address, in fixed windows that start with an
/// address's first request. Remembers at most `capacity` addresses: at the limit the one whose
/// window started first is forgotten, so a flood from many addresses cannot grow memory.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    capacity: usize,
    /// Per address: when its window started and the requests in it.
    counts: HashMap<IpAddr, (Instant, u32)>,
    /// The addresses of `counts` in the order their windows started (an address leaves both
    /// at once).
    order: VecDeque<(Instant, IpAddr)>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration, capacity: usize) -> RateLimiter {
        RateLimiter { limit, window, capacity: capacity.max(1), counts: HashMap::new(), order: VecDeque::new() }
    }

    /// Counts a request from `client` at `now`; false when it is over the limit.
    pub fn allow(&mut self, client: IpAddr, now: Instant) -> bool {
        let client = bucket(client);
        // Windows that are over: forget them.
        while let Some(&(start, ip)) = self.order.front() {
            if now.saturating_duration_since(start) < self.window {
                break;
            }
            self.order.pop_front();
            if self.counts.get(&ip).is_some_and(|(s, _)| *s == start) {
                self.counts.remove(&ip);
            }
        }
        if let Some((_, count)) = self.counts.get_mut(&client) {
            if *count >= self.limit {
                return false;
            }
            *count += 1;
            return true;
        }
        while self.counts.len() >= self.capacity {
            let Some((start, ip)) = self.order.pop_front() else { break };
            if self.counts.get(&ip).is_some_and(|(s, _)| *s == start) {
                self.counts.remove(&ip);
            }
        }
        self.counts.insert(client, (now, 1));
        self.order.push_back((now, client));
        self.limit > 0
    }

    /// Addresses remembered now.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// The unit counted: an IPv4 address, or an IPv6 /64 (what one customer's network gets, so
/// that hopping between addresses of it gains nothing).
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
        v4 => v4,
    }
}

/// The client a request is counted against: the peer, or, when the peer is on this machine (a
/// reverse proxy in front of ticketd), the last address in its `X-Forwarded-For` header: the
/// one the proxy added, which the client cannot choose.
pub fn client_address(peer: IpAddr, head: &str) -> IpAddr {
    let local = match peer {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    };
    if !local {
        return peer;
    }
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("x-forwarded-for"))
        .last()
        .and_then(|(_, value)| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
        .unwrap_or(peer)
}

/// The token and score of a rating link's path (`/rate/{token}/{score}`), without its query.
pub fn parse_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/rate/")?;
    let (token, score) = rest.split_once('/')?;
    if token.is_empty() || score.is_empty() || score.contains('/') {
        return None;
    }
    Some((token, score))
}

/// A score as a link writes it: one or two plain digits (no sign, no space, no fraction), in
/// the survey's scale.
pub fn parse_score(text: &str, survey: Survey) -> Option<i64> {
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let score: i64 = text.parse().ok()?;
    let (low, high) = survey.scale();
    (low..=high).contains(&score).then_some(score)
}

/// An answer of the rating page.
#[derive(Debug, PartialEq)]
pub struct Page {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: String,
    /// Extra header lines ("Name: value").
    pub headers: Vec<String>,
}

impl Page {
    pub fn not_found() -> Page {
        Page {
            status: "404 Not Found",
            content_type: "text/plain; charset=utf-8",
            body: "not found\n".into(),
            headers: vec![],
        }
    }

    pub fn too_many() -> Page {
        Page {
            status: "429 Too Many Requests",
            content_type: "text/plain; charset=utf-8",
            body: "too many requests, try again in a minute\n".into(),
            headers: vec![format!("Retry-After: {}", WINDOW.as_secs())],
        }
    }

    fn unavailable() -> Page {
        Page {
            status: "503 Service Unavailable",
            content_type: "text/plain; charset=utf-8",
            body: "the rating could not be recorded, please try again later\n".into(),
            headers: vec!["Retry-After: 60".into()],
        }
    }

    /// The whole HTTP answer; `head_only` leaves the body out (HEAD).
    pub fn to_http(&self, head_only: bool) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
             X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'\r\n",
            self.status,
            self.content_type,
            self.body.len()
        );
        for h in &self.headers {
            out.push_str(h);
            out.push_str("\r\n");
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut out = out.into_bytes();
        if !head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

/// Answers a rating link (blocking: run it off the async threads). `record` is false for HEAD,
/// which checks the link and shows the page but records nothing (link checkers in mail filters
/// send it).
pub fn handle(ctx: &RateContext, token: &str, score: &str, record: bool) -> Page {
    let key = match crate::ratings::key(&ctx.data_dir) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(data_dir = %ctx.data_dir.display(), error = %e, "cannot read the rating key");
            return Page::unavailable();
        }
    };
    let Some(ticket) = crate::ratings::verify(&key, token) else {
        // The id the token claims, for the log: never the token itself.
        let claimed = token.split_once('-').and_then(|(id, _)| id.parse::<i64>().ok());
        tracing::debug!(ticket = claimed, "rating link with a bad signature refused");
        return Page::not_found();
    };
    let mut guard = ctx.store.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        match Store::open(&ctx.database) {
            Ok(s) => *guard = Some(s),
            Err(e) => {
                tracing::error!(ticket, error = %e, "cannot open the database for a rating");
                return Page::unavailable();
            }
        }
    }
    let Some(store) = guard.as_mut() else { return Page::unavailable() };
    let now = ctx.clock.now().timestamp();
    match record_link(store, ticket, score, now, record) {
        Ok(Some((t, score, survey))) => {
            drop(guard);
            if record {
                tracing::info!(ticket, score, scale = survey.as_str(), "rating by link");
            }
            let rules = ctx.rules.read().unwrap_or_else(|e| e.into_inner()).clone();
            let department_language = rules.department(&t.department).map(|d| d.language.as_str());
            let languages: Vec<&str> = t.language.as_deref().into_iter().chain(department_language).collect();
            let tag = format!("[{}#{}]", ctx.tag_prefix, t.id);
            let body = render(&rules.templates_dir, &t.department, &languages, score, survey.scale().1, &tag);
            Page { status: "200 OK", content_type: "text/html; charset=utf-8", body, headers: vec![] }
        }
        Ok(None) => {
            tracing::debug!(ticket, "rating link refused: no such ticket, no survey asked, or a score off the scale");
            Page::not_found()
        }
        Err(e) => {
            tracing::error!(ticket, error = %e, "cannot record a rating");
            // A broken connection is opened afresh next time.
            *guard = None;
            Page::unavailable()
        }
    }
}

/// Checks the link against the ticket and, when `record`, records the rating and its event in
/// one transaction. None: not a link this ticket takes.
fn record_link(
    store: &mut Store,
    ticket: i64,
    score: &str,
    at: i64,
    record: bool,
) -> Result<Option<(store::Ticket, i64, Survey)>, StoreError> {
    // Taking the write lock first when writing: a read that turns into a write could find the
    // database changed under it and fail instead of waiting.
    let behavior =
        if record { rusqlite::TransactionBehavior::Immediate } else { rusqlite::TransactionBehavior::Deferred };
    let tx = store.conn_mut().transaction_with_behavior(behavior)?;
    let Some(t) = store::get_ticket(&tx, ticket)? else { return Ok(None) };
    let Some(survey) = t.survey.as_deref().and_then(Survey::parse) else { return Ok(None) };
    let Some(score) = parse_score(score, survey) else { return Ok(None) };
    if record {
        let scale = survey.as_str();
        let rating = store::Rating { score, scale: scale.into(), comment: String::new(), at, via: "link".into() };
        store::record_rating(&tx, ticket, &rating)?;
        store::add_event(&tx, ticket, at, "rating", None, &format!("{score} ({scale}, by link)"))?;
        tx.commit()?;
    }
    Ok(Some((t, score, survey)))
}

/// A language code safe to put in a file name.
fn plain_language(l: &str) -> bool {
    (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase())
}

/// The thank-you page's template: `rated.{lang}.html` for each of `languages` in turn, then
/// English (`rated.html`), each looked for in the department's folder, the templates folder and
/// the built-in set.
pub fn find_page(dir: &Path, department: &str, languages: &[&str]) -> (String, String) {
    let mut names: Vec<String> = Vec::new();
    for l in languages.iter().copied().filter(|l| plain_language(l)).chain(["en"]) {
        let mut candidates = vec![format!("rated.{l}.html")];
        if l == "en" {
            candidates.push("rated.html".into());
        }
        for c in candidates {
            if !names.contains(&c) {
                names.push(c);
            }
        }
    }
    let department_ok = !department.is_empty() && !department.contains(['/', '\\']) && department != "..";
    for name in &names {
        let folders = department_ok.then(|| dir.join(department)).into_iter().chain([dir.to_path_buf()]);
        for folder in folders {
            if let Ok(text) = std::fs::read_to_string(folder.join(name)) {
                return (name.clone(), text);
            }
        }
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| n == name) {
            return (name.clone(), text.to_string());
        }
    }
    (BUILTIN[0].0.into(), BUILTIN[0].1.into())
}

/// The thank-you page, HTML-escaped. A template that does not render is logged and the
/// built-in English page is used.
pub fn render(dir: &Path, department: &str, languages: &[&str], score: i64, scale_max: i64, tag: &str) -> String {
    let (name, text) = find_page(dir, department, languages);
    let values = minijinja::context! { score => score, scale_max => scale_max, tag => tag };
    let attempt = |text: &str| -> Result<String, minijinja::Error> {
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.render_str(text, &values)
    };
    match attempt(&text) {
        Ok(page) => page,
        Err(e) => {
            tracing::warn!(template = %name, error = %e, "rating page template does not render; using the built-in one");
            attempt(BUILTIN[0].1).unwrap_or_else(|_| format!("Thank you: {score} / {scale_max}\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_scores_are_read_strictly() {
        assert_eq!(parse_path("/rate/12-abc/9"), Some(("12-abc", "9")));
        for bad in ["/rate/12-abc", "/rate/12-abc/", "/rate//9", "/rate/12-abc/9/", "/rate/a/b/c", "/ratex/1/2"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
        assert_eq!(parse_score("9", Survey::Nps), Some(9));
        assert_eq!(parse_score("0", Survey::Nps), Some(0));
        assert_eq!(parse_score("10", Survey::Nps), Some(10));
        assert_eq!(parse_score("09", Survey::Nps), Some(9));
        for bad in ["11", "-1", "+9", " 9", "9 ", "9.0", "010", "", "1e1", "٩", "%39"] {
            assert_eq!(parse_score(bad, Survey::Nps), None, "{bad:?}");
        }
        assert_eq!(parse_score("5", Survey::Csat), Some(5));
        assert_eq!(parse_score("0", Survey::Csat), None);
        assert_eq!(parse_score("6", Survey::Csat), None);
    }

    #[test]
    fn twenty_a_minute_per_address() {
        let mut l = RateLimiter::new(20, WINDOW, 100);
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..20 {
            assert!(l.allow(a, t0 + Duration::from_secs(i)), "request {i}");
        }
        assert!(!l.allow(a, t0 + Duration::from_secs(30)));
        assert!(l.allow(b, t0 + Duration::from_secs(30)), "another address has its own count");
        assert!(!l.allow(a, t0 + Duration::from_secs(59)));
        assert!(l.allow(a, t0 + Duration::from_secs(60)), "a new minute");
        // One IPv6 network is one client.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for _ in 0..20 {
            assert!(l.allow(v6a, t0));
        }
        assert!(!l.allow(v6b, t0));
        assert!(l.allow("2001:db8:1:3::1".parse().unwrap(), t0));
    }

    #[test]
    fn the_limiter_forgets_the_oldest_addresses_first_and_stays_bounded() {
        let mut l = RateLimiter::new(2, WINDOW, 1000);
        let t0 = Instant::now();
        let first: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.allow(first, t0));
        assert!(l.allow(first, t0));
        assert!(!l.allow(first, t0));
        for i in 0..100_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            l.allow(ip, t0 + Duration::from_millis(1 + u64::from(i) / 10_000));
            assert!(l.len() <= 1000);
            assert!(l.order.len() <= 1000);
        }
        // The first address was the oldest: forgotten, so it starts afresh.
        assert!(l.allow(first, t0 + Duration::from_secs(20)));
        // Windows that are over are forgotten whatever the load.
        assert!(l.allow("10.0.0.2".parse().unwrap(), t0 + Duration::from_secs(200)));
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn the_proxy_on_this_machine_names_the_client() {
        let head = "GET /rate/x/1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n\r\n";
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(client_address(local, head), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_address("::1".parse().unwrap(), head), "203.0.113.9".parse::<IpAddr>().unwrap());
        // From elsewhere the header is the client's own word: ignored.
        let remote: IpAddr = "192.0.2.5".parse().unwrap();
        assert_eq!(client_address(remote, head), remote);
        assert_eq!(client_address(local, "GET / HTTP/1.1\r\n\r\n"), local);
        assert_eq!(client_address(local, "GET / HTTP/1.1\r\nX-Forwarded-For: junk\r\n\r\n"), local);
    }

    #[test]
    fn pages_are_found_by_language_and_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let page = render(dir.path(), "support", &["hu", "en"], 9, 10, "[Ticket#3]");
        assert!(page.contains("Köszönjük") && page.contains(r#"<strong id="score">9</strong>"#), "{page}");
        let page = render(dir.path(), "support", &["xx", "../../etc/passwd"], 4, 5, "[T#1]");
        assert!(page.contains("Thank you") && page.contains("out of 5"), "{page}");
        // An admin's page wins over the built-in one; values are HTML-escaped.
        std::fs::create_dir_all(dir.path().join("support")).unwrap();
        std::fs::write(dir.path().join("support/rated.de.html"), "<p>{{ tag }} {{ score }}</p>").unwrap();
        assert_eq!(render(dir.path(), "support", &["de"], 7, 10, "<b>&"), "<p>&lt;b&gt;&amp; 7</p>");
        std::fs::write(dir.path().join("rated.pl.html"), "{% broken").unwrap();
        let page = render(dir.path(), "other", &["pl"], 2, 5, "[T#1]");
        assert!(page.contains("Thank you"), "a broken page falls back: {page}");
    }

    #[test]
    fn answers_carry_the_security_headers_and_head_has_no_body() {
        let page = Page {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            body: "<p>x</p>".into(),
            headers: vec![],
        };
        let full = String::from_utf8(page.to_http(false)).unwrap();
        for h in [
            "Content-Type: text/html; charset=utf-8",
            "Cache-Control: no-store",
            "X-Content-Type-Options: nosniff",
            "Referrer-Policy: no-referrer",
            "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'",
            "Content-Length: 8",
        ] {
            assert!(full.contains(h), "{h}: {full}");
        }
        assert!(full.ends_with("\r\n\r\n<p>x</p>"));
        let head = String::from_utf8(page.to_http(true)).unwrap();
        assert!(head.ends_with("\r\n\r\n") && head.contains("Content-Length: 8"), "{head}");
        assert!(String::from_utf8(Page::too_many().to_http(false)).unwrap().starts_with("HTTP/1.1 429"));
    }
}
