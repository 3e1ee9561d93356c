//! Snapshots of the human-readable messages: e-mail subjects and bodies,
//! and Slack and Teams webhook bodies.

use iocwatch_sinks::{WebhookFormat, email_body, email_subject, webhook_body};

use crate::support::{TRICKY, alerts};

#[test]
fn email_subject_single() {
    let alerts = alerts();
    assert_eq!(
        email_subject(&alerts[2..3]),
        "[iocwatch] HIGH: 198.51.100.23 (c2-servers) on 10.20.0.15"
    );
    assert_eq!(
        email_subject(&alerts[5..6]),
        "[iocwatch] HIGH: update-check.badcdn.example and 1 more (c2-servers) on 10.20.0.15"
    );
    assert_eq!(
        email_subject(&alerts[8..9]),
        "[iocwatch] UNKNOWN: unknown indicator"
    );
}

#[test]
fn email_subject_batch() {
    let alerts = alerts();
    assert_eq!(
        email_subject(&alerts[1..4]),
        "[iocwatch] 3 alerts, highest HIGH: 203.0.113.0/28, 198.51.100.23"
    );
    assert_eq!(
        email_subject(&alerts[..]),
        "[iocwatch] 9 alerts, highest CRITICAL: e7fc4b658c64f9f7defb825a9d855cbfa65c3781, 203.0.113.0/28 and 6 more"
    );
}

#[test]
fn email_body_names_everything() {
    let alerts = alerts();
    let body = email_body(&alerts[2..3]);
    for expected in [
        "indicator 198.51.100.23 from watchlist c2-servers was contacted by internal host 10.20.0.15 in zeek.conn.",
        "Indicator:  198.51.100.23 (ipv4-addr), seen in destination.ip",
        "Host:       10.20.0.15 (outbound)",
        "Connection: 10.20.0.15:49822 -> 198.51.100.23:443 (tcp)",
        "Time:       2026-12-03T09:00:00.112233Z",
        "What the intelligence says:",
        "Botnet C2 server; malware TrickBot; confidence 90 (High)",
        "Evidence (the log line):\n  1796288400.112233\tCxA1\t10.20.0.15",
        "Next steps:\n  1. Find the process on 10.20.0.15 that contacted 198.51.100.23",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
}

#[test]
fn email_body_snapshots() {
    let alerts = alerts();
    insta::assert_snapshot!("email_single", email_body(&alerts[2..3]));
    insta::assert_snapshot!("email_tricky", email_body(&alerts[TRICKY..=TRICKY]));
    insta::assert_snapshot!(
        "email_batch",
        format!(
            "{}\n\n{}",
            email_subject(&alerts[3..6]),
            email_body(&alerts[3..6])
        )
    );
    insta::assert_snapshot!("email_minimal", email_body(&alerts[8..9]));
}

#[test]
fn slack_snapshots() {
    let alerts = alerts();
    let body = webhook_body(WebhookFormat::Slack, &alerts[5]);
    insta::assert_snapshot!("slack_dns", serde_json::to_string_pretty(&body).unwrap());
    let body = webhook_body(WebhookFormat::Slack, &alerts[TRICKY]);
    insta::assert_snapshot!("slack_tricky", serde_json::to_string_pretty(&body).unwrap());
}

#[test]
fn teams_snapshots() {
    let alerts = alerts();
    let body = webhook_body(WebhookFormat::Teams, &alerts[0]);
    insta::assert_snapshot!("teams_tls", serde_json::to_string_pretty(&body).unwrap());
}

#[test]
fn generic_body_is_alert() {
    let alerts = alerts();
    assert_eq!(webhook_body(WebhookFormat::Generic, &alerts[0]), alerts[0]);
}
