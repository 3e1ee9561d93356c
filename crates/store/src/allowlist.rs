//! The allowlist: values and networks that must never alert.
//!
//! The store keeps the entries; deciding whether an entry covers an
//! indicator or an observed value is the pipeline's work.

use iocwatch_model::{IndicatorValue, ParseOptions, parse_indicator};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::codec::{decode_value, instant, kind_tag, micros};
use crate::error::{Result, StoreError};
use crate::{Store, bump_revision};

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistEntry {
    /// The normalised value: an address, network, domain (with its
    /// subdomains), URL, digest, e-mail address or fingerprint.
    pub value: IndicatorValue,
    /// The value as the user wrote it.
    pub original: String,
    /// The reason it is allowed.
    pub comment: Option<String>,
    /// When it was added or its comment last changed.
    pub added_at: OffsetDateTime,
}

impl Store {
    /// Adds a value to the allowlist, or replaces the comment of an equal
    /// entry. Defanged values are accepted. Returns the entry and whether
    /// it is new.
    ///
    /// A network shorter than /8 (IPv4) or /32 (IPv6) or a public suffix
    /// would silence a large part of all traffic, so it is rejected unless
    /// `options.allow_broad` is set.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidAllowlistValue`] when the value is not an
    /// indicator, is too broad, or is an address that can never be remote.
    pub fn allowlist_add(
        &self,
        value: &str,
        comment: Option<&str>,
        options: ParseOptions,
        now: OffsetDateTime,
    ) -> Result<(AllowlistEntry, bool)> {
        let parsed = parse_allowlist_value(value, options)?;
        let original = value.trim().to_owned();
        let comment = comment
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let created = self.write(|tx| {
            let kind = kind_tag(&parsed);
            let text = parsed.to_string();
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM allowlist WHERE kind = ?1 AND value = ?2",
                    params![kind, text],
                    |row| row.get(0),
                )
                .optional()?;
            match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE allowlist SET original = ?2, comment = ?3, added_at = ?4 WHERE id = ?1",
                        params![id, original, comment, micros(now)],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO allowlist (kind, value, original, comment, added_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![kind, text, original, comment, micros(now)],
                    )?;
                }
            }
            bump_revision(tx)?;
            Ok(existing.is_none())
        })?;
        let entry = AllowlistEntry {
            value: parsed,
            original,
            comment,
            added_at: now,
        };
        Ok((entry, created))
    }

    /// Removes a value from the allowlist. Returns false when it was not
    /// listed.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidAllowlistValue`] when the value is not an
    /// indicator.
    pub fn allowlist_remove(&self, value: &str) -> Result<bool> {
        let parsed = parse_allowlist_value(value, ParseOptions { allow_broad: true })?;
        self.write(|tx| {
            let removed = tx.execute(
                "DELETE FROM allowlist WHERE kind = ?1 AND value = ?2",
                params![kind_tag(&parsed), parsed.to_string()],
            )?;
            if removed > 0 {
                bump_revision(tx)?;
            }
            Ok(removed > 0)
        })
    }

    /// Returns the entry for a value, normalised as on [`Store::allowlist_add`].
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidAllowlistValue`] when the value is not an
    /// indicator.
    pub fn allowlist_entry(&self, value: &str) -> Result<Option<AllowlistEntry>> {
        let parsed = parse_allowlist_value(value, ParseOptions { allow_broad: true })?;
        Ok(self.allowlist()?.into_iter().find(|entry| entry.value == parsed))
    }

    /// Lists the allowlist in the order entries were added.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn allowlist(&self) -> Result<Vec<AllowlistEntry>> {
        self.read(|conn| {
            let mut statement =
                conn.prepare("SELECT kind, value, original, comment, added_at FROM allowlist ORDER BY id")?;
            let mut rows = statement.query([])?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next()? {
                let kind: String = row.get(0)?;
                let value: String = row.get(1)?;
                entries.push(AllowlistEntry {
                    value: decode_value(&kind, &value)?,
                    original: row.get(2)?,
                    comment: row.get(3)?,
                    added_at: instant(row.get(4)?)?,
                });
            }
            Ok(entries)
        })
    }
}

/// Parses an allowlist value with the rules of indicators, so that an
/// entry and an indicator normalise alike.
fn parse_allowlist_value(value: &str, options: ParseOptions) -> Result<IndicatorValue> {
    parse_indicator(value, None, options)
        .map(|parsed| parsed.value)
        .map_err(|error| StoreError::InvalidAllowlistValue {
            value: value.to_owned(),
            reason: error.to_string(),
        })
}
