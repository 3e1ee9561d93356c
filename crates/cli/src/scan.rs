//! `iocwatch scan`.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use iocwatch_pipeline::scan::SUPPORTED_FORMATS;
use iocwatch_pipeline::stats::REPORTED_ERRORS_PER_FILE;
use iocwatch_pipeline::{AlertBuilder, HomeNet, Input, OutputFormat, Progress, ScanOptions, scan};

use crate::args::ScanArgs;
use crate::progress::Bar;

/// Runs a scan; the exit status follows grep: 0 alerts, 1 none, 2 error.
pub fn run(args: ScanArgs) -> Result<ExitCode> {
    args.ignored.warn("scan");
    if let Some(output) = &args.output {
        check_output_path(output, &args)?;
        check_log_paths(&args.paths)?;
    }
    let (matcher, allowlist) = crate::intel::load(&args.intel, args.quiet)?;
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
        allowlist,
    };
    let builder = AlertBuilder::new(
        matcher.clone(),
        HomeNet::new(args.home_net),
        time::OffsetDateTime::now_utc(),
    );
    let summary = scan(&inputs, &builder, &options, out);

    report_skipped(&summary.skipped, summary.unsupported);
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

/// Maximum number of skipped files and folders listed one by one, with
/// the rest only counted.
const LISTED_SKIPS: usize = 20;

/// Lists what the scan skipped, and names the supported formats once when
/// `unsupported` files were skipped for being in none of them.
fn report_skipped(skipped: &[String], unsupported: usize) {
    for entry in skipped.iter().take(LISTED_SKIPS) {
        eprintln!("warning: {entry}; skipped");
    }
    if skipped.len() > LISTED_SKIPS {
        eprintln!(
            "warning: {} more files or folders skipped",
            skipped.len() - LISTED_SKIPS
        );
    }
    if unsupported > 0 {
        eprintln!(
            "note: {unsupported} file{} skipped as not a supported log format; iocwatch reads {SUPPORTED_FORMATS}",
            if unsupported == 1 { " was" } else { "s were" }
        );
    }
}

/// Stops before the output file is created, and so emptied, when a log
/// path cannot be read or a file named is not a supported log: the scan
/// would end with an error and an output that lacks its alerts.
fn check_log_paths(paths: &[String]) -> Result<()> {
    for path in paths.iter().filter(|path| *path != "-") {
        iocwatch_pipeline::scan::check_named_log(Path::new(path))
            .map_err(|problem| anyhow::anyhow!("{problem}; the output file was left as it was"))?;
    }
    Ok(())
}

/// Rejects an output file that is also an input: creating it would empty
/// the log or watchlist before it is read. The output may be an input by
/// its path, inside a scanned folder, or through a link of either kind.
fn check_output_path(output: &Path, args: &ScanArgs) -> Result<()> {
    // Where the output is or will be, to check it against scanned folders.
    let location = output
        .parent()
        .map(|parent| {
            if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            }
        })
        .and_then(|parent| parent.canonicalize().ok())
        .zip(output.file_name())
        .map(|(parent, name)| parent.join(name));
    let is_output = |file: &Path| crate::paths::same_file(file, output);
    let contains_output = |folder: &Path| {
        folder.is_dir()
            && folder.canonicalize().is_ok_and(|folder| {
                location
                    .as_ref()
                    .is_some_and(|location| location.starts_with(folder))
            })
    };

    let mut inputs: Vec<PathBuf> = Vec::new();
    for path in args.paths.iter().filter(|path| *path != "-") {
        let path = PathBuf::from(path);
        if contains_output(&path) {
            return Err(output_is_input(output));
        }
        if let Ok(listed) = iocwatch_pipeline::list_files(&path) {
            inputs.extend(listed.files);
        }
    }
    for spec in &args.intel.intel {
        // An invalid spec is reported when the watchlists load.
        let Ok((name, path)) = crate::intel::split_spec(spec) else {
            continue;
        };
        if contains_output(&path) {
            return Err(output_is_input(output));
        }
        if let Ok(expanded) = crate::intel::expand(name, &path, "watchlist") {
            inputs.extend(expanded.files.into_iter().map(|(_, file)| file));
        }
    }
    if inputs.iter().any(|input| is_output(input)) {
        return Err(output_is_input(output));
    }
    Ok(())
}

fn output_is_input(output: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "the output file {} is also an input; write alerts to a file outside the scanned paths",
        output.display()
    )
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
