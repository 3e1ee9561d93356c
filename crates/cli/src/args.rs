//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;

/// Watch network and security logs for indicators of compromise.
#[derive(Debug, Parser)]
#[command(name = "iocwatch", version, about, long_about = None)]
pub struct Cli {
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
    /// error kept a log or watchlist from being read.
    Scan(ScanArgs),
    /// Check values against the watchlists: "is this on any list?".
    ///
    /// Exit status: 0 when a value matched, 1 when none did, 2 on error.
    Lookup(LookupArgs),
}

/// Watchlist options shared by every command.
#[derive(Debug, Args)]
pub struct IntelArgs {
    /// A watchlist file, or a directory whose files are each a watchlist.
    /// Written NAME=PATH, the watchlist is called NAME; otherwise it is
    /// named after the file. Plain lists, CSV and Zeek intel files are
    /// recognised from their content; gzip is read transparently.
    #[arg(long = "intel", value_name = "[NAME=]PATH", required = true)]
    pub intel: Vec<String>,

    /// The CSV column that contains the indicators, when its name is not one
    /// of the usual ones (indicator, ioc, value, ip, domain, url, md5,
    /// sha256, ...).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Load networks shorter than /8 (IPv4) or /32 (IPv6) and public
    /// suffixes such as `com`, which are otherwise rejected as too broad.
    #[arg(long)]
    pub allow_broad: bool,
}

/// Arguments of `iocwatch scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Watchlists.
    #[command(flatten)]
    pub intel: IntelArgs,

    /// A network of the organisation's own addresses; repeat for more.
    /// Decides the alert direction and internal host. Default: RFC 1918,
    /// RFC 4193, loopback and link-local networks.
    #[arg(long = "home-net", value_name = "CIDR")]
    pub home_net: Vec<IpNet>,

    /// Write one ECS alert document per line instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Write alerts to FILE instead of standard output.
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
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Log files or directories to scan; `-` reads standard input.
    /// Zeek TSV and JSON, Suricata EVE and ECS JSON lines are recognised
    /// from their content; gzip is read transparently.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
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

    /// Values to check: addresses, domains, URLs, hashes, e-mail
    /// addresses, fingerprints, defanged or not.
    #[arg(value_name = "VALUE", required = true)]
    pub values: Vec<String>,
}
