//! Zeek JSON logs: one object per line with dotted keys (`"id.orig_h"`),
//! as written by `LogAscii::use_json` or the json-streaming-logs package.
//!
//! The log type comes from `_path` when the line has one (json-streaming
//! style), else it is inferred from the keys. `ts` may be epoch seconds
//! (a number) or an ISO 8601 string, sets are JSON arrays, and unset
//! fields are left out. The keys that carry observables are the same as in
//! TSV logs, so both forms of one event yield the same record apart from
//! `format`.

use std::borrow::Cow;
use std::fmt;

use iocwatch_model::Record;
use iocwatch_model::record::is_placeholder;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::lenient::{Port, Scalar, Text, TextList};
use crate::zeek::{self, Key, KeySet, LogKind, ZeekLine, dataset_for_path, is_address_column};

/// Decodes a Zeek JSON line. Returns `Ok(None)` when the object has none
/// of the top-level keys every Zeek log has (`ts`, `uid`, `id.orig_h`,
/// `id.resp_h`, `_path`), so the caller can read it as another format.
pub(crate) fn decode(line: &[u8]) -> Result<Option<Record<'_>>, serde_json::Error> {
    let parsed: ZeekJsonLine<'_> = serde_json::from_slice(line)?;
    let is_zeek = [Key::Ts, Key::Uid, Key::OrigH, Key::RespH, Key::LogPath]
        .iter()
        .any(|key| parsed.present.contains(*key));
    if !is_zeek {
        return Ok(None);
    }

    let (kind, dataset) = match parsed.text(Key::LogPath) {
        Some(path) => (LogKind::from_path(&path), dataset_for_path(&path)),
        None => {
            let kind = LogKind::infer(parsed.present);
            (kind, Cow::Borrowed(kind.dataset()))
        }
    };
    let mut record = Record {
        format: "zeek-json",
        dataset,
        ..Record::default()
    };
    zeek::fill(kind, &parsed, &mut record);
    Ok(Some(record))
}

/// The value of one key of a Zeek JSON line.
#[derive(Debug, Default)]
enum Slot<'l> {
    #[default]
    Empty,
    Text(Cow<'l, str>),
    List(Vec<Cow<'l, str>>),
    Port(u16),
}

/// The keys of one Zeek JSON line that [`zeek::fill`] may read; all other
/// keys are skipped unparsed.
#[derive(Debug)]
struct ZeekJsonLine<'l> {
    slots: [Slot<'l>; Key::COUNT],
    present: KeySet,
    /// Values of the keys [`is_address_column`] selects, in line order.
    addresses: Vec<Cow<'l, str>>,
}

impl<'l> ZeekJsonLine<'l> {
    fn slot(&self, key: Key) -> &Slot<'l> {
        self.slots.get(key as usize).unwrap_or(&Slot::Empty)
    }
}

impl<'l> ZeekLine<'l> for ZeekJsonLine<'l> {
    fn text(&self, key: Key) -> Option<Cow<'l, str>> {
        match self.slot(key) {
            Slot::Text(value) if !is_placeholder(value) => Some(value.clone()),
            _ => None,
        }
    }

    fn port(&self, key: Key) -> Option<u16> {
        match self.slot(key) {
            Slot::Port(port) => Some(*port),
            _ => None,
        }
    }

    fn each(&self, key: Key, mut f: impl FnMut(Cow<'l, str>)) {
        match self.slot(key) {
            Slot::List(items) => items
                .iter()
                .filter(|item| !is_placeholder(item))
                .for_each(|item| f(item.clone())),
            Slot::Text(value) if !is_placeholder(value) => f(value.clone()),
            _ => {}
        }
    }

    fn each_address(&self, mut f: impl FnMut(Cow<'l, str>)) {
        self.addresses
            .iter()
            .filter(|value| !is_placeholder(value))
            .for_each(|value| f(value.clone()));
    }
}

/// The role of a JSON key for the decoder.
enum KeyClass {
    Zeek { key: Key, is_address: bool },
    Address,
    Skipped,
}

impl<'de> Deserialize<'de> for KeyClass {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyClassVisitor)
    }
}

struct KeyClassVisitor;

impl Visitor<'_> for KeyClassVisitor {
    type Value = KeyClass;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<KeyClass, E> {
        let is_address = is_address_column(name);
        Ok(match Key::from_name(name) {
            Some(key) => KeyClass::Zeek { key, is_address },
            None if is_address => KeyClass::Address,
            None => KeyClass::Skipped,
        })
    }
}

impl<'de> Deserialize<'de> for ZeekJsonLine<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LineVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = ZeekJsonLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Zeek JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut line = ZeekJsonLine {
            slots: std::array::from_fn(|_| Slot::Empty),
            present: KeySet::default(),
            addresses: Vec::new(),
        };
        while let Some(class) = map.next_key::<KeyClass>()? {
            match class {
                KeyClass::Zeek { key, is_address } => {
                    line.present.insert(key);
                    let slot = map.next_value_seed(SlotSeed { key })?;
                    if is_address {
                        match &slot {
                            Slot::Text(value) => line.addresses.push(value.clone()),
                            Slot::List(items) => line.addresses.extend(items.iter().cloned()),
                            Slot::Empty | Slot::Port(_) => {}
                        }
                    }
                    if let Some(target) = line.slots.get_mut(key as usize) {
                        *target = slot;
                    }
                }
                KeyClass::Address => {
                    let TextList(items) = map.next_value()?;
                    line.addresses.extend(items);
                }
                KeyClass::Skipped => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(line)
    }
}

/// Reads the value of `key` in the shape that key has.
struct SlotSeed {
    key: Key,
}

impl<'de> DeserializeSeed<'de> for SlotSeed {
    type Value = Slot<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let slot = match self.key {
            Key::Ts => Scalar::deserialize(deserializer)?
                .0
                .map_or(Slot::Empty, Slot::Text),
            Key::OrigP | Key::RespP | Key::P => {
                Port::deserialize(deserializer)?.0.map_or(Slot::Empty, Slot::Port)
            }
            // Keys that only distinguish log types: their values are not read.
            Key::ConnState
            | Key::History
            | Key::SslHistory
            | Key::Resumed
            | Key::Method
            | Key::Fuid
            | Key::MimeType
            | Key::CertificateSubject
            | Key::Note => {
                IgnoredAny::deserialize(deserializer)?;
                Slot::Empty
            }
            key if key.is_set() => Slot::List(TextList::deserialize(deserializer)?.0),
            _ => Text::deserialize(deserializer)?.0.map_or(Slot::Empty, Slot::Text),
        };
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    fn decode_one(line: &str) -> Record<'_> {
        match decode(line.as_bytes()) {
            Ok(Some(record)) => record,
            Ok(None) => panic!("not read as Zeek JSON: {line}"),
            Err(err) => panic!("{err}: {line}"),
        }
    }

    #[test]
    fn conn_with_epoch_ts() {
        let line = r#"{"ts":1541117137.618695,"uid":"CYtJYz4gNk3t5ZEt2","id.orig_h":"172.16.9.233","id.orig_p":49159,"id.resp_h":"172.16.9.5","id.resp_p":88,"proto":"tcp","service":"krb_tcp","conn_state":"RSTR","history":"ShADdFar"}"#;
        let record = decode_one(line);
        assert_eq!(record.format, "zeek-json");
        assert_eq!(record.dataset, "zeek.conn");
        assert_eq!(record.timestamp.as_deref(), Some("1541117137.618695"));
        assert_eq!(
            record.source.as_ref().map(|endpoint| endpoint.port),
            Some(Some(49159))
        );
        assert_eq!(
            record.destination.as_ref().map(|endpoint| endpoint.port),
            Some(Some(88))
        );
        assert_eq!(
            pairs(&record),
            [("source.ip", "172.16.9.233"), ("destination.ip", "172.16.9.5")]
        );
        assert_eq!(
            context(&record),
            [("network.transport", "tcp"), ("event.id", "CYtJYz4gNk3t5ZEt2")]
        );
    }

    #[test]
    fn values_borrow_from_the_line() {
        let line = r#"{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"C1","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"query":"ise.wrccdc.org"}"#;
        let record = decode_one(line);
        assert!(
            record
                .observables
                .iter()
                .all(|observed| matches!(observed.value, Cow::Borrowed(_)))
        );
        assert!(matches!(
            record.timestamp,
            Some(Cow::Borrowed("2018-03-24T17:15:20.865716Z"))
        ));
        assert!(matches!(record.dataset, Cow::Borrowed("zeek.dns")));
    }

    /// A Zeek JSON line, its expected dataset and observables.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    #[test]
    fn observables_per_log_type() {
        let rows: [Case<'_>; 9] = [
            (
                r#"{"_path":"dns","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","query":"ise.wrccdc.org","answers":["ise.wrccdc.cpp.edu","134.71.3.16"],"TTLs":[2230.0,41830.0],"rejected":false}"#,
                "zeek.dns",
                &[
                    ("source.ip", "10.47.1.100"),
                    ("destination.ip", "10.0.0.100"),
                    ("dns.question.name", "ise.wrccdc.org"),
                    ("dns.resolved_ip", "134.71.3.16"),
                ],
            ),
            (
                r#"{"ts":1.0,"uid":"C1","id.orig_h":"141.142.228.5","id.orig_p":59856,"id.resp_h":"192.150.187.43","id.resp_p":80,"method":"GET","host":"bro.org","uri":"/download/CHANGES.bro-aux.txt","user_agent":"Wget/1.14 (darwin12.2.0)","tags":[]}"#,
                "zeek.http",
                &[
                    ("source.ip", "141.142.228.5"),
                    ("destination.ip", "192.150.187.43"),
                    ("url.domain", "bro.org"),
                    ("url.full", "http://bro.org/download/CHANGES.bro-aux.txt"),
                    ("user_agent.original", "Wget/1.14 (darwin12.2.0)"),
                ],
            ),
            (
                r#"{"ts":1332008617.54,"uid":"C1","id.orig_h":"192.168.202.138","id.orig_p":36510,"id.resp_h":"192.168.21.253","id.resp_p":443,"server_name":"example.org","ja3":"28a2c9bd18a11de089ef85a160da29e4","ja4":"t13d1516h2_8daaf6152771_b0da82dd1658","cert_chain_fps":["25b66694babc309f9da717c5d90ed24efe588601df9bc798908210bb483fb0c1"],"client_cert_chain_fps":[]}"#,
                "zeek.ssl",
                &[
                    ("source.ip", "192.168.202.138"),
                    ("destination.ip", "192.168.21.253"),
                    ("tls.client.server_name", "example.org"),
                    ("tls.client.ja3", "28a2c9bd18a11de089ef85a160da29e4"),
                    ("tls.client.ja4", "t13d1516h2_8daaf6152771_b0da82dd1658"),
                    (
                        "tls.server.hash.sha256",
                        "25b66694babc309f9da717c5d90ed24efe588601df9bc798908210bb483fb0c1",
                    ),
                ],
            ),
            (
                r#"{"ts":1.0,"fuid":"F1","tx_hosts":["59.53.91.102"],"rx_hosts":["192.168.23.129"],"mime_type":"application/x-dosexec","md5":"a1b2c3d4e5f60718293a4b5c6d7e8f90","sha256":"-"}"#,
                "zeek.files",
                &[
                    ("file.hash.md5", "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
                    ("source.ip", "59.53.91.102"),
                    ("destination.ip", "192.168.23.129"),
                ],
            ),
            (
                r#"{"_path":"smtp","ts":"2018-03-24T17:15:21.789543Z","uid":"C1","id.orig_h":"10.164.94.120","id.orig_p":38041,"id.resp_h":"10.47.8.208","id.resp_p":25,"mailfrom":"<nessus@hotmail.com>","rcptto":["<a@example.com>"],"path":["10.47.8.208","198.51.100.1"]}"#,
                "zeek.smtp",
                &[
                    ("source.ip", "10.164.94.120"),
                    ("destination.ip", "10.47.8.208"),
                    ("email.from.address", "nessus@hotmail.com"),
                    ("email.to.address", "a@example.com"),
                    ("related.ip", "198.51.100.1"),
                ],
            ),
            (
                r#"{"ts":1332008617.55,"fingerprint":"25b66694babc309f9da717c5d90ed24efe588601df9bc798908210bb483fb0c1","certificate.subject":"CN=localhost.localdomain","san.dns":["localhost.localdomain"]}"#,
                "zeek.x509",
                &[
                    (
                        "tls.server.hash.sha256",
                        "25b66694babc309f9da717c5d90ed24efe588601df9bc798908210bb483fb0c1",
                    ),
                    ("tls.server.x509.alternative_names", "localhost.localdomain"),
                ],
            ),
            (
                r#"{"ts":1332008617,"uid":"C1","id.orig_h":"192.168.202.138","id.orig_p":36510,"id.resp_h":"192.168.21.253","id.resp_p":443,"note":"SSL::Invalid_Server_Cert","src":"192.168.202.138","dst":"192.168.21.254","p":443}"#,
                "zeek.notice",
                &[
                    ("source.ip", "192.168.202.138"),
                    ("destination.ip", "192.168.21.253"),
                    ("related.ip", "192.168.21.254"),
                ],
            ),
            (
                r#"{"ts":1332008625.4,"uids":["CyE7Kt34nIXDmzeJzb"],"client_addr":"192.168.202.108","mac":"00:0c:29:f5:b2:55","host_name":"bt","msg_types":["REQUEST"]}"#,
                "zeek",
                &[("related.ip", "192.168.202.108")],
            ),
            (
                r#"{"_path":"known_hosts","ts":"2018-03-24T17:15:20.605656Z","host":"10.164.94.120"}"#,
                "zeek.known_hosts",
                &[("related.ip", "10.164.94.120")],
            ),
        ];
        for (line, dataset, expected) in rows {
            let record = decode_one(line);
            assert_eq!(record.dataset, dataset, "{line}");
            assert_eq!(pairs(&record), expected, "{line}");
        }
    }

    #[test]
    fn non_zeek_objects_are_declined() {
        for line in [
            r#"{"@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"10.0.0.1"}}"#,
            r#"{"a":{"ts":1}}"#,
            "{}",
        ] {
            assert!(matches!(decode(line.as_bytes()), Ok(None)), "{line}");
        }
    }

    #[test]
    fn odd_value_types_are_skipped() {
        let line = r#"{"ts":1.5,"uid":7,"id.orig_h":"10.0.0.1","id.orig_p":"http","id.resp_h":["10.0.0.2"],"id.resp_p":70000,"query":{"name":"x"},"answers":"192.0.2.1"}"#;
        let record = decode_one(line);
        assert_eq!(record.source.as_ref().map(|endpoint| endpoint.port), Some(None));
        assert!(record.destination.is_none());
        assert_eq!(
            pairs(&record),
            [("source.ip", "10.0.0.1"), ("dns.resolved_ip", "192.0.2.1")]
        );
        assert!(record.context.is_empty());
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let line = r#"{"_path":"http","ts":1.0,"host":"a.example","uri":"/p\u0061th?q=\"x\""}"#;
        let record = decode_one(line);
        assert_eq!(
            pairs(&record),
            [
                ("url.domain", "a.example"),
                ("url.full", "http://a.example/path?q=\"x\"")
            ]
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            r#"{"ts":XXXXXXXXXX.XXXXXX,"uid":"C1"}"#,
            r#"{"ts":1.0,"uid":"C1""#,
            r#"{"ts":1.0} trailing"#,
            "[1,2]",
        ] {
            assert!(decode(line.as_bytes()).is_err(), "{line}");
        }
    }
}
