//! JSON lines watchlists: one JSON object per line, as
//! `iocwatch watchlist export --format json` writes them.
//!
//! Each object names its value under a key that a CSV header would use for
//! the indicator column (`indicator`, `ioc`, `value`, `ip`, `domain`, ...)
//! and may give its type under `type` or `ioc_type`. Keys that name a
//! [`Meta`] field in CSV fill that field, including under a nested `meta`
//! object, and `tags` may be an array. The entries of an `extra` object
//! and other keys with a string, number or boolean value go to
//! `meta.extra`. Other nested objects and arrays are skipped. A line that
//! is not a JSON object, or has no indicator key, is rejected.

use iocwatch_model::{KindHint, Meta};
use serde_json::{Map, Value};

use crate::columns::{
    indicator_column_rank, is_type_column, is_unset, meta_field, normalise_name, set_extra, set_meta_field,
};
use crate::error::LineError;
use crate::watchlist::{Collector, MetaCache};

/// Reads JSON lines into indicators.
pub(crate) struct JsonLinesDecoder {
    cache: MetaCache,
}

impl JsonLinesDecoder {
    pub(crate) fn new() -> Self {
        Self {
            cache: MetaCache::default(),
        }
    }

    pub(crate) fn line(&mut self, number: u64, text: &str, out: &mut Collector) {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return;
        }
        let object = match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                out.reject(
                    number,
                    text,
                    LineError::Json("the line is not a JSON object".to_owned()),
                );
                return;
            }
            Err(error) => {
                out.reject(number, text, LineError::Json(error.to_string()));
                return;
            }
        };

        let Some((indicator_key, raw)) = indicator_of(&object) else {
            let reason = "no indicator key (indicator, ioc, value, ip, domain, url, sha256, ...)";
            out.reject(number, text, LineError::Json(reason.to_owned()));
            return;
        };
        // An autonomous-system list, such as Spamhaus ASN-DROP, names the
        // network owner's own domain beside the AS number.
        if is_owner_domain(&object, indicator_key) {
            out.reject(number, text, LineError::AsnEntry);
            return;
        }
        let hint = object
            .iter()
            .find(|(key, _)| is_type_column(&normalise_name(key)))
            .and_then(|(_, value)| value.as_str())
            .filter(|name| !is_unset(name))
            .and_then(KindHint::from_name)
            .or_else(|| KindHint::from_name(&normalise_name(indicator_key)));

        let mut meta = Meta::default();
        fill_meta(&mut meta, &object, Some(indicator_key));
        let meta = self.cache.share(meta);
        out.add(number, &raw, hint, &meta);
    }
}

/// Returns the key and text of the indicator: the key that ranks first
/// among the CSV indicator column names.
fn indicator_of(object: &Map<String, Value>) -> Option<(&str, String)> {
    object
        .iter()
        .filter_map(|(key, value)| {
            let rank = indicator_column_rank(&normalise_name(key))?;
            let text = scalar_text(value)?;
            Some((rank, key.as_str(), text))
        })
        .min_by_key(|(rank, ..)| *rank)
        .map(|(_, key, text)| (key, text))
}

/// Tells whether `indicator_key` names a domain of an object that also
/// gives an AS number (`asn`), as autonomous-system lists do.
fn is_owner_domain(object: &Map<String, Value>, indicator_key: &str) -> bool {
    let domain_keys = ["domain", "domain_name", "hostname"];
    domain_keys.contains(&normalise_name(indicator_key).as_str())
        && object
            .keys()
            .any(|key| matches!(normalise_name(key).as_str(), "asn" | "as_number"))
}

/// Fills `meta` from the keys of `object`, except `skip` and type keys.
fn fill_meta(meta: &mut Meta, object: &Map<String, Value>, skip: Option<&str>) {
    for (key, value) in object {
        if Some(key.as_str()) == skip {
            continue;
        }
        let name = normalise_name(key);
        if is_type_column(&name) {
            continue;
        }
        match value {
            Value::Object(inner) if name == "meta" => fill_meta(meta, inner, None),
            Value::Object(inner) if name == "extra" => {
                for (extra_key, extra_value) in inner {
                    if let Some(text) = scalar_text(extra_value) {
                        set_extra(meta, extra_key, &text);
                    }
                }
            }
            Value::Array(items) if name == "tags" || name == "tag" => {
                let tags = items.iter().filter_map(scalar_text).filter(|tag| !is_unset(tag));
                meta.tags.extend(tags);
            }
            other => {
                let Some(text) = scalar_text(other).filter(|text| !is_unset(text)) else {
                    continue;
                };
                match meta_field(&name) {
                    Some((field, _)) => set_meta_field(meta, field, key, &text),
                    None => set_extra(meta, key, &text),
                }
            }
        }
    }
}

/// Returns the text of a string, number or boolean; `None` for anything else.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Tells whether a line reads as a whole JSON object, which marks a JSON
/// lines watchlist. A pretty-printed document's first line (`{`) does not.
pub(crate) fn looks_like_json_object(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with('{')
        && trimmed.ends_with('}')
        && matches!(serde_json::from_str::<Value>(trimmed), Ok(Value::Object(_)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::{IntelFormat, LineError, LoadOptions, load_reader};

    #[test]
    fn objects_become_indicators_with_meta() {
        let text = concat!(
            "# iocwatch export\n",
            r#"{"indicator":"198.51.100.7","type":"ip","description":"C2","confidence":90,"tags":["botnet","c2"],"#,
            r#""extra":{"dst_port":"443"},"expires":"2024-06-01T00:00:00Z","stored":{"watchlist":"c2"}}"#,
            "\n",
            r#"{"ioc":"hxxp://evil[.]example/a","meta":{"malware":"IcedID","first_seen":"2024-05-01"}}"#,
            "\n",
            r#"{"sha256":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","type":"cert-sha256"}"#,
            "\n",
        );
        let watchlist = load_reader("x", "x.jsonl", text.as_bytes(), &LoadOptions::default()).unwrap();
        assert_eq!(watchlist.format, IntelFormat::JsonLines);
        assert!(
            watchlist.report.rejected.is_empty(),
            "{:?}",
            watchlist.report.rejected
        );
        let values: Vec<String> = watchlist.indicators.iter().map(|i| i.value.to_string()).collect();
        assert_eq!(values, ["198.51.100.7", "http://evil.example/a", &"a".repeat(64)]);

        let first = &watchlist.indicators[0].meta;
        assert_eq!(first.description.as_deref(), Some("C2"));
        assert_eq!(first.confidence, Some(90));
        assert_eq!(first.tags, ["botnet", "c2"]);
        assert_eq!(first.extra.get("dst_port").map(String::as_str), Some("443"));
        assert_eq!(
            first.extra.get("expires").map(String::as_str),
            Some("2024-06-01T00:00:00Z")
        );
        assert!(!first.extra.contains_key("stored"), "nested objects are skipped");

        let second = &watchlist.indicators[1].meta;
        assert_eq!(second.malware.as_deref(), Some("IcedID"));
        assert_eq!(second.first_seen.as_deref(), Some("2024-05-01"));
        assert_eq!(
            watchlist.indicators[2].value.kind(),
            iocwatch_model::IndicatorKind::CertHash(iocwatch_model::DigestAlgo::Sha256)
        );
    }

    #[test]
    fn asn_entries_rejected() {
        let text = "{\"asn\":932,\"rir\":\"arin\",\"domain\":\"xn.net\",\"cc\":\"US\",\"asname\":\"XNNET\"}\n\
                    {\"asn\":64500,\"cidr\":\"198.51.100.0/24\",\"domain\":\"owner.example\"}\n\
                    {\"domain\":\"evil.example\"}\n";
        let watchlist =
            crate::load_reader("asn", "asn.json", text.as_bytes(), &crate::LoadOptions::default()).unwrap();
        let values: Vec<String> = watchlist
            .indicators
            .iter()
            .map(|indicator| indicator.value.to_string())
            .collect();
        assert_eq!(values, ["198.51.100.0/24", "evil.example"]);
        assert_eq!(watchlist.report.rejected.len(), 1);
        assert!(
            watchlist.report.rejected[0]
                .error
                .to_string()
                .contains("an autonomous-system entry"),
            "{}",
            watchlist.report.rejected[0]
        );
    }

    #[test]
    fn bad_lines_rejected_and_rest_loaded() {
        let text = concat!(
            r#"{"indicator":"198.51.100.7"}"#,
            "\n[1, 2]\n",
            r#"{"indicator": "#,
            "\n",
            r#"{"comment":"no value"}"#,
            "\n",
            r#"{"indicator":"evil.example"}"#,
            "\n",
        );
        let watchlist = load_reader("x", "x.jsonl", text.as_bytes(), &LoadOptions::default()).unwrap();
        assert_eq!(watchlist.indicators.len(), 2);
        let lines: Vec<u64> = watchlist.report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(
            watchlist
                .report
                .rejected
                .iter()
                .all(|r| matches!(r.error, LineError::Json(_)))
        );
        assert!(
            watchlist.report.rejected[2]
                .error
                .to_string()
                .contains("no indicator key")
        );
    }
}
