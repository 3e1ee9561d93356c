//! Suricata EVE JSON events.
//!
//! Every event gives its endpoints (`src_ip`, `dest_ip` and ports). The
//! app-layer object named by `event_type` adds observables: `dns`, `http`,
//! `tls`, `quic`, `fileinfo`, `smtp` with its `email` object. An `alert`
//! reads every app-layer object it carries, because an alert may be the
//! only event logged for its transaction. Other events that carry another
//! protocol's object (`fileinfo` with `http`) read only their own, so one
//! request does not yield the same observables twice.
//!
//! DNS comes in three layouts, all read here:
//!
//! - version 1: one event per query or per answer record, with
//!   `dns.type`, `dns.rrname`, `dns.rrtype` and `dns.rdata` (removed in
//!   Suricata 7.0);
//! - version 2: `dns.rrname` with `dns.answers[]` and `dns.grouped.A`/`AAAA`
//!   (Suricata 6.0 writes query events without a version); alerts carry
//!   `dns.query[]` for a request and the response under `dns.answer`;
//! - version 3 (Suricata 8.0): `dns.queries[]` and `dns.answers[]`, in
//!   `dns` and `alert` events alike.

use std::borrow::Cow;

use iocwatch_model::value::observed_ip;
use iocwatch_model::{Field, Record};
use serde::Deserialize;

use crate::lenient::{Object, ObjectList, Port, Scalar, Text, TextList};
use crate::zeek::{full_url, observe_email, observe_once};

/// The role of a JSON key for the reader below, at whatever depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyClass {
    /// Index of the key in [`FIELDS`] when it is a field of one of the
    /// structs below, which fail to deserialize when an object repeats it.
    pub field: Option<usize>,
    /// The reader may turn the key's string values (or array of strings)
    /// into an observable that an indicator can match. The screen of the
    /// JSON decoder passes only these values to the line filter, so every
    /// such key must be marked here.
    pub is_observable: bool,
}

/// The field names of the structs below, each with whether the reader
/// turns its values into an observable that an indicator can match.
pub(crate) const FIELDS: [(&[u8], bool); 46] = [
    (b"src_ip", true),
    (b"dest_ip", true),
    (b"rrname", true),
    (b"rdata", true),
    (b"A", true),
    (b"AAAA", true),
    (b"hostname", true),
    (b"url", true),
    (b"http_user_agent", Field::UserAgent.can_match()),
    (b"sni", true),
    (b"fingerprint", true),
    (b"hash", true),
    (b"ja4", true),
    (b"md5", true),
    (b"sha1", true),
    (b"sha256", true),
    (b"mail_from", true),
    (b"rcpt_to", true),
    (b"from", true),
    (b"to", true),
    (b"timestamp", false),
    (b"event_type", false),
    (b"flow_id", false),
    (b"community_id", false),
    (b"src_port", false),
    (b"dest_port", false),
    (b"proto", false),
    (b"alert", false),
    (b"dns", false),
    (b"http", false),
    (b"tls", false),
    (b"quic", false),
    (b"fileinfo", false),
    (b"smtp", false),
    (b"email", false),
    (b"signature", false),
    (b"signature_id", false),
    (b"rrtype", false),
    (b"query", false),
    (b"queries", false),
    (b"answers", false),
    (b"grouped", false),
    (b"answer", false),
    (b"http_port", false),
    (b"ja3", false),
    (b"ja3s", false),
];

/// Returns what the reader does with `key`.
pub(crate) fn key_class(key: &[u8]) -> KeyClass {
    let found = FIELDS.iter().enumerate().find(|(_, (name, _))| *name == key);
    KeyClass {
        field: found.map(|(index, _)| index),
        is_observable: found.is_some_and(|(_, (_, observable))| *observable),
    }
}

/// Decodes a Suricata EVE line. Returns `Ok(None)` when the object has no
/// top-level `event_type`, so the caller can read it as another format.
pub(crate) fn decode(line: &[u8]) -> Result<Option<Record<'_>>, serde_json::Error> {
    let event: Event<'_> = serde_json::from_slice(line)?;
    let Some(event_type) = event.event_type.0 else {
        return Ok(None);
    };

    let mut record = Record {
        format: "suricata-eve",
        dataset: Cow::Borrowed("suricata.eve"),
        timestamp: event.timestamp.0,
        ..Record::default()
    };
    if let Some(ip) = event.src_ip.0 {
        record.set_endpoint(Field::SourceIp, ip, event.src_port.0);
    }
    if let Some(ip) = event.dest_ip.0 {
        record.set_endpoint(Field::DestinationIp, ip, event.dest_port.0);
    }
    if let Some(proto) = event.proto.0 {
        record.add_context("network.transport", transport_name(proto));
    }
    if let Some(flow_id) = event.flow_id.0 {
        record.add_context("event.id", flow_id);
    }
    if let Some(community_id) = event.community_id.0 {
        record.add_context("network.community_id", community_id);
    }

    let is_alert = event_type == "alert";
    let reads = |section: &str| is_alert || event_type == section;
    if let Some(alert) = event.alert.0 {
        if let Some(signature) = alert.signature.0 {
            record.add_context("rule.name", signature);
        }
        if let Some(id) = alert.signature_id.0 {
            record.add_context("rule.id", id);
        }
    }
    if reads("dns")
        && let Some(dns) = event.dns.0
    {
        read_dns(dns, &mut record);
    }
    if reads("http")
        && let Some(http) = event.http.0
    {
        read_http(http, &mut record);
    }
    if reads("tls")
        && let Some(tls) = event.tls.0
    {
        read_tls(tls, &mut record);
    }
    if reads("quic")
        && let Some(quic) = event.quic.0
    {
        read_quic(quic, &mut record);
    }
    if reads("fileinfo")
        && let Some(fileinfo) = event.fileinfo.0
    {
        read_fileinfo(fileinfo, &mut record);
    }
    if reads("smtp") {
        if let Some(smtp) = event.smtp.0 {
            read_smtp(smtp, &mut record);
        }
        if let Some(email) = event.email.0 {
            read_email(email, &mut record);
        }
    }
    record.add_context("event.action", event_type);
    Ok(Some(record))
}

/// ECS `network.transport` is lower case; Suricata writes `TCP`, `UDP`.
fn transport_name(proto: Cow<'_, str>) -> Cow<'_, str> {
    let lower = match proto.as_ref() {
        "TCP" => "tcp",
        "UDP" => "udp",
        "ICMP" => "icmp",
        "IPv6-ICMP" => "ipv6-icmp",
        "SCTP" => "sctp",
        "GRE" => "gre",
        _ => return proto,
    };
    Cow::Borrowed(lower)
}

fn read_dns<'l>(dns: Dns<'l>, record: &mut Record<'l>) {
    if let Some(answer) = dns.answer.0 {
        read_dns(*answer, record);
    }
    let questions = dns.rrname.0.into_iter();
    let listed = dns
        .query
        .0
        .into_iter()
        .chain(dns.queries.0)
        .filter_map(|query| query.rrname.0);
    for name in questions.chain(listed) {
        observe_once(record, Field::DnsQuestionName, name);
    }

    // Version 1 answer events carry one record at the top level.
    if let Some(data) = dns.rdata.0
        && is_address_record(dns.rrtype.0.as_deref(), &data)
    {
        observe_once(record, Field::DnsResolvedIp, data);
    }
    for answer in dns.answers.0 {
        if let Some(data) = answer.rdata.0
            && is_address_record(answer.rrtype.0.as_deref(), &data)
        {
            observe_once(record, Field::DnsResolvedIp, data);
        }
    }
    if let Some(grouped) = dns.grouped.0 {
        for address in grouped.a.0.into_iter().chain(grouped.aaaa.0) {
            if observed_ip(&address).is_some() {
                observe_once(record, Field::DnsResolvedIp, address);
            }
        }
    }
}

/// True for the data of an A or AAAA record, or of a record without type
/// whose data is an address.
fn is_address_record(rrtype: Option<&str>, data: &str) -> bool {
    match rrtype {
        Some("A" | "AAAA") | None => observed_ip(data).is_some(),
        Some(_) => false,
    }
}

fn read_http<'l>(http: Http<'l>, record: &mut Record<'l>) {
    if let Some(hostname) = &http.hostname.0 {
        record.observe(Field::UrlDomain, hostname.clone());
    }
    if let Some(url) = http.url.0 {
        // `http_port` is set when the Host header names a port.
        let authority = http.hostname.0.as_deref().map(|hostname| match http.http_port.0 {
            Some(port) if port != 80 => Cow::Owned(format!("{hostname}:{port}")),
            _ => Cow::Borrowed(hostname),
        });
        if let Some(full) = full_url(authority.as_deref(), url) {
            record.observe(Field::UrlFull, full);
        }
    }
    if let Some(agent) = http.http_user_agent.0 {
        record.observe(Field::UserAgent, agent);
    }
}

fn read_tls<'l>(tls: Tls<'l>, record: &mut Record<'l>) {
    if let Some(sni) = tls.sni.0 {
        record.observe(Field::TlsServerName, sni);
    }
    if let Some(hash) = tls.ja3.0.and_then(|ja3| ja3.hash.0) {
        record.observe(Field::TlsJa3, hash);
    }
    if let Some(hash) = tls.ja3s.0.and_then(|ja3s| ja3s.hash.0) {
        record.observe(Field::TlsJa3s, hash);
    }
    if let Some(ja4) = tls.ja4.0 {
        record.observe(Field::TlsJa4, ja4);
    }
    // The certificate's SHA-1, written as colon-separated hex pairs.
    if let Some(fingerprint) = tls.fingerprint.0 {
        record.observe(Field::TlsCertSha1, fingerprint);
    }
}

fn read_quic<'l>(quic: Quic<'l>, record: &mut Record<'l>) {
    if let Some(sni) = quic.sni.0 {
        record.observe(Field::TlsServerName, sni);
    }
    if let Some(hash) = quic.ja3.0.and_then(|ja3| ja3.hash.0) {
        record.observe(Field::TlsJa3, hash);
    }
    if let Some(ja4) = quic.ja4.0 {
        record.observe(Field::TlsJa4, ja4);
    }
}

fn read_fileinfo<'l>(fileinfo: FileInfo<'l>, record: &mut Record<'l>) {
    for (value, field) in [
        (fileinfo.md5.0, Field::FileMd5),
        (fileinfo.sha1.0, Field::FileSha1),
        (fileinfo.sha256.0, Field::FileSha256),
    ] {
        if let Some(value) = value {
            record.observe(field, value);
        }
    }
}

fn read_smtp<'l>(smtp: Smtp<'l>, record: &mut Record<'l>) {
    if let Some(from) = smtp.mail_from.0 {
        observe_email(record, Field::EmailFrom, from);
    }
    for to in smtp.rcpt_to.0 {
        observe_email(record, Field::EmailTo, to);
    }
}

fn read_email<'l>(email: Email<'l>, record: &mut Record<'l>) {
    for from in email.from.0 {
        observe_email(record, Field::EmailFrom, from);
    }
    for to in email.to.0 {
        observe_email(record, Field::EmailTo, to);
    }
}

/// The top-level fields of an EVE event that carry observables or context.
#[derive(Deserialize)]
struct Event<'l> {
    #[serde(default, borrow)]
    timestamp: Text<'l>,
    #[serde(default, borrow)]
    event_type: Text<'l>,
    #[serde(default, borrow)]
    flow_id: Scalar<'l>,
    #[serde(default, borrow)]
    community_id: Text<'l>,
    #[serde(default, borrow)]
    src_ip: Text<'l>,
    #[serde(default)]
    src_port: Port,
    #[serde(default, borrow)]
    dest_ip: Text<'l>,
    #[serde(default)]
    dest_port: Port,
    #[serde(default, borrow)]
    proto: Text<'l>,
    #[serde(default, borrow)]
    alert: Object<Alert<'l>>,
    #[serde(default, borrow)]
    dns: Object<Dns<'l>>,
    #[serde(default, borrow)]
    http: Object<Http<'l>>,
    #[serde(default, borrow)]
    tls: Object<Tls<'l>>,
    #[serde(default, borrow)]
    quic: Object<Quic<'l>>,
    #[serde(default, borrow)]
    fileinfo: Object<FileInfo<'l>>,
    #[serde(default, borrow)]
    smtp: Object<Smtp<'l>>,
    #[serde(default, borrow)]
    email: Object<Email<'l>>,
}

#[derive(Deserialize)]
struct Alert<'l> {
    #[serde(default, borrow)]
    signature: Text<'l>,
    #[serde(default, borrow)]
    signature_id: Scalar<'l>,
}

#[derive(Deserialize)]
struct Dns<'l> {
    #[serde(default, borrow)]
    rrname: Text<'l>,
    #[serde(default, borrow)]
    rrtype: Text<'l>,
    #[serde(default, borrow)]
    rdata: Text<'l>,
    #[serde(default, borrow)]
    query: ObjectList<DnsRecord<'l>>,
    #[serde(default, borrow)]
    queries: ObjectList<DnsRecord<'l>>,
    #[serde(default, borrow)]
    answers: ObjectList<DnsRecord<'l>>,
    #[serde(default, borrow)]
    grouped: Object<DnsGrouped<'l>>,
    /// A version 2 response inside an alert.
    #[serde(default, borrow)]
    answer: Object<Box<Dns<'l>>>,
}

/// One entry of `dns.query[]`, `dns.queries[]` or `dns.answers[]`.
#[derive(Deserialize)]
struct DnsRecord<'l> {
    #[serde(default, borrow)]
    rrname: Text<'l>,
    #[serde(default, borrow)]
    rrtype: Text<'l>,
    #[serde(default, borrow)]
    rdata: Text<'l>,
}

#[derive(Deserialize)]
struct DnsGrouped<'l> {
    #[serde(default, borrow, rename = "A")]
    a: TextList<'l>,
    #[serde(default, borrow, rename = "AAAA")]
    aaaa: TextList<'l>,
}

#[derive(Deserialize)]
struct Http<'l> {
    #[serde(default, borrow)]
    hostname: Text<'l>,
    #[serde(default)]
    http_port: Port,
    #[serde(default, borrow)]
    url: Text<'l>,
    #[serde(default, borrow)]
    http_user_agent: Text<'l>,
}

#[derive(Deserialize)]
struct Tls<'l> {
    #[serde(default, borrow)]
    sni: Text<'l>,
    #[serde(default, borrow)]
    fingerprint: Text<'l>,
    #[serde(default, borrow)]
    ja3: Object<Ja3<'l>>,
    #[serde(default, borrow)]
    ja3s: Object<Ja3<'l>>,
    #[serde(default, borrow)]
    ja4: Text<'l>,
}

#[derive(Deserialize)]
struct Ja3<'l> {
    #[serde(default, borrow)]
    hash: Text<'l>,
}

#[derive(Deserialize)]
struct Quic<'l> {
    #[serde(default, borrow)]
    sni: Text<'l>,
    #[serde(default, borrow)]
    ja3: Object<Ja3<'l>>,
    #[serde(default, borrow)]
    ja4: Text<'l>,
}

#[derive(Deserialize)]
struct FileInfo<'l> {
    #[serde(default, borrow)]
    md5: Text<'l>,
    #[serde(default, borrow)]
    sha1: Text<'l>,
    #[serde(default, borrow)]
    sha256: Text<'l>,
}

#[derive(Deserialize)]
struct Smtp<'l> {
    #[serde(default, borrow)]
    mail_from: Text<'l>,
    #[serde(default, borrow)]
    rcpt_to: TextList<'l>,
}

#[derive(Deserialize)]
struct Email<'l> {
    #[serde(default, borrow)]
    from: TextList<'l>,
    #[serde(default, borrow)]
    to: TextList<'l>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    /// A deserializer that records the field names a derived struct
    /// requests, then fails.
    struct FieldNames<'r>(&'r mut Vec<&'static str>);

    impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend_from_slice(fields);
            Err(serde::de::Error::custom("fields recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    fn record_fields<'de, T: Deserialize<'de>>(names: &mut Vec<&'static str>) {
        let _ = T::deserialize(FieldNames(names));
    }

    #[test]
    fn key_class_marks_every_field() {
        let mut names = Vec::new();
        record_fields::<Event<'_>>(&mut names);
        record_fields::<Alert<'_>>(&mut names);
        record_fields::<Dns<'_>>(&mut names);
        record_fields::<DnsRecord<'_>>(&mut names);
        record_fields::<DnsGrouped<'_>>(&mut names);
        record_fields::<Http<'_>>(&mut names);
        record_fields::<Tls<'_>>(&mut names);
        record_fields::<Ja3<'_>>(&mut names);
        record_fields::<Quic<'_>>(&mut names);
        record_fields::<FileInfo<'_>>(&mut names);
        record_fields::<Smtp<'_>>(&mut names);
        record_fields::<Email<'_>>(&mut names);
        assert!(names.len() > 40, "{names:?}");
        for name in &names {
            assert!(key_class(name.as_bytes()).field.is_some(), "{name}");
        }
        for (field, _) in FIELDS {
            let name = String::from_utf8_lossy(field);
            assert!(names.contains(&name.as_ref()), "{name} is not a field");
        }
        // A frame of the screen keeps the fields it has seen in 64 bits,
        // each at the bit of its index, from one more than the index.
        assert!(FIELDS.len() < 64);
        assert!(key_class(b"flow").field.is_none());
        assert!(!key_class(b"http_user_agent").is_observable);
        assert!(!key_class(b"pkts_toserver").is_observable);
    }

    #[test]
    fn repeated_field_fails_decode() {
        for line in [
            r#"{"event_type":"dns","src_ip":"10.0.0.1","src_ip":"10.0.0.2"}"#,
            r#"{"event_type":"dns","dns":{"rrname":"a.example","rrname":"b.example"}}"#,
            r#"{"event_type":"tls","tls":{"ja3":{"hash":"a","hash":"b"}}}"#,
        ] {
            assert!(decode(line.as_bytes()).is_err(), "{line}");
        }
        let repeated_other = r#"{"event_type":"flow","flow":{"age":1,"age":2}}"#;
        assert!(decode(repeated_other.as_bytes()).is_ok());
    }

    fn decode_one(line: &str) -> Record<'_> {
        match decode(line.as_bytes()) {
            Ok(Some(record)) => record,
            Ok(None) => panic!("not read as EVE: {line}"),
            Err(err) => panic!("{err}: {line}"),
        }
    }

    const FLOW: &str = r#"{"timestamp":"2024-02-28T09:59:14.670569+0000","flow_id":174463751733854,"event_type":"flow","src_ip":"fe80:0000:0000:0000:b9a3:aa8f:3e8e:fe86","src_port":49759,"dest_ip":"ff02:0000:0000:0000:0000:0000:0001:0003","dest_port":5355,"proto":"UDP","app_proto":"failed","flow":{"pkts_toserver":2,"age":0,"state":"new","alerted":false},"community_id":"1:ROMOE9u3YkIE5LvrhjksanxhATw="}"#;

    #[test]
    fn flow_endpoints_and_context() {
        let record = decode_one(FLOW);
        assert_eq!(record.format, "suricata-eve");
        assert_eq!(record.dataset, "suricata.eve");
        assert_eq!(
            record.timestamp.as_deref(),
            Some("2024-02-28T09:59:14.670569+0000")
        );
        assert_eq!(
            record.source.as_ref().map(|endpoint| endpoint.port),
            Some(Some(49759))
        );
        assert_eq!(
            record.destination.as_ref().map(|endpoint| endpoint.port),
            Some(Some(5355))
        );
        assert_eq!(
            pairs(&record),
            [
                ("source.ip", "fe80:0000:0000:0000:b9a3:aa8f:3e8e:fe86"),
                ("destination.ip", "ff02:0000:0000:0000:0000:0000:0001:0003"),
            ]
        );
        assert_eq!(
            context(&record),
            [
                ("network.transport", "udp"),
                ("event.id", "174463751733854"),
                ("network.community_id", "1:ROMOE9u3YkIE5LvrhjksanxhATw="),
                ("event.action", "flow"),
            ]
        );
    }

    #[test]
    fn values_borrow_from_the_line() {
        let record = decode_one(FLOW);
        assert!(
            record
                .observables
                .iter()
                .all(|observed| matches!(observed.value, Cow::Borrowed(_)))
        );
        assert!(
            record
                .context
                .iter()
                .all(|(_, value)| matches!(value, Cow::Borrowed(_)))
        );
    }

    /// A case name, an EVE line and the observables expected from it.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    /// Observables other than the endpoints, per event type and layout.
    #[test]
    fn observables_per_event_type() {
        let rows: [Case<'_>; 16] = [
            (
                "netflow",
                r#"{"event_type":"netflow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","netflow":{"pkts":1}}"#,
                &[],
            ),
            (
                "anomaly",
                r#"{"event_type":"anomaly","src_ip":"85.255.233.2","src_port":24923,"dest_ip":"172.31.32.173","dest_port":80,"proto":"TCP","anomaly":{"app_proto":"http","type":"applayer"}}"#,
                &[],
            ),
            (
                "dns v1 query",
                r#"{"event_type":"dns","src_ip":"172.31.32.173","dest_ip":"172.31.0.2","dns":{"type":"query","id":21547,"rrname":"ssm.us-east-1.amazonaws.com","rrtype":"AAAA","tx_id":0}}"#,
                &[("dns.question.name", "ssm.us-east-1.amazonaws.com")],
            ),
            (
                "dns v1 answer",
                r#"{"event_type":"dns","src_ip":"172.31.0.2","dest_ip":"172.31.32.173","dns":{"type":"answer","id":1,"rrname":"kinggru.duckdns.org","rrtype":"A","ttl":60,"rdata":"94.156.71.237"}}"#,
                &[
                    ("dns.question.name", "kinggru.duckdns.org"),
                    ("dns.resolved_ip", "94.156.71.237"),
                ],
            ),
            (
                "dns v1 cname answer",
                r#"{"event_type":"dns","dns":{"type":"answer","rrname":"a.example","rrtype":"CNAME","rdata":"192.0.2.1"}}"#,
                &[("dns.question.name", "a.example")],
            ),
            (
                "dns v2 answer",
                r#"{"event_type":"dns","dns":{"version":2,"type":"answer","id":24627,"rrname":"ocsp.digicert.com","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"ocsp.digicert.com","rrtype":"CNAME","ttl":1974,"rdata":"ocsp.edge.digicert.com"},{"rrname":"fp2e7a.wpc.phicdn.net","rrtype":"A","ttl":1054,"rdata":"192.229.221.95"},{"rrname":"x","rrtype":"SOA","soa":{"mname":"ns"}}],"grouped":{"CNAME":["ocsp.edge.digicert.com"],"A":["192.229.221.95","192.229.221.96"],"AAAA":["2001:db8::1"]}}}"#,
                &[
                    ("dns.question.name", "ocsp.digicert.com"),
                    ("dns.resolved_ip", "192.229.221.95"),
                    ("dns.resolved_ip", "192.229.221.96"),
                    ("dns.resolved_ip", "2001:db8::1"),
                ],
            ),
            (
                "dns v2 grouped only",
                r#"{"event_type":"dns","dns":{"version":2,"type":"answer","rrname":"ssm.us-east-1.amazonaws.com","grouped":{"A":["44.216.200.77"]}}}"#,
                &[
                    ("dns.question.name", "ssm.us-east-1.amazonaws.com"),
                    ("dns.resolved_ip", "44.216.200.77"),
                ],
            ),
            (
                "dns v3 response",
                r#"{"event_type":"dns","dns":{"version":3,"type":"response","id":1,"queries":[{"rrname":"tintopretzelmeister.ddns.net","rrtype":"A"}],"answers":[{"rrname":"tintopretzelmeister.ddns.net","rrtype":"A","ttl":60,"rdata":"86.136.67.231"}],"grouped":{"A":["86.136.67.231"]}}}"#,
                &[
                    ("dns.question.name", "tintopretzelmeister.ddns.net"),
                    ("dns.resolved_ip", "86.136.67.231"),
                ],
            ),
            (
                "http",
                r#"{"event_type":"http","http":{"hostname":"originwealth.ydns.eu","url":"/gate.php?id=1","http_user_agent":"Mozilla/5.0","http_method":"POST","status":200}}"#,
                &[
                    ("url.domain", "originwealth.ydns.eu"),
                    ("url.full", "http://originwealth.ydns.eu/gate.php?id=1"),
                    ("user_agent.original", "Mozilla/5.0"),
                ],
            ),
            (
                "http with port in Host",
                r#"{"event_type":"http","http":{"hostname":"a.example","http_port":8080,"url":"/x"}}"#,
                &[
                    ("url.domain", "a.example"),
                    ("url.full", "http://a.example:8080/x"),
                ],
            ),
            (
                "tls",
                r#"{"event_type":"tls","tls":{"subject":"CN=login.live.com","fingerprint":"77:d6:7d:dd:7a:d5:ed:48:ca:a1:d3:5b:66:c9:3c:57:49:41:76:ee","sni":"login.live.com","version":"TLS 1.2","ja3":{"hash":"28a2c9bd18a11de089ef85a160da29e4","string":"771,49196"},"ja3s":{"hash":"7d8fd34fdb13a7fff30d5a52846b6c4c","string":"771"},"ja4":"t13d1516h2_8daaf6152771_b0da82dd1658"}}"#,
                &[
                    ("tls.client.server_name", "login.live.com"),
                    ("tls.client.ja3", "28a2c9bd18a11de089ef85a160da29e4"),
                    ("tls.server.ja3s", "7d8fd34fdb13a7fff30d5a52846b6c4c"),
                    ("tls.client.ja4", "t13d1516h2_8daaf6152771_b0da82dd1658"),
                    (
                        "tls.server.hash.sha1",
                        "77:d6:7d:dd:7a:d5:ed:48:ca:a1:d3:5b:66:c9:3c:57:49:41:76:ee",
                    ),
                ],
            ),
            (
                "fileinfo",
                r#"{"event_type":"fileinfo","http":{"hostname":"a.example","url":"/f.exe"},"fileinfo":{"filename":"/f.exe","md5":"a1b2c3d4e5f60718293a4b5c6d7e8f90","sha1":"0123456789abcdef0123456789abcdef01234567","sha256":"b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5","size":56}}"#,
                &[
                    ("file.hash.md5", "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
                    ("file.hash.sha1", "0123456789abcdef0123456789abcdef01234567"),
                    (
                        "file.hash.sha256",
                        "b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5",
                    ),
                ],
            ),
            (
                "smtp",
                r#"{"event_type":"smtp","smtp":{"helo":"User-PC","mail_from":"<shipping@oceanskylogistics.in>","rcpt_to":["<bkhin.supply@gmail.com>"]},"email":{"status":"PARSE_DONE","from":"shipping@oceanskylogistics.in","to":["bkhin.supply@gmail.com","other@example.com"]}}"#,
                &[
                    ("email.from.address", "shipping@oceanskylogistics.in"),
                    ("email.to.address", "bkhin.supply@gmail.com"),
                    ("email.to.address", "other@example.com"),
                ],
            ),
            (
                "alert with dns v2 metadata",
                r#"{"event_type":"alert","src_ip":"192.168.100.163","dest_ip":"192.168.100.2","alert":{"action":"allowed","signature_id":2022918,"signature":"ET INFO DYNAMIC_DNS Query to *.duckdns. Domain"},"dns":{"version":2,"query":[{"type":"query","rrname":"kinggru.duckdns.org","rrtype":"A"}]},"app_proto":"dns"}"#,
                &[("dns.question.name", "kinggru.duckdns.org")],
            ),
            (
                "alert with dns v2 response",
                r#"{"event_type":"alert","alert":{"signature_id":1},"dns":{"answer":{"version":2,"type":"answer","rrname":"www.suricata.io","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"suricata.io","rrtype":"A","ttl":597,"rdata":"35.212.0.44"}]}}}"#,
                &[
                    ("dns.question.name", "www.suricata.io"),
                    ("dns.resolved_ip", "35.212.0.44"),
                ],
            ),
            (
                "alert with dns v3 response",
                r#"{"event_type":"alert","alert":{"signature_id":1},"dns":{"version":3,"type":"response","queries":[{"rrname":"www.suricata.io","rrtype":"A"}],"answers":[{"rrname":"www.suricata.io","rrtype":"CNAME","rdata":"suricata.io"},{"rrname":"suricata.io","rrtype":"A","rdata":"35.212.0.44"}]}}"#,
                &[
                    ("dns.question.name", "www.suricata.io"),
                    ("dns.resolved_ip", "35.212.0.44"),
                ],
            ),
        ];
        for (name, line, expected) in rows {
            let record = decode_one(line);
            let mut got = pairs(&record);
            got.retain(|(field, _)| !matches!(*field, "source.ip" | "destination.ip"));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn alert_context_names_the_rule() {
        let line = r#"{"event_type":"alert","flow_id":1,"alert":{"signature_id":2022918,"signature":"ET INFO DYNAMIC_DNS"},"http":{"hostname":"a.example","url":"/"},"tls":{"sni":"b.example"}}"#;
        let record = decode_one(line);
        assert_eq!(
            context(&record),
            [
                ("event.id", "1"),
                ("rule.name", "ET INFO DYNAMIC_DNS"),
                ("rule.id", "2022918"),
                ("event.action", "alert"),
            ]
        );
        assert_eq!(
            pairs(&record),
            [
                ("url.domain", "a.example"),
                ("url.full", "http://a.example/"),
                ("tls.client.server_name", "b.example")
            ]
        );
    }

    #[test]
    fn sections_of_other_event_types_are_not_read() {
        let line = r#"{"event_type":"fileinfo","http":{"hostname":"a.example","url":"/f.exe"},"fileinfo":{"filename":"/f.exe"}}"#;
        assert!(decode_one(line).observables.is_empty());
    }

    #[test]
    fn odd_field_types_keep_the_rest() {
        let line = r#"{"event_type":"dns","src_ip":"10.0.0.1","src_port":"x","dest_ip":7,"dest_port":70000,"flow_id":"12","dns":{"rrname":["a"],"answers":"none","grouped":[1],"queries":[{"rrname":"b.example"},3]},"http":"none"}"#;
        let record = decode_one(line);
        assert_eq!(record.source.as_ref().map(|endpoint| endpoint.port), Some(None));
        assert!(record.destination.is_none());
        assert_eq!(
            pairs(&record),
            [("source.ip", "10.0.0.1"), ("dns.question.name", "b.example")]
        );
        assert_eq!(context(&record), [("event.id", "12"), ("event.action", "dns")]);
    }

    #[test]
    fn stats_event_has_no_observables() {
        let line = r#"{"timestamp":"2024-02-28T10:00:00.000000+0000","event_type":"stats","stats":{"uptime":5,"decoder":{"pkts":100}}}"#;
        let record = decode_one(line);
        assert!(record.observables.is_empty());
        assert_eq!(context(&record), [("event.action", "stats")]);
    }

    #[test]
    fn objects_without_event_type_are_declined() {
        for line in [
            r#"{"suricata":{"eve":{"event_type":"alert"}}}"#,
            r#"{"event_type":null}"#,
            "{}",
        ] {
            assert!(matches!(decode(line.as_bytes()), Ok(None)), "{line}");
        }
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            r#"{"event_type":"flow","src_ip":"10.0.0.1""#,
            r#"{"event_type":"flow",}"#,
            r#"{"event_type":"flow"}{"#,
            r#"{"event_type":"flow","event_type":"dns"}"#,
        ] {
            assert!(decode(line.as_bytes()).is_err(), "{line}");
        }
    }
}
