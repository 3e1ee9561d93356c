//! Extractors of query strings and JSON bodies whose rejections have the
//! API's error shape and name the parameter or field at fault, the value
//! given and the form the API accepts.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// Query parameters of one endpoint.
pub(crate) trait QueryParams: DeserializeOwned {
    /// Each accepted parameter with the form of its value, as an error
    /// message shows it.
    const PARAMS: &'static [(&'static str, &'static str)];
}

/// The query string of a request, parsed into `T`. A parameter that `T`
/// does not accept, or a value that does not parse, gets a 400 that names
/// the parameter.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: QueryParams,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Self)
    }
}

/// Parses a query string into `T`, rejecting unknown parameters.
pub(crate) fn parse_query<T: QueryParams>(query: &str) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if let Some((unknown, _)) = pairs
        .iter()
        .find(|(name, _)| !T::PARAMS.iter().any(|(accepted, _)| accepted == name))
    {
        return Err(unknown_parameter::<T>(unknown));
    }
    for (index, (name, _)) in pairs.iter().enumerate() {
        if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(ApiError::invalid(
                name,
                format!("query parameter {name} is given more than once; give it once"),
            ));
        }
    }
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let detail = error.into_inner().to_string();
        let Some((name, form)) = T::PARAMS.iter().find(|(name, _)| *name == path) else {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("the query string is invalid: {detail}"),
            );
        };
        let message = match pairs.iter().find(|(given, _)| given == name) {
            Some((_, value)) => {
                format!("query parameter {name} has the invalid value {value:?}; give {form}")
            }
            None => format!("query parameter {name} is invalid ({detail}); give {form}"),
        };
        ApiError::invalid(name, message)
    })
}

fn unknown_parameter<T: QueryParams>(name: &str) -> ApiError {
    let message = if T::PARAMS.is_empty() {
        format!("unknown query parameter {name:?}; this endpoint takes no query parameters")
    } else {
        let accepted: Vec<&str> = T::PARAMS.iter().map(|(name, _)| *name).collect();
        format!(
            "unknown query parameter {name:?}; the accepted parameters are {}",
            accepted.join(", ")
        )
    };
    ApiError::invalid(name, message)
}

/// A JSON request body whose errors have the API's error shape, naming the
/// field at fault, the value given and the expected form.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&request) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let limit = AppState::from_ref(state).max_body_bytes;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(&rejection, limit))?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            json_error(&path, error.inner())
        })?;
        deserializer.end().map_err(|error| json_error(".", &error))?;
        Ok(Self(value))
    }
}

/// Returns whether the request declares a JSON body: `application/json`
/// or `application/*+json`, with any parameters.
fn is_json(request: &Request) -> bool {
    let Some(value) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Returns the error for a body that could not be read.
fn body_rejection(rejection: &BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        crate::error::body_too_large(limit)
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "incomplete_body",
            format!(
                "the request body could not be read: {}; send the whole body",
                rejection.body_text()
            ),
        )
    }
}

/// Describes a serde error of a JSON body at `path`, such as `confidence`
/// or `values[2]`, where `.` is the body as a whole.
fn json_error(path: &str, error: &serde_json::Error) -> ApiError {
    let text = error.to_string();
    let detail = text.split(" at line ").next().unwrap_or(&text);
    if !error.is_data() {
        let mut rejection = ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "the body is not valid JSON: {detail} at line {} column {}",
                error.line(),
                error.column()
            ),
        );
        rejection.line = Some(error.line());
        return rejection;
    }
    let named = quoted_field(detail);
    let field = match (path, &named) {
        (".", Some(name)) => name.clone(),
        (".", None) => String::new(),
        _ => path.split(['[', '.']).next().unwrap_or(path).to_owned(),
    };
    let message = if let Some(problem) = detail
        .strip_prefix("invalid type: ")
        .or_else(|| detail.strip_prefix("invalid value: "))
    {
        let (given, expected) = problem.rsplit_once(", expected ").unwrap_or((problem, ""));
        let given = given.replace('`', "");
        if expected.is_empty() {
            format!("field {path} has the invalid value {given}")
        } else {
            format!(
                "field {path} has the invalid value {given}; give {}",
                expected_form(expected)
            )
        }
    } else if let Some(rest) = detail.strip_prefix("unknown field ") {
        let name = named.clone().unwrap_or_default();
        match rest.split_once(", expected one of ") {
            Some((_, accepted)) => format!(
                "unknown field {name:?}; the accepted fields are {}",
                accepted.replace('`', "")
            ),
            None => format!("unknown field {name:?}; remove it"),
        }
    } else if detail.starts_with("missing field ") {
        let name = named.clone().unwrap_or_default();
        format!("the field {name:?} is missing; add it to the JSON object")
    } else if path == "." {
        format!("the body is invalid: {detail}")
    } else {
        format!("field {path} is invalid: {detail}")
    };
    let mut rejection = ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message);
    if !field.is_empty() {
        rejection = rejection.with_field(&field);
    }
    rejection
}

/// Finds the field that a serde message quotes, as in "missing field `x`".
fn quoted_field(message: &str) -> Option<String> {
    let start = message.find("field `")? + "field `".len();
    let rest = &message[start..];
    rest.find('`').map(|end| rest[..end].to_owned())
}

/// Rewrites the expected type of a serde message as the JSON form to send.
fn expected_form(expected: &str) -> String {
    let integer = |low: &str, high: &str| format!("an integer from {low} to {high}");
    match expected {
        "u8" => integer("0", "255"),
        "u16" => integer("0", "65535"),
        "u32" => integer("0", &u32::MAX.to_string()),
        "u64" => integer("0", &u64::MAX.to_string()),
        "i32" => integer(&i32::MIN.to_string(), &i32::MAX.to_string()),
        "i64" => integer(&i64::MIN.to_string(), &i64::MAX.to_string()),
        "a boolean" => "true or false".to_owned(),
        "a string" | "a borrowed string" => "a JSON string".to_owned(),
        "a sequence" => "a JSON array".to_owned(),
        "a map" => "a JSON object".to_owned(),
        other if other.starts_with("struct ") => "a JSON object".to_owned(),
        other => other.to_owned(),
    }
}
