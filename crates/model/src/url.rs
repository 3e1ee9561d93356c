//! URL canonical form.
//!
//! The WHATWG parser in the `url` crate resolves `..` segments and
//! re-encodes the path, so two logs of the same request could differ from
//! the feed after parsing. iocwatch keeps the path and query exactly as
//! written and normalises only what is case- or form-insensitive by the
//! URL standard: the scheme, the host, the port and the fragment.

use std::fmt;
use std::net::IpAddr;

use crate::value::{ValueError, observed_domain, observed_ip, parse_domain, parse_ip};

/// A URL in canonical form, split into its scheme and the part that
/// identifies the resource (the matching key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalUrl {
    /// Lower-case scheme, `None` when the value was written without one.
    pub scheme: Option<String>,
    /// `host[:port]/path[?query]`: host lower case and ASCII, the port only
    /// when it is not the scheme's default, the path `/` when empty, no
    /// fragment.
    pub key: String,
}

impl CanonicalUrl {
    /// Parses an indicator URL.
    ///
    /// # Errors
    ///
    /// [`ValueError::InvalidUrl`] when the host or port is malformed.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        canonicalise(value, true).map_err(|reason| ValueError::InvalidUrl(reason.to_string()))
    }

    /// Canonicalises a URL seen in a log, or `None` when it has no host.
    pub fn observed(value: &str) -> Option<Self> {
        canonicalise(value, false).ok()
    }

    /// Returns the host part of the key, without port.
    pub fn host(&self) -> &str {
        key_host(&self.key)
    }
}

/// Returns the host part of a [`CanonicalUrl::key`], without port and
/// without the brackets of an IPv6 address.
pub fn key_host(key: &str) -> &str {
    let authority = key.split('/').next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority.split(']').next().map_or(authority, |h| &h[1..]);
    }
    authority.split(':').next().unwrap_or(authority)
}

impl fmt::Display for CanonicalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scheme {
            Some(scheme) => write!(f, "{scheme}://{}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

/// Port a scheme implies when the URL gives none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

fn canonicalise(value: &str, strict: bool) -> Result<CanonicalUrl, &'static str> {
    let value = value.trim();
    // A "://" after the first "/" belongs to the path (an archived URL
    // inside another), not to a scheme.
    let scheme_end = value.find("://").filter(|pos| !value[..*pos].contains('/'));
    let (scheme, rest) = match scheme_end {
        Some(pos) if is_scheme(&value[..pos]) => (Some(value[..pos].to_ascii_lowercase()), &value[pos + 3..]),
        Some(_) => return Err("the scheme is malformed"),
        None => (None, value.strip_prefix("//").unwrap_or(value)),
    };

    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // User information is not part of the resource: phishing URLs use it
    // to put a trusted name in front of the real host.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let (host, port) = split_host_port(host_port)?;
    let host = canonical_host(host, strict)?;
    // Without a scheme, only a dot or an address's colon marks a host,
    // so `http//x`, a scheme that lost its colon, is rejected.
    if strict && scheme.is_none() && !host.contains(['.', ':']) {
        return Err(if is_scheme(&host) && tail.starts_with("//") {
            "the colon after the scheme is missing"
        } else {
            "it has no scheme and its host has no dot; write the scheme (http://) before a single-label host"
        });
    }

    let port = match port {
        None | Some("") => None,
        Some(digits) => {
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err("the port is not a number");
            }
            let trimmed = digits.trim_start_matches('0');
            let number: u16 = if trimmed.is_empty() {
                0
            } else {
                trimmed.parse().map_err(|_| "the port is out of range")?
            };
            let default = scheme.as_deref().and_then(default_port);
            (default != Some(number)).then_some(number)
        }
    };

    let without_fragment = tail.split('#').next().unwrap_or_default();
    let mut key = String::with_capacity(host.len() + without_fragment.len() + 7);
    key.push_str(&host);
    if let Some(port) = port {
        key.push(':');
        key.push_str(&port.to_string());
    }
    if !without_fragment.starts_with('/') {
        key.push('/');
    }
    key.push_str(without_fragment);
    Ok(CanonicalUrl { scheme, key })
}

fn is_scheme(value: &str) -> bool {
    let mut bytes = value.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), &'static str> {
    if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or("an IPv6 host has no closing bracket")?;
        return match after {
            "" => Ok((host, None)),
            _ => after
                .strip_prefix(':')
                .map(|port| (host, Some(port)))
                .ok_or("text follows the IPv6 host"),
        };
    }
    match authority.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Ok((authority, None)),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

fn canonical_host(host: &str, strict: bool) -> Result<String, &'static str> {
    if host.is_empty() {
        return Err("the host is empty");
    }
    let ip = if strict {
        parse_ip(host).ok()
    } else {
        observed_ip(host)
    };
    if let Some(ip) = ip {
        return Ok(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        });
    }
    if strict {
        parse_domain(host).map_err(|_| "the host is not a valid domain or address")
    } else {
        observed_domain(host)
            .map(|d| d.into_owned())
            .ok_or("the host is not a valid domain")
    }
}

#[cfg(test)]
mod tests {
    use super::CanonicalUrl;

    fn canon(value: &str) -> String {
        CanonicalUrl::parse(value).unwrap().to_string()
    }

    #[test]
    fn canonical_form_table() {
        let rows = [
            (
                "http://malware.example/path.txt",
                "http://malware.example/path.txt",
            ),
            (
                "HTTPS://MALWARE.EXAMPLE:443/path.txt",
                "https://malware.example/path.txt",
            ),
            (
                "http://malware.example/path.txt#top",
                "http://malware.example/path.txt",
            ),
            ("http://malware.example:0080/a", "http://malware.example/a"),
            ("http://malware.example:8080/a", "http://malware.example:8080/a"),
            ("https://malware.example:80/a", "https://malware.example:80/a"),
            ("http://www.bad3.example", "http://www.bad3.example/"),
            ("http://a.example?q=1", "http://a.example/?q=1"),
            ("http://user:pw@a.example/x", "http://a.example/x"),
            ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
            ("http://bücher.example/Ä", "http://xn--bcher-kva.example/Ä"),
            ("malware.example/path.txt", "malware.example/path.txt"),
            (
                "nrtjo.eu//loading.php?spl=javadnw",
                "nrtjo.eu//loading.php?spl=javadnw",
            ),
            (
                "http://117.209.87.242:60905/bin.sh",
                "http://117.209.87.242:60905/bin.sh",
            ),
            (
                "web.archive.org/web/2022/https://uploads.example/a",
                "web.archive.org/web/2022/https://uploads.example/a",
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(canon(input), expected, "{input:?}");
        }
    }

    #[test]
    fn path_case_kept() {
        let lower = CanonicalUrl::parse("http://malware.example/path.txt").unwrap();
        let upper = CanonicalUrl::parse("http://malware.example/PATH.txt").unwrap();
        assert_ne!(lower.key, upper.key);
    }

    #[test]
    fn invalid_urls() {
        for input in [
            "http://",
            "http://exa mple/",
            "http://a.example:99999/",
            "http://a.example:8o/",
        ] {
            assert!(CanonicalUrl::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn schemeless_single_label_host_rejected() {
        let missing_colon = CanonicalUrl::parse("http//x").unwrap_err().to_string();
        assert!(
            missing_colon.contains("colon after the scheme"),
            "{missing_colon}"
        );
        let single_label = CanonicalUrl::parse("intranet/path").unwrap_err().to_string();
        assert!(single_label.contains("no dot"), "{single_label}");
        // With a scheme, a dot or an address, the host is clear.
        for input in [
            "http://intranet/path",
            "evil.example/a",
            "192.0.2.1/a",
            "[2001:db8::1]/a",
        ] {
            assert!(CanonicalUrl::parse(input).is_ok(), "{input:?}");
        }
        // A log's URL is read as written.
        assert!(CanonicalUrl::observed("intranet/path").is_some());
    }

    #[test]
    fn host_of_key() {
        assert_eq!(
            CanonicalUrl::parse("http://a.example:81/x").unwrap().host(),
            "a.example"
        );
        assert_eq!(
            CanonicalUrl::parse("http://[2001:db8::1]/x").unwrap().host(),
            "2001:db8::1"
        );
    }
}
