//! Tailing log files: new lines as they are written, across rotation and
//! restarts.
//!
//! A [`FileSource`] follows a list of paths and glob patterns. One blocking
//! thread reads the files with plain `read` calls. Inotify (through the
//! `notify` crate) wakes it when a file changes. A poll every
//! [`FileSourceConfig::poll_interval`] catches what inotify misses, such as
//! changes on network file systems, after the watch limit is reached, or in
//! new directories.
//!
//! Rotation:
//!
//! - Rename (`app.log` becomes `app.log.1` and a new `app.log` appears): the
//!   open old file is read to its end, then the new file from offset 0. The
//!   old file stays open for [`FileSourceConfig::rotated_linger`] after its
//!   last growth, for writers that keep writing to it until they reopen.
//! - Copy and truncate (the file shrinks below the read offset, or its first
//!   bytes change): the part not yet read is taken from the copy next to it
//!   (a sibling whose name starts with the file's name and whose first bytes
//!   match), then the file is read again from offset 0.
//!
//! On start, a file with a stored [`Checkpoint`](super::Checkpoint) resumes
//! at its offset when device, inode and fingerprint agree. When the path now
//! contains another file, the checkpointed file is looked for among the
//! siblings (it was rotated) and read from the checkpoint to its end. Then
//! the file at the path is read from offset 0.
//!
//! Gzip files (recognised by their magic bytes) are read once, whole, after
//! their size has stopped changing; their final checkpoint has the compressed
//! length as offset, which marks them done.
//!
//! NOTE: checkpoints are keyed by configured path. A glob that also matches
//! the rotated names (`app.log*` matching `app.log.1`) makes a rotated file a
//! second, new file after a restart, so its lines are read again. Patterns
//! should match the live names only, or [`FileSourceConfig::exclude`] should
//! list the rotated names.

use std::collections::HashSet;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::{Batch, CheckpointLoad, DEFAULT_BATCH_LINES, SourceError};

mod gzip;
mod tail;
mod tailer;

use tailer::Tailer;

/// Bytes asked for by one `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// Bytes read from one file before the other files get their turn.
const READ_BUDGET: usize = 8 * 1024 * 1024;

/// The two bytes every gzip file starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Start position in a file that has no checkpoint and was present when the
/// source started. Files that appear later are always read from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// From the first byte.
    Beginning,
    /// After the last complete line present at start.
    #[default]
    End,
}

/// Settings of a [`FileSource`].
#[derive(Debug, Clone)]
pub struct FileSourceConfig {
    /// Name of the source, used in batches, checkpoints, metrics and logs.
    pub name: String,
    /// Files and glob patterns (`*`, `?`, `[abc]`, `**`) to follow. Globs
    /// are evaluated again at every poll and when a file is created in a
    /// watched directory. Relative paths are taken from the working directory
    /// and made absolute, in lines and checkpoints too.
    pub paths: Vec<String>,
    /// Glob patterns of paths to leave out, such as rotated names.
    pub exclude: Vec<String>,
    /// Start position in files that have no checkpoint and exist at start.
    pub start_at: StartAt,
    /// Time between two looks at every file and pattern, also when inotify
    /// works. Without inotify this is the delay before new lines are seen.
    pub poll_interval: Duration,
    /// Maximum line length, in bytes. Longer lines are dropped and counted.
    pub max_line_bytes: usize,
    /// Lines sent in one batch at most.
    pub max_batch_lines: usize,
    /// How long a file renamed away by rotation is still read after it last
    /// grew.
    pub rotated_linger: Duration,
    /// Whether to use inotify; with `false` the source only polls.
    pub watch: bool,
}

impl FileSourceConfig {
    /// Creates settings with defaults for everything but the name and paths.
    pub fn new(name: impl Into<String>, paths: Vec<String>) -> Self {
        Self {
            name: name.into(),
            paths,
            exclude: Vec::new(),
            start_at: StartAt::End,
            poll_interval: Duration::from_millis(250),
            max_line_bytes: 1024 * 1024,
            max_batch_lines: DEFAULT_BATCH_LINES,
            rotated_linger: Duration::from_secs(5),
            watch: true,
        }
    }
}

/// A path pattern of the configuration, parsed.
#[derive(Debug, Clone)]
enum PathPattern {
    /// A plain path, followed also while it does not exist.
    Literal(PathBuf),
    /// A glob, with the directory before its first wildcard.
    Glob { pattern: String, base: PathBuf },
}

/// Follows log files and sends their new lines in batches.
#[derive(Debug)]
pub struct FileSource {
    config: FileSourceConfig,
    patterns: Vec<PathPattern>,
    exclude: Vec<glob::Pattern>,
}

impl FileSource {
    /// Checks the settings and creates the source.
    ///
    /// # Errors
    ///
    /// [`SourceError::InvalidPattern`] for a path or exclude pattern that is
    /// not a valid glob, [`SourceError::InvalidSetting`] for an empty path list
    /// or a zero limit.
    pub fn new(config: FileSourceConfig) -> Result<Self, SourceError> {
        let invalid = |setting, value: String, reason| SourceError::InvalidSetting {
            source_name: config.name.clone(),
            setting,
            value,
            reason,
        };
        if config.paths.is_empty() {
            return Err(invalid(
                "paths",
                "[]".to_owned(),
                "list at least one file or glob pattern",
            ));
        }
        if config.max_line_bytes == 0 {
            return Err(invalid("max_line_bytes", "0".to_owned(), "must be at least 1"));
        }
        if config.max_batch_lines == 0 {
            return Err(invalid("max_batch_lines", "0".to_owned(), "must be at least 1"));
        }
        if config.poll_interval.is_zero() {
            return Err(invalid(
                "poll_interval",
                "0".to_owned(),
                "must be longer than zero",
            ));
        }
        let parse = |pattern: &str| {
            glob::Pattern::new(pattern).map_err(|error| SourceError::InvalidPattern {
                source_name: config.name.clone(),
                pattern: pattern.to_owned(),
                reason: error.msg.to_owned(),
            })
        };
        let mut patterns = Vec::new();
        for path in &config.paths {
            parse(path)?;
            let path = absolute(path);
            if is_glob(&path) {
                patterns.push(PathPattern::Glob {
                    base: glob_base(Path::new(&path)),
                    pattern: path,
                });
            } else {
                patterns.push(PathPattern::Literal(PathBuf::from(path)));
            }
        }
        let exclude = config
            .exclude
            .iter()
            .map(|pattern| {
                parse(pattern)?;
                parse(&absolute(pattern))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            config,
            patterns,
            exclude,
        })
    }

    /// Follows the files until `shutdown` is cancelled or the receiver of
    /// `tx` is dropped. Problems with single files are logged, counted and
    /// retried at every poll; none ends the run.
    ///
    /// Reading happens on a blocking thread of the tokio runtime; the sends
    /// wait for room in the channel, so a slow consumer slows reading down.
    pub async fn run(
        self,
        tx: mpsc::Sender<Batch>,
        checkpoints: Arc<dyn CheckpointLoad>,
        shutdown: CancellationToken,
    ) {
        let handle = Handle::current();
        let name = self.config.name.clone();
        let wake = Arc::new(Wake::default());
        // Dropping this future (runtime shutdown) stops the thread as well.
        let _stop = StopOnDrop(Arc::clone(&wake));
        let mut ticker = tokio::time::interval(self.config.poll_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let thread_wake = Arc::clone(&wake);
        let mut task = tokio::task::spawn_blocking(move || {
            let mut tailer = Tailer::new(self, tx, checkpoints, shutdown, handle, thread_wake);
            tailer.run();
        });
        loop {
            tokio::select! {
                result = &mut task => {
                    if let Err(error) = result {
                        tracing::error!(source = %name, %error, "file source stopped unexpectedly; restart iocwatch to resume reading");
                    }
                    return;
                }
                _ = ticker.tick() => wake.notify.notify_one(),
            }
        }
    }
}

/// Device and inode of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    fn of(metadata: &Metadata) -> Self {
        Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }
}

/// The channel's receiver is gone, or the shutdown token was cancelled.
#[derive(Debug)]
struct Stopped;

/// Wake-ups of the reading thread: from inotify, from the poll ticker, and
/// when [`FileSource::run`] is dropped.
#[derive(Default)]
struct Wake {
    notify: Notify,
    /// The future of [`FileSource::run`] was dropped, so the thread must end.
    closed: AtomicBool,
    /// Paths named by events since the last look.
    dirty: Mutex<HashSet<PathBuf>>,
    /// A file was created, renamed or removed in a watched directory.
    rescan: AtomicBool,
}

/// Tells the reading thread to end when dropped.
struct StopOnDrop(Arc<Wake>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.notify.notify_one();
    }
}

/// Makes a relative path or glob absolute against the working directory, so
/// paths in lines, checkpoints and inotify events agree.
fn absolute(pattern: &str) -> String {
    if Path::new(pattern).is_absolute() {
        return pattern.to_owned();
    }
    let Ok(directory) = std::env::current_dir() else {
        return pattern.to_owned();
    };
    let directory = directory.to_string_lossy();
    let directory = if is_glob(pattern) {
        glob::Pattern::escape(&directory)
    } else {
        directory.into_owned()
    };
    format!("{}/{pattern}", directory.trim_end_matches('/'))
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Returns the directory part of a glob before its first wildcard.
fn glob_base(pattern: &Path) -> PathBuf {
    let mut base = PathBuf::new();
    for component in pattern.components() {
        if let Component::Normal(part) = component
            && is_glob(&part.to_string_lossy())
        {
            break;
        }
        base.push(component);
    }
    if base == pattern {
        return parent_dir(pattern);
    }
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_and_globs() {
        let directory = std::env::current_dir().unwrap();
        let directory = directory.to_str().unwrap();
        assert_eq!(absolute("/var/log/app.log"), "/var/log/app.log");
        assert_eq!(absolute("logs/app.log"), format!("{directory}/logs/app.log"));
        assert_eq!(
            absolute("logs/*.log"),
            format!("{}/logs/*.log", glob::Pattern::escape(directory))
        );
    }

    #[test]
    fn glob_base_before_wildcard() {
        assert_eq!(glob_base(Path::new("/var/log/*.log")), Path::new("/var/log"));
        assert_eq!(
            glob_base(Path::new("/var/log/app-*/x/*.log")),
            Path::new("/var/log")
        );
        assert_eq!(glob_base(Path::new("/data/**/*.log")), Path::new("/data"));
    }
}
