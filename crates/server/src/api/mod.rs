//! The handlers of `/api/v1`, one module per resource, and what they share:
//! the JSON body extractor, paging and time formatting.

pub(crate) mod admin;
pub(crate) mod alerts;
pub(crate) mod search;
pub(crate) mod status;
pub(crate) mod watchlists;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::error::ApiError;

/// Largest page of any listing.
pub const MAX_LIMIT: u64 = 1000;

/// Page size when a request gives none.
pub const DEFAULT_LIMIT: u64 = 50;

/// A JSON request body whose errors have the API's error shape, naming the
/// field at fault when serde names it.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let status = rejection.status();
                let mut error = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(status, "body_too_large", text.clone())
                } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    ApiError::new(
                        status,
                        "unsupported_media_type",
                        "send the body as JSON with Content-Type: application/json",
                    )
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", text.clone())
                };
                if let Some(field) = field_of(&text) {
                    error = error.with_field(&field);
                }
                Err(error)
            }
        }
    }
}

/// Finds the field that a serde error message names: "missing field `x`",
/// "unknown field `x`" or a path before ": ".
fn field_of(message: &str) -> Option<String> {
    if let Some(start) = message.find("field `") {
        let rest = &message[start + 7..];
        return rest.find('`').map(|end| rest[..end].to_owned());
    }
    let detail = message.split_once("target type: ")?.1;
    let (path, _) = detail.split_once(": ")?;
    (!path.contains(' ')).then(|| path.to_owned())
}

/// Formats an instant as RFC 3339 UTC.
pub(crate) fn rfc3339(instant: OffsetDateTime) -> String {
    iocwatch_model::time::format_timestamp(instant)
}

/// Parses an RFC 3339 time from the query or body field `field`.
pub(crate) fn parse_time(field: &str, text: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|_| {
        ApiError::invalid(
            field,
            format!("{field} {text:?} is not an RFC 3339 time such as 2024-05-01T10:00:00Z"),
        )
    })
}

/// Checks a page size: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub(crate) fn limit(given: Option<u64>) -> Result<u64, ApiError> {
    match given {
        None => Ok(DEFAULT_LIMIT),
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        Some(limit) => Err(ApiError::invalid(
            "limit",
            format!("limit {limit} is out of range; give 1 to {MAX_LIMIT}"),
        )),
    }
}

/// Largest offset of any listing: the largest 64-bit signed integer,
/// which the store's queries take.
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// Checks an offset: 0 to [`MAX_OFFSET`], 0 when absent.
pub(crate) fn offset(given: Option<u64>) -> Result<u64, ApiError> {
    match given {
        None => Ok(0),
        Some(offset) if offset <= MAX_OFFSET => Ok(offset),
        Some(offset) => Err(ApiError::invalid(
            "offset",
            format!("offset {offset} is out of range; give 0 to {MAX_OFFSET}"),
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests;
