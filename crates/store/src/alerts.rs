//! Alerts, their triage history, and the batch commit that stores alerts
//! together with source read offsets.
//!
//! # Dedup
//!
//! A sighting joins the alert with the same dedup key whose span, widened
//! by the sighting's window on both sides, contains the event time: from
//! `first_seen - window` to `last_seen + window`, both ends included. When
//! several do, the one seen last wins. The alert's count grows by one, its
//! span grows to include the event, and the sighting's document replaces
//! the stored one. A closed alert is reopened (status `new`, noted in its
//! history). A sighting that joins no alert creates one.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{OptionalExtension, Row, Transaction, params, params_from_iter};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{duration_micros, instant, micros};
use crate::covering::covering;
use crate::error::{Result, StoreError};
use crate::queue::enqueue;
use crate::watchlists::Severity;

/// Actor recorded in the history for changes iocwatch makes by itself.
const SYSTEM_ACTOR: &str = "iocwatch";

/// Triage state of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertStatus {
    /// Not looked at yet.
    New,
    /// Seen by an analyst.
    Acknowledged,
    /// Being worked on.
    Investigating,
    /// Done, with a [`Resolution`].
    Closed,
}

impl AlertStatus {
    /// Every status, in workflow order.
    pub const ALL: [AlertStatus; 4] = [Self::New, Self::Acknowledged, Self::Investigating, Self::Closed];

    /// Returns the lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Acknowledged => "acknowledged",
            Self::Investigating => "investigating",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertStatus {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!("unknown alert status {name:?}; expected new, acknowledged, investigating or closed")
            })
    }
}

/// The outcome of a closed alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// A real compromise or attack.
    TruePositive,
    /// The indicator should not have matched.
    FalsePositive,
    /// A real match of harmless activity.
    Benign,
}

impl Resolution {
    /// Every resolution.
    pub const ALL: [Resolution; 3] = [Self::TruePositive, Self::FalsePositive, Self::Benign];

    /// Returns the name: `true-positive`, `false-positive` or `benign`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TruePositive => "true-positive",
            Self::FalsePositive => "false-positive",
            Self::Benign => "benign",
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resolution {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|resolution| resolution.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!("unknown resolution {name:?}; expected true-positive, false-positive or benign")
            })
    }
}

/// One sighting to store as a new or updated alert.
#[derive(Debug, Clone)]
pub struct NewSighting {
    /// Sightings with equal keys within `window` share one alert.
    pub dedup_key: String,
    /// The watchlist of the matching indicator.
    pub watchlist: String,
    /// The matching indicator, normalised.
    pub indicator: String,
    /// The internal host involved, when known.
    pub internal_host: Option<String>,
    /// The alert's severity.
    pub severity: Severity,
    /// When the event happened.
    pub event_time: OffsetDateTime,
    /// The dedup window of the watchlist.
    pub window: Duration,
    /// The ECS alert document; must be a JSON object.
    pub document: Value,
    /// Sinks whose delivery queue receives the document when the alert is
    /// created or reopened.
    pub sinks: Vec<String>,
}

/// Read position in one file, and the identity that recognises the file
/// again after a restart or a rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Name of the source.
    pub source: String,
    /// Configured path of the file (the path it was found under).
    pub path: String,
    /// Device number of the file system holding the file.
    pub device: u64,
    /// Inode number of the file.
    pub inode: u64,
    /// Byte offset of the next line to read. For a gzip file that has been
    /// read to its end, the compressed file's length.
    pub offset: u64,
    /// Hash of the file's first bytes, which recognises the file after a
    /// rename and distinguishes a reused inode; opaque to the store.
    pub fingerprint: u64,
}

/// The effect of [`Store::commit_batch`] on one sighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOutcome {
    /// A new alert.
    Created {
        /// Its id.
        id: Uuid,
    },
    /// An open alert within the window was updated.
    Updated {
        /// Its id.
        id: Uuid,
        /// Its sighting count after the update.
        count: u64,
    },
    /// A closed alert within the window was reopened and updated.
    Reopened {
        /// Its id.
        id: Uuid,
    },
}

impl AlertOutcome {
    /// Returns the alert id.
    pub fn id(&self) -> Uuid {
        match *self {
            Self::Created { id } | Self::Updated { id, .. } | Self::Reopened { id } => id,
        }
    }
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    /// The id, also `iocwatch.alert_id` in the document.
    pub id: Uuid,
    /// The dedup key.
    pub dedup_key: String,
    /// The watchlist of the first sighting.
    pub watchlist: String,
    /// The indicator of the first sighting.
    pub indicator: String,
    /// The internal host of the first sighting.
    pub internal_host: Option<String>,
    /// The highest severity of its sightings.
    pub severity: Severity,
    /// The triage state.
    pub status: AlertStatus,
    /// The resolution, when closed.
    pub resolution: Option<Resolution>,
    /// Event time of its earliest sighting.
    pub first_seen: OffsetDateTime,
    /// Event time of its latest sighting.
    pub last_seen: OffsetDateTime,
    /// Number of sightings.
    pub count: u64,
    /// The document of the latest sighting, with `iocwatch.alert_id`,
    /// `iocwatch.dedup_count`, `iocwatch.first_seen` and
    /// `iocwatch.last_seen` set.
    pub document: Value,
    /// When it was stored.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// The user the alert is assigned to.
    pub assignee: Option<String>,
    /// When iocwatch stored its latest sighting: its creation, or the last
    /// sighting folded into it. Triage leaves it alone.
    pub last_sighting_at: OffsetDateTime,
}

/// One state change of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When it happened.
    pub at: OffsetDateTime,
    /// The user who made it, or `iocwatch` for automatic changes.
    pub actor: String,
    /// The status before; `None` when the alert was created.
    pub from: Option<AlertStatus>,
    /// The status after.
    pub to: AlertStatus,
    /// The resolution, when closed.
    pub resolution: Option<Resolution>,
    /// The comment.
    pub comment: Option<String>,
}

/// An alert with its history, oldest entry first.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDetail {
    /// The alert.
    pub alert: StoredAlert,
    /// Its state changes.
    pub history: Vec<HistoryEntry>,
}

/// The selection of [`Store::list_alerts`]. An unset field matches every alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only alerts in this state.
    pub status: Option<AlertStatus>,
    /// Only alerts of at least this severity.
    pub min_severity: Option<Severity>,
    /// Only alerts of this watchlist.
    pub watchlist: Option<String>,
    /// Only alerts involving this internal host.
    pub internal_host: Option<String>,
    /// Only alerts on this indicator (normalised), compared as text.
    pub indicator: Option<String>,
    /// Only alerts whose indicator covers this value, which may be
    /// defanged. The indicator covers it when it is the value, a network
    /// that contains the address or network, or a parent domain of the
    /// domain. An address with any port covers the bare address, and a URL
    /// is also covered by the same resource under `http`, `https` or no
    /// scheme and by the indicators that cover its host.
    pub indicator_covers: Option<String>,
    /// Only alerts that iocwatch created, or sighted again, at or after
    /// this instant, whatever the event times of their logs.
    pub since: Option<OffsetDateTime>,
    /// Only alerts that iocwatch created before this instant.
    pub until: Option<OffsetDateTime>,
    /// Only alerts whose latest event time, from the log, is at or after
    /// this instant.
    pub event_since: Option<OffsetDateTime>,
    /// Only alerts whose earliest event time, from the log, is before
    /// this instant.
    pub event_until: Option<OffsetDateTime>,
    /// Maximum alerts to return; `None` for all.
    pub limit: Option<u64>,
    /// Alerts to skip.
    pub offset: u64,
    /// Only alerts with one of these statuses; empty for any. Applies
    /// together with `status`.
    pub statuses: Vec<AlertStatus>,
    /// Only alerts whose watchlist, indicator, host or title contains this
    /// text, case-insensitively.
    pub text: Option<String>,
    /// Only alerts created or changed after this instant.
    pub updated_after: Option<OffsetDateTime>,
}

/// A requested status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The new status.
    pub status: AlertStatus,
    /// Required when closing, rejected otherwise.
    pub resolution: Option<Resolution>,
    /// Required when closing.
    pub comment: Option<String>,
    /// The user making the change.
    pub actor: String,
}

/// Minimum length of an alert id prefix that [`Store::find_alert`] accepts,
/// in characters.
pub const MIN_ALERT_PREFIX: usize = 4;

const ALERT_COLUMNS: &str = "id, dedup_key, watchlist, indicator, internal_host, severity, status, resolution, \
                             first_seen, last_seen, count, document, created_at, updated_at, assignee, \
                             last_sighting_at";

/// Sighting times kept per alert; older ones are pruned.
pub const MAX_SIGHTINGS: u64 = 100;

impl Store {
    /// Stores sightings as alerts and saves read offsets, in one
    /// transaction: either everything is stored or nothing is, so a crash
    /// neither loses nor repeats an alert. A batch may have no sightings.
    /// Returns one outcome per sighting, in order.
    ///
    /// Created and reopened alerts are put on the delivery queue of each
    /// sink the sighting names.
    ///
    /// # Errors
    ///
    /// [`StoreError::DocumentNotObject`] for a document that is not a JSON
    /// object, [`StoreError::Sqlite`] when writing fails; nothing of the
    /// batch is then stored.
    pub fn commit_batch(
        &self,
        sightings: &[NewSighting],
        checkpoints: &[Checkpoint],
        now: OffsetDateTime,
    ) -> Result<Vec<AlertOutcome>> {
        self.write(|tx| {
            for checkpoint in checkpoints {
                save_checkpoint(tx, checkpoint, now)?;
            }
            sightings
                .iter()
                .map(|sighting| store_sighting(tx, sighting, now))
                .collect()
        })
    }

    /// Returns the saved read position of `path` in `source`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when reading fails.
    pub fn checkpoint(&self, source: &str, path: &str) -> Result<Option<Checkpoint>> {
        self.read(|conn| {
            let found = conn
                .query_row(
                    "SELECT source, path, device, inode, offset, fingerprint FROM checkpoints
                     WHERE source = ?1 AND path = ?2",
                    params![source, path],
                    checkpoint_row,
                )
                .optional()?;
            Ok(found)
        })
    }

    /// Returns every saved read position of `source`, by path, so that a
    /// file renamed by rotation can be found by inode or fingerprint.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when reading fails.
    pub fn checkpoints(&self, source: &str) -> Result<Vec<Checkpoint>> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT source, path, device, inode, offset, fingerprint FROM checkpoints
                 WHERE source = ?1 ORDER BY path",
            )?;
            let found = statement
                .query_map(params![source], checkpoint_row)?
                .collect::<rusqlite::Result<Vec<Checkpoint>>>()?;
            Ok(found)
        })
    }

    /// Lists alerts, last seen first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>> {
        let (where_clause, values) = filter_sql(filter);
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts{where_clause}");
        let limit = filter
            .limit
            .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        sql.push_str(&format!(
            " ORDER BY last_seen DESC, id LIMIT {limit} OFFSET {offset}"
        ));

        self.read(|conn| {
            let mut statement = conn.prepare(&sql)?;
            let mut rows = statement.query(params_from_iter(values))?;
            let mut alerts = Vec::new();
            while let Some(row) = rows.next()? {
                alerts.push(stored_alert(row)?);
            }
            Ok(alerts)
        })
    }

    /// Counts the alerts that `filter` selects, ignoring its limit and
    /// offset.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when reading fails.
    pub fn count_alerts(&self, filter: &AlertFilter) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter);
        let sql = format!("SELECT COUNT(*) FROM alerts{where_clause}");
        self.read(|conn| {
            let count: i64 = conn.query_row(&sql, params_from_iter(values), |row| row.get(0))?;
            Ok(count.max(0) as u64)
        })
    }

    /// Returns the times of the sightings folded into an alert, newest
    /// first, at most [`MAX_SIGHTINGS`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn sightings(&self, id: Uuid) -> Result<Vec<OffsetDateTime>> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT at FROM alert_sightings WHERE alert_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
            )?;
            let times = statement
                .query_map(params![id.to_string(), MAX_SIGHTINGS as i64], |row| {
                    row.get::<_, i64>(0)
                })?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            times.into_iter().map(instant).collect()
        })
    }
}

/// Returns the condition of [`AlertFilter::indicator_covers`], adding its
/// parameters to `values`.
fn covering_condition(value: &str, values: &mut Vec<rusqlite::types::Value>) -> String {
    let covering = covering(value);
    let mut placeholder = |value: String| {
        values.push(value.into());
        format!("?{}", values.len())
    };
    let listed: Vec<String> = covering.values.into_iter().map(&mut placeholder).collect();
    let mut alternatives = vec![format!("indicator IN ({})", listed.join(", "))];
    for host in covering.socket_hosts {
        // Every `host:port` text sorts between `host:` and `host;` because
        // ';' follows ':' in ASCII. Unlike LIKE, the range uses the index.
        let low = placeholder(format!("{host}:"));
        let high = placeholder(format!("{host};"));
        alternatives.push(format!("(indicator >= {low} AND indicator < {high})"));
    }
    format!("({})", alternatives.join(" OR "))
}

/// Builds the WHERE clause of an alert filter and its parameters.
fn filter_sql(filter: &AlertFilter) -> (String, Vec<rusqlite::types::Value>) {
    {
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let mut condition = |sql: &str, value: rusqlite::types::Value| {
            values.push(value);
            conditions.push(sql.replace('?', &format!("?{}", values.len())));
        };

        if let Some(status) = filter.status {
            condition("status = ?", status.as_str().to_owned().into());
        }
        if let Some(min) = filter.min_severity {
            for severity in Severity::ALL.into_iter().filter(|severity| *severity < min) {
                condition("severity <> ?", severity.as_str().to_owned().into());
            }
        }
        if let Some(watchlist) = &filter.watchlist {
            condition("watchlist = ?", watchlist.clone().into());
        }
        if let Some(host) = &filter.internal_host {
            condition("internal_host = ?", host.clone().into());
        }
        if let Some(indicator) = &filter.indicator {
            condition("indicator = ?", indicator.clone().into());
        }
        if let Some(since) = filter.since {
            condition("last_sighting_at >= ?", micros(since).into());
        }
        if let Some(until) = filter.until {
            condition("created_at < ?", micros(until).into());
        }
        if let Some(since) = filter.event_since {
            condition("last_seen >= ?", micros(since).into());
        }
        if let Some(until) = filter.event_until {
            condition("first_seen < ?", micros(until).into());
        }
        if let Some(after) = filter.updated_after {
            condition("updated_at > ?", micros(after).into());
        }
        if let Some(text) = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            condition(
                "(lower(watchlist || ' ' || indicator || ' ' || COALESCE(internal_host, '')) LIKE ? ESCAPE '\\')",
                format!("%{escaped}%").into(),
            );
        }
        if !filter.statuses.is_empty() {
            let names: Vec<&str> = filter.statuses.iter().map(|status| status.as_str()).collect();
            let list = names
                .iter()
                .map(|name| format!("'{name}'"))
                .collect::<Vec<_>>()
                .join(", ");
            conditions.push(format!("status IN ({list})"));
        }
        if let Some(value) = &filter.indicator_covers {
            conditions.push(covering_condition(value, &mut values));
        }

        let clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        (clause, values)
    }
}

impl Store {
    /// Returns an alert with its history, or `None` when no alert has the id.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn alert(&self, id: Uuid) -> Result<Option<AlertDetail>> {
        self.read(|conn| {
            let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1");
            let alert = conn
                .query_row(&sql, params![id.to_string()], |row| Ok(stored_alert(row)))
                .optional()?
                .transpose()?;
            let Some(alert) = alert else { return Ok(None) };
            let mut statement = conn.prepare(
                "SELECT at, actor, from_status, to_status, resolution, comment FROM alert_history
                 WHERE alert_id = ?1 ORDER BY id",
            )?;
            let mut rows = statement.query(params![id.to_string()])?;
            let mut history = Vec::new();
            while let Some(row) = rows.next()? {
                history.push(history_entry(row)?);
            }
            Ok(Some(AlertDetail { alert, history }))
        })
    }

    /// Finds the alert whose id is `id` or starts with it (at least
    /// [`MIN_ALERT_PREFIX`] characters, as `alerts list` shows them).
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidAlertId`] for a prefix that is too short or not
    /// hex, [`StoreError::UnknownAlert`] when no alert fits and
    /// [`StoreError::AmbiguousAlert`] when several do.
    pub fn find_alert(&self, id: &str) -> Result<Uuid> {
        let prefix = id.trim().to_ascii_lowercase();
        let unknown = || StoreError::UnknownAlert(id.to_owned());
        let invalid = |reason: String| StoreError::InvalidAlertId {
            id: id.to_owned(),
            reason,
        };
        if !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(invalid("an id contains only hex digits and '-'".to_owned()));
        }
        if prefix.len() < MIN_ALERT_PREFIX {
            return Err(invalid(format!(
                "give at least {MIN_ALERT_PREFIX} characters of the id"
            )));
        }
        self.read(|conn| {
            let mut statement = conn.prepare("SELECT id FROM alerts WHERE id >= ?1 AND id < ?2 LIMIT 2")?;
            let upper = format!("{prefix}\u{7f}");
            let found: Vec<String> = statement
                .query_map(params![prefix, upper], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            match found.as_slice() {
                [one] => Uuid::parse_str(one).map_err(|error| StoreError::Corrupt {
                    what: "alert id",
                    detail: format!("{one:?}: {error}"),
                }),
                [] => Err(unknown()),
                _ => {
                    let count: i64 = conn.query_row(
                        "SELECT COUNT(*) FROM alerts WHERE id >= ?1 AND id < ?2",
                        params![prefix, upper],
                        |row| row.get(0),
                    )?;
                    Err(StoreError::AmbiguousAlert {
                        prefix,
                        count: count.max(0) as usize,
                    })
                }
            }
        })
    }

    /// Changes the status of an alert and records the change in its
    /// history.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownAlert`] when no alert has the id, and
    /// [`StoreError::InvalidTransition`] when the alert has that status
    /// already, when a closed alert is set to anything but new (reopened),
    /// when closing lacks a resolution or comment, or when a resolution is
    /// given for another status.
    pub fn set_status(&self, id: Uuid, change: &StatusChange, now: OffsetDateTime) -> Result<()> {
        let comment = change
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|comment| !comment.is_empty());
        if change.status == AlertStatus::Closed {
            if change.resolution.is_none() {
                return Err(StoreError::InvalidTransition(
                    "closing an alert needs a resolution: true-positive, false-positive or benign".to_owned(),
                ));
            }
            if comment.is_none() {
                return Err(StoreError::InvalidTransition(
                    "closing an alert needs a comment with the findings".to_owned(),
                ));
            }
        } else if change.resolution.is_some() {
            return Err(StoreError::InvalidTransition(format!(
                "a resolution is given only when closing, not when setting {}",
                change.status
            )));
        }
        self.write(|tx| {
            let current: Option<String> = tx
                .query_row(
                    "SELECT status FROM alerts WHERE id = ?1",
                    params![id.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(current) = current else {
                return Err(StoreError::UnknownAlert(id.to_string()));
            };
            let current = parse_status(&current)?;
            if current == change.status {
                return Err(StoreError::InvalidTransition(format!(
                    "alert {id} is {current} already"
                )));
            }
            if current == AlertStatus::Closed && change.status != AlertStatus::New {
                return Err(StoreError::InvalidTransition(format!(
                    "alert {id} is closed; reopen it first (status new), then set it {}",
                    change.status
                )));
            }
            tx.execute(
                "UPDATE alerts SET status = ?2, resolution = ?3, updated_at = ?4 WHERE id = ?1",
                params![
                    id.to_string(),
                    change.status.as_str(),
                    change.resolution.map(Resolution::as_str),
                    micros(now)
                ],
            )?;
            let entry = HistoryEntry {
                at: now,
                actor: change.actor.clone(),
                from: Some(current),
                to: change.status,
                resolution: change.resolution,
                comment: comment.map(str::to_owned),
            };
            record_history(tx, id, &entry)
        })
    }
}

fn checkpoint_row(row: &Row<'_>) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        source: row.get(0)?,
        path: row.get(1)?,
        // The bits of device and inode numbers round-trip through `as`.
        device: row.get::<_, i64>(2)? as u64,
        inode: row.get::<_, i64>(3)? as u64,
        offset: row.get::<_, i64>(4)?.max(0) as u64,
        // Stored as 8 little-endian bytes; a damaged value matches no file.
        fingerprint: <[u8; 8]>::try_from(row.get::<_, Vec<u8>>(5)?.as_slice()).map_or(0, u64::from_le_bytes),
    })
}

fn save_checkpoint(tx: &Transaction<'_>, checkpoint: &Checkpoint, now: OffsetDateTime) -> Result<()> {
    tx.execute(
        "INSERT INTO checkpoints (source, path, device, inode, offset, fingerprint, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (source, path) DO UPDATE SET device = excluded.device, inode = excluded.inode,
             offset = excluded.offset, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
        params![
            checkpoint.source,
            checkpoint.path,
            // SQLite integers are signed; the bits round-trip through `as`.
            checkpoint.device as i64,
            checkpoint.inode as i64,
            i64::try_from(checkpoint.offset).map_err(|_| StoreError::OutOfRange("checkpoint offset"))?,
            checkpoint.fingerprint.to_le_bytes().to_vec(),
            micros(now),
        ],
    )?;
    Ok(())
}

/// The alert a sighting joins: id, status, count, first and last seen.
struct Candidate {
    id: String,
    status: AlertStatus,
    count: i64,
    first_seen: i64,
    last_seen: i64,
}

fn store_sighting(tx: &Transaction<'_>, sighting: &NewSighting, now: OffsetDateTime) -> Result<AlertOutcome> {
    let Value::Object(document) = &sighting.document else {
        return Err(StoreError::DocumentNotObject {
            dedup_key: sighting.dedup_key.clone(),
        });
    };
    let event = micros(sighting.event_time);
    let window = duration_micros(sighting.window);
    let candidate = tx
        .query_row(
            "SELECT id, status, count, first_seen, last_seen FROM alerts
             WHERE dedup_key = ?1 AND first_seen - ?3 <= ?2 AND ?2 <= last_seen + ?3
             ORDER BY last_seen DESC LIMIT 1",
            params![sighting.dedup_key, event, window],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .optional()?
        .map(|(id, status, count, first_seen, last_seen)| {
            Ok::<_, StoreError>(Candidate {
                id,
                status: parse_status(&status)?,
                count,
                first_seen,
                last_seen,
            })
        })
        .transpose()?;

    let Some(candidate) = candidate else {
        return create_alert(tx, sighting, document, now);
    };
    let id = parse_id(&candidate.id)?;
    let count = candidate.count.saturating_add(1);
    let first_seen = candidate.first_seen.min(event);
    let last_seen = candidate.last_seen.max(event);
    let stored = stamp(document, id, count, instant(first_seen)?, instant(last_seen)?);
    let reopened = candidate.status == AlertStatus::Closed;
    tx.execute(
        "UPDATE alerts SET count = ?2, first_seen = ?3, last_seen = ?4, document = ?5, updated_at = ?6,
             last_sighting_at = ?6,
             severity = CASE WHEN ?7 > (CASE severity WHEN 'low' THEN 0 WHEN 'medium' THEN 1
                 WHEN 'high' THEN 2 ELSE 3 END) THEN ?8 ELSE severity END,
             status = CASE WHEN ?9 THEN 'new' ELSE status END,
             resolution = CASE WHEN ?9 THEN NULL ELSE resolution END
         WHERE id = ?1",
        params![
            candidate.id,
            count,
            first_seen,
            last_seen,
            stored.to_string(),
            micros(now),
            severity_rank(sighting.severity),
            sighting.severity.as_str(),
            reopened,
        ],
    )?;
    record_sighting(tx, &candidate.id, event, count)?;
    if !reopened {
        return Ok(AlertOutcome::Updated {
            id,
            count: count.max(0) as u64,
        });
    }
    let entry = HistoryEntry {
        at: now,
        actor: SYSTEM_ACTOR.to_owned(),
        from: Some(AlertStatus::Closed),
        to: AlertStatus::New,
        resolution: None,
        comment: Some("reopened: sighted again within the dedup window".to_owned()),
    };
    record_history(tx, id, &entry)?;
    for sink in &sighting.sinks {
        enqueue(tx, sink, id, &stored, now)?;
    }
    Ok(AlertOutcome::Reopened { id })
}

fn create_alert(
    tx: &Transaction<'_>,
    sighting: &NewSighting,
    document: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<AlertOutcome> {
    let id = Uuid::new_v4();
    let stored = stamp(document, id, 1, sighting.event_time, sighting.event_time);
    let event = micros(sighting.event_time);
    tx.execute(
        "INSERT INTO alerts (id, dedup_key, watchlist, indicator, internal_host, severity, status, resolution,
             first_seen, last_seen, count, document, created_at, updated_at, last_sighting_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'new', NULL, ?7, ?7, 1, ?8, ?9, ?9, ?9)",
        params![
            id.to_string(),
            sighting.dedup_key,
            sighting.watchlist,
            sighting.indicator,
            sighting.internal_host,
            sighting.severity.as_str(),
            event,
            stored.to_string(),
            micros(now),
        ],
    )?;
    let entry = HistoryEntry {
        at: now,
        actor: SYSTEM_ACTOR.to_owned(),
        from: None,
        to: AlertStatus::New,
        resolution: None,
        comment: None,
    };
    record_history(tx, id, &entry)?;
    record_sighting(tx, &id.to_string(), event, 1)?;
    for sink in &sighting.sinks {
        enqueue(tx, sink, id, &stored, now)?;
    }
    Ok(AlertOutcome::Created { id })
}

/// Returns a copy of `document` with the stored alert's facts under
/// `iocwatch`.
fn stamp(
    document: &Map<String, Value>,
    id: Uuid,
    count: i64,
    first_seen: OffsetDateTime,
    last_seen: OffsetDateTime,
) -> Value {
    let mut document = document.clone();
    let iocwatch = document
        .entry("iocwatch")
        .or_insert_with(|| Value::Object(Map::new()));
    if !iocwatch.is_object() {
        *iocwatch = Value::Object(Map::new());
    }
    if let Value::Object(fields) = iocwatch {
        fields.insert("alert_id".to_owned(), Value::from(id.to_string()));
        fields.insert("dedup_count".to_owned(), Value::from(count));
        fields.insert(
            "first_seen".to_owned(),
            Value::from(iocwatch_model::time::format_timestamp(first_seen)),
        );
        fields.insert(
            "last_seen".to_owned(),
            Value::from(iocwatch_model::time::format_timestamp(last_seen)),
        );
    }
    Value::Object(document)
}

fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

/// Records the time of a sighting of an alert, pruning the oldest times
/// past [`MAX_SIGHTINGS`] every fiftieth sighting, so an alert keeps at
/// most `MAX_SIGHTINGS + 50` rows.
fn record_sighting(tx: &Transaction<'_>, id: &str, event: i64, count: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO alert_sightings (alert_id, at) VALUES (?1, ?2)",
        params![id, event],
    )?;
    if count > MAX_SIGHTINGS as i64 && count % 50 == 0 {
        tx.execute(
            "DELETE FROM alert_sightings WHERE alert_id = ?1 AND id NOT IN
                 (SELECT id FROM alert_sightings WHERE alert_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2)",
            params![id, MAX_SIGHTINGS as i64],
        )?;
    }
    Ok(())
}

fn record_history(tx: &Transaction<'_>, id: Uuid, entry: &HistoryEntry) -> Result<()> {
    tx.execute(
        "INSERT INTO alert_history (alert_id, at, actor, from_status, to_status, resolution, comment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id.to_string(),
            micros(entry.at),
            entry.actor,
            entry.from.map(AlertStatus::as_str),
            entry.to.as_str(),
            entry.resolution.map(Resolution::as_str),
            entry.comment,
        ],
    )?;
    Ok(())
}

fn parse_status(name: &str) -> Result<AlertStatus> {
    name.parse().map_err(|detail| StoreError::Corrupt {
        what: "alert status",
        detail,
    })
}

pub(crate) fn parse_id(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|error| StoreError::Corrupt {
        what: "alert id",
        detail: format!("{text:?}: {error}"),
    })
}

fn stored_alert(row: &Row<'_>) -> Result<StoredAlert> {
    let corrupt = |what, detail: String| StoreError::Corrupt { what, detail };
    let id: String = row.get(0)?;
    let severity: String = row.get(5)?;
    let status: String = row.get(6)?;
    let resolution: Option<String> = row.get(7)?;
    let document: String = row.get(11)?;
    Ok(StoredAlert {
        id: parse_id(&id)?,
        dedup_key: row.get(1)?,
        watchlist: row.get(2)?,
        indicator: row.get(3)?,
        internal_host: row.get(4)?,
        severity: severity
            .parse()
            .map_err(|detail: iocwatch_model::UnknownSeverity| {
                corrupt("alert severity", detail.to_string())
            })?,
        status: parse_status(&status)?,
        resolution: resolution
            .map(|r| r.parse().map_err(|detail| corrupt("alert resolution", detail)))
            .transpose()?,
        first_seen: instant(row.get(8)?)?,
        last_seen: instant(row.get(9)?)?,
        count: row.get::<_, i64>(10)?.max(0) as u64,
        document: serde_json::from_str(&document)
            .map_err(|error| corrupt("alert document", format!("alert {id}: {error}")))?,
        created_at: instant(row.get(12)?)?,
        updated_at: instant(row.get(13)?)?,
        assignee: row.get(14)?,
        last_sighting_at: instant(row.get(15)?)?,
    })
}

fn history_entry(row: &Row<'_>) -> Result<HistoryEntry> {
    let from: Option<String> = row.get(2)?;
    let to: String = row.get(3)?;
    let resolution: Option<String> = row.get(4)?;
    Ok(HistoryEntry {
        at: instant(row.get(0)?)?,
        actor: row.get(1)?,
        from: from.as_deref().map(parse_status).transpose()?,
        to: parse_status(&to)?,
        resolution: resolution
            .map(|r| {
                r.parse().map_err(|detail| StoreError::Corrupt {
                    what: "alert resolution",
                    detail,
                })
            })
            .transpose()?,
        comment: row.get(5)?,
    })
}
