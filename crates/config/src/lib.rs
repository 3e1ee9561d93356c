//! Reading of iocwatch's TOML configuration, so that one run lists every
//! problem of a file, each at its line and column.
//!
//! A reader takes every key it accepts from a [`Table`] by name and TOML
//! type, so its calls are the one list of that table's keys. A value of
//! another type is recorded in the [`Report`] and left out, and
//! [`Table::finish`] records each key that no call took as unknown, with
//! the nearest accepted key. The value checks of the reader record their
//! problems in the same [`Report`], at the place of the value.
//!
//! ```
//! use iocwatch_config::read_text;
//!
//! let error = read_text("app.toml", "porrt = 80\n", |mut top, report| {
//!     let port = top.integer(report, "port");
//!     top.finish(report);
//!     port
//! })
//! .unwrap_err();
//! assert_eq!(
//!     error.issues[0].to_string(),
//!     "line 1, column 1: unknown key `porrt` at the top level; did you mean `port`?"
//! );
//! ```

use std::fmt;

use toml::de::DeTable;

mod report;
mod table;
#[cfg(test)]
mod tests;

pub use report::Report;
pub use table::{StringEntry, Table};
pub use toml::Spanned;

/// A problem in a configuration file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// 1-based line, when the problem has a place.
    pub line: Option<usize>,
    /// 1-based column, when the problem has a place.
    pub column: Option<usize>,
    /// Description of the problem and of the fix.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: {}", self.message),
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Every problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, as given.
    pub path: String,
    /// The problems, in file order.
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.issues.len();
        write!(
            f,
            "{}: {count} problem{}",
            self.path,
            if count == 1 { "" } else { "s" }
        )?;
        for issue in &self.issues {
            write!(f, "\n  {}: {issue}", self.path)?;
        }
        Ok(())
    }
}

/// Parses the TOML `text` of the file `path` and hands its top-level
/// table to `read`, which reads it and records each problem in the
/// report.
///
/// # Errors
///
/// A [`ConfigError`] listing every recorded problem in file order. A TOML
/// syntax error stops the reading and is the only problem listed.
pub fn read_text<'t, T>(
    path: &str,
    text: &'t str,
    read: impl FnOnce(Table<'t>, &mut Report<'t>) -> T,
) -> Result<T, ConfigError> {
    let fail = |issues| ConfigError {
        path: path.to_owned(),
        issues,
    };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => return Err(fail(vec![issue_from_toml(text, &err)])),
    };
    let mut report = Report::new(text);
    let value = read(Table::top(root), &mut report);
    let issues = report.into_issues();
    if issues.is_empty() {
        Ok(value)
    } else {
        Err(fail(issues))
    }
}

/// Turns a TOML syntax error into an issue at its place.
fn issue_from_toml(text: &str, err: &toml::de::Error) -> ConfigIssue {
    let (line, column) = match err.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            (Some(line), Some(column))
        }
        None => (None, None),
    };
    let mut message = err.message().trim_end().to_owned();
    if let Some(hint) = err.span().and_then(|span| unquoted_text_hint(text, span.start)) {
        message.push_str("; ");
        message.push_str(&hint);
    }
    ConfigIssue {
        line,
        column,
        message,
    }
}

/// Returns a hint when the line at `offset` is `key = value` with a text
/// value written without quotes, such as `listen = 127.0.0.1:8080`, which
/// TOML reads as a malformed number or key.
fn unquoted_text_hint(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |newline| newline + 1);
    let end = text
        .get(offset..)?
        .find('\n')
        .map_or(text.len(), |newline| offset + newline);
    let (key, value) = text.get(start..end)?.split_once('=')?;
    let key = key.trim();
    let value = value.split(" #").next().unwrap_or(value).trim();
    let structured = value.starts_with(['"', '\'', '[', '{']) || matches!(value, "true" | "false");
    if key.is_empty() || value.is_empty() || structured || value.parse::<f64>().is_ok() {
        return None;
    }
    Some(format!(
        "a text value needs quotes, for example {key} = \"{value}\""
    ))
}

/// Returns the 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before.get(line_start..).map_or(0, |rest| rest.chars().count()) + 1;
    (line, column)
}

/// Joins `items` as "a, b and c", with `last` as the word before the last
/// item.
fn join_list(items: &[String], last: &str) -> String {
    match items.split_last() {
        Some((final_item, rest)) if !rest.is_empty() => format!("{} {last} {final_item}", rest.join(", ")),
        _ => items.concat(),
    }
}
