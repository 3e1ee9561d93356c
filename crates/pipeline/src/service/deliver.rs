//! Delivery workers: one per sink, each draining that sink's part of the
//! durable queue, so that an outage of one sink delays no other.
//!
//! A delivery that fails is tried again after an exponential backoff
//! (1 s, 2 s, 4 s, ... up to [`MAX_BACKOFF`]), or after the delay the
//! receiver requested. A failure the sink calls permanent (a rejected
//! request, for example) is logged as an error and tried again at the
//! maximum backoff. Every alert stays queued until its sink accepts it, so
//! it is delivered once an operator fixes the cause.

use std::sync::Arc;
use std::time::Duration;

use iocwatch_sinks::Sink;
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
            deliver_chunk(&sink, &store, &health, chunk).await;
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
async fn deliver_chunk(sink: &Sink, store: &Arc<Store>, health: &SinkHealth, chunk: &[Delivery]) {
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
            if health.is_failing() {
                tracing::info!(sink = name, "the sink accepts deliveries again");
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
            let ids: Vec<String> = chunk
                .iter()
                .map(|delivery| delivery.alert_id.to_string())
                .collect();
            let ids = ids.join(",");
            if health.is_failing() {
                // One message per outage: the first failure is logged
                // below, the rest only at debug level and in the metrics.
                tracing::debug!(sink = name, alert_ids = %ids, attempts = attempts + 1, retry_in_s = wait.as_secs(), error = %err.message(), "delivery failed again");
            } else if err.is_retryable() {
                tracing::warn!(sink = name, alert_ids = %ids, attempts = attempts + 1, retry_in_s = wait.as_secs(), error = %err.message(), "delivery failed; it will be tried again");
            } else {
                tracing::error!(sink = name, alert_ids = %ids, attempts = attempts + 1, retry_in_s = wait.as_secs(), error = %err.message(), "the sink rejected the delivery; check the sink's configuration, the alerts stay queued");
            }
            metrics::counter!("iocwatch_sink_deliveries_total", "sink" => name.to_owned(), "outcome" => "failed")
                .increment(count);
            health.failed(err.message());
            settle(store, chunk, Some((wait, err.message().to_owned()))).await;
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
}
