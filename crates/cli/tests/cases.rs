//! The fault cases kept beside the repository. Each folder contains intel
//! files, logs, the matches expected and values that must not match.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::{alerts, enrichments, run, shared, status, stderr};
use serde_json::Value;

const NOT_INTEL: [&str; 3] = ["CASE.md", "expected.tsv", "absent.txt"];

struct Expected {
    log: String,
    atomics: Vec<String>,
    fields: Vec<String>,
    events: usize,
    feed: Option<String>,
}

fn read_expected(case: &Path) -> Vec<Expected> {
    let text = fs::read_to_string(case.join("expected.tsv")).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            Expected {
                log: columns[0].to_owned(),
                atomics: columns[1].split('|').map(str::to_owned).collect(),
                fields: columns[2].split('|').map(str::to_owned).collect(),
                events: columns[3].trim().parse().unwrap(),
                feed: columns
                    .get(4)
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
            }
        })
        .collect()
}

fn log_name(alert: &Value) -> String {
    let path = alert["log"]["file"]["path"].as_str().unwrap_or_default();
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn carries(alert: &Value, expected: &Expected) -> bool {
    enrichments(alert).iter().any(|e| {
        let atomic = e["matched"]["atomic"].as_str().unwrap_or_default();
        let field = e["matched"]["field"].as_str().unwrap_or_default();
        let feed = e["feed"]["name"].as_str().unwrap_or_default();
        expected.atomics.iter().any(|a| a == atomic)
            && expected.fields.iter().any(|f| f == field)
            && expected.feed.as_ref().is_none_or(|name| name == feed)
    })
}

fn run_case(case: &Path) -> Result<(), String> {
    let mut args: Vec<String> = vec!["scan".into(), "--json".into()];
    let mut entries: Vec<_> = fs::read_dir(case).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for entry in &entries {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if entry.is_file() && !NOT_INTEL.contains(&name.as_str()) {
            args.push("--intel".into());
            args.push(entry.display().to_string());
        }
    }
    let mut logs: Vec<_> = fs::read_dir(case.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    logs.sort();
    args.extend(logs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    let code = status(&output);
    if code != 0 && code != 1 {
        return Err(format!("exit status {code}, stderr:\n{}", stderr(&output)));
    }
    let alerts = alerts(&output);
    let mut problems = Vec::new();
    for expected in read_expected(case) {
        let count = alerts
            .iter()
            .filter(|a| log_name(a) == expected.log && carries(a, &expected))
            .count();
        if count != expected.events {
            problems.push(format!(
                "{} {:?} in {:?}: {count} alerts, expected {}",
                expected.log, expected.atomics, expected.fields, expected.events
            ));
        }
    }
    let absent = fs::read_to_string(case.join("absent.txt")).unwrap_or_default();
    let matched: BTreeSet<&str> = alerts
        .iter()
        .flat_map(enrichments)
        .filter_map(|e| e["matched"]["atomic"].as_str())
        .collect();
    for value in absent
        .lines()
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.starts_with('#'))
    {
        if matched.contains(value) {
            problems.push(format!("{value} matched but must not"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn every_shared_case_passes() {
    let Some(cases) = shared("cases") else { return };
    let mut dirs: Vec<_> = fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no cases under {}", cases.display());
    let mut failures = Vec::new();
    for dir in &dirs {
        if let Err(problem) = run_case(dir) {
            failures.push(format!(
                "case {}:\n{problem}",
                dir.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Scans one case's `intel.txt` against its logs and returns standard
/// error, or `None` when the cases are absent.
fn case_messages(name: &str) -> Option<String> {
    let case = shared(&format!("cases/{name}"))?;
    let intel = case.join("intel.txt").display().to_string();
    let logs = case.join("logs").display().to_string();
    Some(stderr(&run(&["scan", "--json", "--intel", &intel, &logs])))
}

#[test]
fn broad_and_loopback_messages() {
    let Some(text) = case_messages("broad-and-loopback") else {
        return;
    };
    assert!(text.contains(":1: \"0.0.0.0/0\" rejected: too broad"), "{text}");
    assert!(text.contains(":3: \"com\" rejected: too broad"), "{text}");
    assert!(text.contains(":2: \"127.0.0.1\" warning: dropped"), "{text}");
}

#[test]
fn hash_validation_messages() {
    let Some(text) = case_messages("hash-case-and-validation") else {
        return;
    };
    assert!(text.contains(":3: \"zz5d"), "{text}");
    assert!(text.contains("non-hex"), "{text}");
    assert!(
        text.contains(":4: \"44d88612fea8a8f36de82e1278abb02\" rejected"),
        "{text}"
    );
    assert!(text.contains("31 hex digits"), "{text}");
}
