//! Decodes the real Sysmon logs kept beside the workspace in
//! `shared/data/sysmon`, JSON lines written by evtx_dump, and checks
//! record counts and values read from the files with `grep`.
//!
//! Without that folder every test prints a "skipped" line to stderr and
//! passes, so the suite still runs on a bare checkout.

#![allow(clippy::panic, reason = "a test reports a failure by panicking")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iocwatch_logs::Format;
use iocwatch_model::{Field, Record};

mod common;

/// Returns the Sysmon data folder, or `None` after printing that the tests
/// skip.
fn sysmon_dir() -> Option<PathBuf> {
    common::shared_data("sysmon")
}

/// One decoded record, with owned values.
#[derive(Debug)]
struct Event {
    dataset: String,
    timestamp: Option<String>,
    source: Option<(String, Option<u16>)>,
    destination: Option<(String, Option<u16>)>,
    observables: Vec<(Field, String)>,
    context: Vec<(&'static str, String)>,
}

impl Event {
    fn from_record(record: &Record<'_>) -> Self {
        let endpoint = |endpoint: &iocwatch_model::Endpoint<'_>| (endpoint.ip.to_string(), endpoint.port);
        Self {
            dataset: record.dataset.to_string(),
            timestamp: record.timestamp.as_ref().map(ToString::to_string),
            source: record.source.as_ref().map(endpoint),
            destination: record.destination.as_ref().map(endpoint),
            observables: record
                .observables
                .iter()
                .map(|observed| (observed.field, observed.value.to_string()))
                .collect(),
            context: record
                .context
                .iter()
                .map(|(name, value)| (*name, value.to_string()))
                .collect(),
        }
    }

    fn context(&self, name: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(seen, _)| *seen == name)
            .map(|(_, value)| value.as_str())
    }

    fn has(&self, field: Field, value: &str) -> bool {
        self.observables
            .iter()
            .any(|(seen_field, seen_value)| *seen_field == field && seen_value == value)
    }
}

/// What decoding one file produced.
#[derive(Debug, Default)]
struct Decoded {
    format: Option<Format>,
    events: Vec<Event>,
    malformed: Vec<String>,
}

impl Decoded {
    fn datasets(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for event in &self.events {
            *counts.entry(event.dataset.as_str()).or_default() += 1;
        }
        counts
    }

    fn count_field(&self, field: Field) -> usize {
        self.events
            .iter()
            .flat_map(|event| &event.observables)
            .filter(|(seen, _)| *seen == field)
            .count()
    }
}

fn decode_file(path: &Path) -> Decoded {
    let mut decoded = Decoded::default();
    decoded.format = common::decode_lines(path, |_, result| match result {
        Ok(Some(record)) => decoded.events.push(Event::from_record(&record)),
        Ok(None) => {}
        Err(err) => decoded.malformed.push(err.message),
    });
    decoded
}

/// Lines per file, counted with `grep -c .`. Every line is one event.
const LINE_COUNTS: [(&str, usize); 8] = [
    (
        "AutomatedTestingTools_Malware_sideloading_uacbypass_rundll32_injection_c2.jsonl",
        18,
    ),
    (
        "AutomatedTestingTools_panache_sysmon_vs_EDRTestingScript.jsonl",
        122,
    ),
    (
        "Execution_exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.jsonl",
        8,
    ),
    ("Execution_exec_sysmon_lobin_regsvr32_sct.jsonl", 3),
    ("Execution_exec_wmic_xsl_internet_sysmon_3_1_11.jsonl", 8),
    ("Other_emotet_exec_emotet_sysmon_1.jsonl", 1),
    ("Persistence_sysmon_1_persist_bitsjob_SetNotifyCmdLine.jsonl", 6),
    ("Privilege_Escalation_Sysmon_UACME_64.jsonl", 530),
];

#[test]
fn every_sysmon_file_decodes() {
    let Some(dir) = sysmon_dir() else {
        return;
    };
    let mut sha256 = 0;
    for (name, lines) in LINE_COUNTS {
        let decoded = decode_file(&dir.join(name));
        assert_eq!(decoded.format, Some(Format::Json), "{name}");
        assert_eq!(decoded.malformed, Vec::<String>::new(), "{name}");
        assert_eq!(decoded.events.len(), lines, "{name}");
        for event in &decoded.events {
            assert!(event.dataset.starts_with("sysmon"), "{name}: {event:?}");
            assert!(event.timestamp.is_some(), "{name}: {event:?}");
            assert!(event.context("host.name").is_some(), "{name}: {event:?}");
        }
        sha256 += decoded.count_field(Field::FileSha256);
    }
    // `grep -o 'SHA256=[0-9A-F]*' *.jsonl | wc -l`: every Hashes value
    // but one, which has only a SHA1.
    assert_eq!(sha256, 649);
}

#[test]
fn wmic_connection_and_process_hash() {
    let Some(dir) = sysmon_dir() else {
        return;
    };
    let decoded = decode_file(&dir.join("Execution_exec_wmic_xsl_internet_sysmon_3_1_11.jsonl"));
    assert_eq!(
        decoded.datasets(),
        BTreeMap::from([
            ("sysmon", 2),
            ("sysmon.image_load", 1),
            ("sysmon.network", 2),
            ("sysmon.process", 3),
        ])
    );

    let connections: Vec<&Event> = decoded
        .events
        .iter()
        .filter(|event| event.dataset == "sysmon.network")
        .collect();
    let first = connections
        .first()
        .unwrap_or_else(|| panic!("no connection in {decoded:?}"));
    assert_eq!(first.source, Some(("10.0.2.15".to_owned(), Some(49167))));
    assert_eq!(first.destination, Some(("45.76.12.27".to_owned(), Some(443))));
    assert!(first.has(Field::UrlDomain, "45-76-12-27.static.afterburst.com"));
    assert_eq!(first.timestamp.as_deref(), Some("2019-05-23T16:49:08.208762Z"));
    assert_eq!(
        first.context("process.executable"),
        Some("C:\\Windows\\System32\\wbem\\WMIC.exe")
    );
    assert_eq!(first.context("user.name"), Some("IEWIN7\\IEUser"));
    assert_eq!(first.context("network.transport"), Some("tcp"));
    assert_eq!(first.context("network.direction"), Some("egress"));
    assert_eq!(first.context("host.name"), Some("IEWIN7"));

    let second = connections
        .get(1)
        .unwrap_or_else(|| panic!("only one connection in {decoded:?}"));
    assert_eq!(second.destination, Some(("105.73.6.105".to_owned(), Some(80))));
    assert!(second.has(Field::UrlDomain, "aka105.inwitelecom.net"));

    let wmic = decoded
        .events
        .iter()
        .find(|event| {
            event.dataset == "sysmon.process"
                && event.context("process.executable") == Some("C:\\Windows\\System32\\wbem\\WMIC.exe")
        })
        .unwrap_or_else(|| panic!("no WMIC.exe process in {decoded:?}"));
    assert!(wmic.has(
        Field::FileSha256,
        "132AA270790F56A7524CAB968927ED5E1D91B9A26D4BADCB24E450E7DECC5F81"
    ));
    assert!(wmic.has(Field::FileSha1, "4368DBD172224EC9461364BE1AC9DFFC5D9224A8"));
    assert!(wmic.has(Field::FileMd5, "A03CF3838775E0801A0894C8BACD2E56"));
    assert_eq!(wmic.observables.len(), 3, "{wmic:?}");
}

#[test]
fn uacme_dns_query_and_file_delete() {
    let Some(dir) = sysmon_dir() else {
        return;
    };
    let decoded = decode_file(&dir.join("Privilege_Escalation_Sysmon_UACME_64.jsonl"));
    let datasets = decoded.datasets();
    assert_eq!(datasets.get("sysmon.image_load"), Some(&511));
    assert_eq!(datasets.get("sysmon.dns"), Some(&1));
    assert_eq!(datasets.get("sysmon.file_delete"), Some(&3));

    let dns = decoded
        .events
        .iter()
        .find(|event| event.dataset == "sysmon.dns")
        .unwrap_or_else(|| panic!("no DNS query in {decoded:?}"));
    // The query failed (QueryStatus 9003, QueryResults "-"), so it
    // resolved to no address.
    assert_eq!(dns.observables, [(Field::DnsQuestionName, "wpad".to_owned())]);
    assert_eq!(
        dns.context("process.executable"),
        Some("C:\\Windows\\System32\\svchost.exe")
    );

    let deleted: Vec<&Event> = decoded
        .events
        .iter()
        .filter(|event| event.dataset == "sysmon.file_delete")
        .collect();
    let consent = "19FD0010DA92B654D1CA270247061A39EA13C0A58529FD8257A97E2EF7794911";
    let with_consent = deleted
        .iter()
        .filter(|event| event.has(Field::FileSha256, consent))
        .count();
    assert_eq!(with_consent, 2);
    assert_eq!(
        deleted.first().and_then(|event| event.context("file.path")),
        Some("C:\\Users\\den\\AppData\\Local\\Temp\\dfcc1807-03a1-4ae1-ab29-5675b285edea\\consent.exe.dat")
    );
}

#[test]
fn emotet_hash_list_of_one_algorithm() {
    let Some(dir) = sysmon_dir() else {
        return;
    };
    let decoded = decode_file(&dir.join("Other_emotet_exec_emotet_sysmon_1.jsonl"));
    let observables: Vec<_> = decoded
        .events
        .iter()
        .flat_map(|event| event.observables.clone())
        .collect();
    assert_eq!(
        observables,
        [(
            Field::FileSha1,
            "ED13AF4A0A754B8DAEE4929134D2FF15EBE053CD".to_owned()
        )]
    );
}

#[test]
fn evtx_file_is_not_json_lines() {
    let Some(dir) = sysmon_dir() else {
        return;
    };
    let path = dir.join("Execution_exec_wmic_xsl_internet_sysmon_3_1_11.evtx");
    if !path.is_file() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    assert_eq!(decode_file(&path).format, None);
}
