//! Zeek intel framework files.
//!
//! A `#fields` line names the tab-separated columns: `indicator`,
//! `indicator_type` (`Intel::ADDR`, `Intel::DOMAIN`, ...) and `meta.*`
//! columns. `meta.source`, `meta.desc` and `meta.url` become the provider,
//! description and reference; other `meta.*` columns go to `meta.extra`.
//! `#separator`, `#unset_field` and `#empty_field` lines are honoured, and
//! other `#` lines are skipped. A file with only the `#fields` line is an
//! empty watchlist.

use iocwatch_model::{KindHint, Meta, ValueError};

use crate::columns::set_extra;
use crate::error::{IntelErrorKind, LineError};
use crate::watchlist::{Collector, MetaCache};

/// Reads Zeek intel lines into indicators.
pub(crate) struct ZeekDecoder {
    separator: String,
    unset: String,
    empty: String,
    columns: Option<Columns>,
    cache: MetaCache,
}

#[derive(Debug)]
struct Columns {
    count: usize,
    indicator: usize,
    kind: Option<usize>,
    meta: Vec<(usize, MetaColumn)>,
}

#[derive(Debug)]
enum MetaColumn {
    Provider,
    Description,
    Reference,
    Extra(String),
}

impl ZeekDecoder {
    pub(crate) fn new() -> Self {
        Self {
            separator: "\t".to_owned(),
            unset: "-".to_owned(),
            empty: "(empty)".to_owned(),
            columns: None,
            cache: MetaCache::default(),
        }
    }

    pub(crate) fn line(
        &mut self,
        number: u64,
        text: &str,
        out: &mut Collector,
    ) -> Result<(), IntelErrorKind> {
        if text.starts_with('#') {
            self.directive(text);
            return Ok(());
        }
        if text.trim().is_empty() {
            return Ok(());
        }
        let Some(columns) = &self.columns else {
            return Err(IntelErrorKind::MissingZeekFields { line: number });
        };

        let fields: Vec<&str> = text.split(self.separator.as_str()).collect();
        if fields.len() != columns.count {
            let error = LineError::FieldCount {
                expected: columns.count,
                found: fields.len(),
            };
            out.reject(number, text, error);
            return Ok(());
        }
        let is_unset = |value: &str| value.is_empty() || value == self.unset || value == self.empty;

        let raw = fields[columns.indicator];
        if is_unset(raw) {
            out.reject(number, raw, LineError::Indicator(ValueError::Empty.into()));
            return Ok(());
        }
        let declared = columns
            .kind
            .map(|index| fields[index])
            .filter(|name| !is_unset(name));
        let hint = match declared {
            Some(name) => match KindHint::from_name(name) {
                Some(hint) => Some(hint),
                None => {
                    out.reject(number, raw, LineError::UnsupportedZeekType(name.to_owned()));
                    return Ok(());
                }
            },
            None => None,
        };

        let mut meta = Meta::default();
        for (index, column) in &columns.meta {
            let value = fields[*index];
            if is_unset(value) {
                continue;
            }
            let value = value.to_owned();
            match column {
                MetaColumn::Provider => meta.provider = Some(value),
                MetaColumn::Description => meta.description = Some(value),
                MetaColumn::Reference => meta.reference = Some(value),
                MetaColumn::Extra(name) => set_extra(&mut meta, name, &value),
            }
        }
        let meta = self.cache.share(meta);
        out.add(number, raw, hint, &meta);
        Ok(())
    }

    /// Applies a `#` line: `#separator`, `#unset_field`, `#empty_field` and
    /// `#fields` change how later lines are read; others are comments.
    fn directive(&mut self, text: &str) {
        if let Some(value) = text.strip_prefix("#separator") {
            let separator = unescape(value.trim_start_matches([' ', '\t']));
            if !separator.is_empty() {
                self.separator = separator;
            }
        } else if let Some(value) = text.strip_prefix("#unset_field") {
            self.unset = unescape(value.strip_prefix(self.separator.as_str()).unwrap_or(value));
        } else if let Some(value) = text.strip_prefix("#empty_field") {
            self.empty = unescape(value.strip_prefix(self.separator.as_str()).unwrap_or(value));
        } else if let Some(value) = text.strip_prefix("#fields") {
            let value = value.strip_prefix(self.separator.as_str()).unwrap_or(value);
            let names: Vec<&str> = value.split(self.separator.as_str()).collect();
            self.columns = Columns::new(&names);
        }
    }
}

impl Columns {
    /// Returns the column roles, or `None` without an `indicator` column.
    fn new(names: &[&str]) -> Option<Self> {
        let indicator = names.iter().position(|name| *name == "indicator")?;
        let kind = names.iter().position(|name| *name == "indicator_type");
        let meta = names
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != indicator && Some(*index) != kind)
            .map(|(index, name)| {
                let column = match *name {
                    "meta.source" => MetaColumn::Provider,
                    "meta.desc" => MetaColumn::Description,
                    "meta.url" => MetaColumn::Reference,
                    other => MetaColumn::Extra(other.to_owned()),
                };
                (index, column)
            })
            .collect();
        Some(Self {
            count: names.len(),
            indicator,
            kind,
            meta,
        })
    }
}

/// Decodes the `\xHH` escapes that Zeek writes in `#separator` lines.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(position) = rest.find("\\x") {
        out.push_str(&rest[..position]);
        let after = &rest[position + 2..];
        let code = after.get(..2).and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &after[2..];
            }
            None => {
                out.push_str("\\x");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_table() {
        let rows = [
            ("\\x09", "\t"),
            ("\\x2c", ","),
            ("|", "|"),
            ("a\\xzz", "a\\xzz"),
            ("\\x2", "\\x2"),
        ];
        for (raw, expected) in rows {
            assert_eq!(unescape(raw), expected, "{raw:?}");
        }
    }
}
