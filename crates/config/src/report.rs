//! The problems found while reading one configuration text.

use std::fmt::Display;
use std::ops::Range;

use toml::Spanned;

use crate::{ConfigIssue, join_list, line_column};

/// Problems found in one configuration text, each at its line and column.
#[derive(Debug)]
pub struct Report<'t> {
    pub(crate) text: &'t str,
    issues: Vec<ConfigIssue>,
}

impl<'t> Report<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Self {
            text,
            issues: Vec::new(),
        }
    }

    /// Returns the 1-based line of byte `offset` of the text.
    pub fn line(&self, offset: usize) -> usize {
        line_column(self.text, offset).0
    }

    /// Records a problem at the place of `value`.
    pub fn at<T>(&mut self, value: &Spanned<T>, message: impl Into<String>) {
        self.at_span(value.span(), message);
    }

    /// Records a problem at the start of `span`, a byte range of the text.
    pub fn at_span(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_column(self.text, span.start);
        self.issues.push(ConfigIssue {
            line: Some(line),
            column: Some(column),
            message: message.into(),
        });
    }

    /// Returns the number of problems recorded so far.
    pub fn count(&self) -> usize {
        self.issues.len()
    }

    /// Returns the value of `result`, or records its error at the place of
    /// `value`, the configured value that `result` was made from.
    pub fn result<T, V>(&mut self, value: &Spanned<V>, result: Result<T, impl Display>) -> Option<T> {
        match result {
            Ok(converted) => Some(converted),
            Err(message) => {
                self.at(value, message.to_string());
                None
            }
        }
    }

    /// Returns the choice whose name is the string `value` of `key`, or
    /// records that the value is not one of `choices`.
    pub fn one_of<T: Copy>(
        &mut self,
        key: &str,
        value: &Spanned<String>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = value.get_ref();
        if let Some((_, choice)) = choices.iter().find(|(name, _)| name == text) {
            return Some(*choice);
        }
        let names: Vec<String> = choices.iter().map(|(name, _)| format!("{name:?}")).collect();
        let names = join_list(&names, "or");
        self.at(value, format!("{key} = {text:?} is not valid; use {names}"));
        None
    }

    /// Converts the integer `value` of `key` to `T`, or records that it is
    /// below `min` or above `max`, the largest value of `T`.
    pub fn integer_range<T>(&mut self, key: &str, value: &Spanned<i64>, min: i64, max: T) -> Option<T>
    where
        T: TryFrom<i64> + Display,
    {
        let integer = *value.get_ref();
        if integer < min {
            self.at(value, format!("{key} must be at least {min}"));
            return None;
        }
        match T::try_from(integer) {
            Ok(converted) => Some(converted),
            Err(_) => {
                self.at(
                    value,
                    format!("{key} = {integer} is too large; the maximum is {max}"),
                );
                None
            }
        }
    }

    /// Returns the problems in file order.
    pub(crate) fn into_issues(mut self) -> Vec<ConfigIssue> {
        self.issues.sort_by_key(|issue| (issue.line, issue.column));
        self.issues
    }
}
