//! The JSON lines decoder: reads each line as Suricata EVE, Zeek JSON,
//! a Sysmon event or ECS, deciding per line, so one stream may mix them.
//!
//! The decision costs almost nothing for the common cases. A substring
//! search for a key sends the line to the format that has it, and that
//! format's reader confirms that the key is at the top level:
//!
//! 1. `"event_type"` at the top level: Suricata EVE.
//! 2. `"_path"`, `"ts"`, `"uid"` or `"id.orig_h"` at the top level: Zeek.
//! 3. `"Microsoft-Windows-Sysmon"` as the provider of a top-level `Event`
//!    object: Sysmon.
//! 4. Anything else: ECS.
//!
//! A line whose key is only nested (an ECS document that keeps the EVE
//! event under `suricata.eve`) is parsed a second time as the next format.

use std::borrow::Cow;
use std::ops::Range;

use iocwatch_model::{Endpoint, Observed, Record};
use memchr::memmem::Finder;

use crate::json_screen::{self, ScreenBuffers};
use crate::{DecodeError, Decoder, ecs, eve, excerpt, sysmon, zeek_json};

/// The top-level keys that make a line Zeek JSON.
const ZEEK_KEYS: [&str; 4] = ["_path", "ts", "uid", "id.orig_h"];

/// Returns whether the JSON object `line` has a top-level key that one of
/// the formats reads: `event_type` (EVE), a Zeek key, an ECS object the
/// decoder reads, or `Event` containing a Sysmon event. Returns true for a
/// line that is not one JSON object, which the decoder then reports as
/// malformed.
pub(crate) fn has_known_key(line: &[u8]) -> bool {
    let Ok(object) =
        serde_json::from_slice::<std::collections::BTreeMap<String, serde::de::IgnoredAny>>(line)
    else {
        return true;
    };
    object.keys().any(|key| {
        key == "event_type"
            || ZEEK_KEYS.contains(&key.as_str())
            || ecs::reads_key(key)
            || (key == "Event" && sysmon::is_sysmon_event(line))
    })
}

/// Decoder for JSON lines: Suricata EVE, Zeek JSON, Sysmon events and ECS
/// documents, detected line by line.
///
/// Records of EVE and Zeek lines borrow their values from the line. Sysmon
/// and ECS records own theirs, and so do records of lines that are not valid
/// UTF-8, which are decoded after replacing the invalid bytes with U+FFFD.
/// Blank lines and lines starting with `#` are skipped.
pub struct JsonDecoder {
    event_type: Finder<'static>,
    zeek_keys: [Finder<'static>; 4],
    sysmon_provider: Finder<'static>,
    screen_buffers: ScreenBuffers,
}

impl Default for JsonDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for JsonDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonDecoder").finish_non_exhaustive()
    }
}

impl JsonDecoder {
    /// Creates a decoder for a JSON lines stream.
    pub fn new() -> Self {
        Self {
            event_type: Finder::new(b"\"event_type\"").into_owned(),
            zeek_keys: ZEEK_KEYS.map(|key| Finder::new(format!("\"{key}\"").as_bytes()).into_owned()),
            sysmon_provider: Finder::new(format!("\"{}\"", sysmon::PROVIDER).as_bytes()).into_owned(),
            screen_buffers: ScreenBuffers::default(),
        }
    }

    /// Returns how many lines the screen read along a template.
    #[cfg(test)]
    pub(crate) fn template_hits(&self) -> u64 {
        self.screen_buffers.template_hits()
    }

    /// Returns the memory the screen's templates take, in bytes.
    #[cfg(test)]
    pub(crate) fn template_memory(&self) -> usize {
        self.screen_buffers.template_memory()
    }

    fn decode_text<'l>(&self, line: &'l [u8]) -> Result<Option<Record<'l>>, DecodeError> {
        let line = line.trim_ascii();
        match line.first() {
            None | Some(b'#') => return Ok(None),
            Some(b'{') => {}
            Some(_) => {
                return Err(DecodeError::new(format!(
                    "line is not a JSON object: {}",
                    excerpt(line)
                )));
            }
        }

        if self.event_type.find(line).is_some()
            && let Some(record) = eve::decode(line).map_err(|err| json_error(line, &err))?
        {
            return Ok(Some(record));
        }
        if self.zeek_keys.iter().any(|key| key.find(line).is_some())
            && let Some(record) = zeek_json::decode(line).map_err(|err| json_error(line, &err))?
        {
            return Ok(Some(record));
        }
        if self.sysmon_provider.find(line).is_some()
            && let Some(record) = sysmon::decode(line)?
        {
            return Ok(Some(record));
        }
        ecs::decode(line).map(Some)
    }
}

impl Decoder for JsonDecoder {
    fn decode<'l>(&mut self, line: &'l [u8]) -> Result<Option<Record<'l>>, DecodeError> {
        match self.decode_text(line) {
            Err(_) if std::str::from_utf8(line).is_err() => {
                let text = String::from_utf8_lossy(line);
                let record = self.decode_text(text.as_bytes())?;
                Ok(record.map(into_owned))
            }
            decoded => decoded,
        }
    }

    /// `json`: a line this decoder rejects may belong to any of its formats.
    fn format(&self) -> &'static str {
        "json"
    }

    /// Leaves a line that would be read as ECS but names the Sysmon
    /// provider to the full decode, because a Sysmon value such as
    /// `Hashes` or `QueryResults` contains several observables in one
    /// string. A line screened as EVE or Zeek decodes as that format
    /// before the Sysmon reader is tried, so it needs no such search.
    fn screen(&mut self, line: &[u8], values: &mut Vec<Range<usize>>) -> Option<&'static str> {
        let values_before = values.len();
        let event_type = &self.event_type;
        let has_event_type = || event_type.find(line).is_some();
        let zeek_keys = &self.zeek_keys;
        let zeek_candidate = || zeek_keys.iter().any(|key| key.find(line).is_some());
        let format = json_screen::screen(
            line,
            has_event_type,
            zeek_candidate,
            &mut self.screen_buffers,
            values,
        )?;
        if format == "ecs" && self.sysmon_provider.find(line).is_some() {
            values.truncate(values_before);
            return None;
        }
        Some(format)
    }
}

/// Describes a serde_json error on `line`: where it is, what is wrong and
/// the text found there.
pub(crate) fn json_error(line: &[u8], err: &serde_json::Error) -> DecodeError {
    let column = err.column();
    let full = err.to_string();
    let reason = full
        .rfind(" at line ")
        .and_then(|position| full.get(..position))
        .unwrap_or(&full);
    let found = line.get(column.saturating_sub(1)..).unwrap_or_default();
    if err.is_eof() {
        DecodeError::new(format!(
            "invalid JSON: {reason}; the line ends early, is it cut off?"
        ))
    } else if column == 0 || found.is_empty() {
        DecodeError::new(format!("invalid JSON: {reason}"))
    } else {
        DecodeError::new(format!(
            "invalid JSON at column {column}: {reason}, found {}",
            excerpt(found)
        ))
    }
}

/// Copies every borrowed value of `record`, so it outlives its line.
pub(crate) fn into_owned(record: Record<'_>) -> Record<'static> {
    fn own(value: Cow<'_, str>) -> Cow<'static, str> {
        Cow::Owned(value.into_owned())
    }
    fn own_endpoint(endpoint: Endpoint<'_>) -> Endpoint<'static> {
        Endpoint {
            ip: own(endpoint.ip),
            port: endpoint.port,
        }
    }
    Record {
        format: record.format,
        dataset: own(record.dataset),
        timestamp: record.timestamp.map(own),
        source: record.source.map(own_endpoint),
        destination: record.destination.map(own_endpoint),
        observables: record
            .observables
            .into_iter()
            .map(|observed| Observed {
                field: observed.field,
                value: own(observed.value),
                port: observed.port,
            })
            .collect(),
        context: record
            .context
            .into_iter()
            .map(|(name, value)| (name, own(value)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{decode_lines, pairs};

    #[test]
    fn mixed_stream_picks_format_per_line() {
        let text = [
            r#"{"timestamp":"2024-02-28T09:58:31.424243+0000","flow_id":2103584792248491,"event_type":"dns","src_ip":"192.168.100.163","src_port":65423,"dest_ip":"192.168.100.2","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"query","id":24627,"rrname":"ocsp.digicert.com","rrtype":"A"}}"#,
            r#"{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"C1","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"query":"ise.wrccdc.org"}"#,
            r#"{"ts":1332008617.54,"uid":"C2","id.orig_h":"192.168.202.138","id.orig_p":36510,"id.resp_h":"192.168.21.253","id.resp_p":443,"server_name":"example.org"}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"dataset":"suricata.eve","kind":"event"},"suricata":{"eve":{"event_type":"dns"}},"dns":{"question":{"name":"ecs.example"}}}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00Z","source.ip":"10.0.0.1","zeek":{"session_id":"C3","ts":1}}"#,
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":22,"Computer":"ws-1"},"EventData":{"QueryName":"sysmon.example","QueryResults":"192.0.2.7;"}}}"##,
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3},"EventData":{"DestinationIp":"192.0.2.8","ts":1}},"event_type":"flow","src_ip":"10.0.0.2"}"##,
        ]
        .join("\n");
        let mut decoder = JsonDecoder::new();
        let records: Vec<_> = decode_lines(&mut decoder, &text)
            .into_iter()
            .map(|record| record.expect("every sample line decodes"))
            .collect();
        let formats: Vec<_> = records
            .iter()
            .map(|record| (record.format, record.dataset.as_ref()))
            .collect();
        assert_eq!(
            formats,
            [
                ("suricata-eve", "suricata.eve"),
                ("zeek-json", "zeek.dns"),
                ("zeek-json", "zeek.ssl"),
                ("ecs", "suricata.eve"),
                ("ecs", "ecs"),
                ("sysmon", "sysmon.dns"),
                ("suricata-eve", "suricata.eve"),
            ]
        );
        assert_eq!(pairs(&records[3]), [("dns.question.name", "ecs.example")]);
        assert_eq!(pairs(&records[4]), [("source.ip", "10.0.0.1")]);
        assert_eq!(
            pairs(&records[5]),
            [
                ("dns.question.name", "sysmon.example"),
                ("dns.resolved_ip", "192.0.2.7")
            ]
        );
    }

    #[test]
    fn blank_and_comment_lines_are_skipped() {
        let mut decoder = JsonDecoder::new();
        for line in [
            "",
            "   ",
            "\r",
            "### BTest baseline data generated by btest-diff.",
        ] {
            assert_eq!(decoder.decode(line.as_bytes()), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn trailing_carriage_return() {
        let mut decoder = JsonDecoder::new();
        let record = decoder
            .decode(b"{\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\"}\r")
            .ok()
            .flatten();
        assert_eq!(record.map(|record| record.format), Some("suricata-eve"));
    }

    #[test]
    fn malformed_lines_name_the_problem() {
        let rows = [
            (
                r#"{"ts":XXXXXXXXXX.XXXXXX,"uid":"CHhAvVGS1DHFjwGM9"}"#,
                r#"invalid JSON at column 7: expected value, found "XXXXXXXXXX.XXXXXX,\"uid\":\"CHhAvVGS1DHFjwGM9\"}""#,
            ),
            (
                r#"{"event_type":"flow","src_ip":"10.0"#,
                "invalid JSON: EOF while parsing a string; the line ends early, is it cut off?",
            ),
            (
                r#"{"a":1} {"b":2}"#,
                r#"invalid JSON at column 9: trailing characters, found "{\"b\":2}""#,
            ),
            (
                "1541117137.618695\tCYtJYz4gNk3t5ZEt2",
                r#"line is not a JSON object: "1541117137.618695\tCYtJYz4gNk3t5ZEt2""#,
            ),
            ("[1,2]", r#"line is not a JSON object: "[1,2]""#),
        ];
        let mut decoder = JsonDecoder::new();
        for (line, expected) in rows {
            let message = decoder.decode(line.as_bytes()).err().map(|err| err.message);
            assert_eq!(message.as_deref(), Some(expected), "{line}");
        }
    }

    #[test]
    fn long_bad_values_are_truncated() {
        let line = format!("{{\"ts\":{}}}", "x".repeat(500));
        let message = JsonDecoder::new()
            .decode(line.as_bytes())
            .expect_err("invalid JSON")
            .message;
        assert!(message.chars().count() < 200, "{message}");
        assert!(message.contains('…'), "{message}");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let line = b"{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"bad\xff.example\"}}";
        let record = JsonDecoder::new()
            .decode(line)
            .expect("decodes")
            .expect("is an event");
        assert_eq!(record.format, "suricata-eve");
        assert_eq!(pairs(&record), [("dns.question.name", "bad\u{FFFD}.example")]);
    }

    #[test]
    fn decoder_format_name() {
        assert_eq!(JsonDecoder::new().format(), "json");
    }
}
