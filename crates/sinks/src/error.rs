//! Errors of the sinks: [`ConfigError`] when a sink is built from its
//! configuration, [`DeliveryError`] when an alert cannot be delivered.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// A sink configuration that cannot be used, with every problem found.
/// Building a sink reads the files its configuration names (secrets,
/// passwords, CA certificates), so a missing file is reported here and not
/// at the first delivery.
#[derive(Debug, Error)]
pub struct ConfigError {
    sink: String,
    kind: ConfigErrorKind,
    /// Further problems found in the same build.
    more: Vec<ConfigErrorKind>,
}

impl ConfigError {
    pub(crate) fn new(sink: &str, kind: ConfigErrorKind) -> Self {
        Self {
            sink: sink.to_owned(),
            kind,
            more: Vec::new(),
        }
    }

    /// Returns the name of the sink whose configuration is invalid.
    pub fn sink(&self) -> &str {
        &self.sink
    }

    /// Returns the first reason the configuration is invalid.
    pub fn kind(&self) -> &ConfigErrorKind {
        &self.kind
    }

    /// Returns every reason the configuration is invalid, in the order
    /// they were found.
    pub fn kinds(&self) -> impl Iterator<Item = &ConfigErrorKind> {
        std::iter::once(&self.kind).chain(&self.more)
    }

    /// Returns the reasons as one line, without the sink name.
    pub fn reasons(&self) -> String {
        let reasons: Vec<String> = self.kinds().map(ToString::to_string).collect();
        reasons.join("; ")
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sink {:?}: {}", self.sink, self.reasons())
    }
}

/// Returns both values, or one error with the problems of both, so that a
/// build reports independent problems together.
pub(crate) fn both<A, B>(
    first: Result<A, ConfigError>,
    second: Result<B, ConfigError>,
) -> Result<(A, B), ConfigError> {
    match (first, second) {
        (Ok(first), Ok(second)) => Ok((first, second)),
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => Err(error),
        (Err(mut error), Err(other)) => {
            error.more.push(other.kind);
            error.more.extend(other.more);
            Err(error)
        }
    }
}

/// The reason a sink configuration is invalid.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A key has a value outside its allowed range or form.
    #[error("invalid `{key}` {value:?}: {reason}")]
    InvalidValue {
        /// The configuration key.
        key: &'static str,
        /// The value as configured. Secrets are never stored here.
        value: String,
        /// The problem, and the values the key accepts.
        reason: String,
    },
    /// More than one form of the same secret is set, for example both
    /// `secret` and `secret_file`.
    #[error("set only one of {}", keys.join(", "))]
    ConflictingKeys {
        /// The keys that exclude each other.
        keys: Vec<&'static str>,
    },
    /// A key that the sink needs is not set.
    #[error("missing `{key}`: {reason}")]
    Missing {
        /// The configuration key.
        key: &'static str,
        /// The reason the key is needed.
        reason: &'static str,
    },
    /// A file named by the configuration cannot be read.
    #[error("failed to read `{key}` file {}: {error}", path.display())]
    ReadFile {
        /// The configuration key that names the file.
        key: &'static str,
        /// The file path as configured.
        path: PathBuf,
        /// The I/O error.
        error: io::Error,
    },
    /// An environment variable named by the configuration is not set or is
    /// not UTF-8.
    #[error("environment variable {variable} named by `{key}` is not set or not UTF-8")]
    MissingEnv {
        /// The configuration key that names the variable.
        key: &'static str,
        /// The variable name.
        variable: String,
    },
    /// A CA certificate file has no usable PEM certificate.
    #[error("no PEM certificate found in `{key}` file {}: {reason}", path.display())]
    Certificate {
        /// The configuration key that names the file.
        key: &'static str,
        /// The file path as configured.
        path: PathBuf,
        /// The message of the PEM parser or the certificate store.
        reason: String,
    },
    /// The HTTP or TLS client cannot be built from the configuration.
    #[error("failed to build the {client} client: {reason}")]
    Client {
        /// The client: `HTTP`, `TLS` or `SMTP`.
        client: &'static str,
        /// The library's message.
        reason: String,
    },
}

impl ConfigErrorKind {
    /// Returns the configuration key at fault: the last of conflicting
    /// keys, and `None` for a client that cannot be built.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::InvalidValue { key, .. }
            | Self::Missing { key, .. }
            | Self::ReadFile { key, .. }
            | Self::MissingEnv { key, .. }
            | Self::Certificate { key, .. } => Some(key),
            Self::ConflictingKeys { keys } => keys.last().copied(),
            Self::Client { .. } => None,
        }
    }
}

/// A failed delivery, and whether the same delivery may succeed later.
///
/// Retryable failures are those of the moment: the receiver is down,
/// refuses connections, times out, responds with 408, 429 or 5xx, or the
/// disk is full. The rest (4xx responses other than 408 and 429, rejected
/// credentials, a certificate that does not verify, a permission error)
/// fail the same way on every attempt until the configuration or the
/// receiver changes.
#[derive(Debug, Clone, Error)]
#[error("sink {sink:?}: {message}")]
pub struct DeliveryError {
    sink: String,
    retryable: bool,
    retry_after: Option<Duration>,
    message: String,
}

impl DeliveryError {
    pub(crate) fn retryable(sink: &str, message: impl Into<String>) -> Self {
        Self {
            sink: sink.to_owned(),
            retryable: true,
            retry_after: None,
            message: message.into(),
        }
    }

    pub(crate) fn permanent(sink: &str, message: impl Into<String>) -> Self {
        Self {
            sink: sink.to_owned(),
            retryable: false,
            retry_after: None,
            message: message.into(),
        }
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Returns the name of the sink that failed.
    pub fn sink(&self) -> &str {
        &self.sink
    }

    /// Returns true when the same delivery may succeed on a later attempt.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// Returns the wait that the receiver requested in the `Retry-After`
    /// header (in seconds form) of an error response.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Returns what failed, without the sink name.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Classifies an I/O error of a local file or socket: errors that need an
/// operator (permissions, a path that is a folder, invalid input) are
/// permanent, the rest are retryable.
pub(crate) fn io_delivery_error(sink: &str, context: &str, error: &io::Error) -> DeliveryError {
    let message = format!("{context}: {error}");
    match error.kind() {
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::InvalidInput
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::ReadOnlyFilesystem => DeliveryError::permanent(sink, message),
        _ => DeliveryError::retryable(sink, message),
    }
}
