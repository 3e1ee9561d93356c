//! The readable alert table printed when the output is not JSON.

use std::io::Write;

use iocwatch_matcher::Matcher;

use crate::alert::Alert;

/// Returns the table's header line.
pub fn header() -> String {
    format!(
        "{:<20} {:<6} {:<9} {:<15} {:<16} {:<22} {}\n",
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
    for (index, found) in alert.matches.iter().enumerate() {
        let entry = matcher.entry(found.indicator);
        let list = &matcher.watchlist(entry.watchlist).name;
        let meta = &entry.indicator.meta;
        let description = meta.description.as_deref().or(meta.malware.as_deref());
        let when = if index == 0 { time.as_str() } else { "  +" };
        let _ = write!(
            output,
            "{:<20} {:<6} {:<9} {:<15} {:<16} {:<22} {}",
            when,
            alert.severity.as_str(),
            direction,
            host,
            truncate(list, 16),
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
