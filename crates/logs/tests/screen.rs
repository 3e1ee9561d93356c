//! Checks the contract of `Decoder::screen` against `Decoder::decode`: a
//! line the screen accepts decodes without error into a record of the
//! format the screen named, and every observable of that record that an
//! indicator can match is written inside one of the value ranges the
//! screen returned, unless a range contains an escape or a byte outside
//! ASCII. Runs on the real logs in `shared/data` beside the workspace
//! (skipped with a message when absent) and on generated lines.

#![allow(clippy::panic, reason = "a test reports a failure by panicking")]

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use iocwatch_logs::{Decoder, Format, detect_format, new_decoder};
use iocwatch_model::Field;

/// Returns the part of an observable that the line must contain as
/// written: the host of a URL, which decoders assemble from parts, and
/// the value itself for every other field.
fn written_part(field: Field, value: &str) -> &str {
    if field != Field::UrlFull {
        return value;
    }
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    match host_port
        .strip_prefix('[')
        .and_then(|bracketed| bracketed.split_once(']'))
    {
        Some((host, _)) => host,
        None => {
            let unbracketed = host_port.trim_start_matches('[');
            unbracketed.split(':').next().unwrap_or(unbracketed)
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window == needle)
}

/// Screens and decodes `line` with `decoder` and checks the contract.
/// Returns the screened format, `None` when the screen left the line to
/// the full decode.
fn check(decoder: &mut dyn Decoder, line: &[u8], origin: &str) -> Option<&'static str> {
    let mut values = Vec::new();
    let screened = decoder.screen(line, &mut values);
    let decoded = decoder.decode(line);
    let format = screened?;
    let record = match decoded {
        Ok(Some(record)) => record,
        other => panic!(
            "{origin}: screened as {format} but decoded as {other:?}: {}",
            String::from_utf8_lossy(line)
        ),
    };
    assert_eq!(
        record.format,
        format,
        "{origin}: {}",
        String::from_utf8_lossy(line)
    );
    // The line filter lets any value with an escape or a byte outside
    // ASCII through, so an observable may also come from such a value.
    let opaque = values.iter().any(|range| {
        line.get(range.clone())
            .is_some_and(|value| value.iter().any(|&b| b == b'\\' || !b.is_ascii()))
    });
    for observed in record
        .observables
        .iter()
        .filter(|observed| observed.field.can_match())
    {
        let written = written_part(observed.field, &observed.value);
        let covered = opaque
            || values.iter().any(|range| {
                line.get(range.clone())
                    .is_some_and(|value| contains(value, written.as_bytes()))
            });
        assert!(
            covered,
            "{origin}: {} {written:?} lies in no screened value {:?} of {}",
            observed.field,
            values
                .iter()
                .map(|range| String::from_utf8_lossy(&line[range.clone()]))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(line)
        );
    }
    Some(format)
}

/// Collects every file under `dir`.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

fn read_log(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        if MultiGzDecoder::new(&bytes[..]).read_to_end(&mut plain).is_ok() {
            return plain;
        }
    }
    bytes
}

#[test]
fn screen_agrees_with_decode_on_real_logs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !dir.is_dir() {
        eprintln!("skipped: ../shared/data not found (looked in {})", dir.display());
        return;
    }
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    files.sort();
    let mut lines = 0;
    let mut screened = 0;
    for path in files {
        let bytes = read_log(&path);
        let Some(format) = detect_format(&bytes[..bytes.len().min(64 * 1024)]) else {
            continue;
        };
        let mut decoder = new_decoder(format);
        for line in bytes.split(|&b| b == b'\n') {
            lines += 1;
            if check(decoder.as_mut(), line, &path.display().to_string()).is_some() {
                screened += 1;
            }
        }
    }
    eprintln!("{screened} of {lines} lines screened");
    assert!(screened * 2 > lines, "only {screened} of {lines} lines screened");
}

/// JSON lines of every format, each with the value the full decoder
/// reads somewhere unusual.
const JSON_LINES: [&str; 23] = [
    r#"{"timestamp":"2024-03-01T00:00:00+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"192.0.2.7","dns":{"version":2,"type":"answer","rrname":"Www.Evil.Example.","answers":[{"rrtype":"A","rdata":"198.51.100.4"},{"rrtype":"CNAME","rdata":"cdn.test"}],"grouped":{"A":["198.51.100.4"],"AAAA":["::ffff:198.51.100.5"]}}}"#,
    r#"{"dns":{"rrname":"late.example","answer":{"rrname":"nested.example","rdata":"192.0.2.9"}},"dest_ip":"192.0.2.8","event_type":"dns","src_ip":"10.0.0.2"}"#,
    r#"{"event_type":"http","src_ip":"10.0.0.3","dest_ip":"203.0.113.5","dest_port":8080,"http":{"hostname":"files.evil.example","http_port":8080,"url":"/a/b?c=d%20e","http_user_agent":"Mozilla/5.0 (X11)"}}"#,
    r#"{"event_type":"http","http":{"hostname":"h.example","url":"http://user@other.example:81/x"}}"#,
    r#"{"event_type":"tls","tls":{"sni":"sni.example","ja3":{"hash":"E7D705A3286E19EA42F587B344EE6865","string":"771,1-2"},"ja3s":{"hash":"e7d705a3286e19ea42f587b344ee6865"},"fingerprint":"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"}}"#,
    r#"{"event_type":"fileinfo","fileinfo":{"filename":"x.exe","md5":"d41d8cd98f00b204e9800998ecf8427e","sha1":"da39a3ee5e6b4b0d3255bfef95601890afd80709","sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}}"#,
    r#"{"event_type":"smtp","smtp":{"mail_from":"<Bad@Mail.Example>","rcpt_to":["<a@b.example>","c@d.example"]},"email":{"from":["Name <e@f.example>"],"to":["g@h.example"]}}"#,
    r#"{"event_type":"alert","src_ip":"10.0.0.4","dest_ip":"192.0.2.10","alert":{"signature":"ET x","signature_id":1},"dns":{"query":[{"rrname":"alert.example"}]},"http":{"hostname":"alert-host.example"}}"#,
    r#"{"event_type":"quic","quic":{"sni":"quic.example","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865"}}}"#,
    r#" {"event_type" : "flow" , "src_ip" : "10.0.0.5" , "dest_ip" : "192.0.2.11" , "flow" : { "pkts_toserver" : 1 , "age" : 0.5 , "alerted" : false , "x" : null , "list" : [ ] , "o" : { } } } "#,
    r#"{"_path":"dns","ts":1541117137.5,"uid":"C1","id.orig_h":"10.0.0.6","id.orig_p":53,"id.resp_h":"192.0.2.12","id.resp_p":53,"query":"zeek.example","answers":["192.0.2.13","alias.example"]}"#,
    r#"{"ts":"2018-03-24T17:15:20Z","uid":"C2","id.orig_h":"10.0.0.7","id.resp_h":"192.0.2.14","host":"web.example:8080","uri":"/p","user_agent":"curl/8"}"#,
    r#"{"ts":1.0,"uid":"C3","server_name":"ssl.example","ja3":"e7d705a3286e19ea42f587b344ee6865","cert_chain_fps":["da39a3ee5e6b4b0d3255bfef95601890afd80709"]}"#,
    r#"{"_path":"smtp","ts":1,"uid":"C4","mailfrom":"<from@smtp.example>","rcptto":["to@smtp.example"],"x_originating_ip":"192.0.2.15","path":["192.0.2.16","10.0.0.8"]}"#,
    r#"{"_path":"notice","ts":1,"src":"192.0.2.17","dst":"192.0.2.18","p":22,"note":"Scan"}"#,
    r#"{"_path":"dhcp","ts":1,"uid":"C5","assigned_addr":"192.0.2.19","server_addr":"192.0.2.20"}"#,
    r#"{"@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"192.0.2.21","port":1},"destination.ip":"192.0.2.22","url":{"domain":"ecs.example","original":"/x","port":8443},"dns":{"question":{"name":"q.example"},"answers":[{"data":"192.0.2.23"}]},"related":{"ip":["192.0.2.24"]},"file":{"hash":{"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}}"#,
    r#"{"@timestamp":"2024-01-01T00:00:00Z","url.full":"https://full.example/p","email":{"from":{"address":"x@ecs-mail.example"}},"tls":{"client":{"server_name":"tls.example","ja3":"e7d705a3286e19ea42f587b344ee6865"}}}"#,
    r#"{"@timestamp":"2024-01-01T00:00:00Z","source":{"ip":123456789012},"event":{"dataset":"x"}}"#,
    r#"{"@timestamp":"2024-01-01T00:00:00Z","host":{"ip":["192.0.2.25","192.0.2.26"]},"suricata":{"eve":{"event_type":"dns"}},"dns":{"question":{"name":"wrapped.example"}}}"#,
    r#"{"ts":1,"uid":"C6","id.orig_h":"10.0.0.9","event_type":"nested","id.resp_h":"192.0.2.27"}"#,
    r#"{"zeek":{"ts":1,"uid":"C7"},"source.ip":"192.0.2.28","event":{"ts":"x"}}"#,
    r#"{"event_type":"flow","src_ip":"10.0.0.10","flow":{"src_ip":"a","src_ip":"b","o":{"dns":1,"dns":2}},"x":[{"url":"u","url":"v"}]}"#,
];

/// Lines the screen must leave to the full decode.
const UNSCREENED_JSON: [&[u8]; 16] = [
    br#"{"event_type":"dns","dns":{"rrname":"esc\u0061ped.example"}}"#,
    br#"{"event_type":"http","http":{"hostname":"a\/b.example"}}"#,
    b"{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"caf\xc3\xa9.example\"}}",
    b"{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"bad\xff.example\"}}",
    b"{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"tab\there.example\"}}",
    br#"{"event_type":"dns","src_ip":"10.0.0.1","src_ip":"192.0.2.1"}"#,
    br#"{"event_type":"dns","dns":{"rrname":"a.example","rrname":"b.example"}}"#,
    br#"{"event_type":"flow","n":1e5}"#,
    br#"{"event_type":"flow","n":01}"#,
    br#"{"event_type":"flow","n":123456789012345678901}"#,
    br#"{"event_type":"flow","src_ip":"10.0.0.1"} trailing"#,
    br#"{"event_type":"flow","src_ip":"10.0.0.1"}{"event_type":"flow"}"#,
    br#"{"event_type":"flow","a":[1]}  ]"#,
    br#"{"event_type":"flow","src_ip":"10.0.0.1""#,
    br#"{"event_type":"flow","a":[1,2}"#,
    br#"{"@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"192.0.2.1"},"score":0.5}"#,
];

/// Sysmon events with no escape or byte outside ASCII, which the screen
/// could otherwise read, and with several observables in one string
/// (`Hashes`, `QueryResults`).
const SYSMON_LINES: [&str; 3] = [
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}},"Computer":"ws-1"},"EventData":{"Image":"a.exe","Hashes":"SHA1=4368DBD172224EC9461364BE1AC9DFFC5D9224A8,MD5=A03CF3838775E0801A0894C8BACD2E56,SHA256=132AA270790F56A7524CAB968927ED5E1D91B9A26D4BADCB24E450E7DECC5F81,IMPHASH=B59AF26B08AA14BA66272388BC9C2443"}}}"##,
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":22,"Computer":"ws-1"},"EventData":{"QueryName":"update.evil.example","QueryResults":"type:  5 cdn.evil.example;::ffff:192.0.2.1;198.51.100.2;"}}}"##,
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"Computer":"ws-1"},"EventData":{"Protocol":"tcp","Initiated":true,"SourceIp":"10.0.2.15","SourcePort":49167,"DestinationIp":"203.0.113.27","DestinationHostname":"c2.evil.example","DestinationPort":443}}}"##,
];

#[test]
fn screen_agrees_with_decode_on_json_lines() {
    let mut decoder = new_decoder(Format::Json);
    let formats: Vec<Option<&str>> = JSON_LINES
        .iter()
        .map(|line| check(decoder.as_mut(), line.as_bytes(), "generated"))
        .collect();
    let eve = Some("suricata-eve");
    let zeek = Some("zeek-json");
    let ecs = Some("ecs");
    let expected = [
        eve, eve, eve, eve, eve, eve, eve, eve, eve, eve, zeek, zeek, zeek, zeek, zeek, zeek, ecs, ecs, ecs,
        // An ECS document that contains `"event_type"` is left to the full
        // decode.
        None, eve, ecs,
        // The EVE reader skips keys that are not EVE fields, with whatever
        // they contain.
        eve,
    ];
    for (index, (format, expected)) in formats.iter().zip(expected).enumerate() {
        assert_eq!(*format, expected, "line {index}: {}", JSON_LINES[index]);
    }
}

/// Lines with `"event_type"` in places other than where Suricata writes it, and
/// the format the screen must give each. The decoder reads any line with
/// that text as EVE first.
const EVENT_TYPE_LINES: [(&str, Option<&str>); 7] = [
    (
        r#"{"event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","dns":{"rrname":"a.example"}}"#,
        Some("suricata-eve"),
    ),
    (
        r#"{"flow_id":1,"src_ip":"10.0.0.1","event_type":"flow","dest_ip":"10.0.0.2"}"#,
        Some("suricata-eve"),
    ),
    // Zeek JSON with `event_type` as the key of a number, as a value and
    // as an array element. The EVE reader fails on these, so the screen
    // leaves them to the full decode.
    (
        r#"{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","event_type":5}"#,
        None,
    ),
    (
        r#"{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","note":"event_type"}"#,
        None,
    ),
    (
        r#"{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","tags":["x","event_type"]}"#,
        None,
    ),
    // Two of the same lines with a near miss instead.
    (
        r#"{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","event_typ":5}"#,
        Some("zeek-json"),
    ),
    (
        r#"{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","tags":["x","event_types"]}"#,
        Some("zeek-json"),
    ),
];

#[test]
fn screen_finds_event_type_anywhere() {
    let mut decoder = new_decoder(Format::Json);
    for (line, expected) in EVENT_TYPE_LINES {
        assert_eq!(
            check(decoder.as_mut(), line.as_bytes(), "generated"),
            expected,
            "{line}"
        );
    }
}

#[test]
fn screen_leaves_odd_json_to_decode() {
    let mut decoder = new_decoder(Format::Json);
    for line in UNSCREENED_JSON {
        assert_eq!(
            check(decoder.as_mut(), line, "generated"),
            None,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn screen_leaves_sysmon_to_decode() {
    let mut decoder = new_decoder(Format::Json);
    for line in SYSMON_LINES {
        assert_eq!(check(decoder.as_mut(), line.as_bytes(), "sysmon"), None, "{line}");
        let record = decoder.decode(line.as_bytes());
        let format = record.ok().flatten().map(|record| record.format);
        assert_eq!(format, Some("sysmon"), "{line}");
    }
}

/// Every prefix of each Sysmon line, and every line with one byte
/// replaced. A damaged line that no longer names the Sysmon provider may
/// be screened as ECS, and must then decode as ECS.
#[test]
fn screen_agrees_with_decode_on_damaged_sysmon() {
    let specials = [b'"', b'\\', b'{', b'}', b',', b':', b'-', 0xff];
    let mut decoder = new_decoder(Format::Json);
    for line in SYSMON_LINES {
        let bytes = line.as_bytes();
        for end in 0..=bytes.len() {
            check(decoder.as_mut(), &bytes[..end], "sysmon prefix");
        }
        let mut damaged = bytes.to_vec();
        for position in 0..bytes.len() {
            for special in specials {
                let original = damaged[position];
                damaged[position] = special;
                check(decoder.as_mut(), &damaged, "damaged sysmon");
                damaged[position] = original;
            }
        }
    }
}

/// Every prefix of every generated line, and every line with one byte
/// replaced by a byte that JSON treats specially. The contract must be
/// kept whether or not the screen accepts the damaged line.
#[test]
fn screen_agrees_with_decode_on_damaged_json() {
    let specials = [
        b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b' ', b'.', b'0', b'-', b'e', b't', 0xff,
    ];
    let mut decoder = new_decoder(Format::Json);
    for line in JSON_LINES {
        let bytes = line.as_bytes();
        for end in 0..=bytes.len() {
            check(decoder.as_mut(), &bytes[..end], "prefix");
        }
        let mut damaged = bytes.to_vec();
        for position in 0..bytes.len() {
            for special in specials {
                let original = damaged[position];
                damaged[position] = special;
                check(decoder.as_mut(), &damaged, "damaged");
                damaged[position] = original;
            }
        }
    }
}

#[test]
fn screen_agrees_with_decode_on_zeek_tsv() {
    let log = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tdns",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers\tresolver_addr",
        "1.0\tC1\t10.0.0.1\t53\t192.0.2.1\t53\tDNS.Example.\t192.0.2.2,alias.example,(empty)\t192.0.2.3",
        "1.0\tC2\t10.0.0.1\t53\t192.0.2.1\t53\tesc\\x2cape.example\t-\t-",
        "1.0\tC3\t10.0.0.1\t53\t192.0.2.1\t53\tshort",
        "1.0\tC4\t10.0.0.1\t53\t192.0.2.1\t53\tcaf\u{e9}.example\t-\t-\textra",
        "1.0\tC5\t10.0.0.1\t53\t192.0.2.1\t53\tq.example\t-\t-\r",
        "#path\thttp",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\thost\turi\tuser_agent",
        "1.0\tC6\t10.0.0.1\t1\t192.0.2.4\t8080\tweb.example:8080\t/x?y=1\tcurl/8",
        "#set_separator\t.",
        "1.0\tC7\t10.0.0.1\t1\t192.0.2.4\t80\tweb.example\t/x\tcurl/8",
    ];
    let mut decoder = new_decoder(Format::ZeekTsv);
    let formats: Vec<Option<&str>> = log
        .iter()
        .map(|line| check(decoder.as_mut(), line.as_bytes(), "generated"))
        .collect();
    let data = |format: &'static str| Some(format);
    assert_eq!(
        formats,
        [
            None,
            None,
            None,
            None,
            None,
            None,
            data("zeek-tsv"),
            data("zeek-tsv"),
            None,
            data("zeek-tsv"),
            data("zeek-tsv"),
            None,
            None,
            data("zeek-tsv"),
            None,
            None,
        ]
    );
}

/// Returns the values `decoder` screens in `line`, as text.
fn screened_values(decoder: &mut dyn Decoder, line: &str) -> Vec<String> {
    let mut values = Vec::new();
    assert!(decoder.screen(line.as_bytes(), &mut values).is_some(), "{line}");
    values.into_iter().map(|range| line[range].to_owned()).collect()
}

#[test]
fn screen_leaves_out_path_targets() {
    let mut json = new_decoder(Format::Json);
    let eve = screened_values(
        json.as_mut(),
        r#"{"event_type":"http","http":{"hostname":"h.example","url":"/p/evil.example"}}"#,
    );
    assert_eq!(eve, ["h.example"]);
    let absolute = screened_values(
        json.as_mut(),
        r#"{"event_type":"http","http":{"hostname":"h.example","url":"http://other.example/p"}}"#,
    );
    assert_eq!(absolute, ["h.example", "http://other.example/p"]);
    let zeek = screened_values(
        json.as_mut(),
        r#"{"ts":1,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"192.0.2.1","host":"h.example","uri":"/p"}"#,
    );
    assert_eq!(zeek, ["10.0.0.1", "192.0.2.1", "h.example"]);

    let mut tsv = new_decoder(Format::ZeekTsv);
    for header in [
        "#separator \\x09",
        "#path\thttp",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\thost\turi",
    ] {
        assert!(tsv.decode(header.as_bytes()).is_ok());
    }
    let path = screened_values(tsv.as_mut(), "1.0\tC1\t10.0.0.1\t1\t192.0.2.4\t80\th.example\t/p");
    assert_eq!(path, ["10.0.0.1", "192.0.2.4", "h.example"]);
    let proxied = screened_values(
        tsv.as_mut(),
        "1.0\tC2\t10.0.0.1\t1\t192.0.2.4\t80\th.example\thttp://other.example/p",
    );
    assert_eq!(
        proxied,
        ["10.0.0.1", "192.0.2.4", "h.example", "http://other.example/p"]
    );
}
