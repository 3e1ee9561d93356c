//! Syslog source tests on loopback sockets, with util-linux `logger` as a
//! real client.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::counters;
use crate::sources::{Batch, SourceError, SyslogSource, SyslogSourceConfig};

const WAIT: Duration = Duration::from_secs(20);

struct Running {
    rx: mpsc::Receiver<Batch>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    udp: SocketAddr,
    tcp: SocketAddr,
}

impl Running {
    async fn start(max_message_bytes: usize) -> Self {
        Self::start_named("syslog", max_message_bytes).await
    }

    async fn start_named(name: &str, max_message_bytes: usize) -> Self {
        let mut config = SyslogSourceConfig::new(name);
        config.max_message_bytes = max_message_bytes;
        Self::start_with(config).await
    }

    /// Starts `config` with both listeners on free loopback ports.
    async fn start_with(mut config: SyslogSourceConfig) -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        config.udp = Some(loopback);
        config.tcp = Some(loopback);
        let source = SyslogSource::bind(config).await.unwrap();
        let udp = source.udp_addr().unwrap();
        let tcp = source.tcp_addr().unwrap();
        let (tx, rx) = mpsc::channel(16);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(source.run(tx, shutdown.clone()));
        Self {
            rx,
            shutdown,
            task,
            udp,
            tcp,
        }
    }

    /// Receives until `count` messages have arrived, failing after [`WAIT`].
    async fn messages(&mut self, count: usize) -> Vec<(String, SocketAddr)> {
        let mut messages = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while messages.len() < count {
            let batch = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out with {} of {count} messages: {messages:?}",
                        messages.len()
                    )
                })
                .expect("source ended");
            assert!(batch.checkpoint.is_none());
            for line in batch.lines {
                assert!(line.path.is_none());
                messages.push((String::from_utf8(line.data.to_vec()).unwrap(), line.peer.unwrap()));
            }
        }
        messages
    }

    async fn nothing_within(&mut self, period: Duration) {
        if let Ok(Some(batch)) = tokio::time::timeout(period, self.rx.recv()).await {
            panic!("unexpected batch: {batch:?}");
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task).await.unwrap().unwrap();
    }
}

fn texts(messages: &[(String, SocketAddr)]) -> Vec<&str> {
    messages.iter().map(|(text, _)| text.as_str()).collect()
}

#[tokio::test]
async fn syslog_udp_messages() {
    let mut running = Running::start(1024).await;
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    client
        .send_to(b"<13>Dec  4 10:00:00 host app: first\n", running.udp)
        .await
        .unwrap();
    client
        .send_to(b"<13>1 2026-12-04T10:00:00Z host app - - - second", running.udp)
        .await
        .unwrap();
    let messages = running.messages(2).await;
    assert_eq!(
        texts(&messages),
        [
            "<13>Dec  4 10:00:00 host app: first",
            "<13>1 2026-12-04T10:00:00Z host app - - - second"
        ]
    );
    assert_eq!(messages[0].1, client.local_addr().unwrap());
    running.stop().await;
}

#[tokio::test]
async fn syslog_udp_oversized_dropped() {
    let mut running = Running::start(64).await;
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    client.send_to(&[b'x'; 65], running.udp).await.unwrap();
    client.send_to(&[b'y'; 64], running.udp).await.unwrap();
    let messages = running.messages(1).await;
    assert_eq!(texts(&messages), ["y".repeat(64)]);
    running.stop().await;
}

#[tokio::test]
async fn syslog_tcp_newline_framing_split_reads() {
    let mut running = Running::start(1024).await;
    let mut client = TcpStream::connect(running.tcp).await.unwrap();
    client.set_nodelay(true).unwrap();
    client.write_all(b"<13>one\n<13>tw").await.unwrap();
    let messages = running.messages(1).await;
    assert_eq!(texts(&messages), ["<13>one"]);
    running.nothing_within(Duration::from_millis(100)).await;
    client.write_all(b"o\r\n<13>three").await.unwrap();
    let messages = running.messages(1).await;
    assert_eq!(texts(&messages), ["<13>two"]);
    // The last message has no newline: the end of the connection ends it.
    drop(client);
    let messages = running.messages(1).await;
    assert_eq!(texts(&messages), ["<13>three"]);
    running.stop().await;
}

#[tokio::test]
async fn syslog_tcp_octet_counting_split_reads() {
    let mut running = Running::start(1024).await;
    let mut client = TcpStream::connect(running.tcp).await.unwrap();
    client.set_nodelay(true).unwrap();
    client.write_all(b"13 <13>first\nmsg1").await.unwrap();
    let messages = running.messages(1).await;
    assert_eq!(texts(&messages), ["<13>first\nmsg"]);
    running.nothing_within(Duration::from_millis(100)).await;
    client.write_all(b"5 <13>second half").await.unwrap();
    let messages = running.messages(1).await;
    assert_eq!(texts(&messages), ["<13>second half"]);
    running.stop().await;
}

#[tokio::test]
async fn syslog_tcp_oversized_dropped() {
    let mut running = Running::start(32).await;
    let mut client = TcpStream::connect(running.tcp).await.unwrap();
    let long = "x".repeat(100);
    client
        .write_all(format!("<13>{long}\n<13>after\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(texts(&running.messages(1).await), ["<13>after"]);

    let mut counted = TcpStream::connect(running.tcp).await.unwrap();
    counted
        .write_all(format!("9 <13>small104 <13>{long}9 <13>after").as_bytes())
        .await
        .unwrap();
    assert_eq!(texts(&running.messages(2).await), ["<13>small", "<13>after"]);
    running.stop().await;
}

#[tokio::test]
async fn syslog_counters() {
    counters::install();
    let source = [("source", "syslog-counted")];
    let mut running = Running::start_named("syslog-counted", 16).await;
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    client.send_to(&[b'x'; 17], running.udp).await.unwrap();
    client.send_to(b"<13>udp", running.udp).await.unwrap();
    assert_eq!(texts(&running.messages(1).await), ["<13>udp"]);
    let mut stream = TcpStream::connect(running.tcp).await.unwrap();
    stream
        .write_all(b"<13>this one is too long\n<13>tcp\n")
        .await
        .unwrap();
    assert_eq!(texts(&running.messages(1).await), ["<13>tcp"]);

    assert_eq!(counters::counter("iocwatch_source_lines_total", &source), 2);
    assert_eq!(counters::counter("iocwatch_source_bytes_total", &source), 14);
    let too_long = [("source", "syslog-counted"), ("kind", "too_long")];
    assert_eq!(counters::counter("iocwatch_source_errors_total", &too_long), 2);
    assert_eq!(counters::counter("iocwatch_source_connections_total", &source), 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_many_tcp_connections() {
    let mut running = Running::start(1024).await;
    let address = running.tcp;
    let mut clients = Vec::new();
    for client in 0..50 {
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            for message in 0..100 {
                let text = format!("<13>client {client} message {message}");
                if client % 2 == 0 {
                    stream
                        .write_all(format!("{} {text}", text.len()).as_bytes())
                        .await
                        .unwrap();
                } else {
                    stream.write_all(format!("{text}\n").as_bytes()).await.unwrap();
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let messages = running.messages(5000).await;
    for client in 0..50 {
        let prefix = format!("<13>client {client} message ");
        let numbers: Vec<usize> = messages
            .iter()
            .filter_map(|(text, _)| text.strip_prefix(&prefix))
            .map(|number| number.parse().unwrap())
            .collect();
        assert_eq!(numbers, (0..100).collect::<Vec<_>>(), "client {client}");
    }
    running.stop().await;
}

#[tokio::test]
async fn syslog_connection_limit() {
    let mut config = SyslogSourceConfig::new("syslog");
    config.max_connections = 1;
    let mut running = Running::start_with(config).await;
    let mut first = TcpStream::connect(running.tcp).await.unwrap();
    first.write_all(b"<13>first\n").await.unwrap();
    assert_eq!(texts(&running.messages(1).await), ["<13>first"]);

    // The second connection is closed at once, and the first still works.
    let mut second = TcpStream::connect(running.tcp).await.unwrap();
    let mut buffer = [0; 16];
    let read = tokio::time::timeout(WAIT, tokio::io::AsyncReadExt::read(&mut second, &mut buffer))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    first.write_all(b"<13>again\n").await.unwrap();
    assert_eq!(texts(&running.messages(1).await), ["<13>again"]);

    // Once the first connection ends, a new one is served.
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(running.tcp).await.unwrap();
    third.write_all(b"<13>third\n").await.unwrap();
    assert_eq!(texts(&running.messages(1).await), ["<13>third"]);
    running.stop().await;
}

#[tokio::test]
async fn syslog_bind_in_use() {
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let mut config = SyslogSourceConfig::new("syslog");
    config.udp = None;
    config.tcp = Some(taken.local_addr().unwrap());
    let error = SyslogSource::bind(config).await.unwrap_err();
    assert!(
        matches!(error, SourceError::Bind { transport: "tcp", .. }),
        "{error}"
    );
}

/// Runs `logger` with `arguments`, or returns `false` when it is not
/// installed and real tools are not required.
async fn run_logger(arguments: Vec<String>) -> bool {
    let output =
        tokio::task::spawn_blocking(move || std::process::Command::new("logger").args(&arguments).output())
            .await
            .unwrap();
    match output {
        Ok(output) => {
            assert!(
                output.status.success(),
                "logger failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            true
        }
        Err(error) if std::env::var_os("IOCWATCH_REQUIRE_REAL").is_some_and(|value| value == "1") => {
            panic!("logger from util-linux is required (IOCWATCH_REQUIRE_REAL=1) but cannot run: {error}")
        }
        Err(error) => {
            eprintln!("skipped: logger from util-linux cannot run: {error}");
            false
        }
    }
}

fn logger_arguments(address: SocketAddr, options: &[&str], message: &str) -> Vec<String> {
    let mut arguments = vec![
        "--server".to_owned(),
        address.ip().to_string(),
        "--port".to_owned(),
        address.port().to_string(),
        "--tag".to_owned(),
        "iocwatch-test".to_owned(),
    ];
    arguments.extend(options.iter().map(|option| (*option).to_owned()));
    arguments.push(message.to_owned());
    arguments
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_logger_udp_and_tcp() {
    let mut running = Running::start(8192).await;
    let cases: [(&[&str], bool); 6] = [
        (&["--udp", "--rfc5424"], true),
        (&["--udp", "--rfc3164"], true),
        (&["--tcp", "--rfc5424"], false),
        (&["--tcp", "--rfc3164"], false),
        (&["--tcp", "--rfc5424", "--octet-count"], false),
        (&["--tcp", "--rfc3164", "--octet-count"], false),
    ];
    for (options, udp) in cases {
        let address = if udp { running.udp } else { running.tcp };
        let text = format!("connection to 203.0.113.7 via {}", options.join(" "));
        if !run_logger(logger_arguments(address, options, &text)).await {
            break;
        }
        let messages = running.messages(1).await;
        let message = &messages[0].0;
        assert!(message.starts_with('<'), "{options:?}: {message:?}");
        assert!(message.ends_with(&text), "{options:?}: {message:?}");
        assert!(message.contains("iocwatch-test"), "{options:?}: {message:?}");
        if options.contains(&"--rfc5424") {
            assert!(message.contains(">1 "), "{options:?}: {message:?}");
        }
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_logger_lines_from_stdin_over_tcp() {
    let mut running = Running::start(8192).await;
    let lines: Vec<String> = (0..200).map(|i| format!("stdin line {i}")).collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, format!("{}\n", lines.join("\n"))).unwrap();
    for octet_count in [false, true] {
        let mut options = vec!["--tcp", "--rfc5424", "--file", input.to_str().unwrap()];
        if octet_count {
            options.push("--octet-count");
        }
        let mut arguments = logger_arguments(running.tcp, &options, "");
        arguments.pop();
        if !run_logger(arguments).await {
            break;
        }
        let messages = running.messages(200).await;
        for (message, line) in messages.iter().zip(&lines) {
            assert!(
                message.0.ends_with(line.as_str()),
                "octet counting {octet_count}: {message:?}"
            );
        }
    }
    running.stop().await;
}
