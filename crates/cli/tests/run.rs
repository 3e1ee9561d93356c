//! End-to-end tests of `iocwatch run`: a real process with its store,
//! sources and sinks, driven over files, sockets and HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod service;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{run, shared, status, stderr};
use crate::service::{Service, append, free_tcp_port, have_tool, sink_lines};

/// Formats a Zeek JSON connection record from `host` to `remote`.
fn conn(ts: u64, host: &str, remote: &str) -> String {
    format!(
        "{{\"ts\":{ts}.5,\"uid\":\"C{ts}\",\"id.orig_h\":\"{host}\",\"id.orig_p\":40000,\"id.resp_h\":\"{remote}\",\"id.resp_p\":443,\"proto\":\"tcp\"}}\n"
    )
}

/// Writes a watchlist of `count` addresses under 203.0.113.0/24 and
/// 198.51.100.0/24 and returns them.
fn address_watchlist(service: &Service, count: usize) -> Vec<String> {
    let addresses: Vec<String> = (0..count)
        .map(|i| {
            format!(
                "{}.{}",
                if i < 250 { "203.0.113" } else { "198.51.100" },
                i % 250 + 1
            )
        })
        .collect();
    std::fs::write(service.path("c2.txt"), addresses.join("\n") + "\n").unwrap();
    service.cli(&[
        "watchlist",
        "import",
        "c2",
        service.path("c2.txt").to_str().unwrap(),
    ]);
    addresses
}

fn alert_ids(alerts: &[Value]) -> BTreeSet<String> {
    alerts
        .iter()
        .map(|alert| alert["iocwatch"]["alert_id"].as_str().unwrap().to_owned())
        .collect()
}

fn dedup_count(alert: &Value) -> u64 {
    alert["iocwatch"]["dedup_count"].as_u64().unwrap_or(1)
}

const FILE_SOURCE: &str = r#"
[[source]]
name = "zeek"
type = "file"
paths = ["{dir}/logs/*.log"]
poll_interval = "200ms"

[[source]]
name = "shippers"
type = "http"

[[sink]]
name = "archive"
type = "file"
path = "{dir}/alerts.jsonl"
"#;

#[test]
fn tailed_lines_become_alerts_in_store_and_sink() {
    let mut service = Service::new(FILE_SOURCE);
    let addresses = address_watchlist(&service, 20);
    std::fs::create_dir_all(service.path("logs")).unwrap();
    service.start();

    let log = service.path("logs/conn.log");
    let mut expected = 0;
    for (i, address) in addresses.iter().enumerate() {
        append(&log, &conn(1_733_300_000 + i as u64, "10.1.0.5", address));
        append(&log, &conn(1_733_300_000 + i as u64, "10.1.0.5", "192.0.2.200"));
        expected += 1;
    }
    service.wait_for("20 alerts in the sink", Duration::from_secs(20), || {
        sink_lines(&service.path("alerts.jsonl")).len() == expected
    });
    let alerts = service.alerts();
    assert_eq!(alerts.len(), expected);
    let delivered = sink_lines(&service.path("alerts.jsonl"));
    assert_eq!(alert_ids(&delivered), alert_ids(&alerts));
    let first = &delivered[0];
    assert_eq!(first["event"]["kind"], "alert");
    assert_eq!(first["source"]["ip"], "10.1.0.5");
    assert_eq!(first["iocwatch"]["internal_host"], "10.1.0.5");
    assert_eq!(first["iocwatch"]["direction"], "outbound");
    assert!(
        first["log"]["file"]["path"]
            .as_str()
            .unwrap()
            .ends_with("conn.log")
    );
    service.stop();
}

#[test]
fn repeated_sightings_fold_into_one_alert() {
    let mut service = Service::new(FILE_SOURCE);
    address_watchlist(&service, 2);
    service.start();
    let mut body = String::new();
    for i in 0..5 {
        body.push_str(&conn(1_733_300_000 + i * 60, "10.1.0.5", "203.0.113.1"));
    }
    body.push_str(&conn(1_733_300_100, "10.1.0.6", "203.0.113.1"));
    // Two hours later: outside the one-hour window, so a new alert.
    body.push_str(&conn(1_733_300_000 + 7200, "10.1.0.5", "203.0.113.1"));
    let (code, answer) = service.ingest("shippers", &body);
    assert_eq!(code, 202, "{answer}");
    // The response comes once the events are stored, so a crash after it
    // loses nothing.
    service.kill();
    let alerts = service.alerts();
    assert_eq!(alerts.len(), 3);
    service.start();
    let mut counts: Vec<(String, u64)> = alerts
        .iter()
        .map(|alert| {
            (
                alert["iocwatch"]["internal_host"].as_str().unwrap().to_owned(),
                dedup_count(alert),
            )
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("10.1.0.5".to_owned(), 1),
            ("10.1.0.5".to_owned(), 5),
            ("10.1.0.6".to_owned(), 1)
        ]
    );
    // Delivery is at least once: the kill may come between writing an
    // alert to the file and marking it delivered, so it may appear twice.
    service.wait_for("three alerts in the sink", Duration::from_secs(10), || {
        alert_ids(&sink_lines(&service.path("alerts.jsonl"))) == alert_ids(&alerts)
    });
    service.stop();
}

#[test]
fn restart_after_a_crash_loses_and_repeats_nothing() {
    let mut service = Service::new(FILE_SOURCE);
    let addresses = address_watchlist(&service, 400);
    std::fs::create_dir_all(service.path("logs")).unwrap();
    let log = service.path("logs/conn.log");
    let lines: Vec<String> = addresses
        .iter()
        .enumerate()
        .map(|(i, address)| {
            conn(
                1_733_300_000 + i as u64,
                &format!("10.2.{}.{}", i / 200, i % 200 + 1),
                address,
            )
        })
        .collect();
    append(&log, &lines[..100].concat());
    service.start();

    let writer = {
        let log = log.clone();
        let rest: Vec<String> = lines[100..].to_vec();
        std::thread::spawn(move || {
            for line in rest {
                append(&log, &line);
                std::thread::sleep(Duration::from_millis(3));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    service.kill();
    let after_crash = service.alerts().len();
    writer.join().unwrap();
    assert!(after_crash < 400, "the crash came after every line was read");

    service.start();
    service.wait_for("400 alerts", Duration::from_secs(30), || {
        service.alerts().len() >= 400
    });
    std::thread::sleep(Duration::from_millis(500));
    let alerts = service.alerts();
    assert_eq!(alerts.len(), 400, "alerts lost or repeated after the restart");
    assert!(
        alerts.iter().all(|alert| dedup_count(alert) == 1),
        "a line was read twice"
    );
    let offsets: BTreeSet<u64> = alerts
        .iter()
        .map(|alert| alert["log"]["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets.len(), 400);

    service.wait_for("every alert delivered", Duration::from_secs(30), || {
        alert_ids(&sink_lines(&service.path("alerts.jsonl"))) == alert_ids(&alerts)
    });
    service.stop();
}

#[test]
fn rotation_by_rename_and_truncation_loses_no_line() {
    let mut service = Service::new(FILE_SOURCE);
    let addresses = address_watchlist(&service, 300);
    std::fs::create_dir_all(service.path("logs")).unwrap();
    let log = service.path("logs/conn.log");
    let line = |i: usize| conn(1_733_300_000 + i as u64, "10.5.0.1", &addresses[i]);
    append(&log, &(0..100).map(line).collect::<String>());
    service.start();
    service.wait_for("the first 100 alerts", Duration::from_secs(20), || {
        service.alerts().len() == 100
    });

    // Rotation by rename: the old file gets more lines after the rename,
    // then a new file takes the name.
    std::fs::rename(&log, service.path("logs/conn.log.1")).unwrap();
    append(
        &service.path("logs/conn.log.1"),
        &(100..150).map(line).collect::<String>(),
    );
    append(&log, &(150..200).map(line).collect::<String>());
    service.wait_for("200 alerts after the rename", Duration::from_secs(20), || {
        service.alerts().len() == 200
    });

    // Rotation by copy and truncation.
    std::fs::copy(&log, service.path("logs/conn.log.2")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &(200..300).map(line).collect::<String>());
    service.wait_for("300 alerts after the truncation", Duration::from_secs(20), || {
        service.alerts().len() == 300
    });
    std::thread::sleep(Duration::from_millis(500));
    let alerts = service.alerts();
    assert_eq!(alerts.len(), 300);
    assert!(
        alerts.iter().all(|alert| dedup_count(alert) == 1),
        "a line was read twice"
    );
    service.stop();
}

#[test]
fn truncated_zeek_tsv_log_keeps_its_header() {
    let mut service = Service::new(FILE_SOURCE);
    let addresses = address_watchlist(&service, 4);
    std::fs::create_dir_all(service.path("logs")).unwrap();
    let log = service.path("logs/conn.log");
    let row = |i: usize| {
        format!(
            "{}.5\tC{i}\t10.6.0.1\t40000\t{}\t443\ttcp\n",
            1_733_300_000 + i,
            addresses[i]
        )
    };
    let header = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
                  #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n\
                  #types\ttime\tstring\taddr\tport\taddr\tport\tenum\n";
    append(&log, &format!("{header}{}{}", row(0), row(1)));
    service.start();
    service.wait_for("two alerts", Duration::from_secs(20), || {
        service.alerts().len() == 2
    });

    // Copy-truncate rotation: Zeek goes on writing rows without a header.
    std::fs::copy(&log, service.path("logs/conn.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &format!("{}{}", row(2), row(3)));
    service.wait_for("four alerts", Duration::from_secs(20), || {
        service.alerts().len() == 4
    });
    assert!(
        !service.log().contains("malformed line skipped"),
        "{}",
        service.log()
    );
    service.stop();
}

#[test]
fn watchlist_changes_apply_without_restart() {
    let mut service = Service::new(FILE_SOURCE);
    address_watchlist(&service, 1);
    service.start();
    let body = conn(1_733_300_000, "10.3.0.9", "192.0.2.77");
    assert_eq!(service.ingest("shippers", &body).0, 202);
    std::thread::sleep(Duration::from_millis(500));
    assert!(service.alerts().is_empty());

    service.cli(&["watchlist", "add", "c2", "192.0.2[.]77", "--ttl", "3s"]);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(service.ingest("shippers", &body).0, 202);
    service.wait_for("an alert for the added address", Duration::from_secs(5), || {
        service.alerts().len() == 1
    });

    // The indicator expires three seconds after it was added.
    std::thread::sleep(Duration::from_secs(4));
    let later = conn(1_733_400_000, "10.3.0.10", "192.0.2.77");
    assert_eq!(service.ingest("shippers", &later).0, 202);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(service.alerts().len(), 1, "an expired indicator matched");

    service.cli(&["watchlist", "add", "c2", "192.0.2.78"]);
    service.cli(&["allowlist", "add", "192.0.2.78"]);
    std::thread::sleep(Duration::from_millis(1200));
    let allowed = conn(1_733_400_100, "10.3.0.11", "192.0.2.78");
    assert_eq!(service.ingest("shippers", &allowed).0, 202);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(service.alerts().len(), 1, "an allowlisted value alerted");
    service.stop();
}

/// An HTTP receiver that responds 503 until `up` is set, then 200, and
/// keeps every body it accepted.
struct Receiver {
    port: u16,
    up: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<Value>>>,
    refused: Arc<Mutex<u64>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0));
        let (up2, accepted2, refused2) = (up.clone(), accepted.clone(), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let answer = if up2.load(Ordering::SeqCst) {
                    accepted2
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                } else {
                    *refused2.lock().unwrap() += 1;
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Self {
            port,
            up,
            accepted,
            refused,
        }
    }
}

#[test]
fn sink_outage_delays_only_that_sink() {
    let receiver = Receiver::start();
    let config = format!(
        "{FILE_SOURCE}\n[[sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{}/alerts\"\nformat = \"generic\"\n",
        receiver.port
    );
    let mut service = Service::new(&config);
    address_watchlist(&service, 10);
    service.start();
    let body: String = (0..10)
        .map(|i| conn(1_733_300_000 + i, "10.4.0.1", &format!("203.0.113.{}", i + 1)))
        .collect();
    assert_eq!(service.ingest("shippers", &body).0, 202);
    service.wait_for("10 alerts in the file sink", Duration::from_secs(10), || {
        sink_lines(&service.path("alerts.jsonl")).len() == 10
    });
    service.wait_for("failed webhook attempts", Duration::from_secs(10), || {
        *receiver.refused.lock().unwrap() >= 10
    });
    assert!(receiver.accepted.lock().unwrap().is_empty());
    let (_, health) = service::http_get(service.http, "/healthz").unwrap();
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "degraded", "{health}");

    receiver.up.store(true, Ordering::SeqCst);
    service.wait_for(
        "every alert delivered to the webhook",
        Duration::from_secs(40),
        || receiver.accepted.lock().unwrap().len() >= 10,
    );
    let delivered = alert_ids(&receiver.accepted.lock().unwrap());
    assert_eq!(delivered, alert_ids(&service.alerts()));
    // The service logs the first failed attempts of the outage one by one
    // and only counts the rest until the summary interval passes.
    let log = service.log();
    assert_eq!(
        log.matches("delivery failed; it will be tried again").count(),
        LOGGED_FAILURES_PER_OUTAGE,
        "{log}"
    );
    assert_eq!(
        log.matches("further failed deliveries of this sink are logged at most once per interval")
            .count(),
        1,
        "{log}"
    );
    let recovered: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("the sink accepts deliveries again"))
        .collect();
    assert_eq!(recovered.len(), 1, "{log}");
    let failed_attempts = log_field(recovered[0], "failed_attempts").unwrap();
    assert!(failed_attempts >= 10, "{}", recovered[0]);
    assert!(failed_deliveries(&service, "hook") >= 10);
    service.stop();
    assert!(
        !service.log().contains("still queued for this sink at shutdown"),
        "{}",
        service.log()
    );
}

/// Failed attempts of an outage that the service logs one by one.
const LOGGED_FAILURES_PER_OUTAGE: usize = 5;

/// Returns the number after `name=` in a text log line.
fn log_field(line: &str, name: &str) -> Option<u64> {
    let (_, rest) = line.split_once(&format!(" {name}="))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Returns `iocwatch_sink_deliveries_total{outcome="failed"}` of `sink`
/// from `/metrics`, 0 when absent.
fn failed_deliveries(service: &Service, sink: &str) -> u64 {
    let (_, metrics) = service::http_get(service.http, "/metrics").unwrap();
    metrics
        .lines()
        .filter(|line| line.starts_with("iocwatch_sink_deliveries_total{"))
        .filter(|line| line.contains(&format!("sink=\"{sink}\"")) && line.contains("outcome=\"failed\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

#[test]
fn unreachable_webhook_logged_and_kept_queued() {
    let closed_port = free_tcp_port();
    let hook = |port: u16| {
        format!(
            "{FILE_SOURCE}\n[[sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{port}/alerts\"\nformat = \"generic\"\n"
        )
    };
    let mut service = Service::new(&hook(closed_port));
    address_watchlist(&service, 8);
    service.start();
    let body: String = (0..8)
        .map(|i| conn(1_733_300_000 + i, "10.4.0.2", &format!("203.0.113.{}", i + 1)))
        .collect();
    assert_eq!(service.ingest("shippers", &body).0, 202);
    service.wait_for("failed webhook attempts", Duration::from_secs(20), || {
        failed_deliveries(&service, "hook") >= 12
    });
    let log = service.log();
    assert_eq!(
        log.matches("delivery failed; it will be tried again").count(),
        LOGGED_FAILURES_PER_OUTAGE,
        "{log}"
    );
    assert!(
        log.contains("further failed deliveries of this sink are logged at most once per interval"),
        "{log}"
    );
    assert!(!log.contains("the sink accepts deliveries again"), "{log}");

    service.stop();
    let log = service.log();
    let queued: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("alerts are still queued for this sink at shutdown"))
        .collect();
    assert_eq!(queued.len(), 1, "only the webhook has alerts left:\n{log}");
    assert!(queued[0].contains("hook"), "{}", queued[0]);
    assert_eq!(log_field(queued[0], "queued_alerts"), Some(8), "{}", queued[0]);

    // Without the sink in the configuration, its alerts stay queued.
    service.write_config(FILE_SOURCE);
    service.start();
    service.stop();
    assert!(
        service
            .log()
            .contains("alerts are queued for a sink that is not configured"),
        "{}",
        service.log()
    );

    // The next start with a sink of that name delivers them.
    let receiver = Receiver::start();
    receiver.up.store(true, Ordering::SeqCst);
    service.write_config(&hook(receiver.port));
    service.start();
    service.wait_for("the queued alerts delivered", Duration::from_secs(20), || {
        receiver.accepted.lock().unwrap().len() >= 8
    });
    service.stop();
    let delivered = alert_ids(&receiver.accepted.lock().unwrap());
    assert_eq!(delivered, alert_ids(&service.alerts()));
}

#[test]
fn ufw_log_over_syslog_matches_spamhaus_networks() {
    let (Some(ufw), Some(drop), Some(edrop)) = (
        shared("data/firewall/iptables_ufw/ufw.log.rafmio-2023-08-20"),
        shared("data/intel/spamhaus_drop/drop.txt"),
        shared("data/intel/spamhaus_drop/edrop.txt"),
    ) else {
        return;
    };
    if !have_tool("logger", "--version") {
        return;
    }
    let port = free_tcp_port();
    let mut service = Service::new(&format!(
        "[[source]]\nname = \"firewall\"\ntype = \"syslog\"\ntcp = \"127.0.0.1:{port}\"\n"
    ));
    service.cli(&[
        "watchlist",
        "import",
        "spamhaus",
        drop.to_str().unwrap(),
        edrop.to_str().unwrap(),
    ]);
    service.start();

    // Each line is sent as the kernel would have sent it: the file's own
    // syslog header is replaced by logger's.
    let text = std::fs::read(&ufw).unwrap();
    let mut messages = String::new();
    for line in text.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        if let Some((_, message)) = line.split_once(" kernel: ") {
            messages.push_str(message);
            messages.push('\n');
        }
    }
    std::fs::write(service.path("messages.txt"), &messages).unwrap();
    let sent = std::process::Command::new("logger")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--tcp",
            "--octet-count",
            "--rfc5424",
        ])
        .args(["-t", "kernel", "-f"])
        .arg(service.path("messages.txt"))
        .status()
        .unwrap();
    assert!(sent.success());

    // The expected sightings per listed network, computed from the files.
    let networks: Vec<ipnet::IpNet> = [&drop, &edrop]
        .iter()
        .flat_map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|line| line.split(';').next()?.trim().parse().ok())
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut sources = BTreeSet::new();
    for message in messages.lines() {
        let Some(src) = message.split(' ').find_map(|field| field.strip_prefix("SRC=")) else {
            continue;
        };
        let Ok(ip) = src.parse::<std::net::IpAddr>() else {
            continue;
        };
        for net in networks.iter().filter(|net| net.contains(&ip)) {
            *expected.entry(net.to_string()).or_default() += 1;
            sources.insert(ip);
        }
    }
    assert_eq!(expected.values().sum::<u64>(), 327);
    assert_eq!(sources.len(), 22);

    let sightings = || service.alerts().iter().map(dedup_count).sum::<u64>();
    service.wait_for("327 sightings", Duration::from_secs(30), || sightings() >= 327);
    std::thread::sleep(Duration::from_millis(500));
    let alerts = service.alerts();
    assert_eq!(alerts.iter().map(dedup_count).sum::<u64>(), 327);
    // Sightings of one network on one host fold into one alert, so the
    // alerts add up per network.
    let mut by_network: BTreeMap<String, u64> = BTreeMap::new();
    for alert in &alerts {
        let network = alert["threat"]["enrichments"][0]["indicator"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        *by_network.entry(network).or_default() += dedup_count(alert);
    }
    assert_eq!(by_network, expected);
    let spamhaus_sbl = by_network.iter().find(|(net, _)| {
        net.parse::<ipnet::IpNet>()
            .unwrap()
            .contains(&"185.81.68.119".parse::<std::net::IpAddr>().unwrap())
    });
    assert_eq!(spamhaus_sbl.map(|(_, count)| *count), Some(287));
    let (_, health) = service::http_get(service.http, "/healthz").unwrap();
    let health: Value = serde_json::from_str(&health).unwrap();
    let received = health["sources"][0]["lines"].as_u64().unwrap();
    assert_eq!(received, messages.lines().count() as u64, "{health}");
    service.stop();
}

#[test]
fn config_check_lists_problems_with_lines() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/iocwatch.toml");
    let output = run(&["config", "check", example]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("valid"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[alerts]\ndedup_window = \"soon\"\n\n[[source]]\nname = \"a\"\ntype = \"syslog\"\n\n[[sink]]\nname = \"s\"\ntype = \"webhook\"\n",
    )
    .unwrap();
    let output = run(&["config", "check", bad.to_str().unwrap()]);
    assert_eq!(status(&output), 2);
    let text = stderr(&output);
    assert!(text.contains("bad.toml: line 2"), "{text}");
    assert!(text.contains("line 6"), "{text}");
    assert!(text.contains("line 8"), "{text}");

    // Settings that `run` would reject at startup or that could not work.
    let unusable = dir.path().join("unusable.toml");
    let missing = dir.path().join("missing-cert.pem");
    std::fs::write(
        &unusable,
        format!(
            "[http]\ntls_cert = {missing:?}\ntls_key = {missing:?}\n\n[[source]]\nname = \"a\"\ntype = \"syslog\"\nudp = \"127.0.0.1:5514\"\nmax_message_bytes = 0\n"
        ),
    )
    .unwrap();
    let output = run(&["config", "check", unusable.to_str().unwrap()]);
    assert_eq!(status(&output), 2);
    let text = stderr(&output);
    assert!(text.contains("line 2"), "{text}");
    assert!(text.contains("cannot read the TLS certificate"), "{text}");
    assert!(text.contains("line 9"), "{text}");
    assert!(text.contains("max_message_bytes must be at least 1"), "{text}");
}

/// Unknown keys, wrong types and invalid values are all listed in one run
/// of `config check`, and `run` rejects the file with the same list.
#[test]
fn config_check_lists_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let missing = dir.path().join("missing-secret");
    std::fs::write(
        &bad,
        format!(
            r#"data_dir = 5
colour = "blue"

[http]
listen_adress = "127.0.0.1:8080"
max_body_bytes = "16MB"

[alerts]
dedup_window = "soon"

[[source]]
name = "zeek"
type = "file"
paths = ["logs/*.log"]
poll_intervall = "1s"

[[source]]
name = "firewall"
type = "syslog"
udp = 5514
tcp = "127.0.0.1:99999"

[[sink]]
name = "archive"
type = "file"
pathh = "alerts.jsonl"
rotate = "daily"
max_bytes = -1
keep = 2.5

[[sink]]
name = "chat"
type = "webhook"
uri = "http://127.0.0.1:9/hook"
retry = 3
format = "markdown"
headers = {{ "X Team" = "soc", X-Id = 7 }}
timeout = "soon"

[[sink]]
name = "siem"
type = "syslog"
adress = "127.0.0.1:6514"
transport = "quic"
facility = 16
app_name = "ioc watch"
tls = true

[[sink]]
name = "on-call"
type = "email"
server = "127.0.0.1"
security = "ssl"
to = ["soc@example.net", "duty"]
batch = 0
reply_to = "soc@example.net"
from_adress = "iocwatch@example.net"
password_env = 5

[[sink]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/hook"
secret_file = {missing:?}
"#
        ),
    )
    .unwrap();
    let expected = [
        "line 1, column 12: `data_dir` at the top level must be a string, found an integer: 5",
        "line 2, column 1: unknown key `colour` at the top level; valid keys: `data_dir`, `home_net`, `http`, `alerts`, `source` and `sink`",
        "line 5, column 1: unknown key `listen_adress` in [http]; did you mean `listen`?",
        "line 6, column 18: `max_body_bytes` in [http] must be an integer, found a string: \"16MB\"",
        "line 9, column 16: invalid duration",
        "line 15, column 1: unknown key `poll_intervall` in [[source]] \"zeek\"; did you mean `poll_interval`?",
        "line 20, column 7: `udp` in [[source]] \"firewall\" must be a string, found an integer: 5514",
        "line 21, column 7: tcp = \"127.0.0.1:99999\" has the invalid port",
        "line 23, column 1: a file sink needs `path`, for example path = \"/var/lib/iocwatch/alerts.jsonl\"",
        "line 26, column 1: unknown key `pathh` in [[sink]] \"archive\"; did you mean `path`?",
        "line 27, column 1: unknown key `rotate` in [[sink]] \"archive\"; did you mean `route`?",
        "line 28, column 13: max_bytes must be at least 1",
        "line 29, column 8: `keep` in [[sink]] \"archive\" must be an integer, found a float: 2.5",
        "line 31, column 1: a webhook sink needs `url`, for example url = \"https://hooks.example.net/iocwatch\"",
        "line 34, column 1: unknown key `uri` in [[sink]] \"chat\"; did you mean `url`?",
        "line 35, column 1: unknown key `retry` in [[sink]] \"chat\"; valid keys: `name`, `type`, `route`, `url`, `format`, `secret`, `secret_file`, `secret_env`, `headers`, `ca_file` and `timeout`",
        "line 36, column 10: format = \"markdown\" is not valid; use \"generic\", \"slack\" or \"teams\"",
        "line 37, column 13: invalid `headers` \"X Team\": not a valid header name",
        "line 37, column 38: `headers` in [[sink]] \"chat\" must be a table of strings, found an integer in it: 7",
        "line 38, column 11: invalid duration \"soon\"",
        "line 40, column 1: a syslog sink needs `address`, for example address = \"127.0.0.1:6514\"",
        "line 43, column 1: unknown key `adress` in [[sink]] \"siem\"; did you mean `address`?",
        "line 44, column 13: transport = \"quic\" is not valid; use \"udp\", \"tcp\" or \"tls\"",
        "line 45, column 12: `facility` in [[sink]] \"siem\" must be a string, found an integer: 16",
        "line 46, column 12: invalid `app_name` \"ioc watch\": must be 1 to 48 printable ASCII characters without spaces",
        "line 47, column 1: unknown key `tls` in [[sink]] \"siem\"; valid keys: `name`, `type`, `route`, `address`, `transport`, `ca_file`, `app_name`, `hostname`, `facility` and `timeout`",
        "line 49, column 1: an email sink needs `from`, for example from = \"iocwatch <iocwatch@example.net>\"",
        "line 53, column 12: security = \"ssl\" is not valid; use \"starttls\", \"tls\" or \"none\"",
        "line 54, column 26: invalid `to` \"duty\": not an e-mail address",
        "line 55, column 9: batch must be at least 1",
        "line 56, column 1: unknown key `reply_to` in [[sink]] \"on-call\"; valid keys: `name`, `type`, `route`, `server`, `port`, `security`, `ca_file`, `username`, `password_file`, `password_env`, `from`, `to`, `batch` and `timeout`",
        "line 57, column 1: unknown key `from_adress` in [[sink]] \"on-call\"; did you mean `from`?",
        "line 58, column 16: `password_env` in [[sink]] \"on-call\" must be a string, found an integer: 5",
        "line 58, column 16: missing `username`: a password is set, so the user name is needed",
        "line 64, column 15: failed to read `secret_file` file",
    ];
    let bad = bad.to_str().unwrap();
    for command in [&["config", "check", bad][..], &["run", "--config", bad]] {
        let output = run(command);
        assert_eq!(status(&output), 2, "{command:?}");
        let text = stderr(&output);
        let listed: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("  "))
            .filter_map(|line| line.trim_start().strip_prefix(&format!("{bad}: ")))
            .collect();
        for (at, words) in expected.iter().enumerate() {
            let issue = listed.get(at).copied().unwrap_or_default();
            assert!(
                issue.starts_with(words),
                "{command:?}: issue {at} is {issue:?}, expected {words:?}, in\n{text}"
            );
        }
        assert_eq!(listed.len(), expected.len(), "{command:?}: {text}");
        assert!(text.contains("bad.toml: 35 problems"), "{command:?}: {text}");
    }
}

/// Sends one HTTP/1.1 request with `headers` and a JSON body; returns the
/// status, the raw head and the body.
fn http_json(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

#[test]
fn console_api_logs_in_and_reads_alerts() {
    let mut service = Service::new(FILE_SOURCE);
    address_watchlist(&service, 5);
    let store = iocwatch_store::Store::open(&service.path("data")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    store
        .add_user("ana", "correct horse", iocwatch_store::Role::Analyst, "cli", now)
        .unwrap();
    drop(store);
    service.start();
    assert_eq!(
        service
            .ingest("shippers", &conn(1_733_300_000, "10.9.0.1", "203.0.113.2"))
            .0,
        202
    );
    service.wait_for("one alert", Duration::from_secs(10), || {
        service.alerts().len() == 1
    });

    let login = r#"{"username":"ana","password":"correct horse"}"#;
    let (status, head, body) = http_json(service.http, "POST", "/api/v1/session", &[], login);
    assert_eq!(status, 200, "{body}");
    let cookie_line = head
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    let cookie = cookie_line
        .split_once(':')
        .unwrap()
        .1
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session: Value = serde_json::from_str(&body).unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();

    let (status, _, body) = http_json(service.http, "GET", "/api/v1/alerts", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["indicator"], "203.0.113.2");
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();

    let search = r#"{"values":["203.0.113[.]2"]}"#;
    let (status, _, body) = http_json(
        service.http,
        "POST",
        "/api/v1/search",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        search,
    );
    assert_eq!(status, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["results"][0]["matches"][0]["watchlist"], "c2");
    assert_eq!(found["results"][0]["seen"]["alerts"], 1);

    let ack = r#"{"status":"acknowledged"}"#;
    let path = format!("/api/v1/alerts/{id}/status");
    let (status, _, _) = http_json(service.http, "POST", &path, &[("Cookie", &cookie)], ack);
    assert_eq!(status, 403);
    let (status, _, body) = http_json(
        service.http,
        "POST",
        &path,
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        ack,
    );
    assert_eq!(status, 200, "{body}");

    let (status, head, body) = http_json(service.http, "GET", "/", &[], "");
    assert_eq!(status, 200);
    assert!(body.contains("<html"), "{body}");
    assert!(
        head.to_ascii_lowercase().contains("content-security-policy:"),
        "{head}"
    );
    let (status, _, body) = http_json(service.http, "GET", "/api/openapi.json", &[], "");
    assert_eq!(status, 200);
    assert!(body.contains("\"/api/v1/alerts/{id}/status\""));
    service.stop();
}

#[test]
fn config_check_builds_every_sink_type() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook-key");
    std::fs::write(&secret, "key\n").unwrap();
    let config = dir.path().join("sinks.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[sink]]
name = "archive"
type = "file"
path = "{dir}/alerts.jsonl"
max_bytes = 1048576
keep = 3
route = {{ watchlists = ["c2"], min_severity = "medium" }}

[[sink]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/alerts"
format = "teams"
secret = "key"
headers = {{ X-Team = "soc" }}
timeout = "5s"

[[sink]]
name = "signed"
type = "webhook"
url = "http://127.0.0.1:9/signed"
secret_file = {secret:?}

[[sink]]
name = "siem"
type = "syslog"
address = "127.0.0.1:6514"
transport = "tcp"
app_name = "iocwatch"
hostname = "sensor-1"
facility = "local4"
timeout = "10s"

[[sink]]
name = "mail"
type = "email"
server = "127.0.0.1"
port = 2525
security = "none"
from = "iocwatch <iocwatch@example.net>"
to = ["soc@example.net"]
batch = 10
timeout = "30s"
route = {{ min_severity = "high" }}
"#,
            dir = dir.path().display()
        ),
    )
    .unwrap();
    let output = run(&["config", "check", config.to_str().unwrap()]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("5 sinks"));
}

#[test]
fn second_service_on_one_folder_rejected() {
    let mut service = Service::new(FILE_SOURCE);
    service.start();
    let text = std::fs::read_to_string(&service.config).unwrap();
    let other = service.path("second.toml");
    let port = free_tcp_port();
    std::fs::write(
        &other,
        text.replace(&service.http.to_string(), &format!("127.0.0.1:{port}")),
    )
    .unwrap();
    let output = run(&["run", "--config", other.to_str().unwrap()]);
    assert_eq!(status(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("another iocwatch run uses the data folder"),
        "{}",
        stderr(&output)
    );
    service.stop();
}

#[test]
fn stalled_client_does_not_block_stop() {
    use std::io::Write as _;
    let mut service = Service::new(FILE_SOURCE);
    service.start();
    // A request whose headers never end, as a stalled or hostile client
    // sends it.
    let mut stalled = std::net::TcpStream::connect(service.http).unwrap();
    stalled.write_all(b"GET /healthz HTTP/1.1\r\nHost").unwrap();
    let started = Instant::now();
    service.stop();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped after {:?}",
        started.elapsed()
    );
    assert!(
        service
            .log()
            .contains("still open after the shutdown grace period"),
        "{}",
        service.log()
    );
}

/// Rejected ingest bodies, oversized bodies, bad API tokens and login
/// lockouts each leave one warning in the service log with the source or
/// user and the client address, and never the token.
#[test]
fn rejected_requests_are_logged() {
    let body = format!("max_body_bytes = 2048\n{FILE_SOURCE}");
    let mut service = Service::new(&body);
    service.start();
    let address = service.http;
    let ingest = "/api/v1/ingest/shippers";

    let (status, _, _) = http_json(address, "POST", ingest, &[], &"x".repeat(4096));
    assert_eq!(status, 413);
    let (status, _, _) = http_json(
        address,
        "POST",
        ingest,
        &[("Content-Encoding", "gzip")],
        "not gzip",
    );
    assert_eq!(status, 400);
    let (status, _, _) = http_json(address, "POST", ingest, &[("Content-Encoding", "br")], "{}");
    assert_eq!(status, 415);
    let (status, _, _) = http_json(address, "POST", ingest, &[], "  \n");
    assert_eq!(status, 400);
    let bearer = [("Authorization", "Bearer iwt_not_a_token")];
    let (status, _, _) = http_json(address, "GET", "/api/v1/alerts", &bearer, "");
    assert_eq!(status, 401);
    let basic = [("Authorization", "Basic YW5hOnNlY3JldA==")];
    let (status, _, _) = http_json(address, "GET", "/api/v1/alerts", &basic, "");
    assert_eq!(status, 401);
    let login = r#"{"username":"mallory","password":"guess-password"}"#;
    let statuses: Vec<u16> = (0..6)
        .map(|_| http_json(address, "POST", "/api/v1/session", &[], login).0)
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    service.stop();

    let log = service.log();
    let warning = |text: &str| -> String {
        log.lines()
            .find(|line| line.contains(text))
            .unwrap_or_else(|| panic!("no line with {text:?} in the log:\n{log}"))
            .to_owned()
    };
    let client = "client=127.0.0.1";
    for (text, id) in [
        ("the body is over the limit", "/api/v1/ingest/shippers"),
        ("not valid gzip", "source=shippers"),
        ("unsupported Content-Encoding", "source=shippers"),
        ("the body has no events", "source=shippers"),
        ("the API token is unknown", "path=/api/v1/alerts"),
        ("is not `Bearer <token>`", "path=/api/v1/alerts"),
        ("too many failed logins", "user=\"mallory\""),
    ] {
        let line = warning(text);
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains(id), "{line}");
        assert!(line.contains(client), "{line}");
    }
    assert!(!log.contains("iwt_not_a_token"), "{log}");
    assert!(!log.contains("YW5hOnNlY3JldA"), "{log}");
    assert!(!log.contains("guess-password"), "{log}");
}

/// A line over the fixed line limit of a file source is dropped with a
/// warning that names the limit and does not point to a setting that the
/// configuration rejects.
#[test]
fn long_line_warning_names_fixed_limit() {
    let mut service = Service::new(FILE_SOURCE);
    std::fs::create_dir_all(service.path("logs")).unwrap();
    let log = service.path("logs/conn.log");
    append(&log, &format!("{}\n", "x".repeat(2 << 20)));
    append(&log, &conn(1_733_300_000, "10.1.0.5", "192.0.2.200"));
    service.start();
    service.wait_for("the long-line warning", Duration::from_secs(20), || {
        service.log().contains("dropped lines longer than")
    });
    service.stop();
    let text = service.log();
    let line = text
        .lines()
        .find(|line| line.contains("dropped lines longer than"))
        .unwrap();
    assert!(line.contains("max_line_bytes=1048576"), "{line}");
    assert!(line.contains("cannot be set in the configuration"), "{line}");
    assert!(!line.contains("raise max_line_bytes"), "{line}");
}

/// The example configuration lists every decoder name that a source
/// accepts.
#[test]
fn example_config_lists_every_decoder() {
    let example = include_str!("../../../examples/iocwatch.toml");
    let comments: String = example
        .lines()
        .filter(|line| line.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    for format in iocwatch_logs::Format::ALL {
        let name = format.name();
        let listed = comments
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .any(|word| word == name);
        assert!(listed, "examples/iocwatch.toml does not list the decoder {name}");
    }
}

/// `config check` reports a file sink that cannot write, and leaves
/// nothing behind while it checks.
#[test]
fn config_check_probes_file_sink_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "a file, not a folder").unwrap();
    std::fs::create_dir(dir.path().join("folder")).unwrap();
    let config = dir.path().join("sinks.toml");
    let check = |path: &str| {
        let text = format!("[[sink]]\nname = \"archive\"\ntype = \"file\"\npath = {path:?}\n");
        std::fs::write(&config, text).unwrap();
        run(&["config", "check", config.to_str().unwrap()])
    };
    let under_file = dir.path().join("blocker/alerts.jsonl");
    let output = check(under_file.to_str().unwrap());
    assert_eq!(status(&output), 2);
    let text = stderr(&output);
    assert!(text.contains("line 4"), "{text}");
    assert!(text.contains("blocker is not a folder"), "{text}");

    let output = check(dir.path().join("folder").to_str().unwrap());
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("is a folder; name a file in it"),
        "{}",
        stderr(&output)
    );

    let new_file = dir.path().join("new/deeper/alerts.jsonl");
    let output = check(new_file.to_str().unwrap());
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["blocker", "folder", "sinks.toml"]);
}

#[test]
fn unwritable_file_sink_warned_at_start() {
    // The sink's folder would have to be created where a file is, which
    // fails for every user.
    let body = FILE_SOURCE.replace("{dir}/alerts.jsonl", "{dir}/blocker/alerts.jsonl");
    let mut service = Service::new(&body);
    std::fs::write(service.path("blocker"), "a file, not a folder").unwrap();
    service.start();
    let log = service.log();
    assert!(log.contains("the sink cannot write"), "{log}");
    assert!(log.contains("sink=\"archive\""), "{log}");
    assert!(log.contains("blocker"), "{log}");
    service.stop();
}
