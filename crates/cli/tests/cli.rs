//! End-to-end tests of the `iocwatch` binary on small logs and watchlists
//! written by the tests or shipped in `examples/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{alerts, enrichments, iocwatch, run, status, stderr};
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn example_args(json: bool) -> Vec<String> {
    let root = examples();
    let mut args = vec!["scan".to_owned()];
    if json {
        args.push("--json".to_owned());
    }
    for list in ["c2-servers.csv", "phishing.txt", "malware.intel"] {
        args.push("--intel".to_owned());
        args.push(root.join("intel").join(list).display().to_string());
    }
    args.push(root.join("logs").display().to_string());
    args
}

/// Writes a watchlist and an ECS log into a new temporary folder and
/// returns the folder with both paths.
fn fixture(list: &str, log: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, list).unwrap();
    let log_path = dir.path().join("ecs.json");
    fs::write(&log_path, log).unwrap();
    (dir, intel, log_path)
}

fn run_owned(args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

fn atomics(alerts: &[Value]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = alerts
        .iter()
        .flat_map(enrichments)
        .map(|e| {
            (
                e["matched"]["field"].as_str().unwrap_or_default().to_owned(),
                e["matched"]["atomic"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn examples_produce_expected_alerts() {
    let output = run_owned(&example_args(true));
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let alerts = alerts(&output);
    assert_eq!(alerts.len(), 13, "{}", stderr(&output));
    let expected: Vec<(String, String)> = [
        ("destination.ip", "198.51.100.23"),
        ("source.ip", "203.0.113.9"),
        ("destination.ip", "2001:db8:bad::17"),
        ("dns.question.name", "cdn7.update-check.badcdn.example"),
        ("dns.resolved_ip", "198.51.100.23"),
        ("dns.question.name", "www.secure-payroll.example"),
        ("url.full", "http://dl.payload-drop.example/stage2.bin"),
        ("url.full", "http://docs-share.example/invoice.zip"),
        ("file.hash.md5", "44d88612fea8a8f36de82e1278abb02f"),
        ("tls.server.hash.sha1", "e7fc4b658c64f9f7defb825a9d855cbfa65c3781"),
        (
            "url.full",
            "http://login-microsoft.account-verify.example/owa/auth.php",
        ),
        ("destination.ip", "203.0.113.12"),
        ("email.from.address", "billing@secure-payroll.example"),
        ("url.full", "https://docs-share.example/invoice.zip"),
    ]
    .iter()
    .map(|(f, a)| ((*f).to_owned(), (*a).to_owned()))
    .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(atomics(&alerts), expected);
}

#[test]
fn alert_document_contract() {
    let output = run_owned(&example_args(true));
    let alerts = alerts(&output);
    let alert = alerts
        .iter()
        .find(|a| a["destination"]["ip"] == "198.51.100.23")
        .expect("alert for the C2 connection");
    assert_eq!(alert["@timestamp"], "2026-12-03T09:00:00.112233Z");
    assert_eq!(alert["event"]["kind"], "alert");
    assert_eq!(alert["event"]["dataset"], "zeek.conn");
    assert!(alert["event"]["original"].as_str().unwrap().contains("CxA1"));
    assert_eq!(alert["source"]["ip"], "10.20.0.15");
    assert_eq!(alert["source"]["port"], 49822);
    assert_eq!(alert["destination"]["port"], 443);
    assert!(
        alert["log"]["file"]["path"]
            .as_str()
            .unwrap()
            .ends_with("conn.log")
    );
    assert!(alert["log"]["offset"].as_u64().unwrap() > 0);
    assert_eq!(alert["iocwatch"]["direction"], "outbound");
    assert_eq!(alert["iocwatch"]["internal_host"], "10.20.0.15");
    assert_eq!(alert["iocwatch"]["severity"], "high");
    assert_eq!(alert["iocwatch"]["alert_id"].as_str().unwrap().len(), 36);
    let enrichment = &enrichments(alert)[0];
    assert_eq!(enrichment["matched"]["type"], "indicator_match_rule");
    assert_eq!(enrichment["indicator"]["type"], "ipv4-addr");
    assert_eq!(enrichment["indicator"]["description"], "Botnet C2 server");
    assert_eq!(
        enrichment["indicator"]["reference"],
        "https://intel.example/reports/2026-041"
    );
    assert_eq!(enrichment["indicator"]["first_seen"], "2026-10-02");
    assert_eq!(enrichment["indicator"]["confidence"], "High");
    assert_eq!(enrichment["iocwatch"]["malware"], "TrickBot");
    assert_eq!(enrichment["feed"]["name"], "c2-servers");
}

#[test]
fn dns_alert_carries_both_matches() {
    let output = run_owned(&example_args(true));
    let alerts = alerts(&output);
    let alert = alerts
        .iter()
        .find(|a| a["dns"]["question"]["name"] == "cdn7.update-check.badcdn.example")
        .expect("alert for the beacon query");
    assert_eq!(enrichments(alert).len(), 2);
}

#[test]
fn inbound_direction_names_internal_host() {
    let output = run_owned(&example_args(true));
    let alerts = alerts(&output);
    let alert = alerts
        .iter()
        .find(|a| a["source"]["ip"] == "203.0.113.9")
        .expect("inbound alert");
    assert_eq!(alert["iocwatch"]["direction"], "inbound");
    assert_eq!(alert["iocwatch"]["internal_host"], "10.20.0.40");
}

#[test]
fn table_output_and_summary() {
    let output = run_owned(&example_args(false));
    assert_eq!(status(&output), 0);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("TIME"), "{table}");
    assert!(table.contains("198.51.100.23"), "{table}");
    assert!(table.contains("c2-servers"), "{table}");
    let summary = stderr(&output);
    for needle in [
        "zeek-tsv",
        "suricata-eve",
        "ecs",
        "alerts: 13",
        "top indicators:",
        "top internal hosts:",
        "MB/s",
    ] {
        assert!(summary.contains(needle), "summary lacks {needle:?}:\n{summary}");
    }
}

/// Watchlist names that share their first 16 characters stay whole in
/// the table, and the header's WATCHLIST column is as wide as its rows.
#[test]
fn table_keeps_long_watchlist_names_apart() {
    let (dir, intel, log) = fixture(
        "198.51.100.1\n",
        "{\"source\":{\"ip\":\"10.0.0.1\"},\"destination\":{\"ip\":\"198.51.100.1\"}}\n\
         {\"source\":{\"ip\":\"10.0.0.2\"},\"destination\":{\"ip\":\"198.51.100.2\"}}\n",
    );
    let other = dir.path().join("other.txt");
    fs::write(&other, "198.51.100.2\n").unwrap();
    let first = format!("urlhaus-filter-online={}", intel.display());
    let second = format!("urlhaus-filter-hosts-online={}", other.display());
    let output = run(&[
        "scan",
        "--intel",
        &first,
        "--intel",
        &second,
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));

    let table = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[1].contains(" urlhaus-filter-online "), "{table}");
    assert!(lines[2].contains(" urlhaus-filter-hosts-online "), "{table}");
    let field_column = lines[0].find("FIELD").unwrap();
    assert_eq!(lines[1].find("destination.ip"), Some(field_column), "{table}");
    assert_eq!(lines[2].find("destination.ip"), Some(field_column), "{table}");
}

#[test]
fn ecs_epoch_milliseconds_timestamp() {
    let (_dir, intel, log) = fixture(
        "198.51.100.1\n",
        "{\"@timestamp\":1709251200123,\"source\":{\"ip\":\"198.51.100.1\"}}\n\
         {\"@timestamp\":1709251200,\"source\":{\"ip\":\"198.51.100.1\"}}\n",
    );
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let alerts = alerts(&output);
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["@timestamp"], "2024-03-01T00:00:00.123000Z");
    assert_eq!(alerts[1]["@timestamp"], "2024-03-01T00:00:00.000000Z");
}

#[test]
fn no_alerts_exit_one() {
    let (_dir, intel, log) = fixture(
        "198.51.100.99\n",
        "{\"source\":{\"ip\":\"10.0.0.1\"},\"destination\":{\"ip\":\"198.51.100.1\"}}\n",
    );
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 1, "{}", stderr(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn missing_log_path_exit_two_and_rest_scanned() {
    let (dir, intel, log) = fixture("198.51.100.1\n", "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n");
    let missing = dir.path().join("missing.log");
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        missing.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2);
    assert_eq!(alerts(&output).len(), 1);
    let messages = stderr(&output);
    assert!(messages.contains("cannot read log path"), "{messages}");
    assert!(messages.contains("missing.log"), "{messages}");
}

#[test]
fn counts_of_one_are_singular() {
    let intel = "198.51.100.1\nbad-1!\nbad-2!\nbad-3!\nbad-4!\nbad-5!\nbad-6!\n";
    let (_dir, intel, log) = fixture(intel, "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n");
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let messages = stderr(&output);
    assert!(messages.contains("... and 1 more rejected value\n"), "{messages}");
    assert!(messages.contains("scanned 1 file, 1 line,"), "{messages}");
}

/// Returns a watchlist whose line 1 loads, lines 2 to 8 are rejected (`bad-1!` to
/// `bad-7!`) and lines 9 to 14 are dropped loopback addresses.
fn watchlist_with_rejections() -> String {
    let mut list = String::from("198.51.100.1\n");
    for n in 1..=7 {
        list.push_str(&format!("bad-{n}!\n"));
    }
    for n in 1..=6 {
        list.push_str(&format!("127.0.0.{n}\n"));
    }
    list
}

#[test]
fn rejection_report_stops_at_five() {
    let (_dir, intel, log) = fixture(
        &watchlist_with_rejections(),
        "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n",
    );
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let messages = stderr(&output);
    for line in 2..=6 {
        let needle = format!("list.txt:{line}: \"bad-{}!\" rejected", line - 1);
        assert!(messages.contains(&needle), "lacks {needle:?}:\n{messages}");
    }
    for line in [7, 8] {
        let needle = format!("list.txt:{line}:");
        assert!(!messages.contains(&needle), "lists {needle:?}:\n{messages}");
    }
    assert!(
        messages.contains("  ... and 2 more rejected values\n"),
        "{messages}"
    );
    assert!(
        messages.contains("  ... and 1 more dropped value\n"),
        "{messages}"
    );
    assert!(!messages.contains("list.txt:14:"), "{messages}");
}

#[test]
fn all_rejections_lists_every_line() {
    let (_dir, intel, log) = fixture(
        &watchlist_with_rejections(),
        "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n",
    );
    let output = run(&[
        "scan",
        "--all-rejections",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let messages = stderr(&output);
    for line in 2..=8 {
        let needle = format!("list.txt:{line}: \"bad-{}!\" rejected", line - 1);
        assert!(messages.contains(&needle), "lacks {needle:?}:\n{messages}");
    }
    for line in 9..=14 {
        let needle = format!("list.txt:{line}: \"127.0.0.{}\" warning: dropped", line - 8);
        assert!(messages.contains(&needle), "lacks {needle:?}:\n{messages}");
    }
    assert!(!messages.contains("... and"), "{messages}");
    assert!(messages.contains("7 rejected, 6 dropped"), "{messages}");
}

#[test]
fn all_rejections_conflicts_with_quiet() {
    let (_dir, intel, log) = fixture("198.51.100.1\nbad!\n", "{}\n");
    let output = run(&[
        "scan",
        "--quiet",
        "--all-rejections",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2);
    let messages = stderr(&output);
    assert!(
        messages.contains("'--quiet' cannot be used with '--all-rejections'"),
        "{messages}"
    );
}

#[test]
fn lookup_json_prints_all_rejections() {
    let (_dir, intel, _log) = fixture(&watchlist_with_rejections(), "{}\n");
    let intel = intel.to_str().unwrap();
    let quiet = run(&["lookup", "--json", "--intel", intel, "198.51.100.1"]);
    assert_eq!(status(&quiet), 0, "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("rejected"), "{}", stderr(&quiet));

    let output = run(&[
        "lookup",
        "--json",
        "--all-rejections",
        "--intel",
        intel,
        "198.51.100.1",
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(
        alerts(&output).len(),
        1,
        "standard output contains only the JSON answer"
    );
    let messages = stderr(&output);
    assert!(messages.contains("list.txt:8: \"bad-7!\" rejected"), "{messages}");
    assert!(
        messages.contains("list.txt:14: \"127.0.0.6\" warning"),
        "{messages}"
    );
}

#[test]
fn data_dir_help_per_command() {
    for command in [&["scan"][..], &["lookup"], &["config", "check"]] {
        let output = run(&[command, &["--help"]].concat());
        assert_eq!(status(&output), 0, "{command:?}: {}", stderr(&output));
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            !help.contains("--data-dir"),
            "{command:?} lists --data-dir:\n{help}"
        );
    }
    for command in [
        &["watchlist"][..],
        &["watchlist", "list"],
        &["allowlist", "list"],
        &["alerts", "list"],
        &["run"],
        &["user", "list"],
        &["token", "list"],
    ] {
        let output = run(&[command, &["--help"]].concat());
        assert_eq!(status(&output), 0, "{command:?}: {}", stderr(&output));
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains("--data-dir <DIR>"),
            "{command:?} lacks --data-dir:\n{help}"
        );
    }
    let output = run(&["--help"]);
    // Clap wraps long help lines, so words are compared one by one.
    let help = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(help.contains("--data-dir <DIR>"), "{help}");
    assert!(
        help.contains("Used by watchlist, allowlist, alerts, run, user and token"),
        "{help}"
    );
}

/// Sysmon events exported as JSON lines alert on the connection, the DNS
/// query and the process hash, each under its ECS field name.
#[test]
fn sysmon_events_alert_with_field_names() {
    let event = |id: u32, data: &str| {
        format!(
            r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":{id},"TimeCreated":{{"#attributes":{{"SystemTime":"2024-05-01T10:00:0{id}Z"}}}},"Computer":"ws-7.corp.example"}},"EventData":{data}}}}}"##
        )
    };
    let log = [
        event(
            3,
            r#"{"Image":"C:\\Windows\\System32\\wbem\\WMIC.exe","User":"CORP\\alice","Protocol":"tcp","Initiated":true,"SourceIp":"10.0.2.15","SourcePort":49167,"DestinationIp":"203.0.113.27","DestinationHostname":"quiet.test","DestinationPort":443}"#,
        ),
        event(
            22,
            r#"{"QueryName":"www.evil.example","QueryResults":"type:  5 cdn.quiet.test;::ffff:192.0.2.44;","Image":"C:\\Windows\\System32\\svchost.exe"}"#,
        ),
        event(
            1,
            r#"{"Image":"C:\\Tools\\dropper.exe","Hashes":"SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,MD5=D41D8CD98F00B204E9800998ECF8427E,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=00000000000000000000000000000000"}"#,
        ),
    ]
    .join("\n");
    let (_dir, intel, log) = fixture(
        "203.0.113.27\nevil.example\n192.0.2.44\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
         00000000000000000000000000000000\n",
        &log,
    );
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let alerts = alerts(&output);
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    assert_eq!(
        atomics(&alerts),
        [
            ("destination.ip".to_owned(), "203.0.113.27".to_owned()),
            ("dns.question.name".to_owned(), "www.evil.example".to_owned()),
            ("dns.resolved_ip".to_owned(), "192.0.2.44".to_owned()),
            (
                "file.hash.sha256".to_owned(),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned()
            ),
        ]
    );

    let connection = &alerts[0];
    assert_eq!(connection["event"]["dataset"], "sysmon.network");
    assert_eq!(connection["@timestamp"], "2024-05-01T10:00:03.000000Z");
    assert_eq!(connection["source"]["ip"], "10.0.2.15");
    assert_eq!(connection["source"]["port"], 49167);
    assert_eq!(connection["destination"]["port"], 443);
    assert_eq!(connection["iocwatch"]["direction"], "outbound");
    assert_eq!(connection["iocwatch"]["internal_host"], "10.0.2.15");
    assert_eq!(alerts[1]["event"]["dataset"], "sysmon.dns");
    assert_eq!(alerts[2]["event"]["dataset"], "sysmon.process");
    // A process event names no address, so its steps name the machine.
    let steps = alerts[2]["iocwatch"]["next_steps"].to_string();
    assert!(steps.contains("host ws-7.corp.example"), "{steps}");
    assert!(stderr(&output).contains("sysmon"), "{}", stderr(&output));
}

/// JSON lines that no reader reads, such as Windows events from a
/// provider other than Sysmon, are not taken for ECS. A file named on the
/// command line is an error, and one in a folder is skipped.
#[test]
fn unknown_json_lines_not_scanned() {
    let (dir, intel, log) = fixture(
        "192.0.2.7\n",
        "{\"Event\":{\"System\":{\"EventID\":3},\"EventData\":{\"DestinationIp\":\"192.0.2.7\"}}}\n",
    );
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(status(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("JSON lines of a kind iocwatch does not read"),
        "{}",
        stderr(&output)
    );

    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 1, "{messages}");
    assert!(messages.contains("; skipped"), "{messages}");
    assert!(!messages.contains(" events"), "{messages}");
}

/// A gzip file cut within its header gives no data: it is reported as cut
/// short, not as a log in an unknown format.
#[test]
fn gzip_cut_in_header_reported() {
    use std::io::Write as _;
    let (dir, intel, _) = fixture("192.0.2.7\n", "");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(b"{\"source\":{\"ip\":\"192.0.2.7\"}}\n")
        .unwrap();
    let compressed = encoder.finish().unwrap();
    let cut = dir.path().join("cut.json.gz");
    fs::write(&cut, &compressed[..10]).unwrap();
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), cut.to_str().unwrap()]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("not a readable gzip file: it ends before any data"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn data_dir_ignored_by_scan_and_lookup() {
    let (dir, intel, log) = fixture("198.51.100.1\n", "{\"source\":{\"ip\":\"192.0.2.1\"}}\n");
    let data_dir = dir.path().join("data");
    let output = run(&[
        "scan",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 1);
    let messages = stderr(&output);
    assert!(
        messages.contains("warning: scan opens no data directory, so --data-dir"),
        "{messages}"
    );
    assert!(!data_dir.exists(), "scan creates no data directory");

    let output = run(&[
        "lookup",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--intel",
        intel.to_str().unwrap(),
        "198.51.100.1",
    ]);
    assert_eq!(status(&output), 0);
    assert!(stderr(&output).contains("warning: lookup opens no data directory"));
    assert!(!data_dir.exists(), "lookup creates no data directory");
}

#[test]
fn unreadable_intel_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ecs.json");
    fs::write(&log, "{}\n").unwrap();
    let output = run(&["scan", "--intel", "/nonexistent/list.txt", log.to_str().unwrap()]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("/nonexistent/list.txt"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn intel_stdin_and_empty_name_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ecs.json");
    fs::write(&log, "{}\n").unwrap();
    let log = log.to_str().unwrap();

    for spec in ["-", "feed=-"] {
        let output = run(&["scan", "--intel", spec, log]);
        assert_eq!(status(&output), 2, "{spec}");
        let message = stderr(&output);
        assert!(
            message.contains(&format!(
                "--intel {spec}: standard input is not accepted for watchlists"
            )),
            "{spec}: {message}"
        );
        assert!(!message.contains("No such file"), "{spec}: {message}");
    }

    let output = run(&["scan", "--intel", "=list.txt", log]);
    assert_eq!(status(&output), 2);
    let message = stderr(&output);
    assert!(
        message.contains("--intel =list.txt: NAME is empty in NAME=PATH"),
        "{message}"
    );
    assert!(message.contains("such as feed=list.txt"), "{message}");

    let output = run(&["lookup", "--intel", "-", "198.51.100.1"]);
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("standard input is not accepted"));
}

#[test]
fn intel_file_named_with_equals_sign_read() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("=list.txt"), "198.51.100.1\n").unwrap();
    let output = iocwatch()
        .current_dir(dir.path())
        .args(["lookup", "--intel", "=list.txt", "198.51.100.1"])
        .output()
        .unwrap();
    assert_eq!(status(&output), 0, "{}", stderr(&output));
}

#[test]
fn malformed_lines_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let log = dir.path().join("eve.json");
    let mut text = String::new();
    text.push_str("{\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"198.51.100.1\"}\n");
    for _ in 0..8 {
        text.push_str("{\"event_type\": broken\n");
    }
    text.push_str("{\"event_type\":\"flow\",\"src_ip\":\"10.0.0.2\",\"dest_ip\":\"198.51.100.1\"}\n");
    fs::write(&log, text).unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0);
    assert_eq!(alerts(&output).len(), 2);
    let messages = stderr(&output);
    assert!(
        messages.contains("eve.json:2: malformed line skipped"),
        "{messages}"
    );
    assert!(
        messages.contains("eve.json:6: malformed line skipped"),
        "{messages}"
    );
    assert!(!messages.contains("eve.json:7: malformed"), "{messages}");
    assert!(messages.contains("malformed lines: 8"), "{messages}");
    assert!(
        messages.contains("3 more malformed lines not shown"),
        "{messages}"
    );
}

#[test]
fn too_long_line_counted_in_bytes() {
    let mut log = b"{\"message\":\"".to_vec();
    log.resize(17 * 1024 * 1024, b'a');
    log.extend_from_slice(b"\"}\n{\"source\":{\"ip\":\"198.51.100.1\"}}\n");
    let (_dir, intel, log_path) = fixture("198.51.100.1\n", "");
    fs::write(&log_path, &log).unwrap();

    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        log_path.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("ecs.json:1: malformed line skipped: line is longer than the maximum of 16 MiB\n"),
        "{message}"
    );
    let scanned = format!("scanned 1 file, 2 lines, {:.1} MB in", log.len() as f64 / 1e6);
    assert!(
        message.contains(&scanned),
        "summary lacks {scanned:?}:\n{message}"
    );
}

#[test]
fn truncated_gzip_keeps_earlier_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..20_000 {
        writeln!(
            encoder,
            "{{\"source\":{{\"ip\":\"10.0.{}.{}\"}},\"destination\":{{\"ip\":\"198.51.100.1\"}}}}",
            i / 250,
            i % 250
        )
        .unwrap();
    }
    let compressed = encoder.finish().unwrap();
    let log = dir.path().join("cut.json.gz");
    fs::write(&log, &compressed[..compressed.len() / 2]).unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2, "{}", stderr(&output));
    assert!(alerts(&output).len() > 1000);
    let messages = stderr(&output);
    assert!(messages.contains("cut.json.gz"), "{messages}");
    assert!(
        messages.contains("truncated or corrupt (check it with gzip -t)"),
        "{messages}"
    );
}

#[test]
fn stdin_and_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "evil.example\n").unwrap();
    let out = dir.path().join("alerts.jsonl");
    let mut child = iocwatch()
        .args([
            "scan",
            "--json",
            "--output",
            out.to_str().unwrap(),
            "--intel",
            intel.to_str().unwrap(),
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"{\"source\":{\"ip\":\"10.1.1.1\"},\"dns\":{\"question\":{\"name\":\"www.Evil.example.\"}}}\n",
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let written = fs::read_to_string(&out).unwrap();
    let alert: Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(enrichments(&alert)[0]["matched"]["atomic"], "www.evil.example");
    assert_eq!(alert["log"]["file"]["path"], "-");
}

#[test]
fn zeek_tsv_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.23\n").unwrap();
    let log = fs::read(examples().join("logs/zeek/conn.log")).unwrap();
    let mut child = iocwatch()
        .args([
            "scan",
            "--json",
            "--quiet",
            "--intel",
            intel.to_str().unwrap(),
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&log).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(alerts(&output).len(), 1);
}

#[test]
fn home_net_changes_direction() {
    let root = examples();
    let output = run(&[
        "scan",
        "--json",
        "--home-net",
        "198.51.100.0/24",
        "--intel",
        root.join("intel/c2-servers.csv").to_str().unwrap(),
        root.join("logs/zeek/conn.log").to_str().unwrap(),
    ]);
    let alerts = alerts(&output);
    let alert = alerts
        .iter()
        .find(|a| a["destination"]["ip"] == "198.51.100.23")
        .unwrap();
    assert_eq!(alert["iocwatch"]["direction"], "inbound");
    assert_eq!(alert["iocwatch"]["internal_host"], "198.51.100.23");
}

#[test]
fn home_net_bare_address_and_bad_prefix() {
    let root = examples();
    let scan_with = |home_net: &str| {
        run(&[
            "scan",
            "--json",
            "--home-net",
            home_net,
            "--intel",
            root.join("intel/c2-servers.csv").to_str().unwrap(),
            root.join("logs/zeek/conn.log").to_str().unwrap(),
        ])
    };

    let output = scan_with("198.51.100.23");
    let alerts = alerts(&output);
    let alert = alerts
        .iter()
        .find(|a| a["destination"]["ip"] == "198.51.100.23")
        .unwrap();
    assert_eq!(alert["iocwatch"]["internal_host"], "198.51.100.23");

    let output = scan_with("10.0.0.0/33");
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("\"10.0.0.0/33\" is not a network; write it as 10.0.0.0/8"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn named_watchlist() {
    let root = examples();
    let spec = format!("partner-feed={}", root.join("intel/c2-servers.csv").display());
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        &spec,
        root.join("logs/zeek/conn.log").to_str().unwrap(),
    ]);
    let alerts = alerts(&output);
    assert!(!alerts.is_empty());
    assert_eq!(enrichments(&alerts[0])[0]["feed"]["name"], "partner-feed");
}

#[test]
fn large_file_split_matches_whole() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.7\n").unwrap();
    let log = dir.path().join("conn.log");
    let mut file = std::io::BufWriter::new(fs::File::create(&log).unwrap());
    let header = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn";
    writeln!(file, "{header}").unwrap();
    writeln!(
        file,
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tpadding"
    )
    .unwrap();
    let padding = "x".repeat(200);
    let lines = 400_000;
    let mut line_number = 6;
    let mut malformed_at = 0;
    for i in 0..lines {
        let dest = if i % 1000 == 7 {
            "198.51.100.7"
        } else {
            "198.51.101.7"
        };
        if i == 200_000 {
            // A second header block with the columns in another order: the
            // ranges after it must read the responder from its new place.
            writeln!(file, "#close\t2026-12-03-10-00-00\n{header}").unwrap();
            writeln!(
                file,
                "#fields\tts\tuid\tid.resp_h\tid.resp_p\tid.orig_h\tid.orig_p\tproto\tpadding"
            )
            .unwrap();
            line_number += 7;
        }
        if i == 350_000 {
            writeln!(file, "only\ttwo").unwrap();
            line_number += 1;
            malformed_at = line_number;
        }
        if i >= 200_000 {
            writeln!(file, "{i}.5\tC{i}\t{dest}\t443\t10.0.0.1\t40000\ttcp\t{padding}").unwrap();
        } else {
            writeln!(file, "{i}.5\tC{i}\t10.0.0.1\t40000\t{dest}\t443\ttcp\t{padding}").unwrap();
        }
        line_number += 1;
    }
    drop(file);
    let size = fs::metadata(&log).unwrap().len();
    assert!(
        size > 64 * 1024 * 1024,
        "the file must be large enough to be split: {size}"
    );
    let output = run(&[
        "scan",
        "--json",
        "--threads",
        "2",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let alerts = alerts(&output);
    assert_eq!(alerts.len(), lines / 1000);
    for alert in &alerts {
        assert_eq!(enrichments(alert)[0]["matched"]["field"], "destination.ip");
    }
    let offsets: Vec<u64> = alerts
        .iter()
        .map(|a| a["log"]["offset"].as_u64().unwrap())
        .collect();
    let mut sorted = offsets.clone();
    sorted.sort_unstable();
    assert_eq!(offsets, sorted, "alerts are written in file order");
    let messages = stderr(&output);
    assert!(messages.contains(&format!("{} events", lines)), "{messages}");
    assert!(
        messages.contains(&format!("conn.log:{malformed_at}: malformed line skipped")),
        "{messages}"
    );
}

#[test]
fn lookup_reports_matches() {
    let root = examples();
    let output = run(&[
        "lookup",
        "--intel",
        root.join("intel/c2-servers.csv").to_str().unwrap(),
        "--intel",
        root.join("intel/phishing.txt").to_str().unwrap(),
        "www.secure-payroll[.]example",
        "198.51.100.99",
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("www.secure-payroll[.]example  (domain www.secure-payroll.example)"),
        "{text}"
    );
    assert!(text.contains("MATCH phishing secure-payroll.example"), "{text}");
    assert!(
        text.contains("198.51.100.99  (ip 198.51.100.99)\n  not on any watchlist"),
        "{text}"
    );
}

/// `--quiet` leaves out the watchlist reports but not the results or
/// the errors.
#[test]
fn lookup_quiet_prints_answers_only() {
    let (_dir, intel, _log) = fixture("198.51.100.1\nnot-an-indicator\n", "");
    let output = run(&[
        "lookup",
        "--quiet",
        "--intel",
        intel.to_str().unwrap(),
        "198.51.100.1",
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("MATCH list 198.51.100.1"), "{text}");

    let invalid = run(&["lookup", "-q", "--intel", intel.to_str().unwrap(), "999.1.1.1"]);
    assert_eq!(status(&invalid), 2);
    let errors = stderr(&invalid);
    assert!(
        errors.starts_with("error: cannot look up \"999.1.1.1\""),
        "{errors}"
    );
    let text = String::from_utf8_lossy(&invalid.stdout);
    assert!(text.contains("\n  not on any watchlist as written\n"), "{text}");
}

#[test]
fn lookup_json_and_no_match_exit() {
    let root = examples();
    let output = run(&[
        "lookup",
        "--json",
        "--intel",
        root.join("intel/c2-servers.csv").to_str().unwrap(),
        "203.0.113.5",
    ]);
    assert_eq!(status(&output), 0);
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["matches"][0]["indicator"], "203.0.113.0/28");
    assert_eq!(answer["matches"][0]["meta"]["confidence"], 60);
    let none = run(&[
        "lookup",
        "--intel",
        root.join("intel/c2-servers.csv").to_str().unwrap(),
        "192.0.2.1",
    ]);
    assert_eq!(status(&none), 1);
}

#[test]
fn lookup_invalid_value_exit_two() {
    let (_dir, intel, _log) = fixture("198.51.100.1\n", "");
    let intel = intel.to_str().unwrap();

    let output = run(&["lookup", "--json", "--intel", intel, "999.1.1.1"]);
    assert_eq!(status(&output), 2);
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["value"], "999.1.1.1");
    assert!(answer["problem"].as_str().unwrap().contains("octet"), "{answer}");
    assert!(
        stderr(&output).contains("cannot look up \"999.1.1.1\": invalid IP address"),
        "{}",
        stderr(&output)
    );

    // A match does not hide the invalid value, and every value is printed.
    let output = run(&["lookup", "--intel", intel, "999.1.1.1", "198.51.100.1", "wpad"]);
    assert_eq!(status(&output), 2);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("MATCH list 198.51.100.1"), "{printed}");
    let message = stderr(&output);
    assert!(message.contains("cannot look up 2 values"), "{message}");
    assert!(
        message.contains("\"wpad\": not a recognised indicator"),
        "{message}"
    );

    // A valid value that cannot be on a watchlist is no error.
    let output = run(&["lookup", "--intel", intel, "127.0.0.1"]);
    assert_eq!(status(&output), 1);
}

#[test]
fn lookup_help_states_exit_status() {
    let output = run(&["lookup", "--help"]);
    let help = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("2 on error, which includes a value that is not a valid indicator"),
        "{help}"
    );
}

#[test]
fn thread_count_out_of_range_rejected() {
    let root = examples();
    let intel = root.join("intel/c2-servers.csv");
    let logs = root.join("logs");
    for threads in ["0", "100000"] {
        let output = run(&[
            "scan",
            "--threads",
            threads,
            "--intel",
            intel.to_str().unwrap(),
            logs.to_str().unwrap(),
        ]);
        assert_eq!(status(&output), 2, "--threads {threads}");
        assert!(stderr(&output).contains("--threads"), "{}", stderr(&output));
    }
}

#[test]
fn output_over_input_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let log = dir.path().join("ecs.json");
    let content = "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n";
    fs::write(&log, content).unwrap();
    for target in [&log, &intel] {
        let output = run(&[
            "scan",
            "--intel",
            intel.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
            log.to_str().unwrap(),
        ]);
        assert_eq!(status(&output), 2);
        assert!(
            stderr(&output).contains("is also an input"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(fs::read_to_string(&log).unwrap(), content);
    assert_eq!(fs::read_to_string(&intel).unwrap(), "198.51.100.1\n");
}

/// A mistyped log path leaves the alerts of an earlier scan in place.
#[test]
fn output_kept_when_log_path_missing() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let earlier = dir.path().join("alerts.json");
    fs::write(&earlier, "{\"earlier\":true}\n").unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        "-o",
        earlier.to_str().unwrap(),
        dir.path().join("conn.lgo").to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2);
    let messages = stderr(&output);
    assert!(messages.contains("cannot read log path"), "{messages}");
    assert!(messages.contains("conn.lgo"), "{messages}");
    assert_eq!(fs::read_to_string(&earlier).unwrap(), "{\"earlier\":true}\n");

    // A file named that is not a supported log stops the scan as well.
    let log = dir.path().join("ecs.json");
    fs::write(&log, "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n").unwrap();
    let other = dir.path().join("other.json");
    fs::write(&other, "{\"foo\":1}\n").unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        "-o",
        earlier.to_str().unwrap(),
        log.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2);
    let messages = stderr(&output);
    assert!(
        messages.contains("JSON lines of a kind iocwatch does not read"),
        "{messages}"
    );
    assert!(
        messages.contains("the output file was left as it was"),
        "{messages}"
    );
    assert_eq!(fs::read_to_string(&earlier).unwrap(), "{\"earlier\":true}\n");
}

#[cfg(unix)]
#[test]
fn output_linked_to_input_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let content = "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n";
    let log = dir.path().join("ecs.json");
    fs::write(&log, content).unwrap();
    let hard_link = dir.path().join("hard.json");
    fs::hard_link(&log, &hard_link).unwrap();
    // A folder of logs with a symbolic link to a file outside it.
    let folder = dir.path().join("logs");
    fs::create_dir(&folder).unwrap();
    let victim = dir.path().join("victim.json");
    fs::write(&victim, content).unwrap();
    std::os::unix::fs::symlink(&victim, folder.join("link.json")).unwrap();

    let cases = [(&hard_link, &log), (&victim, &folder)];
    for (target, input) in cases {
        let output = run(&[
            "scan",
            "--intel",
            intel.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        assert_eq!(status(&output), 2, "output {}", target.display());
        assert!(
            stderr(&output).contains("is also an input"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(fs::read_to_string(&log).unwrap(), content);
    assert_eq!(fs::read_to_string(&victim).unwrap(), content);
}

/// Creates the folder `name` in `dir` with one ECS log whose event
/// matches 198.51.100.1.
fn folder_with_alert(dir: &Path, name: &str) -> PathBuf {
    let folder = dir.join(name);
    fs::create_dir(&folder).unwrap();
    fs::write(
        folder.join("ecs.json"),
        "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n",
    )
    .unwrap();
    folder
}

#[cfg(unix)]
#[test]
fn unreadable_folder_is_error() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, intel, _log) = fixture("198.51.100.1\n", "{}\n");
    let folder = folder_with_alert(dir.path(), "locked");
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read_dir(&folder).is_ok() {
        // The superuser reads any folder, whatever its mode.
        eprintln!("skipped: this user can read a folder of mode 000");
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
    let messages = stderr(&output);
    assert_eq!(status(&output), 2, "{messages}");
    assert!(messages.contains("cannot read"), "{messages}");
    assert!(!messages.contains("contains no files"), "{messages}");
}

#[cfg(unix)]
#[test]
fn broken_links_in_folder_skipped() {
    let (dir, intel, _log) = fixture("198.51.100.1\n", "{}\n");
    let folder = folder_with_alert(dir.path(), "logs");
    std::os::unix::fs::symlink(dir.path().join("gone.json"), folder.join("gone.json")).unwrap();
    std::os::unix::fs::symlink(&folder, folder.join("again")).unwrap();
    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 0, "{messages}");
    assert!(
        messages.contains("gone.json: a link to a missing file; skipped"),
        "{messages}"
    );
    assert!(
        messages.contains("again: a link back to the folder"),
        "{messages}"
    );
    assert!(!messages.contains("error:"), "{messages}");
}

#[test]
fn log_with_cut_first_line_scanned() {
    let (dir, intel, _log) = fixture("198.51.100.1\n", "{}\n");
    let content = "ination\":{\"ip\":\"198.51.100.1\"}}\n{\"destination\":{\"ip\":\"198.51.100.1\"}}\n";
    let folder = dir.path().join("logs");
    fs::create_dir(&folder).unwrap();
    let path = folder.join("cut.json");
    fs::write(&path, content).unwrap();
    for input in [&path, &folder] {
        let output = run(&[
            "scan",
            "--json",
            "--intel",
            intel.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        let messages = stderr(&output);
        assert_eq!(status(&output), 0, "{messages}");
        assert_eq!(alerts(&output).len(), 1, "{messages}");
        assert!(
            messages.contains("cut.json:1: malformed line skipped"),
            "{messages}"
        );
    }
}

#[test]
fn empty_gzip_log_is_empty() {
    use std::io::Write as _;
    let (dir, intel, _log) = fixture("198.51.100.1\n", "{}\n");
    let path = dir.path().join("empty.log.gz");
    let encoder =
        flate2::write::GzEncoder::new(fs::File::create(&path).unwrap(), flate2::Compression::default());
    encoder.finish().unwrap().flush().unwrap();
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), path.to_str().unwrap()]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 1, "{messages}");
    assert!(!messages.contains("not a supported log format"), "{messages}");
}

#[test]
fn empty_watchlist_file_named_empty() {
    let (_dir, intel, log) = fixture("", "{}\n");
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(status(&output), 2);
    let messages = stderr(&output);
    assert!(
        messages.contains("so nothing can match; the file is empty"),
        "{messages}"
    );
}

#[test]
fn empty_watchlists_exit_two() {
    let (_dir, intel, log) = fixture("# nothing yet\nnot-an-indicator!\n", "{}\n");
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("no indicators were loaded"),
        "{}",
        stderr(&output)
    );

    // With --quiet the reports are hidden, so the error names the files.
    let output = run(&[
        "scan",
        "--quiet",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2);
    let message = stderr(&output);
    assert!(message.contains(intel.to_str().unwrap()), "{message}");
    assert!(message.contains("without --quiet"), "{message}");
}

#[test]
fn named_json_document_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let bundle = dir.path().join("bundle.json");
    fs::write(
        &bundle,
        "{\n  \"type\": \"bundle\",\n  \"objects\": [\n    {\"value\": \"198.51.100.1\"}\n  ]\n}\n",
    )
    .unwrap();
    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("a JSON document, not a log"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn empty_folder_warns() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let folder = dir.path().join("logs");
    fs::create_dir(&folder).unwrap();
    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 1);
    assert!(
        stderr(&output).contains("the folder contains no files"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn two_pair_file_names_format_rules() {
    let (_dir, intel, log) = fixture("198.51.100.1\n", "SRC=203.0.113.12 DST=10.20.0.7\n");
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(status(&output), 2);
    let message = stderr(&output);
    assert!(message.contains("not a supported log format"), "{message}");
    assert!(
        message.contains("a netfilter body with IN= and OUT="),
        "{message}"
    );
    assert!(
        message.contains("a body of at least three key=value pairs"),
        "{message}"
    );
}

/// Creates a folder `logs` in `dir` with one ECS line that the watchlist
/// `list.txt`, also created, matches. Returns both paths.
fn folder_with_hit(dir: &Path) -> (PathBuf, PathBuf) {
    let intel = dir.join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let folder = dir.join("logs");
    fs::create_dir(&folder).unwrap();
    fs::write(
        folder.join("ecs.json"),
        "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n",
    )
    .unwrap();
    (intel, folder)
}

#[test]
fn named_unsupported_file_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let (intel, folder) = folder_with_hit(dir.path());
    let binary = dir.path().join("blob.bin");
    fs::write(&binary, [0_u8, 159, 146, 150, 7, 1, 2]).unwrap();
    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        binary.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("not a supported log format"),
        "{}",
        stderr(&output)
    );

    // The same file inside a scanned folder is only skipped with a warning.
    fs::copy(&binary, folder.join("blob.bin")).unwrap();
    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).contains("warning:"), "{}", stderr(&output));
}

#[test]
fn zeek_log_given_as_watchlist() {
    let dir = tempfile::tempdir().unwrap();
    let (intel, folder) = folder_with_hit(dir.path());
    let conn = "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.resp_h\n\
                1.0\tC1\t10.0.0.1\t198.51.100.1\n";
    let log = dir.path().join("conn.log");
    fs::write(&log, conn).unwrap();

    // Named as a watchlist, the log stops the scan.
    let output = run(&["scan", "--intel", log.to_str().unwrap(), folder.to_str().unwrap()]);
    assert_eq!(status(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("conn.log: a Zeek conn log, not a watchlist"),
        "{}",
        stderr(&output)
    );

    // In a watchlist folder, it is skipped and the other lists load.
    let feeds = dir.path().join("feeds");
    fs::create_dir(&feeds).unwrap();
    fs::copy(&intel, feeds.join("list.txt")).unwrap();
    fs::copy(&log, feeds.join("conn.log")).unwrap();
    let output = run(&[
        "scan",
        "--intel",
        feeds.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let messages = stderr(&output);
    assert!(
        messages.contains("conn.log: a Zeek conn log, not a watchlist"),
        "{messages}"
    );
    assert!(messages.contains("; skipped"), "{messages}");
}

#[test]
fn syslog_year_from_file_modification_time() {
    // The content decides the format, so the fixture's file name does not
    // matter.
    let (_dir, intel, log) = fixture(
        "198.51.100.1\n",
        "Aug 20 00:01:05 host kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.5 \
         LEN=40 PROTO=TCP SPT=40000 DPT=22\n",
    );
    // Last written on 21 August 2023: the line without a year is from
    // 20 August 2023, not from the year of the scan.
    let written = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_692_619_200);
    fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_modified(written)
        .unwrap();

    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let alerts = alerts(&output);
    assert_eq!(alerts[0]["@timestamp"], "2023-08-20T00:01:05.000000Z");
}

#[test]
fn allowlist_leaves_out_indicators_and_values() {
    let (dir, intel, log) = fixture(
        "198.51.100.1\n203.0.113.9\nexample.net\n",
        "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n\
         {\"destination\":{\"ip\":\"203.0.113.9\"}}\n\
         {\"dns\":{\"question\":{\"name\":\"cdn.example.net\"}}}\n\
         {\"dns\":{\"question\":{\"name\":\"www.example.net\"}}}\n",
    );
    let allowlist = dir.path().join("allow.txt");
    fs::write(&allowlist, "198.51.100.0/24\ncdn.example.net\n").unwrap();

    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        "--allowlist",
        allowlist.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("left out 1 indicator that the allowlist covers"),
        "{}",
        stderr(&output)
    );
    let atomics: Vec<String> = alerts(&output)
        .iter()
        .map(|alert| {
            alert["threat"]["enrichments"][0]["matched"]["atomic"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(atomics, ["203.0.113.9", "www.example.net"]);

    let output = run(&[
        "lookup",
        "--intel",
        intel.to_str().unwrap(),
        "--allowlist",
        allowlist.to_str().unwrap(),
        "198.51.100.1",
        "cdn.example.net",
        "www.example.net",
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("198.51.100.1  (ip 198.51.100.1)\n  not on any watchlist\n"),
        "{text}"
    );
    assert!(
        text.contains("cdn.example.net  (domain cdn.example.net)\n  not on any watchlist\n"),
        "{text}"
    );
    assert!(
        text.contains("www.example.net  (domain www.example.net)\n  MATCH"),
        "{text}"
    );

    let missing = dir.path().join("missing-allow.txt");
    let output = run(&[
        "lookup",
        "--intel",
        intel.to_str().unwrap(),
        "--allowlist",
        missing.to_str().unwrap(),
        "198.51.100.1",
    ]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("cannot read allowlist"),
        "{}",
        stderr(&output)
    );
}

/// A watchlist that lists nothing, such as a feed's header published
/// for an empty list, is named in a warning and does not count as loaded.
#[test]
fn empty_watchlist_warned_not_counted() {
    let (dir, intel, log) = fixture("198.51.100.1\n", "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n");
    let empty = dir.path().join("talos.intel");
    fs::write(
        &empty,
        "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.desc\n",
    )
    .unwrap();
    let output = run(&[
        "scan",
        "--intel",
        empty.to_str().unwrap(),
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let messages = stderr(&output);
    assert_eq!(status(&output), 0, "{messages}");
    assert!(
        messages.contains("talos.intel: the file lists no indicator"),
        "{messages}"
    );
    assert!(
        messages.contains("loaded 1 indicator from 1 watchlist "),
        "{messages}"
    );
}

/// The table interleaves the alerts of several logs by event time.
#[test]
fn table_rows_in_time_order() {
    let (dir, intel, _) = fixture("198.51.100.1\n198.51.100.2\n", "");
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    fs::write(
        logs.join("a.json"),
        "{\"@timestamp\":\"2024-05-01T10:00:05Z\",\"destination\":{\"ip\":\"198.51.100.1\"}}\n",
    )
    .unwrap();
    fs::write(
        logs.join("b.json"),
        "{\"@timestamp\":\"2024-05-01T10:00:01Z\",\"destination\":{\"ip\":\"198.51.100.2\"}}\n",
    )
    .unwrap();
    let output = run(&["scan", "--intel", intel.to_str().unwrap(), logs.to_str().unwrap()]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let table = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].starts_with("2024-05-01 10:00:01"), "{table}");
    assert!(rows[0].contains("198.51.100.2"), "{table}");
    assert!(rows[1].starts_with("2024-05-01 10:00:05"), "{table}");
}

#[test]
fn mostly_rejected_file_warned() {
    let dir = tempfile::tempdir().unwrap();
    let (intel, folder) = folder_with_hit(dir.path());
    let feeds = dir.path().join("feeds");
    fs::create_dir(&feeds).unwrap();
    fs::copy(&intel, feeds.join("list.txt")).unwrap();
    fs::write(
        feeds.join("notes.txt"),
        "Fetched on Tue Feb 27 from the vendor, see list.txt\n192.0.2.9 ; SBL 1\nlast commit 00f8451b5179295cacdd62a7303d4cf3c374fce6 by the maintainer\n\
         Feb 27 2024 01:00\n",
    )
    .unwrap();

    let output = run(&[
        "scan",
        "--intel",
        feeds.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let messages = stderr(&output);
    assert!(
        messages.contains(
            "notes.txt: more values were rejected (3) than loaded (1); check that the file is a watchlist"
        ),
        "{messages}"
    );
    assert!(messages.contains("notes.txt:1: \"Fetched on Tue"), "{messages}");
    assert!(
        messages.contains("a line of text: 9 of its 10 words are not indicators"),
        "{messages}"
    );
    assert!(!messages.contains("list.txt: more values"), "{messages}");
}

#[test]
fn many_skipped_files_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    let (intel, folder) = folder_with_hit(dir.path());
    for index in 0..25 {
        fs::write(folder.join(format!("notes-{index:02}.txt")), "plain text\n").unwrap();
    }

    let output = run(&[
        "scan",
        "--intel",
        intel.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));

    let messages = stderr(&output);
    let listed = messages
        .lines()
        .filter(|line| line.starts_with("warning: ") && line.ends_with("not a supported log format; skipped"))
        .count();
    assert_eq!(listed, 20, "{messages}");
    assert!(
        messages.contains("warning: 5 more files or folders skipped"),
        "{messages}"
    );
    assert!(
        messages
            .contains("note: 25 files were skipped as not a supported log format; iocwatch reads Zeek TSV"),
        "{messages}"
    );
    assert_eq!(messages.matches("Suricata EVE").count(), 1, "{messages}");
}

#[cfg(unix)]
#[test]
fn symlinks_in_folders_followed() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("list.txt");
    fs::write(&intel, "198.51.100.1\n").unwrap();
    let real = dir.path().join("real.json");
    fs::write(&real, "{\"destination\":{\"ip\":\"198.51.100.1\"}}\n").unwrap();
    let folder = dir.path().join("logs");
    fs::create_dir(&folder).unwrap();
    std::os::unix::fs::symlink(&real, folder.join("link.json")).unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        folder.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(alerts(&output).len(), 1);
}

#[test]
fn unparsable_time_marked() {
    let (_dir, intel, log) = fixture(
        "198.51.100.1\n",
        "{\"@timestamp\":\"not a time\",\"destination\":{\"ip\":\"198.51.100.1\"}}\n",
    );
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let alerts = alerts(&output);
    assert_eq!(alerts[0]["iocwatch"]["timestamp_source"], "scan");
    assert!(
        stderr(&output).contains("1 alert carries the scan time: its log line has no event time"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn watchlist_folder_names_and_skips_docs() {
    let dir = tempfile::tempdir().unwrap();
    let lists = dir.path().join("lists");
    fs::create_dir_all(lists.join("more")).unwrap();
    fs::create_dir_all(lists.join(".git")).unwrap();
    fs::write(
        lists.join("LICENSE"),
        "Permission is hereby granted and/or sold\n",
    )
    .unwrap();
    fs::write(lists.join("ips.txt"), "198.51.100.1\n").unwrap();
    fs::write(lists.join("more").join("ips.txt"), "198.51.100.2\n").unwrap();
    fs::write(
        lists.join("more").join("Last-Checked-At"),
        "Tue Feb 27 09:25:55 IST 2024\n",
    )
    .unwrap();
    fs::write(lists.join(".git").join("hidden.txt"), "198.51.100.2\n").unwrap();
    let log = dir.path().join("ecs.json");
    fs::write(&log, "{\"destination\":{\"ip\":\"198.51.100.2\"}}\n").unwrap();
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        lists.to_str().unwrap(),
        "--intel",
        lists.join("more").to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let messages = stderr(&output);
    assert!(!messages.contains("LICENSE"), "{messages}");
    assert!(!messages.contains("hidden"), "{messages}");
    assert!(
        messages.contains("Last-Checked-At: no indicator was loaded, so it is skipped"),
        "{messages}"
    );
    // Both files would be `ips`, and their file names are the same too.
    assert!(messages.contains("watchlist lists/ips.txt: "), "{messages}");
    assert!(messages.contains("watchlist more/ips.txt: "), "{messages}");
    assert!(messages.contains("from 2 watchlists"), "{messages}");
    let alert = &alerts(&output)[0];
    assert_eq!(enrichments(alert).len(), 1);
    assert_eq!(enrichments(alert)[0]["feed"]["name"], "more/ips.txt");

    // Files given one name load as one watchlist.
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        &format!("feeds={}", lists.join("ips.txt").display()),
        "--intel",
        &format!("feeds={}", lists.join("more").join("ips.txt").display()),
        log.to_str().unwrap(),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("from 1 watchlist "),
        "{}",
        stderr(&output)
    );
    assert_eq!(enrichments(&alerts(&output)[0])[0]["feed"]["name"], "feeds");
}

#[test]
fn watchlist_folder_without_lists_rejected() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("README.md"), "Feeds go here.\n").unwrap();
    let output = run(&["lookup", "--intel", dir.path().to_str().unwrap(), "198.51.100.1"]);
    assert_eq!(status(&output), 2);
    let messages = stderr(&output);
    assert!(messages.contains("has no watchlist file"), "{messages}");
    assert!(messages.contains("README, LICENSE, *.md"), "{messages}");
}

#[test]
fn lookup_address_with_port_and_url_host() {
    let root = examples();
    let intel = root.join("intel/c2-servers.csv");
    let output = run(&[
        "lookup",
        "--json",
        "--intel",
        intel.to_str().unwrap(),
        "198.51.100.23:443",
        "hxxp://x.update-check.badcdn[.]example/a",
    ]);
    assert_eq!(status(&output), 0);
    let answers: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers[0]["matches"][0]["indicator"], "198.51.100.23");
    // The API's search results use the same key.
    assert_eq!(answers[0]["normalized"], "198.51.100.23:443");
    assert_eq!(
        answers[1]["matches"][0]["indicator"],
        "update-check.badcdn.example"
    );
}

#[test]
fn external_connection_next_step_asks_for_home_net() {
    let line = r#"{"ts":1733300000.5,"uid":"C1","id.orig_h":"192.0.2.10","id.orig_p":40000,"id.resp_h":"198.51.100.23","id.resp_p":443,"proto":"tcp"}"#;
    let (_dir, list, log) = fixture("198.51.100.23\n", &format!("{line}\n"));
    let output = run(&[
        "scan",
        "--json",
        "--intel",
        list.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let found = alerts(&output);
    assert_eq!(found.len(), 1, "{}", stderr(&output));
    assert_eq!(found[0]["iocwatch"]["direction"], "external");
    let step = found[0]["iocwatch"]["next_steps"][0].as_str().unwrap();
    assert!(
        step.starts_with("Neither end of the connection is in the home networks"),
        "{step}"
    );
}
