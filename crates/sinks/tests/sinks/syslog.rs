//! The syslog sink against rsyslog, started by each test on loopback with
//! its own configuration: CEF lines must arrive intact over UDP, TCP and
//! TLS, and the sink must reconnect to a restarted receiver.

use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use iocwatch_sinks::{Sink, SinkConfig, cef};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{
    ChildGuard, TestCertificates, alerts, find_tool, free_tcp_port, free_udp_port, skip, wait_for,
};

const STARTUP: Duration = Duration::from_secs(20);

enum Input<'a> {
    Udp,
    Tcp,
    Tls(&'a TestCertificates),
}

/// An rsyslogd child process that writes what it receives to
/// `received.log`, one line per message: facility, severity, hostname,
/// app name, msgid and the message, separated by single spaces.
struct Rsyslog {
    child: Option<ChildGuard>,
    dir: PathBuf,
    output: PathBuf,
}

impl Rsyslog {
    /// Starts rsyslogd, or returns `None` after printing why the test
    /// skips.
    fn start(dir: &Path, input: &Input<'_>, port: u16) -> Option<Self> {
        let Some(rsyslogd) = find_tool("rsyslogd") else {
            skip("rsyslogd not found; install the rsyslog package");
            return None;
        };
        if matches!(input, Input::Tls(_)) && gtls_module().is_none() {
            skip("rsyslog's gtls driver (lmnsd_gtls.so) not found; install the rsyslog-gnutls package");
            return None;
        }

        let output = dir.join("received.log");
        let work = dir.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let mut global = format!("workDirectory=\"{}\" maxMessageSize=\"64k\"", work.display());
        let listener = match input {
            Input::Udp => format!(
                "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\")\n"
            ),
            Input::Tcp => format!(
                "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n"
            ),
            Input::Tls(certificates) => {
                global.push_str(&format!(
                    " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"{}\" \
                     defaultNetstreamDriverCertFile=\"{}\" defaultNetstreamDriverKeyFile=\"{}\"",
                    certificates.ca.display(),
                    certificates.cert.display(),
                    certificates.key.display()
                ));
                format!(
                    "module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" \
                     streamDriver.authMode=\"anon\")\n\
                     input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n"
                )
            }
        };

        let config = format!(
            "global({global})\n\
             {listener}\
             template(name=\"fields\" type=\"list\") {{\n\
               property(name=\"syslogfacility-text\") constant(value=\" \")\n\
               property(name=\"syslogseverity-text\") constant(value=\" \")\n\
               property(name=\"hostname\") constant(value=\" \")\n\
               property(name=\"app-name\") constant(value=\" \")\n\
               property(name=\"msgid\") constant(value=\" \")\n\
               property(name=\"msg\") constant(value=\"\\n\")\n\
             }}\n\
             action(type=\"omfile\" file=\"{}\" template=\"fields\")\n",
            output.display()
        );
        let config_path = dir.join("rsyslog.conf");
        std::fs::write(&config_path, config).unwrap();

        let child = Command::new(rsyslogd)
            .arg("-n")
            .arg("-f")
            .arg(&config_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("rsyslogd.out")).unwrap())
            .stderr(File::create(dir.join("rsyslogd.err")).unwrap())
            .spawn()
            .unwrap();
        let rsyslog = Self {
            child: Some(ChildGuard(child)),
            dir: dir.to_owned(),
            output,
        };
        rsyslog.wait_ready(input, port);
        Some(rsyslog)
    }

    fn wait_ready(&self, input: &Input<'_>, port: u16) {
        match input {
            Input::Udp => {
                // UDP has no handshake: send probes until one is written.
                let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                wait_for(
                    &format!("rsyslogd on UDP {port}; see {}", self.dir.display()),
                    STARTUP,
                    || {
                        let _ = socket.send_to(b"<14>1 - probehost probe - - - ready", ("127.0.0.1", port));
                        std::thread::sleep(Duration::from_millis(100));
                        std::fs::read_to_string(&self.output).is_ok_and(|text| text.contains(" probe "))
                    },
                );
            }
            Input::Tcp | Input::Tls(_) => {
                wait_for(
                    &format!("rsyslogd on TCP {port}; see {}", self.dir.display()),
                    STARTUP,
                    || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
                );
            }
        }
    }

    /// Returns the lines written for messages of app `iocwatch`, once
    /// there are `count` of them.
    fn received(&self, count: usize) -> Vec<String> {
        let read = || -> Vec<String> {
            std::fs::read_to_string(&self.output)
                .unwrap_or_default()
                .lines()
                .filter(|line| line.split(' ').nth(3) == Some("iocwatch"))
                .map(str::to_owned)
                .collect()
        };
        wait_for(
            &format!("{count} messages in {}", self.output.display()),
            Duration::from_secs(20),
            || read().len() >= count,
        );
        let lines = read();
        assert_eq!(lines.len(), count, "more messages than sent: {lines:#?}");
        lines
    }

    fn stop(&mut self) {
        self.child = None;
    }
}

/// Returns the path of rsyslog's gtls network stream driver, if installed.
fn gtls_module() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec!["/usr/lib/rsyslog".into(), "/usr/lib64/rsyslog".into()];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(entries.flatten().map(|e| e.path().join("rsyslog")));
    }
    dirs.into_iter()
        .map(|dir| dir.join("lmnsd_gtls.so"))
        .find(|path| path.is_file())
}

fn syslog_sink(port: u16, transport: &str, extra: &str) -> Sink {
    let config = SinkConfig::from_toml(&format!(
        "name = \"siem\"\ntype = \"syslog\"\naddress = \"127.0.0.1:{port}\"\ntransport = \"{transport}\"\n\
         hostname = \"sensor-01\"\ntimeout = \"5s\"\n{extra}"
    ))
    .unwrap();
    Sink::new(config).unwrap()
}

/// Checks that every received line carries the alert's CEF line
/// unchanged, with the facility, severity and header fields expected.
fn assert_lines_match(lines: &[String], alerts: &[Value]) {
    assert_eq!(lines.len(), alerts.len());
    for (line, alert) in lines.iter().zip(alerts) {
        let severity = match alert.pointer("/iocwatch/severity").and_then(Value::as_str) {
            Some("critical") => "crit",
            Some("high") => "err",
            Some("low") => "notice",
            _ => "warning",
        };
        let expected = format!("local0 {severity} sensor-01 iocwatch alert {}", cef(alert));
        assert_eq!(line, &expected);
    }
}

#[tokio::test]
async fn syslog_udp_lands_intact() {
    let dir = TempDir::new().unwrap();
    let port = free_udp_port();
    let Some(rsyslog) = Rsyslog::start(dir.path(), &Input::Udp, port) else {
        return;
    };
    let sink = syslog_sink(port, "udp", "");
    let alerts = alerts();
    // One datagram at a time, so that rsyslog writes them in order.
    for alert in &alerts {
        sink.deliver(alert).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_lines_match(&rsyslog.received(alerts.len()), &alerts);
}

#[tokio::test]
async fn syslog_tcp_lands_intact() {
    let dir = TempDir::new().unwrap();
    let port = free_tcp_port();
    let Some(rsyslog) = Rsyslog::start(dir.path(), &Input::Tcp, port) else {
        return;
    };
    let sink = syslog_sink(port, "tcp", "");
    let alerts = alerts();
    sink.deliver(&alerts[0]).await.unwrap();
    sink.deliver_batch(&alerts[1..]).await.unwrap();
    let lines = rsyslog.received(alerts.len());
    assert_lines_match(&lines, &alerts);
    // The escaped specials survive the trip.
    let tricky = &lines[crate::support::TRICKY];
    assert!(tricky.contains(r"dl?a=1\|b=2\\x and 1 more"), "{tricky}");
    assert!(
        tricky.contains(r"request=http://files.evil.example/dl?a\=1|b\=2\\x "),
        "{tricky}"
    );
    assert!(tricky.contains(r"dropper\nsecond line"), "{tricky}");
}

#[tokio::test]
async fn syslog_tcp_reconnects_after_restart() {
    let dir = TempDir::new().unwrap();
    let port = free_tcp_port();
    let first_dir = dir.path().join("first");
    std::fs::create_dir(&first_dir).unwrap();
    let Some(mut first) = Rsyslog::start(&first_dir, &Input::Tcp, port) else {
        return;
    };
    let sink = syslog_sink(port, "tcp", "");
    let alerts = alerts();
    sink.deliver(&alerts[0]).await.unwrap();
    assert_lines_match(&first.received(1), &alerts[..1]);

    // The receiver goes away: the next delivery fails and may be retried.
    first.stop();
    let error = sink.deliver(&alerts[1]).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");

    // A new receiver on the same port gets the retried alert and the next
    // one over a new connection.
    let second_dir = dir.path().join("second");
    std::fs::create_dir(&second_dir).unwrap();
    let second = Rsyslog::start(&second_dir, &Input::Tcp, port).unwrap();
    sink.deliver(&alerts[1]).await.unwrap();
    sink.deliver(&alerts[2]).await.unwrap();
    assert_lines_match(&second.received(2), &alerts[1..3]);
}

// On the multi-thread runtime, as the alert service runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_tcp_picks_up_restarted_receiver() {
    let dir = TempDir::new().unwrap();
    let port = free_tcp_port();
    let first_dir = dir.path().join("first");
    std::fs::create_dir(&first_dir).unwrap();
    let Some(mut first) = Rsyslog::start(&first_dir, &Input::Tcp, port) else {
        return;
    };
    let sink = syslog_sink(port, "tcp", "");
    let alerts = alerts();
    sink.deliver(&alerts[0]).await.unwrap();
    first.received(1);

    // Restarted while the sink was idle: the next delivery succeeds at
    // once over a new connection.
    first.stop();
    let second_dir = dir.path().join("second");
    std::fs::create_dir(&second_dir).unwrap();
    let second = Rsyslog::start(&second_dir, &Input::Tcp, port).unwrap();
    sink.deliver(&alerts[1]).await.unwrap();
    assert_lines_match(&second.received(1), &alerts[1..2]);
}

#[tokio::test]
async fn syslog_tls_lands_intact() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let port = free_tcp_port();
    let Some(rsyslog) = Rsyslog::start(dir.path(), &Input::Tls(&certificates), port) else {
        return;
    };
    let sink = syslog_sink(
        port,
        "tls",
        &format!("ca_file = {:?}\n", certificates.ca.display().to_string()),
    );
    let alerts = alerts();
    sink.deliver_batch(&alerts).await.unwrap();
    assert_lines_match(&rsyslog.received(alerts.len()), &alerts);
}

#[tokio::test]
async fn syslog_tls_rejects_unknown_ca() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let port = free_tcp_port();
    let Some(_rsyslog) = Rsyslog::start(dir.path(), &Input::Tls(&certificates), port) else {
        return;
    };
    let sink = syslog_sink(
        port,
        "tls",
        &format!("ca_file = {:?}\n", certificates.other_ca.display().to_string()),
    );
    let error = sink.deliver(&alerts()[0]).await.unwrap_err();
    assert!(!error.is_retryable(), "{error}");
    assert!(error.message().contains("TLS handshake"), "{error}");
}

#[tokio::test]
async fn syslog_receiver_down_is_retryable() {
    let port = free_tcp_port();
    let error = syslog_sink(port, "tcp", "")
        .deliver(&alerts()[0])
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(error.message().contains(&format!("127.0.0.1:{port}")), "{error}");
}

/// Reads octet-counted frames (`LEN SP MSG`) from `bytes`; fails the test
/// on a frame that does not parse.
fn split_frames(mut bytes: &[u8]) -> Vec<String> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let space = bytes.iter().position(|&b| b == b' ').unwrap();
        let len: usize = std::str::from_utf8(&bytes[..space]).unwrap().parse().unwrap();
        let end = space + 1 + len;
        frames.push(String::from_utf8(bytes[space + 1..end].to_vec()).unwrap());
        bytes = &bytes[end..];
    }
    frames
}

#[tokio::test]
async fn syslog_tls_reuses_connection() {
    use rustls::pki_types::pem::PemObject;
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncReadExt;

    // A rustls receiver: TLS 1.3 servers send session tickets after the
    // handshake, which the sink must not take for a closed connection.
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let chain = rustls::pki_types::CertificateDer::pem_file_iter(&certificates.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&certificates.key).unwrap();
    #[allow(deprecated, reason = "ring is the provider this workspace builds with")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(Mutex::new(0_usize));
    let received = Arc::new(Mutex::new(Vec::<u8>::new()));
    let server = {
        let connections = Arc::clone(&connections);
        let received = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *connections.lock().unwrap() += 1;
                let acceptor = acceptor.clone();
                let received = Arc::clone(&received);
                tokio::spawn(async move {
                    let mut stream = acceptor.accept(stream).await.unwrap();
                    let mut buffer = [0_u8; 4096];
                    while let Ok(n) = stream.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                        received.lock().unwrap().extend_from_slice(&buffer[..n]);
                    }
                });
            }
        })
    };

    let sink = syslog_sink(
        port,
        "tls",
        &format!("ca_file = {:?}\n", certificates.ca.display().to_string()),
    );
    let alerts = alerts();
    for alert in &alerts[..3] {
        sink.deliver(alert).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected_bytes: usize = alerts[..3].iter().map(|alert| cef(alert).len()).sum();
    crate::support::wait_for("three frames", Duration::from_secs(10), || {
        received.lock().unwrap().len() > expected_bytes
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(
        *connections.lock().unwrap(),
        1,
        "the sink opened more than one connection"
    );
    let frames = split_frames(&received.lock().unwrap());
    assert_eq!(frames.len(), 3);
    for (frame, alert) in frames.iter().zip(&alerts) {
        let priority = match alert.pointer("/iocwatch/severity").and_then(Value::as_str) {
            Some("high") => "<131>1 ",
            _ => "<132>1 ",
        };
        assert!(frame.starts_with(priority), "{frame}");
        let tail = format!(
            " sensor-01 iocwatch {} alert - {}",
            std::process::id(),
            cef(alert)
        );
        assert!(frame.ends_with(&tail), "{frame}");
    }
    server.abort();
}
