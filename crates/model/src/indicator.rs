//! Indicators: typed, normalised values from threat intelligence, with
//! the metadata their source gives.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::refang::refang;
use crate::shape::detect_common_shape;
use crate::url::CanonicalUrl;
use crate::value::{
    DigestAlgo, ValueError, dotted_quad_error, is_ja4, looks_like_dotted_quad, parse_digest, parse_domain,
    parse_email, parse_ip, parse_ja4,
};

/// Shortest IPv4 prefix accepted without `allow_broad`.
pub const MIN_IPV4_PREFIX: u8 = 8;
/// Shortest IPv6 prefix accepted without `allow_broad`.
pub const MIN_IPV6_PREFIX: u8 = 32;

/// The kind of observed digest a digest indicator applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestScope {
    /// The source does not say what the digest is of: it matches file and
    /// certificate digests of its algorithm, and for MD5 also JA3 and JA3S.
    Any,
    /// A file digest only.
    File,
    /// A certificate digest only.
    Cert,
    /// A JA3 TLS client fingerprint only (MD5).
    Ja3,
    /// A JA3S TLS server fingerprint only (MD5).
    Ja3s,
}

/// A normalised indicator value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndicatorValue {
    /// One IPv4 or IPv6 address (IPv4-mapped addresses folded to IPv4).
    Ip(IpAddr),
    /// An address with a port (`ip:port` in feeds): matches only traffic
    /// to or from that port.
    Socket(IpAddr, u16),
    /// A network in CIDR notation, host bits cleared.
    Net(IpNet),
    /// A domain in ASCII lower case without trailing dot; matches itself
    /// and its subdomains.
    Domain(String),
    /// A URL in canonical form.
    Url(CanonicalUrl),
    /// A digest in lower-case hex without colons.
    Digest {
        /// The digest algorithm.
        algo: DigestAlgo,
        /// The objects it applies to.
        scope: DigestScope,
        /// Lower-case hex digits.
        hex: String,
    },
    /// An e-mail address in lower case.
    Email(String),
    /// A JA4 TLS client fingerprint in lower case.
    Ja4(String),
}

/// The type of an indicator, as shown to users and accepted in type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndicatorKind {
    /// An address.
    Ip,
    /// An address with a port.
    IpPort,
    /// A network.
    Cidr,
    /// A domain.
    Domain,
    /// A URL.
    Url,
    /// A digest of unstated object, or a file digest.
    Hash(DigestAlgo),
    /// A certificate digest.
    CertHash(DigestAlgo),
    /// A JA3 fingerprint.
    Ja3,
    /// A JA3S fingerprint.
    Ja3s,
    /// A JA4 fingerprint.
    Ja4,
    /// An e-mail address.
    Email,
}

impl IndicatorKind {
    /// Short lower-case name (`ip`, `cidr`, `sha256`, `cert-sha1`, `ja3`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::IpPort => "ip-port",
            Self::Cidr => "cidr",
            Self::Domain => "domain",
            Self::Url => "url",
            Self::Hash(algo) => algo.as_str(),
            Self::CertHash(DigestAlgo::Md5) => "cert-md5",
            Self::CertHash(DigestAlgo::Sha1) => "cert-sha1",
            Self::CertHash(DigestAlgo::Sha256) => "cert-sha256",
            Self::CertHash(DigestAlgo::Sha512) => "cert-sha512",
            Self::Ja3 => "ja3",
            Self::Ja3s => "ja3s",
            Self::Ja4 => "ja4",
            Self::Email => "email",
        }
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IndicatorValue {
    /// Returns the indicator's type.
    pub fn kind(&self) -> IndicatorKind {
        match self {
            Self::Ip(_) => IndicatorKind::Ip,
            Self::Socket(..) => IndicatorKind::IpPort,
            Self::Net(_) => IndicatorKind::Cidr,
            Self::Domain(_) => IndicatorKind::Domain,
            Self::Url(_) => IndicatorKind::Url,
            Self::Digest { algo, scope, .. } => match scope {
                DigestScope::Any | DigestScope::File => IndicatorKind::Hash(*algo),
                DigestScope::Cert => IndicatorKind::CertHash(*algo),
                DigestScope::Ja3 => IndicatorKind::Ja3,
                DigestScope::Ja3s => IndicatorKind::Ja3s,
            },
            Self::Email(_) => IndicatorKind::Email,
            Self::Ja4(_) => IndicatorKind::Ja4,
        }
    }

    /// Returns the STIX 2.1 cyber-observable type the indicator describes, as ECS
    /// `threat.indicator.type` uses it.
    pub fn stix_type(&self) -> &'static str {
        match self {
            Self::Ip(IpAddr::V4(_)) | Self::Socket(IpAddr::V4(_), _) | Self::Net(IpNet::V4(_)) => "ipv4-addr",
            Self::Ip(IpAddr::V6(_)) | Self::Socket(IpAddr::V6(_), _) | Self::Net(IpNet::V6(_)) => "ipv6-addr",
            Self::Domain(_) => "domain-name",
            Self::Url(_) => "url",
            Self::Digest {
                scope: DigestScope::Cert,
                ..
            } => "x509-certificate",
            Self::Digest {
                scope: DigestScope::Ja3 | DigestScope::Ja3s,
                ..
            }
            | Self::Ja4(_) => "network-traffic",
            Self::Digest { .. } => "file",
            Self::Email(_) => "email-addr",
        }
    }
}

impl fmt::Display for IndicatorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Socket(IpAddr::V6(ip), port) => write!(f, "[{ip}]:{port}"),
            Self::Socket(ip, port) => write!(f, "{ip}:{port}"),
            Self::Net(net) => write!(f, "{net}"),
            Self::Url(url) => write!(f, "{url}"),
            Self::Domain(s) | Self::Email(s) | Self::Ja4(s) | Self::Digest { hex: s, .. } => f.write_str(s),
        }
    }
}

/// The type a source declares for a value: a column name, a Zeek
/// `Intel::*` type, a ThreatFox `ioc_type`. A value that does not fit
/// its declared type is re-typed from its content, with a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindHint {
    /// An address, network or address with port.
    Address,
    /// A domain or host name.
    Domain,
    /// A URL, with or without scheme.
    Url,
    /// A digest, of the given algorithm when stated.
    Digest(Option<DigestAlgo>, DigestScope),
    /// An e-mail address.
    Email,
    /// A JA4 fingerprint.
    Ja4,
}

impl KindHint {
    /// Reads a type name as feeds and users write it: `ip`, `ipv4`,
    /// `ip-dst`, `ip:port`, `cidr`, `domain`, `hostname`, `url`, `md5`,
    /// `sha256_hash`, `hash`, `ja3`, `ja3s`, `ja4`, `cert-sha1`, `email`,
    /// and the Zeek intel types `Intel::ADDR`, `Intel::SUBNET`,
    /// `Intel::DOMAIN`, `Intel::URL`, `Intel::FILE_HASH`,
    /// `Intel::CERT_HASH`, `Intel::EMAIL`, `Intel::JA3`.
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.trim().to_ascii_lowercase();
        let name = lower.strip_prefix("intel::").unwrap_or(&lower);
        let name = name.replace(['-', ' '], "_");
        let digest = |algo, scope| Some(Self::Digest(algo, scope));
        match name.as_str() {
            "ip" | "ipv4" | "ipv6" | "addr" | "address" | "ip_address" | "ip_dst" | "ip_src" | "dst_ip"
            | "src_ip" | "ip:port" | "ip_port" | "cidr" | "subnet" | "network" | "net" | "netblock" => {
                Some(Self::Address)
            }
            "domain" | "hostname" | "host" | "fqdn" | "domain_name" | "dns" => Some(Self::Domain),
            "url" | "uri" | "link" => Some(Self::Url),
            "hash" | "digest" => digest(None, DigestScope::Any),
            "file_hash" | "filehash" => digest(None, DigestScope::File),
            "md5" | "md5_hash" => digest(Some(DigestAlgo::Md5), DigestScope::Any),
            "sha1" | "sha1_hash" | "sha_1" => digest(Some(DigestAlgo::Sha1), DigestScope::Any),
            "sha256" | "sha256_hash" | "sha_256" => digest(Some(DigestAlgo::Sha256), DigestScope::Any),
            "sha512" | "sha512_hash" | "sha_512" => digest(Some(DigestAlgo::Sha512), DigestScope::Any),
            "cert_hash" | "certificate" | "x509" | "x509_certificate" | "cert_fingerprint" => {
                digest(None, DigestScope::Cert)
            }
            "cert_sha1" | "x509_sha1" | "ssl_cert_sha1" => digest(Some(DigestAlgo::Sha1), DigestScope::Cert),
            "cert_sha256" | "x509_sha256" => digest(Some(DigestAlgo::Sha256), DigestScope::Cert),
            "ja3" | "ja3_md5" | "ja3_hash" => digest(Some(DigestAlgo::Md5), DigestScope::Ja3),
            "ja3s" | "ja3s_md5" | "ja3s_hash" => digest(Some(DigestAlgo::Md5), DigestScope::Ja3s),
            "ja4" | "ja4_fingerprint" => Some(Self::Ja4),
            "email" | "email_addr" | "email_address" | "mail" | "sender" | "email_src" => Some(Self::Email),
            _ => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Domain => "domain",
            Self::Url => "URL",
            Self::Digest(_, DigestScope::Ja3) => "JA3",
            Self::Digest(_, DigestScope::Ja3s) => "JA3S",
            Self::Digest(..) => "hash",
            Self::Email => "e-mail address",
            Self::Ja4 => "JA4",
        }
    }
}

/// Options for [`parse_indicator`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// Accept networks shorter than /8 (IPv4) or /32 (IPv6) and public
    /// suffixes, which are otherwise rejected as too broad.
    pub allow_broad: bool,
}

/// Something worth telling the user about an accepted indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// The value was filed under another type and loaded as what it is.
    Retyped {
        /// The declared type.
        declared: &'static str,
        /// The type it was loaded as.
        loaded: IndicatorKind,
    },
    /// A private, shared (CGNAT), link-local or unique-local address or
    /// network: kept, since some teams watch internal hosts on purpose.
    InternalAddress,
    /// A network written with host bits set, loaded as its network.
    HostBitsCleared {
        /// The network as loaded.
        network: IpNet,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retyped { declared, loaded } => write!(f, "filed as {declared}, loaded as {loaded}"),
            Self::InternalAddress => f.write_str("private, shared or link-local address kept"),
            Self::HostBitsCleared { network } => write!(f, "host bits set, loaded as {network}"),
        }
    }
}

/// The reason an indicator was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IndicatorError {
    /// The value is malformed.
    #[error(transparent)]
    Invalid(#[from] ValueError),
    /// The value would match far too much traffic: a very short network
    /// prefix, a public suffix or an unknown single-label domain.
    #[error("too broad: {0}; load it with --allow-broad if it is really meant")]
    TooBroad(String),
    /// The address can never be a remote party (unspecified, loopback,
    /// multicast, limited broadcast), so the indicator is dropped.
    #[error("dropped: {0} can never be a remote party")]
    Unroutable(&'static str),
}

impl IndicatorError {
    /// True for indicators dropped with a warning rather than rejected as
    /// malformed or too broad.
    pub fn is_dropped(&self) -> bool {
        matches!(self, Self::Unroutable(_))
    }
}

/// An indicator value accepted by [`parse_indicator`], with its notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The normalised value.
    pub value: IndicatorValue,
    /// Notes for the user.
    pub notes: Vec<Note>,
}

/// Parses one indicator value: refangs it, trims blanks and CR, detects
/// its type (or checks the declared `hint`), normalises it and applies the
/// breadth and routability rules.
///
/// # Errors
///
/// See [`IndicatorError`]: malformed values, over-broad values and
/// addresses that can never be remote.
pub fn parse_indicator(
    raw: &str,
    hint: Option<KindHint>,
    options: ParseOptions,
) -> Result<Parsed, IndicatorError> {
    let trimmed = raw.trim();
    let shaped = match hint {
        None => detect_common_shape(trimmed),
        Some(_) => None,
    };
    let mut notes = Vec::new();
    let detected = match shaped {
        Some(result) => result?,
        None => detect_any(trimmed, hint, &mut notes)?,
    };
    let value = check_scope(detected, options, &mut notes)?;
    Ok(Parsed { value, notes })
}

/// Refangs and types a trimmed value of any shape, before the breadth
/// and routability rules: the general path of [`parse_indicator`].
pub(crate) fn detect_any(
    trimmed: &str,
    hint: Option<KindHint>,
    notes: &mut Vec<Note>,
) -> Result<IndicatorValue, IndicatorError> {
    let refanged = refang(trimmed);
    let value = refanged.trim();
    if value.is_empty() {
        return Err(ValueError::Empty.into());
    }
    match hint {
        Some(hint) => parse_with_hint(value, hint, notes),
        None => detect(value),
    }
}

fn parse_with_hint(
    value: &str,
    hint: KindHint,
    notes: &mut Vec<Note>,
) -> Result<IndicatorValue, IndicatorError> {
    let typed = match hint {
        KindHint::Address => parse_address(value).ok(),
        KindHint::Domain => parse_domain(value).ok().map(IndicatorValue::Domain),
        KindHint::Url => CanonicalUrl::parse(value).ok().map(IndicatorValue::Url),
        KindHint::Email => parse_email(value).ok().map(IndicatorValue::Email),
        KindHint::Ja4 => parse_ja4(value).ok().map(IndicatorValue::Ja4),
        KindHint::Digest(algo, scope) => {
            let (found, hex) = parse_digest(value)?;
            let fits_scope =
                !matches!(scope, DigestScope::Ja3 | DigestScope::Ja3s) || found == DigestAlgo::Md5;
            if let Some(expected) = algo.filter(|expected| *expected != found || !fits_scope) {
                return Err(ValueError::DigestTypeLength {
                    expected: expected.as_str(),
                    needed: expected.hex_len(),
                    found: hex.len(),
                }
                .into());
            }
            Some(IndicatorValue::Digest {
                algo: found,
                scope,
                hex,
            })
        }
    };
    if let Some(typed) = typed {
        return Ok(typed);
    }
    // The value does not fit its declared type: load it as what it is,
    // unless it is a domain under a URL column (a URL without path).
    let detected = detect(value)?;
    if let (KindHint::Url, IndicatorValue::Domain(_)) = (hint, &detected)
        && let Ok(url) = CanonicalUrl::parse(value)
    {
        return Ok(IndicatorValue::Url(url));
    }
    notes.push(Note::Retyped {
        declared: hint.describe(),
        loaded: detected.kind(),
    });
    Ok(detected)
}

/// Detects the type of an untyped value from its content.
fn detect(value: &str) -> Result<IndicatorValue, IndicatorError> {
    if value.contains("://") {
        return Ok(IndicatorValue::Url(CanonicalUrl::parse(value)?));
    }
    let address = parse_address(value);
    if let Ok(address) = address {
        return Ok(address);
    }
    // An address-shaped value keeps the address error (a port out of
    // range, a bad prefix, an octet above 255) rather than a misleading
    // URL or domain error. The head counts as an address when it parses
    // or when it has the dotted-quad shape of one.
    if let Err(err) = address {
        let head = value.split(['/', ':']).next().unwrap_or(value);
        let tail = value.rsplit(['/', ':']).next().unwrap_or_default();
        let numeric_tail = !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit());
        let address_head = parse_ip(head).is_ok() || looks_like_dotted_quad(head);
        if value.contains([':', '/']) && numeric_tail && address_head {
            return Err(err);
        }
    }
    if is_ja4(value) {
        return Ok(IndicatorValue::Ja4(value.to_ascii_lowercase()));
    }
    if looks_like_digest(value) {
        let (algo, hex) = parse_digest(value)?;
        return Ok(IndicatorValue::Digest {
            algo,
            scope: DigestScope::Any,
            hex,
        });
    }
    if looks_like_dotted_quad(value) {
        return Err(dotted_quad_error(value).into());
    }
    if value.contains('@') && !value.contains('/') {
        return Ok(IndicatorValue::Email(parse_email(value)?));
    }
    if value.contains('/') || value.contains('?') {
        return Ok(IndicatorValue::Url(CanonicalUrl::parse(value)?));
    }
    detect_domain(value)
}

/// Types a value that no other check of [`detect`] claimed as a domain,
/// or rejects it.
pub(crate) fn detect_domain(value: &str) -> Result<IndicatorValue, IndicatorError> {
    match parse_domain(value) {
        // A single label is a domain only when it is a known top-level
        // domain (rejected later as too broad); `wpad` or `AS12345` is not.
        Ok(domain)
            if domain.contains('.') || psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known()) =>
        {
            Ok(IndicatorValue::Domain(domain))
        }
        Ok(_) => Err(ValueError::Unrecognised.into()),
        Err(ValueError::InvalidDomain(_)) if !value.contains('.') => Err(ValueError::Unrecognised.into()),
        Err(err) => Err(err.into()),
    }
}

/// Tells whether a value without dots, slashes or `@` is long and mostly
/// hex: a digest, possibly a broken one that deserves a precise message.
fn looks_like_digest(value: &str) -> bool {
    if value.contains(['.', '/', '@']) || value.len() < 16 {
        return false;
    }
    let hex = value
        .chars()
        .filter(|c| c.is_ascii_hexdigit() || *c == ':')
        .count();
    DigestAlgo::from_hex_len(value.len()).is_some() || hex == value.chars().count()
}

/// Parses an address, network (`192.0.2.0/24`) or address with port
/// (`192.0.2.1:8080`, `[2001:db8::1]:443`).
fn parse_address(value: &str) -> Result<IndicatorValue, IndicatorError> {
    if let Some((addr, prefix)) = value.split_once('/') {
        let ip = parse_ip(addr).map_err(|err| match err {
            // Name the whole network in the message, not only its address.
            ValueError::InvalidAddress(_) if looks_like_dotted_quad(addr) => {
                ValueError::InvalidAddress(format!("{value}: an octet of the network address is above 255"))
            }
            other => other,
        })?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| ValueError::InvalidAddress(format!("{value}: the prefix length is not a number")))?;
        return network(value, ip, prefix);
    }
    if let Ok(ip) = parse_ip(value) {
        return Ok(IndicatorValue::Ip(ip));
    }
    if let Some((addr, port)) = value.rsplit_once(':') {
        let looks_v6 = addr.contains(':');
        if (!looks_v6 || addr.starts_with('['))
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
        {
            let ip = parse_ip(addr)?;
            let port: u16 = port
                .parse()
                .map_err(|_| ValueError::InvalidAddress(format!("{value}: the port is out of range")))?;
            return Ok(IndicatorValue::Socket(ip, port));
        }
    }
    parse_ip(value).map(IndicatorValue::Ip).map_err(Into::into)
}

fn network(value: &str, ip: IpAddr, prefix: u8) -> Result<IndicatorValue, IndicatorError> {
    let invalid = || ValueError::InvalidAddress(format!("{value}: the prefix length is out of range"));
    let net = match ip {
        IpAddr::V4(v4) => {
            // A value written as an IPv4-mapped network folds with its
            // address, so its prefix counts from the IPv4 part.
            let written_v6 = value.contains(':');
            let prefix = if written_v6 {
                prefix.checked_sub(96).ok_or_else(invalid)?
            } else {
                prefix
            };
            IpNet::V4(Ipv4Net::new(v4, prefix).map_err(|_| invalid())?)
        }
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::new(v6, prefix).map_err(|_| invalid())?),
    };
    Ok(IndicatorValue::Net(net))
}

/// Applies breadth and routability rules; turns a full-length network
/// into an address.
fn check_scope(
    value: IndicatorValue,
    options: ParseOptions,
    notes: &mut Vec<Note>,
) -> Result<IndicatorValue, IndicatorError> {
    match value {
        IndicatorValue::Net(net) => {
            let trunc = net.trunc();
            if trunc != net {
                notes.push(Note::HostBitsCleared { network: trunc });
            }
            let min = match trunc {
                IpNet::V4(_) => MIN_IPV4_PREFIX,
                IpNet::V6(_) => MIN_IPV6_PREFIX,
            };
            if trunc.prefix_len() == trunc.max_prefix_len() {
                return check_scope(IndicatorValue::Ip(trunc.addr()), options, notes);
            }
            if trunc.prefix_len() < min && !options.allow_broad {
                return Err(IndicatorError::TooBroad(format!("a network shorter than /{min}")));
            }
            // Dropped only when the whole network lies in one unroutable
            // block: 0.0.0.0/0 spans several and is merely too broad.
            if let Some(reason) =
                unroutable(trunc.network()).filter(|r| unroutable(trunc.broadcast()) == Some(*r))
            {
                return Err(IndicatorError::Unroutable(reason));
            }
            if is_internal(trunc.network()) || is_internal(trunc.broadcast()) {
                notes.push(Note::InternalAddress);
            }
            Ok(IndicatorValue::Net(trunc))
        }
        IndicatorValue::Ip(ip) | IndicatorValue::Socket(ip, _) => {
            if let Some(reason) = unroutable(ip) {
                return Err(IndicatorError::Unroutable(reason));
            }
            if is_internal(ip) {
                notes.push(Note::InternalAddress);
            }
            Ok(value)
        }
        IndicatorValue::Domain(ref domain) => {
            if !options.allow_broad
                && let Some(reason) = broad_domain_reason(domain)
            {
                return Err(IndicatorError::TooBroad(reason.to_owned()));
            }
            Ok(value)
        }
        other => Ok(other),
    }
}

/// Returns why `domain` is too broad to load, if it is: it is a
/// top-level domain or a public suffix, or a single label that the Public
/// Suffix List does not know.
///
/// Every ICANN suffix counts (`com`, `co.uk`). Of the private suffixes
/// (hosting and dynamic-DNS providers), only those of two labels count
/// (`github.io`, `duckdns.org`). Wildcard rules of the list make every
/// name directly under some providers a suffix, and those names are
/// exactly the attacker-chosen hosts that feeds list. The list's default
/// rule makes every unknown single label a suffix too (`avtotrans`).
fn broad_domain_reason(domain: &str) -> Option<&'static str> {
    let suffix = psl::suffix(domain.as_bytes())?;
    if suffix.as_bytes() != domain.as_bytes() {
        return None;
    }
    match suffix.typ() {
        Some(psl::Type::Private) if domain.split('.').count() > 2 => None,
        Some(_) => Some("a top-level domain or public suffix"),
        None => Some("a single label and not a known top-level domain"),
    }
}

/// Returns the reason an address can never be a remote party, if it cannot.
fn unroutable(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(v4) if v4.octets()[0] == 0 => Some("a \"this network\" address (0.0.0.0/8)"),
        IpAddr::V4(v4) if v4.is_loopback() => Some("a loopback address"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address"),
        IpAddr::V4(v4) if v4 == Ipv4Addr::BROADCAST => Some("the limited broadcast address"),
        IpAddr::V4(v4) if v4.octets()[0] >= 240 => Some("a reserved address (240.0.0.0/4)"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v6) if v6.is_loopback() => Some("a loopback address"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
        _ => None,
    }
}

/// Private, shared (CGNAT), link-local and unique-local addresses.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => is_unique_local(v6) || is_unicast_link_local(v6),
    }
}

fn is_unique_local(v6: Ipv6Addr) -> bool {
    (v6.segments()[0] & 0xfe00) == 0xfc00
}

fn is_unicast_link_local(v6: Ipv6Addr) -> bool {
    (v6.segments()[0] & 0xffc0) == 0xfe80
}

/// Domain matching mode of a watchlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DomainMatch {
    /// A domain matches itself and every subdomain.
    #[default]
    Subdomains,
    /// A domain matches only itself.
    Exact,
}

impl DomainMatch {
    /// Returns the name used in settings: `subdomains` or `exact`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subdomains => "subdomains",
            Self::Exact => "exact",
        }
    }

    /// Reads `subdomains` or `exact`, in any letter case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "subdomains" => Some(Self::Subdomains),
            "exact" => Some(Self::Exact),
            _ => None,
        }
    }
}

impl fmt::Display for DomainMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Metadata the source gives about an indicator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// Human-readable description or listing reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Link to more information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Publisher of the indicator (feed or organisation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Confidence from 0 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
    /// When the source first saw the indicator, as the source writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// When the source last saw the indicator, as the source writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Malware family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malware: Option<String>,
    /// Traffic Light Protocol marking (`clear`, `green`, `amber`, `red`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tlp: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Other columns of the source, by column name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Meta {
    /// True when the source gave nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Location an indicator was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file (or other source) name.
    pub source: Arc<str>,
    /// 1-based line number.
    pub line: u64,
}

/// One indicator of a watchlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// The normalised value.
    pub value: IndicatorValue,
    /// The value as the source wrote it.
    pub original: String,
    /// Metadata from the source.
    pub meta: Arc<Meta>,
    /// Location it was read from.
    pub origin: Origin,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<IndicatorValue, IndicatorError> {
        parse_indicator(raw, None, ParseOptions::default()).map(|p| p.value)
    }

    fn kind(raw: &str) -> IndicatorKind {
        parse(raw).unwrap_or_else(|err| panic!("{raw:?}: {err}")).kind()
    }

    #[test]
    fn type_detection_table() {
        let rows = [
            ("198.51.100.7", IndicatorKind::Ip),
            ("2001:db8::1", IndicatorKind::Ip),
            ("198.51.100.0/24", IndicatorKind::Cidr),
            ("2001:db8::/48", IndicatorKind::Cidr),
            ("198.51.100.7:8443", IndicatorKind::IpPort),
            ("[2001:db8::1]:443", IndicatorKind::IpPort),
            ("evil.example", IndicatorKind::Domain),
            ("http://evil.example/a", IndicatorKind::Url),
            ("evil.example/a.php", IndicatorKind::Url),
            ("89.39.105.12/ip.shtml", IndicatorKind::Url),
            ("user@mail.example", IndicatorKind::Email),
            (
                "44d88612fea8a8f36de82e1278abb02f",
                IndicatorKind::Hash(DigestAlgo::Md5),
            ),
            (
                "3395856ce81f2b7382dee72602f798b642f14140",
                IndicatorKind::Hash(DigestAlgo::Sha1),
            ),
            (&"a".repeat(64), IndicatorKind::Hash(DigestAlgo::Sha256)),
            (&"b".repeat(128), IndicatorKind::Hash(DigestAlgo::Sha512)),
            ("t13d1516h2_8daaf6152771_b0da82dd1658", IndicatorKind::Ja4),
            ("hxxps[://]evil[.]example[/]a", IndicatorKind::Url),
        ];
        for (raw, expected) in rows {
            assert_eq!(kind(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn cr_and_blanks_trimmed() {
        assert_eq!(
            parse("192.0.2.10  \r"),
            Ok(IndicatorValue::Ip("192.0.2.10".parse().unwrap()))
        );
    }

    #[test]
    fn broad_values_rejected() {
        for raw in ["0.0.0.0/0", "10.0.0.0/7", "2000::/3", "com", "github.io", "co.uk"] {
            let err = parse(raw).unwrap_err();
            assert!(matches!(err, IndicatorError::TooBroad(_)), "{raw:?}: {err}");
        }
        let allowed = parse_indicator("com", None, ParseOptions { allow_broad: true });
        assert!(allowed.is_ok());
        let everything = parse_indicator("0.0.0.0/0", None, ParseOptions { allow_broad: true });
        assert!(everything.is_ok());
    }

    #[test]
    fn hosts_under_wildcard_suffixes_kept() {
        for raw in [
            "0kydwb3k6.localto.net",
            "decision-at.at.ply.gg",
            "kinggru.duckdns.org",
        ] {
            assert_eq!(kind(raw), IndicatorKind::Domain, "{raw:?}");
        }
    }

    #[test]
    fn port_out_of_range_named() {
        let err = parse("147.185.221.18:525310").unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
    }

    #[test]
    fn unroutable_dropped() {
        for raw in [
            "127.0.0.1",
            "0.0.0.0",
            "0.0.0.1",
            "255.255.255.255",
            "250.1.2.3",
            "224.0.0.1",
            "::1",
            "::",
            "ff02::fb",
            "127.0.0.0/8",
        ] {
            let err = parse(raw).unwrap_err();
            assert!(err.is_dropped(), "{raw:?}: {err}");
        }
    }

    #[test]
    fn internal_kept_with_note() {
        for raw in [
            "10.1.2.3",
            "172.16.0.0/12",
            "100.64.1.1",
            "169.254.1.1",
            "fd00::1",
        ] {
            let parsed = parse_indicator(raw, None, ParseOptions::default()).unwrap();
            assert_eq!(parsed.notes, vec![Note::InternalAddress], "{raw:?}");
        }
    }

    #[test]
    fn host_bits_cleared() {
        let parsed = parse_indicator("198.51.100.7/24", None, ParseOptions::default()).unwrap();
        assert_eq!(parsed.value.to_string(), "198.51.100.0/24");
        assert_eq!(parsed.notes.len(), 1);
    }

    #[test]
    fn full_length_network_is_address() {
        assert_eq!(kind("198.51.100.7/32"), IndicatorKind::Ip);
    }

    #[test]
    fn single_unknown_label_unrecognised() {
        for raw in ["wpad", "AS12345", "the"] {
            assert_eq!(
                parse(raw),
                Err(IndicatorError::Invalid(ValueError::Unrecognised)),
                "{raw:?}"
            );
        }
        assert!(matches!(parse("com"), Err(IndicatorError::TooBroad(_))));
    }

    #[test]
    fn broad_domain_reason_names_kind() {
        let domain = |raw| parse_indicator(raw, Some(KindHint::Domain), ParseOptions::default());
        let tld = domain("com").unwrap_err().to_string();
        assert!(
            tld.contains("too broad: a top-level domain or public suffix"),
            "{tld}"
        );
        let label = domain("avtotrans").unwrap_err().to_string();
        assert!(
            label.contains("too broad: a single label and not a known top-level domain"),
            "{label}"
        );
        assert!(!label.contains("public suffix"), "{label}");
        assert!(domain("avtotrans.example").is_ok());
    }

    #[test]
    fn invalid_values() {
        let rows = [
            ("", ValueError::Empty),
            ("010.1.1.1", ValueError::LeadingZeroOctet),
            ("44d88612fea8a8f36de82e1278abb02", ValueError::DigestLength(31)),
        ];
        for (raw, expected) in rows {
            assert_eq!(parse(raw), Err(IndicatorError::Invalid(expected)), "{raw:?}");
        }
        let non_hex = format!("zz5d{}", "0".repeat(60));
        assert!(matches!(
            parse(&non_hex),
            Err(IndicatorError::Invalid(ValueError::NonHexDigest { .. }))
        ));
        assert!(parse("not a value").is_err());
    }

    #[test]
    fn network_with_bad_octet_invalid() {
        let rows = [
            (
                "999.1.1.1/24",
                ValueError::InvalidAddress(
                    "999.1.1.1/24: an octet of the network address is above 255".into(),
                ),
            ),
            (
                "198.51.100.256/24",
                ValueError::InvalidAddress(
                    "198.51.100.256/24: an octet of the network address is above 255".into(),
                ),
            ),
            ("010.1.1.1/24", ValueError::LeadingZeroOctet),
            (
                "999.1.1.1:80",
                ValueError::InvalidAddress("999.1.1.1: an octet is above 255".into()),
            ),
        ];
        for (raw, expected) in rows {
            assert_eq!(parse(raw), Err(IndicatorError::Invalid(expected)), "{raw:?}");
        }
        // A path that is not a number keeps the value a URL.
        assert_eq!(kind("198.51.100.7/ip.shtml"), IndicatorKind::Url);
    }

    #[test]
    fn address_in_domain_column_retyped() {
        let parsed =
            parse_indicator("198.51.100.9", Some(KindHint::Domain), ParseOptions::default()).unwrap();
        assert_eq!(parsed.value.kind(), IndicatorKind::Ip);
        assert!(matches!(
            parsed.notes[0],
            Note::Retyped {
                declared: "domain",
                ..
            }
        ));
    }

    #[test]
    fn hinted_digest_scope() {
        let ja3 = "b386946a5a44d1ddcc843bc75336dfce";
        let parsed = parse_indicator(ja3, KindHint::from_name("ja3_md5"), ParseOptions::default()).unwrap();
        assert_eq!(parsed.value.kind(), IndicatorKind::Ja3);
        let cert = parse_indicator(
            &"a".repeat(40),
            KindHint::from_name("Intel::CERT_HASH"),
            ParseOptions::default(),
        );
        assert_eq!(
            cert.unwrap().value.kind(),
            IndicatorKind::CertHash(DigestAlgo::Sha1)
        );
        let wrong = parse_indicator(
            &"a".repeat(40),
            KindHint::from_name("md5"),
            ParseOptions::default(),
        );
        assert!(wrong.is_err());
    }

    #[test]
    fn zeek_url_without_scheme() {
        let parsed = parse_indicator("evil.example", Some(KindHint::Url), ParseOptions::default()).unwrap();
        assert_eq!(parsed.value.to_string(), "evil.example/");
    }

    #[test]
    fn mapped_network_folds() {
        assert_eq!(
            parse("::ffff:198.51.100.0/120").unwrap().to_string(),
            "198.51.100.0/24"
        );
    }
}
