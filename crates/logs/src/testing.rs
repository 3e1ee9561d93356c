//! Helpers for the unit tests of the decoders.

use iocwatch_model::Record;

use crate::{DecodeError, Decoder};

/// Decodes every line of `text`, keeping the lines that yield a record or
/// an error.
pub(crate) fn decode_lines<'l>(
    decoder: &mut dyn Decoder,
    text: &'l str,
) -> Vec<Result<Record<'l>, DecodeError>> {
    text.lines()
        .filter_map(|line| decoder.decode(line.as_bytes()).transpose())
        .collect()
}

/// Lists the observables of `record` as `(ECS field, value)` pairs, in order.
pub(crate) fn pairs<'a>(record: &'a Record<'_>) -> Vec<(&'static str, &'a str)> {
    record
        .observables
        .iter()
        .map(|observed| (observed.field.as_str(), observed.value.as_ref()))
        .collect()
}

/// Lists the context of `record` as `(ECS field, value)` pairs, in order.
pub(crate) fn context<'a>(record: &'a Record<'_>) -> Vec<(&'static str, &'a str)> {
    record
        .context
        .iter()
        .map(|(name, value)| (*name, value.as_ref()))
        .collect()
}
