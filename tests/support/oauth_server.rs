//! A loopback OAuth2 provider for tests, standing in for Microsoft's or Google's: a token
//! endpoint (client-credentials and refresh-token grants, with refresh-token rotation) and an
//! introspection endpoint that Dovecot's oauth2 passdb asks. Tokens can be revoked and grants
//! broken from the test.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct ProviderState {
    pub next: u32,
    /// access token -> user
    pub access: HashMap<String, String>,
    pub refresh: HashSet<String>,
    /// Every token request's form, in order.
    pub requests: Vec<HashMap<String, String>>,
    /// When set, every token request is refused with invalid_grant.
    pub broken: bool,
    pub user: String,
    pub client_secret: String,
}

pub struct OauthProvider {
    pub port: u16,
    pub state: Arc<Mutex<ProviderState>>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form(body: &str) -> HashMap<String, String> {
    body.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

impl OauthProvider {
    pub fn start(user: &str, client_secret: &str, first_refresh_token: &str) -> OauthProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ProviderState {
            user: user.into(),
            client_secret: client_secret.into(),
            refresh: [first_refresh_token.to_string()].into_iter().collect(),
            ..Default::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        return;
                    }
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    reader.read_exact(&mut body).ok();
                    let body = String::from_utf8_lossy(&body).into_owned();
                    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, json) = handle(&state, &path, &body);
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                        json.len()
                    );
                    let _ = stream.write_all(reply.as_bytes());
                });
            }
        });
        OauthProvider { port, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn revoke_access_tokens(&self) {
        self.state.lock().unwrap().access.clear();
    }
}

fn handle(state: &Mutex<ProviderState>, path: &str, body: &str) -> (&'static str, String) {
    let f = form(body);
    let mut s = state.lock().unwrap();
    if path.starts_with("/introspect") {
        // Dovecot posts token=...; answer RFC 7662 style.
        let token = f.get("token").cloned().unwrap_or_default();
        return match s.access.get(&token) {
            Some(user) => ("200 OK", format!("{{\"active\": true, \"username\": \"{user}\"}}")),
            None => ("200 OK", "{\"active\": false}".into()),
        };
    }
    s.requests.push(f.clone());
    if s.broken {
        return (
            "400 Bad Request",
            "{\"error\": \"invalid_grant\", \"error_description\": \"AADSTS70008: the refresh token has expired\"}"
                .into(),
        );
    }
    let ok = match f.get("grant_type").map(String::as_str) {
        Some("client_credentials") => f.get("client_secret") == Some(&s.client_secret),
        Some("refresh_token") => {
            let rt = f.get("refresh_token").cloned().unwrap_or_default();
            s.refresh.remove(&rt)
        }
        _ => false,
    };
    if !ok {
        return ("400 Bad Request", "{\"error\": \"invalid_grant\"}".into());
    }
    s.next += 1;
    let access = format!("access-{}", s.next);
    let user = s.user.clone();
    s.access.insert(access.clone(), user);
    if f.get("grant_type").map(String::as_str) == Some("refresh_token") {
        let rotated = format!("refresh-{}", s.next);
        s.refresh.insert(rotated.clone());
        ("200 OK", format!("{{\"access_token\": \"{access}\", \"token_type\": \"Bearer\", \"expires_in\": 3600, \"refresh_token\": \"{rotated}\"}}"))
    } else {
        ("200 OK", format!("{{\"access_token\": \"{access}\", \"token_type\": \"Bearer\", \"expires_in\": 3600}}"))
    }
}
