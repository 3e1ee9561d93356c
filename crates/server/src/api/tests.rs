//! Tests of the API without a socket: each request goes through the whole
//! router with `oneshot`, against a real store in a temporary directory
//! and a real matcher. Every JSON response of a tested call is checked
//! against the schema that the OpenAPI document gives for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use iocwatch_matcher::{Matcher, MatcherBuilder};
use iocwatch_model::{DomainMatch, Indicator, IndicatorValue, Meta, Origin, ParseOptions, parse_indicator};
use iocwatch_store::{NewSighting, Role, Severity, Store, WatchlistSettings};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::{
    AppState, HealthReport, IngestRejection, IngestTarget, LoginLimiter, LoginLimits, MetricsRender,
};
use crate::{RateTracker, ServiceView, router};

const PASSWORD: &str = "correct horse battery";

struct NoIngest;

impl IngestTarget for NoIngest {
    fn check_source(&self, _: &str) -> Result<(), Vec<String>> {
        Err(Vec::new())
    }

    fn submit(&self, _: &str, _: Vec<Vec<u8>>) -> Result<tokio::sync::mpsc::Receiver<()>, IngestRejection> {
        Err(IngestRejection::UnknownSource { known: Vec::new() })
    }
}

/// The health report of a service with one source and one sink.
struct FixedHealth;

impl HealthReport for FixedHealth {
    fn health(&self) -> (bool, Value) {
        let report = json!({
            "status": "ok",
            "sources": [{"name": "zeek", "type": "file", "lines": 120, "last_line": "2024-05-01T10:00:00.000000Z"}],
            "sinks": [{"name": "siem", "type": "webhook", "status": "failing", "delivered": 3, "failed": 2,
                       "last_delivery": null, "last_error": "HTTP 500", "queue_depth": 2, "queue_oldest": null}],
        });
        (true, report)
    }
}

struct NoMetrics;

impl MetricsRender for NoMetrics {
    fn render(&self) -> String {
        String::new()
    }
}

/// A matcher built from the store, as the service builds it.
struct StoreMatcher(Arc<Store>);

impl ServiceView for StoreMatcher {
    fn matcher(&self) -> Matcher {
        let mut builder = MatcherBuilder::new();
        for list in self.0.active_watchlists(OffsetDateTime::now_utc()).unwrap() {
            let id = builder.add_watchlist(&list.name, list.settings.domain_match);
            for indicator in list.indicators {
                builder.add(id, indicator);
            }
        }
        builder.build().unwrap()
    }

    fn allowlist_filter(
        &self,
        entries: Vec<IndicatorValue>,
    ) -> Box<dyn Fn(&Indicator) -> bool + Send + Sync> {
        let allowlist = iocwatch_pipeline::Allowlist::new(entries);
        Box::new(move |indicator| allowlist.covers_indicator(indicator))
    }
}

/// Returns a state over one store shared by the ingest tests, which never
/// read it.
pub(crate) fn state() -> AppState {
    static SHARED: OnceLock<(tempfile::TempDir, Arc<Store>)> = OnceLock::new();
    let (_, store) = SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        (dir, store)
    });
    state_with(store.clone(), LoginLimits::default())
}

fn state_with(store: Arc<Store>, limits: LoginLimits) -> AppState {
    AppState {
        ingest: Arc::new(NoIngest),
        health: Arc::new(FixedHealth),
        metrics: Arc::new(NoMetrics),
        max_body_bytes: 1 << 20,
        service: Arc::new(StoreMatcher(store.clone())),
        store,
        tls: false,
        login_limiter: Arc::new(LoginLimiter::new(limits)),
        rates: Arc::new(RateTracker::default()),
    }
}

/// A response: status, headers and the body as JSON (or a string).
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// Auth of a request.
#[derive(Clone)]
enum As {
    Nobody,
    Token(String),
    Session { cookie: String, csrf: Option<String> },
}

struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    app: Router,
    admin: As,
    analyst: As,
    viewer: As,
    /// Responses to check against the OpenAPI document: method, path
    /// template, status, body.
    seen: Mutex<Vec<(Method, String, StatusCode, Value)>>,
}

fn token(store: &Store, user: &str) -> As {
    let (_, secret) = store
        .create_token(user, "tests", "setup", OffsetDateTime::now_utc())
        .unwrap();
    As::Token(secret)
}

fn harness_with(limits: LoginLimits) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let now = OffsetDateTime::now_utc();
    store
        .add_user("root", PASSWORD, Role::Admin, "setup", now)
        .unwrap();
    store
        .add_user("ana", PASSWORD, Role::Analyst, "setup", now)
        .unwrap();
    store
        .add_user("vic", PASSWORD, Role::Viewer, "setup", now)
        .unwrap();
    let app = router(state_with(store.clone(), limits));
    Harness {
        admin: token(&store, "root"),
        analyst: token(&store, "ana"),
        viewer: token(&store, "vic"),
        _dir: dir,
        store,
        app,
        seen: Mutex::new(Vec::new()),
    }
}

fn harness() -> Harness {
    harness_with(LoginLimits::default())
}

impl Harness {
    /// Sends a request; `template` is the OpenAPI path the call belongs to.
    async fn send(&self, method: Method, path: &str, template: &str, who: &As, body: Option<Value>) -> Reply {
        let mut request = Request::builder().method(method.clone()).uri(path);
        match who {
            As::Nobody => {}
            As::Token(secret) => request = request.header(header::AUTHORIZATION, format!("Bearer {secret}")),
            As::Session { cookie, csrf } => {
                request = request.header(header::COOKIE, cookie);
                if let Some(csrf) = csrf {
                    request = request.header("X-CSRF-Token", csrf);
                }
            }
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        self.raw(request, method, template).await
    }

    async fn raw(&self, request: Request<Body>, method: Method, template: &str) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        self.seen
            .lock()
            .unwrap()
            .push((method, template.to_owned(), status, body.clone()));
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, template: &str, who: &As) -> Reply {
        self.send(Method::GET, path, template, who, None).await
    }

    async fn post(&self, path: &str, template: &str, who: &As, body: Value) -> Reply {
        self.send(Method::POST, path, template, who, Some(body)).await
    }

    async fn login(&self, user: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/session",
            "/api/v1/session",
            &As::Nobody,
            json!({"username": user, "password": password}),
        )
        .await
    }

    async fn session(&self, user: &str) -> As {
        let reply = self.login(user, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let cookie = reply.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        As::Session {
            cookie,
            csrf: reply.body["csrf_token"].as_str().map(str::to_owned),
        }
    }

    /// Checks every recorded JSON response against its OpenAPI schema.
    fn check_schemas(&self) {
        let document = serde_json::to_value(crate::openapi()).unwrap();
        for (method, template, status, body) in self.seen.lock().unwrap().iter() {
            let operation = &document["paths"][template][method.as_str().to_lowercase()];
            assert!(
                operation.is_object(),
                "{method} {template} is not in the OpenAPI document"
            );
            let response = &operation["responses"][status.as_str()];
            assert!(
                response.is_object(),
                "{method} {template} answered {status}, which the OpenAPI document does not list: {body}"
            );
            let Some(schema) = response["content"]["application/json"].get("schema") else {
                continue;
            };
            if let Err(problem) = validate(&document, schema, body, "$") {
                panic!("{method} {template} {status}: {problem}\nbody: {body}");
            }
        }
    }
}

/// Validates `value` against the subset of JSON Schema that utoipa
/// writes: `$ref`, `type` (one or a list), `properties`, `required`,
/// `items`, `enum`, `oneOf`, `anyOf` and `allOf`.
fn validate(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &document["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: unknown schema {reference}"));
        }
        return validate(document, target, value, at);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            validate(document, part, value, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema.get(key).and_then(Value::as_array)
            && !choices
                .iter()
                .any(|choice| validate(document, choice, value, at).is_ok())
        {
            return Err(format!("{at}: {value} fits none of {key}"));
        }
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = names.iter().any(|name| match *name {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            _ => true,
        });
        if !fits {
            return Err(format!("{at}: {value} is not of type {names:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Value::Object(fields) = value {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    return Err(format!("{at}: missing required field {name}"));
                }
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, field) in fields {
                match properties.get(name) {
                    Some(property) => validate(document, property, field, &format!("{at}.{name}"))?,
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        return Err(format!("{at}: field {name} is not in the schema"));
                    }
                    None => {}
                }
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (index, element) in items.iter().enumerate() {
            validate(document, item, element, &format!("{at}[{index}]"))?;
        }
    }
    Ok(())
}

fn indicator(raw: &str, description: &str) -> Indicator {
    Indicator {
        value: parse_indicator(raw, None, ParseOptions::default()).unwrap().value,
        original: raw.to_owned(),
        meta: Arc::new(Meta {
            description: Some(description.to_owned()),
            confidence: Some(80),
            tags: vec!["c2".to_owned()],
            ..Meta::default()
        }),
        origin: Origin {
            source: Arc::from("seed.txt"),
            line: 1,
        },
    }
}

/// Stores an alert of `indicator` on `host` at `at` and returns its id.
fn raise(store: &Store, indicator: &str, host: &str, at: OffsetDateTime) -> String {
    let sighting = NewSighting {
        dedup_key: format!("c2/{indicator}/{host}"),
        watchlist: "c2".to_owned(),
        indicator: indicator.to_owned(),
        internal_host: Some(host.to_owned()),
        severity: Severity::High,
        event_time: at,
        window: Duration::from_secs(3600),
        document: json!({"event": {"kind": "alert"}, "iocwatch": {"direction": "outbound"}}),
        sinks: Vec::new(),
    };
    store.commit_batch(&[sighting], &[], at).unwrap()[0]
        .id()
        .to_string()
}

fn seed_watchlist(store: &Store) {
    let now = OffsetDateTime::now_utc();
    store
        .create_watchlist("c2", &WatchlistSettings::default(), now)
        .unwrap();
    let indicators = vec![
        indicator("198.51.100.0/24", "C2 network"),
        indicator("evil.example", "phishing kit"),
    ];
    store
        .import("c2", indicators, &iocwatch_store::ImportOptions::default(), now)
        .unwrap();
}

#[tokio::test]
async fn login_session_and_logout() {
    let h = harness();
    let reply = h.login("ana", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["user"], json!({"name": "ana", "role": "analyst"}));
    let cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("iocwatch_session="));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let session = h.session("ana").await;
    let me = h.get("/api/v1/session", "/api/v1/session", &session).await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body["csrf_token"].is_string());

    let out = h
        .send(
            Method::DELETE,
            "/api/v1/session",
            "/api/v1/session",
            &session,
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let gone = h.get("/api/v1/session", "/api/v1/session", &session).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    let nobody = h.get("/api/v1/alerts", "/api/v1/alerts", &As::Nobody).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    assert_eq!(nobody.body["error"]["code"], "not_authenticated");

    let wrong = h.login("ana", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["error"]["code"], "invalid_credentials");
    let missing = h
        .post(
            "/api/v1/session",
            "/api/v1/session",
            &As::Nobody,
            json!({"username": "ana"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["error"]["field"], "password");
    h.check_schemas();
}

#[tokio::test]
async fn login_rate_limited_per_user() {
    let limits = LoginLimits {
        per_user: 3,
        per_address: 100,
        window: Duration::from_secs(600),
    };
    let h = harness_with(limits);
    for _ in 0..3 {
        assert_eq!(
            h.login("vic", "wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = h.login("vic", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body["error"]["code"], "too_many_logins");
    let wait: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&wait), "{wait}");
    assert_eq!(h.login("ana", PASSWORD).await.status, StatusCode::OK);
    h.check_schemas();
}

#[tokio::test]
async fn login_rate_limited_per_address() {
    let limits = LoginLimits {
        per_user: 100,
        per_address: 2,
        window: Duration::from_secs(600),
    };
    let h = harness_with(limits);
    let from = |user: &str, address: &str| {
        let mut request = Request::post("/api/v1/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": user, "password": "wrong password"}).to_string(),
            ))
            .unwrap();
        let address: std::net::SocketAddr = address.parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(crate::ClientAddr(address)));
        request
    };
    let first = h
        .raw(from("ana", "192.0.2.1:4000"), Method::POST, "/api/v1/session")
        .await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    h.raw(from("vic", "192.0.2.1:4001"), Method::POST, "/api/v1/session")
        .await;
    let limited = h
        .raw(from("root", "192.0.2.1:4002"), Method::POST, "/api/v1/session")
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let other = h
        .raw(from("root", "192.0.2.2:4000"), Method::POST, "/api/v1/session")
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn csrf_required_for_session_changes() {
    let h = harness();
    let id = raise(&h.store, "198.51.100.23", "10.1.0.5", OffsetDateTime::now_utc());
    let path = format!("/api/v1/alerts/{id}/comments");
    let template = "/api/v1/alerts/{id}/comments";
    let As::Session { cookie, csrf } = h.session("ana").await else {
        unreachable!()
    };
    let missing = As::Session {
        cookie: cookie.clone(),
        csrf: None,
    };
    let forged = As::Session {
        cookie: cookie.clone(),
        csrf: Some("0".repeat(64)),
    };
    for who in [missing, forged] {
        let reply = h.post(&path, template, &who, json!({"text": "hello"})).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.body["error"]["code"], "csrf_failed");
    }
    let good = As::Session { cookie, csrf };
    let reply = h.post(&path, template, &good, json!({"text": "hello"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let read = h
        .get(
            &format!("/api/v1/alerts/{id}"),
            "/api/v1/alerts/{id}",
            &As::Session {
                cookie: match &good {
                    As::Session { cookie, .. } => cookie.clone(),
                    _ => unreachable!(),
                },
                csrf: None,
            },
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    h.check_schemas();
}

#[tokio::test]
async fn tokens_created_listed_and_revoked() {
    let h = harness();
    let created = h
        .post(
            "/api/v1/tokens",
            "/api/v1/tokens",
            &h.viewer,
            json!({"name": "script"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let secret = created.body["token"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    let mine = As::Token(secret);
    assert_eq!(
        h.get("/api/v1/alerts", "/api/v1/alerts", &mine).await.status,
        StatusCode::OK
    );

    let own = h.get("/api/v1/tokens", "/api/v1/tokens", &h.viewer).await;
    assert!(
        own.body
            .as_array()
            .unwrap()
            .iter()
            .all(|token| token["owner"] == "vic")
    );
    let all = h.get("/api/v1/tokens", "/api/v1/tokens", &h.admin).await;
    assert!(
        all.body
            .as_array()
            .unwrap()
            .iter()
            .any(|token| token["owner"] == "ana")
    );

    let theirs = h
        .send(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            "/api/v1/tokens/{id}",
            &h.analyst,
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let revoked = h
        .send(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            "/api/v1/tokens/{id}",
            &h.viewer,
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let rejected = h.get("/api/v1/alerts", "/api/v1/alerts", &mine).await;
    assert_eq!(rejected.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rejected.body["error"]["code"], "invalid_token");
    let garbage = h
        .get(
            "/api/v1/alerts",
            "/api/v1/alerts",
            &As::Token("iwt_nope".to_owned()),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    h.check_schemas();
}

#[tokio::test]
async fn viewer_cannot_change_state() {
    let h = harness();
    seed_watchlist(&h.store);
    let id = raise(&h.store, "198.51.100.23", "10.1.0.5", OffsetDateTime::now_utc());
    let changes = [
        (
            Method::POST,
            format!("/api/v1/alerts/{id}/status"),
            "/api/v1/alerts/{id}/status",
            json!({"status": "acknowledged"}),
        ),
        (
            Method::POST,
            format!("/api/v1/alerts/{id}/assign"),
            "/api/v1/alerts/{id}/assign",
            json!({"assignee": "vic"}),
        ),
        (
            Method::POST,
            format!("/api/v1/alerts/{id}/comments"),
            "/api/v1/alerts/{id}/comments",
            json!({"text": "x"}),
        ),
        (
            Method::POST,
            "/api/v1/alerts/bulk".to_owned(),
            "/api/v1/alerts/bulk",
            json!({"ids": [id], "action": "acknowledge"}),
        ),
        (
            Method::POST,
            "/api/v1/watchlists".to_owned(),
            "/api/v1/watchlists",
            json!({"name": "new"}),
        ),
        (
            Method::PATCH,
            "/api/v1/watchlists/c2".to_owned(),
            "/api/v1/watchlists/{name}",
            json!({"enabled": false}),
        ),
        (
            Method::POST,
            "/api/v1/allowlist".to_owned(),
            "/api/v1/allowlist",
            json!({"value": "192.0.2.1"}),
        ),
        (
            Method::POST,
            "/api/v1/users".to_owned(),
            "/api/v1/users",
            json!({"name": "x", "password": PASSWORD, "role": "admin"}),
        ),
    ];
    for (method, path, template, body) in changes {
        let reply = h
            .send(method.clone(), &path, template, &h.viewer, Some(body))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["code"], "forbidden");
    }
    let analyst = h
        .post(
            "/api/v1/watchlists",
            "/api/v1/watchlists",
            &h.analyst,
            json!({"name": "new"}),
        )
        .await;
    assert_eq!(analyst.status, StatusCode::FORBIDDEN);
    let audit = h.get("/api/v1/audit", "/api/v1/audit", &h.analyst).await;
    assert_eq!(audit.status, StatusCode::FORBIDDEN);
    let users = h.get("/api/v1/users", "/api/v1/users", &h.viewer).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN);
    h.check_schemas();
}

#[tokio::test]
async fn alert_list_filters_and_pages() {
    let h = harness();
    let now = OffsetDateTime::now_utc();
    let old = raise(
        &h.store,
        "198.51.100.23",
        "10.1.0.5",
        now - time::Duration::hours(3),
    );
    let new = raise(&h.store, "evil.example", "10.1.0.6", now);
    let all = h.get("/api/v1/alerts", "/api/v1/alerts", &h.viewer).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.body["total"], 2);
    assert_eq!(all.body["items"][0]["id"], new.as_str());
    assert_eq!(all.body["items"][0]["short_id"], &new[..8]);
    assert_eq!(all.body["items"][1]["direction"], "outbound");

    let page = h
        .get("/api/v1/alerts?limit=1&offset=1", "/api/v1/alerts", &h.viewer)
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["items"][0]["id"], old.as_str());
    assert_eq!(page.body["total"], 2);
    let host = h
        .get(
            "/api/v1/alerts?host=10.1.0.5&status=new,acknowledged",
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(host.body["total"], 1);
    let text = h.get("/api/v1/alerts?q=EVIL", "/api/v1/alerts", &h.viewer).await;
    assert_eq!(text.body["items"][0]["id"], new.as_str());
    let since = format!(
        "/api/v1/alerts?since={}",
        crate::api::rfc3339(now - time::Duration::hours(1))
    );
    assert_eq!(h.get(&since, "/api/v1/alerts", &h.viewer).await.body["total"], 1);

    let bad = h
        .get("/api/v1/alerts?status=done", "/api/v1/alerts", &h.viewer)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["field"], "status");
    let bad = h.get("/api/v1/alerts?limit=0", "/api/v1/alerts", &h.viewer).await;
    assert_eq!(bad.body["error"]["field"], "limit");
    let bad = h
        .get("/api/v1/alerts?since=yesterday", "/api/v1/alerts", &h.viewer)
        .await;
    assert_eq!(bad.body["error"]["field"], "since");
    h.check_schemas();
}

/// `since` and `until` select alerts by when iocwatch stored them, the
/// `event_` pair by the event time in the log, and `indicator` also finds
/// an alert on a network that contains the value.
#[tokio::test]
async fn alert_list_store_times_and_covering_indicator() {
    let h = harness();
    // Whole seconds, which the store keeps exactly.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    // Lines of a log from two days ago, read now.
    let sighting = NewSighting {
        dedup_key: "c2/203.0.113.0/28/10.1.0.5".to_owned(),
        watchlist: "c2".to_owned(),
        indicator: "203.0.113.0/28".to_owned(),
        internal_host: Some("10.1.0.5".to_owned()),
        severity: Severity::High,
        event_time: now - time::Duration::days(2),
        window: Duration::from_secs(3600),
        document: json!({"event": {"kind": "alert"}}),
        sinks: Vec::new(),
    };
    let id = h.store.commit_batch(&[sighting], &[], now).unwrap()[0]
        .id()
        .to_string();
    let hour_ago = crate::api::rfc3339(now - time::Duration::hours(1));
    let total = |reply: &Reply| reply.body["total"].as_u64().unwrap();

    let since = h
        .get(
            &format!("/api/v1/alerts?since={hour_ago}"),
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(total(&since), 1, "{}", since.body);
    assert_eq!(since.body["items"][0]["id"], id.as_str());
    assert_eq!(
        since.body["items"][0]["last_sighting_at"],
        crate::api::rfc3339(now)
    );
    for (query, expected) in [
        (format!("until={hour_ago}"), 0),
        (format!("event_since={hour_ago}"), 0),
        (format!("event_until={hour_ago}"), 1),
        ("indicator=203.0.113.9".to_owned(), 1),
        ("indicator=203.0.113%5B.%5D9".to_owned(), 1),
        ("indicator=203.0.113.0/24".to_owned(), 0),
        ("indicator=203.0.113.17".to_owned(), 0),
        ("indicator=".to_owned(), 1),
    ] {
        let reply = h
            .get(&format!("/api/v1/alerts?{query}"), "/api/v1/alerts", &h.viewer)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
        assert_eq!(total(&reply), expected, "{query}: {}", reply.body);
    }

    let bad = h
        .get(
            "/api/v1/alerts?event_since=yesterday",
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["field"], "event_since");
    let reversed = h
        .get(
            "/api/v1/alerts?event_since=2024-05-02T00:00:00Z&event_until=2024-05-01T00:00:00Z",
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(reversed.status, StatusCode::BAD_REQUEST);
    assert_eq!(reversed.body["error"]["field"], "event_until");
    h.check_schemas();
}

#[tokio::test]
async fn alert_detail_related_and_next_steps() {
    let h = harness();
    let now = OffsetDateTime::now_utc();
    let id = raise(
        &h.store,
        "198.51.100.23",
        "10.1.0.5",
        now - time::Duration::minutes(10),
    );
    raise(&h.store, "198.51.100.23", "10.1.0.5", now);
    let same_host = raise(&h.store, "evil.example", "10.1.0.5", now);
    let same_indicator = raise(&h.store, "198.51.100.23", "10.1.0.9", now);

    let reply = h
        .get(
            &format!("/api/v1/alerts/{}", &id[..6]),
            "/api/v1/alerts/{id}",
            &h.viewer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(body["alert"]["id"], id.as_str());
    assert_eq!(body["alert"]["count"], 2);
    assert_eq!(body["sightings"].as_array().unwrap().len(), 2);
    assert_eq!(body["history"][0]["to"], "new");
    assert_eq!(body["related"]["same_host"][0]["id"], same_host.as_str());
    assert_eq!(
        body["related"]["same_indicator"][0]["id"],
        same_indicator.as_str()
    );
    let commands: Vec<&str> = body["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|step| step["command"].as_str())
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.contains("nft add rule inet filter forward ip daddr 198.51.100.23 drop"))
    );
    assert!(
        commands
            .iter()
            .any(|c| c.contains("iptables -I FORWARD -s 198.51.100.23 -j DROP"))
    );
    assert_eq!(body["next_steps"][0]["title"], "Contain 10.1.0.5");

    let missing = h
        .get("/api/v1/alerts/ffffffff", "/api/v1/alerts/{id}", &h.viewer)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    h.check_schemas();
}

#[test]
fn next_steps_by_kind() {
    let domain = crate::api::alerts::next_steps("evil.example", None);
    assert!(
        domain[0]
            .command
            .as_deref()
            .unwrap()
            .contains("local_zone evil.example.")
    );
    let hash = crate::api::alerts::next_steps(&"a".repeat(64), Some("10.0.0.1"));
    assert!(hash[1].command.as_deref().unwrap().contains("sha256sum"));
    let v6 = crate::api::alerts::next_steps("2001:db8::1", None);
    assert!(
        v6[0]
            .command
            .as_deref()
            .unwrap()
            .contains("ip6 daddr 2001:db8::1")
    );
    assert!(v6[1].command.as_deref().unwrap().starts_with("ip6tables"));
    let mail = crate::api::alerts::next_steps("ceo@evil.example", None);
    assert!(mail[0].title.contains("credentials"));
}

#[tokio::test]
async fn triage_writes_history_and_audit() {
    let h = harness();
    let id = raise(&h.store, "198.51.100.23", "10.1.0.5", OffsetDateTime::now_utc());
    let status = format!("/api/v1/alerts/{id}/status");
    let template = "/api/v1/alerts/{id}/status";
    let closing = h
        .post(
            &status,
            template,
            &h.analyst,
            json!({"status": "closed", "comment": "done"}),
        )
        .await;
    assert_eq!(closing.status, StatusCode::BAD_REQUEST);
    assert_eq!(closing.body["error"]["field"], "resolution");
    let closing = h
        .post(
            &status,
            template,
            &h.analyst,
            json!({"status": "closed", "resolution": "benign"}),
        )
        .await;
    assert_eq!(closing.body["error"]["field"], "comment");
    let ack = h
        .post(&status, template, &h.analyst, json!({"status": "acknowledged"}))
        .await;
    assert_eq!(ack.status, StatusCode::OK);
    assert_eq!(ack.body["status"], "acknowledged");
    let again = h
        .post(&status, template, &h.analyst, json!({"status": "acknowledged"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let closed = h
        .post(
            &status,
            template,
            &h.analyst,
            json!({"status": "closed", "resolution": "false-positive", "comment": "scanner"}),
        )
        .await;
    assert_eq!(closed.body["resolution"], "false-positive");

    let assign = format!("/api/v1/alerts/{id}/assign");
    let assigned = h
        .post(
            &assign,
            "/api/v1/alerts/{id}/assign",
            &h.analyst,
            json!({"assignee": "ana"}),
        )
        .await;
    assert_eq!(assigned.body["assignee"], "ana");
    let ghost = h
        .post(
            &assign,
            "/api/v1/alerts/{id}/assign",
            &h.analyst,
            json!({"assignee": "ghost"}),
        )
        .await;
    assert_eq!(ghost.status, StatusCode::BAD_REQUEST);
    assert_eq!(ghost.body["error"]["field"], "assignee");

    let audit = h
        .get(
            &format!("/api/v1/audit?target=alert:{id}"),
            "/api/v1/audit",
            &h.admin,
        )
        .await;
    let items = audit.body["items"].as_array().unwrap();
    assert_eq!(audit.body["total"], 3);
    assert_eq!(items[0]["action"], "alert.assign");
    assert_eq!(items[0]["before"], json!({"assignee": null}));
    assert_eq!(items[0]["after"], json!({"assignee": "ana"}));
    assert_eq!(items[1]["action"], "alert.status");
    assert_eq!(items[1]["actor"], "ana");
    assert_eq!(items[1]["before"]["status"], "acknowledged");
    assert_eq!(items[1]["after"]["status"], "closed");
    assert_eq!(items[1]["after"]["resolution"], "false-positive");
    let by_actor = h
        .get("/api/v1/audit?actor=ana&limit=1", "/api/v1/audit", &h.admin)
        .await;
    assert_eq!(by_actor.body["items"].as_array().unwrap().len(), 1);

    let detail = h
        .get(&format!("/api/v1/alerts/{id}"), "/api/v1/alerts/{id}", &h.viewer)
        .await;
    let history = detail.body["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["comment"], "scanner");
    h.check_schemas();
}

#[tokio::test]
async fn bulk_changes_each_alert() {
    let h = harness();
    let now = OffsetDateTime::now_utc();
    let a = raise(&h.store, "198.51.100.23", "10.1.0.5", now);
    let b = raise(&h.store, "198.51.100.24", "10.1.0.5", now);
    let body =
        json!({"ids": [a, b, "00000000"], "action": "close", "resolution": "true-positive", "comment": "c2"});
    let reply = h
        .post("/api/v1/alerts/bulk", "/api/v1/alerts/bulk", &h.analyst, body)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["updated"], 2);
    assert_eq!(reply.body["failed"][0]["id"], "00000000");
    let bad = h
        .post(
            "/api/v1/alerts/bulk",
            "/api/v1/alerts/bulk",
            &h.analyst,
            json!({"ids": [a], "action": "close"}),
        )
        .await;
    assert_eq!(bad.body["error"]["field"], "resolution");
    let bad = h
        .post(
            "/api/v1/alerts/bulk",
            "/api/v1/alerts/bulk",
            &h.analyst,
            json!({"ids": [a], "action": "delete"}),
        )
        .await;
    assert_eq!(bad.body["error"]["field"], "action");
    h.check_schemas();
}

#[tokio::test]
async fn event_stream_sends_changed_alerts() {
    let h = harness();
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let id = raise(&h.store, "198.51.100.23", "10.1.0.5", OffsetDateTime::now_utc());
    let Some(As::Token(secret)) = Some(h.viewer.clone()) else {
        unreachable!()
    };
    let request = Request::get(format!(
        "/api/v1/alerts/events?after={}",
        crate::api::rfc3339(before)
    ))
    .header(header::AUTHORIZATION, format!("Bearer {secret}"))
    .body(Body::empty())
    .unwrap();
    let response = h.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: alert\n"), "{text}");
    assert!(text.contains(&id), "{text}");
}

#[tokio::test]
async fn watchlists_created_changed_and_deleted() {
    let h = harness();
    let create =
        json!({"name": "c2", "severity": "high", "ttl": "30d", "dedup_window": "2h", "description": "C2"});
    let created = h
        .post(
            "/api/v1/watchlists",
            "/api/v1/watchlists",
            &h.admin,
            create.clone(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["severity"], "high");
    assert_eq!(created.body["ttl"], "30days");
    assert_eq!(created.body["dedup_window"], "2h");
    let duplicate = h
        .post("/api/v1/watchlists", "/api/v1/watchlists", &h.admin, create)
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    let bad = h
        .post(
            "/api/v1/watchlists",
            "/api/v1/watchlists",
            &h.admin,
            json!({"name": "x", "ttl": "soon"}),
        )
        .await;
    assert_eq!(bad.body["error"]["field"], "ttl");
    // A zero window would alert on every repeat, and a ttl of a million
    // years would pass the last time the store holds.
    for (field, value) in [("dedup_window", "0s"), ("ttl", "0s"), ("ttl", "999999y")] {
        let bad = h
            .post(
                "/api/v1/watchlists",
                "/api/v1/watchlists",
                &h.admin,
                json!({"name": "x", field: value}),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{field} {value}");
        assert_eq!(bad.body["error"]["field"], field, "{field} {value}");
    }
    let unknown = h
        .post(
            "/api/v1/watchlists",
            "/api/v1/watchlists",
            &h.admin,
            json!({"name": "x", "colour": "red"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["error"]["field"], "colour");

    let patched = h
        .send(
            Method::PATCH,
            "/api/v1/watchlists/c2",
            "/api/v1/watchlists/{name}",
            &h.admin,
            Some(json!({"enabled": false, "severity": "auto"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["enabled"], false);
    assert_eq!(patched.body["severity"], Value::Null);
    let list = h.get("/api/v1/watchlists", "/api/v1/watchlists", &h.viewer).await;
    assert_eq!(list.body[0]["name"], "c2");
    let history = h
        .get(
            "/api/v1/watchlists/c2/history",
            "/api/v1/watchlists/{name}/history",
            &h.viewer,
        )
        .await;
    assert_eq!(history.body["total"], 2);
    assert_eq!(history.body["items"][0]["before"]["enabled"], true);
    assert_eq!(history.body["items"][0]["after"]["enabled"], false);

    let deleted = h
        .send(
            Method::DELETE,
            "/api/v1/watchlists/c2",
            "/api/v1/watchlists/{name}",
            &h.admin,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = h
        .get("/api/v1/watchlists/c2", "/api/v1/watchlists/{name}", &h.viewer)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["error"]["code"], "unknown_watchlist");
    h.check_schemas();
}

#[tokio::test]
async fn upload_reports_rejected_lines() {
    let h = harness();
    h.post(
        "/api/v1/watchlists",
        "/api/v1/watchlists",
        &h.admin,
        json!({"name": "feed"}),
    )
    .await;
    h.post(
        "/api/v1/allowlist",
        "/api/v1/allowlist",
        &h.admin,
        json!({"value": "198.51.100.8"}),
    )
    .await;
    let csv = "ip,comment\n198.51.100.7,c2\nnot-an-ip!,bad\n127.0.0.1,loopback\n198.51.100[.]8,allowed\n";
    let request = Request::post("/api/v1/watchlists/feed/upload?filename=feed.csv&column=ip")
        .header(
            header::AUTHORIZATION,
            match &h.admin {
                As::Token(secret) => format!("Bearer {secret}"),
                _ => unreachable!(),
            },
        )
        .body(Body::from(csv))
        .unwrap();
    let reply = h
        .raw(request, Method::POST, "/api/v1/watchlists/{name}/upload")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["added"], 1);
    assert_eq!(reply.body["skipped_allowlisted"], 1);
    assert_eq!(reply.body["rejected_total"], 2);
    let lines: Vec<u64> = reply.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4]);

    let again = Request::post("/api/v1/watchlists/feed/upload?filename=feed.csv&column=ip")
        .header(
            header::AUTHORIZATION,
            match &h.admin {
                As::Token(secret) => format!("Bearer {secret}"),
                _ => unreachable!(),
            },
        )
        .body(Body::from(csv))
        .unwrap();
    let reply = h
        .raw(again, Method::POST, "/api/v1/watchlists/{name}/upload")
        .await;
    assert_eq!(reply.body["updated"], 1);
    let history = h
        .get(
            "/api/v1/watchlists/feed/history",
            "/api/v1/watchlists/{name}/history",
            &h.admin,
        )
        .await;
    assert_eq!(history.body["items"][0]["action"], "indicators.upload");
    assert_eq!(history.body["items"][0]["after"]["source"], "feed.csv");
    h.check_schemas();
}

#[tokio::test]
async fn indicators_added_listed_expired_removed() {
    let h = harness();
    h.post(
        "/api/v1/watchlists",
        "/api/v1/watchlists",
        &h.admin,
        json!({"name": "c2"}),
    )
    .await;
    let path = "/api/v1/watchlists/c2/indicators";
    let template = "/api/v1/watchlists/{name}/indicators";
    let body = json!({"values": ["hxxp://x[.]example/a", "198.51.100[.]9", "???"], "description": "seen in IR", "confidence": 70, "ttl": "7d"});
    let added = h.post(path, template, &h.admin, body).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["added"], 2);
    assert_eq!(added.body["rejected"][0]["value"], "???");

    let listed = h.get(&format!("{path}?q=x.example"), template, &h.viewer).await;
    assert_eq!(listed.body["total"], 1);
    let item = &listed.body["items"][0];
    assert_eq!(item["value"], "http://x.example/a");
    assert_eq!(item["kind"], "url");
    assert_eq!(item["confidence"], 70);
    assert!(item["expires_at"].is_string());

    let expired = h
        .post(
            "/api/v1/watchlists/c2/indicators/expire",
            "/api/v1/watchlists/{name}/indicators/expire",
            &h.admin,
            json!({"values": ["198.51.100.9"], "at": null}),
        )
        .await;
    assert_eq!(expired.body["changed"], 1);
    let info = h
        .get("/api/v1/watchlists/c2", "/api/v1/watchlists/{name}", &h.viewer)
        .await;
    assert_eq!(info.body["expired"], 1);

    let removed = h
        .send(
            Method::DELETE,
            path,
            template,
            &h.admin,
            Some(json!({"values": ["hxxp://x[.]example/a"]})),
        )
        .await;
    assert_eq!(removed.body["changed"], 1);
    let listed = h.get(path, template, &h.viewer).await;
    assert_eq!(listed.body["total"], 1);
    h.check_schemas();
}

#[tokio::test]
async fn allowlist_added_and_removed_with_audit() {
    let h = harness();
    let added = h
        .post(
            "/api/v1/allowlist",
            "/api/v1/allowlist",
            &h.admin,
            json!({"value": "scanner[.]example", "comment": "our scanner"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    assert_eq!(added.body["value"], "scanner.example");
    let again = h
        .post(
            "/api/v1/allowlist",
            "/api/v1/allowlist",
            &h.admin,
            json!({"value": "scanner.example", "comment": "renamed"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let broad = h
        .post(
            "/api/v1/allowlist",
            "/api/v1/allowlist",
            &h.admin,
            json!({"value": "10.0.0.0/4"}),
        )
        .await;
    assert_eq!(broad.status, StatusCode::BAD_REQUEST);
    assert_eq!(broad.body["error"]["field"], "value");
    let list = h.get("/api/v1/allowlist", "/api/v1/allowlist", &h.viewer).await;
    assert_eq!(list.body[0]["comment"], "renamed");

    let removed = h
        .send(
            Method::DELETE,
            "/api/v1/allowlist/scanner.example",
            "/api/v1/allowlist/{value}",
            &h.admin,
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let missing = h
        .send(
            Method::DELETE,
            "/api/v1/allowlist/scanner.example",
            "/api/v1/allowlist/{value}",
            &h.admin,
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let audit = h
        .get("/api/v1/audit?target=allowlist:*", "/api/v1/audit", &h.admin)
        .await;
    let items = audit.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["action"], "allowlist.remove");
    assert_eq!(items[0]["after"], Value::Null);
    assert_eq!(items[1]["before"]["comment"], "our scanner");
    assert_eq!(items[1]["after"]["comment"], "renamed");
    h.check_schemas();
}

#[tokio::test]
async fn exposure_check_uses_matcher_and_alerts() {
    let h = harness();
    seed_watchlist(&h.store);
    let id = raise(&h.store, "198.51.100.0/24", "10.1.0.5", OffsetDateTime::now_utc());
    let body =
        json!({"values": ["198.51.100[.]23", "hxxps://www.evil[.]example/x", "203.0.113.1", "not a value"]});
    let reply = h.post("/api/v1/search", "/api/v1/search", &h.viewer, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["normalized"], "198.51.100.23");
    assert_eq!(results[0]["kind"], "ip");
    assert_eq!(results[0]["matches"][0]["watchlist"], "c2");
    assert_eq!(results[0]["matches"][0]["indicator"], "198.51.100.0/24");
    assert_eq!(results[0]["matches"][0]["description"], "C2 network");
    assert_eq!(results[0]["seen"]["alerts"], 1);
    assert_eq!(results[0]["seen"]["alert_ids"][0], id.as_str());
    assert_eq!(results[1]["matches"][0]["indicator"], "evil.example");
    assert_eq!(results[2]["matches"], json!([]));
    assert_eq!(results[2]["seen"]["alerts"], 0);
    assert!(results[3]["error"].is_string());
    h.check_schemas();
}

#[tokio::test]
async fn users_managed_by_admin() {
    let h = harness();
    let created = h
        .post(
            "/api/v1/users",
            "/api/v1/users",
            &h.admin,
            json!({"name": "eve", "password": PASSWORD, "role": "analyst"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let short = h
        .post(
            "/api/v1/users",
            "/api/v1/users",
            &h.admin,
            json!({"name": "bob", "password": "short", "role": "viewer"}),
        )
        .await;
    assert_eq!(short.body["error"]["field"], "password");
    let role = h
        .post(
            "/api/v1/users",
            "/api/v1/users",
            &h.admin,
            json!({"name": "bob", "password": PASSWORD, "role": "boss"}),
        )
        .await;
    assert_eq!(role.body["error"]["field"], "role");
    let duplicate = h
        .post(
            "/api/v1/users",
            "/api/v1/users",
            &h.admin,
            json!({"name": "eve", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);

    let session = h.session("eve").await;
    let disabled = h
        .send(
            Method::PATCH,
            "/api/v1/users/eve",
            "/api/v1/users/{name}",
            &h.admin,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled.body["disabled"], true);
    assert_eq!(
        h.get("/api/v1/session", "/api/v1/session", &session).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.login("eve", PASSWORD).await.status, StatusCode::UNAUTHORIZED);

    let list = h.get("/api/v1/users", "/api/v1/users", &h.admin).await;
    assert_eq!(list.body.as_array().unwrap().len(), 4);
    let own = h
        .send(
            Method::DELETE,
            "/api/v1/users/root",
            "/api/v1/users/{name}",
            &h.admin,
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    let deleted = h
        .send(
            Method::DELETE,
            "/api/v1/users/eve",
            "/api/v1/users/{name}",
            &h.admin,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let audit = h
        .get("/api/v1/audit?target=user:eve", "/api/v1/audit", &h.admin)
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["user.delete", "user.update", "user.create"]);
    assert_eq!(audit.body["items"][1]["before"]["disabled"], false);
    assert_eq!(audit.body["items"][1]["after"]["disabled"], true);
    h.check_schemas();
}

#[tokio::test]
async fn sources_sinks_and_dashboard() {
    let h = harness();
    let now = OffsetDateTime::now_utc();
    raise(&h.store, "198.51.100.23", "10.1.0.5", now);
    raise(&h.store, "198.51.100.23", "10.1.0.6", now);
    raise(
        &h.store,
        "evil.example",
        "10.1.0.5",
        now - time::Duration::hours(2),
    );
    let sources = h.get("/api/v1/sources", "/api/v1/sources", &h.viewer).await;
    assert_eq!(sources.body[0]["name"], "zeek");
    assert_eq!(sources.body[0]["lines"], 120);
    let sinks = h.get("/api/v1/sinks", "/api/v1/sinks", &h.viewer).await;
    assert_eq!(sinks.body[0]["status"], "failing");
    assert_eq!(sinks.body[0]["queue_depth"], 2);

    let dashboard = h
        .get("/api/v1/dashboard?hours=6", "/api/v1/dashboard", &h.viewer)
        .await;
    assert_eq!(dashboard.status, StatusCode::OK);
    let body = &dashboard.body;
    let buckets = body["alerts_over_time"].as_array().unwrap();
    assert_eq!(buckets.len(), 6);
    assert_eq!(
        buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>(),
        3
    );
    assert_eq!(buckets[5]["count"], 2);
    assert_eq!(
        body["open_by_severity"],
        json!({"low": 0, "medium": 0, "high": 3, "critical": 0})
    );
    assert_eq!(
        body["top_indicators"][0],
        json!({"indicator": "198.51.100.23", "watchlist": "c2", "alerts": 2})
    );
    assert_eq!(body["top_hosts"][0], json!({"host": "10.1.0.5", "alerts": 2}));
    let bad = h
        .get("/api/v1/dashboard?hours=0", "/api/v1/dashboard", &h.viewer)
        .await;
    assert_eq!(bad.body["error"]["field"], "hours");
    h.check_schemas();
}

#[tokio::test]
async fn console_served_with_security_headers() {
    let h = harness();
    for path in ["/", "/alerts/1234", "/admin/users"] {
        let reply = h.get(path, "/", &As::Nobody).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(
            reply.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(reply.body.as_str().unwrap().contains("<html"));
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("script-src 'self'"));
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(reply.headers[header::REFERRER_POLICY], "no-referrer");
    }
    let missing = h.get("/assets/none.js", "/assets/{path}", &As::Nobody).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let api = h.get("/api/v1/nothing", "/api/v1/nothing", &As::Nobody).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.body["error"]["code"], "not_found");
    assert!(api.headers.contains_key(header::CONTENT_SECURITY_POLICY));
}

#[tokio::test]
async fn console_assets_have_types() {
    let h = harness();
    let css = h.get("/assets/app.css", "/assets/{path}", &As::Nobody).await;
    if css.status == StatusCode::OK {
        assert_eq!(css.headers[header::CONTENT_TYPE], "text/css");
    }
    let index = h.get("/assets/index.html", "/assets/{path}", &As::Nobody).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.headers[header::CONTENT_TYPE], "text/html");
}

/// Every route of the router is in the OpenAPI document, and every
/// operation of the document is served: a documented path serves each of
/// its documented methods and rejects the others with 405.
#[tokio::test]
async fn openapi_matches_router() {
    let h = harness();
    let document = serde_json::to_value(crate::openapi()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let served = h.get("/api/openapi.json", "/api/openapi.json", &As::Nobody).await;
    assert_eq!(served.body, document);
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "{}", paths.len());
    let methods = [
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::PUT,
        Method::DELETE,
    ];
    for (template, operations) in paths {
        let concrete = template.replace(['{', '}'], "");
        for method in &methods {
            let documented = operations.get(method.as_str().to_lowercase()).is_some();
            let request = Request::builder()
                .method(method.clone())
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let response = h.app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            if documented {
                assert_ne!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is documented but not served"
                );
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                let fallback = serde_json::from_slice::<Value>(&bytes)
                    .is_ok_and(|body| body["error"]["message"] == "no such endpoint");
                assert!(!fallback, "{method} {template} is documented but not routed");
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is served but not documented"
                );
            }
        }
    }
    // A path outside the document reaches the fallback: the console for
    // GET, the JSON 404 for the API.
    for path in ["/api/v1/unknown", "/api/v2/alerts", "/api/v1/alerts/x/y/z"] {
        let reply = h.get(path, path, &As::Nobody).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[test]
fn schema_validator_rejects_mismatches() {
    let document = json!({"components": {"schemas": {"A": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}, "s": {"type": ["string", "null"]}}}}}});
    let schema = json!({"$ref": "#/components/schemas/A"});
    assert!(validate(&document, &schema, &json!({"n": 1, "s": null}), "$").is_ok());
    assert!(validate(&document, &schema, &json!({"s": "x"}), "$").is_err());
    assert!(validate(&document, &schema, &json!({"n": "1"}), "$").is_err());
    assert!(validate(&document, &schema, &json!({"n": 1, "s": 2}), "$").is_err());
}

#[tokio::test]
async fn store_matcher_sees_domain_mode() {
    let h = harness();
    seed_watchlist(&h.store);
    let matcher = StoreMatcher(h.store.clone()).matcher();
    assert!(!matcher.lookup("www.evil.example").is_empty());
    assert_eq!(matcher.watchlists()[0].name.as_ref(), "c2");
    let _ = DomainMatch::Exact;
}

#[tokio::test]
async fn tls_listener_serves_https_with_secure_cookie() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let h = harness();
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let missing = crate::load_tls_config(&dir.path().join("none.pem"), &key_path);
    assert!(missing.unwrap_err().to_string().contains("none.pem"));
    let swapped = crate::load_tls_config(&key_path, &cert_path);
    assert!(swapped.is_err());
    let config = crate::load_tls_config(&cert_path, &key_path).unwrap();

    let mut state = state_with(h.store.clone(), LoginLimits::default());
    state.tls = true;
    let app = router(state);
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = tcp.local_addr().unwrap();
    let stop = new_stop();
    let server = tokio::spawn(crate::serve_tls(
        crate::TlsListener::new(tcp, config),
        app,
        stop.wait(),
    ));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    #[allow(deprecated, reason = "ring is the provider this workspace builds with")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    // A client that connects and never starts its handshake must not hold
    // up the next one.
    let _stalled = tokio::net::TcpStream::connect(address).await.unwrap();
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(std::time::Duration::from_secs(5), connector.connect(name, stream))
        .await
        .expect("the handshake waits for no other client")
        .unwrap();
    let body = json!({"username": "ana", "password": PASSWORD}).to_string();
    let request = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let cookie = response
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    stop.fire();
    server.await.unwrap().unwrap();
}

/// A one-shot stop signal for a served router.
struct Stop(Arc<tokio::sync::Notify>);

fn new_stop() -> Stop {
    Stop(Arc::new(tokio::sync::Notify::new()))
}

impl Stop {
    fn wait(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let notify = self.0.clone();
        async move { notify.notified().await }
    }

    fn fire(&self) {
        self.0.notify_one();
    }
}

/// axum's own rejections (a query string that does not parse, a method
/// the route does not serve, a body that is not JSON) answer in the one
/// JSON error shape, as the document describes them.
#[tokio::test]
async fn framework_rejections_are_json() {
    let h = harness();
    let reply = h
        .get("/api/v1/dashboard?hours=-1", "/api/v1/dashboard", &h.viewer)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(reply.body["error"]["code"], "invalid_field");
    assert_eq!(reply.body["error"]["field"], "hours");
    assert!(
        reply.body["error"]["message"].as_str().unwrap().contains("hours"),
        "{}",
        reply.body
    );

    let request = Request::builder()
        .method(Method::PUT)
        .uri("/api/v1/alerts")
        .header(header::AUTHORIZATION, "Bearer x")
        .body(Body::empty())
        .unwrap();
    let reply = h.raw(request, Method::PUT, "/api/v1/alerts").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(reply.body["error"]["code"], "method_not_allowed");
    assert!(reply.headers.contains_key(header::ALLOW));

    let As::Token(secret) = &h.admin else {
        unreachable!()
    };
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/search")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{\"values\": [\"198.51.100.1\"]}"))
        .unwrap();
    let reply = h.raw(request, Method::POST, "/api/v1/search").await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.body["error"]["code"], "unsupported_media_type");
}

/// Page offsets stop at the largest value the store's queries take, and
/// times in the API are RFC 3339 only.
#[tokio::test]
async fn offsets_and_times_checked() {
    let h = harness();
    let largest = i64::MAX;
    let reply = h
        .get(
            &format!("/api/v1/alerts?offset={largest}"),
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let too_large = largest as u64 + 1;
    for path in [
        format!("/api/v1/alerts?offset={too_large}"),
        format!("/api/v1/audit?offset={too_large}"),
    ] {
        let reply = h.get(&path, "/api/v1/alerts", &h.admin).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.body["error"]["field"], "offset", "{path}");
    }
    for since in ["0.5", "1714557600", "2024-05-01T10:00:00.000000+0000"] {
        let reply = h
            .get(
                &format!("/api/v1/alerts?since={since}"),
                "/api/v1/alerts",
                &h.viewer,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{since}");
        assert_eq!(reply.body["error"]["field"], "since", "{since}");
    }
    let reply = h
        .get(
            "/api/v1/alerts?since=2024-05-01T10:00:00%2B02:00",
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// Every operation documents the errors that the extractors and the access
/// check return, and the public endpoints document no security.
#[test]
fn openapi_documents_common_errors() {
    let document = serde_json::to_value(crate::openapi()).unwrap();
    let operation = |path: &str, method: &str| document["paths"][path][method].clone();
    let statuses = |path: &str, method: &str| {
        operation(path, method)["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let search = statuses("/api/v1/search", "post");
    for status in ["400", "401", "403", "413", "415"] {
        assert!(
            search.contains(&status.to_owned()),
            "POST /api/v1/search lacks {status}: {search:?}"
        );
    }
    let history = statuses("/api/v1/watchlists/{name}/history", "get");
    assert!(history.contains(&"400".to_owned()), "{history:?}");
    for (path, method) in [
        ("/healthz", "get"),
        ("/metrics", "get"),
        ("/api/v1/ingest/{source}", "post"),
        ("/api/openapi.json", "get"),
    ] {
        assert_eq!(
            operation(path, method)["security"],
            json!([{}]),
            "{method} {path}"
        );
        assert!(
            !statuses(path, method).contains(&"401".to_owned()),
            "{method} {path}"
        );
    }
    assert_eq!(document["security"], json!([{"token": []}, {"session": []}]));
    let error = &document["paths"]["/api/v1/alerts"]["get"]["responses"]["401"]["content"]["application/json"]
        ["schema"];
    assert_eq!(error["$ref"], "#/components/schemas/ErrorResponse");
}

/// The Authorization header alone authenticates a request that has it: a
/// stale session cookie next to a valid token does not matter, and a valid
/// session cookie does not rescue an invalid token.
#[tokio::test]
async fn bearer_header_overrides_cookie() {
    let h = harness();
    let As::Token(secret) = &h.viewer else {
        unreachable!()
    };
    let As::Session { cookie, .. } = h.session("root").await else {
        unreachable!()
    };
    let send = |authorization: String, cookie: String| {
        Request::get("/api/v1/session")
            .header(header::AUTHORIZATION, authorization)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap()
    };

    let stale_cookie = send(format!("Bearer {secret}"), "iocwatch_session=stale".to_owned());
    let reply = h.raw(stale_cookie, Method::GET, "/api/v1/session").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["user"]["name"], "vic");

    let bad_token = send("Bearer iwt_unknown".to_owned(), cookie);
    let reply = h.raw(bad_token, Method::GET, "/api/v1/session").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"]["code"], "invalid_token");
}

/// Returns the message of an error reply, failing when it has none.
fn message(reply: &Reply) -> String {
    reply.body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {}", reply.body))
        .to_owned()
}

/// A query value that does not parse is rejected with the parameter, the
/// value given and the accepted range.
#[tokio::test]
async fn query_rejection_names_value_and_range() {
    let h = harness();
    let cases = [
        (
            "/api/v1/alerts?limit=-1",
            "/api/v1/alerts",
            "limit",
            "\"-1\"",
            "1 to 1000",
        ),
        (
            "/api/v1/alerts?offset=x",
            "/api/v1/alerts",
            "offset",
            "\"x\"",
            "0 to 9223372036854775807",
        ),
        (
            "/api/v1/dashboard?hours=-1",
            "/api/v1/dashboard",
            "hours",
            "\"-1\"",
            "1 to 720",
        ),
        (
            "/api/v1/audit?limit=1.5",
            "/api/v1/audit",
            "limit",
            "\"1.5\"",
            "1 to 1000",
        ),
    ];
    for (path, template, field, value, range) in cases {
        let reply = h.get(path, template, &h.admin).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.body["error"]["field"], field, "{path}");
        let text = message(&reply);
        assert!(text.contains(value), "{path}: {text}");
        assert!(text.contains(range), "{path}: {text}");
        assert!(!text.contains("deserialize"), "{path}: {text}");
    }
    let twice = h
        .get("/api/v1/alerts?limit=5&limit=6", "/api/v1/alerts", &h.viewer)
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(twice.body["error"]["field"], "limit");
    h.check_schemas();
}

/// A JSON field of the wrong type or out of range is rejected with the
/// field, the value given and the accepted form.
#[tokio::test]
async fn json_rejection_names_value_and_form() {
    let h = harness();
    h.post(
        "/api/v1/watchlists",
        "/api/v1/watchlists",
        &h.admin,
        json!({"name": "feed"}),
    )
    .await;
    let path = "/api/v1/watchlists/feed/indicators";
    let template = "/api/v1/watchlists/{name}/indicators";
    for confidence in [json!(-1), json!(101), json!("high")] {
        let body = json!({"values": ["198.51.100.7"], "confidence": confidence});
        let reply = h.post(path, template, &h.admin, body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{confidence}");
        assert_eq!(reply.body["error"]["field"], "confidence", "{confidence}");
        let text = message(&reply);
        assert!(text.contains("0 to 100"), "{confidence}: {text}");
        assert!(!text.contains("u8"), "{confidence}: {text}");
    }
    let reply = h
        .post(
            path,
            template,
            &h.admin,
            json!({"values": ["198.51.100.7"], "confidence": -1}),
        )
        .await;
    assert!(message(&reply).contains("-1"), "{}", reply.body);

    let reply = h
        .post(path, template, &h.admin, json!({"values": "198.51.100.7"}))
        .await;
    assert_eq!(reply.body["error"]["field"], "values");
    assert!(message(&reply).contains("a JSON array"), "{}", reply.body);

    let reply = h
        .post(
            path,
            template,
            &h.admin,
            json!({"values": ["198.51.100.7"], "colour": "red"}),
        )
        .await;
    assert_eq!(reply.body["error"]["field"], "colour");
    assert!(message(&reply).contains("allow_broad"), "{}", reply.body);

    let reply = h.post(path, template, &h.admin, json!({})).await;
    assert_eq!(reply.body["error"]["field"], "values");
    assert!(message(&reply).contains("missing"), "{}", reply.body);

    let reply = h
        .post(
            "/api/v1/allowlist",
            "/api/v1/allowlist",
            &h.admin,
            json!({"value": "example.org", "allow_broad": "yes"}),
        )
        .await;
    assert_eq!(reply.body["error"]["field"], "allow_broad");
    assert!(message(&reply).contains("true or false"), "{}", reply.body);
    h.check_schemas();
}

/// Bodies over the limit get a 413 that names the limit, for uploads and
/// JSON bodies alike.
#[tokio::test]
async fn oversized_bodies_name_the_limit() {
    let h = harness();
    h.post(
        "/api/v1/watchlists",
        "/api/v1/watchlists",
        &h.admin,
        json!({"name": "feed"}),
    )
    .await;
    let As::Token(secret) = &h.admin else {
        unreachable!()
    };
    let limit = 1 << 20;
    let upload = Request::post("/api/v1/watchlists/feed/upload")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .body(Body::from(vec![b'a'; limit + 1]))
        .unwrap();
    let search = Request::post("/api/v1/search")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!("{{\"values\": [\"{}\"]}}", "a".repeat(limit))))
        .unwrap();
    for (request, template) in [
        (upload, "/api/v1/watchlists/{name}/upload"),
        (search, "/api/v1/search"),
    ] {
        let reply = h.raw(request, Method::POST, template).await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{template}");
        assert_eq!(reply.body["error"]["code"], "body_too_large", "{template}");
        let text = message(&reply);
        assert!(text.contains(&limit.to_string()), "{template}: {text}");
        assert!(text.contains("max_body_bytes"), "{template}: {text}");
    }
    h.check_schemas();
}

/// Query values that cannot select anything useful get 400 instead of an
/// empty page: an unknown parameter, a window whose since is after its
/// until, and a host that is not an IP address.
#[tokio::test]
async fn alert_query_rejects_unusable_values() {
    let h = harness();
    raise(
        &h.store,
        "198.51.100.23",
        "2001:db8::5",
        OffsetDateTime::now_utc(),
    );

    let reply = h
        .get("/api/v1/alerts?colour=red", "/api/v1/alerts", &h.viewer)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["field"], "colour");
    let text = message(&reply);
    assert!(text.contains("colour"), "{text}");
    assert!(text.contains("status, min_severity"), "{text}");

    let reply = h
        .get(
            "/api/v1/alerts?since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z",
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["field"], "until");
    assert!(message(&reply).contains("2024-05-02T00:00:00"), "{}", reply.body);

    let reply = h
        .get(
            "/api/v1/alerts?since=2024-05-01T00:00:00Z&until=2024-05-01T00:00:00Z",
            "/api/v1/alerts",
            &h.viewer,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let reply = h
        .get("/api/v1/alerts?host=not-an-ip", "/api/v1/alerts", &h.viewer)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["field"], "host");
    assert!(message(&reply).contains("not-an-ip"), "{}", reply.body);

    let reply = h
        .get("/api/v1/alerts?host=2001:DB8:0::5", "/api/v1/alerts", &h.viewer)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["total"], 1);

    // A blank host, as a form with an empty field sends it, filters nothing.
    let all = h.get("/api/v1/alerts", "/api/v1/alerts", &h.viewer).await;
    let reply = h.get("/api/v1/alerts?host=", "/api/v1/alerts", &h.viewer).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["total"], all.body["total"]);

    for (path, template) in [
        ("/api/v1/audit?colour=red", "/api/v1/audit"),
        ("/api/v1/dashboard?colour=red", "/api/v1/dashboard"),
    ] {
        let reply = h.get(path, template, &h.admin).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.body["error"]["field"], "colour", "{path}");
    }
    h.check_schemas();
}

/// The parameters that each query extractor accepts are the ones the
/// OpenAPI document lists for it.
#[test]
fn query_params_match_openapi() {
    use utoipa::IntoParams;

    use crate::api::QueryParams;

    fn names<T: IntoParams + QueryParams>() -> (Vec<String>, Vec<String>) {
        let documented = T::into_params(|| None)
            .into_iter()
            .map(|param| param.name)
            .collect();
        let accepted = T::PARAMS.iter().map(|(name, _)| (*name).to_owned()).collect();
        (documented, accepted)
    }
    let pairs = [
        names::<crate::api::alerts::AlertQuery>(),
        names::<crate::api::alerts::EventsQuery>(),
        names::<crate::api::admin::AuditQuery>(),
        names::<crate::api::status::DashboardQuery>(),
        names::<crate::api::watchlists::UploadQuery>(),
        names::<crate::api::watchlists::IndicatorQuery>(),
        names::<crate::api::watchlists::HistoryQuery>(),
    ];
    for (documented, accepted) in pairs {
        assert_eq!(documented, accepted);
    }
}

/// A broad indicator rejected over the API names the API's `allow_broad`
/// field or parameter, not the command-line flag, and is accepted with it.
#[tokio::test]
async fn broad_rejection_names_api_field() {
    let h = harness();
    h.post(
        "/api/v1/watchlists",
        "/api/v1/watchlists",
        &h.admin,
        json!({"name": "feed"}),
    )
    .await;

    let path = "/api/v1/watchlists/feed/indicators";
    let template = "/api/v1/watchlists/{name}/indicators";
    let reply = h
        .post(path, template, &h.admin, json!({"values": ["10.0.0.0/4"]}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reason = reply.body["rejected"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("\"allow_broad\": true"), "{reason}");
    assert!(!reason.contains("--allow-broad"), "{reason}");
    let reply = h
        .post(
            path,
            template,
            &h.admin,
            json!({"values": ["10.0.0.0/4"], "allow_broad": true}),
        )
        .await;
    assert_eq!(reply.body["added"], 1, "{}", reply.body);

    let reply = h
        .post(
            "/api/v1/allowlist",
            "/api/v1/allowlist",
            &h.admin,
            json!({"value": "com"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"]["field"], "value");
    let text = message(&reply);
    assert!(text.contains("\"allow_broad\": true"), "{text}");
    assert!(!text.contains("--allow-broad"), "{text}");
    let reply = h
        .post(
            "/api/v1/allowlist",
            "/api/v1/allowlist",
            &h.admin,
            json!({"value": "com", "allow_broad": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    let As::Token(secret) = &h.admin else {
        unreachable!()
    };
    let request = Request::post("/api/v1/watchlists/feed/upload?filename=feed.txt")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .body(Body::from("198.51.100.7\n0.0.0.0/1\n"))
        .unwrap();
    let reply = h
        .raw(request, Method::POST, "/api/v1/watchlists/{name}/upload")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reason = reply.body["rejected"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("allow_broad=true"), "{reason}");
    assert!(!reason.contains("--allow-broad"), "{reason}");
    h.check_schemas();
}

/// An alert id prefix shorter than the minimum is rejected as too short,
/// not reported as unknown.
#[tokio::test]
async fn short_alert_prefix_rejected() {
    let h = harness();
    let id = raise(&h.store, "198.51.100.23", "10.1.0.5", OffsetDateTime::now_utc());
    let reply = h.get("/api/v1/alerts/6", "/api/v1/alerts/{id}", &h.viewer).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.body["error"]["field"], "id");
    assert!(
        message(&reply).contains("at least 4 characters"),
        "{}",
        reply.body
    );

    let prefix = format!("/api/v1/alerts/{}", &id[..4]);
    let reply = h.get(&prefix, "/api/v1/alerts/{id}", &h.viewer).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    h.check_schemas();
}
