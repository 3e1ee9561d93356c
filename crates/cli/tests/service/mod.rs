//! A running `iocwatch run` process for the service tests: its own data
//! folder, configuration and free loopback ports.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::iocwatch;

/// Returns a loopback port that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Returns a loopback UDP port that was free a moment ago.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A service under test.
pub struct Service {
    pub dir: tempfile::TempDir,
    pub http: SocketAddr,
    pub config: PathBuf,
    child: Option<Child>,
}

impl Service {
    /// Prepares a service whose configuration is `body` after the data
    /// folder and HTTP lines; `{dir}` in `body` is replaced by the
    /// service's folder. Nothing runs until [`Service::start`].
    pub fn new(body: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
        let config = dir.path().join("iocwatch.toml");
        let service = Self {
            dir,
            http,
            config,
            child: None,
        };
        service.write_config(body);
        service
    }

    /// Replaces the configuration with `body` after the data folder and
    /// HTTP lines, as [`Service::new`] writes it. The next
    /// [`Service::start`] reads it.
    pub fn write_config(&self, body: &str) {
        let text = format!(
            "data_dir = {data:?}\n\n[http]\nlisten = \"{http}\"\n\n{body}",
            data = self.dir.path().join("data").display().to_string(),
            http = self.http,
            body = body.replace("{dir}", &self.dir.path().display().to_string()),
        );
        std::fs::write(&self.config, text).unwrap();
    }

    /// Returns the path of a file in the test's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs an `iocwatch` command on the service's data folder.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let output = iocwatch()
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "iocwatch {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Starts `iocwatch run` and waits until its health endpoint responds.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the service runs already");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("service.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_iocwatch"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("IOCWATCH_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("iocwatch run exited with {status}:\n{}", self.log());
            }
            if http_get(self.http, "/healthz").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "iocwatch run did not answer on {} in 30 s:\n{}",
            self.http,
            self.log()
        );
    }

    /// Stops the service with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("the service runs");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "iocwatch run exited with {status}:\n{}",
                    self.log()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "iocwatch run did not stop in 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the service with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the service runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Returns the service's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("service.log")).unwrap_or_default()
    }

    /// Posts `body` to the ingest endpoint of `source`; returns the status
    /// and body.
    pub fn ingest(&self, source: &str, body: &str) -> (u16, String) {
        http_request(
            self.http,
            "POST",
            &format!("/api/v1/ingest/{source}"),
            body.as_bytes(),
        )
        .expect("the HTTP listener answers")
    }

    /// Returns the documents of the stored alerts, newest first, from
    /// `iocwatch alerts list --json`.
    pub fn alerts(&self) -> Vec<Value> {
        let output = self.cli(&["alerts", "list", "--json", "--limit", "100000"]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let mut stored: Value = serde_json::from_str(line).unwrap();
                stored["document"].take()
            })
            .collect()
    }

    /// Waits until `check` holds, or fails with the service log.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}:\n{}", self.log());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a GET request; returns the status and body, or `None` when
/// nothing listens.
pub fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    http_request(address, "GET", path, b"")
}

/// Sends one HTTP/1.1 request and reads the whole response.
pub fn http_request(address: SocketAddr, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    Some((status, body))
}

/// Appends `text` to the file at `path`.
pub fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.flush().unwrap();
}

/// Reads the JSON lines of a file sink.
pub fn sink_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Returns whether `tool` can be run. Prints why a test is skipped when
/// not, and fails when `IOCWATCH_REQUIRE_REAL=1` requires every real
/// component.
pub fn have_tool(tool: &str, version_arg: &str) -> bool {
    let found = Command::new(tool)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("IOCWATCH_REQUIRE_REAL").as_deref() != Ok("1"),
            "{tool} is required (IOCWATCH_REQUIRE_REAL=1) but cannot be run"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    found
}
