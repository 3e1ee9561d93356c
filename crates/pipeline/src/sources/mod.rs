//! Event sources of the `iocwatch run` service: log files (tailed, rotated,
//! gzip-compressed), syslog over UDP and TCP, and standard input.
//!
//! Every source sends [`Batch`]es of raw lines into a bounded
//! `tokio::sync::mpsc` channel. A full channel stops the source from reading
//! further, so a slow consumer slows the sources down instead of growing memory.
//! A batch from a file carries a [`Checkpoint`], the read position of that
//! file after the batch's last line. The consumer stores the checkpoint in
//! the same transaction as the alerts of the batch, and on the next start a
//! [`CheckpointLoad`] hands it back, so a restart repeats no line and loses
//! none.
//!
//! Each source counts through the `metrics` facade, labelled with the
//! source's name:
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `iocwatch_source_lines_total{source}` | counter | lines (syslog: messages) sent on |
//! | `iocwatch_source_bytes_total{source}` | counter | bytes of those lines |
//! | `iocwatch_source_errors_total{source,kind}` | counter | problems, by kind (see [`ErrorKind`]) |
//! | `iocwatch_source_connections_total{source}` | counter | TCP connections accepted (syslog) |
//! | `iocwatch_source_connections_open{source}` | gauge | TCP connections open now (syslog) |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use metrics::{Counter, counter};

#[cfg(unix)]
pub mod file;
pub mod stdin;
pub mod syslog;

#[cfg(unix)]
pub use file::{FileSource, FileSourceConfig, StartAt};
pub use stdin::{StdinSource, StdinSourceConfig};
pub use syslog::{SyslogSource, SyslogSourceConfig};

/// Number of leading bytes of a file that its [`Checkpoint::fingerprint`]
/// covers, at most.
pub const FINGERPRINT_BYTES: usize = 1024;

/// Lines sent in one [`Batch`] at most, unless a source is configured otherwise.
pub const DEFAULT_BATCH_LINES: usize = 1024;

/// Line bytes sent in one [`Batch`] at most (a single longer line still goes out
/// alone).
const BATCH_BYTES: usize = 1024 * 1024;

/// A group of lines from one source, sent through the source's channel.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Name of the source, as configured.
    pub source: Arc<str>,
    /// The lines, in the order they were read.
    pub lines: Vec<SourceLine>,
    /// Read position after the last line of the batch, for a file source.
    /// `None` for sources that cannot resume (syslog, stdin), for a gzip
    /// file still being read, and for late lines of a rotated file.
    /// A batch can carry a checkpoint and no lines, for example when a gzip
    /// file has been read to its end.
    pub checkpoint: Option<Checkpoint>,
    /// Notified once the batch's alerts and read position are stored, for a
    /// sender that responds only after that (HTTP ingest). `None` for the
    /// sources of this module.
    pub stored: Option<tokio::sync::mpsc::Sender<()>>,
}

/// One line or message as received, without its line terminator.
#[derive(Debug, Clone)]
pub struct SourceLine {
    /// The bytes of the line. A file line keeps a trailing `\r`; a syslog
    /// message has trailing `\r`, `\n` and NUL bytes removed.
    pub data: Bytes,
    /// The configured path of the file the line was read from (the path the
    /// file was found under, also after it has been renamed by rotation).
    pub path: Option<Arc<str>>,
    /// Byte offset of the line's first byte in the file or stream. For a gzip
    /// file, the offset in the decompressed data.
    pub offset: Option<u64>,
    /// Address of the sender, for syslog.
    pub peer: Option<SocketAddr>,
    /// When the source read the line.
    pub received: Instant,
}

/// Read position in one file, and the identity that recognises the file
/// again; the store keeps it with the alerts of the same batch. Its
/// `fingerprint` is [`fingerprint`] of the file's first
/// `min(offset, FINGERPRINT_BYTES)` bytes.
pub use iocwatch_store::Checkpoint;

/// Loads the checkpoint stored for a file, so a source resumes where it stopped.
pub trait CheckpointLoad: Send + Sync {
    /// Returns the last checkpoint stored for `path` of `source`, if any.
    fn load(&self, source: &str, path: &str) -> Option<Checkpoint>;
}

/// Checkpoints kept in memory: for runs without a database, and for tests.
#[derive(Debug, Default)]
pub struct MemoryCheckpoints {
    entries: Mutex<HashMap<(String, String), Checkpoint>>,
}

impl MemoryCheckpoints {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `checkpoint`, replacing the one of the same source and path.
    pub fn store(&self, checkpoint: &Checkpoint) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.insert(
            (checkpoint.source.clone(), checkpoint.path.clone()),
            checkpoint.clone(),
        );
    }
}

impl CheckpointLoad for MemoryCheckpoints {
    fn load(&self, source: &str, path: &str) -> Option<Checkpoint> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(&(source.to_owned(), path.to_owned())).cloned()
    }
}

/// A checkpoint store that has nothing stored: every file is new.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCheckpoints;

impl CheckpointLoad for NoCheckpoints {
    fn load(&self, _source: &str, _path: &str) -> Option<Checkpoint> {
        None
    }
}

/// Hashes `bytes` with 64-bit FNV-1a. The function is fixed, so fingerprints
/// stored by one version of iocwatch are valid in the next.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// Errors that stop a source from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A file path pattern is not a valid glob.
    #[error(
        "source {source_name}: invalid path pattern {pattern:?}: {reason}; fix the pattern (glob syntax: *, ?, [abc], **)"
    )]
    InvalidPattern {
        /// Name of the source.
        source_name: String,
        /// The pattern as configured.
        pattern: String,
        /// The reason it is invalid.
        reason: String,
    },
    /// A setting has a value the source cannot work with.
    #[error("source {source_name}: invalid setting {setting} = {value}: {reason}")]
    InvalidSetting {
        /// Name of the source.
        source_name: String,
        /// Name of the setting.
        setting: &'static str,
        /// The value as configured.
        value: String,
        /// The values accepted.
        reason: &'static str,
    },
    /// A listening socket could not be bound.
    #[error(
        "source {source_name}: cannot listen on {transport} {address}: {error}; choose a free address and port, or run with the right to bind it (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
    )]
    Bind {
        /// Name of the source.
        source_name: String,
        /// `udp` or `tcp`.
        transport: &'static str,
        /// The address as configured.
        address: SocketAddr,
        /// The operating system's error.
        error: std::io::Error,
    },
}

/// Kinds of problems counted in `iocwatch_source_errors_total{source,kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A configured file does not exist (yet).
    NotFound,
    /// A file could not be opened for lack of permission.
    PermissionDenied,
    /// Opening, reading or inspecting a file or stream failed otherwise.
    Read,
    /// A line or message was longer than the configured maximum and dropped.
    TooLong,
    /// A gzip file is damaged; the lines after the damage are not read.
    Gzip,
    /// A TCP syslog frame header was invalid.
    Framing,
    /// Accepting a TCP connection failed, or the connection limit was reached.
    Accept,
    /// Watching files for changes failed; the source falls back to polling.
    Watch,
    /// A glob pattern could not be evaluated (an unreadable directory).
    Glob,
}

impl ErrorKind {
    /// Returns the value of the `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::PermissionDenied => "permission_denied",
            Self::Read => "read",
            Self::TooLong => "too_long",
            Self::Gzip => "gzip",
            Self::Framing => "framing",
            Self::Accept => "accept",
            Self::Watch => "watch",
            Self::Glob => "glob",
        }
    }
}

/// The counters of one source.
#[derive(Clone)]
pub(crate) struct SourceMetrics {
    name: Arc<str>,
    lines: Counter,
    bytes: Counter,
}

impl SourceMetrics {
    pub(crate) fn new(name: &Arc<str>) -> Self {
        Self {
            name: Arc::clone(name),
            lines: counter!("iocwatch_source_lines_total", "source" => name.to_string()),
            bytes: counter!("iocwatch_source_bytes_total", "source" => name.to_string()),
        }
    }

    /// Counts the lines of a batch about to be sent.
    pub(crate) fn count_batch(&self, lines: &[SourceLine]) {
        let bytes: usize = lines.iter().map(|line| line.data.len()).sum();
        self.lines.increment(lines.len() as u64);
        self.bytes.increment(bytes as u64);
    }

    pub(crate) fn error(&self, kind: ErrorKind) {
        self.errors(kind, 1);
    }

    pub(crate) fn errors(&self, kind: ErrorKind, count: u64) {
        if count > 0 {
            counter!("iocwatch_source_errors_total", "source" => self.name.to_string(), "kind" => kind.as_str())
                .increment(count);
        }
    }
}

/// Splits a byte stream into lines that share the read buffer's memory.
///
/// Lines longer than `max_line` bytes are dropped whole, with a count, and the
/// stream goes on with the next line.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    buffer: BytesMut,
    /// Stream offset of `buffer[0]`.
    offset: u64,
    /// Bytes at the start of `buffer` known to hold no newline.
    scanned: usize,
    max_line: usize,
    /// A line longer than `max_line` is being dropped up to its newline.
    discarding: bool,
}

impl LineSplitter {
    pub(crate) fn new(offset: u64, max_line: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            offset,
            scanned: 0,
            max_line,
            discarding: false,
        }
    }

    /// Stream offset of the first byte not yet returned as part of a line:
    /// the start of the partial line, if any.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Maximum line length, in bytes.
    pub(crate) fn max_line(&self) -> usize {
        self.max_line
    }

    /// Stream offset just past the last byte received.
    pub(crate) fn end(&self) -> u64 {
        self.offset + self.buffer.len() as u64
    }

    /// Returns the buffer to read into; bytes appended to it are split by
    /// the next [`split`](Self::split).
    pub(crate) fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// Reads once from `reader` into the buffer and returns the byte count
    /// (0 at the end of the stream).
    pub(crate) fn read_from(
        &mut self,
        reader: &mut impl std::io::Read,
        chunk: usize,
    ) -> std::io::Result<usize> {
        let start = self.buffer.len();
        self.buffer.resize(start + chunk, 0);
        let result = loop {
            match reader.read(&mut self.buffer[start..]) {
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let read = *result.as_ref().unwrap_or(&0);
        self.buffer.truncate(start + read);
        result
    }

    /// Hands every complete line in the buffer to `emit` with its stream
    /// offset, and returns how many over-long lines were dropped.
    pub(crate) fn split(&mut self, mut emit: impl FnMut(Bytes, u64)) -> u64 {
        let mut dropped = 0;
        let Some(last) = memchr::memrchr(b'\n', &self.buffer[self.scanned..]) else {
            self.scanned = self.buffer.len();
            if self.buffer.len() > self.max_line {
                if !self.discarding {
                    dropped += 1;
                }
                self.discarding = true;
                self.offset += self.buffer.len() as u64;
                self.buffer.clear();
                self.scanned = 0;
            }
            return dropped;
        };
        let complete = self.buffer.split_to(self.scanned + last + 1).freeze();
        let base = self.offset;
        self.offset += complete.len() as u64;
        self.scanned = 0;
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', &complete) {
            let discarding = std::mem::replace(&mut self.discarding, false);
            if discarding {
                // The rest of a line already counted as too long.
            } else if newline - start > self.max_line {
                dropped += 1;
            } else {
                emit(complete.slice(start..newline), base + start as u64);
            }
            start = newline + 1;
        }
        if self.buffer.len() > self.max_line {
            dropped += 1;
            self.discarding = true;
            self.offset += self.buffer.len() as u64;
            self.buffer.clear();
        }
        dropped
    }

    /// Takes the unterminated rest of the stream as a last line, at the end of
    /// a stream that does not end with a newline.
    pub(crate) fn finish(&mut self) -> Option<(Bytes, u64)> {
        let discarding = std::mem::replace(&mut self.discarding, false);
        if self.buffer.is_empty() || discarding {
            self.offset += self.buffer.len() as u64;
            self.buffer.clear();
            return None;
        }
        let offset = self.offset;
        let rest = self.buffer.split().freeze();
        self.offset += rest.len() as u64;
        self.scanned = 0;
        Some((rest, offset))
    }

    /// Drops the buffered partial line and restarts at stream offset `offset`.
    pub(crate) fn reset(&mut self, offset: u64) {
        self.buffer.clear();
        self.offset = offset;
        self.scanned = 0;
        self.discarding = false;
    }
}

/// Collects lines into batches of at most `max_lines` lines and
/// [`BATCH_BYTES`] bytes.
pub(crate) struct BatchBuilder {
    source: Arc<str>,
    lines: Vec<SourceLine>,
    bytes: usize,
    max_lines: usize,
}

impl BatchBuilder {
    pub(crate) fn new(source: &Arc<str>, max_lines: usize) -> Self {
        Self {
            source: Arc::clone(source),
            lines: Vec::new(),
            bytes: 0,
            max_lines: max_lines.max(1),
        }
    }

    pub(crate) fn push(&mut self, line: SourceLine) {
        self.bytes += line.data.len();
        self.lines.push(line);
    }

    pub(crate) fn is_full(&self) -> bool {
        self.lines.len() >= self.max_lines || self.bytes >= BATCH_BYTES
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Offset of the first line not yet taken.
    pub(crate) fn first_offset(&self) -> Option<u64> {
        self.lines.first().and_then(|line| line.offset)
    }

    /// Takes up to `max_lines` of the collected lines, and at most about
    /// [`BATCH_BYTES`] bytes of them, as a batch with `checkpoint`.
    pub(crate) fn take(&mut self, checkpoint: Option<Checkpoint>) -> Batch {
        let mut count = 0;
        let mut bytes = 0;
        while count < self.lines.len() && count < self.max_lines && (count == 0 || bytes < BATCH_BYTES) {
            bytes += self.lines[count].data.len();
            count += 1;
        }
        let lines = if count == self.lines.len() {
            std::mem::take(&mut self.lines)
        } else {
            let rest = self.lines.split_off(count);
            std::mem::replace(&mut self.lines, rest)
        };
        self.bytes -= bytes;
        Batch {
            source: Arc::clone(&self.source),
            lines,
            checkpoint,
            stored: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod counters;
    #[cfg(unix)]
    mod file;
    mod syslog;

    fn split_all(splitter: &mut LineSplitter) -> (Vec<(String, u64)>, u64) {
        let mut lines = Vec::new();
        let dropped = splitter.split(|bytes, offset| {
            lines.push((String::from_utf8_lossy(&bytes).into_owned(), offset));
        });
        (lines, dropped)
    }

    #[test]
    fn splitter_keeps_partial_line() {
        let mut splitter = LineSplitter::new(100, 64);
        splitter.buffer_mut().extend_from_slice(b"ab\ncd");
        let (lines, _) = split_all(&mut splitter);
        assert_eq!(lines, vec![("ab".to_owned(), 100)]);
        assert_eq!(splitter.offset(), 103);
        splitter.buffer_mut().extend_from_slice(b"e\r\n");
        let (lines, _) = split_all(&mut splitter);
        assert_eq!(lines, vec![("cde\r".to_owned(), 103)]);
        assert_eq!(splitter.offset(), 108);
    }

    #[test]
    fn splitter_drops_long_lines() {
        let mut splitter = LineSplitter::new(0, 4);
        splitter.buffer_mut().extend_from_slice(b"12345678");
        let (lines, dropped) = split_all(&mut splitter);
        assert!(lines.is_empty());
        assert_eq!(dropped, 1);
        splitter.buffer_mut().extend_from_slice(b"9\nok\ntoolong\nend");
        let (lines, dropped) = split_all(&mut splitter);
        assert_eq!(lines, vec![("ok".to_owned(), 10)]);
        assert_eq!(dropped, 1);
        assert_eq!(splitter.finish(), Some((Bytes::from_static(b"end"), 21)));
    }

    #[test]
    fn fingerprint_is_fnv1a() {
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
