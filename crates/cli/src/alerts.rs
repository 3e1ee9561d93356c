//! `iocwatch alerts`: listing, inspecting and triaging stored alerts.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use iocwatch_model::time::{format_timestamp, parse_timestamp};
use iocwatch_store::{
    AlertFilter, AlertStatus, CLI_ACTOR, HistoryEntry, NewAudit, StatusChange, Store, StoredAlert,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::args::{AlertListArgs, AlertsCommand, parse_duration};
use crate::output::{print_table, short_time};

/// Characters of an alert id shown in lists; `show`, `ack` and `close`
/// accept them.
const SHORT_ID: usize = 8;

/// Runs one `alerts` command against the store in `data_dir`.
pub fn run(data_dir: &Path, command: AlertsCommand) -> Result<ExitCode> {
    let store = Store::open(data_dir)?;
    let now = OffsetDateTime::now_utc();
    match command {
        AlertsCommand::List(args) => list(&store, &args, now)?,
        AlertsCommand::Show { id, json } => show(&store, &id, json)?,
        AlertsCommand::Ack { ids, comment, by } => {
            return change_all(&store, &ids, AlertStatus::Acknowledged, comment, by, now);
        }
        AlertsCommand::Investigate { ids, comment, by } => {
            return change_all(&store, &ids, AlertStatus::Investigating, comment, by, now);
        }
        AlertsCommand::Reopen { ids, comment, by } => {
            return change_all(&store, &ids, AlertStatus::New, comment, by, now);
        }
        AlertsCommand::Close {
            id,
            resolution,
            comment,
            by,
        } => {
            let alert = store.find_alert(&id)?;
            let change = StatusChange {
                status: AlertStatus::Closed,
                resolution: Some(resolution),
                comment: Some(comment),
                actor: actor(by),
            };
            set_status(&store, alert, &change, now)?;
            println!("closed {alert} as {resolution}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Changes the status of an alert and records the change in the audit
/// trail with the actor `cli`; the history keeps the `--by` name.
fn set_status(
    store: &Store,
    id: Uuid,
    change: &StatusChange,
    now: OffsetDateTime,
) -> iocwatch_store::Result<()> {
    let before = store.alert(id)?.map(|detail| {
        json!({
            "status": detail.alert.status.as_str(),
            "resolution": detail.alert.resolution.map(|resolution| resolution.as_str()),
        })
    });
    store.set_status(id, change, now)?;
    let target = format!("alert:{id}");
    let entry = NewAudit {
        actor: CLI_ACTOR,
        action: "alert.status",
        target: &target,
        before,
        after: Some(json!({
            "status": change.status.as_str(),
            "resolution": change.resolution.map(|resolution| resolution.as_str()),
            "comment": change.comment,
            "by": change.actor,
        })),
    };
    store.record_audit(&entry, now)
}

/// Returns the actor for the history: `--by`, else `$USER`, else `$LOGNAME`.
fn actor(by: Option<String>) -> String {
    by.filter(|name| !name.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|name| !name.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|name| !name.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Sets `status` on every alert; one that fails is reported and the rest
/// still change. Exit status 2 when any failed.
fn change_all(
    store: &Store,
    ids: &[String],
    status: AlertStatus,
    comment: Option<String>,
    by: Option<String>,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let actor = actor(by);
    let mut failed = false;
    for id in ids {
        let change = StatusChange {
            status,
            resolution: None,
            comment: comment.clone(),
            actor: actor.clone(),
        };
        let result = store
            .find_alert(id)
            .and_then(|alert| set_status(store, alert, &change, now).map(|()| alert));
        match result {
            Ok(alert) => println!("{alert} is {status}"),
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads `--since`/`--until`: RFC 3339, epoch seconds, or a duration before `now`.
fn parse_time(option: &str, text: &str, now: OffsetDateTime) -> Result<OffsetDateTime> {
    if let Some(instant) = parse_timestamp(text) {
        return Ok(instant);
    }
    let Ok(ago) = parse_duration(text) else {
        bail!(
            "invalid {option} {text:?}: write a time such as 2024-05-01T10:00:00Z or a duration before now \
             such as 24h"
        );
    };
    let ago = time::Duration::try_from(ago).with_context(|| format!("{option} {text:?} is too long ago"))?;
    now.checked_sub(ago)
        .with_context(|| format!("{option} {text:?} is too long ago"))
}

fn list(store: &Store, args: &AlertListArgs, now: OffsetDateTime) -> Result<()> {
    // Stored indicators are valid values, so an invalid one matches none.
    if let Some(value) = &args.indicator {
        let options = iocwatch_model::ParseOptions { allow_broad: true };
        if let Err(error) = iocwatch_model::parse_indicator(value, None, options) {
            bail!("--indicator {value:?} is not a valid indicator ({error}), so no alert can match it");
        }
    }
    let instant =
        |option: &str, text: Option<&str>| text.map(|text| parse_time(option, text, now)).transpose();
    let filter = AlertFilter {
        status: args.status,
        statuses: Vec::new(),
        text: None,
        updated_after: None,
        min_severity: args.severity,
        watchlist: args.watchlist.clone(),
        internal_host: args.host.clone(),
        indicator: None,
        indicator_covers: args.indicator.clone(),
        since: instant("--since", args.since.as_deref())?,
        until: instant("--until", args.until.as_deref())?,
        event_since: instant("--event-since", args.event_since.as_deref())?,
        event_until: instant("--event-until", args.event_until.as_deref())?,
        limit: Some(args.limit),
        offset: args.offset,
    };
    let alerts = store.list_alerts(&filter)?;
    if args.json {
        for alert in &alerts {
            println!("{}", alert_json(alert, None));
        }
        return Ok(());
    }
    if alerts.is_empty() {
        println!("no alerts match");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|alert| {
            let id = alert.id.to_string();
            vec![
                id[..SHORT_ID].to_owned(),
                alert.status.to_string(),
                alert.severity.to_string(),
                short_time(alert.last_seen),
                alert.count.to_string(),
                alert.watchlist.clone(),
                alert.indicator.clone(),
                alert.internal_host.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "STATUS",
            "SEVERITY",
            "LAST SEEN",
            "COUNT",
            "WATCHLIST",
            "INDICATOR",
            "HOST",
        ],
        &rows,
    );
    if alerts.len() as u64 == args.limit {
        println!(
            "... more may match; see them with --offset {}",
            args.offset + args.limit
        );
    }
    Ok(())
}

fn show(store: &Store, id: &str, as_json: bool) -> Result<()> {
    let id = store.find_alert(id)?;
    let Some(detail) = store.alert(id)? else {
        bail!("alert {id} was deleted while it was read");
    };
    if as_json {
        println!("{}", alert_json(&detail.alert, Some(&detail.history)));
        return Ok(());
    }

    let alert = &detail.alert;
    println!("alert {}", alert.id);
    println!("  status:     {}", alert.status);
    if let Some(resolution) = alert.resolution {
        println!("  resolution: {resolution}");
    }
    println!("  severity:   {}", alert.severity);
    println!("  watchlist:  {}", alert.watchlist);
    println!("  indicator:  {}", alert.indicator);
    if let Some(host) = &alert.internal_host {
        println!("  host:       {host}");
    }
    let times = if alert.count == 1 { "once" } else { "times" };
    let count = if alert.count == 1 {
        String::new()
    } else {
        format!("{} ", alert.count)
    };
    println!(
        "  seen:       {count}{times}, {} to {}",
        short_time(alert.first_seen),
        short_time(alert.last_seen)
    );

    println!("\nhistory:");
    for entry in &detail.history {
        println!("  {}", history_line(entry));
    }
    println!("\ndocument:");
    let document =
        serde_json::to_string_pretty(&alert.document).context("cannot format the alert document")?;
    println!("{document}");
    Ok(())
}

fn history_line(entry: &HistoryEntry) -> String {
    let mut line = match entry.from {
        Some(from) => format!("{} {}: {from} -> {}", short_time(entry.at), entry.actor, entry.to),
        None => format!(
            "{} {}: created as {}",
            short_time(entry.at),
            entry.actor,
            entry.to
        ),
    };
    if let Some(resolution) = entry.resolution {
        line.push_str(&format!(" ({resolution})"));
    }
    if let Some(comment) = &entry.comment {
        line.push_str(&format!(": {comment}"));
    }
    line
}

fn alert_json(alert: &StoredAlert, history: Option<&[HistoryEntry]>) -> Value {
    let mut value = json!({
        "id": alert.id.to_string(),
        "status": alert.status.as_str(),
        "resolution": alert.resolution.map(|r| r.as_str()),
        "severity": alert.severity.as_str(),
        "watchlist": alert.watchlist,
        "indicator": alert.indicator,
        "internal_host": alert.internal_host,
        "first_seen": format_timestamp(alert.first_seen),
        "last_seen": format_timestamp(alert.last_seen),
        "created_at": format_timestamp(alert.created_at),
        "last_sighting_at": format_timestamp(alert.last_sighting_at),
        "count": alert.count,
        "document": alert.document,
    });
    if let Some(history) = history {
        value["history"] = history
            .iter()
            .map(|entry| {
                json!({
                    "at": format_timestamp(entry.at),
                    "actor": entry.actor,
                    "from": entry.from.map(|s| s.as_str()),
                    "to": entry.to.as_str(),
                    "resolution": entry.resolution.map(|r| r.as_str()),
                    "comment": entry.comment,
                })
            })
            .collect();
    }
    value
}
