//! Log decoders: each turns one line of a log format into a
//! [`Record`] of ECS-named observables.
//!
//! A decoder never fails the stream: a malformed line is returned as a
//! [`DecodeError`] that the caller counts and reports, and the next line
//! is decoded as usual.

use iocwatch_model::Record;

/// A decoder for one log stream (one file, one connection).
///
/// Decoders are stateful where the format needs it: a Zeek TSV decoder
/// remembers the last `#fields` header it saw.
pub trait Decoder: Send {
    /// Decodes one line, given without its line terminator (a trailing CR
    /// may remain). Returns `Ok(None)` for lines that carry no event:
    /// headers, comments, blank lines.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] for a malformed line.
    fn decode<'l>(&mut self, line: &'l [u8]) -> Result<Option<Record<'l>>, DecodeError>;

    /// The format name used in statistics for lines this decoder rejects.
    fn format(&self) -> &'static str;
}

/// Why one line could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// What is wrong, naming the field or column where one is at fault.
    pub message: String,
}
