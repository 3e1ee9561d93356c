//! The web console: files under `crates/server/assets/`, bundled into the
//! binary at build time, and the security headers of every response.

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use crate::error::ApiError;

static ASSETS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/assets");

/// The Content-Security-Policy of every response: scripts, styles, images
/// and requests only from the server itself, no inline scripts or style
/// attributes, no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn file(path: &str) -> Option<Response> {
    let file = ASSETS.get_file(path)?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let cache = if path == "index.html" {
        "no-cache"
    } else {
        "public, max-age=300"
    };
    Some(
        (
            [
                (header::CONTENT_TYPE, mime.essence_str().to_owned()),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
            Body::from(file.contents()),
        )
            .into_response(),
    )
}

/// Serves `/`: the console's index.html.
#[utoipa::path(get, path = "/", tag = "console", security(()),
    responses((status = 200, description = "The web console", content_type = "text/html", body = String)))]
pub(crate) async fn index() -> Response {
    file("index.html").unwrap_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this build has no web console",
        )
        .into_response()
    })
}

/// Serves `/assets/{path}`.
#[utoipa::path(get, path = "/assets/{path}", tag = "console", security(()), params(("path" = String, Path)),
    responses((status = 200, description = "A console file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = crate::ErrorResponse)))]
pub(crate) async fn asset(Path(path): Path<String>) -> Response {
    file(&path).unwrap_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no console file is named {path:?}"),
        )
        .into_response()
    })
}

/// Serves index.html for console routes such as `/alerts/…`, and the JSON
/// 404 for unknown API paths.
pub(crate) async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    let is_api = path.starts_with("/api/") || path == "/api" || path == "/healthz" || path == "/metrics";
    if !is_api && request.method() == axum::http::Method::GET {
        return index().await;
    }
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}
