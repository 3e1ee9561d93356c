//! `/api/v1/users`, `/api/v1/tokens`, `/api/v1/audit` and
//! `/api/v1/allowlist`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use iocwatch_model::{IndicatorError, ParseOptions, parse_indicator};
use iocwatch_store::{
    AllowlistEntry, ApiToken, AuditEntry, AuditFilter, NewAudit, Role, StoreError, User, UserChange,
    allowlist_json,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::api::watchlists::too_broad;
use crate::api::{ApiQuery, JsonBody, QueryParams, limit, offset, rfc3339};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::{AppState, blocking};

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The login name.
    pub name: String,
    /// `viewer`, `analyst` or `admin`.
    pub role: String,
    /// Whether logins and tokens are rejected.
    pub disabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl UserView {
    fn from_user(user: &User) -> Self {
        Self {
            name: user.name.clone(),
            role: user.role.as_str().to_owned(),
            disabled: user.disabled,
            created_at: rfc3339(user.created_at),
            updated_at: rfc3339(user.updated_at),
        }
    }
}

fn parse_role(text: &str) -> Result<Role, ApiError> {
    text.parse().map_err(|message| ApiError::invalid("role", message))
}

/// Lists the users (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require(Role::Admin)?;
    let store = state.store.clone();
    let users = blocking(move || store.users()).await?;
    Ok(Json(users.iter().map(UserView::from_user).collect()))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// The login name.
    #[schema(pattern = r"^[\w.@-]{1,64}$")]
    pub name: String,
    /// At least 8 characters.
    #[schema(min_length = 8)]
    pub password: String,
    /// `viewer`, `analyst` or `admin`.
    #[schema(pattern = r"^(viewer|analyst|admin)$")]
    pub role: String,
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    caller.require(Role::Admin)?;
    let role = parse_role(&request.role)?;
    let store = state.store.clone();
    let user = blocking(move || {
        store.add_user(
            &request.name,
            &request.password,
            role,
            &caller.user,
            OffsetDateTime::now_utc(),
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(UserView::from_user(&user))))
}

/// Changes to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// A new password; ends the user's sessions.
    #[schema(min_length = 8)]
    pub password: Option<String>,
    /// A new role.
    #[schema(pattern = r"^(viewer|analyst|admin)$")]
    pub role: Option<String>,
    /// Disables the user (ending sessions) or enables it.
    pub disabled: Option<bool>,
}

/// Changes a user (admin).
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Role::Admin)?;
    let change = UserChange {
        password: request.password,
        role: request.role.as_deref().map(parse_role).transpose()?,
        disabled: request.disabled,
    };
    let store = state.store.clone();
    let user =
        blocking(move || store.update_user(&name, &change, &caller.user, OffsetDateTime::now_utc())).await?;
    Ok(Json(UserView::from_user(&user)))
}

/// Deletes a user with the user's tokens and sessions (admin).
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    if name == caller.user {
        return Err(ApiError::invalid(
            "name",
            "you cannot delete your own account; ask another admin",
        ));
    }
    let store = state.store.clone();
    blocking(move || store.delete_user(&name, &caller.user, OffsetDateTime::now_utc())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An API token without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// The id, used to revoke it.
    pub id: String,
    /// The user whose role it acts with.
    pub owner: String,
    /// A name for people.
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `null` when never used.
    pub last_used_at: Option<String>,
    /// RFC 3339; `null` while active.
    pub revoked_at: Option<String>,
}

impl TokenView {
    fn from_token(token: &ApiToken) -> Self {
        Self {
            id: token.id.clone(),
            owner: token.owner.clone(),
            name: token.name.clone(),
            created_at: rfc3339(token.created_at),
            last_used_at: token.last_used_at.map(rfc3339),
            revoked_at: token.revoked_at.map(rfc3339),
        }
    }
}

/// Lists API tokens: the caller's own, or everyone's for an admin.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorResponse)))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let store = state.store.clone();
    let owner = (caller.role != Role::Admin).then_some(caller.user);
    let tokens = blocking(move || store.tokens(owner.as_deref())).await?;
    Ok(Json(tokens.iter().map(TokenView::from_token).collect()))
}

/// A new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// A name for people, such as the script that uses it.
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
}

/// A new token with its secret, shown only once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenResponse {
    /// The id.
    pub id: String,
    /// The secret to send as `Authorization: Bearer <token>`.
    pub token: String,
}

/// Creates an API token for the caller.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenRequest,
    responses((status = 201, body = NewTokenResponse), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<NewTokenRequest>,
) -> Result<(StatusCode, Json<NewTokenResponse>), ApiError> {
    let store = state.store.clone();
    let (token, secret) = blocking(move || {
        store.create_token(
            &caller.user,
            &request.name,
            &caller.user,
            OffsetDateTime::now_utc(),
        )
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenResponse {
            id: token.id,
            token: secret,
        }),
    ))
}

/// Revokes an API token: the caller's own, or anyone's for an admin.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        let token = store
            .token(&id)?
            .ok_or_else(|| StoreError::UnknownToken(id.clone()))?;
        // Another user's token is reported as unknown, so ids do not leak.
        if token.owner != caller.user && caller.role != Role::Admin {
            return Err(StoreError::UnknownToken(id));
        }
        store
            .revoke_token(&id, &caller.user, OffsetDateTime::now_utc())
            .map(|_| ())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    /// RFC 3339.
    pub at: String,
    /// A user name, or `cli` for the command line.
    pub actor: String,
    /// Such as `watchlist.create` or `alert.status`.
    pub action: String,
    /// Such as `watchlist:c2` or `alert:<id>`.
    pub target: String,
    /// The state before; `null` when the target did not exist.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The state after; `null` when the target no longer exists.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

impl AuditItem {
    pub(crate) fn from_entry(entry: &AuditEntry) -> Self {
        Self {
            at: rfc3339(entry.at),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            before: entry.before.clone(),
            after: entry.after.clone(),
        }
    }
}

/// A page of audit entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditItem>,
    /// Entries that the filters select in all.
    pub total: u64,
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size, 1 to 1000; default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Entries to skip.
    pub offset: Option<u64>,
    /// Only changes by this actor.
    pub actor: Option<String>,
    /// Only changes to this target; a trailing `*` matches a prefix.
    pub target: Option<String>,
}

impl QueryParams for AuditQuery {
    const PARAMS: &'static [(&'static str, &'static str)] = &[
        ("limit", "an integer from 1 to 1000"),
        ("offset", "an integer from 0 to 9223372036854775807"),
        ("actor", "a user name"),
        (
            "target",
            "an audit target such as watchlist:name, with an optional trailing *",
        ),
    ];
}

/// Lists the audit trail, newest first (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse)))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(Role::Admin)?;
    let filter = AuditFilter {
        actor: query.actor,
        target: query.target,
        limit: Some(limit(query.limit)?),
        offset: offset(query.offset)?,
    };
    let store = state.store.clone();
    let (entries, total) = blocking(move || store.audit(&filter)).await?;
    Ok(Json(AuditPage {
        items: entries.iter().map(AuditItem::from_entry).collect(),
        total,
    }))
}

/// An allowlist entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowlistView {
    /// The normalised value.
    pub value: String,
    /// The kind, such as `ip`, `cidr` or `domain`.
    pub kind: String,
    /// The value as given.
    pub original: String,
    /// Reason the value is allowed.
    pub comment: Option<String>,
    /// RFC 3339.
    pub added_at: String,
}

impl AllowlistView {
    fn from_entry(entry: &AllowlistEntry) -> Self {
        Self {
            value: entry.value.to_string(),
            kind: entry.value.kind().as_str().to_owned(),
            original: entry.original.clone(),
            comment: entry.comment.clone(),
            added_at: rfc3339(entry.added_at),
        }
    }
}

/// Lists the allowlist.
#[utoipa::path(get, path = "/api/v1/allowlist", tag = "allowlist",
    responses((status = 200, body = Vec<AllowlistView>), (status = 401, body = ErrorResponse)))]
pub(crate) async fn list_allowlist(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<AllowlistView>>, ApiError> {
    let store = state.store.clone();
    let entries = blocking(move || store.allowlist()).await?;
    Ok(Json(entries.iter().map(AllowlistView::from_entry).collect()))
}

/// A value to allow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowRequest {
    /// An address, network, domain, URL, hash or e-mail address; defanged
    /// values are accepted.
    #[schema(min_length = 1)]
    pub value: String,
    /// Reason the value is allowed.
    pub comment: Option<String>,
    /// Accept networks shorter than /8 (IPv4) or /32 (IPv6) and public
    /// suffixes.
    #[serde(default)]
    pub allow_broad: bool,
}

/// Adds a value to the allowlist, or replaces its comment (admin).
#[utoipa::path(post, path = "/api/v1/allowlist", tag = "allowlist", request_body = AllowRequest,
    responses((status = 201, body = AllowlistView), (status = 200, description = "Already allowed; comment replaced", body = AllowlistView),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub(crate) async fn allow(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<AllowRequest>,
) -> Result<(StatusCode, Json<AllowlistView>), ApiError> {
    caller.require(Role::Admin)?;
    let options = ParseOptions {
        allow_broad: request.allow_broad,
    };
    if let Err(IndicatorError::TooBroad(detail)) = parse_indicator(&request.value, None, options) {
        let message = format!(
            "invalid allowlist value {:?}: {}",
            request.value,
            too_broad(&detail, "send \"allow_broad\": true in the request body")
        );
        return Err(ApiError::invalid("value", message));
    }
    let store = state.store.clone();
    let (entry, created) = blocking(move || {
        let now = OffsetDateTime::now_utc();
        let before = store.allowlist_entry(&request.value)?;
        let (entry, created) =
            store.allowlist_add(&request.value, request.comment.as_deref(), options, now)?;
        let target = format!("allowlist:{}", entry.value);
        let audit = NewAudit {
            actor: &caller.user,
            action: "allowlist.add",
            target: &target,
            before: before.as_ref().map(allowlist_json),
            after: Some(allowlist_json(&entry)),
        };
        store.record_audit(&audit, now)?;
        Ok((entry, created))
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(AllowlistView::from_entry(&entry))))
}

/// Removes a value from the allowlist (admin).
#[utoipa::path(delete, path = "/api/v1/allowlist/{value}", tag = "allowlist",
    params(("value" = String, Path, description = "The value, URL-encoded")),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn disallow(
    State(state): State<AppState>,
    caller: Caller,
    Path(value): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    let store = state.store.clone();
    let removed = blocking(move || {
        let now = OffsetDateTime::now_utc();
        let Some(before) = store.allowlist_entry(&value)? else {
            return Ok(false);
        };
        let removed = store.allowlist_remove(&value)?;
        let target = format!("allowlist:{}", before.value);
        let audit = NewAudit {
            actor: &caller.user,
            action: "allowlist.remove",
            target: &target,
            before: Some(allowlist_json(&before)),
            after: None,
        };
        store.record_audit(&audit, now)?;
        Ok(removed)
    })
    .await?;
    if !removed {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_allowlisted",
            "the value is not on the allowlist",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
