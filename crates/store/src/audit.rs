//! The audit trail: one row per change made by a person or an API token,
//! with the state before and after as JSON.

use rusqlite::{Transaction, params, params_from_iter};
use serde_json::Value;
use time::OffsetDateTime;

use crate::codec::{instant, micros};
use crate::error::{Result, StoreError};
use crate::{AllowlistEntry, Store, WatchlistSettings};

/// Actor of changes made with the `iocwatch` command line.
pub const CLI_ACTOR: &str = "cli";

/// One change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit<'a> {
    /// The user name of the person who made the change (also for changes
    /// made with their API token), or [`CLI_ACTOR`].
    pub actor: &'a str,
    /// The action, such as `watchlist.create` or `alert.status`.
    pub action: &'a str,
    /// The target, such as `watchlist:c2` or `alert:<id>`.
    pub target: &'a str,
    /// The state before; `None` when the target did not exist.
    pub before: Option<Value>,
    /// The state after; `None` when the target no longer exists.
    pub after: Option<Value>,
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// When it was made.
    pub at: OffsetDateTime,
    /// The actor.
    pub actor: String,
    /// The action.
    pub action: String,
    /// The target.
    pub target: String,
    /// The state before.
    pub before: Option<Value>,
    /// The state after.
    pub after: Option<Value>,
}

/// Selects audit entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only changes by this actor.
    pub actor: Option<String>,
    /// Only changes to this target, or to targets that start with it when
    /// it ends in `*`.
    pub target: Option<String>,
    /// Maximum entries; `None` for all.
    pub limit: Option<u64>,
    /// Entries to skip.
    pub offset: u64,
}

impl Store {
    /// Records one change in the audit trail.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when writing fails.
    pub fn record_audit(&self, entry: &NewAudit<'_>, now: OffsetDateTime) -> Result<()> {
        self.write(|tx| insert_audit(tx, entry, now))
    }

    /// Lists audit entries, newest first, and the number of entries the
    /// filter selects without its limit and offset.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn audit(&self, filter: &AuditFilter) -> Result<(Vec<AuditEntry>, u64)> {
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(actor) = &filter.actor {
            values.push(actor.clone().into());
            conditions.push(format!("actor = ?{}", values.len()));
        }
        if let Some(target) = &filter.target {
            if let Some(prefix) = target.strip_suffix('*') {
                values.push(prefix.to_owned().into());
                let n = values.len();
                conditions.push(format!("substr(target, 1, length(?{n})) = ?{n}"));
            } else {
                values.push(target.clone().into());
                conditions.push(format!("target = ?{}", values.len()));
            }
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let limit = filter
            .limit
            .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        self.read(|conn| {
            let total: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM audit{where_clause}"),
                params_from_iter(values.iter()),
                |row| row.get(0),
            )?;
            let sql = format!(
                "SELECT at, actor, action, target, before, after FROM audit{where_clause}
                 ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
            );
            let mut statement = conn.prepare(&sql)?;
            let mut rows = statement.query(params_from_iter(values.iter()))?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next()? {
                let before: Option<String> = row.get(4)?;
                let after: Option<String> = row.get(5)?;
                entries.push(AuditEntry {
                    at: instant(row.get(0)?)?,
                    actor: row.get(1)?,
                    action: row.get(2)?,
                    target: row.get(3)?,
                    before: before.map(|text| decode_json(&text)).transpose()?,
                    after: after.map(|text| decode_json(&text)).transpose()?,
                });
            }
            Ok((entries, total.max(0) as u64))
        })
    }
}

/// Returns watchlist settings as JSON for the audit trail; durations are
/// in seconds.
pub fn settings_json(name: &str, settings: &WatchlistSettings) -> Value {
    serde_json::json!({
        "name": name,
        "description": settings.description,
        "severity": settings.severity.map(|severity| severity.as_str()),
        "domain_match": settings.domain_match.as_str(),
        "ttl_secs": settings.ttl.map(|ttl| ttl.as_secs()),
        "dedup_window_secs": settings.dedup_window.as_secs(),
        "enabled": settings.enabled,
    })
}

/// Returns an allowlist entry as JSON for the audit trail.
pub fn allowlist_json(entry: &AllowlistEntry) -> Value {
    serde_json::json!({
        "value": entry.value.to_string(),
        "kind": entry.value.kind().as_str(),
        "comment": entry.comment,
    })
}

/// Writes an audit row inside a running transaction.
pub(crate) fn insert_audit(tx: &Transaction<'_>, entry: &NewAudit<'_>, now: OffsetDateTime) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, target, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            micros(now),
            entry.actor,
            entry.action,
            entry.target,
            entry.before.as_ref().map(Value::to_string),
            entry.after.as_ref().map(Value::to_string),
        ],
    )?;
    Ok(())
}

fn decode_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        what: "audit value",
        detail: format!("{error}"),
    })
}
