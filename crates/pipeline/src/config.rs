//! The configuration of `iocwatch run`, read from a TOML file.
//!
//! Every key has a default, so an empty file (or no file) gives a working
//! service: data in `./iocwatch-data`, the HTTP listener on
//! `127.0.0.1:8080`, no source but the HTTP ingest endpoint, no sink but
//! the store. `examples/iocwatch.toml` documents every key.
//!
//! [`Config::parse`] reports every problem it finds with the line and
//! column of the value at fault, so that `iocwatch config check` can list
//! them all at once: unknown keys, values of the wrong TOML type and
//! invalid values. A TOML syntax error stops the check and is the only
//! problem reported.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use iocwatch_config::{ConfigError, ConfigIssue};
use iocwatch_config::{Report, Spanned, read_text};
use iocwatch_sinks::SinkConfig;
use ipnet::IpNet;

/// Default of a syslog source's `max_message_bytes`.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Default data folder, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./iocwatch-data";

/// Default address of the HTTP listener.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";

/// Default deduplication window of alerts.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(3600);

/// Default maximum size of one HTTP ingest request body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder of the SQLite store, the delivery queue and the checkpoints.
    pub data_dir: PathBuf,
    /// The organisation's own networks; `None` means the default private
    /// ranges.
    pub home_net: Option<Vec<IpNet>>,
    /// The HTTP listener.
    pub http: HttpConfig,
    /// Alert settings that watchlists do not override.
    pub alerts: AlertsConfig,
    /// Event sources.
    pub sources: Vec<SourceConfig>,
    /// Alert sinks, kept as TOML tables for the sink layer to read.
    pub sinks: Vec<SinkTable>,
}

/// Settings of the HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes: ingest batches and
    /// watchlist uploads.
    pub max_body_bytes: usize,
    /// PEM file with the TLS certificate chain; with `tls_key`, the
    /// listener serves HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the TLS private key.
    pub tls_key: Option<PathBuf>,
}

/// Alert settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// Window within which repeated sightings of one indicator on one
    /// internal host update one alert, unless the watchlist sets its own.
    pub dedup_window: Duration,
}

/// Name of a log decoder: `auto` or a format name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderName(pub String);

impl DecoderName {
    /// Returns the name of the decoder that detects the format of each file or stream.
    pub fn auto() -> Self {
        Self("auto".to_owned())
    }
}

/// One event source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// Unique name, used in metrics, checkpoints and alerts.
    pub name: String,
    /// Decoder name: `auto` or a format name.
    pub decoder: DecoderName,
    /// Kind of source and its settings.
    pub kind: SourceKind,
}

/// Starting point of a file source in a file without a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Read the whole file.
    Beginning,
    /// Read only lines written from now on.
    End,
}

/// The kinds of sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// Files and glob patterns, tailed.
    File {
        /// Paths and glob patterns.
        paths: Vec<String>,
        /// Starting point in files without a checkpoint.
        start_at: StartAt,
        /// How often to look for new files and missed changes.
        poll_interval: Duration,
    },
    /// A syslog listener.
    Syslog {
        /// UDP address to listen on.
        udp: Option<SocketAddr>,
        /// TCP address to listen on.
        tcp: Option<SocketAddr>,
        /// Largest accepted message, in bytes.
        max_message_bytes: usize,
    },
    /// JSON lines posted to `/api/v1/ingest/NAME`.
    Http,
    /// The standard input of the process.
    Stdin,
}

/// One `[[sink]]` table: the sink's configuration, and the line where the
/// table starts for error messages.
#[derive(Debug, Clone)]
pub struct SinkTable {
    /// The sink's configuration, checked by the sink layer's reader.
    pub config: SinkConfig,
    /// Line of the table's `[[sink]]` header in the file, 1-based.
    pub line: usize,
}

/// Checks of the values the configuration layer cannot judge alone: a
/// decoder name, a sink as the service builds it, and the TLS files of the
/// listener. Each returns what is wrong.
pub struct Checks<'a> {
    /// Decides whether a decoder name exists.
    pub decoder: &'a dyn Fn(&str) -> Result<(), String>,
    /// Builds a sink whose table has no problem, as the service does at
    /// startup: this reads the secret, password and CA files it names.
    pub sink: &'a dyn Fn(&SinkConfig) -> Result<(), iocwatch_sinks::ConfigError>,
    /// Decides whether `tls_cert` and `tls_key` name a certificate chain
    /// and its private key that the listener can load.
    pub tls: &'a dyn Fn(&Path, &Path) -> Result<(), String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            home_net: None,
            http: HttpConfig {
                listen: default_listen(),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                tls_cert: None,
                tls_key: None,
            },
            alerts: AlertsConfig {
                dedup_window: DEFAULT_DEDUP_WINDOW,
            },
            sources: Vec::new(),
            sinks: Vec::new(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl Config {
    /// Parses and checks the configuration text of the file `path`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem with its line and column.
    pub fn parse(path: &str, text: &str, checks: &Checks<'_>) -> Result<Self, ConfigError> {
        read_text(path, text, |top, report| {
            let mut checker = Checker { report };
            let raw = checker.read_config(top);
            checker.check(raw, checks)
        })
    }
}

/// The value checks of the configuration, each recording its problems in
/// the report.
struct Checker<'r, 't> {
    report: &'r mut Report<'t>,
}

impl Checker<'_, '_> {
    fn at<T>(&mut self, spanned: &Spanned<T>, message: String) {
        self.report.at(spanned, message);
    }

    fn at_span(&mut self, span: Range<usize>, message: String) {
        self.report.at_span(span, message);
    }

    /// Parses a duration value, or records why it is not one.
    fn duration(&mut self, text: &Spanned<String>) -> Option<Duration> {
        self.report.result(text, parse_duration(text.get_ref()))
    }

    /// Parses the socket address of `key`, or records why it is not one.
    /// The message shows `example` as the expected form.
    fn socket_address(&mut self, key: &str, text: &Spanned<String>, example: &str) -> Option<SocketAddr> {
        let value = text.get_ref();
        if let Ok(address) = value.parse::<SocketAddr>() {
            return Some(address);
        }
        let port_problem = value
            .rsplit_once(':')
            .filter(|(host, _)| host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok())
            .map(|(_, port)| port);
        let message = match port_problem {
            Some(port) => format!(
                "{key} = {value:?} has the invalid port {port:?}; give a port from 0 to 65535, such as {example}"
            ),
            None => format!(
                "{key} = {value:?} is not an IP address and port; give one such as {example} \
                 (host names such as localhost are not accepted)"
            ),
        };
        self.at(text, message);
        None
    }

    /// Converts the byte limit of `key` to `usize`, or records why it is
    /// not a valid limit.
    fn byte_limit(&mut self, key: &str, limit: &Spanned<i64>) -> Option<usize> {
        self.report.integer_range(key, limit, 1, usize::MAX)
    }

    /// Parses the `start_at` of a file source, or records why it is not
    /// valid.
    fn start_at(&mut self, text: &Spanned<String>) -> Option<StartAt> {
        let choices = [("beginning", StartAt::Beginning), ("end", StartAt::End)];
        self.report.one_of("start_at", text, &choices)
    }

    /// Parses a network in CIDR notation (a bare address is its own /32
    /// or /128), or records why it is not one.
    fn network(&mut self, text: &Spanned<String>) -> Option<IpNet> {
        match crate::homenet::parse_network(text.get_ref()) {
            Ok(net) => Some(net),
            Err(message) => {
                self.at(text, message);
                None
            }
        }
    }

    fn check(&mut self, raw: RawConfig, checks: &Checks<'_>) -> Config {
        let mut config = Config::default();
        if let Some(dir) = raw.data_dir {
            if dir.get_ref().as_os_str().is_empty() {
                self.at(&dir, "data_dir is empty; give a folder path".to_owned());
            }
            config.data_dir = dir.into_inner();
        }
        if let Some(home_net) = raw.home_net {
            let nets = home_net
                .get_ref()
                .iter()
                .filter_map(|net| self.network(net))
                .collect();
            config.home_net = Some(nets);
        }
        if let Some(http) = raw.http {
            if let Some(listen) = http.listen
                && let Some(listen) = self.socket_address("listen", &listen, "127.0.0.1:8080")
            {
                config.http.listen = listen;
            }
            if let Some(max) = http.max_body_bytes
                && let Some(max) = self.byte_limit("max_body_bytes", &max)
            {
                config.http.max_body_bytes = max;
            }
            match (http.tls_cert, http.tls_key) {
                (Some(cert), Some(key)) => {
                    if let Err(message) = (checks.tls)(cert.get_ref(), key.get_ref()) {
                        self.at(&cert, format!("tls_cert and tls_key: {message}"));
                    }
                    config.http.tls_cert = Some(cert.into_inner());
                    config.http.tls_key = Some(key.into_inner());
                }
                (Some(cert), None) => {
                    self.at(
                        &cert,
                        "tls_cert needs tls_key, the PEM file with the private key".to_owned(),
                    );
                }
                (None, Some(key)) => {
                    self.at(
                        &key,
                        "tls_key needs tls_cert, the PEM file with the certificate chain".to_owned(),
                    );
                }
                (None, None) => {}
            }
        }
        if let Some(alerts) = raw.alerts
            && let Some(window) = alerts.dedup_window
            && let Some(window) = self.duration(&window)
        {
            config.alerts.dedup_window = window;
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        for source in raw.sources {
            if let Some(source) = self.check_source(source, checks.decoder, &mut names) {
                config.sources.push(source);
            }
        }
        for sink in raw.sinks {
            if let Some(sink) = self.check_sink(sink, checks.sink, &mut names) {
                config.sinks.push(sink);
            }
        }
        config
    }

    fn check_name(&mut self, name: &Spanned<String>, what: &str, names: &mut HashMap<String, usize>) -> bool {
        let line = self.report.line(name.span().start);
        let value = name.get_ref();
        if value.is_empty()
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            self.at(
                name,
                format!("{what} name {value:?} is not valid; use letters, digits, '-', '_' and '.' only"),
            );
            return false;
        }
        if let Some(first) = names.insert(value.clone(), line) {
            self.at(
                name,
                format!("name {value:?} is used twice (first on line {first}); give each source and sink its own name"),
            );
            return false;
        }
        true
    }

    fn check_source(
        &mut self,
        raw: RawSource,
        decoder: &dyn Fn(&str) -> Result<(), String>,
        names: &mut HashMap<String, usize>,
    ) -> Option<SourceConfig> {
        let named = match &raw.name {
            Some(name) => self.check_name(name, "source", names),
            None => false,
        };
        let decoder_name = match &raw.decoder {
            Some(name) => {
                if let Err(message) = decoder(name.get_ref()) {
                    self.at(name, message);
                }
                DecoderName(name.get_ref().clone())
            }
            None => DecoderName::auto(),
        };
        let Some(kind) = raw.kind.as_ref() else {
            self.check_untyped_source_values(&raw);
            return None;
        };
        let kind_name = kind.get_ref().as_str();
        let allowed: &[&str] = match kind_name {
            "file" => &["paths", "start_at", "poll_interval"],
            "syslog" => &["udp", "tcp", "max_message_bytes"],
            "http" | "stdin" => &[],
            other => {
                self.at(
                    kind,
                    format!("source type {other:?} is not known; use file, syslog, http or stdin"),
                );
                self.check_untyped_source_values(&raw);
                return None;
            }
        };
        for (key, span) in raw.type_keys() {
            if !allowed.contains(&key) {
                self.at_span(
                    span,
                    format!("key `{key}` does not apply to a {kind_name} source; remove it"),
                );
            }
        }
        let source_kind = match kind_name {
            "file" => {
                let paths_wrong_type = raw.wrong_type.contains(&"paths");
                match &raw.paths {
                    None if !paths_wrong_type => self.at(
                        kind,
                        "a file source needs `paths`, for example paths = [\"/var/log/zeek/*.log\"]"
                            .to_owned(),
                    ),
                    Some(paths) if paths.get_ref().is_empty() && !paths_wrong_type => self.at(
                        paths,
                        "a file source needs at least one path or glob pattern in `paths`".to_owned(),
                    ),
                    _ => {}
                }
                self.check_path_patterns(&raw);
                let start_at = raw
                    .start_at
                    .as_ref()
                    .and_then(|start_at| self.start_at(start_at))
                    .unwrap_or(StartAt::Beginning);
                let poll_interval = raw
                    .poll_interval
                    .as_ref()
                    .and_then(|interval| self.duration(interval))
                    .unwrap_or(Duration::from_secs(1));
                SourceKind::File {
                    paths: raw
                        .paths?
                        .into_inner()
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect(),
                    start_at,
                    poll_interval,
                }
            }
            "syslog" => {
                let address_wrong_type = raw.wrong_type.iter().any(|key| matches!(*key, "udp" | "tcp"));
                if raw.udp.is_none() && raw.tcp.is_none() && !address_wrong_type {
                    self.at(
                        kind,
                        "a syslog source needs `udp`, `tcp` or both, for example udp = \"127.0.0.1:5514\""
                            .to_owned(),
                    );
                }
                SourceKind::Syslog {
                    udp: raw
                        .udp
                        .as_ref()
                        .and_then(|udp| self.socket_address("udp", udp, "127.0.0.1:5514")),
                    tcp: raw
                        .tcp
                        .as_ref()
                        .and_then(|tcp| self.socket_address("tcp", tcp, "127.0.0.1:5514")),
                    max_message_bytes: raw
                        .max_message_bytes
                        .as_ref()
                        .and_then(|max| self.byte_limit("max_message_bytes", max))
                        .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES),
                }
            }
            "http" => SourceKind::Http,
            _ => SourceKind::Stdin,
        };
        let name = raw.name.filter(|_| named)?;
        Some(SourceConfig {
            name: name.into_inner(),
            decoder: decoder_name,
            kind: source_kind,
        })
    }

    fn check_path_patterns(&mut self, raw: &RawSource) {
        for path in raw.paths.iter().flat_map(Spanned::get_ref) {
            if let Err(err) = glob_check(path.get_ref()) {
                let message = format!("path pattern {:?} is not valid: {err}", path.get_ref());
                self.at(path, message);
            }
        }
    }

    /// Checks the values of a source whose `type` is missing or unknown,
    /// each as the type that takes its key would, so that one run lists
    /// them with the problem of the type.
    fn check_untyped_source_values(&mut self, raw: &RawSource) {
        self.check_path_patterns(raw);
        if let Some(start_at) = &raw.start_at {
            self.start_at(start_at);
        }
        if let Some(interval) = &raw.poll_interval {
            self.duration(interval);
        }
        if let Some(udp) = &raw.udp {
            self.socket_address("udp", udp, "127.0.0.1:5514");
        }
        if let Some(tcp) = &raw.tcp {
            self.socket_address("tcp", tcp, "127.0.0.1:5514");
        }
        if let Some(max) = &raw.max_message_bytes {
            self.byte_limit("max_message_bytes", max);
        }
    }

    /// Checks the name of a sink that the sink layer has read, and builds
    /// the sink when its table has no problem. Each problem of the build is
    /// recorded at the value of its key, or at the table's header when the
    /// table does not have the key.
    fn check_sink(
        &mut self,
        raw: RawSink,
        build: &dyn Fn(&SinkConfig) -> Result<(), iocwatch_sinks::ConfigError>,
        names: &mut HashMap<String, usize>,
    ) -> Option<SinkTable> {
        let named = match &raw.name {
            Some(name) => self.check_name(name, "sink", names),
            None => false,
        };
        let config = raw.config.filter(|_| named)?;
        if let Err(error) = build(&config) {
            for problem in error.kinds() {
                let place = problem
                    .key()
                    .and_then(|key| raw.places.iter().find(|(taken, _)| *taken == key))
                    .map_or(raw.span.clone(), |(_, span)| span.clone());
                self.at_span(place, problem.to_string());
            }
        }
        Some(SinkTable {
            config,
            line: self.report.line(raw.span.start),
        })
    }
}

/// Checks the glob syntax of a path pattern: brackets must close.
fn glob_check(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut depth = 0_i32;
    for c in pattern.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ => {}
        }
    }
    if depth > 0 {
        return Err("a '[' is not closed by ']'".to_owned());
    }
    Ok(())
}

/// The document as read by [`Checker::read_config`]: every key of the
/// right TOML type, before the value checks.
#[derive(Debug)]
struct RawConfig {
    data_dir: Option<Spanned<PathBuf>>,
    home_net: Option<Spanned<Vec<Spanned<String>>>>,
    http: Option<RawHttp>,
    alerts: Option<RawAlerts>,
    sources: Vec<RawSource>,
    sinks: Vec<RawSink>,
}

/// A `[[sink]]` table as the sink layer read it.
#[derive(Debug)]
struct RawSink {
    /// The `name`, when it is a string, read even when the table has other
    /// problems.
    name: Option<Spanned<String>>,
    /// The configuration, when the table has no problem other than unknown
    /// keys.
    config: Option<SinkConfig>,
    /// Place of the table's header.
    span: Range<usize>,
    /// The keys the table has, with the place of each value.
    places: Vec<(&'static str, Range<usize>)>,
}

#[derive(Debug)]
struct RawHttp {
    listen: Option<Spanned<String>>,
    max_body_bytes: Option<Spanned<i64>>,
    tls_cert: Option<Spanned<PathBuf>>,
    tls_key: Option<Spanned<PathBuf>>,
}

#[derive(Debug)]
struct RawAlerts {
    dedup_window: Option<Spanned<String>>,
}

/// A `[[source]]` table, flat rather than split by `type`, so that the
/// keys of another type can be reported.
#[derive(Debug)]
struct RawSource {
    /// The `name`, when it is given as a string.
    name: Option<Spanned<String>>,
    /// The `type`, when it is given as a string.
    kind: Option<Spanned<String>>,
    decoder: Option<Spanned<String>>,
    paths: Option<Spanned<Vec<Spanned<String>>>>,
    start_at: Option<Spanned<String>>,
    poll_interval: Option<Spanned<String>>,
    udp: Option<Spanned<String>>,
    tcp: Option<Spanned<String>>,
    max_message_bytes: Option<Spanned<i64>>,
    /// Keys given with a value of the wrong TOML type, or with an array
    /// entry of the wrong type. The reader has reported them already, so
    /// the value checks do not report them as missing or empty.
    wrong_type: Vec<&'static str>,
}

impl RawSource {
    /// Returns the keys given that belong to one type of source, with their
    /// place.
    fn type_keys(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut keys = Vec::new();
        let mut push = |key, span: Option<Range<usize>>| {
            if let Some(span) = span {
                keys.push((key, span));
            }
        };
        push("paths", self.paths.as_ref().map(Spanned::span));
        push("start_at", self.start_at.as_ref().map(Spanned::span));
        push("poll_interval", self.poll_interval.as_ref().map(Spanned::span));
        push("udp", self.udp.as_ref().map(Spanned::span));
        push("tcp", self.tcp.as_ref().map(Spanned::span));
        push(
            "max_message_bytes",
            self.max_message_bytes.as_ref().map(Spanned::span),
        );
        keys
    }
}

pub use iocwatch_model::time::parse_duration;

mod read;
#[cfg(test)]
mod tests;
