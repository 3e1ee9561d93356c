//! One decoder per watchlist format, each reading numbered lines.

pub(crate) mod csv;
pub(crate) mod ids_rule;
pub(crate) mod jsonl;
pub(crate) mod plain;
pub(crate) mod zeek;

use crate::error::{IntelErrorKind, LineError};
use crate::lines::{Line, MAX_LINE_BYTES};
use crate::load::{IntelFormat, LoadOptions};
use crate::watchlist::Collector;

/// The decoder for the format being read.
pub(crate) enum Decoder {
    Plain(plain::PlainDecoder),
    Csv(csv::CsvDecoder),
    Zeek(zeek::ZeekDecoder),
    JsonLines(jsonl::JsonLinesDecoder),
}

impl Decoder {
    pub(crate) fn new(format: IntelFormat, options: &LoadOptions) -> Self {
        match format {
            IntelFormat::Plain => Self::Plain(plain::PlainDecoder::new()),
            IntelFormat::Csv => Self::Csv(csv::CsvDecoder::new(options.column.as_deref())),
            IntelFormat::ZeekIntel => Self::Zeek(zeek::ZeekDecoder::new()),
            IntelFormat::JsonLines => Self::JsonLines(jsonl::JsonLinesDecoder::new()),
        }
    }

    /// Reads one line, adding its indicators and rejections to `out`.
    ///
    /// # Errors
    ///
    /// Problems that make the whole file unusable: a CSV header without the
    /// indicator column, Zeek data without a `#fields` line.
    pub(crate) fn line(
        &mut self,
        number: u64,
        line: Line<'_>,
        out: &mut Collector,
    ) -> Result<(), IntelErrorKind> {
        let text = match line {
            Line::Text(text) => text,
            Line::TooLong(start) => {
                out.reject(number, start, LineError::TooLong { max: MAX_LINE_BYTES });
                return Ok(());
            }
        };
        match self {
            Self::Plain(decoder) => {
                decoder.line(number, text, out);
                Ok(())
            }
            Self::Csv(decoder) => decoder.line(number, text, out),
            Self::Zeek(decoder) => decoder.line(number, text, out),
            Self::JsonLines(decoder) => {
                decoder.line(number, text, out);
                Ok(())
            }
        }
    }

    /// Completes a record still open at the end of input.
    pub(crate) fn finish(&mut self, out: &mut Collector) -> Result<(), IntelErrorKind> {
        match self {
            Self::Csv(decoder) => decoder.finish(out),
            Self::Plain(_) | Self::Zeek(_) | Self::JsonLines(_) => Ok(()),
        }
    }
}
