//! The syslog sink: one RFC 5424 message per alert, with the alert's CEF
//! line ([`cef`](crate::cef())) as the message.
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - CEF:0|iocwatch|...
//! ```
//!
//! PRI is the facility times 8 plus the severity: 2 (critical) for
//! `critical` alerts, 3 (error) for `high`, 4 (warning) for `medium` and
//! alerts without a known severity, 5 (notice) for `low`. TIMESTAMP is the
//! sending time in UTC with microseconds, PROCID this process's id, MSGID
//! `alert`; there is no structured data.
//!
//! Over UDP each message is one datagram. Over TCP and TLS messages are
//! framed by octet counting (RFC 6587 section 3.4.1: the length in
//! bytes, a space, the message), which receivers tell apart from
//! newline framing by the leading digit. One connection is kept open and
//! shared by all deliveries. Before each use the sink checks whether the
//! receiver closed it, and after a write that fails it connects again and
//! sends once more, so a restarted receiver is picked up without losing
//! the message.
//!
//! UDP reports no loss. A datagram sent while the receiver is down is
//! lost, and only a later send may fail, once the kernel has seen the
//! ICMP "port unreachable" for an earlier one. Receivers also cap the
//! message size (rsyslog's `maxMessageSize` is 8 KiB by default), and CEF
//! lines of alerts with long URLs or descriptions can come near that.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::cef::cef;
use crate::config::{Severity, SyslogConfig, SyslogTransport};
use crate::error::{ConfigError, ConfigErrorKind, DeliveryError};
use crate::tls;

/// Sends CEF lines to a syslog receiver.
#[derive(Clone)]
pub(crate) struct SyslogSink {
    name: String,
    address: String,
    /// Host part of the address, the name checked against the receiver's
    /// certificate.
    host: String,
    transport: SyslogTransport,
    tls: Option<TlsConnector>,
    facility: u8,
    hostname: String,
    app_name: String,
    timeout: Duration,
    connection: Arc<Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for SyslogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyslogSink")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

enum Connection {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Udp(_) => "Connection::Udp",
            Self::Tcp(_) => "Connection::Tcp",
            Self::Tls(_) => "Connection::Tls",
        })
    }
}

impl Connection {
    /// Returns false when the receiver has closed the connection or the
    /// connection failed. Syslog receivers send no data, so whatever
    /// arrives is read and dropped. Over TLS this also consumes the
    /// session tickets that TLS 1.3 servers send after the handshake. A
    /// UDP socket has no connection to lose.
    async fn is_open(&mut self) -> bool {
        if matches!(self, Self::Udp(_)) {
            return true;
        }

        // Tokio learns that a socket is readable (or closed) only when its
        // I/O driver runs. A yield lets the scheduler poll the driver
        // before the task resumes, so a close that already happened is
        // seen here.
        // NOTE: tokio 1.54 describes this order in a code comment of
        // `yield_now`, not as a guarantee. A close missed here is found by
        // the next delivery, and the messages written on the closed
        // connection are lost, as with a receiver that closes it during
        // the write.
        tokio::task::yield_now().await;

        let mut buffer = [0_u8; 4096];
        // Bounded, so that a receiver that keeps sending cannot hold the
        // delivery here.
        for _ in 0..64 {
            // A zero timeout polls the read once; pending means nothing to
            // read.
            let read = match self {
                Self::Udp(_) => return true,
                Self::Tcp(stream) => tokio::time::timeout(Duration::ZERO, stream.read(&mut buffer)).await,
                Self::Tls(stream) => tokio::time::timeout(Duration::ZERO, stream.read(&mut buffer)).await,
            };
            match read {
                Err(_) => return true,
                Ok(Ok(0) | Err(_)) => return false,
                Ok(Ok(_)) => {}
            }
        }
        true
    }

    async fn send(&mut self, messages: &[Vec<u8>]) -> io::Result<()> {
        match self {
            Self::Udp(socket) => {
                for message in messages {
                    socket.send(message).await?;
                }
                Ok(())
            }
            Self::Tcp(stream) => write_framed(stream, messages).await,
            Self::Tls(stream) => write_framed(stream.as_mut(), messages).await,
        }
    }
}

async fn write_framed<W: AsyncWriteExt + Unpin>(writer: &mut W, messages: &[Vec<u8>]) -> io::Result<()> {
    let mut buffer = Vec::new();
    for message in messages {
        buffer.extend_from_slice(message.len().to_string().as_bytes());
        buffer.push(b' ');
        buffer.extend_from_slice(message);
    }
    writer.write_all(&buffer).await?;
    writer.flush().await
}

impl SyslogSink {
    pub fn new(name: &str, config: SyslogConfig) -> Result<Self, ConfigError> {
        let invalid = |kind| ConfigError::new(name, kind);
        let uses_tls = config.transport == SyslogTransport::Tls;
        let host = address_host(&config.address, uses_tls).map_err(invalid)?;
        let facility = facility(&config.facility).map_err(invalid)?;
        check_header_field("app_name", &config.app_name, MAX_APP_NAME).map_err(invalid)?;
        let hostname = match config.hostname {
            Some(hostname) => hostname,
            None => hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .filter(|h| is_header_token(h, MAX_HOSTNAME))
                .unwrap_or_else(|| "-".to_owned()),
        };
        check_header_field("hostname", &hostname, MAX_HOSTNAME).map_err(invalid)?;
        if let Some(ca_file) = &config.ca_file {
            check_ca_file(ca_file, config.transport).map_err(invalid)?;
        }
        let tls = if uses_tls {
            let client = tls::client_config(name, config.ca_file.as_deref(), true)?;
            Some(TlsConnector::from(client))
        } else {
            None
        };
        Ok(Self {
            name: name.to_owned(),
            address: config.address,
            host,
            transport: config.transport,
            tls,
            facility,
            hostname,
            app_name: config.app_name,
            timeout: config.timeout,
            connection: Arc::new(Mutex::new(None)),
        })
    }

    /// Formats the RFC 5424 message of `alert`, sent at `now`.
    pub fn message(&self, alert: &Value, now: OffsetDateTime) -> String {
        let severity = match crate::config::severity_of(alert) {
            Some(Severity::Critical) => 2,
            Some(Severity::High) => 3,
            Some(Severity::Medium) | None => 4,
            Some(Severity::Low) => 5,
        };
        let priority = u16::from(self.facility) * 8 + severity;
        let timestamp = now
            .replace_nanosecond(now.microsecond() * 1000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "-".to_owned());
        format!(
            "<{priority}>1 {timestamp} {} {} {} alert - {}",
            self.hostname,
            self.app_name,
            std::process::id(),
            cef(alert)
        )
    }

    pub async fn deliver_batch(&self, alerts: &[Value]) -> Result<(), DeliveryError> {
        let now = OffsetDateTime::now_utc();
        let messages: Vec<Vec<u8>> = alerts.iter().map(|a| self.message(a, now).into_bytes()).collect();
        let mut slot = self.connection.lock().await;

        let reused = match slot.take() {
            Some(mut connection) => {
                if connection.is_open().await {
                    Some(connection)
                } else {
                    tracing::info!(sink = %self.name, address = %self.address, "syslog receiver closed the connection; reconnecting");
                    None
                }
            }
            None => None,
        };
        let was_reused = reused.is_some();
        let mut connection = match reused {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        match self.send(&mut connection, &messages).await {
            Ok(()) => {
                *slot = Some(connection);
                return Ok(());
            }
            Err(error) if was_reused => {
                tracing::warn!(sink = %self.name, address = %self.address, %error, "sending on the open syslog connection failed; reconnecting");
            }
            Err(error) => return Err(self.io_error("failed to send", &error)),
        }
        let mut connection = self.connect().await?;
        self.send(&mut connection, &messages)
            .await
            .map_err(|error| self.io_error("failed to send", &error))?;
        *slot = Some(connection);
        Ok(())
    }

    async fn send(&self, connection: &mut Connection, messages: &[Vec<u8>]) -> io::Result<()> {
        match tokio::time::timeout(self.timeout, connection.send(messages)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
        }
    }

    async fn connect(&self) -> Result<Connection, DeliveryError> {
        match tokio::time::timeout(self.timeout, self.connect_inner()).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::retryable(
                &self.name,
                format!(
                    "connecting to {} timed out after {:?}",
                    self.address, self.timeout
                ),
            )),
        }
    }

    async fn connect_inner(&self) -> Result<Connection, DeliveryError> {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host(&self.address)
            .await
            .map_err(|e| self.io_error("failed to resolve", &e))?
            .collect();
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
        for address in addresses {
            let result = match self.transport {
                SyslogTransport::Udp => self.connect_udp(address).await,
                SyslogTransport::Tcp => TcpStream::connect(address).await.map(Connection::Tcp),
                SyslogTransport::Tls => match TcpStream::connect(address).await {
                    Ok(stream) => return self.handshake(stream).await,
                    Err(error) => Err(error),
                },
            };
            match result {
                Ok(connection) => return Ok(connection),
                Err(error) => last_error = error,
            }
        }
        Err(self.io_error("failed to connect to", &last_error))
    }

    async fn connect_udp(&self, address: SocketAddr) -> io::Result<Connection> {
        let local: SocketAddr = if address.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0_u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(address).await?;
        Ok(Connection::Udp(socket))
    }

    async fn handshake(&self, stream: TcpStream) -> Result<Connection, DeliveryError> {
        let (Some(connector), Ok(server_name)) = (&self.tls, ServerName::try_from(self.host.clone())) else {
            return Err(DeliveryError::permanent(&self.name, "TLS is not configured"));
        };
        match connector.connect(server_name, stream).await {
            Ok(stream) => Ok(Connection::Tls(Box::new(stream))),
            // A certificate that does not verify fails the same way until
            // the receiver or `ca_file` changes.
            Err(error) if error.kind() == io::ErrorKind::InvalidData => Err(DeliveryError::permanent(
                &self.name,
                format!("TLS handshake with {} failed: {error}", self.address),
            )),
            Err(error) => Err(self.io_error("TLS handshake failed with", &error)),
        }
    }

    fn io_error(&self, action: &str, error: &io::Error) -> DeliveryError {
        DeliveryError::retryable(
            &self.name,
            format!("{action} {} over {:?}: {error}", self.address, self.transport),
        )
    }
}

/// Returns the host part of `host:port` or `[v6]:port`, without brackets.
fn split_host(address: &str) -> Option<String> {
    let (host, port) = address.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || (host.contains(':') && !address.starts_with('[')) {
        return None;
    }
    Some(host.to_owned())
}

/// Maximum length of the APP-NAME field of RFC 5424, in characters.
pub(crate) const MAX_APP_NAME: usize = 48;

/// Maximum length of the HOSTNAME field of RFC 5424, in characters.
pub(crate) const MAX_HOSTNAME: usize = 255;

/// Returns the host part of `address`, the `address` of a syslog sink.
/// With `uses_tls` the host must also be a valid server name, since the
/// receiver's certificate is checked against it.
pub(crate) fn address_host(address: &str, uses_tls: bool) -> Result<String, ConfigErrorKind> {
    let invalid = |reason: &str| ConfigErrorKind::InvalidValue {
        key: "address",
        value: address.to_owned(),
        reason: reason.to_owned(),
    };
    let host = split_host(address).ok_or_else(|| invalid("write it as host:port or [IPv6]:port"))?;
    if uses_tls && ServerName::try_from(host.clone()).is_err() {
        return Err(invalid("the host is not a valid DNS name or IP address"));
    }
    Ok(host)
}

/// Returns the code of the facility `name`.
pub(crate) fn facility(name: &str) -> Result<u8, ConfigErrorKind> {
    facility_code(name).ok_or_else(|| ConfigErrorKind::InvalidValue {
        key: "facility",
        value: name.to_owned(),
        reason: "expected a facility name such as local0 to local7, user or daemon".to_owned(),
    })
}

/// Checks `value`, the value of `key`, as an RFC 5424 header field of at
/// most `max_len` characters.
pub(crate) fn check_header_field(
    key: &'static str,
    value: &str,
    max_len: usize,
) -> Result<(), ConfigErrorKind> {
    if is_header_token(value, max_len) {
        return Ok(());
    }
    Err(ConfigErrorKind::InvalidValue {
        key,
        value: value.to_owned(),
        reason: format!("must be 1 to {max_len} printable ASCII characters without spaces"),
    })
}

/// Checks that `ca_file` is given only with the TLS transport.
pub(crate) fn check_ca_file(ca_file: &Path, transport: SyslogTransport) -> Result<(), ConfigErrorKind> {
    match transport {
        SyslogTransport::Tls => Ok(()),
        SyslogTransport::Udp | SyslogTransport::Tcp => {
            Err(tls::unused_ca_file(ca_file, "transport = \"tls\""))
        }
    }
}

/// RFC 5424 header fields are printable US-ASCII without spaces.
fn is_header_token(value: &str, max_len: usize) -> bool {
    !value.is_empty() && value.len() <= max_len && value.bytes().all(|b| (33..=126).contains(&b))
}

fn facility_code(name: &str) -> Option<u8> {
    let code = match name.to_ascii_lowercase().as_str() {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "ntp" => 12,
        "audit" => 13,
        "alert" => 14,
        "clock" => 15,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None,
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_host_forms() {
        assert_eq!(split_host("siem.example:514").as_deref(), Some("siem.example"));
        assert_eq!(split_host("127.0.0.1:514").as_deref(), Some("127.0.0.1"));
        assert_eq!(split_host("[::1]:6514").as_deref(), Some("::1"));
        assert_eq!(split_host("::1:514"), None);
        assert_eq!(split_host("siem.example"), None);
        assert_eq!(split_host("siem.example:99999"), None);
        assert_eq!(split_host(":514"), None);
    }

    #[test]
    fn facility_names() {
        assert_eq!(facility_code("local0"), Some(16));
        assert_eq!(facility_code("LOCAL7"), Some(23));
        assert_eq!(facility_code("auth"), Some(4));
        assert_eq!(facility_code("local8"), None);
    }

    #[test]
    fn header_tokens() {
        assert!(is_header_token("iocwatch", 48));
        assert!(!is_header_token("ioc watch", 48));
        assert!(!is_header_token("", 48));
        assert!(!is_header_token(&"a".repeat(49), 48));
        assert!(!is_header_token("é", 48));
    }
}
