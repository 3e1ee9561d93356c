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

/// Reads the secret from whichever form is set; `None` when none is.
///
/// A file's content loses one trailing `\n` or `\r\n`, since editors add
/// one. An empty secret is an error, because it signs or authenticates
/// nothing.
pub(crate) fn resolve(sink: &str, forms: SecretForms<'_>) -> Result<Option<Secret>, ConfigError> {
    let (file_key, file) = forms.file;
    let (env_key, env) = forms.env;
    let mut set: Vec<&'static str> = Vec::new();
    if let Some((key, _)) = forms.inline {
        set.push(key);
    }
    if file.is_some() {
        set.push(file_key);
    }
    if env.is_some() {
        set.push(env_key);
    }
    check_single_form(&set).map_err(|kind| ConfigError::new(sink, kind))?;

    let (key, value) = if let Some((key, value)) = forms.inline {
        (key, value.to_owned())
    } else if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::new(
                sink,
                ConfigErrorKind::ReadFile {
                    key: file_key,
                    path: path.to_owned(),
                    error,
                },
            )
        })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        (file_key, text.to_owned())
    } else if let Some(variable) = env {
        let value = std::env::var(variable).map_err(|_| {
            ConfigError::new(
                sink,
                ConfigErrorKind::MissingEnv {
                    key: env_key,
                    variable: variable.to_owned(),
                },
            )
        })?;
        (env_key, value)
    } else {
        return Ok(None);
    };
    if value.is_empty() {
        return Err(ConfigError::new(
            sink,
            ConfigErrorKind::InvalidValue {
                key,
                value: String::new(),
                reason: "the secret is empty".to_owned(),
            },
        ));
    }
    Ok(Some(Secret(value)))
}

/// Checks that `set`, the keys given for one secret, has at most one key.
pub(crate) fn check_single_form(set: &[&'static str]) -> Result<(), ConfigErrorKind> {
    if set.len() > 1 {
        return Err(ConfigErrorKind::ConflictingKeys { keys: set.to_vec() });
    }
    Ok(())
}
