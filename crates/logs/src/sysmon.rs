//! Microsoft Sysmon events as JSON lines, in the layout that evtx_dump
//! writes: `{"Event":{"System":{…},"EventData":{…}}}`, where XML
//! attributes sit under `#attributes` and each `Data` element of
//! `EventData` is a key named after its `Name` attribute.
//!
//! The reader takes observables from three kinds of event:
//!
//! - 3 (network connection): the endpoints, and `DestinationHostname`.
//! - 22 (DNS query): `QueryName` and the addresses in `QueryResults`.
//! - any event with `Hashes` (1, 6, 7, 15, 23, 26 and others): the MD5,
//!   SHA-1 and SHA-256 of the file.
//!
//! Other Sysmon events give a record with context and no observables.

use std::borrow::Cow;

use iocwatch_model::record::is_placeholder;
use iocwatch_model::value::observed_ip;
use iocwatch_model::{Field, Record};
use serde_json::{Map, Value};

use crate::json::json_error;
use crate::zeek::observe_once;
use crate::{DecodeError, excerpt};

/// The provider name of every Sysmon event, in `System.Provider`.
pub(crate) const PROVIDER: &str = "Microsoft-Windows-Sysmon";

/// `EventData` fields copied into the record's context, by ECS name.
/// `ImageLoaded` and `TargetFilename` are the file whose hashes an event
/// gives, when it is not the process itself.
const CONTEXT_FIELDS: [(&str, &str); 5] = [
    ("Protocol", "network.transport"),
    ("Image", "process.executable"),
    ("User", "user.name"),
    ("ImageLoaded", "file.path"),
    ("TargetFilename", "file.path"),
];

/// Returns whether `line` is a JSON object whose top-level `Event` is a
/// Sysmon event.
pub(crate) fn is_sysmon_event(line: &[u8]) -> bool {
    serde_json::from_slice::<Map<String, Value>>(line).is_ok_and(|document| sysmon_event(&document).is_some())
}

/// Decodes a Sysmon event. Returns `Ok(None)` when the line is a JSON
/// object with no Sysmon event under a top-level `Event` key, so that
/// another reader can take it.
///
/// # Errors
///
/// A [`DecodeError`] when the line is not valid JSON, or when a Sysmon
/// event lacks `System.EventID` or `EventData`, or has an address, port or
/// hash list that cannot be read. The message names the field.
pub(crate) fn decode(line: &[u8]) -> Result<Option<Record<'static>>, DecodeError> {
    let value: Value = serde_json::from_slice(line).map_err(|err| json_error(line, &err))?;
    let Value::Object(document) = value else {
        return Ok(None);
    };
    let Some(event) = sysmon_event(&document) else {
        return Ok(None);
    };
    read_event(event).map(Some)
}

/// Returns the object under the top-level `Event` key when its
/// `System.Provider` is Sysmon.
fn sysmon_event(document: &Map<String, Value>) -> Option<&Map<String, Value>> {
    let event = document.get("Event")?.as_object()?;
    let provider = event.get("System")?.as_object()?.get("Provider")?;
    (attribute(provider, "Name")?.as_str()? == PROVIDER).then_some(event)
}

/// Returns the XML attribute `name` of an element: under `#attributes`,
/// as evtx_dump writes it, or as a plain key.
fn attribute<'v>(element: &'v Value, name: &str) -> Option<&'v Value> {
    let element = element.as_object()?;
    element
        .get("#attributes")
        .and_then(Value::as_object)
        .and_then(|attributes| attributes.get(name))
        .or_else(|| element.get(name))
}

fn read_event(event: &Map<String, Value>) -> Result<Record<'static>, DecodeError> {
    let system = event
        .get("System")
        .and_then(Value::as_object)
        .ok_or_else(|| DecodeError::new("invalid Sysmon event: missing System object"))?;
    let event_id = event_id(system)?;
    let data = event.get("EventData").and_then(Value::as_object).ok_or_else(|| {
        DecodeError::new(format!(
            "invalid Sysmon event {event_id}: missing EventData object"
        ))
    })?;

    let mut record = Record {
        format: "sysmon",
        dataset: Cow::Borrowed(dataset(event_id)),
        timestamp: timestamp(system, data).map(Cow::Owned),
        ..Record::default()
    };
    match event_id {
        3 => read_connection(data, &mut record)?,
        22 => read_dns_query(data, &mut record),
        _ => {}
    }
    if let Some(hashes) = text(data, "Hashes") {
        read_hashes(&hashes, &mut record)?;
    }
    read_context(system, data, event_id, &mut record);
    Ok(record)
}

/// Reads `System.EventID`: a number, a string of digits, or an object with
/// the number under `#text` (when the element has a `Qualifiers`
/// attribute).
fn event_id(system: &Map<String, Value>) -> Result<u32, DecodeError> {
    let raw = system
        .get("EventID")
        .ok_or_else(|| DecodeError::new("invalid Sysmon event: missing System.EventID"))?;
    let number = match raw {
        Value::Object(element) => element.get("#text").unwrap_or(raw),
        other => other,
    };
    let parsed = match number {
        Value::Number(number) => number.as_u64().and_then(|id| u32::try_from(id).ok()),
        Value::String(digits) => digits.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        DecodeError::new(format!(
            "Sysmon System.EventID is not an event number: {}",
            quote(raw)
        ))
    })
}

/// Returns the dataset of an event: `sysmon.` and the kind of event.
fn dataset(event_id: u32) -> &'static str {
    match event_id {
        1 => "sysmon.process",
        3 => "sysmon.network",
        6 => "sysmon.driver",
        7 => "sysmon.image_load",
        15 => "sysmon.file_stream",
        22 => "sysmon.dns",
        23 | 26 => "sysmon.file_delete",
        _ => "sysmon",
    }
}

/// Returns the event time: `System.TimeCreated`'s `SystemTime`, or else
/// `EventData.UtcTime` (`2019-05-23 16:49:05.686`, in UTC) in RFC 3339
/// form.
fn timestamp(system: &Map<String, Value>, data: &Map<String, Value>) -> Option<String> {
    let created = system
        .get("TimeCreated")
        .and_then(|element| attribute(element, "SystemTime"))
        .and_then(Value::as_str)
        .filter(|time| !time.is_empty());
    if let Some(created) = created {
        return Some(created.to_owned());
    }
    let utc = text(data, "UtcTime")?;
    let (date, time) = utc.split_once(' ')?;
    Some(format!("{date}T{time}Z"))
}

/// Reads a network connection: `SourceIp` and `SourcePort` as the source
/// endpoint, `DestinationIp` and `DestinationPort` as the destination,
/// and `DestinationHostname`.
///
/// The endpoints are kept as Sysmon names them, whatever the value of
/// `Initiated`, so the alert's direction comes from the addresses as for
/// other logs. `Initiated` becomes `network.direction` (`egress` or
/// `ingress`) in the context.
///
/// NOTE: this assumes that Sysmon writes the connecting side as the source
/// of an inbound connection (`Initiated` false), as ECS `source` means.
/// That is unverified on inbound events.
fn read_connection(data: &Map<String, Value>, record: &mut Record<'static>) -> Result<(), DecodeError> {
    for (address, port, field) in [
        ("SourceIp", "SourcePort", Field::SourceIp),
        ("DestinationIp", "DestinationPort", Field::DestinationIp),
    ] {
        let Some(ip) = text(data, address).filter(|ip| !is_placeholder(ip)) else {
            continue;
        };
        if observed_ip(&ip).is_none() {
            return Err(DecodeError::new(format!(
                "Sysmon {address} is not an IP address: {}",
                excerpt(ip.as_bytes())
            )));
        }
        let port = port_number(data, port)?;
        record.set_endpoint(field, Cow::Owned(ip), port);
    }
    if let Some(host) = text(data, "DestinationHostname") {
        observe_host_name(record, host);
    }
    if let Some(direction) = direction(data) {
        record.add_context("network.direction", direction);
    }
    Ok(())
}

/// Adds `DestinationHostname`, the name Sysmon found for the destination
/// address by a reverse lookup, unless it is itself an address.
///
/// NOTE: the name is observed as `url.domain`, the domain field that
/// alerts can name, although ECS calls it `destination.domain`.
fn observe_host_name(record: &mut Record<'static>, host: String) {
    if observed_ip(&host).is_none() {
        record.observe(Field::UrlDomain, host);
    }
}

/// Returns `egress` when `Initiated` is true (the process on the host
/// opened the connection) and `ingress` when it is false. `Initiated` is a
/// JSON boolean or the text `true` or `false`.
fn direction(data: &Map<String, Value>) -> Option<&'static str> {
    let initiated = match data.get("Initiated")? {
        Value::Bool(initiated) => *initiated,
        Value::String(text) if text.eq_ignore_ascii_case("true") => true,
        Value::String(text) if text.eq_ignore_ascii_case("false") => false,
        _ => return None,
    };
    Some(if initiated { "egress" } else { "ingress" })
}

/// Reads a port from `EventData`, written as a number or as text.
/// Returns `None` when the field is absent or empty.
fn port_number(data: &Map<String, Value>, name: &str) -> Result<Option<u16>, DecodeError> {
    let Some(raw) = data.get(name) else {
        return Ok(None);
    };
    let port = match raw {
        Value::Number(number) => number.as_u64().and_then(|port| u16::try_from(port).ok()),
        Value::String(text) if text.trim().is_empty() => return Ok(None),
        Value::String(text) => text.trim().parse().ok(),
        Value::Null => return Ok(None),
        _ => None,
    };
    port.map(Some)
        .ok_or_else(|| DecodeError::new(format!("Sysmon {name} is not a port number: {}", quote(raw))))
}

/// Reads a DNS query: `QueryName`, and every address in `QueryResults`.
/// Sysmon writes the results as one string of `;`-terminated entries,
/// such as `type:  5 cdn.example;::ffff:192.0.2.1;192.0.2.2;`, where an
/// entry that is not an address is a record of another type.
fn read_dns_query(data: &Map<String, Value>, record: &mut Record<'static>) {
    if let Some(name) = text(data, "QueryName") {
        record.observe(Field::DnsQuestionName, name);
    }
    let Some(results) = text(data, "QueryResults") else {
        return;
    };
    for entry in results.split(';').map(str::trim) {
        if observed_ip(entry).is_some() {
            observe_once(record, Field::DnsResolvedIp, Cow::Owned(entry.to_owned()));
        }
    }
}

/// Reads a `Hashes` list such as `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`.
/// `IMPHASH`, an MD5 of the import table rather than of the file, is
/// skipped so that it cannot match an MD5 file indicator, and so are
/// algorithms without a file hash field.
fn read_hashes(hashes: &str, record: &mut Record<'static>) -> Result<(), DecodeError> {
    for entry in hashes.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let Some((algorithm, digest)) = entry.split_once('=') else {
            return Err(DecodeError::new(format!(
                "Sysmon Hashes entry is not ALGORITHM=DIGEST: {}",
                excerpt(entry.as_bytes())
            )));
        };
        let field = match algorithm.trim().to_ascii_uppercase().as_str() {
            "MD5" => Field::FileMd5,
            "SHA1" => Field::FileSha1,
            "SHA256" => Field::FileSha256,
            _ => continue,
        };
        observe_once(record, field, Cow::Owned(digest.trim().to_owned()));
    }
    Ok(())
}

/// Adds the host name (`System.Computer`), the event number, and the
/// [`CONTEXT_FIELDS`] the event has.
fn read_context(
    system: &Map<String, Value>,
    data: &Map<String, Value>,
    event_id: u32,
    record: &mut Record<'static>,
) {
    if let Some(computer) = system.get("Computer").and_then(Value::as_str) {
        record.add_context("host.name", computer.to_owned());
    }
    record.add_context("event.code", event_id.to_string());
    for (key, name) in CONTEXT_FIELDS {
        if let Some(value) = text(data, key) {
            record.add_context(name, value);
        }
    }
}

/// Quotes a JSON value for an error message: a string's text, or the JSON
/// of any other value.
fn quote(value: &Value) -> String {
    match value {
        Value::String(text) => excerpt(text.as_bytes()),
        other => excerpt(other.to_string().as_bytes()),
    }
}

/// Returns an `EventData` field as text: a string, or a number's digits.
fn text(data: &Map<String, Value>, name: &str) -> Option<String> {
    match data.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    /// Wraps `event_data` in a Sysmon event with `event_id`, as evtx_dump
    /// writes it.
    fn event(event_id: u32, event_data: &str) -> String {
        format!(
            r##"{{"Event":{{"#attributes":{{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"}},"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}}}},"EventID":{event_id},"Version":5,"TimeCreated":{{"#attributes":{{"SystemTime":"2024-05-01T10:00:00.123456Z"}}}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws-1.corp.example"}},"EventData":{event_data}}}}}"##
        )
    }

    fn decode_one(line: &str) -> Record<'static> {
        match decode(line.as_bytes()) {
            Ok(Some(record)) => record,
            Ok(None) => panic!("not read as Sysmon: {line}"),
            Err(err) => panic!("{err}: {line}"),
        }
    }

    fn error(line: &str) -> String {
        match decode(line.as_bytes()) {
            Err(err) => err.message,
            Ok(record) => panic!("decoded without error: {record:?}"),
        }
    }

    #[test]
    fn network_connection() {
        let line = event(
            3,
            r#"{"RuleName":"","UtcTime":"2024-05-01 09:59:59.000","ProcessId":3872,"Image":"C:\\Windows\\System32\\wbem\\WMIC.exe","User":"CORP\\alice","Protocol":"tcp","Initiated":true,"SourceIsIpv6":false,"SourceIp":"10.0.2.15","SourceHostname":"ws-1","SourcePort":49167,"SourcePortName":"","DestinationIsIpv6":false,"DestinationIp":"203.0.113.27","DestinationHostname":"c2.evil.example","DestinationPort":443,"DestinationPortName":"https"}"#,
        );
        let record = decode_one(&line);
        assert_eq!(record.format, "sysmon");
        assert_eq!(record.dataset, "sysmon.network");
        assert_eq!(record.timestamp.as_deref(), Some("2024-05-01T10:00:00.123456Z"));
        let source = record
            .source
            .as_ref()
            .map(|endpoint| (endpoint.ip.as_ref(), endpoint.port));
        assert_eq!(source, Some(("10.0.2.15", Some(49167))));
        let destination = record
            .destination
            .as_ref()
            .map(|endpoint| (endpoint.ip.as_ref(), endpoint.port));
        assert_eq!(destination, Some(("203.0.113.27", Some(443))));
        assert_eq!(
            pairs(&record),
            [
                ("source.ip", "10.0.2.15"),
                ("destination.ip", "203.0.113.27"),
                ("url.domain", "c2.evil.example"),
            ]
        );
        assert_eq!(
            context(&record),
            [
                ("network.direction", "egress"),
                ("host.name", "ws-1.corp.example"),
                ("event.code", "3"),
                ("network.transport", "tcp"),
                ("process.executable", "C:\\Windows\\System32\\wbem\\WMIC.exe"),
                ("user.name", "CORP\\alice"),
            ]
        );
    }

    #[test]
    fn inbound_connection_as_text_fields() {
        let line = event(
            3,
            r#"{"Image":"System","Protocol":"tcp","Initiated":"false","SourceIp":"198.51.100.9","SourcePort":"50112","DestinationIp":"::ffff:10.0.0.5","DestinationHostname":"-","DestinationPort":"445"}"#,
        );
        let record = decode_one(&line);
        assert_eq!(
            pairs(&record),
            [
                ("source.ip", "198.51.100.9"),
                ("destination.ip", "::ffff:10.0.0.5")
            ]
        );
        assert_eq!(
            record.source.as_ref().and_then(|endpoint| endpoint.port),
            Some(50112)
        );
        assert_eq!(
            record.destination.as_ref().and_then(|endpoint| endpoint.port),
            Some(445)
        );
        assert!(context(&record).contains(&("network.direction", "ingress")));
    }

    #[test]
    fn empty_addresses_are_skipped() {
        let line = event(
            3,
            r#"{"SourceIp":"","SourcePort":0,"DestinationIp":"-","DestinationHostname":"","DestinationPort":""}"#,
        );
        let record = decode_one(&line);
        assert!(record.source.is_none());
        assert!(record.destination.is_none());
        assert!(record.observables.is_empty());
    }

    #[test]
    fn host_name_that_is_an_address_is_skipped() {
        let line = event(
            3,
            r#"{"SourceIp":"10.0.0.5","DestinationIp":"192.0.2.80","DestinationHostname":"192.0.2.80","DestinationPort":80}"#,
        );
        assert_eq!(
            pairs(&decode_one(&line)),
            [("source.ip", "10.0.0.5"), ("destination.ip", "192.0.2.80")]
        );
    }

    #[test]
    fn dns_query() {
        let line = event(
            22,
            r#"{"RuleName":"-","UtcTime":"2024-05-01 09:59:59.000","ProcessId":2428,"QueryName":"update.evil.example","QueryStatus":"0","QueryResults":"type:  5 cdn.evil.example;::ffff:192.0.2.1;198.51.100.2;192.0.2.1;2001:db8::7;","Image":"C:\\Windows\\System32\\svchost.exe"}"#,
        );
        let record = decode_one(&line);
        assert_eq!(record.dataset, "sysmon.dns");
        assert!(record.source.is_none());
        assert!(record.destination.is_none());
        assert_eq!(
            pairs(&record),
            [
                ("dns.question.name", "update.evil.example"),
                ("dns.resolved_ip", "::ffff:192.0.2.1"),
                ("dns.resolved_ip", "198.51.100.2"),
                ("dns.resolved_ip", "192.0.2.1"),
                ("dns.resolved_ip", "2001:db8::7"),
            ]
        );
        assert!(context(&record).contains(&("process.executable", "C:\\Windows\\System32\\svchost.exe")));
    }

    #[test]
    fn dns_query_without_results() {
        let line = event(
            22,
            r#"{"QueryName":"wpad","QueryStatus":"9003","QueryResults":"-"}"#,
        );
        assert_eq!(pairs(&decode_one(&line)), [("dns.question.name", "wpad")]);
    }

    #[test]
    fn hashes_of_each_event() {
        let hashes = "SHA1=4368DBD172224EC9461364BE1AC9DFFC5D9224A8,MD5=A03CF3838775E0801A0894C8BACD2E56,SHA256=132AA270790F56A7524CAB968927ED5E1D91B9A26D4BADCB24E450E7DECC5F81,IMPHASH=B59AF26B08AA14BA66272388BC9C2443";
        let expected = [
            ("file.hash.sha1", "4368DBD172224EC9461364BE1AC9DFFC5D9224A8"),
            ("file.hash.md5", "A03CF3838775E0801A0894C8BACD2E56"),
            (
                "file.hash.sha256",
                "132AA270790F56A7524CAB968927ED5E1D91B9A26D4BADCB24E450E7DECC5F81",
            ),
        ];
        let rows = [
            (1, "sysmon.process", r#""Image":"C:\\Tools\\a.exe""#, None),
            (
                6,
                "sysmon.driver",
                r#""ImageLoaded":"C:\\Drivers\\d.sys""#,
                Some("C:\\Drivers\\d.sys"),
            ),
            (
                7,
                "sysmon.image_load",
                r#""Image":"C:\\Tools\\a.exe","ImageLoaded":"C:\\Tools\\b.dll""#,
                Some("C:\\Tools\\b.dll"),
            ),
            (
                15,
                "sysmon.file_stream",
                r#""TargetFilename":"C:\\x.txt:Zone.Identifier""#,
                Some("C:\\x.txt:Zone.Identifier"),
            ),
            (
                23,
                "sysmon.file_delete",
                r#""TargetFilename":"C:\\Temp\\c.exe""#,
                Some("C:\\Temp\\c.exe"),
            ),
            (
                26,
                "sysmon.file_delete",
                r#""TargetFilename":"C:\\Temp\\c.exe""#,
                Some("C:\\Temp\\c.exe"),
            ),
        ];
        for (event_id, dataset, fields, file_path) in rows {
            let line = event(event_id, &format!(r#"{{{fields},"Hashes":"{hashes}"}}"#));
            let record = decode_one(&line);
            assert_eq!(record.dataset, dataset, "{event_id}");
            assert_eq!(pairs(&record), expected, "{event_id}");
            let context = context(&record);
            let path = context
                .iter()
                .find(|(name, _)| *name == "file.path")
                .map(|(_, value)| *value);
            assert_eq!(path, file_path, "{event_id}");
        }
    }

    #[test]
    fn hashes_of_one_algorithm_and_spaces() {
        let line = event(
            1,
            r#"{"Hashes":" sha256=132aa270790f56a7524cab968927ed5e1d91b9a26d4badcb24e450e7decc5f81 , "}"#,
        );
        assert_eq!(
            pairs(&decode_one(&line)),
            [(
                "file.hash.sha256",
                "132aa270790f56a7524cab968927ed5e1d91b9a26d4badcb24e450e7decc5f81"
            )]
        );
    }

    #[test]
    fn other_events_have_context_only() {
        let line = event(
            13,
            r#"{"EventType":"SetValue","Image":"C:\\Windows\\System32\\spoolsv.exe","TargetObject":"HKLM\\SOFTWARE\\x"}"#,
        );
        let record = decode_one(&line);
        assert_eq!(record.dataset, "sysmon");
        assert!(record.observables.is_empty());
        assert_eq!(
            context(&record),
            [
                ("host.name", "ws-1.corp.example"),
                ("event.code", "13"),
                ("process.executable", "C:\\Windows\\System32\\spoolsv.exe"),
            ]
        );
    }

    #[test]
    fn event_id_forms() {
        for id in [
            "22",
            r#""22""#,
            r##"{"#attributes":{"Qualifiers":""},"#text":22}"##,
        ] {
            let line = event(0, r#"{"QueryName":"a.example"}"#)
                .replace(r#""EventID":0"#, &format!(r#""EventID":{id}"#));
            assert_eq!(decode_one(&line).dataset, "sysmon.dns", "{id}");
        }
    }

    #[test]
    fn time_from_utc_time_without_time_created() {
        let line = event(1, r#"{"UtcTime":"2019-05-23 16:49:05.686"}"#).replace(
            r##""TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00.123456Z"}},"##,
            "",
        );
        let record = decode_one(&line);
        assert_eq!(record.timestamp.as_deref(), Some("2019-05-23T16:49:05.686Z"));
        let parsed = record
            .timestamp
            .as_deref()
            .and_then(iocwatch_model::time::parse_timestamp);
        assert!(parsed.is_some());
    }

    #[test]
    fn other_windows_events_are_not_read() {
        let rows = [
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":4624},"EventData":{"IpAddress":"192.0.2.1"}}}"##,
            r#"{"Event":{"System":{"EventID":3},"EventData":{"DestinationIp":"192.0.2.1"}}}"#,
            r#"{"Event":"Microsoft-Windows-Sysmon"}"#,
            r#"{"System":{"Provider":{"Name":"Microsoft-Windows-Sysmon"}}}"#,
            "[1]",
        ];
        for line in rows {
            assert_eq!(decode(line.as_bytes()), Ok(None), "{line}");
            assert!(!is_sysmon_event(line.as_bytes()), "{line}");
        }
        assert!(is_sysmon_event(event(3, "{}").as_bytes()));
    }

    #[test]
    fn provider_name_without_attributes() {
        let line = r#"{"Event":{"System":{"Provider":{"Name":"Microsoft-Windows-Sysmon"},"EventID":22,"TimeCreated":{"SystemTime":"2024-05-01T10:00:00Z"}},"EventData":{"QueryName":"a.example"}}}"#;
        let record = decode_one(line);
        assert_eq!(record.timestamp.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(pairs(&record), [("dns.question.name", "a.example")]);
    }

    #[test]
    fn malformed_events_name_the_field() {
        let rows = [
            (
                event(3, r#"{"SourceIp":"10.0.0.999","DestinationIp":"192.0.2.1"}"#),
                r#"Sysmon SourceIp is not an IP address: "10.0.0.999""#,
            ),
            (
                event(
                    3,
                    r#"{"SourceIp":"10.0.0.1","DestinationIp":"192.0.2.1","DestinationPort":70000}"#,
                ),
                "Sysmon DestinationPort is not a port number: \"70000\"",
            ),
            (
                event(3, r#"{"SourceIp":"10.0.0.1","SourcePort":"http"}"#),
                r#"Sysmon SourcePort is not a port number: "http""#,
            ),
            (
                event(
                    1,
                    r#"{"Hashes":"SHA1=4368DBD172224EC9461364BE1AC9DFFC5D9224A8,4368"}"#,
                ),
                r#"Sysmon Hashes entry is not ALGORITHM=DIGEST: "4368""#,
            ),
            (event(1, "[]"), "invalid Sysmon event 1: missing EventData object"),
            (
                event(1, "{}").replace(r#""EventID":1,"#, ""),
                "invalid Sysmon event: missing System.EventID",
            ),
            (
                event(1, "{}").replace(r#""EventID":1"#, r#""EventID":"three""#),
                r#"Sysmon System.EventID is not an event number: "three""#,
            ),
        ];
        for (line, expected) in rows {
            assert_eq!(error(&line), expected, "{line}");
        }
    }

    #[test]
    fn cut_line_is_invalid_json() {
        let line = event(3, r#"{"SourceIp":"10.0.0.1"}"#);
        let cut = line.get(..line.len() / 2).unwrap_or_default();
        assert!(error(cut).starts_with("invalid JSON"), "{cut}");
    }
}
