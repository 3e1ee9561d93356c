//! Decodes syslog messages as real tools write them: util-linux `logger`
//! sending RFC 3164 and RFC 5424 datagrams, and rsyslog writing what it
//! receives to files in its traditional and RFC 5424 templates.
//!
//! Each test starts its own `rsyslogd` with a configuration in a
//! temporary folder, listening on a free UDP port on 127.0.0.1. A test
//! whose tool is not installed prints why and passes, unless
//! `IOCWATCH_REQUIRE_REAL=1`, where it fails.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test reports a failure by panicking"
)]

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iocwatch_logs::{Decoder, SyslogDecoder};
use iocwatch_model::Record;

/// Returns the path of `tool` on `PATH` or in the system folders, or
/// `None` after printing that the test skips.
fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(tool))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        let message = format!("{tool} is not installed (Debian package rsyslog or bsdutils)");
        if std::env::var("IOCWATCH_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!("{message}, and IOCWATCH_REQUIRE_REAL=1");
        }
        eprintln!("skipped: {message}");
    }
    found
}

/// The messages every test sends: `(tag, body)`.
const MESSAGES: [(&str, &str); 3] = [
    (
        "kernel",
        "[UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.7 DST=192.0.2.2 PROTO=TCP SPT=4444 DPT=22",
    ),
    (
        "filterlog",
        "5,,,1000,em0,match,block,in,4,0x0,,64,1,0,none,17,udp,40,10.0.0.8,203.0.113.8,5353,53,20",
    ),
    (
        "fw",
        "CEF:0|Vendor|Gateway|1.0|100|Blocked|5|src=203.0.113.9 dst=192.0.2.3 dpt=443",
    ),
];

/// Sends each message with `logger` and the extra `arguments`.
fn send_all(logger: &Path, arguments: &[&str]) {
    for (tag, body) in MESSAGES {
        let status = Command::new(logger)
            .args(arguments)
            .args(["-t", tag, "--", body])
            .status()
            .expect("logger runs");
        assert!(status.success(), "logger {arguments:?} failed: {status}");
    }
}

/// Checks that `record`, decoded from the message with `tag`, has the
/// source address the message carries and the header's tag.
fn check(record: &Record<'_>, tag: &str, line: &str) {
    let expected_source = match tag {
        "kernel" => "203.0.113.7",
        "filterlog" => "10.0.0.8",
        _ => "203.0.113.9",
    };
    let source = record.source.as_ref().map(|source| source.ip.as_ref());
    assert_eq!(source, Some(expected_source), "{line}");
    assert!(record.timestamp.is_some(), "header time kept: {line}");
    let process = record
        .context
        .iter()
        .find(|(name, _)| *name == "process.name")
        .map(|(_, value)| value.as_ref());
    assert_eq!(process, Some(tag), "{line}");
}

fn decode_line<'l>(decoder: &mut SyslogDecoder, line: &'l str) -> Record<'l> {
    match decoder.decode(line.as_bytes()) {
        Ok(Some(record)) => record,
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn logger_datagrams_in_both_rfcs() {
    let Some(logger) = find_tool("logger") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("log.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let socket_arg = socket_path.to_str().unwrap();
    let mut decoder = SyslogDecoder::new();
    for rfc in ["--rfc3164", "--rfc5424"] {
        send_all(&logger, &["-u", socket_arg, "--socket-errors=on", "-i", rfc]);
        for (tag, _) in MESSAGES {
            let mut buffer = vec![0; 65536];
            let length = socket.recv(&mut buffer).expect("logger sent a datagram");
            buffer.truncate(length);
            let line = String::from_utf8(buffer).unwrap();
            let record = decode_line(&mut decoder, &line);
            check(&record, tag, &line);
            let has_pid = record.context.iter().any(|(name, _)| *name == "process.pid");
            assert!(has_pid, "logger -i sends the pid: {line}");
        }
    }
}

/// An `rsyslogd` started for one test, stopped when dropped.
struct Rsyslog {
    child: Child,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `path` has `lines` lines, for at most ten seconds.
fn wait_for_lines(path: &Path, lines: usize) -> String {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines || started.elapsed() > Duration::from_secs(10) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rsyslog_files_in_traditional_and_rfc5424_templates() {
    let (Some(rsyslogd), Some(logger)) = (find_tool("rsyslogd"), find_tool("logger")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let traditional = dir.path().join("traditional.log");
    let protocol = dir.path().join("rfc5424.log");
    let config = format!(
        "global(workDirectory=\"{work}\")\n\
         module(load=\"imudp\")\n\
         input(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\")\n\
         *.* action(type=\"omfile\" file=\"{traditional}\" template=\"RSYSLOG_TraditionalFileFormat\")\n\
         *.* action(type=\"omfile\" file=\"{protocol}\" template=\"RSYSLOG_SyslogProtocol23Format\")\n",
        work = dir.path().display(),
        traditional = traditional.display(),
        protocol = protocol.display(),
    );
    let config_path = dir.path().join("rsyslog.conf");
    std::fs::write(&config_path, config).unwrap();
    let child = Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&config_path)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rsyslogd starts");
    let _rsyslog = Rsyslog { child };

    // rsyslogd opens its port a moment after it starts; a datagram sent
    // before that is lost, so the first message is repeated until it
    // arrives.
    let port_arg = port.to_string();
    let started = Instant::now();
    while std::fs::read_to_string(&traditional)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "rsyslogd wrote nothing"
        );
        let status = Command::new(&logger)
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &port_arg,
                "-d",
                "-t",
                "probe",
                "--",
                "probe",
            ])
            .status()
            .expect("logger runs");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(100));
    }
    let probes = std::fs::read_to_string(&traditional).unwrap().lines().count();
    send_all(&logger, &["-n", "127.0.0.1", "-P", &port_arg, "-d", "--rfc5424"]);
    send_all(&logger, &["-n", "127.0.0.1", "-P", &port_arg, "-d", "--rfc3164"]);

    let mut decoder = SyslogDecoder::new();
    for path in [&traditional, &protocol] {
        let text = wait_for_lines(path, probes + 2 * MESSAGES.len());
        let lines: Vec<&str> = text.lines().filter(|line| !line.contains("probe")).collect();
        assert_eq!(lines.len(), 2 * MESSAGES.len(), "{}:\n{text}", path.display());
        for (line, (tag, _)) in lines.iter().zip(MESSAGES.iter().chain(MESSAGES.iter())) {
            let record = decode_line(&mut decoder, line);
            check(&record, tag, line);
        }
    }
}
