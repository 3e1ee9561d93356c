//! Sink configuration, as read from the `[[sink]]` tables of the
//! configuration file.
//!
//! Every sink has a `name`, a `type` that selects the sink and its keys,
//! and an optional `route` table. [`SinkConfig::read`] reads a table and
//! records every unknown key, value of the wrong TOML type, missing key and
//! invalid value at its line and column, so a typing error in a key name
//! fails at start-up instead of being ignored.
//!
//! ```toml
//! [[sink]]
//! name = "archive"
//! type = "file"
//! path = "/var/lib/iocwatch/iocwatch-alerts.jsonl"
//! max_bytes = 104857600
//! keep = 5
//!
//! [[sink]]
//! name = "soc-chat"
//! type = "webhook"
//! url = "https://hooks.slack.com/services/T000/B000/XXXX"
//! format = "slack"
//! route = { min_severity = "high" }
//!
//! [[sink]]
//! name = "siem"
//! type = "syslog"
//! address = "siem.example.net:6514"
//! transport = "tls"
//! ca_file = "/etc/iocwatch/siem-ca.pem"
//!
//! [[sink]]
//! name = "on-call"
//! type = "email"
//! server = "smtp.example.net"
//! username = "iocwatch"
//! password_file = "/etc/iocwatch/smtp-password"
//! from = "iocwatch <iocwatch@example.net>"
//! to = ["soc@example.net"]
//! route = { watchlists = ["c2-servers"], min_severity = "medium" }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// Default maximum size of the active alert file before it is rotated:
/// 100 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// Default number of rotated alert files kept beside the active one.
pub const DEFAULT_KEEP: u32 = 5;

/// Default time limit of one network delivery (connect, TLS handshake,
/// send and response): 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One sink: where alerts go and which alerts go there.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Name of the sink in logs, metrics and errors. Must be unique among
    /// the sinks of one configuration.
    pub name: String,
    /// The sink type (the `type` key) and its settings.
    pub kind: SinkKind,
    /// The filter of alerts the sink receives. Without a `route` table it
    /// receives every alert.
    pub route: Route,
}

/// The sink types, selected by the `type` key.
#[derive(Debug, Clone)]
pub enum SinkKind {
    /// `type = "file"`: JSON lines in a local file, rotated by size.
    File(FileConfig),
    /// `type = "webhook"`: an HTTP POST per alert.
    Webhook(WebhookConfig),
    /// `type = "syslog"`: CEF lines in RFC 5424 syslog messages.
    Syslog(SyslogConfig),
    /// `type = "email"`: a plain-text message per alert or per batch.
    Email(EmailConfig),
}

impl SinkKind {
    /// Returns the value of the `type` key of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::File(_) => "file",
            Self::Webhook(_) => "webhook",
            Self::Syslog(_) => "syslog",
            Self::Email(_) => "email",
        }
    }
}

/// Settings of the file sink.
#[derive(Debug, Clone)]
pub struct FileConfig {
    /// Path of the active file, for example
    /// `/var/lib/iocwatch/iocwatch-alerts.jsonl`. Rotated files get the
    /// suffixes `.1` (newest) to `.N`. Missing parent folders are created.
    pub path: PathBuf,
    /// Size in bytes at which the active file is rotated, at least 1. A
    /// line is never split: the file rotates before a line that would take
    /// it past this size. Default: [`DEFAULT_MAX_BYTES`].
    pub max_bytes: u64,
    /// Number of rotated files kept; the oldest beyond it is deleted. With
    /// 0 the active file is deleted on rotation. Default: [`DEFAULT_KEEP`].
    pub keep: u32,
}

/// Body format of a webhook request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookFormat {
    /// The alert document as it is.
    #[default]
    Generic,
    /// A Slack incoming-webhook message with `text` and `blocks`.
    Slack,
    /// A Microsoft Teams message with one Adaptive Card attachment, as
    /// Teams workflows ("Post to a channel when a webhook request is
    /// received") and incoming webhooks accept.
    Teams,
}

/// Settings of the webhook sink.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The `http` or `https` URL the alert is posted to. Errors and logs
    /// show only its scheme, host and port, since webhook URLs often carry
    /// a token.
    pub url: String,
    /// Body format: `generic` (default), `slack` or `teams`.
    pub format: WebhookFormat,
    /// HMAC-SHA256 key that signs each request in the
    /// `X-Iocwatch-Signature` header (see the webhook module). At most one
    /// of `secret`, `secret_file` and `secret_env` may be set; without any
    /// the requests are not signed.
    pub secret: Option<String>,
    /// File whose content, less a trailing newline, is the HMAC key.
    pub secret_file: Option<PathBuf>,
    /// Environment variable whose value is the HMAC key.
    pub secret_env: Option<String>,
    /// Extra request headers, for example an `Authorization` header.
    pub headers: BTreeMap<String, String>,
    /// PEM file of CA certificates trusted for an `https` URL, in place
    /// of the system trust store.
    pub ca_file: Option<PathBuf>,
    /// Time limit of one request, connection included, as a duration such
    /// as `10s` or `1m 30s`. Default: [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
}

/// Transport of syslog messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogTransport {
    /// One UDP datagram per message (RFC 5426).
    #[default]
    Udp,
    /// TCP with octet-counting framing (RFC 6587).
    Tcp,
    /// TLS over TCP with octet-counting framing (RFC 5425).
    Tls,
}

/// Settings of the syslog sink.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// `host:port` of the syslog receiver; `[addr]:port` for an IPv6
    /// address. With TLS the host part is the name checked against the
    /// receiver's certificate.
    pub address: String,
    /// `udp` (default), `tcp` or `tls`.
    pub transport: SyslogTransport,
    /// PEM file of CA certificates trusted for `tls`, in place of the
    /// system trust store.
    pub ca_file: Option<PathBuf>,
    /// APP-NAME field of each message: 1 to 48 printable ASCII characters.
    /// Default: `iocwatch`.
    pub app_name: String,
    /// HOSTNAME field of each message: 1 to 255 printable ASCII
    /// characters. Default: the name of this machine.
    pub hostname: Option<String>,
    /// Facility name: `kern`, `user`, `mail`, `daemon`, `auth`, `syslog`,
    /// `lpr`, `news`, `uucp`, `cron`, `authpriv`, `ftp`, `ntp`, `audit`,
    /// `alert`, `clock` or `local0` to `local7`. Default: `local0`.
    pub facility: String,
    /// Time limit of connecting and of sending one batch, as a duration
    /// such as `10s`. Default: [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
}

/// Protection of the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmailSecurity {
    /// Plain connection upgraded with STARTTLS, which the server must
    /// offer (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption, for a relay on the same machine or network only.
    None,
}

/// Settings of the e-mail sink.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Host name of the SMTP server; with TLS it is also the name checked
    /// against the server's certificate.
    pub server: String,
    /// TCP port. Default: 587 for `starttls`, 465 for `tls`, 25 for
    /// `none`.
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub security: EmailSecurity,
    /// PEM file of CA certificates trusted for the server's certificate,
    /// in place of the system trust store.
    pub ca_file: Option<PathBuf>,
    /// SMTP user name. Without it no authentication is attempted.
    pub username: Option<String>,
    /// File whose content, less a trailing newline, is the SMTP password.
    pub password_file: Option<PathBuf>,
    /// Environment variable whose value is the SMTP password.
    pub password_env: Option<String>,
    /// Sender mailbox, such as `iocwatch <iocwatch@example.net>`.
    pub from: String,
    /// Recipient mailboxes, at least one.
    pub to: Vec<String>,
    /// Maximum number of alerts per message, at least 1. Default: 1, one
    /// message per alert. The caller groups alerts into batches of this
    /// size (see [`Sink::max_batch`](crate::Sink::max_batch)).
    pub batch: usize,
    /// Time limit of one SMTP session, as a duration such as `30s`.
    /// Default: [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
}

/// Filter of the alerts a sink receives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// Watchlist names; an alert passes when one of its indicators comes
    /// from one of them. Empty (the default): alerts of every watchlist.
    pub watchlists: Vec<String>,
    /// Lowest severity that passes: `low`, `medium`, `high` or
    /// `critical`. Default: every severity.
    pub min_severity: Option<Severity>,
}

impl Route {
    /// Returns true when `alert` passes this route.
    ///
    /// The watchlists of an alert are `iocwatch.watchlists`, or the
    /// `feed.name` of its `threat.enrichments` when that list is absent.
    /// An alert whose `iocwatch.severity` is missing or unknown passes any
    /// `min_severity`, so that a malformed alert still reaches an analyst.
    pub fn accepts(&self, alert: &Value) -> bool {
        if let Some(min) = self.min_severity {
            let severity = alert
                .pointer("/iocwatch/severity")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Severity>().ok());
            if severity.is_some_and(|severity| severity < min) {
                return false;
            }
        }
        if self.watchlists.is_empty() {
            return true;
        }
        alert_watchlists(alert)
            .iter()
            .any(|name| self.watchlists.iter().any(|wanted| wanted == name))
    }
}

/// Returns the watchlist names of an alert, in document order, without
/// repeats.
pub(crate) fn alert_watchlists(alert: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    if let Some(list) = alert.pointer("/iocwatch/watchlists").and_then(Value::as_array) {
        names.extend(list.iter().filter_map(Value::as_str));
    } else if let Some(enrichments) = alert.pointer("/threat/enrichments").and_then(Value::as_array) {
        names.extend(
            enrichments
                .iter()
                .filter_map(|e| e.pointer("/feed/name").and_then(Value::as_str)),
        );
    }
    let mut unique: Vec<&str> = Vec::with_capacity(names.len());
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

pub use iocwatch_model::{Severity, UnknownSeverity};

/// Reads `iocwatch.severity` of an alert; `None` when it is missing or not
/// one of the four names.
pub fn severity_of(alert: &Value) -> Option<Severity> {
    alert
        .pointer("/iocwatch/severity")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

mod read;
