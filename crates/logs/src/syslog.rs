//! Syslog lines from firewalls and sensors: an optional RFC 3164 or
//! RFC 5424 header, then one message body in a format the device chose.
//!
//! The header is parsed by `syslog_loose`, which reads the header shapes
//! real devices write: with or without `<PRI>`, `Mmm dd hh:mm:ss` or an
//! RFC 3339 time, RFC 5424 structured data. A line without a header is
//! read as a bare body, and a line that starts with only `<PRI>` (as
//! FortiGate sends it) loses the `<PRI>`.
//!
//! The body is read by the first format that recognises it:
//!
//! | body | recognised by |
//! |---|---|
//! | CEF | starts with `CEF:` |
//! | JSON: Suricata EVE, Zeek, ECS | starts with `{` |
//! | pfSense/OPNsense filterlog | tag `filterlog`, or CSV whose action, direction and IP version columns read like one |
//! | PAN-OS | CSV with a `YYYY/MM/DD hh:mm:ss` time in field 2 and an upper-case log type in field 4 |
//! | netfilter (iptables, UFW) | `IN=` and `OUT=` fields |
//! | key=value (FortiGate and similar) | three `key=value` pairs at its start |
//!
//! A new body format is one new file plus a [`SyslogBody`] variant.
//!
//! # Header times
//!
//! The header time becomes the record's timestamp when the body has none.
//! An RFC 3164 time has no year. The decoder picks the year that puts the
//! time closest to its clock without being more than one day after it.
//! So a December line read in January falls in the past year, and a
//! sender whose clock runs a few hours ahead still gets this year. The
//! clock is the current time unless [`SyslogDecoder::with_clock`] sets
//! another, such as the time a scanned file was last written.
//! A header time without a zone is read in the decoder's offset, UTC
//! unless [`SyslogDecoder::with_offset`] sets another.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use chrono::Offset;
use iocwatch_model::time::format_timestamp;
use iocwatch_model::{CanonicalUrl, Field, Record};
use syslog_loose::{IncompleteDate, Message, ProcId, Protocol, Variant};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::json::into_owned;
use crate::{DecodeError, Decoder, JsonDecoder, cef, excerpt, filterlog, kv, netfilter, panos};

/// A message body format that [`SyslogDecoder`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyslogBody {
    /// Linux netfilter log lines (iptables `LOG` target, UFW):
    /// `[UFW BLOCK] IN=eth0 OUT= SRC=... DST=... PROTO=TCP SPT=... DPT=...`.
    Netfilter,
    /// pfSense and OPNsense `filterlog` CSV.
    Filterlog,
    /// Palo Alto Networks PAN-OS CSV (TRAFFIC, THREAT and other logs).
    Panos,
    /// ArcSight Common Event Format: `CEF:0|Vendor|Product|...`.
    Cef,
    /// `key=value` pairs with optionally quoted values, as FortiGate
    /// writes them.
    Kv,
    /// A JSON object (Suricata EVE, Zeek JSON, Sysmon, ECS), read by
    /// [`JsonDecoder`].
    Json,
}

impl SyslogBody {
    /// Every body format, in the order a line is tried against them.
    pub const ALL: [SyslogBody; 6] = [
        Self::Cef,
        Self::Json,
        Self::Filterlog,
        Self::Panos,
        Self::Netfilter,
        Self::Kv,
    ];

    /// Returns the name used in configuration and statistics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Netfilter => "netfilter",
            Self::Filterlog => "filterlog",
            Self::Panos => "panos",
            Self::Cef => "cef",
            Self::Kv => "kv",
            Self::Json => "json",
        }
    }

    /// Describes the body for error messages.
    fn describe(self) -> &'static str {
        match self {
            Self::Netfilter => "netfilter fields (with both IN= and OUT=)",
            Self::Filterlog => "pfSense filterlog CSV",
            Self::Panos => "PAN-OS CSV",
            Self::Cef => "CEF (CEF:Version|Vendor|...)",
            Self::Kv => {
                "at least three key=value pairs at the start of the body (keys of letters, digits, _, - and .)"
            }
            Self::Json => "a JSON object",
        }
    }

    /// Returns the format of `body`, given the syslog tag it came with.
    fn detect(body: &str, app: Option<&str>) -> Option<Self> {
        if body.starts_with("CEF:") {
            Some(Self::Cef)
        } else if body.starts_with('{') {
            Some(Self::Json)
        } else if app == Some("filterlog") || filterlog::matches(body) {
            Some(Self::Filterlog)
        } else if panos::matches(body) {
            Some(Self::Panos)
        } else if netfilter::matches(body) {
            Some(Self::Netfilter)
        } else if kv::matches(body) {
            Some(Self::Kv)
        } else {
            None
        }
    }
}

impl fmt::Display for SyslogBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Decoder for syslog lines: an optional syslog header, then a body in one
/// of the [`SyslogBody`] formats, recognised line by line unless the
/// decoder was built for one body format.
///
/// Header fields go to the record's context: the host as
/// `observer.hostname`, the tag as `process.name` and its pid as
/// `process.pid`. Records borrow from the line unless the line is not
/// valid UTF-8, which is decoded after replacing the invalid bytes with
/// U+FFFD. Blank lines and lines starting with `#` are skipped.
pub struct SyslogDecoder {
    body: Option<SyslogBody>,
    clock: Box<dyn Fn() -> OffsetDateTime + Send>,
    offset: UtcOffset,
    json: JsonDecoder,
}

impl fmt::Debug for SyslogDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyslogDecoder")
            .field("body", &self.body)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl Default for SyslogDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SyslogDecoder {
    /// Creates a decoder that recognises the body format of each line,
    /// reads header times without a zone as UTC and takes the current
    /// time from the system clock.
    pub fn new() -> Self {
        Self {
            body: None,
            clock: Box::new(OffsetDateTime::now_utc),
            offset: UtcOffset::UTC,
            json: JsonDecoder::new(),
        }
    }

    /// Creates a decoder that reads every body as `body`, so a line in
    /// another format is reported with that format's error.
    pub fn for_body(body: SyslogBody) -> Self {
        Self {
            body: Some(body),
            ..Self::new()
        }
    }

    /// Sets the clock that RFC 3164 header times, which have no year, are
    /// placed next to.
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Sets the offset from UTC of header times written without a zone,
    /// which is the sending device's local time.
    pub fn with_offset(mut self, offset: UtcOffset) -> Self {
        self.offset = offset;
        self
    }

    fn decode_text<'l>(&mut self, line: &'l str) -> Result<Option<Record<'l>>, DecodeError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let (header, body) = split_header(line, (self.clock)(), self.offset);
        let body = body.strip_prefix('\u{feff}').unwrap_or(body).trim_start();
        if body.is_empty() {
            return Err(DecodeError::new(
                "syslog message has a header but no body; is the line cut off?",
            ));
        }
        let app = header.as_ref().and_then(|header| header.appname);
        let kind = match self.body.or_else(|| SyslogBody::detect(body, app)) {
            Some(kind) => kind,
            None => return Err(unknown_body(header.is_some(), body)),
        };
        let mut record = match kind {
            SyslogBody::Netfilter => netfilter::decode(body)?,
            SyslogBody::Filterlog => filterlog::decode(body)?,
            SyslogBody::Panos => panos::decode(body)?,
            SyslogBody::Cef => cef::decode(body)?,
            SyslogBody::Kv => kv::decode(body)?,
            SyslogBody::Json => match self.json.decode(body.as_bytes())? {
                Some(record) => record,
                None => return Ok(None),
            },
        };
        if let Some(header) = header {
            header.apply(&mut record);
        }
        Ok(Some(record))
    }
}

impl Decoder for SyslogDecoder {
    fn decode<'l>(&mut self, line: &'l [u8]) -> Result<Option<Record<'l>>, DecodeError> {
        match std::str::from_utf8(line) {
            Ok(text) => self.decode_text(text),
            Err(_) => {
                let text = String::from_utf8_lossy(line);
                let record = self.decode_text(&text)?;
                Ok(record.map(into_owned))
            }
        }
    }

    /// `syslog`, or the body format's name for a decoder built for one.
    fn format(&self) -> &'static str {
        self.body.map_or("syslog", SyslogBody::name)
    }
}

/// Describes a line whose body is in no known format.
fn unknown_body(has_header: bool, body: &str) -> DecodeError {
    let expected: Vec<&str> = SyslogBody::ALL.iter().map(|body| body.describe()).collect();
    let expected = match expected.split_last() {
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    if has_header {
        DecodeError::new(format!(
            "syslog message body is in no known format: expected {expected}; found {}",
            excerpt(body.as_bytes())
        ))
    } else {
        DecodeError::new(format!(
            "line has no syslog header and no known message body: expected a header \
             (<PRI>, a timestamp) or {expected}; found {}",
            excerpt(body.as_bytes())
        ))
    }
}

/// The syslog header fields that go into a record.
#[derive(Debug, Default, PartialEq, Eq)]
struct Header<'l> {
    time: Option<OffsetDateTime>,
    hostname: Option<&'l str>,
    appname: Option<&'l str>,
    procid: Option<Cow<'l, str>>,
}

impl<'l> Header<'l> {
    fn apply(self, record: &mut Record<'l>) {
        if record.timestamp.is_none() {
            record.timestamp = self.time.map(|time| Cow::Owned(format_timestamp(time)));
        }
        if let Some(hostname) = self.hostname {
            record.add_context("observer.hostname", hostname);
        }
        if let Some(appname) = self.appname {
            record.add_context("process.name", appname);
        }
        if let Some(procid) = self.procid {
            record.add_context("process.pid", procid);
        }
    }
}

/// Splits `line` (trimmed) into its syslog header, if it has one, and its
/// body. `now` and `offset` place header times that lack a year or zone.
fn split_header(line: &str, now: OffsetDateTime, offset: UtcOffset) -> (Option<Header<'_>>, &str) {
    let zone = chrono::FixedOffset::east_opt(offset.whole_seconds()).unwrap_or(chrono::Utc.fix());
    let get_year = move |(month, day, hour, minute, second): IncompleteDate| {
        resolve_year([month, day, hour, minute, second], now, offset)
    };
    match syslog_loose::parse_message_with_year_exact_tz(line, get_year, Some(zone), Variant::Either) {
        Ok(message) => from_message(line, message),
        Err(_) => match strip_pri(line) {
            Some(body) => (Some(Header::default()), body),
            None => (None, line),
        },
    }
}

/// Turns a parsed message into a header and the body text.
///
/// `syslog_loose` reads the one or two words after an RFC 3164 time as
/// host and tag. Devices that send no host or no tag put their body there
/// instead (`<14>Jan  1 10:00:00 fw CEF:0|...`, `Oct 30 09:46:12 1,2012/10/30 ...`),
/// so a "host" that is no host name, or a "tag" that is no tag, starts
/// the body.
fn from_message<'l>(line: &'l str, message: Message<&'l str>) -> (Option<Header<'l>>, &'l str) {
    let time = message.timestamp.and_then(|time| {
        let nanos = i128::from(time.timestamp()) * 1_000_000_000 + i128::from(time.timestamp_subsec_nanos());
        OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
    });
    let mut header = Header {
        time,
        ..Header::default()
    };
    let msg_start = offset_in(line, message.msg).unwrap_or(line.len());

    if let Protocol::RFC5424(_) = message.protocol {
        header.hostname = message.hostname;
        header.appname = message.appname;
        header.procid = message.procid.map(|procid| match procid {
            ProcId::Name(name) => Cow::Borrowed(name),
            ProcId::PID(pid) => Cow::Owned(pid.to_string()),
        });
        return (Some(header), line.get(msg_start..).unwrap_or_default());
    }

    if let Some(hostname) = message.hostname {
        let start = offset_in(line, hostname).unwrap_or(msg_start);
        if !is_hostname(hostname) {
            return (Some(header), line.get(start..).unwrap_or_default());
        }
        header.hostname = Some(hostname);
        if message.appname.is_none() {
            let rest = line.get(start + hostname.len()..).unwrap_or_default();
            return (Some(header), after_separator(rest));
        }
    }
    if let Some(appname) = message.appname {
        let start = offset_in(line, appname).unwrap_or(msg_start);
        let rest = line.get(start + appname.len()..).unwrap_or_default();
        let (procid, rest) = match rest.strip_prefix('[').and_then(|tail| tail.split_once(']')) {
            Some((procid, tail)) => (Some(procid), tail),
            None => (None, rest),
        };
        // A tag ends at a colon followed by a space or at a space. `CEF:0|`
        // or `date=...` in this place is the body.
        let glued = rest
            .strip_prefix(':')
            .is_some_and(|tail| !tail.is_empty() && !tail.starts_with(' '));
        if !is_tag(appname) || glued {
            return (Some(header), line.get(start..).unwrap_or_default());
        }
        header.appname = Some(appname);
        header.procid = procid.map(Cow::Borrowed);
        return (Some(header), after_separator(rest));
    }
    (Some(header), line.get(msg_start..).unwrap_or_default())
}

/// Skips the spaces and the one colon between a header and its body.
fn after_separator(rest: &str) -> &str {
    let rest = rest.trim_start();
    rest.strip_prefix(':').unwrap_or(rest).trim_start()
}

/// Returns the byte offset of `part` inside `whole`, when `part` is a
/// slice of it.
fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + part.len() <= whole.len()).then_some(start)
}

/// Strips a leading `<PRI>` (one to three digits).
fn strip_pri(line: &str) -> Option<&str> {
    let (pri, rest) = line.strip_prefix('<')?.split_once('>')?;
    let valid = (1..=3).contains(&pri.len()) && pri.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(rest.trim_start())
}

/// Returns true when `text` reads as a host name or address in a syslog
/// header.
fn is_hostname(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'))
}

/// Returns true when `text` reads as an RFC 3164 tag (a program name),
/// allowing the `/`, `.` and `-` that real programs use (`postfix/smtpd`).
fn is_tag(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
}

/// Picks the year of a `[month, day, hour, minute, second]` header time
/// read in `offset`: the one that puts it closest to `now` without being
/// more than one day after `now`. February 29 goes back to the last leap
/// year. Returns `now`'s year for a date that exists in no year.
fn resolve_year(parts: [u32; 5], now: OffsetDateTime, offset: UtcOffset) -> i32 {
    let [month, day, hour, minute, second] = parts.map(|part| u8::try_from(part).unwrap_or(u8::MAX));
    let (Ok(month), Ok(clock)) = (Month::try_from(month), Time::from_hms(hour, minute, second)) else {
        return now.year();
    };
    let latest = now + Duration::DAY;
    for year in (now.year() - 8..=now.year() + 1).rev() {
        let Ok(date) = Date::from_calendar_date(year, month, day) else {
            continue;
        };
        if PrimitiveDateTime::new(date, clock).assume_offset(offset) <= latest {
            return year;
        }
    }
    now.year()
}

/// The verdict on one line of a file's head in format detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// A syslog header or none, then a known body.
    Syslog,
    /// A syslog header with a body in no known format: a later line may
    /// decide.
    Undecided,
    /// Not syslog.
    Other,
}

/// Classifies one line for format detection.
pub(crate) fn classify(line: &[u8]) -> LineKind {
    let text = String::from_utf8_lossy(line);
    let line = text.trim();
    let (header, body) = split_header(line, OffsetDateTime::now_utc(), UtcOffset::UTC);
    let body = body.strip_prefix('\u{feff}').unwrap_or(body).trim_start();
    let app = header.as_ref().and_then(|header| header.appname);
    match (SyslogBody::detect(body, app), header) {
        (Some(_), _) => LineKind::Syslog,
        (None, Some(_)) => LineKind::Undecided,
        (None, None) => LineKind::Other,
    }
}

/// Parses an address value, for the body decoders.
pub(crate) fn parse_ip(value: &str) -> Option<IpAddr> {
    value.parse().ok()
}

/// Returns the ECS `network.transport` name of a protocol written as a
/// name in any case or as an IP protocol number.
pub(crate) fn transport_name(protocol: &str) -> Cow<'_, str> {
    let known = match protocol {
        "6" => Some("tcp"),
        "17" => Some("udp"),
        "1" => Some("icmp"),
        "58" => Some("ipv6-icmp"),
        "2" => Some("igmp"),
        "47" => Some("gre"),
        "50" => Some("esp"),
        "132" => Some("sctp"),
        _ if protocol.eq_ignore_ascii_case("icmpv6") => Some("ipv6-icmp"),
        _ => None,
    };
    if let Some(name) = known {
        return Cow::Borrowed(name);
    }
    if protocol.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(protocol.to_ascii_lowercase())
    } else {
        Cow::Borrowed(protocol)
    }
}

/// Adds `value` as the file hash that its length indicates. Returns false,
/// adding nothing, for a value that is no MD5, SHA-1, SHA-256 or SHA-512
/// hex digest.
pub(crate) fn observe_digest<'l>(record: &mut Record<'l>, value: Cow<'l, str>) -> bool {
    if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let field = match value.len() {
        32 => Field::FileMd5,
        40 => Field::FileSha1,
        64 => Field::FileSha256,
        128 => Field::FileSha512,
        _ => return false,
    };
    record.observe(field, value);
    true
}

/// Adds a URL and its host as `url.domain`, so that a domain indicator
/// matches a URL. The host is left out when it equals `known_host`, a
/// host name the caller took from another field of the line.
pub(crate) fn observe_url<'l>(record: &mut Record<'l>, url: Cow<'l, str>, known_host: Option<&str>) {
    if let Some(canonical) = CanonicalUrl::observed(&url) {
        let host = canonical.host();
        if !known_host.is_some_and(|known| known.trim_end_matches('.').eq_ignore_ascii_case(host)) {
            record.observe(Field::UrlDomain, host.to_owned());
        }
    }
    record.observe(Field::UrlFull, url);
}

/// Formats epoch digits (seconds, milliseconds, microseconds or
/// nanoseconds, distinguished by their count) as `seconds.fraction`, the
/// epoch form that record timestamps accept.
pub(crate) fn epoch_timestamp(digits: &str) -> Option<String> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction_digits = match digits.len() {
        0..=11 => 0,
        12..=14 => 3,
        15..=17 => 6,
        _ => 9,
    };
    let (seconds, fraction) = digits.split_at(digits.len() - fraction_digits);
    if fraction.is_empty() {
        Some(seconds.to_owned())
    } else {
        Some(format!("{seconds}.{fraction}"))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{datetime, offset};

    use super::*;
    use crate::Format;
    use crate::testing::{context, pairs};

    fn at(now: OffsetDateTime) -> SyslogDecoder {
        SyslogDecoder::new().with_clock(move || now)
    }

    #[test]
    fn year_is_closest_not_over_a_day_ahead() {
        let rows = [
            // (now, [month, day, hour, minute, second], expected year)
            (datetime!(2026-12-04 22:00 UTC), [8, 20, 0, 1, 5], 2026),
            (datetime!(2027-01-01 00:30 UTC), [12, 31, 23, 59, 0], 2026),
            (datetime!(2027-01-01 00:30 UTC), [1, 1, 10, 0, 0], 2027),
            (datetime!(2026-12-31 23:00 UTC), [1, 1, 5, 0, 0], 2027),
            (datetime!(2026-12-30 12:00 UTC), [1, 1, 5, 0, 0], 2026),
            (datetime!(2026-03-10 12:00 UTC), [3, 11, 11, 0, 0], 2026),
            (datetime!(2026-03-10 12:00 UTC), [3, 11, 13, 0, 0], 2025),
            (datetime!(2026-03-01 00:00 UTC), [2, 29, 12, 0, 0], 2024),
            (datetime!(2028-03-01 00:00 UTC), [2, 29, 12, 0, 0], 2028),
            (datetime!(2026-06-01 00:00 UTC), [2, 30, 12, 0, 0], 2026),
            (datetime!(2026-06-01 00:00 UTC), [13, 1, 0, 0, 0], 2026),
        ];
        for (now, parts, expected) in rows {
            assert_eq!(
                resolve_year(parts, now, UtcOffset::UTC),
                expected,
                "{now} {parts:?}"
            );
        }
    }

    #[test]
    fn year_uses_the_header_offset() {
        let now = datetime!(2026-03-10 12:00 UTC);
        // 13:00 at UTC-2 is 15:00 UTC, more than a day after 2026-03-10 12:00
        // when on March 11.
        assert_eq!(resolve_year([3, 11, 13, 0, 0], now, offset!(-2)), 2025);
        assert_eq!(resolve_year([3, 11, 13, 0, 0], now, offset!(+2)), 2026);
    }

    /// Header forms: `(line, timestamp, host, app, pid, body)`.
    #[test]
    fn header_forms() {
        let now = datetime!(2026-12-04 22:00 UTC);
        type Row = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
        );
        let rows: [Row; 12] = [
            (
                "Aug 20 00:01:05 localhost kernel: [3217909.838554] [UFW BLOCK] IN=eth0",
                Some("2026-08-20T00:01:05.000000Z"),
                Some("localhost"),
                Some("kernel"),
                None,
                "[3217909.838554] [UFW BLOCK] IN=eth0",
            ),
            (
                "<134>Jul  3 19:10:30 filterlog[72237]: 146,,,1535324496,igb1.12",
                Some("2026-07-03T19:10:30.000000Z"),
                None,
                Some("filterlog"),
                Some("72237"),
                "146,,,1535324496,igb1.12",
            ),
            (
                "<134>Jul  3 19:10:30 fw1 filterlog[72237]: 146,,,1",
                Some("2026-07-03T19:10:30.000000Z"),
                Some("fw1"),
                Some("filterlog"),
                Some("72237"),
                "146,,,1",
            ),
            (
                "<14>Jan  1 10:00:00 fw CEF:0|a|b|c|d|e|5|src=1.2.3.4",
                Some("2026-01-01T10:00:00.000000Z"),
                Some("fw"),
                None,
                None,
                "CEF:0|a|b|c|d|e|5|src=1.2.3.4",
            ),
            (
                "<14>Jan  1 10:00:00 CEF:0|a|b|c|d|e|5|src=1.2.3.4",
                Some("2026-01-01T10:00:00.000000Z"),
                None,
                None,
                None,
                "CEF:0|a|b|c|d|e|5|src=1.2.3.4",
            ),
            (
                "<189>Jan  1 10:00:00 fw date=2024-01-01 time=10:00:00 srcip=1.2.3.4",
                Some("2026-01-01T10:00:00.000000Z"),
                Some("fw"),
                None,
                None,
                "date=2024-01-01 time=10:00:00 srcip=1.2.3.4",
            ),
            (
                "<189>date=2024-01-01 time=10:00:00 srcip=1.2.3.4",
                None,
                None,
                None,
                None,
                "date=2024-01-01 time=10:00:00 srcip=1.2.3.4",
            ),
            (
                "<14>Jan  1 10:00:00 sensor {\"event_type\":\"alert\"}",
                Some("2026-01-01T10:00:00.000000Z"),
                Some("sensor"),
                None,
                None,
                "{\"event_type\":\"alert\"}",
            ),
            (
                "<165>1 2024-05-01T12:00:00.123+02:00 fw.example app 4242 ID47 [x@32473 a=\"1\"] \u{feff}CEF:0|a|b",
                Some("2024-05-01T10:00:00.123000Z"),
                Some("fw.example"),
                Some("app"),
                Some("4242"),
                "\u{feff}CEF:0|a|b",
            ),
            (
                "<165>1 2024-05-01T10:00:00Z fw - - - - body text",
                Some("2024-05-01T10:00:00.000000Z"),
                Some("fw"),
                None,
                None,
                "body text",
            ),
            (
                "2024-05-01T10:00:00.5+00:00 host suricata[9]: {\"a\":1}",
                Some("2024-05-01T10:00:00.500000Z"),
                Some("host"),
                Some("suricata"),
                Some("9"),
                "{\"a\":1}",
            ),
            (
                "SRC=1.2.3.4 DST=5.6.7.8",
                None,
                None,
                None,
                None,
                "SRC=1.2.3.4 DST=5.6.7.8",
            ),
        ];
        for (line, time, host, app, pid, body) in rows {
            let (header, found_body) = split_header(line, now, UtcOffset::UTC);
            assert_eq!(found_body, body, "{line}");
            let header = header.unwrap_or_default();
            assert_eq!(header.time.map(format_timestamp).as_deref(), time, "{line}");
            assert_eq!(header.hostname, host, "{line}");
            assert_eq!(header.appname, app, "{line}");
            assert_eq!(header.procid.as_deref(), pid, "{line}");
        }
    }

    #[test]
    fn header_without_pri_is_recognised() {
        let now = datetime!(2026-12-04 22:00 UTC);
        let (header, _) = split_header("Feb 20 10:47:14 debian kernel: x", now, UtcOffset::UTC);
        assert!(header.is_some());
        let (header, _) = split_header("just text", now, UtcOffset::UTC);
        assert!(header.is_none());
    }

    #[test]
    fn header_time_fills_missing_body_time() {
        let mut decoder = at(datetime!(2026-12-04 22:00 UTC));
        let line = "Aug 20 00:01:05 localhost kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=198.51.100.2 PROTO=UDP SPT=1 DPT=2";
        let record = decoder.decode(line.as_bytes()).unwrap().unwrap();
        assert_eq!(record.timestamp.as_deref(), Some("2026-08-20T00:01:05.000000Z"));
        assert_eq!(record.format, "netfilter");
        assert!(context(&record).contains(&("observer.hostname", "localhost")));
        assert!(context(&record).contains(&("process.name", "kernel")));
    }

    #[test]
    fn header_time_in_configured_offset() {
        let mut decoder = at(datetime!(2026-12-04 22:00 UTC)).with_offset(offset!(+2));
        let line = "Aug 20 02:01:05 h kernel: IN=eth0 OUT= SRC=192.0.2.1 DST=198.51.100.2";
        let record = decoder.decode(line.as_bytes()).unwrap().unwrap();
        assert_eq!(record.timestamp.as_deref(), Some("2026-08-20T00:01:05.000000Z"));
    }

    #[test]
    fn body_time_wins_over_header_time() {
        let mut decoder = at(datetime!(2026-12-04 22:00 UTC));
        let line = r#"<14>Jan  1 10:00:00 sensor suricata: {"timestamp":"2024-02-28T09:58:31.424243+0000","event_type":"dns","src_ip":"192.168.100.163","dns":{"rrname":"evil.example"}}"#;
        let record = decoder.decode(line.as_bytes()).unwrap().unwrap();
        assert_eq!(record.format, "suricata-eve");
        assert_eq!(
            record.timestamp.as_deref(),
            Some("2024-02-28T09:58:31.424243+0000")
        );
        assert!(pairs(&record).contains(&("dns.question.name", "evil.example")));
        assert!(context(&record).contains(&("process.name", "suricata")));
    }

    #[test]
    fn body_detection_per_line() {
        let mut decoder = at(datetime!(2026-12-04 22:00 UTC));
        let rows = [
            ("<14>Jan  1 10:00:00 fw CEF:0|V|P|1|100|n|5|src=192.0.2.1", "cef"),
            (
                "<134>Jul  3 19:10:30 filterlog[1]: 5,,,1000,em0,match,block,in,4,0x0,,64,1,0,none,17,udp,40,192.0.2.1,198.51.100.2,1,2,20",
                "filterlog",
            ),
            (
                "Feb 20 10:47:14 debian kernel: [  341.399450] IN= OUT=enp0s3 SRC=192.0.2.1 DST=198.51.100.2",
                "netfilter",
            ),
            (
                "<189>date=2024-01-01 time=10:00:00 srcip=192.0.2.1 dstip=198.51.100.2",
                "kv",
            ),
            (
                "<14>Jan  1 10:00:00 zeek: {\"_path\":\"conn\",\"ts\":1.5,\"id.orig_h\":\"192.0.2.1\"}",
                "zeek-json",
            ),
            ("CEF:0|V|P|1|100|n|5|dst=192.0.2.1", "cef"),
            (
                "[  341.399450] [netfilter-INPUT] IN=eth0 OUT= SRC=192.0.2.1 DST=198.51.100.2",
                "netfilter",
            ),
        ];
        for (line, format) in rows {
            let record = decoder.decode(line.as_bytes());
            assert_eq!(record.map(|r| r.map(|r| r.format)), Ok(Some(format)), "{line}");
        }
    }

    #[test]
    fn unknown_body_is_an_error() {
        let mut decoder = SyslogDecoder::new();
        let message = decoder
            .decode(b"Aug 20 00:01:05 localhost sshd[1]: Accepted password for root")
            .unwrap_err()
            .message;
        assert!(
            message.starts_with("syslog message body is in no known format: expected CEF"),
            "{message}"
        );
        assert!(message.contains("\"Accepted password for root\""), "{message}");

        // Two pairs are too few for a key=value body, and a netfilter
        // body needs IN= and OUT=.
        let message = decoder
            .decode(b"<134>Mar  1 10:00:00 fw1 kernel: SRC=203.0.113.12 DST=10.20.0.7")
            .unwrap_err()
            .message;
        assert!(
            message.contains("netfilter fields (with both IN= and OUT=)"),
            "{message}"
        );
        assert!(
            message.contains(" or at least three key=value pairs at the start of the body"),
            "{message}"
        );
        assert!(
            message.ends_with("found \"SRC=203.0.113.12 DST=10.20.0.7\""),
            "{message}"
        );

        let message = decoder.decode(b"hello world").unwrap_err().message;
        assert!(
            message.starts_with("line has no syslog header and no known message body"),
            "{message}"
        );

        let mut json = SyslogDecoder::for_body(SyslogBody::Json);
        let message = json
            .decode(b"<14>Jan  1 10:00:00 sensor suricata[7]: ")
            .unwrap_err()
            .message;
        assert_eq!(
            message,
            "syslog message has a header but no body; is the line cut off?"
        );
    }

    #[test]
    fn fixed_body_reports_its_own_error() {
        let mut decoder = SyslogDecoder::for_body(SyslogBody::Cef);
        assert_eq!(decoder.format(), "cef");
        let message = decoder
            .decode(b"<14>Jan  1 10:00:00 fw IN=eth0 OUT= SRC=192.0.2.1 DST=198.51.100.2")
            .unwrap_err()
            .message;
        assert!(message.starts_with("CEF"), "{message}");
    }

    #[test]
    fn blank_and_comment_lines_are_skipped() {
        let mut decoder = SyslogDecoder::new();
        for line in ["", "  ", "\r", "# comment"] {
            assert_eq!(decoder.decode(line.as_bytes()), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut decoder = SyslogDecoder::new();
        let line = b"<14>Jan  1 10:00:00 fw CEF:0|V\xff|P|1|100|n|5|src=192.0.2.1";
        let record = decoder.decode(line).unwrap().unwrap();
        assert_eq!(pairs(&record), [("source.ip", "192.0.2.1")]);
        assert!(context(&record).contains(&("observer.vendor", "V\u{FFFD}")));
    }

    #[test]
    fn classify_lines() {
        let rows: [(&str, LineKind); 7] = [
            (
                "Aug 20 00:01:05 localhost kernel: [1.0] [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.2",
                LineKind::Syslog,
            ),
            (
                "Aug 20 00:01:05 localhost sshd[1]: Accepted password",
                LineKind::Undecided,
            ),
            ("CEF:0|a|b|c|d|e|5|src=192.0.2.1", LineKind::Syslog),
            ("date=2024-01-01 time=10:00:00 srcip=192.0.2.1", LineKind::Syslog),
            ("1541117137.618695\tCYtJYz4gNk3t5ZEt2", LineKind::Other),
            ("hello world", LineKind::Other),
            ("1.2.3.4,example", LineKind::Other),
        ];
        for (line, expected) in rows {
            assert_eq!(classify(line.as_bytes()), expected, "{line}");
        }
    }

    /// Decodes every prefix of each sample line and every variant with one
    /// byte replaced by a byte that a header or body format treats
    /// specially. The check is that nothing panics; errors are expected.
    #[test]
    fn damaged_lines_never_panic() {
        let samples = [
            "<134>Jul  3 19:10:30 fw filterlog[72237]: 146,,,1535324496,igb1.12,match,block,in,6,0x00,0xf6279,1,TCP,6,32,fe80::1,ff02::1:2,546,547,32,S,1,,64240,,mss",
            "Aug 20 00:01:05 localhost kernel: [3217909.838554] [UFW BLOCK] IN=eth0 OUT= SRC=109.205.213.90 DST=194.58.102.129 PROTO=ICMP TYPE=3 [SRC=1.2.3.4 DST=5.6.7.8 SPT=1 DPT=2 ] SPT=5",
            "<165>1 2024-05-01T12:00:00.123+02:00 fw app 42 ID [x@1 a=\"1\"] \u{feff}CEF:0|V\\|x|P|1|100|n|5|src=192.0.2.1 spt=1 request=/a\\=b dhost=h shost=::1 rt=Jan 01 2024 10:00:00.5 UTC fileHash=00",
            "<189>date=2024-01-01 time=10:00:00 tz=\"+0100\" srcip=192.0.2.1:80 url=\"/a \\\"b\" hostname=h to=\"a@b;c@d\" eventtime=1704103200123",
            "Oct 30 09:46:12 1,2012/10/30 09:46:12,01,THREAT,url,1,2012/04/10 04:39:58,192.168.0.2,67.43.156.12,0.0.0.0,0.0.0.0,r,,,a,v,t,u,e1,e2,f,2012/04/10 04:39:59,1,1,5,80,0,0,0x0,tcp,allow,\"h/p\"\"q\",x",
            "<14>Jan  1 10:00:00 sensor suricata[7]: {\"event_type\":\"dns\",\"src_ip\":\"10.0.0.1\",\"dns\":{\"rrname\":\"a.example\"}}",
        ];
        let specials = [
            b'<', b'>', b'[', b']', b'|', b'\\', b'=', b'"', b',', b':', b' ', b'.', b'0', 0xff, 0xc3,
        ];
        let mut decoder = SyslogDecoder::new().with_clock(|| datetime!(2024-02-29 12:00 UTC));
        for sample in samples {
            let bytes = sample.as_bytes();
            for end in 0..=bytes.len() {
                let _ = decoder.decode(bytes.get(..end).unwrap_or_default());
                let _ = classify(bytes.get(..end).unwrap_or_default());
            }
            let mut damaged = bytes.to_vec();
            for position in 0..bytes.len() {
                for special in specials {
                    let original = damaged[position];
                    damaged[position] = special;
                    let _ = decoder.decode(&damaged);
                    damaged[position] = original;
                }
            }
        }
    }

    #[test]
    fn detect_format_on_syslog_heads() {
        let rows: [(&str, Option<Format>); 6] = [
            (
                "Aug 20 00:01:05 host sshd[1]: Accepted password\nAug 20 00:01:06 host kernel: [1.0] [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.2\n",
                Some(Format::Syslog),
            ),
            ("Aug 20 00:01:05 host sshd[1]: Accepted password\n", None),
            ("Aug 20 00:01:05 host sshd[1]: Accepted password\nhello\n", None),
            (
                "\n<134>Jul  3 19:10:30 filterlog[1]: 5,,,1000,em0,match,block,in,4\n",
                Some(Format::Syslog),
            ),
            ("CEF:0|a|b|c|d|e|5|src=192.0.2.1\n", Some(Format::Syslog)),
            (
                "<14>Jan  1 10:00:00 sensor suricata: {\"event_type\":\"dns\"}\n",
                Some(Format::Syslog),
            ),
        ];
        for (head, expected) in rows {
            assert_eq!(crate::detect_format(head.as_bytes()), expected, "{head}");
        }
    }

    #[test]
    fn epoch_forms() {
        let rows = [
            ("1704103200", Some("1704103200")),
            ("1704103200123", Some("1704103200.123")),
            ("1704103200123456", Some("1704103200.123456")),
            ("1704103200123456789", Some("1704103200.123456789")),
            ("17041x", None),
            ("", None),
        ];
        for (digits, expected) in rows {
            assert_eq!(epoch_timestamp(digits).as_deref(), expected, "{digits}");
        }
    }

    #[test]
    fn transport_names() {
        let rows = [
            ("TCP", "tcp"),
            ("6", "tcp"),
            ("udp", "udp"),
            ("ICMPv6", "ipv6-icmp"),
            ("Foo", "foo"),
        ];
        for (protocol, expected) in rows {
            assert_eq!(transport_name(protocol), expected);
        }
    }
}
