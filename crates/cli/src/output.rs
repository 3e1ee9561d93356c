//! Text output helpers shared by the store commands: aligned tables and
//! short timestamps.

use std::time::Duration;

use time::OffsetDateTime;

/// Formats an instant as `2024-05-01 10:00:00Z`.
pub fn short_time(instant: OffsetDateTime) -> String {
    let full = iocwatch_model::time::format_timestamp(instant);
    // `format_timestamp` writes 2024-05-01T10:00:00.000000Z.
    format!("{} {}Z", &full[..10], &full[11..19])
}

/// Formats a duration as humantime writes it (`30days`, `1h`).
pub fn duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Prints rows under a header, each column padded to its widest cell.
/// The last column is not padded.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (index, cell) in cells.into_iter().enumerate() {
            if index == last {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[index]));
            }
        }
        println!("{}", text.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
