//! `iocwatch allowlist`: values and networks that never alert.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use iocwatch_model::ParseOptions;
use iocwatch_store::{CLI_ACTOR, NewAudit, Store, StoreError, allowlist_json};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::AllowlistCommand;
use crate::output::{print_table, short_time};

/// Runs one `allowlist` command against the store in `data_dir`.
pub fn run(data_dir: &Path, command: AllowlistCommand) -> Result<ExitCode> {
    let store = Store::open(data_dir)?;
    let now = OffsetDateTime::now_utc();
    let mut failed = false;
    match command {
        AllowlistCommand::Add {
            values,
            comment,
            allow_broad,
        } => {
            let options = ParseOptions { allow_broad };
            for value in &values {
                let before = match store.allowlist_entry(value) {
                    Ok(before) => before,
                    Err(error @ StoreError::InvalidAllowlistValue { .. }) => {
                        eprintln!("error: {error}");
                        failed = true;
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                };
                let result = store.allowlist_add(value, comment.as_deref(), options, now);
                if let Ok((entry, _)) = &result {
                    let entry = NewAudit {
                        actor: CLI_ACTOR,
                        action: "allowlist.add",
                        target: &format!("allowlist:{}", entry.value),
                        before: before.as_ref().map(allowlist_json),
                        after: Some(allowlist_json(entry)),
                    };
                    store.record_audit(&entry, now)?;
                }
                match result {
                    Ok((entry, true)) => println!("allowed {} ({})", entry.value, entry.value.kind()),
                    Ok((entry, false)) => println!("{} was allowed already; comment updated", entry.value),
                    Err(error @ StoreError::InvalidAllowlistValue { .. }) => {
                        eprintln!("error: {error}");
                        failed = true;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        AllowlistCommand::Remove { values } => {
            for value in &values {
                let before = match store.allowlist_entry(value) {
                    Ok(before) => before,
                    Err(error @ StoreError::InvalidAllowlistValue { .. }) => {
                        eprintln!("error: {error}");
                        failed = true;
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                };
                let result = store.allowlist_remove(value);
                if let (Ok(true), Some(before)) = (&result, &before) {
                    let entry = NewAudit {
                        actor: CLI_ACTOR,
                        action: "allowlist.remove",
                        target: &format!("allowlist:{}", before.value),
                        before: Some(allowlist_json(before)),
                        after: None,
                    };
                    store.record_audit(&entry, now)?;
                }
                match result {
                    Ok(true) => println!("removed {value} from the allowlist"),
                    Ok(false) => {
                        eprintln!("{value} is not on the allowlist; `iocwatch allowlist list` shows it");
                        failed = true;
                    }
                    Err(error @ StoreError::InvalidAllowlistValue { .. }) => {
                        eprintln!("error: {error}");
                        failed = true;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        AllowlistCommand::List { json } => list(&store, json)?,
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn list(store: &Store, as_json: bool) -> Result<()> {
    let entries = store.allowlist()?;
    if as_json {
        for entry in &entries {
            let line = json!({
                "value": entry.value.to_string(),
                "type": entry.value.kind().as_str(),
                "original": entry.original,
                "comment": entry.comment,
                "added_at": iocwatch_model::time::format_timestamp(entry.added_at),
            });
            println!("{line}");
        }
        return Ok(());
    }
    if entries.is_empty() {
        println!("the allowlist is empty; add values with `iocwatch allowlist add VALUE --comment WHY`");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            vec![
                entry.value.to_string(),
                entry.value.kind().to_string(),
                short_time(entry.added_at),
                entry.comment.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(&["VALUE", "TYPE", "ADDED", "COMMENT"], &rows);
    Ok(())
}
