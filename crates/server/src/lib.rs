//! The HTTP server of `iocwatch run`: the API, its access control, and the
//! web console.
//!
//! - `POST /api/v1/ingest/{source}`: JSON lines in bulk, as the HTTP
//!   outputs of Vector, Fluent Bit and Logstash send them: one object per
//!   line, or one JSON array of objects; `Content-Encoding: gzip` is
//!   accepted. Lines that are not JSON objects are left out and listed in
//!   the answer, so one bad line does not cost a shipper the rest of its
//!   batch. An empty body, or one whose lines are all invalid, gets 400,
//!   and an empty JSON array gets 202 with no events. The answer comes
//!   once the events are stored.
//! - `GET /healthz`: the state of sources and sinks; 200 when healthy,
//!   503 when not.
//! - `GET /metrics`: Prometheus text format.
//! - `/api/v1/...`: alerts and triage, watchlists, the allowlist, the
//!   exposure check, users, tokens and the audit trail, behind a login
//!   session or an API token ([`auth`]). `GET /api/openapi.json` describes
//!   them as OpenAPI 3.1, generated from the handlers.
//! - `/` and `/assets/...`: the web console, bundled at build time.
//!
//! Errors have one JSON shape: `{"error": {"code": "...", "message":
//! "...", "field": "..."}}`, with a stable `code`, a message that names the
//! line or field at fault, and `field` when one request field is at fault.

#![deny(missing_docs)]

pub mod api;
pub mod auth;
mod connections;
mod console;
mod error;
mod openapi;
mod tls;

use std::future::Future;
use std::io::{self, Read};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use iocwatch_matcher::Matcher;
use iocwatch_model::{Indicator, IndicatorValue};
use iocwatch_store::Store;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub use api::status::RateTracker;
pub use auth::{LoginLimiter, LoginLimits};
pub use console::CONTENT_SECURITY_POLICY;
pub use error::{ApiError, ErrorDetail, ErrorResponse};
pub use openapi::openapi;
pub use tls::{ClientAddr, TlsError, TlsListener, load_tls_config};

/// Reason the service rejected the lines of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestRejection {
    /// No HTTP source has this name.
    UnknownSource {
        /// The names of the HTTP sources.
        known: Vec<String>,
    },
    /// The service cannot take more lines now; the sender should retry.
    Busy,
    /// The service is shutting down.
    Closed,
}

/// Maximum wait of an ingest request for its events to be stored.
const STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Receiver of ingested lines: the running service.
pub trait IngestTarget: Send + Sync + 'static {
    /// Hands over the lines of one request for `source`, without waiting.
    /// The receiver gets a message once the lines are stored, and closes
    /// without one when they were not.
    ///
    /// # Errors
    ///
    /// An [`IngestRejection`] when the source is unknown or the service
    /// cannot take the lines now.
    fn submit(
        &self,
        source: &str,
        lines: Vec<Vec<u8>>,
    ) -> Result<tokio::sync::mpsc::Receiver<()>, IngestRejection>;

    /// Checks that an HTTP source is named `source`, before the body of a
    /// request is read.
    ///
    /// # Errors
    ///
    /// The names of the HTTP sources when none is named `source`.
    fn check_source(&self, source: &str) -> Result<(), Vec<String>>;
}

/// Source of the health endpoint's report.
pub trait HealthReport: Send + Sync + 'static {
    /// Returns whether the service is healthy and a JSON description of
    /// each source and sink.
    fn health(&self) -> (bool, Value);
}

/// Renders the metrics in Prometheus text format.
pub trait MetricsRender: Send + Sync + 'static {
    /// Renders the current metrics.
    fn render(&self) -> String;
}

/// What the API needs from the running service besides ingest, health
/// and metrics.
pub trait ServiceView: Send + Sync + 'static {
    /// Returns the matcher the service runs now.
    fn matcher(&self) -> Matcher;

    /// Returns a check that is true for an indicator that the allowlist
    /// `entries` covers, with the rules the service applies.
    fn allowlist_filter(&self, entries: Vec<IndicatorValue>)
    -> Box<dyn Fn(&Indicator) -> bool + Send + Sync>;
}

/// Everything the endpoints need.
#[derive(Clone)]
pub struct AppState {
    /// Receiver of ingested lines.
    pub ingest: Arc<dyn IngestTarget>,
    /// The health report.
    pub health: Arc<dyn HealthReport>,
    /// The metrics.
    pub metrics: Arc<dyn MetricsRender>,
    /// Largest accepted request body, in bytes, before and after gzip.
    pub max_body_bytes: usize,
    /// The store of watchlists, alerts, users and the audit trail.
    pub store: Arc<Store>,
    /// The running matcher and allowlist rules.
    pub service: Arc<dyn ServiceView>,
    /// Whether the listener serves TLS, which marks the session cookie
    /// `Secure`.
    pub tls: bool,
    /// Failed logins per user name and client address.
    pub login_limiter: Arc<LoginLimiter>,
    /// Event rates of the sources.
    pub rates: Arc<RateTracker>,
}

/// Builds the router of every endpoint.
pub fn router(state: AppState) -> Router {
    let (routes, _) = openapi::routes();
    routes
        .fallback(console::fallback)
        .layer(axum::extract::DefaultBodyLimit::max(state.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.max_body_bytes,
            error::json_errors,
        ))
        .layer(axum::middleware::from_fn(console::security_headers))
        .with_state(state)
}

/// Runs a blocking store call on the blocking thread pool.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> iocwatch_store::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(error) => Err(ApiError::internal(error)),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// running requests finish. Handlers see the client address.
///
/// # Errors
///
/// An I/O error of the listener.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    connections::serve(listener, router, shutdown, connections::Limits::default()).await;
    Ok(())
}

/// Serves `router` over TLS, as [`serve`] does in plain text.
///
/// # Errors
///
/// An I/O error of the listener.
pub async fn serve_tls(
    listener: TlsListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    connections::serve(listener, router, shutdown, connections::Limits::default()).await;
    Ok(())
}

/// Reports the state of sources and sinks.
#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, description = "Healthy", body = Object), (status = 503, description = "Not healthy", body = Object)))]
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let (healthy, report) = state.health.health();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}

/// Renders the metrics in Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "service", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// Returns the error for an ingest request to a source that does not
/// exist, with the names of those that do.
fn unknown_source(source: &str, known: &[String]) -> ApiError {
    let message = if known.is_empty() {
        format!(
            "no HTTP source is named {source:?}; add a [[source]] with type = \"http\" to the configuration"
        )
    } else {
        format!(
            "no HTTP source is named {source:?}; the HTTP sources are {}",
            known.join(", ")
        )
    };
    ApiError::new(StatusCode::NOT_FOUND, "unknown_source", message)
}

/// Returns whether reading a body failed because it passed the size limit,
/// rather than because the client sent less or broken framing.
fn is_length_limit(err: &axum::Error) -> bool {
    connections::has_cause(err, |cause| cause.is::<http_body_util::LengthLimitError>())
}

/// Takes JSON lines for an HTTP source. No login is needed; keep the
/// listener on a trusted network or behind a proxy that authenticates.
#[utoipa::path(post, path = "/api/v1/ingest/{source}", tag = "ingest", security(()), params(("source" = String, Path)),
    request_body(description = "One JSON object per line, or a JSON array of objects",
        content((String = "application/x-ndjson"), (Vec<Object> = "application/json"))),
    responses((status = 202, description = "Accepted", body = Object), (status = 400, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 408, body = ErrorResponse), (status = 413, body = ErrorResponse), (status = 415, body = ErrorResponse),
        (status = 503, body = ErrorResponse)))]
pub(crate) async fn ingest(
    State(state): State<AppState>,
    Path(source): Path<String>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let client = connect.map(|axum::Extension(axum::extract::ConnectInfo(ClientAddr(address)))| address);
    if let Err(known) = state.ingest.check_source(&source) {
        return Err(unknown_source(&source, &known));
    }
    let limit = state.max_body_bytes;
    let too_large = || error::body_too_large(limit);
    let raw = axum::body::to_bytes(body, limit).await.map_err(|err| {
        if is_length_limit(&err) {
            too_large()
        } else if connections::is_timed_out(&err) {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the request body stalled: {err}; send the whole body without pauses"),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "incomplete_body",
                format!(
                    "the request body could not be read: {err}; send the whole body, with a Content-Length that \
                     matches it or with chunked encoding"
                ),
            )
        }
    })?;
    let bytes = match headers.get(header::CONTENT_ENCODING).map(HeaderValue::to_str) {
        None => raw.to_vec(),
        Some(Ok(encoding)) if encoding.eq_ignore_ascii_case("identity") => raw.to_vec(),
        Some(Ok(encoding)) if encoding.eq_ignore_ascii_case("gzip") => {
            gunzip(&raw, limit).map_err(|err| match err {
                GunzipError::TooLarge => too_large(),
                GunzipError::Invalid(err) => {
                    tracing::warn!(source = %source, client = client.map(tracing::field::display), error = %err, "ingest request rejected: the body is not valid gzip");
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_gzip",
                        format!("the body is not valid gzip: {err}"),
                    )
                }
            })?
        }
        Some(encoding) => {
            let shown = encoding.unwrap_or("(not text)");
            tracing::warn!(source = %source, client = client.map(tracing::field::display), encoding = ?shown, "ingest request rejected: unsupported Content-Encoding");
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                format!("Content-Encoding {shown:?} is not supported; send identity or gzip"),
            ));
        }
    };
    let Split {
        events: lines,
        rejected,
    } = split_events(&bytes)?;
    let count = lines.len();
    if bytes.trim_ascii().is_empty() {
        tracing::warn!(source = %source, client = client.map(tracing::field::display), "ingest request rejected: the body has no events");
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "the request body has no events; send one JSON object per line, or a JSON array of objects",
        ));
    }
    if count == 0
        && let Some(first) = rejected.first()
    {
        tracing::warn!(source = %source, rejected = rejected.len(), "ingest request rejected: {}", first.message);
        metrics::counter!("iocwatch_ingest_rejected_total", "source" => source.clone())
            .increment(rejected.len() as u64);
        let mut error = ApiError::new(StatusCode::BAD_REQUEST, "invalid_event", first.message.clone());
        error.line = first.line;
        return Err(error);
    }
    if count > 0 {
        let mut stored = state
            .ingest
            .submit(&source, lines)
            .map_err(|rejection| match rejection {
                IngestRejection::UnknownSource { known } => unknown_source(&source, &known),
                IngestRejection::Busy => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the service is behind on its input; send the request again shortly",
                ),
                IngestRejection::Closed => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "the service is shutting down; send the request again after it restarts",
                ),
            })?;
        // Respond only once the events are stored, so that a crash after
        // the response cannot lose them.
        match tokio::time::timeout(STORE_TIMEOUT, stored.recv()).await {
            Ok(Some(())) => {}
            Ok(None) => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_stored",
                    "the service stopped before storing these events; send the request again after it restarts",
                ));
            }
            Err(_) => {
                tracing::warn!(source = %source, events = count, "ingest request timed out before its events were stored");
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_timeout",
                    "the events were not stored within 30 seconds; send the request again (events stored meanwhile may then alert twice)",
                ));
            }
        }
    }
    if rejected.is_empty() {
        return Ok((StatusCode::ACCEPTED, axum::Json(json!({ "accepted": count }))).into_response());
    }
    tracing::warn!(source = %source, accepted = count, rejected = rejected.len(), "ingest request: lines left out, first: {}", rejected[0].message);
    metrics::counter!("iocwatch_ingest_rejected_total", "source" => source.clone())
        .increment(rejected.len() as u64);
    let total = rejected.len();
    let listed: Vec<Rejected> = rejected.into_iter().take(LISTED_REJECTIONS).collect();
    let body = json!({ "accepted": count, "rejected": listed, "rejected_total": total });
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

enum GunzipError {
    TooLarge,
    Invalid(io::Error),
}

/// Decompresses a gzip body, refusing more than `limit` bytes of output.
fn gunzip(raw: &[u8], limit: usize) -> Result<Vec<u8>, GunzipError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(raw)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(GunzipError::Invalid)?;
    if out.len() > limit {
        return Err(GunzipError::TooLarge);
    }
    Ok(out)
}

/// Events of an ingest body, and the lines or array elements that are not
/// JSON objects.
struct Split {
    events: Vec<Vec<u8>>,
    rejected: Vec<Rejected>,
}

/// One line or array element of an ingest body that was left out.
#[derive(serde::Serialize)]
struct Rejected {
    /// 1-based line of the body; for an array, 1-based element number.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    element: Option<usize>,
    message: String,
}

/// Maximum number of rejected lines listed in an ingest response. The
/// rest are counted.
const LISTED_REJECTIONS: usize = 20;

/// Describes a JSON syntax error without serde's position, which counts
/// lines within one event rather than within the body.
fn json_problem(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let problem = text.split(" at line ").next().unwrap_or(&text);
    format!("{problem} at column {}", err.column())
}

/// Nesting past which an event line is parsed in full before it is
/// accepted. Skipping a value, as the first check does, has no depth
/// limit, but the log decoders stop at serde_json's recursion limit of
/// 128, so a deeper line would be accepted and then dropped.
const DEEP_NESTING: usize = 64;

/// Returns why `line` is not a JSON value that the log decoders read, or
/// `None` when it is one.
fn check_event_line(line: &[u8]) -> Option<String> {
    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        return Some(json_problem(&err));
    }
    // Each level takes an opening and a closing byte, so a short line
    // needs no count.
    if line.len() <= 2 * DEEP_NESTING || nesting_depth(line) <= DEEP_NESTING {
        return None;
    }
    serde_json::from_slice::<Value>(line)
        .err()
        .map(|err| json_problem(&err))
}

/// Returns the deepest nesting of objects and arrays in `json`, a valid
/// JSON text.
fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Splits a body into one JSON object per event: the elements of a
/// top-level array, or the non-blank lines. Lines and elements that are
/// not JSON objects are left out and listed. A body that starts as an
/// array but is not valid JSON is rejected.
fn split_events(bytes: &[u8]) -> Result<Split, ApiError> {
    let trimmed = bytes.trim_ascii();
    let trimmed = trimmed.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(trimmed);
    let mut split = Split {
        events: Vec::new(),
        rejected: Vec::new(),
    };
    if trimmed.first() == Some(&b'[') {
        let events: Vec<Value> = serde_json::from_slice(trimmed).map_err(|err| {
            let mut error = ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_event",
                format!("the body is not a JSON array: {err}"),
            );
            error.line = Some(err.line());
            error
        })?;
        for (index, event) in events.into_iter().enumerate() {
            if event.is_object() {
                split.events.push(event.to_string().into_bytes());
            } else {
                split.rejected.push(Rejected {
                    line: None,
                    element: Some(index + 1),
                    message: format!("array element {} is not a JSON object", index + 1),
                });
            }
        }
        return Ok(split);
    }
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let problem = if line.first() == Some(&b'[') {
            Some(format!(
                "line {number} is a JSON array, not an object; send one JSON object per line, \
                 or the whole body as one JSON array of objects"
            ))
        } else if line.first() != Some(&b'{') {
            Some(format!(
                "line {number} is not a JSON object; send one JSON object per line"
            ))
        } else {
            check_event_line(line).map(|problem| format!("line {number} is not valid JSON: {problem}"))
        };
        match problem {
            None => split.events.push(line.to_vec()),
            Some(message) => split.rejected.push(Rejected {
                line: Some(number),
                element: None,
                message,
            }),
        }
    }
    Ok(split)
}

#[cfg(test)]
mod tests;
