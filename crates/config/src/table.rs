//! One TOML table being read, key by key.

use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::{Report, join_list};

/// Maximum length of the value text quoted in a wrong-type message, in
/// bytes. A longer value, or one that spans lines, is not quoted.
const MAX_QUOTED_VALUE: usize = 40;

/// One entry of a table of strings: its key and its value, each with its
/// place.
pub type StringEntry = (Spanned<String>, Spanned<String>);

/// One TOML table being read: the entries not taken yet, and the keys
/// asked for so far, which are the keys the table accepts.
#[derive(Debug)]
pub struct Table<'i> {
    /// The table as messages name it, such as `[http]` or
    /// `[[sink]] "siem"`; `None` for the top level.
    label: Option<String>,
    span: Range<usize>,
    entries: DeTable<'i>,
    accepted: Vec<&'static str>,
    /// Keys taken that the table has, with the place of each value.
    places: Vec<(&'static str, Range<usize>)>,
    /// Keys whose value, or an entry of whose array or table, has the
    /// wrong type.
    wrong_type: Vec<&'static str>,
    /// False once the reader has called [`Table::ignore_unknown`].
    report_unknown: bool,
}

impl<'i> Table<'i> {
    pub(crate) fn top(root: Spanned<DeTable<'i>>) -> Self {
        Self::labelled(None, root)
    }

    fn labelled(label: Option<String>, table: Spanned<DeTable<'i>>) -> Self {
        Self {
            label,
            span: table.span(),
            entries: table.into_inner(),
            accepted: Vec::new(),
            places: Vec::new(),
            wrong_type: Vec::new(),
            report_unknown: true,
        }
    }

    /// Returns the place of the table as messages name it, such as
    /// "at the top level" or "in [http]".
    pub fn place(&self) -> String {
        match &self.label {
            Some(label) => format!("in {label}"),
            None => "at the top level".to_owned(),
        }
    }

    /// Returns the byte range of the table in the text: from its header,
    /// or from the `{` of an inline table.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// Returns the keys taken so far that the table has, with the place of
    /// each value.
    pub fn places(&self) -> &[(&'static str, Range<usize>)] {
        &self.places
    }

    /// Returns the keys whose value, or an entry of whose array or table,
    /// had the wrong type. Their problem is recorded already.
    pub fn wrong_type(&self) -> &[&'static str] {
        &self.wrong_type
    }

    /// Returns a copy of the string value of `key` without taking it, or
    /// `None` when the key is absent or not a string.
    pub fn peek_string(&self, key: &str) -> Option<Spanned<String>> {
        let value = self.entries.get(key)?;
        let text = value.get_ref().as_str()?;
        Some(Spanned::new(value.span(), text.to_owned()))
    }

    /// Takes the value of `key` out of the table and converts it with
    /// `convert`, which hands back the value when its type is not
    /// `expected`. A value of the wrong type is recorded and left out.
    fn take<T>(
        &mut self,
        report: &mut Report<'_>,
        key: &'static str,
        expected: &str,
        convert: fn(DeValue<'i>) -> Result<T, DeValue<'i>>,
    ) -> Option<Spanned<T>> {
        self.accepted.push(key);
        let value = self.entries.remove(key)?;
        self.places.push((key, value.span()));
        self.convert(report, key, expected, value, convert, false)
    }

    /// Converts `value`, the value of `key` or an entry of its array or
    /// table. A value of the wrong type is recorded.
    fn convert<T>(
        &mut self,
        report: &mut Report<'_>,
        key: &'static str,
        expected: &str,
        value: Spanned<DeValue<'i>>,
        convert: fn(DeValue<'i>) -> Result<T, DeValue<'i>>,
        in_entry: bool,
    ) -> Option<Spanned<T>> {
        let span = value.span();
        match convert(value.into_inner()) {
            Ok(converted) => Some(Spanned::new(span, converted)),
            Err(other) => {
                let other = Spanned::new(span, other);
                self.record_wrong_type(report, key, expected, &other, in_entry);
                self.wrong_type.push(key);
                None
            }
        }
    }

    /// Records that the value of `key` has the wrong TOML type. `in_entry`
    /// is true when the value is an entry of the key's array or table.
    fn record_wrong_type(
        &self,
        report: &mut Report<'_>,
        key: &str,
        expected: &str,
        value: &Spanned<DeValue<'_>>,
        in_entry: bool,
    ) {
        let found = value.get_ref().type_str();
        let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        let inside = if in_entry { " in it" } else { "" };
        let place = self.place();
        let mut message = format!("`{key}` {place} must be {expected}, found {article} {found}{inside}");
        let quoted = report.text.get(value.span()).unwrap_or_default();
        if !value.get_ref().is_table() && quoted.len() <= MAX_QUOTED_VALUE && !quoted.contains('\n') {
            message.push_str(": ");
            message.push_str(quoted);
        }
        report.at(value, message);
    }

    /// Reads a string.
    pub fn string(&mut self, report: &mut Report<'_>, key: &'static str) -> Option<Spanned<String>> {
        self.take(report, key, "a string", string_value)
    }

    /// Reads a string that names a file or folder.
    pub fn path(&mut self, report: &mut Report<'_>, key: &'static str) -> Option<Spanned<PathBuf>> {
        let text = self.string(report, key)?;
        let span = text.span();
        Some(Spanned::new(span, PathBuf::from(text.into_inner())))
    }

    /// Records `missing` at the table when it has no `key`. Call it before
    /// the read of `key`.
    pub fn require(&mut self, report: &mut Report<'_>, key: &'static str, missing: &str) {
        if !self.entries.contains_key(key) {
            report.at_span(self.span.clone(), missing);
        }
    }

    /// Reads a string that the table must have. `missing` is the message
    /// recorded at the table when the key is absent.
    pub fn required_string(
        &mut self,
        report: &mut Report<'_>,
        key: &'static str,
        missing: &str,
    ) -> Option<Spanned<String>> {
        self.require(report, key, missing);
        self.string(report, key)
    }

    /// Reads an integer. TOML integers are 64-bit signed, so a larger one
    /// is recorded as out of range.
    pub fn integer(&mut self, report: &mut Report<'_>, key: &'static str) -> Option<Spanned<i64>> {
        let integer = self.take(report, key, "an integer", |value| match value {
            DeValue::Integer(integer) => Ok(integer),
            other => Err(other),
        })?;
        let span = integer.span();
        if let Ok(value) = i64::from_str_radix(integer.get_ref().as_str(), integer.get_ref().radix()) {
            return Some(Spanned::new(span, value));
        }
        let digits = report.text.get(span.clone()).unwrap_or_default().to_owned();
        let place = self.place();
        report.at_span(
            span,
            format!(
                "`{key}` {place} is {digits}, out of the range of a TOML integer ({} to {})",
                i64::MIN,
                i64::MAX
            ),
        );
        None
    }

    /// Reads the table of `key`, written as a `[header]` or as an inline
    /// table, for a reader of its own keys.
    pub fn table(&mut self, report: &mut Report<'_>, key: &'static str) -> Option<Table<'i>> {
        let table = self.take(report, key, "a table", table_value)?;
        let label = match &self.label {
            Some(label) => format!("`{key}` of {label}"),
            None => format!("[{key}]"),
        };
        Some(Self::labelled(Some(label), table))
    }

    /// Reads an array of strings. Each entry of another type is recorded
    /// and left out.
    pub fn strings(
        &mut self,
        report: &mut Report<'_>,
        key: &'static str,
    ) -> Option<Spanned<Vec<Spanned<String>>>> {
        self.array(report, key, "an array of strings", string_value)
    }

    /// Reads a table whose values are strings, such as a table of HTTP
    /// headers, as its entries in key order. Each value of another type is
    /// recorded and left out.
    pub fn string_map(
        &mut self,
        report: &mut Report<'_>,
        key: &'static str,
    ) -> Option<Spanned<Vec<StringEntry>>> {
        let expected = "a table of strings";
        let table = self.take(report, key, expected, table_value)?;
        let span = table.span();
        let entries = table
            .into_inner()
            .into_iter()
            .filter_map(|(name, value)| {
                let value = self.convert(report, key, expected, value, string_value, true)?;
                let name = Spanned::new(name.span(), name.into_inner().into_owned());
                Some((name, value))
            })
            .collect();
        Some(Spanned::new(span, entries))
    }

    /// Reads an array of tables, written as `[[key]]` headers or as an
    /// array of inline tables, for a reader of each table's keys. Each
    /// entry that is not a table is recorded and left out. Messages name
    /// each table `[[key]]`, followed by its `name` when it has one.
    pub fn tables(&mut self, report: &mut Report<'_>, key: &'static str) -> Vec<Table<'i>> {
        let expected = format!("an array of tables ([[{key}]])");
        let tables = self
            .array(report, key, &expected, table_value)
            .map(Spanned::into_inner)
            .unwrap_or_default();
        tables
            .into_iter()
            .map(|table| {
                let label = match table
                    .get_ref()
                    .get("name")
                    .and_then(|name| name.get_ref().as_str())
                {
                    Some(name) => format!("[[{key}]] {name:?}"),
                    None => format!("[[{key}]]"),
                };
                Self::labelled(Some(label), table)
            })
            .collect()
    }

    fn array<T>(
        &mut self,
        report: &mut Report<'_>,
        key: &'static str,
        expected: &str,
        convert: fn(DeValue<'i>) -> Result<T, DeValue<'i>>,
    ) -> Option<Spanned<Vec<Spanned<T>>>> {
        let array = self.take(report, key, expected, |value| match value {
            DeValue::Array(array) => Ok(array),
            other => Err(other),
        })?;
        let span = array.span();
        let items = array
            .into_inner()
            .into_iter()
            .filter_map(|entry| self.convert(report, key, expected, entry, convert, true))
            .collect();
        Some(Spanned::new(span, items))
    }

    /// Leaves the keys that no read takes unreported. A reader calls it
    /// when the table's `type` is unknown, and with it the keys the table
    /// accepts.
    pub fn ignore_unknown(&mut self) {
        self.report_unknown = false;
    }

    /// Records each key that no read took as unknown, with the nearest
    /// accepted key or else all of them.
    pub fn finish(self, report: &mut Report<'_>) {
        if !self.report_unknown {
            return;
        }
        let place = self.place();
        for (key, _) in self.entries {
            let name = key.get_ref();
            let nearest = nearest_keys(name, &self.accepted);
            let hint = if self.accepted.is_empty() {
                "the table takes no keys".to_owned()
            } else if nearest.is_empty() {
                format!("valid keys: {}", quoted_list(&self.accepted, "and"))
            } else {
                format!("did you mean {}?", quoted_list(&nearest, "or"))
            };
            report.at(&key, format!("unknown key `{name}` {place}; {hint}"));
        }
    }
}

fn string_value(value: DeValue<'_>) -> Result<String, DeValue<'_>> {
    match value {
        DeValue::String(text) => Ok(text.into_owned()),
        other => Err(other),
    }
}

fn table_value(value: DeValue<'_>) -> Result<DeTable<'_>, DeValue<'_>> {
    match value {
        DeValue::Table(table) => Ok(table),
        other => Err(other),
    }
}

/// Returns the accepted keys that `unknown` is most likely a misspelling
/// of: those at the smallest edit distance, when it is at most a third of
/// the length of `unknown` (at least 1), or else those that one of the two
/// names begins with, such as `listen` for `listen_address`.
fn nearest_keys<'k>(unknown: &str, accepted: &[&'k str]) -> Vec<&'k str> {
    let limit = (unknown.chars().count() / 3).max(1);
    let distances: Vec<(usize, &str)> = accepted
        .iter()
        .map(|key| (strsim::levenshtein(unknown, key), *key))
        .collect();
    let closest = distances.iter().map(|(distance, _)| *distance).min();
    if let Some(closest) = closest.filter(|closest| *closest <= limit) {
        return distances
            .into_iter()
            .filter(|(distance, _)| *distance == closest)
            .map(|(_, key)| key)
            .collect();
    }
    accepted
        .iter()
        .copied()
        .filter(|key| {
            let (shorter, longer) = if key.len() < unknown.len() {
                (*key, unknown)
            } else {
                (unknown, *key)
            };
            shorter.len() >= 3 && longer.starts_with(shorter)
        })
        .collect()
}

/// Writes `["a", "b", "c"]` as "`a`, `b` and `c`", with `last` as the
/// word before the last item.
fn quoted_list(items: &[&str], last: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    join_list(&quoted, last)
}
