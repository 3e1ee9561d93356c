//! `POST /api/v1/search`: the exposure check. Each value, defanged or
//! not, is normalised, looked up in the running matcher, and counted in
//! the stored alerts.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use iocwatch_matcher::Matcher;
use iocwatch_model::refang::refang;
use iocwatch_model::{Field, IndicatorValue, ParseOptions, parse_indicator};
use iocwatch_store::{AlertFilter, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{JsonBody, rfc3339};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::{AppState, blocking};

/// Maximum number of values in one request.
pub const MAX_SEARCH_VALUES: usize = 1000;

/// Alert ids listed per value; `alerts` counts them all.
const MAX_ALERT_IDS: u64 = 20;

/// Values to check.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchRequest {
    /// Addresses, domains, URLs, hashes, e-mail addresses; defanged or not.
    pub values: Vec<String>,
}

/// A watchlist indicator that matches a value.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchlistMatch {
    /// The watchlist.
    pub watchlist: String,
    /// The indicator, normalised.
    pub indicator: String,
    /// Description from the intelligence.
    pub description: Option<String>,
    /// 0 to 100.
    pub confidence: Option<u8>,
    /// A link to more information.
    pub reference: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
}

/// Sightings of a value in the stored alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Seen {
    /// Alerts whose indicator is the value or one of its matches.
    pub alerts: u64,
    /// The latest sighting among them, RFC 3339.
    pub last_seen: Option<String>,
    /// Their ids, newest first, at most 20.
    pub alert_ids: Vec<String>,
}

/// The result for one value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// The value as given.
    pub input: String,
    /// The normalised value; `null` when it is not an indicator.
    pub normalized: Option<String>,
    /// The kind, such as `ip` or `domain`.
    pub kind: Option<String>,
    /// Reason the value is not an indicator.
    pub error: Option<String>,
    /// Matching watchlist indicators.
    pub matches: Vec<WatchlistMatch>,
    /// Sightings in the stored alerts.
    pub seen: Seen,
}

/// The results, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// One per value.
    pub results: Vec<SearchResult>,
}

/// Checks values against the running watchlists and the stored alerts.
#[utoipa::path(post, path = "/api/v1/search", tag = "search", request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub(crate) async fn search(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(request): JsonBody<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    if request.values.len() > MAX_SEARCH_VALUES {
        return Err(ApiError::invalid(
            "values",
            format!(
                "{} values given; send at most {MAX_SEARCH_VALUES} per request",
                request.values.len()
            ),
        ));
    }
    let matcher = state.service.matcher();
    let store = state.store.clone();
    let results = blocking(move || {
        request
            .values
            .iter()
            .map(|raw| check(&matcher, &store, raw))
            .collect::<iocwatch_store::Result<Vec<_>>>()
    })
    .await?;
    Ok(Json(SearchResponse { results }))
}

fn check(matcher: &Matcher, store: &Store, raw: &str) -> iocwatch_store::Result<SearchResult> {
    let live = refang(raw.trim()).trim().to_owned();
    let parsed = parse_indicator(&live, None, ParseOptions { allow_broad: true });
    let (normalized, kind, error) = match &parsed {
        Ok(parsed) => (
            Some(parsed.value.to_string()),
            Some(parsed.value.kind().as_str().to_owned()),
            None,
        ),
        Err(error) => (None, None, Some(error.to_string())),
    };
    let mut found = matcher.lookup(&live);
    // An address with a port also stands for its address, and a URL for
    // its host: both are what an analyst asking about them wants.
    let related: Vec<(String, Option<u16>)> = match parsed.as_ref().map(|parsed| &parsed.value) {
        Ok(IndicatorValue::Socket(ip, port)) => vec![(ip.to_string(), Some(*port))],
        Ok(IndicatorValue::Url(url)) => vec![(url.host().to_owned(), None)],
        _ => Vec::new(),
    };
    for (value, port) in related {
        let mut extra = matcher.lookup(&value);
        if let Some(port) = port {
            matcher.match_value(Field::DestinationIp, &value, Some(port), |id, atomic| {
                extra.push((id, Field::DestinationIp, atomic.into_owned()));
            });
        }
        for hit in extra {
            if !found.iter().any(|(id, ..)| *id == hit.0) {
                found.push(hit);
            }
        }
    }
    let mut indicators = BTreeSet::new();
    if let Some(value) = &normalized {
        indicators.insert(value.clone());
    }
    let matches: Vec<WatchlistMatch> = found
        .into_iter()
        .map(|(id, _, _)| {
            let entry = matcher.entry(id);
            let indicator = &entry.indicator;
            indicators.insert(indicator.value.to_string());
            WatchlistMatch {
                watchlist: matcher.watchlist(entry.watchlist).name.to_string(),
                indicator: indicator.value.to_string(),
                description: indicator.meta.description.clone(),
                confidence: indicator.meta.confidence,
                reference: indicator.meta.reference.clone(),
                tags: indicator.meta.tags.clone(),
            }
        })
        .collect();
    let mut seen = Seen {
        alerts: 0,
        last_seen: None,
        alert_ids: Vec::new(),
    };
    let mut latest = None;
    for indicator in indicators {
        let filter = AlertFilter {
            indicator: Some(indicator),
            ..AlertFilter::default()
        };
        seen.alerts += store.count_alerts(&filter)?;
        let newest = store.list_alerts(&AlertFilter {
            limit: Some(MAX_ALERT_IDS),
            ..filter
        })?;
        for alert in newest {
            latest = latest.max(Some(alert.last_seen));
            if (seen.alert_ids.len() as u64) < MAX_ALERT_IDS {
                seen.alert_ids.push(alert.id.to_string());
            }
        }
    }
    seen.last_seen = latest.map(rfc3339);
    Ok(SearchResult {
        input: raw.to_owned(),
        normalized,
        kind,
        error,
        matches,
        seen,
    })
}
