//! The file sink: alerts as JSON lines in a local file, rotated by size.
//!
//! Each alert is one line of compact JSON followed by `\n`. Before a line
//! that would take the active file past `max_bytes`, the file is rotated:
//! `NAME.{keep-1}` becomes `NAME.{keep}` (the old `NAME.{keep}` is
//! deleted), and so on down to `NAME`, which becomes `NAME.1`. A batch is
//! written and then synced to disk with one `fsync` (`sync_data`), so a
//! delivery that returned `Ok` survives a crash of the machine.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::config::FileConfig;
use crate::error::{ConfigError, ConfigErrorKind, DeliveryError, io_delivery_error};

/// Writes alerts to a rotated JSON lines file.
#[derive(Debug, Clone)]
pub(crate) struct FileSink {
    name: String,
    state: Arc<Mutex<FileState>>,
}

#[derive(Debug)]
struct FileState {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    /// The open active file and its size; `None` until the first write and
    /// after a failed rotation.
    file: Option<(File, u64)>,
}

/// Checks that `path`, the `path` of a file sink, names a file.
pub(crate) fn check_path(path: &Path) -> Result<(), ConfigErrorKind> {
    if path.file_name().is_none() {
        return Err(ConfigErrorKind::InvalidValue {
            key: "path",
            value: path.display().to_string(),
            reason: "must name a file, not a folder".to_owned(),
        });
    }
    Ok(())
}

/// Checks, without leaving anything behind, that a file sink could
/// write to `path`: an existing file opens for appending, and otherwise
/// the nearest existing folder above it accepts a new file. The folder is
/// tried with a file that is created and removed at once.
pub(crate) fn check_writable(path: &Path) -> Result<(), ConfigErrorKind> {
    let invalid = |reason: String| ConfigErrorKind::InvalidValue {
        key: "path",
        value: path.display().to_string(),
        reason,
    };
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Err(invalid("is a folder; name a file in it".to_owned())),
        Ok(_) => OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|error| invalid(format!("cannot be opened for writing: {error}"))),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            let folder = path
                .ancestors()
                .skip(1)
                .map(|folder| {
                    if folder.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        folder
                    }
                })
                .find(|folder| fs::symlink_metadata(folder).is_ok())
                .unwrap_or(Path::new("."));
            if !folder.is_dir() {
                return Err(invalid(format!(
                    "{} is not a folder, so the file cannot be created under it",
                    folder.display()
                )));
            }
            let probe = folder.join(format!(".iocwatch-write-check-{}", std::process::id()));
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
                .map_err(|error| {
                    invalid(format!(
                        "the folder {} does not accept new files: {error}",
                        folder.display()
                    ))
                })?;
            // Only the probe file is removed; a failure leaves a harmless
            // empty file.
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(error) => Err(invalid(format!("cannot be read: {error}"))),
    }
}

impl FileSink {
    pub fn new(name: &str, config: FileConfig) -> Result<Self, ConfigError> {
        if config.max_bytes == 0 {
            return Err(ConfigError::new(
                name,
                ConfigErrorKind::InvalidValue {
                    key: "max_bytes",
                    value: "0".to_owned(),
                    reason: "must be at least 1".to_owned(),
                },
            ));
        }
        check_path(&config.path).map_err(|kind| ConfigError::new(name, kind))?;
        Ok(Self {
            name: name.to_owned(),
            state: Arc::new(Mutex::new(FileState {
                path: config.path,
                max_bytes: config.max_bytes,
                keep: config.keep,
                file: None,
            })),
        })
    }

    /// Creates the folder and opens the active file, as the first write
    /// would. Returns what failed, for a warning when the service starts.
    pub fn prepare(&self) -> Result<(), String> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| "an earlier write panicked; the file state is lost".to_owned())?;
        state
            .open()
            .map(|_| ())
            .map_err(|(context, error)| format!("{context}: {error}"))
    }

    pub async fn deliver_batch(&self, alerts: &[Value]) -> Result<(), DeliveryError> {
        let mut lines = Vec::with_capacity(alerts.len());
        for alert in alerts {
            let mut line = serde_json::to_vec(alert).map_err(|e| {
                DeliveryError::permanent(&self.name, format!("failed to encode the alert: {e}"))
            })?;
            line.push(b'\n');
            lines.push(line);
        }
        let state = Arc::clone(&self.state);
        let name = self.name.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut state = state.lock().map_err(|_| {
                DeliveryError::retryable(&name, "an earlier write panicked; the file state is lost")
            })?;
            state.write_lines(&name, &lines)
        });
        match task.await {
            Ok(result) => result,
            Err(error) => Err(DeliveryError::retryable(
                &self.name,
                format!("the write task failed: {error}"),
            )),
        }
    }
}

impl FileState {
    fn write_lines(&mut self, sink: &str, lines: &[Vec<u8>]) -> Result<(), DeliveryError> {
        let result = self.write_lines_io(lines);
        if result.is_err() {
            // Reopen on the next delivery: the size or the file may be stale.
            self.file = None;
        }
        result.map_err(|(context, error)| io_delivery_error(sink, &context, &error))
    }

    fn write_lines_io(&mut self, lines: &[Vec<u8>]) -> Result<(), (String, io::Error)> {
        let mut pending: Vec<u8> = Vec::new();
        for line in lines {
            let size = self.open()?;
            let pending_len = pending.len() as u64;
            let line_len = line.len() as u64;
            if size + pending_len > 0 && size + pending_len + line_len > self.max_bytes {
                self.flush(&pending)?;
                pending.clear();
                self.rotate()?;
            }
            pending.extend_from_slice(line);
        }
        self.open()?;
        self.flush(&pending)
    }

    /// Opens the active file when it is not open, and returns its size.
    fn open(&mut self) -> Result<u64, (String, io::Error)> {
        if let Some((_, size)) = &self.file {
            return Ok(*size);
        }
        let describe = |what: &str| format!("failed to {what} {}", self.path.display());
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)
                .map_err(|e| (format!("failed to create folder {}", parent.display()), e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| (describe("open"), e))?;
        let size = file
            .metadata()
            .map_err(|e| (describe("read the size of"), e))?
            .len();
        self.file = Some((file, size));
        Ok(size)
    }

    /// Appends `bytes` to the active file and syncs it.
    fn flush(&mut self, bytes: &[u8]) -> Result<(), (String, io::Error)> {
        if bytes.is_empty() {
            return Ok(());
        }
        let path = self.path.display().to_string();
        let Some((file, size)) = &mut self.file else {
            return Err((
                format!("failed to write {path}"),
                io::Error::other("file not open"),
            ));
        };
        file.write_all(bytes)
            .map_err(|e| (format!("failed to write {path}"), e))?;
        file.sync_data()
            .map_err(|e| (format!("failed to sync {path}"), e))?;
        *size += bytes.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), (String, io::Error)> {
        self.file = None;
        if self.keep == 0 {
            return remove_if_exists(&self.path);
        }
        remove_if_exists(&rotated(&self.path, self.keep))?;
        for index in (1..self.keep).rev() {
            rename_if_exists(&rotated(&self.path, index), &rotated(&self.path, index + 1))?;
        }
        rename_if_exists(&self.path, &rotated(&self.path, 1))
    }
}

/// Returns `path` with `.index` appended to the file name.
pub(crate) fn rotated(path: &Path, index: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

fn remove_if_exists(path: &Path) -> Result<(), (String, io::Error)> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err((format!("failed to delete {} on rotation", path.display()), e))
        }
        _ => Ok(()),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> Result<(), (String, io::Error)> {
    match fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err((
            format!(
                "failed to rename {} to {} on rotation",
                from.display(),
                to.display()
            ),
            e,
        )),
        _ => Ok(()),
    }
}
