//! ticketd turns shared IMAP mailboxes into tickets stored in SQLite.
//!
//! The modules follow the path of a message:
//!
//! ```text
//! mailbox ──► scan ──► parse ──► filter ──► thread ──► route ──► pipeline (store) ──► outbox
//!  (IMAP)    (spamd,   (MIME)    (spam,     (which     (rules)   (one SQLite        (SMTP)
//!            rspamd;             auto,      ticket)              transaction)
//!            optional)           staff)
//! ```
//!
//! Beside the pipeline: [`config`] (config.toml), [`rules`] (the admins' policy), [`store`]
//! (SQLite), [`clock`] (injected time), [`daemon`] (tasks, signals, shutdown) and [`present`]
//! (what the CLI prints).

pub mod actions;
pub mod alerts;
pub mod clock;
pub mod commands;
pub mod config;
pub mod contracts;
pub mod daemon;
pub mod digest;
pub mod explain;
pub mod files;
pub mod filter;

pub mod loops;
pub mod mailbox;
pub mod metrics;
pub mod notify;
pub mod oauth;
pub mod outbox;
pub mod parse;
pub mod pipeline;
pub mod present;
pub mod rating_page;
pub mod ratings;
pub mod route;
pub mod rules;
pub mod scan;
pub mod scheduler;
pub mod service;
pub mod sla;
pub mod stats;
pub mod store;
pub mod thread;
pub mod when;
pub mod worktime;
