//! Typing of the commonest untyped indicator shapes without the general
//! detection.
//!
//! Most lines of a large watchlist are a bare dotted quad, a host name or
//! a hex digest. For these, the general path of
//! [`parse_indicator`](crate::parse_indicator) refangs, tries the value as
//! an address, a network and an address with port (building an error
//! message for each failure), and tests several other shapes before it
//! reaches the one that fits. [`detect_common_shape`] checks the shape
//! first and goes straight to the parser that the general path would end
//! in, so both give the same value or the same error.

use std::net::IpAddr;

use crate::indicator::{DigestScope, IndicatorError, IndicatorValue, detect_domain};
use crate::refang::starts_with_hxxp;
use crate::value::{parse_digest, parse_ipv4_bytes};

/// Shortest value that the general path treats as a digest when it is all
/// hex digits.
const MIN_DIGEST_LEN: usize = 16;

/// Types a trimmed, untyped value of one of three shapes, or returns
/// `None` so that the caller takes the general path:
///
/// - a valid dotted-quad IPv4 address without leading zeros,
/// - 16 or more hex digits without colons (a digest, or a digest of the
///   wrong length, which is rejected with the same error),
/// - ASCII letters, digits, `-`, `_` and at least one dot, with at least
///   one character other than a digit or dot, not starting with `hxxp`
///   (a host name, or a malformed one, which is rejected with the same
///   error).
///
/// None of these shapes contains a character that refanging changes, the
/// `://`, `/`, `:`, `?` or `@` that other indicator types need, or the
/// underscores between hex groups that a JA4 fingerprint has without
/// dots.
pub(crate) fn detect_common_shape(value: &str) -> Option<Result<IndicatorValue, IndicatorError>> {
    let bytes = value.as_bytes();
    if let Some(v4) = parse_ipv4_bytes(bytes) {
        return Some(Ok(IndicatorValue::Ip(IpAddr::V4(v4))));
    }
    if bytes.len() >= MIN_DIGEST_LEN && bytes.iter().all(u8::is_ascii_hexdigit) {
        let digest = parse_digest(value).map(|(algo, hex)| IndicatorValue::Digest {
            algo,
            scope: DigestScope::Any,
            hex,
        });
        return Some(digest.map_err(IndicatorError::from));
    }
    if is_host_name_shape(bytes) && !starts_with_hxxp(value) {
        return Some(detect_domain(value));
    }
    None
}

/// True for name characters with a dot and with a character that is not
/// a digit or dot, which rules out every IPv4 form.
fn is_host_name_shape(bytes: &[u8]) -> bool {
    let mut dot = false;
    let mut non_numeric = false;
    for &byte in bytes {
        match byte {
            b'.' => dot = true,
            b'0'..=b'9' => {}
            b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' => non_numeric = true,
            _ => return false,
        }
    }
    dot && non_numeric
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::detect_any;

    /// Values of every shape the fast path claims and of shapes next to
    /// them that it must leave to the general path.
    const VALUES: &[&str] = &[
        // Dotted quads.
        "198.51.100.7",
        "1.2.3.4",
        "0.0.0.0",
        "255.255.255.255",
        "256.1.1.1",
        "010.1.1.1",
        "1.2.3.04",
        "1.2.3",
        "1.2.3.4.5",
        "1..2.3",
        "1.2.3.4.",
        "198.51.100.7/24",
        "198.51.100.7/32",
        "198.51.100.0/8",
        "198.51.100.7:8080",
        "198[.]51[.]100[.]7",
        "198.51.100.7/ip.shtml",
        // Digests.
        "44d88612fea8a8f36de82e1278abb02f",
        "44D88612FEA8A8F36DE82E1278ABB02F",
        "44d88612fea8a8f36de82e1278abb02",
        "44d88612fea8a8f36de82e1278abb02f0",
        "3395856ce81f2b7382dee72602f798b642f14140",
        "8e2ddd9aeffe2f79137fa1463dc99f8a7eb8abf569684c251c7cf48588810d1c",
        "8E2DDD9AEFFE2F79137FA1463DC99F8A7EB8ABF569684C251C7CF48588810D1C",
        "8e2ddd9aeffe2f79137fa1463dc99f8a7eb8abf569684c251c7cf48588810d1",
        "0123456789abcdef",
        "0123456789abcde",
        "1234567890123456",
        "44:d8:86:12:fe:a8:a8:f3:6d:e8:2e:12:78:ab:b0:2f",
        "zz5d00000000000000000000000000000000000000000000000000000000000000",
        "t13d1516h2_8daaf6152771_b0da82dd1658",
        // Host names.
        "evil.example",
        "Evil.Example",
        "EVIL.EXAMPLE",
        "evil.example.",
        "evil..example",
        ".evil.example",
        "www.evil.example",
        "xn--bcher-kva.example",
        "bücher.example",
        "BÜCHER.example",
        "evil[.]example",
        "evil(.)example",
        "hxxp.example",
        "HXXPevil.example",
        "hxxps.evil.example",
        "under_score.example",
        "-lead.example",
        "a.b",
        "com",
        "co.uk",
        "github.io",
        "kinggru.duckdns.org",
        "1.2.3.example",
        "1.2.3.4a",
        "1e.2.3.4",
        "evil.123",
        "evil.example/a.php",
        "evil.example:443",
        "user@mail.example",
        "evil.example?x=1",
        // Other types.
        "http://evil.example/a",
        "hxxps[://]evil[.]example[/]a",
        "2001:db8::1",
        "wpad",
        "AS12345",
        "-",
    ];

    #[test]
    fn common_shapes_match_general_path() {
        let long_name = "x.".repeat(130);
        let long_label = format!("{}.example", "a".repeat(64));
        let extra = [long_name.as_str(), long_label.as_str()];
        for value in VALUES.iter().chain(&extra) {
            let Some(fast) = detect_common_shape(value) else {
                continue;
            };
            let mut notes = Vec::new();
            let general = detect_any(value, None, &mut notes);
            assert_eq!(fast, general, "{value:?}");
            assert!(notes.is_empty(), "{value:?}: {notes:?}");
        }
    }

    #[test]
    fn common_shapes_claimed() {
        let claimed = [
            "198.51.100.7",
            "255.255.255.255",
            "44d88612fea8a8f36de82e1278abb02f",
            "44d88612fea8a8f36de82e1278abb02",
            "8E2DDD9AEFFE2F79137FA1463DC99F8A7EB8ABF569684C251C7CF48588810D1C",
            "evil.example",
            "Evil.Example",
            "evil.example.",
            "evil..example",
            "under_score.example",
            "1.2.3.4a",
        ];
        for value in claimed {
            assert!(detect_common_shape(value).is_some(), "{value:?}");
        }
    }

    #[test]
    fn other_shapes_left_to_general_path() {
        let left = [
            "010.1.1.1",
            "256.1.1.1",
            "1.2.3.4.5",
            "198.51.100.7/24",
            "198.51.100.7:8080",
            "198[.]51[.]100[.]7",
            "44:d8:86:12:fe:a8:a8:f3:6d:e8:2e:12:78:ab:b0:2f",
            "0123456789abcde",
            "t13d1516h2_8daaf6152771_b0da82dd1658",
            "bücher.example",
            "evil[.]example",
            "hxxp.example",
            "HXXPevil.example",
            "evil.example/a.php",
            "user@mail.example",
            "http://evil.example/a",
            "2001:db8::1",
            "wpad",
        ];
        for value in left {
            assert!(detect_common_shape(value).is_none(), "{value:?}");
        }
    }
}
