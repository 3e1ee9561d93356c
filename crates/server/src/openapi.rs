//! The route table and the OpenAPI 3.1 document, both built from the
//! handlers' `#[utoipa::path]` attributes so that they cannot disagree.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{admin, alerts, search, status, watchlists};
use crate::{AppState, auth, console};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "iocwatch",
        description = "Alerts, watchlists, the allowlist and accounts of an iocwatch service. \
                       Authenticate with `Authorization: Bearer iwt_...` or with the session cookie from \
                       POST /api/v1/session (and send X-CSRF-Token with every change). When a request \
                       has the Authorization header, the server authenticates it by the header alone \
                       and ignores the cookie. Every error has the JSON shape ErrorResponse."
    ),
    modifiers(&Security),
    security(("token" = []), ("session" = []))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Returns the router of every endpoint and the OpenAPI document that
/// describes it.
pub(crate) fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(crate::ingest))
        .routes(routes!(crate::health))
        .routes(routes!(crate::metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(console::index))
        .routes(routes!(console::asset))
        .routes(routes!(auth::login, auth::current, auth::logout))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::events))
        .routes(routes!(alerts::bulk))
        .routes(routes!(alerts::detail))
        .routes(routes!(alerts::set_status))
        .routes(routes!(alerts::assign))
        .routes(routes!(alerts::comment))
        .routes(routes!(watchlists::list, watchlists::create))
        .routes(routes!(watchlists::get, watchlists::update, watchlists::delete))
        .routes(routes!(watchlists::upload))
        .routes(routes!(
            watchlists::indicators,
            watchlists::add_indicators,
            watchlists::remove_indicators
        ))
        .routes(routes!(watchlists::expire))
        .routes(routes!(watchlists::history))
        .routes(routes!(admin::list_allowlist, admin::allow))
        .routes(routes!(admin::disallow))
        .routes(routes!(search::search))
        .routes(routes!(status::list_sources))
        .routes(routes!(status::list_sinks))
        .routes(routes!(status::dashboard))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::update_user, admin::delete_user))
        .routes(routes!(admin::list_tokens, admin::create_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::audit))
        .split_for_parts();
    document_common_errors(&mut document);
    (router, document)
}

/// Documents the errors that the extractors and the access check return
/// before a handler runs, on every operation that does not document them
/// itself. A query string, path or JSON body that does not parse gets 400.
/// A JSON body that is too large gets 413, and one sent without
/// `Content-Type: application/json` gets 415. A request without valid
/// credentials gets 401, and a change with a session cookie but no CSRF
/// token gets 403.
fn document_common_errors(document: &mut utoipa::openapi::OpenApi) {
    let global_security = document.security.clone().unwrap_or_default();
    for item in document.paths.paths.values_mut() {
        let operations = [
            (false, item.get.as_mut()),
            (false, item.head.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (is_change, operation) in operations {
            let Some(operation) = operation else { continue };
            let security = operation.security.as_ref().unwrap_or(&global_security);
            let public = security.is_empty()
                || security
                    .iter()
                    .any(|item| *item == SecurityRequirement::default());
            let json_body = operation
                .request_body
                .as_ref()
                .is_some_and(|body| body.content.contains_key("application/json"));
            let has_parameters = operation.parameters.as_ref().is_some_and(|list| !list.is_empty());
            let mut statuses: Vec<(&str, &str)> = Vec::new();
            if has_parameters || json_body {
                statuses.push(("400", "A parameter or the request body is invalid"));
            }
            if json_body {
                statuses.push(("413", "The request body is over the size limit"));
                statuses.push(("415", "The body is not sent with Content-Type: application/json"));
            }
            if !public {
                statuses.push(("401", "No valid session cookie or API token"));
                if is_change {
                    statuses.push((
                        "403",
                        "The caller's role is too low, or the session's CSRF token is missing",
                    ));
                }
            }
            for (status, description) in statuses {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(description));
            }
        }
    }
}

/// Returns a response in the one error shape with `description`.
fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorResponse")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", content)
            .build(),
    )
}

/// Returns the OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// Returns the OpenAPI document as JSON.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let text = DOCUMENT.get_or_init(|| openapi().to_json().unwrap_or_else(|_| "{}".to_owned()));
    ([(header::CONTENT_TYPE, "application/json")], text.clone()).into_response()
}
