//! Loading the watchlists named on the command line and reporting what
//! was loaded, rejected and dropped.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use iocwatch_intel::{IntelErrorKind, LoadOptions, Watchlist, load_file};
use iocwatch_matcher::Matcher;
use iocwatch_model::ParseOptions;
use iocwatch_pipeline::allowlist::Allowlist;
use iocwatch_pipeline::watchlists::build_matcher;
use rayon::prelude::*;

use crate::args::IntelArgs;

/// Maximum rejected, dropped or noted lines listed for each watchlist file
/// and kind, with the rest only counted. `--all-rejections` lifts it for
/// rejected and dropped lines.
const REPORTED_REJECTIONS: usize = 5;

/// Loads every watchlist and the allowlist files, leaves out the
/// indicators that the allowlist covers and builds the matcher. Returns
/// the matcher and the allowlist, if one was given. Messages go to stderr
/// unless `quiet`.
///
/// # Errors
///
/// Fails on a watchlist or allowlist file that cannot be read at all, and
/// on a `NAME=` given for a directory.
pub fn load(args: &IntelArgs, quiet: bool) -> Result<(Matcher, Option<Allowlist>)> {
    let options = LoadOptions {
        format: None,
        column: args.column.clone(),
        parse: ParseOptions {
            allow_broad: args.allow_broad,
        },
    };
    let started = std::time::Instant::now();
    let mut files = Vec::new();
    for spec in &args.intel {
        let (name, path) = split_spec(spec)?;
        let in_folder = path.is_dir();
        for (name, file) in expand(name, &path, "watchlist")?.warn() {
            // A file that two specs name, such as a folder and its
            // subfolder, loads once.
            if !files
                .iter()
                .any(|(_, known, _): &(_, PathBuf, _)| crate::paths::same_file(known, &file))
            {
                files.push((name, file, in_folder));
            }
        }
    }
    // Files load in parallel; reports print in command-line order.
    let loaded: Vec<_> = files
        .par_iter()
        .map(|(name, file, _)| load_file(file, name.as_deref(), &options))
        .collect();
    let mut candidates = Vec::with_capacity(loaded.len());
    for ((name, _, in_folder), watchlist) in files.iter().zip(loaded) {
        // A log beside the feeds of a watchlist folder is skipped. One
        // named on its own is an error.
        let watchlist = match watchlist {
            Err(error) if *in_folder && matches!(error.kind(), IntelErrorKind::ZeekLog(_)) => {
                eprintln!("warning: {error}; skipped");
                continue;
            }
            loaded => loaded.context("cannot load watchlist")?,
        };
        // Notes and dates beside the feeds of a folder load nothing, so
        // they take no watchlist name.
        let skipped = *in_folder && watchlist.indicators.is_empty() && watchlist.report.lines > 0;
        candidates.push(LoadedFile {
            watchlist,
            name_given: name.is_some(),
            skipped,
        });
    }
    name_watchlists(&mut candidates);
    let mut watchlists = Vec::with_capacity(candidates.len());
    for LoadedFile {
        watchlist, skipped, ..
    } in candidates
    {
        if !quiet {
            report(&watchlist, args.all_rejections);
        }
        if watchlist.indicators.is_empty() && watchlist.report.lines > 0 {
            let action = if skipped { ", so it is skipped" } else { "" };
            // A header without entries, as feeds publish for an empty
            // list, is a watchlist all the same.
            if watchlist.report.rejected.is_empty() {
                eprintln!(
                    "warning: {}: the file lists no indicator{action}",
                    watchlist.source
                );
            } else {
                eprintln!(
                    "warning: {}: no indicator was loaded{action}; check that the file is a watchlist",
                    watchlist.source
                );
            }
        }
        if !skipped {
            watchlists.push(watchlist);
        }
    }
    let allowlist = load_allowlist(&args.allowlist, &options, quiet, args.all_rejections)?;
    if let Some(allowlist) = &allowlist {
        let mut left_out = 0;
        for watchlist in &mut watchlists {
            let before = watchlist.indicators.len();
            watchlist
                .indicators
                .retain(|indicator| !allowlist.covers_indicator(indicator));
            left_out += before - watchlist.indicators.len();
        }
        if !quiet && left_out > 0 {
            eprintln!(
                "left out {left_out} indicator{} that the allowlist covers",
                if left_out == 1 { "" } else { "s" }
            );
        }
    }
    // Named here because `--quiet` hides the reports.
    let sources: Vec<String> = watchlists
        .iter()
        .map(|watchlist| watchlist.source.clone())
        .collect();
    let lines: u64 = watchlists.iter().map(|watchlist| watchlist.report.lines).sum();
    // A watchlist without indicators matches nothing and would only count
    // in the summary; its warning is printed above.
    watchlists.retain(|watchlist| !watchlist.indicators.is_empty());
    let (matcher, duplicates) = build_matcher(watchlists).context("cannot build the matcher")?;
    if matcher.is_empty() {
        let hint = if lines == 0 && sources.len() == 1 {
            "the file is empty"
        } else if lines == 0 {
            "the files are empty"
        } else if quiet {
            "run without --quiet to see each file's report"
        } else {
            "see the reports above"
        };
        bail!(
            "no indicators were loaded from {}, so nothing can match; {hint}",
            sources.join(", ")
        );
    }
    if !quiet {
        let kinds: Vec<String> = matcher
            .kind_counts()
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        eprintln!(
            "loaded {} indicator{} from {} watchlist{} in {:.2} s ({}){}",
            matcher.len(),
            if matcher.len() == 1 { "" } else { "s" },
            matcher.watchlists().len(),
            if matcher.watchlists().len() == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64(),
            kinds.join(", "),
            if duplicates > 0 {
                format!("; {duplicates} duplicates ignored")
            } else {
                String::new()
            }
        );
    }
    Ok((matcher, allowlist))
}

/// Loads the allowlist files named with `--allowlist`, each in any
/// watchlist format, or returns `None` when there are none. Broad entries
/// such as `10.0.0.0/8` are kept: an allowlist may cover a whole network.
fn load_allowlist(
    paths: &[PathBuf],
    options: &LoadOptions,
    quiet: bool,
    all_rejections: bool,
) -> Result<Option<Allowlist>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let options = LoadOptions {
        parse: ParseOptions { allow_broad: true },
        ..options.clone()
    };
    let mut entries = Vec::new();
    for path in paths {
        for (_, file) in expand(None, path, "allowlist")?.warn() {
            let list = load_file(&file, None, &options).context("cannot load allowlist")?;
            if !quiet {
                report_list("allowlist", &list, all_rejections);
            }
            entries.extend(list.indicators.into_iter().map(|indicator| indicator.value));
        }
    }
    Ok(Some(Allowlist::new(entries)))
}

/// Leaves the matcher, and `holder` with its other handles, for the
/// operating system to reclaim when the process exits, which the caller
/// does next. A million indicators hold millions of allocations, and
/// freeing them one by one took about 7% of a `scan` with the benchmark's
/// 100,000-indicator watchlist (measured with `perf record`).
pub(crate) fn release_at_exit<T>(matcher: Matcher, holder: T) {
    std::mem::forget(holder);
    std::mem::forget(matcher);
}

/// Splits `NAME=PATH`; a spec that names an existing path is a path even
/// when it contains `=`.
///
/// # Errors
///
/// Rejects `-` and `NAME=-`, because watchlists are not read from
/// standard input, and `=PATH` when no file of that name exists, because
/// its NAME is empty.
pub(crate) fn split_spec(spec: &str) -> Result<(Option<String>, PathBuf)> {
    if spec == "-" {
        bail!(stdin_rejected(spec));
    }
    if Path::new(spec).exists() {
        return Ok((None, PathBuf::from(spec)));
    }
    match spec.split_once('=') {
        Some(("", path)) => bail!(
            "--intel {spec}: NAME is empty in NAME=PATH; write a name before the `=`, \
             such as feed={path}, or give the path alone"
        ),
        Some((name, path))
            if name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
        {
            if path == "-" {
                bail!(stdin_rejected(spec));
            }
            Ok((Some(name.to_owned()), PathBuf::from(path)))
        }
        _ => Ok((None, PathBuf::from(spec))),
    }
}

fn stdin_rejected(spec: &str) -> String {
    format!(
        "--intel {spec}: standard input is not accepted for watchlists; \
         give the path of a watchlist file or directory (./- for a file named -)"
    )
}

/// The watchlist files that a path names.
#[derive(Debug, Default)]
pub(crate) struct Expanded {
    /// Each file with the watchlist name given for it.
    pub files: Vec<(Option<String>, PathBuf)>,
    /// A message for each folder that could not be read and each link
    /// that leads nowhere.
    pub warnings: Vec<String>,
}

impl Expanded {
    /// Prints the warnings and returns the files.
    pub(crate) fn warn(self) -> Vec<(Option<String>, PathBuf)> {
        for warning in &self.warnings {
            eprintln!("warning: {warning}");
        }
        self.files
    }
}

/// Lists the files a spec names: the file itself, or every file under a
/// directory and its subdirectories (sorted), each its own watchlist.
/// Documentation beside the feeds and hidden files and folders are left
/// out. `kind`, `watchlist` or `allowlist`, names the list in messages.
///
/// # Errors
///
/// Fails when `path` cannot be read, when `name` is given for a
/// directory, and when a directory has no watchlist file.
pub(crate) fn expand(name: Option<String>, path: &Path, kind: &str) -> Result<Expanded> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("cannot read {kind} {}", path.display()))?;
    if !metadata.is_dir() {
        return Ok(Expanded {
            files: vec![(name, path.to_owned())],
            warnings: Vec::new(),
        });
    }
    if name.is_some() {
        bail!(
            "{}: NAME= cannot be given for a directory, whose files are each a watchlist named after the file",
            path.display()
        );
    }
    let listed = iocwatch_pipeline::list_files(path).map_err(anyhow::Error::msg)?;
    let files: Vec<(Option<String>, PathBuf)> = listed
        .files
        .into_iter()
        .filter(|file| !is_documentation(file) && !is_hidden(path, file))
        .map(|file| (None, file))
        .collect();
    if files.is_empty() {
        bail!(
            "the {kind} directory {} has no {kind} file; documentation (README, LICENSE, *.md) \
             and hidden files are not loaded",
            path.display()
        );
    }
    let warnings = listed
        .unreadable
        .into_iter()
        .chain(listed.skipped_links)
        .collect();
    Ok(Expanded { files, warnings })
}

/// Tells whether `file`, under the folder `root`, is hidden or lies in a
/// hidden folder such as `.git`.
fn is_hidden(root: &Path, file: &Path) -> bool {
    let relative = file.strip_prefix(root).unwrap_or(file);
    relative
        .components()
        .any(|part| part.as_os_str().to_string_lossy().starts_with('.'))
}

/// Tells whether a file in a watchlist folder is documentation that sits
/// beside feeds (licence, readme, notes) rather than a feed.
fn is_documentation(file: &Path) -> bool {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_uppercase())
        .unwrap_or_default();
    let prefixes = ["LICENSE", "LICENCE", "COPYING", "README", "NOTICE", "CHANGELOG"];
    prefixes.iter().any(|prefix| name.starts_with(prefix)) || name.ends_with(".MD")
}

/// A loaded watchlist file, before it is named and reported.
struct LoadedFile {
    watchlist: Watchlist,
    /// Whether the command line gave its name with `NAME=`.
    name_given: bool,
    /// Whether it is left out, as a file of a folder that loads nothing.
    skipped: bool,
}

/// Gives every watchlist named after its file a name that no other
/// watchlist has, before the reports print it.
///
/// Files that would share a name, with each other or with a `NAME=`, are
/// each named by their whole file name (`drop.rules`, `drop.txt`). When
/// the file names are the same too, the folder goes in front
/// (`more/ips.txt`), and a number after that. So no file keeps the short
/// name because its folder sorts first. A `NAME=` is kept, so files given
/// the same name load as one watchlist, and skipped files take no name.
fn name_watchlists(files: &mut [LoadedFile]) {
    use std::collections::{HashMap, HashSet};
    let named = |file: &&mut LoadedFile| !file.name_given && !file.skipped;
    let mut used_names: HashSet<String> = files
        .iter()
        .filter(|file| file.name_given && !file.skipped)
        .map(|file| file.watchlist.name.clone())
        .collect();
    let mut uses: HashMap<String, usize> = HashMap::new();
    for file in files.iter_mut().filter(named) {
        *uses.entry(file.watchlist.name.clone()).or_default() += 1;
    }
    let shared: HashSet<String> = uses
        .into_iter()
        .filter(|(name, count)| *count > 1 || used_names.contains(name))
        .map(|(name, _)| name)
        .collect();
    let file_name = |watchlist: &Watchlist| {
        Path::new(&watchlist.source)
            .file_name()
            .map(|file| file.to_string_lossy().into_owned())
    };
    let mut file_uses: HashMap<String, usize> = HashMap::new();
    for LoadedFile { watchlist, .. } in files.iter_mut().filter(named) {
        if shared.contains(&watchlist.name)
            && let Some(file) = file_name(watchlist)
        {
            *file_uses.entry(file).or_default() += 1;
        }
    }
    for LoadedFile { watchlist, .. } in files.iter_mut().filter(named) {
        let file = file_name(watchlist);
        let in_folder = Path::new(&watchlist.source)
            .parent()
            .and_then(Path::file_name)
            .zip(file.as_ref())
            .map(|(folder, file)| format!("{}/{file}", folder.to_string_lossy()));
        let file = file.filter(|file| file_uses.get(file).is_none_or(|uses| *uses == 1));
        let candidates: Vec<String> = if shared.contains(&watchlist.name) {
            file.into_iter().chain(in_folder).collect()
        } else {
            vec![watchlist.name.clone()]
        };
        let base = watchlist.name.clone();
        let name = candidates
            .into_iter()
            .chain((2..).map(|count| format!("{base}-{count}")))
            .find(|candidate| !used_names.contains(candidate))
            .unwrap_or(base);
        used_names.insert(name.clone());
        watchlist.name = name;
    }
}

/// Prints a watchlist's load summary with its first rejected, dropped and
/// noted values, or with every rejected and dropped value when
/// `all_rejections` is set.
pub(crate) fn report(watchlist: &Watchlist, all_rejections: bool) {
    report_list("watchlist", watchlist, all_rejections);
}

/// Prints the report of a list loaded as `kind`, a watchlist or an
/// allowlist, as [`report`] does for a watchlist.
fn report_list(kind: &str, watchlist: &Watchlist, all_rejections: bool) {
    let report = &watchlist.report;
    let max_rejections_listed = if all_rejections {
        usize::MAX
    } else {
        REPORTED_REJECTIONS
    };
    eprintln!(
        "{kind} {}: {} ({})",
        watchlist.name,
        report.summary(),
        watchlist.source
    );
    let rejected = report
        .rejected
        .iter()
        .map(|r| (r.line, &r.value, format!("rejected: {}", r.error)));
    print_first(
        &watchlist.source,
        rejected,
        max_rejections_listed,
        ("rejected value", "rejected values"),
    );
    let dropped = report
        .dropped
        .iter()
        .map(|r| (r.line, &r.value, format!("warning: {}", r.error)));
    print_first(
        &watchlist.source,
        dropped,
        max_rejections_listed,
        ("dropped value", "dropped values"),
    );
    let notes = report
        .notes
        .iter()
        .map(|n| (n.line, &n.value, format!("note: {}", n.note)));
    print_first(&watchlist.source, notes, REPORTED_REJECTIONS, ("note", "notes"));
    // A file that is no list, such as notes or a timestamp beside the
    // feeds of a folder, gives mostly rejected words or lines of text.
    // One that loads nothing is reported by the caller.
    let rejected = report.rejected.len() as u64;
    if report.loaded > 0 && rejected > report.loaded {
        eprintln!(
            "warning: {}: more values were rejected ({rejected}) than loaded ({}); check that the file is a {kind}",
            watchlist.source, report.loaded
        );
    }
}

/// Prints the first `max_listed` entries as `source:line: "value" message`
/// and counts the rest, named `one` or `many`.
fn print_first<'a>(
    source: &str,
    entries: impl ExactSizeIterator<Item = (u64, &'a String, String)>,
    max_listed: usize,
    (one, many): (&str, &str),
) {
    let total = entries.len();
    for (line, value, message) in entries.take(max_listed) {
        eprintln!(
            "  {source}:{line}: {:?} {}",
            shorten(value, 80),
            shorten(&message, 240)
        );
    }
    let rest = total.saturating_sub(max_listed);
    if rest > 0 {
        let noun = if rest == 1 { one } else { many };
        eprintln!("  ... and {rest} more {noun}");
    }
}

/// Cuts `text` to `max` characters, marking the cut, so that a huge value
/// does not flood the terminal.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
