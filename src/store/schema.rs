//! The database schema and its migrations. The schema version lives in `PRAGMA user_version`;
//! each migration runs in its own transaction and moves the version up by one. A database whose
//! version is newer than this binary knows is refused, never "migrated" downwards.
//!
//! Append new migrations at the end; never edit one that has shipped.

use rusqlite::Connection;

use super::StoreError;

/// Migration N (1-based) takes the schema from version N-1 to N.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema. Times are Unix seconds (UTC); addresses are lower case.
    r#"
CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,
    subject           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new','open','waiting','closed')),
    department        TEXT NOT NULL,
    priority          TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('urgent','high','normal','low')),
    requester         TEXT NOT NULL,
    requester_name    TEXT,
    assignee          TEXT,
    mailbox           TEXT,
    language          TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    first_response_at INTEGER,
    first_response_by TEXT,
    closed_at         INTEGER,
    linked_to         INTEGER REFERENCES tickets(id),
    -- Imported or too old at ingest: never acknowledged, notified or escalated.
    silent            INTEGER NOT NULL DEFAULT 0,
    tags              TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX tickets_status ON tickets(status, created_at);
CREATE INDEX tickets_requester ON tickets(requester);

CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    ticket_id      INTEGER REFERENCES tickets(id),
    direction      TEXT NOT NULL CHECK (direction IN ('in','out')),
    kind           TEXT NOT NULL,
    message_id     TEXT,
    content_hash   TEXT NOT NULL,
    from_addr      TEXT,
    from_name      TEXT,
    to_addrs       TEXT NOT NULL DEFAULT '[]',
    cc_addrs       TEXT NOT NULL DEFAULT '[]',
    subject        TEXT NOT NULL DEFAULT '',
    date           INTEGER,
    received_at    INTEGER NOT NULL,
    in_reply_to    TEXT,
    text           TEXT NOT NULL DEFAULT '',
    -- The new part of a reply (quoted history and signature removed), best effort.
    new_text       TEXT NOT NULL DEFAULT '',
    -- Kept for messages the parser could not make sense of, so nothing is lost.
    raw            BLOB,
    flags          TEXT NOT NULL DEFAULT '[]',
    mailbox        TEXT,
    folder         TEXT,
    uid            INTEGER
);
CREATE UNIQUE INDEX messages_message_id ON messages(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_ticket ON messages(ticket_id);
CREATE INDEX messages_folder ON messages(mailbox, folder, received_at);

-- Every Message-ID a ticket has received or sent: the threading index.
CREATE TABLE thread_ids (
    message_id TEXT PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id)
);

-- The References / In-Reply-To entries of stored messages, to thread a reply that arrived
-- before the message it answers.
CREATE TABLE message_refs (
    ref        TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages(id)
);
CREATE INDEX message_refs_ref ON message_refs(ref);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    by        TEXT,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_ticket ON events(ticket_id);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

-- Per folder: the UIDVALIDITY seen and the highest UID processed (RFC 3501 §2.3.1.1).
CREATE TABLE folder_state (
    mailbox     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    -- The highest UID present when this folder generation was first read: older mail at or
    -- below it is treated as initial_sync says, even if the first sync was interrupted.
    horizon_uid INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox, folder)
);

-- Server-side actions (move / flag) owed for committed messages. Written with the ticket,
-- removed once the server confirmed: a crash in between repeats the action, never skips it.
CREATE TABLE pending_actions (
    mailbox     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    PRIMARY KEY (mailbox, folder, uidvalidity, uid)
);

-- Every mail ticketd sends, written in the transaction that caused it.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER REFERENCES tickets(id),
    kind            TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    mail_from       TEXT NOT NULL,
    recipients      TEXT NOT NULL,
    raw             BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_message_id ON outbox(message_id);
CREATE INDEX outbox_recent ON outbox(kind, recipients, created_at);
"#,
    // 2: what ticketd learns about an address (a bounce), and the index the loop breaker asks.
    r#"
CREATE TABLE addresses (
    address         TEXT PRIMARY KEY,
    bounced_at      INTEGER,
    bounce_detail   TEXT
);
CREATE INDEX outbox_sent_to ON outbox(recipients, sent_at);
CREATE INDEX tickets_requester_created ON tickets(requester, created_at);
"#,
    // 3: SLA clocks. Due times are derived (src/sla.rs) and stored for the JSON and the
    // scheduler's index; pauses, steps done and breaches are the facts they derive from.
    r#"
ALTER TABLE tickets ADD COLUMN first_response_due INTEGER;
-- When new mail last appeared in a Sent folder: a week of silence is worth a warning.
ALTER TABLE folder_state ADD COLUMN last_new_at INTEGER;
ALTER TABLE tickets ADD COLUMN resolution_due INTEGER;
-- The next moment the scheduler must look at the ticket; NULL when nothing is ahead.
ALTER TABLE tickets ADD COLUMN next_sla_at INTEGER;
CREATE INDEX tickets_next_sla ON tickets(next_sla_at);
-- The outbox keeps each ticket's mail in order.
CREATE INDEX outbox_ticket_state ON outbox(ticket_id, state, id);

-- Partial indexes make SQLite re-prepare every cached statement whose bound values it must
-- compare with the index's condition, on every new binding (measured: a third of a scheduler
-- pass went to re-parsing SQL). Full indexes keep prepared statements prepared.
DROP INDEX messages_message_id;
CREATE UNIQUE INDEX messages_by_message_id ON messages(message_id);
DROP INDEX outbox_due;
CREATE INDEX outbox_state_due ON outbox(state, next_attempt_at);

-- The resolution clock stops while a ticket is waiting or closed.
CREATE TABLE sla_pauses (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    paused_at   INTEGER NOT NULL,
    resumed_at  INTEGER
);
CREATE INDEX sla_pauses_ticket ON sla_pauses(ticket_id);

-- Each warning, escalation level and delay notice, done once (written with its outbox mail).
CREATE TABLE sla_steps (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    clock       TEXT NOT NULL CHECK (clock IN ('first_response','resolution')),
    step        TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    done_at     INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, clock, step)
);

-- Work logged on tickets (#time, tickets time), for contracts and billing.
CREATE TABLE time_entries (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    agent       TEXT,
    minutes     INTEGER NOT NULL CHECK (minutes > 0),
    at          INTEGER NOT NULL
);
CREATE INDEX time_entries_ticket ON time_entries(ticket_id);
CREATE INDEX time_entries_at ON time_entries(at);

-- Digests sent, one per scheduled moment.
CREATE TABLE digests (
    slot    INTEGER PRIMARY KEY,
    sent_at INTEGER NOT NULL
);

-- Contract notices sent: once per contract, period and level ("warning", "limit").
CREATE TABLE contract_notices (
    contract     TEXT NOT NULL,
    period_start TEXT NOT NULL,
    level        TEXT NOT NULL,
    ticket_id    INTEGER REFERENCES tickets(id),
    at           INTEGER NOT NULL,
    PRIMARY KEY (contract, period_start, level)
);

-- A missed target: decided by the response's or closing's time, or by the clock running out.
CREATE TABLE breaches (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    kind        TEXT NOT NULL CHECK (kind IN ('first_response','resolution')),
    due_at      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, kind)
);
"#,
    // 4: processing attempts, counted durably before each try, so that a message that crashes
    // the process (a stack overflow, an abort) is recognised on restart instead of crashing it
    // again forever. A row lives only while its message is being tried.
    r#"
CREATE TABLE attempts (
    mailbox     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    tries       INTEGER NOT NULL,
    last_error  TEXT,
    PRIMARY KEY (mailbox, folder, uidvalidity, uid)
);

-- Messages left on the server because the disk was full when they came: tried again on each
-- pass (below the checkpoint, so the messages after them were not held up).
CREATE TABLE deferred (
    mailbox     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    since       INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (mailbox, folder, uidvalidity, uid)
);

-- The hourly cap on acknowledgements counts the last hour's, whatever the history.
CREATE INDEX outbox_kind_created ON outbox(kind, created_at);
"#,
    // 5: the conversation after the first answer. Whose turn it is; tickets opened by automatic
    // mail; the next-response clock, which runs once per customer follow-up, so its steps and
    // breaches are kept per cycle (the cycle is the clock's start; 0 for the other clocks).
    r#"
ALTER TABLE tickets ADD COLUMN awaiting TEXT CHECK (awaiting IN ('staff','customer'));
ALTER TABLE tickets ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
-- The running next-response clock's start: the first customer message after a staff response.
ALTER TABLE tickets ADD COLUMN next_response_from INTEGER;
ALTER TABLE tickets ADD COLUMN next_response_due INTEGER;
-- Whose turn it is on existing tickets: an open ticket whose latest message is the customer's
-- awaits staff.
UPDATE tickets SET awaiting = CASE status
    WHEN 'closed' THEN NULL
    WHEN 'new' THEN 'staff'
    WHEN 'waiting' THEN 'customer'
    ELSE CASE WHEN (SELECT kind FROM messages WHERE ticket_id = tickets.id AND kind IN ('customer', 'staff')
                    ORDER BY received_at DESC, id DESC LIMIT 1) = 'customer' THEN 'staff' ELSE 'customer' END
END;

CREATE TABLE sla_steps_v5 (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    -- first_response, next_response, resolution, and the promises of docs/conversation.md (waiting, eta):
    -- the code names them, the table records what was done.
    clock       TEXT NOT NULL,
    cycle       INTEGER NOT NULL DEFAULT 0,
    step        TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    done_at     INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, clock, cycle, step)
);
INSERT INTO sla_steps_v5 (ticket_id, clock, step, due_at, done_at)
    SELECT ticket_id, clock, step, due_at, done_at FROM sla_steps;
DROP TABLE sla_steps;
ALTER TABLE sla_steps_v5 RENAME TO sla_steps;

CREATE TABLE breaches_v5 (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    kind        TEXT NOT NULL CHECK (kind IN ('first_response','next_response','resolution')),
    cycle       INTEGER NOT NULL DEFAULT 0,
    due_at      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, kind, cycle)
);
INSERT INTO breaches_v5 (ticket_id, kind, due_at) SELECT ticket_id, kind, due_at FROM breaches;
DROP TABLE breaches;
ALTER TABLE breaches_v5 RENAME TO breaches;

-- Each finished next-response cycle, for stats: met when the response came by the due time.
CREATE TABLE next_responses (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    started_at  INTEGER NOT NULL,
    due_at      INTEGER,
    ended_at    INTEGER NOT NULL,
    -- The staff member whose response ended it; NULL when closing or waiting ended it.
    ended_by    TEXT,
    department  TEXT NOT NULL,
    PRIMARY KEY (ticket_id, started_at)
);
CREATE INDEX next_responses_ended ON next_responses(ended_at);
CREATE INDEX tickets_awaiting ON tickets(status, awaiting, created_at);

-- Promises said out loud (docs/conversation.md): the resolution time told to the customer; a wait on the
-- customer, since when and (a snooze) until when; the rating the closing mail asked for.
ALTER TABLE tickets ADD COLUMN eta INTEGER;
ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;
ALTER TABLE tickets ADD COLUMN wait_until INTEGER;
ALTER TABLE tickets ADD COLUMN survey TEXT CHECK (survey IN ('nps','csat'));
UPDATE tickets SET waiting_since = updated_at WHERE status = 'waiting';

-- A customer's rating of a closed ticket; a later one replaces it.
CREATE TABLE ratings (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id),
    score       INTEGER NOT NULL,
    scale       TEXT NOT NULL CHECK (scale IN ('nps','csat')),
    comment     TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    -- "reply" or "link"
    via         TEXT NOT NULL
);
CREATE INDEX ratings_at ON ratings(at);
"#,
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew { found: current, supported: SCHEMA_VERSION });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "database schema migrated");
    }
    Ok(())
}
