//! Conversions between Rust values and their database columns.
//!
//! Instants are stored as microseconds since the Unix epoch (UTC) and
//! durations as whole seconds. An indicator value is stored as a kind tag
//! and its normalised text. The tag keeps what the text alone loses: the
//! object a digest is of.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use iocwatch_model::{CanonicalUrl, DigestAlgo, DigestScope, IndicatorValue};
use ipnet::IpNet;
use time::OffsetDateTime;

use crate::error::{Result, StoreError};

/// Converts an instant to microseconds since the epoch.
pub(crate) fn micros(instant: OffsetDateTime) -> i64 {
    let micros = instant.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// Converts microseconds since the epoch to an instant.
pub(crate) fn instant(micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).map_err(|_| StoreError::Corrupt {
        what: "timestamp",
        detail: format!("{micros} microseconds is out of range"),
    })
}

/// Converts a duration to microseconds, saturating.
pub(crate) fn duration_micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Returns `instant + duration`, or `None` past the representable range.
pub(crate) fn add(instant: OffsetDateTime, duration: Duration) -> Option<OffsetDateTime> {
    let duration = time::Duration::try_from(duration).ok()?;
    instant.checked_add(duration)
}

/// Converts a duration to whole seconds for storage.
pub(crate) fn secs(duration: Duration) -> Result<i64> {
    i64::try_from(duration.as_secs()).map_err(|_| StoreError::OutOfRange("duration"))
}

/// Converts stored seconds to a duration.
pub(crate) fn from_secs(secs: i64) -> Result<Duration> {
    u64::try_from(secs)
        .map(Duration::from_secs)
        .map_err(|_| StoreError::Corrupt {
            what: "duration",
            detail: format!("{secs} seconds is negative"),
        })
}

/// Returns the kind tag of a value.
pub(crate) fn kind_tag(value: &IndicatorValue) -> &'static str {
    match value {
        IndicatorValue::Ip(_) => "ip",
        IndicatorValue::Socket(..) => "ip-port",
        IndicatorValue::Net(_) => "cidr",
        IndicatorValue::Domain(_) => "domain",
        IndicatorValue::Url(_) => "url",
        IndicatorValue::Email(_) => "email",
        IndicatorValue::Ja4(_) => "ja4",
        IndicatorValue::Digest { algo, scope, .. } => match (scope, algo) {
            (DigestScope::Any, algo) => algo.as_str(),
            (DigestScope::File, DigestAlgo::Md5) => "file-md5",
            (DigestScope::File, DigestAlgo::Sha1) => "file-sha1",
            (DigestScope::File, DigestAlgo::Sha256) => "file-sha256",
            (DigestScope::File, DigestAlgo::Sha512) => "file-sha512",
            (DigestScope::Cert, DigestAlgo::Md5) => "cert-md5",
            (DigestScope::Cert, DigestAlgo::Sha1) => "cert-sha1",
            (DigestScope::Cert, DigestAlgo::Sha256) => "cert-sha256",
            (DigestScope::Cert, DigestAlgo::Sha512) => "cert-sha512",
            (DigestScope::Ja3, _) => "ja3",
            (DigestScope::Ja3s, _) => "ja3s",
        },
    }
}

/// Rebuilds a value from its kind tag and normalised text, as written by
/// [`kind_tag`] and `Display`.
pub(crate) fn decode_value(tag: &str, text: &str) -> Result<IndicatorValue> {
    let corrupt = || StoreError::Corrupt {
        what: "indicator value",
        detail: format!("{tag} {text:?}"),
    };
    let digest = |scope: DigestScope| {
        let algo = DigestAlgo::from_hex_len(text.len()).ok_or_else(corrupt)?;
        Ok(IndicatorValue::Digest {
            algo,
            scope,
            hex: text.to_owned(),
        })
    };
    match tag {
        "ip" => text
            .parse::<IpAddr>()
            .map(IndicatorValue::Ip)
            .map_err(|_| corrupt()),
        "ip-port" => text
            .parse::<SocketAddr>()
            .map(|socket| IndicatorValue::Socket(socket.ip(), socket.port()))
            .map_err(|_| corrupt()),
        "cidr" => text
            .parse::<IpNet>()
            .map(IndicatorValue::Net)
            .map_err(|_| corrupt()),
        "domain" => Ok(IndicatorValue::Domain(text.to_owned())),
        "email" => Ok(IndicatorValue::Email(text.to_owned())),
        "ja4" => Ok(IndicatorValue::Ja4(text.to_owned())),
        "url" => Ok(IndicatorValue::Url(decode_url(text))),
        "md5" | "sha1" | "sha256" | "sha512" => digest(DigestScope::Any),
        "file-md5" | "file-sha1" | "file-sha256" | "file-sha512" => digest(DigestScope::File),
        "cert-md5" | "cert-sha1" | "cert-sha256" | "cert-sha512" => digest(DigestScope::Cert),
        "ja3" => digest(DigestScope::Ja3),
        "ja3s" => digest(DigestScope::Ja3s),
        _ => Err(corrupt()),
    }
}

/// Splits a canonical URL's text into scheme and key. A `://` after the
/// first `/` belongs to the path, as in [`CanonicalUrl::parse`].
fn decode_url(text: &str) -> CanonicalUrl {
    match text.find("://") {
        Some(pos) if !text[..pos].contains('/') => CanonicalUrl {
            scheme: Some(text[..pos].to_owned()),
            key: text[pos + 3..].to_owned(),
        },
        _ => CanonicalUrl {
            scheme: None,
            key: text.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use iocwatch_model::{KindHint, ParseOptions, parse_indicator};

    use super::*;

    #[test]
    fn values_round_trip() {
        let rows: [(&str, Option<&str>); 14] = [
            ("198.51.100.7", None),
            ("2001:db8::1", None),
            ("198.51.100.7:8443", None),
            ("[2001:db8::1]:443", None),
            ("198.51.100.0/24", None),
            ("evil.example", None),
            ("HTTP://Evil.Example:80/a?b#c", None),
            ("evil.example/path/http://x", None),
            ("user@mail.example", None),
            ("t13d1516h2_8daaf6152771_b0da82dd1658", None),
            ("44d88612fea8a8f36de82e1278abb02f", None),
            ("44d88612fea8a8f36de82e1278abb02f", Some("ja3")),
            ("3395856ce81f2b7382dee72602f798b642f14140", Some("cert-sha1")),
            ("3395856ce81f2b7382dee72602f798b642f14140", Some("file_hash")),
        ];
        for (raw, hint) in rows {
            let hint = hint.and_then(KindHint::from_name);
            let value = parse_indicator(raw, hint, ParseOptions::default()).unwrap().value;
            let decoded = decode_value(kind_tag(&value), &value.to_string()).unwrap();
            assert_eq!(decoded, value, "{raw:?}");
        }
    }

    #[test]
    fn unknown_tag_is_corrupt() {
        assert!(matches!(
            decode_value("bogus", "x"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn instants_round_trip() {
        let now = time::macros::datetime!(2024-05-01 10:00:00.123456 UTC);
        assert_eq!(instant(micros(now)).unwrap(), now);
    }
}
