//! The result of loading a watchlist: its indicators and a report of what
//! was loaded, skipped and noted, line by line.

use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;

use hashbrown::HashTable;
use iocwatch_model::{
    Indicator, IndicatorError, IndicatorValue, KindHint, Meta, Note, Origin, ParseOptions, Parsed,
    parse_indicator,
};
use rayon::prelude::*;

use crate::error::LineError;
use crate::lines::excerpt;
use crate::load::IntelFormat;

/// A loaded watchlist.
#[derive(Debug, Clone)]
pub struct Watchlist {
    /// The watchlist name, shown as `feed.name` in alerts.
    pub name: String,
    /// The path or other source name as the caller gave it.
    pub source: String,
    /// The format the file was read as.
    pub format: IntelFormat,
    /// The indicators in file order, each value once.
    pub indicators: Vec<Indicator>,
    /// Counts, rejected lines and notes.
    pub report: LoadReport,
}

/// The outcome of loading a watchlist: counts, rejected values and notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Lines read, including comments and blank lines.
    pub lines: u64,
    /// Indicators loaded, after removing duplicates.
    pub loaded: u64,
    /// Values skipped because an earlier line had the same normalised value.
    pub duplicates: u64,
    /// Values and lines rejected as malformed or too broad.
    pub rejected: Vec<Rejection>,
    /// Addresses dropped because they can never be a remote party
    /// (unspecified, loopback, multicast, limited broadcast).
    pub dropped: Vec<Rejection>,
    /// Notes on loaded indicators, such as re-typed values and internal
    /// addresses.
    pub notes: Vec<NoteEntry>,
}

impl LoadReport {
    /// Returns a one-line count summary, such as
    /// `989 lines: 985 loaded, 2 duplicates, 1 rejected, 1 dropped, 0 notes`.
    pub fn summary(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} line{} read; indicators: {} loaded, {} duplicate, {} rejected, {} dropped, {} with notes",
            self.lines,
            if self.lines == 1 { "" } else { "s" },
            self.loaded,
            self.duplicates,
            self.rejected.len(),
            self.dropped.len(),
            self.notes.len()
        )
    }
}

/// A value or line that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number; for a CSV record over several lines, its first.
    pub line: u64,
    /// The value as written, or the start of the line when the line as a
    /// whole is malformed; cut to 200 characters.
    pub value: String,
    /// The reason.
    pub error: LineError,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {:?}: {}", self.line, self.value, self.error)
    }
}

/// A note on a loaded indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteEntry {
    /// 1-based line number.
    pub line: u64,
    /// The value as written.
    pub value: String,
    /// The note.
    pub note: Note,
}

impl fmt::Display for NoteEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {:?}: {}", self.line, self.value, self.note)
    }
}

/// Number of values and rejections that [`Collector`] queues before they
/// go to the [`Parser`] as a batch.
const BATCH: usize = 8192;

/// Bytes of value text that [`Collector`] queues before they go to the
/// [`Parser`] as a batch. With [`BATCH`], it bounds the memory the queue
/// takes.
const BATCH_TEXT: usize = 1 << 20;

/// Minimum number of queued entries that are parsed on several threads.
/// Below it, handing the work to other threads costs more than it saves.
const PARALLEL_MIN: usize = 1024;

/// Queues the values that a decoder finds, with the rejections between
/// them, for a [`Parser`].
#[derive(Default)]
pub(crate) struct Collector {
    batch: Batch,
}

/// Values and rejections in input order, taken from a [`Collector`].
#[derive(Default)]
pub(crate) struct Batch {
    entries: Vec<Entry>,
    /// The text of every value, one after the other, so that queuing a
    /// value needs no allocation of its own.
    text: String,
}

/// Returns the value at `range` of the text of a [`Batch`].
fn value_at<'t>(text: &'t str, range: &Range<usize>) -> &'t str {
    // Every range was taken when a whole `&str` was appended.
    text.get(range.clone()).unwrap_or_default()
}

/// A value to parse or a rejection, in input order.
enum Entry {
    Value {
        line: u64,
        /// Byte range of the value, without surrounding white space, in the
        /// text of its batch.
        raw: Range<usize>,
        hint: Option<KindHint>,
        meta: Arc<Meta>,
    },
    Rejected(Box<Rejection>),
}

impl Collector {
    /// Queues `raw` to be parsed and added unless it is rejected, dropped
    /// or a duplicate of an earlier value.
    pub(crate) fn add(&mut self, line: u64, raw: &str, hint: Option<KindHint>, meta: &Arc<Meta>) {
        // A value that starts and ends with a printable ASCII byte has no
        // white space to trim, and most values do.
        let printable_ends = |bytes: &[u8]| {
            bytes.first().is_some_and(u8::is_ascii_graphic) && bytes.last().is_some_and(u8::is_ascii_graphic)
        };
        let raw = if printable_ends(raw.as_bytes()) {
            raw
        } else {
            raw.trim()
        };
        let text = &mut self.batch.text;
        let start = text.len();
        text.push_str(raw);
        let raw = start..text.len();
        self.batch.entries.push(Entry::Value {
            line,
            raw,
            hint,
            meta: Arc::clone(meta),
        });
    }

    /// Records a value or line that is not loaded, as rejected or dropped.
    pub(crate) fn reject(&mut self, line: u64, value: &str, error: LineError) {
        self.batch.entries.push(Entry::Rejected(Box::new(Rejection {
            line,
            value: excerpt(value),
            error,
        })));
    }

    /// Returns true once the queue contains a whole batch.
    pub(crate) fn is_full(&self) -> bool {
        self.batch.entries.len() >= BATCH || self.batch.text.len() >= BATCH_TEXT
    }

    /// Takes the queued entries.
    pub(crate) fn take(&mut self) -> Batch {
        std::mem::take(&mut self.batch)
    }
}

/// Parses batches of values into indicators, dropping duplicates and
/// recording every rejection and note.
///
/// Parsing is most of the time it takes to load a large list, so each
/// batch is parsed on all cores, while the batch before it is added.
/// Duplicates, rejections and notes still come out in input order.
pub(crate) struct Parser {
    parse: ParseOptions,
    /// The batch pushed last, parsed and not yet added.
    parsed: Option<ParsedBatch>,
    added: Added,
}

impl Parser {
    pub(crate) fn new(source: &str, parse: ParseOptions) -> Self {
        Self {
            parse,
            parsed: None,
            added: Added::new(Arc::from(source)),
        }
    }

    /// Parses `batch` and meanwhile adds the batch pushed before. Adding
    /// keeps input order, so it runs on one thread, beside the parse.
    pub(crate) fn push(&mut self, batch: Batch) {
        let options = self.parse;
        let hasher = self.added.hasher.clone();
        let parse = move || {
            let parse_one = |entry| parse_entry(entry, &batch, options, &hasher);
            let results = if batch.entries.len() >= PARALLEL_MIN {
                batch.entries.par_iter().map(parse_one).collect()
            } else {
                batch.entries.iter().map(parse_one).collect()
            };
            ParsedBatch { batch, results }
        };
        let parsed = match self.parsed.take() {
            Some(earlier) => rayon::join(parse, || self.added.add_batch(earlier)).0,
            None => parse(),
        };
        self.parsed = Some(parsed);
    }

    /// Returns the indicators and the report, with `lines` as the line count.
    pub(crate) fn finish(mut self, lines: u64) -> (Vec<Indicator>, LoadReport) {
        if let Some(last) = self.parsed.take() {
            self.added.add_batch(last);
        }
        let mut report = self.added.report;
        report.lines = lines;
        report.loaded = self.added.indicators.len() as u64;
        (self.added.indicators, report)
    }
}

/// The result of parsing one entry: the indicator with the hash of its
/// value and the value as written, `None` for a rejection.
type ParseResult = Option<Result<(u64, Parsed, String), IndicatorError>>;

/// Entries with the results of parsing them.
struct ParsedBatch {
    batch: Batch,
    results: Vec<ParseResult>,
}

/// Parses one entry of `batch` and hashes its value with `hasher`.
fn parse_entry(
    entry: &Entry,
    batch: &Batch,
    options: ParseOptions,
    hasher: &foldhash::fast::RandomState,
) -> ParseResult {
    match entry {
        Entry::Value { raw, hint, .. } => {
            let raw = value_at(&batch.text, raw);
            Some(
                parse_indicator(raw, *hint, options)
                    .map(|parsed| (hasher.hash_one(&parsed.value), parsed, raw.to_owned())),
            )
        }
        Entry::Rejected(_) => None,
    }
}

/// The indicators added so far, with what finds duplicates among them.
struct Added {
    source: Arc<str>,
    indicators: Vec<Indicator>,
    /// Indexes into `indicators` with the hash of their value, so that
    /// duplicates are found without a second copy of every value, and
    /// growing the table does not hash every value again.
    seen: HashTable<(u64, usize)>,
    hasher: foldhash::fast::RandomState,
    report: LoadReport,
}

impl Added {
    fn new(source: Arc<str>) -> Self {
        Self {
            source,
            indicators: Vec::new(),
            seen: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            report: LoadReport::default(),
        }
    }

    /// Adds a parsed batch, in order.
    fn add_batch(&mut self, parsed: ParsedBatch) {
        let ParsedBatch {
            batch: Batch { entries, text },
            results,
        } = parsed;
        for (entry, result) in entries.into_iter().zip(results) {
            match (entry, result) {
                (Entry::Value { line, meta, .. }, Some(Ok((hash, Parsed { value, notes }, raw)))) => {
                    self.insert(line, raw, hash, value, notes, meta);
                }
                (Entry::Value { line, raw, .. }, Some(Err(error))) => {
                    self.report.push(Rejection {
                        line,
                        value: excerpt(value_at(&text, &raw)),
                        error: error.into(),
                    });
                }
                (Entry::Rejected(rejection), _) => self.report.push(*rejection),
                // The parse gives every value a result.
                (Entry::Value { .. }, None) => {}
            }
        }
    }

    /// Adds an indicator whose value has `hash`, unless it is a duplicate.
    fn insert(
        &mut self,
        line: u64,
        raw: String,
        hash: u64,
        value: IndicatorValue,
        notes: Vec<Note>,
        meta: Arc<Meta>,
    ) {
        let Self {
            source,
            indicators,
            seen,
            report,
            ..
        } = self;
        let is_same =
            |&(other_hash, index): &(u64, usize)| other_hash == hash && indicators[index].value == value;
        if seen.find(hash, is_same).is_some() {
            report.duplicates += 1;
            return;
        }
        seen.insert_unique(hash, (hash, indicators.len()), |&(stored, _)| stored);
        for note in notes {
            report.notes.push(NoteEntry {
                line,
                value: raw.clone(),
                note,
            });
        }
        indicators.push(Indicator {
            value,
            original: raw,
            meta,
            origin: Origin {
                source: Arc::clone(source),
                line,
            },
        });
    }
}

impl LoadReport {
    /// Records a value or line that is not loaded, as rejected or dropped.
    fn push(&mut self, rejection: Rejection) {
        if rejection.error.is_dropped() {
            self.dropped.push(rejection);
        } else {
            self.rejected.push(rejection);
        }
    }
}

/// Shares one `Arc<Meta>` between consecutive indicators with equal
/// metadata, which is the common case in Zeek intel files and plain lists.
#[derive(Debug, Default)]
pub(crate) struct MetaCache {
    last: Arc<Meta>,
}

impl MetaCache {
    pub(crate) fn share(&mut self, meta: Meta) -> Arc<Meta> {
        if *self.last != meta {
            self.last = Arc::new(meta);
        }
        Arc::clone(&self.last)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn collect(values: &[&str]) -> (Vec<Indicator>, LoadReport) {
        let mut collector = Collector::default();
        let meta = Arc::new(Meta::default());
        for (index, value) in values.iter().enumerate() {
            collector.add(index as u64 + 1, value, None, &meta);
        }
        let mut parser = Parser::new("test.txt", ParseOptions::default());
        parser.push(collector.take());
        parser.finish(values.len() as u64)
    }

    #[test]
    fn duplicates_counted_first_kept() {
        let (indicators, report) =
            collect(&["Evil.Example", "evil.example.", "198.51.100.7", "evil.example"]);
        assert_eq!(indicators.len(), 2);
        assert_eq!(report.duplicates, 2);
        assert_eq!(indicators[0].original, "Evil.Example");
        assert_eq!(indicators[0].origin.line, 1);
    }

    #[test]
    fn rejected_and_dropped_separated() {
        let (indicators, report) = collect(&["127.0.0.1", "0.0.0.0/0", "not a value", "192.0.2.0/24"]);
        assert_eq!(indicators.len(), 1);
        assert_eq!(report.dropped.len(), 1);
        assert_eq!(report.dropped[0].line, 1);
        let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn notes_recorded_with_line() {
        let (_, report) = collect(&["192.0.2.1", "10.1.2.3"]);
        assert_eq!(report.notes.len(), 1);
        assert_eq!(report.notes[0].line, 2);
        assert_eq!(report.notes[0].note, Note::InternalAddress);
    }

    #[test]
    fn summary_counts() {
        let (_, report) = collect(&["192.0.2.1", "192.0.2.1", "127.0.0.1", "com", "10.0.0.1"]);
        assert_eq!(
            report.summary(),
            "5 lines read; indicators: 2 loaded, 1 duplicate, 1 rejected, 1 dropped, 1 with notes"
        );
    }

    #[test]
    fn batches_keep_input_order() {
        // Several batches of values, rejections, drops and duplicates.
        let mut collector = Collector::default();
        let mut parser = Parser::new("test.txt", ParseOptions::default());
        let meta = Arc::new(Meta::default());
        let count = 3 * BATCH + 17;
        for line in 1..=count as u64 {
            match line % 5 {
                0 => collector.reject(line, "bad line", LineError::TooLong { max: 1 }),
                1 => collector.add(line, "not a value", None, &meta),
                2 => collector.add(line, "127.0.0.1", None, &meta),
                _ => collector.add(line, &format!(" host{}.example ", line / 10), None, &meta),
            }
            if collector.is_full() {
                parser.push(collector.take());
            }
        }
        parser.push(collector.take());
        let (indicators, report) = parser.finish(count as u64);

        let lines: Vec<u64> = indicators.iter().map(|indicator| indicator.origin.line).collect();
        let expected: Vec<u64> = (1..=count as u64).filter(|line| line % 10 == 3).collect();
        assert_eq!(lines, expected);
        assert_eq!(indicators[0].original, "host0.example");
        let host_lines = (1..=count).filter(|line| line % 5 >= 3).count();
        assert_eq!(report.duplicates, (host_lines - expected.len()) as u64);
        let rejected: Vec<u64> = report.rejected.iter().map(|rejection| rejection.line).collect();
        let expected: Vec<u64> = (1..=count as u64)
            .filter(|line| line % 5 == 0 || line % 5 == 1)
            .collect();
        assert_eq!(rejected, expected);
        assert_eq!(
            report.dropped.len(),
            (1..=count).filter(|line| line % 5 == 2).count()
        );
    }

    #[test]
    fn meta_cache_shares_equal_meta() {
        let mut cache = MetaCache::default();
        let first = cache.share(Meta {
            provider: Some("a".to_owned()),
            ..Meta::default()
        });
        let second = cache.share(Meta {
            provider: Some("a".to_owned()),
            ..Meta::default()
        });
        let third = cache.share(Meta {
            provider: Some("b".to_owned()),
            ..Meta::default()
        });
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!Arc::ptr_eq(&second, &third));
    }
}
