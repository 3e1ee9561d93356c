//! `/api/v1/watchlists`: watchlists, their indicators and uploads.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use iocwatch_intel::{LineError, LoadOptions, load_reader};
use iocwatch_model::{
    Indicator, IndicatorError, IndicatorValue, Meta, Origin, ParseOptions, parse_indicator, refang::refang,
};
use iocwatch_store::{
    AuditFilter, DomainMatch, ImportOptions, ImportReport, NewAudit, Page, Role, Severity, Store, StoreError,
    WatchlistInfo, WatchlistSettings, settings_json,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::api::admin::{AuditItem, AuditPage};
use crate::api::{ApiQuery, JsonBody, QueryParams, limit, offset, parse_time, rfc3339};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::{AppState, blocking};

/// Rejected lines listed in an upload report; the total counts them all.
const MAX_REJECTED_SHOWN: usize = 1000;

/// A watchlist with its settings and indicator counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchlistView {
    /// The unique name.
    pub name: String,
    /// A description for people.
    pub description: Option<String>,
    /// `low`, `medium`, `high`, `critical`, or `null` to derive it from
    /// indicator confidence.
    pub severity: Option<String>,
    /// `subdomains` or `exact`.
    pub domain_match: String,
    /// Default indicator lifetime such as `30days`; `null` for never.
    pub ttl: Option<String>,
    /// Sightings of one indicator on one host within this window update one
    /// alert, such as `1h`.
    pub dedup_window: String,
    /// Whether the service matches its indicators.
    pub enabled: bool,
    /// Indicators stored.
    pub indicators: u64,
    /// Indicators whose expiry has passed.
    pub expired: u64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl WatchlistView {
    fn from_info(info: &WatchlistInfo) -> Self {
        let settings = &info.settings;
        Self {
            name: info.name.clone(),
            description: settings.description.clone(),
            severity: settings.severity.map(|severity| severity.as_str().to_owned()),
            domain_match: settings.domain_match.as_str().to_owned(),
            ttl: settings.ttl.map(format_duration),
            dedup_window: format_duration(settings.dedup_window),
            enabled: settings.enabled,
            indicators: info.indicators,
            expired: info.expired,
            created_at: rfc3339(info.created_at),
            updated_at: rfc3339(info.updated_at),
        }
    }
}

fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Describes an indicator rejected as too broad. `fix` is how the endpoint
/// accepts it, such as a body field, in place of the command-line flag.
pub(crate) fn too_broad(detail: &str, fix: &str) -> String {
    format!("too broad: {detail}; {fix} if it is really meant")
}

fn parse_duration(field: &str, text: &str) -> Result<Duration, ApiError> {
    iocwatch_model::time::parse_duration(text)
        .map_err(|message| ApiError::invalid(field, format!("{field}: {message}")))
}

/// Settings of a new watchlist, or changes to one; a missing field keeps
/// the default or current value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchlistRequest {
    /// The name; required on create, ignored on update.
    pub name: Option<String>,
    /// A description; an empty string removes it.
    pub description: Option<String>,
    /// `low`, `medium`, `high`, `critical` or `auto`.
    #[schema(pattern = r"^(low|medium|high|critical|auto)$")]
    pub severity: Option<String>,
    /// `subdomains` or `exact`.
    #[schema(pattern = r"^(subdomains|exact)$")]
    pub domain_match: Option<String>,
    /// Default indicator lifetime such as `30d`, more than zero and at
    /// most 100 years, or `never`.
    #[schema(
        pattern = r"^((\d{1,6} ?(nsec|ns|usec|us|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y) ?)+|never|none)$"
    )]
    pub ttl: Option<String>,
    /// Dedup window such as `1h`, more than zero and at most 100 years.
    #[schema(
        pattern = r"^(\d{1,6} ?(nsec|ns|usec|us|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y) ?)+$"
    )]
    pub dedup_window: Option<String>,
    /// Whether the service matches its indicators.
    pub enabled: Option<bool>,
}

impl WatchlistRequest {
    fn apply(&self, settings: &mut WatchlistSettings) -> Result<(), ApiError> {
        if let Some(description) = &self.description {
            let description = description.trim();
            settings.description = (!description.is_empty()).then(|| description.to_owned());
        }
        if let Some(severity) = &self.severity {
            settings.severity = if severity.trim().eq_ignore_ascii_case("auto") {
                None
            } else {
                Some(
                    severity
                        .parse::<Severity>()
                        .map_err(|error| ApiError::invalid("severity", format!("{error}, or auto")))?,
                )
            };
        }
        if let Some(mode) = &self.domain_match {
            settings.domain_match = DomainMatch::from_name(mode).ok_or_else(|| {
                ApiError::invalid(
                    "domain_match",
                    format!("domain_match {mode:?} is unknown; use subdomains or exact"),
                )
            })?;
        }
        if let Some(ttl) = &self.ttl {
            settings.ttl = if matches!(ttl.trim(), "never" | "none") {
                None
            } else {
                Some(parse_duration("ttl", ttl)?)
            };
        }
        if let Some(window) = &self.dedup_window {
            settings.dedup_window = parse_duration("dedup_window", window)?;
        }
        if let Some(enabled) = self.enabled {
            settings.enabled = enabled;
        }
        Ok(())
    }
}

fn audit(
    store: &Store,
    actor: &str,
    action: &str,
    name: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> iocwatch_store::Result<()> {
    let target = format!("watchlist:{name}");
    let entry = NewAudit {
        actor,
        action,
        target: &target,
        before,
        after,
    };
    store.record_audit(&entry, OffsetDateTime::now_utc())
}

fn find(store: &Store, name: &str) -> iocwatch_store::Result<WatchlistInfo> {
    let now = OffsetDateTime::now_utc();
    match store.watchlist(name, now)? {
        Some(info) => Ok(info),
        None => Err(StoreError::UnknownWatchlist {
            name: name.to_owned(),
            known: store
                .list_watchlists(now)?
                .into_iter()
                .map(|info| info.name)
                .collect(),
        }),
    }
}

/// Lists every watchlist.
#[utoipa::path(get, path = "/api/v1/watchlists", tag = "watchlists",
    responses((status = 200, body = Vec<WatchlistView>), (status = 401, body = ErrorResponse)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<WatchlistView>>, ApiError> {
    let store = state.store.clone();
    let lists = blocking(move || store.list_watchlists(OffsetDateTime::now_utc())).await?;
    Ok(Json(lists.iter().map(WatchlistView::from_info).collect()))
}

/// Creates a watchlist (admin).
#[utoipa::path(post, path = "/api/v1/watchlists", tag = "watchlists", request_body = WatchlistRequest,
    responses((status = 201, body = WatchlistView), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<WatchlistRequest>,
) -> Result<(StatusCode, Json<WatchlistView>), ApiError> {
    caller.require(Role::Admin)?;
    let Some(name) = request.name.clone().filter(|name| !name.trim().is_empty()) else {
        return Err(ApiError::invalid("name", "give the watchlist a name"));
    };
    let mut settings = WatchlistSettings::default();
    request.apply(&mut settings)?;
    let store = state.store.clone();
    let info = blocking(move || {
        store.create_watchlist(&name, &settings, OffsetDateTime::now_utc())?;
        audit(
            &store,
            &caller.user,
            "watchlist.create",
            &name,
            None,
            Some(settings_json(&name, &settings)),
        )?;
        find(&store, &name)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(WatchlistView::from_info(&info))))
}

/// Returns one watchlist.
#[utoipa::path(get, path = "/api/v1/watchlists/{name}", tag = "watchlists", params(("name" = String, Path)),
    responses((status = 200, body = WatchlistView), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<WatchlistView>, ApiError> {
    let store = state.store.clone();
    let info = blocking(move || find(&store, &name)).await?;
    Ok(Json(WatchlistView::from_info(&info)))
}

/// Changes the settings of a watchlist (admin).
#[utoipa::path(patch, path = "/api/v1/watchlists/{name}", tag = "watchlists", params(("name" = String, Path)),
    request_body = WatchlistRequest,
    responses((status = 200, body = WatchlistView), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<WatchlistRequest>,
) -> Result<Json<WatchlistView>, ApiError> {
    caller.require(Role::Admin)?;
    let store = state.store.clone();
    let before = {
        let store = store.clone();
        let name = name.clone();
        blocking(move || find(&store, &name)).await?
    };
    let mut settings = before.settings.clone();
    request.apply(&mut settings)?;
    let info = blocking(move || {
        store.update_watchlist(&name, &settings, OffsetDateTime::now_utc())?;
        let (old, new) = (
            settings_json(&name, &before.settings),
            settings_json(&name, &settings),
        );
        audit(
            &store,
            &caller.user,
            "watchlist.update",
            &name,
            Some(old),
            Some(new),
        )?;
        find(&store, &name)
    })
    .await?;
    Ok(Json(WatchlistView::from_info(&info)))
}

/// Deletes a watchlist with its indicators (admin).
#[utoipa::path(delete, path = "/api/v1/watchlists/{name}", tag = "watchlists", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    let store = state.store.clone();
    blocking(move || {
        let before = find(&store, &name)?;
        store.delete_watchlist(&name)?;
        let old = settings_json(&name, &before.settings);
        audit(&store, &caller.user, "watchlist.delete", &name, Some(old), None)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Upload options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file name; its extension helps detect the format.
    pub filename: Option<String>,
    /// The CSV column that contains the indicators.
    pub column: Option<String>,
    /// Accept networks shorter than /8 (IPv4) or /32 (IPv6) and public
    /// suffixes.
    #[serde(default)]
    pub allow_broad: bool,
}

impl QueryParams for UploadQuery {
    const PARAMS: &'static [(&'static str, &'static str)] = &[
        ("filename", "a file name"),
        ("column", "the name of a CSV column"),
        ("allow_broad", "true or false"),
    ];
}

/// A line of an upload that was not imported.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedLine {
    /// 1-based line number.
    pub line: u64,
    /// The value as written, at most 200 characters.
    pub value: String,
    /// The reason for the rejection.
    pub reason: String,
}

/// The outcome of an upload or an indicator addition.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    /// Indicators new to the watchlist.
    pub added: u64,
    /// Indicators already in it, refreshed.
    pub updated: u64,
    /// Indicators not stored because the allowlist covers them.
    pub skipped_allowlisted: u64,
    /// Indicators stored without an expiry because their `expires` value
    /// is no date or time.
    pub unreadable_expiry: u64,
    /// Rejected lines or values, at most 1000.
    pub rejected: Vec<RejectedLine>,
    /// Rejected lines or values in all.
    pub rejected_total: u64,
}

fn import_json(report: &ImportReport, source: &str, rejected: u64) -> Value {
    json!({
        "source": source,
        "added": report.added,
        "updated": report.updated,
        "skipped_allowlisted": report.skipped_allowlisted,
        "unreadable_expiry": report.unreadable_expiry,
        "rejected": rejected,
    })
}

/// The audit record of an import.
struct ImportRecord<'a> {
    actor: &'a str,
    action: &'a str,
    source: &'a str,
    rejected: u64,
}

/// Imports indicators with the allowlist applied, and records the import.
fn import(
    state: &AppState,
    name: &str,
    indicators: Vec<Indicator>,
    ttl: Option<Duration>,
    record: &ImportRecord<'_>,
) -> iocwatch_store::Result<ImportReport> {
    let ImportRecord {
        actor,
        action,
        source,
        rejected,
    } = *record;
    let store = &state.store;
    let entries = store.allowlist()?;
    let covers = state
        .service
        .allowlist_filter(entries.into_iter().map(|entry| entry.value).collect());
    let check = |indicator: &Indicator| covers(indicator);
    let options = ImportOptions {
        ttl,
        allowlisted: Some(&check),
    };
    let report = store.import(name, indicators, &options, OffsetDateTime::now_utc())?;
    audit(
        store,
        actor,
        action,
        name,
        None,
        Some(import_json(&report, source, rejected)),
    )?;
    Ok(report)
}

/// Imports a file of indicators in any format that `iocwatch scan` reads
/// (admin). Bad lines are reported and the rest is imported.
#[utoipa::path(post, path = "/api/v1/watchlists/{name}/upload", tag = "watchlists",
    params(("name" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, gzip-compressed or not"),
    responses((status = 200, body = ImportResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    body: Bytes,
) -> Result<Json<ImportResponse>, ApiError> {
    caller.require(Role::Admin)?;
    {
        let store = state.store.clone();
        let name = name.clone();
        blocking(move || find(&store, &name)).await?;
    }
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "the request body is empty; send the indicator file as the body",
        )
        .with_field("body"));
    }
    let filename = query.filename.clone().unwrap_or_else(|| "upload".to_owned());
    let options = LoadOptions {
        format: None,
        column: query.column.clone(),
        parse: ParseOptions {
            allow_broad: query.allow_broad,
        },
    };
    let loaded = {
        let (name, filename) = (name.clone(), filename.clone());
        tokio::task::spawn_blocking(move || load_reader(&name, &filename, Cursor::new(body), &options))
            .await
            .map_err(ApiError::internal)?
    };
    let watchlist = loaded.map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_file",
            format!("cannot read the upload: {error}"),
        )
        .with_field("body")
    })?;
    let report = &watchlist.report;
    let rejected: Vec<RejectedLine> = report
        .rejected
        .iter()
        .chain(&report.dropped)
        .take(MAX_REJECTED_SHOWN)
        .map(|rejection| RejectedLine {
            line: rejection.line,
            value: rejection.value.clone(),
            reason: match &rejection.error {
                LineError::Indicator(IndicatorError::TooBroad(detail)) => {
                    too_broad(detail, "add allow_broad=true to the query string")
                }
                other => other.to_string(),
            },
        })
        .collect();
    let rejected_total = (report.rejected.len() + report.dropped.len()) as u64;
    let state2 = state.clone();
    let imported = blocking(move || {
        import(
            &state2,
            &name,
            watchlist.indicators,
            None,
            &ImportRecord {
                actor: &caller.user,
                action: "indicators.upload",
                source: &filename,
                rejected: rejected_total,
            },
        )
    })
    .await?;
    Ok(Json(ImportResponse {
        added: imported.added,
        updated: imported.updated,
        skipped_allowlisted: imported.skipped_allowlisted,
        unreadable_expiry: imported.unreadable_expiry,
        rejected,
        rejected_total,
    }))
}

/// Paging and search of indicators.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndicatorQuery {
    /// Page size, 1 to 1000; default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Indicators to skip.
    pub offset: Option<u64>,
    /// Text to find in the value.
    pub q: Option<String>,
}

impl QueryParams for IndicatorQuery {
    const PARAMS: &'static [(&'static str, &'static str)] = &[
        ("limit", "an integer from 1 to 1000"),
        ("offset", "an integer from 0 to 9223372036854775807"),
        ("q", "text to find"),
    ];
}

/// A stored indicator.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorView {
    /// The normalised value.
    pub value: String,
    /// The kind, such as `ip`, `domain` or `sha256`.
    pub kind: String,
    /// The description from the intelligence source.
    pub description: Option<String>,
    /// 0 to 100.
    pub confidence: Option<u8>,
    /// Tags.
    pub tags: Vec<String>,
    /// A link to more information.
    pub reference: Option<String>,
    /// First import into this watchlist, RFC 3339.
    pub first_seen: String,
    /// Last import, RFC 3339.
    pub last_seen: String,
    /// When it stops matching, RFC 3339; `null` for never.
    pub expires_at: Option<String>,
}

/// A page of indicators.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorPage {
    /// The indicators in import order.
    pub items: Vec<IndicatorView>,
    /// Indicators that match `q` in all.
    pub total: u64,
}

/// Lists the indicators of a watchlist.
#[utoipa::path(get, path = "/api/v1/watchlists/{name}/indicators", tag = "watchlists",
    params(("name" = String, Path), IndicatorQuery),
    responses((status = 200, body = IndicatorPage), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn indicators(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<IndicatorQuery>,
) -> Result<Json<IndicatorPage>, ApiError> {
    let page = Page {
        offset: offset(query.offset)?,
        limit: limit(query.limit)?,
    };
    let store = state.store.clone();
    let (found, total) = blocking(move || store.search_indicators(&name, query.q.as_deref(), page)).await?;
    let items = found
        .into_iter()
        .map(|stored| {
            let meta = &stored.indicator.meta;
            IndicatorView {
                value: stored.indicator.value.to_string(),
                kind: stored.indicator.value.kind().as_str().to_owned(),
                description: meta.description.clone(),
                confidence: meta.confidence,
                tags: meta.tags.clone(),
                reference: meta.reference.clone(),
                first_seen: rfc3339(stored.first_seen),
                last_seen: rfc3339(stored.last_seen),
                expires_at: stored.expires_at.map(rfc3339),
            }
        })
        .collect();
    Ok(Json(IndicatorPage { items, total }))
}

/// Indicators to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddIndicatorsRequest {
    /// Values, defanged or not.
    #[schema(min_items = 1)]
    pub values: Vec<String>,
    /// The description from the intelligence source.
    pub description: Option<String>,
    /// 0 to 100.
    #[schema(maximum = 100)]
    #[serde(default, deserialize_with = "confidence")]
    pub confidence: Option<u8>,
    /// Lifetime such as `7d`, more than zero and at most 100 years,
    /// overriding the watchlist's ttl.
    #[schema(
        pattern = r"^(\d{1,6} ?(nsec|ns|usec|us|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y) ?)+$"
    )]
    pub ttl: Option<String>,
    /// Accept networks shorter than /8 (IPv4) or /32 (IPv6) and public
    /// suffixes.
    #[serde(default)]
    pub allow_broad: bool,
}

/// Deserializes an optional confidence, an integer from 0 to 100, so that
/// a rejection names that range rather than the range of `u8`.
fn confidence<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u8>, D::Error> {
    use serde::de::{Error, Unexpected};

    const EXPECTED: &str = "an integer from 0 to 100";
    let Some(value) = Option::<Value>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let unexpected = match &value {
        Value::Number(number) => match number.as_u64() {
            Some(whole) if whole <= 100 => return Ok(u8::try_from(whole).ok()),
            Some(whole) => Unexpected::Unsigned(whole),
            None => match number.as_i64() {
                Some(negative) => Unexpected::Signed(negative),
                None => Unexpected::Float(number.as_f64().unwrap_or(f64::NAN)),
            },
        },
        Value::String(text) => Unexpected::Str(text),
        Value::Bool(flag) => Unexpected::Bool(*flag),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
        Value::Null => Unexpected::Unit,
    };
    Err(D::Error::invalid_value(unexpected, &EXPECTED))
}

/// Adds indicators to a watchlist (admin). Invalid values are reported
/// and the rest is added.
#[utoipa::path(post, path = "/api/v1/watchlists/{name}/indicators", tag = "watchlists",
    params(("name" = String, Path)), request_body = AddIndicatorsRequest,
    responses((status = 200, body = ImportResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn add_indicators(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<AddIndicatorsRequest>,
) -> Result<Json<ImportResponse>, ApiError> {
    caller.require(Role::Admin)?;
    if request.values.is_empty() {
        return Err(ApiError::invalid("values", "give at least one value"));
    }
    let ttl = request
        .ttl
        .as_deref()
        .map(|text| parse_duration("ttl", text))
        .transpose()?;
    let meta = Arc::new(Meta {
        description: request.description.clone(),
        confidence: request.confidence,
        ..Meta::default()
    });
    let source: Arc<str> = Arc::from("api");
    let mut indicators = Vec::new();
    let mut rejected = Vec::new();
    for (index, raw) in request.values.iter().enumerate() {
        match parse_indicator(
            raw,
            None,
            ParseOptions {
                allow_broad: request.allow_broad,
            },
        ) {
            Ok(parsed) => indicators.push(Indicator {
                value: parsed.value,
                original: raw.trim().to_owned(),
                meta: Arc::clone(&meta),
                origin: Origin {
                    source: Arc::clone(&source),
                    line: index as u64 + 1,
                },
            }),
            Err(error) => rejected.push(RejectedLine {
                line: index as u64 + 1,
                value: raw.chars().take(200).collect(),
                reason: match &error {
                    IndicatorError::TooBroad(detail) => {
                        too_broad(detail, "send \"allow_broad\": true in the request body")
                    }
                    other => other.to_string(),
                },
            }),
        }
    }
    let rejected_total = rejected.len() as u64;
    let state2 = state.clone();
    let report = blocking(move || {
        find(&state2.store, &name)?;
        import(
            &state2,
            &name,
            indicators,
            ttl,
            &ImportRecord {
                actor: &caller.user,
                action: "indicators.add",
                source: "api",
                rejected: rejected_total,
            },
        )
    })
    .await?;
    Ok(Json(ImportResponse {
        added: report.added,
        updated: report.updated,
        skipped_allowlisted: report.skipped_allowlisted,
        unreadable_expiry: report.unreadable_expiry,
        rejected,
        rejected_total,
    }))
}

/// Values to remove.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ValuesRequest {
    /// Values, defanged or not.
    pub values: Vec<String>,
}

/// The count of changed indicators.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangedResponse {
    /// Indicators removed or changed.
    pub changed: u64,
    /// Values that are not indicators, with the reason.
    pub invalid: Vec<RejectedLine>,
}

fn parse_values(values: &[String]) -> (Vec<IndicatorValue>, Vec<RejectedLine>) {
    let mut parsed = Vec::new();
    let mut invalid = Vec::new();
    for (index, raw) in values.iter().enumerate() {
        match parse_indicator(&refang(raw.trim()), None, ParseOptions { allow_broad: true }) {
            Ok(value) => parsed.push(value.value),
            Err(error) => invalid.push(RejectedLine {
                line: index as u64 + 1,
                value: raw.chars().take(200).collect(),
                reason: error.to_string(),
            }),
        }
    }
    (parsed, invalid)
}

/// Removes indicators from a watchlist (admin).
#[utoipa::path(delete, path = "/api/v1/watchlists/{name}/indicators", tag = "watchlists",
    params(("name" = String, Path)), request_body = ValuesRequest,
    responses((status = 200, body = ChangedResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn remove_indicators(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<ValuesRequest>,
) -> Result<Json<ChangedResponse>, ApiError> {
    caller.require(Role::Admin)?;
    let (values, invalid) = parse_values(&request.values);
    let store = state.store.clone();
    let changed = blocking(move || {
        let removed = store.remove(&name, &values)?;
        let shown: Vec<String> = values.iter().map(ToString::to_string).collect();
        let before = json!({ "values": shown });
        audit(
            &store,
            &caller.user,
            "indicators.remove",
            &name,
            Some(before),
            Some(json!({ "removed": removed })),
        )?;
        Ok(removed)
    })
    .await?;
    Ok(Json(ChangedResponse { changed, invalid }))
}

/// Indicators to expire.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExpireRequest {
    /// Values, defanged or not.
    pub values: Vec<String>,
    /// When they stop matching, RFC 3339; `null` for now.
    #[schema(format = DateTime, pattern = r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))$")]
    pub at: Option<String>,
}

/// Sets when indicators stop matching (admin).
#[utoipa::path(post, path = "/api/v1/watchlists/{name}/indicators/expire", tag = "watchlists",
    params(("name" = String, Path)), request_body = ExpireRequest,
    responses((status = 200, body = ChangedResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn expire(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<ExpireRequest>,
) -> Result<Json<ChangedResponse>, ApiError> {
    caller.require(Role::Admin)?;
    let at = match request.at.as_deref() {
        Some(text) => parse_time("at", text)?,
        None => OffsetDateTime::now_utc(),
    };
    let (values, invalid) = parse_values(&request.values);
    let store = state.store.clone();
    let changed = blocking(move || {
        let changed = store.expire(&name, &values, at)?;
        let shown: Vec<String> = values.iter().map(ToString::to_string).collect();
        let after = json!({ "values": shown, "expires_at": rfc3339(at), "changed": changed });
        audit(
            &store,
            &caller.user,
            "indicators.expire",
            &name,
            None,
            Some(after),
        )?;
        Ok(changed)
    })
    .await?;
    Ok(Json(ChangedResponse { changed, invalid }))
}

/// Paging of a history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1 to 1000; default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Entries to skip.
    pub offset: Option<u64>,
}

impl QueryParams for HistoryQuery {
    const PARAMS: &'static [(&'static str, &'static str)] = &[
        ("limit", "an integer from 1 to 1000"),
        ("offset", "an integer from 0 to 9223372036854775807"),
    ];
}

/// Returns the audit entries of a watchlist, newest first.
#[utoipa::path(get, path = "/api/v1/watchlists/{name}/history", tag = "watchlists",
    params(("name" = String, Path), HistoryQuery),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let filter = AuditFilter {
        target: Some(format!("watchlist:{name}")),
        limit: Some(limit(query.limit)?),
        offset: offset(query.offset)?,
        ..AuditFilter::default()
    };
    let store = state.store.clone();
    let (entries, total) = blocking(move || {
        find(&store, &name)?;
        store.audit(&filter)
    })
    .await?;
    Ok(Json(AuditPage {
        items: entries.iter().map(AuditItem::from_entry).collect(),
        total,
    }))
}
