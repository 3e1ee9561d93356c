//! The reading loop of a file source: which paths to follow, when to look at
//! them, and what to do when they rotate.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use notify::event::ModifyKind;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::gzip::{GzipFile, read_gzip};
use super::tail::{
    Output, SiblingQuery, Tail, find_sibling, fingerprint_len, last_line_end, read_head, read_tail,
};
use super::{
    FileId, FileSource, FileSourceConfig, GZIP_MAGIC, PathPattern, StartAt, Stopped, Wake, parent_dir,
};
use crate::sources::{
    Batch, BatchBuilder, Checkpoint, CheckpointLoad, ErrorKind, SourceMetrics, fingerprint,
};

/// State of one configured or discovered path.
enum State {
    /// Not open: missing, unreadable, or not looked at yet.
    Closed,
    Plain(Tail),
    Gzip(GzipFile),
}

/// A path the source follows.
struct Tracked {
    key: Arc<str>,
    path: PathBuf,
    /// The file's path with symbolic links resolved, where that differs from
    /// `path`. Its directory is watched as well.
    real: Option<PathBuf>,
    /// Configured as a plain path (kept while missing), not found by a glob.
    literal: bool,
    state: State,
    /// A file at this path was opened during this run. Stored checkpoints
    /// apply only before that, because afterwards they lag behind the reading.
    opened: bool,
    /// The problem last logged as a warning, to log each new problem once.
    problem: Option<String>,
}

/// The reading loop of a [`FileSource`], on a blocking thread.
pub(super) struct Tailer {
    config: FileSourceConfig,
    patterns: Vec<PathPattern>,
    exclude: Vec<glob::Pattern>,
    checkpoints: Arc<dyn CheckpointLoad>,
    out: Output,
    wake: Arc<Wake>,
    watcher: Option<RecommendedWatcher>,
    watched_dirs: HashSet<PathBuf>,
    files: HashMap<PathBuf, Tracked>,
    /// Files renamed away by rotation, still read for late lines.
    retired: Vec<Tail>,
    /// Files read to their end under another path during this run, so a glob
    /// that matches their new name does not read them again.
    finished: HashSet<FileId>,
    /// Paths of files that still had data when their read budget ran out.
    busy: HashSet<PathBuf>,
    /// Glob errors already logged, to log each once.
    glob_problems: HashSet<String>,
}

impl Tailer {
    pub(super) fn new(
        source: FileSource,
        tx: mpsc::Sender<Batch>,
        checkpoints: Arc<dyn CheckpointLoad>,
        shutdown: CancellationToken,
        handle: Handle,
        wake: Arc<Wake>,
    ) -> Self {
        let name: Arc<str> = Arc::from(source.config.name.as_str());
        let metrics = SourceMetrics::new(&name);
        let watcher = if source.config.watch {
            create_watcher(&wake, &name, &metrics)
        } else {
            None
        };
        let batch = BatchBuilder::new(&name, source.config.max_batch_lines);
        Self {
            config: source.config,
            patterns: source.patterns,
            exclude: source.exclude,
            checkpoints,
            out: Output {
                name,
                tx,
                shutdown,
                handle,
                metrics,
                batch,
            },
            wake,
            watcher,
            watched_dirs: HashSet::new(),
            files: HashMap::new(),
            retired: Vec::new(),
            finished: HashSet::new(),
            busy: HashSet::new(),
            glob_problems: HashSet::new(),
        }
    }

    pub(super) fn run(&mut self) {
        tracing::info!(source = %self.out.name, paths = ?self.config.paths, inotify = self.watcher.is_some(), "file source started");
        // The loop ends only when the source is stopped.
        let _ = self.loop_until_stopped();
        tracing::info!(source = %self.out.name, "file source stopped");
    }

    fn loop_until_stopped(&mut self) -> Result<(), Stopped> {
        self.discover(true)?;
        let mut full = true;
        let mut next_poll = Instant::now() + self.config.poll_interval;
        loop {
            if self.out.shutdown.is_cancelled() || self.wake.closed.load(Ordering::Acquire) {
                return Err(Stopped);
            }
            let dirty = std::mem::take(&mut *self.wake.dirty.lock().unwrap_or_else(PoisonError::into_inner));
            if self.wake.rescan.swap(false, Ordering::AcqRel) && !full {
                self.discover(false)?;
            }
            self.pass(full, &dirty)?;

            let now = Instant::now();
            if now >= next_poll {
                next_poll = now + self.config.poll_interval;
                self.discover(false)?;
                full = true;
                continue;
            }
            full = false;
            if !self.busy.is_empty() {
                continue;
            }
            // No timer here: timers fail once the runtime shuts down, so the
            // poll ticker of `FileSource::run` wakes this thread instead.
            self.out.handle.block_on(async {
                tokio::select! {
                    biased;
                    () = self.out.shutdown.cancelled() => {}
                    () = self.wake.notify.notified() => {}
                }
            });
        }
    }

    /// Reads the renamed files, then every followed file (`full`) or those
    /// named by events or left with data.
    fn pass(&mut self, full: bool, dirty: &HashSet<PathBuf>) -> Result<(), Stopped> {
        self.read_retired()?;
        let busy = std::mem::take(&mut self.busy);
        let paths: Vec<PathBuf> = if full {
            self.files.keys().cloned().collect()
        } else {
            self.files
                .iter()
                .filter(|(path, tracked)| {
                    dirty.contains(*path)
                        || busy.contains(*path)
                        || tracked.real.as_ref().is_some_and(|real| dirty.contains(real))
                })
                .map(|(path, _)| path.clone())
                .collect()
        };
        for path in paths {
            let Some(mut tracked) = self.files.remove(&path) else {
                continue;
            };
            let result = self.service(&mut tracked, full);
            // A file found by a glob is forgotten once it is gone. One that
            // exists but cannot be opened stays, so its problem is logged once.
            let drop = matches!(tracked.state, State::Closed) && !tracked.literal && !tracked.path.exists();
            if !drop {
                self.files.insert(path, tracked);
            }
            result?;
        }
        Ok(())
    }

    /// Reads what is new in one followed path and handles rotation.
    fn service(&mut self, tracked: &mut Tracked, full: bool) -> Result<(), Stopped> {
        if matches!(tracked.state, State::Closed) {
            self.open(tracked, false)?;
        }
        match &mut tracked.state {
            State::Closed => Ok(()),
            State::Gzip(_) => {
                if full {
                    self.service_gzip(tracked)?;
                }
                Ok(())
            }
            State::Plain(_) => self.service_plain(tracked),
        }
    }

    fn service_plain(&mut self, tracked: &mut Tracked) -> Result<(), Stopped> {
        // Copy and truncate, looked for before reading so that data written
        // after the truncation is never read at the old offset.
        if matches!(&tracked.state, State::Plain(tail) if tail.is_truncated()) {
            self.restart_truncated(tracked)?;
        }
        let State::Plain(tail) = &mut tracked.state else {
            return Ok(());
        };
        let at_end = read_tail(&mut self.out, tail, &mut self.retired)?;
        if !at_end || tail.is_truncated() {
            self.busy.insert(tracked.path.clone());
            return Ok(());
        }

        match fs::metadata(&tracked.path) {
            Ok(metadata) if FileId::of(&metadata) != tail.id => {
                tracing::info!(source = %self.out.name, path = %tracked.key, "file rotated: reading the new file from the start");
                let State::Plain(mut old) = std::mem::replace(&mut tracked.state, State::Closed) else {
                    return Ok(());
                };
                old.linger_until = Some(Instant::now() + self.config.rotated_linger);
                self.retired.push(old);
                self.open(tracked, false)?;
                self.busy.insert(tracked.path.clone());
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let deleted = tail.file.metadata().is_ok_and(|metadata| metadata.nlink() == 0);
                if deleted {
                    tracing::info!(source = %self.out.name, path = %tracked.key, "file deleted after it was read to its end");
                    self.finished.insert(tail.id);
                    tracked.state = State::Closed;
                }
            }
            Err(error) => {
                tracing::debug!(source = %self.out.name, path = %tracked.key, %error, "cannot look at the path; reading the open file on");
            }
        }
        Ok(())
    }

    /// Reads the rest of a truncated file from its copy, then the file again
    /// from offset 0.
    fn restart_truncated(&mut self, tracked: &mut Tracked) -> Result<(), Stopped> {
        let State::Plain(tail) = &mut tracked.state else {
            return Ok(());
        };
        let unread = tail.splitter.offset();
        let covered = fingerprint_len(unread).min(tail.head.len());
        let query = SiblingQuery {
            id: None,
            offset: unread,
            fingerprint: fingerprint(&tail.head[..covered]),
            covered,
        };
        tracing::info!(source = %self.out.name, path = %tracked.key, offset = unread, "file truncated: reading it again from the start");
        if let Some((copy_path, file, id, head)) = find_sibling(&tracked.path, &query) {
            tracing::debug!(source = %self.out.name, path = %tracked.key, copy = %copy_path.display(), "reading the unread end of the file from its copy");
            if let Ok(mut copy) = Tail::open(&tracked.key, file, id, head, unread, self.config.max_line_bytes)
            {
                copy.checkpointed = false;
                while !read_tail(&mut self.out, &mut copy, &mut Vec::new())? {}
                self.finished.insert(id);
            }
        }
        tail.splitter.reset(0);
        if let Err(error) = tail.file.seek(SeekFrom::Start(0)) {
            self.out.metrics.error(ErrorKind::Read);
            tracing::warn!(source = %self.out.name, path = %tracked.key, %error, "cannot rewind the truncated file; reopening it at the next poll");
            tracked.state = State::Closed;
            return Ok(());
        }
        tail.head = read_head(&tail.file).unwrap_or_default();
        Ok(())
    }

    /// Reads the renamed files and closes those that stayed unchanged.
    fn read_retired(&mut self) -> Result<(), Stopped> {
        let mut index = 0;
        while index < self.retired.len() {
            let mut tail = self.retired.swap_remove(index);
            let before = tail.splitter.end();
            let result = read_tail(&mut self.out, &mut tail, &mut Vec::new());
            let now = Instant::now();
            if tail.splitter.end() > before {
                tail.linger_until = Some(now + self.config.rotated_linger);
            }
            let expired = tail.linger_until.is_none_or(|until| now >= until);
            let at_end = matches!(result, Ok(true));
            if expired && at_end {
                self.finished.insert(tail.id);
                tracing::debug!(source = %self.out.name, path = %tail.key, "closed the rotated file");
            } else {
                self.retired.push(tail);
                let last = self.retired.len() - 1;
                self.retired.swap(index, last);
                index += 1;
            }
            result?;
        }
        Ok(())
    }

    fn service_gzip(&mut self, tracked: &mut Tracked) -> Result<(), Stopped> {
        let State::Gzip(gzip) = &mut tracked.state else {
            return Ok(());
        };
        if gzip.done {
            // A new file at the path replaces a finished one.
            if fs::metadata(&tracked.path).is_ok_and(|metadata| FileId::of(&metadata) != gzip.id) {
                tracked.state = State::Closed;
            }
            return Ok(());
        }
        let Ok(metadata) = gzip.file.metadata() else {
            return Ok(());
        };
        // A compressor may still be writing the file: read it only once its
        // size held between two polls and it was not modified for a poll
        // interval. A modification time in the future counts as old.
        let length = metadata.len();
        let age = metadata.modified().map(|modified| modified.elapsed());
        let recent = matches!(age, Ok(Ok(age)) if age < self.config.poll_interval);
        if length != gzip.length || recent {
            gzip.length = length;
            return Ok(());
        }
        gzip.head = read_head(&gzip.file).unwrap_or_default();
        read_gzip(&mut self.out, &tracked.key, gzip, self.config.max_line_bytes)?;
        gzip.done = true;
        Ok(())
    }

    /// Opens the file at a followed path and decides where to start.
    fn open(&mut self, tracked: &mut Tracked, initial: bool) -> Result<(), Stopped> {
        let opened = File::open(&tracked.path).and_then(|file| {
            let metadata = file.metadata()?;
            if metadata.is_dir() {
                return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory"));
            }
            Ok((file, metadata))
        });
        let (file, metadata) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                self.report_open_error(tracked, &error);
                return Ok(());
            }
        };
        let head = match read_head(&file) {
            Ok(head) => head,
            Err(error) => {
                self.report_open_error(tracked, &error);
                return Ok(());
            }
        };
        if let Some(problem) = tracked.problem.take() {
            tracing::info!(source = %self.out.name, path = %tracked.key, previous = %problem, "file is readable now");
        }
        tracked.real = fs::canonicalize(&tracked.path)
            .ok()
            .filter(|real| *real != tracked.path);
        let id = FileId::of(&metadata);
        let length = metadata.len();
        let stored = if tracked.opened {
            None
        } else {
            self.checkpoints.load(&self.out.name, &tracked.key)
        };
        tracked.opened = true;

        if head.starts_with(&GZIP_MAGIC) {
            let done = stored.as_ref().is_some_and(|checkpoint| {
                checkpoint.device == id.device
                    && checkpoint.inode == id.inode
                    && checkpoint.offset == length
                    && checkpoint.fingerprint == fingerprint(&head[..fingerprint_len(length).min(head.len())])
            });
            tracing::debug!(source = %self.out.name, path = %tracked.key, done, "found a gzip file");
            tracked.state = State::Gzip(GzipFile {
                file,
                id,
                length,
                head,
                done,
            });
            return Ok(());
        }

        let offset = match stored {
            Some(checkpoint) => self.resume(tracked, &checkpoint, id, length, &head),
            None if initial && self.config.start_at == StartAt::End => last_line_end(&file, length),
            None => 0,
        };
        match Tail::open(&tracked.key, file, id, head, offset, self.config.max_line_bytes) {
            Ok(mut tail) => {
                tracing::debug!(source = %self.out.name, path = %tracked.key, offset, "following file");
                if initial && offset > 0 {
                    // Record the start, so a restart before the first new line
                    // does not skip the lines written in between.
                    let checkpoint = tail.checkpoint(&self.out.name, offset);
                    self.out.send(Batch {
                        source: Arc::clone(&self.out.name),
                        lines: Vec::new(),
                        checkpoint: Some(checkpoint),
                        stored: None,
                    })?;
                }
                tracked.state = State::Plain(tail);
            }
            Err(error) => self.report_open_error(tracked, &error),
        }
        Ok(())
    }

    /// Returns the offset to start at in a file that has a checkpoint, and
    /// queues the rest of the checkpointed file when it was rotated away.
    fn resume(
        &mut self,
        tracked: &Tracked,
        checkpoint: &Checkpoint,
        id: FileId,
        length: u64,
        head: &[u8],
    ) -> u64 {
        let covered = fingerprint_len(checkpoint.offset);
        let same_file = checkpoint.device == id.device
            && checkpoint.inode == id.inode
            && checkpoint.offset <= length
            && head.len() >= covered
            && fingerprint(&head[..covered]) == checkpoint.fingerprint;
        if same_file {
            tracing::info!(source = %self.out.name, path = %tracked.key, offset = checkpoint.offset, "resuming at the checkpoint");
            return checkpoint.offset;
        }
        let query = SiblingQuery {
            id: Some(FileId {
                device: checkpoint.device,
                inode: checkpoint.inode,
            }),
            offset: checkpoint.offset,
            fingerprint: checkpoint.fingerprint,
            covered,
        };
        let sibling = find_sibling(&tracked.path, &query).or_else(|| {
            let copy = SiblingQuery { id: None, ..query };
            find_sibling(&tracked.path, &copy)
        });
        match sibling {
            Some((path, file, sibling_id, sibling_head)) => {
                tracing::info!(source = %self.out.name, path = %tracked.key, rotated = %path.display(), offset = checkpoint.offset, "the checkpointed file was rotated: reading its rest, then the new file from the start");
                if let Ok(tail) = Tail::open(
                    &tracked.key,
                    file,
                    sibling_id,
                    sibling_head,
                    checkpoint.offset,
                    self.config.max_line_bytes,
                ) {
                    self.retired.push(tail);
                }
            }
            None => {
                tracing::info!(source = %self.out.name, path = %tracked.key, "the file differs from the checkpointed one: reading it from the start");
            }
        }
        0
    }

    fn report_open_error(&mut self, tracked: &mut Tracked, error: &io::Error) {
        let (kind, advice) = match error.kind() {
            io::ErrorKind::NotFound => (
                ErrorKind::NotFound,
                "check the path in the configuration; iocwatch keeps looking for it",
            ),
            io::ErrorKind::PermissionDenied => (
                ErrorKind::PermissionDenied,
                "give the user running iocwatch read access, for example through the group that owns the file; iocwatch retries",
            ),
            _ => (ErrorKind::Read, "iocwatch retries at every poll"),
        };
        self.out.metrics.error(kind);
        let problem = format!("{}: {error}", kind.as_str());
        if tracked.problem.as_deref() == Some(problem.as_str()) {
            tracing::debug!(source = %self.out.name, path = %tracked.key, %error, "file still cannot be opened");
        } else {
            tracing::warn!(source = %self.out.name, path = %tracked.key, %error, "cannot open file: {advice}");
            tracked.problem = Some(problem);
        }
        tracked.state = State::Closed;
    }

    /// Evaluates the patterns, starts following new files and watches their
    /// directories.
    fn discover(&mut self, initial: bool) -> Result<(), Stopped> {
        let mut found: Vec<(PathBuf, bool)> = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for pattern in &self.patterns {
            match pattern {
                PathPattern::Literal(path) => {
                    found.push((path.clone(), true));
                    dirs.push(parent_dir(path));
                }
                PathPattern::Glob { pattern, base } => {
                    dirs.push(base.clone());
                    let paths = match glob::glob(pattern) {
                        Ok(paths) => paths,
                        Err(_) => continue,
                    };
                    let mut matched = false;
                    for entry in paths {
                        match entry {
                            Ok(path) => {
                                if path.is_file() {
                                    matched = true;
                                    dirs.push(parent_dir(&path));
                                    found.push((path, false));
                                }
                            }
                            Err(error) => {
                                let message = error.to_string();
                                if self.glob_problems.insert(message.clone()) {
                                    self.out.metrics.error(ErrorKind::Glob);
                                    tracing::warn!(source = %self.out.name, %pattern, error = %message, "cannot evaluate the pattern in a directory; give iocwatch read access to it, or narrow the pattern");
                                }
                            }
                        }
                    }
                    if initial && !matched {
                        // Files may appear later, so this is not an error;
                        // a typing error in the pattern would look the same.
                        tracing::warn!(source = %self.out.name, %pattern, "no file matches the pattern yet; files that appear later are read");
                    }
                }
            }
        }

        for (path, literal) in found {
            if self.files.contains_key(&path)
                || self.exclude.iter().any(|pattern| pattern.matches_path(&path))
            {
                continue;
            }
            if !literal && self.is_known(&path) {
                continue;
            }
            let key: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
            let mut tracked = Tracked {
                key,
                path: path.clone(),
                real: None,
                literal,
                state: State::Closed,
                opened: false,
                problem: None,
            };
            let result = self.open(&mut tracked, initial);
            if literal || !matches!(tracked.state, State::Closed) || path.exists() {
                self.busy.insert(path.clone());
                self.files.insert(path, tracked);
            }
            result?;
        }

        dirs.extend(
            self.files
                .values()
                .filter_map(|tracked| tracked.real.as_deref().map(parent_dir)),
        );
        if let Some(watcher) = self.watcher.as_mut() {
            for dir in dirs {
                if self.watched_dirs.contains(&dir) {
                    continue;
                }
                match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        self.watched_dirs.insert(dir);
                    }
                    Err(error) => {
                        tracing::debug!(source = %self.out.name, dir = %dir.display(), %error, "cannot watch directory; polling it");
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks whether the file at `path` is one this source reads, or has read
    /// under another path.
    fn is_known(&self, path: &Path) -> bool {
        let Ok(metadata) = fs::metadata(path) else {
            return false;
        };
        let id = FileId::of(&metadata);
        self.finished.contains(&id)
            || self.retired.iter().any(|tail| tail.id == id)
            || self.files.values().any(|tracked| match &tracked.state {
                State::Plain(tail) => tail.id == id,
                State::Gzip(gzip) => gzip.id == id,
                State::Closed => false,
            })
    }
}

fn create_watcher(wake: &Arc<Wake>, name: &Arc<str>, metrics: &SourceMetrics) -> Option<RecommendedWatcher> {
    let events = Arc::clone(wake);
    let handler = move |result: notify::Result<notify::Event>| {
        let Ok(event) = result else {
            events.rescan.store(true, Ordering::Release);
            events.notify.notify_one();
            return;
        };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let structural = event.need_rescan()
            || matches!(
                event.kind,
                EventKind::Create(_)
                    | EventKind::Remove(_)
                    | EventKind::Modify(ModifyKind::Name(_))
                    | EventKind::Any
                    | EventKind::Other
            );
        events
            .dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(event.paths);
        if structural {
            events.rescan.store(true, Ordering::Release);
        }
        events.notify.notify_one();
    };
    match notify::recommended_watcher(handler) {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            metrics.error(ErrorKind::Watch);
            tracing::warn!(source = %name, %error, "cannot watch files for changes; polling instead (raise fs.inotify.max_user_instances if the limit is reached)");
            None
        }
    }
}
