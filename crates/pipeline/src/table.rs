//! The readable alert table printed when the output is not JSON.

use std::io::Write;

use iocwatch_matcher::Matcher;

use crate::alert::Alert;

/// Returns the table's header line.
pub fn header() -> String {
    format!(
        "{:<27} {:<8} {:<9} {:<16} {:<22} {:<40} {:<20} {}\n",
        "TIME", "SEVERITY", "DIRECTION", "INTERNAL HOST", "FIELD", "VALUE", "WATCHLIST", "DESCRIPTION"
    )
}

/// Writes one row per match of `alert`.
pub fn write_rows(output: &mut Vec<u8>, alert: &Alert, matcher: &Matcher) {
    let direction = alert.direction.map_or("-", |d| d.as_str());
    let host = alert
        .internal_host
        .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    for found in &alert.matches {
        let entry = matcher.entry(found.indicator);
        let list = &matcher.watchlist(entry.watchlist).name;
        let meta = &entry.indicator.meta;
        let description = meta
            .description
            .as_deref()
            .or(meta.malware.as_deref())
            .unwrap_or("-");
        let _ = writeln!(
            output,
            "{:<27} {:<8} {:<9} {:<16} {:<22} {:<40} {:<20} {}",
            alert.timestamp,
            alert.severity.as_str(),
            direction,
            host,
            found.field.as_str(),
            truncate(&found.atomic, 40),
            truncate(list, 20),
            truncate(description, 60),
        );
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
