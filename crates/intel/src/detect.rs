//! Format detection from the first lines of a watchlist.

use std::io::BufRead;

use crate::error::IntelErrorKind;
use crate::formats::csv::looks_like_header;
use crate::formats::jsonl::looks_like_json_object;
use crate::lines::{LineReader, LineText};
use crate::load::IntelFormat;

/// Maximum number of leading comment and blank lines read before the
/// format is decided.
const PRELUDE_MAX_LINES: usize = 512;

/// Reads the leading comment and blank lines and the first other line,
/// at most [`PRELUDE_MAX_LINES`] lines in all.
pub(crate) fn read_prelude<R: BufRead>(
    lines: &mut LineReader<R>,
) -> Result<Vec<(u64, LineText)>, IntelErrorKind> {
    let mut prelude = Vec::new();
    while prelude.len() < PRELUDE_MAX_LINES {
        let Some((number, line)) = lines.next_line()? else {
            break;
        };
        let is_content = matches!(&line, LineText::Text(text) if !is_comment_or_blank(text));
        prelude.push((number, line));
        if is_content {
            break;
        }
    }
    Ok(prelude)
}

fn is_comment_or_blank(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.is_empty() || trimmed.starts_with(['#', ';', '!'])
}

/// Decides the format from the prelude. A `#fields` line with an
/// `indicator` column means Zeek intel. A first content line that is a
/// whole JSON object means JSON lines. A CSV header, in a `#` comment or
/// on the first other line, means CSV. Otherwise a `.csv` extension
/// (`by_extension`) means CSV, and anything else is a plain list.
pub(crate) fn detect_format(
    prelude: &[(u64, LineText)],
    by_extension: Option<IntelFormat>,
    column: Option<&str>,
) -> IntelFormat {
    let texts = prelude.iter().filter_map(|(_, line)| match line {
        LineText::Text(text) => Some(text.trim()),
        LineText::TooLong(_) => None,
    });
    let texts: Vec<&str> = texts.collect();

    if texts.iter().any(|text| is_zeek_fields_line(text)) {
        return IntelFormat::ZeekIntel;
    }
    let first_content = texts.iter().find(|text| !is_comment_or_blank(text));
    if first_content.is_some_and(|text| looks_like_json_object(text)) {
        return IntelFormat::JsonLines;
    }
    for text in &texts {
        let header = match text.strip_prefix('#') {
            Some(comment) => looks_like_header(comment.trim_start_matches('#'), column, true),
            None => !is_comment_or_blank(text) && looks_like_header(text, column, false),
        };
        if header {
            return IntelFormat::Csv;
        }
    }
    match by_extension {
        Some(IntelFormat::Csv) => IntelFormat::Csv,
        _ => IntelFormat::Plain,
    }
}

/// Returns the `#path` of a Zeek log (or `unnamed` without one) when the
/// prelude is a Zeek log header: a `#separator` line and a `#fields` line
/// without an `indicator` column.
pub(crate) fn zeek_log_path(prelude: &[(u64, LineText)]) -> Option<String> {
    let mut separator = false;
    let mut fields = false;
    let mut path = None;
    for (_, line) in prelude {
        let LineText::Text(text) = line else {
            continue;
        };
        separator |= text.starts_with("#separator");
        fields |= text.starts_with("#fields") && !is_zeek_fields_line(text);
        if let Some(name) = text.strip_prefix("#path") {
            path = Some(name.trim().to_owned());
        }
    }
    (separator && fields).then(|| {
        path.filter(|name| !name.is_empty())
            .unwrap_or_else(|| "unnamed".to_owned())
    })
}

fn is_zeek_fields_line(text: &str) -> bool {
    text.strip_prefix("#fields")
        .is_some_and(|rest| rest.split(['\t', ' ']).any(|name| name == "indicator"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn detect(text: &str, by_extension: Option<IntelFormat>) -> IntelFormat {
        let mut lines = LineReader::new(text.as_bytes());
        let prelude = read_prelude(&mut lines).unwrap();
        detect_format(&prelude, by_extension, None)
    }

    #[test]
    fn detection_table() {
        let rows = [
            (
                "#separator \\x09\n#fields\tindicator\tindicator_type\n",
                IntelFormat::ZeekIntel,
            ),
            (
                "#fields\tindicator\tindicator_type\tmeta.source\n1.2.3.4\tIntel::ADDR\tx\n",
                IntelFormat::ZeekIntel,
            ),
            (
                "#\n# ja3_md5,Firstseen,Lastseen,Listingreason\nb386946a5a44d1ddcc843bc75336dfce,a,b,c\n",
                IntelFormat::Csv,
            ),
            (
                "# \"first_seen_utc\", \"ioc_id\", \"ioc_value\"\n",
                IntelFormat::Csv,
            ),
            (
                "####\n#\n\"first_seen_utc\",\"dst_ip\",\"malware\"\n",
                IntelFormat::Csv,
            ),
            ("\u{feff}SHA1,ListingReason\n", IntelFormat::Csv),
            ("domain,description\n198.51.100.9,x\n", IntelFormat::Csv),
            ("# Title: list\n# Source: x\nevil.example\n", IntelFormat::Plain),
            ("1.10.16.0/20 ; SBL256894\n", IntelFormat::Plain),
            ("; comment\n\n$TTL 30\n", IntelFormat::Plain),
            ("", IntelFormat::Plain),
            ("{\"indicator\": \"evil.example\"}\n", IntelFormat::JsonLines),
            (
                "# export\n{\"ioc\": \"198.51.100.7\", \"type\": \"ip\"}\n",
                IntelFormat::JsonLines,
            ),
            ("{\n  \"type\": \"bundle\"\n}\n", IntelFormat::Plain),
        ];
        for (text, expected) in rows {
            assert_eq!(detect(text, None), expected, "{text:?}");
        }
    }

    #[test]
    fn csv_extension_used_without_header() {
        assert_eq!(detect("a,b\n", Some(IntelFormat::Csv)), IntelFormat::Csv);
        assert_eq!(
            detect("evil.example\n", Some(IntelFormat::ZeekIntel)),
            IntelFormat::Plain
        );
    }

    #[test]
    fn prelude_stops_at_first_content_line() {
        let mut lines = LineReader::new("# a\n\n; b\nfirst\nsecond\n".as_bytes());
        let prelude = read_prelude(&mut lines).unwrap();
        assert_eq!(prelude.len(), 4);
        assert_eq!(prelude[3].0, 4);
    }
}
