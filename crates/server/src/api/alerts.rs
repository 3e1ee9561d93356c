//! `/api/v1/alerts`: the alert queue, alert detail and triage.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use iocwatch_model::{IndicatorKind, IndicatorValue, ParseOptions, parse_indicator};
use iocwatch_store::{
    AlertFilter, AlertStatus, NewAudit, Resolution, Role, Severity, StatusChange, StoredAlert,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::{ApiQuery, JsonBody, QueryParams, limit, offset, parse_time, rfc3339};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::{AppState, blocking};

/// Related alerts shown per group in the alert detail.
const RELATED_LIMIT: u64 = 10;

/// How often the event stream looks for changed alerts.
const EVENT_POLL: Duration = Duration::from_secs(2);

/// One alert in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertSummary {
    /// The full id.
    pub id: String,
    /// The first 8 characters of the id.
    pub short_id: String,
    /// `new`, `acknowledged`, `investigating` or `closed`.
    pub status: String,
    /// `true-positive`, `false-positive` or `benign` once closed.
    pub resolution: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The watchlist of the matched indicator.
    pub watchlist: String,
    /// The matched indicator, normalised.
    pub indicator: String,
    /// The internal host involved.
    pub internal_host: Option<String>,
    /// `inbound`, `outbound`, `internal` or `external`, when known.
    pub direction: Option<String>,
    /// The first sighting, RFC 3339.
    pub first_seen: String,
    /// The last sighting, RFC 3339.
    pub last_seen: String,
    /// When iocwatch raised the alert, RFC 3339.
    pub created_at: String,
    /// When iocwatch stored the alert's latest sighting, RFC 3339.
    pub last_sighting_at: String,
    /// Sightings folded into the alert.
    pub count: u64,
    /// The user the alert is assigned to.
    pub assignee: Option<String>,
    /// A one-line description.
    pub title: String,
}

impl AlertSummary {
    /// Summarises a stored alert.
    pub fn from_alert(alert: &StoredAlert) -> Self {
        let id = alert.id.to_string();
        let direction = alert.document["iocwatch"]["direction"]
            .as_str()
            .map(str::to_owned);
        let title = match &alert.internal_host {
            Some(host) => format!("{} on {} seen by {host}", alert.indicator, alert.watchlist),
            None => format!("{} on {}", alert.indicator, alert.watchlist),
        };
        Self {
            short_id: id.chars().take(8).collect(),
            id,
            status: alert.status.as_str().to_owned(),
            resolution: alert.resolution.map(|resolution| resolution.as_str().to_owned()),
            severity: alert.severity.as_str().to_owned(),
            watchlist: alert.watchlist.clone(),
            indicator: alert.indicator.clone(),
            internal_host: alert.internal_host.clone(),
            direction,
            first_seen: rfc3339(alert.first_seen),
            last_seen: rfc3339(alert.last_seen),
            created_at: rfc3339(alert.created_at),
            last_sighting_at: rfc3339(alert.last_sighting_at),
            count: alert.count,
            assignee: alert.assignee.clone(),
            title,
        }
    }
}

/// A page of alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertPage {
    /// The alerts, newest `last_seen` first.
    pub items: Vec<AlertSummary>,
    /// Alerts that the filters select in all.
    pub total: u64,
    /// The page size.
    pub limit: u64,
    /// Alerts skipped.
    pub offset: u64,
}

/// Filters of the alert list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Comma-separated statuses, such as `new,acknowledged`; empty for
    /// every status.
    #[param(
        pattern = r"^((new|acknowledged|investigating|closed)(,(new|acknowledged|investigating|closed))*)?$"
    )]
    pub status: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    #[param(pattern = r"^(low|medium|high|critical)$")]
    pub min_severity: Option<String>,
    /// A watchlist name.
    pub watchlist: Option<String>,
    /// An internal host address.
    pub host: Option<String>,
    /// Only alerts whose indicator covers this value, defanged or not:
    /// the value itself, a network that contains it, a parent domain of
    /// it, or the address with any port. A URL is also covered under
    /// `http` or `https` and by the indicators that cover its host.
    pub indicator: Option<String>,
    /// Only alerts that iocwatch raised, or sighted again, at or after this
    /// RFC 3339 time, whatever the time of the log events.
    #[param(format = DateTime, pattern = r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))$")]
    pub since: Option<String>,
    /// Only alerts that iocwatch raised before this RFC 3339 time.
    #[param(format = DateTime, pattern = r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))$")]
    pub until: Option<String>,
    /// Only alerts whose latest event, by the time in the log, is at or
    /// after this RFC 3339 time.
    #[param(format = DateTime, pattern = r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))$")]
    pub event_since: Option<String>,
    /// Only alerts whose earliest event, by the time in the log, is before
    /// this RFC 3339 time.
    #[param(format = DateTime, pattern = r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))$")]
    pub event_until: Option<String>,
    /// Text to find in the watchlist, indicator or host.
    pub q: Option<String>,
    /// Page size, 1 to 1000; default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Alerts to skip.
    pub offset: Option<u64>,
}

impl QueryParams for AlertQuery {
    const PARAMS: &'static [(&'static str, &'static str)] = &[
        (
            "status",
            "comma-separated statuses: new, acknowledged, investigating or closed",
        ),
        ("min_severity", "low, medium, high or critical"),
        ("watchlist", "a watchlist name"),
        ("host", "an IP address such as 10.1.0.5"),
        (
            "indicator",
            "an indicator value such as 203.0.113.9 or evil.example",
        ),
        ("since", "an RFC 3339 time such as 2024-05-01T10:00:00Z"),
        ("until", "an RFC 3339 time such as 2024-05-01T10:00:00Z"),
        ("event_since", "an RFC 3339 time such as 2024-05-01T10:00:00Z"),
        ("event_until", "an RFC 3339 time such as 2024-05-01T10:00:00Z"),
        ("q", "text to find"),
        ("limit", "an integer from 1 to 1000"),
        ("offset", "an integer from 0 to 9223372036854775807"),
    ];
}

pub(crate) fn parse_statuses(text: &str) -> Result<Vec<AlertStatus>, ApiError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<AlertStatus>()
                .map_err(|message| ApiError::invalid("status", message))
        })
        .collect()
}

/// Parses the `host` filter as an IP address, in the form the store keeps.
fn parse_host(text: &str) -> Result<String, ApiError> {
    text.trim()
        .parse::<std::net::IpAddr>()
        .map(|address| address.to_string())
        .map_err(|_| {
            ApiError::invalid(
                "host",
                format!(
                    "host {text:?} is not an IP address; give an address such as 10.1.0.5 or 2001:db8::5"
                ),
            )
        })
}

/// Reads a pair of time filters, `since_name` and `until_name`.
///
/// # Errors
///
/// An invalid time, or an until before the since, at the field at fault.
fn time_range(
    (since_name, since): (&'static str, Option<&str>),
    (until_name, until): (&'static str, Option<&str>),
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), ApiError> {
    let since = since.map(|text| parse_time(since_name, text)).transpose()?;
    let until = until.map(|text| parse_time(until_name, text)).transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        return Err(ApiError::invalid(
            until_name,
            format!(
                "{until_name} {} is before {since_name} {}; give an {until_name} at or after {since_name}",
                rfc3339(until),
                rfc3339(since)
            ),
        ));
    }
    Ok((since, until))
}

fn filter(query: &AlertQuery) -> Result<AlertFilter, ApiError> {
    let (since, until) = time_range(
        ("since", query.since.as_deref()),
        ("until", query.until.as_deref()),
    )?;
    let (event_since, event_until) = time_range(
        ("event_since", query.event_since.as_deref()),
        ("event_until", query.event_until.as_deref()),
    )?;
    let min_severity = query
        .min_severity
        .as_deref()
        .map(|text| {
            text.parse::<Severity>()
                .map_err(|error| ApiError::invalid("min_severity", error.to_string()))
        })
        .transpose()?;
    Ok(AlertFilter {
        statuses: query
            .status
            .as_deref()
            .map(parse_statuses)
            .transpose()?
            .unwrap_or_default(),
        min_severity,
        watchlist: query.watchlist.clone(),
        // An empty filter, as a form with a blank field sends it, is no filter.
        internal_host: query
            .host
            .as_deref()
            .filter(|host| !host.trim().is_empty())
            .map(parse_host)
            .transpose()?,
        // An empty filter, as a form with a blank field sends it, is no filter.
        indicator_covers: query
            .indicator
            .as_deref()
            .filter(|value| !value.trim().is_empty())
            .map(str::to_owned),
        since,
        until,
        event_since,
        event_until,
        text: query.q.clone(),
        limit: Some(limit(query.limit)?),
        offset: offset(query.offset)?,
        ..AlertFilter::default()
    })
}

/// Lists alerts with filters and paging.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = AlertPage), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<AlertQuery>,
) -> Result<Json<AlertPage>, ApiError> {
    let filter = filter(&query)?;
    let store = state.store.clone();
    let (alerts, total) =
        blocking(move || Ok((store.list_alerts(&filter)?, store.count_alerts(&filter)?))).await?;
    Ok(Json(AlertPage {
        items: alerts.iter().map(AlertSummary::from_alert).collect(),
        total,
        limit: limit(query.limit)?,
        offset: offset(query.offset)?,
    }))
}

/// A status change in the history of an alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryItem {
    /// When, RFC 3339.
    pub at: String,
    /// Who.
    pub actor: String,
    /// The previous status; `null` when the alert was created.
    pub from: Option<String>,
    /// The new status.
    pub to: String,
    /// The resolution when closed.
    pub resolution: Option<String>,
    /// The comment given with the change.
    pub comment: Option<String>,
}

/// A comment on an alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentItem {
    /// When, RFC 3339.
    pub at: String,
    /// Author of the comment.
    pub author: String,
    /// The text.
    pub text: String,
}

/// Alerts related to one alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct Related {
    /// Other alerts of the same internal host, newest first, at most 10.
    pub same_host: Vec<AlertSummary>,
    /// Other alerts of the same indicator, newest first, at most 10.
    pub same_indicator: Vec<AlertSummary>,
}

/// The time of one sighting.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sighting {
    /// When the event happened, RFC 3339.
    pub at: String,
}

/// A suggested response step.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextStep {
    /// Short title of the step.
    pub title: String,
    /// Reason and method of the step.
    pub detail: String,
    /// A command to paste, when one applies.
    pub command: Option<String>,
}

/// An alert with everything the detail view shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDetailResponse {
    /// The summary.
    pub alert: AlertSummary,
    /// The ECS alert document as the sinks receive it.
    #[schema(value_type = Object)]
    pub document: Value,
    /// Status changes, oldest first.
    pub history: Vec<HistoryItem>,
    /// Comments, oldest first.
    pub comments: Vec<CommentItem>,
    /// Related alerts.
    pub related: Related,
    /// Times of the folded sightings, newest first, at most 100.
    pub sightings: Vec<Sighting>,
    /// Suggested response steps for the indicator kind.
    pub next_steps: Vec<NextStep>,
}

/// Finds an alert by full id or a prefix of at least 4 characters.
async fn resolve(state: &AppState, id: String) -> Result<Uuid, ApiError> {
    let store = state.store.clone();
    blocking(move || store.find_alert(&id)).await
}

/// Returns an alert with its history, comments, related alerts, sighting
/// times and next steps.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Full id or a prefix of at least 4 characters")),
    responses((status = 200, body = AlertDetailResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn detail(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AlertDetailResponse>, ApiError> {
    let id = resolve(&state, id).await?;
    let store = state.store.clone();
    let (detail, comments, sightings, same_host, same_indicator) = blocking(move || {
        let Some(detail) = store.alert(id)? else {
            return Err(iocwatch_store::StoreError::UnknownAlert(id.to_string()));
        };
        let comments = store.comments(id)?;
        let sightings = store.sightings(id)?;
        let related = |filter: AlertFilter| -> iocwatch_store::Result<Vec<StoredAlert>> {
            Ok(store
                .list_alerts(&AlertFilter {
                    limit: Some(RELATED_LIMIT + 1),
                    ..filter
                })?
                .into_iter()
                .filter(|alert| alert.id != id)
                .take(RELATED_LIMIT as usize)
                .collect())
        };
        let same_host = match &detail.alert.internal_host {
            Some(host) => related(AlertFilter {
                internal_host: Some(host.clone()),
                ..AlertFilter::default()
            })?,
            None => Vec::new(),
        };
        let same_indicator = related(AlertFilter {
            indicator: Some(detail.alert.indicator.clone()),
            ..AlertFilter::default()
        })?;
        Ok((detail, comments, sightings, same_host, same_indicator))
    })
    .await?;
    let alert = &detail.alert;
    Ok(Json(AlertDetailResponse {
        alert: AlertSummary::from_alert(alert),
        document: alert.document.clone(),
        history: detail
            .history
            .iter()
            .map(|entry| HistoryItem {
                at: rfc3339(entry.at),
                actor: entry.actor.clone(),
                from: entry.from.map(|status| status.as_str().to_owned()),
                to: entry.to.as_str().to_owned(),
                resolution: entry.resolution.map(|resolution| resolution.as_str().to_owned()),
                comment: entry.comment.clone(),
            })
            .collect(),
        comments: comments
            .into_iter()
            .map(|comment| CommentItem {
                at: rfc3339(comment.at),
                author: comment.author,
                text: comment.text,
            })
            .collect(),
        related: Related {
            same_host: same_host.iter().map(AlertSummary::from_alert).collect(),
            same_indicator: same_indicator.iter().map(AlertSummary::from_alert).collect(),
        },
        sightings: sightings
            .into_iter()
            .map(|at| Sighting { at: rfc3339(at) })
            .collect(),
        next_steps: next_steps(&alert.indicator, alert.internal_host.as_deref()),
    }))
}

/// Suggests response steps for an indicator, with commands for addresses,
/// domains and file hashes.
pub(crate) fn next_steps(indicator: &str, host: Option<&str>) -> Vec<NextStep> {
    let mut steps = Vec::new();
    let shown_host = host.unwrap_or("the internal host");
    let value = parse_indicator(indicator, None, ParseOptions { allow_broad: true })
        .ok()
        .map(|parsed| parsed.value);
    if let Some(host) = host {
        steps.push(NextStep {
            title: format!("Contain {host}"),
            detail: format!(
                "Find the process on {host} that touched {indicator}; if it is not explained, isolate the host \
                 from the network with the EDR or a switch port change before it talks to anything else."
            ),
            command: None,
        });
    }
    let Some(value) = value else {
        return steps;
    };
    match &value {
        IndicatorValue::Ip(_) | IndicatorValue::Socket(..) | IndicatorValue::Net(_) => {
            let v6 = match &value {
                IndicatorValue::Ip(ip) | IndicatorValue::Socket(ip, _) => ip.is_ipv6(),
                IndicatorValue::Net(net) => net.addr().is_ipv6(),
                _ => false,
            };
            let (family, ipt) = if v6 { ("ip6", "ip6tables") } else { ("ip", "iptables") };
            let address = match &value {
                IndicatorValue::Socket(ip, _) => ip.to_string(),
                other => other.to_string(),
            };
            steps.push(NextStep {
                title: format!("Block {address} with nftables"),
                detail: "Drop traffic to and from the address on the firewall that routes the internal network; \
                         the rules assume an inet table named filter with a forward chain."
                    .to_owned(),
                command: Some(format!(
                    "nft add rule inet filter forward {family} daddr {address} drop\n\
                     nft add rule inet filter forward {family} saddr {address} drop"
                )),
            });
            steps.push(NextStep {
                title: format!("Block {address} with iptables"),
                detail: "The same block for hosts that use iptables.".to_owned(),
                command: Some(format!(
                    "{ipt} -I FORWARD -d {address} -j DROP\n{ipt} -I FORWARD -s {address} -j DROP"
                )),
            });
        }
        IndicatorValue::Domain(domain) => steps.push(NextStep {
            title: format!("Block {domain} on the resolver"),
            detail: format!(
                "Answer NXDOMAIN for {domain} and its subdomains on the internal resolver, then look for other \
                 hosts that resolved it. The command is for Unbound."
            ),
            command: Some(format!("unbound-control local_zone {domain}. always_nxdomain")),
        }),
        IndicatorValue::Url(url) => steps.push(NextStep {
            title: format!("Block the URL and check what {shown_host} fetched"),
            detail: format!(
                "Block {url} on the web proxy, and check what {shown_host} downloaded or submitted there; look \
                 for the same request from other hosts."
            ),
            command: Some(format!("unbound-control local_zone {}. always_nxdomain", url.host())),
        }),
        IndicatorValue::Digest { hex, .. } if matches!(value.kind(), IndicatorKind::Hash(_)) => {
            let tool = match hex.len() {
                32 => "md5sum",
                40 => "sha1sum",
                128 => "sha512sum",
                _ => "sha256sum",
            };
            steps.push(NextStep {
                title: "Hunt the file on endpoints".to_owned(),
                detail: format!(
                    "Search endpoints for the file, quarantine it on {shown_host} and find where it came from. \
                     The command searches one Linux host."
                ),
                command: Some(format!(
                    "find / -xdev -type f -size -100M -print0 2>/dev/null | xargs -0 {tool} 2>/dev/null | grep -i {hex}"
                )),
            });
        }
        IndicatorValue::Email(address) => steps.push(NextStep {
            title: "Reset credentials after the phishing hit".to_owned(),
            detail: format!(
                "Remove the messages from or to {address} from mailboxes, and reset the credentials and sessions \
                 of recipients who opened a link or answered."
            ),
            command: None,
        }),
        _ => steps.push(NextStep {
            title: "Confirm the TLS fingerprint".to_owned(),
            detail: format!(
                "Find the process on {shown_host} behind the TLS session with {indicator}; fingerprints of popular \
                 clients cause false positives, so confirm before containment."
            ),
            command: None,
        }),
    }
    steps
}

/// A status change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusRequest {
    /// `new`, `acknowledged`, `investigating` or `closed`.
    #[schema(pattern = r"^(new|acknowledged|investigating|closed)$")]
    pub status: String,
    /// Required when closing: `true-positive`, `false-positive` or `benign`.
    #[schema(pattern = r"^(true-positive|false-positive|benign)$")]
    pub resolution: Option<String>,
    /// Required when closing: the findings.
    pub comment: Option<String>,
}

/// Checks a status change and builds it for `actor`.
fn status_change(
    status: &str,
    resolution: Option<&str>,
    comment: Option<String>,
    actor: &str,
) -> Result<StatusChange, ApiError> {
    let status: AlertStatus = status
        .parse()
        .map_err(|message| ApiError::invalid("status", message))?;
    let resolution = resolution
        .map(|text| {
            text.parse::<Resolution>()
                .map_err(|message| ApiError::invalid("resolution", message))
        })
        .transpose()?;
    let comment = comment.filter(|text| !text.trim().is_empty());
    if status == AlertStatus::Closed {
        if resolution.is_none() {
            return Err(ApiError::invalid(
                "resolution",
                "closing an alert needs a resolution: true-positive, false-positive or benign",
            ));
        }
        if comment.is_none() {
            return Err(ApiError::invalid(
                "comment",
                "closing an alert needs a comment with the findings",
            ));
        }
    } else if resolution.is_some() {
        return Err(ApiError::invalid(
            "resolution",
            "give a resolution only when closing",
        ));
    }
    Ok(StatusChange {
        status,
        resolution,
        comment,
        actor: actor.to_owned(),
    })
}

/// Applies a status change and records it in the audit trail.
fn apply_status(
    store: &iocwatch_store::Store,
    id: Uuid,
    change: &StatusChange,
) -> iocwatch_store::Result<()> {
    let now = OffsetDateTime::now_utc();
    let before = store.alert(id)?.map(|detail| {
        json!({
            "status": detail.alert.status.as_str(),
            "resolution": detail.alert.resolution.map(|resolution| resolution.as_str()),
        })
    });
    store.set_status(id, change, now)?;
    let target = format!("alert:{id}");
    let entry = NewAudit {
        actor: &change.actor,
        action: "alert.status",
        target: &target,
        before,
        after: Some(json!({
            "status": change.status.as_str(),
            "resolution": change.resolution.map(|resolution| resolution.as_str()),
            "comment": change.comment,
        })),
    };
    store.record_audit(&entry, now)
}

async fn summary(state: &AppState, id: Uuid) -> Result<AlertSummary, ApiError> {
    let store = state.store.clone();
    let detail = blocking(move || store.alert(id)).await?;
    detail
        .map(|detail| AlertSummary::from_alert(&detail.alert))
        .ok_or_else(|| iocwatch_store::StoreError::UnknownAlert(id.to_string()).into())
}

/// Changes the status of an alert (analyst).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/status", tag = "alerts", request_body = StatusRequest,
    params(("id" = String, Path, description = "Full id or a prefix of at least 4 characters")),
    responses((status = 200, body = AlertSummary), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub(crate) async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<StatusRequest>,
) -> Result<Json<AlertSummary>, ApiError> {
    caller.require(Role::Analyst)?;
    let change = status_change(
        &request.status,
        request.resolution.as_deref(),
        request.comment,
        &caller.user,
    )?;
    let id = resolve(&state, id).await?;
    let store = state.store.clone();
    blocking(move || apply_status(&store, id, &change)).await?;
    Ok(Json(summary(&state, id).await?))
}

/// An assignment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// A user name, or `null` to unassign.
    pub assignee: Option<String>,
}

/// Assigns an alert to a user or unassigns it (analyst).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/assign", tag = "alerts", request_body = AssignRequest,
    params(("id" = String, Path, description = "Full id or a prefix of at least 4 characters")),
    responses((status = 200, body = AlertSummary), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<AssignRequest>,
) -> Result<Json<AlertSummary>, ApiError> {
    caller.require(Role::Analyst)?;
    let id = resolve(&state, id).await?;
    let store = state.store.clone();
    let assignee = request.assignee.filter(|name| !name.trim().is_empty());
    let actor = caller.user.clone();
    blocking(move || store.assign_alert(id, assignee.as_deref(), &actor, OffsetDateTime::now_utc()))
        .await
        .map_err(|error| {
            if error.code == "unknown_user" {
                ApiError::invalid("assignee", error.message)
            } else {
                error
            }
        })?;
    Ok(Json(summary(&state, id).await?))
}

/// A new comment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentRequest {
    /// The text.
    #[schema(pattern = r"\S")]
    pub text: String,
}

/// Adds a comment to an alert (analyst).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/comments", tag = "alerts", request_body = CommentRequest,
    params(("id" = String, Path, description = "Full id or a prefix of at least 4 characters")),
    responses((status = 201, body = CommentItem), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<CommentRequest>,
) -> Result<(axum::http::StatusCode, Json<CommentItem>), ApiError> {
    caller.require(Role::Analyst)?;
    let id = resolve(&state, id).await?;
    let store = state.store.clone();
    let author = caller.user.clone();
    let comment =
        blocking(move || store.add_comment(id, &author, &request.text, OffsetDateTime::now_utc())).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(CommentItem {
            at: rfc3339(comment.at),
            author: comment.author,
            text: comment.text,
        }),
    ))
}

/// A change of many alerts.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkRequest {
    /// Full ids or prefixes.
    #[schema(min_items = 1)]
    pub ids: Vec<String>,
    /// `acknowledge`, `investigate` or `close`.
    #[schema(pattern = r"^(acknowledge|investigate|close)$")]
    pub action: String,
    /// Required for `close`.
    #[schema(pattern = r"^(true-positive|false-positive|benign)$")]
    pub resolution: Option<String>,
    /// Required for `close`.
    pub comment: Option<String>,
}

/// An alert that a bulk change could not change.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkFailure {
    /// The id as given.
    pub id: String,
    /// Why.
    pub error: String,
}

/// The outcome of a bulk change.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    /// Alerts changed.
    pub updated: u64,
    /// Alerts not changed.
    pub failed: Vec<BulkFailure>,
}

/// Changes the status of many alerts (analyst). Each alert changes or
/// fails on its own.
#[utoipa::path(post, path = "/api/v1/alerts/bulk", tag = "alerts", request_body = BulkRequest,
    responses((status = 200, body = BulkResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse)))]
pub(crate) async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<BulkRequest>,
) -> Result<Json<BulkResponse>, ApiError> {
    caller.require(Role::Analyst)?;
    let status = match request.action.as_str() {
        "acknowledge" => "acknowledged",
        "investigate" => "investigating",
        "close" => "closed",
        other => {
            return Err(ApiError::invalid(
                "action",
                format!("unknown action {other:?}; expected acknowledge, investigate or close"),
            ));
        }
    };
    if request.ids.is_empty() {
        return Err(ApiError::invalid("ids", "give at least one alert id"));
    }
    let change = status_change(
        status,
        request.resolution.as_deref(),
        request.comment,
        &caller.user,
    )?;
    let store = state.store.clone();
    let ids = request.ids;
    let response = blocking(move || {
        let mut updated = 0;
        let mut failed = Vec::new();
        for id in ids {
            match store
                .find_alert(&id)
                .and_then(|found| apply_status(&store, found, &change))
            {
                Ok(()) => updated += 1,
                Err(error @ iocwatch_store::StoreError::Sqlite(_)) => return Err(error),
                Err(error) => failed.push(BulkFailure {
                    id,
                    error: error.to_string(),
                }),
            }
        }
        Ok(BulkResponse { updated, failed })
    })
    .await?;
    Ok(Json(response))
}

/// Start of the event stream.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Send alerts created or changed after this RFC 3339 time; default now.
    #[param(format = DateTime, pattern = r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))$")]
    pub after: Option<String>,
}

impl QueryParams for EventsQuery {
    const PARAMS: &'static [(&'static str, &'static str)] =
        &[("after", "an RFC 3339 time such as 2024-05-01T10:00:00Z")];
}

/// One Server-Sent Event of the alert stream, as the document describes
/// it: the fields of the event, not its wire text.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertEvent {
    /// The event type, always `alert`.
    #[schema(pattern = "^alert$")]
    pub event: String,
    /// The [`AlertSummary`] of the alert as JSON.
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

/// Streams alerts created or changed after a time as Server-Sent Events:
/// an `alert` event with an [`AlertSummary`] each.
#[utoipa::path(get, path = "/api/v1/alerts/events", tag = "alerts", params(EventsQuery),
    responses((status = 200, description = "`alert` events, each an AlertSummary", content_type = "text/event-stream", body = AlertEvent),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub(crate) async fn events(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = match query.after.as_deref() {
        Some(text) => parse_time("after", text)?,
        None => OffsetDateTime::now_utc(),
    };
    let store = state.store.clone();
    let stream = futures_util::stream::unfold(
        (after, std::collections::VecDeque::<Event>::new(), true),
        move |(mut cursor, mut pending, mut first)| {
            let store = store.clone();
            async move {
                loop {
                    if let Some(event) = pending.pop_front() {
                        return Some((Ok(event), (cursor, pending, first)));
                    }
                    if !first {
                        tokio::time::sleep(EVENT_POLL).await;
                    }
                    first = false;
                    let filter = AlertFilter {
                        updated_after: Some(cursor),
                        limit: Some(500),
                        ..AlertFilter::default()
                    };
                    let store = store.clone();
                    let found = tokio::task::spawn_blocking(move || store.list_alerts(&filter)).await;
                    let alerts = match found {
                        Ok(Ok(alerts)) => alerts,
                        Ok(Err(error)) => {
                            tracing::warn!(error = %error, "cannot read alerts for the event stream");
                            continue;
                        }
                        Err(error) => {
                            tracing::warn!(error = %error, "the event stream's store read stopped");
                            continue;
                        }
                    };
                    let mut alerts = alerts;
                    alerts.sort_by_key(|alert| alert.updated_at);
                    for alert in &alerts {
                        cursor = cursor.max(alert.updated_at);
                        if let Ok(event) = Event::default()
                            .event("alert")
                            .json_data(AlertSummary::from_alert(alert))
                        {
                            pending.push_back(event);
                        }
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
