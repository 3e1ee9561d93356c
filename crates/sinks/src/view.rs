//! Read access to the facts of an alert document that messages show.
//!
//! Every field is optional: a document missing one still yields a message,
//! with that line left out.

use serde_json::Value;

use crate::config::{Severity, alert_watchlists};

/// The facts of one alert that chat messages, e-mails and CEF lines show.
#[derive(Debug, Clone)]
pub(crate) struct AlertView<'a> {
    pub timestamp: Option<&'a str>,
    pub alert_id: Option<&'a str>,
    pub severity: Option<Severity>,
    /// `iocwatch.severity` as written, for a value that is not one of the
    /// four names.
    pub severity_text: Option<&'a str>,
    pub direction: Option<&'a str>,
    pub internal_host: Option<&'a str>,
    pub dataset: Option<&'a str>,
    pub original: Option<&'a str>,
    pub source: Endpoint<'a>,
    pub destination: Endpoint<'a>,
    pub transport: Option<&'a str>,
    pub log_path: Option<&'a str>,
    pub log_offset: Option<u64>,
    pub dedup_count: Option<u64>,
    pub watchlists: Vec<&'a str>,
    pub next_steps: Vec<&'a str>,
    pub matches: Vec<MatchView<'a>>,
}

/// Address and port of one side of a connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Endpoint<'a> {
    pub ip: Option<&'a str>,
    pub port: Option<u64>,
}

impl Endpoint<'_> {
    /// Formats `ip:port`, `[ip]:port` for IPv6, or the address alone.
    pub fn display(&self) -> Option<String> {
        let ip = self.ip?;
        Some(match self.port {
            Some(port) if ip.contains(':') => format!("[{ip}]:{port}"),
            Some(port) => format!("{ip}:{port}"),
            None => ip.to_owned(),
        })
    }
}

/// One entry of `threat.enrichments`.
#[derive(Debug, Clone)]
pub(crate) struct MatchView<'a> {
    pub atomic: Option<&'a str>,
    pub field: Option<&'a str>,
    pub indicator: Option<&'a str>,
    pub indicator_type: Option<&'a str>,
    pub description: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub confidence: Option<u64>,
    pub confidence_label: Option<&'a str>,
    pub malware: Option<&'a str>,
    pub tags: Vec<&'a str>,
    pub tlp: Option<&'a str>,
    pub first_seen: Option<&'a str>,
    pub last_seen: Option<&'a str>,
}

impl<'a> MatchView<'a> {
    fn from_enrichment(enrichment: &'a Value) -> Self {
        let text = |pointer: &str| enrichment.pointer(pointer).and_then(Value::as_str);
        Self {
            atomic: text("/matched/atomic"),
            field: text("/matched/field"),
            indicator: text("/indicator/name").or_else(|| text("/matched/atomic")),
            indicator_type: text("/indicator/type"),
            description: text("/indicator/description"),
            provider: text("/indicator/provider"),
            reference: text("/indicator/reference"),
            confidence: enrichment.pointer("/iocwatch/confidence").and_then(Value::as_u64),
            confidence_label: text("/indicator/confidence"),
            malware: text("/iocwatch/malware"),
            tags: strings(enrichment.pointer("/indicator/tags")),
            tlp: text("/indicator/marking/tlp"),
            first_seen: text("/indicator/first_seen"),
            last_seen: text("/indicator/last_seen"),
        }
    }

    /// Returns one sentence-like line of what the intelligence states
    /// about the indicator, or `None` when it states nothing beyond the
    /// value.
    pub fn intelligence(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(description) = self.description {
            parts.push(description.trim_end_matches('.').to_owned());
        }
        if let Some(malware) = self.malware {
            parts.push(format!("malware {malware}"));
        }

        match (self.confidence, self.confidence_label) {
            (Some(number), Some(label)) => parts.push(format!("confidence {number} ({label})")),
            (Some(number), None) => parts.push(format!("confidence {number}")),
            (None, Some(label)) => parts.push(format!("confidence {label}")),
            (None, None) => {}
        }
        if let Some(provider) = self.provider {
            parts.push(format!("source {provider}"));
        }
        match (self.first_seen, self.last_seen) {
            (Some(first), Some(last)) => parts.push(format!("seen {first} to {last}")),
            (Some(first), None) => parts.push(format!("first seen {first}")),
            (None, Some(last)) => parts.push(format!("last seen {last}")),
            (None, None) => {}
        }

        if !self.tags.is_empty() {
            parts.push(format!("tags {}", self.tags.join(", ")));
        }
        if let Some(tlp) = self.tlp {
            parts.push(format!("TLP:{tlp}"));
        }

        if parts.is_empty() {
            return None;
        }

        let mut line = parts.join("; ");
        line.push('.');
        if let Some(reference) = self.reference {
            line.push_str(" Reference: ");
            line.push_str(reference);
        }
        Some(line)
    }
}

impl<'a> AlertView<'a> {
    /// Collects the facts of `alert`.
    pub fn new(alert: &'a Value) -> Self {
        let text = |pointer: &str| alert.pointer(pointer).and_then(Value::as_str);
        let matches = alert
            .pointer("/threat/enrichments")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(MatchView::from_enrichment).collect())
            .unwrap_or_default();
        Self {
            timestamp: text("/@timestamp"),
            alert_id: text("/iocwatch/alert_id"),
            severity: crate::config::severity_of(alert),
            severity_text: text("/iocwatch/severity"),
            direction: text("/iocwatch/direction"),
            internal_host: text("/iocwatch/internal_host"),
            dataset: text("/event/dataset"),
            original: text("/event/original"),
            source: Endpoint {
                ip: text("/source/ip"),
                port: alert.pointer("/source/port").and_then(Value::as_u64),
            },
            destination: Endpoint {
                ip: text("/destination/ip"),
                port: alert.pointer("/destination/port").and_then(Value::as_u64),
            },
            transport: text("/network/transport"),
            log_path: text("/log/file/path"),
            log_offset: alert.pointer("/log/offset").and_then(Value::as_u64),
            dedup_count: alert.pointer("/iocwatch/dedup_count").and_then(Value::as_u64),
            watchlists: alert_watchlists(alert),
            next_steps: strings(alert.pointer("/iocwatch/next_steps")),
            matches,
        }
    }

    /// Returns the severity name in upper case, `UNKNOWN` when the alert
    /// has none.
    pub fn severity_label(&self) -> String {
        match (self.severity, self.severity_text) {
            (Some(severity), _) => severity.as_str().to_ascii_uppercase(),
            (None, Some(text)) => text.to_ascii_uppercase(),
            (None, None) => "UNKNOWN".to_owned(),
        }
    }

    /// Returns the indicator values of the alert, without repeats.
    pub fn indicators(&self) -> Vec<&'a str> {
        let mut values: Vec<&str> = Vec::new();
        for value in self.matches.iter().filter_map(|m| m.indicator) {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        values
    }

    /// Returns the first indicator, followed by "and N more" when there
    /// are several; `unknown indicator` when there is none.
    pub fn indicator_summary(&self) -> String {
        let indicators = self.indicators();
        match indicators.as_slice() {
            [] => "unknown indicator".to_owned(),
            [one] => (*one).to_owned(),
            [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        }
    }

    /// Returns the host line: the internal host and the direction, such as
    /// `10.20.0.15 (outbound)`.
    pub fn host_line(&self) -> Option<String> {
        match (self.internal_host, self.direction) {
            (Some(host), Some(direction)) => Some(format!("{host} ({direction})")),
            (Some(host), None) => Some(host.to_owned()),
            (None, Some(direction)) => Some(format!("no internal host ({direction})")),
            (None, None) => None,
        }
    }

    /// Returns the connection line, such as
    /// `10.20.0.15:49822 -> 198.51.100.23:443 (tcp)`.
    pub fn connection_line(&self) -> Option<String> {
        let source = self.source.display();
        let destination = self.destination.display();
        if source.is_none() && destination.is_none() {
            return None;
        }
        let mut line = format!(
            "{} -> {}",
            source.as_deref().unwrap_or("?"),
            destination.as_deref().unwrap_or("?")
        );
        if let Some(transport) = self.transport {
            line.push_str(&format!(" ({transport})"));
        }
        Some(line)
    }

    /// Returns where the event was read, such as
    /// `zeek.conn, examples/logs/zeek/conn.log at byte 308`.
    pub fn log_line(&self) -> Option<String> {
        let location = match (self.log_path, self.log_offset) {
            (Some(path), Some(offset)) => Some(format!("{path} at byte {offset}")),
            (Some(path), None) => Some(path.to_owned()),
            (None, _) => None,
        };
        match (self.dataset, location) {
            (Some(dataset), Some(location)) => Some(format!("{dataset}, {location}")),
            (Some(dataset), None) => Some(dataset.to_owned()),
            (None, location) => location,
        }
    }

    /// Returns the label and value pairs that messages show as fields.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = Vec::new();
        let indicators: Vec<String> = self
            .matches
            .iter()
            .map(|m| {
                let mut line = m.indicator.unwrap_or("?").to_owned();
                if let Some(kind) = m.indicator_type {
                    line.push_str(&format!(" ({kind})"));
                }
                match (m.atomic.filter(|atomic| Some(*atomic) != m.indicator), m.field) {
                    (Some(atomic), Some(field)) => line.push_str(&format!(", seen as {atomic} in {field}")),
                    (Some(atomic), None) => line.push_str(&format!(", seen as {atomic}")),
                    (None, Some(field)) => line.push_str(&format!(", seen in {field}")),
                    (None, None) => {}
                }
                line
            })
            .collect();
        if !indicators.is_empty() {
            facts.push(("Indicator", indicators.join("\n")));
        }
        if !self.watchlists.is_empty() {
            facts.push(("Watchlist", self.watchlists.join(", ")));
        }
        facts.push(("Severity", self.severity_label().to_ascii_lowercase()));
        if let Some(host) = self.host_line() {
            facts.push(("Host", host));
        }
        if let Some(connection) = self.connection_line() {
            facts.push(("Connection", connection));
        }
        if let Some(time) = self.timestamp {
            facts.push(("Time", time.to_owned()));
        }
        if let Some(count) = self.dedup_count.filter(|&n| n > 1) {
            facts.push(("Seen", format!("{count} times")));
        }
        facts
    }

    /// Returns one line per indicator of what the intelligence states.
    pub fn intelligence_lines(&self) -> Vec<String> {
        self.matches
            .iter()
            .filter_map(|m| {
                let text = m.intelligence()?;
                Some(format!("{}: {text}", m.indicator.unwrap_or("?")))
            })
            .collect()
    }

    /// Returns a one-line title: severity, indicator, watchlist and host.
    pub fn title(&self) -> String {
        let mut title = format!("{} {}", self.severity_label(), self.indicator_summary());
        if !self.watchlists.is_empty() {
            title.push_str(&format!(" ({})", self.watchlists.join(", ")));
        }
        if let Some(host) = self.internal_host {
            title.push_str(&format!(" on {host}"));
        }
        title
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}
