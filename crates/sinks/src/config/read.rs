//! Reading of one `[[sink]]` table into a [`SinkConfig`].
//!
//! The reader of each sink type takes that type's keys from the table by
//! name and TOML type, so its calls are the one list of the keys the type
//! accepts. The values are then checked, with the same functions that
//! [`Sink::new`](crate::Sink::new) uses where it checks them too, and
//! every problem is recorded at its value. The checks that need files,
//! environment variables or a client happen when the sink is built. When
//! a table has another problem, its sink is not built, so the reader
//! reads its secret itself and an unset variable shows beside the rest.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use iocwatch_config::{ConfigError, ConfigIssue, Report, Spanned, Table, read_text};
use iocwatch_model::time::parse_duration;

use super::{
    DEFAULT_KEEP, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, EmailConfig, EmailSecurity, FileConfig, Route,
    Severity, SinkConfig, SinkKind, SyslogConfig, SyslogTransport, WebhookConfig, WebhookFormat,
};
use crate::secret::SecretForm;
use crate::{email, file, secret, syslog, webhook};

/// Reader of the keys of one sink type. The count is the number of
/// problems in the report before the table was read.
type ReadKind = fn(&mut Table<'_>, &mut Report<'_>, usize) -> Option<SinkKind>;

/// The sink types by the value of `type`, each with the reader of its keys.
const TYPES: [(&str, ReadKind); 4] = [
    ("file", read_file),
    ("webhook", read_webhook),
    ("syslog", read_syslog),
    ("email", read_email),
];

const WEBHOOK_FORMATS: [(&str, WebhookFormat); 3] = [
    ("generic", WebhookFormat::Generic),
    ("slack", WebhookFormat::Slack),
    ("teams", WebhookFormat::Teams),
];

const SYSLOG_TRANSPORTS: [(&str, SyslogTransport); 3] = [
    ("udp", SyslogTransport::Udp),
    ("tcp", SyslogTransport::Tcp),
    ("tls", SyslogTransport::Tls),
];

const EMAIL_SECURITIES: [(&str, EmailSecurity); 3] = [
    ("starttls", EmailSecurity::Starttls),
    ("tls", EmailSecurity::Tls),
    ("none", EmailSecurity::None),
];

/// The file name that messages of [`SinkConfig::from_toml`] give.
const STANDALONE_PATH: &str = "sink configuration";

impl SinkConfig {
    /// Reads a sink from its table and records every problem in `report`:
    /// a missing `name` or `type`, each missing key that the type needs,
    /// each value of the wrong TOML type and each invalid value. Returns
    /// `None` when it recorded one of these.
    ///
    /// Call [`Table::finish`] afterwards: it records the keys that the sink
    /// type does not accept. The unknown keys of the `route` table are
    /// recorded here. Unknown keys do not make the result
    /// `None`. When the `type` is missing or unknown, so are the keys the
    /// table accepts, and the table is set to leave them unreported.
    pub fn read(table: &mut Table<'_>, report: &mut Report<'_>) -> Option<Self> {
        let before = report.count();
        let name = table.required_string(
            report,
            "name",
            "a [[sink]] needs a `name`, for example name = \"siem\"",
        );
        let type_name = table.required_string(
            report,
            "type",
            "a [[sink]] needs a `type`, for example type = \"file\"",
        );
        let mut route_table = table.table(report, "route");
        let route = route_table.as_mut().map(|route| Route::read(route, report));
        let read_kind = type_name.and_then(|type_name| report.one_of("type", &type_name, &TYPES));
        let kind = match read_kind {
            Some(read_kind) => read_kind(table, report, before),
            None => {
                table.ignore_unknown();
                None
            }
        };
        let valid = report.count() == before;
        if let Some(route_table) = route_table {
            route_table.finish(report);
        }
        let config = Self {
            name: name?.into_inner(),
            kind: kind?,
            route: route.unwrap_or_default(),
        };
        valid.then_some(config)
    }

    /// Reads one sink from TOML text that contains the keys of its table,
    /// such as `name = "archive"`, `type = "file"` and `path = "alerts.jsonl"`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem with its line and column.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config = read_text(STANDALONE_PATH, text, |mut table, report| {
            let config = Self::read(&mut table, report);
            table.finish(report);
            config
        })?;
        // `read` records a problem whenever it returns `None`, so
        // `read_text` has returned an error already; this is a fallback.
        config.ok_or_else(|| ConfigError {
            path: STANDALONE_PATH.to_owned(),
            issues: vec![ConfigIssue {
                line: None,
                column: None,
                message: "the sink table is not valid".to_owned(),
            }],
        })
    }
}

impl Route {
    fn read(table: &mut Table<'_>, report: &mut Report<'_>) -> Self {
        let watchlists = table.strings(report, "watchlists");
        if let Some(list) = watchlists.as_ref().filter(|list| list.get_ref().is_empty()) {
            report.at(
                list,
                "`watchlists = []` would route no alert; list watchlist names, or remove the key to \
                 route the alerts of every watchlist",
            );
        }
        let severities = Severity::ALL.map(|severity| (severity.as_str(), severity));
        let min_severity = table
            .string(report, "min_severity")
            .and_then(|text| report.one_of("min_severity", &text, &severities));
        Self {
            watchlists: strings_of(watchlists),
            min_severity,
        }
    }
}

fn read_file(table: &mut Table<'_>, report: &mut Report<'_>, _before: usize) -> Option<SinkKind> {
    table.require(
        report,
        "path",
        "a file sink needs `path`, for example path = \"/var/lib/iocwatch/alerts.jsonl\"",
    );
    let path = table.path(report, "path");
    let max_bytes = table
        .integer(report, "max_bytes")
        .and_then(|max| report.integer_range("max_bytes", &max, 1, u64::MAX));
    let keep = table
        .integer(report, "keep")
        .and_then(|keep| report.integer_range("keep", &keep, 0, u32::MAX));

    if let Some(path) = &path {
        report.result(path, file::check_path(path.get_ref()));
    }
    Some(SinkKind::File(FileConfig {
        path: path?.into_inner(),
        max_bytes: max_bytes.unwrap_or(DEFAULT_MAX_BYTES),
        keep: keep.unwrap_or(DEFAULT_KEEP),
    }))
}

fn read_webhook(table: &mut Table<'_>, report: &mut Report<'_>, before: usize) -> Option<SinkKind> {
    let url = table.required_string(
        report,
        "url",
        "a webhook sink needs `url`, for example url = \"https://hooks.example.net/iocwatch\"",
    );
    let format = read_choice(table, report, "format", &WEBHOOK_FORMATS);
    let secret = SECRET_KEYS.read(table, report);
    let headers = table.string_map(report, "headers");
    let ca_file = table.path(report, "ca_file");
    let timeout = read_timeout(table, report);

    if let Some(url) = &url {
        report.result(url, webhook::parse_url(url.get_ref()));
    }
    let headers = headers.map(Spanned::into_inner).unwrap_or_default();
    for (name, value) in &headers {
        report.result(name, webhook::header_name(name.get_ref()));
        report.result(value, webhook::header_value(name.get_ref(), value.get_ref()));
    }
    // Checked last, after every other problem of the table is recorded.
    secret.check(table, report, before);
    Some(SinkKind::Webhook(WebhookConfig {
        url: url?.into_inner(),
        format: format.unwrap_or_default(),
        secret: secret.inline.map(Spanned::into_inner),
        secret_file: secret.file.map(Spanned::into_inner),
        secret_env: secret.env.map(Spanned::into_inner),
        headers: headers
            .into_iter()
            .map(|(name, value)| (name.into_inner(), value.into_inner()))
            .collect(),
        ca_file: ca_file.map(Spanned::into_inner),
        timeout,
    }))
}

fn read_syslog(table: &mut Table<'_>, report: &mut Report<'_>, _before: usize) -> Option<SinkKind> {
    let address = table.required_string(
        report,
        "address",
        "a syslog sink needs `address`, for example address = \"127.0.0.1:6514\"",
    );
    let transport = read_choice(table, report, "transport", &SYSLOG_TRANSPORTS);
    let ca_file = table.path(report, "ca_file");
    let app_name = table.string(report, "app_name");
    let hostname = table.string(report, "hostname");
    let facility = table.string(report, "facility");
    let timeout = read_timeout(table, report);

    if let Some(address) = &address {
        let uses_tls = transport == Some(SyslogTransport::Tls);
        report.result(address, syslog::address_host(address.get_ref(), uses_tls));
    }
    if let (Some(ca_file), Some(transport)) = (&ca_file, transport) {
        report.result(ca_file, syslog::check_ca_file(ca_file.get_ref(), transport));
    }
    if let Some(app_name) = &app_name {
        let check = syslog::check_header_field("app_name", app_name.get_ref(), syslog::MAX_APP_NAME);
        report.result(app_name, check);
    }
    if let Some(hostname) = &hostname {
        let check = syslog::check_header_field("hostname", hostname.get_ref(), syslog::MAX_HOSTNAME);
        report.result(hostname, check);
    }
    if let Some(facility) = &facility {
        report.result(facility, syslog::facility(facility.get_ref()));
    }
    Some(SinkKind::Syslog(SyslogConfig {
        address: address?.into_inner(),
        transport: transport.unwrap_or_default(),
        ca_file: ca_file.map(Spanned::into_inner),
        app_name: app_name.map_or_else(|| "iocwatch".to_owned(), Spanned::into_inner),
        hostname: hostname.map(Spanned::into_inner),
        facility: facility.map_or_else(|| "local0".to_owned(), Spanned::into_inner),
        timeout,
    }))
}

fn read_email(table: &mut Table<'_>, report: &mut Report<'_>, before: usize) -> Option<SinkKind> {
    let server = table.required_string(
        report,
        "server",
        "an email sink needs `server`, for example server = \"smtp.example.net\"",
    );
    let port = table
        .integer(report, "port")
        .and_then(|port| report.integer_range("port", &port, 1, u16::MAX));
    let security = read_choice(table, report, "security", &EMAIL_SECURITIES);
    let ca_file = table.path(report, "ca_file");
    let username = table.string(report, "username");
    let password = PASSWORD_KEYS.read(table, report);
    let from = table.required_string(
        report,
        "from",
        "an email sink needs `from`, for example from = \"iocwatch <iocwatch@example.net>\"",
    );
    table.require(
        report,
        "to",
        "an email sink needs `to`, for example to = [\"soc@example.net\"]",
    );
    let to = table.strings(report, "to");
    let batch = table
        .integer(report, "batch")
        .and_then(|batch| report.integer_range("batch", &batch, 1, usize::MAX));
    let timeout = read_timeout(table, report);

    if let Some(server) = &server {
        report.result(server, email::check_server(server.get_ref()));
    }
    if let Some(from) = &from {
        report.result(from, email::mailbox("from", from.get_ref()));
    }
    if let Some(to) = &to {
        if !table.wrong_type().contains(&"to") {
            report.result(to, email::check_recipient_count(to.get_ref().len()));
        }
        for recipient in to.get_ref() {
            report.result(recipient, email::mailbox("to", recipient.get_ref()));
        }
    }
    let username_place = place_of(table, "username");
    let password_place = place_of(table, "password_file").or_else(|| place_of(table, "password_env"));
    let credentials = email::check_credentials(username_place.is_some(), password_place.is_some());
    if let (Err(problem), Some(place)) = (credentials, username_place.or(password_place)) {
        report.at_span(place, problem.to_string());
    }
    if let (Some(ca_file), Some(security)) = (&ca_file, security) {
        report.result(ca_file, email::check_ca_file(ca_file.get_ref(), security));
    }
    // Checked last, after every other problem of the table is recorded.
    password.check(table, report, before);
    Some(SinkKind::Email(EmailConfig {
        server: server?.into_inner(),
        port,
        security: security.unwrap_or_default(),
        ca_file: ca_file.map(Spanned::into_inner),
        username: username.map(Spanned::into_inner),
        password_file: password.file.map(Spanned::into_inner),
        password_env: password.env.map(Spanned::into_inner),
        from: from?.into_inner(),
        to: strings_of(Some(to?)),
        batch: batch.unwrap_or(1),
        timeout,
    }))
}

/// Reads the string of `key` as one of `choices`. Returns the default when
/// the key is absent, and `None` when its value is of the wrong type or
/// not one of `choices`, which is recorded.
fn read_choice<T: Copy + Default>(
    table: &mut Table<'_>,
    report: &mut Report<'_>,
    key: &'static str,
    choices: &[(&str, T)],
) -> Option<T> {
    match table.string(report, key) {
        Some(text) => report.one_of(key, &text, choices),
        None if table.wrong_type().contains(&key) => None,
        None => Some(T::default()),
    }
}

/// Reads `timeout`, a duration such as `10s` or `1m 30s`.
fn read_timeout(table: &mut Table<'_>, report: &mut Report<'_>) -> Duration {
    table
        .string(report, "timeout")
        .and_then(|text| report.result(&text, parse_duration(text.get_ref())))
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Records a problem at the second of `keys`, the keys of one secret,
/// that the table has, when it has more than one.
fn check_single_form(table: &Table<'_>, report: &mut Report<'_>, keys: &[&'static str]) {
    let given: Vec<(&'static str, Range<usize>)> = keys
        .iter()
        .filter_map(|key| Some((*key, place_of(table, key)?)))
        .collect();
    let present_keys: Vec<&'static str> = given.iter().map(|(key, _)| *key).collect();
    if let (Err(problem), Some((_, second))) = (secret::check_single_form(&present_keys), given.get(1)) {
        report.at_span(second.clone(), problem.to_string());
    }
}

/// The keys of one secret: inline, in a file, in an environment variable.
struct SecretKeys {
    inline: Option<&'static str>,
    file: &'static str,
    env: &'static str,
}

const SECRET_KEYS: SecretKeys = SecretKeys {
    inline: Some("secret"),
    file: "secret_file",
    env: "secret_env",
};

const PASSWORD_KEYS: SecretKeys = SecretKeys {
    inline: None,
    file: "password_file",
    env: "password_env",
};

/// The values that a table gives for the keys of one secret.
struct GivenSecret {
    keys: &'static SecretKeys,
    inline: Option<Spanned<String>>,
    file: Option<Spanned<PathBuf>>,
    env: Option<Spanned<String>>,
}

impl SecretKeys {
    fn read(&'static self, table: &mut Table<'_>, report: &mut Report<'_>) -> GivenSecret {
        GivenSecret {
            keys: self,
            inline: self.inline.and_then(|key| table.string(report, key)),
            file: table.path(report, self.file),
            env: table.string(report, self.env),
        }
    }
}

impl GivenSecret {
    /// Records a problem when the table gives more than one form. When
    /// it gives one, and the table has a problem recorded since `before`
    /// and so is not built, reads the secret and records a problem at its
    /// value when it cannot be read or is empty.
    fn check(&self, table: &Table<'_>, report: &mut Report<'_>, before: usize) {
        let keys = self.keys;
        let inline = self.inline.as_ref().zip(keys.inline);
        let forms = [
            inline.map(|(value, key)| (key, value.span(), SecretForm::Inline(value.get_ref()))),
            self.file
                .as_ref()
                .map(|path| (keys.file, path.span(), SecretForm::File(path.get_ref()))),
            self.env
                .as_ref()
                .map(|name| (keys.env, name.span(), SecretForm::Env(name.get_ref()))),
        ];
        let all_keys: Vec<&'static str> = keys.inline.into_iter().chain([keys.file, keys.env]).collect();
        check_single_form(table, report, &all_keys);
        let mut set_forms = forms.iter().flatten();
        if let (Some((key, place, form)), None) = (set_forms.next(), set_forms.next())
            && report.count() > before
            && let Err(problem) = secret::read(key, *form)
        {
            report.at_span(place.clone(), problem.to_string());
        }
    }
}

/// Returns the place of the value of `key` when the table has the key and
/// a reader took it.
fn place_of(table: &Table<'_>, key: &str) -> Option<Range<usize>> {
    table
        .places()
        .iter()
        .find(|(taken, _)| *taken == key)
        .map(|(_, span)| span.clone())
}

fn strings_of(values: Option<Spanned<Vec<Spanned<String>>>>) -> Vec<String> {
    values
        .map(Spanned::into_inner)
        .unwrap_or_default()
        .into_iter()
        .map(Spanned::into_inner)
        .collect()
}
