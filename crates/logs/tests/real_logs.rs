//! Decodes the real Zeek and Suricata logs kept beside the workspace in
//! `shared/data` and checks record counts, malformed-line counts and
//! observables known to be in them.
//!
//! Without that folder every test prints a "skipped" line to stderr and
//! passes, so the suite still runs on a bare checkout.

#![allow(clippy::panic, reason = "a test reports a failure by panicking")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iocwatch_logs::Format;
use iocwatch_model::{Field, Record};

mod common;

/// Returns the data folder, or `None` after printing that the tests skip.
fn data_dir() -> Option<PathBuf> {
    common::shared_data("")
}

/// What decoding one file produced.
#[derive(Debug, Default)]
struct Decoded {
    format: Option<Format>,
    records: usize,
    malformed: Vec<String>,
    observables: Vec<(Field, String)>,
    datasets: BTreeMap<String, usize>,
    formats: BTreeMap<&'static str, usize>,
    context: Vec<(&'static str, String)>,
}

impl Decoded {
    fn count(&self, field: Field, value: &str) -> usize {
        self.observables
            .iter()
            .filter(|(seen_field, seen_value)| *seen_field == field && seen_value == value)
            .count()
    }

    fn count_field(&self, field: Field) -> usize {
        self.observables
            .iter()
            .filter(|(seen_field, _)| *seen_field == field)
            .count()
    }

    fn has_context(&self, name: &str, value: &str) -> bool {
        self.context
            .iter()
            .any(|(seen_name, seen_value)| *seen_name == name && seen_value == value)
    }
}

/// Decodes every line of the file at `path`, with the decoder that
/// [`iocwatch_logs::detect_format`] picks from its first 64 KiB.
fn decode_file(path: &Path) -> Decoded {
    let mut decoded = Decoded::default();
    decoded.format = common::decode_lines(path, |_, result| match result {
        Ok(Some(record)) => collect(&mut decoded, &record),
        Ok(None) => {}
        Err(err) => decoded.malformed.push(err.message),
    });
    decoded
}

fn collect(decoded: &mut Decoded, record: &Record<'_>) {
    decoded.records += 1;
    *decoded.datasets.entry(record.dataset.to_string()).or_default() += 1;
    *decoded.formats.entry(record.format).or_default() += 1;
    decoded.observables.extend(
        record
            .observables
            .iter()
            .map(|observed| (observed.field, observed.value.to_string())),
    );
    decoded.context.extend(
        record
            .context
            .iter()
            .map(|(name, value)| (*name, value.to_string())),
    );
}

/// True for the files under `zeek/` and `suricata/` that are logs these
/// decoders read: Zeek logs in either form, Zeek test baselines and EVE
/// files. Suricata's `fast.log` and the documentation are not.
fn is_decodable_log(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    if name == "fast.log" {
        return false;
    }
    name.ends_with(".log")
        || name.ends_with(".log.gz")
        || name.ends_with(".json.gz")
        || name.ends_with(".labeled")
        || name == "output"
        || (relative.starts_with("suricata/") && name.starts_with("eve") && name.ends_with(".json"))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

const TRICKBOT: &str = "zeek/Trickbot-Netwrok-Analysis-Playbook/zeek";
const INFECTED: &str = "zeek/infectedPCAP";
const ZED: &str = "zeek/zed-sample-data";
const BASELINE: &str = "zeek/zeek/testing/btest/Baseline";
const GENERATED: &str = "suricata/generated";

/// Records and malformed lines per file. For every file the two add up to
/// its non-blank lines that do not start with `#`, counted separately with
/// a script outside this test.
const EXPECTED: &[(&str, usize, usize)] = &[
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/conn.log", 13_001, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/dce_rpc.log", 811, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/dhcp.log", 8, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/dns.log", 1_534, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/files.log", 1_385, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/http.log", 1_149, 0),
    (
        "zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/kerberos.log",
        1_353,
        0,
    ),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/ntlm.log", 3, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/pe.log", 22, 0),
    (
        "zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/smb_files.log",
        175,
        0,
    ),
    (
        "zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/smb_mapping.log",
        989,
        0,
    ),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/ssl.log", 6_032, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/weird.log", 149, 0),
    ("zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/x509.log", 398, 0),
    ("zeek/infectedPCAP/conn.log", 15, 0),
    ("zeek/infectedPCAP/dns.log", 9, 0),
    ("zeek/infectedPCAP/files.log", 8, 0),
    ("zeek/infectedPCAP/http.log", 5, 0),
    ("zeek/infectedPCAP/pe.log", 1, 0),
    ("zeek/infectedPCAP/ssl.log", 1, 0),
    ("zeek/infectedPCAP/weird.log", 1, 0),
    ("zeek/infectedPCAP/x509.log", 3, 0),
    ("zeek/maccdc2012_00016-zeek/dhcp.log", 517, 0),
    ("zeek/maccdc2012_00016-zeek/ftp.log", 27, 0),
    ("zeek/maccdc2012_00016-zeek/notice.log", 22, 0),
    ("zeek/maccdc2012_00016-zeek/pe.log", 12, 0),
    ("zeek/maccdc2012_00016-zeek/smb_files.log", 30, 0),
    ("zeek/maccdc2012_00016-zeek/ssl.log", 399, 0),
    ("zeek/maccdc2012_00016-zeek/x509.log", 8, 0),
    (
        "zeek/security-datasets-for-testing/005-zeek-scenario-malicious/conn.log",
        992,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/005-zeek-scenario-malicious/dns.log",
        992,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/005-zeek-scenario-malicious/http.log",
        992,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/dns.log.labeled",
        24_181,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/dpd.log.labeled",
        4,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/files.log.labeled",
        2_029,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/http.log.labeled",
        1_464,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/notice.log.labeled",
        39,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/software.log.labeled",
        0,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/ssl.log.labeled",
        744,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/weird.log.labeled",
        2_838,
        0,
    ),
    (
        "zeek/security-datasets-for-testing/009-zeek-malicious/data/x509.log.labeled",
        0,
        0,
    ),
    ("zeek/zed-sample-data/zeek-default/dns.log.gz", 53_615, 0),
    ("zeek/zed-sample-data/zeek-default/ftp.log.gz", 93, 0),
    ("zeek/zed-sample-data/zeek-default/kerberos.log.gz", 11, 0),
    ("zeek/zed-sample-data/zeek-default/known_certs.log.gz", 35, 0),
    ("zeek/zed-sample-data/zeek-default/known_hosts.log.gz", 253, 0),
    (
        "zeek/zed-sample-data/zeek-default/known_services.log.gz",
        1_579,
        0,
    ),
    ("zeek/zed-sample-data/zeek-default/notice.log.gz", 207, 0),
    ("zeek/zed-sample-data/zeek-default/ntlm.log.gz", 422, 0),
    ("zeek/zed-sample-data/zeek-default/pe.log.gz", 21, 0),
    ("zeek/zed-sample-data/zeek-default/smb_files.log.gz", 13, 0),
    ("zeek/zed-sample-data/zeek-default/smtp.log.gz", 1_188, 0),
    ("zeek/zed-sample-data/zeek-default/software.log.gz", 376, 0),
    ("zeek/zed-sample-data/zeek-default/ssh.log.gz", 22, 0),
    ("zeek/zed-sample-data/zeek-default/ssl.log.gz", 49_474, 0),
    ("zeek/zed-sample-data/zeek-default/x509.log.gz", 348, 0),
    ("zeek/zed-sample-data/zeek-json/dns.json.gz", 53_615, 0),
    ("zeek/zed-sample-data/zeek-json/ftp.json.gz", 93, 0),
    ("zeek/zed-sample-data/zeek-json/kerberos.json.gz", 11, 0),
    ("zeek/zed-sample-data/zeek-json/known_certs.json.gz", 35, 0),
    ("zeek/zed-sample-data/zeek-json/known_hosts.json.gz", 253, 0),
    ("zeek/zed-sample-data/zeek-json/known_services.json.gz", 1_579, 0),
    ("zeek/zed-sample-data/zeek-json/notice.json.gz", 207, 0),
    ("zeek/zed-sample-data/zeek-json/ntlm.json.gz", 422, 0),
    ("zeek/zed-sample-data/zeek-json/pe.json.gz", 21, 0),
    ("zeek/zed-sample-data/zeek-json/smb_files.json.gz", 13, 0),
    ("zeek/zed-sample-data/zeek-json/smtp.json.gz", 1_188, 0),
    ("zeek/zed-sample-data/zeek-json/software.json.gz", 376, 0),
    ("zeek/zed-sample-data/zeek-json/ssh.json.gz", 22, 0),
    ("zeek/zed-sample-data/zeek-json/ssl.json.gz", 49_474, 0),
    ("zeek/zed-sample-data/zeek-json/x509.json.gz", 348, 0),
    // The baseline masks `ts` as XXXXXXXXXX.XXXXXX, which is not JSON.
    (
        "zeek/zeek/testing/btest/Baseline/javascript.http-uri-sha256/http.log",
        0,
        1,
    ),
    ("zeek/zeek/testing/btest/Baseline/opt.basic/conn.log", 34, 0),
    ("zeek/zeek/testing/btest/Baseline/opt.basic/dns.log", 34, 0),
    ("zeek/zeek/testing/btest/Baseline/opt.basic/http.log", 14, 0),
    // Test outputs: an intel.log followed by printed `Seen:`/`Item:`
    // lines, which are not log lines.
    (
        "zeek/zeek/testing/btest/Baseline/scripts.base.frameworks.intel.expire-item/output",
        3,
        15,
    ),
    (
        "zeek/zeek/testing/btest/Baseline/scripts.base.frameworks.intel.match-subnet/output",
        3,
        9,
    ),
    (
        "zeek/zeek/testing/btest/Baseline/scripts.base.frameworks.intel.updated-match/output",
        7,
        0,
    ),
    (
        "zeek/zeek/testing/btest/Baseline/scripts.base.protocols.ssl.ecdsa/ssl.log",
        1,
        0,
    ),
    (
        "zeek/zeek/testing/btest/Baseline/scripts.base.protocols.ssl.ecdsa/x509.log",
        2,
        0,
    ),
    ("suricata/generated/cs__cryptowall4_c2/eve.json", 16, 0),
    ("suricata/generated/cs__ek_to_cryptowall4/eve.json", 48, 0),
    ("suricata/generated/cve-2021-44228__log4j-attack/eve.json", 53, 0),
    (
        "suricata/generated/el__capture-Thu-11-24-16-10-28-11_cerber/eve.json",
        5_546,
        0,
    ),
    (
        "suricata/generated/el__capture-Tue-11-29-16-12-26-16_rig/eve.json",
        1_208,
        0,
    ),
    ("suricata/generated/el__malware_infection/eve.json", 1_391, 0),
    (
        "suricata/generated/zeek-agenttesla-detector__0e328ab7-12b2-4843-8717-a5b3ebef33a8/eve.json",
        113,
        0,
    ),
    (
        "suricata/generated/zeek-agenttesla-detector__a30789ce-1e1c-4f96-a097-78c34b9fb612/eve.json",
        37,
        0,
    ),
    (
        "suricata/generated/zeek-agenttesla-detector__db9f075c-7879-4957-923a-f79fac957a2d/eve.json",
        215,
        0,
    ),
    (
        "suricata/generated/zeek-agenttesla-detector__f9421792-7d2c-47d3-90e0-07eb54ae12fa/eve.json",
        90,
        0,
    ),
    (
        "suricata/generated/zeek-asyncrat-detector__30a385ed-171e-4f15-ac3f-08c96be7bfd1/eve.json",
        156,
        0,
    ),
    (
        "suricata/generated/zeek-asyncrat-detector__9596cf60-0da6-47a7-a375-1f25ae32d843/eve.json",
        156,
        0,
    ),
    (
        "suricata/generated/zeek-asyncrat-detector__cd010953-5faf-4054-86be-58c020c3a532/eve.json",
        59,
        0,
    ),
    (
        "suricata/generated/zeek-quasarrat-detector__09ffabf7-774a-43a3-8c97-68f2046fd385/eve.json",
        564,
        0,
    ),
    (
        "suricata/generated/zeek-strrat-detector__strrat-4423258f-59bc-4a88-bfec-d8ac08c88538/eve.json",
        2,
        0,
    ),
    ("suricata/published/eve.MAGNC-2023-02-28.json", 253, 0),
    ("suricata/published/eve.mauz88-aws-2025-08-12.json", 691, 0),
];

#[test]
fn every_real_log_decodes() {
    let Some(root) = data_dir() else {
        return;
    };
    let mut files = Vec::new();
    walk(&root.join("zeek"), &mut files);
    walk(&root.join("suricata"), &mut files);

    let mut seen = Vec::new();
    for path in files {
        let relative = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if !is_decodable_log(&relative) {
            continue;
        }
        let decoded = decode_file(&path);
        assert!(decoded.format.is_some(), "{relative}: format not detected");
        match EXPECTED.iter().find(|(expected, _, _)| *expected == relative) {
            Some((_, records, malformed)) => {
                assert_eq!(decoded.records, *records, "{relative}: records");
                assert_eq!(
                    decoded.malformed.len(),
                    *malformed,
                    "{relative}: malformed lines {:?}",
                    decoded.malformed
                );
            }
            // A log added to the data folder later: no count is known, but
            // it must decode cleanly.
            None => assert!(
                decoded.malformed.is_empty(),
                "{relative}: {:?}",
                decoded.malformed
            ),
        }
        seen.push(relative);
    }
    for (relative, _, _) in EXPECTED {
        assert!(
            seen.iter().any(|path| path == relative),
            "{relative} is missing from the data folder"
        );
    }
}

#[test]
fn trickbot_conn_log() {
    let Some(root) = data_dir() else {
        return;
    };
    let decoded = decode_file(&root.join(TRICKBOT).join("conn.log"));
    assert_eq!(decoded.records, 13_001);
    assert_eq!(decoded.formats.get("zeek-tsv"), Some(&13_001));
    assert_eq!(decoded.datasets.get("zeek.conn"), Some(&13_001));
    // A Tor exit node, contacted once in the capture.
    assert_eq!(decoded.count(Field::DestinationIp, "185.220.101.15"), 1);
    assert_eq!(decoded.count_field(Field::SourceIp), 13_001);
    assert!(decoded.has_context("event.id", "CYtJYz4gNk3t5ZEt2"));
}

#[test]
fn trickbot_dns_and_http() {
    let Some(root) = data_dir() else {
        return;
    };
    let dns = decode_file(&root.join(TRICKBOT).join("dns.log"));
    assert!(dns.count(Field::DnsQuestionName, "_ldap._tcp.dc._msdcs.bansheetree.net") > 0);
    let http = decode_file(&root.join(TRICKBOT).join("http.log"));
    assert!(http.count(Field::UrlFull, "http://www.msftncsi.com/ncsi.txt") > 0);
    assert!(http.count(Field::UserAgent, "Microsoft NCSI") > 0);
}

#[test]
fn infected_pcap_logs() {
    let Some(root) = data_dir() else {
        return;
    };
    let dns = decode_file(&root.join(INFECTED).join("dns.log"));
    assert_eq!(dns.count(Field::DnsQuestionName, "nrtjo.eu"), 4);
    assert!(dns.count(Field::DnsResolvedIp, "59.53.91.102") > 0);
    // The NetBIOS-style query is written with \x00 escapes.
    let escaped = format!("*{}", "\0".repeat(14));
    assert_eq!(dns.count(Field::DnsQuestionName, &escaped), 3);

    let http = decode_file(&root.join(INFECTED).join("http.log"));
    assert_eq!(
        http.count(
            Field::UrlFull,
            "http://nrtjo.eu//loading.php?spl=javadnw&J050006010"
        ),
        1
    );
    assert_eq!(http.count(Field::UrlDomain, "freeways.in"), 1);

    // Old files.log: tx_hosts and rx_hosts instead of id.* columns.
    let files = decode_file(&root.join(INFECTED).join("files.log"));
    assert_eq!(files.count(Field::FileMd5, "dee5a4b94834b81faaabf7d3f1c07d6f"), 1);
    assert_eq!(
        files.count(Field::FileSha1, "7e639183b90e6db44af6eeac6e55489467497f8f"),
        1
    );
    assert_eq!(files.count(Field::SourceIp, "59.53.91.102"), 4);
    assert_eq!(files.count(Field::DestinationIp, "192.168.23.129"), 8);
}

#[test]
fn zed_tsv_and_json_twins_agree() {
    let Some(root) = data_dir() else {
        return;
    };
    let names = [
        "dns",
        "ftp",
        "kerberos",
        "known_certs",
        "known_hosts",
        "known_services",
        "notice",
        "ntlm",
        "pe",
        "smb_files",
        "smtp",
        "software",
        "ssh",
        "ssl",
        "x509",
    ];
    for name in names {
        let tsv = decode_file(&root.join(ZED).join(format!("zeek-default/{name}.log.gz")));
        let json = decode_file(&root.join(ZED).join(format!("zeek-json/{name}.json.gz")));
        assert_eq!(tsv.records, json.records, "{name}: records");
        assert_eq!(tsv.datasets, json.datasets, "{name}: datasets");
        let mut tsv_observables = tsv.observables;
        let mut json_observables = json.observables;
        tsv_observables.sort();
        json_observables.sort();
        assert!(
            tsv_observables == json_observables,
            "{name}: observables differ between TSV and JSON"
        );
    }
}

#[test]
fn zed_ssl_and_x509() {
    let Some(root) = data_dir() else {
        return;
    };
    let ssl = decode_file(&root.join(ZED).join("zeek-default/ssl.log.gz"));
    // 15,070 rows have a server_name, 3,422 of them the IP literal.
    assert_eq!(ssl.count_field(Field::TlsServerName), 15_070);
    assert_eq!(ssl.count(Field::TlsServerName, "10.47.1.208"), 3_422);
    assert!(
        ssl.count(
            Field::TlsCertSha256,
            "b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe"
        ) > 0
    );

    let x509 = decode_file(&root.join(ZED).join("zeek-json/x509.json.gz"));
    assert!(x509.count(Field::TlsCertName, "localhost.localdomain") > 0);
    assert_eq!(x509.count_field(Field::TlsServerName), 0);
}

#[test]
fn zeek_baselines() {
    let Some(root) = data_dir() else {
        return;
    };
    let x509 = decode_file(
        &root
            .join(BASELINE)
            .join("scripts.base.protocols.ssl.ecdsa/x509.log"),
    );
    assert_eq!(x509.count(Field::TlsCertName, "pantz.org"), 1);
    assert_eq!(x509.count(Field::TlsCertName, "www.pantz.org"), 1);
    assert_eq!(
        x509.count(
            Field::TlsCertSha256,
            "11db6d4f6e4df14cec874b9d4a306c64c282dacbd479788ee0510b2c99382dc4"
        ),
        1
    );

    let intel = decode_file(
        &root
            .join(BASELINE)
            .join("scripts.base.frameworks.intel.match-subnet/output"),
    );
    assert!(
        intel
            .malformed
            .iter()
            .all(|message| message == "line has 1 column, the #fields header has 15")
    );
}

#[test]
fn stratosphere_labeled_and_truncated_logs() {
    let Some(root) = data_dir() else {
        return;
    };
    let dns =
        decode_file(&root.join("zeek/security-datasets-for-testing/009-zeek-malicious/data/dns.log.labeled"));
    assert!(dns.count(Field::DnsQuestionName, "www.msftncsi.com") > 0);
    assert!(dns.count(Field::DnsResolvedIp, "195.113.232.73") > 0);

    // Truncated without #close; `ts` is relative to the capture start.
    let conn =
        decode_file(&root.join("zeek/security-datasets-for-testing/005-zeek-scenario-malicious/conn.log"));
    assert_eq!(conn.count(Field::DestinationIp, "217.70.184.38"), 5);
}

#[test]
fn maccdc_plain_zeek_json() {
    let Some(root) = data_dir() else {
        return;
    };
    let x509 = decode_file(&root.join("zeek/maccdc2012_00016-zeek/x509.log"));
    assert_eq!(x509.datasets.get("zeek.x509"), Some(&8));
    assert!(
        x509.count(
            Field::TlsCertSha256,
            "25b66694babc309f9da717c5d90ed24efe588601df9bc798908210bb483fb0c1"
        ) > 0
    );

    // Lines without `_path`: ssl is recognised from its keys, dhcp is not.
    let ssl = decode_file(&root.join("zeek/maccdc2012_00016-zeek/ssl.log"));
    assert_eq!(ssl.datasets.get("zeek.ssl"), Some(&399));
    let dhcp = decode_file(&root.join("zeek/maccdc2012_00016-zeek/dhcp.log"));
    assert_eq!(dhcp.datasets.get("zeek"), Some(&517));
    assert!(dhcp.count(Field::RelatedIp, "192.168.202.108") > 0);
}

#[test]
fn suricata_generated_eve() {
    let Some(root) = data_dir() else {
        return;
    };
    let asyncrat = decode_file(
        &root
            .join(GENERATED)
            .join("zeek-asyncrat-detector__cd010953-5faf-4054-86be-58c020c3a532/eve.json"),
    );
    // The certificate `CN=AsyncRAT Server`.
    assert_eq!(
        asyncrat.count(
            Field::TlsCertSha1,
            "e7:fc:4b:65:8c:64:f9:f7:de:fb:82:5a:9d:85:5c:bf:a6:5c:37:81"
        ),
        1
    );
    assert_eq!(asyncrat.formats.get("suricata-eve"), Some(&59));
    assert_eq!(asyncrat.datasets.get("suricata.eve"), Some(&59));

    let duckdns = decode_file(
        &root
            .join(GENERATED)
            .join("zeek-asyncrat-detector__9596cf60-0da6-47a7-a375-1f25ae32d843/eve.json"),
    );
    assert!(duckdns.count(Field::DnsQuestionName, "kinggru.duckdns.org") > 0);
    assert!(duckdns.count(Field::DnsResolvedIp, "94.156.71.237") > 0);
    assert!(duckdns.has_context("rule.name", "ET INFO DYNAMIC_DNS Query to *.duckdns. Domain"));
    assert!(duckdns.has_context("rule.id", "2022918"));
    assert!(duckdns.count_field(Field::TlsJa3) > 0);
    assert!(duckdns.count_field(Field::TlsJa3s) > 0);

    let smtp = decode_file(
        &root
            .join(GENERATED)
            .join("zeek-agenttesla-detector__a30789ce-1e1c-4f96-a097-78c34b9fb612/eve.json"),
    );
    assert!(smtp.count(Field::EmailFrom, "shipping@oceanskylogistics.in") > 0);
    assert!(smtp.count(Field::EmailTo, "bkhin.supply@gmail.com") > 0);

    let cerber_path = root
        .join(GENERATED)
        .join("el__capture-Thu-11-24-16-10-28-11_cerber/eve.json");
    let cerber = decode_file(&cerber_path);
    let lines_with_md5 = common::read_bytes(&cerber_path)
        .split(|&b| b == b'\n')
        .filter(|line| line.windows(7).any(|window| window == b"\"md5\":\""))
        .count();
    assert_eq!(cerber.count_field(Field::FileMd5), lines_with_md5);
    assert!(cerber.count_field(Field::UrlFull) > 0);
}

#[test]
fn suricata_published_eve() {
    let Some(root) = data_dir() else {
        return;
    };
    // Suricata 6 writes DNS queries without a version and answers as version 2.
    let aws = decode_file(&root.join("suricata/published/eve.mauz88-aws-2025-08-12.json"));
    assert!(aws.count(Field::DnsQuestionName, "ssm.us-east-1.amazonaws.com") > 0);
    assert!(aws.count(Field::DnsResolvedIp, "44.216.200.77") > 0);
    assert!(aws.count(Field::UrlFull, "http://169.254.169.254/latest/api/token") > 0);
}
