//! Delivery workers: one per sink, each draining that sink's part of the
//! durable queue, so that an outage of one sink delays no other.
//!
//! A delivery that fails is tried again after an exponential backoff
//! (1 s, 2 s, 4 s, ... up to [`MAX_BACKOFF`]), or after the delay the
//! receiver requested. A failure the sink calls permanent (a rejected
//! request, for example) is logged as an error and tried again at the
//! maximum backoff. Every alert stays queued until its sink accepts it, so
//! it is delivered once an operator fixes the cause.
//!
//! A failing sink stays visible in the log without flooding it. The first
//! [`LOGGED_FAILURES_PER_OUTAGE`] failed attempts since the sink's last
//! successful delivery are logged one by one. After them, at most one
//! "still failing" line per [`FAILURE_SUMMARY_INTERVAL`] gives the number
//! of failed attempts and of queued alerts. The first successful delivery
//! after failures is logged once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use iocwatch_sinks::{DeliveryError, Sink};
use iocwatch_store::{Delivery, Store};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::service::health::SinkHealth;

/// Maximum wait between two attempts of one delivery.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Maximum wait of an idle worker before it reads its queue again.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Deliveries fetched from the queue at once.
const FETCH: usize = 64;

/// Failed attempts of one outage that are logged one by one.
pub const LOGGED_FAILURES_PER_OUTAGE: u64 = 5;

/// Minimum time between two "still failing" lines of one sink, once its
/// first [`LOGGED_FAILURES_PER_OUTAGE`] failed attempts are logged.
pub const FAILURE_SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// The log entry of one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureReport {
    /// Logged on its own. `last` is set on the last attempt logged this
    /// way in the outage.
    Each {
        /// Whether later attempts go into "still failing" lines.
        last: bool,
    },
    /// Logged as a "still failing" line with the outage's counts.
    Summary,
    /// Counted only, at debug level and in the metrics.
    Counted,
}

/// The failed attempts of one sink since its last successful delivery.
#[derive(Debug, Default)]
struct Outage {
    /// Failed delivery attempts, 0 while the sink works.
    failed_attempts: u64,
    /// When the first of them failed.
    started: Option<Instant>,
    /// When a line about the outage was last logged.
    last_logged: Option<Instant>,
}

impl Outage {
    /// Counts a failed attempt at `now` and decides how to log it.
    fn failed(&mut self, now: Instant) -> FailureReport {
        self.failed_attempts += 1;
        let started = *self.started.get_or_insert(now);
        if self.failed_attempts <= LOGGED_FAILURES_PER_OUTAGE {
            self.last_logged = Some(now);
            return FailureReport::Each {
                last: self.failed_attempts == LOGGED_FAILURES_PER_OUTAGE,
            };
        }
        let last_logged = self.last_logged.unwrap_or(started);
        if now.saturating_duration_since(last_logged) >= FAILURE_SUMMARY_INTERVAL {
            self.last_logged = Some(now);
            return FailureReport::Summary;
        }
        FailureReport::Counted
    }

    /// Returns how long the outage has lasted at `now`.
    fn duration(&self, now: Instant) -> Duration {
        self.started
            .map_or(Duration::ZERO, |started| now.saturating_duration_since(started))
    }

    /// Ends the outage on a successful delivery at `now`. Returns the
    /// number of failed attempts and the outage's duration, or `None` when
    /// the sink was not failing.
    fn recovered(&mut self, now: Instant) -> Option<(u64, Duration)> {
        if self.failed_attempts == 0 {
            return None;
        }
        let ended = (self.failed_attempts, self.duration(now));
        *self = Self::default();
        Some(ended)
    }
}

/// Returns the wait before attempt `attempts + 1` of a delivery.
pub fn backoff(attempts: u32) -> Duration {
    let exponent = attempts.min(16);
    Duration::from_secs(1_u64 << exponent).min(MAX_BACKOFF)
}

/// Runs the delivery loop of one sink until `shutdown`.
pub async fn run_worker(
    sink: Arc<Sink>,
    store: Arc<Store>,
    wake: Arc<Notify>,
    health: Arc<SinkHealth>,
    shutdown: CancellationToken,
) {
    let name = sink.name().to_owned();
    let mut outage = Outage::default();
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let due = {
            let store = store.clone();
            let name = name.clone();
            tokio::task::spawn_blocking(move || store.due_deliveries(&name, OffsetDateTime::now_utc(), FETCH))
                .await
        };
        let due = match due {
            Ok(Ok(due)) => due,
            Ok(Err(err)) => {
                tracing::error!(sink = %name, error = %err, "failed to read the delivery queue; trying again in a second");
                Vec::new()
            }
            Err(err) => {
                tracing::error!(sink = %name, error = %err, "the delivery queue reader stopped; trying again in a second");
                Vec::new()
            }
        };
        let fetched = due.len();
        for chunk in due.chunks(sink.max_batch().max(1)) {
            if shutdown.is_cancelled() {
                return;
            }
            deliver_chunk(&sink, &store, &health, &mut outage, chunk).await;
        }
        if fetched < FETCH {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }
}

/// Delivers a group of queued alerts in one call to the sink, and settles
/// each in the queue.
async fn deliver_chunk(
    sink: &Sink,
    store: &Arc<Store>,
    health: &SinkHealth,
    outage: &mut Outage,
    chunk: &[Delivery],
) {
    let name = sink.name();
    let alerts: Vec<serde_json::Value> = chunk.iter().map(|delivery| delivery.payload.clone()).collect();
    let result = if alerts.len() == 1 {
        sink.deliver(&alerts[0]).await
    } else {
        sink.deliver_batch(&alerts).await
    };
    let count = chunk.len() as u64;
    match result {
        Ok(()) => {
            if let Some((failed_attempts, duration)) = outage.recovered(Instant::now()) {
                tracing::info!(
                    sink = name,
                    failed_attempts,
                    failing_for_s = duration.as_secs(),
                    "the sink accepts deliveries again"
                );
            }
            metrics::counter!("iocwatch_sink_deliveries_total", "sink" => name.to_owned(), "outcome" => "delivered")
                .increment(count);
            let now = OffsetDateTime::now_utc();
            for delivery in chunk {
                let age = (now - delivery.enqueued_at).as_seconds_f64();
                metrics::histogram!("iocwatch_sink_delivery_age_seconds", "sink" => name.to_owned())
                    .record(age);
                health.delivered();
            }
            settle(store, chunk, None).await;
        }
        Err(err) => {
            let attempts = chunk.iter().map(|delivery| delivery.attempts).max().unwrap_or(0);
            let wait = if err.is_retryable() {
                err.retry_after().unwrap_or_else(|| backoff(attempts))
            } else {
                MAX_BACKOFF
            };
            metrics::counter!("iocwatch_sink_deliveries_total", "sink" => name.to_owned(), "outcome" => "failed")
                .increment(count);
            health.failed(err.message());
            report_failure(name, store, outage, &err, chunk, attempts + 1, wait).await;
            settle(store, chunk, Some((wait, err.message().to_owned()))).await;
        }
    }
}

/// Logs a failed attempt as [`Outage::failed`] decides. `attempt` is the
/// number of this attempt of the chunk's deliveries, counting earlier runs
/// of the service.
async fn report_failure(
    name: &str,
    store: &Arc<Store>,
    outage: &mut Outage,
    err: &DeliveryError,
    chunk: &[Delivery],
    attempt: u32,
    wait: Duration,
) {
    let ids: Vec<String> = chunk
        .iter()
        .map(|delivery| delivery.alert_id.to_string())
        .collect();
    let ids = ids.join(",");
    let retry_in_s = wait.as_secs();
    let now = Instant::now();
    match outage.failed(now) {
        FailureReport::Each { last } => {
            if err.is_retryable() {
                tracing::warn!(sink = name, alert_ids = %ids, attempts = attempt, retry_in_s, error = %err.message(), "delivery failed; it will be tried again");
            } else {
                tracing::error!(sink = name, alert_ids = %ids, attempts = attempt, retry_in_s, error = %err.message(), "the sink rejected the delivery; check the sink's configuration, the alerts stay queued");
            }
            if last {
                tracing::warn!(
                    sink = name,
                    failed_attempts = outage.failed_attempts,
                    interval_s = FAILURE_SUMMARY_INTERVAL.as_secs(),
                    "further failed deliveries of this sink are logged at most once per interval, until it accepts one"
                );
            }
        }
        FailureReport::Summary => {
            let queued_alerts = queue_depth(store, name).await;
            let failing_for_s = outage.duration(now).as_secs();
            if err.is_retryable() {
                tracing::warn!(sink = name, failed_attempts = outage.failed_attempts, failing_for_s, queued_alerts, retry_in_s, error = %err.message(), "delivery still fails and the alerts stay queued");
            } else {
                tracing::error!(sink = name, failed_attempts = outage.failed_attempts, failing_for_s, queued_alerts, retry_in_s, error = %err.message(), "the sink still rejects deliveries and the alerts stay queued; check the sink's configuration");
            }
        }
        FailureReport::Counted => {
            tracing::debug!(sink = name, alert_ids = %ids, attempts = attempt, retry_in_s, error = %err.message(), "delivery failed again");
        }
    }
}

/// Returns the number of alerts queued for `sink`, or `None` when the
/// store cannot be read.
async fn queue_depth(store: &Arc<Store>, sink: &str) -> Option<u64> {
    let result = {
        let store = store.clone();
        let sink = sink.to_owned();
        tokio::task::spawn_blocking(move || store.queue_depth(&sink)).await
    };
    match result {
        Ok(Ok(depth)) => Some(depth),
        Ok(Err(err)) => {
            tracing::warn!(sink, error = %err, "failed to count the alerts queued for the sink");
            None
        }
        Err(err) => {
            tracing::warn!(sink, error = %err, "the task counting the alerts queued for the sink failed");
            None
        }
    }
}

/// Marks deliveries done (`retry` is `None`) or due again later.
async fn settle(store: &Arc<Store>, chunk: &[Delivery], retry: Option<(Duration, String)>) {
    let store = store.clone();
    let ids: Vec<i64> = chunk.iter().map(|delivery| delivery.id).collect();
    let result = tokio::task::spawn_blocking(move || {
        for id in ids {
            match &retry {
                None => store.delivered(id)?,
                Some((wait, error)) => store.retry_later(id, OffsetDateTime::now_utc() + *wait, error)?,
            }
        }
        Ok::<(), iocwatch_store::StoreError>(())
    })
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::error!(error = %err, "failed to update the delivery queue; the deliveries may be repeated")
        }
        Err(err) => {
            tracing::error!(error = %err, "the delivery queue update stopped; the deliveries may be repeated")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(9), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn outage_logs_first_failures_then_summaries() {
        let start = Instant::now();
        let mut outage = Outage::default();
        let reports: Vec<FailureReport> = (0..7).map(|_| outage.failed(start)).collect();
        assert_eq!(
            reports,
            [
                FailureReport::Each { last: false },
                FailureReport::Each { last: false },
                FailureReport::Each { last: false },
                FailureReport::Each { last: false },
                FailureReport::Each { last: true },
                FailureReport::Counted,
                FailureReport::Counted,
            ]
        );

        let almost = start + FAILURE_SUMMARY_INTERVAL - Duration::from_millis(1);
        assert_eq!(outage.failed(almost), FailureReport::Counted);
        let first_summary = start + FAILURE_SUMMARY_INTERVAL;
        assert_eq!(outage.failed(first_summary), FailureReport::Summary);
        assert_eq!(
            outage.failed(first_summary + Duration::from_secs(1)),
            FailureReport::Counted
        );
        let second_summary = first_summary + FAILURE_SUMMARY_INTERVAL;
        assert_eq!(outage.failed(second_summary), FailureReport::Summary);
        assert_eq!(outage.failed_attempts, 11);
        assert_eq!(outage.duration(second_summary), 2 * FAILURE_SUMMARY_INTERVAL);
    }

    #[test]
    fn outage_recovery_reports_once_and_resets() {
        let start = Instant::now();
        let mut outage = Outage::default();
        assert_eq!(outage.recovered(start), None);

        for _ in 0..8 {
            outage.failed(start);
        }
        let later = start + Duration::from_secs(90);
        assert_eq!(outage.recovered(later), Some((8, Duration::from_secs(90))));
        assert_eq!(outage.recovered(later), None);

        // A new outage logs its first failures one by one again.
        assert_eq!(outage.failed(later), FailureReport::Each { last: false });
        assert_eq!(outage.failed_attempts, 1);
    }
}
