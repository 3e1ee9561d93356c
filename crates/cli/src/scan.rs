//! `iocwatch scan`.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use iocwatch_pipeline::stats::REPORTED_ERRORS_PER_FILE;
use iocwatch_pipeline::{AlertBuilder, HomeNet, Input, OutputFormat, Progress, ScanOptions, scan};

use crate::args::ScanArgs;
use crate::progress::Bar;

/// Runs a scan; the exit status follows grep: 0 alerts, 1 none, 2 error.
pub fn run(args: ScanArgs) -> Result<ExitCode> {
    args.ignored.warn("scan");
    if let Some(output) = &args.output {
        check_output_path(output, &args)?;
    }
    let matcher = crate::intel::load(&args.intel, args.quiet)?;
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create output file {}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };
    let inputs: Vec<Input> = args
        .paths
        .iter()
        .map(|path| {
            if path == "-" {
                Input::Stdin
            } else {
                Input::Path(PathBuf::from(path))
            }
        })
        .collect();
    let progress: Option<Arc<dyn Progress>> =
        (!args.quiet && io::stderr().is_terminal()).then(|| Arc::new(Bar::new()) as Arc<dyn Progress>);
    let options = ScanOptions {
        output: if args.json {
            OutputFormat::Json
        } else {
            OutputFormat::Table
        },
        threads: args.threads.map(usize::from),
        progress,
        full_decode: args.full_decode,
    };
    let builder = AlertBuilder::new(
        matcher.clone(),
        HomeNet::new(args.home_net),
        time::OffsetDateTime::now_utc(),
    );
    let summary = scan(&inputs, &builder, &options, out);

    for skipped in &summary.skipped {
        eprintln!("warning: {skipped}; skipped");
    }
    let stats = &summary.stats;
    if !args.quiet {
        report_malformed(stats);
        eprint!("{}", stats.render(&matcher, summary.elapsed));
    }
    for error in &summary.errors {
        eprintln!("error: {error}");
    }
    let code = if !summary.errors.is_empty() {
        ExitCode::from(2)
    } else if stats.alerts > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    crate::intel::release_at_exit(matcher, builder);
    Ok(code)
}

/// Rejects an output file that is also an input: creating it would empty
/// the log or watchlist before it is read.
fn check_output_path(output: &Path, args: &ScanArgs) -> Result<()> {
    let Ok(output) = output.canonicalize() else {
        // The file does not exist yet, so it cannot be an input.
        return Ok(());
    };
    let inputs = args.paths.iter().filter(|p| *p != "-").map(PathBuf::from);
    let watchlists = args
        .intel
        .intel
        .iter()
        .map(|spec| PathBuf::from(spec.split_once('=').map_or(spec.as_str(), |(_, p)| p)));
    for input in inputs
        .chain(watchlists)
        .chain(args.intel.intel.iter().map(PathBuf::from))
    {
        let Ok(input) = input.canonicalize() else { continue };
        if output == input || (input.is_dir() && output.starts_with(&input)) {
            bail!(
                "the output file {} is also an input; write alerts to a file outside the scanned paths",
                output.display()
            );
        }
    }
    Ok(())
}

fn report_malformed(stats: &iocwatch_pipeline::ScanStats) {
    let mut per_file: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for error in &stats.reported_errors {
        eprintln!(
            "{}:{}: malformed line skipped: {}",
            error.path, error.line, error.message
        );
        *per_file.entry(&error.path).or_default() += 1;
    }
    let reported: usize = per_file.values().sum();
    let total = stats.malformed();
    if total > reported as u64 && per_file.values().any(|n| *n >= REPORTED_ERRORS_PER_FILE) {
        eprintln!("... {} more malformed lines not shown", total - reported as u64);
    }
}
