//! The match step of the service: lines in, alerts out.
//!
//! Each stream (one source, one file) keeps its own decoder, because Zeek
//! TSV decoders carry the header of their file. A stream that starts in
//! the middle of a file, after a restart, first reads the header lines of
//! that file so that its columns are known.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::Duration;

use iocwatch_logs::{Decoder, DecoderChoice, detect_format, new_decoder};
use iocwatch_matcher::Hit;
use time::OffsetDateTime;

use crate::alert::{Alert, LineLocation, Severity};
use crate::service::snapshot::Snapshot;

/// Largest number of header bytes read from a file to prime a decoder.
const MAX_HEADER_BYTES: u64 = 64 * 1024;

/// Malformed lines logged one by one per stream in each
/// [`MALFORMED_LOG_WINDOW`]; the rest are counted, and their number is
/// logged when the window ends.
const LOGGED_ERRORS_PER_STREAM: u64 = 5;

/// Period over which [`LOGGED_ERRORS_PER_STREAM`] applies.
const MALFORMED_LOG_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// One line handed to the match step.
#[derive(Debug, Clone, Copy)]
pub struct LineIn<'a> {
    /// The source's name.
    pub source: &'a Arc<str>,
    /// The file the line was read from, for file sources.
    pub path: Option<&'a Arc<str>>,
    /// Byte offset of the line in its file.
    pub offset: Option<u64>,
    /// The line, without its terminator.
    pub data: &'a [u8],
}

/// An alert ready for the store: the document and how it is folded into
/// earlier ones and routed.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The alert as built from the event.
    pub alert: Alert,
    /// Sightings with the same key within `window` update one alert.
    pub dedup_key: String,
    /// The deduplication window: the shortest of the matching watchlists'.
    pub window: Duration,
    /// Severity from the watchlists and the indicators' confidence.
    pub severity: Severity,
    /// The watchlist of the first match.
    pub watchlist: String,
    /// The normalised value of the first matching indicator.
    pub indicator: String,
}

/// Counters of one call to [`Processor::line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutcome {
    /// A header, comment or blank line.
    Skipped,
    /// An event that matched nothing, or only allowlisted values.
    Event,
    /// An event that raised an alert.
    Alert,
    /// A line that could not be decoded.
    Malformed,
}

struct Stream {
    decoder: Option<Box<dyn Decoder>>,
    malformed: MalformedLog,
}

/// The malformed lines of one stream, and how many were logged in the
/// current window.
#[derive(Debug)]
struct MalformedLog {
    window_start: std::time::Instant,
    logged: u64,
    /// Lines counted but not logged in the current window.
    unlogged: u64,
}

impl Default for MalformedLog {
    fn default() -> Self {
        Self {
            window_start: std::time::Instant::now(),
            logged: 0,
            unlogged: 0,
        }
    }
}

impl MalformedLog {
    /// Counts a malformed line, and logs it unless this window has
    /// logged [`LOGGED_ERRORS_PER_STREAM`] already. Returns whether it
    /// was logged.
    fn report(&mut self, line: LineIn<'_>, format: &str, message: &str) -> bool {
        metrics::counter!("iocwatch_decode_errors_total", "source" => line.source.to_string()).increment(1);
        let path = line.path.map_or("-", |path| path);
        let now = std::time::Instant::now();
        if now.duration_since(self.window_start) >= MALFORMED_LOG_WINDOW {
            if self.unlogged > 0 {
                tracing::warn!(
                    source = %line.source,
                    path,
                    lines = self.unlogged,
                    "malformed lines of this stream were counted, not logged, in the last window"
                );
            }
            *self = Self {
                window_start: now,
                ..Self::default()
            };
        }
        if self.logged >= LOGGED_ERRORS_PER_STREAM {
            self.unlogged += 1;
            return false;
        }
        self.logged += 1;
        tracing::warn!(source = %line.source, path, offset = line.offset, format, "malformed line skipped: {message}");
        if self.logged == LOGGED_ERRORS_PER_STREAM {
            tracing::warn!(
                source = %line.source,
                path,
                window_seconds = MALFORMED_LOG_WINDOW.as_secs(),
                "further malformed lines of this stream are counted, not logged, until the window ends"
            );
        }
        true
    }
}

/// Decodes lines, matches them against the current snapshot and builds
/// detections. One processor serves every source; it is not shared
/// between threads.
pub struct Processor {
    choices: HashMap<Arc<str>, DecoderChoice>,
    streams: HashMap<(Arc<str>, Option<Arc<str>>), Stream>,
    hits: Vec<Hit>,
}

impl Processor {
    /// Creates a processor; `choices` gives each source's decoder, and a
    /// source not listed is detected per stream.
    pub fn new(choices: HashMap<Arc<str>, DecoderChoice>) -> Self {
        Self {
            choices,
            streams: HashMap::new(),
            hits: Vec::new(),
        }
    }

    /// Forgets the decoder state of a file, for example after it was
    /// rotated, so that its next line starts a new stream.
    pub fn end_stream(&mut self, source: &Arc<str>, path: Option<&Arc<str>>) {
        self.streams.remove(&(source.clone(), path.cloned()));
    }

    /// Decodes and matches one line; a detection is pushed to `out`.
    pub fn line(
        &mut self,
        snapshot: &Snapshot,
        line: LineIn<'_>,
        now: OffsetDateTime,
        out: &mut Vec<Detection>,
    ) -> LineOutcome {
        let data = line.data.strip_suffix(b"\r").unwrap_or(line.data);
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            return LineOutcome::Skipped;
        }
        let choice = self
            .choices
            .get(line.source)
            .copied()
            .unwrap_or(DecoderChoice::Auto);
        let key = (line.source.clone(), line.path.cloned());
        if line.offset == Some(0) && line.path.is_some() && detect_format(data).is_some() {
            // A file read from its start again brings its own header
            // lines. A file truncated by copy-truncate rotation does not:
            // Zeek writes its header only when it opens a file, so the
            // stream keeps the header it had.
            self.streams.remove(&key);
        }
        let stream = self.streams.entry(key).or_insert_with(|| Stream {
            decoder: open_decoder(choice, line),
            malformed: MalformedLog::default(),
        });
        let decoder = match &mut stream.decoder {
            Some(decoder) => decoder,
            None => match detect_format(data).map(new_decoder) {
                Some(decoder) => stream.decoder.insert(decoder),
                None => {
                    let _ = stream.malformed.report(
                        line,
                        "unknown",
                        "the format of this stream is not known yet: its first line is neither a Zeek header nor JSON; set `decoder` on the source",
                    );
                    return LineOutcome::Malformed;
                }
            },
        };
        let record = match decoder.decode(data) {
            Ok(Some(record)) => record,
            Ok(None) => return LineOutcome::Skipped,
            Err(err) => {
                let _ = stream.malformed.report(line, decoder.format(), &err.message);
                return LineOutcome::Malformed;
            }
        };
        self.hits.clear();
        if !snapshot.matcher().match_record(&record, &mut self.hits) {
            return LineOutcome::Event;
        }
        self.hits
            .retain(|hit| !snapshot.is_allowlisted(record.observables[hit.observable].field, &hit.atomic));
        if self.hits.is_empty() {
            return LineOutcome::Event;
        }
        let location = line.path.map(|path| LineLocation {
            path,
            offset: line.offset.unwrap_or(0),
        });
        let alert = snapshot
            .builder()
            .build_at(&record, &self.hits, data, location, now);
        out.push(snapshot.detection(alert));
        LineOutcome::Alert
    }
}

/// Opens the decoder a new stream starts with: a fixed format, or for a file
/// read from the middle, the format its header lines give (with the
/// decoder primed by them). `None` when the first line decides.
fn open_decoder(choice: DecoderChoice, line: LineIn<'_>) -> Option<Box<dyn Decoder>> {
    let resumed_file = match (line.path, line.offset) {
        (Some(path), Some(offset)) if offset > 0 => Some(path),
        _ => None,
    };
    let header = resumed_file.map(|path| read_header(path)).unwrap_or_default();
    let format = choice
        .resolve(&header.concat())
        .or_else(|| detect_format(line.data))?;
    let mut decoder = new_decoder(format);
    for header_line in &header {
        // Header lines carry no event; a bad one shows again on the data.
        let _ = decoder.decode(header_line);
    }
    Some(decoder)
}

/// Reads the leading `#` lines of a file, each with its newline, for a
/// decoder that starts in the middle of it.
fn read_header(path: &str) -> Vec<Vec<u8>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!(path, error = %err, "cannot read the header lines of a resumed file; its lines are decoded without them");
            return Vec::new();
        }
    };
    let mut reader = BufReader::new(std::io::Read::take(file, MAX_HEADER_BYTES));
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if !line.starts_with(b"#") || !line.ends_with(b"\n") {
            break;
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;

    #[test]
    fn malformed_logging_resumes_after_window() {
        let source: Arc<str> = Arc::from("syslog");
        let line = LineIn {
            source: &source,
            path: None,
            offset: None,
            data: b"garbage",
        };
        let mut log = MalformedLog::default();
        let logged: Vec<bool> = (0..8).map(|_| log.report(line, "syslog", "bad")).collect();
        assert_eq!(logged, [true, true, true, true, true, false, false, false]);
        assert_eq!(log.unlogged, 3);

        // A window later, lines are logged again.
        log.window_start = Instant::now()
            .checked_sub(MALFORMED_LOG_WINDOW)
            .expect("the clock is past one window");
        assert!(log.report(line, "syslog", "bad"));
        assert_eq!(log.unlogged, 0);
        assert_eq!(log.logged, 1);
    }
}
