//! Authentication and access control: login sessions with a cookie and a
//! CSRF token, API tokens, roles, and the login rate limit.
//!
//! A request is authenticated by `Authorization: Bearer iwt_...` when the
//! header is present, else by the `iocwatch_session` cookie. A request with
//! the cookie and a method other than GET, HEAD or OPTIONS must carry the
//! session's CSRF token in `X-CSRF-Token`. Bearer requests need none,
//! because a browser never adds that header by itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use iocwatch_store::{Role, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorResponse};
use crate::{AppState, blocking};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "iocwatch_session";

/// Header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Lifetime of a login session.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Limits on failed logins, counted over a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failed logins for one user name before further attempts are
    /// rejected with 429.
    pub per_user: u32,
    /// Failed logins from one client address before further attempts
    /// are rejected with 429.
    pub per_address: u32,
    /// The window over which failures count.
    pub window: Duration,
}

impl Default for LoginLimits {
    /// 5 failures per user name and 20 per client address in 15 minutes.
    fn default() -> Self {
        Self {
            per_user: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Counts failed logins per user name and per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// Creates a limiter with `limits`.
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the seconds to wait when `key` has reached `limit`
    /// failures within the window.
    fn blocked(&self, key: &str, limit: u32, now: Instant) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let times = failures.get_mut(key)?;
        times.retain(|at| now.duration_since(*at) < self.limits.window);
        if times.len() < limit as usize {
            return None;
        }
        let oldest = times.first().copied()?;
        let wait = self.limits.window.saturating_sub(now.duration_since(oldest));
        Some(wait.as_secs().max(1))
    }

    fn record_failure(&self, key: String, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget idle keys so that many client addresses cannot grow the
        // map without bound.
        if failures.len() > 10_000 {
            let window = self.limits.window;
            failures.retain(|_, times| times.last().is_some_and(|at| now.duration_since(*at) < window));
        }
        failures.entry(key).or_default().push(now);
    }

    fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// The credential that authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A login session.
    Session,
    /// An API token with this id.
    Token(String),
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user name; the actor recorded in the audit trail.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// The credential used.
    pub credential: Credential,
}

impl Caller {
    /// Returns an error unless the caller has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this needs the role {role}; {} has the role {}; ask an admin to change it",
                self.user, self.role
            ),
        ))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let store = state.store.clone();
        let now = OffsetDateTime::now_utc();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let client = parts
                .extensions
                .get::<ConnectInfo<crate::ClientAddr>>()
                .map(|ConnectInfo(crate::ClientAddr(address))| *address);
            let path = parts.uri.path();
            let text = value.to_str().unwrap_or_default();
            let Some(secret) = text.strip_prefix("Bearer ").map(str::trim) else {
                tracing::warn!(path = %path, client = client.map(tracing::field::display), "request rejected: the Authorization header is not `Bearer <token>`");
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "the Authorization header must be `Bearer iwt_...`",
                ));
            };
            let secret = secret.to_owned();
            let found = blocking(move || store.authenticate_token(&secret, now)).await?;
            let Some((token, user)) = found else {
                tracing::warn!(path = %path, client = client.map(tracing::field::display), "request rejected: the API token is unknown, revoked or of a disabled user");
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "the API token is unknown, revoked or belongs to a disabled user; create a new one",
                ));
            };
            return Ok(Caller {
                user: user.name,
                role: user.role,
                credential: Credential::Token(token.id),
            });
        }
        let Some(session_id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated());
        };
        let found = blocking(move || store.session(&session_id, now)).await?;
        let Some(session) = found else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "session_expired",
                "the session has ended; log in again",
            ));
        };
        if !is_safe(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if !same_secret(sent, &session.csrf_token) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "send the csrf_token of the session in the X-CSRF-Token header with every change",
                ));
            }
        }
        Ok(Caller {
            user: session.user.name,
            role: session.user.role,
            credential: Credential::Session,
        })
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Returns the value of a cookie of the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The logged-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    /// The user name.
    pub name: String,
    /// `viewer`, `analyst` or `admin`.
    pub role: String,
}

/// The current session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The user.
    pub user: SessionUser,
    /// The token to send in `X-CSRF-Token` with every change; `null` for
    /// API tokens, which need none.
    pub csrf_token: Option<String>,
}

/// Logs in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = SessionInfo),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 429, description = "Too many failed logins; see Retry-After", body = ErrorResponse)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    connect: Option<axum::Extension<ConnectInfo<crate::ClientAddr>>>,
    body: crate::api::JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let request = body.0;
    let address: Option<IpAddr> =
        connect.map(|axum::Extension(ConnectInfo(crate::ClientAddr(addr)))| addr.ip());
    let user_key = format!("user:{}", request.username);
    let address_key = address.map(|ip| format!("addr:{ip}"));
    let limiter = &state.login_limiter;
    let started = Instant::now();
    let limits = limiter.limits;
    let blocked = limiter.blocked(&user_key, limits.per_user, started).or_else(|| {
        address_key
            .as_deref()
            .and_then(|key| limiter.blocked(key, limits.per_address, started))
    });
    if let Some(seconds) = blocked {
        tracing::warn!(user = ?request.username, client = address.map(tracing::field::display), retry_after_seconds = seconds, "login rejected: too many failed logins");
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_logins",
            format!("too many failed logins; try again in {seconds} seconds"),
        );
        error.retry_after = Some(seconds);
        return Err(error);
    }
    let store = state.store.clone();
    let (name, password) = (request.username.clone(), request.password);
    let user = blocking(move || store.verify_password(&name, &password)).await?;
    let Some(user) = user else {
        limiter.record_failure(user_key, started);
        if let Some(key) = address_key {
            limiter.record_failure(key, started);
        }
        tracing::info!(user = ?request.username, client = ?address, "failed login");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "the user name or password is wrong, or the account is disabled",
        ));
    };
    limiter.clear(&user_key);
    let store = state.store.clone();
    let name = user.name.clone();
    let session =
        blocking(move || store.create_session(&name, SESSION_TTL, OffsetDateTime::now_utc())).await?;
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        session.id,
        SESSION_TTL.as_secs()
    );
    let body = SessionInfo {
        user: SessionUser {
            name: user.name,
            role: user.role.as_str().to_owned(),
        },
        csrf_token: Some(session.csrf_token),
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Returns the current session or token owner.
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorResponse)))]
pub(crate) async fn current(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Json<SessionInfo>, ApiError> {
    let csrf_token = match caller.credential {
        Credential::Token(_) => None,
        Credential::Session => {
            let store = state.store.clone();
            let id = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
            blocking(move || store.session(&id, OffsetDateTime::now_utc()))
                .await?
                .map(|session| session.csrf_token)
        }
    };
    Ok(Json(SessionInfo {
        user: SessionUser {
            name: caller.user,
            role: caller.role.as_str().to_owned(),
        },
        csrf_token,
    }))
}

/// Logs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _caller: Caller,
) -> Result<Response, ApiError> {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        let store: std::sync::Arc<Store> = state.store.clone();
        blocking(move || store.delete_session(&id)).await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
