//! Sink configuration from TOML: every type, defaults, rejected keys and
//! values, secrets, and routes.

use std::time::Duration;

use iocwatch_config::read_text;
use iocwatch_sinks::{
    ConfigError, ConfigErrorKind, EmailSecurity, Route, Severity, Sink, SinkConfig, SinkKind,
    SyslogTransport, WebhookFormat,
};
use serde_json::json;

use crate::support::alerts;

fn parse(text: &str) -> Result<SinkConfig, iocwatch_config::ConfigError> {
    SinkConfig::from_toml(text)
}

/// Reads the `[[sink]]` tables of a configuration file as the service
/// does.
fn read_sinks(text: &str) -> Result<Vec<SinkConfig>, iocwatch_config::ConfigError> {
    read_text("test.toml", text, |mut top, report| {
        let mut sinks = Vec::new();
        for mut table in top.tables(report, "sink") {
            sinks.extend(SinkConfig::read(&mut table, report));
            table.finish(report);
        }
        top.finish(report);
        sinks
    })
}

/// Returns each problem of `text`, a sink table, as "line L, column C:
/// message".
fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(config) => panic!("read {config:?} from {text}"),
        Err(error) => error.issues.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn config_file_defaults() {
    let config = parse("name = \"archive\"\ntype = \"file\"\npath = \"/tmp/a.jsonl\"\n").unwrap();
    assert_eq!(config.name, "archive");
    assert_eq!(config.route, Route::default());
    let SinkKind::File(file) = config.kind else {
        panic!("not a file sink: {:?}", config.kind);
    };
    assert_eq!(file.max_bytes, iocwatch_sinks::DEFAULT_MAX_BYTES);
    assert_eq!(file.keep, iocwatch_sinks::DEFAULT_KEEP);
}

#[test]
fn config_webhook_all_keys() {
    let config = parse(
        r#"
        name = "chat"
        type = "webhook"
        url = "https://hooks.example/services/x"
        format = "teams"
        secret = "s3"
        headers = { Authorization = "Bearer t" }
        timeout = "2s 500ms"
        route = { watchlists = ["c2-servers"], min_severity = "high" }
        "#,
    )
    .unwrap();
    let SinkKind::Webhook(webhook) = &config.kind else {
        panic!("not a webhook: {:?}", config.kind);
    };
    assert_eq!(webhook.format, WebhookFormat::Teams);
    assert_eq!(webhook.timeout, Duration::from_millis(2500));
    assert_eq!(webhook.headers["Authorization"], "Bearer t");
    assert_eq!(config.route.watchlists, ["c2-servers"]);
    assert_eq!(config.route.min_severity, Some(Severity::High));
}

#[test]
fn config_syslog_and_email() {
    let syslog =
        parse("name = \"s\"\ntype = \"syslog\"\naddress = \"127.0.0.1:514\"\ntransport = \"tcp\"\n").unwrap();
    let SinkKind::Syslog(syslog) = syslog.kind else {
        panic!()
    };
    assert_eq!(syslog.transport, SyslogTransport::Tcp);
    assert_eq!(syslog.app_name, "iocwatch");
    assert_eq!(syslog.facility, "local0");

    let email = parse(
        "name = \"m\"\ntype = \"email\"\nserver = \"smtp.example\"\nfrom = \"a@example.net\"\nto = [\"b@example.net\"]\n",
    )
    .unwrap();
    let SinkKind::Email(email) = email.kind else {
        panic!()
    };
    assert_eq!(email.security, EmailSecurity::Starttls);
    assert_eq!(email.batch, 1);
    assert_eq!(email.port, None);
}

#[test]
fn config_rejects_unknown_keys() {
    let found = problems("name = \"a\"\ntype = \"file\"\npath = \"/tmp/a\"\nmax_size = 10\n");
    assert_eq!(
        found,
        [
            "line 4, column 1: unknown key `max_size` at the top level; valid keys: `name`, `type`, `route`, `path`, \
          `max_bytes` and `keep`"
        ]
    );

    let found =
        problems("name = \"a\"\ntype = \"file\"\npath = \"/tmp/a\"\nroute = { severity = \"high\" }\n");
    assert_eq!(
        found,
        ["line 4, column 11: unknown key `severity` in [route]; valid keys: `watchlists` and `min_severity`"]
    );
}

#[test]
fn config_rejects_empty_watchlist_route() {
    let found = problems("name = \"a\"\ntype = \"file\"\npath = \"/tmp/a\"\nroute = { watchlists = [] }\n");
    assert_eq!(
        found,
        [
            "line 4, column 24: `watchlists = []` would route no alert; list watchlist names, or remove the key to \
          route the alerts of every watchlist"
        ]
    );
}

#[test]
fn config_rejects_unknown_type_and_values() {
    let error = parse("name = \"a\"\ntype = \"kafka\"\n").unwrap_err();
    assert!(error.to_string().contains("kafka"), "{error}");

    let error =
        parse("name = \"a\"\ntype = \"webhook\"\nurl = \"http://x\"\nformat = \"discord\"\n").unwrap_err();
    assert!(error.to_string().contains("discord"), "{error}");

    let error =
        parse("name = \"a\"\ntype = \"webhook\"\nurl = \"http://x\"\ntimeout = \"soon\"\n").unwrap_err();
    assert!(error.to_string().contains("invalid duration \"soon\""), "{error}");

    let error =
        parse("name = \"a\"\ntype = \"file\"\npath = \"/tmp/a\"\nroute = { min_severity = \"urgent\" }\n")
            .unwrap_err();
    assert!(error.to_string().contains("urgent"), "{error}");
}

#[test]
fn config_list_of_sinks() {
    let sinks = read_sinks(
        r#"
        [[sink]]
        name = "archive"
        type = "file"
        path = "/tmp/x.jsonl"

        [[sink]]
        name = "siem"
        type = "syslog"
        address = "127.0.0.1:6514"
        transport = "tls"
        [sink.route]
        min_severity = "medium"
        "#,
    )
    .unwrap();
    assert_eq!(sinks.len(), 2);
    assert_eq!(sinks[1].kind.type_name(), "syslog");
    assert_eq!(sinks[1].route.min_severity, Some(Severity::Medium));
}

/// Every problem of a table is listed at once, each at its key or value:
/// unknown keys, wrong types, a missing key and invalid values.
#[test]
fn config_lists_every_problem() {
    let found = problems(
        "name = \"chat\"\ntype = \"webhook\"\nformat = \"discord\"\nsecret = 5\nsecret_file = \"/k\"\n\
         secret_env = \"K\"\ntimeout = \"0s\"\nroute = { min_severity = \"urgent\" }\nurll = \"http://x\"\n",
    );
    let expected = [
        "line 1, column 1: a webhook sink needs `url`, for example url = \"https://hooks.example.net/iocwatch\"",
        "line 3, column 10: format = \"discord\" is not valid; use \"generic\", \"slack\" or \"teams\"",
        "line 4, column 10: `secret` at the top level must be a string, found an integer: 5",
        "line 5, column 15: set only one of secret, secret_file, secret_env",
        "line 7, column 11: \"0s\" is zero; give a positive duration such as 1h",
        "line 8, column 26: min_severity = \"urgent\" is not valid; use \"low\", \"medium\", \"high\" or \"critical\"",
        "line 9, column 1: unknown key `urll` at the top level; did you mean `url`?",
    ];
    assert_eq!(found, expected);
}

/// A table with a problem is not built, so its reader reads the secret
/// itself: an unset variable or a missing file shows in the same run as
/// the other problems, and a readable one adds nothing.
#[test]
fn config_reads_secret_of_table_with_other_problem() {
    let webhook = problems(
        "name = \"chat\"\ntype = \"webhook\"\nurl = \"https://hooks.example.net/x\"\n\
         format = \"discord\"\nsecret_env = \"IOCWATCH_TEST_UNSET_VARIABLE\"\n",
    );
    assert_eq!(
        webhook,
        [
            "line 4, column 10: format = \"discord\" is not valid; use \"generic\", \"slack\" or \"teams\"",
            "line 5, column 14: environment variable IOCWATCH_TEST_UNSET_VARIABLE named by `secret_env` is not set or not UTF-8",
        ]
    );
    let email = problems(
        "name = \"mail\"\ntype = \"email\"\nserver = \"127.0.0.1\"\nport = 0\nfrom = \"a@example.net\"\n\
         to = [\"b@example.net\"]\nusername = \"a\"\npassword_file = \"/nonexistent/iocwatch-password\"\n",
    );
    assert_eq!(email.len(), 2, "{email:?}");
    assert!(email[0].starts_with("line 4, column 8:"), "{email:?}");
    assert!(
        email[1].starts_with(
            "line 8, column 17: failed to read `password_file` file /nonexistent/iocwatch-password:"
        ),
        "{email:?}"
    );

    let header = problems(
        "name = \"chat\"\ntype = \"webhook\"\nurl = \"https://hooks.example.net/x\"\n\
         headers = { \"Bad Name\" = \"v\" }\nsecret_env = \"IOCWATCH_TEST_UNSET_VARIABLE\"\n",
    );
    assert_eq!(header.len(), 2, "{header:?}");
    assert!(header[1].contains("IOCWATCH_TEST_UNSET_VARIABLE"), "{header:?}");

    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let readable = problems(&format!(
        "name = \"chat\"\ntype = \"webhook\"\nurl = \"https://hooks.example.net/x\"\n\
         format = \"discord\"\nsecret_file = {:?}\n",
        secret.display().to_string()
    ));
    assert_eq!(readable.len(), 1, "{readable:?}");
}

/// Without a known `type` the keys a table accepts are unknown, so the
/// other keys are not reported.
#[test]
fn config_unknown_type_leaves_keys_unreported() {
    let found = problems("name = \"a\"\ntype = \"kafka\"\nbrokers = [\"127.0.0.1:9092\"]\n");
    assert_eq!(
        found,
        [
            "line 2, column 8: type = \"kafka\" is not valid; use \"file\", \"webhook\", \"syslog\" or \"email\""
        ]
    );
    let found = problems("name = \"a\"\nbrokers = [\"127.0.0.1:9092\"]\n");
    assert_eq!(
        found,
        ["line 1, column 1: a [[sink]] needs a `type`, for example type = \"file\""]
    );
}

fn build_error(config: SinkConfig) -> ConfigError {
    match Sink::new(config) {
        Ok(sink) => panic!("built {sink:?}"),
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("sink \""), "{message}");
            error
        }
    }
}

/// Returns the webhook settings of `config`.
fn webhook_of(config: &mut SinkConfig) -> &mut iocwatch_sinks::WebhookConfig {
    match &mut config.kind {
        SinkKind::Webhook(webhook) => webhook,
        other => panic!("not a webhook: {other:?}"),
    }
}

const WEBHOOK: &str = "name = \"w\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n";

#[test]
fn config_rejects_conflicting_secrets() {
    let found = problems(&format!("{WEBHOOK}secret = \"a\"\nsecret_env = \"B\"\n"));
    assert_eq!(found, ["line 5, column 14: set only one of secret, secret_env"]);
}

#[test]
fn sink_rejects_conflicting_secrets() {
    let mut config = parse(&format!("{WEBHOOK}secret = \"a\"\n")).unwrap();
    webhook_of(&mut config).secret_env = Some("B".to_owned());
    let error = build_error(config);
    assert!(
        matches!(error.kind(), ConfigErrorKind::ConflictingKeys { keys } if *keys == ["secret", "secret_env"])
    );
}

#[test]
fn sink_reports_missing_secret_file() {
    let error = build_error(
        parse(&format!(
            "{WEBHOOK}secret_file = \"/nonexistent/iocwatch-secret\"\n"
        ))
        .unwrap(),
    );
    assert!(
        matches!(error.kind(), ConfigErrorKind::ReadFile { key: "secret_file", path, .. } if path.ends_with("iocwatch-secret")),
        "{error:?}"
    );
}

#[test]
fn sink_reports_unset_secret_env() {
    let error = build_error(
        parse(&format!(
            "{WEBHOOK}secret_env = \"IOCWATCH_TEST_UNSET_VARIABLE\"\n"
        ))
        .unwrap(),
    );
    assert!(
        matches!(error.kind(), ConfigErrorKind::MissingEnv { key: "secret_env", variable } if variable == "IOCWATCH_TEST_UNSET_VARIABLE"),
        "{error:?}"
    );
}

/// The files a sink names are read independently, so one build reports
/// every file that fails.
#[test]
fn sink_reports_every_build_problem() {
    let error = build_error(
        parse(&format!(
            "{WEBHOOK}secret_file = \"/nonexistent/iocwatch-secret\"\nca_file = \"/nonexistent/iocwatch-ca.pem\"\n"
        ))
        .unwrap(),
    );
    let keys: Vec<Option<&str>> = error.kinds().map(ConfigErrorKind::key).collect();
    assert_eq!(keys, [Some("secret_file"), Some("ca_file")], "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("iocwatch-secret: ") && message.contains("; failed to read `ca_file` file"),
        "{message}"
    );
}

/// Each invalid value is reported at its line, with its key.
#[test]
fn config_rejects_bad_values() {
    let cases = [
        (
            "name = \"w\"\ntype = \"webhook\"\nurl = \"ftp://example/x\"\n",
            "url",
        ),
        ("name = \"w\"\ntype = \"webhook\"\nurl = \"not a url\"\n", "url"),
        (
            "name = \"w\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { \"Bad Header\" = \"x\" }\n",
            "headers",
        ),
        (
            "name = \"f\"\ntype = \"file\"\npath = \"/tmp/x\"\nmax_bytes = 0\n",
            "max_bytes",
        ),
        (
            "name = \"s\"\ntype = \"syslog\"\naddress = \"127.0.0.1\"\n",
            "address",
        ),
        (
            "name = \"s\"\ntype = \"syslog\"\naddress = \"127.0.0.1:514\"\nfacility = \"local9\"\n",
            "facility",
        ),
        (
            "name = \"s\"\ntype = \"syslog\"\naddress = \"127.0.0.1:514\"\napp_name = \"ioc watch\"\n",
            "app_name",
        ),
        (
            "name = \"s\"\ntype = \"syslog\"\naddress = \"127.0.0.1:514\"\nca_file = \"/tmp/ca.pem\"\n",
            "ca_file",
        ),
        (
            "name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"not-an-address\"\nto = [\"a@example.net\"]\n",
            "from",
        ),
        (
            "name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"a@example.net\"\nto = [\"a@example.net\"]\nbatch = 0\n",
            "batch",
        ),
    ];
    for (text, key) in cases {
        let line = text
            .lines()
            .position(|line| line.starts_with(&format!("{key} =")))
            .unwrap()
            + 1;
        let found = problems(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert!(
            found[0].starts_with(&format!("line {line}, ")),
            "{text}: {found:?}"
        );
        assert!(found[0].contains(key), "{text}: {found:?}");
    }
}

/// A configuration made in code is checked again when the sink is built.
#[test]
fn sink_rejects_bad_values_given_in_code() {
    let mut config = parse(WEBHOOK).unwrap();
    webhook_of(&mut config).url = "ftp://example/x".to_owned();
    assert_eq!(build_error(config).kind().key(), Some("url"));

    let mut config = parse("name = \"f\"\ntype = \"file\"\npath = \"/tmp/x\"\n").unwrap();
    if let SinkKind::File(file) = &mut config.kind {
        file.max_bytes = 0;
    }
    assert_eq!(build_error(config).kind().key(), Some("max_bytes"));

    let mut config =
        parse("name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"a@example.net\"\nto = [\"b@example.net\"]\n")
            .unwrap();
    if let SinkKind::Email(email) = &mut config.kind {
        email.to.clear();
    }
    assert!(
        matches!(
            build_error(config).kind(),
            ConfigErrorKind::Missing { key: "to", .. }
        ),
        "no recipients"
    );
}

#[test]
fn config_requires_recipients_and_password() {
    let found =
        problems("name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"a@example.net\"\nto = []\n");
    assert_eq!(
        found,
        ["line 5, column 6: missing `to`: list at least one recipient"]
    );
    let found = problems(
        "name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"a@example.net\"\nto = [\"b@example.net\"]\nusername = \"u\"\n",
    );
    assert_eq!(
        found,
        [
            "line 6, column 12: missing `password_file`: `username` is set, so a password is needed (or use `password_env`)"
        ]
    );
    let found = problems(
        "name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"a@example.net\"\nto = [\"b@example.net\"]\npassword_env = \"IOCWATCH_TEST_UNSET_VARIABLE\"\n",
    );
    assert_eq!(
        found,
        [
            "line 6, column 16: missing `username`: a password is set, so the user name is needed",
            "line 6, column 16: environment variable IOCWATCH_TEST_UNSET_VARIABLE named by `password_env` is not set or not UTF-8"
        ]
    );
}

#[test]
fn sink_error_hides_webhook_path() {
    let url = "gopher://hooks.example/T0/B0/secret-token";
    let found = problems(&format!("name = \"w\"\ntype = \"webhook\"\nurl = {url:?}\n"));
    assert!(!found[0].contains("secret-token"), "{found:?}");
    assert!(found[0].contains("hooks.example"), "{found:?}");

    let mut config = parse(WEBHOOK).unwrap();
    webhook_of(&mut config).url = url.to_owned();
    let error = build_error(config).to_string();
    assert!(!error.contains("secret-token"), "{error}");
    assert!(error.contains("hooks.example"), "{error}");
}

#[test]
fn route_all_by_default() {
    for alert in alerts() {
        assert!(Route::default().accepts(&alert));
    }
}

#[test]
fn route_by_watchlist() {
    let route = Route {
        watchlists: vec!["domains".to_owned()],
        min_severity: None,
    };
    let alerts = alerts();
    assert!(
        !route.accepts(&alerts[0]),
        "c2-servers alert passed a domains route"
    );
    assert!(route.accepts(&alerts[crate::support::TRICKY]));
    // Without `iocwatch.watchlists` the feed names of the enrichments count.
    let alert = json!({"threat": {"enrichments": [{"feed": {"name": "domains"}}]}});
    assert!(route.accepts(&alert));
    assert!(!route.accepts(&json!({})));
}

#[test]
fn route_by_min_severity() {
    let route = Route {
        watchlists: Vec::new(),
        min_severity: Some(Severity::High),
    };
    assert!(route.accepts(&json!({"iocwatch": {"severity": "high"}})));
    assert!(route.accepts(&json!({"iocwatch": {"severity": "critical"}})));
    assert!(!route.accepts(&json!({"iocwatch": {"severity": "medium"}})));
    assert!(!route.accepts(&json!({"iocwatch": {"severity": "low"}})));
    // An alert without a known severity reaches every sink.
    assert!(route.accepts(&json!({"iocwatch": {"severity": "bogus"}})));
    assert!(route.accepts(&json!({})));
}

#[test]
fn severity_names() {
    assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
    assert!(Severity::Low < Severity::Critical);
    let error = "urgent".parse::<Severity>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown severity \"urgent\"; expected low, medium, high or critical"
    );
}

#[test]
fn sink_shares_across_tasks() {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_shareable::<Sink>();
    assert_shareable::<iocwatch_sinks::DeliveryError>();

    let sink =
        Sink::new(parse("name = \"a\"\ntype = \"syslog\"\naddress = \"127.0.0.1:9\"\n").unwrap()).unwrap();
    let alert = json!({});
    let delivery = sink.deliver_batch(std::slice::from_ref(&alert));
    assert_send(&delivery);
}

#[test]
fn config_doc_example_parses() {
    let source =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config.rs"))
            .unwrap();
    let example: String = source
        .lines()
        .skip_while(|line| *line != "//! ```toml")
        .skip(1)
        .take_while(|line| *line != "//! ```")
        .map(|line| format!("{}\n", line.trim_start_matches("//!").trim_start()))
        .collect();
    assert!(example.contains("[[sink]]"), "no example found");
    let sinks = read_sinks(&example).unwrap();
    let types: Vec<&str> = sinks.iter().map(|sink| sink.kind.type_name()).collect();
    assert_eq!(types, ["file", "webhook", "syslog", "email"]);
}
