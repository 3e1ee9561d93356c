//! Watchlist decoders of iocwatch: plain lists, CSV, Zeek intel files and
//! JSON lines.
//!
//! [`load_file`] reads one watchlist, gzip-compressed or not, detects its
//! format from the content unless [`LoadOptions::format`] names it, and
//! returns a [`Watchlist`]. Every value goes through
//! [`iocwatch_model::parse_indicator`], which refangs, types and
//! normalises it; identical values are loaded once.
//!
//! Only a problem with the file as a whole is an error ([`IntelError`]):
//! it cannot be read, it is not text, or its CSV header has no indicator
//! column. A malformed line never stops a load. It becomes a
//! [`Rejection`] in the [`LoadReport`], with its line number and reason,
//! and the next line is read.
//!
//! # Example
//!
//! ```
//! use iocwatch_intel::{LoadOptions, load_reader};
//!
//! let feed = "# Spamhaus DROP\n1.10.16.0/20 ; SBL256894\n0.0.0.0/0\n";
//! let watchlist = load_reader("drop", "drop.txt", feed.as_bytes(), &LoadOptions::default())?;
//! assert_eq!(watchlist.indicators.len(), 1);
//! assert_eq!(watchlist.report.rejected[0].line, 3);
//! # Ok::<(), iocwatch_intel::IntelError>(())
//! ```

#![deny(missing_docs)]

mod columns;
mod detect;
mod error;
mod formats;
mod lines;
mod load;
mod watchlist;

#[cfg(test)]
mod tests;

pub use error::{IntelError, IntelErrorKind, LineError};
pub use lines::{MAX_INPUT_BYTES, MAX_LINE_BYTES};
pub use load::{IntelFormat, LoadOptions, UnknownFormat, load_file, load_reader, watchlist_name_for};
pub use watchlist::{LoadReport, NoteEntry, Rejection, Watchlist};
