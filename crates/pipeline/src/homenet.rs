//! The home network: which addresses are the organisation's own, which
//! decides an alert's direction and internal host.

use std::net::IpAddr;

use ipnet::IpNet;

/// Networks that belong to the monitored organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeNet {
    networks: Vec<IpNet>,
}

/// Networks used when none are configured: RFC 1918 private space,
/// RFC 4193 unique-local, loopback and link-local.
const DEFAULT_NETWORKS: [&str; 8] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "::1/128",
    "fe80::/10",
];

/// Parses one home network in CIDR notation, with the host bits cleared.
/// A bare address is its own /32 or /128.
///
/// # Errors
///
/// A message naming `text` and the expected form.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| format!("{text:?} is not a network; write it as 10.0.0.0/8 or fd00::/8"))
}

impl Default for HomeNet {
    fn default() -> Self {
        let networks = DEFAULT_NETWORKS
            .iter()
            .filter_map(|net| net.parse().ok())
            .collect();
        Self { networks }
    }
}

impl HomeNet {
    /// Creates a home network made of `networks`, or the default when empty.
    pub fn new(networks: Vec<IpNet>) -> Self {
        if networks.is_empty() {
            Self::default()
        } else {
            Self { networks }
        }
    }

    /// Returns the configured networks.
    pub fn networks(&self) -> &[IpNet] {
        &self.networks
    }

    /// True when `ip` is inside the home network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// Classifies the direction of a connection from `source` to `destination` and
    /// the internal host involved, when either is known.
    pub fn classify(
        &self,
        source: Option<IpAddr>,
        destination: Option<IpAddr>,
    ) -> (Option<Direction>, Option<IpAddr>) {
        let src_home = source.map(|ip| self.contains(ip));
        let dst_home = destination.map(|ip| self.contains(ip));
        let direction = match (src_home, dst_home) {
            (Some(true), Some(true)) => Some(Direction::Internal),
            (Some(true), Some(false) | None) => Some(Direction::Outbound),
            (Some(false) | None, Some(true)) => Some(Direction::Inbound),
            (Some(false), Some(false) | None) | (None, Some(false)) => Some(Direction::External),
            (None, None) => None,
        };
        let host = match (src_home, dst_home) {
            (Some(true), _) => source,
            (_, Some(true)) => destination,
            _ => None,
        };
        (direction, host)
    }
}

/// Direction of a connection relative to the home network's edge
/// (`iocwatch.direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// From outside to a home address.
    Inbound,
    /// From a home address to outside.
    Outbound,
    /// Between two home addresses.
    Internal,
    /// Between two outside addresses, as a sensor outside the perimeter
    /// may see.
    External,
}

impl Direction {
    /// Returns the lower-case name used in alert documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Internal => "internal",
            Self::External => "external",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn direction_table() {
        let home = HomeNet::default();
        let rows = [
            (
                ip("10.0.0.5"),
                ip("198.51.100.7"),
                Some(Direction::Outbound),
                ip("10.0.0.5"),
            ),
            (
                ip("198.51.100.7"),
                ip("192.168.1.2"),
                Some(Direction::Inbound),
                ip("192.168.1.2"),
            ),
            (
                ip("10.0.0.5"),
                ip("172.16.3.4"),
                Some(Direction::Internal),
                ip("10.0.0.5"),
            ),
            (
                ip("198.51.100.7"),
                ip("203.0.113.9"),
                Some(Direction::External),
                None,
            ),
            (
                ip("fd00::5"),
                ip("2001:db8::1"),
                Some(Direction::Outbound),
                ip("fd00::5"),
            ),
            (ip("10.0.0.5"), None, Some(Direction::Outbound), ip("10.0.0.5")),
            (None, None, None, None),
        ];
        for (source, destination, direction, host) in rows {
            assert_eq!(
                home.classify(source, destination),
                (direction, host),
                "{source:?} -> {destination:?}"
            );
        }
    }

    #[test]
    fn configured_networks_replace_default() {
        let home = HomeNet::new(vec!["198.51.100.0/24".parse().unwrap()]);
        assert!(home.contains("198.51.100.7".parse().unwrap()));
        assert!(!home.contains("10.0.0.1".parse().unwrap()));
    }
}
