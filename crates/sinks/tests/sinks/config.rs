//! Sink configuration from TOML: every type, defaults, rejected keys and
//! values, secrets, and routes.

use std::time::Duration;

use iocwatch_sinks::{
    ConfigError, ConfigErrorKind, EmailSecurity, Route, Severity, Sink, SinkConfig, SinkKind,
    SyslogTransport, WebhookFormat,
};
use serde::Deserialize;
use serde_json::json;

use crate::support::alerts;

fn parse(text: &str) -> Result<SinkConfig, toml::de::Error> {
    toml::from_str(text)
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
    let error = parse("name = \"a\"\ntype = \"file\"\npath = \"/tmp/a\"\nmax_size = 10\n").unwrap_err();
    assert!(error.to_string().contains("unknown field `max_size`"), "{error}");

    let error = parse("name = \"a\"\ntype = \"file\"\npath = \"/tmp/a\"\nroute = { severity = \"high\" }\n")
        .unwrap_err();
    assert!(error.to_string().contains("unknown field `severity`"), "{error}");
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
    #[derive(Deserialize)]
    struct File {
        #[serde(rename = "sink")]
        sinks: Vec<SinkConfig>,
    }
    let file: File = toml::from_str(
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
    assert_eq!(file.sinks.len(), 2);
    assert_eq!(file.sinks[1].kind.type_name(), "syslog");
    assert_eq!(file.sinks[1].route.min_severity, Some(Severity::Medium));
}

fn build_error(text: &str) -> ConfigError {
    let config = parse(text).unwrap();
    match Sink::new(config) {
        Ok(_) => panic!("built a sink from {text}"),
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("sink \""), "{message}");
            error
        }
    }
}

#[test]
fn sink_rejects_conflicting_secrets() {
    let error = build_error(
        "name = \"w\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsecret = \"a\"\nsecret_env = \"B\"\n",
    );
    assert!(
        matches!(error.kind(), ConfigErrorKind::ConflictingKeys { keys } if *keys == ["secret", "secret_env"])
    );
}

#[test]
fn sink_reports_missing_secret_file() {
    let error = build_error(
        "name = \"w\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsecret_file = \"/nonexistent/iocwatch-secret\"\n",
    );
    assert!(
        matches!(error.kind(), ConfigErrorKind::ReadFile { key: "secret_file", path, .. } if path.ends_with("iocwatch-secret")),
        "{error:?}"
    );
}

#[test]
fn sink_reports_unset_secret_env() {
    let error = build_error(
        "name = \"w\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsecret_env = \"IOCWATCH_TEST_UNSET_VARIABLE\"\n",
    );
    assert!(
        matches!(error.kind(), ConfigErrorKind::MissingEnv { key: "secret_env", variable } if variable == "IOCWATCH_TEST_UNSET_VARIABLE"),
        "{error:?}"
    );
}

#[test]
fn sink_rejects_bad_values() {
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
    for (text, expected_key) in cases {
        match build_error(text).kind() {
            ConfigErrorKind::InvalidValue { key, .. } => assert_eq!(*key, expected_key, "{text}"),
            other => panic!("{text}: unexpected {other:?}"),
        }
    }
}

#[test]
fn sink_requires_recipients_and_password() {
    let error =
        build_error("name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"a@example.net\"\nto = []\n");
    assert!(
        matches!(error.kind(), ConfigErrorKind::Missing { key: "to", .. }),
        "{error:?}"
    );
    let error = build_error(
        "name = \"m\"\ntype = \"email\"\nserver = \"smtp\"\nfrom = \"a@example.net\"\nto = [\"b@example.net\"]\nusername = \"u\"\n",
    );
    assert!(
        matches!(
            error.kind(),
            ConfigErrorKind::Missing {
                key: "password_file",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn sink_error_hides_webhook_path() {
    let config =
        parse("name = \"w\"\ntype = \"webhook\"\nurl = \"gopher://hooks.example/T0/B0/secret-token\"\n")
            .unwrap();
    let error = Sink::new(config).unwrap_err().to_string();
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
    #[derive(Deserialize)]
    struct File {
        #[serde(rename = "sink")]
        sinks: Vec<SinkConfig>,
    }
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
    let file: File = toml::from_str(&example).unwrap();
    let types: Vec<&str> = file.sinks.iter().map(|sink| sink.kind.type_name()).collect();
    assert_eq!(types, ["file", "webhook", "syslog", "email"]);
}
