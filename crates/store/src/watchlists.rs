//! Watchlists and their indicators.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use iocwatch_model::time::parse_expiry;
use iocwatch_model::{DomainMatch, Indicator, IndicatorValue, Meta, Origin};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use crate::codec::{add, decode_value, from_secs, instant, kind_tag, micros, secs};
use crate::error::{Result, StoreError};
use crate::{Store, bump_revision};

/// Keys of [`Meta::extra`] that give an indicator's own expiry, in a form
/// that [`parse_expiry`] reads. The CSV export writes the first of them.
pub const EXPIRY_META_KEYS: &[&str] = &["expires", "expires_at", "valid_until", "expiration"];

pub use iocwatch_model::Severity;

/// The settings of a watchlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistSettings {
    /// Severity of its alerts; `None` derives it from indicator confidence.
    pub severity: Option<Severity>,
    /// The domain matching mode.
    pub domain_match: DomainMatch,
    /// Default lifetime of an indicator after its last import; `None`
    /// keeps indicators until they are removed.
    pub ttl: Option<Duration>,
    /// Sightings of one indicator on one host within this window update
    /// one alert instead of raising another.
    pub dedup_window: Duration,
    /// Whether the service matches its indicators.
    pub enabled: bool,
    /// A description for people.
    pub description: Option<String>,
}

impl Default for WatchlistSettings {
    /// Severity from confidence, subdomains match, no expiry, a one-hour
    /// dedup window, enabled.
    fn default() -> Self {
        Self {
            severity: None,
            domain_match: DomainMatch::Subdomains,
            ttl: None,
            dedup_window: Duration::from_secs(3600),
            enabled: true,
            description: None,
        }
    }
}

/// A watchlist with its indicator counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistInfo {
    /// The unique name.
    pub name: String,
    /// The settings.
    pub settings: WatchlistSettings,
    /// Indicators stored, expired or not.
    pub indicators: u64,
    /// Indicators whose expiry has passed at `now` of the call.
    pub expired: u64,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its settings last changed.
    pub updated_at: OffsetDateTime,
}

/// A stored indicator with its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIndicator {
    /// The indicator as last imported.
    pub indicator: Indicator,
    /// When it was first imported into this watchlist.
    pub first_seen: OffsetDateTime,
    /// When it was last imported into this watchlist.
    pub last_seen: OffsetDateTime,
    /// When it stops matching; `None` for never.
    pub expires_at: Option<OffsetDateTime>,
}

/// An enabled watchlist with its unexpired indicators, to build a matcher.
#[derive(Debug, Clone)]
pub struct ActiveWatchlist {
    /// The name (`feed.name` in alerts).
    pub name: String,
    /// The settings.
    pub settings: WatchlistSettings,
    /// The unexpired indicators, in import order.
    pub indicators: Vec<Indicator>,
}

/// Options of [`Store::import`].
#[derive(Default)]
pub struct ImportOptions<'a> {
    /// Lifetime of these indicators from `now`, overriding both the
    /// indicator's own expiry and the watchlist's ttl.
    pub ttl: Option<Duration>,
    /// Returns true for an indicator that the allowlist covers; such
    /// indicators are counted and not stored. The pipeline's `Allowlist`
    /// provides it.
    pub allowlisted: Option<&'a dyn Fn(&Indicator) -> bool>,
}

impl fmt::Debug for ImportOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportOptions")
            .field("ttl", &self.ttl)
            .field("allowlisted", &self.allowlisted.is_some())
            .finish()
    }
}

/// The counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Indicators new to the watchlist.
    pub added: u64,
    /// Indicators already in it, whose metadata, `last_seen` and expiry
    /// were refreshed.
    pub updated: u64,
    /// Indicators not stored because the allowlist covers them.
    pub skipped_allowlisted: u64,
    /// Indicators stored without an expiry because the expiry in their
    /// metadata is no date or time that [`parse_expiry`] reads.
    pub unreadable_expiry: u64,
    /// The source line of the first of them.
    pub first_unreadable_expiry_line: Option<u64>,
}

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Maximum rows to return.
    pub limit: u64,
}

const WATCHLIST_COLUMNS: &str =
    "name, severity, domain_match, ttl_secs, dedup_window_secs, enabled, description, created_at, updated_at";

const INDICATOR_COLUMNS: &str =
    "kind, value, original, meta, source, line, first_seen, last_seen, expires_at";

impl Store {
    /// Creates a watchlist.
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateWatchlist`] when the name is taken and
    /// [`StoreError::InvalidWatchlistName`] when it is empty, longer than
    /// 200 bytes or contains characters other than letters, digits, `-`,
    /// `_` and `.`.
    pub fn create_watchlist(
        &self,
        name: &str,
        settings: &WatchlistSettings,
        now: OffsetDateTime,
    ) -> Result<()> {
        check_name(name)?;
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM watchlists WHERE name = ?1)",
                params![name],
                |row| row.get(0),
            )?;
            if exists {
                return Err(StoreError::DuplicateWatchlist(name.to_owned()));
            }
            let ttl = settings.ttl.map(secs).transpose()?;
            tx.execute(
                "INSERT INTO watchlists
                     (name, severity, domain_match, ttl_secs, dedup_window_secs, enabled, description,
                      created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    name,
                    settings.severity.map(Severity::as_str),
                    settings.domain_match.as_str(),
                    ttl,
                    secs(settings.dedup_window)?,
                    settings.enabled,
                    settings.description,
                    micros(now),
                ],
            )?;
            bump_revision(tx)
        })
    }

    /// Replaces the settings of a watchlist.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn update_watchlist(
        &self,
        name: &str,
        settings: &WatchlistSettings,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.write(|tx| {
            let ttl = settings.ttl.map(secs).transpose()?;
            let changed = tx.execute(
                "UPDATE watchlists SET severity = ?2, domain_match = ?3, ttl_secs = ?4,
                     dedup_window_secs = ?5, enabled = ?6, description = ?7, updated_at = ?8
                 WHERE name = ?1",
                params![
                    name,
                    settings.severity.map(Severity::as_str),
                    settings.domain_match.as_str(),
                    ttl,
                    secs(settings.dedup_window)?,
                    settings.enabled,
                    settings.description,
                    micros(now),
                ],
            )?;
            if changed == 0 {
                return Err(unknown_watchlist(tx, name));
            }
            bump_revision(tx)
        })
    }

    /// Deletes a watchlist and its indicators. Alerts it raised stay.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn delete_watchlist(&self, name: &str) -> Result<()> {
        self.write(|tx| {
            if tx.execute("DELETE FROM watchlists WHERE name = ?1", params![name])? == 0 {
                return Err(unknown_watchlist(tx, name));
            }
            bump_revision(tx)
        })
    }

    /// Lists every watchlist by name, with indicator counts at `now`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn list_watchlists(&self, now: OffsetDateTime) -> Result<Vec<WatchlistInfo>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {WATCHLIST_COLUMNS},
                     (SELECT COUNT(*) FROM indicators i WHERE i.watchlist_id = w.id),
                     (SELECT COUNT(*) FROM indicators i WHERE i.watchlist_id = w.id AND i.expires_at <= ?1)
                 FROM watchlists w ORDER BY name"
            );
            let mut statement = conn.prepare(&sql)?;
            let mut rows = statement.query(params![micros(now)])?;
            let mut found = Vec::new();
            while let Some(row) = rows.next()? {
                found.push(watchlist_info(row)?);
            }
            Ok(found)
        })
    }

    /// Returns one watchlist, or `None` when no watchlist has the name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn watchlist(&self, name: &str, now: OffsetDateTime) -> Result<Option<WatchlistInfo>> {
        Ok(self
            .list_watchlists(now)?
            .into_iter()
            .find(|watchlist| watchlist.name == name))
    }

    /// Stores indicators in a watchlist: each new `(kind, value)` is added,
    /// an existing one keeps its `first_seen` and gets the new metadata,
    /// origin, `last_seen = now` and expiry. All in one transaction.
    ///
    /// The expiry is `now + options.ttl` when given, else the indicator's
    /// own expiry from [`EXPIRY_META_KEYS`], else `now` plus the
    /// watchlist's ttl, else none.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn import(
        &self,
        watchlist: &str,
        indicators: Vec<Indicator>,
        options: &ImportOptions<'_>,
        now: OffsetDateTime,
    ) -> Result<ImportReport> {
        self.write(|tx| {
            let (id, ttl) = watchlist_id_and_ttl(tx, watchlist)?;
            let mut known = existing_keys(tx, id)?;
            let mut report = ImportReport::default();
            let mut statement = tx.prepare(
                "INSERT INTO indicators
                     (watchlist_id, kind, value, original, meta, source, line, first_seen, last_seen, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
                 ON CONFLICT (watchlist_id, kind, value) DO UPDATE SET
                     original = excluded.original, meta = excluded.meta, source = excluded.source,
                     line = excluded.line, last_seen = excluded.last_seen, expires_at = excluded.expires_at",
            )?;
            let mut meta_json = MetaEncoder::default();
            for indicator in indicators {
                if options.allowlisted.is_some_and(|covers| covers(&indicator)) {
                    report.skipped_allowlisted += 1;
                    continue;
                }
                let own_expiry = match meta_expiry(&indicator.meta) {
                    Ok(expiry) => expiry,
                    Err(()) => {
                        report.unreadable_expiry += 1;
                        report
                            .first_unreadable_expiry_line
                            .get_or_insert(indicator.origin.line);
                        None
                    }
                };
                let expires_at = match options.ttl {
                    Some(ttl) => add(now, ttl),
                    None => own_expiry.or_else(|| ttl.and_then(|ttl| add(now, ttl))),
                };
                let kind = kind_tag(&indicator.value);
                let value = indicator.value.to_string();
                let line = i64::try_from(indicator.origin.line).unwrap_or(i64::MAX);
                statement.execute(params![
                    id,
                    kind,
                    value,
                    indicator.original,
                    meta_json.encode(&indicator.meta)?,
                    &*indicator.origin.source,
                    line,
                    micros(now),
                    expires_at.map(micros),
                ])?;
                if known.insert((kind.to_owned(), value)) {
                    report.added += 1;
                } else {
                    report.updated += 1;
                }
            }
            drop(statement);
            if report.added + report.updated > 0 {
                bump_revision(tx)?;
            }
            Ok(report)
        })
    }

    /// Removes values from a watchlist and returns how many indicators
    /// went. A digest value removes it whatever object it was listed for.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn remove(&self, watchlist: &str, values: &[IndicatorValue]) -> Result<u64> {
        let removed = self.remove_each(watchlist, values)?;
        Ok(removed.iter().sum())
    }

    /// Removes values from a watchlist, as [`Store::remove`] does, and
    /// returns how many indicators each value removed, in the order of
    /// `values`: 0 for a value the watchlist did not list.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn remove_each(&self, watchlist: &str, values: &[IndicatorValue]) -> Result<Vec<u64>> {
        self.write(|tx| {
            let (id, _) = watchlist_id_and_ttl(tx, watchlist)?;
            let mut statement =
                tx.prepare("DELETE FROM indicators WHERE watchlist_id = ?1 AND value = ?2")?;
            let mut removed = Vec::with_capacity(values.len());
            for value in values {
                removed.push(statement.execute(params![id, value.to_string()])? as u64);
            }
            drop(statement);
            if removed.iter().any(|count| *count > 0) {
                bump_revision(tx)?;
            }
            Ok(removed)
        })
    }

    /// Lists the indicators of a watchlist in import order, expired ones
    /// included; `page` of `None` lists all of them.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn indicators(&self, watchlist: &str, page: Option<Page>) -> Result<Vec<StoredIndicator>> {
        self.read(|conn| {
            let (id, _) = watchlist_id_and_ttl(conn, watchlist)?;
            let page = page.unwrap_or(Page {
                offset: 0,
                limit: u64::MAX,
            });
            let sql = format!(
                "SELECT {INDICATOR_COLUMNS} FROM indicators WHERE watchlist_id = ?1 ORDER BY id
                 LIMIT ?2 OFFSET ?3"
            );
            let mut statement = conn.prepare(&sql)?;
            let mut rows = statement.query(params![
                id,
                i64::try_from(page.limit).unwrap_or(i64::MAX),
                i64::try_from(page.offset).unwrap_or(i64::MAX)
            ])?;
            let mut decoder = MetaDecoder::default();
            let mut found = Vec::new();
            while let Some(row) = rows.next()? {
                found.push(stored_indicator(row, &mut decoder)?);
            }
            Ok(found)
        })
    }

    /// Returns a page of the indicators of a watchlist whose value or
    /// original text contains `text` (case-insensitively; every indicator
    /// when `None`), in import order, and how many match in all.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn search_indicators(
        &self,
        watchlist: &str,
        text: Option<&str>,
        page: Page,
    ) -> Result<(Vec<StoredIndicator>, u64)> {
        let pattern = text.map(str::trim).filter(|text| !text.is_empty()).map(|text| {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        self.read(|conn| {
            let (id, _) = watchlist_id_and_ttl(conn, watchlist)?;
            let condition = "watchlist_id = ?1 AND (?2 IS NULL OR lower(value) LIKE ?2 ESCAPE '\\'
                 OR lower(original) LIKE ?2 ESCAPE '\\')";
            let total: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM indicators WHERE {condition}"),
                params![id, pattern],
                |row| row.get(0),
            )?;
            let sql = format!(
                "SELECT {INDICATOR_COLUMNS} FROM indicators WHERE {condition} ORDER BY id LIMIT ?3 OFFSET ?4"
            );
            let mut statement = conn.prepare(&sql)?;
            let mut rows = statement.query(params![
                id,
                pattern,
                i64::try_from(page.limit).unwrap_or(i64::MAX),
                i64::try_from(page.offset).unwrap_or(i64::MAX)
            ])?;
            let mut decoder = MetaDecoder::default();
            let mut found = Vec::new();
            while let Some(row) = rows.next()? {
                found.push(stored_indicator(row, &mut decoder)?);
            }
            Ok((found, total.max(0) as u64))
        })
    }

    /// Sets the expiry of indicators of a watchlist to `at`, so they stop
    /// matching then. Returns how many indicators were changed.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownWatchlist`] when no watchlist has the name.
    pub fn expire(&self, watchlist: &str, values: &[IndicatorValue], at: OffsetDateTime) -> Result<u64> {
        self.write(|tx| {
            let (id, _) = watchlist_id_and_ttl(tx, watchlist)?;
            let mut statement =
                tx.prepare("UPDATE indicators SET expires_at = ?3 WHERE watchlist_id = ?1 AND value = ?2")?;
            let mut changed = 0;
            for value in values {
                changed += statement.execute(params![id, value.to_string(), micros(at)])? as u64;
            }
            drop(statement);
            if changed > 0 {
                bump_revision(tx)?;
            }
            Ok(changed)
        })
    }

    /// Returns every enabled watchlist with its indicators that have not
    /// expired at `now`, by watchlist name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] when reading fails.
    pub fn active_watchlists(&self, now: OffsetDateTime) -> Result<Vec<ActiveWatchlist>> {
        self.read(|conn| {
            let sql =
                format!("SELECT id, {WATCHLIST_COLUMNS}, 0, 0 FROM watchlists w WHERE enabled ORDER BY name");
            let mut statement = conn.prepare(&sql)?;
            let mut rows = statement.query([])?;
            let mut lists = Vec::new();
            let mut positions = HashMap::new();
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let info = watchlist_info_at(row, 1)?;
                positions.insert(id, lists.len());
                lists.push(ActiveWatchlist {
                    name: info.name,
                    settings: info.settings,
                    indicators: Vec::new(),
                });
            }
            let mut statement = conn.prepare(
                "SELECT i.watchlist_id, i.kind, i.value, i.original, i.meta, i.source, i.line
                 FROM indicators i JOIN watchlists w ON w.id = i.watchlist_id
                 WHERE w.enabled AND (i.expires_at IS NULL OR i.expires_at > ?1)
                 ORDER BY i.id",
            )?;
            let mut rows = statement.query(params![micros(now)])?;
            let mut decoder = MetaDecoder::default();
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let Some(&position) = positions.get(&id) else {
                    continue;
                };
                let indicator = indicator_at(row, 1, &mut decoder)?;
                lists[position].indicators.push(indicator);
            }
            Ok(lists)
        })
    }

    /// Returns the earliest expiry after `now` among indicators of enabled
    /// watchlists, or `None` when none will expire.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when reading fails.
    pub fn next_expiry(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
        self.read(|conn| {
            let next: Option<i64> = conn.query_row(
                "SELECT MIN(i.expires_at) FROM indicators i JOIN watchlists w ON w.id = i.watchlist_id
                 WHERE w.enabled AND i.expires_at > ?1",
                params![micros(now)],
                |row| row.get(0),
            )?;
            next.map(instant).transpose()
        })
    }
}

/// Checks a watchlist name: 1 to 200 bytes of letters, digits, `-`, `_`, `.`.
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidWatchlistName(name.to_owned()))
    }
}

/// Builds the error for an unknown name, listing the names that exist.
pub(crate) fn unknown_watchlist(conn: &Connection, name: &str) -> StoreError {
    let known = conn
        .prepare("SELECT name FROM watchlists ORDER BY name")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        });
    match known {
        Ok(known) => StoreError::UnknownWatchlist {
            name: name.to_owned(),
            known,
        },
        Err(error) => error.into(),
    }
}

fn watchlist_id_and_ttl(conn: &Connection, name: &str) -> Result<(i64, Option<Duration>)> {
    let found: Option<(i64, Option<i64>)> = conn
        .query_row(
            "SELECT id, ttl_secs FROM watchlists WHERE name = ?1",
            params![name],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((id, ttl)) = found else {
        return Err(unknown_watchlist(conn, name));
    };
    Ok((id, ttl.map(from_secs).transpose()?))
}

fn existing_keys(tx: &Transaction<'_>, id: i64) -> Result<HashSet<(String, String)>> {
    let mut statement = tx.prepare("SELECT kind, value FROM indicators WHERE watchlist_id = ?1")?;
    let keys = statement
        .query_map(params![id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<HashSet<(String, String)>>>()?;
    Ok(keys)
}

/// Reads an indicator's own expiry from its metadata: `None` when it
/// has none or an empty one, an error when the value is no date or time.
fn meta_expiry(meta: &Meta) -> std::result::Result<Option<OffsetDateTime>, ()> {
    match EXPIRY_META_KEYS.iter().find_map(|key| meta.extra.get(*key)) {
        Some(value) if !value.trim().is_empty() => parse_expiry(value).map(Some).ok_or(()),
        _ => Ok(None),
    }
}

fn watchlist_info(row: &Row<'_>) -> Result<WatchlistInfo> {
    watchlist_info_at(row, 0)
}

/// Reads [`WATCHLIST_COLUMNS`] and the two counts starting at column `at`.
fn watchlist_info_at(row: &Row<'_>, at: usize) -> Result<WatchlistInfo> {
    let name: String = row.get(at)?;
    let severity: Option<String> = row.get(at + 1)?;
    let domain_match: String = row.get(at + 2)?;
    let ttl: Option<i64> = row.get(at + 3)?;
    let corrupt = |what, detail: String| StoreError::Corrupt { what, detail };
    let severity = severity
        .map(|s| {
            s.parse::<Severity>()
                .map_err(|reason| corrupt("watchlist severity", reason.to_string()))
        })
        .transpose()?;
    let domain_match = DomainMatch::from_name(&domain_match)
        .ok_or_else(|| corrupt("watchlist domain match", domain_match.clone()))?;
    Ok(WatchlistInfo {
        name,
        settings: WatchlistSettings {
            severity,
            domain_match,
            ttl: ttl.map(from_secs).transpose()?,
            dedup_window: from_secs(row.get(at + 4)?)?,
            enabled: row.get(at + 5)?,
            description: row.get(at + 6)?,
        },
        created_at: instant(row.get(at + 7)?)?,
        updated_at: instant(row.get(at + 8)?)?,
        indicators: row.get::<_, i64>(at + 9)?.max(0) as u64,
        expired: row.get::<_, i64>(at + 10)?.max(0) as u64,
    })
}

fn stored_indicator(row: &Row<'_>, decoder: &mut MetaDecoder) -> Result<StoredIndicator> {
    let expires_at: Option<i64> = row.get(8)?;
    Ok(StoredIndicator {
        indicator: indicator_at(row, 0, decoder)?,
        first_seen: instant(row.get(6)?)?,
        last_seen: instant(row.get(7)?)?,
        expires_at: expires_at.map(instant).transpose()?,
    })
}

/// Reads kind, value, original, meta, source and line starting at `at`.
fn indicator_at(row: &Row<'_>, at: usize, decoder: &mut MetaDecoder) -> Result<Indicator> {
    let kind: String = row.get(at)?;
    let value: String = row.get(at + 1)?;
    let meta: String = row.get(at + 3)?;
    let source: String = row.get(at + 4)?;
    let line: i64 = row.get(at + 5)?;
    Ok(Indicator {
        value: decode_value(&kind, &value)?,
        original: row.get(at + 2)?,
        meta: decoder.decode(meta)?,
        origin: Origin {
            source: decoder.source(source),
            line: line.max(0) as u64,
        },
    })
}

/// Serialises metadata, once per shared `Arc<Meta>` in a row.
#[derive(Default)]
struct MetaEncoder {
    last: Option<(Arc<Meta>, String)>,
}

impl MetaEncoder {
    fn encode(&mut self, meta: &Arc<Meta>) -> Result<String> {
        if let Some((last, json)) = &self.last
            && Arc::ptr_eq(last, meta)
        {
            return Ok(json.clone());
        }
        let json = serde_json::to_string(&**meta).map_err(|error| StoreError::Corrupt {
            what: "indicator metadata",
            detail: error.to_string(),
        })?;
        self.last = Some((Arc::clone(meta), json.clone()));
        Ok(json)
    }
}

/// Parses stored metadata and source names, sharing one `Arc` between
/// equal values: most indicators of a feed have the same metadata.
#[derive(Default)]
struct MetaDecoder {
    metas: HashMap<String, Arc<Meta>>,
    sources: HashMap<String, Arc<str>>,
}

/// Maximum distinct metadata values kept for sharing. Past this, values
/// are parsed without being kept, so memory stays bounded on feeds where
/// every indicator has its own description.
const MAX_SHARED_METAS: usize = 4096;

impl MetaDecoder {
    fn decode(&mut self, json: String) -> Result<Arc<Meta>> {
        if let Some(meta) = self.metas.get(&json) {
            return Ok(Arc::clone(meta));
        }
        let meta: Meta = serde_json::from_str(&json).map_err(|error| StoreError::Corrupt {
            what: "indicator metadata",
            detail: format!("{error} in {json:?}"),
        })?;
        let meta = Arc::new(meta);
        if self.metas.len() < MAX_SHARED_METAS {
            self.metas.insert(json, Arc::clone(&meta));
        }
        Ok(meta)
    }

    fn source(&mut self, source: String) -> Arc<str> {
        if let Some(shared) = self.sources.get(&source) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(source.as_str());
        self.sources.insert(source, Arc::clone(&shared));
        shared
    }
}
