//! Scans of firewall and sensor logs sent over syslog: the real UFW,
//! pfSense and PAN-OS samples against real feeds, and a mixed file and
//! standard input made here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use common::{alerts, enrichments, iocwatch, run, shared, status, stderr};
use serde_json::Value;

/// Counts alerts per matched value in `field`.
fn count_by_atomic(alerts: &[Value], field: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for alert in alerts {
        for enrichment in enrichments(alert) {
            if enrichment["matched"]["field"] == field {
                let atomic = enrichment["matched"]["atomic"].as_str().unwrap().to_owned();
                *counts.entry(atomic).or_default() += 1;
            }
        }
    }
    counts
}

#[test]
fn ufw_log_against_spamhaus_drop() {
    let (Some(drop), Some(edrop), Some(log)) = (
        shared("data/intel/spamhaus_drop/drop.txt"),
        shared("data/intel/spamhaus_drop/edrop.txt"),
        shared("data/firewall/iptables_ufw/ufw.log.rafmio-2023-08-20"),
    ) else {
        return;
    };
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        drop.to_str().unwrap(),
        "--intel",
        edrop.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 0, "alerts found, no error: {messages}");

    let alerts = alerts(&output);
    assert_eq!(alerts.len(), 327, "log lines whose SRC is in a listed network");
    let sources = count_by_atomic(&alerts, "source.ip");
    assert_eq!(sources.len(), 22, "distinct SRC addresses: {sources:?}");
    assert_eq!(sources.get("185.81.68.119"), Some(&287));
    assert_eq!(sources.values().sum::<usize>(), 327);
    for alert in &alerts {
        assert_eq!(alert["event"]["dataset"], "iptables.log");
        assert_eq!(alert["event"]["action"], "UFW BLOCK");
        assert_eq!(alert["destination"]["ip"], "194.58.102.129");
        assert!(alert["source"]["port"].is_u64(), "{alert}");
        assert!(
            alert["@timestamp"].as_str().unwrap().contains("-08-20T"),
            "{alert}"
        );
    }

    // The file is cut mid-line at 1 MiB: its last line is malformed and
    // the scan goes on.
    assert!(messages.contains("malformed lines: 1"), "{messages}");
    assert!(
        messages.contains(":3979: malformed line skipped: netfilter line has no SRC= field; is it cut off?"),
        "{messages}"
    );
    assert!(messages.contains("3978 events"), "{messages}");
}

#[test]
fn pfsense_filterlog_every_line_decodes() {
    let Some(log) = shared("data/firewall/pfsense/test-pfsense-bsd.log") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("dns.txt");
    std::fs::write(&intel, "1.1.1.1\n1.0.0.1\n").unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 0, "{messages}");
    assert!(!messages.contains("malformed"), "{messages}");
    assert!(messages.contains("19 events"), "{messages}");

    let alerts = alerts(&output);
    let destinations = count_by_atomic(&alerts, "destination.ip");
    assert_eq!(destinations.get("1.1.1.1"), Some(&10));
    assert_eq!(destinations.get("1.0.0.1"), Some(&3));
    for alert in &alerts {
        assert_eq!(alert["event"]["dataset"], "pfsense.log");
        assert_eq!(alert["event"]["action"], "block");
        assert_eq!(alert["destination"]["port"], 853);
    }
}

#[test]
fn panos_traffic_against_a_list() {
    let Some(log) = shared("data/firewall/panos/pan_inc_traffic.log.excerpt") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("pan.txt");
    std::fs::write(&intel, "67.43.156.12\n").unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 0, "{messages}");
    assert!(!messages.contains("malformed"), "{messages}");
    let alerts = alerts(&output);
    assert_eq!(
        count_by_atomic(&alerts, "destination.ip").get("67.43.156.12"),
        Some(&3)
    );
}

/// Lines of every body format, with and without a syslog header, plus a
/// line whose header is valid and whose body is not.
const MIXED: &str = "\
<14>Jan  1 10:00:00 proxy CEF:0|Vendor|Gateway|1.0|100|Blocked|5|src=10.0.0.5 spt=50000 dst=198.51.100.20 dpt=443 request=https://www.evil.example/gate.php
<189>date=2024-01-01 time=10:00:01 devname=\"fw 1\" srcip=10.0.0.6 srcport=51000 dstip=192.0.2.99 dstport=53 qname=\"c2.evil.example\" ipaddr=\"203.0.113.50\" action=\"pass\"
Jan  1 10:00:02 gw kernel: [  12.5] [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.7 DST=10.0.0.7 PROTO=TCP SPT=4444 DPT=22
<134>Jan  1 10:00:03 filterlog[1]: 5,,,1000,em0,match,block,in,4,0x0,,64,1,0,none,17,udp,40,10.0.0.8,203.0.113.8,5353,53,20
<14>Jan  1 10:00:04 sensor suricata[7]: {\"timestamp\":\"2024-01-01T10:00:04.000000+0000\",\"event_type\":\"fileinfo\",\"src_ip\":\"10.0.0.9\",\"dest_ip\":\"192.0.2.1\",\"fileinfo\":{\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}}
Jan  1 10:00:05 gw sshd[99]: Accepted publickey for admin from 203.0.113.7
";

const MIXED_INTEL: &str = "\
evil.example
www.evil.example/gate.php
203.0.113.0/24
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
";

#[test]
fn mixed_syslog_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("remote.log");
    let intel = dir.path().join("intel.txt");
    std::fs::write(&log, MIXED).unwrap();
    std::fs::write(&intel, MIXED_INTEL).unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 0, "{messages}");
    assert!(
        messages.contains(":6: malformed line skipped: syslog message body is in no known format"),
        "{messages}"
    );

    let alerts = alerts(&output);
    let by_dataset: Vec<(&str, &str, &str)> = alerts
        .iter()
        .flat_map(|alert| {
            enrichments(alert).iter().map(move |enrichment| {
                (
                    alert["event"]["dataset"].as_str().unwrap(),
                    enrichment["matched"]["field"].as_str().unwrap(),
                    enrichment["matched"]["atomic"].as_str().unwrap(),
                )
            })
        })
        .collect();
    let expected = [
        ("cef.log", "url.domain", "www.evil.example"),
        ("kv.log", "dns.question.name", "c2.evil.example"),
        ("kv.log", "dns.resolved_ip", "203.0.113.50"),
        ("iptables.log", "source.ip", "203.0.113.7"),
        ("pfsense.log", "destination.ip", "203.0.113.8"),
        (
            "suricata.eve",
            "file.hash.sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    for row in expected {
        assert!(by_dataset.contains(&row), "{row:?} missing from {by_dataset:?}");
    }
    assert!(
        by_dataset
            .iter()
            .any(|(dataset, field, _)| *dataset == "cef.log" && *field == "url.full"),
        "the CEF request URL matches: {by_dataset:?}"
    );
    let kv = alerts
        .iter()
        .find(|alert| alert["event"]["dataset"] == "kv.log")
        .unwrap();
    assert_eq!(kv["observer"]["name"], "fw 1");
    assert_eq!(kv["@timestamp"], "2024-01-01T10:00:01.000000Z");
}

#[test]
fn syslog_on_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("intel.txt");
    std::fs::write(&intel, MIXED_INTEL).unwrap();
    let mut child = iocwatch()
        .args(["scan", "--json", "--intel", intel.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(MIXED.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let alerts = alerts(&output);
    let sources = count_by_atomic(&alerts, "source.ip");
    assert_eq!(sources.get("203.0.113.7"), Some(&1), "{sources:?}");
}
