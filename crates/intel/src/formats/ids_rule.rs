//! Suricata and Snort rules as watchlist lines.
//!
//! Feeds are often published only as IDS rules. Emerging Threats compiles
//! address feeds into rules whose header lists the addresses:
//! `alert ip [192.0.2.1,198.51.100.0/24] any -> $HOME_NET any (...)`.
//! Host and fingerprint feeds, such as the URLhaus and abuse.ch rule sets,
//! put one value in a `content` match on a buffer that contains a whole
//! field: `http.host; content:"evil.example";`. A rule gives the addresses
//! of its header and the content of each such buffer that has exactly one
//! content match. The matches of a buffer with several are pieces of a
//! value, which match nothing alone, so it gives none.

use iocwatch_model::{DigestAlgo, DigestScope, KindHint};

/// The actions that start a Suricata or Snort rule.
const RULE_ACTIONS: [&str; 7] = [
    "alert",
    "drop",
    "pass",
    "reject",
    "rejectsrc",
    "rejectdst",
    "rejectboth",
];

/// The buffers whose content is a whole indicator, by their Suricata 5
/// names and the older names, with the type of the indicator.
const VALUE_BUFFERS: [(&str, Option<KindHint>); 14] = [
    ("http.host", None),
    ("http_host", None),
    ("dns.query", Some(KindHint::Domain)),
    ("dns_query", Some(KindHint::Domain)),
    ("tls.sni", Some(KindHint::Domain)),
    ("tls_sni", Some(KindHint::Domain)),
    ("quic.sni", Some(KindHint::Domain)),
    (
        "ja3.hash",
        Some(KindHint::Digest(Some(DigestAlgo::Md5), DigestScope::Ja3)),
    ),
    (
        "ja3_hash",
        Some(KindHint::Digest(Some(DigestAlgo::Md5), DigestScope::Ja3)),
    ),
    (
        "ja3s.hash",
        Some(KindHint::Digest(Some(DigestAlgo::Md5), DigestScope::Ja3s)),
    ),
    ("ja4.hash", Some(KindHint::Ja4)),
    (
        "tls.cert_fingerprint",
        Some(KindHint::Digest(Some(DigestAlgo::Sha1), DigestScope::Cert)),
    ),
    (
        "tls_cert_fingerprint",
        Some(KindHint::Digest(Some(DigestAlgo::Sha1), DigestScope::Cert)),
    ),
    ("email.from", Some(KindHint::Email)),
];

/// The keyword that, written after a `content` match, puts that match in
/// the HTTP host buffer. Every other buffer keyword comes before its
/// matches.
const HOST_MODIFIER: &str = "http_host";

/// The indicators and message of a Suricata or Snort rule.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct IdsRule<'a> {
    /// The addresses and networks of the rule's source and destination,
    /// without variables (`$HOME_NET`), `any` and negated entries.
    pub addresses: Vec<&'a str>,
    /// The content of each value buffer with one content match, with the
    /// type the buffer gives it.
    pub contents: Vec<(String, Option<KindHint>)>,
    /// The `msg` option, unescaped.
    pub message: Option<String>,
}

impl IdsRule<'_> {
    /// True when the rule gives no indicator.
    pub(crate) fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.contents.is_empty()
    }
}

/// A `content` match and the buffer it applies to.
struct ContentMatch {
    /// The index in [`VALUE_BUFFERS`] of the buffer, or `None` for any
    /// other buffer.
    buffer: Option<usize>,
    value: String,
    negated: bool,
}

/// Reads `line` as a Suricata or Snort rule. Returns `None` for a line
/// that is not a rule.
pub(crate) fn ids_rule(line: &str) -> Option<IdsRule<'_>> {
    let (header, options) = line.split_once('(')?;
    let fields: Vec<&str> = header.split_whitespace().collect();
    let [
        action,
        _protocol,
        source,
        _source_port,
        direction,
        destination,
        _destination_port,
    ] = fields.as_slice()
    else {
        return None;
    };
    if !RULE_ACTIONS.contains(action) || !matches!(*direction, "->" | "<>") {
        return None;
    }
    let addresses = [source, destination]
        .into_iter()
        .flat_map(|field| field.split(','))
        .map(|entry| entry.trim_matches(['[', ']']))
        .filter(|entry| !entry.is_empty() && *entry != "any" && !entry.starts_with(['!', '$']))
        .collect();
    let options = options.strip_suffix(')').unwrap_or(options);
    let mut message = None;
    let mut buffer = None;
    let mut matches: Vec<ContentMatch> = Vec::new();
    for option in split_options(options) {
        let (keyword, value) = match option.split_once(':') {
            Some((keyword, value)) => (keyword.trim(), Some(value.trim())),
            None => (option.trim(), None),
        };
        match (keyword, value) {
            ("msg", Some(value)) => message = quoted(value).map(|text| unescape(text, false)),
            ("content", Some(value)) => {
                let (negated, value) = match value.strip_prefix('!') {
                    Some(rest) => (true, rest.trim_start()),
                    None => (false, value),
                };
                if let Some(value) = quoted(value) {
                    matches.push(ContentMatch {
                        buffer,
                        value: unescape(value, true),
                        negated,
                    });
                }
            }
            (HOST_MODIFIER, None) => {
                if let Some(last) = matches.last_mut() {
                    last.buffer = value_buffer(HOST_MODIFIER);
                }
            }
            (keyword, None) if is_buffer(keyword) => buffer = value_buffer(keyword),
            _ => {}
        }
    }
    Some(IdsRule {
        addresses,
        contents: buffer_values(matches),
        message,
    })
}

/// Returns the value of each value buffer that has exactly one content
/// match, which is not negated.
fn buffer_values(matches: Vec<ContentMatch>) -> Vec<(String, Option<KindHint>)> {
    let mut values = Vec::new();
    for (index, (_, kind)) in VALUE_BUFFERS.iter().enumerate() {
        let mut in_buffer = matches.iter().filter(|found| found.buffer == Some(index));
        if let (Some(only), None) = (in_buffer.next(), in_buffer.next())
            && !only.negated
        {
            // `dotprefix` rules write a domain with a leading dot to match
            // it and its subdomains, as a domain indicator does.
            let value = only.value.strip_prefix('.').unwrap_or(&only.value);
            values.push((value.to_owned(), *kind));
        }
    }
    values
}

/// Returns the index of `keyword` in [`VALUE_BUFFERS`].
fn value_buffer(keyword: &str) -> Option<usize> {
    VALUE_BUFFERS.iter().position(|(name, _)| *name == keyword)
}

/// True for a keyword that selects a buffer for the content matches after
/// it: a dotted keyword of Suricata 5 (`http.uri`, `file.data`), an older
/// value buffer, or `pkt_data`, which returns to the packet.
fn is_buffer(keyword: &str) -> bool {
    (keyword.contains('.')
        && keyword
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte == b'.' || byte == b'_'))
        || (value_buffer(keyword).is_some() && keyword != HOST_MODIFIER)
        || keyword == "pkt_data"
}

/// Splits rule options at each `;` outside quotes. A backslash escapes
/// the next character.
fn split_options(options: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, character) in options.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => {
                parts.push(&options[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&options[start..]);
    parts.retain(|part| !part.trim().is_empty());
    parts
}

/// Returns the text between the quotes of an option value such as
/// `"ET DROP group 1"`.
fn quoted(value: &str) -> Option<&str> {
    value.strip_prefix('"')?.strip_suffix('"')
}

/// Decodes the escapes of an option value: `\"`, `\;` and `\\`, and when
/// `hex` is set, as in content matches, bytes written in hex between
/// pipes (`|2e|`).
fn unescape(text: &str, hex: bool) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut in_hex = false;
    let mut characters = text.chars();
    let mut hex_digits = String::new();
    while let Some(character) = characters.next() {
        match character {
            '|' if hex => {
                in_hex = !in_hex;
                hex_digits.clear();
            }
            _ if in_hex => {
                if character.is_ascii_hexdigit() {
                    hex_digits.push(character);
                }
                if hex_digits.len() == 2 {
                    // Two hex digits always parse as a byte.
                    bytes.push(u8::from_str_radix(&hex_digits, 16).unwrap_or_default());
                    hex_digits.clear();
                }
            }
            '\\' => {
                if let Some(next) = characters.next() {
                    let mut buffer = [0; 4];
                    bytes.extend_from_slice(next.encode_utf8(&mut buffer).as_bytes());
                }
            }
            _ => {
                let mut buffer = [0; 4];
                bytes.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule line and the addresses, contents and message read from it.
    type RuleRow<'a> = (&'a str, Option<(&'a [&'a str], &'a [&'a str], Option<&'a str>)>);

    /// A rule as the table compares it.
    type ReadRule<'a> = (Vec<&'a str>, Vec<String>, Option<String>);

    #[test]
    fn ids_rule_table() {
        let rows: [RuleRow<'_>; 15] = [
            (
                r#"alert ip [192.0.2.1,198.51.100.0/24] any -> $HOME_NET any (msg:"ET DROP group 1"; sid:1;)"#,
                Some((&["192.0.2.1", "198.51.100.0/24"], &[], Some("ET DROP group 1"))),
            ),
            (
                r#"alert ip $HOME_NET any -> [203.0.113.5,203.0.113.6] any (msg:"ET CNC group 2"; sid:2;)"#,
                Some((&["203.0.113.5", "203.0.113.6"], &[], Some("ET CNC group 2"))),
            ),
            (
                r#"drop tcp 192.0.2.9 any <> any 443 (sid:3;)"#,
                Some((&["192.0.2.9"], &[], None)),
            ),
            (
                r#"alert ip [!192.0.2.1,$EXTERNAL_NET,192.0.2.2] any -> any any (msg:"x";)"#,
                Some((&["192.0.2.2"], &[], Some("x"))),
            ),
            (
                r#"alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"urlhaus"; flow:established,from_client; http.method; content:"GET"; http.host; content:"evil.example"; sid:4 rev:1;)"#,
                Some((&[], &["evil.example"], Some("urlhaus"))),
            ),
            (
                r#"alert http any any -> any any (msg:"old style"; content:"GET"; http_method; content:"198.51.100.4"; http_host; sid:5;)"#,
                Some((&[], &["198.51.100.4"], Some("old style"))),
            ),
            (
                r#"alert dns any any -> any any (msg:"q"; dns.query; dotprefix; content:".evil.example"; nocase; endswith; sid:6;)"#,
                Some((&[], &["evil.example"], Some("q"))),
            ),
            (
                r#"alert tls any any -> any any (msg:"sslbl"; tls.cert_fingerprint; content:"aa:bb:cc"; ja3.hash; content:"e7d705a3286e19ea42f587b344ee6865"; sid:7;)"#,
                Some((
                    &[],
                    &["e7d705a3286e19ea42f587b344ee6865", "aa:bb:cc"],
                    Some("sslbl"),
                )),
            ),
            (
                r#"alert http any any -> any any (msg:"pieces"; http.host; content:"evil"; content:".example"; sid:8;)"#,
                Some((&[], &[], Some("pieces"))),
            ),
            (
                r#"alert http any any -> any any (msg:"negated"; http.host; content:!"good.example"; sid:9;)"#,
                Some((&[], &[], Some("negated"))),
            ),
            (
                r#"alert http any any -> any any (msg:"uri then payload"; http.uri; content:"/a.php"; pkt_data; content:"x"; sid:10;)"#,
                Some((&[], &[], Some("uri then payload"))),
            ),
            (
                r#"alert http any any -> any any (msg:"semi\; colon"; http.host; content:"evil|2e|example"; sid:11;)"#,
                Some((&[], &["evil.example"], Some("semi; colon"))),
            ),
            (
                "alert ip 192.0.2.1 any 198.51.100.1 any (msg:\"no direction\";)",
                None,
            ),
            ("notify ip 192.0.2.1 any -> any any (msg:\"x\";)", None),
            ("evil.example (a comment)", None),
        ];
        for (line, expected) in rows {
            let rule: Option<ReadRule<'_>> = ids_rule(line).map(|rule| {
                let contents = rule.contents.into_iter().map(|(value, _)| value).collect();
                (rule.addresses, contents, rule.message)
            });
            let expected: Option<ReadRule<'_>> = expected.map(|(addresses, contents, message)| {
                let contents = contents.iter().map(|value| (*value).to_owned()).collect();
                (addresses.to_vec(), contents, message.map(str::to_owned))
            });
            assert_eq!(rule, expected, "{line}");
        }
    }

    #[test]
    fn content_types_follow_buffer() {
        let line = r#"alert tls any any -> any any (tls.sni; content:"evil.example"; ja4.hash; content:"t13d1516h2_8daaf6152771_b0da82dd1658"; sid:1;)"#;
        let rule = ids_rule(line).unwrap();
        let kinds: Vec<Option<KindHint>> = rule.contents.iter().map(|(_, kind)| *kind).collect();
        assert_eq!(kinds, [Some(KindHint::Domain), Some(KindHint::Ja4)]);
    }
}
