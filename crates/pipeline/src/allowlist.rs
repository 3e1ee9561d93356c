//! The allowlist filter: values and networks that must never alert.
//!
//! An [`Allowlist`] is built once from the entries the store keeps and is
//! then immutable. It applies the matcher's rules in two places. At import
//! time, [`Allowlist::covers_indicator`] checks whether an indicator lies
//! inside an entry. At match time, [`Allowlist::covers_value`] checks an
//! observed value.
//!
//! What an entry covers:
//!
//! - an address: itself; a network: every address and smaller network
//!   inside it, and address-with-port indicators on those addresses;
//! - an address with port: indicators of that address and port;
//! - a domain: itself and every subdomain;
//! - a URL: the same URL after canonicalisation, any scheme when the entry
//!   has none;
//! - a digest, e-mail address or JA4 fingerprint: the same value.
//!
//! A URL indicator is covered only by a URL entry, not by an entry for its
//! host, so that a feed's phishing URL on an allowed site still loads.

use std::sync::Arc;

use iocwatch_matcher::{DomainMatch, Matcher, MatcherBuilder};
use iocwatch_model::{Field, Indicator, IndicatorValue, Meta, Origin};

/// The name of the allowlist's single watchlist inside its matcher.
const ALLOWLIST_NAME: &str = "allowlist";

/// An immutable allowlist. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Allowlist {
    matcher: Matcher,
}

impl Allowlist {
    /// Builds an allowlist from normalised entry values.
    pub fn new(entries: impl IntoIterator<Item = IndicatorValue>) -> Allowlist {
        let mut builder = MatcherBuilder::new();
        let list = builder.add_watchlist(ALLOWLIST_NAME, DomainMatch::Subdomains);
        let meta = Arc::new(Meta::default());
        let source: Arc<str> = Arc::from(ALLOWLIST_NAME);
        for (index, value) in entries.into_iter().enumerate() {
            let original = value.to_string();
            builder.add(
                list,
                Indicator {
                    value,
                    original,
                    meta: Arc::clone(&meta),
                    origin: Origin {
                        source: Arc::clone(&source),
                        line: index as u64 + 1,
                    },
                },
            );
        }
        // One watchlist and fewer entries than u32::MAX in any real
        // allowlist; should that ever overflow, an empty allowlist lets
        // alerts through rather than suppressing them.
        let matcher = builder.build().unwrap_or_else(|_| Matcher::empty());
        Allowlist { matcher }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.matcher.len()
    }

    /// True when the allowlist has no entries.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_empty()
    }

    /// Tells whether `indicator` equals or lies inside an entry.
    pub fn covers_indicator(&self, indicator: &Indicator) -> bool {
        if self.is_empty() {
            return false;
        }
        match &indicator.value {
            IndicatorValue::Net(net) => {
                let mut covered = false;
                self.matcher
                    .match_value(Field::DestinationIp, &net.network().to_string(), None, |id, _| {
                        if let IndicatorValue::Net(entry) = &self.matcher.entry(id).indicator.value {
                            covered |= entry.contains(net);
                        }
                    });
                covered
            }
            IndicatorValue::Socket(ip, port) => {
                self.covers_endpoint(&ip.to_string(), None)
                    || self.covers_endpoint(&ip.to_string(), Some(*port))
            }
            IndicatorValue::Ip(ip) => self.covers_endpoint(&ip.to_string(), None),
            IndicatorValue::Domain(domain) => self.covers_value(Field::DnsQuestionName, domain),
            IndicatorValue::Url(url) => self.covers_value(Field::UrlFull, &url.to_string()),
            IndicatorValue::Email(email) => self.covers_value(Field::EmailFrom, email),
            IndicatorValue::Ja4(ja4) => self.covers_value(Field::TlsJa4, ja4),
            IndicatorValue::Digest { hex, .. } => self
                .matcher
                .lookup(hex)
                .iter()
                .any(|(id, ..)| is_digest(&self.matcher.entry(*id).indicator.value)),
        }
    }

    /// Tells whether a value observed in `field` is covered by an entry,
    /// with the matching rules of that field. An address-with-port entry
    /// needs the port, so it never covers a value checked here.
    pub fn covers_value(&self, field: Field, atomic: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut covered = false;
        self.matcher
            .match_value(field, atomic, None, |_, _| covered = true);
        covered
    }

    fn covers_endpoint(&self, ip: &str, port: Option<u16>) -> bool {
        let mut covered = false;
        self.matcher
            .match_value(Field::DestinationIp, ip, port, |_, _| covered = true);
        covered
    }
}

fn is_digest(value: &IndicatorValue) -> bool {
    matches!(value, IndicatorValue::Digest { .. })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use iocwatch_model::{KindHint, ParseOptions, parse_indicator};

    use super::*;

    fn value(raw: &str) -> IndicatorValue {
        parse_indicator(raw, None, ParseOptions::default()).unwrap().value
    }

    fn indicator(raw: &str, hint: Option<&str>) -> Indicator {
        let hint = hint.and_then(KindHint::from_name);
        Indicator {
            value: parse_indicator(raw, hint, ParseOptions::default()).unwrap().value,
            original: raw.to_owned(),
            meta: Arc::new(Meta::default()),
            origin: Origin {
                source: Arc::from("feed.txt"),
                line: 1,
            },
        }
    }

    fn allowlist() -> Allowlist {
        Allowlist::new(
            [
                "192.0.2.0/24",
                "198.51.100.7",
                "203.0.113.5:8443",
                "corp.example",
                "http://files.example/tool.exe",
                "44d88612fea8a8f36de82e1278abb02f",
                "admin@corp.example",
            ]
            .map(value),
        )
    }

    #[test]
    fn indicators_covered() {
        let list = allowlist();
        let rows = [
            ("192.0.2.77", None, true),
            ("192.0.2.128/25", None, true),
            ("192.0.0.0/16", None, false),
            ("192.0.3.1", None, false),
            ("198.51.100.7", None, true),
            ("198.51.100.7:443", None, true),
            ("198.51.100.8", None, false),
            ("203.0.113.5:8443", None, true),
            ("203.0.113.5:8444", None, false),
            ("203.0.113.5", None, false),
            ("corp.example", None, true),
            ("vpn.eu.corp.example", None, true),
            ("notcorp.example", None, false),
            ("corp.example.net", None, false),
            ("https://files.example/tool.exe", None, true),
            ("http://files.example/other.exe", None, false),
            ("http://corp.example/login", None, false),
            ("44d88612fea8a8f36de82e1278abb02f", None, true),
            ("44D88612FEA8A8F36DE82E1278ABB02F", Some("ja3"), true),
            ("44d88612fea8a8f36de82e1278abb02e", None, false),
            ("admin@corp.example", None, true),
            ("other@corp.example", None, false),
        ];
        for (raw, hint, expected) in rows {
            assert_eq!(list.covers_indicator(&indicator(raw, hint)), expected, "{raw:?}");
        }
    }

    #[test]
    fn observed_values_covered() {
        let list = allowlist();
        let rows = [
            (Field::DestinationIp, "192.0.2.9", true),
            (Field::SourceIp, "::ffff:192.0.2.9", true),
            (Field::DestinationIp, "192.0.3.9", false),
            (Field::DnsQuestionName, "WWW.Corp.Example.", true),
            (Field::TlsServerName, "corp.example.net", false),
            (Field::UrlFull, "http://files.example:80/tool.exe#x", true),
            (Field::FileMd5, "44d88612fea8a8f36de82e1278abb02f", true),
            (Field::DestinationIp, "203.0.113.5", false),
        ];
        for (field, observed, expected) in rows {
            assert_eq!(
                list.covers_value(field, observed),
                expected,
                "{field} {observed:?}"
            );
        }
    }

    #[test]
    fn empty_covers_nothing() {
        let list = Allowlist::new([]);
        assert!(list.is_empty());
        assert!(!list.covers_indicator(&indicator("192.0.2.1", None)));
        assert!(!list.covers_value(Field::DestinationIp, "192.0.2.1"));
    }
}
