//! The database schema and its migrations.
//!
//! Each migration is a batch of SQL applied in one transaction, and
//! `schema_migrations` records the versions applied. A database newer than
//! this build is refused rather than written to.

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

/// Migrations in order; migration `i` brings the schema to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE store_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO store_state (id, revision) VALUES (1, 0);

CREATE TABLE watchlists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    severity TEXT,
    domain_match TEXT NOT NULL,
    ttl_secs INTEGER,
    dedup_window_secs INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    description TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE indicators (
    id INTEGER PRIMARY KEY,
    watchlist_id INTEGER NOT NULL REFERENCES watchlists (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    original TEXT NOT NULL,
    meta TEXT NOT NULL,
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    expires_at INTEGER,
    UNIQUE (watchlist_id, kind, value)
);
CREATE INDEX indicators_by_value ON indicators (watchlist_id, value);
CREATE INDEX indicators_by_expiry ON indicators (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE allowlist (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    original TEXT NOT NULL,
    comment TEXT,
    added_at INTEGER NOT NULL,
    UNIQUE (kind, value)
);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    dedup_key TEXT NOT NULL,
    watchlist TEXT NOT NULL,
    indicator TEXT NOT NULL,
    internal_host TEXT,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    resolution TEXT,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    count INTEGER NOT NULL,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX alerts_by_dedup_key ON alerts (dedup_key, last_seen);
CREATE INDEX alerts_by_last_seen ON alerts (last_seen);

CREATE TABLE alert_history (
    id INTEGER PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    resolution TEXT,
    comment TEXT
);
CREATE INDEX alert_history_by_alert ON alert_history (alert_id, id);

CREATE TABLE checkpoints (
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    fingerprint BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, path)
);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    sink TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX deliveries_due ON deliveries (sink, next_attempt_at, id);
",
    r"
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_by_owner ON api_tokens (owner);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

ALTER TABLE alerts ADD COLUMN assignee TEXT;
CREATE INDEX alerts_by_updated_at ON alerts (updated_at);

CREATE TABLE alert_comments (
    id INTEGER PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX alert_comments_by_alert ON alert_comments (alert_id, id);

CREATE TABLE alert_sightings (
    id INTEGER PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at INTEGER NOT NULL
);
CREATE INDEX alert_sightings_by_alert ON alert_sightings (alert_id, at);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_by_target ON audit (target, id);
CREATE INDEX audit_by_actor ON audit (actor, id);
",
    // An alert stored before this version takes its last change as its
    // last sighting, although that change may have been a triage change.
    r"
ALTER TABLE alerts ADD COLUMN last_sighting_at INTEGER NOT NULL DEFAULT 0;
UPDATE alerts SET last_sighting_at = updated_at;
CREATE INDEX alerts_by_last_sighting_at ON alerts (last_sighting_at);
CREATE INDEX alerts_by_indicator ON alerts (indicator);
",
];

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Returns the schema version of the database, 0 when it is new.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         )",
    )?;
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )
}

/// Applies every migration after `from`, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection, from: i64) -> rusqlite::Result<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        apply(&tx, index as i64 + 1, sql)?;
        tx.commit()?;
    }
    Ok(())
}

fn apply(tx: &Transaction<'_>, version: i64, sql: &str) -> rusqlite::Result<()> {
    // Another process may have applied it since the version was read.
    let applied: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
        params![version],
        |row| row.get(0),
    )?;
    if applied {
        return Ok(());
    }
    tx.execute_batch(sql)?;
    tx.execute(
        "INSERT INTO schema_migrations (version) VALUES (?1)",
        params![version],
    )?;
    Ok(())
}
