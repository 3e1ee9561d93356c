//! The ECS fields in which observables are found.

use std::fmt;

/// An ECS field that carries an observable. Its name is the one alert
/// documents use in `threat.enrichments[].matched.field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Field {
    /// `source.ip`
    SourceIp,
    /// `destination.ip`
    DestinationIp,
    /// `related.ip`: an address a log carries outside the connection
    /// endpoints (a DHCP lease, a notice's peer).
    RelatedIp,
    /// `dns.question.name`
    DnsQuestionName,
    /// `dns.resolved_ip`
    DnsResolvedIp,
    /// `url.domain`
    UrlDomain,
    /// `url.full`
    UrlFull,
    /// `tls.client.server_name`
    TlsServerName,
    /// `tls.server.x509.alternative_names`: a name the server's
    /// certificate is valid for, which may be a wildcard (`*.example.com`).
    TlsCertName,
    /// `tls.client.ja3`
    TlsJa3,
    /// `tls.server.ja3s`
    TlsJa3s,
    /// `tls.client.ja4`
    TlsJa4,
    /// `tls.server.hash.sha1`
    TlsCertSha1,
    /// `tls.server.hash.sha256`
    TlsCertSha256,
    /// `file.hash.md5`
    FileMd5,
    /// `file.hash.sha1`
    FileSha1,
    /// `file.hash.sha256`
    FileSha256,
    /// `file.hash.sha512`
    FileSha512,
    /// `email.from.address`
    EmailFrom,
    /// `email.to.address`
    EmailTo,
    /// `user_agent.original`
    UserAgent,
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 21] = [
        Self::SourceIp,
        Self::DestinationIp,
        Self::RelatedIp,
        Self::DnsQuestionName,
        Self::DnsResolvedIp,
        Self::UrlDomain,
        Self::UrlFull,
        Self::TlsServerName,
        Self::TlsCertName,
        Self::TlsJa3,
        Self::TlsJa3s,
        Self::TlsJa4,
        Self::TlsCertSha1,
        Self::TlsCertSha256,
        Self::FileMd5,
        Self::FileSha1,
        Self::FileSha256,
        Self::FileSha512,
        Self::EmailFrom,
        Self::EmailTo,
        Self::UserAgent,
    ];

    /// Returns the ECS field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SourceIp => "source.ip",
            Self::DestinationIp => "destination.ip",
            Self::RelatedIp => "related.ip",
            Self::DnsQuestionName => "dns.question.name",
            Self::DnsResolvedIp => "dns.resolved_ip",
            Self::UrlDomain => "url.domain",
            Self::UrlFull => "url.full",
            Self::TlsServerName => "tls.client.server_name",
            Self::TlsCertName => "tls.server.x509.alternative_names",
            Self::TlsJa3 => "tls.client.ja3",
            Self::TlsJa3s => "tls.server.ja3s",
            Self::TlsJa4 => "tls.client.ja4",
            Self::TlsCertSha1 => "tls.server.hash.sha1",
            Self::TlsCertSha256 => "tls.server.hash.sha256",
            Self::FileMd5 => "file.hash.md5",
            Self::FileSha1 => "file.hash.sha1",
            Self::FileSha256 => "file.hash.sha256",
            Self::FileSha512 => "file.hash.sha512",
            Self::EmailFrom => "email.from.address",
            Self::EmailTo => "email.to.address",
            Self::UserAgent => "user_agent.original",
        }
    }

    /// Returns whether an indicator can match a value seen in this field.
    /// A user agent is context for the analyst, and no indicator kind
    /// matches it, so a screen need not pass it to the line filter.
    pub const fn can_match(self) -> bool {
        !matches!(self, Self::UserAgent)
    }

    /// Returns the field with ECS name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.as_str() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
