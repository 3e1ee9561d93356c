//! `iocwatch watchlist`: stored watchlists and their indicators.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use iocwatch_intel::{LoadOptions, load_file};
use iocwatch_model::{DomainMatch, Indicator, IndicatorValue, Meta, Origin, ParseOptions, parse_indicator};
use iocwatch_pipeline::Allowlist;
use iocwatch_store::{
    CLI_ACTOR, ImportOptions, ImportReport, NewAudit, Page, Store, StoreError, WatchlistInfo,
    WatchlistSettings, settings_json,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::args::{DomainMatchArg, SettingsArgs, WatchlistCommand};
use crate::output::{duration, print_table, short_time};

/// Exit status when some input could not be used.
const EXIT_PARTIAL: u8 = 2;

/// Runs one `watchlist` command against the store in `data_dir`.
pub fn run(data_dir: &Path, command: WatchlistCommand) -> Result<ExitCode> {
    let store = Store::open(data_dir)?;
    let now = OffsetDateTime::now_utc();
    match command {
        WatchlistCommand::Create {
            name,
            settings,
            disabled,
        } => {
            let mut values = WatchlistSettings::default();
            apply(&settings, &mut values);
            values.enabled = !disabled;
            store.create_watchlist(&name, &values, now)?;
            audit(
                &store,
                "watchlist.create",
                &name,
                None,
                Some(settings_json(&name, &values)),
                now,
            )?;
            println!("created watchlist {name}");
        }
        WatchlistCommand::Update {
            name,
            settings,
            enable,
            disable,
        } => {
            let before = existing(&store, &name, now)?.settings;
            let mut values = before.clone();
            apply(&settings, &mut values);
            if enable {
                values.enabled = true;
            }
            if disable {
                values.enabled = false;
            }
            store.update_watchlist(&name, &values, now)?;
            let (before, after) = (settings_json(&name, &before), settings_json(&name, &values));
            audit(&store, "watchlist.update", &name, Some(before), Some(after), now)?;
            println!("updated watchlist {name}");
        }
        WatchlistCommand::Import {
            name,
            files,
            column,
            allow_broad,
            all_rejections,
            ttl,
        } => {
            let options = LoadOptions {
                format: None,
                column,
                parse: ParseOptions { allow_broad },
            };
            return import(&store, &name, &files, &options, all_rejections, ttl, now);
        }
        WatchlistCommand::Add {
            name,
            values,
            description,
            confidence,
            ttl,
            allow_broad,
        } => {
            let meta = Meta {
                description,
                confidence,
                ..Meta::default()
            };
            return add(&store, &name, &values, meta, ttl, allow_broad, now);
        }
        WatchlistCommand::Remove { name, values } => return remove(&store, &name, &values, now),
        WatchlistCommand::List { json } => list(&store, json, now)?,
        WatchlistCommand::Show { name, limit, offset } => show(&store, &name, Page { offset, limit }, now)?,
        WatchlistCommand::Export {
            name,
            format,
            include_expired,
            output,
        } => crate::export::export(&store, &name, format, include_expired, output.as_deref(), now)?,
        WatchlistCommand::Delete { name } => {
            let before = existing(&store, &name, now)?;
            store.delete_watchlist(&name)?;
            let before = settings_json(&name, &before.settings);
            audit(&store, "watchlist.delete", &name, Some(before), None, now)?;
            println!("deleted watchlist {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Records a change of the watchlist `name` made on the command line.
pub fn audit(
    store: &Store,
    action: &str,
    name: &str,
    before: Option<Value>,
    after: Option<Value>,
    now: OffsetDateTime,
) -> Result<()> {
    let target = format!("watchlist:{name}");
    let entry = NewAudit {
        actor: CLI_ACTOR,
        action,
        target: &target,
        before,
        after,
    };
    store.record_audit(&entry, now)?;
    Ok(())
}

/// Returns the watchlist named `name`, or the store's error that lists the
/// names that exist.
pub fn existing(store: &Store, name: &str, now: OffsetDateTime) -> Result<WatchlistInfo> {
    match store.watchlist(name, now)? {
        Some(info) => Ok(info),
        None => {
            let known = store
                .list_watchlists(now)?
                .into_iter()
                .map(|info| info.name)
                .collect();
            Err(StoreError::UnknownWatchlist {
                name: name.to_owned(),
                known,
            }
            .into())
        }
    }
}

/// Copies the options given on the command line into `settings`.
fn apply(args: &SettingsArgs, settings: &mut WatchlistSettings) {
    if let Some(severity) = args.severity {
        settings.severity = severity.0;
    }
    if let Some(mode) = args.domain_match {
        settings.domain_match = match mode {
            DomainMatchArg::Subdomains => DomainMatch::Subdomains,
            DomainMatchArg::Exact => DomainMatch::Exact,
        };
    }
    if let Some(ttl) = args.ttl {
        settings.ttl = ttl.0;
    }
    if let Some(window) = args.dedup_window {
        settings.dedup_window = window;
    }
    if let Some(description) = &args.description {
        settings.description = Some(description.clone()).filter(|d| !d.trim().is_empty());
    }
}

/// Loads the allowlist from the store for filtering imports.
fn allowlist(store: &Store) -> Result<Allowlist> {
    let entries = store.allowlist()?;
    Ok(Allowlist::new(entries.into_iter().map(|entry| entry.value)))
}

fn import(
    store: &Store,
    name: &str,
    files: &[std::path::PathBuf],
    options: &LoadOptions,
    all_rejections: bool,
    ttl: Option<std::time::Duration>,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let mut failed = false;
    let mut paths = Vec::new();
    for file in files {
        let in_folder = file.is_dir();
        match crate::intel::expand(None, file, "watchlist") {
            Ok(found) => paths.extend(found.warn().into_iter().map(|(_, path)| (path, in_folder))),
            Err(error) => {
                eprintln!("error: {error:#}; skipped");
                failed = true;
            }
        }
    }
    let mut exists = store.watchlist(name, now)?.is_some();
    let allowlist = allowlist(store)?;
    let covers = |indicator: &Indicator| allowlist.covers_indicator(indicator);
    let import_options = ImportOptions {
        ttl,
        allowlisted: Some(&covers),
    };
    let mut total = ImportReport::default();
    for (path, in_folder) in paths {
        let watchlist = match load_file(&path, Some(name), options) {
            Ok(watchlist) => watchlist,
            Err(error) => {
                eprintln!("error: cannot load watchlist file: {error}; skipped");
                failed = true;
                continue;
            }
        };
        crate::intel::report(&watchlist, all_rejections);
        // Notes and dates beside the feeds of a folder load nothing.
        if watchlist.indicators.is_empty() && in_folder {
            eprintln!(
                "warning: {}: no indicator was loaded, so it is skipped; check that the file is a watchlist",
                path.display()
            );
            continue;
        }
        if watchlist.indicators.is_empty() {
            let hint = if watchlist.report.lines == 0 {
                "the file is empty"
            } else {
                "see the report above"
            };
            eprintln!(
                "error: no indicators were loaded from {}; {hint}; skipped",
                path.display()
            );
            failed = true;
            continue;
        }
        // Created only once a file has loaded, so a mistyped path or a
        // file without a valid indicator leaves no empty watchlist behind.
        if !exists {
            let settings = WatchlistSettings::default();
            store.create_watchlist(name, &settings, now)?;
            audit(
                store,
                "watchlist.create",
                name,
                None,
                Some(settings_json(name, &settings)),
                now,
            )?;
            eprintln!("created watchlist {name} with default settings");
            exists = true;
        }
        let report = store.import(name, watchlist.indicators, &import_options, now)?;
        if let Some(line) = report.first_unreadable_expiry_line {
            let affected = match report.unreadable_expiry {
                1 => {
                    format!("1 indicator, on line {line}, has an expiry that is no date or time, so it does")
                }
                count => format!(
                    "{count} indicators, the first on line {line}, have an expiry that is no date or time, \
                     so they do"
                ),
            };
            eprintln!(
                "warning: {}: {affected} not expire; write it as 2030-01-01, 2030-01-01T00:00:00Z or epoch seconds",
                path.display(),
            );
        }
        let after = import_json(&report, &path.display().to_string());
        audit(store, "indicators.import", name, None, Some(after), now)?;
        total.added += report.added;
        total.updated += report.updated;
        total.skipped_allowlisted += report.skipped_allowlisted;
    }
    // A watchlist that no file could create has nothing to summarise, and
    // the errors above give the reason.
    if exists {
        println!(
            "watchlist {name}: {} added, {} updated, {} skipped as allowlisted",
            total.added, total.updated, total.skipped_allowlisted
        );
    }
    Ok(if failed {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}

fn add(
    store: &Store,
    name: &str,
    values: &[String],
    meta: Meta,
    ttl: Option<std::time::Duration>,
    allow_broad: bool,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    existing(store, name, now)?;
    let meta = Arc::new(meta);
    let source: Arc<str> = Arc::from("command line");
    let mut indicators = Vec::new();
    let mut rejected = 0;
    for (index, raw) in values.iter().enumerate() {
        match parse_indicator(raw, None, ParseOptions { allow_broad }) {
            Ok(parsed) => {
                for note in &parsed.notes {
                    eprintln!("note: {raw:?}: {note}");
                }
                indicators.push(Indicator {
                    value: parsed.value,
                    original: raw.trim().to_owned(),
                    meta: Arc::clone(&meta),
                    origin: Origin {
                        source: Arc::clone(&source),
                        line: index as u64 + 1,
                    },
                });
            }
            Err(error) => {
                eprintln!("rejected {raw:?}: {error}");
                rejected += 1;
            }
        }
    }
    let allowlist = allowlist(store)?;
    let covers = |indicator: &Indicator| allowlist.covers_indicator(indicator);
    let options = ImportOptions {
        ttl,
        allowlisted: Some(&covers),
    };
    let report = store.import(name, indicators, &options, now)?;
    audit(
        store,
        "indicators.add",
        name,
        None,
        Some(import_json(&report, "command line")),
        now,
    )?;
    println!(
        "watchlist {name}: {} added, {} updated, {} skipped as allowlisted, {rejected} rejected",
        report.added, report.updated, report.skipped_allowlisted
    );
    Ok(if rejected > 0 {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    })
}

/// Returns the counts of an import as JSON for the audit trail.
pub fn import_json(report: &ImportReport, source: &str) -> Value {
    json!({
        "source": source,
        "added": report.added,
        "updated": report.updated,
        "skipped_allowlisted": report.skipped_allowlisted,
        "unreadable_expiry": report.unreadable_expiry,
    })
}

fn remove(store: &Store, name: &str, raw_values: &[String], now: OffsetDateTime) -> Result<ExitCode> {
    let mut values: Vec<IndicatorValue> = Vec::new();
    let mut invalid = 0;
    for raw in raw_values {
        match parse_indicator(raw, None, ParseOptions { allow_broad: true }) {
            Ok(parsed) => values.push(parsed.value),
            Err(error) => {
                eprintln!("skipped {raw:?}: {error}");
                invalid += 1;
            }
        }
    }
    let removed_each = store.remove_each(name, &values)?;
    let removed: u64 = removed_each.iter().sum();
    let shown: Vec<String> = values.iter().map(ToString::to_string).collect();
    let before = json!({ "values": shown });
    audit(
        store,
        "indicators.remove",
        name,
        Some(before),
        Some(json!({ "removed": removed })),
        now,
    )?;
    println!(
        "watchlist {name}: {removed} of {} values removed",
        raw_values.len()
    );
    if invalid > 0 {
        return Ok(ExitCode::from(EXIT_PARTIAL));
    }
    let missing: Vec<&str> = shown
        .iter()
        .zip(&removed_each)
        .filter(|(_, count)| **count == 0)
        .map(|(value, _)| value.as_str())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "note: not in the watchlist, so not removed: {}",
            missing.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(store: &Store, as_json: bool, now: OffsetDateTime) -> Result<()> {
    let watchlists = store.list_watchlists(now)?;
    if as_json {
        for info in &watchlists {
            println!("{}", info_json(info));
        }
        return Ok(());
    }
    if watchlists.is_empty() {
        println!(
            "no watchlists; create one with `iocwatch watchlist create NAME` or `watchlist import NAME FILE`"
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = watchlists
        .iter()
        .map(|info| {
            let settings = &info.settings;
            vec![
                info.name.clone(),
                if settings.enabled { "yes" } else { "no" }.to_owned(),
                settings.severity.map_or("auto", |s| s.as_str()).to_owned(),
                settings.domain_match.to_string(),
                settings.ttl.map_or_else(|| "never".to_owned(), duration),
                duration(settings.dedup_window),
                format!("{} ({} expired)", info.indicators, info.expired),
                settings.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "ENABLED",
            "SEVERITY",
            "DOMAINS",
            "TTL",
            "DEDUP",
            "INDICATORS",
            "DESCRIPTION",
        ],
        &rows,
    );
    Ok(())
}

fn info_json(info: &WatchlistInfo) -> serde_json::Value {
    let settings = &info.settings;
    json!({
        "name": info.name,
        "enabled": settings.enabled,
        "severity": settings.severity.map(|s| s.as_str()),
        "domain_match": settings.domain_match.as_str(),
        "ttl_seconds": settings.ttl.map(|ttl| ttl.as_secs()),
        "dedup_window_seconds": settings.dedup_window.as_secs(),
        "description": settings.description,
        "indicators": info.indicators,
        "expired": info.expired,
        "created_at": iocwatch_model::time::format_timestamp(info.created_at),
        "updated_at": iocwatch_model::time::format_timestamp(info.updated_at),
    })
}

fn show(store: &Store, name: &str, page: Page, now: OffsetDateTime) -> Result<()> {
    let info = existing(store, name, now)?;
    let settings = &info.settings;
    println!("watchlist {}", info.name);
    if let Some(description) = &settings.description {
        println!("  description:  {description}");
    }
    println!("  enabled:      {}", if settings.enabled { "yes" } else { "no" });
    println!(
        "  severity:     {}",
        settings.severity.map_or("auto (from confidence)", |s| s.as_str())
    );
    println!("  domain match: {}", settings.domain_match);
    println!(
        "  ttl:          {}",
        settings.ttl.map_or_else(|| "never".to_owned(), duration)
    );
    println!("  dedup window: {}", duration(settings.dedup_window));
    println!("  indicators:   {} ({} expired)", info.indicators, info.expired);
    println!("  created:      {}", short_time(info.created_at));

    let stored = store.indicators(name, Some(page))?;
    if stored.is_empty() {
        if info.indicators == 0 {
            println!("\nno indicators; add some with `iocwatch watchlist import {name} FILE`");
        }
        return Ok(());
    }

    println!();
    let rows: Vec<Vec<String>> = stored
        .iter()
        .map(|entry| {
            let expires = match entry.expires_at {
                Some(at) if at <= now => format!("expired {}", short_time(at)),
                Some(at) => short_time(at),
                None => "never".to_owned(),
            };
            vec![
                entry.indicator.value.to_string(),
                entry.indicator.value.kind().to_string(),
                short_time(entry.first_seen),
                short_time(entry.last_seen),
                expires,
                entry.indicator.meta.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "INDICATOR",
            "TYPE",
            "FIRST IMPORT",
            "LAST IMPORT",
            "EXPIRES",
            "DESCRIPTION",
        ],
        &rows,
    );
    let shown = page.offset + stored.len() as u64;
    if shown < info.indicators {
        println!(
            "... {} more; see them with --offset {shown} or `iocwatch watchlist export {name}`",
            info.indicators - shown
        );
    }
    Ok(())
}
