use super::*;

fn decoders(name: &str) -> Result<(), String> {
    match name {
        "auto" | "json" | "syslog" | "zeek-tsv" => Ok(()),
        other => Err(format!(
            "unknown decoder {other:?}; use auto, json, syslog or zeek-tsv"
        )),
    }
}

/// Rejects a certificate file whose name contains `missing`, as the
/// service's loader rejects a file that does not exist.
fn tls(cert: &std::path::Path, _key: &std::path::Path) -> Result<(), String> {
    if cert.to_string_lossy().contains("missing") {
        Err(format!(
            "cannot read {}: No such file or directory",
            cert.display()
        ))
    } else {
        Ok(())
    }
}

/// Parses `text` with the service's sink check, which builds each sink and
/// so reads the files it names. Building an e-mail sink needs a runtime.
fn parse(text: &str) -> Result<Config, ConfigError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _context = runtime.enter();
    Config::parse(
        "test.toml",
        text,
        &Checks {
            decoder: &decoders,
            sink: &crate::service::check_sink,
            tls: &tls,
        },
    )
}

fn issues(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => Vec::new(),
        Err(err) => err.issues.iter().map(ToString::to_string).collect(),
    }
}

/// Returns the one issue of `text`, and fails when there are more or none.
fn only_issue(text: &str) -> String {
    let mut found = issues(text);
    assert_eq!(found.len(), 1, "{text:?}: {found:?}");
    found.remove(0)
}

#[test]
fn empty_file_gives_the_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    assert_eq!(config.http.listen.to_string(), DEFAULT_HTTP_LISTEN);
    assert!(config.http.listen.ip().is_loopback());
    assert_eq!(config.alerts.dedup_window, DEFAULT_DEDUP_WINDOW);
    assert!(config.sources.is_empty());
    assert!(config.sinks.is_empty());
    assert!(config.home_net.is_none());
}

#[test]
fn every_source_kind_parses() {
    let text = r#"
data_dir = "/var/lib/iocwatch"
home_net = ["192.0.2.0/24", "2001:db8::1"]

[http]
listen = "127.0.0.1:9000"
max_body_bytes = 1024

[alerts]
dedup_window = "30m"

[[source]]
name = "zeek"
type = "file"
paths = ["/var/log/zeek/*.log"]
start_at = "end"
poll_interval = "250ms"

[[source]]
name = "firewall"
type = "syslog"
decoder = "syslog"
udp = "127.0.0.1:5514"

[[source]]
name = "vector"
type = "http"

[[source]]
name = "pipe"
type = "stdin"
decoder = "json"

[[sink]]
name = "siem"
type = "syslog"
address = "127.0.0.1:6514"
"#;
    let config = parse(text).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/iocwatch"));
    let nets: Vec<String> = config.home_net.unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(nets, ["192.0.2.0/24", "2001:db8::1/128"]);
    assert_eq!(config.http.listen.port(), 9000);
    assert_eq!(config.http.max_body_bytes, 1024);
    assert_eq!(config.alerts.dedup_window, Duration::from_secs(1800));
    assert_eq!(config.sources.len(), 4);
    assert_eq!(
        config.sources[0].kind,
        SourceKind::File {
            paths: vec!["/var/log/zeek/*.log".to_owned()],
            start_at: StartAt::End,
            poll_interval: Duration::from_millis(250),
        }
    );
    assert_eq!(config.sources[0].decoder, DecoderName::auto());
    assert!(matches!(
        config.sources[1].kind,
        SourceKind::Syslog {
            udp: Some(_),
            tcp: None,
            ..
        }
    ));
    assert_eq!(config.sources[2].kind, SourceKind::Http);
    assert_eq!(config.sources[3].kind, SourceKind::Stdin);
    assert_eq!(config.sinks[0].config.name, "siem");
    assert_eq!(config.sinks[0].config.kind.type_name(), "syslog");
    assert_eq!(config.sinks[0].line, 34);
}

#[test]
fn syntax_error_names_line_and_column() {
    let found = issues("[http]\nlisten = \"127.0.0.1:80\"\nmax_body_bytes = = 3\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("line 3, column "), "{found:?}");
}

#[test]
fn unknown_key_names_its_line() {
    let found = issues("data_dir = \"x\"\n\n[http]\nlisen = \"127.0.0.1:80\"\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("line 4"), "{found:?}");
    assert!(found[0].contains("lisen"), "{found:?}");
}

#[test]
fn bad_values_are_reported_at_their_place() {
    let rows = [
        (
            "[alerts]\ndedup_window = \"soon\"\n",
            "line 2",
            "invalid duration",
        ),
        ("[alerts]\ndedup_window = \"0s\"\n", "line 2", "zero"),
        ("home_net = [\"10.0.0.0/33\"]\n", "line 1", "not a network"),
        (
            "[http]\nlisten = \"localhost:8080\"\n",
            "line 2",
            "listen = \"localhost:8080\" is not an IP address and port; give one such as 127.0.0.1:8080",
        ),
        (
            "[[source]]\nname = \"a\"\ntype = \"syslog\"\nudp = \"127.0.0.1:99999\"\n",
            "line 4",
            "udp = \"127.0.0.1:99999\" has the invalid port \"99999\"; give a port from 0 to 65535",
        ),
        (
            "[[source]]\nname = \"a\"\ntype = \"syslog\"\ntcp = \"[::1]:x\"\n",
            "line 4",
            "tcp = \"[::1]:x\" has the invalid port",
        ),
        (
            "[[sink]]\nname = 5\ntype = \"file\"\npath = \"a.jsonl\"\n",
            "line 2, column 8",
            "`name` in [[sink]] must be a string, found an integer: 5",
        ),
        (
            "[[source]]\nname = \"a\"\ntype = \"syslog\"\nudp = \"127.0.0.1:5514\"\nmax_message_bytes = 0\n",
            "line 5",
            "max_message_bytes must be at least 1",
        ),
        (
            "[http]\ntls_cert = \"missing.pem\"\ntls_key = \"key.pem\"\n",
            "line 2",
            "tls_cert and tls_key: cannot read missing.pem",
        ),
        (
            "[[source]]\nname = \"a\"\ntype = \"file\"\npaths = []\n",
            "line 4",
            "at least one path",
        ),
        (
            "[[source]]\nname = \"a\"\ntype = \"file\"\npaths = [\"/x/[ab\"]\n",
            "line 4",
            "not closed",
        ),
        (
            "[[source]]\nname = \"a\"\ntype = \"syslog\"\n",
            "line 3",
            "needs `udp`, `tcp`",
        ),
        ("[[source]]\nname = \"a\"\ntype = \"kafka\"\n", "line 3", "kafka"),
        (
            "[[source]]\nname = \"a\"\ntype = \"stdin\"\nudp = \"127.0.0.1:1\"\n",
            "line 4",
            "does not apply",
        ),
        (
            "[[source]]\nname = \"a b\"\ntype = \"stdin\"\n",
            "line 2",
            "not valid",
        ),
        (
            "[[source]]\nname = \"a\"\ntype = \"stdin\"\ndecoder = \"csv\"\n",
            "line 4",
            "unknown decoder",
        ),
        (
            "[[sink]]\ntype = \"file\"\npath = \"a.jsonl\"\n",
            "line 1, column 1",
            "needs a `name`",
        ),
        ("[[sink]]\nname = \"s\"\n", "line 1, column 1", "needs a `type`"),
        (
            "[[sink]]\nname = \"s\"\ntype = \"pager\"\n",
            "line 3, column 8",
            "type = \"pager\" is not valid; use \"file\", \"webhook\", \"syslog\" or \"email\"",
        ),
    ];
    for (text, place, words) in rows {
        let found = issues(text);
        assert_eq!(found.len(), 1, "{text:?}: {found:?}");
        assert!(found[0].starts_with(place), "{text:?}: {found:?}");
        assert!(found[0].contains(words), "{text:?}: {found:?}");
    }
}

#[test]
fn every_problem_is_listed_in_file_order() {
    let text = "[[source]]\nname = \"dup\"\ntype = \"stdin\"\ndecoder = \"csv\"\n\n[[sink]]\nname = \"dup\"\ntype = \"file\"\npath = \"a.jsonl\"\n";
    let err = parse(text).unwrap_err();
    let lines: Vec<Option<usize>> = err.issues.iter().map(|issue| issue.line).collect();
    assert_eq!(lines, [Some(4), Some(7)], "{err}");
    assert!(
        err.issues[1].message.contains("used twice (first on line 2)"),
        "{err}"
    );
    assert!(err.to_string().starts_with("test.toml: 2 problems"), "{err}");
}

#[test]
fn durations_in_every_unit() {
    assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    assert!(parse_duration("").is_err());
    assert!(parse_duration("-1h").is_err());
    assert!(parse_duration("0s").is_err());
    assert_eq!(parse_duration("100y"), Ok(iocwatch_model::time::MAX_DURATION));
    assert!(parse_duration("101y").is_err());
}

#[test]
fn tls_files_come_in_pairs() {
    let config = parse("[http]\ntls_cert = \"/etc/tls/cert.pem\"\ntls_key = \"/etc/tls/key.pem\"\n").unwrap();
    assert_eq!(
        config.http.tls_cert.as_deref(),
        Some(std::path::Path::new("/etc/tls/cert.pem"))
    );
    assert_eq!(
        config.http.tls_key.as_deref(),
        Some(std::path::Path::new("/etc/tls/key.pem"))
    );
    assert_eq!(parse("").unwrap().http.tls_cert, None);

    let found = issues("[http]\ntls_cert = \"/etc/tls/cert.pem\"\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("line 2"), "{found:?}");
    assert!(found[0].contains("tls_cert needs tls_key"), "{found:?}");
    let found = issues("[http]\n\ntls_key = \"/etc/tls/key.pem\"\n");
    assert!(found[0].starts_with("line 3"), "{found:?}");
    assert!(found[0].contains("tls_key needs tls_cert"), "{found:?}");
}

/// A file with unknown keys in every kind of table, wrong types and
/// invalid values: every problem is listed, in file order.
#[test]
fn every_problem_kind_listed_at_once() {
    let text = r#"data_dir = 5
colour = "blue"

[http]
listen_adress = "127.0.0.1:8080"
max_body_bytes = "16MB"
listen = "localhost:8080"

[alerts]
dedup_window = 3600
dedupe_window = "1h"

[[source]]
name = "zeek"
type = "file"
paths = ["/var/log/zeek/*.log", 7]
start_at = "middle"
poll_intervall = "1s"

[[source]]
name = "firewall"
type = "syslog"
udp = 5514
max_message_bytes = 0
decoder = "csv"

[[sink]]
name = "archive"
type = "pager"
"#;
    let expected = [
        (
            "line 1, column 12",
            "`data_dir` at the top level must be a string, found an integer: 5",
        ),
        (
            "line 2, column 1",
            "unknown key `colour` at the top level; valid keys: `data_dir`, `home_net`, `http`, `alerts`, `source` and `sink`",
        ),
        (
            "line 5, column 1",
            "unknown key `listen_adress` in [http]; did you mean `listen`?",
        ),
        (
            "line 6, column 18",
            "`max_body_bytes` in [http] must be an integer, found a string: \"16MB\"",
        ),
        (
            "line 7, column 10",
            "listen = \"localhost:8080\" is not an IP address",
        ),
        (
            "line 10, column 16",
            "`dedup_window` in [alerts] must be a string, found an integer: 3600",
        ),
        (
            "line 11, column 1",
            "unknown key `dedupe_window` in [alerts]; did you mean `dedup_window`?",
        ),
        (
            "line 16, column 33",
            "`paths` in [[source]] \"zeek\" must be an array of strings, found an integer in it: 7",
        ),
        ("line 17, column 12", "start_at = \"middle\" is not valid"),
        (
            "line 18, column 1",
            "unknown key `poll_intervall` in [[source]] \"zeek\"; did you mean `poll_interval`?",
        ),
        (
            "line 23, column 7",
            "`udp` in [[source]] \"firewall\" must be a string, found an integer: 5514",
        ),
        ("line 24, column 21", "max_message_bytes must be at least 1"),
        ("line 25, column 11", "unknown decoder \"csv\""),
        ("line 29, column 8", "type = \"pager\" is not valid"),
    ];
    let found = issues(text);
    for (at, (place, words)) in expected.iter().enumerate() {
        let issue = found.get(at).map_or("", String::as_str);
        assert!(issue.starts_with(place), "issue {at}: {issue:?}\nall: {found:#?}");
        assert!(issue.contains(words), "issue {at}: {issue:?}\nall: {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn unknown_key_names_nearest_or_valid_keys() {
    let rows = [
        ("[http]\nlisen = \"127.0.0.1:80\"\n", "did you mean `listen`?"),
        (
            "[http]\nlisten_address = \"127.0.0.1:80\"\n",
            "did you mean `listen`?",
        ),
        (
            "[http]\ntls = \"cert.pem\"\n",
            "did you mean `tls_cert` or `tls_key`?",
        ),
        (
            "[http]\nport = 80\n",
            "valid keys: `listen`, `max_body_bytes`, `tls_cert` and `tls_key`",
        ),
        ("[[sources]]\nname = \"a\"\n", "did you mean `source`?"),
        ("[alerts.window]\nsize = 1\n", "unknown key `window` in [alerts]"),
        (
            "[[source]]\nname = \"a\"\ntype = \"stdin\"\nformat = \"json\"\n",
            "unknown key `format` in [[source]] \"a\"; valid keys: `name`, `type`, `decoder`",
        ),
    ];
    for (text, words) in rows {
        let issue = only_issue(text);
        assert!(issue.contains(words), "{text:?}: {issue:?}");
    }
}

#[test]
fn wrong_types_name_expected_and_found() {
    let rows = [
        (
            "home_net = \"10.0.0.0/8\"\n",
            "line 1, column 12: `home_net` at the top level must be an array of strings, found a string: \"10.0.0.0/8\"",
        ),
        (
            "http = 8080\n",
            "line 1, column 8: `http` at the top level must be a table, found an integer: 8080",
        ),
        (
            "[http.listen]\nport = 80\n",
            "line 1, column 1: `listen` in [http] must be a string, found a table",
        ),
        (
            "[http]\nmax_body_bytes = 1.5\n",
            "line 2, column 18: `max_body_bytes` in [http] must be an integer, found a float: 1.5",
        ),
        (
            "[source]\nname = \"a\"\n",
            "line 1, column 1: `source` at the top level must be an array of tables ([[source]]), found a table",
        ),
        (
            "sink = [\"archive\"]\n",
            "line 1, column 9: `sink` at the top level must be an array of tables ([[sink]]), found a string in it: \"archive\"",
        ),
        (
            "[[source]]\nname = true\ntype = \"stdin\"\n",
            "line 2, column 8: `name` in [[source]] must be a string, found a boolean: true",
        ),
        (
            "[http]\nmax_body_bytes = 99999999999999999999\n",
            "line 2, column 18: `max_body_bytes` in [http] is 99999999999999999999, out of the range of a TOML integer",
        ),
    ];
    for (text, words) in rows {
        let issue = only_issue(text);
        assert!(issue.starts_with(words), "{text:?}: {issue:?}");
    }
}

/// A key whose value has the wrong type is reported once, not again as
/// missing or empty.
#[test]
fn wrong_type_not_reported_as_missing() {
    let rows = [
        "[[source]]\nname = \"a\"\ntype = \"file\"\npaths = \"/var/log/*.log\"\n",
        "[[source]]\nname = \"a\"\ntype = \"file\"\npaths = [7]\n",
        "[[source]]\nname = \"a\"\ntype = \"syslog\"\nudp = 5514\n",
        "[[source]]\nname = \"a\"\ntype = 5\n",
    ];
    for text in rows {
        let issue = only_issue(text);
        assert!(issue.contains("must be"), "{text:?}: {issue:?}");
    }
}

#[test]
fn source_without_name_still_checked() {
    let found = issues("[[source]]\ntype = \"stdin\"\ndecoder = [\"json\"]\nextra = 1\n");
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("line 1"), "{found:?}");
    assert!(found[0].contains("a [[source]] needs a `name`"), "{found:?}");
    assert!(found[1].starts_with("line 3"), "{found:?}");
    assert!(
        found[1].contains("`decoder` in [[source]] must be a string"),
        "{found:?}"
    );
    assert!(found[2].starts_with("line 4"), "{found:?}");
    assert!(
        found[2].contains("unknown key `extra` in [[source]]"),
        "{found:?}"
    );

    let issue = only_issue("[[source]]\nname = \"a\"\n");
    assert!(issue.contains("a [[source]] needs a `type`"), "{issue:?}");
}

/// A source without a name, or without a known type, still has its values
/// checked, as a sink without a name does.
#[test]
fn source_values_checked_without_name_or_type() {
    let found = issues("[[source]]\ntype = \"kafka\"\nstart_at = \"middle\"\npoll_interval = \"fast\"\n");
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found[0].contains("a [[source]] needs a `name`"), "{found:?}");
    assert!(found[1].starts_with("line 2"), "{found:?}");
    assert!(
        found[1].contains("source type \"kafka\" is not known"),
        "{found:?}"
    );
    assert!(found[2].starts_with("line 3"), "{found:?}");
    assert!(
        found[2].contains("start_at = \"middle\" is not valid"),
        "{found:?}"
    );
    assert!(found[3].starts_with("line 4"), "{found:?}");
    assert!(found[3].contains("invalid duration \"fast\""), "{found:?}");

    let found = issues(
        "[[source]]\nname = \"a\"\nudp = \"nowhere\"\nmax_message_bytes = 0\npaths = [\"/var/log/[a\"]\n",
    );
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found[0].contains("a [[source]] needs a `type`"), "{found:?}");
    assert!(
        found[1].contains("udp = \"nowhere\" is not an IP address and port"),
        "{found:?}"
    );
    assert!(
        found[2].contains("max_message_bytes must be at least 1"),
        "{found:?}"
    );
    assert!(
        found[3].contains("path pattern \"/var/log/[a\" is not valid"),
        "{found:?}"
    );
}

/// Sinks of every type, each with unknown keys, values of the wrong type,
/// a missing key and invalid values: every problem is listed at its key or
/// value, or at the table's header for a missing key.
#[test]
fn sink_problems_listed_at_once() {
    let text = r#"[[sink]]
name = "archive"
type = "file"
pathh = "alerts.jsonl"
rotate = true
max_bytes = 0
keep = "5"

[[sink]]
name = "chat"
type = "webhook"
uri = "https://hooks.example.net/T0/token"
format = "discord"
secret = "key"
secret_env = "IOCWATCH_KEY"
headers = { "Bad Header" = "x", X-Team = 5 }
timeout = "soon"
retries = 3

[[sink]]
name = "siem"
type = "syslog"
adress = "127.0.0.1:6514"
transport = "udp"
ca_file = "/etc/iocwatch/ca.pem"
facility = "local9"
app_name = "ioc watch"
hostnme = "sensor-1"
timeout = 10
route = { min_severity = "urgent", watchlist = ["c2"] }

[[sink]]
name = "on-call"
type = "email"
server = ""
port = 70000
security = "none"
ca_file = "/etc/iocwatch/ca.pem"
username = "iocwatch"
from_address = "iocwatch@example.net"
to = ["soc@example.net", "duty", 7]
cc = ["boss@example.net"]
batch = "1"
"#;
    let expected = [
        "line 1, column 1: a file sink needs `path`, for example path = \"/var/lib/iocwatch/alerts.jsonl\"",
        "line 4, column 1: unknown key `pathh` in [[sink]] \"archive\"; did you mean `path`?",
        "line 5, column 1: unknown key `rotate` in [[sink]] \"archive\"; did you mean `route`?",
        "line 6, column 13: max_bytes must be at least 1",
        "line 7, column 8: `keep` in [[sink]] \"archive\" must be an integer, found a string: \"5\"",
        "line 9, column 1: a webhook sink needs `url`, for example url = \"https://hooks.example.net/iocwatch\"",
        "line 12, column 1: unknown key `uri` in [[sink]] \"chat\"; did you mean `url`?",
        "line 13, column 10: format = \"discord\" is not valid; use \"generic\", \"slack\" or \"teams\"",
        "line 15, column 14: set only one of secret, secret_env",
        "line 16, column 13: invalid `headers` \"Bad Header\": not a valid header name: invalid HTTP header name",
        "line 16, column 42: `headers` in [[sink]] \"chat\" must be a table of strings, found an integer in it: 5",
        "line 17, column 11: invalid duration \"soon\"; write a number with a unit, such as 30s, 15m, 1h or 7d",
        "line 18, column 1: unknown key `retries` in [[sink]] \"chat\"; valid keys: `name`, `type`, `route`, `url`, \
         `format`, `secret`, `secret_file`, `secret_env`, `headers`, `ca_file` and `timeout`",
        "line 20, column 1: a syslog sink needs `address`, for example address = \"127.0.0.1:6514\"",
        "line 23, column 1: unknown key `adress` in [[sink]] \"siem\"; did you mean `address`?",
        "line 25, column 11: invalid `ca_file` \"/etc/iocwatch/ca.pem\": applies only to transport = \"tls\"",
        "line 26, column 12: invalid `facility` \"local9\": expected a facility name such as local0 to local7, user or daemon",
        "line 27, column 12: invalid `app_name` \"ioc watch\": must be 1 to 48 printable ASCII characters without spaces",
        "line 28, column 1: unknown key `hostnme` in [[sink]] \"siem\"; did you mean `hostname`?",
        "line 29, column 11: `timeout` in [[sink]] \"siem\" must be a string, found an integer: 10",
        "line 30, column 26: min_severity = \"urgent\" is not valid; use \"low\", \"medium\", \"high\" or \"critical\"",
        "line 30, column 36: unknown key `watchlist` in `route` of [[sink]] \"siem\"; did you mean `watchlists`?",
        "line 32, column 1: an email sink needs `from`, for example from = \"iocwatch <iocwatch@example.net>\"",
        "line 35, column 10: invalid `server` \"\": must name the SMTP server",
        "line 36, column 8: port = 70000 is too large; the maximum is 65535",
        "line 38, column 11: invalid `ca_file` \"/etc/iocwatch/ca.pem\": applies only to security = \"starttls\" or \"tls\"",
        "line 39, column 12: missing `password_file`: `username` is set, so a password is needed (or use `password_env`)",
        "line 40, column 1: unknown key `from_address` in [[sink]] \"on-call\"; did you mean `from`?",
        "line 41, column 26: invalid `to` \"duty\": not an e-mail address; write soc@example.net or \"SOC <soc@example.net>\"",
        "line 41, column 34: `to` in [[sink]] \"on-call\" must be an array of strings, found an integer in it: 7",
        "line 42, column 1: unknown key `cc` in [[sink]] \"on-call\"; valid keys: `name`, `type`, `route`, `server`, \
         `port`, `security`, `ca_file`, `username`, `password_file`, `password_env`, `from`, `to`, `batch` and `timeout`",
        "line 43, column 9: `batch` in [[sink]] \"on-call\" must be an integer, found a string: \"1\"",
    ];
    let found = issues(text);
    for (at, words) in expected.iter().enumerate() {
        assert_eq!(
            found.get(at).map(String::as_str),
            Some(*words),
            "issue {at}\nall: {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

/// A valid table of every sink type, with every key the type accepts
/// except the files that building the sink would read.
#[test]
fn every_sink_type_parses() {
    let text = r#"[[sink]]
name = "archive"
type = "file"
path = "/var/lib/iocwatch/alerts.jsonl"
max_bytes = 1048576
keep = 0
route = { watchlists = ["c2"], min_severity = "high" }

[[sink]]
name = "chat"
type = "webhook"
url = "http://127.0.0.1:9/hook"
format = "teams"
secret = "key"
headers = { Authorization = "Bearer token", X-Team = "soc" }
timeout = "2s 500ms"

[[sink]]
name = "siem"
type = "syslog"
address = "[::1]:6514"
transport = "tcp"
app_name = "iocwatch-test"
hostname = "sensor-1"
facility = "local3"
timeout = "5s"
[sink.route]
min_severity = "medium"

[[sink]]
name = "relay"
type = "email"
server = "127.0.0.1"
port = 2525
security = "none"
from = "iocwatch <iocwatch@example.net>"
to = ["soc@example.net", "Duty <duty@example.net>"]
batch = 10
timeout = "30s"
"#;
    let config = match parse(text) {
        Ok(config) => config,
        Err(err) => panic!("{err}"),
    };
    let types: Vec<&str> = config
        .sinks
        .iter()
        .map(|sink| sink.config.kind.type_name())
        .collect();
    assert_eq!(types, ["file", "webhook", "syslog", "email"]);
    let lines: Vec<usize> = config.sinks.iter().map(|sink| sink.line).collect();
    assert_eq!(lines, [1, 9, 18, 30]);

    let archive = &config.sinks[0].config;
    assert_eq!(archive.route.watchlists, ["c2"]);
    assert_eq!(archive.route.min_severity, Some(iocwatch_sinks::Severity::High));
    let iocwatch_sinks::SinkKind::File(file) = &archive.kind else {
        panic!("not a file sink: {archive:?}");
    };
    assert_eq!(file.max_bytes, 1_048_576);
    assert_eq!(file.keep, 0);

    let iocwatch_sinks::SinkKind::Webhook(webhook) = &config.sinks[1].config.kind else {
        panic!("not a webhook: {:?}", config.sinks[1]);
    };
    assert_eq!(webhook.format, iocwatch_sinks::WebhookFormat::Teams);
    assert_eq!(webhook.secret.as_deref(), Some("key"));
    assert_eq!(webhook.headers["X-Team"], "soc");
    assert_eq!(webhook.timeout, Duration::from_millis(2500));

    let siem = &config.sinks[2].config;
    assert_eq!(siem.route.min_severity, Some(iocwatch_sinks::Severity::Medium));
    let iocwatch_sinks::SinkKind::Syslog(syslog) = &siem.kind else {
        panic!("not a syslog sink: {siem:?}");
    };
    assert_eq!(syslog.transport, iocwatch_sinks::SyslogTransport::Tcp);
    assert_eq!(syslog.hostname.as_deref(), Some("sensor-1"));
    assert_eq!(syslog.facility, "local3");

    let iocwatch_sinks::SinkKind::Email(email) = &config.sinks[3].config.kind else {
        panic!("not an email sink: {:?}", config.sinks[3]);
    };
    assert_eq!(email.port, Some(2525));
    assert_eq!(email.security, iocwatch_sinks::EmailSecurity::None);
    assert_eq!(email.to.len(), 2);
    assert_eq!(email.batch, 10);
}

/// The files and variables a sink names are read when it is built. Each
/// one that fails is listed at its key, also when one sink has several.
#[test]
fn sink_build_problems_at_their_keys() {
    let folder = tempfile::tempdir().unwrap();
    let missing = folder.path().join("missing");
    let not_pem = folder.path().join("not.pem");
    std::fs::write(&not_pem, "no certificate here\n").unwrap();
    let text = format!(
        r#"[[sink]]
name = "chat"
type = "webhook"
url = "https://127.0.0.1:9/hook"
secret_file = {missing:?}
ca_file = {not_pem:?}
extra = 1

[[sink]]
name = "relay"
type = "email"
server = "127.0.0.1"
username = "iocwatch"
password_env = "IOCWATCH_TEST_UNSET_VARIABLE"
ca_file = {missing:?}
from = "iocwatch@example.net"
to = ["soc@example.net"]
"#
    );
    let expected = [
        ("line 5, column 15: ", "failed to read `secret_file` file"),
        (
            "line 6, column 11: ",
            "no PEM certificate found in `ca_file` file",
        ),
        ("line 7, column 1: ", "unknown key `extra` in [[sink]] \"chat\""),
        (
            "line 14, column 16: ",
            "environment variable IOCWATCH_TEST_UNSET_VARIABLE named by `password_env` is not set",
        ),
        ("line 15, column 11: ", "failed to read `ca_file` file"),
    ];
    let found = issues(&text);
    for (at, (place, words)) in expected.iter().enumerate() {
        let issue = found.get(at).map_or("", String::as_str);
        assert!(issue.starts_with(place), "issue {at}: {issue:?}\nall: {found:#?}");
        assert!(issue.contains(words), "issue {at}: {issue:?}\nall: {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}
