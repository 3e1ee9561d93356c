//! Reading of the parsed TOML document into the raw sections.
//!
//! Each section reader takes from its table every key it accepts, by name
//! and TOML type, so the reader's calls are the one list of that table's
//! keys. A value of another type is reported and left out, and each key
//! that no call took is reported as unknown. One run therefore lists every
//! unknown key and wrong type, and the values that were read go on to the
//! value checks of [`Checker`].

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{Checker, RawAlerts, RawConfig, RawHttp, RawSource, issue_from_toml};

/// Maximum length of the value text quoted in a wrong-type message, in
/// bytes. A longer value, or one that spans lines, is not quoted.
const MAX_QUOTED_VALUE: usize = 40;

impl<'t> Checker<'t> {
    /// Reads the whole document.
    pub(super) fn read_config(&mut self, root: Spanned<DeTable<'t>>) -> RawConfig {
        let mut top = Table::new("at the top level".to_owned(), root);
        let raw = RawConfig {
            data_dir: top.string(self, "data_dir").map(into_path),
            home_net: top.strings(self, "home_net"),
            http: top.table(self, "http").map(|table| self.read_http(table)),
            alerts: top.table(self, "alerts").map(|table| self.read_alerts(table)),
            sources: top
                .tables(self, "source")
                .into_iter()
                .filter_map(|table| self.read_source(table))
                .collect(),
            sinks: top
                .tables(self, "sink")
                .into_iter()
                .filter_map(|table| self.read_sink(table))
                .collect(),
        };
        top.finish(self);
        raw
    }

    fn read_http(&mut self, table: Spanned<DeTable<'t>>) -> RawHttp {
        let mut http = Table::new("in [http]".to_owned(), table);
        let raw = RawHttp {
            listen: http.string(self, "listen"),
            max_body_bytes: http.integer(self, "max_body_bytes"),
            tls_cert: http.string(self, "tls_cert").map(into_path),
            tls_key: http.string(self, "tls_key").map(into_path),
        };
        http.finish(self);
        raw
    }

    fn read_alerts(&mut self, table: Spanned<DeTable<'t>>) -> RawAlerts {
        let mut alerts = Table::new("in [alerts]".to_owned(), table);
        let raw = RawAlerts {
            dedup_window: alerts.string(self, "dedup_window"),
        };
        alerts.finish(self);
        raw
    }

    /// Reads one `[[source]]` table. Returns `None` when its `name` or
    /// `type` is missing or not a string.
    fn read_source(&mut self, table: Spanned<DeTable<'t>>) -> Option<RawSource> {
        let place = match table.get_ref().get("name").map(|name| name.get_ref()) {
            Some(DeValue::String(name)) => format!("in [[source]] {name:?}"),
            _ => "in [[source]]".to_owned(),
        };

        let mut source = Table::new(place, table);
        let name = source.required_string(
            self,
            "name",
            "a [[source]] needs a `name`, for example name = \"zeek\"",
        );
        let kind = source.required_string(
            self,
            "type",
            "a [[source]] needs a `type`: file, syslog, http or stdin",
        );

        let decoder = source.string(self, "decoder");
        let paths = source.strings(self, "paths");
        let start_at = source.string(self, "start_at");
        let poll_interval = source.string(self, "poll_interval");
        let udp = source.string(self, "udp");
        let tcp = source.string(self, "tcp");
        let max_message_bytes = source.integer(self, "max_message_bytes");
        let wrong_type = source.wrong_type.clone();
        source.finish(self);

        Some(RawSource {
            name: name?,
            kind: kind?,
            decoder,
            paths,
            start_at,
            poll_interval,
            udp,
            tcp,
            max_message_bytes,
            wrong_type,
        })
    }

    /// Converts one `[[sink]]` table to the form the sink layer reads. The
    /// sink layer checks its keys.
    fn read_sink(&mut self, table: Spanned<DeTable<'t>>) -> Option<Spanned<toml::Table>> {
        let span = table.span();
        let value = Spanned::new(span.clone(), DeValue::Table(table.into_inner()));
        match toml::Table::deserialize(ValueDeserializer::from(value)) {
            Ok(table) => Some(Spanned::new(span, table)),
            Err(err) => {
                let mut issue = issue_from_toml(self.text, &err);
                issue.message = format!("a value in [[sink]] is not valid: {}", issue.message);
                self.issues.push(issue);
                None
            }
        }
    }

    /// Records that the value of `key` has the wrong TOML type. `in_array`
    /// is true when the value is an entry of the key's array.
    fn wrong_type(
        &mut self,
        key: &str,
        place: &str,
        expected: &str,
        value: &Spanned<DeValue<'_>>,
        in_array: bool,
    ) {
        let found = value.get_ref().type_str();
        let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        let inside = if in_array { " in it" } else { "" };
        let mut message = format!("`{key}` {place} must be {expected}, found {article} {found}{inside}");
        let quoted = self.text.get(value.span()).unwrap_or_default();
        if !value.get_ref().is_table() && quoted.len() <= MAX_QUOTED_VALUE && !quoted.contains('\n') {
            message.push_str(": ");
            message.push_str(quoted);
        }
        self.at_span(value.span(), message);
    }
}

fn into_path(text: Spanned<String>) -> Spanned<PathBuf> {
    let span = text.span();
    Spanned::new(span, PathBuf::from(text.into_inner()))
}

/// One TOML table being read: the entries not taken yet, and the keys
/// asked for so far, which are the keys the table accepts.
struct Table<'i> {
    /// Place of the table as messages name it, such as "in [http]".
    place: String,
    span: Range<usize>,
    entries: DeTable<'i>,
    accepted: Vec<&'static str>,
    /// Keys whose value, or an entry of whose array, has the wrong type.
    wrong_type: Vec<&'static str>,
}

impl<'i> Table<'i> {
    fn new(place: String, table: Spanned<DeTable<'i>>) -> Self {
        Self {
            place,
            span: table.span(),
            entries: table.into_inner(),
            accepted: Vec::new(),
            wrong_type: Vec::new(),
        }
    }

    /// Takes the value of `key` out of the table and converts it with
    /// `convert`, which hands back the value when its type is not
    /// `expected`. A value of the wrong type is recorded and left out.
    fn take<T>(
        &mut self,
        checker: &mut Checker<'_>,
        key: &'static str,
        expected: &str,
        convert: fn(DeValue<'i>) -> Result<T, DeValue<'i>>,
    ) -> Option<Spanned<T>> {
        self.accepted.push(key);
        let value = self.entries.remove(key)?;
        self.convert(checker, key, expected, value, convert, false)
    }

    /// Converts `value`, the value of `key` or an entry of its array. A
    /// value of the wrong type is recorded.
    fn convert<T>(
        &mut self,
        checker: &mut Checker<'_>,
        key: &'static str,
        expected: &str,
        value: Spanned<DeValue<'i>>,
        convert: fn(DeValue<'i>) -> Result<T, DeValue<'i>>,
        in_array: bool,
    ) -> Option<Spanned<T>> {
        let span = value.span();
        match convert(value.into_inner()) {
            Ok(converted) => Some(Spanned::new(span, converted)),
            Err(other) => {
                let other = Spanned::new(span, other);
                checker.wrong_type(key, &self.place, expected, &other, in_array);
                self.wrong_type.push(key);
                None
            }
        }
    }

    fn string(&mut self, checker: &mut Checker<'_>, key: &'static str) -> Option<Spanned<String>> {
        self.take(checker, key, "a string", string_value)
    }

    /// Reads a string that the table must have. `missing` is the message
    /// recorded at the table when the key is absent.
    fn required_string(
        &mut self,
        checker: &mut Checker<'_>,
        key: &'static str,
        missing: &str,
    ) -> Option<Spanned<String>> {
        if !self.entries.contains_key(key) {
            checker.at_span(self.span.clone(), missing.to_owned());
        }
        self.string(checker, key)
    }

    /// Reads an integer. TOML integers are 64-bit signed, so a larger one
    /// is recorded as out of range.
    fn integer(&mut self, checker: &mut Checker<'_>, key: &'static str) -> Option<Spanned<i64>> {
        let integer = self.take(checker, key, "an integer", |value| match value {
            DeValue::Integer(integer) => Ok(integer),
            other => Err(other),
        })?;
        let span = integer.span();
        if let Ok(value) = i64::from_str_radix(integer.get_ref().as_str(), integer.get_ref().radix()) {
            return Some(Spanned::new(span, value));
        }
        let digits = checker.text.get(span.clone()).unwrap_or_default().to_owned();
        checker.at_span(
            span,
            format!(
                "`{key}` {} is {digits}, out of the range of a TOML integer ({} to {})",
                self.place,
                i64::MIN,
                i64::MAX
            ),
        );
        None
    }

    fn table(&mut self, checker: &mut Checker<'_>, key: &'static str) -> Option<Spanned<DeTable<'i>>> {
        self.take(checker, key, "a table", table_value)
    }

    /// Reads an array of strings. Each entry of another type is recorded
    /// and left out.
    fn strings(
        &mut self,
        checker: &mut Checker<'_>,
        key: &'static str,
    ) -> Option<Spanned<Vec<Spanned<String>>>> {
        self.array(checker, key, "an array of strings", string_value)
    }

    /// Reads an array of tables, written as `[[key]]` headers or as an
    /// array of inline tables. Each entry that is not a table is recorded
    /// and left out.
    fn tables(&mut self, checker: &mut Checker<'_>, key: &'static str) -> Vec<Spanned<DeTable<'i>>> {
        let expected = format!("an array of tables ([[{key}]])");
        self.array(checker, key, &expected, table_value)
            .map(Spanned::into_inner)
            .unwrap_or_default()
    }

    fn array<T>(
        &mut self,
        checker: &mut Checker<'_>,
        key: &'static str,
        expected: &str,
        convert: fn(DeValue<'i>) -> Result<T, DeValue<'i>>,
    ) -> Option<Spanned<Vec<Spanned<T>>>> {
        let array = self.take(checker, key, expected, |value| match value {
            DeValue::Array(array) => Ok(array),
            other => Err(other),
        })?;
        let span = array.span();
        let items = array
            .into_inner()
            .into_iter()
            .filter_map(|entry| self.convert(checker, key, expected, entry, convert, true))
            .collect();
        Some(Spanned::new(span, items))
    }

    /// Records each key that no read took as unknown, with the nearest
    /// accepted key or else all of them.
    fn finish(self, checker: &mut Checker<'_>) {
        for (key, _) in self.entries {
            let name = key.get_ref();
            let nearest = nearest_keys(name, &self.accepted);
            let hint = if nearest.is_empty() {
                format!("valid keys: {}", quoted_list(&self.accepted, "and"))
            } else {
                format!("did you mean {}?", quoted_list(&nearest, "or"))
            };
            checker.at_span(key.span(), format!("unknown key `{name}` {}; {hint}", self.place));
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
    match quoted.split_last() {
        Some((final_item, rest)) if !rest.is_empty() => format!("{} {last} {final_item}", rest.join(", ")),
        Some((only, _)) => only.clone(),
        None => String::new(),
    }
}
