//! The snapshot the match step reads: the matcher, the allowlist and each
//! watchlist's alert policy, built together and swapped as one.

use std::collections::BTreeSet;
use std::time::Duration;

use iocwatch_matcher::Matcher;
use iocwatch_model::Field;
use serde_json::json;

use crate::alert::{Alert, AlertBuilder, Severity, insert};
use crate::allowlist::Allowlist;
use crate::service::process::Detection;

/// Alert settings of one watchlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistPolicy {
    /// Severity of the watchlist's alerts; `None` leaves it to the
    /// indicators' confidence.
    pub severity: Option<Severity>,
    /// Deduplication window of its alerts.
    pub dedup_window: Duration,
}

/// An immutable view of the watchlists, shared by reference count and
/// replaced whole when a watchlist changes.
#[derive(Debug)]
pub struct Snapshot {
    builder: AlertBuilder,
    policies: Vec<WatchlistPolicy>,
    allowlist: Allowlist,
    revision: u64,
    default_window: Duration,
}

impl Snapshot {
    /// Creates a snapshot. `policies` is indexed by the matcher's watchlist
    /// ids; a watchlist without an entry gets `default_window` and
    /// severity from confidence.
    pub fn new(
        builder: AlertBuilder,
        policies: Vec<WatchlistPolicy>,
        allowlist: Allowlist,
        revision: u64,
        default_window: Duration,
    ) -> Self {
        Self {
            builder,
            policies,
            allowlist,
            revision,
            default_window,
        }
    }

    /// Returns the store revision this snapshot was built from.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Returns the matcher.
    pub fn matcher(&self) -> &Matcher {
        self.builder.matcher()
    }

    /// Returns the alert builder.
    pub fn builder(&self) -> &AlertBuilder {
        &self.builder
    }

    /// Tells whether an observed value must never alert.
    pub fn is_allowlisted(&self, field: Field, atomic: &str) -> bool {
        self.allowlist.covers_value(field, atomic)
    }

    /// Turns an alert into a detection: its dedup key (internal host and
    /// the matching indicators), its window (the shortest of the matching
    /// watchlists') and its severity.
    ///
    /// Severity: the highest severity set by a matching watchlist, or the
    /// one from the indicators' confidence when no watchlist sets one. A
    /// watchlist's severity drops one level when every matching indicator
    /// states a confidence below 40.
    pub fn detection(&self, mut alert: Alert) -> Detection {
        let matcher = self.matcher();
        let mut keys = BTreeSet::new();
        let mut window: Option<Duration> = None;
        let mut set_severity: Option<Severity> = None;
        for found in &alert.matches {
            let entry = matcher.entry(found.indicator);
            let watchlist = matcher.watchlist(entry.watchlist);
            keys.insert(format!(
                "{}/{}/{}",
                watchlist.name,
                entry.indicator.value.kind(),
                entry.indicator.value
            ));
            let policy = self.policies.get(usize::from(entry.watchlist));
            let this_window = policy.map_or(self.default_window, |policy| policy.dedup_window);
            window = Some(window.map_or(this_window, |w| w.min(this_window)));
            if let Some(severity) = policy.and_then(|policy| policy.severity) {
                set_severity = Some(set_severity.map_or(severity, |s| s.max(severity)));
            }
        }
        let severity = match set_severity {
            Some(severity) if alert.severity == Severity::Low => severity.lower(),
            Some(severity) => severity,
            None => alert.severity,
        };
        alert.severity = severity;
        if let Some(doc) = alert.document.as_object_mut() {
            insert(doc, "iocwatch.severity", json!(severity.as_str()));
        }
        let host = alert
            .internal_host
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let dedup_key = format!("{host} {}", keys.into_iter().collect::<Vec<_>>().join(" "));
        let (watchlist, indicator) = alert.matches.first().map_or_else(Default::default, |first| {
            let entry = matcher.entry(first.indicator);
            (
                matcher.watchlist(entry.watchlist).name.to_string(),
                entry.indicator.value.to_string(),
            )
        });
        Detection {
            alert,
            dedup_key,
            window: window.unwrap_or(self.default_window),
            severity,
            watchlist,
            indicator,
        }
    }
}
