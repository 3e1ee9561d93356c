//! Syslog messages received over UDP and TCP.
//!
//! UDP: one message per datagram (RFC 5426). TCP: the framing is detected
//! per connection from its first byte (RFC 6587): a digit `1`-`9` starts
//! octet counting (`LENGTH SP MESSAGE`), anything else means messages ended
//! by a newline. Messages longer than
//! [`SyslogSourceConfig::max_message_bytes`] are dropped and counted; the
//! connection goes on with the next message. The messages are passed on
//! undecoded (RFC 3164 and RFC 5424 alike), with trailing `\r`, `\n` and NUL
//! bytes removed.
//!
//! NOTE: the UDP socket keeps the system's default receive buffer
//! (`net.core.rmem_default` on Linux). Datagrams arriving faster than they
//! are read overflow it, and the kernel drops them without a count here.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use metrics::{Gauge, counter, gauge};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Batch, BatchBuilder, DEFAULT_BATCH_LINES, ErrorKind, SourceError, SourceLine, SourceMetrics};

/// Port both listeners use by default. The standard port 514 needs root or
/// CAP_NET_BIND_SERVICE.
pub const DEFAULT_PORT: u16 = 5514;

/// Maximum length of the octet-counting length field, in digits.
const MAX_LENGTH_DIGITS: usize = 10;

/// Bytes asked for by one TCP read.
const READ_CHUNK: usize = 16 * 1024;

/// Settings of a [`SyslogSource`].
#[derive(Debug, Clone)]
pub struct SyslogSourceConfig {
    /// Name of the source, used in batches, metrics and logs.
    pub name: String,
    /// Address of the UDP listener, or `None` for no UDP.
    pub udp: Option<SocketAddr>,
    /// Address of the TCP listener, or `None` for no TCP.
    pub tcp: Option<SocketAddr>,
    /// Maximum message length, in bytes. Longer ones are dropped and counted.
    pub max_message_bytes: usize,
    /// TCP connections served at once; more are closed right after accepting.
    pub max_connections: usize,
    /// Messages sent in one batch at most.
    pub max_batch_lines: usize,
}

impl SyslogSourceConfig {
    /// Creates settings for UDP and TCP on 127.0.0.1 port [`DEFAULT_PORT`].
    pub fn new(name: impl Into<String>) -> Self {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT));
        Self {
            name: name.into(),
            udp: Some(address),
            tcp: Some(address),
            max_message_bytes: 64 * 1024,
            max_connections: 1024,
            max_batch_lines: DEFAULT_BATCH_LINES,
        }
    }
}

/// A syslog receiver with its sockets bound.
#[derive(Debug)]
pub struct SyslogSource {
    config: SyslogSourceConfig,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
}

impl SyslogSource {
    /// Binds the configured listeners.
    ///
    /// # Errors
    ///
    /// [`SourceError::Bind`] when an address is in use or not allowed, and
    /// [`SourceError::InvalidSetting`] for a zero limit or no listener at all.
    pub async fn bind(config: SyslogSourceConfig) -> Result<Self, SourceError> {
        let invalid = |setting, value: String, reason| SourceError::InvalidSetting {
            source_name: config.name.clone(),
            setting,
            value,
            reason,
        };
        if config.udp.is_none() && config.tcp.is_none() {
            return Err(invalid(
                "udp, tcp",
                "none".to_owned(),
                "set a UDP or a TCP address, or both",
            ));
        }
        if config.max_message_bytes == 0 {
            return Err(invalid("max_message_bytes", "0".to_owned(), "must be at least 1"));
        }
        if config.max_connections == 0 {
            return Err(invalid("max_connections", "0".to_owned(), "must be at least 1"));
        }
        let bind_error = |transport, address, error| SourceError::Bind {
            source_name: config.name.clone(),
            transport,
            address,
            error,
        };
        let udp = match config.udp {
            Some(address) => Some(bind_udp(address).map_err(|error| bind_error("udp", address, error))?),
            None => None,
        };
        let tcp = match config.tcp {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(|error| bind_error("tcp", address, error))?,
            ),
            None => None,
        };
        Ok(Self { config, udp, tcp })
    }

    /// Address the UDP listener is bound to (with the port chosen by the
    /// system when port 0 was configured).
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|socket| socket.local_addr().ok())
    }

    /// Address the TCP listener is bound to.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|listener| listener.local_addr().ok())
    }

    /// Receives messages until `shutdown` is cancelled or the receiver of
    /// `tx` is dropped, and returns once every connection has ended.
    pub async fn run(self, tx: mpsc::Sender<Batch>, shutdown: CancellationToken) {
        let name: Arc<str> = Arc::from(self.config.name.as_str());
        let context = Arc::new(Context {
            metrics: SourceMetrics::new(&name),
            open: gauge!("iocwatch_source_connections_open", "source" => name.to_string()),
            name,
            max_message: self.config.max_message_bytes,
            max_batch_lines: self.config.max_batch_lines,
            max_connections: self.config.max_connections,
        });
        tracing::info!(source = %context.name, udp = ?self.udp_addr(), tcp = ?self.tcp_addr(), "syslog source started");
        let tracker = TaskTracker::new();
        if let Some(socket) = self.udp {
            tracker.spawn(receive_udp(
                socket,
                Arc::clone(&context),
                tx.clone(),
                shutdown.clone(),
            ));
        }
        if let Some(listener) = self.tcp {
            let connections = tracker.clone();
            let limit = Arc::new(Semaphore::new(self.config.max_connections));
            tracker.spawn(accept_tcp(
                listener,
                Arc::clone(&context),
                tx.clone(),
                shutdown.clone(),
                connections,
                limit,
            ));
        }
        drop(tx);
        tracker.close();
        tracker.wait().await;
        tracing::info!(source = %context.name, "syslog source stopped");
    }
}

/// Settings and metrics shared by the receiving tasks.
struct Context {
    name: Arc<str>,
    metrics: SourceMetrics,
    open: Gauge,
    max_message: usize,
    max_batch_lines: usize,
    max_connections: usize,
}

impl Context {
    /// Sends every collected message; returns `false` when the source must stop.
    async fn send_all(
        &self,
        batch: &mut BatchBuilder,
        tx: &mpsc::Sender<Batch>,
        shutdown: &CancellationToken,
    ) -> bool {
        while !batch.is_empty() {
            let next = batch.take(None);
            self.metrics.count_batch(&next.lines);
            let sent = tokio::select! {
                biased;
                () = shutdown.cancelled() => false,
                sent = tx.send(next) => sent.is_ok(),
            };
            if !sent {
                return false;
            }
        }
        true
    }

    fn message(&self, data: Bytes, peer: SocketAddr, received: Instant) -> SourceLine {
        SourceLine {
            data,
            path: None,
            offset: None,
            peer: Some(peer),
            received,
        }
    }
}

async fn receive_udp(
    socket: UdpSocket,
    context: Arc<Context>,
    tx: mpsc::Sender<Batch>,
    shutdown: CancellationToken,
) {
    // One byte more than the maximum distinguishes an over-long datagram from
    // one of exactly the maximum size.
    let mut buffer = vec![0; context.max_message.saturating_add(1).min(65_536)];
    let mut batch = BatchBuilder::new(&context.name, context.max_batch_lines);
    loop {
        let received = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            received = socket.recv_from(&mut buffer) => received,
        };
        let mut next = Some(received);
        // Take what else is queued without waiting, up to a full batch.
        while let Some(received) = next.take() {
            match received {
                Ok((length, peer)) => {
                    let now = Instant::now();
                    if length > context.max_message {
                        context.metrics.error(ErrorKind::TooLong);
                        tracing::debug!(source = %context.name, %peer, length, max_message_bytes = context.max_message, "dropped an over-long UDP message");
                    } else {
                        let data = trim_message(&buffer[..length]);
                        if !data.is_empty() {
                            batch.push(context.message(Bytes::copy_from_slice(data), peer, now));
                        }
                    }
                }
                Err(error) => {
                    context.metrics.error(ErrorKind::Read);
                    tracing::debug!(source = %context.name, %error, "receiving a UDP message failed");
                }
            }
            if batch.is_full() {
                break;
            }
            match socket.try_recv_from(&mut buffer) {
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                other => next = Some(other),
            }
        }
        if !context.send_all(&mut batch, &tx, &shutdown).await {
            return;
        }
    }
}

async fn accept_tcp(
    listener: TcpListener,
    context: Arc<Context>,
    tx: mpsc::Sender<Batch>,
    shutdown: CancellationToken,
    connections: TaskTracker,
    limit: Arc<Semaphore>,
) {
    let accepted = counter!("iocwatch_source_connections_total", "source" => context.name.to_string());
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            result = listener.accept() => match result {
                Ok(connection) => connection,
                Err(error) => {
                    context.metrics.error(ErrorKind::Accept);
                    tracing::warn!(source = %context.name, %error, "accepting a TCP connection failed; raise the open-file limit if it is reached");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            context.metrics.error(ErrorKind::Accept);
            tracing::warn!(source = %context.name, %peer, max_connections = context.max_connections, "closed a TCP connection over the connection limit; raise max_connections to serve more senders");
            continue;
        };
        accepted.increment(1);
        context.open.increment(1.0);
        let context = Arc::clone(&context);
        let tx = tx.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            tracing::debug!(source = %context.name, %peer, "TCP connection opened");
            serve_connection(stream, peer, &context, &tx, &shutdown).await;
            context.open.decrement(1.0);
            tracing::debug!(source = %context.name, %peer, "TCP connection closed");
            drop(permit);
        });
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    context: &Context,
    tx: &mpsc::Sender<Batch>,
    shutdown: &CancellationToken,
) {
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    let mut decoder = FrameDecoder::new(context.max_message);
    let mut batch = BatchBuilder::new(&context.name, context.max_batch_lines);
    loop {
        if buffer.capacity() - buffer.len() < READ_CHUNK / 4 {
            buffer.reserve(READ_CHUNK);
        }
        let read = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            read = stream.read_buf(&mut buffer) => read,
        };
        let received = Instant::now();
        let mut push = |data| batch.push(context.message(data, peer, received));
        let at_end = match read {
            Ok(0) => {
                decoder.finish(&mut buffer, &mut push);
                true
            }
            Ok(_) => {
                decoder.decode(&mut buffer, &mut push);
                false
            }
            Err(error) => {
                context.metrics.error(ErrorKind::Read);
                tracing::debug!(source = %context.name, %peer, %error, "reading from a TCP connection failed; closing it");
                true
            }
        };
        let problems = decoder.take_problems();
        context.metrics.errors(ErrorKind::TooLong, problems.too_long);
        context.metrics.errors(ErrorKind::Framing, problems.framing);
        if problems.too_long > 0 {
            tracing::debug!(source = %context.name, %peer, dropped = problems.too_long, max_message_bytes = context.max_message, "dropped over-long TCP messages");
        }
        if problems.framing > 0 {
            tracing::warn!(source = %context.name, %peer, "invalid octet-counting frame header; skipped to the next newline (the sender should use RFC 6587 framing consistently)");
        }
        if !context.send_all(&mut batch, tx, shutdown).await || at_end {
            return;
        }
    }
}

/// Receive buffer requested on the UDP socket. Bursts of syslog over UDP
/// overflow the default buffer (212,992 bytes on this Linux machine), and
/// the kernel drops the datagrams unseen. The kernel caps the request at
/// `net.core.rmem_max`.
const UDP_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

/// Binds the UDP socket with a large receive buffer.
fn bind_udp(address: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if let Err(error) = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        tracing::warn!(%address, %error, "cannot enlarge the UDP receive buffer; bursts may be dropped by the kernel");
    } else if let Ok(size) = socket.recv_buffer_size()
        && size < UDP_RECEIVE_BUFFER
    {
        // Linux reports twice the size it grants, capped by rmem_max.
        tracing::info!(%address, granted = size, wanted = UDP_RECEIVE_BUFFER, "the kernel capped the UDP receive buffer; raise net.core.rmem_max so that bursts of syslog are not dropped");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

/// Removes trailing newline, carriage return and NUL bytes.
fn trim_message(data: &[u8]) -> &[u8] {
    let end = data
        .iter()
        .rposition(|&byte| !matches!(byte, b'\n' | b'\r' | 0))
        .map_or(0, |last| last + 1);
    &data[..end]
}

/// Message framing of a TCP connection (RFC 6587).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Not known until the first byte arrives.
    Undetected,
    /// `LENGTH SP MESSAGE`.
    OctetCounting,
    /// Each message ends with a newline.
    NonTransparent,
}

/// Problems found while splitting frames, since the last look.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct FrameProblems {
    too_long: u64,
    framing: u64,
}

/// Splits a TCP byte stream into syslog messages, holding at most about one
/// maximum-size message in memory.
#[derive(Debug)]
struct FrameDecoder {
    framing: Framing,
    max_message: usize,
    /// Bytes of an over-long counted message still to drop.
    skip: usize,
    /// Dropping bytes up to the next newline (an over-long newline-framed
    /// message, or recovery from a broken octet-counting header).
    to_newline: bool,
    /// Bytes at the start of the buffer known to hold no newline.
    scanned: usize,
    problems: FrameProblems,
}

impl FrameDecoder {
    fn new(max_message: usize) -> Self {
        Self {
            framing: Framing::Undetected,
            max_message,
            skip: 0,
            to_newline: false,
            scanned: 0,
            problems: FrameProblems::default(),
        }
    }

    fn take_problems(&mut self) -> FrameProblems {
        std::mem::take(&mut self.problems)
    }

    /// Hands every complete message in `buffer` to `emit` and leaves the
    /// incomplete rest in `buffer`.
    fn decode(&mut self, buffer: &mut BytesMut, emit: &mut impl FnMut(Bytes)) {
        loop {
            if self.skip > 0 {
                let skipped = self.skip.min(buffer.len());
                buffer.advance(skipped);
                self.skip -= skipped;
                if self.skip > 0 {
                    return;
                }
            }
            if self.to_newline {
                match memchr::memchr(b'\n', buffer) {
                    Some(newline) => {
                        buffer.advance(newline + 1);
                        self.to_newline = false;
                    }
                    None => {
                        buffer.clear();
                        return;
                    }
                }
            }
            let Some(&first) = buffer.first() else {
                return;
            };
            if self.framing == Framing::Undetected {
                self.framing = if first.is_ascii_digit() && first != b'0' {
                    Framing::OctetCounting
                } else {
                    Framing::NonTransparent
                };
            }
            let more = match self.framing {
                Framing::OctetCounting => self.decode_counted(buffer, emit),
                _ => self.decode_line(buffer, emit),
            };
            if !more {
                return;
            }
        }
    }

    /// Takes one counted message; returns whether to go on.
    fn decode_counted(&mut self, buffer: &mut BytesMut, emit: &mut impl FnMut(Bytes)) -> bool {
        // The header: up to MAX_LENGTH_DIGITS digits, then a space.
        let header = &buffer[..buffer.len().min(MAX_LENGTH_DIGITS + 1)];
        let Some(space) = header.iter().position(|&byte| byte == b' ') else {
            if header.iter().all(u8::is_ascii_digit) && header.len() <= MAX_LENGTH_DIGITS {
                return false;
            }
            self.broken_header();
            return true;
        };

        let digits = &header[..space];
        let length = std::str::from_utf8(digits)
            .ok()
            .filter(|digits| !digits.starts_with('0'))
            .and_then(|digits| digits.parse::<usize>().ok());
        let Some(length) = length else {
            self.broken_header();
            return true;
        };

        if length > self.max_message {
            self.problems.too_long += 1;
            buffer.advance(space + 1);
            self.skip = length;
            return true;
        }
        if buffer.len() < space + 1 + length {
            buffer.reserve(space + 1 + length - buffer.len());
            return false;
        }

        buffer.advance(space + 1);
        let message = buffer.split_to(length).freeze();
        let trimmed = trim_message(&message).len();
        if trimmed > 0 {
            emit(message.slice(..trimmed));
        }
        true
    }

    fn broken_header(&mut self) {
        self.problems.framing += 1;
        self.to_newline = true;
    }

    /// Takes one newline-ended message; returns whether to go on.
    fn decode_line(&mut self, buffer: &mut BytesMut, emit: &mut impl FnMut(Bytes)) -> bool {
        let Some(newline) =
            memchr::memchr(b'\n', &buffer[self.scanned..]).map(|position| self.scanned + position)
        else {
            self.scanned = buffer.len();
            if buffer.len() > self.max_message {
                self.problems.too_long += 1;
                self.to_newline = true;
                self.scanned = 0;
                buffer.clear();
            }
            return false;
        };
        self.scanned = 0;
        let message = buffer.split_to(newline + 1).freeze();
        let trimmed = trim_message(&message).len();
        if trimmed > self.max_message {
            self.problems.too_long += 1;
        } else if trimmed > 0 {
            emit(message.slice(..trimmed));
        }
        true
    }

    /// Handles the end of the stream: a last newline-framed message without
    /// its newline is kept; an incomplete counted message is counted as a
    /// framing problem.
    fn finish(&mut self, buffer: &mut BytesMut, emit: &mut impl FnMut(Bytes)) {
        self.decode(buffer, emit);
        if buffer.is_empty() || self.skip > 0 || self.to_newline {
            buffer.clear();
            return;
        }
        match self.framing {
            Framing::OctetCounting => self.problems.framing += 1,
            _ => {
                let message = buffer.split().freeze();
                let trimmed = trim_message(&message).len();
                if trimmed > 0 {
                    emit(message.slice(..trimmed));
                }
            }
        }
        buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_chunks(max: usize, chunks: &[&[u8]]) -> (Vec<String>, FrameProblems) {
        let mut decoder = FrameDecoder::new(max);
        let mut buffer = BytesMut::new();
        let mut messages = Vec::new();
        let mut problems = FrameProblems::default();
        let mut emit = |data: Bytes| messages.push(String::from_utf8_lossy(&data).into_owned());
        for chunk in chunks {
            buffer.extend_from_slice(chunk);
            decoder.decode(&mut buffer, &mut emit);
            let found = decoder.take_problems();
            problems.too_long += found.too_long;
            problems.framing += found.framing;
        }
        decoder.finish(&mut buffer, &mut emit);
        let found = decoder.take_problems();
        problems.too_long += found.too_long;
        problems.framing += found.framing;
        (messages, problems)
    }

    #[test]
    fn counted_frames_split_anywhere() {
        let stream = b"11 <13>hello a12 <13>hello b\n4 <1>x";
        for cut in 0..stream.len() {
            let (messages, problems) = decode_chunks(1024, &[&stream[..cut], &stream[cut..]]);
            assert_eq!(messages, ["<13>hello a", "<13>hello b", "<1>x"], "cut at {cut}");
            assert_eq!(problems, FrameProblems::default(), "cut at {cut}");
        }
    }

    #[test]
    fn newline_frames_split_anywhere() {
        let stream = b"<13>one\r\n<13>two\n\n<13>three";
        for cut in 0..stream.len() {
            let (messages, _) = decode_chunks(1024, &[&stream[..cut], &stream[cut..]]);
            assert_eq!(messages, ["<13>one", "<13>two", "<13>three"], "cut at {cut}");
        }
    }

    #[test]
    fn counted_frame_too_long_skipped() {
        let (messages, problems) = decode_chunks(8, &[b"4 <1>a12 <1>toolong!", b"!4 <1>b"]);
        assert_eq!(messages, ["<1>a", "<1>b"]);
        assert_eq!(problems.too_long, 1);
    }

    #[test]
    fn newline_frame_too_long_skipped() {
        let (messages, problems) = decode_chunks(8, &[b"<1>a\n<1>far too", b" long\n<1>b\n"]);
        assert_eq!(messages, ["<1>a", "<1>b"]);
        assert_eq!(problems.too_long, 1);
    }

    #[test]
    fn broken_header_skips_to_newline() {
        let (messages, problems) = decode_chunks(64, &[b"4 <1>a9x9 junk\n4 <1>b"]);
        assert_eq!(messages, ["<1>a", "<1>b"]);
        assert_eq!(problems.framing, 1);
    }

    #[test]
    fn truncated_counted_frame_counted() {
        let (messages, problems) = decode_chunks(64, &[b"4 <1>a20 <1>cut"]);
        assert_eq!(messages, ["<1>a"]);
        assert_eq!(problems.framing, 1);
    }

    #[test]
    fn trim_removes_terminators() {
        assert_eq!(trim_message(b"<1>a\r\n\0"), b"<1>a");
        assert_eq!(trim_message(b"\n"), b"");
    }
}
