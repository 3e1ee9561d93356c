//! Alert documents: one per matching event, in Elastic Common Schema.
//!
//! # Format
//!
//! Each alert is one JSON object. Fields use ECS names and nest as ECS
//! nests them (`{"source": {"ip": ...}}`):
//!
//! - `@timestamp`: the event time from the log, RFC 3339 UTC; the scan
//!   time when the log line has none that parses, and then
//!   `iocwatch.timestamp_source` is `scan`.
//! - `event.kind` = `alert`, `event.category` = `["threat"]`,
//!   `event.type` = `["indicator"]`, `event.dataset`, `event.created`
//!   (when the alert was made), `event.original` (the raw line, at most
//!   [`MAX_ORIGINAL`] bytes, invalid UTF-8 replaced by U+FFFD).
//! - `source.*`, `destination.*`, `log.file.path`, `log.offset` and the
//!   observables and context fields the log line carried.
//! - `threat.enrichments[]`: one entry per matching indicator, with
//!   `matched.{atomic,field,type}`, `indicator.*` and `feed.name`.
//! - `iocwatch.*`: `alert_id`, `severity`, `direction`, `internal_host`,
//!   `dedup_count`, `watchlists` and `next_steps`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use iocwatch_matcher::{Hit, IndicatorId, Matcher};
use iocwatch_model::time::{format_timestamp, parse_timestamp};
use iocwatch_model::value::observed_ip;
use iocwatch_model::{DigestScope, Field, IndicatorKind, IndicatorValue, Record};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::homenet::{Direction, HomeNet};

/// Maximum length of the raw line kept in `event.original`, in bytes.
pub const MAX_ORIGINAL: usize = 8 * 1024;

/// Namespace of alert ids (UUID version 5 over file, offset and
/// indicators), so that scanning the same file twice yields the same ids.
const ALERT_NAMESPACE: uuid::Uuid = uuid::uuid!("5b0c8f0e-7d43-4b6e-9a0c-1f3e2d4c6a10");

pub use iocwatch_model::Severity;

/// One indicator match of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMatch {
    /// The matching indicator.
    pub indicator: IndicatorId,
    /// The field the value was seen in.
    pub field: Field,
    /// The observed value, normalised.
    pub atomic: String,
}

/// An alert: the document and the facts a summary needs.
#[derive(Debug, Clone)]
pub struct Alert {
    /// `iocwatch.alert_id`.
    pub id: String,
    /// `@timestamp`.
    pub timestamp: String,
    /// `@timestamp` as a time.
    pub time: OffsetDateTime,
    /// False when the log line had no event time that parses, so that
    /// `@timestamp` is the scan time.
    pub event_time_known: bool,
    /// `iocwatch.direction`.
    pub direction: Option<Direction>,
    /// `iocwatch.internal_host`.
    pub internal_host: Option<IpAddr>,
    /// The log's `host.name` when no internal address is known, as for
    /// an endpoint event (a Sysmon process or file event) that names the
    /// machine it happened on but no connection.
    pub host_name: Option<String>,
    /// `iocwatch.severity`.
    pub severity: Severity,
    /// One entry per matching indicator.
    pub matches: Vec<AlertMatch>,
    /// The ECS document.
    pub document: Value,
}

/// Location a line was read from.
#[derive(Debug, Clone, Copy)]
pub struct LineLocation<'a> {
    /// The file path as given, or `-` for standard input.
    pub path: &'a str,
    /// Byte offset of the line in the (decompressed) input.
    pub offset: u64,
}

/// Builds alert documents.
#[derive(Debug, Clone)]
pub struct AlertBuilder {
    matcher: Matcher,
    home: HomeNet,
    created: OffsetDateTime,
}

impl AlertBuilder {
    /// Creates a builder for alerts of `matcher`'s indicators; `created` is the
    /// time stamped as `event.created`.
    pub fn new(matcher: Matcher, home: HomeNet, created: OffsetDateTime) -> Self {
        Self {
            matcher,
            home,
            created,
        }
    }

    /// Returns the matcher whose hits this builder turns into alerts.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Builds the alert for one matching record.
    pub fn build(
        &self,
        record: &Record<'_>,
        hits: &[Hit],
        line: &[u8],
        location: Option<LineLocation<'_>>,
    ) -> Alert {
        self.build_at(record, hits, line, location, self.created)
    }

    /// Builds the alert for one matching record, stamped as made at
    /// `created` rather than at the builder's time.
    pub fn build_at(
        &self,
        record: &Record<'_>,
        hits: &[Hit],
        line: &[u8],
        location: Option<LineLocation<'_>>,
        created: OffsetDateTime,
    ) -> Alert {
        let source_ip = record.source.as_ref().and_then(|e| observed_ip(&e.ip));
        let destination_ip = record.destination.as_ref().and_then(|e| observed_ip(&e.ip));
        let (direction, internal_host) = self.home.classify(source_ip, destination_ip);
        let host_name = internal_host.is_none().then(|| host_name(record)).flatten();
        let event_time = record.timestamp.as_deref().and_then(parse_timestamp);
        let time = event_time.unwrap_or(created);
        let timestamp = format_timestamp(time);

        let matches: Vec<AlertMatch> = hits
            .iter()
            .filter_map(|hit| {
                let observed = record.observables.get(hit.observable)?;
                Some(AlertMatch {
                    indicator: hit.indicator,
                    field: observed.field,
                    atomic: hit.atomic.clone(),
                })
            })
            .collect();
        let confidence = matches
            .iter()
            .filter_map(|m| self.matcher.entry(m.indicator).indicator.meta.confidence)
            .max();
        let severity = Severity::from_confidence(confidence);
        let id = alert_id(location, &matches);

        let mut doc = Map::new();
        insert(&mut doc, "@timestamp", json!(timestamp));
        insert(&mut doc, "event.kind", json!("alert"));
        insert(&mut doc, "event.category", json!(["threat"]));
        insert(&mut doc, "event.type", json!(["indicator"]));
        insert(&mut doc, "event.dataset", json!(record.dataset));
        insert(&mut doc, "event.created", json!(format_timestamp(created)));
        insert(&mut doc, "event.original", json!(original_text(line)));
        if let Some(location) = location {
            insert(&mut doc, "log.file.path", json!(location.path));
            insert(&mut doc, "log.offset", json!(location.offset));
        }
        for (prefix, endpoint, ip) in [
            ("source", &record.source, source_ip),
            ("destination", &record.destination, destination_ip),
        ] {
            if let (Some(endpoint), Some(ip)) = (endpoint, ip) {
                insert(&mut doc, &format!("{prefix}.ip"), json!(ip.to_string()));
                if let Some(port) = endpoint.port {
                    insert(&mut doc, &format!("{prefix}.port"), json!(port));
                }
            }
        }
        insert_observables(&mut doc, record);
        for (name, value) in &record.context {
            insert(&mut doc, name, json!(value));
        }

        let enrichments: Vec<Value> = matches.iter().map(|m| self.enrichment(m)).collect();
        insert(&mut doc, "threat.enrichments", Value::Array(enrichments));
        let watchlists: BTreeSet<&str> = matches
            .iter()
            .map(|m| {
                &*self
                    .matcher
                    .watchlist(self.matcher.entry(m.indicator).watchlist)
                    .name
            })
            .collect();
        insert(&mut doc, "iocwatch.alert_id", json!(id));
        insert(&mut doc, "iocwatch.severity", json!(severity.as_str()));
        if let Some(direction) = direction {
            insert(&mut doc, "iocwatch.direction", json!(direction.as_str()));
        }
        if let Some(host) = internal_host {
            insert(&mut doc, "iocwatch.internal_host", json!(host.to_string()));
        }
        insert(&mut doc, "iocwatch.dedup_count", json!(1));
        if event_time.is_none() {
            // The line has no event time that parses, so `@timestamp` is
            // the scan time. The flag keeps the event off a timeline.
            insert(&mut doc, "iocwatch.timestamp_source", json!("scan"));
        }
        insert(&mut doc, "iocwatch.watchlists", json!(watchlists));
        let steps: BTreeSet<String> = matches
            .iter()
            .map(|m| self.next_step(m, direction, internal_host, host_name.as_deref()))
            .collect();
        insert(&mut doc, "iocwatch.next_steps", json!(steps));

        Alert {
            id,
            timestamp,
            time,
            event_time_known: event_time.is_some(),
            direction,
            internal_host,
            host_name,
            severity,
            matches,
            document: Value::Object(doc),
        }
    }

    fn enrichment(&self, found: &AlertMatch) -> Value {
        let entry = self.matcher.entry(found.indicator);
        let indicator = &entry.indicator;
        let meta = &indicator.meta;
        let mut enrichment = Map::new();
        insert(&mut enrichment, "matched.atomic", json!(found.atomic));
        insert(&mut enrichment, "matched.field", json!(found.field.as_str()));
        insert(&mut enrichment, "matched.type", json!("indicator_match_rule"));
        insert(
            &mut enrichment,
            "indicator.type",
            json!(indicator.value.stix_type()),
        );
        insert(
            &mut enrichment,
            "indicator.name",
            json!(indicator.value.to_string()),
        );
        insert_indicator_value(&mut enrichment, &indicator.value);
        let optional = [
            ("indicator.provider", &meta.provider),
            ("indicator.description", &meta.description),
            ("indicator.reference", &meta.reference),
            ("indicator.first_seen", &meta.first_seen),
            ("indicator.last_seen", &meta.last_seen),
            ("indicator.marking.tlp", &meta.tlp),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                insert(&mut enrichment, name, json!(value));
            }
        }
        if let Some(confidence) = meta.confidence {
            insert(
                &mut enrichment,
                "indicator.confidence",
                json!(confidence_label(confidence)),
            );
            insert(&mut enrichment, "iocwatch.confidence", json!(confidence));
        }
        if !meta.tags.is_empty() {
            insert(&mut enrichment, "indicator.tags", json!(meta.tags));
        }
        if let Some(malware) = &meta.malware {
            insert(&mut enrichment, "iocwatch.malware", json!(malware));
        }
        if !meta.extra.is_empty() {
            insert(&mut enrichment, "iocwatch.extra", json!(meta.extra));
        }
        insert(
            &mut enrichment,
            "iocwatch.kind",
            json!(indicator.value.kind().as_str()),
        );
        insert(&mut enrichment, "iocwatch.original", json!(indicator.original));
        insert(
            &mut enrichment,
            "iocwatch.source",
            json!(format!("{}:{}", indicator.origin.source, indicator.origin.line)),
        );
        insert(
            &mut enrichment,
            "feed.name",
            json!(&*self.matcher.watchlist(entry.watchlist).name),
        );
        Value::Object(enrichment)
    }

    /// Suggests a first response step for the analyst, by indicator kind.
    fn next_step(
        &self,
        found: &AlertMatch,
        direction: Option<Direction>,
        host: Option<IpAddr>,
        host_name: Option<&str>,
    ) -> String {
        let host = match (host, host_name) {
            (Some(ip), _) => ip.to_string(),
            (None, Some(name)) => format!("host {name}"),
            (None, None) => "the internal host".to_owned(),
        };
        let value = &found.atomic;
        let kind = self.matcher.entry(found.indicator).indicator.value.kind();
        match kind {
            IndicatorKind::Ip | IndicatorKind::IpPort | IndicatorKind::Cidr => match direction {
                Some(Direction::Inbound) => format!(
                    "Check whether {value} got a response from {host}; block the address at the perimeter if the traffic is unwanted."
                ),
                Some(Direction::External) => format!(
                    "Neither end of the connection is in the home networks, so no internal host is named: set --home-net (home_net for the service) to your own addresses; block {value} at the perimeter if the traffic is unwanted."
                ),
                _ => format!(
                    "Find the process on {host} that contacted {value}; isolate the host if it is not explained, and block the address at the perimeter."
                ),
            },
            IndicatorKind::Domain => format!(
                "Find the process on {host} that resolved or contacted {value}; block the domain on the resolver or proxy."
            ),
            IndicatorKind::Url => format!(
                "Check what {host} downloaded or submitted at {value}; block the URL on the proxy and look for the same request from other hosts."
            ),
            IndicatorKind::Hash(_) => format!(
                "Search endpoints for the file with hash {value}, quarantine it on {host} and find where it came from."
            ),
            IndicatorKind::CertHash(_) | IndicatorKind::Ja3 | IndicatorKind::Ja3s | IndicatorKind::Ja4 => {
                format!(
                    "Find the process on {host} behind the TLS session with {value}; fingerprints of popular clients cause false positives, so confirm before containment."
                )
            }
            IndicatorKind::Email => format!(
                "Find the messages from or to {value}, remove them from mailboxes and reset credentials of recipients who responded."
            ),
        }
    }
}

/// ECS `threat.indicator.confidence` takes words, not numbers.
fn confidence_label(confidence: u8) -> &'static str {
    match confidence {
        0 => "None",
        1..=39 => "Low",
        40..=74 => "Medium",
        _ => "High",
    }
}

fn insert_indicator_value(enrichment: &mut Map<String, Value>, value: &IndicatorValue) {
    match value {
        IndicatorValue::Ip(ip) => insert(enrichment, "indicator.ip", json!(ip.to_string())),
        IndicatorValue::Socket(ip, port) => {
            insert(enrichment, "indicator.ip", json!(ip.to_string()));
            insert(enrichment, "indicator.port", json!(port));
        }
        IndicatorValue::Net(_) => {}
        IndicatorValue::Domain(domain) => insert(enrichment, "indicator.url.domain", json!(domain)),
        IndicatorValue::Url(url) => insert(enrichment, "indicator.url.full", json!(url.to_string())),
        IndicatorValue::Digest { algo, scope, hex } => {
            let prefix = match scope {
                DigestScope::Cert => "indicator.x509.hash",
                DigestScope::Ja3 | DigestScope::Ja3s => return,
                DigestScope::Any | DigestScope::File => "indicator.file.hash",
            };
            insert(enrichment, &format!("{prefix}.{}", algo.as_str()), json!(hex));
        }
        IndicatorValue::Email(email) => insert(enrichment, "indicator.email.address", json!(email)),
        IndicatorValue::Ja4(_) => {}
    }
}

/// Adds the record's observables under their ECS names, except the
/// connection endpoints, which are written with their ports.
fn insert_observables(doc: &mut Map<String, Value>, record: &Record<'_>) {
    for field in Field::ALL {
        if matches!(field, Field::SourceIp | Field::DestinationIp) {
            continue;
        }
        let values: Vec<&str> = record
            .observables
            .iter()
            .filter(|o| o.field == field)
            .map(|o| o.value.as_ref())
            .collect();
        let value = match values.as_slice() {
            [] => continue,
            [one] if !is_list_field(field) => json!(one),
            many => json!(many),
        };
        insert(doc, field.as_str(), value);
    }
}

/// ECS fields whose type is an array.
fn is_list_field(field: Field) -> bool {
    matches!(field, Field::DnsResolvedIp | Field::RelatedIp | Field::EmailTo)
}

fn original_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let capped = &line[..line.len().min(MAX_ORIGINAL)];
    String::from_utf8_lossy(capped).into_owned()
}

fn alert_id(location: Option<LineLocation<'_>>, matches: &[AlertMatch]) -> String {
    let mut name = String::new();
    if let Some(location) = location {
        name.push_str(location.path);
        name.push('\0');
        name.push_str(&location.offset.to_string());
    }
    for found in matches {
        name.push('\0');
        name.push_str(found.field.as_str());
        name.push('=');
        name.push_str(&found.atomic);
    }
    uuid::Uuid::new_v5(&ALERT_NAMESPACE, name.as_bytes()).to_string()
}

/// Inserts `value` at the dotted ECS path `path`, creating the objects on
/// the way. A path whose prefix already contains a non-object keeps that
/// value and stores the new one under the full dotted key instead.
pub fn insert(doc: &mut Map<String, Value>, path: &str, value: Value) {
    let Some((head, rest)) = path.split_once('.') else {
        doc.insert(path.to_owned(), value);
        return;
    };
    let slot = doc
        .entry(head.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(next) = slot {
        insert(next, rest, value);
    } else {
        doc.insert(path.to_owned(), value);
    }
}

/// Returns the record's `host.name`, when it has one that is not empty.
fn host_name(record: &Record<'_>) -> Option<String> {
    record
        .context
        .iter()
        .find(|(name, value)| *name == "host.name" && !value.trim().is_empty())
        .map(|(_, value)| value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_nests_dotted_paths() {
        let mut doc = Map::new();
        insert(&mut doc, "source.ip", json!("10.0.0.1"));
        insert(&mut doc, "source.port", json!(53));
        insert(&mut doc, "event.kind", json!("alert"));
        assert_eq!(
            Value::Object(doc),
            json!({"source": {"ip": "10.0.0.1", "port": 53}, "event": {"kind": "alert"}})
        );
    }

    #[test]
    fn insert_keeps_scalar_prefix() {
        let mut doc = Map::new();
        insert(&mut doc, "event", json!("x"));
        insert(&mut doc, "event.kind", json!("alert"));
        assert_eq!(Value::Object(doc), json!({"event": "x", "event.kind": "alert"}));
    }

    #[test]
    fn original_capped_and_lossy() {
        let long = vec![b'a'; MAX_ORIGINAL + 10];
        assert_eq!(original_text(&long).len(), MAX_ORIGINAL);
        assert_eq!(original_text(b"ab\xffc\r"), "ab\u{fffd}c");
    }
}
