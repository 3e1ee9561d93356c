//! Users of the console and API, their API tokens and login sessions.
//!
//! Passwords are stored as argon2id hashes in PHC string form. Token
//! secrets and session ids are 256-bit random values stored only as their
//! SHA-256 digest, so a copy of the database does not let anyone log in.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::RngCore;
use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::audit::{NewAudit, insert_audit};
use crate::codec::{add, instant, micros};
use crate::error::{Result, StoreError};

/// Prefix of every API token secret.
pub const TOKEN_PREFIX: &str = "iwt_";

/// How often a session's last use is written.
pub const SESSION_SEEN_INTERVAL: Duration = Duration::from_secs(60);

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Permission level of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads alerts, watchlists and the service state.
    Viewer,
    /// A viewer who also triages alerts.
    Analyst,
    /// Everything: watchlists, allowlist, users, tokens and the audit trail.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Self::Viewer, Self::Analyst, Self::Admin];

    /// Returns the lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Analyst => "analyst",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| format!("unknown role {name:?}; expected viewer, analyst or admin"))
    }
}

/// A user account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The unique login name.
    pub name: String,
    /// The permission level.
    pub role: Role,
    /// Whether logins and the user's tokens are rejected.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    pub updated_at: OffsetDateTime,
}

impl User {
    /// Returns the user as JSON for the audit trail.
    pub fn to_json(&self) -> Value {
        json!({ "name": self.name, "role": self.role.as_str(), "disabled": self.disabled })
    }
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The public id, used to list and revoke it.
    pub id: String,
    /// The user whose role the token acts with.
    pub owner: String,
    /// A name for people, such as the script that uses it.
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last authenticated a request.
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiToken {
    /// Returns the token as JSON for the audit trail.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "owner": self.owner,
            "name": self.name,
            "revoked": self.revoked_at.is_some(),
        })
    }
}

/// A login session found by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The logged-in user.
    pub user: User,
    /// The token that state-changing requests of this session must carry.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: OffsetDateTime,
}

/// A new login session: the secrets to hand to the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The session id for the cookie; the store keeps only its digest.
    pub id: String,
    /// The CSRF token.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: OffsetDateTime,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// A new password.
    pub password: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// Disables or enables the account.
    pub disabled: Option<bool>,
}

const USER_COLUMNS: &str = "name, role, disabled, created_at, updated_at";
const TOKEN_COLUMNS: &str = "id, owner, name, created_at, last_used_at, revoked_at";

impl Store {
    /// Creates a user with an argon2id hash of `password`.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUserName`], [`StoreError::InvalidPassword`],
    /// and [`StoreError::DuplicateUser`] when the name is taken.
    pub fn add_user(
        &self,
        name: &str,
        password: &str,
        role: Role,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<User> {
        check_user_name(name)?;
        let hash = hash_password(password)?;
        self.write(|tx| {
            if find_user(tx, name)?.is_some() {
                return Err(StoreError::DuplicateUser(name.to_owned()));
            }
            tx.execute(
                "INSERT INTO users (name, password_hash, role, disabled, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 0, ?4, ?4)",
                params![name, hash, role.as_str(), micros(now)],
            )?;
            let user = User {
                name: name.to_owned(),
                role,
                disabled: false,
                created_at: now,
                updated_at: now,
            };
            let target = format!("user:{name}");
            let audit = NewAudit {
                actor,
                action: "user.create",
                target: &target,
                before: None,
                after: Some(user.to_json()),
            };
            insert_audit(tx, &audit, now)?;
            Ok(user)
        })
    }

    /// Changes a user. Disabling one or changing the password ends the
    /// user's sessions.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownUser`] and [`StoreError::InvalidPassword`].
    pub fn update_user(
        &self,
        name: &str,
        change: &UserChange,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<User> {
        let hash = change.password.as_deref().map(hash_password).transpose()?;
        self.write(|tx| {
            let before = find_user(tx, name)?.ok_or_else(|| StoreError::UnknownUser(name.to_owned()))?;
            let mut after = before.clone();
            if let Some(role) = change.role {
                after.role = role;
            }
            if let Some(disabled) = change.disabled {
                after.disabled = disabled;
            }
            after.updated_at = now;
            tx.execute(
                "UPDATE users SET role = ?2, disabled = ?3, updated_at = ?4,
                     password_hash = COALESCE(?5, password_hash)
                 WHERE name = ?1",
                params![name, after.role.as_str(), after.disabled, micros(now), hash],
            )?;
            if after.disabled || hash.is_some() {
                tx.execute("DELETE FROM sessions WHERE user_name = ?1", params![name])?;
            }
            let mut after_json = after.to_json();
            if hash.is_some() {
                after_json["password_changed"] = Value::Bool(true);
            }
            let target = format!("user:{name}");
            let audit = NewAudit {
                actor,
                action: "user.update",
                target: &target,
                before: Some(before.to_json()),
                after: Some(after_json),
            };
            insert_audit(tx, &audit, now)?;
            Ok(after)
        })
    }

    /// Deletes a user with the user's tokens and sessions.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownUser`] when no user has the name.
    pub fn delete_user(&self, name: &str, actor: &str, now: OffsetDateTime) -> Result<()> {
        self.write(|tx| {
            let before = find_user(tx, name)?.ok_or_else(|| StoreError::UnknownUser(name.to_owned()))?;
            tx.execute("DELETE FROM users WHERE name = ?1", params![name])?;
            let target = format!("user:{name}");
            let audit = NewAudit {
                actor,
                action: "user.delete",
                target: &target,
                before: Some(before.to_json()),
                after: None,
            };
            insert_audit(tx, &audit, now)
        })
    }

    /// Lists every user by name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn users(&self) -> Result<Vec<User>> {
        self.read(|conn| {
            let mut statement = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
            let mut rows = statement.query([])?;
            let mut users = Vec::new();
            while let Some(row) = rows.next()? {
                users.push(user_row(row)?);
            }
            Ok(users)
        })
    }

    /// Returns a user by name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn user(&self, name: &str) -> Result<Option<User>> {
        self.read(|conn| find_user(conn, name))
    }

    /// Checks a password. Returns the user when the name exists, the
    /// account is enabled and the password is right; `None` otherwise.
    /// An unknown name costs as much time as a wrong password.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn verify_password(&self, name: &str, password: &str) -> Result<Option<User>> {
        let found = self.read(|conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = ?1"),
                    params![name],
                    |row| Ok((user_row(row), row.get::<_, String>(5)?)),
                )
                .optional()?;
            row.map(|(user, hash)| user.map(|user| (user, hash))).transpose()
        })?;
        let Some((user, hash)) = found else {
            let _ = password_matches(dummy_hash(), password);
            return Ok(None);
        };
        if !password_matches(&hash, password) || user.disabled {
            return Ok(None);
        }
        Ok(Some(user))
    }

    /// Creates an API token for `owner`. Returns the token and its secret,
    /// which is not stored and cannot be shown again.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownUser`] when the owner does not exist, and
    /// [`StoreError::InvalidTokenName`] for an empty name.
    pub fn create_token(
        &self,
        owner: &str,
        name: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(ApiToken, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(StoreError::InvalidTokenName(name.to_owned()));
        }
        let secret = format!("{TOKEN_PREFIX}{}", random_hex());
        let id = Uuid::new_v4().simple().to_string();
        self.write(|tx| {
            if find_user(tx, owner)?.is_none() {
                return Err(StoreError::UnknownUser(owner.to_owned()));
            }
            tx.execute(
                "INSERT INTO api_tokens (id, owner, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, owner, name, digest(&secret), micros(now)],
            )?;
            let token = ApiToken {
                id: id.clone(),
                owner: owner.to_owned(),
                name: name.to_owned(),
                created_at: now,
                last_used_at: None,
                revoked_at: None,
            };
            let target = format!("token:{id}");
            let audit = NewAudit {
                actor,
                action: "token.create",
                target: &target,
                before: None,
                after: Some(token.to_json()),
            };
            insert_audit(tx, &audit, now)?;
            Ok((token, secret))
        })
    }

    /// Lists API tokens, of one owner or of everyone, newest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn tokens(&self, owner: Option<&str>) -> Result<Vec<ApiToken>> {
        self.read(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ?1 IS NULL OR owner = ?1
                 ORDER BY created_at DESC, id"
            ))?;
            let mut rows = statement.query(params![owner])?;
            let mut tokens = Vec::new();
            while let Some(row) = rows.next()? {
                tokens.push(token_row(row)?);
            }
            Ok(tokens)
        })
    }

    /// Returns a token by id.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn token(&self, id: &str) -> Result<Option<ApiToken>> {
        self.read(|conn| {
            conn.query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"),
                params![id],
                |row| Ok(token_row(row)),
            )
            .optional()?
            .transpose()
        })
    }

    /// Revokes a token. Revoking a revoked token changes nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownToken`] when no token has the id.
    pub fn revoke_token(&self, id: &str, actor: &str, now: OffsetDateTime) -> Result<ApiToken> {
        self.write(|tx| {
            let before = tx
                .query_row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"),
                    params![id],
                    |row| Ok(token_row(row)),
                )
                .optional()?
                .transpose()?
                .ok_or_else(|| StoreError::UnknownToken(id.to_owned()))?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            tx.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1",
                params![id, micros(now)],
            )?;
            let mut after = before.clone();
            after.revoked_at = Some(now);
            let target = format!("token:{id}");
            let audit = NewAudit {
                actor,
                action: "token.revoke",
                target: &target,
                before: Some(before.to_json()),
                after: Some(after.to_json()),
            };
            insert_audit(tx, &audit, now)?;
            Ok(after)
        })
    }

    /// Finds the owner of an API token secret and records its use. Returns
    /// `None` for an unknown or revoked token or a disabled owner.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when the database
    /// fails.
    pub fn authenticate_token(&self, secret: &str, now: OffsetDateTime) -> Result<Option<(ApiToken, User)>> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = digest(secret);
        self.write(|tx| {
            let token = tx
                .query_row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1"),
                    params![hash],
                    |row| Ok(token_row(row)),
                )
                .optional()?
                .transpose()?;
            let Some(token) = token.filter(|token| token.revoked_at.is_none()) else {
                return Ok(None);
            };
            let Some(user) = find_user(tx, &token.owner)?.filter(|user| !user.disabled) else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
                params![token.id, micros(now)],
            )?;
            Ok(Some((token, user)))
        })
    }

    /// Starts a login session of `ttl` for a user.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownUser`] when the user does not exist, and
    /// [`StoreError::OutOfRange`] for a ttl past the year 9999.
    pub fn create_session(&self, user: &str, ttl: Duration, now: OffsetDateTime) -> Result<NewSession> {
        let id = random_hex();
        let csrf_token = random_hex();
        let expires_at = add(now, ttl).ok_or(StoreError::OutOfRange("session lifetime"))?;
        self.write(|tx| {
            if find_user(tx, user)?.is_none() {
                return Err(StoreError::UnknownUser(user.to_owned()));
            }
            tx.execute(
                "DELETE FROM sessions WHERE expires_at <= ?1",
                params![micros(now)],
            )?;
            tx.execute(
                "INSERT INTO sessions (id_hash, user_name, csrf_token, created_at, expires_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                params![digest(&id), user, csrf_token, micros(now), micros(expires_at)],
            )?;
            Ok(())
        })?;
        Ok(NewSession {
            id,
            csrf_token,
            expires_at,
        })
    }

    /// Finds the live session with this id and records its use, at most
    /// once per [`SESSION_SEEN_INTERVAL`] so that reads rarely write.
    /// Returns `None` for an unknown or expired session or a disabled user.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when the database
    /// fails.
    pub fn session(&self, id: &str, now: OffsetDateTime) -> Result<Option<Session>> {
        let hash = digest(id);
        let found = self.read(|conn| {
            let found = conn
                .query_row(
                    "SELECT user_name, csrf_token, expires_at, last_seen_at FROM sessions
                     WHERE id_hash = ?1 AND expires_at > ?2",
                    params![hash, micros(now)],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()?;
            let Some((name, csrf_token, expires_at, last_seen)) = found else {
                return Ok(None);
            };
            let Some(user) = find_user(conn, &name)?.filter(|user| !user.disabled) else {
                return Ok(None);
            };
            let session = Session {
                user,
                csrf_token,
                expires_at: instant(expires_at)?,
            };
            Ok(Some((session, last_seen)))
        })?;
        let Some((session, last_seen)) = found else {
            return Ok(None);
        };
        let interval = i64::try_from(SESSION_SEEN_INTERVAL.as_micros()).unwrap_or(i64::MAX);
        if micros(now).saturating_sub(last_seen) >= interval {
            self.write(|tx| {
                tx.execute(
                    "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1",
                    params![hash, micros(now)],
                )?;
                Ok(())
            })?;
        }
        Ok(Some(session))
    }

    /// Returns when a session was last used, `None` for an unknown one.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn session_last_seen(&self, id: &str) -> Result<Option<OffsetDateTime>> {
        let hash = digest(id);
        self.read(|conn| {
            conn.query_row(
                "SELECT last_seen_at FROM sessions WHERE id_hash = ?1",
                params![hash],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
            .map(instant)
            .transpose()
        })
    }

    /// Ends a session. Returns false when it did not exist.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when writing fails.
    pub fn delete_session(&self, id: &str) -> Result<bool> {
        let hash = digest(id);
        self.write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE id_hash = ?1", params![hash])? > 0))
    }
}

/// Checks a user name: 1 to 64 letters, digits, `-`, `_`, `.` or `@`.
fn check_user_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidUserName(name.to_owned()))
    }
}

fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::InvalidPassword(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|error| StoreError::InvalidPassword(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| StoreError::InvalidPassword(error.to_string()))
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Returns the hash of a random password, which logins with unknown
/// user names are checked against.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_hex()).unwrap_or_default())
}

/// Returns 32 random bytes from the thread's CSPRNG as hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn find_user(conn: &rusqlite::Connection, name: &str) -> Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
        params![name],
        |row| Ok(user_row(row)),
    )
    .optional()?
    .transpose()
}

fn user_row(row: &Row<'_>) -> Result<User> {
    let role: String = row.get(1)?;
    Ok(User {
        name: row.get(0)?,
        role: role.parse().map_err(|detail| StoreError::Corrupt {
            what: "user role",
            detail,
        })?,
        disabled: row.get(2)?,
        created_at: instant(row.get(3)?)?,
        updated_at: instant(row.get(4)?)?,
    })
}

fn token_row(row: &Row<'_>) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.get(0)?,
        owner: row.get(1)?,
        name: row.get(2)?,
        created_at: instant(row.get(3)?)?,
        last_used_at: row.get::<_, Option<i64>>(4)?.map(instant).transpose()?,
        revoked_at: row.get::<_, Option<i64>>(5)?.map(instant).transpose()?,
    })
}
