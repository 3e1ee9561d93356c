//! The readable alert table printed when the output is not JSON.

use std::io::{self, Write};

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
    let host = match (&alert.internal_host, &alert.host_name) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(name)) => name.clone(),
        (None, None) => "-".to_owned(),
    };
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

/// Table bytes held to be sorted by time, at most. Past it the rows held
/// are written in time order and the rest follow in file order, so that
/// a scan with millions of alerts does not hold them all.
const MAX_SORTED_BYTES: usize = 64 * 1024 * 1024;

/// Rows of the table, held until the scan ends and then written in the
/// order of their event times, so that alerts of several logs of the
/// same period interleave. An alert's rows stay together and in order,
/// and alerts of the same second keep the order of the scan.
#[derive(Debug, Default)]
pub(crate) struct TimeOrder {
    buffered: Vec<u8>,
    /// Set once the rows held passed [`MAX_SORTED_BYTES`] and were written.
    streaming: bool,
}

impl TimeOrder {
    /// Adds the rows of one unit of the scan, writing to `out` once the
    /// table is too large to hold.
    pub(crate) fn add(&mut self, rows: &[u8], out: &mut impl Write) -> io::Result<()> {
        if self.streaming {
            return out.write_all(rows);
        }
        self.buffered.extend_from_slice(rows);
        if self.buffered.len() > MAX_SORTED_BYTES {
            self.finish(out)?;
            self.streaming = true;
        }
        Ok(())
    }

    /// Writes the rows held, sorted by time.
    pub(crate) fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        let buffered = std::mem::take(&mut self.buffered);
        for block in sorted_blocks(&buffered) {
            out.write_all(block)?;
        }
        Ok(())
    }
}

/// Splits table rows into the blocks of one alert each (its first row and
/// the `+` rows after it) and sorts them by the time that starts the
/// first row. The time is written as `YYYY-MM-DD HH:MM:SS` in UTC, so
/// its text sorts in time order.
fn sorted_blocks(rows: &[u8]) -> Vec<&[u8]> {
    let mut blocks: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut position = 0;
    while position < rows.len() {
        let end = memchr::memchr(b'\n', &rows[position..]).map_or(rows.len(), |offset| position + offset + 1);
        let continues = rows[position..end].starts_with(b"  +");
        if !continues && position > start {
            blocks.push(&rows[start..position]);
            start = position;
        }
        position = end;
    }
    if start < rows.len() {
        blocks.push(&rows[start..]);
    }
    blocks.sort_by_key(|block| block.get(..19).unwrap_or(block));
    blocks
}

#[cfg(test)]
mod tests {
    use super::{TimeOrder, sorted_blocks, truncate};

    #[test]
    fn truncate_marks_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn blocks_sorted_by_time_with_their_rows() {
        let rows = b"2024-05-01 10:00:02 high   outbound  10.0.0.1        c2   destination.ip 192.0.2.1\n\
                     \x20\x20+                  high   outbound  10.0.0.1        tor  destination.ip 192.0.2.1\n\
                     2024-05-01 09:59:59 low    outbound  10.0.0.2        c2   dns.question.name evil.example\n\
                     2024-05-01 10:00:02 medium inbound   10.0.0.3        c2   source.ip 198.51.100.1\n";
        let blocks: Vec<String> = sorted_blocks(rows)
            .into_iter()
            .map(|block| String::from_utf8_lossy(block).into_owned())
            .collect();
        assert_eq!(blocks.len(), 3);
        assert!(blocks[0].starts_with("2024-05-01 09:59:59 low"), "{blocks:?}");
        assert!(blocks[1].starts_with("2024-05-01 10:00:02 high"), "{blocks:?}");
        assert!(blocks[1].contains("\n  +"), "{blocks:?}");
        assert!(blocks[2].starts_with("2024-05-01 10:00:02 medium"), "{blocks:?}");
    }

    #[test]
    fn held_rows_written_once_in_order() {
        let mut order = TimeOrder::default();
        let mut out = Vec::new();
        order.add(b"2024-05-01 10:00:02 b\n", &mut out).unwrap();
        order.add(b"2024-05-01 10:00:01 a\n", &mut out).unwrap();
        assert!(out.is_empty());
        order.finish(&mut out).unwrap();
        assert_eq!(out, b"2024-05-01 10:00:01 a\n2024-05-01 10:00:02 b\n");
    }
}
