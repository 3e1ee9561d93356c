//! ArcSight Common Event Format (CEF) lines for alerts.
//!
//! # Format
//!
//! ```text
//! CEF:0|iocwatch|iocwatch|VERSION|SIGNATURE|NAME|SEVERITY|EXTENSION
//! ```
//!
//! - Signature ID: `indicator-match:` and the STIX type of the first
//!   indicator (`ipv4-addr`, `domain-name`, `url`, `file`, ...), so that a
//!   SIEM groups alerts by the kind of indicator.
//! - Name: `IOC match:`, the indicator, the watchlist and the host, at
//!   most [`MAX_NAME_CHARS`] characters.
//! - Severity: 3 for `low`, 5 for `medium` (and an unknown severity), 8 for
//!   `high`, 10 for `critical`.
//!
//! Extension keys, each left out when the alert lacks the field:
//!
//! | key | alert field |
//! |---|---|
//! | `rt` | `@timestamp`, milliseconds since the Unix epoch |
//! | `externalId` | `iocwatch.alert_id` |
//! | `src`, `spt` / `dst`, `dpt` | `source.ip`, `source.port` / `destination.ip`, `destination.port` (IPv4) |
//! | `c6a2` / `c6a3` with labels | `source.ip` / `destination.ip` when IPv6 |
//! | `proto` | `network.transport`, upper case |
//! | `deviceDirection` | 0 for `inbound`, 1 for `outbound` `iocwatch.direction` |
//! | `shost` | `host.name` or `source.domain` |
//! | `dhost` | `url.domain`, `tls.client.server_name` or `dns.question.name` |
//! | `request` | `url.full` |
//! | `requestClientApplication` | `user_agent.original` |
//! | `fileHash` | `file.hash.sha256`, `.sha1` or `.md5` |
//! | `cs1` Indicator | the indicator values, comma-separated |
//! | `cs2` Watchlist | the watchlist names, comma-separated |
//! | `cs3` Matched Field | the `matched.field` values, comma-separated |
//! | `cs4` Direction | `iocwatch.direction` |
//! | `cs5` Internal Host | `iocwatch.internal_host` |
//! | `cs6` Dataset | `event.dataset` |
//! | `cn1` Dedup Count | `iocwatch.dedup_count` |
//! | `cn2` Confidence | highest `iocwatch.confidence` of the indicators |
//! | `msg` | what the intelligence states about the first indicator |
//!
//! # Escaping
//!
//! In the header, `\` becomes `\\` and `|` becomes `\|`; a line break
//! becomes a space, since header fields cannot carry one. In extension
//! values, `\` becomes `\\`, `=` becomes `\=`, a line feed becomes `\n` and
//! a carriage return `\r`; `|` stays as it is. Other control characters
//! become spaces. The line therefore never contains a raw line break, which
//! keeps it one syslog message and one line in a file.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Severity;
use crate::view::AlertView;

/// Maximum length of the Name header field in characters; ArcSight
/// truncates longer names at 512.
pub const MAX_NAME_CHARS: usize = 512;

/// Maximum length of one extension value in characters. The longest
/// standard CEF strings (`msg`, `request`) allow 1023 characters.
pub const MAX_VALUE_CHARS: usize = 1023;

/// Formats `alert` as one CEF line, without a trailing newline.
pub fn cef(alert: &Value) -> String {
    let view = AlertView::new(alert);
    let text = |pointer: &str| alert.pointer(pointer).and_then(Value::as_str);

    let kind = view
        .matches
        .first()
        .and_then(|m| m.indicator_type)
        .unwrap_or("unknown");
    let signature = format!("indicator-match:{kind}");
    let mut name = format!("IOC match: {}", view.indicator_summary());
    if !view.watchlists.is_empty() {
        name.push_str(&format!(" ({})", view.watchlists.join(", ")));
    }
    if let Some(host) = view.internal_host {
        name.push_str(&format!(" on {host}"));
    }
    let severity = match view.severity {
        Some(Severity::Low) => 3,
        Some(Severity::Medium) | None => 5,
        Some(Severity::High) => 8,
        Some(Severity::Critical) => 10,
    };

    let mut line = String::from("CEF:0|iocwatch|iocwatch|");
    for field in [
        env!("CARGO_PKG_VERSION"),
        &signature,
        &truncate(&name, MAX_NAME_CHARS),
    ] {
        push_header(&mut line, field);
        line.push('|');
    }
    let _ = write!(line, "{severity}|");

    let mut ext = Extension::default();
    if let Some(millis) = view.timestamp.and_then(epoch_millis) {
        ext.push("rt", &millis.to_string());
    }
    ext.push_opt("externalId", view.alert_id);
    for (endpoint, ip_key, port_key, v6_key, v6_label) in [
        (view.source, "src", "spt", "c6a2", "Source IPv6 Address"),
        (view.destination, "dst", "dpt", "c6a3", "Destination IPv6 Address"),
    ] {
        match endpoint.ip.map(|ip| (ip, ip.parse::<IpAddr>())) {
            Some((ip, Ok(IpAddr::V4(_)))) => ext.push(ip_key, ip),
            Some((ip, Ok(IpAddr::V6(_)))) => {
                ext.push(v6_key, ip);
                ext.push(&format!("{v6_key}Label"), v6_label);
            }
            Some((_, Err(_))) | None => {}
        }
        if let Some(port) = endpoint.port {
            ext.push(port_key, &port.to_string());
        }
    }
    if let Some(transport) = view.transport {
        ext.push("proto", &transport.to_ascii_uppercase());
    }
    match view.direction {
        Some("inbound") => ext.push("deviceDirection", "0"),
        Some("outbound") => ext.push("deviceDirection", "1"),
        _ => {}
    }
    ext.push_opt("shost", text("/host/name").or_else(|| text("/source/domain")));
    ext.push_opt(
        "dhost",
        text("/url/domain")
            .or_else(|| text("/tls/client/server_name"))
            .or_else(|| text("/dns/question/name")),
    );
    ext.push_opt("request", text("/url/full"));
    ext.push_opt("requestClientApplication", text("/user_agent/original"));
    ext.push_opt(
        "fileHash",
        text("/file/hash/sha256")
            .or_else(|| text("/file/hash/sha1"))
            .or_else(|| text("/file/hash/md5")),
    );

    let indicators = view.indicators();
    let mut fields: Vec<&str> = Vec::new();
    for field in view.matches.iter().filter_map(|m| m.field) {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    let custom = [
        ("cs1", "Indicator", join(&indicators)),
        ("cs2", "Watchlist", join(&view.watchlists)),
        ("cs3", "Matched Field", join(&fields)),
        ("cs4", "Direction", view.direction.map(str::to_owned)),
        ("cs5", "Internal Host", view.internal_host.map(str::to_owned)),
        ("cs6", "Dataset", view.dataset.map(str::to_owned)),
        ("cn1", "Dedup Count", view.dedup_count.map(|n| n.to_string())),
        (
            "cn2",
            "Confidence",
            view.matches
                .iter()
                .filter_map(|m| m.confidence)
                .max()
                .map(|n| n.to_string()),
        ),
    ];
    for (key, label, value) in custom {
        if let Some(value) = value {
            ext.push(key, &value);
            ext.push(&format!("{key}Label"), label);
        }
    }
    if let Some(intelligence) = view.matches.first().and_then(|m| m.intelligence()) {
        ext.push("msg", &intelligence);
    }

    line.push_str(&ext.text);
    line
}

/// The extension part: `key=value` pairs separated by spaces.
#[derive(Default)]
struct Extension {
    text: String,
}

impl Extension {
    fn push(&mut self, key: &str, value: &str) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        self.text.push_str(key);
        self.text.push('=');
        for c in truncate(value, MAX_VALUE_CHARS).chars() {
            match c {
                '\\' => self.text.push_str("\\\\"),
                '=' => self.text.push_str("\\="),
                '\n' => self.text.push_str("\\n"),
                '\r' => self.text.push_str("\\r"),
                c if c.is_control() => self.text.push(' '),
                c => self.text.push(c),
            }
        }
    }

    fn push_opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(key, value);
        }
    }
}

fn push_header(line: &mut String, field: &str) {
    for c in field.chars() {
        match c {
            '\\' => line.push_str("\\\\"),
            '|' => line.push_str("\\|"),
            c if c.is_control() => line.push(' '),
            c => line.push(c),
        }
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

fn join(values: &[&str]) -> Option<String> {
    if values.is_empty() {
        None
    } else {
        Some(values.join(", "))
    }
}

fn epoch_millis(timestamp: &str) -> Option<i128> {
    let time = OffsetDateTime::parse(timestamp, &Rfc3339).ok()?;
    Some(time.unix_timestamp_nanos() / 1_000_000)
}
