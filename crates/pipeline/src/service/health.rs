//! Health of the service's sources and sinks, for the health endpoint.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use iocwatch_store::Store;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::service::snapshot::Snapshot;

/// Counters of one source.
#[derive(Debug)]
pub struct SourceHealth {
    name: String,
    kind: &'static str,
    lines: AtomicU64,
    last_line_ms: AtomicI64,
}

impl SourceHealth {
    /// Creates the counters of a source of type `kind`.
    pub fn new(name: &str, kind: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            lines: AtomicU64::new(0),
            last_line_ms: AtomicI64::new(0),
        }
    }

    /// Counts `lines` lines received now.
    pub fn received(&self, lines: u64) {
        self.lines.fetch_add(lines, Ordering::Relaxed);
        self.last_line_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn report(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "lines": self.lines.load(Ordering::Relaxed),
            "last_line": timestamp(self.last_line_ms.load(Ordering::Relaxed)),
        })
    }
}

/// Counters of one sink.
#[derive(Debug)]
pub struct SinkHealth {
    name: String,
    kind: &'static str,
    delivered: AtomicU64,
    failed: AtomicU64,
    failing_since_ms: AtomicI64,
    last_delivery_ms: AtomicI64,
    last_error: Mutex<Option<String>>,
}

impl SinkHealth {
    /// Creates the counters of a sink of type `kind`.
    pub fn new(name: &str, kind: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            failing_since_ms: AtomicI64::new(0),
            last_delivery_ms: AtomicI64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// Returns the sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Records a delivery that the sink accepted.
    pub fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.last_delivery_ms.store(now_ms(), Ordering::Relaxed);
        self.failing_since_ms.store(0, Ordering::Relaxed);
    }

    /// Records a failed delivery.
    pub fn failed(&self, error: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .failing_since_ms
            .compare_exchange(0, now_ms(), Ordering::Relaxed, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(error.to_owned());
    }

    /// Tells whether the last delivery failed.
    pub fn is_failing(&self) -> bool {
        self.failing_since_ms.load(Ordering::Relaxed) != 0
    }

    fn report(&self, depth: u64, oldest: Option<OffsetDateTime>) -> Value {
        let last_error = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        json!({
            "name": self.name,
            "type": self.kind,
            "status": if self.is_failing() { "failing" } else { "ok" },
            "delivered": self.delivered.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "last_delivery": timestamp(self.last_delivery_ms.load(Ordering::Relaxed)),
            "failing_since": timestamp(self.failing_since_ms.load(Ordering::Relaxed)),
            "last_error": last_error,
            "queue_depth": depth,
            "queue_oldest": oldest.map(crate::service::rfc3339),
        })
    }
}

/// The health of the whole service.
pub struct ServiceHealth {
    /// Each source's counters.
    pub sources: Vec<Arc<SourceHealth>>,
    /// Each sink's counters.
    pub sinks: Vec<Arc<SinkHealth>>,
    /// The store, for queue depths.
    pub store: Arc<Store>,
    /// The current watchlist snapshot.
    pub snapshot: Arc<arc_swap::ArcSwap<Snapshot>>,
}

impl ServiceHealth {
    /// Returns whether the service is healthy, and the report: `ok` when
    /// everything works, `degraded` when a sink fails (alerts wait in its
    /// queue), and unhealthy when the store cannot be read.
    pub fn report(&self) -> (bool, Value) {
        let queues = self.store.queue_stats();
        let store_ok = queues.is_ok();
        let queues = queues.unwrap_or_default();
        let sinks: Vec<Value> = self
            .sinks
            .iter()
            .map(|sink| {
                let stats = queues.iter().find(|q| q.sink == sink.name());
                sink.report(
                    stats.map_or(0, |q| q.depth),
                    stats.and_then(|q| q.oldest_enqueued_at),
                )
            })
            .collect();
        let status = if !store_ok {
            "failing"
        } else if self.sinks.iter().any(|sink| sink.is_failing()) {
            "degraded"
        } else {
            "ok"
        };
        let snapshot = self.snapshot.load();
        let report = json!({
            "status": status,
            "store": if store_ok { "ok" } else { "failing" },
            "watchlists": {
                "indicators": snapshot.matcher().len(),
                "revision": snapshot.revision(),
            },
            "sources": self.sources.iter().map(|source| source.report()).collect::<Vec<_>>(),
            "sinks": sinks,
        });
        (store_ok, report)
    }
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn timestamp(ms: i64) -> Option<String> {
    if ms == 0 {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(crate::service::rfc3339)
}
