//! Shared set-up of the sink tests: alert fixtures, free ports, test
//! certificates, and starting real receivers as child processes.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;

/// Returns the alert fixtures of `tests/data/alerts.jsonl`: six alerts of
/// `iocwatch scan --json` over the example logs, then one with `|`, `=`,
/// `\` and line breaks in many fields, one `low` file-hash alert, and one
/// alert with no fields but `event.kind`.
pub fn alerts() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/alerts.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Index of the alert with special characters in [`alerts`].
pub const TRICKY: usize = 6;

/// Returns true when `IOCWATCH_REQUIRE_REAL=1`, where a missing tool fails the test
/// instead of skipping it.
pub fn require_real() -> bool {
    std::env::var("IOCWATCH_REQUIRE_REAL").is_ok_and(|v| v == "1")
}

/// Prints why a test skips, or fails it when real tools are required.
pub fn skip(reason: &str) {
    assert!(!require_real(), "IOCWATCH_REQUIRE_REAL=1 but {reason}");
    eprintln!("skipped: {reason}");
}

/// Finds an executable on `PATH` or in the system folders that `PATH`
/// lacks for a normal user (`rsyslogd` lives in `/usr/sbin`).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Returns a UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `condition` holds, checking every 50 ms, and fails the
/// test with `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is killed when the guard is dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// PEM files of a test CA and a server certificate it signed for
/// `localhost` and `127.0.0.1`.
pub struct TestCertificates {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A self-signed certificate of another CA, which does not verify the
    /// server.
    pub other_ca: PathBuf,
}

impl TestCertificates {
    pub fn generate(dir: &Path) -> Self {
        let (ca_params, ca_key, ca_cert) = ca("iocwatch test CA");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let (_, _, other) = ca("another CA");

        let paths = Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server-cert.pem"),
            key: dir.join("server-key.pem"),
            other_ca: dir.join("other-ca.pem"),
        };
        std::fs::write(&paths.ca, ca_cert.pem()).unwrap();
        std::fs::write(&paths.cert, cert.pem()).unwrap();
        std::fs::write(&paths.key, key.serialize_pem()).unwrap();
        std::fs::write(&paths.other_ca, other.pem()).unwrap();
        paths
    }
}

fn ca(name: &str) -> (CertificateParams, KeyPair, rcgen::Certificate) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (params, key, cert)
}
