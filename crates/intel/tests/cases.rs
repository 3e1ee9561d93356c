//! Loads the intel files of the shared end-to-end cases and checks what
//! each one loads, rejects and drops.
//!
//! The cases are not part of the repository. When they are absent, each
//! test prints a note to stderr and passes.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use iocwatch_intel::{LineError, LoadOptions, Watchlist, load_file};
use iocwatch_model::{IndicatorError, IndicatorKind, Note};

fn cases_dir() -> Option<PathBuf> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/cases");
    if data.is_dir() && cases.is_dir() {
        Some(cases)
    } else {
        eprintln!("skipped: ../shared/data not found");
        None
    }
}

/// One intel file of a case and what loading it gives.
struct CaseFile {
    path: &'static str,
    loaded: &'static [&'static str],
    rejected_lines: &'static [u64],
    dropped_lines: &'static [u64],
}

const CASE_FILES: &[CaseFile] = &[
    CaseFile {
        path: "broad-and-loopback/intel.txt",
        loaded: &["192.0.2.0/24"],
        rejected_lines: &[1, 3],
        dropped_lines: &[2],
    },
    CaseFile {
        path: "cidr-any-length-all-covering/nets-a.txt",
        loaded: &["172.16.0.0/12", "198.51.100.32/27"],
        rejected_lines: &[],
        dropped_lines: &[],
    },
    CaseFile {
        path: "cidr-any-length-all-covering/nets-b.txt",
        loaded: &["198.51.100.0/24"],
        rejected_lines: &[],
        dropped_lines: &[],
    },
    CaseFile {
        path: "defanged-feed/intel.txt",
        loaded: &[
            "https://secure-login.example/drop.php",
            "http://www.bad3.example/",
            "bad12.example",
            "really.bad13.example",
            "user@mail.example",
            "198.51.100.7",
            "d1.example",
            "d2.example",
            "d3.example",
        ],
        rejected_lines: &[],
        dropped_lines: &[],
    },
    CaseFile {
        path: "domain-label-boundaries/intel.txt",
        loaded: &["higan.example", "evil.example", "good.example"],
        rejected_lines: &[],
        dropped_lines: &[],
    },
    CaseFile {
        path: "hash-case-and-validation/intel.txt",
        loaded: &[
            "3395856ce81f2b7382dee72602f798b642f14140",
            "44d88612fea8a8f36de82e1278abb02f",
        ],
        rejected_lines: &[3, 4],
        dropped_lines: &[],
    },
    CaseFile {
        path: "ip-filed-as-domain/intel.csv",
        loaded: &["198.51.100.9", "evil-cdn.example"],
        rejected_lines: &[],
        dropped_lines: &[],
    },
    CaseFile {
        path: "ipv6-forms-and-crlf/intel.txt",
        loaded: &["2001:db8::1", "192.0.2.10"],
        rejected_lines: &[],
        dropped_lines: &[],
    },
    CaseFile {
        path: "url-scheme-and-port/intel.txt",
        loaded: &["http://malware.example/path.txt"],
        rejected_lines: &[],
        dropped_lines: &[],
    },
];

fn load(dir: &Path, relative: &str) -> Watchlist {
    load_file(&dir.join(relative), None, &LoadOptions::default()).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn case_intel_files_load_as_expected() {
    let Some(dir) = cases_dir() else { return };
    for case in CASE_FILES {
        let watchlist = load(&dir, case.path);
        let path = case.path;
        let values: Vec<String> = watchlist.indicators.iter().map(|i| i.value.to_string()).collect();
        assert_eq!(values, case.loaded, "{path}: loaded");
        let rejected: Vec<u64> = watchlist.report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(rejected, case.rejected_lines, "{path}: rejected lines");
        let dropped: Vec<u64> = watchlist.report.dropped.iter().map(|r| r.line).collect();
        assert_eq!(dropped, case.dropped_lines, "{path}: dropped lines");
    }
}

#[test]
fn every_case_intel_file_is_listed() {
    let Some(dir) = cases_dir() else { return };
    let listed: BTreeSet<&str> = CASE_FILES.iter().map(|case| case.path).collect();
    for case in std::fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&case).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("intel.") || name.starts_with("nets-") {
                let relative = file
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                assert!(
                    listed.contains(relative.as_str()),
                    "{relative} has no expectation in CASE_FILES"
                );
            }
        }
    }
}

#[test]
fn broad_values_rejected_with_reason() {
    let Some(dir) = cases_dir() else { return };
    let watchlist = load(&dir, "broad-and-loopback/intel.txt");
    let values: Vec<&str> = watchlist
        .report
        .rejected
        .iter()
        .map(|r| r.value.as_str())
        .collect();
    assert_eq!(values, ["0.0.0.0/0", "com"]);
    for rejection in &watchlist.report.rejected {
        assert!(
            matches!(rejection.error, LineError::Indicator(IndicatorError::TooBroad(_))),
            "{rejection}"
        );
    }
    assert_eq!(watchlist.report.dropped[0].value, "127.0.0.1");
    assert!(watchlist.report.dropped[0].error.is_dropped());
}

#[test]
fn defanged_line_holds_three_domains() {
    let Some(dir) = cases_dir() else { return };
    let watchlist = load(&dir, "defanged-feed/intel.txt");
    assert_eq!(watchlist.report.lines, 7);
    let last_line: Vec<u64> = watchlist
        .indicators
        .iter()
        .map(|i| i.origin.line)
        .filter(|line| *line == 7)
        .collect();
    assert_eq!(last_line.len(), 3);
}

#[test]
fn ip_in_domain_column_noted() {
    let Some(dir) = cases_dir() else { return };
    let watchlist = load(&dir, "ip-filed-as-domain/intel.csv");
    assert_eq!(watchlist.indicators[0].value.kind(), IndicatorKind::Ip);
    assert_eq!(
        watchlist.indicators[0].meta.description.as_deref(),
        Some("listed under domain by mistake")
    );
    assert_eq!(watchlist.report.notes.len(), 1);
    assert_eq!(watchlist.report.notes[0].line, 2);
    assert!(matches!(
        watchlist.report.notes[0].note,
        Note::Retyped {
            loaded: IndicatorKind::Ip,
            ..
        }
    ));
}

#[test]
fn case_watchlist_names() {
    let Some(dir) = cases_dir() else { return };
    assert_eq!(
        load(&dir, "cidr-any-length-all-covering/nets-a.txt").name,
        "nets-a"
    );
    assert_eq!(load(&dir, "defanged-feed/intel.txt").name, "intel");
}
