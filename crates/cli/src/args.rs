//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use iocwatch_store::{AlertStatus, Resolution, Role, Severity};
use ipnet::IpNet;

/// Watch network and security logs for indicators of compromise.
#[derive(Debug, Parser)]
#[command(name = "iocwatch", version, about, long_about = None)]
pub struct Cli {
    /// The directory that contains the database of watchlists, the
    /// allowlist, alerts, users and tokens. It is created when missing.
    /// Used by watchlist, allowlist, alerts, run, user and token, which also
    /// accept it after the command name. Default: the configuration's
    /// `data_dir` for `run`, ./iocwatch-data otherwise.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan log files for indicators from watchlists and print alerts.
    ///
    /// Exit status: 0 when alerts were found, 1 when none, 2 when an
    /// error kept a log or watchlist from being read, when no indicator
    /// was loaded, or when the output file is also an input.
    Scan(ScanArgs),
    /// Check values against the watchlists: "is this on any list?".
    ///
    /// Exit status: 0 when a value matched, 1 when none did, 2 on error,
    /// which includes a value that is not a valid indicator. Every value
    /// is looked up before that error is reported.
    Lookup(LookupArgs),
    /// Create, fill and inspect the stored watchlists.
    Watchlist(StoreArgs<WatchlistCommand>),
    /// Values and networks that never alert: addresses, networks, domains
    /// with their subdomains, URLs, hashes.
    Allowlist(StoreArgs<AllowlistCommand>),
    /// List, inspect and triage stored alerts.
    Alerts(StoreArgs<AlertsCommand>),
    /// Run the monitoring service: read the configured sources, raise
    /// alerts into the store and deliver them to the sinks, until SIGINT
    /// or SIGTERM.
    Run(RunArgs),
    /// Work with the configuration file of `iocwatch run`.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage the users of the web console and HTTP API.
    User(StoreArgs<UserCommand>),
    /// Manage API tokens, which act with their owner's role.
    Token(StoreArgs<TokenCommand>),
}

/// Arguments of a command group that opens the store, which are the data
/// directory and the subcommand.
///
/// `--data-dir` is global within the group, so it is accepted before and
/// after the subcommand name. Only the groups that open the store declare
/// it, so the help of `scan` and `lookup` does not list it.
#[derive(Debug, Args)]
pub struct StoreArgs<C: Subcommand> {
    /// The directory that contains the database of watchlists, the
    /// allowlist, alerts, users and tokens. It is created when missing.
    /// Default: ./iocwatch-data.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// The subcommand to run.
    #[command(subcommand)]
    pub command: C,
}

/// `iocwatch user` commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from a prompt, or from the
    /// first line of standard input with --password-stdin.
    Add {
        /// The login name: letters, digits, '-', '_', '.' or '@'.
        name: String,
        /// Role of the user: viewer (read), analyst (read and triage
        /// alerts) or admin (everything).
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List {
        /// Write one JSON object per user.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password; this ends the user's login sessions.
    Passwd {
        /// The login name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role.
    Role {
        /// The login name.
        name: String,
        /// The new role: viewer, analyst or admin.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Disable a user: logins, sessions and the user's API tokens stop
    /// working.
    Disable {
        /// The login name.
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The login name.
        name: String,
    },
}

/// `iocwatch token` commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print its secret, which is shown only once.
    Create {
        /// The user whose role the token acts with.
        #[arg(long)]
        user: String,
        /// A name for the token, such as the script that uses it.
        name: String,
    },
    /// List API tokens.
    List {
        /// Only the tokens of this user.
        #[arg(long)]
        user: Option<String>,
        /// Write one JSON object per token.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API token; requests with it are rejected from then on.
    Revoke {
        /// The token id that `iocwatch token list` shows.
        id: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// Arguments of `iocwatch run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file (TOML). Without one, the service keeps its
    /// data in ./iocwatch-data and listens for HTTP on 127.0.0.1:8080.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The HTTP address, in place of the configuration's `[http] listen`.
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub listen: Option<std::net::SocketAddr>,

    /// The format of the service's own log lines on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The directory that contains the database of watchlists, the
    /// allowlist, alerts, users and tokens. It is created when missing.
    /// Default: the configuration's `data_dir`, or ./iocwatch-data when it
    /// sets none.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Formats of the service's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file and list every problem with its line.
    ///
    /// Exit status: 0 when the file is valid, 2 when it is not.
    Check(ConfigCheckArgs),
}

/// Arguments of `iocwatch config check`.
#[derive(Debug, Args)]
pub struct ConfigCheckArgs {
    /// The configuration file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub ignored: IgnoredDataDir,
}

/// A `--data-dir` given after the name of a command that opens no data
/// directory. It is accepted with a warning, and left out of the help, so
/// that scripts which pass it to every command keep working.
#[derive(Debug, Args)]
pub struct IgnoredDataDir {
    #[arg(long = "data-dir", value_name = "DIR", hide = true)]
    data_dir: Option<PathBuf>,
}

impl IgnoredDataDir {
    /// Warns on stderr that `command` ignores the `--data-dir` it was given.
    pub fn warn(&self, command: &str) {
        if let Some(dir) = &self.data_dir {
            eprintln!(
                "warning: {command} opens no data directory, so --data-dir {} is ignored; \
                 the option applies to watchlist, allowlist, alerts, run, user and token",
                dir.display()
            );
        }
    }
}

/// Watchlist options shared by every command.
#[derive(Debug, Args)]
pub struct IntelArgs {
    /// A watchlist file, or a directory whose files, in subdirectories too,
    /// are each a watchlist. Written NAME=PATH, the watchlist is called
    /// NAME; otherwise it is named after the file. The format is
    /// recognised from the content: plain lists (hosts, adblock, dnsmasq
    /// and zone files among them), Suricata and Snort rules, CSV, Zeek
    /// intel or JSON lines. Gzip is read transparently.
    #[arg(long = "intel", value_name = "[NAME=]PATH", required = true)]
    pub intel: Vec<String>,

    /// The CSV column that contains the indicators, when its name is not one
    /// of the usual ones (indicator, ioc, value, ip, domain, url, md5,
    /// sha256, ...). It applies to every CSV watchlist of the command, so
    /// CSV files with different columns are scanned in separate runs or
    /// imported into stored watchlists first.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Load networks shorter than /8 (IPv4) or /32 (IPv6) and public
    /// suffixes such as `com`, which are otherwise rejected as too broad.
    #[arg(long)]
    pub allow_broad: bool,

    /// List every rejected and dropped line of each watchlist file, instead
    /// of the first 5 of each and a count of the rest.
    #[arg(long)]
    pub all_rejections: bool,

    /// A file of values that must never alert, in any watchlist format, or
    /// a directory of such files; repeat for more. An indicator inside an
    /// entry (an address in a listed network, a subdomain of a listed
    /// domain) is left out, and so is an observed value inside one.
    #[arg(long, value_name = "PATH")]
    pub allowlist: Vec<PathBuf>,
}

/// Arguments of `iocwatch scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Watchlists.
    #[command(flatten)]
    pub intel: IntelArgs,

    /// A network of the organisation's own addresses (a bare address is
    /// its own /32 or /128); repeat for more. Decides the alert direction
    /// and internal host. Default: RFC 1918, RFC 4193, loopback and
    /// link-local networks.
    #[arg(long = "home-net", value_name = "CIDR", value_parser = iocwatch_pipeline::homenet::parse_network)]
    pub home_net: Vec<IpNet>,

    /// Write one ECS alert document per line instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Write alerts to FILE instead of standard output. When a log path
    /// cannot be read, the scan stops before FILE is created or emptied.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Decode every log line in full, instead of first screening the
    /// values that can carry observables and skipping lines where none
    /// can match. The alerts are the same either way; this is slower and
    /// serves to check that.
    #[arg(long)]
    pub full_decode: bool,

    /// Print no watchlist report, no malformed-line messages and no
    /// end-of-scan summary; errors are still printed.
    #[arg(long, short = 'q', conflicts_with = "all_rejections")]
    pub quiet: bool,

    /// Log files or directories to scan; `-` reads standard input.
    /// Zeek TSV and JSON, Suricata EVE, ECS JSON lines, Sysmon events as
    /// JSON lines and syslog from firewalls and sensors (netfilter, pfSense
    /// filterlog, PAN-OS, CEF, key=value) are recognised from their
    /// content; gzip is read transparently.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,

    #[command(flatten)]
    pub ignored: IgnoredDataDir,
}

/// Arguments of `iocwatch lookup`.
#[derive(Debug, Args)]
pub struct LookupArgs {
    /// Watchlists.
    #[command(flatten)]
    pub intel: IntelArgs,

    /// Print one JSON object per value instead of text.
    #[arg(long)]
    pub json: bool,

    /// Print no watchlist report; errors are still printed.
    #[arg(long, short = 'q', conflicts_with = "all_rejections")]
    pub quiet: bool,

    /// Values to check: addresses, domains, URLs, hashes, e-mail
    /// addresses, fingerprints, defanged or not.
    #[arg(value_name = "VALUE", required = true)]
    pub values: Vec<String>,

    #[command(flatten)]
    pub ignored: IgnoredDataDir,
}

/// `iocwatch watchlist` commands.
#[derive(Debug, Subcommand)]
pub enum WatchlistCommand {
    /// Create an empty watchlist.
    Create {
        /// The name: letters, digits, '-', '_' and '.'.
        name: String,
        /// Its settings.
        #[command(flatten)]
        settings: SettingsArgs,
        /// Create it disabled, so that it raises no alerts until enabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Change the settings of a watchlist; options not given stay as they are.
    Update {
        /// The watchlist.
        name: String,
        /// The settings to change.
        #[command(flatten)]
        settings: SettingsArgs,
        /// Enable the watchlist.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable the watchlist: it keeps its indicators but raises no alerts.
        #[arg(long)]
        disable: bool,
    },
    /// Import indicators from watchlist files into a watchlist, creating it
    /// when missing. Values already listed are refreshed; values that the
    /// allowlist covers are skipped.
    Import {
        /// The watchlist.
        name: String,
        /// Plain lists, Suricata and Snort rules, CSV, Zeek intel and JSON
        /// lines files, gzip or not, or directories of them (as
        /// `scan --intel` reads them).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// The CSV column that contains the indicators, when its name is not
        /// one of the usual ones.
        #[arg(long, value_name = "NAME")]
        column: Option<String>,
        /// Load networks shorter than /8 (IPv4) or /32 (IPv6) and public
        /// suffixes, which are otherwise rejected as too broad.
        #[arg(long)]
        allow_broad: bool,
        /// List every rejected and dropped line of each file, instead of
        /// the first 5 of each and a count of the rest.
        #[arg(long)]
        all_rejections: bool,
        /// Lifetime of the imported indicators (such as 30d or 12h),
        /// instead of the indicator's own expiry or the watchlist's ttl.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        ttl: Option<Duration>,
    },
    /// Add values given on the command line; defanged values are accepted.
    Add {
        /// The watchlist.
        name: String,
        /// Addresses, networks, domains, URLs, hashes, e-mail addresses or
        /// JA4 fingerprints.
        #[arg(value_name = "VALUE", required = true)]
        values: Vec<String>,
        /// A description of the values (`meta.description`).
        #[arg(long)]
        description: Option<String>,
        /// Confidence from 0 to 100.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        confidence: Option<u8>,
        /// Lifetime of these values (such as 7d), instead of the
        /// watchlist's ttl.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        ttl: Option<Duration>,
        /// Accept networks shorter than /8 or /32 and public suffixes.
        #[arg(long)]
        allow_broad: bool,
    },
    /// Remove values from a watchlist.
    Remove {
        /// The watchlist.
        name: String,
        /// The values, written as they were added or in normalised form.
        #[arg(value_name = "VALUE", required = true)]
        values: Vec<String>,
    },
    /// List the watchlists with their settings and indicator counts.
    List {
        /// Write one JSON object per watchlist.
        #[arg(long)]
        json: bool,
    },
    /// Show a watchlist's settings and indicators.
    Show {
        /// The watchlist.
        name: String,
        /// Indicators to show.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Indicators to skip.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Write a watchlist's unexpired indicators to standard output or a file,
    /// in a form that `watchlist import` reads back. `csv` and `json` keep
    /// the types, metadata and expiry. `plain` keeps the values only.
    Export {
        /// The watchlist.
        name: String,
        /// The output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Include expired indicators.
        #[arg(long)]
        include_expired: bool,
        /// Write to FILE instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Delete a watchlist and its indicators; its alerts stay.
    Delete {
        /// The watchlist.
        name: String,
    },
}

/// Watchlist settings given on the command line.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Severity of its alerts: low, medium, high, critical, or auto to
    /// derive it from indicator confidence.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub severity: Option<SeverityChoice>,
    /// The domain matching mode: subdomains (a domain and all names under
    /// it) or exact.
    #[arg(long, value_enum, value_name = "MODE")]
    pub domain_match: Option<DomainMatchArg>,
    /// Default lifetime of an indicator after its last import (such as 30d),
    /// or never.
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub ttl: Option<Ttl>,
    /// Sightings of one indicator on one host within this time update one
    /// alert (such as 1h or 15m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub dedup_window: Option<Duration>,
    /// A description of the watchlist.
    #[arg(long)]
    pub description: Option<String>,
}

/// Domain matching mode.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DomainMatchArg {
    /// A domain matches itself and every subdomain.
    Subdomains,
    /// A domain matches only itself.
    Exact,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One value per line.
    Plain,
    /// CSV with type, metadata and expiry columns.
    Csv,
    /// One JSON object per line, with type, metadata and expiry.
    Json,
}

/// `iocwatch allowlist` commands.
#[derive(Debug, Subcommand)]
pub enum AllowlistCommand {
    /// Allow values: they are skipped on import and never alert.
    Add {
        /// Addresses, networks, domains (with their subdomains), URLs,
        /// hashes, e-mail addresses; defanged values are accepted.
        #[arg(value_name = "VALUE", required = true)]
        values: Vec<String>,
        /// The reason the values are allowed.
        #[arg(long)]
        comment: Option<String>,
        /// Accept networks shorter than /8 (IPv4) or /32 (IPv6) and public
        /// suffixes, which would silence a large part of all traffic.
        #[arg(long)]
        allow_broad: bool,
    },
    /// Remove values from the allowlist.
    Remove {
        /// The values.
        #[arg(value_name = "VALUE", required = true)]
        values: Vec<String>,
    },
    /// List the allowlist.
    List {
        /// Write one JSON object per entry.
        #[arg(long)]
        json: bool,
    },
}

/// `iocwatch alerts` commands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, last seen first.
    List(AlertListArgs),
    /// Show an alert with its history and document.
    Show {
        /// The alert id, or its first characters (at least 4).
        id: String,
        /// Write the alert as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge alerts.
    Ack {
        /// Alert ids or their first characters.
        #[arg(value_name = "ID", required = true)]
        ids: Vec<String>,
        /// A comment for the history.
        #[arg(long)]
        comment: Option<String>,
        /// The user name for the history (default: the USER or LOGNAME environment variable).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Mark alerts as under investigation.
    Investigate {
        /// Alert ids or their first characters.
        #[arg(value_name = "ID", required = true)]
        ids: Vec<String>,
        /// A comment for the history.
        #[arg(long)]
        comment: Option<String>,
        /// The user name for the history (default: the USER or LOGNAME environment variable).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Reopen closed alerts: their status goes back to new.
    Reopen {
        /// Alert ids or their first characters.
        #[arg(value_name = "ID", required = true)]
        ids: Vec<String>,
        /// A comment for the history.
        #[arg(long)]
        comment: Option<String>,
        /// The user name for the history (default: the USER or LOGNAME environment variable).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Close an alert with a resolution and a comment.
    Close {
        /// The alert id or its first characters.
        id: String,
        /// true-positive, false-positive or benign.
        #[arg(long, value_parser = parse_resolution)]
        resolution: Resolution,
        /// The findings, for the history.
        #[arg(long)]
        comment: String,
        /// The user name for the history (default: the USER or LOGNAME environment variable).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

/// Filters of `iocwatch alerts list`.
#[derive(Debug, Args)]
pub struct AlertListArgs {
    /// Only alerts in this state: new, acknowledged, investigating, closed.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<AlertStatus>,
    /// Only alerts of at least this severity.
    #[arg(long, value_parser = parse_min_severity)]
    pub severity: Option<Severity>,
    /// Only alerts of this watchlist.
    #[arg(long)]
    pub watchlist: Option<String>,
    /// Only alerts involving this internal host.
    #[arg(long, value_name = "ADDRESS")]
    pub host: Option<String>,
    /// Only alerts whose indicator covers this value, defanged or not: the
    /// value itself, a network that contains it, a parent domain of it, or
    /// the address with any port. A URL is also covered under http or https
    /// and by the indicators that cover its host.
    #[arg(long, value_name = "VALUE")]
    pub indicator: Option<String>,
    /// Only alerts that iocwatch raised, or sighted again, at or after this
    /// time, whatever the time of the log events: RFC 3339
    /// (2024-05-01T10:00:00Z), epoch seconds, or a duration before now
    /// (24h).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only alerts that iocwatch raised before this time, in the same forms.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only alerts whose latest event, by the time in the log, is at or
    /// after this time, in the same forms.
    #[arg(long, value_name = "TIME")]
    pub event_since: Option<String>,
    /// Only alerts whose earliest event, by the time in the log, is before
    /// this time, in the same forms.
    #[arg(long, value_name = "TIME")]
    pub event_until: Option<String>,
    /// Alerts to show.
    #[arg(long, default_value_t = 50)]
    pub limit: u64,
    /// Alerts to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Write one JSON object per alert.
    #[arg(long)]
    pub json: bool,
}

pub use iocwatch_pipeline::config::parse_duration;

/// A watchlist severity, `None` for `auto`.
#[derive(Debug, Clone, Copy)]
pub struct SeverityChoice(pub Option<Severity>);

/// A watchlist ttl, `None` for `never`.
#[derive(Debug, Clone, Copy)]
pub struct Ttl(pub Option<Duration>);

fn parse_ttl(text: &str) -> Result<Ttl, String> {
    if matches!(text.trim(), "never" | "none") {
        return Ok(Ttl(None));
    }
    parse_duration(text).map(|duration| Ttl(Some(duration)))
}

fn parse_severity(text: &str) -> Result<SeverityChoice, String> {
    if text.trim().eq_ignore_ascii_case("auto") {
        return Ok(SeverityChoice(None));
    }
    text.parse::<Severity>()
        .map(|severity| SeverityChoice(Some(severity)))
        .map_err(|error| format!("{error}, or auto"))
}

fn parse_min_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|error: iocwatch_model::UnknownSeverity| error.to_string())
}

fn parse_status(text: &str) -> Result<AlertStatus, String> {
    text.parse()
}

fn parse_resolution(text: &str) -> Result<Resolution, String> {
    text.parse()
}
