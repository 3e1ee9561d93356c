//! The batch scan: every line of every input decoded, matched, and turned
//! into alerts, on all cores.
//!
//! Inputs are split into work units: a whole file, or for a large
//! uncompressed file a newline-aligned byte range of it. Units run in
//! parallel; their output is written in input order, so a scan's output
//! does not depend on scheduling.
//!
//! Most lines match nothing. Unless [`ScanOptions::full_decode`] is set,
//! each line is first screened (see the `screen` module): a line whose
//! values cannot match any indicator is counted as an event without being
//! decoded, and only the others are decoded and matched.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use iocwatch_logs::{Decoder, Format, detect_format, new_decoder, new_file_decoder};
use iocwatch_matcher::{Hit, LineFilter};

use crate::allowlist::Allowlist;
use rayon::prelude::*;

use crate::alert::{Alert, AlertBuilder, LineLocation};
use crate::lines::{Line, LineReader, MAX_LINE};
use crate::screen::Screened;
use crate::stats::{LineError, ScanStats};
use crate::table;

/// Files larger than this are split into ranges scanned in parallel.
const SPLIT_THRESHOLD: u64 = 64 * 1024 * 1024;
/// Target size of one range of a split file.
const RANGE_SIZE: u64 = 8 * 1024 * 1024;
/// Bytes read to detect a file's format and compression.
const SNIFF: usize = 64 * 1024;

/// Output format of alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One ECS alert document per line.
    Json,
    /// A table for a terminal.
    Table,
}

/// A scan input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file or a directory to walk.
    Path(PathBuf),
}

/// Progress callbacks: the total once known, then bytes as they are read.
pub trait Progress: Send + Sync {
    /// Called once, before scanning starts, with the total input size in
    /// bytes (compressed files count at their size on disk).
    fn start(&self, total_bytes: u64);
    /// Called as bytes are read.
    fn advance(&self, bytes: u64);
    /// Called once when the scan ends.
    fn finish(&self);
}

/// Settings of a scan.
pub struct ScanOptions {
    /// Output format.
    pub output: OutputFormat,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Progress reporting, if any.
    pub progress: Option<Arc<dyn Progress>>,
    /// Decode every line in full. By default, lines that the decoder can
    /// screen and whose values cannot match any indicator
    /// ([`LineFilter`]) are counted without being decoded, which gives the
    /// same alerts and counts faster.
    pub full_decode: bool,
    /// Values that must never alert: a hit on an observed value that the
    /// allowlist covers is left out.
    pub allowlist: Option<Allowlist>,
}

/// Outcome of a scan.
#[derive(Debug, Default)]
pub struct ScanSummary {
    /// Counters.
    pub stats: ScanStats,
    /// Problems that kept an input from being scanned: a missing path, an
    /// unreadable file. Any of these makes the scan exit with status 2.
    pub errors: Vec<String>,
    /// Files and folders skipped, each with the reason.
    pub skipped: Vec<String>,
    /// Number of the skipped files that are in no supported log format.
    /// Their entries in `skipped` leave the list of formats to
    /// [`SUPPORTED_FORMATS`].
    pub unsupported: usize,
    /// Wall-clock time of the scan.
    pub elapsed: std::time::Duration,
}

/// One piece of work: a file or a range of one.
#[derive(Debug, Clone)]
struct Unit {
    input: UnitInput,
    /// Name shown in alerts and messages.
    display: Arc<str>,
    format: Format,
    /// Byte range of the file, for a split file.
    range: Option<(u64, u64)>,
    /// True for a range after the first of a split file. Its first line
    /// number is known only once the ranges before it are read, so its
    /// messages carry range-relative line numbers that the writer fixes.
    relative_lines: bool,
    /// Header lines before the range that set the decoder's state. For
    /// a range after the first, these are the header lines at the top of
    /// the file: the writer checks them against the header lines that the
    /// ranges before it found, and scans the range again when they differ.
    headers: Arc<Vec<Vec<u8>>>,
    size: u64,
    /// When the file was last written, which places the header times of
    /// syslog lines without a year.
    modified: Option<time::OffsetDateTime>,
}

#[derive(Debug, Clone)]
enum UnitInput {
    Stdin,
    File { path: PathBuf, gzip: bool },
}

struct UnitResult {
    output: Vec<u8>,
    stats: ScanStats,
    error: Option<String>,
    path: Arc<str>,
    relative_lines: bool,
    /// The header lines (lines starting with `#`) of a range of a split
    /// Zeek TSV file, in order.
    headers_seen: Vec<Vec<u8>>,
}

/// Scans `inputs` and writes alerts to `out`.
pub fn scan(
    inputs: &[Input],
    builder: &AlertBuilder,
    options: &ScanOptions,
    out: Box<dyn Write + Send>,
) -> ScanSummary {
    let started = Instant::now();
    let mut summary = ScanSummary::default();
    let units = plan(inputs, &mut summary);

    if let Some(progress) = &options.progress {
        progress.start(units.iter().map(|unit| unit.size).sum());
    }
    // More threads than units would only sit idle.
    let threads = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, units.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build();

    let filter = if options.full_decode {
        None
    } else {
        LineFilter::new(builder.matcher())
    };
    let cancelled = AtomicBool::new(false);
    let (sender, receiver) = mpsc::sync_channel::<(usize, UnitResult)>(threads * 2);
    let output_format = options.output;
    // A range scanned with the wrong header lines is scanned again, on the
    // writer's thread, without progress reports: its bytes were counted.
    let allowlist = options.allowlist.as_ref();
    let scan_unit = |unit: &Unit, progress: Option<&dyn Progress>| {
        run_unit(
            unit,
            builder,
            filter.as_ref(),
            allowlist,
            output_format,
            progress,
            &cancelled,
        )
    };
    let rescan = |unit: &Unit| scan_unit(unit, None);

    let work = |sender: mpsc::SyncSender<(usize, UnitResult)>| {
        units
            .par_iter()
            .enumerate()
            .for_each_with(sender, |sender, (index, unit)| {
                let result = if cancelled.load(Ordering::Relaxed) {
                    UnitResult::empty(unit)
                } else {
                    scan_unit(unit, options.progress.as_deref())
                };
                if sender.send((index, result)).is_err() {
                    cancelled.store(true, Ordering::Relaxed);
                }
            });
    };
    let written = std::thread::scope(|scope| {
        let units = &units;
        let rescan = &rescan;
        let table_header = table::header(builder.matcher());
        let writer =
            scope.spawn(move || write_in_order(receiver, out, output_format, &table_header, units, rescan));
        match pool {
            Ok(pool) => pool.install(|| work(sender)),
            Err(_) => work(sender),
        }
        writer.join()
    });

    match written {
        Ok(Ok(results)) => {
            for (stats, error) in results {
                summary.stats.merge(stats);
                summary.errors.extend(error);
            }
        }
        Ok(Err(err)) if err.kind() == io::ErrorKind::BrokenPipe => {}
        Ok(Err(err)) => summary.errors.push(format!("writing alerts failed: {err}")),
        Err(_) => summary
            .errors
            .push("the alert writer thread stopped unexpectedly".to_owned()),
    }
    if let Some(progress) = &options.progress {
        progress.finish();
    }
    summary.elapsed = started.elapsed();
    summary
}

/// Writes unit outputs in unit order, after `table_header` when the
/// format is a table and there is a row; returns each unit's counters.
///
/// The ranges of a split Zeek TSV file are scanned with the header lines
/// at the top of the file. A range whose earlier ranges hold other header
/// lines (a file of several logs written one after the other) is scanned
/// again with `rescan` and the header lines that come before it.
fn write_in_order(
    receiver: mpsc::Receiver<(usize, UnitResult)>,
    out: Box<dyn Write + Send>,
    format: OutputFormat,
    table_header: &str,
    units: &[Unit],
    rescan: &dyn Fn(&Unit) -> UnitResult,
) -> io::Result<Vec<(ScanStats, Option<String>)>> {
    let mut out = io::BufWriter::with_capacity(256 * 1024, out);
    let mut pending: BTreeMap<usize, UnitResult> = BTreeMap::new();
    let mut next = 0;
    let mut results = Vec::new();
    let mut header_written = false;
    // Lines read so far in each file, to turn range-relative line numbers
    // into file line numbers; the ranges of a file arrive in order.
    let mut lines_before: HashMap<Arc<str>, u64> = HashMap::new();
    // The header lines of the current file's ranges written so far.
    let mut headers_before: Vec<Vec<u8>> = Vec::new();
    let mut rows = table::TimeOrder::default();
    for (index, result) in receiver {
        pending.insert(index, result);
        while let Some(mut result) = pending.remove(&next) {
            if let Some(unit) = units.get(next) {
                if !unit.relative_lines {
                    headers_before.clear();
                } else if headers_before != *unit.headers {
                    let corrected = Unit {
                        headers: Arc::new(headers_before.clone()),
                        ..unit.clone()
                    };
                    result = rescan(&corrected);
                }
                headers_before.append(&mut result.headers_seen);
            }
            let before = lines_before.entry(Arc::clone(&result.path)).or_default();
            // A file's first unit restarts its count, also when the same
            // file is named twice.
            if !result.relative_lines {
                *before = 0;
            }
            if result.relative_lines {
                for error in &mut result.stats.reported_errors {
                    error.line += *before;
                }
            }
            *before += result.stats.lines;
            if format == OutputFormat::Table && !header_written && !result.output.is_empty() {
                out.write_all(table_header.as_bytes())?;
                header_written = true;
            }
            if format == OutputFormat::Table {
                rows.add(&result.output, &mut out)?;
            } else {
                out.write_all(&result.output)?;
            }
            results.push((result.stats, result.error));
            next += 1;
        }
    }
    rows.finish(&mut out)?;
    out.flush()?;
    Ok(results)
}

/// Expands directories and splits large files into units.
fn plan(inputs: &[Input], summary: &mut ScanSummary) -> Vec<Unit> {
    let mut units = Vec::new();
    for input in inputs {
        match input {
            // Standard input can be read only once, so its format is
            // detected from its first line inside the unit.
            Input::Stdin => units.push(Unit {
                input: UnitInput::Stdin,
                display: Arc::from("-"),
                format: Format::Json,
                range: None,
                relative_lines: false,
                headers: Arc::new(Vec::new()),
                size: 0,
                modified: None,
            }),
            Input::Path(path) => {
                let named = !path.is_dir();
                let listed = match list_files(path) {
                    Ok(listed) => listed,
                    Err(message) => {
                        summary.errors.push(message);
                        continue;
                    }
                };
                if listed.files.is_empty() && listed.unreadable.is_empty() {
                    summary
                        .skipped
                        .push(format!("{}: the folder contains no files", path.display()));
                }
                // A folder inside the tree that cannot be read is an error,
                // and a dangling or looping link is skipped with a warning.
                // Either loses only that entry.
                summary.errors.extend(listed.unreadable);
                summary.skipped.extend(listed.skipped_links);
                for file in listed.files {
                    match plan_file(&file, &mut units) {
                        Ok(None) => {}
                        // A file named on the command line must be a log;
                        // one found in a folder may be anything.
                        Ok(Some(NotLog::Unsupported(display))) if named => summary
                            .errors
                            .push(format!("{display}: {UNSUPPORTED} ({SUPPORTED_FORMATS})")),
                        Ok(Some(NotLog::Unsupported(display))) => {
                            summary.skipped.push(format!("{display}: {UNSUPPORTED}"));
                            summary.unsupported += 1;
                        }
                        Ok(Some(NotLog::Other(problem))) if named => summary.errors.push(problem),
                        Ok(Some(NotLog::Other(problem))) => summary.skipped.push(problem),
                        Err(message) => summary.errors.push(message),
                    }
                }
            }
        }
    }
    units
}

/// The files under a log path, as [`list_files`] finds them.
#[derive(Debug, Default)]
pub struct ListedFiles {
    /// The files, sorted.
    pub files: Vec<PathBuf>,
    /// A message for each folder or file of the tree that could not be
    /// read.
    pub unreadable: Vec<String>,
    /// A message for each link that leads to a missing file, or back to
    /// a folder above it.
    pub skipped_links: Vec<String>,
}

/// Checks a log path named on the command line the way the scan will:
/// it must exist, and when it is a file, it must be a log in a supported
/// format. A folder passes, since the scan skips the files in it that are
/// not logs.
///
/// # Errors
///
/// The message the scan would report for the path.
pub fn check_named_log(path: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(path)
        .map_err(|err| format!("cannot read log path {}: {err}; check the path", path.display()))?;
    if metadata.is_dir() {
        return Ok(());
    }
    match plan_file(path, &mut Vec::new())? {
        None => Ok(()),
        Some(NotLog::Unsupported(display)) => Err(format!("{display}: {UNSUPPORTED} ({SUPPORTED_FORMATS})")),
        Some(NotLog::Other(problem)) => Err(problem),
    }
}

/// Lists the files a scan reads for `path`: `path` itself when it is not
/// a folder, else every file under it, following links. Watchlist
/// folders are listed the same way.
///
/// # Errors
///
/// A message naming `path` when it does not exist or cannot be read.
pub fn list_files(path: &Path) -> Result<ListedFiles, String> {
    let metadata = std::fs::metadata(path)
        .map_err(|err| format!("cannot read log path {}: {err}; check the path", path.display()))?;
    let mut listed = ListedFiles::default();
    if !metadata.is_dir() {
        listed.files.push(path.to_owned());
        return Ok(listed);
    }
    let walker = ignore::WalkBuilder::new(path)
        .standard_filters(false)
        .follow_links(true)
        .build();
    for entry in walker {
        match entry {
            Ok(entry) if entry.path().is_file() => listed.files.push(entry.into_path()),
            Ok(_) => {}
            Err(err) => {
                let io_error = err.io_error();
                if let ignore::Error::Loop { ancestor, child } = innermost(&err) {
                    listed.skipped_links.push(format!(
                        "{}: a link back to the folder {} above it",
                        child.display(),
                        ancestor.display()
                    ));
                } else if io_error.is_some_and(|io| io.kind() == io::ErrorKind::NotFound) {
                    listed
                        .skipped_links
                        .push(format!("{}: a link to a missing file", walk_path(&err, path)));
                } else {
                    // The walk's own message repeats the path, so only
                    // the kind of the failure is kept.
                    let reason = io_error.map_or_else(|| err.to_string(), |io| io.kind().to_string());
                    listed.unreadable.push(format!(
                        "{}: cannot read: {reason}; check its permissions, the files in it were not read",
                        walk_path(&err, path)
                    ));
                }
            }
        }
    }
    listed.files.sort();
    Ok(listed)
}

/// Returns the path that a walk error is about, or `root` when the error
/// names none.
fn walk_path(err: &ignore::Error, root: &Path) -> String {
    let mut current = err;
    loop {
        match current {
            ignore::Error::WithPath { path, .. } => return path.display().to_string(),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => current = err,
            _ => return root.display().to_string(),
        }
    }
}

/// Returns the error that a walk error wraps with its path, depth or line.
fn innermost(err: &ignore::Error) -> &ignore::Error {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => innermost(err),
        other => other,
    }
}

/// Adds the units of one file. Returns why the file cannot be scanned
/// when its content is no supported log format.
/// The log formats that a scan reads, as messages list them.
pub const SUPPORTED_FORMATS: &str = "Zeek TSV, Zeek JSON, Suricata EVE, ECS JSON lines, \
     Sysmon JSON lines, \
     or syslog with a netfilter body with IN= and OUT=, a pfSense filterlog, PAN-OS or CEF body, \
     or a body of at least three key=value pairs";

/// The reason given for a file in no supported log format.
const UNSUPPORTED: &str = "not a supported log format";

/// The reason a file is not scanned as a log.
enum NotLog {
    /// Content in no supported format, with the file's name.
    Unsupported(String),
    /// Another reason, with its message.
    Other(String),
}

fn plan_file(path: &Path, units: &mut Vec<Unit>) -> Result<Option<NotLog>, String> {
    let display: Arc<str> = Arc::from(path.display().to_string());
    let fail = |err: io::Error| format!("{display}: {err}");
    let mut file = File::open(path).map_err(fail)?;
    let metadata = file.metadata().map_err(fail)?;
    let size = metadata.len();
    let modified = metadata.modified().ok().map(time::OffsetDateTime::from);
    let mut head = vec![0; SNIFF];
    let read = read_up_to(&mut file, &mut head).map_err(fail)?;
    head.truncate(read);
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let mut decompressed = Vec::new();
    let (format, is_empty) = if gzip {
        decompressed.resize(SNIFF, 0);
        let mut decoder = flate2::read::MultiGzDecoder::new(&head[..]);
        let mut filled = 0;
        let read = read_into(&mut decoder, &mut decompressed, &mut filled);
        decompressed.truncate(filled);
        match read {
            Ok(()) => (detect_format(&decompressed), filled == 0),
            // A gzip file cut before its first block gives no data.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof && filled == 0 => {
                return Ok(Some(NotLog::Other(format!(
                    "{display}: not a readable gzip file: it ends before any data, so it was cut short"
                ))));
            }
            // The sniffed head ends mid-stream, which is expected; any
            // other error means the data is not gzip after all.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => (detect_format(&decompressed), false),
            Err(err) => {
                return Ok(Some(NotLog::Other(format!(
                    "{display}: not a readable gzip file: {err}"
                ))));
            }
        }
    } else {
        (detect_format(&head), size == 0)
    };
    let Some(format) = format else {
        if is_empty {
            return Ok(None);
        }
        let sniffed = if gzip { &decompressed } else { &head };
        if iocwatch_logs::is_unknown_json_lines(sniffed) {
            return Ok(Some(NotLog::Other(format!(
                "{display}: JSON lines of a kind iocwatch does not read: no key of Suricata EVE \
                 (event_type), Zeek (ts, uid, id.orig_h) or ECS (@timestamp, source, destination, dns, \
                 url, tls, file, email) at the top level, and no Event from the Microsoft-Windows-Sysmon \
                 provider"
            ))));
        }
        if matches!(head.trim_ascii_start().first(), Some(b'{' | b'[')) {
            return Ok(Some(NotLog::Other(format!(
                "{display}: a JSON document, not a log; iocwatch reads JSON lines, one object per line"
            ))));
        }
        return Ok(Some(NotLog::Unsupported(display.to_string())));
    };

    if gzip || size < SPLIT_THRESHOLD {
        units.push(Unit {
            input: UnitInput::File {
                path: path.to_owned(),
                gzip,
            },
            display,
            format,
            range: None,
            relative_lines: false,
            headers: Arc::new(Vec::new()),
            size,
            modified,
        });
        return Ok(None);
    }
    let headers = match format {
        Format::ZeekTsv => Arc::new(leading_header_lines(&head)),
        Format::Json | Format::Syslog | Format::SyslogBody(_) => Arc::new(Vec::new()),
    };
    for range in split(path, size).map_err(fail)? {
        units.push(Unit {
            input: UnitInput::File {
                path: path.to_owned(),
                gzip: false,
            },
            display: Arc::clone(&display),
            format,
            range: Some((range.start, range.end)),
            relative_lines: range.start > 0,
            headers: if range.start > 0 {
                Arc::clone(&headers)
            } else {
                Arc::new(Vec::new())
            },
            size: range.end - range.start,
            modified,
        });
    }
    Ok(None)
}

struct Range {
    start: u64,
    end: u64,
}

/// Splits a file into ranges of about [`RANGE_SIZE`] bytes, each ending
/// after a newline.
fn split(path: &Path, size: u64) -> io::Result<Vec<Range>> {
    let mut file = File::open(path)?;
    let mut starts = vec![0_u64];
    let mut target = RANGE_SIZE;
    while target < size {
        match next_line_start(&mut file, target)? {
            Some(start) if start < size => {
                starts.push(start);
                target = start + RANGE_SIZE;
            }
            _ => break,
        }
    }
    let ranges = starts
        .iter()
        .enumerate()
        .map(|(index, &start)| Range {
            start,
            end: starts.get(index + 1).copied().unwrap_or(size),
        })
        .collect();
    Ok(ranges)
}

/// Returns the offset just after the first newline at or after `offset`,
/// or `None` when the file has none.
fn next_line_start(file: &mut File, offset: u64) -> io::Result<Option<u64>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buffer = vec![0; 64 * 1024];
    let mut position = offset;
    loop {
        let read = read_up_to(file, &mut buffer)?;
        if read == 0 {
            return Ok(None);
        }
        if let Some(newline) = memchr::memchr(b'\n', &buffer[..read]) {
            return Ok(Some(position + newline as u64 + 1));
        }
        position += read as u64;
    }
}

/// Returns the complete lines starting with `#` at the top of `head`, the
/// first bytes of a file, up to the first other line.
///
/// Finding every header line of a large file would read it once more
/// before the scan. The ranges are scanned with these lines instead, and
/// the writer scans a range again when the lines before it differ.
fn leading_header_lines(head: &[u8]) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut rest = head;
    while rest.first() == Some(&b'#') {
        let Some(length) = memchr::memchr(b'\n', rest) else {
            break;
        };
        lines.push(rest[..length].to_vec());
        rest = &rest[length + 1..];
    }
    lines
}

fn read_up_to(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    read_into(reader, buffer, &mut filled)?;
    Ok(filled)
}

/// Reads until `buffer` is full or the reader ends, counting the bytes
/// read in `filled`, which keeps its count when a read fails.
fn read_into(reader: &mut impl Read, buffer: &mut [u8], filled: &mut usize) -> io::Result<()> {
    while *filled < buffer.len() {
        match reader.read(&mut buffer[*filled..]) {
            Ok(0) => break,
            Ok(read) => *filled += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

impl UnitResult {
    /// Returns the result of `unit` before any line is read.
    fn empty(unit: &Unit) -> Self {
        Self {
            output: Vec::new(),
            stats: ScanStats::default(),
            error: None,
            path: Arc::clone(&unit.display),
            relative_lines: unit.relative_lines,
            headers_seen: Vec::new(),
        }
    }
}

/// Scans one unit.
fn run_unit(
    unit: &Unit,
    builder: &AlertBuilder,
    filter: Option<&LineFilter>,
    allowlist: Option<&Allowlist>,
    format: OutputFormat,
    progress: Option<&dyn Progress>,
    cancelled: &AtomicBool,
) -> UnitResult {
    let mut result = UnitResult::empty(unit);
    let keeps_headers = unit.range.is_some() && unit.format == Format::ZeekTsv;
    if unit.range.is_none_or(|(start, _)| start == 0) {
        result.stats.files = 1;
    }
    let reader: Box<dyn Read> = match open_unit(unit) {
        Ok(reader) => reader,
        Err(err) => {
            result.error = Some(format!("{}: {err}", unit.display));
            return result;
        }
    };
    let base = unit.range.map_or(0, |(start, _)| start);
    let mut lines = match unit.range {
        Some((start, end)) => LineReader::with_limit(reader, base, end - start),
        None => LineReader::new(reader, base),
    };

    let mut decoder: Option<Box<dyn Decoder>> = match unit.input {
        UnitInput::Stdin => None,
        UnitInput::File { .. } => Some(new_file_decoder(unit.format, unit.modified)),
    };
    if let Some(decoder) = decoder.as_mut() {
        for header in unit.headers.iter() {
            let _ = decoder.decode(header);
        }
    }

    let matcher = builder.matcher();
    let mut hits: Vec<Hit> = Vec::new();
    let mut screened = Screened::default();
    let mut line_number = 1;
    let mut unreported_bytes = 0_u64;
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(err) => {
                let hint = match &unit.input {
                    UnitInput::File { gzip: true, .. } => {
                        "; the lines before it were scanned, and the file looks truncated or corrupt \
                         (check it with gzip -t)"
                    }
                    _ => "; the lines before it were scanned",
                };
                result.error = Some(format!(
                    "{}: read failed at line {line_number}: {err}{hint}",
                    unit.display
                ));
                break;
            }
        };
        let (bytes, offset) = match line {
            Line::Text { bytes, offset } => (bytes, offset),
            Line::TooLong { length, .. } => {
                let format = decoder.as_ref().map_or("unknown", |d| d.format());
                let message = format!(
                    "line is longer than the maximum of {} MiB",
                    MAX_LINE / (1024 * 1024)
                );
                result.stats.count_malformed(
                    format,
                    LineError {
                        path: unit.display.to_string(),
                        line: line_number,
                        message,
                    },
                );
                result.stats.lines += 1;
                result.stats.bytes += length;
                unreported_bytes += length;
                line_number += 1;
                continue;
            }
        };
        let this_line = line_number;
        line_number += 1;
        result.stats.lines += 1;
        let length = bytes.len() as u64 + 1;
        result.stats.bytes += length;
        unreported_bytes += length;
        if unreported_bytes >= 4 * 1024 * 1024 {
            if let Some(progress) = progress {
                progress.advance(unreported_bytes);
            }
            unreported_bytes = 0;
            if cancelled.load(Ordering::Relaxed) {
                break;
            }
        }
        if keeps_headers && bytes.first() == Some(&b'#') {
            result.headers_seen.push(bytes.to_vec());
        }
        if bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            continue;
        }
        let decoder =
            decoder.get_or_insert_with(|| new_decoder(detect_format(bytes).unwrap_or(Format::Json)));
        if let Some(filter) = filter
            && screened.skips(decoder.as_mut(), filter, bytes)
        {
            continue;
        }
        let record = match decoder.decode(bytes) {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(err) => {
                let error = LineError {
                    path: unit.display.to_string(),
                    line: this_line,
                    message: err.message,
                };
                result.stats.count_malformed(decoder.format(), error);
                continue;
            }
        };
        *result.stats.events_by_format.entry(record.format).or_default() += 1;
        hits.clear();
        if !matcher.match_record(&record, &mut hits) {
            continue;
        }
        if let Some(allowlist) = allowlist {
            hits.retain(|hit| !allowlist.covers_value(record.observables[hit.observable].field, &hit.atomic));
            if hits.is_empty() {
                continue;
            }
        }
        let location = LineLocation {
            path: &unit.display,
            offset,
        };
        let alert = builder.build(&record, &hits, bytes, Some(location));
        result.stats.count_alert(&alert, matcher);
        write_alert(&mut result.output, &alert, format, builder);
    }
    if let Some(progress) = progress {
        progress.advance(unreported_bytes);
    }
    for (format, count) in screened.into_events() {
        *result.stats.events_by_format.entry(format).or_default() += count;
    }
    result
}

fn open_unit(unit: &Unit) -> io::Result<Box<dyn Read>> {
    match &unit.input {
        UnitInput::Stdin => {
            let stdin = BufReader::with_capacity(256 * 1024, io::stdin());
            let mut peekable = PeekReader::new(stdin)?;
            if peekable.head().starts_with(&[0x1f, 0x8b]) {
                return Ok(Box::new(flate2::read::MultiGzDecoder::new(peekable)));
            }
            peekable.rewind_head();
            Ok(Box::new(peekable))
        }
        UnitInput::File { path, gzip: true } => Ok(Box::new(flate2::read::MultiGzDecoder::new(
            BufReader::with_capacity(256 * 1024, File::open(path)?),
        ))),
        UnitInput::File { path, gzip: false } => {
            let mut file = File::open(path)?;
            if let Some((start, _)) = unit.range {
                file.seek(SeekFrom::Start(start))?;
            }
            Ok(Box::new(file))
        }
    }
}

/// A reader that looks at its first bytes before handing them on.
struct PeekReader<R> {
    inner: R,
    head: Vec<u8>,
    position: usize,
}

impl<R: Read> PeekReader<R> {
    fn new(mut inner: R) -> io::Result<Self> {
        let mut head = vec![0; 2];
        let read = read_up_to(&mut inner, &mut head)?;
        head.truncate(read);
        Ok(Self {
            inner,
            head,
            position: 0,
        })
    }

    fn head(&self) -> &[u8] {
        &self.head
    }

    fn rewind_head(&mut self) {
        self.position = 0;
    }
}

impl<R: Read> Read for PeekReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position < self.head.len() {
            let available = &self.head[self.position..];
            let count = available.len().min(buf.len());
            buf[..count].copy_from_slice(&available[..count]);
            self.position += count;
            return Ok(count);
        }
        self.inner.read(buf)
    }
}

fn write_alert(output: &mut Vec<u8>, alert: &Alert, format: OutputFormat, builder: &AlertBuilder) {
    match format {
        OutputFormat::Json => {
            if serde_json::to_writer(&mut *output, &alert.document).is_ok() {
                output.push(b'\n');
            }
        }
        OutputFormat::Table => table::write_rows(output, alert, builder.matcher()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn leading_header_lines_stop_at_data() {
        let head = b"#separator \\x09\n#fields\ta\tb\r\n1\t2\n#close\n";
        let lines = leading_header_lines(head);
        assert_eq!(lines, [b"#separator \\x09".to_vec(), b"#fields\ta\tb\r".to_vec()]);
    }

    #[test]
    fn leading_header_lines_skip_a_cut_line() {
        assert_eq!(
            leading_header_lines(b"#fields\ta\n#types\tst"),
            [b"#fields\ta".to_vec()]
        );
        assert!(leading_header_lines(b"1\t2\n#fields\ta\n").is_empty());
        assert!(leading_header_lines(b"").is_empty());
    }

    #[test]
    fn split_ranges_end_after_newlines() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let line = "y".repeat(999);
        for _ in 0..(100 * 1024) {
            writeln!(file, "{line}").unwrap();
        }
        let size = file.as_file().metadata().unwrap().len();
        let ranges = split(file.path(), size).unwrap();
        assert!(ranges.len() >= 3, "{} ranges", ranges.len());
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges.last().unwrap().end, size);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert_eq!(pair[1].start % 1000, 0, "a range starts at a line start");
        }
    }
}
