//! One open plain file: reading its new lines, its checkpoints, and finding
//! its rotated form among its siblings.

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{FileId, GZIP_MAGIC, READ_BUDGET, READ_CHUNK, Stopped, parent_dir};
use crate::sources::{
    Batch, BatchBuilder, Checkpoint, ErrorKind, FINGERPRINT_BYTES, LineSplitter, SourceLine, SourceMetrics,
    fingerprint,
};

/// One open plain (not compressed) file.
pub(super) struct Tail {
    /// Configured path, put into lines and checkpoints.
    pub(super) key: Arc<str>,
    pub(super) file: File,
    pub(super) id: FileId,
    pub(super) splitter: LineSplitter,
    /// The file's first bytes, up to [`FINGERPRINT_BYTES`], as last read.
    pub(super) head: Vec<u8>,
    /// Whether batches of this file carry checkpoints. A renamed file stops
    /// carrying them once the new file at its path has sent one.
    pub(super) checkpointed: bool,
    /// For a renamed file: when to close it if it does not grow.
    pub(super) linger_until: Option<Instant>,
}

impl Tail {
    pub(super) fn open(
        key: &Arc<str>,
        file: File,
        id: FileId,
        head: Vec<u8>,
        offset: u64,
        max_line: usize,
    ) -> io::Result<Self> {
        let mut file = file;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self {
            key: Arc::clone(key),
            file,
            id,
            splitter: LineSplitter::new(offset, max_line),
            head,
            checkpointed: true,
            linger_until: None,
        })
    }

    /// Builds the checkpoint for reading standing at `offset`.
    pub(super) fn checkpoint(&mut self, source: &str, offset: u64) -> Checkpoint {
        let covered = fingerprint_len(offset);
        if self.head.len() < covered
            && let Ok(head) = read_head(&self.file)
        {
            self.head = head;
        }
        let covered = covered.min(self.head.len());
        Checkpoint {
            source: source.to_owned(),
            path: self.key.to_string(),
            device: self.id.device,
            inode: self.id.inode,
            offset,
            fingerprint: fingerprint(&self.head[..covered]),
        }
    }

    /// Checks whether the file was truncated: it is shorter than what was
    /// read, or its first bytes differ from those read before.
    pub(super) fn is_truncated(&self) -> bool {
        let shorter = self
            .file
            .metadata()
            .is_ok_and(|metadata| metadata.len() < self.splitter.end());
        shorter || self.head_changed()
    }

    /// Checks whether the file's first bytes differ from those read before,
    /// which means it was truncated and written again.
    fn head_changed(&self) -> bool {
        let mut current = vec![0; self.head.len()];
        match read_exact_at(&self.file, &mut current, 0) {
            Ok(read) => read < self.head.len() || current != self.head,
            Err(_) => false,
        }
    }
}

/// Number of leading bytes a fingerprint at `offset` covers.
pub(super) fn fingerprint_len(offset: u64) -> usize {
    usize::try_from(offset).map_or(FINGERPRINT_BYTES, |offset| offset.min(FINGERPRINT_BYTES))
}

/// The batch sender of the reading thread, with its metrics.
pub(super) struct Output {
    pub(super) name: Arc<str>,
    pub(super) tx: mpsc::Sender<Batch>,
    pub(super) shutdown: CancellationToken,
    pub(super) handle: Handle,
    pub(super) metrics: SourceMetrics,
    pub(super) batch: BatchBuilder,
}

impl Output {
    /// Sends `batch`, waiting for room in the channel.
    pub(super) fn send(&self, batch: Batch) -> Result<(), Stopped> {
        let lines = batch.lines.len();
        let result = self.handle.block_on(async {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => Err(Stopped),
                sent = self.tx.send(batch) => sent.map_err(|_| Stopped),
            }
        });
        if result.is_ok() && lines > 0 {
            tracing::trace!(source = %self.name, lines, "batch sent");
        }
        result
    }

    /// Sends the collected lines of `tail` in batches, each with the
    /// checkpoint after its last line when the tail carries checkpoints.
    /// With `all` false, only full batches are sent.
    pub(super) fn flush(&mut self, tail: &mut Tail, all: bool) -> Result<bool, Stopped> {
        let mut checkpointed = false;
        while self.batch.is_full() || (all && !self.batch.is_empty()) {
            let mut batch = self.batch.take(None);
            let next = self
                .batch
                .first_offset()
                .unwrap_or_else(|| tail.splitter.offset());
            if tail.checkpointed {
                batch.checkpoint = Some(tail.checkpoint(&self.name, next));
                checkpointed = true;
            }
            self.metrics.count_batch(&batch.lines);
            self.send(batch)?;
        }
        Ok(checkpointed)
    }
}

/// Reads `tail` from its current offset, up to [`READ_BUDGET`] bytes, and sends
/// its complete lines. Returns whether the end of the file was reached.
/// `retired` contains the renamed files whose checkpoints this tail's first
/// checkpoint supersedes.
pub(super) fn read_tail(out: &mut Output, tail: &mut Tail, retired: &mut [Tail]) -> Result<bool, Stopped> {
    let mut read_total = 0;
    let at_end = loop {
        let received = Instant::now();
        match tail.splitter.read_from(&mut tail.file, READ_CHUNK) {
            Ok(0) => break true,
            Ok(read) => read_total += read,
            Err(error) => {
                out.metrics.error(ErrorKind::Read);
                tracing::warn!(source = %out.name, path = %tail.key, %error, "reading the file failed; retrying at the next poll");
                break true;
            }
        }
        let key = &tail.key;
        let batch = &mut out.batch;
        let dropped = tail.splitter.split(|data, offset| {
            batch.push(SourceLine {
                data,
                path: Some(Arc::clone(key)),
                offset: Some(offset),
                peer: None,
                received,
            });
        });
        if dropped > 0 {
            out.metrics.errors(ErrorKind::TooLong, dropped);
            tracing::warn!(source = %out.name, path = %tail.key, dropped, max_line_bytes = tail.splitter.max_line(), "dropped lines longer than max_line_bytes; this limit of a file source is fixed at build time and cannot be set in the configuration, so split such lines before they reach iocwatch");
        }
        if out.flush(tail, false)? {
            supersede(retired, &tail.key);
        }
        if read_total >= READ_BUDGET {
            break false;
        }
    };
    if out.flush(tail, true)? {
        supersede(retired, &tail.key);
    }
    Ok(at_end)
}

/// Stops checkpoints from renamed files of `key`, now that the new file at
/// `key` has sent one.
pub(super) fn supersede(retired: &mut [Tail], key: &Arc<str>) {
    for tail in retired.iter_mut().filter(|tail| tail.key == *key) {
        tail.checkpointed = false;
    }
}

/// A file looked for among the siblings of a rotated or truncated file.
pub(super) struct SiblingQuery {
    /// Device and inode it must have (a renamed file), or `None` for a copy.
    pub(super) id: Option<FileId>,
    /// It must be at least this long.
    pub(super) offset: u64,
    pub(super) fingerprint: u64,
    /// Leading bytes `fingerprint` covers.
    pub(super) covered: usize,
}

/// Looks for the rotated form of `path` next to it: a file whose name starts
/// with `path`'s name (`app.log.1`, `app.log-20240101`), that is not gzip
/// compressed, and whose first bytes match. Among copies, the most recently
/// modified wins.
pub(super) fn find_sibling(path: &Path, query: &SiblingQuery) -> Option<(PathBuf, File, FileId, Vec<u8>)> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let entries = fs::read_dir(parent_dir(path)).ok()?;
    let mut best: Option<(std::time::SystemTime, PathBuf, File, FileId, Vec<u8>)> = None;
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if entry_name.len() <= name.len() || !entry_name.starts_with(&name) {
            continue;
        }
        let candidate = entry.path();
        let Ok(file) = File::open(&candidate) else {
            continue;
        };
        let Ok(metadata) = file.metadata() else {
            continue;
        };
        let id = FileId::of(&metadata);
        if !metadata.is_file()
            || metadata.len() < query.offset
            || query.id.is_some_and(|required| required != id)
        {
            continue;
        }
        let Ok(head) = read_head(&file) else {
            continue;
        };
        if head.starts_with(&GZIP_MAGIC)
            || head.len() < query.covered
            || fingerprint(&head[..query.covered]) != query.fingerprint
        {
            continue;
        }
        let modified = metadata.modified().unwrap_or(std::time::UNIX_EPOCH);
        if best
            .as_ref()
            .is_none_or(|(best_modified, ..)| modified > *best_modified)
        {
            best = Some((modified, candidate, file, id, head));
        }
    }
    best.map(|(_, path, file, id, head)| (path, file, id, head))
}

/// Reads the first bytes of a file, up to [`FINGERPRINT_BYTES`].
pub(super) fn read_head(file: &File) -> io::Result<Vec<u8>> {
    let mut head = vec![0; FINGERPRINT_BYTES];
    let read = read_exact_at(file, &mut head, 0)?;
    head.truncate(read);
    Ok(head)
}

/// Fills `buffer` from `offset` on, short only at the end of the file.
pub(super) fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Returns the offset just past the last newline of a file of `length`
/// bytes, looking at its last 64 KiB; `length` when none is found there.
pub(super) fn last_line_end(file: &File, length: u64) -> u64 {
    let window = length.min(64 * 1024);
    let mut tail = vec![0; usize::try_from(window).unwrap_or(0)];
    let start = length - window;
    match read_exact_at(file, &mut tail, start) {
        Ok(read) => match memchr::memrchr(b'\n', &tail[..read]) {
            Some(newline) => start + newline as u64 + 1,
            None if read < tail.len() => start,
            None => length,
        },
        Err(_) => length,
    }
}
