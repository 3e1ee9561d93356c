//! The e-mail sink against aiosmtpd on loopback (`tests/smtp_server.py`),
//! which requires STARTTLS with a certificate made by the test and
//! authentication.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use iocwatch_sinks::{Sink, SinkConfig};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{ChildGuard, TestCertificates, alerts, find_tool, free_tcp_port, skip, wait_for};

struct SmtpServer {
    _child: ChildGuard,
    output: PathBuf,
    port: u16,
}

impl SmtpServer {
    /// Starts the aiosmtpd helper, or returns `None` after printing why
    /// the test skips.
    fn start(dir: &Path, certificates: &TestCertificates, implicit_tls: bool) -> Option<Self> {
        let Some(python) = find_tool("python3") else {
            skip("python3 not found");
            return None;
        };
        let probe = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .unwrap();
        if !probe.status.success() {
            skip("the Python package aiosmtpd is not installed; run pip install aiosmtpd==1.4.6");
            return None;
        }

        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let output = dir.join("messages");
        let port = free_tcp_port();
        let mut command = Command::new(&python);
        command
            .arg(script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--cert")
            .arg(&certificates.cert)
            .arg("--key")
            .arg(&certificates.key)
            .arg("--output-dir")
            .arg(&output)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("smtp_server.err")).unwrap());
        if implicit_tls {
            command.arg("--implicit-tls");
        }

        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let guard = ChildGuard(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let errors = std::fs::read_to_string(dir.join("smtp_server.err")).unwrap_or_default();
        assert_eq!(line.trim(), "ready", "smtp_server.py failed to start: {errors}");
        Some(Self {
            _child: guard,
            output,
            port,
        })
    }

    /// Returns the JSON records of the received messages, once there are
    /// `count` of them, in arrival order.
    fn received(&self, count: usize) -> Vec<Value> {
        let list = || -> Vec<PathBuf> {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.output)
                .map(|entries| entries.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
            paths.sort();
            paths
        };
        wait_for(&format!("{count} messages"), Duration::from_secs(20), || {
            list().len() >= count
        });
        let paths = list();
        assert_eq!(paths.len(), count, "more messages than sent");
        paths
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

fn email_sink(server: &SmtpServer, certificates: &TestCertificates, extra: &str) -> Sink {
    let password_file = server.output.with_file_name("password");
    std::fs::write(&password_file, "hunter2\n").unwrap();
    let config = SinkConfig::from_toml(&format!(
        "name = \"on-call\"\ntype = \"email\"\nserver = \"127.0.0.1\"\nport = {}\nca_file = {:?}\n\
         username = \"iocwatch\"\npassword_file = {:?}\n\
         from = \"iocwatch <iocwatch@example.net>\"\nto = [\"soc@example.net\", \"Duty Analyst <duty@example.net>\"]\n\
         timeout = \"10s\"\n{extra}",
        server.port,
        certificates.ca.display().to_string(),
        password_file.display().to_string(),
    ))
    .unwrap();
    Sink::new(config).unwrap()
}

#[tokio::test]
async fn email_starttls_one_per_alert() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let Some(server) = SmtpServer::start(dir.path(), &certificates, false) else {
        return;
    };
    let sink = email_sink(&server, &certificates, "");
    assert_eq!(sink.max_batch(), 1);
    let alerts = alerts();
    sink.deliver(&alerts[2]).await.unwrap();
    sink.deliver(&alerts[3]).await.unwrap();

    let messages = server.received(2);
    let first = &messages[0];
    assert_eq!(first["tls"], true, "message was not sent over TLS");
    assert_eq!(first["authenticated"], true);
    assert_eq!(first["mail_from"], "iocwatch@example.net");
    assert_eq!(
        first["rcpt_tos"],
        serde_json::json!(["soc@example.net", "duty@example.net"])
    );
    assert_eq!(
        first["subject"],
        "[iocwatch] HIGH: 198.51.100.23 (c2-servers) on 10.20.0.15"
    );
    assert_eq!(first["content_type"], "text/plain");
    let body = first["body"].as_str().unwrap();
    // The transfer adds a final line break.
    assert_eq!(
        body.replace("\r\n", "\n").trim_end(),
        iocwatch_sinks::email_body(&alerts[2..3]).trim_end()
    );
    for expected in [
        "198.51.100.23",
        "10.20.0.15 (outbound)",
        "1796288400.112233\tCxA1\t10.20.0.15\t49822\t198.51.100.23\t443",
        "Botnet C2 server",
        "Find the process on 10.20.0.15 that contacted 198.51.100.23",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
    assert_eq!(
        messages[1]["subject"],
        "[iocwatch] MEDIUM: 203.0.113.0/28 (c2-servers) on 10.20.0.40"
    );
}

#[tokio::test]
async fn email_batches_alerts() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let Some(server) = SmtpServer::start(dir.path(), &certificates, false) else {
        return;
    };
    let sink = email_sink(&server, &certificates, "batch = 4\n");
    assert_eq!(sink.max_batch(), 4);
    let alerts = alerts();
    // Six alerts in batches of at most four: two messages.
    sink.deliver_batch(&alerts[..6]).await.unwrap();
    let messages = server.received(2);
    let first = messages[0]["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(first.starts_with("iocwatch raised 4 alerts.\n"), "{first}");
    assert!(
        first.contains("=== Alert 4 of 4: MEDIUM: 203.0.113.0/28 (c2-servers) on 10.20.0.40 ==="),
        "{first}"
    );
    assert!(
        messages[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("[iocwatch] 4 alerts, highest HIGH: ")
    );
    let second = messages[1]["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(second.starts_with("iocwatch raised 2 alerts.\n"), "{second}");
}

#[tokio::test]
async fn email_implicit_tls() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let Some(server) = SmtpServer::start(dir.path(), &certificates, true) else {
        return;
    };
    let sink = email_sink(&server, &certificates, "security = \"tls\"\n");
    sink.deliver(&alerts()[0]).await.unwrap();
    let messages = server.received(1);
    assert_eq!(messages[0]["tls"], true);
    assert!(
        messages[0]["body"]
            .as_str()
            .unwrap()
            .contains("e7fc4b658c64f9f7defb825a9d855cbfa65c3781")
    );
}

#[tokio::test]
async fn email_wrong_password_not_retryable() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let Some(server) = SmtpServer::start(dir.path(), &certificates, false) else {
        return;
    };
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "wrong\n").unwrap();
    let config = SinkConfig::from_toml(&format!(
        "name = \"on-call\"\ntype = \"email\"\nserver = \"127.0.0.1\"\nport = {}\nca_file = {:?}\n\
         username = \"iocwatch\"\npassword_file = {:?}\nfrom = \"iocwatch@example.net\"\nto = [\"soc@example.net\"]\n",
        server.port,
        certificates.ca.display().to_string(),
        password_file.display().to_string(),
    ))
    .unwrap();
    let error = Sink::new(config)
        .unwrap()
        .deliver(&alerts()[0])
        .await
        .unwrap_err();
    assert!(!error.is_retryable(), "{error}");
    assert!(error.message().contains("127.0.0.1"), "{error}");
    assert!(!error.message().contains("wrong"), "password in {error}");
}

#[tokio::test]
async fn email_unknown_ca_not_retryable() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let Some(server) = SmtpServer::start(dir.path(), &certificates, false) else {
        return;
    };
    let untrusted = TestCertificates {
        ca: certificates.other_ca.clone(),
        cert: certificates.cert.clone(),
        key: certificates.key.clone(),
        other_ca: certificates.other_ca.clone(),
    };
    let error = email_sink(&server, &untrusted, "")
        .deliver(&alerts()[0])
        .await
        .unwrap_err();
    assert!(!error.is_retryable(), "{error}");
}

#[tokio::test]
async fn email_server_down_is_retryable() {
    let dir = TempDir::new().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let config = SinkConfig::from_toml(&format!(
        "name = \"on-call\"\ntype = \"email\"\nserver = \"127.0.0.1\"\nport = {}\nca_file = {:?}\n\
         from = \"iocwatch@example.net\"\nto = [\"soc@example.net\"]\ntimeout = \"5s\"\n",
        free_tcp_port(),
        certificates.ca.display().to_string(),
    ))
    .unwrap();
    let error = Sink::new(config)
        .unwrap()
        .deliver(&alerts()[0])
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
}
