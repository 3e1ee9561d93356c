//! The e-mail sink: one plain-text message per alert, or per batch of up
//! to `batch` alerts, sent over SMTP.
//!
//! The subject names the highest severity and the indicator, such as
//! `[iocwatch] HIGH: 198.51.100.23 (c2-servers) on 10.20.0.15`. The body
//! gives, for each alert, the indicator and where it was seen, the
//! internal host and direction, the connection, the time, what the
//! intelligence states, the log line as evidence, and the next steps.

use std::path::Path;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use crate::config::{EmailConfig, EmailSecurity};
use crate::error::{ConfigError, ConfigErrorKind, DeliveryError, both};
use crate::secret::{self, SecretForms};
use crate::tls;
use crate::view::AlertView;

/// Sends alerts as e-mail.
#[derive(Clone)]
pub(crate) struct EmailSink {
    name: String,
    server: String,
    from: Mailbox,
    to: Mailboxes,
    batch: usize,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for EmailSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSink")
            .field("name", &self.name)
            .field("server", &self.server)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl EmailSink {
    pub fn new(name: &str, config: EmailConfig) -> Result<Self, ConfigError> {
        let invalid = |kind| ConfigError::new(name, kind);
        check_server(&config.server).map_err(invalid)?;
        let from = mailbox("from", &config.from).map_err(invalid)?;
        check_recipient_count(config.to.len()).map_err(invalid)?;
        let mut to = Mailboxes::new();
        for recipient in &config.to {
            to.push(mailbox("to", recipient).map_err(invalid)?);
        }
        if config.batch == 0 {
            return Err(invalid(ConfigErrorKind::InvalidValue {
                key: "batch",
                value: "0".to_owned(),
                reason: "must be at least 1".to_owned(),
            }));
        }
        let password_set = config.password_file.is_some() || config.password_env.is_some();
        check_credentials(config.username.is_some(), password_set).map_err(invalid)?;
        if let Some(ca_file) = &config.ca_file {
            check_ca_file(ca_file, config.security).map_err(invalid)?;
        }

        let password = secret::resolve(
            name,
            SecretForms {
                inline: None,
                file: ("password_file", config.password_file.as_deref()),
                env: ("password_env", config.password_env.as_deref()),
            },
        );
        let tls = match config.security {
            EmailSecurity::None => Ok(Tls::None),
            EmailSecurity::Starttls => tls_parameters(name, &config).map(Tls::Required),
            EmailSecurity::Tls => tls_parameters(name, &config).map(Tls::Wrapper),
        };
        let (password, tls) = both(password, tls)?;
        let credentials = match (&config.username, password) {
            (Some(username), Some(password)) => {
                Some(Credentials::new(username.clone(), password.expose().to_owned()))
            }
            _ => None,
        };
        let port = config.port.unwrap_or(match config.security {
            EmailSecurity::Starttls => 587,
            EmailSecurity::Tls => 465,
            EmailSecurity::None => 25,
        });
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.server.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(Self {
            name: name.to_owned(),
            server: format!("{}:{port}", config.server),
            from,
            to,
            batch: config.batch,
            transport: builder.build(),
        })
    }

    pub fn max_batch(&self) -> usize {
        self.batch
    }

    pub async fn deliver_batch(&self, alerts: &[Value]) -> Result<(), DeliveryError> {
        for chunk in alerts.chunks(self.batch) {
            let message = self.message(chunk)?;
            self.transport
                .send(message)
                .await
                .map_err(|e| self.send_error(&e))?;
        }
        Ok(())
    }

    fn message(&self, alerts: &[Value]) -> Result<Message, DeliveryError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject(alerts))
            .header(ContentType::TEXT_PLAIN);
        for mailbox in self.to.iter() {
            builder = builder.to(mailbox.clone());
        }
        builder
            .body(body(alerts))
            .map_err(|e| DeliveryError::permanent(&self.name, format!("failed to build the message: {e}")))
    }

    fn send_error(&self, error: &lettre::transport::smtp::Error) -> DeliveryError {
        let message = format!("sending through {} failed: {}", self.server, error_chain(error));
        if error.is_permanent() || error.is_tls() || error.is_client() || tls::has_tls_cause(error) {
            // 5xx responses (rejected credentials or recipients) and
            // certificate failures repeat until the configuration changes.
            DeliveryError::permanent(&self.name, message)
        } else {
            DeliveryError::retryable(&self.name, message)
        }
    }
}

/// Checks that `server`, the `server` of an e-mail sink, is not empty.
pub(crate) fn check_server(server: &str) -> Result<(), ConfigErrorKind> {
    if server.is_empty() {
        return Err(ConfigErrorKind::InvalidValue {
            key: "server",
            value: String::new(),
            reason: "must name the SMTP server".to_owned(),
        });
    }
    Ok(())
}

/// Parses `text`, the value of `key` or an entry of it, as a mailbox such
/// as `iocwatch <iocwatch@example.net>`.
pub(crate) fn mailbox(key: &'static str, text: &str) -> Result<Mailbox, ConfigErrorKind> {
    // The parser's own error names no part of the value, so the message
    // gives the expected forms instead.
    text.parse().map_err(|_| ConfigErrorKind::InvalidValue {
        key,
        value: text.to_owned(),
        reason: "not an e-mail address; write soc@example.net or \"SOC <soc@example.net>\"".to_owned(),
    })
}

/// Checks that `to` lists at least one recipient.
pub(crate) fn check_recipient_count(count: usize) -> Result<(), ConfigErrorKind> {
    if count == 0 {
        return Err(ConfigErrorKind::Missing {
            key: "to",
            reason: "list at least one recipient",
        });
    }
    Ok(())
}

/// Checks that a user name and a password are given together or not at
/// all.
pub(crate) fn check_credentials(username_set: bool, password_set: bool) -> Result<(), ConfigErrorKind> {
    match (username_set, password_set) {
        (true, false) => Err(ConfigErrorKind::Missing {
            key: "password_file",
            reason: "`username` is set, so a password is needed (or use `password_env`)",
        }),
        (false, true) => Err(ConfigErrorKind::Missing {
            key: "username",
            reason: "a password is set, so the user name is needed",
        }),
        _ => Ok(()),
    }
}

/// Checks that `ca_file` is given only with a TLS connection.
pub(crate) fn check_ca_file(ca_file: &Path, security: EmailSecurity) -> Result<(), ConfigErrorKind> {
    match security {
        EmailSecurity::None => Err(tls::unused_ca_file(ca_file, "security = \"starttls\" or \"tls\"")),
        EmailSecurity::Starttls | EmailSecurity::Tls => Ok(()),
    }
}

fn tls_parameters(name: &str, config: &EmailConfig) -> Result<TlsParameters, ConfigError> {
    let mut builder = TlsParameters::builder(config.server.clone());
    if let Some(path) = &config.ca_file {
        builder = builder.certificate_store(CertificateStore::None);
        for der in tls::read_pem_certificates(name, "ca_file", path)? {
            let certificate = Certificate::from_der(der.to_vec()).map_err(|e| {
                ConfigError::new(
                    name,
                    ConfigErrorKind::Certificate {
                        key: "ca_file",
                        path: path.clone(),
                        reason: e.to_string(),
                    },
                )
            })?;
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build_rustls().map_err(|e| {
        ConfigError::new(
            name,
            ConfigErrorKind::Client {
                client: "SMTP",
                reason: error_chain(&e),
            },
        )
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Returns the subject line of a message about `alerts`.
pub fn email_subject(alerts: &[Value]) -> String {
    subject(alerts)
}

/// Returns the plain-text body of a message about `alerts`.
pub fn email_body(alerts: &[Value]) -> String {
    body(alerts)
}

fn subject(alerts: &[Value]) -> String {
    let views: Vec<AlertView<'_>> = alerts.iter().map(AlertView::new).collect();
    match views.as_slice() {
        [] => "[iocwatch] no alerts".to_owned(),
        [view] => format!("[iocwatch] {}", subject_title(view)),
        many => {
            let highest = many
                .iter()
                .max_by_key(|view| view.severity)
                .map(|view| view.severity_label())
                .unwrap_or_default();
            let mut indicators: Vec<&str> = Vec::new();
            for indicator in many.iter().flat_map(|view| view.indicators()) {
                if !indicators.contains(&indicator) {
                    indicators.push(indicator);
                }
            }
            let listed = match indicators.as_slice() {
                [] => "unknown indicators".to_owned(),
                [one] => (*one).to_owned(),
                [first, second] => format!("{first}, {second}"),
                [first, second, rest @ ..] => format!("{first}, {second} and {} more", rest.len()),
            };
            format!("[iocwatch] {} alerts, highest {highest}: {listed}", many.len())
        }
    }
}

fn subject_title(view: &AlertView<'_>) -> String {
    let title = view.title();
    let label = view.severity_label();
    match title.strip_prefix(&format!("{label} ")) {
        Some(rest) => format!("{label}: {rest}"),
        None => title,
    }
}

fn body(alerts: &[Value]) -> String {
    let views: Vec<AlertView<'_>> = alerts.iter().map(AlertView::new).collect();
    let mut text = String::new();
    if views.len() > 1 {
        text.push_str(&format!("iocwatch raised {} alerts.\n\n", views.len()));
    }
    for (index, view) in views.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        if views.len() > 1 {
            text.push_str(&format!(
                "=== Alert {} of {}: {} ===\n\n",
                index + 1,
                views.len(),
                subject_title(view)
            ));
        }
        push_alert(&mut text, view);
    }
    text
}

fn push_alert(text: &mut String, view: &AlertView<'_>) {
    text.push_str(&format!("{}\n\n", lead_sentence(view)));
    let mut facts = view.facts();
    if let Some(log) = view.log_line() {
        facts.push(("Log", log));
    }
    if let Some(id) = view.alert_id {
        facts.push(("Alert ID", id.to_owned()));
    }
    for (label, value) in facts {
        push_item(
            text,
            &format!("{:<12}", format!("{label}:")),
            &" ".repeat(12),
            &value,
        );
    }

    let intelligence = view.intelligence_lines();
    if !intelligence.is_empty() {
        text.push_str("\nWhat the intelligence says:\n");
        for line in intelligence {
            push_item(text, "  - ", "    ", &line);
        }
    }
    if let Some(original) = view.original {
        text.push_str("\nEvidence (the log line):\n");
        push_item(text, "  ", "  ", original);
    }
    if !view.next_steps.is_empty() {
        text.push_str("\nNext steps:\n");
        for (index, step) in view.next_steps.iter().enumerate() {
            push_item(text, &format!("  {}. ", index + 1), "     ", step);
        }
    }
}

/// Returns the first sentence of an alert: who saw what, where.
fn lead_sentence(view: &AlertView<'_>) -> String {
    let mut sentence = match view.severity_text {
        Some(_) => format!(
            "iocwatch raised a {} alert: ",
            view.severity_label().to_ascii_lowercase()
        ),
        None => "iocwatch raised an alert: ".to_owned(),
    };
    if view.indicators().is_empty() {
        sentence.push_str("an unknown indicator");
    } else {
        sentence.push_str(&format!("indicator {}", view.indicator_summary()));
    }
    match view.watchlists.as_slice() {
        [] => {}
        [one] => sentence.push_str(&format!(" from watchlist {one}")),
        many => sentence.push_str(&format!(" from watchlists {}", many.join(", "))),
    }
    match (view.internal_host, view.direction) {
        (Some(host), Some("inbound")) => sentence.push_str(&format!(" reached internal host {host}")),
        (Some(host), Some("outbound")) => {
            sentence.push_str(&format!(" was contacted by internal host {host}"))
        }
        (Some(host), _) => sentence.push_str(&format!(" was seen on internal host {host}")),
        (None, _) => sentence.push_str(" was seen"),
    }
    if let Some(dataset) = view.dataset {
        sentence.push_str(&format!(" in {dataset}"));
    }
    sentence.push('.');
    sentence
}

/// Appends `value` after `first_prefix`, indenting its further lines by
/// `rest_prefix` so that a multi-line value stays inside its list item.
fn push_item(text: &mut String, first_prefix: &str, rest_prefix: &str, value: &str) {
    let mut lines = value.lines();
    text.push_str(first_prefix);
    text.push_str(lines.next().unwrap_or_default());
    text.push('\n');
    for line in lines {
        text.push_str(rest_prefix);
        text.push_str(line);
        text.push('\n');
    }
}
