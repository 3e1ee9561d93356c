//! Alert triage beyond status changes: comments and assignment.

use rusqlite::{OptionalExtension, params};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::audit::{NewAudit, insert_audit};
use crate::codec::{instant, micros};
use crate::error::{Result, StoreError};

/// Longest accepted comment, in bytes.
pub const MAX_COMMENT_BYTES: usize = 16 * 1024;

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// When it was written.
    pub at: OffsetDateTime,
    /// The author's user name.
    pub author: String,
    /// The text.
    pub text: String,
}

impl Store {
    /// Adds a comment to an alert and records it in the audit trail.
    ///
    /// # Errors
    ///
    /// [`StoreError::EmptyComment`] for blank text,
    /// [`StoreError::InvalidTransition`] for text over
    /// [`MAX_COMMENT_BYTES`], and [`StoreError::UnknownAlert`].
    pub fn add_comment(&self, id: Uuid, author: &str, text: &str, now: OffsetDateTime) -> Result<Comment> {
        let text = text.trim();
        if text.is_empty() {
            return Err(StoreError::EmptyComment);
        }
        if text.len() > MAX_COMMENT_BYTES {
            return Err(StoreError::InvalidTransition(format!(
                "the comment has {} bytes; the maximum is {MAX_COMMENT_BYTES}",
                text.len()
            )));
        }
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM alerts WHERE id = ?1)",
                params![id.to_string()],
                |row| row.get(0),
            )?;
            if !exists {
                return Err(StoreError::UnknownAlert(id.to_string()));
            }
            tx.execute(
                "INSERT INTO alert_comments (alert_id, at, author, text) VALUES (?1, ?2, ?3, ?4)",
                params![id.to_string(), micros(now), author, text],
            )?;
            tx.execute(
                "UPDATE alerts SET updated_at = ?2 WHERE id = ?1",
                params![id.to_string(), micros(now)],
            )?;
            let target = format!("alert:{id}");
            let audit = NewAudit {
                actor: author,
                action: "alert.comment",
                target: &target,
                before: None,
                after: Some(json!({ "comment": text })),
            };
            insert_audit(tx, &audit, now)?;
            Ok(Comment {
                at: now,
                author: author.to_owned(),
                text: text.to_owned(),
            })
        })
    }

    /// Returns the comments of an alert, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn comments(&self, id: Uuid) -> Result<Vec<Comment>> {
        self.read(|conn| {
            let mut statement =
                conn.prepare("SELECT at, author, text FROM alert_comments WHERE alert_id = ?1 ORDER BY id")?;
            let rows = statement
                .query_map(params![id.to_string()], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(at, author, text)| {
                    Ok(Comment {
                        at: instant(at)?,
                        author,
                        text,
                    })
                })
                .collect()
        })
    }

    /// Assigns an alert to a user, or unassigns it with `None`, and records
    /// the change in the audit trail. Returns the previous assignee.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownAlert`], and [`StoreError::UnknownUser`] when
    /// the assignee is not a user.
    pub fn assign_alert(
        &self,
        id: Uuid,
        assignee: Option<&str>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>> {
        self.write(|tx| {
            let before: Option<Option<String>> = tx
                .query_row(
                    "SELECT assignee FROM alerts WHERE id = ?1",
                    params![id.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(before) = before else {
                return Err(StoreError::UnknownAlert(id.to_string()));
            };
            if let Some(name) = assignee {
                let known: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
                    params![name],
                    |row| row.get(0),
                )?;
                if !known {
                    return Err(StoreError::UnknownUser(name.to_owned()));
                }
            }
            tx.execute(
                "UPDATE alerts SET assignee = ?2, updated_at = ?3 WHERE id = ?1",
                params![id.to_string(), assignee, micros(now)],
            )?;
            let target = format!("alert:{id}");
            let audit = NewAudit {
                actor,
                action: "alert.assign",
                target: &target,
                before: Some(json!({ "assignee": before })),
                after: Some(json!({ "assignee": assignee })),
            };
            insert_audit(tx, &audit, now)?;
            Ok(before)
        })
    }
}
