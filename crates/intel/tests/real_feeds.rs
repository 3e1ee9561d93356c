//! Loads the real feed snapshots under `../shared/data/intel` and checks
//! the counts, which were verified against the files with independent
//! scripts: distinct values per column, prefix lengths, canonical URLs.
//!
//! The data is not part of the repository. When it is absent, each test
//! prints a note to stderr and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use iocwatch_intel::{IntelFormat, LineError, LoadOptions, Watchlist, load_file};
use iocwatch_model::{DigestAlgo, IndicatorError, IndicatorKind, ParseOptions};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir.join("intel"))
    } else {
        eprintln!("skipped: ../shared/data not found");
        None
    }
}

fn load_with(dir: &Path, relative: &str, options: &LoadOptions) -> Watchlist {
    let path = dir.join(relative);
    load_file(&path, None, options).unwrap_or_else(|error| panic!("{error}"))
}

fn load(dir: &Path, relative: &str) -> Watchlist {
    load_with(dir, relative, &LoadOptions::default())
}

fn count_kind(watchlist: &Watchlist, kind: IndicatorKind) -> usize {
    watchlist
        .indicators
        .iter()
        .filter(|indicator| indicator.value.kind() == kind)
        .count()
}

fn value_set(watchlist: &Watchlist) -> BTreeSet<String> {
    watchlist
        .indicators
        .iter()
        .map(|indicator| indicator.value.to_string())
        .collect()
}

/// One feed file and what loading it gives.
struct Feed {
    path: &'static str,
    format: IntelFormat,
    lines: u64,
    loaded: u64,
    duplicates: u64,
    rejected: usize,
    dropped: usize,
}

const fn feed(
    path: &'static str,
    format: IntelFormat,
    lines: u64,
    loaded: u64,
    duplicates: u64,
    rejected: usize,
    dropped: usize,
) -> Feed {
    Feed {
        path,
        format,
        lines,
        loaded,
        duplicates,
        rejected,
        dropped,
    }
}

use IntelFormat::{Csv, Plain, ZeekIntel};

/// Every watchlist under `intel/`. Line counts include a last line without
/// newline, so they can be one more than `wc -l`.
const FEEDS: &[Feed] = &[
    // 750 rows of 728 distinct addresses (one C2 address on several ports).
    feed(
        "abusech_feodo/ipblocklist.csv.2021-12-20",
        Csv,
        760,
        728,
        22,
        0,
        0,
    ),
    feed("abusech_feodo/ipblocklist.csv.2024-04-04", Csv, 38, 28, 0, 0, 0),
    feed(
        "abusech_sslbl/ja3_fingerprints.csv.2020-04-09",
        Csv,
        109,
        98,
        0,
        0,
        0,
    ),
    feed(
        "abusech_sslbl/sslblacklist.excel-resaved.csv.2023-12-22",
        Csv,
        5566,
        5565,
        0,
        0,
        0,
    ),
    feed("et_open_2019/compromised-ips.txt", Plain, 927, 927, 0, 0, 0),
    // Suricata rules: the addresses of their bracketed lists, checked
    // against a separate count of the list entries.
    feed("et_open_2019/botcc.rules", Plain, 300, 819, 2, 0, 0),
    feed("et_open_2019/ciarmy.rules", Plain, 134, 5000, 0, 0, 0),
    feed("et_open_2019/compromised.rules", Plain, 77, 900, 0, 0, 0),
    feed("et_open_2019/drop.rules", Plain, 71, 617, 0, 0, 0),
    feed("et_open_2019/dshield.rules", Plain, 35, 20, 0, 0, 0),
    feed("firehol/feodo.ipset.excerpt", Plain, 40, 10, 0, 0, 0),
    // One `http.host; content:"..."` rule per host, 294 distinct hosts
    // by a separate count of those matches.
    feed(
        "urlhaus_filter/urlhaus-filter-suricata-online.rules.head300",
        Plain,
        300,
        294,
        0,
        0,
        0,
    ),
    // Rejected: URL paths without host (28) and ports over 65535 (3).
    feed("maltrail/malware_asyncrat.txt", Plain, 31579, 25218, 141, 31, 0),
    // Rejected: 547 URL paths without host.
    feed("maltrail/malware_dcrat.txt", Plain, 10766, 8318, 44, 547, 0),
    feed("maltrail/malware_nightingale.txt", Plain, 11, 2, 0, 0, 0),
    feed("maltrail/malware_purelogs.txt", Plain, 835, 340, 1, 7, 0),
    feed("maltrail/malware_rajump.txt", Plain, 8, 3, 0, 0, 0),
    // Rejected: two URL paths and three addresses written with a stray `C`.
    feed("maltrail/mass_scanner.txt", Plain, 19341, 18835, 380, 5, 0),
    // Rejected: the dynamic DNS parent domains are public suffixes.
    feed(
        "maltrail/suspicious_dynamic_domain.txt",
        Plain,
        3870,
        1564,
        294,
        638,
        0,
    ),
    feed("maltrail/suspicious_ipinfo.txt", Plain, 454, 305, 1, 0, 0),
    feed(
        "malwarebazaar/full_sha256.partial-459.txt",
        Plain,
        459,
        459,
        0,
        0,
        0,
    ),
    feed("openphish/feed.txt.HEAD", Plain, 300, 300, 0, 0, 0),
    // 14,442 rows: 14,437 distinct URLs, 14,373 after canonicalisation.
    feed(
        "phishtank/online-valid.csv.2019-05-15",
        Csv,
        14443,
        14373,
        69,
        0,
        0,
    ),
    feed("spamhaus_drop/drop.txt", Plain, 989, 989, 0, 0, 0),
    // Rejected: the 23 networks shorter than /32.
    feed("spamhaus_drop/drop_ipv6.txt", Plain, 51, 28, 0, 23, 0),
    feed("spamhaus_drop/edrop.txt", Plain, 322, 322, 0, 0, 0),
    // Dropped: 45 multicast, 1 loopback, and 80 "this network" (0.0.0.0/8)
    // or reserved (240.0.0.0/4) addresses.
    feed("threatfox_ips/ips.txt.2024-03-10", Plain, 91861, 91735, 0, 0, 126),
    feed(
        "threatfox_ips/ips.txt.HEAD-2026-08-22",
        Plain,
        19863,
        19863,
        0,
        0,
        0,
    ),
    feed("tor_exits/tor-exit-nodes.lst", Plain, 1746, 1746, 0, 0, 0),
    feed(
        "urlhaus_filter/urlhaus-filter-bind-online.conf",
        Plain,
        625,
        619,
        0,
        0,
        0,
    ),
    feed(
        "urlhaus_filter/urlhaus-filter-dnscrypt-blocked-ips-online.txt",
        Plain,
        2240,
        2234,
        0,
        0,
        0,
    ),
    feed(
        "urlhaus_filter/urlhaus-filter-dnsmasq-online.conf",
        Plain,
        625,
        619,
        0,
        0,
        0,
    ),
    feed(
        "urlhaus_filter/urlhaus-filter-domains-online.txt",
        Plain,
        2859,
        2853,
        0,
        0,
        0,
    ),
    feed(
        "urlhaus_filter/urlhaus-filter-hosts-online.txt",
        Plain,
        625,
        619,
        0,
        0,
        0,
    ),
    feed(
        "urlhaus_filter/urlhaus-filter-online.txt",
        Plain,
        6369,
        6363,
        0,
        0,
        0,
    ),
    feed(
        "urlhaus_filter/urlhaus-filter-rpz-online.conf",
        Plain,
        630,
        619,
        0,
        0,
        0,
    ),
    feed(
        "zeek_intel_cps/Amnesty_NSO_Domains.intel",
        ZeekIntel,
        1425,
        1424,
        0,
        0,
        0,
    ),
    feed(
        "zeek_intel_cps/abuse-ch-ipblocklist.intel",
        ZeekIntel,
        7981,
        7607,
        373,
        0,
        0,
    ),
    feed(
        "zeek_intel_cps/abuse-ch-malware.intel",
        ZeekIntel,
        829,
        828,
        0,
        0,
        0,
    ),
    feed(
        "zeek_intel_cps/abuse-ch-threatfox-ip.intel",
        ZeekIntel,
        3494,
        2342,
        1151,
        0,
        0,
    ),
    feed("zeek_intel_cps/alienvault.intel", ZeekIntel, 610, 609, 0, 0, 0),
    // 2,087 lines of 804 distinct addresses; 127.0.0.1 three times.
    feed(
        "zeek_intel_cps/cobaltstrike_ips.intel",
        ZeekIntel,
        2088,
        803,
        1281,
        0,
        3,
    ),
    feed(
        "zeek_intel_cps/compromised-ips.intel",
        ZeekIntel,
        540,
        539,
        0,
        0,
        0,
    ),
    feed(
        "zeek_intel_cps/cps-collected-iocs.intel",
        ZeekIntel,
        49869,
        48378,
        1490,
        0,
        0,
    ),
    feed("zeek_intel_cps/drb_ra_domain.intel", ZeekIntel, 62, 61, 0, 0, 0),
    feed("zeek_intel_cps/openphish.intel", ZeekIntel, 301, 300, 0, 0, 0),
    feed("zeek_intel_cps/tor-exit.intel", ZeekIntel, 3252, 1372, 1879, 0, 0),
];

/// Files under `intel/` that are not watchlists: licences, notes and the
/// Spamhaus ASN list (JSON).
const NOT_WATCHLISTS: &[&str] = &[
    "FEEDS.md",
    "et_open_2019/LICENSE",
    "firehol/feodo.ipset.excerpt.NOTE",
    "maltrail/LICENSE",
    "openphish/feed.txt.HEAD.commitdate",
    "spamhaus_drop/Last-Checked-At",
    "spamhaus_drop/asn_drop.json",
    "tor_exits/Last-Checked-At",
    "zeek_intel_cps/LICENSE",
];

#[test]
fn every_feed_loads_with_verified_counts() {
    let Some(dir) = data_dir() else { return };
    for expected in FEEDS {
        let watchlist = load(&dir, expected.path);
        let report = &watchlist.report;
        let path = expected.path;
        assert_eq!(watchlist.format, expected.format, "{path}: format");
        assert_eq!(report.lines, expected.lines, "{path}: lines");
        assert_eq!(report.loaded, expected.loaded, "{path}: loaded");
        assert_eq!(
            watchlist.indicators.len() as u64,
            expected.loaded,
            "{path}: indicators"
        );
        assert_eq!(report.duplicates, expected.duplicates, "{path}: duplicates");
        assert_eq!(
            report.rejected.len(),
            expected.rejected,
            "{path}: rejected {:?}",
            report.rejected.first()
        );
        assert_eq!(report.dropped.len(), expected.dropped, "{path}: dropped");
    }
}

#[test]
fn every_file_is_classified() {
    let Some(dir) = data_dir() else { return };
    let mut known: BTreeSet<&str> = FEEDS.iter().map(|feed| feed.path).collect();
    known.extend(NOT_WATCHLISTS);
    for path in files_under(&dir) {
        let relative = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(
            known.contains(relative.as_str()),
            "{relative} is neither in FEEDS nor in NOT_WATCHLISTS"
        );
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn feodo_2024_has_malware_meta() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "abusech_feodo/ipblocklist.csv.2024-04-04");
    assert_eq!(watchlist.name, "ipblocklist");
    assert_eq!(watchlist.indicators.len(), 28);
    assert_eq!(count_kind(&watchlist, IndicatorKind::Ip), 28);
    for indicator in &watchlist.indicators {
        assert_eq!(
            indicator.meta.malware.as_deref(),
            Some("Pikabot"),
            "line {}",
            indicator.origin.line
        );
        assert!(
            indicator.meta.first_seen.is_some(),
            "line {}",
            indicator.origin.line
        );
        assert!(
            indicator.meta.extra.contains_key("dst_port"),
            "line {}",
            indicator.origin.line
        );
    }
    let first = &watchlist.indicators[0];
    assert_eq!(first.value.to_string(), "192.9.135.73");
    assert_eq!(first.origin.line, 10);
    assert_eq!(first.meta.last_seen.as_deref(), Some("2024-04-01"));
    assert_eq!(
        first.meta.extra.get("c2_status").map(String::as_str),
        Some("online")
    );
}

#[test]
fn feodo_2021_crlf_malware_families() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "abusech_feodo/ipblocklist.csv.2021-12-20");
    let families: BTreeSet<&str> = watchlist
        .indicators
        .iter()
        .filter_map(|indicator| indicator.meta.malware.as_deref())
        .collect();
    let expected: BTreeSet<&str> = ["BazarLoader", "Dridex", "Emotet", "QakBot", "TrickBot"].into();
    assert_eq!(families, expected);
    assert!(
        watchlist
            .indicators
            .iter()
            .all(|indicator| !indicator.original.contains('\r'))
    );
}

#[test]
fn spamhaus_drop_loads_all_networks() {
    let Some(dir) = data_dir() else { return };
    let drop = load(&dir, "spamhaus_drop/drop.txt");
    assert_eq!(count_kind(&drop, IndicatorKind::Cidr), 989);

    let ipv6 = load(&dir, "spamhaus_drop/drop_ipv6.txt");
    assert!(
        ipv6.report
            .rejected
            .iter()
            .all(|r| matches!(r.error, LineError::Indicator(IndicatorError::TooBroad(_)))),
        "{:?}",
        ipv6.report.rejected
    );
    assert!(ipv6.report.rejected.iter().all(|r| r.value.ends_with("/29")));

    let broad = LoadOptions {
        parse: ParseOptions { allow_broad: true },
        ..LoadOptions::default()
    };
    let forced = load_with(&dir, "spamhaus_drop/drop_ipv6.txt", &broad);
    assert_eq!(count_kind(&forced, IndicatorKind::Cidr), 51);
}

#[test]
fn ja3_csv_gives_ja3_indicators() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "abusech_sslbl/ja3_fingerprints.csv.2020-04-09");
    assert_eq!(count_kind(&watchlist, IndicatorKind::Ja3), 98);
    let first = &watchlist.indicators[0];
    assert_eq!(first.value.to_string(), "b386946a5a44d1ddcc843bc75336dfce");
    assert_eq!(first.meta.description.as_deref(), Some("Dridex"));
    assert_eq!(first.meta.first_seen.as_deref(), Some("2017-07-14 18:08:15"));
    assert_eq!(first.meta.last_seen.as_deref(), Some("2019-07-27 20:42:54"));
}

#[test]
fn sslbl_excel_csv_with_bom() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "abusech_sslbl/sslblacklist.excel-resaved.csv.2023-12-22");
    assert_eq!(
        count_kind(&watchlist, IndicatorKind::Hash(DigestAlgo::Sha1)),
        5565
    );
    let asyncrat = watchlist
        .indicators
        .iter()
        .find(|indicator| indicator.value.to_string() == "e7fc4b658c64f9f7defb825a9d855cbfa65c3781")
        .expect("the AsyncRAT certificate SHA-1 is listed");
    assert_eq!(asyncrat.meta.description.as_deref(), Some("AsyncRAT C&C"));
    assert!(asyncrat.meta.first_seen.is_some());
}

#[test]
fn phishtank_urls_with_reference() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "phishtank/online-valid.csv.2019-05-15");
    assert_eq!(count_kind(&watchlist, IndicatorKind::Url), 14373);
    let first = &watchlist.indicators[0];
    assert_eq!(
        first.value.to_string(),
        "http://paypals-gift-cards-business.gitlab.io/paypal.com"
    );
    assert_eq!(
        first.meta.reference.as_deref(),
        Some("http://www.phishtank.com/phish_detail.php?phish_id=6044296")
    );
    assert_eq!(
        first.meta.first_seen.as_deref(),
        Some("2019-05-15T19:26:26+00:00")
    );
    assert_eq!(first.meta.description.as_deref(), Some("Other"));
    let quoted = watchlist
        .indicators
        .iter()
        .filter(|indicator| indicator.original.contains(','))
        .count();
    assert!(quoted > 0, "URLs with commas load whole");
}

#[test]
fn maltrail_ip_port_and_references() {
    let Some(dir) = data_dir() else { return };
    let nightingale = load(&dir, "maltrail/malware_nightingale.txt");
    let values: Vec<String> = nightingale
        .indicators
        .iter()
        .map(|i| i.value.to_string())
        .collect();
    assert_eq!(values, ["94.156.71.237:3999", "kinggru.duckdns.org"]);
    assert_eq!(nightingale.indicators[0].value.kind(), IndicatorKind::IpPort);
    let meta = &nightingale.indicators[0].meta;
    assert_eq!(
        meta.reference.as_deref(),
        Some("https://twitter.com/suyog41/status/1751930165230469619")
    );
    assert_eq!(
        meta.extra.get("aliases").map(String::as_str),
        Some("nightingale stealer")
    );

    let asyncrat = load(&dir, "maltrail/malware_asyncrat.txt");
    assert_eq!(count_kind(&asyncrat, IndicatorKind::IpPort), 18673);
    let port_entry = asyncrat
        .indicators
        .iter()
        .find(|indicator| indicator.value.to_string() == "213.152.161.99:47390")
        .expect("213.152.161.99:47390 is listed");
    assert_eq!(
        port_entry.meta.reference.as_deref(),
        Some("https://twitter.com/CERT_Polska/status/1072793091856392192")
    );
}

#[test]
fn mass_scanner_inline_comments() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "maltrail/mass_scanner.txt");
    let first = &watchlist.indicators[0];
    assert_eq!(first.value.to_string(), "129.82.138.12");
    assert_eq!(
        first.meta.description.as_deref(),
        Some("pinger1a.netsec.colostate.edu")
    );
}

#[test]
fn firehol_header_meta() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "firehol/feodo.ipset.excerpt");
    assert_eq!(watchlist.name, "feodo");
    let meta = &watchlist.indicators[0].meta;
    assert_eq!(meta.provider.as_deref(), Some("Abuse.ch"));
    assert_eq!(meta.tags, ["malware"]);
}

#[test]
fn urlhaus_renderings_agree() {
    let Some(dir) = data_dir() else { return };
    let hosts = value_set(&load(&dir, "urlhaus_filter/urlhaus-filter-hosts-online.txt"));
    assert_eq!(hosts.len(), 619);
    for rendering in [
        "urlhaus_filter/urlhaus-filter-dnsmasq-online.conf",
        "urlhaus_filter/urlhaus-filter-bind-online.conf",
        "urlhaus_filter/urlhaus-filter-rpz-online.conf",
    ] {
        assert_eq!(value_set(&load(&dir, rendering)), hosts, "{rendering}");
    }
    let domains = value_set(&load(&dir, "urlhaus_filter/urlhaus-filter-domains-online.txt"));
    let ips = value_set(&load(
        &dir,
        "urlhaus_filter/urlhaus-filter-dnscrypt-blocked-ips-online.txt",
    ));
    let expected: BTreeSet<String> = hosts.union(&ips).cloned().collect();
    assert_eq!(domains, expected);
    // The rule set is the first 300 lines of its file, so its hosts are
    // some of the others.
    let rules = value_set(&load(
        &dir,
        "urlhaus_filter/urlhaus-filter-suricata-online.rules.head300",
    ));
    assert_eq!(rules.len(), 294);
    assert!(
        rules.is_subset(&domains),
        "{:?}",
        rules.difference(&domains).next()
    );
}

#[test]
fn urlhaus_adblock_rules() {
    let Some(dir) = data_dir() else { return };
    let watchlist = load(&dir, "urlhaus_filter/urlhaus-filter-online.txt");
    assert_eq!(count_kind(&watchlist, IndicatorKind::Url), 3509);
    let values = value_set(&watchlist);
    assert!(values.contains("autoiwc.ru/templates1/js/mixitup.js"));
    assert!(
        watchlist
            .report
            .rejected
            .iter()
            .all(|r| r.value.starts_with("web.archive.org/web/"))
    );
}

#[test]
fn zeek_and_plain_openphish_agree() {
    let Some(dir) = data_dir() else { return };
    let zeek = load(&dir, "zeek_intel_cps/openphish.intel");
    let plain = load(&dir, "openphish/feed.txt.HEAD");
    assert_eq!(value_set(&zeek), value_set(&plain));
    let meta = &zeek.indicators[0].meta;
    assert_eq!(meta.provider.as_deref(), Some("OPENPHISH"));
    assert_eq!(meta.description.as_deref(), Some("Phishing-URLS"));
    assert_eq!(meta.extra.get("meta.do_notice").map(String::as_str), Some("F"));
}

#[test]
fn zeek_cps_types() {
    let Some(dir) = data_dir() else { return };
    let malware = load(&dir, "zeek_intel_cps/abuse-ch-malware.intel");
    assert_eq!(count_kind(&malware, IndicatorKind::Hash(DigestAlgo::Sha1)), 828);
    let nso = load(&dir, "zeek_intel_cps/Amnesty_NSO_Domains.intel");
    assert_eq!(count_kind(&nso, IndicatorKind::Domain), 1407);
    assert_eq!(count_kind(&nso, IndicatorKind::Email), 17);
    let collected = load(&dir, "zeek_intel_cps/cps-collected-iocs.intel");
    assert_eq!(count_kind(&collected, IndicatorKind::Cidr), 10);
    assert_eq!(count_kind(&collected, IndicatorKind::Ip), 30418);
}

#[test]
fn zeek_placeholder_is_empty() {
    if data_dir().is_none() {
        return;
    }
    // The CriticalPathSecurity placeholders (abuse-ch-urlhaus.intel,
    // talos.intel) are this 70-byte header and nothing else.
    let header = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.desc\n";
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("talos.intel");
    std::fs::write(&path, header).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 70);
    let watchlist = load_file(&path, None, &LoadOptions::default()).unwrap();
    assert_eq!(watchlist.format, ZeekIntel);
    assert!(watchlist.indicators.is_empty());
    assert!(watchlist.report.rejected.is_empty());
}

#[test]
fn gzip_copy_loads_the_same() {
    let Some(dir) = data_dir() else { return };
    let original = std::fs::read(dir.join("spamhaus_drop/drop.txt")).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("drop.txt.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &original).unwrap();
    std::fs::write(&path, encoder.finish().unwrap()).unwrap();

    let compressed = load_file(&path, None, &LoadOptions::default()).unwrap();
    assert_eq!(compressed.name, "drop");
    assert_eq!(
        value_set(&compressed),
        value_set(&load(&dir, "spamhaus_drop/drop.txt"))
    );
}
