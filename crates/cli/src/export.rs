//! `iocwatch watchlist export`: writing a stored watchlist in a form that
//! `watchlist import` and `scan --intel` read back.
//!
//! - `plain`: one normalised value per line after a `#` comment. A digest
//!   loses the object it was listed for (file, certificate, JA3).
//! - `csv`: an `indicator` column and a `type` column that the CSV reader
//!   takes as each row's type. Then the metadata columns by the names the
//!   CSV reader maps back, and `expires`, read back as the indicator's own
//!   expiry. Then one column per other metadata key.
//! - `json`: one JSON object per line with the same facts as the CSV form
//!   under the same names, and the watchlist, the value as first written,
//!   its source and import times under `stored`, which import skips.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use iocwatch_model::time::format_timestamp;
use iocwatch_model::{DigestAlgo, DigestScope, IndicatorValue};
use iocwatch_store::{EXPIRY_META_KEYS, Store, StoredIndicator};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::args::ExportFormat;

/// The CSV columns before the extra metadata keys.
const CSV_COLUMNS: [&str; 12] = [
    "indicator",
    "type",
    "description",
    "reference",
    "provider",
    "confidence",
    "first_seen",
    "last_seen",
    "malware",
    "tlp",
    "tags",
    "expires",
];

/// Writes the watchlist `name` in `format` to `output` or standard output.
pub fn export(
    store: &Store,
    name: &str,
    format: ExportFormat,
    include_expired: bool,
    output: Option<&Path>,
    now: OffsetDateTime,
) -> Result<()> {
    let stored: Vec<StoredIndicator> = store
        .indicators(name, None)?
        .into_iter()
        .filter(|entry| include_expired || entry.expires_at.is_none_or(|at| at > now))
        .collect();
    let out: Box<dyn Write> = match output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create export file {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    match format {
        ExportFormat::Plain => write_plain(&mut out, name, &stored, now)?,
        ExportFormat::Csv => write_csv(&mut out, &stored)?,
        ExportFormat::Json => write_json(&mut out, name, &stored)?,
    }
    out.flush().context("cannot write the export")?;
    Ok(())
}

fn write_plain(
    out: &mut impl Write,
    name: &str,
    stored: &[StoredIndicator],
    now: OffsetDateTime,
) -> Result<()> {
    writeln!(
        out,
        "# iocwatch watchlist {name}: {} indicators, exported {}",
        stored.len(),
        format_timestamp(now)
    )?;
    for entry in stored {
        writeln!(out, "{}", entry.indicator.value)?;
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, stored: &[StoredIndicator]) -> Result<()> {
    let extra_keys: BTreeSet<&str> = stored
        .iter()
        .flat_map(|entry| entry.indicator.meta.extra.keys())
        .map(String::as_str)
        .filter(|key| !CSV_COLUMNS.contains(key) && !EXPIRY_META_KEYS.contains(key))
        .collect();
    let mut writer = csv::Writer::from_writer(out);
    let header = CSV_COLUMNS.iter().copied().chain(extra_keys.iter().copied());
    writer.write_record(header)?;
    for entry in stored {
        let indicator = &entry.indicator;
        let meta = &indicator.meta;
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let mut record = vec![
            indicator.value.to_string(),
            csv_type(&indicator.value).to_owned(),
            text(&meta.description),
            text(&meta.reference),
            text(&meta.provider),
            meta.confidence.map(|c| c.to_string()).unwrap_or_default(),
            text(&meta.first_seen),
            text(&meta.last_seen),
            text(&meta.malware),
            text(&meta.tlp),
            meta.tags.join(","),
            entry.expires_at.map(format_timestamp).unwrap_or_default(),
        ];
        record.extend(
            extra_keys
                .iter()
                .map(|key| meta.extra.get(*key).cloned().unwrap_or_default()),
        );
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

fn write_json(out: &mut impl Write, name: &str, stored: &[StoredIndicator]) -> Result<()> {
    for entry in stored {
        let indicator = &entry.indicator;
        let mut meta = (*indicator.meta).clone();
        meta.extra
            .retain(|key, _| !EXPIRY_META_KEYS.contains(&key.as_str()));
        let mut line = serde_json::to_value(&meta).context("cannot encode indicator metadata")?;
        let Value::Object(fields) = &mut line else {
            bail!("indicator metadata did not encode as a JSON object");
        };
        fields.insert("indicator".to_owned(), json!(indicator.value.to_string()));
        fields.insert("type".to_owned(), json!(csv_type(&indicator.value)));
        if let Some(expires) = entry.expires_at {
            fields.insert("expires".to_owned(), json!(format_timestamp(expires)));
        }
        let facts = json!({
            "watchlist": name,
            "original": indicator.original,
            "source": format!("{}:{}", indicator.origin.source, indicator.origin.line),
            "first_import": format_timestamp(entry.first_seen),
            "last_import": format_timestamp(entry.last_seen),
        });
        fields.insert("stored".to_owned(), facts);
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Returns the type name that the CSV reader maps back to the same kind
/// and digest object.
fn csv_type(value: &IndicatorValue) -> &'static str {
    match value {
        IndicatorValue::Digest { algo, scope, .. } => match (scope, algo) {
            (DigestScope::Any, algo) => algo.as_str(),
            (DigestScope::File, _) => "file_hash",
            (DigestScope::Cert, DigestAlgo::Sha1) => "cert-sha1",
            (DigestScope::Cert, DigestAlgo::Sha256) => "cert-sha256",
            (DigestScope::Cert, _) => "cert_hash",
            (DigestScope::Ja3, _) => "ja3",
            (DigestScope::Ja3s, _) => "ja3s",
        },
        IndicatorValue::Socket(..) => "ip:port",
        other => other.kind().as_str(),
    }
}
