//! `key=value` logs, in the style FortiGate writes them and many other
//! devices copy:
//!
//! ```text
//! date=2024-01-01 time=10:00:00 devname="fw1" srcip=192.0.2.1 srcport=51000 dstip=198.51.100.2 dstport=443 hostname="evil.example" url="/gate.php" action="blocked"
//! ```
//!
//! Pairs are separated by spaces. A value in double quotes may hold
//! spaces, and inside it `\"` and `\\` stand for `"` and `\`. Keys are
//! matched without regard to case, under the names FortiGate, Sophos and
//! similar devices use: `srcip`, `src_ip`, `src` for the source address,
//! and so on. A word without `=` is skipped.

use std::borrow::Cow;
use std::net::SocketAddr;

use iocwatch_model::time::parse_timestamp;
use iocwatch_model::{Field, Record};

use crate::syslog::{epoch_timestamp, observe_digest, parse_ip, transport_name};
use crate::{DecodeError, excerpt};

/// Maximum length of a key compared against the known names. Longer keys
/// are skipped.
const MAX_KEY: usize = 32;

/// Returns true when `body` starts with three `key=value` pairs with
/// plain keys.
pub(crate) fn matches(body: &str) -> bool {
    let mut tokens = Tokens {
        text: body,
        position: 0,
    };
    (0..3).all(|_| match tokens.next() {
        Some(Ok(Token::Pair { key, .. })) => key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')),
        _ => false,
    })
}

/// One word of a line.
enum Token<'l> {
    Pair { key: &'l str, value: Cow<'l, str> },
    Word,
}

/// The words of a line, with quoted values unescaped.
struct Tokens<'l> {
    text: &'l str,
    position: usize,
}

impl<'l> Iterator for Tokens<'l> {
    type Item = Result<Token<'l>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        while bytes.get(self.position).is_some_and(u8::is_ascii_whitespace) {
            self.position += 1;
        }
        let start = self.position;
        bytes.get(start)?;

        let mut end = start;
        while let Some(&byte) = bytes.get(end) {
            if byte == b'=' || byte.is_ascii_whitespace() {
                break;
            }
            end += 1;
        }
        if bytes.get(end) != Some(&b'=') || end == start {
            while bytes.get(end).is_some_and(|b| !b.is_ascii_whitespace()) {
                end += 1;
            }
            self.position = end;
            return Some(Ok(Token::Word));
        }

        let key = self.text.get(start..end).unwrap_or_default();
        let value_start = end + 1;
        if bytes.get(value_start) == Some(&b'"') {
            return Some(self.quoted(key, value_start + 1));
        }

        let mut value_end = value_start;
        while bytes.get(value_end).is_some_and(|b| !b.is_ascii_whitespace()) {
            value_end += 1;
        }
        self.position = value_end;
        let value = self.text.get(value_start..value_end).unwrap_or_default();
        Some(Ok(Token::Pair {
            key,
            value: Cow::Borrowed(value),
        }))
    }
}

impl<'l> Tokens<'l> {
    /// Reads a quoted value whose text starts at `start`, just after the
    /// opening quote.
    fn quoted(&mut self, key: &'l str, start: usize) -> Result<Token<'l>, DecodeError> {
        let bytes = self.text.as_bytes();
        let mut position = start;
        let mut escaped = false;
        loop {
            match bytes.get(position) {
                None => {
                    self.position = bytes.len();
                    return Err(DecodeError::new(format!(
                        "kv value of {key} has no closing quote; is the line cut off?"
                    )));
                }
                Some(b'\\') => {
                    escaped = true;
                    position += 2;
                }
                Some(b'"') => break,
                Some(_) => position += 1,
            }
        }
        self.position = position + 1;
        let raw = self.text.get(start..position).unwrap_or_default();
        let value = if escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        };
        Ok(Token::Pair { key, value })
    }
}

/// Replaces `\"` and `\\`; other backslashes stay as written.
fn unescape(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next @ ('"' | '\\')) = chars.peek()
        {
            text.push(next);
            chars.next();
            continue;
        }
        text.push(c);
    }
    text
}

/// The pairs a record is built from after the whole line is read.
#[derive(Default)]
struct Pairs<'l> {
    source: Option<(&'l str, Cow<'l, str>)>,
    destination: Option<(&'l str, Cow<'l, str>)>,
    source_port: Option<(&'l str, Cow<'l, str>)>,
    destination_port: Option<(&'l str, Cow<'l, str>)>,
    hostname: Option<Cow<'l, str>>,
    url: Option<Cow<'l, str>>,
    service: Option<Cow<'l, str>>,
    query: Option<Cow<'l, str>>,
    resolved: Option<Cow<'l, str>>,
    date: Option<Cow<'l, str>>,
    time: Option<Cow<'l, str>>,
    zone: Option<Cow<'l, str>>,
    epoch: Option<Cow<'l, str>>,
}

/// Decodes a `key=value` line.
pub(crate) fn decode(body: &str) -> Result<Record<'_>, DecodeError> {
    let mut record = Record {
        format: "kv",
        dataset: Cow::Borrowed("kv.log"),
        ..Record::default()
    };
    let mut pairs = Pairs::default();
    let mut lower = [0_u8; MAX_KEY];
    for token in (Tokens {
        text: body,
        position: 0,
    }) {
        let Token::Pair { key, value } = token? else {
            continue;
        };
        let Some(name) = lower_key(key, &mut lower) else {
            continue;
        };
        read_pair(&mut record, &mut pairs, name, key, value);
    }

    let (source, source_port) = endpoint(pairs.source.take(), pairs.source_port.take())?;
    let (destination, destination_port) = endpoint(pairs.destination.take(), pairs.destination_port.take())?;
    if let Some(source) = source {
        record.set_endpoint(Field::SourceIp, source, source_port);
    }
    if let Some(destination) = destination {
        record.set_endpoint(Field::DestinationIp, destination, destination_port);
    }
    let has_query = pairs.query.is_some();
    if let Some(query) = pairs.query.take() {
        record.observe(Field::DnsQuestionName, query);
    }
    if let Some(addresses) = pairs.resolved.take() {
        let field = if has_query {
            Field::DnsResolvedIp
        } else {
            Field::RelatedIp
        };
        for_each_item(addresses, |address| {
            if parse_ip(&address).is_some() {
                record.observe(field, address);
            }
        });
    }
    observe_url_and_host(&mut record, &mut pairs);
    record.timestamp = timestamp(&pairs).map(Cow::Owned);
    Ok(record)
}

/// Files one pair under its lower-case key `name`.
fn read_pair<'l>(
    record: &mut Record<'l>,
    pairs: &mut Pairs<'l>,
    name: &str,
    key: &'l str,
    value: Cow<'l, str>,
) {
    fn first<'l>(slot: &mut Option<(&'l str, Cow<'l, str>)>, key: &'l str, value: Cow<'l, str>) {
        if slot.is_none() {
            *slot = Some((key, value));
        }
    }
    match name {
        "srcip" | "src_ip" | "src" | "source_ip" | "sourceip" | "source_address" => {
            first(&mut pairs.source, key, value);
        }
        "dstip" | "dst_ip" | "dst" | "destination_ip" | "destip" | "dest_ip" | "destination_address" => {
            first(&mut pairs.destination, key, value);
        }
        "srcport" | "src_port" | "sport" | "spt" | "source_port" => first(&mut pairs.source_port, key, value),
        "dstport" | "dst_port" | "dport" | "dpt" | "dest_port" | "destination_port" => {
            first(&mut pairs.destination_port, key, value);
        }
        // A NAT address that does not parse is skipped.
        "transip" | "tranip" | "nat_src_ip" | "nat_dst_ip" if parse_ip(&value).is_some() => {
            record.observe(Field::RelatedIp, value);
        }
        "hostname" => pairs.hostname = Some(value),
        "url" => pairs.url = Some(value),
        "service" => pairs.service = Some(value),
        "qname" => pairs.query = Some(value),
        "ipaddr" => pairs.resolved = Some(value),
        "md5" | "sha1" | "sha256" | "sha512" | "filehash" | "file_hash" | "analyticscksum" | "checksum" => {
            // A value that is no hex digest of a known length (FortiGate's
            // CRC32 `checksum`) is skipped.
            observe_digest(record, value);
        }
        "agent" | "useragent" | "user_agent" | "http_agent" => record.observe(Field::UserAgent, value),
        "from" | "sender" => for_each_item(value, |item| {
            if item.contains('@') {
                record.observe(Field::EmailFrom, item);
            }
        }),
        "to" | "recipient" | "rcpt" => for_each_item(value, |item| {
            if item.contains('@') {
                record.observe(Field::EmailTo, item);
            }
        }),
        "action" => record.add_context("event.action", value),
        "proto" | "protocol" => {
            let name = match value {
                Cow::Borrowed(text) => transport_name(text),
                Cow::Owned(text) => Cow::Owned(transport_name(&text).into_owned()),
            };
            record.add_context("network.transport", name);
        }
        "devname" => record.add_context("observer.name", value),
        "devid" => record.add_context("observer.serial_number", value),
        "policyid" => record.add_context("rule.id", value),
        "srcintf" => record.add_context("observer.ingress.interface.name", value),
        "dstintf" => record.add_context("observer.egress.interface.name", value),
        "logid" => record.add_context("event.code", value),
        "filename" => record.add_context("file.name", value),
        "user" => record.add_context("user.name", value),
        "date" => pairs.date = Some(value),
        "time" => pairs.time = Some(value),
        "tz" => pairs.zone = Some(value),
        "eventtime" => pairs.epoch = Some(value),
        _ => {}
    }
}

/// Lower-cases `key` into `buffer`; `None` for keys longer than
/// [`MAX_KEY`] or not ASCII.
fn lower_key<'b>(key: &str, buffer: &'b mut [u8; MAX_KEY]) -> Option<&'b str> {
    let target = buffer.get_mut(..key.len())?;
    target.copy_from_slice(key.as_bytes());
    target.make_ascii_lowercase();
    std::str::from_utf8(target).ok()
}

/// Calls `f` with each item of a list separated by `,` or `;`, trimmed.
fn for_each_item<'l>(value: Cow<'l, str>, mut f: impl FnMut(Cow<'l, str>)) {
    let is_separator = |c: char| c == ',' || c == ';';
    match value {
        Cow::Borrowed(text) => {
            for item in text
                .split(is_separator)
                .map(str::trim)
                .filter(|item| !item.is_empty())
            {
                f(Cow::Borrowed(item));
            }
        }
        Cow::Owned(text) => {
            for item in text
                .split(is_separator)
                .map(str::trim)
                .filter(|item| !item.is_empty())
            {
                f(Cow::Owned(item.to_owned()));
            }
        }
    }
}

/// Checks an address pair and its port pair. An address may carry its
/// port (`192.0.2.1:443`, `[2001:db8::1]:443`), which a port pair
/// overrides.
#[allow(clippy::type_complexity)]
fn endpoint<'l>(
    address: Option<(&str, Cow<'l, str>)>,
    port: Option<(&str, Cow<'l, str>)>,
) -> Result<(Option<Cow<'l, str>>, Option<u16>), DecodeError> {
    let port = match port {
        None => None,
        Some((key, value)) => Some(value.parse::<u16>().map_err(|_| {
            DecodeError::new(format!(
                "kv {key} is not a port number: {}",
                excerpt(value.as_bytes())
            ))
        })?),
    };
    let Some((key, value)) = address else {
        return Ok((None, port));
    };
    if parse_ip(&value).is_some() {
        return Ok((Some(value), port));
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Ok((
            Some(Cow::Owned(socket.ip().to_string())),
            port.or(Some(socket.port())),
        ));
    }
    Err(DecodeError::new(format!(
        "kv {key} is not an IP address: {}",
        excerpt(value.as_bytes())
    )))
}

/// Adds the host name and the URL. A URL that is only a path is joined to
/// the host name, with `https` when the service is HTTPS.
fn observe_url_and_host<'l>(record: &mut Record<'l>, pairs: &mut Pairs<'l>) {
    let hostname = pairs.hostname.take();
    if let Some(url) = pairs.url.take() {
        if url.contains("://") {
            crate::syslog::observe_url(record, url, hostname.as_deref());
        } else if let (true, Some(host)) = (url.starts_with('/'), hostname.as_deref()) {
            let secure = pairs
                .service
                .as_deref()
                .is_some_and(|service| service.eq_ignore_ascii_case("https"));
            let scheme = if secure { "https" } else { "http" };
            record.observe(Field::UrlFull, format!("{scheme}://{host}{url}"));
        }
    }
    if let Some(host) = hostname {
        record.observe(Field::UrlDomain, host);
    }
}

/// Returns the event time: `eventtime` (epoch, FortiOS 6.2 and later) or
/// `date` and `time` with the `tz` offset.
///
/// NOTE: FortiGate writes `date` and `time` in the device's local time;
/// without `tz` they are read as UTC.
fn timestamp(pairs: &Pairs<'_>) -> Option<String> {
    if let Some(epoch) = pairs.epoch.as_deref().and_then(epoch_timestamp) {
        return Some(epoch);
    }
    let (date, time) = (pairs.date.as_deref()?, pairs.time.as_deref()?);
    let zone = match pairs.zone.as_deref().map(str::trim) {
        None | Some("UTC" | "GMT" | "Z" | "") => Cow::Borrowed("Z"),
        Some(offset) if offset.len() == 5 && offset.is_char_boundary(3) => {
            let (hours, minutes) = offset.split_at(3);
            Cow::Owned(format!("{hours}:{minutes}"))
        }
        Some(offset) => Cow::Borrowed(offset),
    };
    let text = format!("{date}T{time}{zone}");
    parse_timestamp(&text).is_some().then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    #[test]
    fn fortigate_lines() {
        type Row = (&'static str, Vec<(&'static str, &'static str)>);
        let rows: Vec<Row> = vec![
            (
                r#"date=2024-01-01 time=10:00:00 devname="fw 1" devid="FG100F" logid="0316013056" type="utm" subtype="webfilter" srcip=192.0.2.1 srcport=51000 dstip=198.51.100.2 dstport=443 service="HTTPS" hostname="evil.example" url="/gate.php?id=1" action="blocked""#,
                vec![
                    ("source.ip", "192.0.2.1"),
                    ("destination.ip", "198.51.100.2"),
                    ("url.full", "https://evil.example/gate.php?id=1"),
                    ("url.domain", "evil.example"),
                ],
            ),
            (
                r#"date=2024-01-01 time=10:00:00 logid="1501054802" type="utm" subtype="dns" srcip=192.0.2.1 dstip=192.0.2.53 qname="c2.evil.example" ipaddr="203.0.113.7, 2001:db8::7""#,
                vec![
                    ("source.ip", "192.0.2.1"),
                    ("destination.ip", "192.0.2.53"),
                    ("dns.question.name", "c2.evil.example"),
                    ("dns.resolved_ip", "203.0.113.7"),
                    ("dns.resolved_ip", "2001:db8::7"),
                ],
            ),
            (
                r#"date=2024-01-01 time=10:00:00 subtype="virus" srcip=192.0.2.1 filename="a b.exe" analyticscksum="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" checksum="1a2b3c4d" agent="curl/8.0" url="http://dl.evil.example/a""#,
                vec![
                    (
                        "file.hash.sha256",
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    ),
                    ("user_agent.original", "curl/8.0"),
                    ("source.ip", "192.0.2.1"),
                    ("url.domain", "dl.evil.example"),
                    ("url.full", "http://dl.evil.example/a"),
                ],
            ),
            (
                r#"date=2024-01-01 time=10:00:00 subtype="email" from="a@evil.example" to="b@corp.example; c@corp.example" srcip=192.0.2.1"#,
                vec![
                    ("email.from.address", "a@evil.example"),
                    ("email.to.address", "b@corp.example"),
                    ("email.to.address", "c@corp.example"),
                    ("source.ip", "192.0.2.1"),
                ],
            ),
            (
                "id=firewall SRC_IP=192.0.2.1 DST=[2001:db8::2]:8443 transip=203.0.113.1 word",
                vec![
                    ("related.ip", "203.0.113.1"),
                    ("source.ip", "192.0.2.1"),
                    ("destination.ip", "2001:db8::2"),
                ],
            ),
            (r#"a=1 msg="say \"hi\" \\ ok" url="/only/a/path""#, vec![]),
        ];
        for (body, expected) in rows {
            let record = decode(body).unwrap_or_else(|err| panic!("{body}: {err}"));
            assert_eq!(pairs(&record), expected, "{body}");
            assert_eq!(record.format, "kv");
        }
    }

    #[test]
    fn ports_context_and_time() {
        let body = r#"date=2024-01-01 time=10:00:00 tz="-0800" devname="fw1" srcip=192.0.2.1 srcport=51000 srcintf="port1" dstip=198.51.100.2 dstport=443 dstintf="wan1" policyid=7 proto=6 action="deny""#;
        let record = decode(body).unwrap();
        assert_eq!(record.source.as_ref().and_then(|e| e.port), Some(51000));
        assert_eq!(record.destination.as_ref().and_then(|e| e.port), Some(443));
        assert_eq!(record.timestamp.as_deref(), Some("2024-01-01T10:00:00-08:00"));
        assert_eq!(
            context(&record),
            [
                ("observer.name", "fw1"),
                ("observer.ingress.interface.name", "port1"),
                ("observer.egress.interface.name", "wan1"),
                ("rule.id", "7"),
                ("network.transport", "tcp"),
                ("event.action", "deny"),
            ]
        );
    }

    #[test]
    fn time_forms() {
        let rows = [
            ("date=2024-01-01 time=10:00:00", Some("2024-01-01T10:00:00Z")),
            (
                "date=2024-01-01 time=10:00:00 tz=\"+0100\"",
                Some("2024-01-01T10:00:00+01:00"),
            ),
            (
                "date=2024-01-01 time=10:00:00 eventtime=1704103200123456789",
                Some("1704103200.123456789"),
            ),
            ("date=2024-01-01 time=10:00:00 tz=\"PST\"", None),
            ("date=yesterday time=10:00:00", None),
            ("time=10:00:00", None),
        ];
        for (body, expected) in rows {
            let record = decode(body).unwrap();
            assert_eq!(record.timestamp.as_deref(), expected, "{body}");
        }
    }

    #[test]
    fn malformed_lines_name_the_field() {
        let rows = [
            (
                r#"date=2024-01-01 srcip=192.0.2.1 url="/cut"#,
                "kv value of url has no closing quote; is the line cut off?",
            ),
            (
                "srcip=192.0.2 dstip=192.0.2.1",
                "kv srcip is not an IP address: \"192.0.2\"",
            ),
            (
                "srcip=192.0.2.1 dstip=evil.example",
                "kv dstip is not an IP address: \"evil.example\"",
            ),
            (
                "srcip=192.0.2.1 srcport=70000",
                "kv srcport is not a port number: \"70000\"",
            ),
        ];
        for (body, expected) in rows {
            assert_eq!(decode(body).map(|_| ()).unwrap_err().message, expected, "{body}");
        }
    }

    #[test]
    fn matches_needs_three_pairs() {
        assert!(matches("date=2024-01-01 time=10:00:00 devname=\"fw 1\""));
        assert!(!matches("date=2024-01-01 time=10:00:00"));
        assert!(!matches("hello date=2024-01-01 time=10:00:00 a=b"));
        assert!(!matches("a/b=1 c=2 d=3"));
        assert!(!matches("1541117137.618695\tCYtJYz4gNk3t5ZEt2"));
    }
}
