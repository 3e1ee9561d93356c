//! End-to-end tests of the commands that maintain the store: `watchlist`,
//! `allowlist` and `alerts`, each run against a temporary data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{run, shared, status, stderr};
use iocwatch_store::{AlertOutcome, NewSighting, Severity, Store};
use serde_json::{Value, json};

/// A temporary data directory and the command runner bound to it.
struct Data {
    dir: tempfile::TempDir,
}

impl Data {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `iocwatch --data-dir DIR args...`.
    fn run(&self, args: &[&str]) -> Output {
        let data_dir = self.path().display().to_string();
        let mut full = vec!["--data-dir", data_dir.as_str()];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Runs a command that must succeed and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(status(&output), 0, "{args:?}: {}", stderr(&output));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Writes a file into the temporary directory and returns its path.
    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    /// Returns `watchlist list --json` by watchlist name.
    fn watchlists(&self) -> Vec<Value> {
        json_lines(&self.ok(&["watchlist", "list", "--json"]))
    }

    fn indicator_count(&self, name: &str) -> u64 {
        self.watchlists()
            .iter()
            .find(|list| list["name"] == name)
            .unwrap_or_else(|| panic!("no watchlist {name}"))["indicators"]
            .as_u64()
            .unwrap()
    }

    /// Returns the normalised values of an export in plain form.
    fn plain_values(&self, name: &str) -> BTreeSet<String> {
        self.ok(&["watchlist", "export", name, "--format", "plain"])
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line:?}: {err}")))
        .collect()
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/intel")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn watchlist_create_update_delete() {
    let data = Data::new();
    data.ok(&[
        "watchlist",
        "create",
        "c2",
        "--severity",
        "critical",
        "--domain-match",
        "exact",
        "--ttl",
        "30d",
        "--dedup-window",
        "15m",
        "--disabled",
        "--description",
        "C2 servers",
    ]);
    let lists = data.watchlists();
    assert_eq!(lists.len(), 1);
    let c2 = &lists[0];
    assert_eq!(c2["severity"], "critical");
    assert_eq!(c2["domain_match"], "exact");
    assert_eq!(c2["ttl_seconds"], 30 * 86400);
    assert_eq!(c2["dedup_window_seconds"], 900);
    assert_eq!(c2["enabled"], false);
    assert_eq!(c2["description"], "C2 servers");

    data.ok(&[
        "watchlist",
        "update",
        "c2",
        "--enable",
        "--ttl",
        "never",
        "--severity",
        "auto",
    ]);
    let c2 = &data.watchlists()[0];
    assert_eq!(c2["enabled"], true);
    assert_eq!(c2["ttl_seconds"], Value::Null);
    assert_eq!(c2["severity"], Value::Null);
    assert_eq!(c2["domain_match"], "exact", "options not given stay");

    data.ok(&["watchlist", "delete", "c2"]);
    assert!(data.watchlists().is_empty());
}

#[test]
fn watchlist_errors_say_what_to_do() {
    let data = Data::new();
    data.ok(&["watchlist", "create", "c2"]);
    data.ok(&["watchlist", "create", "phish"]);

    let duplicate = data.run(&["watchlist", "create", "c2"]);
    assert_eq!(status(&duplicate), 2);
    assert!(
        stderr(&duplicate).contains("exists already"),
        "{}",
        stderr(&duplicate)
    );

    for args in [
        &["watchlist", "show", "nope"][..],
        &["watchlist", "add", "nope", "198.51.100.7"],
        &["watchlist", "remove", "nope", "198.51.100.7"],
        &["watchlist", "delete", "nope"],
        &["watchlist", "export", "nope"],
        &["watchlist", "update", "nope", "--disable"],
    ] {
        let output = data.run(args);
        assert_eq!(status(&output), 2, "{args:?}");
        assert!(
            stderr(&output).contains("the watchlists are: c2, phish"),
            "{args:?}: {}",
            stderr(&output)
        );
    }

    let bad_duration = data.run(&["watchlist", "create", "x", "--ttl", "soon"]);
    assert_eq!(status(&bad_duration), 2);
    assert!(
        stderr(&bad_duration).contains("invalid duration \"soon\"; write a number with a unit"),
        "{}",
        stderr(&bad_duration)
    );
    let bad_name = data.run(&["watchlist", "create", "two words"]);
    assert_eq!(status(&bad_name), 2);
    assert!(
        stderr(&bad_name).contains("invalid watchlist name"),
        "{}",
        stderr(&bad_name)
    );
}

#[test]
fn import_shipped_examples() {
    let data = Data::new();
    let output = data.run(&[
        "watchlist",
        "import",
        "examples",
        &example("c2-servers.csv"),
        &example("phishing.txt"),
        &example("malware.intel"),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("created watchlist examples"), "{err}");
    assert!(
        err.contains("c2-servers.csv"),
        "the load report names each file: {err}"
    );
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("12 added, 0 updated"), "{out}");
    assert_eq!(data.indicator_count("examples"), 12);

    let values = data.plain_values("examples");
    for expected in [
        "198.51.100.23",
        "203.0.113.0/28",
        "update-check.badcdn.example",
        "secure-payroll.example",
        "http://docs-share.example/invoice.zip",
        "44d88612fea8a8f36de82e1278abb02f",
    ] {
        assert!(values.contains(expected), "{expected} missing from {values:?}");
    }

    let again = data.ok(&["watchlist", "import", "examples", &example("c2-servers.csv")]);
    assert!(again.contains("0 added, 5 updated"), "{again}");
    assert_eq!(data.indicator_count("examples"), 12);
}

#[test]
fn import_reports_rejections_and_keeps_going() {
    let data = Data::new();
    let list = data.file(
        "mixed.txt",
        "# test list\n198.51.100.7\nnot-a-value\n127.0.0.1\n0.0.0.0/0\nevil[.]example\n",
    );
    let missing = data.dir.path().join("missing.txt").display().to_string();
    let only_missing = data.run(&["watchlist", "import", "mixed", &missing]);
    assert_eq!(status(&only_missing), 2);
    assert!(
        data.watchlists().is_empty(),
        "no watchlist is created from nothing"
    );

    let output = data.run(&["watchlist", "import", "mixed", &missing, &list]);
    assert_eq!(status(&output), 2, "a file that cannot be read fails the run");
    let err = stderr(&output);
    assert!(err.contains("missing.txt"), "{err}");
    assert!(err.contains(":3: \"not-a-value\" rejected"), "{err}");
    assert!(err.contains(":4: \"127.0.0.1\" warning"), "{err}");
    assert!(err.contains(":5: \"0.0.0.0/0\" rejected: too broad"), "{err}");
    assert_eq!(data.indicator_count("mixed"), 2);
    assert_eq!(
        data.plain_values("mixed"),
        BTreeSet::from(["198.51.100.7".to_owned(), "evil.example".to_owned()])
    );
}

#[test]
fn import_without_indicators_fails() {
    let data = Data::new();
    let rejected = data.file("rejected.txt", "not-a-value\n0.0.0.0/0\n");
    let empty = data.file("empty.txt", "");
    for (list, hint) in [(&rejected, "see the report above"), (&empty, "the file is empty")] {
        let output = data.run(&["watchlist", "import", "nothing", list]);
        let err = stderr(&output);
        assert_eq!(status(&output), 2, "{err}");
        assert!(err.contains("no indicators were loaded from"), "{err}");
        assert!(err.contains(hint), "{err}");
        assert!(
            output.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    assert!(
        data.watchlists().is_empty(),
        "no watchlist is created from a file without indicators"
    );
}

/// A folder of feeds is walked into its subfolders, and a note beside
/// the feeds is skipped with a warning rather than failing the import.
#[test]
fn import_folder_skips_notes() {
    let data = Data::new();
    let feeds = data.dir.path().join("feeds");
    fs::create_dir_all(feeds.join("provider")).unwrap();
    fs::write(
        feeds.join("provider").join("drop.txt"),
        "198.51.100.0/24 ; SBL1\n",
    )
    .unwrap();
    fs::write(
        feeds.join("provider").join("Last-Checked-At"),
        "Tue Feb 27 09:25:55 IST 2024\n",
    )
    .unwrap();
    let output = data.run(&["watchlist", "import", "feeds", feeds.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(status(&output), 0, "{err}");
    assert!(
        err.contains("Last-Checked-At: no indicator was loaded, so it is skipped"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("feeds: 1 added"));
}

#[test]
fn import_warns_of_unreadable_expiry() {
    let data = Data::new();
    let list = data.file(
        "feed.csv",
        "ip,expires\n192.0.2.1,2030-01-01\n192.0.2.2,2020-13-45\n192.0.2.3,soon\n",
    );
    let output = data.run(&["watchlist", "import", "feed", &list]);
    let err = stderr(&output);
    assert_eq!(status(&output), 0, "{err}");
    assert!(
        err.contains("2 indicators, the first on line 3, have an expiry that is no date or time"),
        "{err}"
    );
    assert_eq!(data.indicator_count("feed"), 3);
}

#[test]
fn import_lists_all_rejections() {
    let data = Data::new();
    let mut text = String::from("198.51.100.7\n");
    for n in 1..=7 {
        text.push_str(&format!("bad-{n}!\n"));
    }
    let list = data.file("feed.txt", &text);

    let output = data.run(&["watchlist", "import", "feed", &list]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("feed.txt:6: \"bad-5!\" rejected"), "{err}");
    assert!(!err.contains("feed.txt:7:"), "{err}");
    assert!(err.contains("  ... and 2 more rejected values\n"), "{err}");

    let output = data.run(&["watchlist", "import", "feed", &list, "--all-rejections"]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    for line in 2..=8 {
        let needle = format!("feed.txt:{line}: \"bad-{}!\" rejected", line - 1);
        assert!(err.contains(&needle), "lacks {needle:?}:\n{err}");
    }
    assert!(!err.contains("... and"), "{err}");
    assert_eq!(data.indicator_count("feed"), 1);
}

#[test]
fn data_dir_before_and_after_command() {
    let data = Data::new();
    let dir = data.path().display().to_string();
    let output = run(&["watchlist", "create", "c2", "--data-dir", &dir]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));

    let positions: [&[&str]; 3] = [
        &["--data-dir", &dir, "watchlist", "list", "--json"],
        &["watchlist", "--data-dir", &dir, "list", "--json"],
        &["watchlist", "list", "--json", "--data-dir", &dir],
    ];
    for args in positions {
        let output = run(args);
        assert_eq!(status(&output), 0, "{args:?}: {}", stderr(&output));
        let lists = json_lines(&String::from_utf8_lossy(&output.stdout));
        assert_eq!(lists.len(), 1, "{args:?}");
        assert_eq!(lists[0]["name"], "c2", "{args:?}");
    }

    let other = data.dir.path().join("other").display().to_string();
    let output = run(&[
        "--data-dir",
        &other,
        "watchlist",
        "list",
        "--json",
        "--data-dir",
        &dir,
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let lists = json_lines(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(lists.len(), 1, "the value after the command name wins");

    for args in [
        &["allowlist", "list", "--data-dir", &dir][..],
        &["alerts", "list", "--data-dir", &dir],
        &["user", "list", "--data-dir", &dir],
        &["token", "list", "--data-dir", &dir],
    ] {
        let output = run(args);
        assert_eq!(status(&output), 0, "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn allowlist_filters_imports() {
    let data = Data::new();
    data.ok(&["allowlist", "add", "198.51.100.0/24", "--comment", "our scanners"]);
    data.ok(&["allowlist", "add", "corp[.]example"]);
    let listed = json_lines(&data.ok(&["allowlist", "list", "--json"]));
    let values: Vec<&str> = listed.iter().map(|e| e["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["198.51.100.0/24", "corp.example"]);
    assert_eq!(listed[0]["comment"], "our scanners");

    let list = data.file(
        "feed.txt",
        "198.51.100.7\n198.51.100.0/25\n203.0.113.9\nvpn.corp.example\nnotcorp.example\n",
    );
    let out = data.ok(&["watchlist", "import", "feed", &list]);
    assert!(
        out.contains("2 added, 0 updated, 3 skipped as allowlisted"),
        "{out}"
    );
    assert_eq!(
        data.plain_values("feed"),
        BTreeSet::from(["203.0.113.9".to_owned(), "notcorp.example".to_owned()])
    );

    let added = data.ok(&["watchlist", "add", "feed", "198.51.100.99"]);
    assert!(
        added.contains("0 added, 0 updated, 1 skipped as allowlisted"),
        "{added}"
    );

    data.ok(&["allowlist", "remove", "198.51.100.0/24"]);
    let again = data.ok(&["watchlist", "import", "feed", &list]);
    assert!(
        again.contains("2 added, 2 updated, 1 skipped as allowlisted"),
        "{again}"
    );

    let bad = data.run(&["allowlist", "add", "not a value"]);
    assert_eq!(status(&bad), 2);
    assert!(
        stderr(&bad).contains("invalid allowlist value"),
        "{}",
        stderr(&bad)
    );
    let broad = data.run(&["allowlist", "add", "10.0.0.0/7"]);
    assert_eq!(status(&broad), 2);
    assert!(stderr(&broad).contains("--allow-broad"), "{}", stderr(&broad));
    data.ok(&["allowlist", "add", "10.0.0.0/7", "--allow-broad"]);
    data.ok(&["allowlist", "remove", "10.0.0.0/7"]);

    let absent = data.run(&["allowlist", "remove", "192.0.2.1"]);
    assert_eq!(status(&absent), 2);
    assert!(
        stderr(&absent).contains("not on the allowlist"),
        "{}",
        stderr(&absent)
    );
}

#[test]
fn add_defanged_and_remove() {
    let data = Data::new();
    data.ok(&["watchlist", "create", "manual", "--ttl", "30d"]);
    let output = data.run(&[
        "watchlist",
        "add",
        "manual",
        "hxxps://evil[.]example/login",
        "198.51.100[.]7",
        "com",
        "--description",
        "from an incident",
        "--confidence",
        "90",
        "--ttl",
        "1h",
    ]);
    assert_eq!(status(&output), 2, "a rejected value fails the run");
    assert!(
        stderr(&output).contains("\"com\": too broad"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        data.plain_values("manual"),
        BTreeSet::from(["https://evil.example/login".to_owned(), "198.51.100.7".to_owned()])
    );
    let exported = json_lines(&data.ok(&["watchlist", "export", "manual", "--format", "json"]));
    assert_eq!(exported[0]["description"], "from an incident");
    assert_eq!(exported[0]["confidence"], 90);
    assert_eq!(exported[0]["stored"]["original"], "hxxps://evil[.]example/login");
    let first_import = exported[0]["stored"]["first_import"].as_str().unwrap();
    let first = iocwatch_model::time::parse_timestamp(first_import).unwrap();
    let expires = iocwatch_model::time::parse_timestamp(exported[0]["expires"].as_str().unwrap()).unwrap();
    assert_eq!(
        expires - first,
        time::Duration::hours(1),
        "--ttl overrides the watchlist's 30d"
    );

    let output = data.run(&["watchlist", "remove", "manual", "198.51.100[.]7", "192.0.2.1"]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let removed = String::from_utf8_lossy(&output.stdout);
    assert!(removed.contains("1 of 2 values removed"), "{removed}");
    assert!(
        stderr(&output).contains("not in the watchlist, so not removed: 192.0.2.1"),
        "{}",
        stderr(&output)
    );
    assert_eq!(data.indicator_count("manual"), 1);
}

#[test]
fn export_round_trips_through_import() {
    let data = Data::new();
    data.ok(&["watchlist", "import", "c2", &example("c2-servers.csv")]);
    data.ok(&["watchlist", "import", "c2", &example("malware.intel")]);
    let csv = data.dir.path().join("c2.csv");
    let plain = data.dir.path().join("c2.txt");
    data.ok(&["watchlist", "export", "c2", "-o", &csv.display().to_string()]);
    data.ok(&[
        "watchlist",
        "export",
        "c2",
        "--format",
        "plain",
        "-o",
        &plain.display().to_string(),
    ]);

    data.ok(&["watchlist", "import", "from-csv", &csv.display().to_string()]);
    let original = fs::read_to_string(&csv).unwrap();
    let copy = data.ok(&["watchlist", "export", "from-csv"]);
    assert_eq!(copy, original, "CSV keeps types, metadata and expiry");
    assert!(original.contains("cert-sha1"), "{original}");

    data.ok(&["watchlist", "import", "from-plain", &plain.display().to_string()]);
    assert_eq!(data.plain_values("from-plain"), data.plain_values("c2"));

    let json = data.dir.path().join("c2.jsonl");
    data.ok(&[
        "watchlist",
        "export",
        "c2",
        "--format",
        "json",
        "-o",
        &json.display().to_string(),
    ]);
    data.ok(&["watchlist", "import", "from-json", &json.display().to_string()]);
    assert_eq!(
        data.ok(&["watchlist", "export", "from-json"]),
        original,
        "JSON keeps types, metadata and expiry"
    );
}

#[test]
fn cli_edits_bump_revision_for_service() {
    let data = Data::new();
    data.ok(&["watchlist", "create", "c2"]);
    let service = Store::open(&data.path()).unwrap();
    let start = service.revision().unwrap();

    data.ok(&["watchlist", "add", "c2", "198.51.100.7"]);
    let after_add = service.revision().unwrap();
    assert!(after_add > start);
    let active = service
        .active_watchlists(time::OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(active[0].indicators.len(), 1);

    data.ok(&["allowlist", "add", "192.0.2.0/24"]);
    assert!(service.revision().unwrap() > after_add);
}

#[test]
fn show_lists_settings_and_pages() {
    let data = Data::new();
    data.ok(&["watchlist", "import", "c2", &example("c2-servers.csv")]);
    let shown = data.ok(&["watchlist", "show", "c2", "--limit", "2"]);
    assert!(shown.contains("dedup window: 1h"), "{shown}");
    assert!(shown.contains("198.51.100.23"), "{shown}");
    assert!(shown.contains("Botnet C2 server"), "{shown}");
    assert!(!shown.contains("2001:db8:bad::17"), "{shown}");
    assert!(shown.contains("... 3 more"), "{shown}");
}

/// Stores two alerts through the store API, as the service does.
fn seed_alerts(data_dir: &Path) -> (String, String) {
    let store = Store::open(data_dir).unwrap();
    let at = time::macros::datetime!(2024-05-01 10:00:00 UTC);
    let sighting = |key: &str, severity, indicator: &str| NewSighting {
        dedup_key: key.to_owned(),
        watchlist: "c2".to_owned(),
        indicator: indicator.to_owned(),
        internal_host: Some("10.0.0.5".to_owned()),
        severity,
        event_time: at,
        window: Duration::from_secs(3600),
        document: json!({"event": {"kind": "alert"}}),
        sinks: Vec::new(),
    };
    let outcomes = store
        .commit_batch(
            &[
                sighting("a", Severity::High, "198.51.100.23"),
                sighting("b", Severity::Low, "evil.example"),
                sighting("b", Severity::Low, "evil.example"),
            ],
            &[],
            at,
        )
        .unwrap();
    assert!(matches!(outcomes[2], AlertOutcome::Updated { count: 2, .. }));
    (outcomes[0].id().to_string(), outcomes[1].id().to_string())
}

/// Stores alerts as the service does when it reads, ten minutes ago, log
/// lines of two days before: one on a network and one on a domain.
fn seed_replayed_alerts(data_dir: &Path) -> (String, String) {
    let store = Store::open(data_dir).unwrap();
    let stored_at = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let event_time = stored_at - time::Duration::days(2);
    let sighting = |key: &str, indicator: &str| NewSighting {
        dedup_key: key.to_owned(),
        watchlist: "c2".to_owned(),
        indicator: indicator.to_owned(),
        internal_host: Some("10.0.0.5".to_owned()),
        severity: Severity::High,
        event_time,
        window: Duration::from_secs(3600),
        document: json!({"event": {"kind": "alert"}}),
        sinks: Vec::new(),
    };
    let outcomes = store
        .commit_batch(
            &[
                sighting("net", "203.0.113.0/28"),
                sighting("domain", "evil.example"),
            ],
            &[],
            stored_at,
        )
        .unwrap();
    (outcomes[0].id().to_string(), outcomes[1].id().to_string())
}

#[test]
fn alerts_list_since_uses_store_time() {
    let data = Data::new();
    let (network, domain) = seed_replayed_alerts(&data.path());

    let recent = json_lines(&data.ok(&["alerts", "list", "--since", "1h", "--json"]));
    let ids: BTreeSet<&str> = recent.iter().map(|alert| alert["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from([network.as_str(), domain.as_str()]));
    assert!(recent[0]["last_sighting_at"].is_string(), "{}", recent[0]);
    assert_eq!(
        data.ok(&["alerts", "list", "--until", "1h"]).trim(),
        "no alerts match"
    );

    let by_event = data.ok(&["alerts", "list", "--event-since", "1h"]);
    assert_eq!(by_event.trim(), "no alerts match");
    let old_events = json_lines(&data.ok(&["alerts", "list", "--event-until", "1d", "--json"]));
    assert_eq!(old_events.len(), 2);

    let bad = data.run(&["alerts", "list", "--event-since", "soon"]);
    assert_eq!(status(&bad), 2);
    assert!(stderr(&bad).contains("--event-since"), "{}", stderr(&bad));

    let help = data.ok(&["alerts", "list", "--help"]);
    assert!(help.contains("iocwatch raised"), "{help}");
    assert!(help.contains("time in the log"), "{help}");
}

#[test]
fn alerts_list_indicator_finds_covering_alerts() {
    let data = Data::new();
    let (network, domain) = seed_replayed_alerts(&data.path());
    let listed = |value: &str| -> Vec<String> {
        json_lines(&data.ok(&["alerts", "list", "--indicator", value, "--json"]))
            .iter()
            .map(|alert| alert["id"].as_str().unwrap().to_owned())
            .collect()
    };

    assert_eq!(listed("203.0.113.9"), [network.as_str()]);
    assert_eq!(listed("203.0.113[.]9"), [network.as_str()]);
    assert_eq!(listed("203.0.113.0/28"), [network.as_str()]);
    assert!(listed("203.0.113.16").is_empty());
    assert_eq!(listed("EVIL.example"), [domain.as_str()]);
    assert_eq!(listed("hxxps://www.evil[.]example/login"), [domain.as_str()]);
    assert!(listed("notevil.example").is_empty());

    let table = data.ok(&["alerts", "list", "--indicator", "203.0.113.9"]);
    assert!(table.contains("203.0.113.0/28"), "{table}");

    let output = data.run(&["alerts", "list", "--indicator", "not an indicator"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("is not a valid indicator"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn alerts_list_show_and_triage() {
    let data = Data::new();
    let (high, low) = seed_alerts(&data.path());

    let listed = data.ok(&["alerts", "list"]);
    assert!(listed.contains(&high[..8]), "{listed}");
    assert!(listed.contains("evil.example"), "{listed}");
    let filtered = json_lines(&data.ok(&["alerts", "list", "--severity", "high", "--json"]));
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0]["id"], high.as_str());
    let by_indicator = json_lines(&data.ok(&["alerts", "list", "--indicator", "evil.example", "--json"]));
    assert_eq!(by_indicator[0]["count"], 2);
    assert_eq!(by_indicator[0]["document"]["iocwatch"]["dedup_count"], 2);
    let since = json_lines(&data.ok(&["alerts", "list", "--since", "2024-05-02T00:00:00Z", "--json"]));
    assert!(since.is_empty());

    data.ok(&["alerts", "ack", &high[..8], &low, "--by", "alice"]);
    let again = data.run(&["alerts", "ack", &high[..8]]);
    assert_eq!(status(&again), 2);
    assert!(
        stderr(&again).contains("acknowledged already"),
        "{}",
        stderr(&again)
    );

    let no_comment = data.run(&["alerts", "close", &high, "--resolution", "benign"]);
    assert_eq!(status(&no_comment), 2);
    assert!(
        stderr(&no_comment).contains("--comment"),
        "{}",
        stderr(&no_comment)
    );
    let bad_resolution = data.run(&[
        "alerts",
        "close",
        &high,
        "--resolution",
        "maybe",
        "--comment",
        "x",
    ]);
    assert_eq!(status(&bad_resolution), 2);
    assert!(
        stderr(&bad_resolution).contains("true-positive, false-positive or benign"),
        "{}",
        stderr(&bad_resolution)
    );
    data.ok(&[
        "alerts",
        "close",
        &high[..8],
        "--resolution",
        "false-positive",
        "--comment",
        "CDN address",
        "--by",
        "bob",
    ]);

    let detail: Value = serde_json::from_str(&data.ok(&["alerts", "show", &high[..8], "--json"])).unwrap();
    assert_eq!(detail["status"], "closed");
    assert_eq!(detail["resolution"], "false-positive");
    let history: Vec<(String, String, String)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap().to_owned(),
                entry["from"].as_str().unwrap_or("-").to_owned(),
                entry["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("iocwatch", "-", "new"),
        ("alice", "new", "acknowledged"),
        ("bob", "acknowledged", "closed"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(history, expected);
    assert_eq!(detail["history"][2]["comment"], "CDN address");
    let store = Store::open(&data.path()).unwrap();
    let filter = iocwatch_store::AuditFilter {
        target: Some(format!("alert:{high}")),
        ..iocwatch_store::AuditFilter::default()
    };
    let (audit, _) = store.audit(&filter).unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].actor, "cli");
    assert_eq!(audit[0].before.as_ref().unwrap()["status"], "acknowledged");
    assert_eq!(audit[0].after.as_ref().unwrap()["status"], "closed");
    assert_eq!(audit[0].after.as_ref().unwrap()["by"], "bob");
    drop(store);

    let text = data.ok(&["alerts", "show", &high]);
    assert!(
        text.contains("bob: acknowledged -> closed (false-positive): CDN address"),
        "{text}"
    );
    let closed = json_lines(&data.ok(&["alerts", "list", "--status", "closed", "--json"]));
    assert_eq!(closed.len(), 1);

    let unknown = data.run(&["alerts", "show", "ffffffff"]);
    assert_eq!(status(&unknown), 2);
    assert!(stderr(&unknown).contains("alerts list"), "{}", stderr(&unknown));
}

/// Imports the abuse.ch Feodo Tracker block list of 2021-12-20 and checks
/// the stored addresses against the file's `dst_ip` column read here.
#[test]
fn import_real_feodo_feed() {
    let Some(feed) = shared("data/intel/abusech_feodo/ipblocklist.csv.2021-12-20") else {
        return;
    };
    let text = fs::read_to_string(&feed).unwrap();
    let expected: BTreeSet<String> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("\"first_seen_utc\""))
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').nth(1).unwrap().trim_matches('"').to_owned())
        .collect();
    assert!(expected.len() > 100, "{}", expected.len());

    let data = Data::new();
    let feed = feed.display().to_string();
    let out = data.ok(&["watchlist", "import", "feodo", &feed]);
    assert!(out.contains(&format!("{} added", expected.len())), "{out}");
    assert_eq!(data.plain_values("feodo"), expected);

    let exported = data.ok(&["watchlist", "export", "feodo", "--format", "json"]);
    let first = json_lines(&exported)
        .into_iter()
        .find(|entry| entry["indicator"] == "51.178.161.32")
        .unwrap();
    assert_eq!(first["malware"], "Dridex");
    assert_eq!(first["first_seen"], "2021-01-17 07:44:46");

    let again = data.ok(&["watchlist", "import", "feodo", &feed]);
    assert!(
        again.contains(&format!("0 added, {} updated", expected.len())),
        "{again}"
    );
}

/// Runs `iocwatch --data-dir DIR args...` with `input` on standard input.
fn run_with_input(data: &Data, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let data_dir = data.path().display().to_string();
    let mut child = common::iocwatch()
        .arg("--data-dir")
        .arg(&data_dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let data = Data::new();
    let added = run_with_input(
        &data,
        &["user", "add", "root", "--role", "admin", "--password-stdin"],
        "correct horse\n",
    );
    assert_eq!(status(&added), 0, "{}", stderr(&added));
    let short = run_with_input(&data, &["user", "add", "bob", "--password-stdin"], "short\n");
    assert_eq!(status(&short), 2);
    assert!(
        stderr(&short).contains("at least 8 characters"),
        "{}",
        stderr(&short)
    );
    let bad_role = data.run(&["user", "add", "bob", "--role", "boss", "--password-stdin"]);
    assert_eq!(status(&bad_role), 2);

    let users = json_lines(&data.ok(&["user", "list", "--json"]));
    assert_eq!(users[0]["name"], "root");
    assert_eq!(users[0]["role"], "admin");

    let store = Store::open(&data.path()).unwrap();
    assert!(store.verify_password("root", "correct horse").unwrap().is_some());
    let changed = run_with_input(
        &data,
        &["user", "passwd", "root", "--password-stdin"],
        "battery staple\n",
    );
    assert_eq!(status(&changed), 0, "{}", stderr(&changed));
    assert!(store.verify_password("root", "battery staple").unwrap().is_some());
    data.ok(&["user", "role", "root", "analyst"]);
    data.ok(&["user", "disable", "root"]);
    assert!(store.verify_password("root", "battery staple").unwrap().is_none());
    data.ok(&["user", "enable", "root"]);

    let secret = data.ok(&["token", "create", "--user", "root", "nightly export"]);
    let secret = secret.trim();
    assert!(secret.starts_with("iwt_"), "{secret}");
    let now = time::OffsetDateTime::now_utc();
    assert!(store.authenticate_token(secret, now).unwrap().is_some());
    let tokens = json_lines(&data.ok(&["token", "list", "--json"]));
    let id = tokens[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(tokens[0]["name"], "nightly export");
    data.ok(&["token", "revoke", &id]);
    assert!(store.authenticate_token(secret, now).unwrap().is_none());
    let unknown = data.run(&["token", "revoke", "nope"]);
    assert_eq!(status(&unknown), 2);

    let (entries, _) = store.audit(&iocwatch_store::AuditFilter::default()).unwrap();
    let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "token.revoke",
            "token.create",
            "user.update",
            "user.update",
            "user.update",
            "user.update",
            "user.create"
        ]
    );
    assert!(entries.iter().all(|entry| entry.actor == "cli"));
}

#[test]
fn cli_changes_land_in_the_audit_trail() {
    let data = Data::new();
    data.ok(&["watchlist", "create", "c2", "--severity", "high"]);
    data.ok(&["watchlist", "update", "c2", "--severity", "low"]);
    data.ok(&["watchlist", "add", "c2", "198.51.100.7", "evil[.]example"]);
    data.ok(&["watchlist", "remove", "c2", "evil.example"]);
    data.ok(&["allowlist", "add", "192.0.2.1", "--comment", "scanner"]);
    data.ok(&["allowlist", "remove", "192.0.2.1"]);
    data.ok(&["watchlist", "delete", "c2"]);

    let store = Store::open(&data.path()).unwrap();
    let (entries, total) = store.audit(&iocwatch_store::AuditFilter::default()).unwrap();
    assert_eq!(total, 7);
    assert!(entries.iter().all(|entry| entry.actor == "cli"));
    let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "watchlist.delete",
            "allowlist.remove",
            "allowlist.add",
            "indicators.remove",
            "indicators.add",
            "watchlist.update",
            "watchlist.create"
        ]
    );
    let update = &entries[5];
    assert_eq!(update.target, "watchlist:c2");
    assert_eq!(update.before.as_ref().unwrap()["severity"], "high");
    assert_eq!(update.after.as_ref().unwrap()["severity"], "low");
    assert_eq!(entries[2].after.as_ref().unwrap()["comment"], "scanner");
    assert_eq!(entries[3].after.as_ref().unwrap()["removed"], 1);
    assert_eq!(entries[4].after.as_ref().unwrap()["added"], 2);
}
