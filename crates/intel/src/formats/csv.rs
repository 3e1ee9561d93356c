//! CSV watchlists with a header row.
//!
//! The header is the first `#` comment line that looks like one (abuse.ch
//! SSLBL, URLhaus and ThreatFox comment it out) or else the first line that
//! is neither blank nor a comment (Feodo Tracker, PhishTank). `#` lines
//! after it, such as the `# END 28 entries` trailer, are skipped.
//!
//! The indicator column is the one named with `--column`, or else the
//! first column with a known name (`ioc_value`, `dst_ip`, `url`, `sha1`,
//! `ja3_md5`, ...). Its name gives the model the type of the values, and a
//! type column (`ioc_type`, `type`) overrides that type per row. The other
//! columns fill [`Meta`] fields by name or go to `meta.extra`.

use std::sync::Arc;

use ::csv::{ReaderBuilder, StringRecord, Trim};
use iocwatch_model::{KindHint, Meta, ValueError};

use crate::columns::{
    MetaField, is_indicator_column, is_type_column, is_unset, meta_field, normalise_name, set_extra,
    set_meta_field,
};
use crate::error::{IntelErrorKind, LineError};
use crate::watchlist::Collector;

/// Maximum number of lines one CSV record may span. A quoted field still
/// open after this many lines, or at the end of the input, is an
/// unterminated quote. Its first line is rejected and the others are read
/// again, so one stray quote cannot swallow the rest of the file.
const MAX_RECORD_LINES: usize = 64;

/// Reads CSV lines into indicators.
pub(crate) struct CsvDecoder {
    column: Option<String>,
    header: Option<Header>,
    pending: Option<Record>,
}

/// The text of one CSV record, possibly joined from several lines.
struct Record {
    line: u64,
    text: String,
    lines: usize,
}

impl CsvDecoder {
    /// Creates a decoder that takes indicators from `column` when given.
    pub(crate) fn new(column: Option<&str>) -> Self {
        Self {
            column: column.map(str::to_owned),
            header: None,
            pending: None,
        }
    }

    pub(crate) fn line(
        &mut self,
        number: u64,
        text: &str,
        out: &mut Collector,
    ) -> Result<(), IntelErrorKind> {
        if let Some(mut record) = self.pending.take() {
            record.text.push('\n');
            record.text.push_str(text);
            record.lines += 1;
            return self.record(record, out);
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(());
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            let comment = comment.trim_start_matches('#');
            if self.header.is_none() && looks_like_header(comment, self.column.as_deref(), true) {
                let fields = parse_record(&normalise_record(comment).0).unwrap_or_default();
                self.header = Some(Header::new(&fields, self.column.as_deref())?);
            }
            return Ok(());
        }
        self.record(
            Record {
                line: number,
                text: text.to_owned(),
                lines: 1,
            },
            out,
        )
    }

    /// Ends the input: a record whose quoted field is still open is an
    /// unterminated quote.
    pub(crate) fn finish(&mut self, out: &mut Collector) -> Result<(), IntelErrorKind> {
        if let Some(record) = self.pending.take() {
            self.unterminated(record, out)?;
        }
        Ok(())
    }

    fn record(&mut self, record: Record, out: &mut Collector) -> Result<(), IntelErrorKind> {
        let (normalised, open_quote) = normalise_record(&record.text);
        if open_quote {
            if record.lines < MAX_RECORD_LINES {
                self.pending = Some(record);
                return Ok(());
            }
            return self.unterminated(record, out);
        }
        let fields = match parse_record(&normalised) {
            Ok(fields) => fields,
            Err(error) => {
                out.reject(record.line, &record.text, LineError::Csv(error));
                return Ok(());
            }
        };
        match &self.header {
            Some(header) => header.row(record.line, &record.text, &fields, out),
            None => self.header = Some(Header::new(&fields, self.column.as_deref())?),
        }
        Ok(())
    }
}

impl CsvDecoder {
    /// Rejects the first line of a record whose quote never closes and
    /// reads the lines it swallowed again as records of their own, so one
    /// stray quote loses one line rather than the rest of the file.
    fn unterminated(&mut self, record: Record, out: &mut Collector) -> Result<(), IntelErrorKind> {
        let mut lines = record.text.split('\n');
        let first = lines.next().unwrap_or_default();
        out.reject(
            record.line,
            first,
            LineError::Csv("a quoted field is never closed".to_owned()),
        );
        let rest: Vec<String> = lines.map(str::to_owned).collect();
        for (offset, text) in rest.iter().enumerate() {
            self.line(record.line + 1 + offset as u64, text, out)?;
        }
        Ok(())
    }
}

/// The columns of a CSV header and what each one is for.
#[derive(Debug)]
struct Header {
    indicator: usize,
    indicator_name: String,
    hint: Option<KindHint>,
    kind: Option<usize>,
    /// The remaining columns, ordered by field and preference, with the
    /// columns for `meta.extra` last.
    meta: Vec<MetaColumn>,
}

#[derive(Debug)]
struct MetaColumn {
    index: usize,
    name: String,
    field: Option<(MetaField, usize)>,
}

impl Header {
    fn new(fields: &StringRecord, column: Option<&str>) -> Result<Self, IntelErrorKind> {
        let names: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let name = name.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
                if name.is_empty() {
                    format!("column {}", index + 1)
                } else {
                    name.to_owned()
                }
            })
            .collect();
        let normalised: Vec<String> = names.iter().map(|name| normalise_name(name)).collect();

        let indicator = match column {
            Some(requested) => {
                let requested_name = normalise_name(requested);
                normalised
                    .iter()
                    .position(|name| *name == requested_name)
                    .ok_or_else(|| IntelErrorKind::ColumnNotFound {
                        requested: requested.to_owned(),
                        available: names.clone(),
                    })?
            }
            None => normalised
                .iter()
                .position(|name| is_indicator_column(name))
                .ok_or_else(|| IntelErrorKind::NoIndicatorColumn {
                    available: names.clone(),
                })?,
        };
        let kind = (0..names.len()).find(|&index| index != indicator && is_type_column(&normalised[index]));

        let mut meta: Vec<MetaColumn> = (0..names.len())
            .filter(|&index| index != indicator && Some(index) != kind)
            .map(|index| MetaColumn {
                index,
                name: names[index].clone(),
                field: meta_field(&normalised[index]),
            })
            .collect();
        meta.sort_by_key(|column| (column.field.is_none(), column.field));

        Ok(Self {
            indicator,
            indicator_name: names[indicator].clone(),
            hint: KindHint::from_name(&normalised[indicator]),
            kind,
            meta,
        })
    }

    fn row(&self, line: u64, text: &str, fields: &StringRecord, out: &mut Collector) {
        let Some(raw) = fields.get(self.indicator) else {
            let error = LineError::MissingField {
                column: self.indicator_name.clone(),
                position: self.indicator + 1,
                found: fields.len(),
            };
            out.reject(line, text, error);
            return;
        };
        // A header repeated inside the file, as left by concatenating exports.
        if raw.eq_ignore_ascii_case(&self.indicator_name) {
            return;
        }
        if is_unset(raw) {
            out.reject(line, raw, LineError::Indicator(ValueError::Empty.into()));
            return;
        }

        let declared = self
            .kind
            .and_then(|index| fields.get(index))
            .filter(|name| !is_unset(name));
        let hint = declared.and_then(KindHint::from_name).or(self.hint);

        let mut meta = Meta::default();
        for column in &self.meta {
            let Some(value) = fields.get(column.index).filter(|value| !is_unset(value)) else {
                continue;
            };
            match column.field {
                Some((field, _)) => set_meta_field(&mut meta, field, &column.name, value),
                None => set_extra(&mut meta, &column.name, value),
            }
        }
        out.add(line, raw, hint, &Arc::new(meta));
    }
}

/// True when `text` reads as a CSV header: at least two non-empty fields,
/// all of them column names, one of them a known indicator column or
/// `column`. Names in a `#` comment line may not contain blanks, which
/// keeps prose comments such as `# ip, domain and url lists` out.
pub(crate) fn looks_like_header(text: &str, column: Option<&str>, commented: bool) -> bool {
    if !text.contains(',') {
        return false;
    }
    let Ok(fields) = parse_record(&normalise_record(text).0) else {
        return false;
    };
    let names: Vec<&str> = fields.iter().filter(|name| !name.is_empty()).collect();
    let requested = column.map(normalise_name);
    names.len() >= 2
        && names.iter().all(|name| is_column_name(name, commented))
        && names.iter().any(|name| {
            let name = normalise_name(name);
            is_indicator_column(&name) || requested.as_ref() == Some(&name)
        })
}

fn is_column_name(name: &str, commented: bool) -> bool {
    let name = name.trim_start_matches('\u{feff}');
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let allowed = |c: char| {
        c.is_alphanumeric()
            || matches!(c, '_' | '-' | '.')
            || (!commented && matches!(c, ' ' | '(' | ')' | '/'))
    };
    name.len() <= 64 && (first.is_alphabetic() || first == '_') && chars.all(allowed)
}

/// Removes blanks at the start of each field, so that ThreatFox's
/// `"a", "b"` reads as two quoted fields (a CSV parser only recognises a
/// quote that opens a field), and returns whether the text ends inside a quoted
/// field, which then continues on the next line.
fn normalise_record(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut in_quotes = false;
    let mut field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            out.push(c);
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    out.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            }
            continue;
        }
        match c {
            ',' => {
                out.push(c);
                field_start = true;
            }
            ' ' | '\t' if field_start => {}
            '"' if field_start => {
                out.push(c);
                in_quotes = true;
                field_start = false;
            }
            _ => {
                out.push(c);
                field_start = false;
            }
        }
    }
    (out, in_quotes)
}

/// Splits one record with the `csv` crate, unquoting and trimming fields.
fn parse_record(text: &str) -> Result<StringRecord, String> {
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .buffer_capacity(text.len().max(64))
        .from_reader(text.as_bytes());
    let mut record = StringRecord::new();
    reader
        .read_record(&mut record)
        .map_err(|error| error.to_string())?;
    Ok(record)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<String> {
        parse_record(&normalise_record(text).0)
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn record_splitting_table() {
        let rows: [(&str, &[&str]); 6] = [
            ("a,b,c", &["a", "b", "c"]),
            ("\"a\",\"b\"", &["a", "b"]),
            ("\"a\", \"b, c\", \"d\"", &["a", "b, c", "d"]),
            ("x , y ,z", &["x", "y", "z"]),
            ("\"say \"\"hi\"\"\",b", &["say \"hi\"", "b"]),
            ("a,,c", &["a", "", "c"]),
        ];
        for (text, expected) in rows {
            assert_eq!(fields(text), expected, "{text:?}");
        }
    }

    #[test]
    fn open_quote_detected() {
        assert!(normalise_record("1,\"first line").1);
        assert!(!normalise_record("1,\"closed\"").1);
        assert!(!normalise_record("1,mid\"quote").1);
        assert!(!normalise_record("1,\"a\"\"b\"").1);
    }

    #[test]
    fn header_recognition_table() {
        let rows = [
            (" ja3_md5,Firstseen,Lastseen,Listingreason", true, true),
            (
                " \"first_seen_utc\", \"ioc_id\", \"ioc_value\", \"ioc_type\"",
                true,
                true,
            ),
            (" id,dateadded,url,url_status", true, true),
            ("\u{feff}SHA1,ListingReason,ListingDate", false, true),
            ("phish_id,url,phish_detail_url", false, true),
            (" ip, domain and url lists", true, false),
            (
                " Full list analysis, including geolocation map, history,",
                true,
                false,
            ),
            ("evil.example,other.example", false, false),
            ("198.51.100.7,listed", false, false),
            ("first_seen,comment", false, false),
            ("url", false, false),
        ];
        for (text, commented, expected) in rows {
            assert_eq!(looks_like_header(text, None, commented), expected, "{text:?}");
        }
        assert!(looks_like_header(
            "first_seen,address_value",
            Some("Address_Value"),
            false
        ));
    }
}
