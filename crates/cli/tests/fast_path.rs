//! The scan's fast path, which skips the decode of lines whose values
//! cannot match, against `--full-decode`: both must write the same
//! alerts and count the same events and malformed lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{alerts, run, shared, status, stderr};
use serde_json::Value;

/// Scans with and without `--full-decode` and returns both outputs.
fn scan_both(intel: &[&str], paths: &[&str]) -> [(Vec<Value>, String); 2] {
    [false, true].map(|full| {
        let mut args = vec!["scan", "--json"];
        if full {
            args.push("--full-decode");
        }
        for list in intel {
            args.extend(["--intel", list]);
        }
        args.extend(paths);
        let output = run(&args);
        assert!(
            matches!(status(&output), 0 | 1),
            "exit {}: {}",
            status(&output),
            stderr(&output)
        );
        let mut documents = alerts(&output);
        // The scan time differs between the two runs, and a line without
        // an event time is stamped with it.
        for document in &mut documents {
            if let Some(event) = document.get_mut("event").and_then(Value::as_object_mut) {
                event.remove("created");
            }
            if document["iocwatch"]["timestamp_source"] == "scan" {
                document.as_object_mut().unwrap().remove("@timestamp");
            }
        }
        (documents, summary_counts(&stderr(&output)))
    })
}

/// Returns the lines of a scan's stderr that hold counts, without the
/// ones that report times or rates.
fn summary_counts(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| !line.contains(" in ") && !line.contains("MB/s"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_same(both: &[(Vec<Value>, String); 2]) {
    let [(fast_alerts, fast_summary), (full_alerts, full_summary)] = both;
    assert_eq!(fast_alerts.len(), full_alerts.len(), "alert counts differ");
    for (index, (fast, full)) in fast_alerts.iter().zip(full_alerts).enumerate() {
        assert_eq!(fast, full, "alert {index} differs");
    }
    assert_eq!(fast_summary, full_summary, "summaries differ");
}

#[test]
fn real_logs_same_alerts_both_paths() {
    let Some(data) = shared("data") else {
        return;
    };
    // Addresses, networks, sockets, domains, URLs (some on hosts without
    // a dot), digests, JA3 and e-mail addresses.
    let lists = [
        "intel/maltrail",
        "intel/zeek_intel_cps",
        "intel/abusech_feodo",
        "intel/malwarebazaar",
        "intel/openphish",
        "intel/phishtank",
        "intel/urlhaus_filter/urlhaus-filter-online.txt",
        "intel/threatfox_ips",
        "intel/abusech_sslbl/ja3_fingerprints.csv.2020-04-09",
    ];
    let intel: Vec<String> = lists
        .iter()
        .map(|list| data.join(list).display().to_string())
        .collect();
    let intel: Vec<&str> = intel.iter().map(String::as_str).collect();
    let logs = data.display().to_string();
    let both = scan_both(&intel, &[&logs]);
    assert!(both[0].0.len() > 1000, "{} alerts", both[0].0.len());
    assert_same(&both);
}

#[test]
fn real_logs_same_alerts_with_ipv6_lists() {
    let Some(data) = shared("data") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // IPv6 addresses that the logs contain, a network around one of them,
    // and a JA4 fingerprint, beside the IPv6 feeds.
    let own = write(
        dir.path(),
        "v6.txt",
        b"fd77:48a1:c0bb::1\nfe80::981:b1fd:8de1:811e\n2a01:111:2003::50\n2001:718:1::/48\n\
          ja4 t13d1516h2_8daaf6152771_b186095e22b6\n",
    );
    let feeds = [
        data.join("intel/spamhaus_drop").display().to_string(),
        data.join("intel/tor_exits").display().to_string(),
    ];
    let logs = data.display().to_string();
    let both = scan_both(&[&own, &feeds[0], &feeds[1]], &[&logs]);
    let ipv6_alerts = both[0]
        .0
        .iter()
        .filter(|alert| {
            alert["threat"]["enrichments"].as_array().is_some_and(|found| {
                found.iter().any(|one| {
                    one["matched"]["atomic"]
                        .as_str()
                        .is_some_and(|atomic| atomic.contains(':'))
                })
            })
        })
        .count();
    assert!(ipv6_alerts > 100, "{ipv6_alerts} alerts on IPv6 addresses");
    assert_same(&both);
}

/// Writes `content` to `name` in `dir` and returns its path.
fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

#[test]
fn generated_lines_same_alerts_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let intel = write(
        dir.path(),
        "intel.txt",
        b"198.51.100.7\n203.0.113.0/24\nevil.example\nhttp://files.bad.example/payload\n\
          e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nmallory@mail.example\n\
          2001:db8:1::/48\n2001:db8::77\nja4 t13d1516h2_8daaf6152771_b186095e22b6\n",
    );
    let eve = [
        // Plain hits in every EVE field kind.
        r#"{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"198.51.100.7","proto":"TCP"}"#,
        r#"{"event_type":"dns","dns":{"version":2,"rrname":"WWW.Evil.Example.","answers":[{"rrtype":"A","rdata":"203.0.113.9"}]}}"#,
        r#"{"event_type":"http","http":{"hostname":"files.bad.example","url":"/payload","http_user_agent":"x"}}"#,
        r#"{"event_type":"fileinfo","fileinfo":{"sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}}"#,
        r#"{"event_type":"smtp","smtp":{"mail_from":"<Mallory@Mail.Example>"}}"#,
        r#"{"event_type":"flow","src_ip":"fd00::1","dest_ip":"2001:DB8:1:0:0:0:0:9","proto":"TCP"}"#,
        r#"{"event_type":"tls","src_ip":"10.0.0.1","tls":{"sni":"quiet.test","ja4":"T13D1516H2_8DAAF6152771_B186095E22B6"}}"#,
        // Unusual key order and nesting.
        r#"{"dns":{"answer":{"rrname":"x.evil.example"}},"event_type":"dns","src_ip":"10.0.0.2"}"#,
        r#"{"http":{"url":"/payload","hostname":"files.bad.example"},"dest_ip":"10.0.0.3","event_type":"http"}"#,
        // Escapes, which only the full decode reads.
        r#"{"event_type":"dns","dns":{"rrname":"\u0065vil.example"}}"#,
        r#"{"event_type":"http","http":{"hostname":"files.bad.example","url":"\/payload"}}"#,
        r#"{"event_type":"flow","src_ip":"10.0.0.4","dest_ip":"198.51.100.\u0037"}"#,
        // Near misses.
        r#"{"event_type":"flow","src_ip":"10.0.0.5","dest_ip":"198.51.100.70"}"#,
        r#"{"event_type":"dns","dns":{"rrname":"notevil.example"}}"#,
        r#"{"event_type":"dns","dns":{"rrname":"evil.example.lan"}}"#,
        r#"{"event_type":"flow","src_ip":"fd00::1","dest_ip":"2001:db8:2::9","proto":"TCP"}"#,
        r#"{"event_type":"tls","src_ip":"10.0.0.1","tls":{"ja4":"t13d1516h2_8daaf6152771_b186095e22b7"}}"#,
        // Malformed lines, counted the same on both paths.
        r#"{"event_type":"flow","src_ip":"10.0.0.6","dest_ip":"198.51.100.7""#,
        r#"{"event_type":"flow","src_ip":"10.0.0.7","src_ip":"198.51.100.7"}"#,
        r#"not json"#,
    ]
    .join("\n");
    let mut eve = eve.into_bytes();
    // A line that is not UTF-8, with a hit after the bad byte.
    eve.extend_from_slice(
        b"\n{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"caf\xe9.test\"},\"dest_ip\":\"198.51.100.7\"}\n",
    );
    let eve = write(dir.path(), "eve.json", &eve);

    let zeek_json = [
        r#"{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"203.0.113.200","id.resp_p":80}"#,
        r#"{"id.resp_h":"10.0.0.2","uid":"C2","ts":"2024-01-01T00:00:00Z","query":"a.evil.example","_path":"dns"}"#,
        r#"{"_path":"http","ts":1,"uid":"C3","host":"files.bad.example:80","uri":"/payload"}"#,
        r#"{"_path":"conn","ts":1,"uid":"C4","id.orig_h":"10.0.0.3","id.resp_h":"198.51.100.8"}"#,
        r#"{"_path":"conn","ts":1,"uid":"C5","id.orig_h":"fd00::3","id.resp_h":"2001:db8::77"}"#,
        r#"{"_path":"conn","ts":1,"uid":"C6","id.orig_h":"fd00::3","id.resp_h":"2001:db8::78"}"#,
        r#"{"@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"198.51.100.7"},"related":{"hosts":["evil.example"]}}"#,
    ]
    .join("\n");
    let zeek_json = write(dir.path(), "zeek.json", zeek_json.as_bytes());

    let zeek_tsv = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tdns",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers",
        "1.0\tC1\t10.0.0.1\t53\t10.0.0.53\t53\tmail.evil.example\t192.0.2.1",
        "1.0\tC2\t10.0.0.1\t53\t10.0.0.53\t53\tquiet.test\t192.0.2.1,203.0.113.5",
        "1.0\tC3\t10.0.0.1\t53\t10.0.0.53\t53\tesc\\x2eevil.example\t-",
        "1.0\tC4\t10.0.0.1\t53\t10.0.0.53\t53\tshort",
        "1.0\tC5\t10.0.0.1\t53\t10.0.0.53\t53\tquiet.test\t-",
        "1.0\tC6\tfd00::1\t53\tfd00::53\t53\tquiet.test\t2001:db8:1::5",
        "1.0\tC7\tfd00::1\t53\tfd00::53\t53\tquiet.test\t2001:db8:3::5",
    ]
    .join("\n");
    let zeek_tsv = write(dir.path(), "dns.log", zeek_tsv.as_bytes());

    let sysmon = [
        // Hits inside strings that contain several values, with no escape.
        r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"Computer":"ws-1"},"EventData":{"Image":"a.exe","Hashes":"SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=D41D8CD98F00B204E9800998ECF8427E"}}}"##,
        r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":22,"Computer":"ws-1"},"EventData":{"QueryName":"quiet.test","QueryResults":"type:  5 cdn.quiet.test;::ffff:203.0.113.9;"}}}"##,
        r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":22,"Computer":"ws-1"},"EventData":{"QueryName":"www.evil.example","QueryResults":"-"}}}"##,
        // A hit beside an escape.
        r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"Computer":"ws-1"},"EventData":{"Image":"C:\\Windows\\x.exe","Protocol":"tcp","SourceIp":"10.0.0.8","SourcePort":49167,"DestinationIp":"198.51.100.7","DestinationHostname":"files.bad.example","DestinationPort":443}}}"##,
        // A near miss and a malformed event.
        r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"Computer":"ws-1"},"EventData":{"SourceIp":"10.0.0.8","DestinationIp":"198.51.100.70"}}}"##,
        r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"Computer":"ws-1"},"EventData":{"SourceIp":"10.0.0.999","DestinationIp":"198.51.100.7"}}}"##,
    ]
    .join("\n");
    let sysmon = write(dir.path(), "sysmon.jsonl", sysmon.as_bytes());

    let both = scan_both(&[&intel], &[&eve, &zeek_json, &zeek_tsv, &sysmon]);
    assert_same(&both);
    let sysmon_alerts = both[0]
        .0
        .iter()
        .filter(|alert| {
            alert["event"]["dataset"]
                .as_str()
                .is_some_and(|dataset| dataset.starts_with("sysmon"))
        })
        .count();
    assert_eq!(sysmon_alerts, 4, "{:#?}", both[0].0);
    assert_eq!(both[0].0.len(), 26, "{:#?}", both[0].0);
}

#[test]
fn real_sysmon_same_alerts_both_paths() {
    let Some(sysmon) = shared("data/sysmon") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Values in the Sysmon logs: a destination address and host name of
    // WMIC.exe, the SHA-256 of WMIC.exe, the SHA-256 of a deleted
    // consent.exe, and the SHA-1 of the emotet process.
    let intel = write(
        dir.path(),
        "sysmon-intel.txt",
        b"45.76.12.27
inwitelecom.net
          132AA270790F56A7524CAB968927ED5E1D91B9A26D4BADCB24E450E7DECC5F81
          19FD0010DA92B654D1CA270247061A39EA13C0A58529FD8257A97E2EF7794911
          ED13AF4A0A754B8DAEE4929134D2FF15EBE053CD
",
    );
    let logs = sysmon.display().to_string();
    let both = scan_both(&[&intel], &[&logs]);
    assert_same(&both);
    // 45.76.12.27 is in one connection. inwitelecom.net is in two
    // connections of the mshta log and one of the WMIC log. The WMIC.exe
    // hash is in one event, the consent.exe hash in two deletions and the
    // emotet hash in one event.
    assert_eq!(both[0].0.len(), 8, "{:#?}", both[0].0);
}
