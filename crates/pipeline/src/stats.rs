//! Counters of a scan and the summary printed at its end.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use iocwatch_matcher::{IndicatorId, Matcher, WatchlistId};

use crate::alert::Alert;

/// Malformed lines reported one by one per file; the rest are counted.
pub const REPORTED_ERRORS_PER_FILE: usize = 5;

/// A malformed line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineError {
    /// The file, or `-` for standard input.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// Description of the problem.
    pub message: String,
}

/// Counters of a scan or of part of one; parts add up with [`ScanStats::merge`].
#[derive(Debug, Default, Clone)]
pub struct ScanStats {
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Lines read, including headers and blank lines.
    pub lines: u64,
    /// Events decoded per log format.
    pub events_by_format: BTreeMap<&'static str, u64>,
    /// Malformed lines per log format.
    pub malformed_by_format: BTreeMap<&'static str, u64>,
    /// The first malformed lines of each file, at most
    /// [`REPORTED_ERRORS_PER_FILE`] per file after merging.
    pub reported_errors: Vec<LineError>,
    /// Alert documents written.
    pub alerts: u64,
    /// Alerts per watchlist (an alert with matches from two watchlists
    /// counts for each).
    pub alerts_by_watchlist: HashMap<WatchlistId, u64>,
    /// Alerts per indicator.
    pub alerts_by_indicator: HashMap<IndicatorId, u64>,
    /// Alerts per internal host.
    pub alerts_by_host: HashMap<IpAddr, u64>,
    /// Files scanned.
    pub files: u64,
    /// Alerts whose log line had no event time that parses.
    pub alerts_without_event_time: u64,
}

impl ScanStats {
    /// Counts an alert.
    pub fn count_alert(&mut self, alert: &Alert, matcher: &Matcher) {
        self.alerts += 1;
        if !alert.event_time_known {
            self.alerts_without_event_time += 1;
        }
        let mut lists: Vec<WatchlistId> = alert
            .matches
            .iter()
            .map(|m| matcher.entry(m.indicator).watchlist)
            .collect();
        lists.sort_unstable();
        lists.dedup();
        for list in lists {
            *self.alerts_by_watchlist.entry(list).or_default() += 1;
        }
        let mut indicators: Vec<IndicatorId> = alert.matches.iter().map(|m| m.indicator).collect();
        indicators.sort_unstable();
        indicators.dedup();
        for indicator in indicators {
            *self.alerts_by_indicator.entry(indicator).or_default() += 1;
        }
        if let Some(host) = alert.internal_host {
            *self.alerts_by_host.entry(host).or_default() += 1;
        }
    }

    /// Counts a malformed line, keeping it for the report when the file
    /// has not had its share yet.
    pub fn count_malformed(&mut self, format: &'static str, error: LineError) {
        *self.malformed_by_format.entry(format).or_default() += 1;
        let reported = self
            .reported_errors
            .iter()
            .filter(|e| e.path == error.path)
            .count();
        if reported < REPORTED_ERRORS_PER_FILE {
            self.reported_errors.push(error);
        }
    }

    /// Total malformed lines.
    pub fn malformed(&self) -> u64 {
        self.malformed_by_format.values().sum()
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: ScanStats) {
        self.bytes += other.bytes;
        self.lines += other.lines;
        self.files += other.files;
        self.alerts += other.alerts;
        self.alerts_without_event_time += other.alerts_without_event_time;
        for (format, count) in other.events_by_format {
            *self.events_by_format.entry(format).or_default() += count;
        }
        for (format, count) in other.malformed_by_format {
            *self.malformed_by_format.entry(format).or_default() += count;
        }
        for (key, count) in other.alerts_by_watchlist {
            *self.alerts_by_watchlist.entry(key).or_default() += count;
        }
        for (key, count) in other.alerts_by_indicator {
            *self.alerts_by_indicator.entry(key).or_default() += count;
        }
        for (key, count) in other.alerts_by_host {
            *self.alerts_by_host.entry(key).or_default() += count;
        }
        self.reported_errors.extend(other.reported_errors);
        self.reported_errors.sort();
        let mut kept: HashMap<String, usize> = HashMap::new();
        self.reported_errors.retain(|error| {
            let seen = kept.entry(error.path.clone()).or_default();
            *seen += 1;
            *seen <= REPORTED_ERRORS_PER_FILE
        });
    }

    /// Renders the end-of-scan summary: lines per format, malformed lines, alerts
    /// per watchlist, top indicators, top internal hosts, time and
    /// throughput.
    pub fn render(&self, matcher: &Matcher, elapsed: Duration) -> String {
        let mut out = String::new();
        let seconds = elapsed.as_secs_f64().max(1e-9);
        let megabytes = self.bytes as f64 / 1e6;
        let _ = writeln!(
            out,
            "scanned {} file{}, {} line{}, {:.1} MB in {:.2} s ({:.1} MB/s, {:.0} lines/s)",
            self.files,
            if self.files == 1 { "" } else { "s" },
            self.lines,
            if self.lines == 1 { "" } else { "s" },
            megabytes,
            seconds,
            megabytes / seconds,
            self.lines as f64 / seconds
        );
        for (format, count) in &self.events_by_format {
            let _ = writeln!(out, "  {format:<14} {count:>12} events");
        }
        let malformed = self.malformed();
        if malformed > 0 {
            let by_format: Vec<String> = self
                .malformed_by_format
                .iter()
                .map(|(format, count)| format!("{format} {count}"))
                .collect();
            let _ = writeln!(out, "malformed lines: {malformed} ({})", by_format.join(", "));
        }
        let _ = writeln!(out, "alerts: {}", self.alerts);
        match self.alerts_without_event_time {
            0 => {}
            1 => {
                let _ = writeln!(
                    out,
                    "  1 alert carries the scan time: its log line has no event time that parses"
                );
            }
            count => {
                let _ = writeln!(
                    out,
                    "  {count} alerts carry the scan time: their log lines have no event time that parses"
                );
            }
        }
        let mut lists: Vec<(&str, u64)> = self
            .alerts_by_watchlist
            .iter()
            .map(|(list, count)| (&*matcher.watchlist(*list).name, *count))
            .collect();
        lists.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (name, count) in lists {
            let _ = writeln!(out, "  {count:>10}  {name}");
        }
        if !self.alerts_by_indicator.is_empty() {
            let _ = writeln!(out, "top indicators:");
            for (id, count) in top(&self.alerts_by_indicator, 10) {
                let entry = matcher.entry(id);
                let list = &matcher.watchlist(entry.watchlist).name;
                let _ = writeln!(out, "  {count:>10}  {} ({list})", entry.indicator.value);
            }
        }
        if !self.alerts_by_host.is_empty() {
            let _ = writeln!(out, "top internal hosts:");
            for (host, count) in top(&self.alerts_by_host, 10) {
                let _ = writeln!(out, "  {count:>10}  {host}");
            }
        }
        out
    }
}

fn top<K: Copy + Ord>(counts: &HashMap<K, u64>, n: usize) -> Vec<(K, u64)> {
    let mut sorted: Vec<(K, u64)> = counts.iter().map(|(k, v)| (*k, *v)).collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    sorted.truncate(n);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(path: &str, line: u64) -> LineError {
        LineError {
            path: path.to_owned(),
            line,
            message: "bad".to_owned(),
        }
    }

    #[test]
    fn reported_errors_capped_per_file() {
        let mut first = ScanStats::default();
        let mut second = ScanStats::default();
        for line in 1..=4 {
            first.count_malformed("ecs", error("a", line));
            second.count_malformed("ecs", error("a", line + 100));
        }
        second.count_malformed("ecs", error("b", 1));
        first.merge(second);
        assert_eq!(first.malformed(), 9);
        assert_eq!(
            first.reported_errors.iter().filter(|e| e.path == "a").count(),
            REPORTED_ERRORS_PER_FILE
        );
        assert_eq!(first.reported_errors.iter().filter(|e| e.path == "b").count(), 1);
        assert_eq!(first.reported_errors[4].line, 101);
    }
}
