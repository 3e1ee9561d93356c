//! The durable delivery queue: one row per alert document and sink, kept
//! until the sink reports it delivered, across restarts.

use rusqlite::{Transaction, params};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::alerts::parse_id;
use crate::codec::{instant, micros};
use crate::error::{Result, StoreError};

/// A document waiting for delivery to one sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The queue row id, for [`Store::delivered`] and [`Store::retry_later`].
    pub id: i64,
    /// The alert the document belongs to.
    pub alert_id: Uuid,
    /// The alert document as it was when queued.
    pub payload: Value,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub enqueued_at: OffsetDateTime,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
}

/// The queue of one sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// The sink name.
    pub sink: String,
    /// Documents waiting.
    pub depth: u64,
    /// Documents waiting that failed at least once.
    pub retrying: u64,
    /// When the oldest waiting document was queued.
    pub oldest_enqueued_at: Option<OffsetDateTime>,
}

impl Store {
    /// Returns up to `limit` documents for `sink` whose next attempt is due
    /// at `now`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn due_deliveries(&self, sink: &str, now: OffsetDateTime, limit: usize) -> Result<Vec<Delivery>> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT id, alert_id, payload, attempts, enqueued_at, last_error FROM deliveries
                 WHERE sink = ?1 AND next_attempt_at <= ?2 ORDER BY next_attempt_at, id LIMIT ?3",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut rows = statement.query(params![sink, micros(now), limit])?;
            let mut due = Vec::new();
            while let Some(row) = rows.next()? {
                let alert_id: String = row.get(1)?;
                let payload: String = row.get(2)?;
                due.push(Delivery {
                    id: row.get(0)?,
                    alert_id: parse_id(&alert_id)?,
                    payload: serde_json::from_str(&payload).map_err(|error| StoreError::Corrupt {
                        what: "queued document",
                        detail: format!("alert {alert_id}: {error}"),
                    })?,
                    attempts: u32::try_from(row.get::<_, i64>(3)?).unwrap_or(u32::MAX),
                    enqueued_at: instant(row.get(4)?)?,
                    last_error: row.get(5)?,
                });
            }
            Ok(due)
        })
    }

    /// Removes a delivered document from the queue. Removing one that is
    /// gone already is no error.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when writing fails.
    pub fn delivered(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM deliveries WHERE id = ?1", params![id])?;
            Ok(())
        })
    }

    /// Records a failed attempt and when to try again.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when writing fails.
    pub fn retry_later(&self, id: i64, next_attempt_at: OffsetDateTime, error: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
                 WHERE id = ?1",
                params![id, micros(next_attempt_at), error],
            )?;
            Ok(())
        })
    }

    /// Makes every waiting delivery due at `now`, so that a restarted
    /// service tries at once what an earlier one had put off, in the order
    /// the alerts were queued. Returns how many were put off.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when writing fails.
    pub fn retry_all_now(&self, now: OffsetDateTime) -> Result<u64> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE deliveries SET next_attempt_at = enqueued_at WHERE next_attempt_at > ?1",
                params![micros(now)],
            )?;
            Ok(changed as u64)
        })
    }

    /// Returns the number of documents waiting for `sink`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when reading fails.
    pub fn queue_depth(&self, sink: &str) -> Result<u64> {
        self.read(|conn| {
            let depth: i64 = conn.query_row(
                "SELECT COUNT(*) FROM deliveries WHERE sink = ?1",
                params![sink],
                |row| row.get(0),
            )?;
            Ok(depth.max(0) as u64)
        })
    }

    /// Returns the queue of every sink that has documents waiting, by name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when reading fails.
    pub fn queue_stats(&self) -> Result<Vec<QueueStats>> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT sink, COUNT(*), SUM(attempts > 0), MIN(enqueued_at) FROM deliveries
                 GROUP BY sink ORDER BY sink",
            )?;
            let mut rows = statement.query([])?;
            let mut stats = Vec::new();
            while let Some(row) = rows.next()? {
                let oldest: Option<i64> = row.get(3)?;
                stats.push(QueueStats {
                    sink: row.get(0)?,
                    depth: row.get::<_, i64>(1)?.max(0) as u64,
                    retrying: row.get::<_, i64>(2)?.max(0) as u64,
                    oldest_enqueued_at: oldest.map(instant).transpose()?,
                });
            }
            Ok(stats)
        })
    }
}

/// Queues `document` for `sink` inside a batch transaction, due at `now`.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    sink: &str,
    alert_id: Uuid,
    document: &Value,
    now: OffsetDateTime,
) -> Result<()> {
    tx.execute(
        "INSERT INTO deliveries (sink, alert_id, payload, attempts, enqueued_at, next_attempt_at)
         VALUES (?1, ?2, ?3, 0, ?4, ?4)",
        params![sink, alert_id.to_string(), document.to_string(), micros(now)],
    )?;
    Ok(())
}
