//! Zeek's tab-separated log format (the ASCII writer's default).
//!
//! A log starts with `#` header lines that describe the lines after them
//! (tabs shown as two spaces):
//!
//! ```text
//! #separator \x09
//! #set_separator  ,
//! #empty_field  (empty)
//! #unset_field  -
//! #path  conn
//! #fields  ts  uid  id.orig_h  id.orig_p  ...
//! #types  time  string  addr  port  ...
//! ```
//!
//! A file may hold several such blocks (concatenated or rotated logs), and
//! each `#separator` starts a new one. The decoder resolves the column of
//! every field it reads once per header, so a data line costs one pass
//! over its bytes to find its columns plus the work on the few columns that
//! carry observables.

use std::borrow::Cow;
use std::ops::Range;

use iocwatch_model::Record;
use memchr::memchr;

use crate::lenient::parse_port;
use crate::zeek::{
    self, Key, KeySet, LogKind, ZeekLine, dataset_for_path, is_address_column, target_is_path,
};
use crate::{DecodeError, Decoder, bytes, excerpt, masks};

/// Decoder for Zeek TSV logs, driven by the `#` header lines it has seen.
#[derive(Debug)]
pub struct ZeekTsvDecoder {
    separator: u8,
    set_separator: u8,
    empty_field: Vec<u8>,
    unset_field: Vec<u8>,
    path: Option<String>,
    fields: Option<Vec<String>>,
    /// Column indexes for the current header, built on the first data line
    /// after a header change.
    layout: Option<Layout>,
    /// Start offset of each column of the current line after a decode, or
    /// offset of each of its first separators after a screen. Reused
    /// across lines.
    column_starts: Vec<usize>,
}

/// Column positions, under the current header, of the keys that
/// [`zeek::fill`] reads.
#[derive(Debug)]
struct Layout {
    kind: LogKind,
    dataset: Cow<'static, str>,
    columns: [Option<usize>; Key::COUNT],
    address_columns: Vec<usize>,
    /// Every column that [`zeek::fill`] may read an observable from, in
    /// order.
    observable_columns: Vec<usize>,
    width: usize,
}

impl Default for ZeekTsvDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ZeekTsvDecoder {
    /// Creates a decoder with Zeek's default header values, waiting for
    /// `#fields`.
    pub fn new() -> Self {
        Self {
            separator: b'\t',
            set_separator: b',',
            empty_field: b"(empty)".to_vec(),
            unset_field: b"-".to_vec(),
            path: None,
            fields: None,
            layout: None,
            column_starts: Vec::with_capacity(32),
        }
    }

    fn read_header(&mut self, line: &[u8]) -> Result<(), DecodeError> {
        if let Some(rest) = line.strip_prefix(b"#separator") {
            self.separator = separator_value(rest)?;
            // A new block starts: everything else must be restated.
            self.set_separator = b',';
            self.empty_field = b"(empty)".to_vec();
            self.unset_field = b"-".to_vec();
            self.path = None;
            self.fields = None;
            self.layout = None;
            return Ok(());
        }

        let (name, value) = split_header(line, self.separator);
        match name {
            b"#set_separator" => {
                let unescaped = unescape(value);
                let &[byte] = unescaped.as_bytes() else {
                    return Err(DecodeError::new(format!(
                        "#set_separator must be one character, found {}",
                        excerpt(value)
                    )));
                };
                self.set_separator = byte;
            }
            b"#empty_field" => self.empty_field = unescape(value).into_owned().into_bytes(),
            b"#unset_field" => self.unset_field = unescape(value).into_owned().into_bytes(),
            b"#path" => {
                self.path = Some(unescape(value).into_owned());
                self.layout = None;
            }
            b"#fields" => {
                let names = field_names(value, self.separator);
                if names.is_empty() {
                    return Err(DecodeError::new("#fields header lists no column names"));
                }
                self.fields = Some(names);
                self.layout = None;
            }
            // #types, #open, #close and comments change nothing.
            _ => {}
        }
        Ok(())
    }

    fn build_layout(&self) -> Option<Layout> {
        let fields = self.fields.as_ref()?;
        let mut columns = [None; Key::COUNT];
        let mut keys = KeySet::default();
        let mut address_columns = Vec::new();
        let mut observable_columns = Vec::new();
        for (index, name) in fields.iter().enumerate() {
            let key = Key::from_name(name);
            if key.is_some_and(Key::may_carry_observable) || is_address_column(name) {
                observable_columns.push(index);
            }
            if let Some(key) = key
                && let Some(slot) = columns.get_mut(key as usize)
                && slot.is_none()
            {
                *slot = Some(index);
                keys.insert(key);
            }
            if is_address_column(name) {
                address_columns.push(index);
            }
        }
        let (kind, dataset) = match &self.path {
            Some(path) => (LogKind::from_path(path), dataset_for_path(path)),
            None => {
                let kind = LogKind::infer(keys);
                (kind, Cow::Borrowed(kind.dataset()))
            }
        };
        Some(Layout {
            kind,
            dataset,
            columns,
            address_columns,
            observable_columns,
            width: fields.len(),
        })
    }
}

impl Decoder for ZeekTsvDecoder {
    fn decode<'l>(&mut self, line: &'l [u8]) -> Result<Option<Record<'l>>, DecodeError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if line.first() == Some(&b'#') {
            self.read_header(line)?;
            return Ok(None);
        }

        if self.layout.is_none() {
            self.layout = self.build_layout();
        }
        let Some(layout) = &self.layout else {
            return Err(DecodeError::new(
                "data line before any #fields header; a Zeek TSV log must start with its header lines",
            ));
        };

        split_columns(line, self.separator, &mut self.column_starts);
        let columns = self.column_starts.len();
        if columns < layout.width {
            return Err(DecodeError::new(format!(
                "line has {columns} column{}, the #fields header has {}",
                if columns == 1 { "" } else { "s" },
                layout.width
            )));
        }

        let view = TsvLine {
            line,
            text: std::str::from_utf8(line).ok(),
            has_escapes: memchr(b'\\', line).is_some(),
            column_starts: &self.column_starts,
            layout,
            set_separator: self.set_separator,
            empty_field: &self.empty_field,
            unset_field: &self.unset_field,
        };
        let mut record = Record {
            format: "zeek-tsv",
            dataset: layout.dataset.clone(),
            ..Record::default()
        };
        zeek::fill(layout.kind, &view, &mut record);
        Ok(Some(record))
    }

    fn format(&self) -> &'static str {
        "zeek-tsv"
    }

    fn screen(&mut self, line: &[u8], values: &mut Vec<Range<usize>>) -> Option<&'static str> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_none_or(|&first| first == b'#') || line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }

        // A set separator that can be part of a value would hide the
        // elements of a set from the token test.
        if self.set_separator.is_ascii_alphanumeric()
            || matches!(self.set_separator, b'.' | b':' | b'-' | b'_')
        {
            return None;
        }
        if self.layout.is_none() {
            self.layout = self.build_layout();
        }
        let layout = self.layout.as_ref()?;

        // Only the separators up to the end of the last observable column
        // are located; the others are only counted.
        let wanted = layout.observable_columns.last().map_or(0, |last| last + 1);
        let separators = &mut self.column_starts;
        separators.clear();
        if masks::separators(line, self.separator, wanted, separators) + 1 < layout.width {
            return None;
        }

        let uri = layout.columns.get(Key::Uri as usize).copied().flatten();
        for &index in &layout.observable_columns {
            let start = match index.checked_sub(1) {
                None => 0,
                Some(previous) => *separators.get(previous)? + 1,
            };
            let end = separators.get(index).copied().unwrap_or(line.len());
            if uri == Some(index) && line.get(start..end).is_some_and(target_is_path) {
                continue;
            }
            values.push(start..end);
        }
        Some("zeek-tsv")
    }
}

/// One data line split into columns, read through the current layout.
struct TsvLine<'a, 'l> {
    line: &'l [u8],
    /// The line as text when it is valid UTF-8, so that columns are
    /// sliced out of it without validating each one again.
    text: Option<&'l str>,
    /// Whether the line has a backslash, so that some value may need
    /// unescaping.
    has_escapes: bool,
    column_starts: &'a [usize],
    layout: &'a Layout,
    set_separator: u8,
    empty_field: &'a [u8],
    unset_field: &'a [u8],
}

impl<'l> TsvLine<'_, 'l> {
    /// Returns the byte range of column `index` in the line, `None` for
    /// placeholders.
    fn column(&self, index: usize) -> Option<(usize, usize)> {
        let start = *self.column_starts.get(index)?;
        let end = self
            .column_starts
            .get(index + 1)
            .map_or(self.line.len(), |next| next - 1);
        let raw = self.line.get(start..end)?;
        (!self.is_placeholder(raw)).then_some((start, end))
    }

    fn key_column(&self, key: Key) -> Option<(usize, usize)> {
        let index = (*self.layout.columns.get(key as usize)?)?;
        self.column(index)
    }

    fn is_placeholder(&self, raw: &[u8]) -> bool {
        matches!(raw, b"" | b"-" | b"(empty)") || raw == self.unset_field || raw == self.empty_field
    }

    /// Returns the value in `start..end`, unescaped.
    fn value(&self, start: usize, end: usize) -> Cow<'l, str> {
        if !self.has_escapes
            && let Some(text) = self.text.and_then(|text| text.get(start..end))
        {
            return Cow::Borrowed(text);
        }
        unescape(self.line.get(start..end).unwrap_or_default())
    }

    /// Calls `f` with each element of the set value in `start..end`.
    fn each_element(&self, start: usize, end: usize, f: &mut impl FnMut(Cow<'l, str>)) {
        let mut element_start = start;
        while element_start <= end {
            let rest = self.line.get(element_start..end).unwrap_or_default();
            let element_end = memchr(self.set_separator, rest).map_or(end, |offset| element_start + offset);
            let raw = self.line.get(element_start..element_end).unwrap_or_default();
            if !self.is_placeholder(raw) {
                f(self.value(element_start, element_end));
            }
            element_start = element_end + 1;
        }
    }
}

impl<'l> ZeekLine<'l> for TsvLine<'_, 'l> {
    fn text(&self, key: Key) -> Option<Cow<'l, str>> {
        self.key_column(key).map(|(start, end)| self.value(start, end))
    }

    fn port(&self, key: Key) -> Option<u16> {
        let (start, end) = self.key_column(key)?;
        parse_port(self.line.get(start..end)?)
    }

    fn each(&self, key: Key, mut f: impl FnMut(Cow<'l, str>)) {
        let Some((start, end)) = self.key_column(key) else {
            return;
        };
        if key.is_set() {
            self.each_element(start, end, &mut f);
        } else {
            f(self.value(start, end));
        }
    }

    fn each_address(&self, mut f: impl FnMut(Cow<'l, str>)) {
        for &index in &self.layout.address_columns {
            if let Some((start, end)) = self.column(index) {
                self.each_element(start, end, &mut f);
            }
        }
    }
}

/// Stores the start offset of every column of `line` in `starts`,
/// testing eight bytes at a time.
fn split_columns(line: &[u8], separator: u8, starts: &mut Vec<usize>) {
    starts.clear();
    starts.push(0);
    bytes::for_each_byte(line, separator, |offset| starts.push(offset + 1));
}

/// Parses the separator byte of a `#separator` line, given the text after
/// the keyword. Zeek writes it as ` \x09`: a space, then the escaped byte.
fn separator_value(rest: &[u8]) -> Result<u8, DecodeError> {
    let value = match rest {
        [only] => std::slice::from_ref(only),
        [b' ' | b'\t', value @ ..] => value,
        value => value,
    };
    let unescaped = unescape(value);
    match unescaped.as_bytes() {
        &[byte] => Ok(byte),
        _ => Err(DecodeError::new(format!(
            "#separator must be one character or a \\xNN escape, found {}",
            excerpt(rest)
        ))),
    }
}

/// Splits a header line into its keyword and value at the first
/// separator, or at the first space when the line has no separator.
fn split_header(line: &[u8], separator: u8) -> (&[u8], &[u8]) {
    let split = memchr(separator, line).or_else(|| memchr(b' ', line));
    match split {
        Some(position) => (
            line.get(..position).unwrap_or(line),
            line.get(position + 1..).unwrap_or_default(),
        ),
        None => (line, &[]),
    }
}

/// Splits a `#fields` value into column names. A header written with
/// spaces where the separator should be is split on spaces.
fn field_names(value: &[u8], separator: u8) -> Vec<String> {
    let names: Vec<&[u8]> = if memchr(separator, value).is_none() && memchr(b' ', value).is_some() {
        value
            .split(|&b| b == b' ')
            .filter(|name| !name.is_empty())
            .collect()
    } else {
        value.split(|&b| b == separator).collect()
    };
    if names.iter().all(|name| name.is_empty()) {
        return Vec::new();
    }
    names
        .into_iter()
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

/// Decodes a Zeek TSV value: `\xNN` escapes become the byte they name and
/// `\\` a single backslash. The result borrows from `raw` unless an escape
/// was replaced or the bytes were not UTF-8, which is then replaced with
/// U+FFFD.
pub(crate) fn unescape(raw: &[u8]) -> Cow<'_, str> {
    if memchr(b'\\', raw).is_none() {
        return utf8(raw);
    }
    let mut bytes = Vec::with_capacity(raw.len());
    let mut index = 0;
    while let Some(&byte) = raw.get(index) {
        if byte == b'\\' {
            match (raw.get(index + 1), raw.get(index + 2), raw.get(index + 3)) {
                (Some(b'x'), Some(&high), Some(&low))
                    if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() =>
                {
                    bytes.push(hex_value(high) << 4 | hex_value(low));
                    index += 4;
                    continue;
                }
                (Some(b'\\'), _, _) => {
                    bytes.push(b'\\');
                    index += 2;
                    continue;
                }
                _ => {}
            }
        }
        bytes.push(byte);
        index += 1;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Cow::Owned(text),
        Err(err) => Cow::Owned(String::from_utf8_lossy(err.as_bytes()).into_owned()),
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

fn utf8(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(String::from_utf8_lossy(raw).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{decode_lines, pairs};
    use iocwatch_model::Field;

    /// Builds a Zeek TSV log with the default header, `path` and the given
    /// columns, one data row per element of `rows`.
    fn log(path: &str, fields: &[&str], rows: &[&[&str]]) -> String {
        let mut text =
            String::from("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n");
        text.push_str(&format!("#path\t{path}\n#open\t2024-01-01-00-00-00\n"));
        text.push_str(&format!("#fields\t{}\n", fields.join("\t")));
        text.push_str(&format!("#types\t{}\n", vec!["string"; fields.len()].join("\t")));
        for row in rows {
            text.push_str(&row.join("\t"));
            text.push('\n');
        }
        text.push_str("#close\t2024-01-01-00-00-01\n");
        text
    }

    const ID: [&str; 5] = ["uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"];

    fn with_id(extra: &[&'static str]) -> Vec<&'static str> {
        let mut fields = vec!["ts"];
        fields.extend(ID);
        fields.extend(extra);
        fields
    }

    fn decode_one(text: &str) -> Record<'_> {
        let mut records = decode_lines(&mut ZeekTsvDecoder::new(), text);
        assert_eq!(records.len(), 1, "expected one record from\n{text}");
        match records.pop() {
            Some(Ok(record)) => record,
            Some(Err(err)) => panic!("{err}"),
            None => unreachable!(),
        }
    }

    #[test]
    fn conn_endpoints_and_context() {
        let text = log(
            "conn",
            &with_id(&["proto", "service", "conn_state"]),
            &[&[
                "1541117137.618695",
                "CYtJYz4gNk3t5ZEt2",
                "172.16.9.233",
                "49159",
                "172.16.9.5",
                "88",
                "tcp",
                "krb_tcp",
                "RSTR",
            ]],
        );
        let record = decode_one(&text);

        assert_eq!(record.format, "zeek-tsv");
        assert_eq!(record.dataset, "zeek.conn");
        assert!(matches!(record.dataset, Cow::Borrowed(_)));
        assert_eq!(record.timestamp.as_deref(), Some("1541117137.618695"));

        let source = record.source.clone().expect("source endpoint");
        assert_eq!((source.ip.as_ref(), source.port), ("172.16.9.233", Some(49159)));
        let destination = record.destination.clone().expect("destination endpoint");
        assert_eq!(
            (destination.ip.as_ref(), destination.port),
            ("172.16.9.5", Some(88))
        );

        assert_eq!(
            pairs(&record),
            [("source.ip", "172.16.9.233"), ("destination.ip", "172.16.9.5")]
        );
        assert_eq!(
            record.context,
            [
                ("network.transport", Cow::Borrowed("tcp")),
                ("event.id", Cow::Borrowed("CYtJYz4gNk3t5ZEt2"))
            ]
        );
    }

    #[test]
    fn values_borrow_from_the_line() {
        let text = log(
            "conn",
            &with_id(&["proto"]),
            &[&["1.5", "C1", "10.0.0.1", "1", "10.0.0.2", "2", "udp"]],
        );
        let record = decode_one(&text);
        assert!(
            record
                .observables
                .iter()
                .all(|observed| matches!(observed.value, Cow::Borrowed(_)))
        );
    }

    /// A log path, its columns, one data row and the observables expected
    /// from that row.
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, Vec<(&'a str, &'a str)>);

    #[test]
    fn observables_per_log_path() {
        let rows: Vec<Case<'_>> = vec![
            (
                "dns",
                with_id(&["proto", "query", "answers"]),
                vec![
                    "1.0",
                    "C1",
                    "10.0.0.1",
                    "5353",
                    "10.0.0.2",
                    "53",
                    "udp",
                    "nrtjo.eu",
                    "cdn.example,59.53.91.102,2001:db8::1",
                ],
                vec![
                    ("source.ip", "10.0.0.1"),
                    ("destination.ip", "10.0.0.2"),
                    ("dns.question.name", "nrtjo.eu"),
                    ("dns.resolved_ip", "59.53.91.102"),
                    ("dns.resolved_ip", "2001:db8::1"),
                ],
            ),
            (
                "http",
                with_id(&["method", "host", "uri", "user_agent"]),
                vec![
                    "1.0",
                    "C1",
                    "10.0.0.1",
                    "1061",
                    "59.53.91.102",
                    "80",
                    "GET",
                    "nrtjo.eu",
                    "/true.php",
                    "Mozilla/4.0",
                ],
                vec![
                    ("source.ip", "10.0.0.1"),
                    ("destination.ip", "59.53.91.102"),
                    ("url.domain", "nrtjo.eu"),
                    ("url.full", "http://nrtjo.eu/true.php"),
                    ("user_agent.original", "Mozilla/4.0"),
                ],
            ),
            (
                "http",
                with_id(&["method", "host", "uri", "user_agent"]),
                vec![
                    "1.0",
                    "C1",
                    "10.0.0.1",
                    "1061",
                    "10.0.0.9",
                    "3128",
                    "GET",
                    "proxy.example:3128",
                    "http://evil.example/x",
                    "-",
                ],
                vec![
                    ("source.ip", "10.0.0.1"),
                    ("destination.ip", "10.0.0.9"),
                    ("url.domain", "proxy.example"),
                    ("url.full", "http://evil.example/x"),
                ],
            ),
            (
                "http",
                with_id(&["method", "host", "uri"]),
                vec![
                    "1.0", "C1", "10.0.0.1", "1061", "10.0.0.9", "8080", "GET", "-", "/a",
                ],
                vec![
                    ("source.ip", "10.0.0.1"),
                    ("destination.ip", "10.0.0.9"),
                    ("url.full", "http://10.0.0.9:8080/a"),
                ],
            ),
            (
                "ssl",
                with_id(&["server_name", "ja3", "ja3s", "cert_chain_fps"]),
                vec![
                    "1.0",
                    "C1",
                    "10.0.0.1",
                    "52023",
                    "66.218.86.51",
                    "993",
                    "imap.aol.com",
                    "28a2c9bd18a11de089ef85a160da29e4",
                    "7d8fd34fdb13a7fff30d5a52846b6c4c",
                    "b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5,77d67ddd7ad5ed48caa1d35b66c93c57494176ee",
                ],
                vec![
                    ("source.ip", "10.0.0.1"),
                    ("destination.ip", "66.218.86.51"),
                    ("tls.client.server_name", "imap.aol.com"),
                    ("tls.client.ja3", "28a2c9bd18a11de089ef85a160da29e4"),
                    ("tls.server.ja3s", "7d8fd34fdb13a7fff30d5a52846b6c4c"),
                    (
                        "tls.server.hash.sha256",
                        "b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5",
                    ),
                    ("tls.server.hash.sha1", "77d67ddd7ad5ed48caa1d35b66c93c57494176ee"),
                ],
            ),
            (
                "files",
                with_id(&["fuid", "md5", "sha1", "sha256"]),
                vec![
                    "1.0",
                    "C1",
                    "23.63.78.26",
                    "80",
                    "172.16.9.233",
                    "49184",
                    "F1",
                    "0123456789abcdef0123456789abcdef",
                    "0123456789abcdef0123456789abcdef01234567",
                    "-",
                ],
                vec![
                    ("source.ip", "23.63.78.26"),
                    ("destination.ip", "172.16.9.233"),
                    ("file.hash.md5", "0123456789abcdef0123456789abcdef"),
                    ("file.hash.sha1", "0123456789abcdef0123456789abcdef01234567"),
                ],
            ),
            (
                "smtp",
                with_id(&["mailfrom", "rcptto", "from", "to", "x_originating_ip", "path"]),
                vec![
                    "1.0",
                    "C1",
                    "192.168.100.40",
                    "49168",
                    "43.255.154.57",
                    "587",
                    "<shipping@oceanskylogistics.in>",
                    "<a@example.com>,<b@example.com>",
                    "Shipping <shipping@oceanskylogistics.in>",
                    "A <a@example.com>",
                    "203.0.113.7",
                    "43.255.154.57,198.51.100.1",
                ],
                vec![
                    ("source.ip", "192.168.100.40"),
                    ("destination.ip", "43.255.154.57"),
                    ("email.from.address", "shipping@oceanskylogistics.in"),
                    ("email.from.address", "Shipping <shipping@oceanskylogistics.in>"),
                    ("email.to.address", "a@example.com"),
                    ("email.to.address", "b@example.com"),
                    ("email.to.address", "A <a@example.com>"),
                    ("related.ip", "203.0.113.7"),
                    ("related.ip", "198.51.100.1"),
                ],
            ),
            (
                "x509",
                vec!["ts", "fingerprint", "certificate.subject", "san.dns", "san.ip"],
                vec![
                    "1.0",
                    "b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5",
                    "CN=pantz.org",
                    "pantz.org,www.pantz.org",
                    "192.0.2.10",
                ],
                vec![
                    (
                        "tls.server.hash.sha256",
                        "b0179e58470bf192cf955e0dc205ed5777f8ee8e8f365309edee412a33cfa0b5",
                    ),
                    ("tls.server.x509.alternative_names", "pantz.org"),
                    ("tls.server.x509.alternative_names", "www.pantz.org"),
                    ("related.ip", "192.0.2.10"),
                ],
            ),
            (
                "notice",
                with_id(&["note", "src", "dst", "p"]),
                vec![
                    "1.0",
                    "C1",
                    "10.164.94.120",
                    "39611",
                    "10.47.3.200",
                    "443",
                    "SSL::Invalid_Server_Cert",
                    "10.164.94.120",
                    "10.47.3.9",
                    "443",
                ],
                vec![
                    ("source.ip", "10.164.94.120"),
                    ("destination.ip", "10.47.3.200"),
                    ("related.ip", "10.47.3.9"),
                ],
            ),
            (
                "notice",
                vec!["ts", "note", "src", "dst", "p"],
                vec!["1.0", "Scan::Port_Scan", "198.51.100.5", "10.0.0.1", "22"],
                vec![("source.ip", "198.51.100.5"), ("destination.ip", "10.0.0.1")],
            ),
            (
                "dhcp",
                vec![
                    "ts",
                    "uids",
                    "client_addr",
                    "server_addr",
                    "host_name",
                    "assigned_addr",
                ],
                vec![
                    "1.0",
                    "C1,C2",
                    "172.16.9.233",
                    "172.16.9.5",
                    "Banshee157-PC",
                    "172.16.9.233",
                ],
                vec![("related.ip", "172.16.9.233"), ("related.ip", "172.16.9.5")],
            ),
            (
                "known_hosts",
                vec!["ts", "host"],
                vec!["1.0", "10.164.94.120"],
                vec![("related.ip", "10.164.94.120")],
            ),
            (
                "ftp",
                with_id(&["data_channel.orig_h", "data_channel.resp_h"]),
                vec![
                    "1.0",
                    "C1",
                    "192.168.202.138",
                    "38541",
                    "192.168.27.103",
                    "21",
                    "192.168.202.138",
                    "192.168.27.104",
                ],
                vec![
                    ("source.ip", "192.168.202.138"),
                    ("destination.ip", "192.168.27.103"),
                    ("related.ip", "192.168.27.104"),
                ],
            ),
        ];
        for (path, fields, row, expected) in rows {
            let text = log(path, &fields, &[&row]);
            let record = decode_one(&text);
            assert_eq!(pairs(&record), expected, "{path}: {row:?}");
            assert_eq!(record.dataset, format!("zeek.{path}"));
        }
    }

    #[test]
    fn old_files_log_uses_tx_and_rx_hosts() {
        let fields = ["ts", "fuid", "tx_hosts", "rx_hosts", "conn_uids", "md5", "sha1"];
        let row = [
            "1268758221.268121",
            "FQht07XoqizGCjvPi",
            "59.53.91.102",
            "192.168.23.129",
            "CFSK8hjITG9ZPI0oh",
            "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "-",
        ];
        let text = log("files", &fields, &[&row]);
        let record = decode_one(&text);
        assert_eq!(
            record.source.as_ref().map(|endpoint| endpoint.ip.as_ref()),
            Some("59.53.91.102")
        );
        assert_eq!(
            record.destination.as_ref().map(|endpoint| endpoint.ip.as_ref()),
            Some("192.168.23.129")
        );
        assert_eq!(
            pairs(&record),
            [
                ("file.hash.md5", "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
                ("source.ip", "59.53.91.102"),
                ("destination.ip", "192.168.23.129"),
            ]
        );
    }

    #[test]
    fn separator_header_forms() {
        for line in ["#separator \\x09", "#separator\t", "#separator \t"] {
            let mut decoder = ZeekTsvDecoder::new();
            decoder.separator = b'|';
            assert_eq!(decoder.decode(line.as_bytes()), Ok(None), "{line:?}");
            assert_eq!(decoder.separator, b'\t', "{line:?}");
        }
        let mut decoder = ZeekTsvDecoder::new();
        assert_eq!(decoder.decode(b"#separator \\x7c"), Ok(None));
        assert_eq!(decoder.separator, b'|');
    }

    #[test]
    fn other_separators_split_columns() {
        let text = "#separator \\x7c\n#set_separator|;\n#path|dns\n#fields|ts|query|answers\n1.0|example.com|a.example;192.0.2.1\n";
        let record = decode_one(text);
        assert_eq!(
            pairs(&record),
            [
                ("dns.question.name", "example.com"),
                ("dns.resolved_ip", "192.0.2.1")
            ]
        );
    }

    #[test]
    fn invalid_separator_is_an_error() {
        let mut decoder = ZeekTsvDecoder::new();
        let err = decoder.decode(b"#separator \\x0").expect_err("two characters");
        assert!(err.message.contains("#separator"), "{err}");
        let err = decoder.decode(b"#set_separator\t,,").expect_err("two characters");
        assert!(err.message.contains("#set_separator"), "{err}");
    }

    #[test]
    fn custom_unset_and_empty_fields() {
        let text = "#separator \\x09\n#set_separator\t,\n#empty_field\tEMPTY\n#unset_field\tNULL\n#path\tdns\n#fields\tts\tquery\tanswers\n1.0\tNULL\tEMPTY\n";
        let record = decode_one(text);
        assert!(record.observables.is_empty(), "{:?}", record.observables);
    }

    #[test]
    fn escapes_are_decoded() {
        let text = log(
            "dns",
            &["ts", "query", "answers"],
            &[&["1.0", "\\x00\\x00CKAAAA\\x00", "a\\x2cb.example,192.0.2.1"]],
        );
        let record = decode_one(&text);
        assert_eq!(
            pairs(&record),
            [
                ("dns.question.name", "\0\0CKAAAA\0"),
                ("dns.resolved_ip", "192.0.2.1")
            ]
        );
        assert!(matches!(record.observables[0].value, Cow::Owned(_)));
        assert!(matches!(record.observables[1].value, Cow::Borrowed(_)));
    }

    #[test]
    fn split_columns_matches_a_plain_split() {
        let mut starts = Vec::new();
        for length in [0, 1, 31, 32, 33, 64, 100] {
            for pattern in [b"a\tbb\t\tccc".as_slice(), b"\t", b"x"] {
                let line: Vec<u8> = pattern.iter().copied().cycle().take(length).collect();
                split_columns(&line, b'\t', &mut starts);
                let mut expected = vec![0];
                expected.extend(
                    line.iter()
                        .enumerate()
                        .filter(|(_, b)| **b == b'\t')
                        .map(|(i, _)| i + 1),
                );
                assert_eq!(starts, expected, "{:?}", String::from_utf8_lossy(&line));
            }
        }
    }

    #[test]
    fn unescape_cases() {
        let rows: [(&[u8], &str); 7] = [
            (b"plain", "plain"),
            (b"a\\x09b", "a\tb"),
            (b"\\\\\\\\host\\\\share", "\\\\host\\share"),
            (b"Yahoo Holdings\\\\, Inc.", "Yahoo Holdings\\, Inc."),
            (b"bad \\xZZ and \\x4", "bad \\xZZ and \\x4"),
            (b"trailing \\", "trailing \\"),
            (b"\\xff\\xfe", "\u{FFFD}\u{FFFD}"),
        ];
        for (raw, expected) in rows {
            assert_eq!(unescape(raw), expected, "{:?}", String::from_utf8_lossy(raw));
        }
        assert!(matches!(unescape(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn multiple_header_blocks_reset_columns() {
        let mut text = log("dns", &["ts", "query"], &[&["1.0", "first.example"]]);
        text.push_str(&log(
            "http",
            &["ts", "host", "uri"],
            &[&["2.0", "second.example", "/x"]],
        ));
        let records = decode_lines(&mut ZeekTsvDecoder::new(), &text);
        let records: Vec<_> = records
            .into_iter()
            .map(|record| record.expect("every data line decodes"))
            .collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].dataset, "zeek.dns");
        assert_eq!(pairs(&records[0]), [("dns.question.name", "first.example")]);
        assert_eq!(records[1].dataset, "zeek.http");
        assert_eq!(
            pairs(&records[1]),
            [
                ("url.domain", "second.example"),
                ("url.full", "http://second.example/x")
            ]
        );
    }

    #[test]
    fn new_fields_header_without_separator_resets_columns() {
        let text =
            "#fields\tts\tquery\n1.0\ta.example\n#fields\tts\tid.orig_h\tquery\n2.0\t10.0.0.1\tb.example\n";
        let records: Vec<_> = decode_lines(&mut ZeekTsvDecoder::new(), text)
            .into_iter()
            .map(|record| record.expect("every data line decodes"))
            .collect();
        assert_eq!(pairs(&records[0]), [("dns.question.name", "a.example")]);
        assert_eq!(
            pairs(&records[1]),
            [("source.ip", "10.0.0.1"), ("dns.question.name", "b.example")]
        );
        assert_eq!(
            records[1].dataset, "zeek.dns",
            "an unnamed log with `query` reads as dns"
        );
    }

    #[test]
    fn missing_close_still_decodes() {
        let text = log(
            "conn",
            &with_id(&["proto"]),
            &[&["1.0", "C1", "10.0.0.1", "1", "10.0.0.2", "2", "tcp"]],
        );
        let truncated = text.replace("#close\t2024-01-01-00-00-01\n", "");
        assert_eq!(decode_lines(&mut ZeekTsvDecoder::new(), &truncated).len(), 1);
    }

    #[test]
    fn extra_label_columns_are_ignored() {
        let mut fields = with_id(&["proto", "query"]);
        fields.extend(["label", "detailedlabel"]);
        let text = log(
            "dns",
            &fields,
            &[&[
                "19.379652",
                "C1",
                "192.168.1.113",
                "58784",
                "8.8.8.8",
                "53",
                "udp",
                "www.msftncsi.com",
                "Benign",
                "Windows",
            ]],
        );
        let record = decode_one(&text);
        assert!(pairs(&record).contains(&("dns.question.name", "www.msftncsi.com")));
    }

    #[test]
    fn more_columns_than_header_are_ignored() {
        let text = log(
            "dns",
            &["ts", "query"],
            &[&["1.0", "a.example", "surplus", "more"]],
        );
        let record = decode_one(&text);
        assert_eq!(pairs(&record), [("dns.question.name", "a.example")]);
    }

    #[test]
    fn malformed_lines() {
        let mut decoder = ZeekTsvDecoder::new();
        let err = decoder.decode(b"1.0\tC1\t10.0.0.1").err().map(|err| err.message);
        assert_eq!(
            err.as_deref(),
            Some("data line before any #fields header; a Zeek TSV log must start with its header lines")
        );

        let header = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes";
        assert_eq!(decoder.decode(header.as_bytes()), Ok(None));
        let err = decoder
            .decode(b"1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\ttcp")
            .err()
            .map(|err| err.message);
        assert_eq!(
            err.as_deref(),
            Some("line has 7 columns, the #fields header has 11")
        );
        let err = decoder
            .decode(b"Seen: [indicator=192.168.1.1]")
            .err()
            .map(|err| err.message);
        assert_eq!(
            err.as_deref(),
            Some("line has 1 column, the #fields header has 11")
        );

        assert_eq!(
            decoder.decode(b"#fields"),
            Err(DecodeError::new("#fields header lists no column names"))
        );
    }

    #[test]
    fn bad_port_keeps_the_endpoint() {
        let text = log(
            "conn",
            &with_id(&["proto"]),
            &[&["1.0", "C1", "10.0.0.1", "http", "10.0.0.2", "99999", "tcp"]],
        );
        let record = decode_one(&text);
        assert_eq!(record.source.as_ref().map(|endpoint| endpoint.port), Some(None));
        assert_eq!(
            record.destination.as_ref().map(|endpoint| endpoint.port),
            Some(None)
        );
        assert_eq!(pairs(&record).len(), 2);
    }

    #[test]
    fn blank_and_comment_lines() {
        let mut decoder = ZeekTsvDecoder::new();
        for line in [
            "",
            "\r",
            "   ",
            "### BTest baseline data",
            "#open XXXX-XX-XX",
            "#types\ttime",
        ] {
            assert_eq!(decoder.decode(line.as_bytes()), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn trailing_carriage_return() {
        let text = log("dns", &["ts", "query"], &[&["1.0", "a.example"]]).replace('\n', "\r\n");
        let record = decode_one(&text);
        assert_eq!(pairs(&record), [("dns.question.name", "a.example")]);
    }

    #[test]
    fn non_utf8_value_is_replaced() {
        let mut decoder = ZeekTsvDecoder::new();
        assert_eq!(decoder.decode(b"#fields\tts\tquery"), Ok(None));
        let line = b"1.0\tbad\xff.example";
        let record = decoder.decode(line).expect("decodes").expect("is a data line");
        assert_eq!(
            record.observables.first().map(|observed| observed.value.as_ref()),
            Some("bad\u{FFFD}.example")
        );
        assert_eq!(
            record.observables.first().map(|observed| observed.field),
            Some(Field::DnsQuestionName)
        );
    }
}
