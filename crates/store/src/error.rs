//! Errors of the store.

use std::path::PathBuf;

use thiserror::Error;

/// A failed store operation.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}: {error}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The database cannot be opened or set up.
    #[error("cannot open the database {path}: {error}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        error: rusqlite::Error,
    },
    /// The database was written by a newer iocwatch.
    #[error(
        "the database {path} has schema version {found}, but this iocwatch knows versions up to {known}; \
         use a newer iocwatch"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version in the database.
        found: i64,
        /// The newest version this build supports.
        known: i64,
    },
    /// Another process kept the database locked for longer than the busy
    /// timeout, [`BUSY_TIMEOUT`](crate::BUSY_TIMEOUT) unless set otherwise.
    #[error("the database {path} stayed locked by another iocwatch process; try again when it has finished")]
    Busy {
        /// The database file.
        path: PathBuf,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A value read from the database does not decode: the file was
    /// edited by hand or is damaged.
    #[error("corrupt {what} in the database: {detail}")]
    Corrupt {
        /// The kind of value being read.
        what: &'static str,
        /// The offending value and reason.
        detail: String,
    },
    /// No watchlist has this name.
    #[error("no watchlist is named {name:?}; {}", list_names(known))]
    UnknownWatchlist {
        /// The requested name.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// A watchlist with this name exists already.
    #[error("a watchlist named {0:?} exists already; choose another name or update that one")]
    DuplicateWatchlist(String),
    /// A watchlist name is empty or contains control characters.
    #[error("invalid watchlist name {0:?}: use letters, digits, '-', '_' or '.'")]
    InvalidWatchlistName(String),
    /// No alert has this id.
    #[error("no alert has the id {0:?}; `iocwatch alerts list` shows the ids")]
    UnknownAlert(String),
    /// An alert id or prefix that cannot be one: shorter than
    /// [`MIN_ALERT_PREFIX`](crate::MIN_ALERT_PREFIX) characters, or with a
    /// character other than a hex digit or `-`.
    #[error("invalid alert id {id:?}: {reason}; `iocwatch alerts list` shows the ids")]
    InvalidAlertId {
        /// The id as given.
        id: String,
        /// The rule it breaks.
        reason: String,
    },
    /// An id prefix fits several alerts.
    #[error("the id prefix {prefix:?} fits {count} alerts; give more characters")]
    AmbiguousAlert {
        /// The prefix.
        prefix: String,
        /// How many alerts it fits.
        count: usize,
    },
    /// A status change that the alert workflow does not allow.
    #[error("{0}")]
    InvalidTransition(String),
    /// A sighting's document is not a JSON object.
    #[error("the alert document for dedup key {dedup_key:?} is not a JSON object")]
    DocumentNotObject {
        /// The sighting's dedup key.
        dedup_key: String,
    },
    /// An allowlist value that is not an indicator.
    #[error("invalid allowlist value {value:?}: {reason}")]
    InvalidAllowlistValue {
        /// The value as given.
        value: String,
        /// The reason.
        reason: String,
    },
    /// No user has this name.
    #[error("no user is named {0:?}; `iocwatch user list` shows the users")]
    UnknownUser(String),
    /// A user with this name exists already.
    #[error("a user named {0:?} exists already; choose another name")]
    DuplicateUser(String),
    /// A user name with characters other than letters, digits and `-_.@`.
    #[error("invalid user name {0:?}: use 1 to 64 letters, digits, '-', '_', '.' or '@'")]
    InvalidUserName(String),
    /// A password that is too short or cannot be hashed.
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    /// No API token has this id.
    #[error("no API token has the id {0:?}; `iocwatch token list` shows the ids")]
    UnknownToken(String),
    /// An empty token name.
    #[error("invalid token name {0:?}: give a non-empty name without control characters")]
    InvalidTokenName(String),
    /// An empty comment.
    #[error("the comment is empty; write the text of the comment")]
    EmptyComment,
    /// A duration or instant that the database cannot represent.
    #[error("{0} is out of the range the store can represent")]
    OutOfRange(&'static str),
}

fn list_names(names: &[String]) -> String {
    if names.is_empty() {
        return "there are no watchlists yet; create one with `iocwatch watchlist create NAME`".to_owned();
    }
    format!("the watchlists are: {}", names.join(", "))
}

/// The result type of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
