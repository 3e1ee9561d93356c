//! The data model of iocwatch: indicators, observables and decoded log
//! records, with the parsing and normalisation rules that decide whether
//! an indicator and an observed value are the same.
//!
//! Everything that compares values goes through this crate, so a feed and
//! a log agree on what "the same address" or "the same URL" means.
//! IPv4-mapped IPv6 folds to IPv4, domains are ASCII lower case without
//! trailing dot, URLs are canonical and digests are lower-case hex.

#![deny(missing_docs)]

pub mod field;
pub mod indicator;
pub mod record;
pub mod refang;
pub mod severity;
mod shape;
pub mod time;
pub mod url;
pub mod value;

pub use field::Field;
pub use indicator::{
    DigestScope, DomainMatch, Indicator, IndicatorError, IndicatorKind, IndicatorValue, KindHint, Meta, Note,
    Origin, ParseOptions, Parsed, is_internal, parse_indicator,
};
pub use record::{Endpoint, Observed, Record};
pub use severity::{Severity, UnknownSeverity};
pub use url::CanonicalUrl;
pub use value::{DigestAlgo, ValueError};
