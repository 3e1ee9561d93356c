//! Whole-load tests: small watchlists written here, read through
//! `load_reader` as a user's file would be.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;

use iocwatch_model::{DigestAlgo, IndicatorError, IndicatorKind, Note, ValueError};

use crate::*;

fn load_as(source: &str, text: &str, options: &LoadOptions) -> Watchlist {
    load_reader("test", source, text.as_bytes(), options).unwrap_or_else(|error| panic!("{error}"))
}

fn load(source: &str, text: &str) -> Watchlist {
    load_as(source, text, &LoadOptions::default())
}

fn values(watchlist: &Watchlist) -> Vec<String> {
    watchlist
        .indicators
        .iter()
        .map(|indicator| indicator.value.to_string())
        .collect()
}

fn rejected_lines(watchlist: &Watchlist) -> Vec<u64> {
    watchlist
        .report
        .rejected
        .iter()
        .map(|rejection| rejection.line)
        .collect()
}

fn lines_of(watchlist: &Watchlist) -> Vec<u64> {
    watchlist
        .indicators
        .iter()
        .map(|indicator| indicator.origin.line)
        .collect()
}

// Plain lists.

#[test]
fn plain_quirks_table() {
    let rows: [(&str, &str, &[&str]); 14] = [
        (
            "one per line",
            "192.0.2.1\nevil.example\n",
            &["192.0.2.1", "evil.example"],
        ),
        ("comments", "# c\n; c\n! c\n192.0.2.1\n", &["192.0.2.1"]),
        (
            "inline comments",
            "1.10.16.0/20 ; SBL256894\nevil.example # note\n",
            &["1.10.16.0/20", "evil.example"],
        ),
        (
            "several values",
            "d1[.]example d2[.]example\td3[.]example\n",
            &["d1.example", "d2.example", "d3.example"],
        ),
        (
            "trailing blanks",
            "1.10.16.0/20 \n  evil.example\t\n",
            &["1.10.16.0/20", "evil.example"],
        ),
        (
            "hosts file",
            "127.0.0.1 localhost\n0.0.0.0 bad.example\n127.0.0.1 worse.example\n",
            &["bad.example", "worse.example"],
        ),
        (
            "adblock",
            "! Title: x\n[Adblock Plus 2.0]\n||bad.example^\n||bad.example/a/b.exe^$all\n",
            &["bad.example", "bad.example/a/b.exe"],
        ),
        (
            "dnsmasq",
            "address=/bad.example/0.0.0.0\nserver=/worse.example/\n",
            &["bad.example", "worse.example"],
        ),
        (
            "bind",
            "zone \"bad.example\" { type master; notify no; file \"null.zone.file\"; };\n",
            &["bad.example"],
        ),
        (
            "rpz",
            "; c\n$TTL 30\n@ IN SOA localhost. root.localhost. 1 86400 3600 604800 30\n NS localhost.\n\nbad.example CNAME .\n",
            &["bad.example"],
        ),
        (
            "rpz multi-line soa",
            "@ IN SOA ns. admin. (\n 1 ; serial\n 3600 )\nbad.example CNAME .\n",
            &["bad.example"],
        ),
        ("ip and port", "213.152.161.99:47390\n", &["213.152.161.99:47390"]),
        (
            "url with scheme",
            "https://api.msuto.example/\n",
            &["https://api.msuto.example/"],
        ),
        (
            "ipv6 expanded",
            "2001:0470:0001:0908:0000:0000:0000:9001\n",
            &["2001:470:1:908::9001"],
        ),
    ];
    for (case, text, expected) in rows {
        let watchlist = load("list.txt", text);
        assert_eq!(watchlist.format, IntelFormat::Plain, "{case}");
        assert_eq!(values(&watchlist), expected, "{case}");
        assert!(
            watchlist.report.rejected.is_empty(),
            "{case}: {:?}",
            watchlist.report.rejected
        );
    }
}

#[test]
fn plain_notes_rejected_whole_and_words_describe() {
    let text = "Tue Feb 27 09:25:55 IST 2024\n\
                Header of the list @ commit 00f8451b5179295cacdd62a7303d4cf3c374fce6 via feodo.example\n\
                192.0.2.7 scanning host\n\
                evil.example is bad # seen 2024\n\
                192.0.2.8 203.0.113.9 junk\n\
                1.2.3 4.5.6 198.51.100.1\n\
                Feb 27 2024 01:00\n\
                192.0.2.9,198.51.100.9\n\
                http://evil.example/a,b\n";
    let watchlist = load("notes.txt", text);

    assert_eq!(
        values(&watchlist),
        [
            "192.0.2.7",
            "evil.example",
            "192.0.2.8",
            "203.0.113.9",
            "198.51.100.1",
            "192.0.2.9",
            "198.51.100.9",
            "http://evil.example/a,b"
        ]
    );

    let descriptions: Vec<Option<&str>> = watchlist
        .indicators
        .iter()
        .map(|indicator| indicator.meta.description.as_deref())
        .collect();
    assert_eq!(
        descriptions,
        [
            Some("scanning host"),
            Some("is bad seen 2024"),
            Some("junk"),
            Some("junk"),
            None,
            None,
            None,
            None
        ]
    );

    assert_eq!(rejected_lines(&watchlist), [1, 2, 6, 6, 7]);
    let text = |others, tokens| LineError::Text { others, tokens };
    assert_eq!(watchlist.report.rejected[0].error, text(6, 6));
    assert_eq!(watchlist.report.rejected[1].error, text(7, 9));
    assert_eq!(watchlist.report.rejected[4].error, text(4, 4));

    let note = watchlist.report.rejected[1].to_string();
    assert!(note.contains("start notes with #"), "{note}");
}

#[test]
fn plain_values_then_words_described() {
    let rows: [(&str, &[&str], &str); 6] = [
        ("203.0.113.97,scanner", &["203.0.113.97"], "scanner"),
        (
            "203.0.113.95, scanner, brute force",
            &["203.0.113.95"],
            "scanner, brute force",
        ),
        (
            "evil4.example - dropper domain",
            &["evil4.example"],
            "dropper domain",
        ),
        (
            "198.51.100.10,198.51.100.11 bad hosts",
            &["198.51.100.10", "198.51.100.11"],
            "bad hosts",
        ),
        (
            "203.0.113.50 was seen beaconing to bad.example",
            &["203.0.113.50"],
            "was seen beaconing to bad.example",
        ),
        ("192.0.2.8 | c2 panel", &["192.0.2.8"], "c2 panel"),
    ];
    for (line, expected, description) in rows {
        let watchlist = load("list.txt", &format!("{line}\n"));
        assert_eq!(values(&watchlist), expected, "{line}");
        assert!(
            watchlist.report.rejected.is_empty(),
            "{line}: {:?}",
            watchlist.report.rejected
        );
        for indicator in &watchlist.indicators {
            assert_eq!(indicator.meta.description.as_deref(), Some(description), "{line}");
        }
    }
}

#[test]
fn plain_bad_lines_reported_with_numbers() {
    let text = "192.0.2.1\nnot an indicator\n44d88612fea8a8f36de82e1278abb02\n\nevil.example\n010.1.1.1\n";
    let watchlist = load("list.txt", text);
    assert_eq!(values(&watchlist), ["192.0.2.1", "evil.example"]);
    assert_eq!(lines_of(&watchlist), [1, 5]);
    assert_eq!(rejected_lines(&watchlist), [2, 3, 6]);
    assert_eq!(
        watchlist.report.rejected[0].error,
        LineError::Text { others: 3, tokens: 3 }
    );
    let short_md5 = &watchlist.report.rejected[1];
    assert_eq!(short_md5.value, "44d88612fea8a8f36de82e1278abb02");
    assert_eq!(
        short_md5.error,
        LineError::Indicator(IndicatorError::Invalid(ValueError::DigestLength(31)))
    );
}

#[test]
fn plain_crlf_bom_and_no_final_newline() {
    let text = "\u{feff}# list\r\n2001:0DB8:0000:0000:0000:0000:0000:0001\r\n192.0.2.10  \r\nevil.example";
    let watchlist = load("list.txt", text);
    assert_eq!(values(&watchlist), ["2001:db8::1", "192.0.2.10", "evil.example"]);
    assert_eq!(watchlist.report.lines, 4);
    assert!(watchlist.report.rejected.is_empty());
}

#[test]
fn plain_broad_and_unroutable() {
    let watchlist = load("list.txt", "0.0.0.0/0\n127.0.0.1\ncom\n192.0.2.0/24\n");
    assert_eq!(values(&watchlist), ["192.0.2.0/24"]);
    assert_eq!(rejected_lines(&watchlist), [1, 3]);
    assert!(
        watchlist
            .report
            .rejected
            .iter()
            .all(|r| matches!(r.error, LineError::Indicator(IndicatorError::TooBroad(_))))
    );
    assert_eq!(watchlist.report.dropped.len(), 1);
    assert_eq!(watchlist.report.dropped[0].line, 2);

    let options = LoadOptions {
        parse: iocwatch_model::ParseOptions { allow_broad: true },
        ..LoadOptions::default()
    };
    let forced = load_as("list.txt", "10.0.0.0/7\ncom\n", &options);
    assert_eq!(forced.indicators.len(), 2);
}

#[test]
fn plain_duplicates_counted() {
    let watchlist = load(
        "list.txt",
        "Evil.Example\nevil.example.\n192.0.2.1\n192.0.2.1/32\nevil[.]example\n",
    );
    assert_eq!(values(&watchlist), ["evil.example", "192.0.2.1"]);
    assert_eq!(watchlist.report.duplicates, 3);
    assert_eq!(watchlist.report.loaded, 2);
}

#[test]
fn plain_inline_comment_is_description() {
    let watchlist = load(
        "drop.txt",
        "; Spamhaus DROP List\n1.10.16.0/20 ; SBL256894\n1.19.0.0/16 ; SBL434604\n",
    );
    let descriptions: Vec<Option<&str>> = watchlist
        .indicators
        .iter()
        .map(|i| i.meta.description.as_deref())
        .collect();
    assert_eq!(descriptions, [Some("SBL256894"), Some("SBL434604")]);
}

#[test]
fn plain_maltrail_references_per_block() {
    let text = "\
# Copyright (c) 2014-2026 Maltrail developers
# Aliases: crysan, sheetrat

# Reference: https://a.example/1

one.example

# Reference: https://b.example/2
# Reference: https://b.example/3

213.152.161.99:47390
two.example
";
    let watchlist = load("malware_asyncrat.txt", text);
    assert_eq!(
        values(&watchlist),
        ["one.example", "213.152.161.99:47390", "two.example"]
    );
    let first = &watchlist.indicators[0].meta;
    assert_eq!(first.reference.as_deref(), Some("https://a.example/1"));
    assert_eq!(
        first.extra.get("aliases").map(String::as_str),
        Some("crysan, sheetrat")
    );
    assert!(!first.extra.contains_key("references"));
    let second = &watchlist.indicators[1].meta;
    assert_eq!(second.reference.as_deref(), Some("https://b.example/2"));
    assert_eq!(
        second.extra.get("references").map(String::as_str),
        Some("https://b.example/2 https://b.example/3")
    );
    assert!(std::sync::Arc::ptr_eq(
        &watchlist.indicators[1].meta,
        &watchlist.indicators[2].meta
    ));
    assert_eq!(watchlist.indicators[1].value.kind(), IndicatorKind::IpPort);
}

#[test]
fn plain_firehol_header_meta() {
    let text = "#\n# feodo\n#\n# Maintainer      : Abuse.ch\n# Maintainer URL  : https://feodotracker.abuse.ch/\n# Category        : malware\n# Update Frequency: 30 mins \n#\n2.50.11.28\n";
    let watchlist = load("feodo.ipset", text);
    let meta = &watchlist.indicators[0].meta;
    assert_eq!(meta.provider.as_deref(), Some("Abuse.ch"));
    assert_eq!(meta.tags, ["malware"]);
    assert!(meta.extra.is_empty());
}

#[test]
fn plain_adblock_exception_rejected() {
    let watchlist = load("filter.txt", "||bad.example^\n@@||good.example^\n");
    assert_eq!(values(&watchlist), ["bad.example"]);
    assert_eq!(watchlist.report.rejected[0].error, LineError::AdblockException);
    assert_eq!(watchlist.report.rejected[0].line, 2);
}

#[test]
fn plain_notes_recorded() {
    let watchlist = load("list.txt", "10.1.2.3\n198.51.100.7/24\n");
    let notes: Vec<(u64, &Note)> = watchlist.report.notes.iter().map(|n| (n.line, &n.note)).collect();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0], (1, &Note::InternalAddress));
    assert!(matches!(notes[1], (2, Note::HostBitsCleared { .. })));
}

#[test]
fn plain_origin_and_original_kept() {
    let watchlist = load("feeds/list.txt", "\n\nhxxp://evil[.]example/a\n");
    let indicator = &watchlist.indicators[0];
    assert_eq!(indicator.original, "hxxp://evil[.]example/a");
    assert_eq!(&*indicator.origin.source, "feeds/list.txt");
    assert_eq!(indicator.origin.line, 3);
}

// CSV.

#[test]
fn csv_header_forms_table() {
    let rows: [(&str, &str, &str); 6] = [
        ("plain header", "ip,description\n192.0.2.1,c2\n", "192.0.2.1"),
        (
            "commented header",
            "#\n# ja3_md5,Firstseen,Lastseen,Listingreason\nb386946a5a44d1ddcc843bc75336dfce,a,b,Dridex\n",
            "b386946a5a44d1ddcc843bc75336dfce",
        ),
        (
            "header after comment block",
            "####\n# Feodo\n####\n#\n\"first_seen_utc\",\"dst_ip\",\"malware\"\n\"2023-05-23 17:51:44\",\"192.9.135.73\",\"Pikabot\"\n# END 1 entries",
            "192.9.135.73",
        ),
        (
            "quoted comment header",
            "# \"first_seen_utc\", \"ioc_id\", \"ioc_value\", \"ioc_type\"\n\"2026-03-07 13:29:53\", \"1760922\", \"fern.example\", \"domain\"\n",
            "fern.example",
        ),
        (
            "bom header",
            "\u{feff}SHA1,ListingReason,ListingDate\r\n19e664f09401bf648b6ea57719e34ad795f3b6cb,AsyncRAT C&C,12/22/2023 6:58\r\n",
            "19e664f09401bf648b6ea57719e34ad795f3b6cb",
        ),
        (
            "upper-case names",
            "URL,Target\nhttp://a.example/x,Bank\n",
            "http://a.example/x",
        ),
    ];
    for (case, text, expected) in rows {
        let watchlist = load("feed.csv", text);
        assert_eq!(watchlist.format, IntelFormat::Csv, "{case}");
        assert_eq!(values(&watchlist), [expected], "{case}");
        assert!(
            watchlist.report.rejected.is_empty(),
            "{case}: {:?}",
            watchlist.report.rejected
        );
    }
}

#[test]
fn csv_column_name_sets_type() {
    let text = "# ja3_md5,Firstseen\nb386946a5a44d1ddcc843bc75336dfce,2017-07-14 18:08:15\n";
    let watchlist = load("ja3.csv", text);
    assert_eq!(watchlist.indicators[0].value.kind(), IndicatorKind::Ja3);
    assert_eq!(
        watchlist.indicators[0].meta.first_seen.as_deref(),
        Some("2017-07-14 18:08:15")
    );

    let sha1 = load(
        "ssl.csv",
        "SHA1,ListingReason\n19e664f09401bf648b6ea57719e34ad795f3b6cb,x\n",
    );
    assert_eq!(
        sha1.indicators[0].value.kind(),
        IndicatorKind::Hash(DigestAlgo::Sha1)
    );
}

#[test]
fn csv_ip_in_domain_column_retyped() {
    let text =
        "domain,description\n198.51.100.9,listed under domain by mistake\nevil-cdn.example,payload host\n";
    let watchlist = load("intel.csv", text);
    let kinds: Vec<IndicatorKind> = watchlist.indicators.iter().map(|i| i.value.kind()).collect();
    assert_eq!(kinds, [IndicatorKind::Ip, IndicatorKind::Domain]);
    assert_eq!(watchlist.report.notes.len(), 1);
    assert_eq!(watchlist.report.notes[0].line, 2);
    assert!(matches!(
        watchlist.report.notes[0].note,
        Note::Retyped {
            declared: "domain",
            loaded: IndicatorKind::Ip
        }
    ));
    assert_eq!(
        watchlist.indicators[0].meta.description.as_deref(),
        Some("listed under domain by mistake")
    );
}

#[test]
fn csv_threatfox_rows() {
    let text = concat!(
        "################################################################\n",
        "# ThreatFox IOCs: recent additions - CSV format                #\n",
        "################################################################\n",
        "#\n",
        "# \"first_seen_utc\", \"ioc_id\", \"ioc_value\", \"ioc_type\", \"threat_type\", \"fk_malware\", ",
        "\"malware_alias\", \"malware_printable\", \"last_seen_utc\", \"confidence_level\", \"is_compromised\", ",
        "\"reference\", \"tags\", \"anonymous\", \"reporter\"\n",
        "\"2026-03-07 13:29:53\", \"1760922\", \"fernsecur.windfi.example\", \"domain\", \"botnet_cc\", ",
        "\"win.cobalt_strike\", \"None\", \"Cobalt Strike\", \"None\", \"75\", \"False\", \"None\", ",
        "\"c2,cobaltstrike\", \"0\", \"abuse_ch\"\n",
        "\"2026-03-07 13:30:00\", \"1760923\", \"41.234.45[.]136:8808\", \"ip:port\", \"botnet_cc\", ",
        "\"win.asyncrat\", \"None\", \"AsyncRAT\", \"2026-03-08 00:00:00\", \"100\", \"False\", ",
        "\"https://ref.example/1\", \"None\", \"0\", \"someone\"\n",
        "\"2026-03-07 13:31:00\", \"1760924\", \"44d88612fea8a8f36de82e1278abb02f\", \"md5_hash\", \"payload\", ",
        "\"None\", \"None\", \"None\", \"None\", \"50\", \"False\", \"None\", \"None\", \"0\", \"someone\"\n",
    );
    let watchlist = load("recent.csv", text);
    assert!(
        watchlist.report.rejected.is_empty(),
        "{:?}",
        watchlist.report.rejected
    );
    assert_eq!(
        values(&watchlist),
        [
            "fernsecur.windfi.example",
            "41.234.45.136:8808",
            "44d88612fea8a8f36de82e1278abb02f"
        ]
    );

    let first = &watchlist.indicators[0].meta;
    assert_eq!(first.description.as_deref(), Some("botnet_cc"));
    assert_eq!(first.malware.as_deref(), Some("Cobalt Strike"));
    assert_eq!(
        first.extra.get("fk_malware").map(String::as_str),
        Some("win.cobalt_strike")
    );
    assert_eq!(first.confidence, Some(75));
    assert_eq!(first.first_seen.as_deref(), Some("2026-03-07 13:29:53"));
    assert_eq!(first.last_seen, None);
    assert_eq!(first.reference, None);
    assert_eq!(first.tags, ["c2", "cobaltstrike"]);
    assert_eq!(first.provider.as_deref(), Some("abuse_ch"));
    assert_eq!(first.extra.get("ioc_id").map(String::as_str), Some("1760922"));
    assert!(!first.extra.contains_key("malware_alias"));
    assert!(!first.extra.contains_key("ioc_type"));

    let second = &watchlist.indicators[1].meta;
    assert_eq!(second.reference.as_deref(), Some("https://ref.example/1"));
    assert_eq!(second.last_seen.as_deref(), Some("2026-03-08 00:00:00"));
    assert_eq!(watchlist.indicators[1].value.kind(), IndicatorKind::IpPort);
}

#[test]
fn csv_urlhaus_quoted_commas() {
    let text = concat!(
        "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n",
        "\"3520667\",\"2025-04-21 12:35:06\",\"http://117.209.87.242:60905/bin.sh\",\"online\",",
        "\"2025-04-21 12:35:06\",\"malware_download\",\"32-bit,elf,mips,Mozi\",",
        "\"https://urlhaus.abuse.ch/url/3520667/\",\"geenensp\"\n",
    );
    let watchlist = load("csv_recent.txt", text);
    assert_eq!(watchlist.format, IntelFormat::Csv);
    assert_eq!(values(&watchlist), ["http://117.209.87.242:60905/bin.sh"]);
    let meta = &watchlist.indicators[0].meta;
    assert_eq!(meta.tags, ["32-bit", "elf", "mips", "Mozi"]);
    assert_eq!(
        meta.reference.as_deref(),
        Some("https://urlhaus.abuse.ch/url/3520667/")
    );
    assert_eq!(meta.description.as_deref(), Some("malware_download"));
    assert_eq!(meta.provider.as_deref(), Some("geenensp"));
    assert_eq!(meta.first_seen.as_deref(), Some("2025-04-21 12:35:06"));
    assert_eq!(meta.last_seen.as_deref(), Some("2025-04-21 12:35:06"));
    assert_eq!(meta.extra.get("url_status").map(String::as_str), Some("online"));
    assert_eq!(meta.extra.get("id").map(String::as_str), Some("3520667"));
}

/// Reads one field of the metadata as text.
type MetaField = fn(&iocwatch_model::Meta) -> Option<String>;

#[test]
fn csv_metadata_mapping_table() {
    let rows: [(&str, &str, MetaField); 9] = [
        ("description", "d", |m| m.description.clone()),
        ("Listingreason", "d", |m| m.description.clone()),
        ("phish_detail_url", "https://r.example/", |m| m.reference.clone()),
        ("submission_time", "2019-05-15T19:26:26+00:00", |m| {
            m.first_seen.clone()
        }),
        ("lastseen", "2020-01-01", |m| m.last_seen.clone()),
        ("malware_family", "Emotet", |m| m.malware.clone()),
        ("source", "abuse.ch", |m| m.provider.clone()),
        ("TLP", "amber", |m| m.tlp.clone()),
        ("confidence", "80", |m| m.confidence.map(|c| c.to_string())),
    ];
    for (column, value, field) in rows {
        let text = format!("ip,{column}\n192.0.2.1,{value}\n");
        let watchlist = load("feed.csv", &text);
        let meta = &watchlist.indicators[0].meta;
        assert_eq!(field(meta).as_deref(), Some(value), "{column}");
        assert!(meta.extra.is_empty(), "{column}: {:?}", meta.extra);
    }
}

#[test]
fn csv_unset_values_skipped() {
    let watchlist = load("feed.csv", "ip,description,malware,tags\n192.0.2.1,None,-,\n");
    assert!(watchlist.indicators[0].meta.is_empty());
}

#[test]
fn csv_type_column_overrides_name() {
    let text = "indicator,type\nevil.example,domain\n198.51.100.9,domain\nhttp://a.example/x,url\n";
    let watchlist = load("feed.csv", text);
    assert_eq!(watchlist.indicators.len(), 3);
    assert_eq!(watchlist.report.notes.len(), 1);
    assert_eq!(watchlist.report.notes[0].line, 3);
}

#[test]
fn csv_bad_rows_reported_with_numbers() {
    let text = "ip,description\n192.0.2.1,good\nnot-an-ip,bad\n\n,empty\n192.0.2.2\n\"192.0.2.3\",\"multi\nline\"\n192.0.2.4,after\n";
    let watchlist = load("feed.csv", text);
    assert_eq!(
        values(&watchlist),
        ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
    );
    assert_eq!(lines_of(&watchlist), [2, 6, 7, 9]);
    assert_eq!(rejected_lines(&watchlist), [3, 5]);
    assert_eq!(
        watchlist.report.rejected[1].error,
        LineError::Indicator(ValueError::Empty.into())
    );
    assert_eq!(
        watchlist.indicators[2].meta.description.as_deref(),
        Some("multi\nline")
    );
}

#[test]
fn csv_short_row_rejected() {
    let watchlist = load("feed.csv", "id,url\n1\n2,http://a.example/\n");
    assert_eq!(values(&watchlist), ["http://a.example/"]);
    let rejection = &watchlist.report.rejected[0];
    assert_eq!(rejection.line, 2);
    assert_eq!(
        rejection.error,
        LineError::MissingField {
            column: "url".to_owned(),
            position: 2,
            found: 1
        }
    );
}

#[test]
fn csv_repeated_header_skipped() {
    let watchlist = load(
        "feed.csv",
        "ip,description\n192.0.2.1,a\nip,description\n192.0.2.2,b\n",
    );
    assert_eq!(values(&watchlist), ["192.0.2.1", "192.0.2.2"]);
    assert!(watchlist.report.rejected.is_empty());
}

#[test]
fn csv_unknown_column_lists_columns() {
    let options = LoadOptions {
        column: Some("ioc".to_owned()),
        ..LoadOptions::default()
    };
    let error = load_reader(
        "t",
        "feed.csv",
        "ip,description\n192.0.2.1,a\n".as_bytes(),
        &options,
    )
    .unwrap_err();
    match error.kind() {
        IntelErrorKind::ColumnNotFound { requested, available } => {
            assert_eq!(requested, "ioc");
            assert_eq!(available, &["ip", "description"]);
        }
        other => panic!("unexpected error: {other}"),
    }
    let message = error.to_string();
    assert!(message.starts_with("feed.csv: "), "{message}");
    assert!(message.contains("\"ip\", \"description\""), "{message}");
}

#[test]
fn csv_column_option_wins() {
    let options = LoadOptions {
        column: Some("Second IP".to_owned()),
        ..LoadOptions::default()
    };
    let watchlist = load_as("feed.csv", "ip,second ip\n192.0.2.1,192.0.2.2\n", &options);
    assert_eq!(values(&watchlist), ["192.0.2.2"]);
    assert_eq!(
        watchlist.indicators[0].meta.extra.get("ip").map(String::as_str),
        Some("192.0.2.1")
    );
}

#[test]
fn csv_column_option_detects_header() {
    let options = LoadOptions {
        column: Some("observable_text".to_owned()),
        ..LoadOptions::default()
    };
    let watchlist = load_as("feed", "observable_text,note\nevil.example,x\n", &options);
    assert_eq!(watchlist.format, IntelFormat::Csv);
    assert_eq!(values(&watchlist), ["evil.example"]);
}

#[test]
fn csv_without_indicator_column_fails() {
    let error = load_reader(
        "t",
        "feed.csv",
        "name,comment\nx,y\n".as_bytes(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), IntelErrorKind::NoIndicatorColumn { available } if available == &["name", "comment"])
    );
    assert!(error.to_string().contains("--column"), "{error}");
}

#[test]
fn csv_forced_format() {
    let options = LoadOptions {
        format: Some(IntelFormat::Csv),
        ..LoadOptions::default()
    };
    let watchlist = load_as(
        "feed.txt",
        "Domain Name,First Seen\nevil.example,2024-01-01\n",
        &options,
    );
    assert_eq!(values(&watchlist), ["evil.example"]);
    assert_eq!(
        watchlist.indicators[0].meta.first_seen.as_deref(),
        Some("2024-01-01")
    );
}

// Zeek intel.

const ZEEK_HEADER: &str = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.desc\n";

#[test]
fn zeek_types_table() {
    let rows: [(&str, &str, IndicatorKind, &str); 8] = [
        ("67.213.75.205", "Intel::ADDR", IndicatorKind::Ip, "67.213.75.205"),
        (
            "198.51.100.0/24",
            "Intel::SUBNET",
            IndicatorKind::Cidr,
            "198.51.100.0/24",
        ),
        (
            "Evil.Example",
            "Intel::DOMAIN",
            IndicatorKind::Domain,
            "evil.example",
        ),
        (
            "evil.example/a.php",
            "Intel::URL",
            IndicatorKind::Url,
            "evil.example/a.php",
        ),
        (
            "https://api.msuto.example/",
            "Intel::URL",
            IndicatorKind::Url,
            "https://api.msuto.example/",
        ),
        (
            "392c59924103a45553b1e4bd1f5845e42d4f1c9b",
            "Intel::FILE_HASH",
            IndicatorKind::Hash(DigestAlgo::Sha1),
            "392c59924103a45553b1e4bd1f5845e42d4f1c9b",
        ),
        (
            "e7fc4b658c64f9f7defb825a9d855cbfa65c3781",
            "Intel::CERT_HASH",
            IndicatorKind::CertHash(DigestAlgo::Sha1),
            "e7fc4b658c64f9f7defb825a9d855cbfa65c3781",
        ),
        (
            "Someone@Mail.Example",
            "Intel::EMAIL",
            IndicatorKind::Email,
            "someone@mail.example",
        ),
    ];
    for (raw, kind, expected_kind, expected) in rows {
        let text = format!("{ZEEK_HEADER}{raw}\t{kind}\tSRC\tF\tdesc\n");
        let watchlist = load("x.intel", &text);
        assert_eq!(watchlist.format, IntelFormat::ZeekIntel, "{kind}");
        assert!(
            watchlist.report.rejected.is_empty(),
            "{kind}: {:?}",
            watchlist.report.rejected
        );
        assert_eq!(watchlist.indicators[0].value.kind(), expected_kind, "{kind}");
        assert_eq!(watchlist.indicators[0].value.to_string(), expected, "{kind}");
    }
}

#[test]
fn zeek_meta_mapping() {
    let text = "#separator \\x09\n#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\tmeta.do_notice\tmeta.if_in\n\
                67.213.75.205\tIntel::ADDR\tABUSE-CH\tBOTNET\thttps://ref.example/\tT\t-\n";
    let watchlist = load("x.intel", text);
    let meta = &watchlist.indicators[0].meta;
    assert_eq!(meta.provider.as_deref(), Some("ABUSE-CH"));
    assert_eq!(meta.description.as_deref(), Some("BOTNET"));
    assert_eq!(meta.reference.as_deref(), Some("https://ref.example/"));
    assert_eq!(meta.extra.get("meta.do_notice").map(String::as_str), Some("T"));
    assert!(!meta.extra.contains_key("meta.if_in"));
}

#[test]
fn zeek_unsupported_types_rejected() {
    let text = format!(
        "{ZEEK_HEADER}Mozilla/4.0\tIntel::SOFTWARE\tS\tF\td\nroot\tIntel::USER_NAME\tS\tF\td\n\
         abc\tIntel::PUBKEY_HASH\tS\tF\td\n192.0.2.1\tIntel::ADDR\tS\tF\td\n"
    );
    let watchlist = load("x.intel", &text);
    assert_eq!(values(&watchlist), ["192.0.2.1"]);
    assert_eq!(rejected_lines(&watchlist), [2, 3, 4]);
    assert_eq!(
        watchlist.report.rejected[0].error,
        LineError::UnsupportedZeekType("Intel::SOFTWARE".to_owned())
    );
    assert!(
        watchlist.report.rejected[0]
            .error
            .to_string()
            .contains("Intel::SOFTWARE")
    );
}

#[test]
fn zeek_wrong_field_count_rejected() {
    let text = format!("{ZEEK_HEADER}192.0.2.1\tIntel::ADDR\tS\tF\n192.0.2.2\tIntel::ADDR\tS\tF\td\n");
    let watchlist = load("x.intel", &text);
    assert_eq!(values(&watchlist), ["192.0.2.2"]);
    assert_eq!(watchlist.report.rejected[0].line, 2);
    assert_eq!(
        watchlist.report.rejected[0].error,
        LineError::FieldCount {
            expected: 5,
            found: 4
        }
    );
}

#[test]
fn zeek_header_only_is_empty() {
    let header = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.desc\n";
    assert_eq!(header.len(), 70);
    let watchlist = load("abuse-ch-urlhaus.intel", header);
    assert_eq!(watchlist.format, IntelFormat::ZeekIntel);
    assert!(watchlist.indicators.is_empty());
    assert_eq!(watchlist.report.lines, 1);
    assert!(watchlist.report.rejected.is_empty());
}

#[test]
fn zeek_duplicates_and_comments() {
    let line = "106.12.219.245\tIntel::ADDR\tCobaltStrike-IP\tF\tCobaltStrike\n";
    let text = format!("{ZEEK_HEADER}{line}{line}#close\t2024\n\n{line}");
    let watchlist = load("cobaltstrike_ips.intel", &text);
    assert_eq!(watchlist.indicators.len(), 1);
    assert_eq!(watchlist.report.duplicates, 2);
}

#[test]
fn zeek_crlf_lines() {
    let text = "#fields\tindicator\tindicator_type\tmeta.source\r\n192.0.2.1\tIntel::ADDR\tS\r\n";
    let watchlist = load("x.intel", text);
    assert_eq!(values(&watchlist), ["192.0.2.1"]);
    assert_eq!(watchlist.indicators[0].meta.provider.as_deref(), Some("S"));
}

#[test]
fn zeek_forced_without_fields_fails() {
    let options = LoadOptions {
        format: Some(IntelFormat::ZeekIntel),
        ..LoadOptions::default()
    };
    let error = load_reader(
        "t",
        "x.intel",
        "# c\n192.0.2.1\tIntel::ADDR\n".as_bytes(),
        &options,
    )
    .unwrap_err();
    assert!(
        matches!(error.kind(), IntelErrorKind::MissingZeekFields { line: 2 }),
        "{error}"
    );
}

// Input handling.

#[test]
fn gzip_read_transparently() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"192.0.2.1\nevil.example\n").unwrap();
    let compressed = encoder.finish().unwrap();
    let watchlist = load_reader("t", "feed.txt.gz", compressed.as_slice(), &LoadOptions::default()).unwrap();
    assert_eq!(values(&watchlist), ["192.0.2.1", "evil.example"]);
}

#[test]
fn corrupt_gzip_fails() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all("192.0.2.1\n".repeat(1000).as_bytes()).unwrap();
    let mut compressed = encoder.finish().unwrap();
    let middle = compressed.len() / 2;
    compressed.truncate(middle);
    let error = load_reader("t", "feed.gz", compressed.as_slice(), &LoadOptions::default()).unwrap_err();
    assert!(matches!(error.kind(), IntelErrorKind::GzipRead { .. }), "{error}");
    let message = error.to_string();
    assert!(message.starts_with("feed.gz: failed to read line "), "{message}");
    assert!(
        message.ends_with("the gzip file looks truncated or corrupt (check it with gzip -t)"),
        "{message}"
    );
}

#[test]
fn utf16_fails() {
    let text: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("1.2.3.4\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let error = load_reader("t", "feed.txt", text.as_slice(), &LoadOptions::default()).unwrap_err();
    assert!(matches!(error.kind(), IntelErrorKind::NotText(_)), "{error}");
}

#[test]
fn zeek_log_is_not_a_watchlist() {
    let conn = "#separator \\x09\n#set_separator\t,\n#path\tconn\n\
                #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\n\
                #types\ttime\tstring\taddr\tport\taddr\tport\n\
                1.0\tC1\t10.0.0.1\t5000\t198.51.100.7\t443\n";
    let error = load_reader("t", "conn.log", conn.as_bytes(), &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(error.kind(), IntelErrorKind::ZeekLog(path) if path == "conn"),
        "{error}"
    );
    assert!(
        error.to_string().contains("a Zeek conn log, not a watchlist"),
        "{error}"
    );

    // A Zeek intel file, whose #fields line has an indicator column, loads.
    let intel = "#separator \\x09\n#path\tintel\n#fields\tindicator\tindicator_type\tmeta.source\n\
                 198.51.100.7\tIntel::ADDR\tfeed\n";
    assert_eq!(load("feed.intel", intel).indicators.len(), 1);

    // A plain list with a comment that starts like a Zeek header loads.
    assert_eq!(
        load("list.txt", "#fields of interest: none\n198.51.100.7\n")
            .indicators
            .len(),
        1
    );
}

#[test]
fn empty_input_is_empty_watchlist() {
    let watchlist = load("empty.txt", "");
    assert_eq!(watchlist.format, IntelFormat::Plain);
    assert!(watchlist.indicators.is_empty());
    assert_eq!(watchlist.report.lines, 0);
}

#[test]
fn load_file_names_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ipblocklist.csv.2024-04-04");
    std::fs::write(
        &path,
        "\"first_seen_utc\",\"dst_ip\",\"malware\"\n\"2023-05-23\",\"192.9.135.73\",\"Pikabot\"\n",
    )
    .unwrap();
    let watchlist = load_file(&path, None, &LoadOptions::default()).unwrap();
    assert_eq!(watchlist.name, "ipblocklist");
    assert_eq!(watchlist.source, path.display().to_string());
    assert_eq!(watchlist.indicators[0].meta.malware.as_deref(), Some("Pikabot"));

    let named = load_file(&path, Some("feodo"), &LoadOptions::default()).unwrap();
    assert_eq!(named.name, "feodo");

    let missing = dir.path().join("missing.txt");
    let error = load_file(&missing, None, &LoadOptions::default()).unwrap_err();
    assert!(matches!(error.kind(), IntelErrorKind::Open(_)));
    let message = error.to_string();
    assert!(message.contains("missing.txt"), "{message}");
    assert!(message.contains("os error"), "{message}");
}

#[test]
fn rejection_display_names_line() {
    let watchlist = load("list.txt", "192.0.2.1\n192.0.2.300 198.51.100.4\n");
    let line_text = watchlist.report.rejected[0].to_string();
    assert!(line_text.starts_with("line 2: \"192.0.2.300\": "), "{line_text}");
}

#[test]
fn csv_unterminated_quote_loses_one_line() {
    let text = "ip,description\n192.0.2.1,\"never closed\n192.0.2.2,second\n192.0.2.3,third\n";
    let watchlist = load("ragged.csv", text);
    assert_eq!(values(&watchlist), ["192.0.2.2", "192.0.2.3"]);
    assert_eq!(watchlist.report.rejected.len(), 1);
    assert_eq!(watchlist.report.rejected[0].line, 2);
    assert!(
        watchlist.report.rejected[0].to_string().contains("never closed"),
        "{}",
        watchlist.report.rejected[0]
    );
}

#[test]
fn csv_long_open_quote_released_at_cap() {
    let mut text = String::from("ip,description\n192.0.2.1,\"open\n");
    for i in 0..100 {
        text.push_str(&format!("198.51.100.{i},row\n"));
    }
    let watchlist = load("ragged.csv", &text);
    assert_eq!(watchlist.indicators.len(), 100);
    assert_eq!(watchlist.report.rejected.len(), 1);
}
