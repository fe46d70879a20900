//! ticketd turns shared IMAP mailboxes into tickets stored in SQLite.
//!
//! The modules follow the path of a message:
//!
//! ```text
//! mailbox ──► scan ──► parse ──► filter ──► thread ──► route ──► pipeline ──► store ──► outbox
//!  (IMAP)    (spamd,   (MIME)    (spam,     (which     (rules)   (decide,     (SQLite,   (SMTP)
//!            rspamd;             auto,      ticket)              file, ack)   one
//!            optional)           staff)                                       transaction)
//! ```
//!
//! Every module, one line each (docs/architecture.md tells where a change goes):
//!
//! - Pipeline: [`mailbox`] reads IMAP folders and applies the owed moves; [`scan`] asks spamd or
//!   rspamd; [`parse`] decodes MIME (and [`parse::forward`] finds forwarded mail); [`filter`]
//!   classifies (own, spam, automatic, staff, customer); [`thread`] finds the ticket;
//!   [`route`] applies the routing rules; [`pipeline`] files the message and its ticket in one
//!   transaction; [`store`] owns the database; [`outbox`] composes and delivers every mail.
//! - Beside it: [`scheduler`] takes due SLA and promise steps; [`sla`] derives due times and
//!   steps from stored facts; [`worktime`] is working-time arithmetic on a calendar; [`when`]
//!   reads WHEN and working spans; [`notify`] writes the mails to staff and customers;
//!   [`actions`] applies staff actions; [`commands`] parses email commands; [`ratings`] reads
//!   scores and signs rating links; [`rating_page`] serves them; [`contracts`] counts hours
//!   against contracts; [`loops`] breaks mail loops; [`alerts`] mails the admins; [`digest`]
//!   sends the managers' digest; [`stats`] computes KPIs.
//! - Around it: [`domain`] holds typed values (status, priority); [`config`] reads config.toml; [`rules`] reads the rules directory; [`clock`] is
//!   injected time; [`daemon`] runs the tasks, signals and shutdown; [`service`] talks to
//!   systemd; [`metrics`] counts for Prometheus; [`http`] serves /healthz, /metrics and the rating links; [`oauth`] gets XOAUTH2 tokens; [`files`]
//!   writes private files durably; [`explain`] is `rules test`; [`present`] is what the CLI
//!   prints.

pub mod actions;
pub mod alerts;
pub mod clock;
pub mod commands;
pub mod config;
pub mod contracts;
pub mod daemon;
pub mod digest;
pub mod domain;
pub mod explain;
pub mod files;
pub mod filter;
pub mod http;
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
