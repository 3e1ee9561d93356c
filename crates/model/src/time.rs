//! Event timestamps as logs write them.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Parses a log timestamp: epoch seconds with an optional fraction (Zeek),
/// RFC 3339, or ISO 8601 with a `+0000`-style offset (Suricata). Returns
/// the instant in UTC, or `None` for any other text.
pub fn parse_timestamp(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    if raw.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_epoch(raw);
    }
    if !raw.is_ascii() {
        return None;
    }
    if let Ok(parsed) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(parsed.to_offset(UtcOffset::UTC));
    }
    // Suricata writes the offset without a colon: 2024-05-01T10:00:00.000000+0000.
    let bytes = raw.as_bytes();
    if bytes.len() > 5 && matches!(bytes[bytes.len() - 5], b'+' | b'-') {
        let (head, offset) = raw.split_at(raw.len() - 2);
        let fixed = format!("{head}:{offset}");
        return OffsetDateTime::parse(&fixed, &Rfc3339)
            .ok()
            .map(|t| t.to_offset(UtcOffset::UTC));
    }
    None
}

/// Parses an expiry date as feeds write it: anything [`parse_timestamp`]
/// reads, a date alone (`2030-01-01`, the start of that day), or a date
/// and time with a space and no offset (`2030-01-01 12:00:00`). Times
/// without an offset are UTC.
pub fn parse_expiry(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    if let Some(parsed) = parse_timestamp(raw) {
        return Some(parsed);
    }
    let date_only = format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(raw, date_only) {
        return Some(date.midnight().assume_utc());
    }
    let spaced = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(raw, spaced)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Maximum duration that [`parse_duration`] accepts: 100 years of 365.25
/// days, as `humantime` counts a year. Added to the present, a longer one
/// could pass the last time the store can hold.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(100 * 31_557_600);

/// Parses a duration such as `90s`, `15m`, `1h`, `7d` or `1h 30m`.
///
/// # Errors
///
/// A message that quotes the text and shows the accepted forms, also for
/// a zero duration and one over [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|_| {
        format!("invalid duration {text:?}; write a number with a unit, such as 30s, 15m, 1h or 7d")
    })?;
    if duration.is_zero() {
        return Err(format!("{text:?} is zero; give a positive duration such as 1h"));
    }
    if duration > MAX_DURATION {
        return Err(format!("{text:?} is over 100 years; give a shorter duration"));
    }
    Ok(duration)
}

fn parse_epoch(raw: &str) -> Option<OffsetDateTime> {
    let (secs, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (index, digit) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(digit - b'0') * 10_i64.pow(8 - index as u32);
    }
    let total = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    OffsetDateTime::from_unix_timestamp_nanos(total).ok()
}

/// Formats an instant as RFC 3339 in UTC with microseconds, the form
/// alert documents use for `@timestamp`.
pub fn format_timestamp(instant: OffsetDateTime) -> String {
    let utc = instant.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.microsecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_forms() {
        let rows = [
            ("1714557600.5", "2024-05-01T10:00:00.500000Z"),
            ("1714557600", "2024-05-01T10:00:00.000000Z"),
            ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000000Z"),
            ("2024-05-01T12:00:00.25+02:00", "2024-05-01T10:00:00.250000Z"),
            ("2024-05-01T10:00:00.000000+0000", "2024-05-01T10:00:00.000000Z"),
            ("2024-05-01T05:00:00.000000-0500", "2024-05-01T10:00:00.000000Z"),
        ];
        for (raw, expected) in rows {
            let parsed = parse_timestamp(raw).unwrap_or_else(|| panic!("{raw:?} did not parse"));
            assert_eq!(format_timestamp(parsed), expected, "{raw:?}");
        }
    }

    #[test]
    fn timestamp_rejects_text() {
        assert_eq!(parse_timestamp("1.2.3"), None);
        assert_eq!(parse_timestamp("2024-01-01T00:00:00+0€"), None);
        assert_eq!(parse_timestamp("€€€€€€"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("-"), None);
    }
}
