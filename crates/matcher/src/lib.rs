//! The indicator matcher: built once from all watchlists, then immutable
//! and shared between threads.
//!
//! [`MatcherBuilder`] routes each indicator into the strategy for its
//! kind: hash tables for addresses, domains, URLs, digests, e-mail
//! addresses and JA4; a prefix trie per address family for networks.
//! [`Matcher`] reports every indicator that matches an observed value,
//! from every watchlist, and every covering network rather than only the
//! longest. No lookup scans the indicator list, so the cost of a lookup
//! does not grow with the number of indicators.
//!
//! Matching never fails: a value that cannot be normalised is a non-match.
//!
//! [`LineFilter`] tests raw log bytes before any decoding: it tells, from
//! the tokens written in them, whether any value there could match, so
//! that a scan decodes only the few lines that may.

#![deny(missing_docs)]

mod prefilter;
mod strategy;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use iocwatch_model::{Field, Indicator, IndicatorKind, Record};

pub use prefilter::LineFilter;
use strategy::{KindCounts, Strategies};

/// Index of an indicator in a [`Matcher`].
pub type IndicatorId = u32;

/// Index of a watchlist in a [`Matcher`].
pub type WatchlistId = u16;

pub use iocwatch_model::DomainMatch;

/// A watchlist as the matcher stores it.
#[derive(Debug, Clone)]
pub struct WatchlistInfo {
    /// The watchlist's name (`feed.name` in alerts).
    pub name: Arc<str>,
    /// Its domain matching mode.
    pub domain_match: DomainMatch,
}

/// One indicator of the matcher, with the watchlist it came from.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The watchlist.
    pub watchlist: WatchlistId,
    /// The indicator.
    pub indicator: &'a Indicator,
}

/// The reason a matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// More watchlists than a [`WatchlistId`] can number.
    TooManyWatchlists,
    /// More indicators than an [`IndicatorId`] can number.
    TooManyIndicators,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyWatchlists => write!(f, "more than {} watchlists", WatchlistId::MAX),
            Self::TooManyIndicators => write!(f, "more than {} indicators", IndicatorId::MAX),
        }
    }
}

impl std::error::Error for BuildError {}

/// Collects watchlists and indicators, then builds a [`Matcher`].
#[derive(Debug, Default)]
pub struct MatcherBuilder {
    watchlists: Vec<WatchlistInfo>,
    /// The indicators, by id.
    indicators: Vec<Indicator>,
    /// The watchlist of each indicator, by id.
    owners: Vec<WatchlistId>,
    /// The lookup tables, filled as indicators are added. They also find
    /// duplicates: an indicator whose bucket already contains the same value
    /// from the same watchlist is not added.
    strategies: Strategies,
    duplicates: u64,
    overflow: Option<BuildError>,
}

impl MatcherBuilder {
    /// Creates an empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a watchlist and returns its id for [`MatcherBuilder::add`].
    pub fn add_watchlist(&mut self, name: &str, domain_match: DomainMatch) -> WatchlistId {
        let Ok(id) = WatchlistId::try_from(self.watchlists.len()) else {
            self.overflow = Some(BuildError::TooManyWatchlists);
            return WatchlistId::MAX;
        };
        self.watchlists.push(WatchlistInfo {
            name: Arc::from(name),
            domain_match,
        });
        id
    }

    /// Reserves room for `indicators`, which are about to be added one by
    /// one, so that the tables are sized once rather than grown step by
    /// step. Calling it is optional and changes no result.
    pub fn reserve(&mut self, indicators: &[Indicator]) {
        self.indicators.reserve(indicators.len());
        self.owners.reserve(indicators.len());
        let counts = KindCounts::of(indicators.iter().map(|indicator| &indicator.value));
        self.strategies.reserve(&counts);
    }

    /// Adds the indicators for which `keep` returns true to a watchlist,
    /// in order, as [`MatcherBuilder::add`] does, and returns how many
    /// were added.
    ///
    /// The first list added keeps its memory, so that a large list is
    /// neither moved nor held twice. Later lists are appended to it. The
    /// tables of addresses and of names are filled on two threads.
    pub fn add_all(
        &mut self,
        watchlist: WatchlistId,
        indicators: Vec<Indicator>,
        mut keep: impl FnMut(&Indicator) -> bool,
    ) -> usize {
        let mut indicators = indicators;
        indicators.retain(|indicator| keep(indicator));
        let start = self.indicators.len();
        if IndicatorId::try_from(start + indicators.len()).is_err() {
            self.overflow = Some(BuildError::TooManyIndicators);
            return 0;
        }
        if start == 0 {
            self.indicators = indicators;
        } else {
            self.indicators.append(&mut indicators);
        }
        self.owners.resize(self.indicators.len(), watchlist);
        let duplicates = self.strategies.insert_all(start, &self.indicators, &self.owners);
        if !duplicates.is_empty() {
            self.drop_duplicates(&duplicates);
        }
        self.indicators.len() - start
    }

    /// Removes the indicators at the sorted indexes `duplicates`, which
    /// [`Strategies::insert_all`] did not add, and fills the tables again,
    /// since the ids of the indicators after them change.
    #[cold]
    fn drop_duplicates(&mut self, duplicates: &[usize]) {
        self.duplicates += duplicates.len() as u64;
        let mut is_unique = vec![true; self.indicators.len()];
        for &index in duplicates {
            is_unique[index] = false;
        }
        let mut unique = is_unique.iter();
        self.indicators.retain(|_| unique.next().copied().unwrap_or(true));
        let mut unique = is_unique.iter();
        self.owners.retain(|_| unique.next().copied().unwrap_or(true));
        self.strategies = Strategies::default();
        // What is left has no duplicates, so nothing is dropped again.
        self.strategies.insert_all(0, &self.indicators, &self.owners);
    }

    /// Adds an indicator to a watchlist. Returns false when the watchlist
    /// already contains the same value, which is then not added again.
    pub fn add(&mut self, watchlist: WatchlistId, indicator: Indicator) -> bool {
        let Ok(id) = IndicatorId::try_from(self.indicators.len()) else {
            self.overflow = Some(BuildError::TooManyIndicators);
            return false;
        };
        let (indicators, owners) = (&self.indicators, &self.owners);
        let is_same = |other: IndicatorId| {
            let other = other as usize;
            owners.get(other) == Some(&watchlist)
                && indicators
                    .get(other)
                    .is_some_and(|entry| entry.value == indicator.value)
        };
        if !self.strategies.insert(id, &indicator.value, is_same) {
            self.duplicates += 1;
            return false;
        }
        self.indicators.push(indicator);
        self.owners.push(watchlist);
        true
    }

    /// Number of indicators not added because their watchlist already
    /// held the value.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Builds the matcher.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when the watchlists or indicators outnumber the ids.
    pub fn build(self) -> Result<Matcher, BuildError> {
        if let Some(err) = self.overflow {
            return Err(err);
        }
        if IndicatorId::try_from(self.indicators.len()).is_err() {
            return Err(BuildError::TooManyIndicators);
        }
        Ok(Matcher {
            inner: Arc::new(Inner {
                watchlists: self.watchlists,
                indicators: self.indicators,
                owners: self.owners,
                strategies: self.strategies,
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    watchlists: Vec<WatchlistInfo>,
    indicators: Vec<Indicator>,
    owners: Vec<WatchlistId>,
    strategies: Strategies,
}

/// An immutable matcher over every indicator of every watchlist. Cloning
/// is cheap (an `Arc`).
#[derive(Debug, Clone)]
pub struct Matcher {
    inner: Arc<Inner>,
}

/// One match of an indicator against an observed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The matching indicator.
    pub indicator: IndicatorId,
    /// Index of the observable in [`Record::observables`].
    pub observable: usize,
    /// The observed value as normalised for matching
    /// (`threat.enrichments[].matched.atomic`).
    pub atomic: String,
}

impl Matcher {
    /// Creates a matcher with no indicators.
    pub fn empty() -> Self {
        MatcherBuilder::new()
            .build()
            .unwrap_or_else(|_| unreachable!("an empty builder cannot overflow"))
    }

    /// Number of indicators.
    pub fn len(&self) -> usize {
        self.inner.indicators.len()
    }

    /// True when the matcher contains no indicator.
    pub fn is_empty(&self) -> bool {
        self.inner.indicators.is_empty()
    }

    /// Returns the indicator with id `id`.
    ///
    /// # Panics
    ///
    /// When `id` did not come from this matcher.
    pub fn entry(&self, id: IndicatorId) -> Entry<'_> {
        Entry {
            watchlist: self.inner.owners[id as usize],
            indicator: &self.inner.indicators[id as usize],
        }
    }

    /// Returns the watchlist with id `id`.
    ///
    /// # Panics
    ///
    /// When `id` did not come from this matcher.
    pub fn watchlist(&self, id: WatchlistId) -> &WatchlistInfo {
        &self.inner.watchlists[usize::from(id)]
    }

    /// Returns every watchlist, in the order they were added.
    pub fn watchlists(&self) -> &[WatchlistInfo] {
        &self.inner.watchlists
    }

    /// Number of indicators of each kind.
    pub fn kind_counts(&self) -> Vec<(IndicatorKind, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for indicator in &self.inner.indicators {
            *counts.entry(indicator.value.kind()).or_insert(0) += 1;
        }
        counts.into_iter().collect()
    }

    /// Appends a [`Hit`] to `hits` for every indicator that matches an
    /// observable of `record`. Returns true when there was at least one.
    pub fn match_record(&self, record: &Record<'_>, hits: &mut Vec<Hit>) -> bool {
        let before = hits.len();
        for (index, observed) in record.observables.iter().enumerate() {
            self.match_value(
                observed.field,
                &observed.value,
                observed.port,
                |indicator, atomic| {
                    hits.push(Hit {
                        indicator,
                        observable: index,
                        atomic: atomic.into_owned(),
                    });
                },
            );
        }
        hits.len() > before
    }

    /// Calls `on_hit` with the indicator id and the normalised value for
    /// every indicator that matches `value` seen in `field` (with `port`,
    /// for connection endpoints).
    pub fn match_value<F>(&self, field: Field, value: &str, port: Option<u16>, on_hit: F)
    where
        F: FnMut(IndicatorId, Cow<'_, str>),
    {
        self.inner.strategies.match_value(
            &self.inner.watchlists,
            &self.inner.owners,
            field,
            value,
            port,
            on_hit,
        );
    }

    /// Every indicator that matches `value` in any field it could be seen
    /// in, with the normalised value. This serves the question "is this on any
    /// watchlist?" for a value of unknown origin.
    pub fn lookup(&self, value: &str) -> Vec<(IndicatorId, Field, String)> {
        let mut found: Vec<(IndicatorId, Field, String)> = Vec::new();
        for field in Field::ALL {
            self.match_value(field, value, None, |id, atomic| {
                if !found.iter().any(|(seen, ..)| *seen == id) {
                    found.push((id, field, atomic.into_owned()));
                }
            });
        }
        found
    }
}

#[cfg(test)]
mod tests;
