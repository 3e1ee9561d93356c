//! ArcSight Common Event Format (CEF):
//!
//! ```text
//! CEF:0|Vendor|Product|1.0|100|Blocked connection|5|src=192.0.2.1 spt=4444 dst=198.51.100.2 dpt=443 request=https://evil.example/x
//! ```
//!
//! Seven `|`-separated header fields, then an extension of `key=value`
//! pairs whose values may hold spaces: a value ends where the next
//! ` key=` starts. In the header, a `|` or `\` inside a field is written
//! `\|` or `\\`. In the extension, `=` and `\` are written `\=` and `\\`,
//! and a line break is written `\n` or `\r`. Any other escape makes the
//! line malformed, because the producer did not follow the format and the
//! value cannot be trusted.
//!
//! Keys are read by their short or their full name (`src` or
//! `sourceAddress`). Check Point and Akamai put IPv6 endpoints in `c6a2`
//! (source) and `c6a3` (destination), which fill an endpoint that `src`
//! or `dst` leave empty.

use std::borrow::Cow;

use iocwatch_model::time::format_timestamp;
use iocwatch_model::{Field, Record};
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::syslog::{epoch_timestamp, observe_digest, observe_url, parse_ip, transport_name};
use crate::{DecodeError, excerpt};

/// The header fields, in order.
const HEADER_FIELDS: [&str; 7] = [
    "Version",
    "Device Vendor",
    "Device Product",
    "Device Version",
    "Device Event Class ID",
    "Name",
    "Severity",
];

/// The extension keys this decoder reads, by meaning.
#[derive(Default)]
struct Extension<'l> {
    source: Option<(&'l str, Cow<'l, str>)>,
    destination: Option<(&'l str, Cow<'l, str>)>,
    source_port: Option<(&'l str, Cow<'l, str>)>,
    destination_port: Option<(&'l str, Cow<'l, str>)>,
    source_ipv6: Option<(&'l str, Cow<'l, str>)>,
    destination_ipv6: Option<(&'l str, Cow<'l, str>)>,
    related: Vec<(&'l str, Cow<'l, str>)>,
    source_host: Option<Cow<'l, str>>,
    destination_host: Option<Cow<'l, str>>,
    request: Option<Cow<'l, str>>,
    times: [Option<Cow<'l, str>>; 3],
}

/// Decodes a CEF message.
pub(crate) fn decode(body: &str) -> Result<Record<'_>, DecodeError> {
    let Some(rest) = body.strip_prefix("CEF:") else {
        return Err(DecodeError::new(format!(
            "CEF message must start with \"CEF:\", found {}",
            excerpt(body.as_bytes())
        )));
    };
    let (header, extension) = split_header(rest)?;
    let mut record = Record {
        format: "cef",
        dataset: Cow::Borrowed("cef.log"),
        ..Record::default()
    };
    let [_, vendor, product, version, class_id, name, severity] = header;
    record.add_context("observer.vendor", vendor);
    record.add_context("observer.product", product);
    record.add_context("observer.version", version);
    record.add_context("event.code", class_id);
    record.add_context("message", name);
    record.add_context("event.severity", severity);

    let mut fields = Extension::default();
    for (key, value) in parse_extension(extension)? {
        read_pair(&mut record, &mut fields, key, value);
    }
    fill_endpoints(&mut record, &mut fields)?;
    if let Some(host) = fields.destination_host.clone() {
        observe_host(&mut record, Field::DestinationIp, host);
    }
    if let Some(host) = fields.source_host.take() {
        observe_host(&mut record, Field::SourceIp, host);
    }
    if let Some(request) = fields.request.take() {
        match fields.destination_host.as_deref() {
            Some(host) if request.starts_with('/') && parse_ip(host).is_none() => {
                record.observe(Field::UrlFull, format!("http://{host}{request}"));
            }
            host => observe_url(&mut record, request, host),
        }
    }
    record.timestamp = fields
        .times
        .iter()
        .flatten()
        .find_map(|time| parse_time(time))
        .map(Cow::Owned);
    Ok(record)
}

/// Files one extension pair: observables into `fields` for checking,
/// context straight into `record`.
fn read_pair<'l>(record: &mut Record<'l>, fields: &mut Extension<'l>, key: &'l str, value: Cow<'l, str>) {
    match key {
        "src" | "sourceAddress" => fields.source = Some((key, value)),
        "dst" | "destinationAddress" => fields.destination = Some((key, value)),
        "spt" | "sourcePort" => fields.source_port = Some((key, value)),
        "dpt" | "destinationPort" => fields.destination_port = Some((key, value)),
        "c6a2" | "deviceCustomIPv6Address2" => fields.source_ipv6 = Some((key, value)),
        "c6a3" | "deviceCustomIPv6Address3" => fields.destination_ipv6 = Some((key, value)),
        "c6a1" | "deviceCustomIPv6Address1" | "sourceTranslatedAddress" | "destinationTranslatedAddress" => {
            fields.related.push((key, value));
        }
        "c6a4" | "deviceCustomIPv6Address4" | "dvc" | "deviceAddress" => {
            record.add_context("observer.ip", value)
        }
        "shost" | "sourceHostName" => fields.source_host = Some(value),
        "dhost" | "destinationHostName" => fields.destination_host = Some(value),
        "request" | "requestURL" => fields.request = Some(value),
        "requestClientApplication" => record.observe(Field::UserAgent, value),
        "fileHash" | "oldFileHash" => {
            // A value that is no hex digest of a known length is skipped.
            observe_digest(record, value);
        }
        "fname" | "fileName" => record.add_context("file.name", value),
        "filePath" => record.add_context("file.path", value),
        "suser" | "sourceUserName" => record.add_context("source.user.name", value),
        "duser" | "destinationUserName" => record.add_context("destination.user.name", value),
        "act" | "deviceAction" => record.add_context("event.action", value),
        "proto" | "transportProtocol" => {
            let name = match value {
                Cow::Borrowed(text) => transport_name(text),
                Cow::Owned(text) => Cow::Owned(transport_name(&text).into_owned()),
            };
            record.add_context("network.transport", name);
        }
        "app" | "applicationProtocol" => record.add_context("network.protocol", value),
        "requestMethod" => record.add_context("http.request.method", value),
        "dvchost" | "deviceHostName" => record.add_context("observer.name", value),
        "rt" | "receiptTime" => fields.times[0] = Some(value),
        "start" | "startTime" => fields.times[1] = Some(value),
        "end" | "endTime" => fields.times[2] = Some(value),
        _ => {}
    }
}

/// Checks the endpoint addresses and ports and sets them.
fn fill_endpoints<'l>(record: &mut Record<'l>, fields: &mut Extension<'l>) -> Result<(), DecodeError> {
    let source = fields.source.take().or_else(|| fields.source_ipv6.take());
    let destination = fields
        .destination
        .take()
        .or_else(|| fields.destination_ipv6.take());
    let source_port = port(fields.source_port.take())?;
    let destination_port = port(fields.destination_port.take())?;
    if let Some((key, ip)) = source {
        record.set_endpoint(Field::SourceIp, checked_ip(key, ip)?, source_port);
    }
    if let Some((key, ip)) = destination {
        record.set_endpoint(Field::DestinationIp, checked_ip(key, ip)?, destination_port);
    }
    for (key, ip) in [fields.source_ipv6.take(), fields.destination_ipv6.take()]
        .into_iter()
        .flatten()
        .chain(fields.related.drain(..))
    {
        record.observe(Field::RelatedIp, checked_ip(key, ip)?);
    }
    Ok(())
}

fn checked_ip<'l>(key: &str, value: Cow<'l, str>) -> Result<Cow<'l, str>, DecodeError> {
    if parse_ip(&value).is_some() {
        Ok(value)
    } else {
        Err(DecodeError::new(format!(
            "CEF {key} is not an IP address: {}",
            excerpt(value.as_bytes())
        )))
    }
}

fn port(pair: Option<(&str, Cow<'_, str>)>) -> Result<Option<u16>, DecodeError> {
    let Some((key, value)) = pair else {
        return Ok(None);
    };
    value.parse().map(Some).map_err(|_| {
        DecodeError::new(format!(
            "CEF {key} is not a port number: {}",
            excerpt(value.as_bytes())
        ))
    })
}

/// Adds a host field: an address fills the endpoint `endpoint` when it is
/// empty and is a related address otherwise; a name is a domain.
///
/// NOTE: host names are observed as `url.domain`, the domain field that
/// alerts can name, although `shost` and `dhost` are ECS
/// `source.domain` and `destination.domain`.
fn observe_host<'l>(record: &mut Record<'l>, endpoint: Field, host: Cow<'l, str>) {
    if parse_ip(&host).is_none() {
        record.observe(Field::UrlDomain, host);
        return;
    }
    let empty = match endpoint {
        Field::SourceIp => record.source.is_none(),
        _ => record.destination.is_none(),
    };
    if empty {
        record.set_endpoint(endpoint, host, None);
    } else {
        record.observe(Field::RelatedIp, host);
    }
}

/// Splits the text after `CEF:` into the seven unescaped header fields
/// and the extension.
fn split_header(rest: &str) -> Result<([Cow<'_, str>; 7], &str), DecodeError> {
    let bytes = rest.as_bytes();
    let mut fields: [Cow<'_, str>; 7] = Default::default();
    let mut start = 0;
    let mut position = 0;
    for (index, name) in HEADER_FIELDS.iter().enumerate() {
        loop {
            match bytes.get(position) {
                None => {
                    return Err(DecodeError::new(format!(
                        "CEF header has {index} of its 7 fields \
                         (Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|); \
                         is it cut off?"
                    )));
                }
                Some(b'\\') => position += 2,
                Some(b'|') => break,
                Some(_) => position += 1,
            }
        }
        let raw = rest.get(start..position).unwrap_or_default();
        if let Some(slot) = fields.get_mut(index) {
            *slot = unescape(raw, name, &[('|', '|'), ('\\', '\\')], "header field")?;
        }
        position += 1;
        start = position;
    }
    Ok((fields, rest.get(start..).unwrap_or_default()))
}

/// Returns true when `byte` may appear in an extension key.
fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-' | b'[' | b']')
}

/// Splits the extension into unescaped `(key, value)` pairs.
///
/// An unescaped `=` starts a new pair when the word before it is a key
/// and is preceded by a space or the start of the extension. Any other
/// `=` belongs to the value, as in a URL query that the producer forgot
/// to escape. Text before the first key is ignored.
fn parse_extension(extension: &str) -> Result<Vec<(&str, Cow<'_, str>)>, DecodeError> {
    let bytes = extension.as_bytes();
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut position = 0;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b'\\' => position += 2,
            b'=' => {
                let mut key_start = position;
                while key_start > 0 && bytes.get(key_start - 1).copied().is_some_and(is_key_byte) {
                    key_start -= 1;
                }
                let floor = current.map_or(0, |(_, value_start)| value_start);
                let is_key = key_start < position
                    && key_start >= floor
                    && (key_start == 0 || bytes.get(key_start - 1) == Some(&b' '));
                if is_key {
                    if let Some((pair_start, value_start)) = current {
                        spans.push((pair_start, value_start, key_start));
                    }
                    current = Some((key_start, position + 1));
                }
                position += 1;
            }
            _ => position += 1,
        }
    }
    if let Some((pair_start, value_start)) = current {
        spans.push((pair_start, value_start, bytes.len()));
    }

    let mut pairs = Vec::with_capacity(spans.len());
    for (pair_start, value_start, end) in spans {
        let key = extension.get(pair_start..value_start - 1).unwrap_or_default();
        let raw = extension
            .get(value_start..end)
            .unwrap_or_default()
            .trim_end_matches(' ');
        let value = unescape(
            raw,
            key,
            &[('=', '='), ('\\', '\\'), ('n', '\n'), ('r', '\r')],
            "extension value of",
        )?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Replaces the escapes `allowed` lists (escaped character, result) in
/// `raw`, the value of field `name`. Borrows when `raw` has no escape.
fn unescape<'l>(
    raw: &'l str,
    name: &str,
    allowed: &[(char, char)],
    role: &str,
) -> Result<Cow<'l, str>, DecodeError> {
    if !raw.contains('\\') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(escaped) = chars.next() else {
            return Err(DecodeError::new(format!(
                "CEF {role} {name} ends with a lone backslash; is the line cut off?"
            )));
        };
        match allowed.iter().find(|(from, _)| *from == escaped) {
            Some((_, to)) => text.push(*to),
            None => {
                let list: Vec<String> = allowed.iter().map(|(from, _)| format!("\\{from}")).collect();
                return Err(DecodeError::new(format!(
                    "CEF {role} {name} has an invalid escape \"\\{escaped}\"; only {} are allowed there",
                    list.join(", ")
                )));
            }
        }
    }
    Ok(Cow::Owned(text))
}

/// Parses a CEF time: epoch milliseconds, or `MMM dd yyyy HH:mm:ss` with
/// optional `.SSS` and an optional `UTC`, `GMT` or `Z` zone. Returns
/// `None` for the forms without a year or with another zone, whose
/// instant is unknown here.
fn parse_time(value: &str) -> Option<String> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return epoch_timestamp(value);
    }
    let mut words = value.split_ascii_whitespace();
    let month = month_from_name(words.next()?)?;
    let day: u8 = words.next()?.parse().ok()?;
    let year: i32 = words.next()?.parse().ok()?;
    let clock = words.next()?;
    if let Some(zone) = words.next()
        && (!matches!(zone, "UTC" | "GMT" | "Z") || words.next().is_some())
    {
        return None;
    }
    let (clock, millis) = match clock.split_once('.') {
        Some((clock, fraction)) => (clock, fraction.parse::<u16>().ok()?),
        None => (clock, 0),
    };
    let mut parts = clock.split(':').map(|part| part.parse::<u8>().ok());
    let (Some(Some(hour)), Some(Some(minute)), Some(Some(second)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_milli(hour, minute, second, millis).ok()?;
    Some(format_timestamp(PrimitiveDateTime::new(date, time).assume_utc()))
}

fn month_from_name(name: &str) -> Option<Month> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let index = NAMES.iter().position(|known| known.eq_ignore_ascii_case(name))?;
    Month::try_from(u8::try_from(index + 1).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    #[test]
    fn decodes_observables() {
        type Row = (&'static str, Vec<(&'static str, &'static str)>);
        let rows: Vec<Row> = vec![
            (
                "CEF:0|Vendor|Product|1.0|100|Blocked|5|src=192.0.2.1 spt=4444 dst=198.51.100.2 dpt=443 request=https://evil.example/x?a\\=b",
                vec![
                    ("source.ip", "192.0.2.1"),
                    ("destination.ip", "198.51.100.2"),
                    ("url.domain", "evil.example"),
                    ("url.full", "https://evil.example/x?a=b"),
                ],
            ),
            (
                "CEF:0|V|P|1|1|n|5|sourceAddress=192.0.2.1 destinationAddress=2001:db8::2 destinationHostName=cdn.evil.example requestClientApplication=Mozilla/5.0 (X11; Linux) fileHash=d41d8cd98f00b204e9800998ecf8427e",
                vec![
                    ("user_agent.original", "Mozilla/5.0 (X11; Linux)"),
                    ("file.hash.md5", "d41d8cd98f00b204e9800998ecf8427e"),
                    ("source.ip", "192.0.2.1"),
                    ("destination.ip", "2001:db8::2"),
                    ("url.domain", "cdn.evil.example"),
                ],
            ),
            (
                "CEF:0|V|P|1|1|n|5|dhost=www.evil.example request=/path/a b.php shost=192.0.2.7",
                vec![
                    ("url.domain", "www.evil.example"),
                    ("source.ip", "192.0.2.7"),
                    ("url.full", "http://www.evil.example/path/a b.php"),
                ],
            ),
            (
                "CEF:0|Check Point|VPN-1 & FireWall-1|R81|Log|Accept|Low|c6a2=2001:db8::1 c6a3=2001:db8::2 src=192.0.2.1",
                vec![
                    ("source.ip", "192.0.2.1"),
                    ("destination.ip", "2001:db8::2"),
                    ("related.ip", "2001:db8::1"),
                ],
            ),
            (
                "CEF:0|V|P|1|1|n|5|src=192.0.2.1 sourceTranslatedAddress=203.0.113.9 shost=192.0.2.8 fileHash=sha256:abc",
                vec![
                    ("source.ip", "192.0.2.1"),
                    ("related.ip", "203.0.113.9"),
                    ("related.ip", "192.0.2.8"),
                ],
            ),
            (
                "CEF:0|V|P|1|1|n|5|dhost=WWW.Evil.Example request=http://www.evil.example:8080/a",
                vec![
                    ("url.domain", "WWW.Evil.Example"),
                    ("url.full", "http://www.evil.example:8080/a"),
                ],
            ),
            ("CEF:0|V|P|1|1|n|5|", vec![]),
        ];
        for (body, expected) in rows {
            let record = decode(body).unwrap_or_else(|err| panic!("{body}: {err}"));
            assert_eq!(pairs(&record), expected, "{body}");
            assert_eq!(record.format, "cef");
        }
    }

    #[test]
    fn ports_and_context() {
        let body = "CEF:0|Secure\\|Corp|Gate\\\\Way|2.1|4711|Blocked \\| denied|8|src=192.0.2.1 spt=4444 dst=198.51.100.2 dpt=443 proto=TCP act=blocked suser=alice duser=bob fname=evil.exe msg=line1\\nline2 dvchost=gw1 rt=1704103200123";
        let record = decode(body).unwrap();
        assert_eq!(record.source.as_ref().and_then(|e| e.port), Some(4444));
        assert_eq!(record.destination.as_ref().and_then(|e| e.port), Some(443));
        assert_eq!(record.timestamp.as_deref(), Some("1704103200.123"));
        assert_eq!(
            context(&record),
            [
                ("observer.vendor", "Secure|Corp"),
                ("observer.product", "Gate\\Way"),
                ("observer.version", "2.1"),
                ("event.code", "4711"),
                ("message", "Blocked | denied"),
                ("event.severity", "8"),
                ("network.transport", "tcp"),
                ("event.action", "blocked"),
                ("source.user.name", "alice"),
                ("destination.user.name", "bob"),
                ("file.name", "evil.exe"),
                ("observer.name", "gw1"),
            ]
        );
    }

    #[test]
    fn extension_values_keep_spaces_and_unescaped_equals() {
        let pairs =
            parse_extension("cs1=a b  c cs1Label=x=y url=http://h/?q=1&r=2 empty= last=\\\\end").unwrap();
        let expected = [
            ("cs1", "a b  c"),
            ("cs1Label", "x=y"),
            ("url", "http://h/?q=1&r=2"),
            ("empty", ""),
            ("last", "\\end"),
        ];
        let found: Vec<(&str, &str)> = pairs.iter().map(|(key, value)| (*key, value.as_ref())).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn times() {
        let rows = [
            ("1704103200123", Some("1704103200.123")),
            ("Jan 01 2024 10:00:00", Some("2024-01-01T10:00:00.000000Z")),
            (
                "Jan 01 2024 10:00:00.250 UTC",
                Some("2024-01-01T10:00:00.250000Z"),
            ),
            ("Jan 01 2024 10:00:00 EST", None),
            ("Jan 01 10:00:00", None),
            ("soon", None),
        ];
        for (value, expected) in rows {
            assert_eq!(parse_time(value).as_deref(), expected, "{value}");
        }
        let record = decode("CEF:0|V|P|1|1|n|5|end=Jan 02 2024 10:00:00 rt=bad start=1704103200").unwrap();
        assert_eq!(record.timestamp.as_deref(), Some("1704103200"));
    }

    #[test]
    fn malformed_lines_name_the_field() {
        let rows = [
            (
                "CEF:0|V|P|1|100",
                "CEF header has 4 of its 7 fields (Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|); is it cut off?",
            ),
            (
                "CEF:0|V|P\\x|1|100|n|5|",
                "CEF header field Device Product has an invalid escape \"\\x\"; only \\|, \\\\ are allowed there",
            ),
            (
                "CEF:0|V|P|1|100|n|5|src=192.0.2.1 msg=C:\\Windows dst=192.0.2.2",
                "CEF extension value of msg has an invalid escape \"\\W\"; only \\=, \\\\, \\n, \\r are allowed there",
            ),
            (
                "CEF:0|V|P|1|100|n|5|src=192.0.2.1 msg=cut\\",
                "CEF extension value of msg ends with a lone backslash; is the line cut off?",
            ),
            (
                "CEF:0|V|P|1|100|n|5|src=192.0.2",
                "CEF src is not an IP address: \"192.0.2\"",
            ),
            (
                "CEF:0|V|P|1|100|n|5|c6a3=fe80::zz",
                "CEF c6a3 is not an IP address: \"fe80::zz\"",
            ),
            (
                "CEF:0|V|P|1|100|n|5|src=192.0.2.1 spt=http",
                "CEF spt is not a port number: \"http\"",
            ),
            (
                "LEEF:1.0|V|P|1|",
                "CEF message must start with \"CEF:\", found \"LEEF:1.0|V|P|1|\"",
            ),
        ];
        for (body, expected) in rows {
            assert_eq!(decode(body).map(|_| ()).unwrap_err().message, expected, "{body}");
        }
    }
}
