//! The handlers of `/api/v1`, one module per resource, and what they share:
//! the request extractors, paging and time formatting.

pub(crate) mod admin;
pub(crate) mod alerts;
mod extract;
pub(crate) mod search;
pub(crate) mod status;
pub(crate) mod watchlists;

use time::OffsetDateTime;

use crate::error::ApiError;

pub use extract::JsonBody;
pub(crate) use extract::{ApiQuery, QueryParams};

/// Largest page of any listing.
pub const MAX_LIMIT: u64 = 1000;

/// Page size when a request gives none.
pub const DEFAULT_LIMIT: u64 = 50;

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
