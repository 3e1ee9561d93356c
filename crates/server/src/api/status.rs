//! `/api/v1/sources`, `/api/v1/sinks` and `/api/v1/dashboard`: the state
//! of the running service and an overview of recent alerts.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use iocwatch_store::{AlertFilter, AlertStatus, Severity};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::api::{ApiQuery, QueryParams, rfc3339};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::{AppState, blocking};

/// Alerts read to build the dashboard; older ones in the window are left
/// out of the top lists and the chart.
const DASHBOARD_ALERTS: u64 = 100_000;

/// Entries of each top list.
const TOP: usize = 10;

/// A source of the running service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    /// The configured name.
    pub name: String,
    /// The source type, such as `file` or `syslog`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Lines received since the start.
    pub lines: u64,
    /// When the last line arrived, RFC 3339.
    pub last_line: Option<String>,
    /// Lines per second since the previous request of this list, or since
    /// the server started on the first request.
    pub events_per_second: f64,
}

/// A sink of the running service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SinkView {
    /// The configured name.
    pub name: String,
    /// The sink type, such as `webhook` or `syslog`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ok` or `failing`.
    pub status: String,
    /// Alerts delivered since the start.
    pub delivered: u64,
    /// Failed delivery attempts since the start.
    pub failed: u64,
    /// RFC 3339.
    pub last_delivery: Option<String>,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// Alerts waiting in the queue.
    pub queue_depth: u64,
    /// When the oldest waiting alert was queued, RFC 3339.
    pub queue_oldest: Option<String>,
}

/// Line counts seen at the previous request, for the event rates.
#[derive(Debug)]
pub struct RateTracker {
    started: Instant,
    previous: Mutex<HashMap<String, (u64, Instant, f64)>>,
}

impl Default for RateTracker {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            previous: Mutex::new(HashMap::new()),
        }
    }
}

impl RateTracker {
    fn rate(&self, name: &str, lines: u64, now: Instant) -> f64 {
        let mut previous = self.previous.lock().unwrap_or_else(PoisonError::into_inner);
        let (then_lines, then, then_rate) = previous.get(name).copied().unwrap_or((0, self.started, 0.0));
        let elapsed = now.duration_since(then).as_secs_f64();
        // Requests less than a second apart show the previous rate, which
        // a few lines would otherwise swing wildly.
        if elapsed < 1.0 && previous.contains_key(name) {
            return then_rate;
        }
        let rate = if elapsed > 0.0 {
            lines.saturating_sub(then_lines) as f64 / elapsed
        } else {
            0.0
        };
        previous.insert(name.to_owned(), (lines, now, rate));
        rate
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value[key].as_str().map(str::to_owned)
}

fn sources(state: &AppState) -> Vec<SourceView> {
    let (_, report) = state.health.health();
    let now = Instant::now();
    report["sources"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|source| {
            let name = text(source, "name").unwrap_or_default();
            let lines = source["lines"].as_u64().unwrap_or(0);
            SourceView {
                events_per_second: state.rates.rate(&name, lines, now),
                name,
                kind: text(source, "type").unwrap_or_default(),
                lines,
                last_line: text(source, "last_line"),
            }
        })
        .collect()
}

fn sinks(state: &AppState) -> Vec<SinkView> {
    let (_, report) = state.health.health();
    report["sinks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|sink| SinkView {
            name: text(sink, "name").unwrap_or_default(),
            kind: text(sink, "type").unwrap_or_default(),
            status: text(sink, "status").unwrap_or_else(|| "ok".to_owned()),
            delivered: sink["delivered"].as_u64().unwrap_or(0),
            failed: sink["failed"].as_u64().unwrap_or(0),
            last_delivery: text(sink, "last_delivery"),
            last_error: text(sink, "last_error"),
            queue_depth: sink["queue_depth"].as_u64().unwrap_or(0),
            queue_oldest: text(sink, "queue_oldest"),
        })
        .collect()
}

/// Lists the sources of the running service.
#[utoipa::path(get, path = "/api/v1/sources", tag = "service",
    responses((status = 200, body = Vec<SourceView>), (status = 401, body = ErrorResponse)))]
pub(crate) async fn list_sources(State(state): State<AppState>, _caller: Caller) -> Json<Vec<SourceView>> {
    Json(sources(&state))
}

/// Lists the sinks of the running service.
#[utoipa::path(get, path = "/api/v1/sinks", tag = "service",
    responses((status = 200, body = Vec<SinkView>), (status = 401, body = ErrorResponse)))]
pub(crate) async fn list_sinks(State(state): State<AppState>, _caller: Caller) -> Json<Vec<SinkView>> {
    Json(sinks(&state))
}

/// The dashboard window.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// Hours back from now, 1 to 720; default 24.
    #[param(minimum = 1, maximum = 720)]
    pub hours: Option<u32>,
}

impl QueryParams for DashboardQuery {
    const PARAMS: &'static [(&'static str, &'static str)] = &[("hours", "an integer from 1 to 720")];
}

/// New alerts in one hour.
#[derive(Debug, Serialize, ToSchema)]
pub struct Bucket {
    /// Start of the hour, RFC 3339.
    pub at: String,
    /// Alerts first seen in that hour.
    pub count: u64,
}

/// Open alerts by severity.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OpenBySeverity {
    /// Open low alerts.
    pub low: u64,
    /// Open medium alerts.
    pub medium: u64,
    /// Open high alerts.
    pub high: u64,
    /// Open critical alerts.
    pub critical: u64,
}

/// An indicator with many alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopIndicator {
    /// The indicator.
    pub indicator: String,
    /// Its watchlist.
    pub watchlist: String,
    /// Alerts in the window.
    pub alerts: u64,
}

/// An internal host with many alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopHost {
    /// The host address.
    pub host: String,
    /// Alerts in the window.
    pub alerts: u64,
}

/// The dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    /// New alerts per hour, oldest first.
    pub alerts_over_time: Vec<Bucket>,
    /// Alerts not closed, of any age.
    pub open_by_severity: OpenBySeverity,
    /// Indicators with the most alerts in the window, at most 10.
    pub top_indicators: Vec<TopIndicator>,
    /// Internal hosts with the most alerts in the window, at most 10.
    pub top_hosts: Vec<TopHost>,
    /// The sources.
    pub sources: Vec<SourceView>,
    /// The sinks.
    pub sinks: Vec<SinkView>,
}

/// Returns the dashboard for the last `hours` hours.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "service", params(DashboardQuery),
    responses((status = 200, body = Dashboard), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<DashboardQuery>,
) -> Result<Json<Dashboard>, ApiError> {
    let hours = query.hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::invalid(
            "hours",
            format!("hours {hours} is out of range; give 1 to 720"),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let this_hour = now
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0));
    let this_hour = this_hour.map_err(ApiError::internal)?;
    let start = this_hour - time::Duration::hours(i64::from(hours) - 1);
    let store = state.store.clone();
    let (alerts, open) = blocking(move || {
        let alerts = store.list_alerts(&AlertFilter {
            event_since: Some(start),
            limit: Some(DASHBOARD_ALERTS),
            ..AlertFilter::default()
        })?;
        let mut open = OpenBySeverity::default();
        let open_statuses = vec![
            AlertStatus::New,
            AlertStatus::Acknowledged,
            AlertStatus::Investigating,
        ];
        let mut at_least = Vec::new();
        for severity in Severity::ALL {
            at_least.push(store.count_alerts(&AlertFilter {
                statuses: open_statuses.clone(),
                min_severity: Some(severity),
                ..AlertFilter::default()
            })?);
        }
        // `at_least[i]` counts severity i and above, lowest first.
        let exactly = |i: usize| at_least[i].saturating_sub(at_least.get(i + 1).copied().unwrap_or(0));
        open.low = exactly(0);
        open.medium = exactly(1);
        open.high = exactly(2);
        open.critical = exactly(3);
        Ok((alerts, open))
    })
    .await?;

    let mut buckets = vec![0u64; hours as usize];
    let mut indicators: HashMap<(String, String), u64> = HashMap::new();
    let mut hosts: HashMap<String, u64> = HashMap::new();
    for alert in &alerts {
        let offset = (alert.first_seen - start).whole_hours();
        if let Ok(index) = usize::try_from(offset)
            && let Some(bucket) = buckets.get_mut(index)
        {
            *bucket += 1;
        }
        *indicators
            .entry((alert.indicator.clone(), alert.watchlist.clone()))
            .or_default() += 1;
        if let Some(host) = &alert.internal_host {
            *hosts.entry(host.clone()).or_default() += 1;
        }
    }
    let mut top_indicators: Vec<TopIndicator> = indicators
        .into_iter()
        .map(|((indicator, watchlist), alerts)| TopIndicator {
            indicator,
            watchlist,
            alerts,
        })
        .collect();
    top_indicators.sort_by(|a, b| {
        b.alerts
            .cmp(&a.alerts)
            .then_with(|| a.indicator.cmp(&b.indicator))
    });
    top_indicators.truncate(TOP);
    let mut top_hosts: Vec<TopHost> = hosts
        .into_iter()
        .map(|(host, alerts)| TopHost { host, alerts })
        .collect();
    top_hosts.sort_by(|a, b| b.alerts.cmp(&a.alerts).then_with(|| a.host.cmp(&b.host)));
    top_hosts.truncate(TOP);
    let alerts_over_time = buckets
        .into_iter()
        .enumerate()
        .map(|(index, count)| Bucket {
            at: rfc3339(start + time::Duration::hours(index as i64)),
            count,
        })
        .collect();
    Ok(Json(Dashboard {
        alerts_over_time,
        open_by_severity: open,
        top_indicators,
        top_hosts,
        sources: sources(&state),
        sinks: sinks(&state),
    }))
}
