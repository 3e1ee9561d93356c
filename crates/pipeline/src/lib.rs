//! The iocwatch pipeline: loading watchlists into a matcher, reading event
//! sources, scanning logs, building alerts and summarising what was found.

#![deny(missing_docs)]

pub mod alert;
pub mod allowlist;
pub mod config;
pub mod homenet;
pub mod lines;
pub mod scan;
mod screen;
pub mod service;
pub mod sources;
pub mod stats;
mod table;
pub mod watchlists;

pub use alert::{Alert, AlertBuilder, Severity};
pub use allowlist::Allowlist;
pub use homenet::{Direction, HomeNet};
pub use scan::{Input, ListedFiles, OutputFormat, Progress, ScanOptions, ScanSummary, list_files, scan};
pub use stats::ScanStats;
