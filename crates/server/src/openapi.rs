//! The route table and the OpenAPI 3.1 document, both built from the
//! handlers' `#[utoipa::path]` attributes so that they cannot disagree.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
                       Authenticate with the session cookie from POST /api/v1/session (and send X-CSRF-Token \
                       with every change) or with `Authorization: Bearer iwt_...`."
    ),
    modifiers(&Security),
    security(("session" = []), ("token" = []))
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
    OpenApiRouter::with_openapi(ApiDoc::openapi())
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
        .split_for_parts()
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
