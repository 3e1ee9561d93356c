//! Parsing and normalisation of single values: addresses, domains, URLs,
//! digests, e-mail addresses and JA4 fingerprints.
//!
//! Two flavours exist for each kind. The strict parsers (`parse_*`) serve
//! indicators and return a [`ValueError`] that names the problem. The
//! lenient ones (`observed_*`) serve log fields on the hot path: they
//! return `None` for a value that cannot match and borrow when the value
//! is already in normal form.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

/// The reason a value could not be read as an indicator.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value is empty after trimming and comment removal.
    #[error("empty value")]
    Empty,
    /// An IPv4 address has an octet written with a leading zero, which
    /// some tools read as octal.
    #[error("IPv4 address has a leading-zero octet; write it without leading zeros")]
    LeadingZeroOctet,
    /// An address or network does not parse.
    #[error("invalid IP address or network: {0}")]
    InvalidAddress(String),
    /// A digest contains a character that is not a hex digit.
    #[error("hash contains the non-hex character {ch:?} at position {position}")]
    NonHexDigest {
        /// The offending character.
        ch: char,
        /// Its 1-based position in the value.
        position: usize,
    },
    /// A digest has a length that no supported algorithm has.
    #[error("hash has {0} hex digits; MD5 has 32, SHA-1 40, SHA-256 64 and SHA-512 128")]
    DigestLength(usize),
    /// A digest does not have the length its declared type needs.
    #[error("{expected} hash needs {needed} hex digits, found {found}")]
    DigestTypeLength {
        /// The declared algorithm or fingerprint.
        expected: &'static str,
        /// The number of hex digits that algorithm has.
        needed: usize,
        /// The number of hex digits found.
        found: usize,
    },
    /// A domain name is malformed.
    #[error("invalid domain name: {0}")]
    InvalidDomain(String),
    /// A URL is malformed.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// An e-mail address is malformed.
    #[error("invalid e-mail address: {0}")]
    InvalidEmail(String),
    /// A JA4 fingerprint is malformed.
    #[error("invalid JA4 fingerprint: expected the form t13d1516h2_8daaf6152771_b0da82dd1658")]
    InvalidJa4,
    /// No indicator type fits the value.
    #[error("not a recognised indicator (IP address, network, domain, URL, hash, e-mail address or JA4)")]
    Unrecognised,
}

/// Folds an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) to its IPv4 form.
///
/// Every address passes through this before it is stored or looked up,
/// so that a dual-stack log and an IPv4 indicator meet.
#[inline]
pub fn fold_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parses an address in any textual form: dotted IPv4, IPv6 compressed,
/// expanded, zero-padded or in upper case, in brackets, with a zone
/// (`%eth0`, dropped), IPv4-mapped (folded to IPv4).
///
/// # Errors
///
/// [`ValueError::LeadingZeroOctet`] for `010.0.0.1`-style addresses and
/// [`ValueError::InvalidAddress`] for anything else that is not an address.
pub fn parse_ip(value: &str) -> Result<IpAddr, ValueError> {
    let bare = strip_brackets_and_zone(value);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(fold_ip(ip));
    }
    if looks_like_dotted_quad(bare) {
        return Err(dotted_quad_error(bare));
    }
    Err(ValueError::InvalidAddress(value.to_owned()))
}

/// Reads an address from a log field, or `None` when the field contains none.
#[inline]
pub fn observed_ip(value: &str) -> Option<IpAddr> {
    let first = *value.as_bytes().first()?;
    // A cheap first-byte test keeps host names and `-` off the parser.
    if !(first.is_ascii_hexdigit() || first == b':' || first == b'[') {
        return None;
    }
    if let Some(v4) = parse_ipv4_bytes(value.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    if !value.contains(':') {
        return None;
    }
    let bare = strip_brackets_and_zone(value);
    bare.parse::<Ipv6Addr>().ok().map(|v6| fold_ip(IpAddr::V6(v6)))
}

/// Parses dotted-quad IPv4 text, rejecting leading zeros as the standard
/// library does. Written out because it runs for every address of every
/// log line, and the general parser was a tenth of the scan's time.
#[inline]
pub(crate) fn parse_ipv4_bytes(bytes: &[u8]) -> Option<Ipv4Addr> {
    if bytes.len() < 7 || bytes.len() > 15 {
        return None;
    }
    let mut octets = [0_u8; 4];
    let mut index = 0;
    let mut value: u16 = 0;
    let mut digits = 0;
    for &byte in bytes {
        match byte {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None;
                }
                value = value * 10 + u16::from(byte - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && index < 3 => {
                octets[index] = value as u8;
                index += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if index != 3 || digits == 0 {
        return None;
    }
    octets[3] = value as u8;
    Some(Ipv4Addr::from(octets))
}

fn strip_brackets_and_zone(value: &str) -> &str {
    let bare = value
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(value);
    match bare.find('%') {
        Some(zone) if bare.contains(':') => &bare[..zone],
        _ => bare,
    }
}

/// Explains why an address of dotted-quad shape does not parse: a
/// leading-zero octet, or an octet above 255.
pub(crate) fn dotted_quad_error(value: &str) -> ValueError {
    if value
        .split('.')
        .any(|octet| octet.len() > 1 && octet.starts_with('0'))
    {
        ValueError::LeadingZeroOctet
    } else {
        ValueError::InvalidAddress(format!("{value}: an octet is above 255"))
    }
}

/// True for four dot-separated groups of 1 to 3 digits, the shape of an
/// IPv4 address whether or not its octets are valid.
pub(crate) fn looks_like_dotted_quad(value: &str) -> bool {
    let mut groups = 0;
    for group in value.split('.') {
        groups += 1;
        if group.is_empty() || group.len() > 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    groups == 4
}

/// Parses a domain name to its matching form: ASCII (IDN converted with
/// UTS #46), lower case, one trailing dot dropped.
///
/// # Errors
///
/// [`ValueError::InvalidDomain`] when the IDN conversion fails, a label is
/// empty or longer than 63 bytes, the name is longer than 253 bytes, or a
/// character is not allowed in a host name.
pub fn parse_domain(value: &str) -> Result<String, ValueError> {
    let trimmed = value.strip_suffix('.').unwrap_or(value);
    if trimmed.is_empty() {
        return Err(ValueError::Empty);
    }
    let ascii =
        to_ascii_lower(trimmed).ok_or_else(|| ValueError::InvalidDomain("not a valid IDN".to_owned()))?;
    validate_host_name(&ascii).map_err(|reason| ValueError::InvalidDomain(reason.to_string()))?;
    Ok(ascii.into_owned())
}

/// Normalises a domain observed in a log to its matching form, or `None`
/// when it cannot be a domain (empty, `-`, an IDN that does not convert).
#[inline]
pub fn observed_domain(value: &str) -> Option<Cow<'_, str>> {
    let trimmed = value.strip_suffix('.').unwrap_or(value);
    if trimmed.is_empty() || trimmed == "-" {
        return None;
    }
    to_ascii_lower(trimmed)
}

/// ASCII lower-case form of a host name, converting IDN labels.
fn to_ascii_lower(value: &str) -> Option<Cow<'_, str>> {
    let bytes = value.as_bytes();
    if bytes.iter().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        if !value.contains("xn--") {
            return Some(Cow::Borrowed(value));
        }
    } else if value.is_ascii() && !value.contains("xn--") {
        return Some(Cow::Owned(value.to_ascii_lowercase()));
    }
    idna::domain_to_ascii(value).ok().map(Cow::Owned)
}

fn validate_host_name(ascii: &str) -> Result<(), &'static str> {
    let bytes = ascii.as_bytes();
    if bytes.len() > 253 {
        return Err("longer than 253 characters");
    }
    let top = bytes.rsplit(|&b| b == b'.').next().unwrap_or_default();
    if top.iter().all(u8::is_ascii_digit) {
        return Err("the last label is a number, so the value is an address, not a domain");
    }
    for label in bytes.split(|&b| b == b'.') {
        if label.is_empty() {
            return Err("an empty label");
        }
        if label.len() > 63 {
            return Err("a label longer than 63 characters");
        }
        if !label
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("a character that host names do not allow");
        }
    }
    Ok(())
}

/// A digest algorithm, identified by the digest's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgo {
    /// 128-bit MD5 (also the form of JA3 and JA3S).
    Md5,
    /// 160-bit SHA-1.
    Sha1,
    /// 256-bit SHA-256.
    Sha256,
    /// 512-bit SHA-512.
    Sha512,
}

impl DigestAlgo {
    /// Returns the algorithm whose hex form has `len` digits.
    pub fn from_hex_len(len: usize) -> Option<Self> {
        match len {
            32 => Some(Self::Md5),
            40 => Some(Self::Sha1),
            64 => Some(Self::Sha256),
            128 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Number of hex digits of a digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha1 => 40,
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }

    /// Lower-case name as used in type names and ECS fields (`md5`, `sha1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }
}

/// Parses a hex digest, with or without colons between bytes, to its
/// lower-case hex form and algorithm.
///
/// # Errors
///
/// [`ValueError::NonHexDigest`] names the first character that is not a
/// hex digit, [`ValueError::DigestLength`] a length that fits no algorithm.
pub fn parse_digest(value: &str) -> Result<(DigestAlgo, String), ValueError> {
    // Most digests are hex digits alone, which only need lower case.
    let hex = if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        value.to_ascii_lowercase()
    } else {
        let mut hex = String::with_capacity(value.len());
        for (index, ch) in value.chars().enumerate() {
            match ch {
                ':' => {}
                c if c.is_ascii_hexdigit() => hex.push(c.to_ascii_lowercase()),
                c => {
                    return Err(ValueError::NonHexDigest {
                        ch: c,
                        position: index + 1,
                    });
                }
            }
        }
        hex
    };
    if hex.is_empty() {
        return Err(ValueError::Empty);
    }
    let algo = DigestAlgo::from_hex_len(hex.len()).ok_or(ValueError::DigestLength(hex.len()))?;
    Ok((algo, hex))
}

/// Normalises a digest observed in a log (lower case, colons removed), or
/// `None` when it is not hex of the expected algorithm's length.
#[inline]
pub fn observed_digest(value: &str, algo: DigestAlgo) -> Option<Cow<'_, str>> {
    let bytes = value.as_bytes();
    if bytes.len() == algo.hex_len()
        && bytes
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Some(Cow::Borrowed(value));
    }
    let hex: String = value
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == algo.hex_len() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(Cow::Owned(hex))
}

/// Parses an e-mail address to lower case with an ASCII domain. Angle
/// brackets and a display name (`Name <user@host>`) are removed.
///
/// # Errors
///
/// [`ValueError::InvalidEmail`] when the value has no `@`, an empty local
/// part or an invalid domain.
pub fn parse_email(value: &str) -> Result<String, ValueError> {
    let invalid = || ValueError::InvalidEmail("expected user@domain or Name <user@domain>".to_owned());
    let addr = strip_display_name(value);
    let (local, domain) = addr.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty() || local.contains(char::is_whitespace) || local.contains('@') {
        return Err(invalid());
    }
    let domain = parse_domain(domain).map_err(|_| invalid())?;
    Ok(format!("{}@{domain}", local.to_lowercase()))
}

/// Normalises an e-mail address seen in a log, or returns `None` when the
/// value is not an e-mail address.
pub fn observed_email(value: &str) -> Option<Cow<'_, str>> {
    let addr = strip_display_name(value);
    let (local, domain) = addr.rsplit_once('@')?;
    if local.is_empty() {
        return None;
    }
    if addr.len() == value.len()
        && addr.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        && !domain.contains("xn--")
        && !domain.ends_with('.')
    {
        return Some(Cow::Borrowed(value));
    }
    let domain = observed_domain(domain)?;
    Some(Cow::Owned(format!("{}@{domain}", local.to_lowercase())))
}

fn strip_display_name(value: &str) -> &str {
    let value = value.trim();
    match (value.rfind('<'), value.ends_with('>')) {
        (Some(open), true) => value[open + 1..value.len() - 1].trim(),
        _ => value,
    }
}

/// Parses a JA4 TLS client fingerprint (`t13d1516h2_8daaf6152771_b0da82dd1658`)
/// to lower case.
///
/// # Errors
///
/// [`ValueError::InvalidJa4`] when the value does not have JA4's shape.
pub fn parse_ja4(value: &str) -> Result<String, ValueError> {
    if is_ja4(value) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ValueError::InvalidJa4)
    }
}

/// True when `value` has the shape of a JA4 fingerprint: a 10-character
/// prefix (protocol, TLS version, SNI flag, cipher and extension counts,
/// ALPN), then two 12-digit hex hashes, joined by underscores.
pub fn is_ja4(value: &str) -> bool {
    let mut parts = value.split('_');
    let (Some(head), Some(ciphers), Some(extensions), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let head = head.as_bytes();
    head.len() == 10
        && matches!(head[0].to_ascii_lowercase(), b't' | b'q' | b'd')
        && head[1..3].iter().all(u8::is_ascii_alphanumeric)
        && matches!(head[3].to_ascii_lowercase(), b'd' | b'i')
        && head[4..8].iter().all(u8::is_ascii_digit)
        && head[8..10].iter().all(u8::is_ascii_alphanumeric)
        && ciphers.len() == 12
        && ciphers.bytes().all(|b| b.is_ascii_hexdigit())
        && extensions.len() == 12
        && extensions.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_forms_fold_to_one_address() {
        let expected: IpAddr = "2001:db8::1".parse().unwrap();
        for form in [
            "2001:db8::1",
            "2001:0DB8:0000:0000:0000:0000:0000:0001",
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            "[2001:db8::1]",
            "2001:db8::1%eth0",
        ] {
            assert_eq!(parse_ip(form), Ok(expected), "parse_ip({form:?})");
            assert_eq!(observed_ip(form), Some(expected), "observed_ip({form:?})");
        }
    }

    #[test]
    fn mapped_ipv6_folds_to_ipv4() {
        let v4: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(parse_ip("::ffff:192.0.2.10"), Ok(v4));
        assert_eq!(observed_ip("::ffff:c000:20a"), Some(v4));
    }

    #[test]
    fn leading_zero_octet_rejected() {
        assert_eq!(parse_ip("010.0.0.1"), Err(ValueError::LeadingZeroOctet));
        assert_eq!(parse_ip("10.0.0.01"), Err(ValueError::LeadingZeroOctet));
        assert!(matches!(
            parse_ip("999.1.1.1"),
            Err(ValueError::InvalidAddress(_))
        ));
        assert_eq!(observed_ip("010.0.0.1"), None);
    }

    #[test]
    fn ipv4_fast_parser_agrees_with_std() {
        let rows = [
            "0.0.0.0",
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.04",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "10.0.0.1 ",
            "1.2.3.4a",
            "1000.1.1.1",
            "0.00.1.1",
        ];
        for row in rows {
            assert_eq!(
                parse_ipv4_bytes(row.as_bytes()),
                row.parse::<Ipv4Addr>().ok(),
                "{row:?}"
            );
        }
    }

    #[test]
    fn observed_ip_rejects_names() {
        for value in ["-", "", "evil.example", "(empty)"] {
            assert_eq!(observed_ip(value), None, "{value:?}");
        }
    }

    #[test]
    fn domain_normal_form() {
        let rows = [
            ("Evil.Example", "evil.example"),
            ("evil.example.", "evil.example"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
            ("_dmarc.evil.example", "_dmarc.evil.example"),
        ];
        for (input, expected) in rows {
            assert_eq!(parse_domain(input).as_deref(), Ok(expected), "{input:?}");
            assert_eq!(observed_domain(input).as_deref(), Some(expected), "{input:?}");
        }
    }

    #[test]
    fn domain_invalid() {
        for input in ["evil..example", "evil example", "a/b.example", "."] {
            assert!(parse_domain(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn digest_forms() {
        assert_eq!(
            parse_digest("44D88612FEA8A8F36DE82E1278ABB02F"),
            Ok((DigestAlgo::Md5, "44d88612fea8a8f36de82e1278abb02f".to_owned()))
        );
        let colons = "E7:FC:4B:65:8C:64:F9:F7:DE:FB:82:5A:9D:85:5C:BF:A6:5C:37:81";
        assert_eq!(
            parse_digest(colons),
            Ok((
                DigestAlgo::Sha1,
                "e7fc4b658c64f9f7defb825a9d855cbfa65c3781".to_owned()
            ))
        );
        assert_eq!(
            observed_digest(colons, DigestAlgo::Sha1).as_deref(),
            Some("e7fc4b658c64f9f7defb825a9d855cbfa65c3781")
        );
    }

    #[test]
    fn digest_invalid() {
        assert_eq!(
            parse_digest("zz5d"),
            Err(ValueError::NonHexDigest { ch: 'z', position: 1 })
        );
        assert_eq!(
            parse_digest("44d88612fea8a8f36de82e1278abb02"),
            Err(ValueError::DigestLength(31))
        );
        assert_eq!(
            observed_digest("44d88612fea8a8f36de82e1278abb02", DigestAlgo::Md5),
            None
        );
    }

    #[test]
    fn email_forms() {
        assert_eq!(
            parse_email("User@Mail.Example").as_deref(),
            Ok("user@mail.example")
        );
        assert_eq!(
            parse_email("<user@mail.example>").as_deref(),
            Ok("user@mail.example")
        );
        assert_eq!(
            observed_email("Bad Sender <BAD@mail.example>").as_deref(),
            Some("bad@mail.example")
        );
        assert!(parse_email("no-at-sign.example").is_err());
        assert!(parse_email("@mail.example").is_err());
    }

    #[test]
    fn ja4_shape() {
        assert!(is_ja4("t13d1516h2_8daaf6152771_b0da82dd1658"));
        assert!(is_ja4("q13d0312h3_55b375c5d22e_06cda9e17597"));
        assert!(!is_ja4("t13d1516h2_8daaf6152771"));
        assert!(!is_ja4("evil.example"));
    }
}
