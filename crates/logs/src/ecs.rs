//! ECS documents as Elastic Agent, Filebeat or Vector write them, one per
//! line.
//!
//! ECS fields may be nested (`{"source":{"ip":…}}`), dotted
//! (`{"source.ip":…}`) or a mix of both (`{"source":{"geo.country_name":…}}`),
//! so each field is looked up under every split of its dotted name. Values
//! are copied out of a parsed `serde_json::Value`, which is slower than
//! the borrowing EVE and Zeek readers but copes with any layout.

use std::borrow::Cow;

use iocwatch_model::value::observed_ip;
use iocwatch_model::{CanonicalUrl, Field, Record};
use serde_json::{Map, Value};

use crate::json::json_error;
use crate::syslog::epoch_timestamp;
use crate::zeek::{observe_certificate_hash, observe_email, observe_once, observe_related_ip};
use crate::{DecodeError, excerpt};

/// ECS fields read one to one into an observable.
const DIRECT_FIELDS: [(&str, Field); 14] = [
    ("dns.question.name", Field::DnsQuestionName),
    ("url.domain", Field::UrlDomain),
    ("tls.client.server_name", Field::TlsServerName),
    ("tls.server.x509.alternative_names", Field::TlsCertName),
    ("tls.client.ja3", Field::TlsJa3),
    ("tls.server.ja3s", Field::TlsJa3s),
    ("tls.client.ja4", Field::TlsJa4),
    ("tls.server.hash.sha1", Field::TlsCertSha1),
    ("tls.server.hash.sha256", Field::TlsCertSha256),
    ("file.hash.md5", Field::FileMd5),
    ("file.hash.sha1", Field::FileSha1),
    ("file.hash.sha256", Field::FileSha256),
    ("file.hash.sha512", Field::FileSha512),
    ("user_agent.original", Field::UserAgent),
];

/// ECS fields copied into the record's context.
const CONTEXT_FIELDS: [&str; 5] = [
    "network.transport",
    "event.action",
    "event.id",
    "host.name",
    "observer.name",
];

/// The top-level ECS objects that the decoder reads values from, besides
/// those of [`DIRECT_FIELDS`] and [`CONTEXT_FIELDS`].
const OTHER_OBJECTS: [&str; 7] = [
    "@timestamp",
    "source",
    "client",
    "destination",
    "server",
    "email",
    "related",
];

/// Returns whether `key`, a top-level key of a JSON object, is one the
/// decoder reads: an object such as `source` or a dotted key inside one,
/// such as `source.ip`.
pub(crate) fn reads_key(key: &str) -> bool {
    let object = key.split('.').next().unwrap_or(key);
    OTHER_OBJECTS.contains(&object)
        || DIRECT_FIELDS
            .iter()
            .map(|(path, _)| *path)
            .chain(CONTEXT_FIELDS)
            .any(|path| path.split('.').next() == Some(object))
}

/// Decodes an ECS document.
///
/// # Errors
///
/// A [`DecodeError`] when the line is not valid JSON or not an object.
pub(crate) fn decode(line: &[u8]) -> Result<Record<'static>, DecodeError> {
    let value: Value = serde_json::from_slice(line).map_err(|err| json_error(line, &err))?;
    let Value::Object(document) = value else {
        return Err(DecodeError::new(format!(
            "line is a JSON {}, not an object: {}",
            type_name(&value),
            excerpt(line)
        )));
    };
    Ok(read_document(&document))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn read_document(document: &Map<String, Value>) -> Record<'static> {
    let text = |path: &str| lookup(document, path).and_then(first_string);
    let mut record = Record {
        format: "ecs",
        dataset: Cow::Owned(text("event.dataset").unwrap_or_else(|| "ecs".to_owned())),
        timestamp: text("@timestamp").map(|raw| Cow::Owned(epoch_in_seconds(raw))),
        ..Record::default()
    };

    read_endpoint(document, &mut record, Field::SourceIp, ["source", "client"]);
    read_endpoint(
        document,
        &mut record,
        Field::DestinationIp,
        ["destination", "server"],
    );

    for (path, field) in DIRECT_FIELDS {
        for value in strings(lookup(document, path)) {
            if matches!(field, Field::TlsCertSha1 | Field::TlsCertSha256) {
                observe_certificate_hash(&mut record, Cow::Owned(value));
            } else {
                observe_once(&mut record, field, Cow::Owned(value));
            }
        }
    }
    read_dns_answers(document, &mut record);
    read_url(document, &mut record);
    for (path, field) in [
        ("email.from.address", Field::EmailFrom),
        ("email.to.address", Field::EmailTo),
    ] {
        for address in strings(lookup(document, path)) {
            observe_email(&mut record, field, Cow::Owned(address));
        }
    }
    for address in strings(lookup(document, "related.ip")) {
        observe_related_ip(&mut record, Cow::Owned(address));
    }

    for name in CONTEXT_FIELDS {
        if let Some(value) = text(name) {
            record.add_context(name, value);
        }
    }
    record
}

/// Sets an endpoint from `<prefix>.ip` and `<prefix>.port` of the first
/// prefix that has an address: `source` before `client`, `destination`
/// before `server`.
fn read_endpoint(
    document: &Map<String, Value>,
    record: &mut Record<'static>,
    field: Field,
    prefixes: [&str; 2],
) {
    for prefix in prefixes {
        let Some(ip) = lookup(document, &format!("{prefix}.ip")).and_then(first_string) else {
            continue;
        };
        let port = lookup(document, &format!("{prefix}.port")).and_then(port_value);
        record.set_endpoint(field, Cow::Owned(ip), port);
        return;
    }
}

fn read_dns_answers(document: &Map<String, Value>, record: &mut Record<'static>) {
    for ip in strings(lookup(document, "dns.resolved_ip")) {
        observe_once(record, Field::DnsResolvedIp, Cow::Owned(ip));
    }
    let answers = match lookup(document, "dns.answers") {
        Some(Value::Array(answers)) => answers.as_slice(),
        Some(answer @ Value::Object(_)) => std::slice::from_ref(answer),
        _ => &[],
    };
    for answer in answers {
        let Value::Object(answer) = answer else {
            continue;
        };
        if let Some(data) = lookup(answer, "data").and_then(first_string)
            && observed_ip(&data).is_some()
        {
            observe_once(record, Field::DnsResolvedIp, Cow::Owned(data));
        }
    }
}

/// Reads `url.full`, or `url.original` when there is no `url.full`. A
/// relative `url.original` is joined to `url.domain`. When `url.domain` is
/// absent, the host of the full URL is used in its place.
fn read_url(document: &Map<String, Value>, record: &mut Record<'static>) {
    let text = |path: &str| lookup(document, path).and_then(first_string);
    let domain = text("url.domain");
    let full = text("url.full").or_else(|| {
        let original = text("url.original")?;
        if !original.starts_with('/') {
            return Some(original);
        }
        let scheme = text("url.scheme").unwrap_or_else(|| "http".to_owned());
        let host = domain.as_deref()?;
        let authority = match lookup(document, "url.port").and_then(port_value) {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Some(format!("{scheme}://{authority}{original}"))
    });
    let Some(full) = full else {
        return;
    };
    if domain.is_none()
        && let Some(url) = CanonicalUrl::observed(&full)
    {
        observe_once(record, Field::UrlDomain, Cow::Owned(url.host().to_owned()));
    }
    observe_once(record, Field::UrlFull, Cow::Owned(full));
}

/// Looks up a dotted ECS name in a document whose keys may be nested,
/// dotted or both. The whole name as one key is tried first, then every
/// split into a key and the rest of the name inside that key's object.
fn lookup<'v>(object: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    if let Some(value) = object.get(path) {
        return Some(value);
    }
    path.match_indices('.').find_map(|(dot, _)| {
        let (head, rest) = (path.get(..dot)?, path.get(dot + 1..)?);
        match object.get(head)? {
            Value::Object(inner) => lookup(inner, rest),
            _ => None,
        }
    })
}

/// Returns the strings of a field: the string itself, the string elements of an
/// array, or a number's text.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(scalar_string).collect(),
        Some(value) => scalar_string(value).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Rewrites an `@timestamp` of digits alone, such as the JSON number
/// 1709251200123, as epoch seconds with a fraction. Up to 11 digits are
/// seconds. From 12 digits on (100,000,000,000 and above, which as
/// seconds would fall after the year 5000) the value is milliseconds,
/// and from 15 and 18 digits on micro- and nanoseconds, as
/// [`epoch_timestamp`] reads them. Other text is kept as written.
fn epoch_in_seconds(raw: String) -> String {
    epoch_timestamp(&raw).unwrap_or(raw)
}

fn first_string(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => items.iter().find_map(scalar_string),
        value => scalar_string(value),
    }
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn port_value(value: &Value) -> Option<u16> {
    match value {
        Value::Number(number) => number.as_u64().and_then(|port| u16::try_from(port).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    fn decode_one(line: &str) -> Record<'static> {
        match decode(line.as_bytes()) {
            Ok(record) => record,
            Err(err) => panic!("{err}: {line}"),
        }
    }

    #[test]
    fn nested_dotted_and_mixed_layouts_agree() {
        let layouts = [
            r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"dataset":"zeek.dns","action":"dns_query","id":"C1"},"source":{"ip":"10.0.0.5","port":53211},"destination":{"ip":"10.0.0.1","port":53},"network":{"transport":"udp"},"dns":{"question":{"name":"evil.example"},"resolved_ip":["203.0.113.9"]}}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event.dataset":"zeek.dns","event.action":"dns_query","event.id":"C1","source.ip":"10.0.0.5","source.port":53211,"destination.ip":"10.0.0.1","destination.port":"53","network.transport":"udp","dns.question.name":"evil.example","dns.resolved_ip":["203.0.113.9"]}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"dataset":"zeek.dns","action":"dns_query","id":"C1"},"source":{"ip":"10.0.0.5","port":53211},"destination.ip":"10.0.0.1","destination":{"port":53},"network.transport":"udp","dns":{"question.name":"evil.example","resolved_ip":"203.0.113.9"}}"#,
        ];
        for line in layouts {
            let record = decode_one(line);
            assert_eq!(record.format, "ecs", "{line}");
            assert_eq!(record.dataset, "zeek.dns", "{line}");
            assert_eq!(
                record.timestamp.as_deref(),
                Some("2024-05-01T10:00:00.000Z"),
                "{line}"
            );
            assert_eq!(
                record.source.as_ref().map(|endpoint| endpoint.port),
                Some(Some(53211)),
                "{line}"
            );
            assert_eq!(
                record.destination.as_ref().map(|endpoint| endpoint.port),
                Some(Some(53)),
                "{line}"
            );
            assert_eq!(
                pairs(&record),
                [
                    ("source.ip", "10.0.0.5"),
                    ("destination.ip", "10.0.0.1"),
                    ("dns.question.name", "evil.example"),
                    ("dns.resolved_ip", "203.0.113.9"),
                ],
                "{line}"
            );
            assert_eq!(
                context(&record),
                [
                    ("network.transport", "udp"),
                    ("event.action", "dns_query"),
                    ("event.id", "C1")
                ],
                "{line}"
            );
        }
    }

    #[test]
    fn epoch_timestamp_units() {
        let rows = [
            (r#"{"@timestamp":1709251200}"#, "1709251200"),
            (r#"{"@timestamp":"1709251200"}"#, "1709251200"),
            (r#"{"@timestamp":1709251200.5}"#, "1709251200.5"),
            (r#"{"@timestamp":99999999999}"#, "99999999999"),
            (r#"{"@timestamp":100000000000}"#, "100000000.000"),
            (r#"{"@timestamp":1709251200123}"#, "1709251200.123"),
            (r#"{"@timestamp":"1709251200123"}"#, "1709251200.123"),
            (r#"{"@timestamp":1709251200123456}"#, "1709251200.123456"),
            (r#"{"@timestamp":"2024-03-01T00:00:00Z"}"#, "2024-03-01T00:00:00Z"),
        ];
        for (line, expected) in rows {
            assert_eq!(decode_one(line).timestamp.as_deref(), Some(expected), "{line}");
        }

        let millis = decode_one(r#"{"@timestamp":1709251200123}"#);
        let parsed = iocwatch_model::time::parse_timestamp(millis.timestamp.as_deref().unwrap());
        assert_eq!(
            parsed.map(|instant| instant.unix_timestamp_nanos()),
            Some(1_709_251_200_123_000_000)
        );
    }

    #[test]
    fn every_observable_field() {
        let line = r#"{
            "client":{"ip":"10.0.0.5","port":50000},"server":{"ip":"198.51.100.7","port":443},
            "dns":{"answers":[{"data":"cdn.example","type":"CNAME"},{"data":"198.51.100.7","type":"A"}]},
            "url":{"full":"https://Evil.Example:8443/a?b=c"},
            "tls":{"client":{"server_name":"evil.example","ja3":"28a2c9bd18a11de089ef85a160da29e4","ja4":"t13d1516h2_8daaf6152771_b0da82dd1658"},
                   "server":{"ja3s":"7d8fd34fdb13a7fff30d5a52846b6c4c","hash":{"sha1":"77D67DDD7AD5ED48CAA1D35B66C93C57494176EE","sha256":"b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5"}}},
            "file":{"hash":{"md5":"a1b2c3d4e5f60718293a4b5c6d7e8f90","sha512":"00"}},
            "email":{"from":{"address":["Sender <s@example.com>"]},"to":{"address":"r@example.com"}},
            "user_agent":{"original":"curl/8.0"},
            "related":{"ip":["10.0.0.5","192.0.2.44"]},
            "host":{"ip":["10.9.9.9"],"name":"web-1"},
            "observer":{"name":"sensor-2"}
        }"#
        .replace('\n', "");
        let record = decode_one(&line);
        assert_eq!(record.dataset, "ecs");
        assert_eq!(
            pairs(&record),
            [
                ("source.ip", "10.0.0.5"),
                ("destination.ip", "198.51.100.7"),
                ("tls.client.server_name", "evil.example"),
                ("tls.client.ja3", "28a2c9bd18a11de089ef85a160da29e4"),
                ("tls.server.ja3s", "7d8fd34fdb13a7fff30d5a52846b6c4c"),
                ("tls.client.ja4", "t13d1516h2_8daaf6152771_b0da82dd1658"),
                ("tls.server.hash.sha1", "77D67DDD7AD5ED48CAA1D35B66C93C57494176EE"),
                (
                    "tls.server.hash.sha256",
                    "b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5"
                ),
                ("file.hash.md5", "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
                ("file.hash.sha512", "00"),
                ("user_agent.original", "curl/8.0"),
                ("dns.resolved_ip", "198.51.100.7"),
                ("url.domain", "evil.example"),
                ("url.full", "https://Evil.Example:8443/a?b=c"),
                ("email.from.address", "Sender <s@example.com>"),
                ("email.to.address", "r@example.com"),
                ("related.ip", "192.0.2.44"),
            ]
        );
        assert_eq!(
            context(&record),
            [("host.name", "web-1"), ("observer.name", "sensor-2")]
        );
    }

    #[test]
    fn source_wins_over_client() {
        let record = decode_one(r#"{"source":{"ip":"10.0.0.1"},"client":{"ip":"10.0.0.2"}}"#);
        assert_eq!(pairs(&record), [("source.ip", "10.0.0.1")]);
    }

    #[test]
    fn url_original_without_full() {
        let rows = [
            (
                r#"{"url":{"original":"http://a.example/x"}}"#,
                vec![("url.domain", "a.example"), ("url.full", "http://a.example/x")],
            ),
            (
                r#"{"url":{"original":"/x?y=1","domain":"a.example","scheme":"https","port":8443}}"#,
                vec![
                    ("url.domain", "a.example"),
                    ("url.full", "https://a.example:8443/x?y=1"),
                ],
            ),
            (r#"{"url":{"original":"/x"}}"#, vec![]),
            (
                r#"{"url":{"full":"http://b.example/","original":"/ignored","domain":"b.example"}}"#,
                vec![("url.domain", "b.example"), ("url.full", "http://b.example/")],
            ),
        ];
        for (line, expected) in rows {
            assert_eq!(pairs(&decode_one(line)), expected, "{line}");
        }
    }

    #[test]
    fn host_ip_is_not_an_observable() {
        let record = decode_one(r#"{"host":{"ip":"10.9.9.9","name":"web-1"}}"#);
        assert!(record.observables.is_empty());
    }

    #[test]
    fn odd_value_types_are_skipped() {
        let record = decode_one(
            r#"{"source":{"ip":"10.0.0.1","port":"http"},"destination":{"ip":{"v":1},"port":70000},"dns":{"question":{"name":true}}}"#,
        );
        assert_eq!(record.source.as_ref().map(|endpoint| endpoint.port), Some(None));
        assert!(record.destination.is_none());
        assert_eq!(pairs(&record), [("source.ip", "10.0.0.1")]);
    }

    #[test]
    fn lookup_splits() {
        let document: Map<String, Value> =
            serde_json::from_str(r#"{"a":{"b.c":{"d":1}},"x.y":{"z":2},"p":{"q":{"r":3}}}"#)
                .expect("the sample is a JSON object");
        assert_eq!(lookup(&document, "a.b.c.d"), Some(&Value::from(1)));
        assert_eq!(lookup(&document, "x.y.z"), Some(&Value::from(2)));
        assert_eq!(lookup(&document, "p.q.r"), Some(&Value::from(3)));
        assert_eq!(lookup(&document, "p.q.s"), None);
        assert_eq!(lookup(&document, "a.b"), None);
    }

    #[test]
    fn non_objects_are_errors() {
        for line in ["[1,2]", "\"text\"", "42", "null"] {
            let err = decode(line.as_bytes()).expect_err(line).message;
            assert!(err.contains("not an object"), "{line}: {err}");
        }
    }
}
