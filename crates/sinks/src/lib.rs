//! Alert sinks of iocwatch: JSON lines files, webhooks (generic JSON,
//! Slack, Microsoft Teams), syslog with CEF, and e-mail.
//!
//! A [`Sink`] is built once from its [`SinkConfig`] and then delivers
//! alerts, the ECS JSON documents that the pipeline builds. It reads every
//! file its configuration names when it is built, so configuration
//! problems surface at start-up as a [`ConfigError`]. A delivery either
//! succeeds or fails with a [`DeliveryError`] that states whether trying
//! again later may help. Retries, backoff and the queue belong to the
//! caller. Delivery is therefore at least once, because a retried batch
//! may reach the receiver twice.
//!
//! A `Sink` is cheap to clone and may deliver from many tasks at once.
//! The syslog sink shares one connection, so its deliveries take turns;
//! the file sink writes one batch at a time.
//!
//! # Example
//!
//! ```
//! use iocwatch_sinks::{Sink, SinkConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let folder = tempfile::tempdir()?;
//! let config = SinkConfig::from_toml(&format!(
//!     "name = \"archive\"\ntype = \"file\"\npath = {:?}\n",
//!     folder.path().join("iocwatch-alerts.jsonl"),
//! ))?;
//! let sink = Sink::new(config)?;
//! let alert = serde_json::json!({"iocwatch": {"severity": "high"}});
//! if sink.accepts(&alert) {
//!     sink.deliver(&alert).await?;
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod cef;
mod config;
mod email;
mod error;
mod file;
mod secret;
mod syslog;
mod tls;
mod view;
mod webhook;

use serde_json::Value;

pub use cef::{MAX_NAME_CHARS, MAX_VALUE_CHARS, cef};
pub use config::{
    DEFAULT_KEEP, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, EmailConfig, EmailSecurity, FileConfig, Route,
    Severity, SinkConfig, SinkKind, SyslogConfig, SyslogTransport, UnknownSeverity, WebhookConfig,
    WebhookFormat,
};
pub use email::{email_body, email_subject};
pub use error::{ConfigError, ConfigErrorKind, DeliveryError};
pub use webhook::{SIGNATURE_HEADER, webhook_body};

/// Number of alerts that [`Sink::max_batch`] reports for the file and
/// syslog sinks, which write a batch in one go.
pub const STREAM_BATCH: usize = 256;

/// A configured sink, ready to deliver alerts.
#[derive(Debug, Clone)]
pub struct Sink {
    name: String,
    route: Route,
    target: Target,
}

#[derive(Debug, Clone)]
enum Target {
    File(file::FileSink),
    Webhook(webhook::WebhookSink),
    Syslog(syslog::SyslogSink),
    Email(email::EmailSink),
}

impl Sink {
    /// Builds a sink from its configuration.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] naming the key at fault when a value is
    /// invalid, a secret, password or CA file cannot be read, or two forms
    /// of one secret are set. The value checks stop at the first invalid
    /// value, which [`SinkConfig::read`] reports together with the others.
    /// The secret and the CA file of one sink are both read, so the error
    /// lists each of them that fails.
    pub fn new(config: SinkConfig) -> Result<Self, ConfigError> {
        let SinkConfig { name, kind, route } = config;
        if name.trim().is_empty() {
            return Err(ConfigError::new(
                &name,
                ConfigErrorKind::Missing {
                    key: "name",
                    reason: "every sink needs a name for logs and errors",
                },
            ));
        }
        let target = match kind {
            SinkKind::File(config) => Target::File(file::FileSink::new(&name, config)?),
            SinkKind::Webhook(config) => Target::Webhook(webhook::WebhookSink::new(&name, config)?),
            SinkKind::Syslog(config) => Target::Syslog(syslog::SyslogSink::new(&name, config)?),
            SinkKind::Email(config) => Target::Email(email::EmailSink::new(&name, config)?),
        };
        Ok(Self { name, route, target })
    }

    /// Checks, without leaving anything behind, that the sink can
    /// write where it delivers: a file sink's file opens for appending, or
    /// its nearest existing folder accepts a new file. Other sinks deliver
    /// to a peer and pass.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] at the `path` key saying what failed.
    pub fn check_writable(config: &SinkConfig) -> Result<(), ConfigError> {
        match &config.kind {
            SinkKind::File(file_config) => {
                file::check_writable(&file_config.path).map_err(|kind| ConfigError::new(&config.name, kind))
            }
            SinkKind::Webhook(_) | SinkKind::Syslog(_) | SinkKind::Email(_) => Ok(()),
        }
    }

    /// Returns the sink name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Prepares the first delivery where that needs no peer: a file sink
    /// creates its folder and opens its file. Other sinks connect only when
    /// they deliver.
    ///
    /// # Errors
    ///
    /// A message saying what failed, for example a folder that cannot be
    /// created.
    pub fn prepare(&self) -> Result<(), String> {
        match &self.target {
            Target::File(sink) => sink.prepare(),
            Target::Webhook(_) | Target::Syslog(_) | Target::Email(_) => Ok(()),
        }
    }

    /// Returns the value of the sink's `type` key.
    pub fn type_name(&self) -> &'static str {
        match &self.target {
            Target::File(_) => "file",
            Target::Webhook(_) => "webhook",
            Target::Syslog(_) => "syslog",
            Target::Email(_) => "email",
        }
    }

    /// Returns the sink's route.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Returns true when the route lets `alert` through to this sink.
    pub fn accepts(&self, alert: &Value) -> bool {
        self.route.accepts(alert)
    }

    /// Returns the largest number of alerts worth passing to one
    /// [`deliver_batch`](Self::deliver_batch) call: the `batch` setting
    /// for e-mail, 1 for webhooks (one request per alert), and
    /// [`STREAM_BATCH`] for files and syslog.
    pub fn max_batch(&self) -> usize {
        match &self.target {
            Target::Email(sink) => sink.max_batch(),
            Target::Webhook(_) => 1,
            Target::File(_) | Target::Syslog(_) => STREAM_BATCH,
        }
    }

    /// Delivers one alert. The route is not consulted; call
    /// [`accepts`](Self::accepts) first.
    ///
    /// # Errors
    ///
    /// Returns a [`DeliveryError`]. [`DeliveryError::is_retryable`] returns
    /// whether a later attempt may succeed.
    pub async fn deliver(&self, alert: &Value) -> Result<(), DeliveryError> {
        self.deliver_batch(std::slice::from_ref(alert)).await
    }

    /// Delivers several alerts: one fsync for a file, one write for a
    /// syslog connection, one message per `batch` alerts for e-mail, and
    /// one request after another for a webhook. An empty slice delivers
    /// nothing.
    ///
    /// # Errors
    ///
    /// On a failure part of the batch may have been delivered already, so
    /// a retry of the whole batch can deliver some alerts twice.
    pub async fn deliver_batch(&self, alerts: &[Value]) -> Result<(), DeliveryError> {
        if alerts.is_empty() {
            return Ok(());
        }
        match &self.target {
            Target::File(sink) => sink.deliver_batch(alerts).await,
            Target::Syslog(sink) => sink.deliver_batch(alerts).await,
            Target::Email(sink) => sink.deliver_batch(alerts).await,
            Target::Webhook(sink) => {
                for alert in alerts {
                    sink.deliver(alert).await?;
                }
                Ok(())
            }
        }
    }
}
