//! The one error shape of the API and the mapping of store errors to it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use iocwatch_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error response in the one JSON shape of the API:
/// `{"error": {"code", "message", "field"?, "line"?}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
    pub(crate) line: Option<usize>,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    /// Creates an error with an HTTP status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            line: None,
            retry_after: None,
        }
    }

    /// Creates a 400 error about one field of the request.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_field", message);
        error.field = Some(field.to_owned());
        error
    }

    /// Returns the HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "log in with POST /api/v1/session or send an API token as `Authorization: Bearer iwt_...`",
        )
    }

    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "an API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to complete the request; the service log has the cause",
        )
    }
}

/// Returns the 413 error for a request body over `limit` bytes.
pub(crate) fn body_too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "the request body is over the limit of {limit} bytes; send a smaller body, or raise max_body_bytes \
             in the [http] section of the configuration"
        ),
    )
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorDetail,
}

/// Error of an API request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code.
    pub code: String,
    /// Description of the problem and of the fix.
    pub message: String,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The line of the request body at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
                line: self.line,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let retry = match (self.status, self.retry_after) {
            (_, Some(seconds)) => Some(seconds),
            (StatusCode::SERVICE_UNAVAILABLE, None) => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        match error {
            StoreError::UnknownWatchlist { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_watchlist", message)
            }
            StoreError::UnknownAlert(_) => Self::new(StatusCode::NOT_FOUND, "unknown_alert", message),
            StoreError::UnknownUser(_) => Self::new(StatusCode::NOT_FOUND, "unknown_user", message),
            StoreError::UnknownToken(_) => Self::new(StatusCode::NOT_FOUND, "unknown_token", message),
            StoreError::DuplicateWatchlist(_) => {
                Self::new(StatusCode::CONFLICT, "duplicate_watchlist", message).with_field("name")
            }
            StoreError::DuplicateUser(_) => {
                Self::new(StatusCode::CONFLICT, "duplicate_user", message).with_field("name")
            }
            StoreError::InvalidAlertId { .. } => Self::invalid("id", message),
            StoreError::AmbiguousAlert { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "ambiguous_alert_id", message)
            }
            StoreError::InvalidWatchlistName(_) => Self::invalid("name", message),
            StoreError::InvalidUserName(_) => Self::invalid("name", message),
            StoreError::InvalidPassword(_) => Self::invalid("password", message),
            StoreError::InvalidTokenName(_) => Self::invalid("name", message),
            StoreError::EmptyComment => Self::invalid("text", message),
            StoreError::InvalidAllowlistValue { .. } => Self::invalid("value", message),
            StoreError::InvalidTransition(_) => {
                Self::new(StatusCode::CONFLICT, "invalid_transition", message).with_field("status")
            }
            StoreError::Busy { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "store_busy", message),
            StoreError::OutOfRange(_) => Self::new(StatusCode::BAD_REQUEST, "out_of_range", message),
            other => Self::internal(other),
        }
    }
}

/// Maximum length of a plain-text error body that [`json_errors`] copies into the
/// message of the JSON error.
const MAX_PLAIN_ERROR: usize = 4096;

/// Rewrites error responses that are not JSON into the one error shape.
///
/// axum's own rejections respond in plain text: a query string or path that
/// does not parse, a method the route does not serve (405, with an empty
/// body) and a body over the size limit. The handlers respond in JSON, so
/// only those pass through the rewrite. The `Allow` header of a 405 is
/// kept, and a 413 names the body limit, `max_body_bytes`. Every 413 is
/// logged with the path and the client address.
pub(crate) async fn json_errors(
    axum::extract::State(max_body_bytes): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<crate::ClientAddr>>()
        .map(|axum::extract::ConnectInfo(crate::ClientAddr(address))| *address);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        tracing::warn!(path = %path, client = client.map(tracing::field::display), max_body_bytes, "request rejected: the body is over the limit");
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_PLAIN_ERROR).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let (code, fallback) = match status {
        StatusCode::BAD_REQUEST => ("invalid_request", "the request is malformed"),
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not serve this method; the Allow header lists the methods it serves",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_request", "the request cannot be processed"),
        _ if status.is_server_error() => (
            "internal",
            "the server failed to complete the request; the service log has the cause",
        ),
        _ => ("request_failed", "the request failed"),
    };
    let message = if text.is_empty() {
        fallback.to_owned()
    } else {
        text
    };
    let mut error = if status == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large(max_body_bytes)
    } else {
        ApiError::new(status, code, message)
    };
    error.field = field_of_rejection(&error.message);
    let mut rewritten = error.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// Finds the query field that an axum query rejection names, as in
/// "Failed to deserialize query string: limit: invalid digit found in
/// string".
fn field_of_rejection(message: &str) -> Option<String> {
    let detail = message.strip_prefix("Failed to deserialize query string: ")?;
    let (field, _) = detail.split_once(": ")?;
    (!field.is_empty() && !field.contains(' ')).then(|| field.to_owned())
}
