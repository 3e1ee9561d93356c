//! File source tests on real files in temporary directories.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::counters;
use crate::sources::{Batch, Checkpoint, FileSource, FileSourceConfig, MemoryCheckpoints, StartAt};

const WAIT: Duration = Duration::from_secs(20);

/// A running file source whose checkpoints are stored as a consumer would.
struct Running {
    rx: mpsc::Receiver<Batch>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    checkpoints: Arc<MemoryCheckpoints>,
    last_checkpoint: Option<Checkpoint>,
}

impl Running {
    fn start(config: FileSourceConfig, checkpoints: &Arc<MemoryCheckpoints>) -> Self {
        let (tx, rx) = mpsc::channel(8);
        let shutdown = CancellationToken::new();
        let source = FileSource::new(config).unwrap();
        let task = tokio::spawn(source.run(tx, Arc::clone(checkpoints) as _, shutdown.clone()));
        Self {
            rx,
            shutdown,
            task,
            checkpoints: Arc::clone(checkpoints),
            last_checkpoint: None,
        }
    }

    fn absorb(&mut self, batch: Batch, lines: &mut Vec<Line>) {
        for line in batch.lines {
            lines.push(Line {
                text: String::from_utf8(line.data.to_vec()).unwrap(),
                path: line.path.as_deref().unwrap_or_default().to_owned(),
                offset: line.offset.unwrap(),
            });
        }
        if let Some(checkpoint) = batch.checkpoint {
            self.checkpoints.store(&checkpoint);
            self.last_checkpoint = Some(checkpoint);
        }
    }

    /// Receives until `count` lines have arrived, failing after [`WAIT`].
    async fn lines(&mut self, count: usize) -> Vec<Line> {
        let mut lines = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while lines.len() < count {
            let batch = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out with {} of {count} lines: {:?}",
                        lines.len(),
                        lines.last()
                    )
                })
                .expect("source ended");
            self.absorb(batch, &mut lines);
        }
        lines
    }

    /// Receives whatever arrives within `period`.
    async fn lines_within(&mut self, period: Duration) -> Vec<Line> {
        let mut lines = Vec::new();
        let deadline = tokio::time::Instant::now() + period;
        while let Ok(Some(batch)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.absorb(batch, &mut lines);
        }
        lines
    }

    async fn stop(mut self) -> Option<Checkpoint> {
        self.shutdown.cancel();
        let mut rest = Vec::new();
        while let Some(batch) = self.rx.recv().await {
            self.absorb(batch, &mut rest);
        }
        self.task.await.unwrap();
        self.last_checkpoint
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    path: String,
    offset: u64,
}

fn config(paths: &[&Path]) -> FileSourceConfig {
    let mut config = FileSourceConfig::new(
        "files",
        paths
            .iter()
            .map(|path| path.to_string_lossy().into_owned())
            .collect(),
    );
    config.poll_interval = Duration::from_millis(50);
    config.start_at = StartAt::Beginning;
    config
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn texts(lines: &[Line]) -> Vec<String> {
    lines.iter().map(|line| line.text.clone()).collect()
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i:06}")).collect()
}

/// Asserts that `lines` are the numbered lines of `range`, in order, and
/// names the first difference.
fn assert_numbered(lines: &[Line], range: std::ops::Range<usize>) {
    let expected = numbered(range);
    let got = texts(lines);
    if let Some(index) = (0..expected.len().min(got.len())).find(|&index| expected[index] != got[index]) {
        let from = index.saturating_sub(3);
        panic!(
            "line {index} differs: expected {:?}, got {:?} (lines {from}.. are {:?})",
            expected[index],
            got[index],
            &lines[from..(index + 4).min(lines.len())]
        );
    }
    assert_eq!(got.len(), expected.len(), "line count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_appends_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "old 1\nold 2\n");
    let mut settings = config(&[&path]);
    settings.start_at = StartAt::End;
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings, &checkpoints);

    tokio::time::sleep(Duration::from_millis(100)).await;
    append(&path, "new 1\nnew 2\n");
    let lines = running.lines(2).await;
    assert_eq!(texts(&lines), ["new 1", "new 2"]);
    assert_eq!(lines[0].offset, 12);
    assert_eq!(lines[1].offset, 18);
    assert_eq!(lines[0].path, path.to_string_lossy());

    append(&path, "new 3\n");
    let lines = running.lines(1).await;
    assert_eq!(texts(&lines), ["new 3"]);
    let checkpoint = running.stop().await.unwrap();
    assert_eq!(checkpoint.offset, 30);
    assert_eq!(checkpoint.source, "files");
    assert_eq!(checkpoint.path, path.to_string_lossy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_start_at_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "one\ntwo\n");
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    assert_eq!(texts(&running.lines(2).await), ["one", "two"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_partial_line_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "first\nsecond ha");
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    assert_eq!(texts(&running.lines(1).await), ["first"]);
    assert_eq!(running.lines_within(Duration::from_millis(300)).await, []);
    assert_eq!(running.last_checkpoint.as_ref().unwrap().offset, 6);

    append(&path, "lf done\n");
    let lines = running.lines(1).await;
    assert_eq!(texts(&lines), ["second half done"]);
    assert_eq!(lines[0].offset, 6);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_long_line_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let long = "x".repeat(300);
    append(&path, &format!("short\n{long}\nafter\n"));
    let mut settings = config(&[&path]);
    settings.name = "files-long-line".to_owned();
    settings.max_line_bytes = 100;
    counters::install();
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings, &checkpoints);
    let lines = running.lines(2).await;
    assert_eq!(texts(&lines), ["short", "after"]);
    assert_eq!(lines[1].offset, 307);

    let source = [("source", "files-long-line")];
    assert_eq!(counters::counter("iocwatch_source_lines_total", &source), 2);
    assert_eq!(counters::counter("iocwatch_source_bytes_total", &source), 10);
    let too_long = [("source", "files-long-line"), ("kind", "too_long")];
    assert_eq!(counters::counter("iocwatch_source_errors_total", &too_long), 1);
    running.stop().await;
}

/// Writes numbered lines in bursts and calls `rotate` every `every` lines.
fn write_numbered(
    path: PathBuf,
    total: usize,
    every: usize,
    rotate: impl Fn(&Path, usize) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut file = OpenOptions::new().create(true).append(true).open(&path).unwrap();
        for i in 0..total {
            if i > 0 && i % every == 0 {
                drop(file);
                rotate(&path, i / every);
                file = OpenOptions::new().create(true).append(true).open(&path).unwrap();
            }
            writeln!(file, "line {i:06}").unwrap();
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_rename_rotation_under_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "");
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let writer = write_numbered(path.clone(), 12_000, 2_500, |path, generation| {
        let mut rotated = path.as_os_str().to_owned();
        rotated.push(format!(".{generation}"));
        fs::rename(path, rotated).unwrap();
    });
    let lines = running.lines(12_000).await;
    writer.join().unwrap();
    assert_numbered(&lines, 0..12_000);
    assert!(lines.iter().all(|line| line.path == path.to_string_lossy()));
    assert_eq!(running.lines_within(Duration::from_millis(300)).await, []);

    let checkpoint = running.stop().await.unwrap();
    let metadata = fs::metadata(&path).unwrap();
    assert_eq!(checkpoint.inode, std::os::unix::fs::MetadataExt::ino(&metadata));
    assert_eq!(checkpoint.offset, metadata.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_copy_truncate_under_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "");
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let writer = write_numbered(path.clone(), 12_000, 2_500, |path, generation| {
        let mut copy = path.as_os_str().to_owned();
        copy.push(format!(".{generation}"));
        fs::copy(path, copy).unwrap();
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(0)
            .unwrap();
    });
    let lines = running.lines(12_000).await;
    writer.join().unwrap();
    assert_numbered(&lines, 0..12_000);
    assert_eq!(running.lines_within(Duration::from_millis(300)).await, []);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_truncated_rest_read_from_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &format!("{}\n", numbered(0..10).join("\n")));
    let mut settings = config(&[&path]);
    settings.watch = false;
    settings.poll_interval = Duration::from_millis(300);
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings, &checkpoints);
    assert_eq!(texts(&running.lines(10).await), numbered(0..10));

    // Lines 10 to 19 are written, copied away and truncated between two polls.
    append(&path, &format!("{}\n", numbered(10..20).join("\n")));
    fs::copy(&path, dir.path().join("app.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&path, &format!("{}\n", numbered(20..30).join("\n")));

    assert_eq!(texts(&running.lines(20).await), numbered(10..30));
    assert_eq!(running.lines_within(Duration::from_millis(700)).await, []);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_resumes_from_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &format!("{}\n", numbered(0..5).join("\n")));
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    assert_eq!(texts(&running.lines(5).await), numbered(0..5));
    let stored = running.stop().await.unwrap();
    assert_eq!(stored.offset, fs::metadata(&path).unwrap().len());

    append(&path, &format!("{}\n", numbered(5..8).join("\n")));
    let mut running = Running::start(config(&[&path]), &checkpoints);
    let lines = running.lines(3).await;
    assert_eq!(texts(&lines), numbered(5..8));
    assert_eq!(lines[0].offset, stored.offset);
    assert_eq!(running.lines_within(Duration::from_millis(300)).await, []);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_checkpoint_of_other_file_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "first file 1\nfirst file 2\nfirst file 3\n");
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    running.lines(3).await;
    running.stop().await.unwrap();

    // A different file at the same path, perhaps with the same inode number,
    // longer than the stored offset.
    fs::remove_file(&path).unwrap();
    append(
        &path,
        "second file 1\nsecond file 2\nsecond file 3\nsecond file 4\n",
    );
    let mut settings = config(&[&path]);
    settings.start_at = StartAt::End;
    let mut running = Running::start(settings, &checkpoints);
    let lines = running.lines(4).await;
    assert_eq!(
        texts(&lines),
        ["second file 1", "second file 2", "second file 3", "second file 4"]
    );
    assert_eq!(lines[0].offset, 0);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_resumes_rotated_while_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &format!("{}\n", numbered(0..3).join("\n")));
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    running.lines(3).await;
    running.stop().await.unwrap();

    // While stopped: two more lines, a rotation by rename, a new file.
    append(&path, &format!("{}\n", numbered(3..5).join("\n")));
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(&path, &format!("{}\n", numbered(5..7).join("\n")));

    let mut running = Running::start(config(&[&path]), &checkpoints);
    assert_eq!(texts(&running.lines(4).await), numbered(3..7));
    assert_eq!(running.lines_within(Duration::from_millis(300)).await, []);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_gzip_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.log.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::default());
    encoder
        .write_all(format!("{}\nno newline", numbered(0..3000).join("\n")).as_bytes())
        .unwrap();
    encoder.finish().unwrap();

    let mut settings = config(&[&path]);
    settings.start_at = StartAt::End;
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings.clone(), &checkpoints);
    let lines = running.lines(3001).await;
    let mut expected = numbered(0..3000);
    expected.push("no newline".to_owned());
    assert_eq!(texts(&lines), expected);
    assert_eq!(lines[1].offset, 12);
    assert_eq!(running.lines_within(Duration::from_millis(300)).await, []);
    let checkpoint = running.stop().await.unwrap();
    assert_eq!(checkpoint.offset, fs::metadata(&path).unwrap().len());

    let mut running = Running::start(settings, &checkpoints);
    assert_eq!(running.lines_within(Duration::from_millis(400)).await, []);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_damaged_gzip_keeps_lines_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    encoder
        .write_all(format!("{}\n", numbered(0..2000).join("\n")).as_bytes())
        .unwrap();
    let compressed = encoder.finish().unwrap();
    fs::write(&path, &compressed[..compressed.len() / 2]).unwrap();

    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    let lines = running.lines(500).await;
    assert_eq!(texts(&lines[..500]), numbered(0..500));
    let rest = running.lines_within(Duration::from_millis(300)).await;
    assert!(lines.len() + rest.len() < 2000);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_glob_picks_up_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.log");
    append(&first, "from a\n");
    append(&dir.path().join("ignored.txt"), "not matched\n");
    let pattern = dir.path().join("*.log");
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&pattern]), &checkpoints);
    assert_eq!(texts(&running.lines(1).await), ["from a"]);

    let second = dir.path().join("b.log");
    append(&second, "from b 1\nfrom b 2\n");
    let lines = running.lines(2).await;
    assert_eq!(texts(&lines), ["from b 1", "from b 2"]);
    assert_eq!(lines[0].path, second.to_string_lossy());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_glob_exclude() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("app.log"), "live\n");
    append(&dir.path().join("app.log.1"), "rotated\n");
    let mut settings = config(&[&dir.path().join("app.log*")]);
    settings.exclude = vec![dir.path().join("*.1").to_string_lossy().into_owned()];
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings, &checkpoints);
    assert_eq!(texts(&running.lines(1).await), ["live"]);
    assert_eq!(running.lines_within(Duration::from_millis(300)).await, []);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_missing_then_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let mut settings = config(&[&path]);
    settings.start_at = StartAt::End;
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings, &checkpoints);
    assert_eq!(running.lines_within(Duration::from_millis(200)).await, []);

    append(&path, "appeared\n");
    assert_eq!(texts(&running.lines(1).await), ["appeared"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_unreadable_then_readable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.log");
    append(&path, "secret\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&path).is_ok() {
        // Root reads the file regardless of its mode; the source is tested
        // with a directory instead, which no one can open as a file.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let folder = dir.path().join("folder.log");
        fs::create_dir(&folder).unwrap();
        let checkpoints = Arc::new(MemoryCheckpoints::new());
        let mut running = Running::start(config(&[&folder]), &checkpoints);
        assert_eq!(running.lines_within(Duration::from_millis(200)).await, []);
        fs::remove_dir(&folder).unwrap();
        append(&folder, "now a file\n");
        assert_eq!(texts(&running.lines(1).await), ["now a file"]);
        running.stop().await;
        return;
    }
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(config(&[&path]), &checkpoints);
    assert_eq!(running.lines_within(Duration::from_millis(200)).await, []);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(texts(&running.lines(1).await), ["secret"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_inotify_wakes_before_poll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "");
    let link_dir = tempfile::tempdir().unwrap();
    let link = link_dir.path().join("linked.log");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let mut settings = config(&[&path, &link]);
    settings.poll_interval = Duration::from_secs(60);
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings, &checkpoints);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Well before the next poll: the direct path and the symbolic link
    // both see the line through inotify.
    append(&path, "woken\n");
    let lines = tokio::time::timeout(Duration::from_secs(5), running.lines(2))
        .await
        .unwrap();
    assert_eq!(texts(&lines), ["woken", "woken"]);
    let mut paths: Vec<&str> = lines.iter().map(|line| line.path.as_str()).collect();
    paths.sort_unstable();
    let mut expected = vec![path.to_str().unwrap(), link.to_str().unwrap()];
    expected.sort_unstable();
    assert_eq!(paths, expected);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_polling_without_inotify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "");
    let mut settings = config(&[&path]);
    settings.watch = false;
    let checkpoints = Arc::new(MemoryCheckpoints::new());
    let mut running = Running::start(settings, &checkpoints);
    tokio::time::sleep(Duration::from_millis(100)).await;
    append(&path, "polled\n");
    assert_eq!(texts(&running.lines(1).await), ["polled"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_batches_respect_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &format!("{}\n", numbered(0..1000).join("\n")));
    let mut settings = config(&[&path]);
    settings.max_batch_lines = 64;
    let (tx, mut rx) = mpsc::channel(4);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(FileSource::new(settings).unwrap().run(
        tx,
        Arc::new(MemoryCheckpoints::new()),
        shutdown.clone(),
    ));
    let mut seen = 0;
    while seen < 1000 {
        let batch = tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap();
        assert!(batch.lines.len() <= 64);
        let checkpoint = batch.checkpoint.unwrap();
        seen += batch.lines.len();
        assert_eq!(checkpoint.offset, seen as u64 * 12);
    }
    shutdown.cancel();
    task.await.unwrap();
}

#[test]
fn file_source_invalid_pattern() {
    let error = FileSource::new(FileSourceConfig::new(
        "files",
        vec!["/var/log/[abc.log".to_owned()],
    ))
    .unwrap_err();
    assert!(error.to_string().contains("[abc.log"), "{error}");
}
