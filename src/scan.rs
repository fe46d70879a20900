//! Scan: asks a live spam scanner about a message before the filter decides — SpamAssassin's
//! spamd over its own protocol (SPAMC/1.5), or rspamd's HTTP interface (`/checkv2`) — under the
//! `[spam] timeout`.
//!
//! It must never hold or lose mail: when the scanner is down, slow, or refuses the message, the
//! answer is [`ScanResult::Unscanned`] with the reason, and the message goes on as if it were
//! clean (fail-open), flagged so that people can see it was not checked. After a failure the
//! scanner is left alone for [`RETRY_AFTER`], so a dead scanner costs one timeout, not one per
//! message of a backlog.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::SpamConfig;

/// How long a failed scanner is not asked again.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);
/// Larger messages are not scanned: spamc's own default limit, and what scanners are tuned for.
pub const MAX_SCAN_SIZE: usize = 500 * 1024;
/// A scanner's answer is small; more than this is not a scanner talking.
const MAX_ANSWER: u64 = 256 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum ScanResult {
    Scanned {
        scanner: &'static str,
        score: f64,
        /// The score at which the scanner calls mail spam (its own configuration).
        required: f64,
        spam: bool,
        /// Rule names (spamd) or symbols with their scores (rspamd), highest first where known.
        symbols: Vec<String>,
    },
    /// Not checked; the message is treated as clean and flagged.
    Unscanned { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot talk to {0}")]
    Io(String, #[source] std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("unexpected answer: {0}")]
    Protocol(String),
    #[error("{0}")]
    Http(String),
}

enum Target {
    Spamd(String),
    Rspamd(String),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Spamd(addr) => format!("spamd at {addr}"),
            Target::Rspamd(url) => format!("rspamd at {url}"),
        }
    }
}

/// One configured scanner and its recent health. Shared by the passes of a mailbox task.
pub struct Scanner {
    target: Target,
    timeout: Duration,
    /// Until when the scanner is considered down, and why.
    down: Mutex<Option<(Instant, String)>>,
}

impl Scanner {
    /// The scanner `[spam]` configures, if any (spamd is asked when both are set).
    pub fn from_config(spam: &SpamConfig) -> Option<Scanner> {
        let target = match (&spam.spamd, &spam.rspamd_url) {
            (Some(addr), _) => Target::Spamd(addr.clone()),
            (None, Some(url)) => Target::Rspamd(url.trim_end_matches('/').to_string()),
            (None, None) => return None,
        };
        Some(Scanner { target, timeout: spam.timeout.0, down: Mutex::new(None) })
    }

    /// Scans one message. Never fails: trouble becomes `Unscanned` with its reason.
    pub async fn scan(&self, raw: &[u8]) -> ScanResult {
        let result = self.ask(raw).await;
        let label = match &result {
            ScanResult::Scanned { spam: true, .. } => "spam",
            ScanResult::Scanned { .. } => "clean",
            ScanResult::Unscanned { .. } => "unscanned",
        };
        crate::metrics::global().scans.get_or_create(&crate::metrics::ResultLabel { result: label.into() }).inc();
        result
    }

    async fn ask(&self, raw: &[u8]) -> ScanResult {
        if raw.len() > MAX_SCAN_SIZE {
            return ScanResult::Unscanned {
                reason: format!("larger than {} KB, which scanners skip", MAX_SCAN_SIZE / 1024),
            };
        }
        if let Some((until, why)) = self.down.lock().map(|d| d.clone()).unwrap_or_default() {
            if Instant::now() < until {
                return ScanResult::Unscanned { reason: format!("{} is down: {why}", self.target.describe()) };
            }
        }
        let answer = tokio::time::timeout(self.timeout, async {
            match &self.target {
                Target::Spamd(addr) => spamd(addr, raw).await,
                Target::Rspamd(url) => rspamd(url, raw, self.timeout).await,
            }
        })
        .await
        .unwrap_or(Err(ScanError::Timeout(self.timeout)));
        match answer {
            Ok(result) => {
                if let Ok(mut down) = self.down.lock() {
                    if down.take().is_some() {
                        tracing::info!(scanner = %self.target.describe(), "spam scanner answers again");
                    }
                }
                result
            }
            Err(e) => {
                let why = e.to_string();
                tracing::warn!(
                    scanner = %self.target.describe(), error = %why,
                    "spam scanner failed; mail goes on unscanned (retried in {}s)", RETRY_AFTER.as_secs()
                );
                if let Ok(mut down) = self.down.lock() {
                    *down = Some((Instant::now() + RETRY_AFTER, why.clone()));
                }
                ScanResult::Unscanned { reason: format!("{}: {why}", self.target.describe()) }
            }
        }
    }
}

/// SPAMC/1.5 `SYMBOLS`: the verdict line and the names of the rules that hit.
async fn spamd(addr: &str, raw: &[u8]) -> Result<ScanResult, ScanError> {
    let io = |e| ScanError::Io(format!("spamd at {addr}"), e);
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    let head = format!("SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\n\r\n", raw.len());
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(raw).await.map_err(io)?;
    stream.shutdown().await.map_err(io)?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer).await.map_err(io)?;
    parse_spamd(&answer)
}

/// Parses spamd's answer: `SPAMD/1.1 0 EX_OK`, `Spam: True ; 7.3 / 5.0`, a blank line and the
/// comma-separated rule names.
pub fn parse_spamd(answer: &[u8]) -> Result<ScanResult, ScanError> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("");
    let mut parts = status.split_whitespace();
    if !parts.next().is_some_and(|p| p.starts_with("SPAMD/")) {
        return Err(ScanError::Protocol(format!("not spamd: {:?}", truncate(status))));
    }
    if parts.next() != Some("0") {
        return Err(ScanError::Protocol(format!("spamd refused the message: {}", truncate(status))));
    }
    let verdict = lines
        .find_map(|l| l.strip_prefix("Spam:"))
        .ok_or_else(|| ScanError::Protocol("spamd gave no Spam: line".into()))?;
    // "True ; 7.3 / 5.0"
    let (flag, scores) = verdict.split_once(';').ok_or_else(|| ScanError::Protocol(truncate(verdict)))?;
    let (score, required) = scores.split_once('/').ok_or_else(|| ScanError::Protocol(truncate(verdict)))?;
    let number = |s: &str| s.trim().parse::<f64>().map_err(|_| ScanError::Protocol(truncate(verdict)));
    let flag = flag.trim();
    Ok(ScanResult::Scanned {
        scanner: "spamd",
        score: number(score)?,
        required: number(required)?,
        spam: flag.eq_ignore_ascii_case("true") || flag.eq_ignore_ascii_case("yes"),
        symbols: body.trim().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
    })
}

/// rspamd's `/checkv2`: a JSON verdict with an action and scored symbols.
async fn rspamd(url: &str, raw: &[u8], timeout: Duration) -> Result<ScanResult, ScanError> {
    let url = format!("{url}/checkv2");
    let body = raw.to_vec();
    let answer = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ScanError> {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(true).build().into();
        let mut response = agent.post(&url).send(&body[..]).map_err(|e| ScanError::Http(format!("{url}: {e}")))?;
        response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| ScanError::Http(format!("{url}: {e}")))
    })
    .await
    .map_err(|e| ScanError::Http(e.to_string()))??;
    parse_rspamd(&answer)
}

/// Parses rspamd's answer: spam when its action is one that marks or refuses mail.
pub fn parse_rspamd(answer: &[u8]) -> Result<ScanResult, ScanError> {
    #[derive(serde::Deserialize)]
    struct Symbol {
        #[serde(default)]
        score: f64,
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        score: f64,
        required_score: f64,
        action: String,
        #[serde(default)]
        symbols: std::collections::HashMap<String, Symbol>,
    }
    let a: Answer = serde_json::from_slice(answer).map_err(|e| ScanError::Protocol(format!("rspamd: {e}")))?;
    let mut symbols: Vec<(String, f64)> = a.symbols.into_iter().map(|(name, s)| (name, s.score)).collect();
    symbols.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    let action = a.action.to_ascii_lowercase();
    Ok(ScanResult::Scanned {
        scanner: "rspamd",
        score: a.score,
        required: a.required_score,
        spam: matches!(action.as_str(), "reject" | "add header" | "rewrite subject"),
        symbols: symbols.into_iter().map(|(name, score)| format!("{name}({score:.1})")).collect(),
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spamd_answers() {
        let r = parse_spamd(
            b"SPAMD/1.1 0 EX_OK\r\nContent-length: 22\r\nSpam: True ; 7.3 / 5.0\r\n\r\nMISSING_DATE,HTML_MESSAGE",
        )
        .unwrap();
        assert_eq!(
            r,
            ScanResult::Scanned {
                scanner: "spamd",
                score: 7.3,
                required: 5.0,
                spam: true,
                symbols: vec!["MISSING_DATE".into(), "HTML_MESSAGE".into()],
            }
        );
        let clean = parse_spamd(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n").unwrap();
        assert!(matches!(clean, ScanResult::Scanned { spam: false, ref symbols, .. } if symbols.is_empty()));
        assert!(parse_spamd(b"SPAMD/1.0 76 Bad header line: xyz\r\n\r\n").is_err());
        assert!(parse_spamd(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_spamd(b"SPAMD/1.1 0 EX_OK\r\nSpam: True ; lots / 5.0\r\n\r\n").is_err());
        assert!(parse_spamd(b"").is_err());
    }

    #[test]
    fn rspamd_answers() {
        let r = parse_rspamd(
            br#"{"is_skipped":false,"score":9.5,"required_score":15,"action":"add header",
                "symbols":{"R_SPF_FAIL":{"name":"R_SPF_FAIL","score":1.0},"BAYES_SPAM":{"name":"BAYES_SPAM","score":5.1}}}"#,
        )
        .unwrap();
        let ScanResult::Scanned { spam, symbols, score, .. } = r else { panic!("scanned") };
        assert!(spam);
        assert_eq!(score, 9.5);
        assert_eq!(symbols, vec!["BAYES_SPAM(5.1)", "R_SPF_FAIL(1.0)"]);
        let clean = parse_rspamd(br#"{"score":1.0,"required_score":15,"action":"no action"}"#).unwrap();
        assert!(matches!(clean, ScanResult::Scanned { spam: false, .. }));
        assert!(parse_rspamd(b"<html>").is_err());
    }

    #[tokio::test]
    async fn a_dead_scanner_fails_open_and_is_left_alone() {
        // A port nobody listens on: bind, learn the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let spam = SpamConfig {
            score_threshold: 5.0,
            spamd: Some(format!("127.0.0.1:{port}")),
            rspamd_url: None,
            timeout: "2s".parse().unwrap(),
            allow: vec![],
            block: vec![],
        };
        let scanner = Scanner::from_config(&spam).unwrap();
        let ScanResult::Unscanned { reason } = scanner.scan(b"Subject: x\r\n\r\nhi\r\n").await else {
            panic!("a refused connection is unscanned")
        };
        assert!(reason.contains(&format!("spamd at 127.0.0.1:{port}")), "{reason}");
        let ScanResult::Unscanned { reason } = scanner.scan(b"Subject: y\r\n\r\nhi\r\n").await else { panic!() };
        assert!(reason.contains("is down"), "{reason}");
        let big = vec![b'a'; MAX_SCAN_SIZE + 1];
        assert!(matches!(scanner.scan(&big).await, ScanResult::Unscanned { .. }));
    }

    #[tokio::test]
    async fn a_silent_scanner_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts and never answers.
        let _hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let spam = SpamConfig {
            score_threshold: 5.0,
            spamd: Some(addr.to_string()),
            rspamd_url: None,
            timeout: "1s".parse().unwrap(),
            allow: vec![],
            block: vec![],
        };
        let started = Instant::now();
        let result = Scanner::from_config(&spam).unwrap().scan(b"Subject: x\r\n\r\nhi\r\n").await;
        assert!(matches!(result, ScanResult::Unscanned { ref reason } if reason.contains("no answer")), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
