//! The stored indicators that cover a value, for
//! [`AlertFilter::indicator_covers`](crate::AlertFilter::indicator_covers).
//!
//! An indicator covers a value when it is the value or contains it. A
//! network contains its addresses and narrower networks, and a domain its
//! subdomains. An address with any port covers the bare address. A URL is
//! also covered by the same resource under `http`, `https` or no scheme,
//! and by the indicators that cover its host.

use std::net::IpAddr;

use iocwatch_model::refang::refang;
use iocwatch_model::{IndicatorValue, ParseOptions, parse_indicator};
use ipnet::IpNet;

/// The normalised indicators that cover a value.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Covering {
    /// Indicators, as the store keeps them, that cover the value.
    pub values: Vec<String>,
    /// Addresses as an address-with-port indicator writes them before its
    /// port (`198.51.100.7`, `[2001:db8::1]`): such an indicator with any
    /// port covers the value.
    pub socket_hosts: Vec<String>,
}

/// Returns the indicators that cover `text`, which may be defanged. Text
/// that is not an indicator is covered only by an indicator equal to it.
pub(crate) fn covering(text: &str) -> Covering {
    let refanged = refang(text.trim());
    let live = refanged.trim();
    let mut covering = Covering::default();
    match parse_indicator(live, None, ParseOptions { allow_broad: true }) {
        Ok(parsed) => add(&mut covering, &parsed.value),
        Err(_) => covering.values.push(live.to_owned()),
    }
    covering.values.sort_unstable();
    covering.values.dedup();
    covering.socket_hosts.sort_unstable();
    covering.socket_hosts.dedup();
    covering
}

fn add(covering: &mut Covering, value: &IndicatorValue) {
    covering.values.push(value.to_string());
    match value {
        IndicatorValue::Ip(ip) => {
            add_networks(covering, IpNet::from(*ip));
            covering.socket_hosts.push(socket_host(*ip));
        }
        IndicatorValue::Socket(ip, _) => {
            covering.values.push(ip.to_string());
            add_networks(covering, IpNet::from(*ip));
        }
        IndicatorValue::Net(net) => add_networks(covering, *net),
        IndicatorValue::Domain(domain) => {
            let mut rest = domain.as_str();
            while let Some((_, parent)) = rest.split_once('.') {
                covering.values.push(parent.to_owned());
                rest = parent;
            }
        }
        IndicatorValue::Url(url) => {
            // `http` and `https` name the same resource, and a URL without
            // a scheme matches any scheme.
            covering.values.push(url.key.clone());
            if matches!(url.scheme.as_deref(), None | Some("http" | "https")) {
                covering.values.push(format!("http://{}", url.key));
                covering.values.push(format!("https://{}", url.key));
            }
            let host = parse_indicator(url.host(), None, ParseOptions { allow_broad: true });
            if let Ok(host) = host
                && matches!(host.value, IndicatorValue::Ip(_) | IndicatorValue::Domain(_))
            {
                add(covering, &host.value);
            }
        }
        IndicatorValue::Digest { .. } | IndicatorValue::Email(_) | IndicatorValue::Ja4(_) => {}
    }
}

/// Adds every network that contains `net`, shorter prefixes included.
fn add_networks(covering: &mut Covering, net: IpNet) {
    for prefix in 0..net.prefix_len() {
        if let Ok(wider) = IpNet::new(net.addr(), prefix) {
            covering.values.push(wider.trunc().to_string());
        }
    }
}

/// Returns the address as an address-with-port indicator writes it.
fn socket_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_covered_by_networks_and_ports() {
        let found = covering("203.0.113[.]9");
        assert!(found.values.contains(&"203.0.113.9".to_owned()));
        assert!(found.values.contains(&"203.0.113.0/28".to_owned()));
        assert!(found.values.contains(&"203.0.113.8/31".to_owned()));
        assert!(found.values.contains(&"0.0.0.0/0".to_owned()));
        assert!(!found.values.contains(&"203.0.113.16/28".to_owned()));
        // One address and its 32 wider networks.
        assert_eq!(found.values.len(), 33);
        assert_eq!(found.socket_hosts, ["203.0.113.9"]);
    }

    #[test]
    fn ipv6_address_in_any_form() {
        let found = covering("2001:DB8:0::9");
        assert!(found.values.contains(&"2001:db8::9".to_owned()));
        assert!(found.values.contains(&"2001:db8::/32".to_owned()));
        assert_eq!(found.values.len(), 129);
        assert_eq!(found.socket_hosts, ["[2001:db8::9]"]);
    }

    #[test]
    fn network_covered_by_wider_networks_only() {
        let found = covering("203.0.113.0/28");
        assert!(found.values.contains(&"203.0.113.0/28".to_owned()));
        assert!(found.values.contains(&"203.0.113.0/24".to_owned()));
        assert!(!found.values.contains(&"203.0.113.9".to_owned()));
        assert!(found.socket_hosts.is_empty());
    }

    #[test]
    fn address_with_port_covered_by_address() {
        let found = covering("198.51.100.7:8443");
        assert!(found.values.contains(&"198.51.100.7:8443".to_owned()));
        assert!(found.values.contains(&"198.51.100.7".to_owned()));
        assert!(found.values.contains(&"198.51.100.0/24".to_owned()));
        assert!(found.socket_hosts.is_empty());
    }

    #[test]
    fn domain_covered_by_parents() {
        let found = covering("WWW.Evil.Example.");
        assert_eq!(found.values, ["evil.example", "example", "www.evil.example"]);
    }

    #[test]
    fn url_covered_by_schemes_and_host() {
        let found = covering("hxxps://www.evil[.]example/a.php");
        for expected in [
            "https://www.evil.example/a.php",
            "http://www.evil.example/a.php",
            "www.evil.example/a.php",
            "www.evil.example",
            "evil.example",
        ] {
            assert!(
                found.values.contains(&expected.to_owned()),
                "{expected} missing from {:?}",
                found.values
            );
        }
    }

    #[test]
    fn text_that_is_no_indicator_kept() {
        let found = covering("  not an indicator ");
        assert_eq!(found.values, ["not an indicator"]);
        assert!(found.socket_hosts.is_empty());
    }
}
