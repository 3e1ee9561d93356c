//! The webhook sink: one HTTP POST per alert.
//!
//! The body is JSON (`Content-Type: application/json`): the alert document
//! for `format = "generic"`, a Slack message for `slack`, a Teams Adaptive
//! Card message for `teams`. Redirects are not followed, since a POST that
//! is redirected would reach a receiver the configuration does not name.
//!
//! # Signature
//!
//! With a secret configured, every request carries a signature header.
//! For the body `{}` sent at 1764842400 with the secret `key` it is
//!
//! ```text
//! X-Iocwatch-Signature: t=1764842400,v1=aa95c1603ebdd25b3161896f8a5ed9b7140ab8755c5a0194b7db1626f51bddff
//! ```
//!
//! where `t` is the sending time in Unix seconds and `v1` is the lower-case
//! hex HMAC-SHA256, keyed with the secret, of the bytes of `t`, a `.`, and
//! the request body exactly as received. A receiver checks a request by
//!
//! 1. splitting the header at `,` and each part at the first `=`, taking
//!    `t` and every `v1` value;
//! 2. rejecting the request when `t` is more than 5 minutes away from its
//!    own clock, which stops replays of old requests;
//! 3. computing HMAC-SHA256 over `t + "." + body` with the shared secret
//!    and comparing it with `v1` in constant time.
//!
//! The body must be read as raw bytes before any JSON parsing, because
//! re-encoding changes the bytes the signature covers.

mod message;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::Value;
use sha2::Sha256;

use crate::config::{WebhookConfig, WebhookFormat};
use crate::error::{ConfigError, ConfigErrorKind, DeliveryError, both};
use crate::secret::{self, Secret, SecretForms};
use crate::tls;

/// Name of the request header that carries the HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "X-Iocwatch-Signature";

/// Posts alerts to an HTTP endpoint.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSink {
    name: String,
    url: Url,
    /// `scheme://host:port` of the URL, shown in errors instead of the URL,
    /// whose path often carries a token.
    endpoint: String,
    format: WebhookFormat,
    secret: Option<Secret>,
    client: reqwest::Client,
}

impl WebhookSink {
    pub fn new(name: &str, config: WebhookConfig) -> Result<Self, ConfigError> {
        let invalid = |kind| ConfigError::new(name, kind);
        let url = parse_url(&config.url).map_err(invalid)?;
        let endpoint = format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );

        let mut headers = HeaderMap::new();
        for (key, value) in &config.headers {
            let header_name = header_name(key).map_err(invalid)?;
            let mut header_value = header_value(key, value).map_err(invalid)?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }

        let secret = secret::resolve(
            name,
            SecretForms {
                inline: config.secret.as_deref().map(|s| ("secret", s)),
                file: ("secret_file", config.secret_file.as_deref()),
                env: ("secret_env", config.secret_env.as_deref()),
            },
        );
        let tls_config = tls::client_config(name, config.ca_file.as_deref(), url.scheme() == "https");
        let (secret, tls_config) = both(secret, tls_config)?;
        let builder = reqwest::Client::builder()
            .user_agent(concat!("iocwatch/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .tls_backend_preconfigured(rustls::ClientConfig::clone(&tls_config));
        let client = builder.build().map_err(|e| {
            invalid(ConfigErrorKind::Client {
                client: "HTTP",
                reason: e.to_string(),
            })
        })?;
        Ok(Self {
            name: name.to_owned(),
            url,
            endpoint,
            format: config.format,
            secret,
            client,
        })
    }

    pub async fn deliver(&self, alert: &Value) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&message::body(self.format, alert)).map_err(|e| {
            DeliveryError::permanent(&self.name, format!("failed to encode the request body: {e}"))
        })?;

        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json");
        if let Some(secret) = &self.secret {
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.expose().as_bytes(), timestamp, &body),
            );
        }

        let response = request.body(body).send().await.map_err(|e| self.send_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }

        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);

        let response_body = response.text().await.unwrap_or_default();
        let response_body = response_body.trim();
        let detail = if response_body.is_empty() {
            String::new()
        } else {
            let cut: String = response_body.chars().take(200).collect();
            format!(": {cut}")
        };
        let message = format!("{} responded with {status}{detail}", self.endpoint);
        if is_retryable_status(status) {
            Err(DeliveryError::retryable(&self.name, message).with_retry_after(retry_after))
        } else if status.is_redirection() {
            Err(DeliveryError::permanent(
                &self.name,
                format!("{message}; redirects are not followed, so configure the final URL"),
            ))
        } else {
            Err(DeliveryError::permanent(&self.name, message))
        }
    }

    fn send_error(&self, error: &reqwest::Error) -> DeliveryError {
        let failure = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "failed to connect"
        } else {
            "failed"
        };
        // Print the source chain without the URL, which may carry a token.
        let mut detail = String::new();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        let message = format!("POST to {} {failure}{detail}", self.endpoint);
        if tls::has_tls_cause(error) {
            // A certificate that does not verify fails the same way until
            // the receiver or `ca_file` changes.
            DeliveryError::permanent(&self.name, message)
        } else {
            DeliveryError::retryable(&self.name, message)
        }
    }
}

/// Returns the request body that a webhook of `format` posts for `alert`.
pub fn webhook_body(format: WebhookFormat, alert: &Value) -> Value {
    message::body(format, alert)
}

/// 408 (request timeout), 429 (too many requests) and every 5xx are worth
/// another attempt; other statuses repeat until something changes.
fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// Computes the `X-Iocwatch-Signature` value for `body` sent at
/// `timestamp` (Unix seconds).
fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Parses the `url` of a webhook: an absolute `http` or `https` URL with
/// a host. The error shows only the scheme and host of `text`.
pub(crate) fn parse_url(text: &str) -> Result<Url, ConfigErrorKind> {
    let invalid = |reason: String| ConfigErrorKind::InvalidValue {
        key: "url",
        value: redact_url(text),
        reason,
    };
    let url = Url::parse(text).map_err(|e| invalid(format!("{e}; write an absolute http or https URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            "only http and https URLs with a host are supported".to_owned(),
        ));
    }
    Ok(url)
}

/// Parses the name of an entry of `headers`.
pub(crate) fn header_name(name: &str) -> Result<HeaderName, ConfigErrorKind> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|e| ConfigErrorKind::InvalidValue {
        key: "headers",
        value: name.to_owned(),
        reason: format!("not a valid header name: {e}"),
    })
}

/// Parses the value of the entry `name` of `headers`. The error shows the
/// name only, since header values often carry credentials.
pub(crate) fn header_value(name: &str, value: &str) -> Result<HeaderValue, ConfigErrorKind> {
    HeaderValue::from_str(value).map_err(|e| ConfigErrorKind::InvalidValue {
        key: "headers",
        value: name.to_owned(),
        reason: format!("the value is not a valid header value: {e}"),
    })
}

/// Keeps only the scheme and host of a URL for an error message.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}/...")
        }
        None => "(not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_known_value() {
        // Computed independently with
        // `printf '1764842400.{}' | openssl dgst -sha256 -hmac key`.
        assert_eq!(
            signature(b"key", 1_764_842_400, b"{}"),
            "t=1764842400,v1=aa95c1603ebdd25b3161896f8a5ed9b7140ab8755c5a0194b7db1626f51bddff"
        );
    }

    #[test]
    fn retryable_statuses() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 410, 413, 422] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn redacted_url_hides_path_and_user() {
        assert_eq!(
            redact_url("https://user:pw@hooks.example/services/T0/B0/token?x=1"),
            "https://hooks.example/..."
        );
        assert_eq!(redact_url("not a url"), "(not a URL)");
    }
}
