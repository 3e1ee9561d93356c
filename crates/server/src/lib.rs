//! The HTTP endpoints of `iocwatch run`.
//!
//! - `POST /api/v1/ingest/{source}`: JSON lines in bulk, as the HTTP
//!   outputs of Vector, Fluent Bit and Logstash send them: one object per
//!   line, or one JSON array of objects; `Content-Encoding: gzip` is
//!   accepted. A request is taken whole or refused whole, so a sender can
//!   correct it and send it again without duplicating events.
//! - `GET /healthz`: the state of sources and sinks; 200 when healthy,
//!   503 when not.
//! - `GET /metrics`: Prometheus text format.
//!
//! Errors have one JSON shape: `{"error": {"code": "...", "message":
//! "..."}}`, with a stable `code` and a message that names the line or
//! field at fault.

#![deny(missing_docs)]

use std::future::Future;
use std::io::{self, Read};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

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

/// Receiver of ingested lines: the running service.
pub trait IngestTarget: Send + Sync + 'static {
    /// Hands over the lines of one request for `source`, without waiting.
    ///
    /// # Errors
    ///
    /// An [`IngestRejection`] when the source is unknown or the service
    /// cannot take the lines now.
    fn submit(&self, source: &str, lines: Vec<Vec<u8>>) -> Result<(), IngestRejection>;
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

/// Everything the endpoints need.
#[derive(Clone)]
pub struct AppState {
    /// Where ingested lines go.
    pub ingest: Arc<dyn IngestTarget>,
    /// The health report.
    pub health: Arc<dyn HealthReport>,
    /// The metrics.
    pub metrics: Arc<dyn MetricsRender>,
    /// Largest accepted request body, in bytes, before and after gzip.
    pub max_body_bytes: usize,
}

/// Builds the router of every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/ingest/{source}", post(ingest))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// running requests finish.
///
/// # Errors
///
/// An I/O error of the listener.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// An error response in the one JSON shape of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    line: Option<usize>,
}

impl ApiError {
    /// Creates an error with an HTTP status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            line: None,
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": ErrorBody { code: self.code, message: &self.message, line: self.line } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn health(State(state): State<AppState>) -> Response {
    let (healthy, report) = state.health.health();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

async fn ingest(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limit = state.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is over {limit} bytes; send smaller batches"),
        )
    };
    let raw = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let bytes = match headers.get(header::CONTENT_ENCODING).map(HeaderValue::to_str) {
        None => raw.to_vec(),
        Some(Ok(encoding)) if encoding.eq_ignore_ascii_case("identity") => raw.to_vec(),
        Some(Ok(encoding)) if encoding.eq_ignore_ascii_case("gzip") => {
            gunzip(&raw, limit).map_err(|err| match err {
                GunzipError::TooLarge => too_large(),
                GunzipError::Invalid(err) => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_gzip",
                    format!("the body is not valid gzip: {err}"),
                ),
            })?
        }
        Some(encoding) => {
            let shown = encoding.unwrap_or("(not text)");
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                format!("Content-Encoding {shown:?} is not supported; send identity or gzip"),
            ));
        }
    };
    let lines = split_events(&bytes)?;
    let count = lines.len();
    if count > 0 {
        state.ingest.submit(&source, lines).map_err(|rejection| match rejection {
            IngestRejection::UnknownSource { known } => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_source",
                if known.is_empty() {
                    format!("no HTTP source is named {source:?}; add a [[source]] with type = \"http\" to the configuration")
                } else {
                    format!("no HTTP source is named {source:?}; the HTTP sources are {}", known.join(", "))
                },
            ),
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
    }
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "accepted": count }))).into_response())
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

/// Splits a body into one JSON object per event: the elements of a top
/// level array, or the non-blank lines. Every event must be a JSON object.
fn split_events(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    let invalid = |line: Option<usize>, message: String| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_event",
        message,
        line,
    };
    let trimmed = bytes.trim_ascii();
    if trimmed.first() == Some(&b'[') {
        let events: Vec<Value> = serde_json::from_slice(trimmed).map_err(|err| {
            invalid(
                Some(err.line()),
                format!("the body is not a JSON array of objects: {err}"),
            )
        })?;
        return events
            .into_iter()
            .enumerate()
            .map(|(index, event)| {
                if event.is_object() {
                    Ok(event.to_string().into_bytes())
                } else {
                    Err(invalid(
                        None,
                        format!("array element {index} is not a JSON object; send one object per event"),
                    ))
                }
            })
            .collect();
    }
    let mut events = Vec::new();
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        if line.first() != Some(&b'{') {
            return Err(invalid(
                Some(number),
                format!("line {number} is not a JSON object; send one JSON object per line"),
            ));
        }
        if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(line) {
            return Err(invalid(
                Some(number),
                format!("line {number} is not valid JSON: {err}"),
            ));
        }
        events.push(line.to_vec());
    }
    Ok(events)
}

#[cfg(test)]
mod tests;
