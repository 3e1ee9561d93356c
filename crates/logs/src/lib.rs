//! Log decoders: each turns one line of a log format into a
//! [`Record`] of ECS-named observables.
//!
//! A decoder never fails the stream: a malformed line is returned as a
//! [`DecodeError`] that the caller counts and reports, and the next line
//! is decoded as usual.
//!
//! Three decoders cover the supported formats:
//!
//! - [`ZeekTsvDecoder`] reads Zeek's tab-separated logs, driven by their
//!   `#` header lines.
//! - [`JsonDecoder`] reads JSON lines and decides for each line whether it
//!   is a Suricata EVE event, a Zeek JSON record, a Sysmon event or an ECS
//!   document, so one stream may mix them.
//! - [`SyslogDecoder`] reads what firewalls and sensors send over syslog:
//!   an optional syslog header, then a netfilter, pfSense filterlog,
//!   PAN-OS, CEF, `key=value` or JSON body, decided per line.
//!
//! [`detect_format`] picks between them from the first bytes of a file,
//! and [`new_decoder`] builds the matching decoder. [`DecoderChoice`]
//! parses a format name from configuration.

#![deny(missing_docs)]

use std::ops::Range;

use iocwatch_model::Record;

mod bytes;
mod cef;
mod choice;
mod ecs;
mod eve;
mod filterlog;
mod json;
mod json_screen;
mod json_template;
mod kv;
mod lenient;
mod masks;
mod netfilter;
mod panos;
mod syslog;
mod sysmon;
#[cfg(test)]
mod testing;
mod zeek;
mod zeek_json;
mod zeek_tsv;

pub use choice::{DecoderChoice, UnknownFormat};
pub use json::JsonDecoder;
pub use masks::byte_mask;
pub use syslog::{SyslogBody, SyslogDecoder};
pub use zeek_tsv::ZeekTsvDecoder;

/// A decoder for one log stream (one file, one connection).
///
/// Decoders are stateful where the format needs it: a Zeek TSV decoder
/// remembers the last `#fields` header it saw.
pub trait Decoder: Send {
    /// Decodes one line, given without its line terminator (a trailing CR
    /// may remain). Returns `Ok(None)` for lines that carry no event:
    /// headers, comments, blank lines.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] for a malformed line.
    fn decode<'l>(&mut self, line: &'l [u8]) -> Result<Option<Record<'l>>, DecodeError>;

    /// Returns the format name used in statistics for lines this decoder
    /// rejects.
    fn format(&self) -> &'static str;

    /// Screens a line for a scan's fast path, which skips the decode of
    /// lines that cannot match.
    ///
    /// Returns the format of the record that [`Decoder::decode`] would
    /// return for this line, when the decoder can tell cheaply that the
    /// line decodes without error. The decoder then pushes to `values` the
    /// byte ranges that the observables of that record are read from,
    /// leaving out those in fields no indicator can match. Each
    /// observable is a literal substring of one range (a whole value, a
    /// set element, a host), or is assembled from such substrings (a URL
    /// from its host and path). A path given apart from its host may be
    /// left out, since the line filter judges a URL by its host. The
    /// exception is a range that contains a backslash or a byte outside
    /// ASCII, which the line filter of a scan treats as possibly anything.
    /// Screening updates the decoder's state as a decode would.
    ///
    /// Returns `None` when the line must be decoded in full: headers,
    /// malformed lines, escapes, bytes outside ASCII, anything unusual.
    /// The default screens no line.
    fn screen(&mut self, line: &[u8], values: &mut Vec<Range<usize>>) -> Option<&'static str> {
        let _ = (line, values);
        None
    }
}

/// Why one line could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// Description of the problem, naming the field or column at fault
    /// where there is one.
    pub message: String,
}

impl DecodeError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The framing of a log file, as far as it decides which decoder reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Zeek's tab-separated logs with `#` header lines.
    ZeekTsv,
    /// One JSON object per line: Suricata EVE, Zeek JSON, Sysmon or ECS.
    Json,
    /// Text lines, each an optional syslog header and then a body in any
    /// [`SyslogBody`] format, decided per line.
    Syslog,
    /// Like [`Format::Syslog`], but every body is read in the one given
    /// format.
    SyslogBody(SyslogBody),
}

/// Detects the format of a log from its first bytes, after any gzip
/// decompression.
///
/// Blank lines and `#` comment lines are skipped until a line decides:
/// `#separator` or `#fields` means Zeek TSV, a line starting with `{` means
/// JSON lines unless it opens a JSON document written over several lines
/// or is an object with no key that the EVE, Zeek, Sysmon or ECS reader
/// reads (Windows events of providers other than Sysmon, say),
/// and a line in a [`SyslogBody`] format, with or without a syslog
/// header, means syslog. A syslog line whose body is in no known
/// format (a `sshd` message in a kernel log) is skipped as well, so the
/// next line can decide. One line of other text may come first when the
/// next line decides, such as the end of a line cut where a file was
/// split or rotated. The scan then reports it as a malformed line. A JSON object after it must be whole, so that a text with a
/// JSON document in it is not taken for a log. Returns `None` when no
/// line decides, for example when the head holds only comments or starts
/// with more text. A UTF-8 byte order mark at the start is ignored.
pub fn detect_format(head: &[u8]) -> Option<Format> {
    let mut rest = Some(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head));
    // Whether a line of other text came first.
    let mut after_other = false;
    while let Some(text) = rest {
        // The bytes after the line, `None` when no newline ends it.
        let line;
        (line, rest) = match memchr::memchr(b'\n', text) {
            Some(end) => (&text[..end], text.get(end + 1..)),
            None => (text, None),
        };
        let line = line.trim_ascii_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(b"#separator") || line.starts_with(b"#fields") {
            return Some(Format::ZeekTsv);
        }
        if line.starts_with(b"#") {
            continue;
        }
        if line.first() == Some(&b'{') {
            if after_other {
                return (is_json_value(line) && json::has_known_key(line)).then_some(Format::Json);
            }
            return (!is_multiline_json(line, rest) && json::has_known_key(line)).then_some(Format::Json);
        }
        match syslog::classify(line) {
            syslog::LineKind::Syslog => return Some(Format::Syslog),
            syslog::LineKind::Undecided => continue,
            syslog::LineKind::Other if after_other => return None,
            syslog::LineKind::Other => after_other = true,
        }
    }
    None
}

/// Returns true when the first line of `head` that is not blank or a
/// comment is a JSON object with no key that the EVE, Zeek, Sysmon or ECS
/// reader reads, such as a Windows event of another provider. [`detect_format`]
/// returns `None` for such a head.
pub fn is_unknown_json_lines(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = head
        .split(|&byte| byte == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|line| !line.is_empty() && !line.starts_with(b"#"));
    first.is_some_and(|line| line.starts_with(b"{") && is_json_value(line) && !json::has_known_key(line))
}

/// Returns true when `line` is one whole JSON value.
fn is_json_value(line: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

/// Returns true when `line`, the first line that starts with `{`, opens a
/// JSON document written over several lines, such as a STIX bundle or a
/// pretty-printed object, rather than a log of one object per line. Such a
/// line is not JSON by itself, and the next line, in `rest`, does not
/// start a new object. A line that no newline ends, cut by the end of the
/// sniffed head, counts as one object.
fn is_multiline_json(line: &[u8], rest: Option<&[u8]>) -> bool {
    let Some(rest) = rest else {
        return false;
    };
    if is_json_value(line) {
        return false;
    }
    let next = rest
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|next| !next.is_empty());
    next.is_some_and(|next| next.first() != Some(&b'{'))
}

/// Builds a fresh decoder for `format`.
pub fn new_decoder(format: Format) -> Box<dyn Decoder> {
    new_file_decoder(format, None)
}

/// Builds a fresh decoder for `format` that reads a file last written at
/// `modified`, when it is known. An RFC 3164 header time, which has no
/// year, then gets the year that puts it closest to that time rather than
/// to the current time, so an old log keeps its year.
pub fn new_file_decoder(format: Format, modified: Option<time::OffsetDateTime>) -> Box<dyn Decoder> {
    let clocked = |decoder: SyslogDecoder| match modified {
        Some(modified) => decoder.with_clock(move || modified),
        None => decoder,
    };
    match format {
        Format::ZeekTsv => Box::new(ZeekTsvDecoder::new()),
        Format::Json => Box::new(JsonDecoder::new()),
        Format::Syslog => Box::new(clocked(SyslogDecoder::new())),
        Format::SyslogBody(body) => Box::new(clocked(SyslogDecoder::for_body(body))),
    }
}

/// Maximum number of characters of a log value quoted in an error message.
const EXCERPT_CHARS: usize = 80;

/// Quotes `bytes` for an error message: lossy UTF-8, at most
/// [`EXCERPT_CHARS`] characters, with `…` when cut.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut quoted: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        quoted.push('…');
    }
    format!("{quoted:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_format_cases() {
        let rows: [(&[u8], Option<Format>); 30] = [
            (b"#separator \\x09\n#set_separator\t,\n", Some(Format::ZeekTsv)),
            (b"#fields\tts\tuid\n", Some(Format::ZeekTsv)),
            (b"### BTest baseline\n#separator \\x09\n", Some(Format::ZeekTsv)),
            (b"{\"ts\":1}\n", Some(Format::Json)),
            (b"\n\n  {\"event_type\":\"flow\"}", Some(Format::Json)),
            (b"\xEF\xBB\xBF{\"@timestamp\":1}", Some(Format::Json)),
            (b"{\"source.ip\":\"192.0.2.1\"}\n", Some(Format::Json)),
            (b"{\"tls\":{\"client\":{}}}\n", Some(Format::Json)),
            // Objects with no key any of the readers reads, such as
            // Windows events of providers other than Sysmon, are not a
            // supported log.
            (b"{\"Event\":{\"System\":{\"EventID\":3}}}\n", None),
            (
                b"{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Security-Auditing\"}},\"EventID\":4624}}}\n",
                None,
            ),
            // Sysmon events are a supported log.
            (
                b"{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Sysmon\"}},\"EventID\":3},\"EventData\":{}}}\n",
                Some(Format::Json),
            ),
            (b"{\"foo\":\"bar\",\"n\":1}\n{\"foo\":\"baz\"}\n", None),
            (b"### BTest baseline\n{\"ts\":1}", Some(Format::Json)),
            (b"1541117137.618695\tCYtJYz4gNk3t5ZEt2\n", None),
            (b"[1,2]\n", None),
            // JSON documents over several lines are not logs.
            (b"{\n  \"type\": \"bundle\",\n  \"objects\": []\n}\n", None),
            (b"{\"type\": \"bundle\",\n\"id\": \"x\"}\n", None),
            // A damaged first line of a log, a first line the head cuts,
            // and a single document on one line stay JSON lines.
            (b"{\"ts\":1\n{\"ts\":2}\n", Some(Format::Json)),
            (b"{\"ts\":1,\"uid\":\"C", Some(Format::Json)),
            (b"{\"ts\":1}\n\n\n", Some(Format::Json)),
            (b"{\n", Some(Format::Json)),
            (b"# only a comment\n", None),
            (b"", None),
            // One line of other text before the log: the end of a line
            // cut off, or a line of garbage.
            (
                b"_ip\":\"10.0.0.1\",\"dest_port\":53}\n{\"ts\":1}\n",
                Some(Format::Json),
            ),
            (b"garbage first line\n\n{\"ts\":1}\n", Some(Format::Json)),
            (b"garbage\n#fields\tts\tuid\n", Some(Format::ZeekTsv)),
            // More text, or a JSON document after text, is no log.
            (b"first line\nsecond line\n{\"ts\":1}\n", None),
            (b"Example:\n{\n  \"ts\": 1\n}\n", None),
            (b"Example:\n{\"ts\":1,\n", None),
            (b"just one line of text\n", None),
        ];
        for (head, expected) in rows {
            assert_eq!(
                detect_format(head),
                expected,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn new_decoder_formats() {
        assert_eq!(new_decoder(Format::ZeekTsv).format(), "zeek-tsv");
        assert_eq!(new_decoder(Format::Json).format(), "json");
    }

    /// Decodes every prefix of each sample line and every variant with one
    /// byte replaced by a byte that JSON or Zeek TSV treats specially. The
    /// check is that nothing panics; errors are expected.
    #[test]
    fn damaged_lines_never_panic() {
        let tsv_header = [
            "#separator \\x09",
            "#set_separator\t,",
            "#path\tdns",
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers\thost\turi",
        ];
        let samples: [(Format, &str); 6] = [
            (
                Format::ZeekTsv,
                "1.0\tC1\t10.0.0.1\t53\t[2001:db8::1]\t65535\ta\\x2cb.example\\\\\tx,192.0.2.1,(empty)\thost:80\t/p?q",
            ),
            (
                Format::Json,
                r#"{"timestamp":"2024-02-28T09:58:31+0000","flow_id":1,"event_type":"alert","src_ip":"10.0.0.1","src_port":1,"dest_ip":"::1","dest_port":2,"proto":"TCP","alert":{"signature":"x","signature_id":2},"dns":{"version":2,"query":[{"rrname":"a.example"}],"answers":[{"rrtype":"A","rdata":"192.0.2.1"}],"grouped":{"A":["192.0.2.2"]}},"http":{"hostname":"h","http_port":81,"url":"/u","http_user_agent":"ua"},"tls":{"sni":"s","ja3":{"hash":"h"},"fingerprint":"aa:bb"},"smtp":{"mail_from":"<a@b>","rcpt_to":["<c@d>"]},"email":{"from":"e@f","to":["g@h"]},"fileinfo":{"md5":"m"}}"#,
            ),
            (
                Format::Json,
                r#"{"_path":"http","ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":8080,"host":"a.example:8080","uri":"/x\u0041","user_agent":"ua","tags":[],"src":"10.0.0.9"}"#,
            ),
            (
                Format::Json,
                r#"{"@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"10.0.0.1","port":"1"},"destination.ip":"10.0.0.2","url":{"original":"/x","domain":"[::1]:80"},"dns":{"answers":[{"data":"192.0.2.1"}]},"related.ip":["10.0.0.3"],"email":{"to":{"address":["a@b"]}}}"#,
            ),
            (
                Format::Json,
                r#"{"ts":"2018-03-24T17:15:20Z","fingerprint":"ab","certificate.subject":"CN=x","san.dns":["a"],"san.ip":["192.0.2.1"]}"#,
            ),
            (
                Format::Json,
                r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":{"#text":3},"TimeCreated":{"#attributes":{"SystemTime":"2024-01-01T00:00:00Z"}},"Computer":"h"},"EventData":{"UtcTime":"2024-01-01 00:00:00.000","Image":"C:\\a.exe","Initiated":"false","SourceIp":"10.0.0.1","SourcePort":"1","DestinationIp":"::ffff:192.0.2.1","DestinationPort":2,"DestinationHostname":"d.example","QueryName":"q","QueryResults":"type:  5 c;192.0.2.2;","Hashes":"MD5=00,SHA256=11,IMPHASH=22"}}}"##,
            ),
        ];
        let specials = [
            b'"', b'\\', b'\t', b'{', b'}', b'[', b',', b':', b'.', b'-', b'0', 0xff, 0xc3,
        ];
        for (format, sample) in samples {
            let mut decoder = new_decoder(format);
            if format == Format::ZeekTsv {
                for header in tsv_header {
                    assert_eq!(decoder.decode(header.as_bytes()), Ok(None), "{header}");
                }
            }
            let bytes = sample.as_bytes();
            for end in 0..=bytes.len() {
                let _ = decoder.decode(bytes.get(..end).unwrap_or_default());
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
    fn excerpt_truncates_long_values() {
        let long = "a".repeat(200);
        let quoted = excerpt(long.as_bytes());
        assert_eq!(quoted.chars().filter(|c| *c == 'a').count(), EXCERPT_CHARS);
        assert!(quoted.ends_with("…\""), "{quoted}");
        assert_eq!(excerpt(b"short"), "\"short\"");
    }
}
