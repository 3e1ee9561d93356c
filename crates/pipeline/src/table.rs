//! The readable alert table printed when the output is not JSON.

use std::io::Write;

use iocwatch_matcher::Matcher;

use crate::alert::Alert;

/// Narrowest WATCHLIST column, in characters.
const MIN_WATCHLIST_WIDTH: usize = 16;

/// Widest WATCHLIST column, in characters. A longer name is cut, and its
/// alerts' JSON output has it whole.
const MAX_WATCHLIST_WIDTH: usize = 40;

/// Returns the width of the WATCHLIST column: the length of the longest
/// watchlist name within the bounds above, so that names that differ only
/// at the end (`urlhaus-filter-online`, `urlhaus-filter-hosts-online`,
/// `feed` and `feed-2`) stay apart.
fn watchlist_width(matcher: &Matcher) -> usize {
    matcher
        .watchlists()
        .iter()
        .map(|watchlist| watchlist.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(MIN_WATCHLIST_WIDTH, MAX_WATCHLIST_WIDTH)
}

/// Returns the table's header line.
pub fn header(matcher: &Matcher) -> String {
    let width = watchlist_width(matcher);
    format!(
        "{:<20} {:<6} {:<9} {:<15} {:<width$} {:<22} {}\n",
        "TIME (UTC)", "SEV", "DIRECTION", "INTERNAL HOST", "WATCHLIST", "FIELD", "VALUE (DESCRIPTION)"
    )
}

/// Writes one row per match of `alert`. The value comes last and whole,
/// so hashes and URLs can be copied from the table. Further matches of
/// the same alert show `+` in place of the time.
pub fn write_rows(output: &mut Vec<u8>, alert: &Alert, matcher: &Matcher) {
    let direction = alert.direction.map_or("-", |d| d.as_str());
    let host = alert
        .internal_host
        .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    // Seconds are enough to place an event; the JSON output has the rest.
    let time = alert
        .timestamp
        .get(..19)
        .map_or_else(|| alert.timestamp.clone(), |t| t.replace('T', " "));
    let width = watchlist_width(matcher);
    for (index, found) in alert.matches.iter().enumerate() {
        let entry = matcher.entry(found.indicator);
        let list = &matcher.watchlist(entry.watchlist).name;
        let meta = &entry.indicator.meta;
        let description = meta.description.as_deref().or(meta.malware.as_deref());
        let when = if index == 0 { time.as_str() } else { "  +" };
        let _ = write!(
            output,
            "{:<20} {:<6} {:<9} {:<15} {:<width$} {:<22} {}",
            when,
            alert.severity.as_str(),
            direction,
            host,
            truncate(list, width),
            found.field.as_str(),
            found.atomic,
        );
        if let Some(description) = description {
            let _ = write!(output, " ({})", truncate(description, 60));
        }
        let _ = writeln!(output);
    }
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncate_marks_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
