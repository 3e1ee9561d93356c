//! Secrets given inline, in a file, or in an environment variable.

use std::fmt;
use std::path::Path;

use crate::error::{ConfigError, ConfigErrorKind};

/// A secret value whose `Debug` output hides it.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The three forms one secret may be configured in, with their key names.
pub(crate) struct SecretForms<'a> {
    pub inline: Option<(&'static str, &'a str)>,
    pub file: (&'static str, Option<&'a Path>),
    pub env: (&'static str, Option<&'a str>),
}

/// One configured form of a secret.
#[derive(Clone, Copy)]
pub(crate) enum SecretForm<'a> {
    Inline(&'a str),
    File(&'a Path),
    Env(&'a str),
}

/// Reads the secret from whichever form is set; `None` when none is.
pub(crate) fn resolve(sink: &str, forms: SecretForms<'_>) -> Result<Option<Secret>, ConfigError> {
    let (file_key, file) = forms.file;
    let (env_key, env) = forms.env;
    let forms_set = [
        forms.inline.map(|(key, value)| (key, SecretForm::Inline(value))),
        file.map(|path| (file_key, SecretForm::File(path))),
        env.map(|variable| (env_key, SecretForm::Env(variable))),
    ];
    let set: Vec<&'static str> = forms_set.iter().flatten().map(|(key, _)| *key).collect();
    check_single_form(&set).map_err(|kind| ConfigError::new(sink, kind))?;
    match forms_set.into_iter().flatten().next() {
        Some((key, form)) => read(key, form)
            .map(Some)
            .map_err(|kind| ConfigError::new(sink, kind)),
        None => Ok(None),
    }
}

/// Reads the secret that `key` gives in `form`.
///
/// A file's content loses one trailing `\n` or `\r\n`, since editors add
/// one. An empty secret is an error, because it signs or authenticates
/// nothing.
pub(crate) fn read(key: &'static str, form: SecretForm<'_>) -> Result<Secret, ConfigErrorKind> {
    let value = match form {
        SecretForm::Inline(value) => value.to_owned(),
        SecretForm::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| ConfigErrorKind::ReadFile {
                key,
                path: path.to_owned(),
                error,
            })?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            text.strip_suffix('\r').unwrap_or(text).to_owned()
        }
        SecretForm::Env(variable) => std::env::var(variable).map_err(|_| ConfigErrorKind::MissingEnv {
            key,
            variable: variable.to_owned(),
        })?,
    };
    if value.is_empty() {
        return Err(ConfigErrorKind::InvalidValue {
            key,
            value: String::new(),
            reason: "the secret is empty".to_owned(),
        });
    }
    Ok(Secret(value))
}

/// Checks that `set`, the keys given for one secret, has at most one key.
pub(crate) fn check_single_form(set: &[&'static str]) -> Result<(), ConfigErrorKind> {
    if set.len() > 1 {
        return Err(ConfigErrorKind::ConflictingKeys { keys: set.to_vec() });
    }
    Ok(())
}
