//! Decodes the real firewall logs kept beside the workspace in
//! `shared/data/firewall` and checks record counts, malformed lines and
//! values counted in the files with `grep`.
//!
//! Without that folder every test prints a "skipped" line to stderr and
//! passes, so the suite still runs on a bare checkout.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "a test reports a failure by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use iocwatch_logs::Format;
use iocwatch_model::Field;

mod common;

/// Returns the firewall data folder, or `None` after printing that the
/// tests skip.
fn firewall_dir() -> Option<PathBuf> {
    common::shared_data("firewall")
}

/// What decoding one file produced.
#[derive(Debug, Default)]
struct Decoded {
    format: Option<Format>,
    records: usize,
    /// `(line number, message)` of each malformed line.
    malformed: Vec<(usize, String)>,
    formats: BTreeMap<&'static str, usize>,
    sources: BTreeMap<String, usize>,
    destinations: BTreeMap<String, usize>,
    source_ports: usize,
    context: BTreeMap<(&'static str, String), usize>,
    timestamps: usize,
}

fn decode_file(path: &Path) -> Decoded {
    let mut decoded = Decoded::default();
    decoded.format = common::decode_lines(path, |number, result| {
        let record = match result {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(err) => {
                decoded.malformed.push((number, err.message));
                return;
            }
        };
        decoded.records += 1;
        *decoded.formats.entry(record.format).or_default() += 1;
        decoded.timestamps += usize::from(record.timestamp.is_some());
        decoded.source_ports += usize::from(record.source.as_ref().is_some_and(|s| s.port.is_some()));
        for observed in &record.observables {
            let counts = match observed.field {
                Field::SourceIp => &mut decoded.sources,
                Field::DestinationIp => &mut decoded.destinations,
                _ => continue,
            };
            *counts.entry(observed.value.to_string()).or_default() += 1;
        }
        for (name, value) in &record.context {
            *decoded.context.entry((*name, value.to_string())).or_default() += 1;
        }
    });
    decoded
}

impl Decoded {
    fn context_count(&self, name: &'static str, value: &str) -> usize {
        self.context.get(&(name, value.to_owned())).copied().unwrap_or(0)
    }
}

#[test]
fn ufw_log_cut_at_one_mebibyte() {
    let Some(dir) = firewall_dir() else {
        return;
    };
    let decoded = decode_file(&dir.join("iptables_ufw/ufw.log.rafmio-2023-08-20"));
    assert_eq!(decoded.format, Some(Format::Syslog));
    assert_eq!(decoded.records, 3978);
    assert_eq!(
        decoded.malformed,
        [(
            3979,
            "netfilter line has no SRC= field; is it cut off?".to_owned()
        )],
        "only the last line, cut mid-field, is malformed"
    );
    assert_eq!(decoded.formats.get("netfilter"), Some(&3978));
    assert_eq!(decoded.sources.len(), 914, "distinct SRC addresses");
    assert_eq!(decoded.destinations.get("194.58.102.129"), Some(&3978));
    assert_eq!(decoded.source_ports, 3978);
    assert_eq!(decoded.timestamps, 3978);
    assert_eq!(decoded.context_count("event.action", "UFW BLOCK"), 3978);
    assert_eq!(decoded.context_count("network.transport", "tcp"), 3917);
    assert_eq!(decoded.context_count("network.transport", "udp"), 61);
    assert_eq!(decoded.context_count("observer.hostname", "localhost"), 3978);
    assert_eq!(decoded.context_count("process.name", "kernel"), 3978);
}

#[test]
fn iptables_lab_log_with_prefixes() {
    let Some(dir) = firewall_dir() else {
        return;
    };
    let decoded = decode_file(&dir.join("iptables_ufw/iptables.log.AdrienRE.head200"));
    assert_eq!(decoded.format, Some(Format::Syslog));
    assert_eq!(decoded.records, 200);
    assert!(decoded.malformed.is_empty(), "{:?}", decoded.malformed);
    assert_eq!(decoded.context_count("event.action", "netfilter-INPUT"), 102);
    assert_eq!(decoded.context_count("event.action", "netfilter-OUTPUT"), 98);
    assert_eq!(decoded.context_count("network.transport", "tcp"), 142);
    assert_eq!(decoded.context_count("network.transport", "udp"), 52);
    assert_eq!(decoded.context_count("network.transport", "icmp"), 6);
    assert_eq!(decoded.sources.get("192.168.122.235"), Some(&94));
    assert_eq!(decoded.sources.get("104.16.40.2"), Some(&62));
    assert_eq!(
        decoded.source_ports, 194,
        "every line but the six ICMP ones has SPT="
    );
}

#[test]
fn pfsense_filterlog_every_line_decodes() {
    let Some(dir) = firewall_dir() else {
        return;
    };
    let decoded = decode_file(&dir.join("pfsense/test-pfsense-bsd.log"));
    assert_eq!(decoded.format, Some(Format::Syslog));
    assert_eq!(decoded.records, 19);
    assert!(decoded.malformed.is_empty(), "{:?}", decoded.malformed);
    assert_eq!(decoded.formats.get("filterlog"), Some(&19));
    assert_eq!(decoded.context_count("event.action", "block"), 14);
    assert_eq!(decoded.context_count("event.action", "pass"), 5);
    assert_eq!(decoded.context_count("network.direction", "ingress"), 19);
    assert_eq!(decoded.context_count("process.name", "filterlog"), 19);
    assert_eq!(decoded.context_count("process.pid", "72237"), 19);
    assert_eq!(decoded.context_count("network.transport", "igmp"), 1);
    assert_eq!(decoded.context_count("network.transport", "icmp"), 2);
    assert_eq!(decoded.sources.get("fe80::208:9bff:fef3:652b"), Some(&1));
    assert_eq!(decoded.destinations.get("ff02::1:2"), Some(&1));
    assert_eq!(decoded.destinations.get("1.1.1.1"), Some(&10));
    assert_eq!(decoded.timestamps, 19);
}

#[test]
fn panos_traffic_every_line_decodes() {
    let Some(dir) = firewall_dir() else {
        return;
    };
    let decoded = decode_file(&dir.join("panos/pan_inc_traffic.log.excerpt"));
    assert_eq!(decoded.format, Some(Format::Syslog));
    assert_eq!(decoded.records, 7);
    assert!(decoded.malformed.is_empty(), "{:?}", decoded.malformed);
    assert_eq!(decoded.formats.get("panos"), Some(&7));
    assert_eq!(decoded.sources.get("192.168.0.2"), Some(&6));
    assert_eq!(decoded.sources.get("192.168.0.100"), Some(&1));
    let destinations: BTreeSet<&str> = decoded.destinations.keys().map(String::as_str).collect();
    assert_eq!(
        destinations,
        BTreeSet::from([
            "205.171.2.25",
            "212.48.10.58",
            "50.19.102.116",
            "67.43.156.12",
            "98.149.55.63"
        ])
    );
    assert_eq!(decoded.context_count("event.action", "allow"), 7);
    assert_eq!(decoded.context_count("event.category", "TRAFFIC"), 7);
}
