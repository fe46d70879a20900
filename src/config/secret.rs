//! Secrets (passwords, tokens) are named in the config, never written in it: they come from a
//! file, an environment variable or a command. They are read when a connection needs them, so a
//! rotated password is picked up without a restart.
//!
//! This module must never put a secret's value into an error message, a log line or a Debug
//! string.

use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
    /// A shell command whose standard output (trimmed) is the secret, e.g. an OAuth2 token.
    Command(String),
}

/// A secret value. Its Debug and Display show only that it is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read password file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("environment variable {0} is not set")]
    Env(String),
    #[error("token command failed: {0}")]
    Command(String),
    #[error("{0} is empty")]
    Empty(String),
}

impl SecretSource {
    /// Reads the secret now. Only the first line of a file counts, without its line end.
    pub fn read(&self) -> Result<Secret, SecretError> {
        let value = match self {
            SecretSource::File(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SecretError::File { path: path.clone(), source })?;
                text.lines().next().unwrap_or("").to_string()
            }
            SecretSource::Env(name) => std::env::var(name).map_err(|_| SecretError::Env(name.clone()))?,
            SecretSource::Command(command) => {
                let out = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .map_err(|e| SecretError::Command(e.to_string()))?;
                if !out.status.success() {
                    // stderr may be useful and is the command's own words, but never stdout.
                    let err = String::from_utf8_lossy(&out.stderr);
                    return Err(SecretError::Command(format!(
                        "{} ({})",
                        out.status,
                        err.lines().next().unwrap_or("").trim()
                    )));
                }
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            }
        };
        if value.is_empty() {
            return Err(SecretError::Empty(self.describe()));
        }
        Ok(Secret(value))
    }

    /// Where the secret comes from, for messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::File(p) => format!("password file {}", p.display()),
            SecretSource::Env(n) => format!("environment variable {n}"),
            SecretSource::Command(_) => "token command".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn file_secret_takes_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "hunter2\n").unwrap();
        assert_eq!(SecretSource::File(p).read().unwrap().expose(), "hunter2");
        let missing = SecretSource::File(dir.path().join("nope")).read().unwrap_err();
        assert!(missing.to_string().contains("nope"));
    }
}
