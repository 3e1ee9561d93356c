//! CEF lines: header and extension escaping, field mapping, snapshots.

use iocwatch_sinks::cef;
use serde_json::json;

use crate::support::{TRICKY, alerts};

/// Splits a CEF line into its seven header fields and the extension,
/// honouring `\|` and `\\` in the header.
fn split_header(line: &str) -> (Vec<String>, String) {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars();
    while fields.len() < 7 {
        match chars.next() {
            Some('\\') => current.push(chars.next().unwrap()),
            Some('|') => fields.push(std::mem::take(&mut current)),
            Some(c) => current.push(c),
            None => panic!("line ended inside the header: {line}"),
        }
    }
    (fields, chars.collect())
}

/// Parses the extension into key and unescaped value pairs, the way a
/// CEF parser does: a key is the word before an unescaped `=`.
fn parse_extension(ext: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut raw: Vec<(String, String)> = Vec::new();
    let mut rest = ext;
    while let Some(eq) = find_unescaped_eq(rest) {
        let (before, after) = rest.split_at(eq);
        let after = &after[1..];
        // The key is the last word before `=`; what precedes it belongs to
        // the previous value.
        let (previous, key) = match before.rfind(' ') {
            Some(space) => (&before[..space], &before[space + 1..]),
            None => ("", before),
        };
        if let Some(last) = raw.last_mut() {
            last.1 = previous.to_owned();
        }
        raw.push((key.to_owned(), String::new()));
        rest = after;
        if find_unescaped_eq(rest).is_none() {
            raw.last_mut().unwrap().1 = rest.to_owned();
        }
    }
    for (key, value) in raw {
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next().unwrap() {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    other => out.push(other),
                }
            } else {
                out.push(c);
            }
        }
        pairs.push((key, out));
    }
    pairs
}

fn find_unescaped_eq(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '=' if !escaped => return Some(index),
            _ => escaped = false,
        }
    }
    None
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn cef_header_fields() {
    let alert = &alerts()[2];
    let (header, _) = split_header(&cef(alert));
    assert_eq!(header[0], "CEF:0");
    assert_eq!(header[1], "iocwatch");
    assert_eq!(header[2], "iocwatch");
    assert_eq!(header[3], env!("CARGO_PKG_VERSION"));
    assert_eq!(header[4], "indicator-match:ipv4-addr");
    assert_eq!(header[5], "IOC match: 198.51.100.23 (c2-servers) on 10.20.0.15");
    assert_eq!(header[6], "8");
}

#[test]
fn cef_connection_fields() {
    let line = cef(&alerts()[2]);
    let (_, ext) = split_header(&line);
    let pairs = parse_extension(&ext);
    assert_eq!(value(&pairs, "src"), Some("10.20.0.15"));
    assert_eq!(value(&pairs, "spt"), Some("49822"));
    assert_eq!(value(&pairs, "dst"), Some("198.51.100.23"));
    assert_eq!(value(&pairs, "dpt"), Some("443"));
    assert_eq!(value(&pairs, "proto"), Some("TCP"));
    assert_eq!(value(&pairs, "deviceDirection"), Some("1"));
    assert_eq!(value(&pairs, "rt"), Some("1796288400112"));
    assert_eq!(value(&pairs, "cs1"), Some("198.51.100.23"));
    assert_eq!(value(&pairs, "cs1Label"), Some("Indicator"));
    assert_eq!(value(&pairs, "cs2"), Some("c2-servers"));
    assert_eq!(value(&pairs, "cs2Label"), Some("Watchlist"));
    assert_eq!(value(&pairs, "cs5"), Some("10.20.0.15"));
    assert_eq!(
        value(&pairs, "externalId"),
        Some("fc9322bf-7209-5be6-b479-05f500caa649")
    );
}

#[test]
fn cef_ipv6_in_custom_addresses() {
    let line = cef(&alerts()[4]);
    let pairs = parse_extension(&split_header(&line).1);
    assert_eq!(value(&pairs, "src"), None);
    assert_eq!(value(&pairs, "dst"), None);
    assert_eq!(value(&pairs, "c6a2"), Some("fd00:20::15"));
    assert_eq!(value(&pairs, "c6a2Label"), Some("Source IPv6 Address"));
    assert_eq!(value(&pairs, "c6a3"), Some("2001:db8:bad::17"));
    assert_eq!(value(&pairs, "dpt"), Some("8443"));
}

#[test]
fn cef_escapes_header_specials() {
    let line = cef(&alerts()[TRICKY]);
    let (header, _) = split_header(&line);
    assert_eq!(header.len(), 7);
    assert_eq!(
        header[5],
        "IOC match: http://files.evil.example/dl?a=1|b=2\\x and 1 more (phish|ing=feed, domains) on 10.20.0.33"
    );
    assert_eq!(header[6], "10");
    assert!(
        line.contains(r"dl?a=1\|b=2\\x and 1 more (phish\|ing=feed"),
        "{line}"
    );
}

#[test]
fn cef_escapes_extension_specials() {
    let line = cef(&alerts()[TRICKY]);
    assert!(
        !line.contains('\n') && !line.contains('\r'),
        "raw line break in {line:?}"
    );
    let pairs = parse_extension(&split_header(&line).1);
    assert_eq!(
        value(&pairs, "request"),
        Some("http://files.evil.example/dl?a=1|b=2\\x")
    );
    assert_eq!(value(&pairs, "requestClientApplication"), Some("curl=8|x"));
    assert_eq!(value(&pairs, "shost"), Some("ws-33|finance"));
    assert_eq!(value(&pairs, "dhost"), Some("files.evil.example"));
    assert_eq!(value(&pairs, "cs2"), Some("phish|ing=feed, domains"));
    assert_eq!(
        value(&pairs, "msg"),
        Some(
            "Payload URL = stage 2 | \\ dropper\nsecond line <b>&; malware Qak|Bot; confidence 99 (High); \
             source Example CERT; tags loader, a=b; TLP:amber."
        )
    );
    assert_eq!(value(&pairs, "cn1"), Some("3"));
    assert_eq!(value(&pairs, "cn2"), Some("99"));
    assert!(
        line.contains(r"request=http://files.evil.example/dl?a\=1|b\=2\\x "),
        "{line}"
    );
    assert!(line.contains(r"dropper\nsecond line"), "{line}");
}

#[test]
fn cef_caps_long_values() {
    let long = "a".repeat(5000);
    let alert = json!({
        "url": {"full": long},
        "threat": {"enrichments": [{"indicator": {"name": long}}]},
    });
    let line = cef(&alert);
    let (header, ext) = split_header(&line);
    assert_eq!(header[5].chars().count(), iocwatch_sinks::MAX_NAME_CHARS);
    let pairs = parse_extension(&ext);
    assert_eq!(
        value(&pairs, "request").unwrap().len(),
        iocwatch_sinks::MAX_VALUE_CHARS
    );
}

#[test]
fn cef_of_minimal_alert() {
    let expected = format!(
        "CEF:0|iocwatch|iocwatch|{}|indicator-match:unknown|IOC match: unknown indicator|5|",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(cef(&json!({})), expected);
}

#[test]
fn cef_snapshots() {
    let version = format!("|{}|", env!("CARGO_PKG_VERSION"));
    let lines: Vec<String> = alerts()
        .iter()
        .map(|alert| cef(alert).replacen(&version, "|[version]|", 1))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}
