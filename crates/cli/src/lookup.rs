//! `iocwatch lookup`: is this value on any watchlist?

use std::process::ExitCode;

use anyhow::{Result, bail};
use iocwatch_matcher::Matcher;
use iocwatch_model::refang::refang;
use iocwatch_model::{Field, IndicatorError, IndicatorValue, ParseOptions, parse_indicator};
use iocwatch_pipeline::allowlist::Allowlist;
use serde_json::{Value, json};

use crate::args::LookupArgs;

/// Looks each value up; exit status 0 when any matched, 1 when none,
/// and 2 (through the returned error) on the errors below.
///
/// # Errors
///
/// A watchlist that cannot be loaded, and a value that is not a valid
/// indicator, which is reported after every value was looked up.
pub fn run(args: LookupArgs) -> Result<ExitCode> {
    args.ignored.warn("lookup");
    // The watchlist reports go to standard error, so `--all-rejections`
    // prints them even beside JSON output.
    let quiet = args.quiet || (args.json && !args.intel.all_rejections);
    let (matcher, allowlist) = crate::intel::load(&args.intel, quiet)?;
    let mut any = false;
    let mut invalid: Vec<(&str, String)> = Vec::new();
    for value in &args.values {
        let (answer, parsed) = lookup(&matcher, allowlist.as_ref(), value);
        any |= answer["matches"].as_array().is_some_and(|m| !m.is_empty());
        if let Err(IndicatorError::Invalid(err)) = parsed {
            invalid.push((value, err.to_string()));
        }
        if args.json {
            println!("{answer}");
        } else {
            print_text(&answer);
        }
    }
    crate::intel::release_at_exit(matcher, ());
    match invalid.as_slice() {
        [] => Ok(if any { ExitCode::SUCCESS } else { ExitCode::from(1) }),
        [(value, problem)] => bail!("cannot look up {value:?}: {problem}; correct the value"),
        _ => {
            let lines: Vec<String> = invalid
                .iter()
                .map(|(value, problem)| format!("  {value:?}: {problem}"))
                .collect();
            bail!(
                "cannot look up {} values that are not valid indicators; correct them:\n{}",
                invalid.len(),
                lines.join("\n")
            )
        }
    }
}

/// Looks `raw` up. Returns the JSON object printed for it and the error
/// of parsing it as an indicator, if any.
fn lookup(
    matcher: &Matcher,
    allowlist: Option<&Allowlist>,
    raw: &str,
) -> (Value, Result<(), IndicatorError>) {
    let live = refang(raw.trim()).trim().to_owned();
    let parsed = parse_indicator(&live, None, ParseOptions { allow_broad: true });
    let (kind, normalised, problem) = match &parsed {
        Ok(parsed) => (
            Some(parsed.value.kind().as_str()),
            Some(parsed.value.to_string()),
            None,
        ),
        Err(err) => (None, None, Some(err.to_string())),
    };
    let mut found = matcher.lookup(&live);
    // An address with a port or a URL also stands for its address or host:
    // an analyst asking about 198.51.100.7:443 wants the listed address.
    let related: Vec<(String, Option<u16>)> = match parsed.as_ref().map(|p| &p.value) {
        Ok(IndicatorValue::Socket(ip, port)) => vec![(ip.to_string(), Some(*port))],
        Ok(IndicatorValue::Url(url)) => vec![(url.host().to_owned(), None)],
        _ => Vec::new(),
    };
    for (value, port) in related {
        let mut extra = matcher.lookup(&value);
        if let Some(port) = port {
            matcher.match_value(Field::DestinationIp, &value, Some(port), |id, atomic| {
                extra.push((id, Field::DestinationIp, atomic.into_owned()));
            });
        }
        for hit in extra {
            if !found.iter().any(|(id, ..)| *id == hit.0) {
                found.push(hit);
            }
        }
    }
    // A value inside an allowlist entry never alerts, as in a scan.
    if let Some(allowlist) = allowlist {
        found.retain(|(_, field, atomic)| !allowlist.covers_value(*field, atomic));
    }
    let matches: Vec<Value> = found
        .into_iter()
        .map(|(id, _, atomic)| {
            let entry = matcher.entry(id);
            let indicator = &entry.indicator;
            json!({
                "watchlist": &*matcher.watchlist(entry.watchlist).name,
                "indicator": indicator.value.to_string(),
                "kind": indicator.value.kind().as_str(),
                "matched": atomic,
                "source": format!("{}:{}", indicator.origin.source, indicator.origin.line),
                "meta": &*indicator.meta,
            })
        })
        .collect();
    let answer = json!({ "value": raw, "type": kind, "normalized": normalised, "problem": problem, "matches": matches });
    (answer, parsed.map(|_| ()))
}

fn print_text(answer: &Value) {
    let value = answer["value"].as_str().unwrap_or_default();
    match (answer["type"].as_str(), answer["normalized"].as_str()) {
        (Some(kind), Some(normalised)) => println!("{value}  ({kind} {normalised})"),
        _ => println!(
            "{value}  ({})",
            answer["problem"].as_str().unwrap_or("not an indicator")
        ),
    }
    let matches = answer["matches"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if matches.is_empty() {
        if answer["normalized"].is_string() {
            println!("  not on any watchlist");
        } else {
            // A value that is no valid indicator is looked up as written.
            println!("  not on any watchlist as written");
        }
    }
    for found in matches {
        println!(
            "  MATCH {} {} ({}, {})",
            found["watchlist"].as_str().unwrap_or_default(),
            found["indicator"].as_str().unwrap_or_default(),
            found["kind"].as_str().unwrap_or_default(),
            found["source"].as_str().unwrap_or_default()
        );
        if let Some(meta) = found["meta"].as_object() {
            for (key, value) in meta {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                println!("      {key}: {text}");
            }
        }
    }
}
