//! Scans of real public logs against real feeds, with results computed
//! independently of iocwatch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{alerts, enrichments, run, shared, status, stderr};
use serde_json::Value;

/// Returns `--intel` arguments for every Zeek intel file of the
/// CriticalPathSecurity collection.
fn zeek_intel_args() -> Option<Vec<String>> {
    let dir = shared("data/intel/zeek_intel_cps")?;
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "intel"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    Some(
        files
            .into_iter()
            .flat_map(|f| ["--intel".to_owned(), f])
            .collect(),
    )
}

fn scan(intel: &[String], log: &str) -> Vec<Value> {
    let mut args: Vec<&str> = vec!["scan", "--json"];
    args.extend(intel.iter().map(String::as_str));
    args.push(log);
    let output = run(&args);
    assert!(
        matches!(status(&output), 0 | 1),
        "exit {}: {}",
        status(&output),
        stderr(&output)
    );
    alerts(&output)
}

/// Counts alerts per matched value in one field.
fn count_by_atomic(alerts: &[Value], field: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for alert in alerts {
        let mut values: Vec<&str> = enrichments(alert)
            .iter()
            .filter(|e| e["matched"]["field"] == field)
            .filter_map(|e| e["matched"]["atomic"].as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            *counts.entry(value.to_owned()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn trickbot_conn_against_zeek_intel() {
    let (Some(intel), Some(log)) = (
        zeek_intel_args(),
        shared("data/zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/conn.log"),
    ) else {
        return;
    };
    let alerts = scan(&intel, &log.display().to_string());
    assert_eq!(alerts.len(), 13, "connection records that match");
    let counts = count_by_atomic(&alerts, "destination.ip");
    let expected: BTreeMap<String, usize> = [
        ("72.21.81.200", 7),
        ("185.220.101.13", 2),
        ("185.220.101.15", 1),
        ("46.28.69.53", 1),
        ("78.130.128.106", 1),
        ("95.216.145.1", 1),
    ]
    .into_iter()
    .map(|(ip, n)| (ip.to_owned(), n))
    .collect();
    assert_eq!(counts, expected);
    for alert in &alerts {
        assert_eq!(alert["event"]["dataset"], "zeek.conn");
        assert_eq!(alert["iocwatch"]["direction"], "outbound");
        assert!(
            alert["iocwatch"]["internal_host"]
                .as_str()
                .unwrap()
                .starts_with("172.16.9.")
        );
    }
}

#[test]
fn trickbot_dns_answers_against_zeek_intel() {
    let (Some(intel), Some(log)) = (
        zeek_intel_args(),
        shared("data/zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/dns.log"),
    ) else {
        return;
    };
    let alerts = scan(&intel, &log.display().to_string());
    let counts = count_by_atomic(&alerts, "dns.resolved_ip");
    assert_eq!(counts.get("131.107.255.255"), Some(&13));
}

#[test]
fn simda_scenario_against_zeek_intel() {
    let (Some(intel), Some(dir)) = (
        zeek_intel_args(),
        shared("data/zeek/security-datasets-for-testing/005-zeek-scenario-malicious"),
    ) else {
        return;
    };
    let conn = scan(&intel, &dir.join("conn.log").display().to_string());
    let http = scan(&intel, &dir.join("http.log").display().to_string());
    let dns = scan(&intel, &dir.join("dns.log").display().to_string());

    let conn_counts = count_by_atomic(&conn, "destination.ip");
    assert_eq!(conn_counts.get("217.70.184.38"), Some(&5));
    assert_eq!(conn_counts.get("74.119.239.234"), Some(&2));
    let http_counts = count_by_atomic(&http, "destination.ip");
    assert_eq!(http_counts.get("217.70.184.38"), Some(&15));
    assert_eq!(http_counts.get("74.119.239.234"), Some(&6));
    let dns_counts = count_by_atomic(&dns, "dns.resolved_ip");
    assert_eq!(dns_counts.get("217.70.184.38"), Some(&10));
    assert_eq!(dns_counts.get("74.119.239.234"), Some(&2));
    assert_eq!(dns_counts.get("131.107.255.255"), Some(&2));

    // One feed lists 127.0.0.1; it is dropped on import, so none of the
    // 50 DNS answers holding it may alert.
    assert_eq!(dns_counts.get("127.0.0.1"), None);
    for alert in conn.iter().chain(&http).chain(&dns) {
        for enrichment in enrichments(alert) {
            assert_ne!(enrichment["matched"]["atomic"], "127.0.0.1");
        }
    }
}

#[test]
fn gzip_and_plain_twins_agree() {
    let (Some(tsv), Some(json)) = (
        shared("data/zeek/zed-sample-data/zeek-default/dns.log.gz"),
        shared("data/zeek/zed-sample-data/zeek-json/dns.json.gz"),
    ) else {
        return;
    };
    let Some(intel) = shared("data/intel/maltrail/suspicious_dynamic_domain.txt") else {
        return;
    };
    let intel = vec!["--intel".to_owned(), intel.display().to_string()];
    let from_tsv = count_by_atomic(&scan(&intel, &tsv.display().to_string()), "dns.question.name");
    let from_json = count_by_atomic(&scan(&intel, &json.display().to_string()), "dns.question.name");
    assert_eq!(from_tsv, from_json);
}
