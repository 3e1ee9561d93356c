//! Zeek log structure shared by the TSV and the JSON decoder: the column
//! names that carry observables, the log type (`#path` or `_path`)
//! and the mapping of each log type's columns to ECS fields.
//!
//! Both decoders expose one line through [`ZeekLine`], so a TSV line and
//! its JSON twin yield the same observables.

use std::borrow::Cow;

use iocwatch_model::value::observed_ip;
use iocwatch_model::{Field, Record};

/// A Zeek column that [`fill`] reads or that distinguishes log types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Ts,
    Uid,
    OrigH,
    OrigP,
    RespH,
    RespP,
    Proto,
    ConnState,
    History,
    Query,
    Answers,
    Host,
    Uri,
    Method,
    UserAgent,
    ServerName,
    SslHistory,
    Resumed,
    Ja3,
    Ja3s,
    Ja4,
    CertChainFps,
    Fuid,
    MimeType,
    Md5,
    Sha1,
    Sha256,
    TxHosts,
    RxHosts,
    MailFrom,
    RcptTo,
    From,
    To,
    XOriginatingIp,
    /// smtp's `path`: the addresses of the mail's `Received` chain.
    MailPath,
    Fingerprint,
    CertificateSubject,
    SanDns,
    SanIp,
    Note,
    Src,
    Dst,
    P,
    /// `_path` of Zeek JSON written with the JSON streaming package.
    LogPath,
}

impl Key {
    /// Number of keys, the length of per-key tables.
    pub(crate) const COUNT: usize = Key::LogPath as usize + 1;

    /// Returns the key of the Zeek column `name`, as `#fields` or a JSON key
    /// writes it.
    pub(crate) fn from_name(name: &str) -> Option<Key> {
        let key = match name {
            "ts" => Key::Ts,
            "uid" => Key::Uid,
            "id.orig_h" => Key::OrigH,
            "id.orig_p" => Key::OrigP,
            "id.resp_h" => Key::RespH,
            "id.resp_p" => Key::RespP,
            "proto" => Key::Proto,
            "conn_state" => Key::ConnState,
            "history" => Key::History,
            "query" => Key::Query,
            "answers" => Key::Answers,
            "host" => Key::Host,
            "uri" => Key::Uri,
            "method" => Key::Method,
            "user_agent" => Key::UserAgent,
            "server_name" => Key::ServerName,
            "ssl_history" => Key::SslHistory,
            "resumed" => Key::Resumed,
            "ja3" => Key::Ja3,
            "ja3s" => Key::Ja3s,
            "ja4" => Key::Ja4,
            "cert_chain_fps" => Key::CertChainFps,
            "fuid" => Key::Fuid,
            "mime_type" => Key::MimeType,
            "md5" => Key::Md5,
            "sha1" => Key::Sha1,
            "sha256" => Key::Sha256,
            "tx_hosts" => Key::TxHosts,
            "rx_hosts" => Key::RxHosts,
            "mailfrom" => Key::MailFrom,
            "rcptto" => Key::RcptTo,
            "from" => Key::From,
            "to" => Key::To,
            "x_originating_ip" => Key::XOriginatingIp,
            "path" => Key::MailPath,
            "fingerprint" => Key::Fingerprint,
            "certificate.subject" => Key::CertificateSubject,
            "san.dns" => Key::SanDns,
            "san.ip" => Key::SanIp,
            "note" => Key::Note,
            "src" => Key::Src,
            "dst" => Key::Dst,
            "p" => Key::P,
            "_path" => Key::LogPath,
            _ => return None,
        };
        Some(key)
    }

    /// True for columns of Zeek type `set` or `vector`, whose TSV form
    /// joins the elements with `#set_separator` and whose JSON form is an
    /// array.
    pub(crate) fn is_set(self) -> bool {
        matches!(
            self,
            Key::Answers
                | Key::CertChainFps
                | Key::TxHosts
                | Key::RxHosts
                | Key::RcptTo
                | Key::To
                | Key::MailPath
                | Key::SanDns
                | Key::SanIp
        )
    }

    /// False for columns whose values [`fill`] never turns into
    /// observables that an indicator can match: times, ids, ports,
    /// protocol and state names, user agents.
    pub(crate) fn may_carry_observable(self) -> bool {
        if self == Key::UserAgent {
            return Field::UserAgent.can_match();
        }
        !matches!(
            self,
            Key::Ts
                | Key::Uid
                | Key::OrigP
                | Key::RespP
                | Key::Proto
                | Key::ConnState
                | Key::History
                | Key::Method
                | Key::SslHistory
                | Key::Resumed
                | Key::Fuid
                | Key::MimeType
                | Key::CertificateSubject
                | Key::Note
                | Key::P
                | Key::LogPath
        )
    }

    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

/// A set of [`Key`]s, such as the columns a header or a JSON line has.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeySet(u64);

impl KeySet {
    pub(crate) fn insert(&mut self, key: Key) {
        self.0 |= key.bit();
    }

    pub(crate) fn contains(self, key: Key) -> bool {
        self.0 & key.bit() != 0
    }

    fn contains_any(self, keys: &[Key]) -> bool {
        keys.iter().any(|key| self.contains(*key))
    }
}

/// True for a column that may hold an address outside the connection
/// endpoints, by Zeek's naming habits: `*_h`, `*addr`, `*host`, `*hosts`,
/// `*src`, `*dst`, `*ip` (dhcp `assigned_addr`, known_hosts `host`, notice
/// `src` and `dst`, ftp `data_channel.resp_h`). The endpoint columns
/// `id.orig_h` and `id.resp_h` are excluded.
pub(crate) fn is_address_column(name: &str) -> bool {
    if name == "id.orig_h" || name == "id.resp_h" {
        return false;
    }
    ["_h", "addr", "host", "hosts", "src", "dst", "ip"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// The Zeek log types whose columns [`fill`] maps one by one; every other
/// log is read generically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogKind {
    Conn,
    Dns,
    Http,
    Ssl,
    Files,
    Smtp,
    X509,
    Notice,
    Other,
}

impl LogKind {
    /// Returns the kind of the log named `path` (`#path` or `_path`).
    pub(crate) fn from_path(path: &str) -> LogKind {
        match path {
            "conn" => LogKind::Conn,
            "dns" => LogKind::Dns,
            "http" => LogKind::Http,
            "ssl" => LogKind::Ssl,
            "files" => LogKind::Files,
            "smtp" => LogKind::Smtp,
            "x509" => LogKind::X509,
            "notice" => LogKind::Notice,
            _ => LogKind::Other,
        }
    }

    /// Infers the kind of a log that does not name itself, from the
    /// columns it has.
    pub(crate) fn infer(keys: KeySet) -> LogKind {
        if keys.contains(Key::Query) {
            LogKind::Dns
        } else if keys.contains_any(&[
            Key::ServerName,
            Key::CertChainFps,
            Key::Ja3,
            Key::SslHistory,
            Key::Resumed,
        ]) {
            LogKind::Ssl
        } else if keys.contains(Key::Uri) || (keys.contains(Key::Host) && keys.contains(Key::Method)) {
            LogKind::Http
        } else if keys.contains(Key::MailFrom) {
            LogKind::Smtp
        } else if keys.contains(Key::Fingerprint) && keys.contains(Key::CertificateSubject) {
            LogKind::X509
        } else if keys.contains_any(&[Key::Md5, Key::Sha1])
            || (keys.contains(Key::Fuid) && keys.contains(Key::MimeType))
        {
            LogKind::Files
        } else if keys.contains(Key::Note) {
            LogKind::Notice
        } else if keys.contains_any(&[Key::ConnState, Key::History]) {
            LogKind::Conn
        } else {
            LogKind::Other
        }
    }

    /// Returns the `event.dataset` of a log of this kind whose name is
    /// unknown.
    pub(crate) fn dataset(self) -> &'static str {
        match self {
            LogKind::Conn => "zeek.conn",
            LogKind::Dns => "zeek.dns",
            LogKind::Http => "zeek.http",
            LogKind::Ssl => "zeek.ssl",
            LogKind::Files => "zeek.files",
            LogKind::Smtp => "zeek.smtp",
            LogKind::X509 => "zeek.x509",
            LogKind::Notice => "zeek.notice",
            LogKind::Other => "zeek",
        }
    }
}

/// Returns the `event.dataset` of the Zeek log named `path`: `zeek.<path>`,
/// borrowed for the logs of a default Zeek install so that most lines
/// allocate nothing for it.
pub(crate) fn dataset_for_path(path: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 44] = [
        "zeek.analyzer",
        "zeek.capture_loss",
        "zeek.conn",
        "zeek.dce_rpc",
        "zeek.dhcp",
        "zeek.dnp3",
        "zeek.dns",
        "zeek.dpd",
        "zeek.files",
        "zeek.ftp",
        "zeek.http",
        "zeek.intel",
        "zeek.irc",
        "zeek.kerberos",
        "zeek.known_certs",
        "zeek.known_hosts",
        "zeek.known_services",
        "zeek.modbus",
        "zeek.mqtt_connect",
        "zeek.mysql",
        "zeek.notice",
        "zeek.ntlm",
        "zeek.ntp",
        "zeek.ocsp",
        "zeek.pe",
        "zeek.quic",
        "zeek.radius",
        "zeek.rdp",
        "zeek.rfb",
        "zeek.signatures",
        "zeek.sip",
        "zeek.smb_files",
        "zeek.smb_mapping",
        "zeek.smtp",
        "zeek.snmp",
        "zeek.socks",
        "zeek.software",
        "zeek.ssh",
        "zeek.ssl",
        "zeek.syslog",
        "zeek.tunnel",
        "zeek.weird",
        "zeek.x509",
        "zeek.dns_unmatched",
    ];
    KNOWN
        .iter()
        .find(|known| known.strip_prefix("zeek.") == Some(path))
        .map_or_else(
            || Cow::Owned(format!("zeek.{path}")),
            |known| Cow::Borrowed(*known),
        )
}

/// Read access to the columns of one Zeek line, whatever its encoding.
/// Values are unescaped, and placeholders (`-`, `(empty)`, the header's
/// unset and empty markers) read as absent.
pub(crate) trait ZeekLine<'l> {
    /// Returns the value of a scalar column.
    fn text(&self, key: Key) -> Option<Cow<'l, str>>;

    /// Returns the value of a port column, `None` when absent or not a port.
    fn port(&self, key: Key) -> Option<u16>;

    /// Calls `f` with each element of a set column, or with the value of
    /// a scalar column.
    fn each(&self, key: Key, f: impl FnMut(Cow<'l, str>));

    /// Calls `f` with each value of the columns that
    /// [`is_address_column`] selects, set elements one by one.
    fn each_address(&self, f: impl FnMut(Cow<'l, str>));
}

/// Fills `record` with the timestamp, endpoints, context and observables
/// of a line of a log of kind `kind`.
pub(crate) fn fill<'l>(kind: LogKind, line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    record.timestamp = line.text(Key::Ts);
    if let Some(ip) = line.text(Key::OrigH) {
        record.set_endpoint(Field::SourceIp, ip, line.port(Key::OrigP));
    }
    if let Some(ip) = line.text(Key::RespH) {
        record.set_endpoint(Field::DestinationIp, ip, line.port(Key::RespP));
    }
    if let Some(proto) = line.text(Key::Proto) {
        record.add_context("network.transport", proto);
    }
    if let Some(uid) = line.text(Key::Uid) {
        record.add_context("event.id", uid);
    }

    match kind {
        LogKind::Conn => {}
        LogKind::Dns => fill_dns(line, record),
        LogKind::Http => fill_http(line, record),
        LogKind::Ssl => fill_ssl(line, record),
        LogKind::Files => fill_files(line, record),
        LogKind::Smtp => fill_smtp(line, record),
        LogKind::X509 => fill_x509(line, record),
        LogKind::Notice | LogKind::Other => fill_other(line, record),
    }
}

fn fill_dns<'l>(line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    if let Some(query) = line.text(Key::Query) {
        record.observe(Field::DnsQuestionName, query);
    }
    // The `answers` column mixes addresses with CNAME targets and other
    // record data, and only the addresses are resolved IPs.
    line.each(Key::Answers, |answer| {
        if observed_ip(&answer).is_some() {
            record.observe(Field::DnsResolvedIp, answer);
        }
    });
}

fn fill_http<'l>(line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    let host = line.text(Key::Host);
    if let Some(host) = &host {
        record.observe(Field::UrlDomain, map_cow(host, strip_port));
    }
    if let Some(uri) = line.text(Key::Uri) {
        let authority = host.or_else(|| {
            let ip = record.destination.as_ref()?;
            Some(Cow::Owned(authority_of(&ip.ip, ip.port)))
        });
        if let Some(url) = full_url(authority.as_deref(), uri) {
            record.observe(Field::UrlFull, url);
        }
    }
    if let Some(agent) = line.text(Key::UserAgent) {
        record.observe(Field::UserAgent, agent);
    }
}

fn fill_ssl<'l>(line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    if let Some(name) = line.text(Key::ServerName) {
        record.observe(Field::TlsServerName, name);
    }
    for (key, field) in [
        (Key::Ja3, Field::TlsJa3),
        (Key::Ja3s, Field::TlsJa3s),
        (Key::Ja4, Field::TlsJa4),
    ] {
        if let Some(value) = line.text(key) {
            record.observe(field, value);
        }
    }
    line.each(Key::CertChainFps, |fingerprint| {
        observe_certificate_hash(record, fingerprint)
    });
}

fn fill_files<'l>(line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    for (key, field) in [
        (Key::Md5, Field::FileMd5),
        (Key::Sha1, Field::FileSha1),
        (Key::Sha256, Field::FileSha256),
    ] {
        if let Some(value) = line.text(key) {
            record.observe(field, value);
        }
    }
    // files.log before Zeek 5.1 has no `id.*` columns. There `tx_hosts`
    // contains the sender of the file and `rx_hosts` its receiver.
    if record.source.is_none()
        && let Some(ip) = first(line, Key::TxHosts)
    {
        record.set_endpoint(Field::SourceIp, ip, None);
    }
    if record.destination.is_none()
        && let Some(ip) = first(line, Key::RxHosts)
    {
        record.set_endpoint(Field::DestinationIp, ip, None);
    }
}

fn fill_smtp<'l>(line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    for (key, field) in [(Key::MailFrom, Field::EmailFrom), (Key::From, Field::EmailFrom)] {
        line.each(key, |address| observe_email(record, field, address));
    }
    for key in [Key::RcptTo, Key::To] {
        line.each(key, |address| observe_email(record, Field::EmailTo, address));
    }
    for key in [Key::XOriginatingIp, Key::MailPath] {
        line.each(key, |value| observe_related_ip(record, value));
    }
}

fn fill_x509<'l>(line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    if let Some(fingerprint) = line.text(Key::Fingerprint) {
        observe_certificate_hash(record, fingerprint);
    }
    line.each(Key::SanDns, |name| record.observe(Field::TlsCertName, name));
    line.each(Key::SanIp, |ip| observe_related_ip(record, ip));
}

/// Logs without a dedicated mapping: a notice's `src` and `dst` stand in
/// for missing `id.*` endpoints, and every address column adds a
/// `related.ip`.
fn fill_other<'l>(line: &impl ZeekLine<'l>, record: &mut Record<'l>) {
    if record.source.is_none()
        && let Some(ip) = line.text(Key::Src).filter(|ip| observed_ip(ip).is_some())
    {
        record.set_endpoint(Field::SourceIp, ip, None);
    }
    if record.destination.is_none()
        && let Some(ip) = line.text(Key::Dst).filter(|ip| observed_ip(ip).is_some())
    {
        record.set_endpoint(Field::DestinationIp, ip, line.port(Key::P));
    }
    line.each_address(|value| observe_related_ip(record, value));
}

/// Adds a certificate digest as SHA-256 or SHA-1 by its number of hex
/// digits (colons ignored); other lengths are skipped.
pub(crate) fn observe_certificate_hash<'l>(record: &mut Record<'l>, digest: Cow<'l, str>) {
    let hex_digits = digest.bytes().filter(u8::is_ascii_hexdigit).count();
    match hex_digits {
        64 => record.observe(Field::TlsCertSha256, digest),
        40 => record.observe(Field::TlsCertSha1, digest),
        _ => {}
    }
}

/// Adds an address as `related.ip` unless it is no address, is already an
/// endpoint or was added before.
pub(crate) fn observe_related_ip<'l>(record: &mut Record<'l>, value: Cow<'l, str>) {
    if observed_ip(&value).is_none() {
        return;
    }
    let is_endpoint = [&record.source, &record.destination]
        .into_iter()
        .flatten()
        .any(|endpoint| endpoint.ip == value);
    if !is_endpoint {
        observe_once(record, Field::RelatedIp, value);
    }
}

/// Adds a mail address, without surrounding angle brackets, unless the
/// value has no `@` or the same address is already in `field`.
pub(crate) fn observe_email<'l>(record: &mut Record<'l>, field: Field, value: Cow<'l, str>) {
    let address = map_cow(&value, strip_angle_brackets);
    if address.contains('@') {
        observe_once(record, field, address);
    }
}

/// Adds an observable unless the record has the same value in `field`.
pub(crate) fn observe_once<'l>(record: &mut Record<'l>, field: Field, value: Cow<'l, str>) {
    let seen = record
        .observables
        .iter()
        .any(|observed| observed.field == field && observed.value == value);
    if !seen {
        record.observe(field, value);
    }
}

fn first<'l>(line: &impl ZeekLine<'l>, key: Key) -> Option<Cow<'l, str>> {
    let mut found = None;
    line.each(key, |value| {
        if found.is_none() {
            found = Some(value);
        }
    });
    found
}

/// Applies a slicing function to a `Cow`, keeping it borrowed when it was.
pub(crate) fn map_cow<'l>(value: &Cow<'l, str>, slice: impl Fn(&str) -> &str) -> Cow<'l, str> {
    match value {
        Cow::Borrowed(text) => Cow::Borrowed(slice(text)),
        Cow::Owned(text) => Cow::Owned(slice(text).to_owned()),
    }
}

/// Returns the host of an HTTP `Host` header value, without `:port` and without
/// the brackets of an IPv6 literal.
pub(crate) fn strip_port(host: &str) -> &str {
    if let Some(inner) = host.strip_prefix('[') {
        return inner.split(']').next().unwrap_or(inner);
    }
    match host.split_once(':') {
        // A second colon means an IPv6 address without brackets.
        Some((name, port)) if !port.contains(':') => name,
        _ => host,
    }
}

fn strip_angle_brackets(value: &str) -> &str {
    let trimmed = value.trim();
    trimmed
        .strip_prefix('<')
        .and_then(|inner| inner.strip_suffix('>'))
        .unwrap_or(trimmed)
}

/// Formats `ip[:port]` for a URL, with brackets around an IPv6 address and the
/// port only when it is not HTTP's default 80.
fn authority_of(ip: &str, port: Option<u16>) -> String {
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    };
    match port {
        Some(port) if port != 80 => format!("{host}:{port}"),
        _ => host,
    }
}

/// Builds the full URL of an HTTP request: the request target as is when it is
/// already absolute, else `http://{host}{target}` for an origin-form target
/// (`/path?query`). Other targets (`CONNECT`'s `host:port`, `*`) make no URL.
pub(crate) fn full_url<'l>(host: Option<&str>, target: Cow<'l, str>) -> Option<Cow<'l, str>> {
    if is_absolute_url(&target) {
        return Some(target);
    }
    if !target.starts_with('/') {
        return None;
    }
    let host = host?;
    let mut url = String::with_capacity(7 + host.len() + target.len());
    url.push_str("http://");
    url.push_str(host);
    url.push_str(&target);
    Some(Cow::Owned(url))
}

/// Returns whether a request target is a path, whose URL [`full_url`]
/// builds on a host that the log gives in another value. The line filter
/// finds a possible URL match by that host, so a screen leaves the path
/// out of the values it screens.
pub(crate) fn target_is_path(target: &[u8]) -> bool {
    target.first() == Some(&b'/')
}

/// True when `value` starts with a URL scheme followed by `://`.
fn is_absolute_url(value: &str) -> bool {
    let Some((scheme, _)) = value.split_once("://") else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const _: () = assert!(Key::COUNT <= 64, "KeySet stores one bit per key in a u64");

    #[test]
    fn key_names() {
        assert_eq!(Key::from_name("_path"), Some(Key::LogPath));
        assert_eq!(Key::from_name("id.orig_h"), Some(Key::OrigH));
        assert_eq!(Key::from_name("label"), None);
    }

    #[test]
    fn address_column_names() {
        for name in [
            "assigned_addr",
            "client_addr",
            "host",
            "tx_hosts",
            "src",
            "dst",
            "san.ip",
            "x_originating_ip",
            "data_channel.resp_h",
        ] {
            assert!(is_address_column(name), "{name}");
        }
        for name in [
            "id.orig_h",
            "id.resp_h",
            "host_name",
            "hostname",
            "uid",
            "p",
            "msg",
        ] {
            assert!(!is_address_column(name), "{name}");
        }
    }

    #[test]
    fn infer_log_kind_from_columns() {
        let rows: [(&[&str], LogKind); 11] = [
            (&["ts", "uid", "query"], LogKind::Dns),
            (&["ts", "server_name"], LogKind::Ssl),
            (&["ts", "cert_chain_fps"], LogKind::Ssl),
            (&["ts", "version", "resumed", "established"], LogKind::Ssl),
            (&["ts", "method", "host"], LogKind::Http),
            (&["ts", "uri"], LogKind::Http),
            (&["ts", "mailfrom", "rcptto"], LogKind::Smtp),
            (&["ts", "fingerprint", "certificate.subject"], LogKind::X509),
            (&["ts", "fuid", "mime_type"], LogKind::Files),
            (&["ts", "conn_state", "history"], LogKind::Conn),
            (&["ts", "client_addr", "mac"], LogKind::Other),
        ];
        for (names, expected) in rows {
            let mut keys = KeySet::default();
            names
                .iter()
                .filter_map(|name| Key::from_name(name))
                .for_each(|key| keys.insert(key));
            assert_eq!(LogKind::infer(keys), expected, "{names:?}");
        }
    }

    #[test]
    fn dataset_borrows_known_paths() {
        assert!(matches!(dataset_for_path("conn"), Cow::Borrowed("zeek.conn")));
        assert!(matches!(dataset_for_path("dhcp"), Cow::Borrowed("zeek.dhcp")));
        assert_eq!(dataset_for_path("my_custom"), "zeek.my_custom");
    }

    #[test]
    fn strip_port_forms() {
        let rows = [
            ("example.com", "example.com"),
            ("example.com:8080", "example.com"),
            ("10.0.0.1:80", "10.0.0.1"),
            ("[2001:db8::1]:8080", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
        ];
        for (host, expected) in rows {
            assert_eq!(strip_port(host), expected, "{host}");
        }
    }

    #[test]
    fn full_url_forms() {
        let rows = [
            (Some("example.com"), "/a?b=c", Some("http://example.com/a?b=c")),
            (Some("example.com:8080"), "/", Some("http://example.com:8080/")),
            (
                Some("example.com"),
                "http://other.example/x",
                Some("http://other.example/x"),
            ),
            (None, "https://other.example/x", Some("https://other.example/x")),
            (Some("example.com:443"), "example.com:443", None),
            (Some("example.com"), "*", None),
            (None, "/a", None),
            (
                Some("nrtjo.eu"),
                "//loading.php?spl=javadnw",
                Some("http://nrtjo.eu//loading.php?spl=javadnw"),
            ),
        ];
        for (host, target, expected) in rows {
            assert_eq!(
                full_url(host, Cow::Borrowed(target)).as_deref(),
                expected,
                "{host:?} {target}"
            );
        }
    }

    #[test]
    fn certificate_hash_by_length() {
        let mut record = Record::default();
        observe_certificate_hash(&mut record, Cow::Owned("ab".repeat(32)));
        observe_certificate_hash(
            &mut record,
            Cow::Borrowed("77:d6:7d:dd:7a:d5:ed:48:ca:a1:d3:5b:66:c9:3c:57:49:41:76:ee"),
        );
        observe_certificate_hash(&mut record, Cow::Owned("ab".repeat(16)));
        let fields: Vec<_> = record.observables.iter().map(|observed| observed.field).collect();
        assert_eq!(fields, [Field::TlsCertSha256, Field::TlsCertSha1]);
    }

    #[test]
    fn email_strips_brackets_and_dedups() {
        let mut record = Record::default();
        observe_email(&mut record, Field::EmailFrom, Cow::Borrowed("<a@example.com>"));
        observe_email(&mut record, Field::EmailFrom, Cow::Borrowed("a@example.com"));
        observe_email(
            &mut record,
            Field::EmailFrom,
            Cow::Borrowed("undisclosed-recipients:;"),
        );
        assert_eq!(record.observables.len(), 1);
        assert_eq!(record.observables[0].value, "a@example.com");
    }
}
