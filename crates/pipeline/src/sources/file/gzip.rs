//! Gzip-compressed files, read once from start to end.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Instant;

use super::tail::{Output, fingerprint_len};
use super::{FileId, READ_CHUNK, Stopped};
use crate::sources::{Checkpoint, ErrorKind, LineSplitter, SourceLine, fingerprint};

/// A gzip file, read once when it has stopped changing.
pub(super) struct GzipFile {
    pub(super) file: File,
    pub(super) id: FileId,
    /// Compressed length at the last look.
    pub(super) length: u64,
    pub(super) head: Vec<u8>,
    /// Read to its end (or to damage that stops decompression).
    pub(super) done: bool,
}

/// Reads a whole gzip file and sends its lines; the last batch carries the
/// checkpoint that marks the file done.
pub(super) fn read_gzip(
    out: &mut Output,
    key: &Arc<str>,
    gzip: &mut GzipFile,
    max_line: usize,
) -> Result<(), Stopped> {
    if let Err(error) = gzip.file.seek(SeekFrom::Start(0)) {
        out.metrics.error(ErrorKind::Read);
        tracing::warn!(source = %out.name, path = %key, %error, "cannot read the gzip file");
        return Ok(());
    }
    let mut decoder = flate2::read::MultiGzDecoder::new(BufReader::new(&gzip.file));
    let mut splitter = LineSplitter::new(0, max_line);
    loop {
        let received = Instant::now();
        let result = splitter.read_from(&mut decoder, READ_CHUNK);
        let last = match &result {
            Ok(0) => splitter.finish(),
            _ => None,
        };
        let batch = &mut out.batch;
        let mut line = |data, offset| {
            batch.push(SourceLine {
                data,
                path: Some(Arc::clone(key)),
                offset: Some(offset),
                peer: None,
                received,
            });
        };
        let dropped = match last {
            Some((data, offset)) => {
                line(data, offset);
                0
            }
            None => splitter.split(line),
        };
        out.metrics.errors(ErrorKind::TooLong, dropped);
        while out.batch.is_full() {
            let batch = out.batch.take(None);
            out.metrics.count_batch(&batch.lines);
            out.send(batch)?;
        }
        match result {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                out.metrics.error(ErrorKind::Gzip);
                tracing::warn!(source = %out.name, path = %key, decompressed_offset = splitter.end(), %error, "gzip file is damaged; the lines after the damage are not read");
                break;
            }
        }
    }
    let covered = fingerprint_len(gzip.length).min(gzip.head.len());
    let mut batch = out.batch.take(None);
    batch.checkpoint = Some(Checkpoint {
        source: out.name.to_string(),
        path: key.to_string(),
        device: gzip.id.device,
        inode: gzip.id.inode,
        offset: gzip.length,
        fingerprint: fingerprint(&gzip.head[..covered]),
    });
    out.metrics.count_batch(&batch.lines);
    out.send(batch)?;
    tracing::debug!(source = %out.name, path = %key, lines = splitter.end(), "gzip file read to its end");
    Ok(())
}
