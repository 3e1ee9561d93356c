//! Palo Alto Networks PAN-OS logs in their syslog CSV form:
//!
//! ```text
//! 1,2012/10/30 09:46:12,01606001116,TRAFFIC,end,1,2012/04/10 04:39:58,192.168.0.2,67.43.156.12,0.0.0.0,0.0.0.0,rule1,crusher,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,forwardAll,2012/04/10 04:39:58,25118,1,59207,80,0,0,0x200000,tcp,allow,...
//! ```
//!
//! The fields read, numbered from 1 as PAN-OS documents them:
//!
//! | field | content |
//! |---|---|
//! | 2, 7 | receive time, generated time |
//! | 4, 5 | log type (`TRAFFIC`, `THREAT`, ...), subtype |
//! | 8, 9 | source and destination address |
//! | 10, 11 | their NAT addresses, `0.0.0.0` when unused |
//! | 12, 13, 14, 15 | rule, source user, destination user, application |
//! | 19, 20 | inbound and outbound interface |
//! | 25, 26 | source and destination port |
//! | 30, 31 | protocol, action |
//! | 32 | THREAT logs: the URL or the file name |
//!
//! Only TRAFFIC, THREAT and DECRYPTION logs describe a connection. Other
//! log types (SYSTEM, CONFIG, ...) keep their type and nothing else. A
//! field may be quoted, with `""` for a quote inside it.

use std::borrow::Cow;

use iocwatch_model::{Field, Record};

use crate::syslog::{observe_url, parse_ip, transport_name};
use crate::{DecodeError, excerpt};

/// Fields up to the action, which every connection log has.
const CONNECTION_FIELDS: usize = 31;

/// Returns true when `body` starts like a PAN-OS log: a
/// `YYYY/MM/DD hh:mm:ss` receive time in field 2 and an upper-case log
/// type in field 4.
pub(crate) fn matches(body: &str) -> bool {
    let mut fields = body.splitn(5, ',');
    let (Some(_), Some(received), Some(_), Some(kind)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    is_panos_time(received) && !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_uppercase() || b == b'-')
}

/// Returns true when `text` has the form `YYYY/MM/DD hh:mm:ss`.
fn is_panos_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 19
        && bytes.iter().enumerate().all(|(index, &byte)| match index {
            4 | 7 => byte == b'/',
            10 => byte == b' ',
            13 | 16 => byte == b':',
            _ => byte.is_ascii_digit(),
        })
}

/// Decodes a PAN-OS log line.
pub(crate) fn decode(body: &str) -> Result<Record<'_>, DecodeError> {
    let fields = split_csv(body)?;
    let field = |number: usize| fields.get(number - 1).cloned().unwrap_or_default();
    if fields.len() < 5 {
        return Err(DecodeError::new(format!(
            "PAN-OS line has {} fields, but every log has at least 5; is it cut off?",
            fields.len()
        )));
    }
    let kind = field(4);
    let mut record = Record {
        format: "panos",
        dataset: Cow::Borrowed("panw.panos"),
        ..Record::default()
    };
    record.timestamp = [field(7), field(2)]
        .iter()
        .find_map(|time| panos_time(time))
        .map(Cow::Owned);
    let is_connection = matches!(kind.as_ref(), "TRAFFIC" | "THREAT" | "DECRYPTION");
    record.add_context("event.category", kind.clone());
    record.add_context("event.type", field(5));
    if !is_connection {
        return Ok(record);
    }
    if fields.len() < CONNECTION_FIELDS {
        return Err(DecodeError::new(format!(
            "PAN-OS {kind} line has {} fields, but a {kind} log has at least {CONNECTION_FIELDS}; is it cut off?",
            fields.len()
        )));
    }

    let source_port = port(&field(25), 25)?;
    let destination_port = port(&field(26), 26)?;
    record.set_endpoint(Field::SourceIp, address(field(8), 8, "source")?, source_port);
    record.set_endpoint(
        Field::DestinationIp,
        address(field(9), 9, "destination")?,
        destination_port,
    );
    for number in [10, 11] {
        let nat = address(field(number), number, "NAT")?;
        if parse_ip(&nat).is_some_and(|ip| !ip.is_unspecified()) {
            record.observe(Field::RelatedIp, nat);
        }
    }
    if kind == "THREAT" {
        read_threat_object(&mut record, field(5).as_ref(), field(32));
    }

    record.add_context("rule.name", field(12));
    record.add_context("source.user.name", field(13));
    record.add_context("destination.user.name", field(14));
    record.add_context("network.application", field(15));
    record.add_context("observer.ingress.interface.name", field(19));
    record.add_context("observer.egress.interface.name", field(20));
    let protocol = field(30);
    if !protocol.is_empty() {
        let name = match protocol {
            Cow::Borrowed(text) => transport_name(text),
            Cow::Owned(text) => Cow::Owned(transport_name(&text).into_owned()),
        };
        record.add_context("network.transport", name);
    }
    record.add_context("event.action", field(31));
    Ok(record)
}

/// Reads field 32 of a THREAT log: a URL for the `url` subtype, a file
/// name for the file-based subtypes.
fn read_threat_object<'l>(record: &mut Record<'l>, subtype: &str, object: Cow<'l, str>) {
    match subtype {
        "url" => observe_url(record, object, None),
        "file" | "virus" | "wildfire" | "wildfire-virus" => record.add_context("file.name", object),
        _ => {}
    }
}

fn address<'l>(value: Cow<'l, str>, number: usize, role: &str) -> Result<Cow<'l, str>, DecodeError> {
    if value.is_empty() || parse_ip(&value).is_some() {
        Ok(value)
    } else {
        Err(DecodeError::new(format!(
            "PAN-OS field {number} ({role} address) is not an IP address: {}",
            excerpt(value.as_bytes())
        )))
    }
}

fn port(value: &str, number: usize) -> Result<Option<u16>, DecodeError> {
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| {
        DecodeError::new(format!(
            "PAN-OS field {number} (port) is not a port number: {}",
            excerpt(value.as_bytes())
        ))
    })
}

/// Turns a `YYYY/MM/DD hh:mm:ss` time into RFC 3339.
///
/// NOTE: PAN-OS writes the firewall's local time without a zone; it is
/// read as UTC.
fn panos_time(text: &str) -> Option<String> {
    if !is_panos_time(text) {
        return None;
    }
    let (date, clock) = text.split_once(' ')?;
    Some(format!("{}T{clock}Z", date.replace('/', "-")))
}

/// Splits a CSV line into fields, unquoting quoted ones.
fn split_csv(line: &str) -> Result<Vec<Cow<'_, str>>, DecodeError> {
    let mut fields = Vec::with_capacity(64);
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut end = None;
            let mut position = 0;
            let bytes = quoted.as_bytes();
            while let Some(&byte) = bytes.get(position) {
                if byte == b'"' {
                    if bytes.get(position + 1) == Some(&b'"') {
                        position += 2;
                        continue;
                    }
                    end = Some(position);
                    break;
                }
                position += 1;
            }
            let Some(end) = end else {
                return Err(DecodeError::new(format!(
                    "PAN-OS field {} has no closing quote; is the line cut off?",
                    fields.len() + 1
                )));
            };
            let inner = quoted.get(..end).unwrap_or_default();
            fields.push(if inner.contains("\"\"") {
                Cow::Owned(inner.replace("\"\"", "\""))
            } else {
                Cow::Borrowed(inner)
            });
            rest = quoted.get(end + 1..).unwrap_or_default();
            match rest.strip_prefix(',') {
                Some(tail) => rest = tail,
                None => return Ok(fields),
            }
        } else {
            match rest.split_once(',') {
                Some((field, tail)) => {
                    fields.push(Cow::Borrowed(field));
                    rest = tail;
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    const TRAFFIC: &str = "1,2012/10/30 09:46:17,01606001116,TRAFFIC,end,1,2012/04/10 04:39:56,192.168.0.2,67.43.156.12,0.0.0.0,0.0.0.0,rule1,crusher,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,forwardAll,2012/04/10 04:39:57,65184,1,56858,80,0,0,0x200000,tcp,allow,1910,1359,551,21,2012/04/10 04:29:54,512,malware-sites,0,0,0x0,192.168.0.0-192.168.255.255,United States,0,18,3";

    #[test]
    fn traffic_log() {
        let record = decode(TRAFFIC).unwrap();
        assert_eq!(
            pairs(&record),
            [("source.ip", "192.168.0.2"), ("destination.ip", "67.43.156.12")]
        );
        assert_eq!(record.source.as_ref().and_then(|e| e.port), Some(56858));
        assert_eq!(record.destination.as_ref().and_then(|e| e.port), Some(80));
        assert_eq!(record.timestamp.as_deref(), Some("2012-04-10T04:39:56Z"));
        assert_eq!(
            context(&record),
            [
                ("event.category", "TRAFFIC"),
                ("event.type", "end"),
                ("rule.name", "rule1"),
                ("source.user.name", "crusher"),
                ("network.application", "web-browsing"),
                ("observer.ingress.interface.name", "ethernet1/2"),
                ("observer.egress.interface.name", "ethernet1/1"),
                ("network.transport", "tcp"),
                ("event.action", "allow"),
            ]
        );
        assert!(matches(TRAFFIC));
    }

    #[test]
    fn threat_url_log() {
        let body = "1,2024/01/01 10:00:00,0123,THREAT,url,2049,2024/01/01 10:00:00,10.0.0.5,203.0.113.9,198.51.100.1,203.0.113.9,allow-web,,,web-browsing,vsys1,trust,untrust,ethernet1/1,ethernet1/2,fwd,2024/01/01 10:00:00,1,1,50000,443,40000,443,0x0,tcp,alert,\"www.evil.example:8443/a,b.php?x=\"\"1\"\"\",(9999),malware,informational,client-to-server";
        let record = decode(body).unwrap();
        assert_eq!(
            pairs(&record),
            [
                ("source.ip", "10.0.0.5"),
                ("destination.ip", "203.0.113.9"),
                ("related.ip", "198.51.100.1"),
                ("related.ip", "203.0.113.9"),
                ("url.domain", "www.evil.example"),
                ("url.full", "www.evil.example:8443/a,b.php?x=\"1\""),
            ]
        );
    }

    #[test]
    fn other_log_types_keep_their_type() {
        let record = decode("1,2024/01/01 10:00:00,0123,SYSTEM,general,0,2024/01/01 10:00:00,,general,,0,0,general,informational,\"User admin logged in\"").unwrap();
        assert!(pairs(&record).is_empty());
        assert_eq!(
            context(&record),
            [("event.category", "SYSTEM"), ("event.type", "general")]
        );
    }

    #[test]
    fn malformed_lines_name_the_field() {
        let cut = TRAFFIC.get(..120).unwrap();
        let rows = [
            (
                cut.to_owned(),
                "PAN-OS TRAFFIC line has 13 fields, but a TRAFFIC log has at least 31; is it cut off?",
            ),
            (
                TRAFFIC.replace("67.43.156.12", "67.43.156"),
                "PAN-OS field 9 (destination address) is not an IP address: \"67.43.156\"",
            ),
            (
                TRAFFIC.replace(",56858,", ",x,"),
                "PAN-OS field 25 (port) is not a port number: \"x\"",
            ),
            (
                "1,2012/10/30 09:46:17,0160,THREAT,url,\"open".to_owned(),
                "PAN-OS field 6 has no closing quote; is the line cut off?",
            ),
            (
                "1,2012/10/30".to_owned(),
                "PAN-OS line has 2 fields, but every log has at least 5; is it cut off?",
            ),
        ];
        for (body, expected) in rows {
            assert_eq!(decode(&body).map(|_| ()).unwrap_err().message, expected, "{body}");
        }
    }

    #[test]
    fn matches_needs_time_and_type() {
        assert!(!matches("1,2012-10-30 09:46:17,0160,TRAFFIC"));
        assert!(!matches("1,2012/10/30 09:46:17,0160,traffic"));
        assert!(!matches("146,,,1535324496,igb1.12,match,block,in,4"));
    }
}
