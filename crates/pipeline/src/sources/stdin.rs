//! Lines from standard input, or from any other byte stream.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Batch, BatchBuilder, DEFAULT_BATCH_LINES, ErrorKind, LineSplitter, SourceLine, SourceMetrics};

/// Bytes asked for by one read.
const READ_CHUNK: usize = 64 * 1024;

/// Settings of a [`StdinSource`].
#[derive(Debug, Clone)]
pub struct StdinSourceConfig {
    /// Name of the source, used in batches, metrics and logs.
    pub name: String,
    /// Maximum line length, in bytes. Longer lines are dropped and counted.
    pub max_line_bytes: usize,
    /// Lines sent in one batch at most.
    pub max_batch_lines: usize,
}

impl StdinSourceConfig {
    /// Creates settings with default limits.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            max_line_bytes: 1024 * 1024,
            max_batch_lines: DEFAULT_BATCH_LINES,
        }
    }
}

/// Reads lines from standard input (or another stream) until its end.
///
/// Each read's complete lines go out as one batch, so lines reach the channel
/// as soon as they arrive. Lines carry their byte offset in the stream and no
/// path; batches carry no checkpoint, since a stream cannot be resumed.
pub struct StdinSource {
    config: StdinSourceConfig,
    reader: Box<dyn AsyncRead + Send + Unpin>,
}

impl std::fmt::Debug for StdinSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StdinSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl StdinSource {
    /// Creates a source reading the process's standard input.
    ///
    /// NOTE: tokio reads standard input with a blocking read on a separate
    /// thread, which cannot be cancelled. A runtime shutting down while no
    /// input arrives waits for that read unless it is shut down with a
    /// timeout (`Runtime::shutdown_timeout`).
    pub fn new(config: StdinSourceConfig) -> Self {
        Self::with_reader(config, tokio::io::stdin())
    }

    /// Creates a source reading `reader`, such as a pipe or a socket.
    pub fn with_reader(config: StdinSourceConfig, reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Self {
            config,
            reader: Box::new(reader),
        }
    }

    /// Reads until the end of the stream, until `shutdown` is cancelled or
    /// until the receiver of `tx` is dropped. A final line without a newline
    /// is sent at the end of the stream. A read error is logged and ends the
    /// stream.
    pub async fn run(mut self, tx: mpsc::Sender<Batch>, shutdown: CancellationToken) {
        let name: Arc<str> = Arc::from(self.config.name.as_str());
        let metrics = SourceMetrics::new(&name);
        let mut splitter = LineSplitter::new(0, self.config.max_line_bytes.max(1));
        let mut batch = BatchBuilder::new(&name, self.config.max_batch_lines);
        tracing::info!(source = %name, "stdin source started");
        loop {
            let buffer = splitter.buffer_mut();
            if buffer.capacity() - buffer.len() < READ_CHUNK / 4 {
                buffer.reserve(READ_CHUNK);
            }
            let read = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                read = self.reader.read_buf(splitter.buffer_mut()) => read,
            };
            let received = Instant::now();
            let mut push = |data, offset| {
                batch.push(SourceLine {
                    data,
                    path: None,
                    offset: Some(offset),
                    peer: None,
                    received,
                });
            };
            let at_end = match read {
                Ok(0) => {
                    if let Some((data, offset)) = splitter.finish() {
                        push(data, offset);
                    }
                    true
                }
                Ok(_) => {
                    let dropped = splitter.split(push);
                    if dropped > 0 {
                        metrics.errors(ErrorKind::TooLong, dropped);
                        tracing::warn!(source = %name, dropped, max_line_bytes = self.config.max_line_bytes, "dropped lines longer than max_line_bytes; this limit of the stdin source is fixed at build time and cannot be set in the configuration, so split such lines before they reach iocwatch");
                    }
                    false
                }
                Err(error) => {
                    metrics.error(ErrorKind::Read);
                    tracing::error!(source = %name, %error, "reading standard input failed; the lines after this point are not read");
                    true
                }
            };
            while !batch.is_empty() {
                let next = batch.take(None);
                metrics.count_batch(&next.lines);
                let sent = tokio::select! {
                    biased;
                    () = shutdown.cancelled() => false,
                    sent = tx.send(next) => sent.is_ok(),
                };
                if !sent {
                    return;
                }
            }
            if at_end {
                break;
            }
        }
        tracing::info!(source = %name, bytes = splitter.end(), "stdin source stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn receive_all(mut rx: mpsc::Receiver<Batch>) -> Vec<(String, u64)> {
        let mut lines = Vec::new();
        while let Some(batch) = rx.recv().await {
            assert!(batch.checkpoint.is_none());
            for line in batch.lines {
                lines.push((
                    String::from_utf8_lossy(&line.data).into_owned(),
                    line.offset.unwrap_or(u64::MAX),
                ));
            }
        }
        lines
    }

    #[tokio::test]
    async fn stdin_lines_in_order() {
        let (mut writer, reader) = tokio::io::duplex(64);
        let (tx, rx) = mpsc::channel(4);
        let source = StdinSource::with_reader(StdinSourceConfig::new("stdin"), reader);
        let run = tokio::spawn(source.run(tx, CancellationToken::new()));
        let collect = tokio::spawn(receive_all(rx));
        let mut expected = Vec::new();
        let mut offset = 0;
        for i in 0..500 {
            let line = format!("line {i}");
            writer.write_all(format!("{line}\n").as_bytes()).await.unwrap();
            expected.push((line.clone(), offset));
            offset += line.len() as u64 + 1;
        }
        writer.write_all(b"unterminated").await.unwrap();
        expected.push(("unterminated".to_owned(), offset));
        drop(writer);
        run.await.unwrap();
        assert_eq!(collect.await.unwrap(), expected);
    }

    #[tokio::test]
    async fn stdin_drops_long_line() {
        let (mut writer, reader) = tokio::io::duplex(1024);
        let (tx, rx) = mpsc::channel(4);
        let mut config = StdinSourceConfig::new("stdin");
        config.max_line_bytes = 8;
        let run = tokio::spawn(StdinSource::with_reader(config, reader).run(tx, CancellationToken::new()));
        writer
            .write_all(b"short\nmuch too long for it\nok\n")
            .await
            .unwrap();
        drop(writer);
        run.await.unwrap();
        let lines = receive_all(rx).await;
        assert_eq!(lines, vec![("short".to_owned(), 0), ("ok".to_owned(), 27)]);
    }
}
