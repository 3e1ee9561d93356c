//! The embedded store of iocwatch: one SQLite database in the data
//! directory that contains watchlists and their indicators, the allowlist,
//! alerts with their triage history, comments and sighting times, source
//! read offsets (checkpoints), the durable delivery queue of the sinks,
//! users with their API tokens and login sessions, and the audit trail.
//!
//! The store keeps and returns data; it never matches. The service builds
//! its matcher from [`Store::active_watchlists`] and rebuilds it when
//! [`Store::revision`] changes or [`Store::next_expiry`] passes.
//!
//! # Concurrency
//!
//! [`Store`] is `Send + Sync`. It keeps two connections, each behind a
//! mutex: one for writes, one for reads. Calls block on SQLite, so async
//! code runs them through `tokio::task::spawn_blocking` or a dedicated
//! thread. Several processes may open the same data directory: the
//! database runs in WAL mode, so readers do not wait for a writer, and a
//! writer waits up to [`BUSY_TIMEOUT`] for another one to finish.
//!
//! # Time
//!
//! Every operation that depends on the clock takes `now` as a parameter.
//!
//! # Example
//!
//! ```
//! use iocwatch_store::{Store, WatchlistSettings};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path())?;
//! let before = store.revision()?;
//! store.create_watchlist("c2", &WatchlistSettings::default(), time::OffsetDateTime::now_utc())?;
//! assert!(store.revision()? > before);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod alerts;
mod allowlist;
mod audit;
mod codec;
mod covering;
mod error;
mod queue;
mod schema;
mod triage;
mod users;
mod watchlists;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use alerts::{
    AlertDetail, AlertFilter, AlertOutcome, AlertStatus, Checkpoint, HistoryEntry, MAX_SIGHTINGS,
    MIN_ALERT_PREFIX, NewSighting, Resolution, StatusChange, StoredAlert,
};
pub use allowlist::AllowlistEntry;
pub use audit::{AuditEntry, AuditFilter, CLI_ACTOR, NewAudit, allowlist_json, settings_json};
pub use error::{Result, StoreError};
pub use iocwatch_model::DomainMatch;
pub use queue::{Delivery, QueueStats};
pub use triage::{Comment, MAX_COMMENT_BYTES};
pub use users::{
    ApiToken, MIN_PASSWORD_CHARS, NewSession, Role, SESSION_SEEN_INTERVAL, Session, TOKEN_PREFIX, User,
    UserChange,
};
pub use watchlists::{
    ActiveWatchlist, EXPIRY_META_KEYS, ImportOptions, ImportReport, Page, Severity, StoredIndicator,
    WatchlistInfo, WatchlistSettings,
};

/// The database file name inside the data directory.
pub const DATABASE_FILE: &str = "iocwatch.db";

/// How long a write waits for another process's write to finish before it
/// fails with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The iocwatch database. See the [crate documentation](crate) for its
/// concurrency rules.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl Store {
    /// Opens the database `data_dir/iocwatch.db`, creating the directory
    /// and the database when missing and bringing its schema up to date.
    ///
    /// # Errors
    ///
    /// [`StoreError::CreateDir`] and [`StoreError::Open`] when the
    /// directory or file cannot be created or opened, and
    /// [`StoreError::SchemaTooNew`] for a database of a newer iocwatch.
    pub fn open(data_dir: &Path) -> Result<Store> {
        Self::open_with_timeout(data_dir, BUSY_TIMEOUT)
    }

    /// Opens the database with another busy timeout than [`BUSY_TIMEOUT`].
    fn open_with_timeout(data_dir: &Path, busy_timeout: Duration) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|error| StoreError::CreateDir {
            path: data_dir.to_owned(),
            error,
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let open_error = |error| StoreError::Open {
            path: path.clone(),
            error,
        };
        let mut writer = connect(&path, busy_timeout).map_err(open_error)?;
        let version = schema::version(&writer).map_err(open_error)?;
        if version > schema::CURRENT_VERSION {
            return Err(StoreError::SchemaTooNew {
                path,
                found: version,
                known: schema::CURRENT_VERSION,
            });
        }
        schema::migrate(&mut writer, version).map_err(open_error)?;
        let reader = connect(&path, busy_timeout).map_err(open_error)?;
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the revision counter. It grows by at least one with every
    /// committed change to watchlists, indicators or the allowlist, by any
    /// process. Alerts, checkpoints and deliveries leave it alone. It is one
    /// indexed read, cheap enough to poll.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn revision(&self) -> Result<u64> {
        self.read(|conn| {
            let revision: i64 =
                conn.query_row("SELECT revision FROM store_state WHERE id = 1", [], |row| {
                    row.get(0)
                })?;
            Ok(revision.max(0) as u64)
        })
    }

    /// Runs `f` on the read connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // A panic in another caller leaves the connection usable: an open
        // transaction was rolled back when it was dropped.
        let conn = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }

    /// Runs `f` in one write transaction, committed when `f` succeeds and
    /// rolled back otherwise.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        // IMMEDIATE takes the write lock up front, so two processes never
        // both read and then fail to upgrade.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|error| match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    StoreError::Busy {
                        path: self.path.clone(),
                    }
                }
                _ => error.into(),
            })?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// Opens one connection with the settings every connection uses.
fn connect(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy_timeout)?;
    // NORMAL in WAL mode may lose the last commits on power loss, but
    // never part of one, so alerts and read offsets stay consistent.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

/// Bumps the revision counter inside a write transaction.
fn bump_revision(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("UPDATE store_state SET revision = revision + 1 WHERE id = 1", [])?;
    Ok(())
}
