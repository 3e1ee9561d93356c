//! Loading one watchlist from a file or reader.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use flate2::bufread::MultiGzDecoder;
use iocwatch_model::ParseOptions;
use thiserror::Error;

use crate::detect::{detect_format, read_prelude, zeek_log_path};
use crate::error::{IntelError, IntelErrorKind};
use crate::formats::Decoder;
use crate::lines::LineReader;
use crate::watchlist::{Collector, Parser, Watchlist};

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// File name extensions of watchlists. The name of a watchlist is the file
/// name up to the first of these, so that rotated snapshots such as
/// `ipblocklist.csv.2024-04-04` keep the feed's name.
const KNOWN_EXTENSIONS: &[&str] = &[
    "txt", "csv", "tsv", "intel", "lst", "list", "ipset", "netset", "conf", "hosts", "zone", "rpz", "dat",
    "rules", "json", "jsonl",
];

/// A watchlist file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntelFormat {
    /// One or more indicators per line, with comments: plain lists, hosts
    /// files, adblock, dnsmasq, BIND and RPZ blocklists.
    Plain,
    /// CSV with a header row.
    Csv,
    /// A Zeek intel framework file with a `#fields` line.
    ZeekIntel,
    /// One JSON object per line, as `watchlist export --format json`
    /// writes them.
    JsonLines,
}

impl IntelFormat {
    /// Returns the short name: `plain`, `csv`, `zeek-intel` or `jsonl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Csv => "csv",
            Self::ZeekIntel => "zeek-intel",
            Self::JsonLines => "jsonl",
        }
    }
}

impl fmt::Display for IntelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that [`IntelFormat::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown watchlist format {0:?}; expected plain, csv, zeek-intel or jsonl")]
pub struct UnknownFormat(pub String);

impl FromStr for IntelFormat {
    type Err = UnknownFormat;

    /// Reads `plain`, `csv`, `zeek-intel` (or `zeek`, `intel`) and `jsonl`
    /// (or `json`), in any letter case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "plain" => Ok(Self::Plain),
            "csv" => Ok(Self::Csv),
            "zeek-intel" | "zeek" | "intel" => Ok(Self::ZeekIntel),
            "jsonl" | "json" | "json-lines" => Ok(Self::JsonLines),
            _ => Err(UnknownFormat(name.to_owned())),
        }
    }
}

/// How to read a watchlist.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The format; `None` detects it from the content and file name.
    pub format: Option<IntelFormat>,
    /// The CSV column that contains the indicators; `None` picks the first
    /// column with a known name.
    pub column: Option<String>,
    /// Options for parsing each value.
    pub parse: ParseOptions,
}

/// Loads the watchlist at `path`, gzip-compressed or not. The name is
/// `name` or else [`watchlist_name_for`] the path.
///
/// # Errors
///
/// [`IntelError`] when the file cannot be opened or read, is not UTF-8
/// text, or is a CSV file whose header has no indicator column or lacks the
/// requested one. Malformed lines are no error: they are listed in
/// [`Watchlist::report`].
pub fn load_file(path: &Path, name: Option<&str>, options: &LoadOptions) -> Result<Watchlist, IntelError> {
    let source = path.display().to_string();
    let file = File::open(path).map_err(|error| IntelError::new(&source, IntelErrorKind::Open(error)))?;
    let name = name.map_or_else(|| watchlist_name_for(path), str::to_owned);
    load_reader(&name, &source, BufReader::with_capacity(64 * 1024, file), options)
}

/// Loads a watchlist from `reader`, which may be gzip-compressed.
///
/// `source` names the input in reports and indicator origins. When it is
/// a file name with a `.csv` extension, content without a recognisable
/// header is still read as CSV.
///
/// # Errors
///
/// As [`load_file`], except that nothing is opened.
pub fn load_reader(
    name: &str,
    source: &str,
    mut reader: impl BufRead,
    options: &LoadOptions,
) -> Result<Watchlist, IntelError> {
    let head = reader
        .fill_buf()
        .map_err(|error| IntelError::new(source, IntelErrorKind::Read { line: 1, error }))?;
    let result = if head.starts_with(&GZIP_MAGIC) {
        decode(name, source, BufReader::new(MultiGzDecoder::new(reader)), options).map_err(
            |kind| match kind {
                IntelErrorKind::Read { line, error } => IntelErrorKind::GzipRead { line, error },
                other => other,
            },
        )
    } else {
        decode(name, source, reader, options)
    };
    result.map_err(|kind| IntelError::new(source, kind))
}

fn decode(
    name: &str,
    source: &str,
    reader: impl BufRead,
    options: &LoadOptions,
) -> Result<Watchlist, IntelErrorKind> {
    let mut lines = LineReader::new(reader);
    let prelude = read_prelude(&mut lines)?;
    let format = match options.format {
        Some(format) => format,
        None => {
            let format = detect_format(&prelude, format_by_extension(source), options.column.as_deref());
            if format != IntelFormat::ZeekIntel
                && let Some(path) = zeek_log_path(&prelude)
            {
                return Err(IntelErrorKind::ZeekLog(path));
            }
            format
        }
    };

    let mut collector = Collector::default();
    let mut decoder = Decoder::new(format, options);
    for (number, line) in &prelude {
        decoder.line(*number, line.as_line(), &mut collector)?;
    }
    // Each batch is parsed and added on other threads of the pool while
    // this thread reads the next batch.
    let mut parser = Parser::new(source, options.parse);
    loop {
        let batch = collector.take();
        let parser = &mut parser;
        let more = rayon::in_place_scope(|scope| {
            scope.spawn(move |_| parser.push(batch));
            read_batch(&mut lines, &mut decoder, &mut collector)
        })?;
        if !more {
            break;
        }
    }
    decoder.finish(&mut collector)?;
    parser.push(collector.take());

    let (indicators, report) = parser.finish(lines.count());
    Ok(Watchlist {
        name: name.to_owned(),
        source: source.to_owned(),
        format,
        indicators,
        report,
    })
}

/// Reads lines into `collector` until it contains a batch. Returns false
/// when the input ended first.
fn read_batch(
    lines: &mut LineReader<impl BufRead>,
    decoder: &mut Decoder,
    collector: &mut Collector,
) -> Result<bool, IntelErrorKind> {
    while !collector.is_full() {
        let Some(number) = lines.advance()? else {
            return Ok(false);
        };
        decoder.line(number, lines.line(), collector)?;
    }
    Ok(true)
}

/// Returns the watchlist name for a file: its name without `.gz` and
/// without everything from the first known extension on (`drop.txt` is
/// `drop`, `ipblocklist.csv.2024-04-04` is `ipblocklist`, `x.intel.gz` is
/// `x`). A name without a known extension loses its last one
/// (`feed.2024` is `feed`).
pub fn watchlist_name_for(path: &Path) -> String {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parts = name_parts(&file_name);
    let stem_len = match parts.iter().skip(1).position(|part| is_known_extension(part)) {
        Some(position) => position + 1,
        None => parts.len().saturating_sub(1).max(1),
    };
    let stem = parts[..stem_len.min(parts.len())].join(".");
    if stem.is_empty() {
        path.to_string_lossy().into_owned()
    } else {
        stem
    }
}

/// Returns the format that the file name of `source` suggests: `.csv` for CSV,
/// `.intel` for Zeek intel.
fn format_by_extension(source: &str) -> Option<IntelFormat> {
    let file_name = Path::new(source).file_name()?.to_string_lossy().into_owned();
    let parts = name_parts(&file_name);
    parts
        .iter()
        .skip(1)
        .find_map(|part| match part.to_ascii_lowercase().as_str() {
            "csv" => Some(IntelFormat::Csv),
            "intel" => Some(IntelFormat::ZeekIntel),
            _ => None,
        })
}

/// Splits a file name at its dots, after dropping a `.gz` extension. The
/// leading dot of a hidden file stays with the first part.
fn name_parts(file_name: &str) -> Vec<&str> {
    let has_gz = file_name.len() > 3 && file_name.to_ascii_lowercase().ends_with(".gz");
    let base = if has_gz {
        &file_name[..file_name.len() - 3]
    } else {
        file_name
    };
    let hidden = base.starts_with('.');
    let body = if hidden { &base[1..] } else { base };
    let mut parts: Vec<&str> = body.split('.').collect();
    if hidden {
        parts[0] = &base[..parts[0].len() + 1];
    }
    parts
}

fn is_known_extension(part: &str) -> bool {
    KNOWN_EXTENSIONS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchlist_names() {
        let rows = [
            ("drop.txt", "drop"),
            ("/data/feeds/drop.txt", "drop"),
            ("ipblocklist.csv.2024-04-04", "ipblocklist"),
            ("x.intel", "x"),
            ("x.intel.gz", "x"),
            ("drop.txt.GZ", "drop"),
            ("feed.txt.HEAD", "feed"),
            ("full_sha256.partial-459.txt", "full_sha256.partial-459"),
            (
                "sslblacklist.excel-resaved.csv.2023-12-22",
                "sslblacklist.excel-resaved",
            ),
            ("evil.example.txt", "evil.example"),
            ("feodo.ipset.excerpt", "feodo"),
            ("feed.2024", "feed"),
            ("drop", "drop"),
            ("nets-a.txt", "nets-a"),
            (".hidden", ".hidden"),
            (".hidden.txt", ".hidden"),
            ("list.gz", "list"),
        ];
        for (path, expected) in rows {
            assert_eq!(watchlist_name_for(Path::new(path)), expected, "{path:?}");
        }
    }

    #[test]
    fn extension_formats() {
        assert_eq!(
            format_by_extension("feeds/ipblocklist.csv.2024-04-04"),
            Some(IntelFormat::Csv)
        );
        assert_eq!(format_by_extension("a.intel.gz"), Some(IntelFormat::ZeekIntel));
        assert_eq!(format_by_extension("drop.txt"), None);
        assert_eq!(format_by_extension("csv"), None);
    }

    #[test]
    fn format_names_round_trip() {
        for format in [
            IntelFormat::Plain,
            IntelFormat::Csv,
            IntelFormat::ZeekIntel,
            IntelFormat::JsonLines,
        ] {
            assert_eq!(format.to_string().parse::<IntelFormat>(), Ok(format));
        }
        assert_eq!("Zeek".parse::<IntelFormat>(), Ok(IntelFormat::ZeekIntel));
        assert!("stix".parse::<IntelFormat>().is_err());
    }
}
