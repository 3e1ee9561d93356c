//! Errors of watchlist loading: [`IntelError`] stops the load of one file,
//! [`LineError`] rejects one line and loading goes on.

use std::io;

use iocwatch_model::IndicatorError;
use thiserror::Error;

/// A failure that stops loading one watchlist: the file as a whole cannot
/// be used. Problems with single lines are [`LineError`]s in the report.
#[derive(Debug, Error)]
#[error("{source_name}: {kind}")]
pub struct IntelError {
    source_name: String,
    kind: IntelErrorKind,
}

impl IntelError {
    pub(crate) fn new(source_name: &str, kind: IntelErrorKind) -> Self {
        Self {
            source_name: source_name.to_owned(),
            kind,
        }
    }

    /// Returns the path or name of the watchlist that failed to load.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Returns the reason the load failed.
    pub fn kind(&self) -> &IntelErrorKind {
        &self.kind
    }
}

/// The reason a watchlist failed to load.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IntelErrorKind {
    /// The file cannot be opened.
    #[error("failed to open: {0}")]
    Open(io::Error),
    /// Reading or decompressing failed part-way through the file.
    #[error("failed to read line {line}: {error}")]
    Read {
        /// The 1-based number of the line being read.
        line: u64,
        /// The I/O or decompression error.
        error: io::Error,
    },
    /// Reading or decompressing a gzip-compressed file failed part-way
    /// through, as it does when the file is truncated or corrupt.
    #[error(
        "failed to read line {line}: {error}; the gzip file looks truncated or corrupt \
         (check it with gzip -t)"
    )]
    GzipRead {
        /// The 1-based number of the line being read.
        line: u64,
        /// The I/O or decompression error.
        error: io::Error,
    },
    /// The content is not UTF-8 text: UTF-16, binary data, or an archive
    /// format other than gzip.
    #[error("not a UTF-8 text file: {0}")]
    NotText(String),
    /// The content is longer than [`MAX_INPUT_BYTES`](crate::MAX_INPUT_BYTES)
    /// after decompression.
    #[error("longer than the limit of {max} bytes after decompression; split the watchlist")]
    TooLarge {
        /// The limit in bytes.
        max: u64,
    },
    /// The column named with `--column` is not in the CSV header.
    #[error("column {requested:?} not found; the header has {}", list_columns(available))]
    ColumnNotFound {
        /// The requested column name.
        requested: String,
        /// The column names of the header, as written.
        available: Vec<String>,
    },
    /// No CSV column has a name that iocwatch recognises as an indicator
    /// column.
    #[error(
        "no column holds indicators (the header has {}); name the indicator column with --column",
        list_columns(available)
    )]
    NoIndicatorColumn {
        /// The column names of the header, as written.
        available: Vec<String>,
    },
    /// The file is a Zeek log, whose header has a `#fields` line without
    /// an `indicator` column, rather than a Zeek intel file.
    #[error(
        "a Zeek {0} log, not a watchlist: its #fields line has no indicator column; \
         scan it as a log, for example iocwatch scan --intel WATCHLIST LOG"
    )]
    ZeekLog(String),
    /// A Zeek intel file has data before any `#fields` line with an
    /// `indicator` column.
    #[error("line {line} holds data, but no #fields line with an indicator column precedes it")]
    MissingZeekFields {
        /// The 1-based number of the first data line.
        line: u64,
    },
}

fn list_columns(columns: &[String]) -> String {
    if columns.is_empty() {
        return "no columns".to_owned();
    }
    let quoted: Vec<String> = columns.iter().map(|name| format!("{name:?}")).collect();
    quoted.join(", ")
}

/// The reason one line, or one value of a line, was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LineError {
    /// The value is malformed, too broad or unroutable.
    #[error(transparent)]
    Indicator(#[from] IndicatorError),
    /// A Zeek intel line declares a type that iocwatch does not match on.
    #[error(
        "Zeek intel type {0} is not supported; supported types are Intel::ADDR, Intel::SUBNET, \
         Intel::DOMAIN, Intel::URL, Intel::FILE_HASH, Intel::CERT_HASH, Intel::EMAIL and Intel::JA3"
    )]
    UnsupportedZeekType(String),
    /// A Zeek intel line has a different number of fields than `#fields`.
    #[error("{found} fields where the #fields line has {expected}")]
    FieldCount {
        /// The number of columns in `#fields`.
        expected: usize,
        /// The number of fields on the line.
        found: usize,
    },
    /// A CSV row is too short to reach the indicator column.
    #[error("{found} fields, so the indicator column {column:?} (field {position}) is missing")]
    MissingField {
        /// The indicator column's name.
        column: String,
        /// The indicator column's 1-based position.
        position: usize,
        /// The number of fields in the row.
        found: usize,
    },
    /// A CSV row that the CSV parser cannot read.
    #[error("malformed CSV row: {0}")]
    Csv(String),
    /// A line of a JSON lines watchlist that is not a JSON object or has
    /// no indicator key.
    #[error("malformed JSON line: {0}")]
    Json(String),
    /// A line of an autonomous-system list, such as Spamhaus ASN-DROP,
    /// whose domain is the network owner's.
    #[error(
        "an autonomous-system entry: its domain is the network owner's, not an indicator, \
         and iocwatch does not match AS numbers"
    )]
    AsnEntry,
    /// The line is longer than [`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES).
    #[error("line is longer than {max} bytes")]
    TooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// An adblock exception rule (`@@...`), which allows the address it
    /// names instead of listing it.
    #[error("adblock exception rule (@@) allows what it names, so it is not an indicator")]
    AdblockException,
    /// A line of words rather than values, such as a note or a date
    /// beside a feed.
    #[error(
        "a line of text: {others} of its {tokens} words are not indicators; \
         start notes with # so that they are read as comments"
    )]
    Text {
        /// The number of tokens that are not indicators.
        others: usize,
        /// The number of blank-separated tokens on the line.
        tokens: usize,
    },
    /// A Suricata or Snort rule that gives no indicator: its header lists
    /// no address, and no host, domain or fingerprint buffer has exactly
    /// one content match.
    #[error(
        "Suricata or Snort rule without an indicator; only the header's addresses and the content of \
         host, domain and fingerprint buffers (http.host, dns.query, tls.sni, ja3.hash, ...) are read"
    )]
    RuleWithoutAddresses,
}

impl LineError {
    /// True for indicators dropped with a warning (addresses that can never
    /// be a remote party) rather than rejected.
    pub fn is_dropped(&self) -> bool {
        matches!(self, Self::Indicator(error) if error.is_dropped())
    }
}
