//! OAuth2 access tokens for SASL XOAUTH2 (Microsoft 365, Gmail): from a command, the
//! client-credentials grant, or a refresh token (RFC 6749 §4.4, §6). Tokens are cached until
//! shortly before they expire and fetched anew when a server refuses one. A refresh token the
//! provider rotates is saved atomically in `data_dir/oauth/` and used from then on, so a
//! rotation is never lost to a crash.
//!
//! Blocking (ureq): call it from a blocking task. Tokens and secrets never reach a log line or an
//! error message; the provider's own error code and description do.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::secret::{Secret, SecretError};
use crate::config::{OauthConfig, SecretSource};

#[derive(Debug, thiserror::Error)]
pub enum OauthError {
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("token endpoint {url}: {message}")]
    Endpoint { url: String, message: String },
    #[error("token endpoint {url} refused: {message}")]
    Refused { url: String, message: String },
    #[error("cannot save the rotated refresh token in {path}: {source}")]
    Save { path: String, source: std::io::Error },
}

struct Cached {
    token: Secret,
    valid_until: Instant,
}

/// Where one mailbox (or the SMTP relay) gets its access tokens.
pub struct TokenProvider {
    name: String,
    config: OauthConfig,
    state_dir: PathBuf,
    cached: Mutex<Option<Cached>>,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct ErrorResponse {
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenProvider {
    pub fn new(name: &str, config: OauthConfig, data_dir: &Path) -> TokenProvider {
        TokenProvider { name: name.to_string(), config, state_dir: data_dir.join("oauth"), cached: Mutex::new(None) }
    }

    /// The file a rotated refresh token is kept in.
    pub fn rotated_token_path(&self) -> PathBuf {
        let safe: String =
            self.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        self.state_dir.join(format!("{safe}.refresh_token"))
    }

    /// A token to log in with. `refresh` forces a new one (the server refused the last).
    pub fn token(&self, refresh: bool) -> Result<Secret, OauthError> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if !refresh {
            if let Some(c) = cached.as_ref().filter(|c| c.valid_until > Instant::now()) {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = self.fetch()?;
        *cached = Some(Cached { token: token.clone(), valid_until: Instant::now() + reuse_for(lifetime) });
        Ok(token)
    }

    fn fetch(&self) -> Result<(Secret, Duration), OauthError> {
        match &self.config {
            // A command manages its own cache; ask it each time a token is needed.
            OauthConfig::Command(cmd) => Ok((SecretSource::Command(cmd.clone()).read()?, Duration::from_secs(300))),
            OauthConfig::ClientCredentials { token_url, client_id, client_secret, scope } => {
                let secret = client_secret.read()?;
                let mut form = vec![
                    ("grant_type", "client_credentials".to_string()),
                    ("client_id", client_id.clone()),
                    ("client_secret", secret.expose().to_string()),
                ];
                if !scope.is_empty() {
                    form.push(("scope", scope.clone()));
                }
                let response = post(token_url, &form)?;
                Ok((Secret::new(response.access_token), Duration::from_secs(response.expires_in.unwrap_or(3600))))
            }
            OauthConfig::RefreshToken { token_url, client_id, client_secret, scope, refresh_token_file } => {
                let rotated = self.rotated_token_path();
                let current = if rotated.exists() {
                    SecretSource::File(rotated.clone()).read()?
                } else {
                    SecretSource::File(refresh_token_file.clone()).read()?
                };
                let mut form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", current.expose().to_string()),
                    ("client_id", client_id.clone()),
                ];
                if let Some(s) = client_secret {
                    form.push(("client_secret", s.read()?.expose().to_string()));
                }
                if !scope.is_empty() {
                    form.push(("scope", scope.clone()));
                }
                let response = post(token_url, &form)?;
                if let Some(next) = response.refresh_token.filter(|t| t != current.expose()) {
                    save_atomically(&rotated, &next)?;
                    tracing::info!(mailbox = %self.name, path = %rotated.display(), "refresh token rotated and saved");
                }
                Ok((Secret::new(response.access_token), Duration::from_secs(response.expires_in.unwrap_or(3600))))
            }
        }
    }
}

/// How long a token is reused: until two minutes before it expires, so that a login never races
/// the expiry, but at least ten seconds.
fn reuse_for(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(Duration::from_secs(120)).max(Duration::from_secs(10))
}

fn post(url: &str, form: &[(&str, String)]) -> Result<TokenResponse, OauthError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let endpoint = |message: String| OauthError::Endpoint { url: url.to_string(), message };
    let mut response =
        agent.post(url).send_form(form.iter().map(|(k, v)| (*k, v.as_str()))).map_err(|e| endpoint(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let err: ErrorResponse = response.body_mut().read_json().unwrap_or_default();
        let message = match (err.error, err.error_description) {
            (Some(e), Some(d)) => format!("HTTP {status}: {e}: {d}"),
            (Some(e), None) => format!("HTTP {status}: {e}"),
            _ => format!("HTTP {status}"),
        };
        return Err(OauthError::Refused { url: url.to_string(), message });
    }
    response.body_mut().read_json::<TokenResponse>().map_err(|e| endpoint(format!("bad token response: {e}")))
}

/// Writes a secret file so that a crash leaves either the old or the new one, never a torn one:
/// mode 0600 in a 0750 folder whatever the umask, owned like data_dir when run as root.
fn save_atomically(path: &Path, value: &str) -> Result<(), OauthError> {
    let err = |source| OauthError::Save { path: path.display().to_string(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::files::create_private_dir_all(dir).map_err(err)?;
    crate::files::write_file_synced(path, value.as_bytes(), crate::files::SECRET_MODE).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        assert_eq!(reuse_for(Duration::from_secs(3600)), Duration::from_secs(3480));
        assert_eq!(reuse_for(Duration::from_secs(60)), Duration::from_secs(10));
    }

    #[test]
    fn a_cached_token_is_reused_and_a_forced_refresh_fetches_anew() {
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("n");
        // Each run of the command prints a new token.
        let cmd = format!("echo x >> {0}; echo token-$(wc -l < {0})", counter.display());
        let p = TokenProvider::new("m", OauthConfig::Command(cmd), dir.path());
        let first = p.token(false).unwrap();
        assert_eq!(p.token(false).unwrap(), first, "cached");
        let second = p.token(true).unwrap();
        assert_ne!(second, first, "refreshed when the server refused");
        assert!(!format!("{second:?}").contains("token-"));
    }
}
