//! Table-driven tests: each row names indicators per watchlist, an
//! observed value in a field, and the indicators (by original text) that
//! must match, with the normalised value reported.

use std::sync::Arc;

use iocwatch_model::{Field, Indicator, KindHint, Meta, Origin, ParseOptions, parse_indicator};

use crate::{DomainMatch, LineFilter, Matcher, MatcherBuilder};

struct Row {
    name: &'static str,
    lists: &'static [(&'static str, &'static [&'static str])],
    field: Field,
    observed: &'static str,
    port: Option<u16>,
    expected: &'static [(&'static str, &'static str)],
}

macro_rules! row {
    ($name:ident, $lists:expr, $field:ident, $observed:expr, $expected:expr) => {
        Row {
            name: stringify!($name),
            lists: $lists,
            field: Field::$field,
            observed: $observed,
            port: None,
            expected: $expected,
        }
    };
    ($name:ident, $lists:expr, $field:ident, $observed:expr, port $port:expr, $expected:expr) => {
        Row {
            name: stringify!($name),
            lists: $lists,
            field: Field::$field,
            observed: $observed,
            port: Some($port),
            expected: $expected,
        }
    };
}

fn indicator(raw: &str, hint: Option<KindHint>) -> Indicator {
    let parsed =
        parse_indicator(raw, hint, ParseOptions::default()).unwrap_or_else(|err| panic!("{raw:?}: {err}"));
    Indicator {
        value: parsed.value,
        original: raw.to_owned(),
        meta: Arc::new(Meta::default()),
        origin: Origin {
            source: Arc::from("test"),
            line: 1,
        },
    }
}

fn build(lists: &[(&str, &[&str])]) -> Matcher {
    let mut builder = MatcherBuilder::new();
    for (name, values) in lists {
        let list = builder.add_watchlist(name, DomainMatch::Subdomains);
        for raw in *values {
            // A "type value" row gives a declared type.
            let (hint, value) = match raw.split_once(' ') {
                Some((kind, value)) => (KindHint::from_name(kind), value),
                None => (None, *raw),
            };
            builder.add(list, indicator(value, hint));
        }
    }
    builder.build().unwrap()
}

fn matches(matcher: &Matcher, field: Field, value: &str, port: Option<u16>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    matcher.match_value(field, value, port, |id, atomic| {
        let entry = matcher.entry(id);
        let list = &matcher.watchlist(entry.watchlist).name;
        found.push((
            format!("{list}:{}", entry.indicator.original),
            atomic.into_owned(),
        ));
    });
    found.sort();
    found
}

const ADDRESSES: &[Row] = &[
    row!(
        ipv4_exact,
        &[("a", &["198.51.100.7"])],
        DestinationIp,
        "198.51.100.7",
        &[("a:198.51.100.7", "198.51.100.7")]
    ),
    row!(
        ipv4_other,
        &[("a", &["198.51.100.7"])],
        DestinationIp,
        "198.51.100.8",
        &[]
    ),
    row!(
        ipv4_mapped_observed,
        &[("a", &["192.0.2.10"])],
        SourceIp,
        "::ffff:192.0.2.10",
        &[("a:192.0.2.10", "192.0.2.10")]
    ),
    row!(
        ipv6_expanded_observed,
        &[("a", &["2001:db8::1"])],
        SourceIp,
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        &[("a:2001:db8::1", "2001:db8::1")]
    ),
    row!(
        ipv6_upper_indicator,
        &[("a", &["2001:0DB8:0000:0000:0000:0000:0000:0001"])],
        SourceIp,
        "2001:db8::1",
        &[("a:2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    ),
    row!(
        network_contains,
        &[("a", &["198.51.100.0/24"])],
        DestinationIp,
        "198.51.100.200",
        &[("a:198.51.100.0/24", "198.51.100.200")]
    ),
    row!(
        network_outside,
        &[("a", &["198.51.100.0/24"])],
        DestinationIp,
        "198.51.101.1",
        &[]
    ),
    row!(
        every_covering_network,
        &[
            ("a", &["172.16.0.0/12", "198.51.100.32/27"]),
            ("b", &["198.51.100.0/24", "198.51.100.63"])
        ],
        SourceIp,
        "198.51.100.63",
        &[
            ("a:198.51.100.32/27", "198.51.100.63"),
            ("b:198.51.100.0/24", "198.51.100.63"),
            ("b:198.51.100.63", "198.51.100.63")
        ]
    ),
    row!(
        odd_prefix_lengths,
        &[("a", &["10.0.0.0/9", "203.0.113.128/25", "203.0.113.0/31"])],
        SourceIp,
        "203.0.113.1",
        &[("a:203.0.113.0/31", "203.0.113.1")]
    ),
    row!(
        ipv6_network,
        &[("a", &["2001:db8:1::/48"])],
        SourceIp,
        "2001:db8:1:ffff::9",
        &[("a:2001:db8:1::/48", "2001:db8:1:ffff::9")]
    ),
    row!(
        resolved_ip_matches,
        &[("a", &["198.51.100.7"])],
        DnsResolvedIp,
        "198.51.100.7",
        &[("a:198.51.100.7", "198.51.100.7")]
    ),
    row!(
        sni_ip_literal,
        &[("a", &["198.51.100.7"])],
        TlsServerName,
        "198.51.100.7",
        &[("a:198.51.100.7", "198.51.100.7")]
    ),
    row!(
        socket_port_matches,
        &[("a", &["204.79.197.200:8443"])],
        DestinationIp,
        "204.79.197.200",
        port 8443,
        &[("a:204.79.197.200:8443", "204.79.197.200")]
    ),
    row!(socket_other_port, &[("a", &["204.79.197.200:8443"])], DestinationIp, "204.79.197.200", port 443, &[]),
    row!(
        socket_no_port,
        &[("a", &["204.79.197.200:8443"])],
        DestinationIp,
        "204.79.197.200",
        &[]
    ),
    row!(
        garbage_address,
        &[("a", &["198.51.100.7"])],
        SourceIp,
        "not-an-ip",
        &[]
    ),
];

const DOMAINS: &[Row] = &[
    row!(
        domain_exact,
        &[("a", &["evil.example"])],
        DnsQuestionName,
        "evil.example",
        &[("a:evil.example", "evil.example")]
    ),
    row!(
        domain_subdomain,
        &[("a", &["evil.example"])],
        DnsQuestionName,
        "www.evil.example",
        &[("a:evil.example", "www.evil.example")]
    ),
    row!(
        domain_label_boundary,
        &[("a", &["higan.example"])],
        DnsQuestionName,
        "michigan.example",
        &[]
    ),
    row!(
        domain_longer_tld,
        &[("a", &["higan.example"])],
        DnsQuestionName,
        "higan.example.net",
        &[]
    ),
    row!(
        domain_case_and_dot,
        &[("a", &["good.example."])],
        DnsQuestionName,
        "GOOD.Example.",
        &[("a:good.example.", "good.example")]
    ),
    row!(
        domain_idn_both_sides,
        &[("a", &["bücher.example"])],
        UrlDomain,
        "www.xn--bcher-kva.example",
        &[("a:bücher.example", "www.xn--bcher-kva.example")]
    ),
    row!(
        domain_idn_observed_unicode,
        &[("a", &["xn--bcher-kva.example"])],
        TlsServerName,
        "BÜCHER.example",
        &[("a:xn--bcher-kva.example", "xn--bcher-kva.example")]
    ),
    row!(
        domain_parent_and_child_both,
        &[("a", &["evil.example", "cdn.evil.example"])],
        DnsQuestionName,
        "x.cdn.evil.example",
        &[
            ("a:cdn.evil.example", "x.cdn.evil.example"),
            ("a:evil.example", "x.cdn.evil.example")
        ]
    ),
    row!(
        domain_not_in_ip_field,
        &[("a", &["evil.example"])],
        SourceIp,
        "evil.example",
        &[]
    ),
];

const URLS: &[Row] = &[
    row!(
        url_scheme_host_case_port,
        &[("a", &["http://malware.example/path.txt"])],
        UrlFull,
        "HTTPS://MALWARE.EXAMPLE:443/path.txt",
        &[(
            "a:http://malware.example/path.txt",
            "https://malware.example/path.txt"
        )]
    ),
    row!(
        url_fragment_dropped,
        &[("a", &["http://malware.example/path.txt"])],
        UrlFull,
        "http://malware.example/path.txt#top",
        &[(
            "a:http://malware.example/path.txt",
            "http://malware.example/path.txt"
        )]
    ),
    row!(
        url_path_case_kept,
        &[("a", &["http://malware.example/path.txt"])],
        UrlFull,
        "http://malware.example/PATH.txt",
        &[]
    ),
    row!(
        url_zero_padded_port,
        &[("a", &["http://malware.example:8080/x"])],
        UrlFull,
        "http://malware.example:08080/x",
        &[("a:http://malware.example:8080/x", "http://malware.example:8080/x")]
    ),
    row!(
        url_other_port,
        &[("a", &["http://malware.example:8080/x"])],
        UrlFull,
        "http://malware.example/x",
        &[]
    ),
    row!(
        url_without_scheme_any_scheme,
        &[("a", &["malware.example/x"])],
        UrlFull,
        "ftp://malware.example/x",
        &[("a:malware.example/x", "ftp://malware.example/x")]
    ),
    row!(
        url_ftp_not_http,
        &[("a", &["ftp://malware.example/x"])],
        UrlFull,
        "http://malware.example/x",
        &[]
    ),
    row!(
        url_empty_path,
        &[("a", &["http://www.bad3.example"])],
        UrlFull,
        "http://www.bad3.example/",
        &[("a:http://www.bad3.example", "http://www.bad3.example/")]
    ),
    row!(
        url_query_kept,
        &[("a", &["http://a.example/gate.php?id=1"])],
        UrlFull,
        "http://a.example/gate.php?id=1",
        &[(
            "a:http://a.example/gate.php?id=1",
            "http://a.example/gate.php?id=1"
        )]
    ),
    row!(
        url_query_differs,
        &[("a", &["http://a.example/gate.php?id=1"])],
        UrlFull,
        "http://a.example/gate.php?id=2",
        &[]
    ),
    row!(
        url_defanged_indicator,
        &[("a", &["hxxps[://]secure-login[.]example[/]drop[.]php"])],
        UrlFull,
        "https://secure-login.example/drop.php",
        &[(
            "a:hxxps[://]secure-login[.]example[/]drop[.]php",
            "https://secure-login.example/drop.php"
        )]
    ),
];

const DIGESTS: &[Row] = &[
    row!(
        sha1_upper_indicator,
        &[("a", &["3395856CE81F2B7382DEE72602F798B642F14140"])],
        FileSha1,
        "3395856ce81f2b7382dee72602f798b642f14140",
        &[(
            "a:3395856CE81F2B7382DEE72602F798B642F14140",
            "3395856ce81f2b7382dee72602f798b642f14140"
        )]
    ),
    row!(
        md5_upper_observed,
        &[("a", &["44d88612fea8a8f36de82e1278abb02f"])],
        FileMd5,
        "44D88612FEA8A8F36DE82E1278ABB02F",
        &[(
            "a:44d88612fea8a8f36de82e1278abb02f",
            "44d88612fea8a8f36de82e1278abb02f"
        )]
    ),
    row!(
        bare_sha1_matches_cert,
        &[("a", &["e7fc4b658c64f9f7defb825a9d855cbfa65c3781"])],
        TlsCertSha1,
        "e7:fc:4b:65:8c:64:f9:f7:de:fb:82:5a:9d:85:5c:bf:a6:5c:37:81",
        &[(
            "a:e7fc4b658c64f9f7defb825a9d855cbfa65c3781",
            "e7fc4b658c64f9f7defb825a9d855cbfa65c3781"
        )]
    ),
    row!(
        bare_md5_matches_ja3,
        &[("a", &["b386946a5a44d1ddcc843bc75336dfce"])],
        TlsJa3,
        "b386946a5a44d1ddcc843bc75336dfce",
        &[(
            "a:b386946a5a44d1ddcc843bc75336dfce",
            "b386946a5a44d1ddcc843bc75336dfce"
        )]
    ),
    row!(
        typed_cert_not_file,
        &[("a", &["cert_sha1 e7fc4b658c64f9f7defb825a9d855cbfa65c3781"])],
        FileSha1,
        "e7fc4b658c64f9f7defb825a9d855cbfa65c3781",
        &[]
    ),
    row!(
        typed_ja3s_not_ja3,
        &[("a", &["ja3s b386946a5a44d1ddcc843bc75336dfce"])],
        TlsJa3,
        "b386946a5a44d1ddcc843bc75336dfce",
        &[]
    ),
    row!(
        typed_ja3_matches_ja3,
        &[("a", &["ja3 b386946a5a44d1ddcc843bc75336dfce"])],
        TlsJa3,
        "B386946A5A44D1DDCC843BC75336DFCE",
        &[(
            "a:b386946a5a44d1ddcc843bc75336dfce",
            "b386946a5a44d1ddcc843bc75336dfce"
        )]
    ),
    row!(
        typed_file_hash_not_cert,
        &[("a", &["file_hash e7fc4b658c64f9f7defb825a9d855cbfa65c3781"])],
        TlsCertSha1,
        "e7fc4b658c64f9f7defb825a9d855cbfa65c3781",
        &[]
    ),
    row!(
        sha1_not_in_md5_field,
        &[("a", &["3395856ce81f2b7382dee72602f798b642f14140"])],
        FileMd5,
        "3395856ce81f2b7382dee72602f798b642f14140",
        &[]
    ),
    row!(
        ja4_case,
        &[("a", &["t13d1516h2_8daaf6152771_b0da82dd1658"])],
        TlsJa4,
        "T13D1516H2_8DAAF6152771_B0DA82DD1658",
        &[(
            "a:t13d1516h2_8daaf6152771_b0da82dd1658",
            "t13d1516h2_8daaf6152771_b0da82dd1658"
        )]
    ),
];

const EMAILS: &[Row] = &[
    row!(
        email_case,
        &[("a", &["user[@]mail[.]example"])],
        EmailFrom,
        "User@Mail.Example",
        &[("a:user[@]mail[.]example", "user@mail.example")]
    ),
    row!(
        email_brackets,
        &[("a", &["user@mail.example"])],
        EmailTo,
        "<user@mail.example>",
        &[("a:user@mail.example", "user@mail.example")]
    ),
    row!(
        email_other_domain,
        &[("a", &["user@mail.example"])],
        EmailFrom,
        "user@mail.example.net",
        &[]
    ),
];

fn run(rows: &[Row]) {
    for row in rows {
        let matcher = build(row.lists);
        let got = matches(&matcher, row.field, row.observed, row.port);
        let expected: Vec<(String, String)> = row
            .expected
            .iter()
            .map(|(id, atomic)| ((*id).to_owned(), (*atomic).to_owned()))
            .collect();
        let mut expected = expected;
        expected.sort();
        assert_eq!(got, expected, "row {}", row.name);
        // The line filter must let every matching value through, alone
        // and inside the JSON and Zeek TSV text around it.
        if !got.is_empty()
            && let Some(filter) = LineFilter::new(&matcher)
        {
            for framed in [
                row.observed.to_owned(),
                format!("{{\"v\":\"{}\",\"n\":1}}", row.observed),
                format!("1.5\tC1\t{}\t-", row.observed),
            ] {
                assert!(filter.may_match(framed.as_bytes()), "row {}: {framed}", row.name);
            }
        }
    }
}

#[test]
fn address_rows() {
    run(ADDRESSES);
}

#[test]
fn domain_rows() {
    run(DOMAINS);
}

#[test]
fn url_rows() {
    run(URLS);
}

#[test]
fn digest_rows() {
    run(DIGESTS);
}

#[test]
fn email_rows() {
    run(EMAILS);
}

#[test]
fn exact_domain_watchlist() {
    let mut builder = MatcherBuilder::new();
    let list = builder.add_watchlist("exact", DomainMatch::Exact);
    builder.add(list, indicator("evil.example", None));
    let matcher = builder.build().unwrap();
    assert_eq!(
        matches(&matcher, Field::DnsQuestionName, "evil.example", None).len(),
        1
    );
    assert!(matches(&matcher, Field::DnsQuestionName, "www.evil.example", None).is_empty());
}

#[test]
fn duplicate_values_added_once() {
    let mut builder = MatcherBuilder::new();
    let list = builder.add_watchlist("a", DomainMatch::Subdomains);
    assert!(builder.add(list, indicator("198.51.100.7", None)));
    assert!(!builder.add(list, indicator("198.51.100.7", None)));
    assert_eq!(builder.duplicates(), 1);
    assert_eq!(builder.build().unwrap().len(), 1);
}

/// Parses a row value, where `"type value"` gives a declared type.
fn typed_indicator(raw: &str) -> Indicator {
    match raw.split_once(' ') {
        Some((kind, value)) => indicator(value, KindHint::from_name(kind)),
        None => indicator(raw, None),
    }
}

#[test]
fn duplicates_found_per_kind() {
    // Each row: two values added to one watchlist, then whether the second
    // is a duplicate of the first.
    let rows = [
        ("198.51.100.7", "198.51.100.7", true),
        ("198.51.100.7", "::ffff:198.51.100.7", true),
        ("2001:db8::1", "2001:DB8:0::1", true),
        ("198.51.100.7:443", "198.51.100.7:443", true),
        ("198.51.100.7:443", "198.51.100.7:80", false),
        ("198.51.100.0/24", "198.51.100.9/24", true),
        ("198.51.100.0/24", "198.51.100.0/25", false),
        ("2001:db8::/48", "2001:db8:0::/48", true),
        ("evil.example", "EVIL.example.", true),
        ("http://evil.example/a", "HTTP://Evil.example:80/a", true),
        ("http://evil.example/a", "https://evil.example/a", false),
        ("http://evil.example/a", "evil.example/a", false),
        (
            "44d88612fea8a8f36de82e1278abb02f",
            "44D88612FEA8A8F36DE82E1278ABB02F",
            true,
        ),
        (
            "44d88612fea8a8f36de82e1278abb02f",
            "ja3 44d88612fea8a8f36de82e1278abb02f",
            false,
        ),
        ("user@mail.example", "User@Mail.Example", true),
        (
            "t13d1516h2_8daaf6152771_b0da82dd1658",
            "T13D1516H2_8DAAF6152771_B0DA82DD1658",
            true,
        ),
    ];
    for (first, second, duplicate) in rows {
        let mut builder = MatcherBuilder::new();
        let list = builder.add_watchlist("a", DomainMatch::Subdomains);
        let other = builder.add_watchlist("b", DomainMatch::Subdomains);
        assert!(builder.add(list, typed_indicator(first)), "{first:?}");
        assert_eq!(
            builder.add(list, typed_indicator(second)),
            !duplicate,
            "{first:?} then {second:?}"
        );
        assert!(builder.add(other, typed_indicator(second)), "{second:?} in b");
        assert_eq!(
            builder.duplicates(),
            u64::from(duplicate),
            "{first:?} then {second:?}"
        );
        let expected = if duplicate { 2 } else { 3 };
        assert_eq!(
            builder.build().unwrap().len(),
            expected,
            "{first:?} then {second:?}"
        );
    }
}

#[test]
fn add_all_keeps_order_and_filter() {
    let count: u32 = 70_000;
    let value = |i: u32| format!("45.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
    let mut indicators: Vec<Indicator> = (0..count).map(|i| indicator(&value(i), None)).collect();
    let mut again = indicator(&value(3), None);
    again.original = "again".to_owned();
    indicators.push(again);

    let mut builder = MatcherBuilder::new();
    let list = builder.add_watchlist("a", DomainMatch::Subdomains);
    let added = builder.add_all(list, indicators, |indicator| indicator.original != value(5));
    assert_eq!(added, count as usize - 1);
    assert_eq!(builder.duplicates(), 1);

    let matcher = builder.build().unwrap();
    assert_eq!(matcher.len(), count as usize - 1);
    assert!(matches(&matcher, Field::DestinationIp, &value(5), None).is_empty());
    // The first of two equal values is the one kept.
    let found = matches(&matcher, Field::DestinationIp, &value(3), None);
    assert_eq!(found, [(format!("a:{}", value(3)), value(3))]);
    let last = matches(&matcher, Field::DestinationIp, &value(count - 1), None);
    assert_eq!(last.len(), 1);
}

#[test]
fn add_all_agrees_with_add() {
    // Batches of mixed kinds with duplicates inside a batch, across two
    // batches of one watchlist, and across watchlists (which are kept).
    let first = [
        "198.51.100.7",
        "evil.example",
        "198.51.100.0/24",
        "EVIL.example.",
        "http://evil.example/a",
        "::ffff:198.51.100.7",
        "44d88612fea8a8f36de82e1278abb02f",
        "2001:db8::1",
        "user@mail.example",
    ];
    let second = [
        "bad.example",
        "2001:DB8:0::1",
        "198.51.100.8",
        "44D88612FEA8A8F36DE82E1278ABB02F",
        "bad.example",
        "198.51.100.9/24",
    ];
    let batches: [(&str, &[&str]); 3] = [("a", &first), ("b", &first), ("a", &second)];
    let parsed =
        |values: &[&str]| -> Vec<Indicator> { values.iter().map(|value| indicator(value, None)).collect() };

    let mut one_by_one = MatcherBuilder::new();
    let mut batched = MatcherBuilder::new();
    for builder in [&mut one_by_one, &mut batched] {
        builder.add_watchlist("a", DomainMatch::Subdomains);
        builder.add_watchlist("b", DomainMatch::Subdomains);
    }
    for (list, values) in batches {
        let id = u16::from(list == "b");
        for indicator in parsed(values) {
            one_by_one.add(id, indicator);
        }
        batched.add_all(id, parsed(values), |_| true);
    }
    assert_eq!(batched.duplicates(), one_by_one.duplicates());
    assert_eq!(batched.duplicates(), 8);
    let (one_by_one, batched) = (one_by_one.build().unwrap(), batched.build().unwrap());
    assert_eq!(batched.len(), one_by_one.len());
    for id in 0..u32::try_from(batched.len()).unwrap() {
        let (expected, found) = (one_by_one.entry(id), batched.entry(id));
        assert_eq!(
            (found.watchlist, &found.indicator.original),
            (expected.watchlist, &expected.indicator.original),
            "indicator {id}"
        );
    }
    let observed = [
        (Field::DestinationIp, "198.51.100.7"),
        (Field::DestinationIp, "198.51.100.200"),
        (Field::DestinationIp, "2001:db8::1"),
        (Field::DnsQuestionName, "www.evil.example"),
        (Field::DnsQuestionName, "bad.example"),
        (Field::UrlFull, "http://evil.example/a"),
        (Field::FileMd5, "44d88612fea8a8f36de82e1278abb02f"),
        (Field::EmailFrom, "user@mail.example"),
    ];
    for (field, value) in observed {
        let expected = matches(&one_by_one, field, value, None);
        assert!(!expected.is_empty(), "{value:?}");
        assert_eq!(matches(&batched, field, value, None), expected, "{value:?}");
    }
}

#[test]
fn reserve_changes_no_result() {
    let values = [
        "198.51.100.7",
        "evil.example",
        "http://evil.example/a",
        "198.51.100.7",
    ];
    let indicators: Vec<_> = values.iter().map(|value| indicator(value, None)).collect();
    let mut builder = MatcherBuilder::new();
    let list = builder.add_watchlist("a", DomainMatch::Subdomains);
    builder.reserve(&indicators);
    let added: Vec<bool> = indicators
        .into_iter()
        .map(|indicator| builder.add(list, indicator))
        .collect();
    assert_eq!(added, [true, true, true, false]);
    let matcher = builder.build().unwrap();
    assert_eq!(
        matches(&matcher, Field::UrlDomain, "www.evil.example", None).len(),
        1
    );
    assert_eq!(matches(&matcher, Field::SourceIp, "198.51.100.7", None).len(), 1);
}

#[test]
fn lookup_any_field() {
    let matcher = build(&[("a", &["evil.example", "198.51.100.0/24"])]);
    let found = matcher.lookup("www.evil.example");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].2, "www.evil.example");
    assert_eq!(matcher.lookup("198.51.100.9").len(), 1);
    assert!(matcher.lookup("example.net").is_empty());
}

#[test]
fn fields_that_cannot_match_find_nothing() {
    // Each indicator with a value it matches.
    let cases: &[(&str, &str)] = &[
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8::7", "2001:db8::7"),
        ("203.0.113.0/24", "203.0.113.9"),
        ("evil.example", "www.evil.example"),
        ("http://cdn.evil.example/x", "http://cdn.evil.example/x"),
        (
            "d41d8cd98f00b204e9800998ecf8427e",
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
        (
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("user@mail.example", "user@mail.example"),
        (
            "ja4 t13d1516h2_8daaf6152771_02713d6af862",
            "t13d1516h2_8daaf6152771_02713d6af862",
        ),
    ];
    let indicators: Vec<&str> = cases.iter().map(|(indicator, _)| *indicator).collect();
    let matcher = build(&[("a", &indicators)]);
    for (indicator, value) in cases {
        let found = matcher.lookup(value);
        assert!(!found.is_empty(), "{indicator} matches {value} in no field");
        for (_, field, _) in found {
            assert!(field.can_match(), "{indicator} matches {value} in {field}");
        }
    }
}

#[test]
fn empty_matcher_matches_nothing() {
    let matcher = Matcher::empty();
    assert!(matches(&matcher, Field::SourceIp, "198.51.100.7", None).is_empty());
    assert!(matches(&matcher, Field::DnsQuestionName, "evil.example", None).is_empty());
}

#[test]
fn line_filter_rejects_near_misses() {
    let matcher = build(&[(
        "a",
        &[
            "45.12.3.4",
            "k3jd9s.badcdn.example",
            "http://cdn.evil.example/x",
            "user@mail.example",
            "d41d8cd98f00b204e9800998ecf8427e",
        ],
    )]);
    let filter = LineFilter::new(&matcher).unwrap();
    let misses = [
        "145.12.3.4",
        "10.0.0.1\t192.168.1.1",
        "notk3jd9s.badcdn.example",
        "k3jd9s.badcdn.example.lan",
        "www.other.test",
        "d41d8cd98f00b204e9800998ecf8427e00000000000000000000000000000000",
        "d41d8cd98f00b204e9800998ecf8427f",
        "d41d8cd98f00b204e9800998ecf8427",
        "8180",
        "2024-02-28T09:58:31.424243+0000",
        "mail.example.net",
        "{\"event_type\":\"flow\",\"src_ip\":\"10.1.2.3\",\"dest_port\":443}",
        "b1:3e:42:7e:00:9b:c2:56:11:8f:aa:01:62:e3:d4:05:9f:70:11:2c",
        "12:34:56",
        "tag:d41d8cd98f00b204e9800998ecf8427f:x",
    ];
    for miss in misses {
        assert!(!filter.may_match(miss.as_bytes()), "{miss}");
    }
    let hits = [
        "45.12.3.9",
        "::ffff:45.12.3.4",
        "::ffff:2d0c:304",
        "0:0:0:0:0:ffff:2d0c:304",
        "::0:0:0:0:ffff:2d0c:304",
        "WWW.K3JD9S.BadCdn.Example.",
        "cdn.evil.example:8080",
        "45.12.3.4:443",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "tag:d41d8cd98f00b204e9800998ecf8427e:x",
        "D4:1D:8C:D9:8F:00:B2:04:E9:80:09:98:EC:F8:42:7E",
        "d41d8cd98f00b204e9800998ecf8427e",
        "D41D8CD98F00B204E9800998ECF8427E",
        "mail.example",
        // An escape or a byte outside ASCII may decode to anything.
        r"caf\u00e9.test",
        "caf\u{e9}.test",
    ];
    for hit in hits {
        assert!(filter.may_match(hit.as_bytes()), "{hit}");
    }
}

#[test]
fn line_filter_names_agree_with_suffix_lookup() {
    // Enough domains that the filter's name bits fill up.
    let listed: Vec<String> = (0..3000).map(|i| format!("n{i}.zone{}.test", i % 37)).collect();
    let values: Vec<&str> = listed.iter().map(String::as_str).collect();
    let matcher = build(&[("a", &values)]);
    let filter = LineFilter::new(&matcher).unwrap();
    let is_listed = |name: &str| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut suffix = name.as_str();
        loop {
            if listed.iter().any(|domain| domain == suffix) {
                return true;
            }
            match suffix.split_once('.') {
                Some((_, parent)) => suffix = parent,
                None => return false,
            }
        }
    };
    for i in (0..6000).step_by(7) {
        for name in [
            format!("n{i}.zone{}.test", i % 37),
            format!("www.n{i}.zone{}.test.", i % 37),
            format!("N{i}.ZONE{}.Test", i % 37),
            format!("n{i}.zone{}.test", (i + 1) % 37),
            format!("n{i}x.zone{}.test", i % 37),
            format!("zone{}.test", i % 37),
        ] {
            assert_eq!(filter.may_match(name.as_bytes()), is_listed(&name), "{name}");
        }
    }
}

#[test]
fn line_filter_digests_agree_with_table_lookup() {
    // Enough digests of every length that the filter's digest bits fill
    // up, and values that share their first digits with listed ones.
    let hex_of = |seed: u64, length: usize| {
        let mut text = String::new();
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        while text.len() < length {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(&format!("{state:016x}"));
        }
        text.truncate(length);
        text
    };
    let lengths = [32, 40, 64, 128];
    let listed: Vec<String> = (0..2000).map(|i| hex_of(i, lengths[i as usize % 4])).collect();
    let values: Vec<&str> = listed.iter().map(String::as_str).collect();
    let matcher = build(&[("a", &values)]);
    let filter = LineFilter::new(&matcher).unwrap();
    for i in 0..4000_u64 {
        let digest = hex_of(i, lengths[i as usize % 4]);
        let is_listed = i < 2000;
        assert_eq!(filter.may_match(digest.as_bytes()), is_listed, "{digest}");
        let upper = digest.to_ascii_uppercase();
        assert_eq!(filter.may_match(upper.as_bytes()), is_listed, "{upper}");
        // The same first digits with another last digit.
        let mut changed = digest.clone();
        let last = if changed.ends_with('0') { "1" } else { "0" };
        changed.replace_range(changed.len() - 1.., last);
        assert!(!filter.may_match(changed.as_bytes()), "{changed}");
    }
}

#[test]
fn line_filter_judges_ipv6_and_ja4() {
    let matcher = build(&[(
        "a",
        &[
            "2001:db8::1",
            "2001:db8:1::/48",
            "2a0b:4340::/32",
            "[2001:db8:5::5]:443",
            "http://[2001:db8:7::7]/a",
            "ja4 t13d1516h2_8daaf6152771_b186095e22b6",
        ],
    )]);
    let filter = LineFilter::new(&matcher).unwrap();
    let hits = [
        "2001:db8::1",
        "2001:DB8:0:0:0:0:0:1",
        "2001:db8:1:ffff::9",
        "2a0b:4340:ffff::1",
        "2001:db8:5::5",
        "2001:db8:7::7",
        "t13d1516h2_8daaf6152771_b186095e22b6",
        "T13D1516H2_8DAAF6152771_B186095E22B6",
        "{\"src_ip\":\"2001:db8:1::2\",\"src_port\":443}",
        "1.5\tC1\t2a0b:4340::1\t53",
        "{\"ja4\":\"t13d1516h2_8daaf6152771_b186095e22b6\"}",
    ];
    for hit in hits {
        assert!(filter.may_match(hit.as_bytes()), "{hit}");
    }
    let misses = [
        "2001:db8::2",
        "2001:db8:2::1",
        "2a10::1",
        "2a0b:4341::1",
        "2001:db8:5::6",
        "fe80::1",
        "::1",
        "t13d1516h2_8daaf6152771_b186095e22b7",
        "t13d1516h2_8daaf6152771",
        "{\"src_ip\":\"2001:db8:2::2\",\"src_port\":443}",
    ];
    for miss in misses {
        assert!(!filter.may_match(miss.as_bytes()), "{miss}");
    }
    assert!(LineFilter::new(&build(&[("a", &["45.12.3.4"])])).is_some());
}

#[test]
fn line_filter_ipv6_agrees_with_matcher() {
    let networks = [
        "2001:db8:10::/44",
        "2001:db8:abcd:12::/64",
        "2a0b:4340::/32",
        "2001:db8::42",
    ];
    let matcher = build(&[("a", &networks)]);
    let filter = LineFilter::new(&matcher).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let bases: [u128; 3] = [
        0x2001_0db8_0000_0000 << 64,
        0x2001_0db8_abcd_0012 << 64,
        0x2a0b_4340 << 96,
    ];
    for round in 0..6000 {
        // Addresses near the listed networks, with a few low bits set and
        // one bit of the prefix flipped in some rounds.
        let base = bases[round % bases.len()];
        let low = u128::from(next() & 0xffff) | (u128::from(next() & 0xff) << 64);
        let flip = if round % 4 == 0 {
            1 << (64 + next() % 64)
        } else {
            0
        };
        let address = std::net::Ipv6Addr::from(base ^ flip | low);
        let text = address.to_string();
        let listed = !matches(&matcher, Field::SourceIp, &text, None).is_empty();
        assert_eq!(filter.may_match(text.as_bytes()), listed, "{text}");
    }
}

#[test]
fn line_filter_reads_url_and_email_hosts() {
    let lists: &[(&str, &[&str])] = &[("a", &["evil.example", "http://45.12.3.4/a", "user@mail.example"])];
    let filter = LineFilter::new(&build(lists)).unwrap();
    assert!(filter.may_match(b"45.12.3.4"));
    assert!(filter.may_match(b"mail.example"));
    assert!(filter.may_match(b"www.evil.example"));
    assert!(!filter.may_match(b"other.example"));
}

#[test]
fn line_filter_judges_hosts_without_a_dot() {
    let lists: &[(&str, &[&str])] = &[(
        "a",
        &["evil.example", "http://intranet/a", "http://us_battle_net/login"],
    )];
    let matcher = build(lists);
    let filter = LineFilter::new(&matcher).unwrap();
    let hits = [
        "intranet",
        "INTRANET",
        "http://intranet/a",
        "intranet:8080",
        "us_battle_net",
        "{\"event_type\":\"http\",\"http\":{\"hostname\":\"intranet\",\"url\":\"/a\"}}",
        "www.evil.example",
    ];
    for hit in hits {
        assert!(filter.may_match(hit.as_bytes()), "{hit}");
    }
    assert!(!matches(&matcher, Field::UrlFull, "http://intranet/a", None).is_empty());
    let misses = ["intranet2", "other", "c.example", "TCP", "http://other/a", "cafe"];
    for miss in misses {
        assert!(!filter.may_match(miss.as_bytes()), "{miss}");
    }
}
