//! Line framing shared by every format: byte order mark, CRLF, a last line
//! without newline, invalid UTF-8 and the size limits.

use std::io::{BufRead, Read};

use crate::error::IntelErrorKind;

/// Maximum number of bytes read from one watchlist, after decompression.
///
/// The limit keeps a gzip bomb or a wrongly chosen file from exhausting
/// memory. It is far above real feeds: the complete MalwareBazaar SHA-256
/// list, about a million lines, is under 100 MB.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Maximum length of one line in bytes. A longer line is rejected and
/// skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Number of characters of a rejected value or line kept in the report.
const EXCERPT_CHARS: usize = 200;

/// One line of input, without its line terminator.
#[derive(Debug)]
pub(crate) enum LineText {
    /// The text; invalid UTF-8 sequences are replaced with U+FFFD.
    Text(String),
    /// A line over [`MAX_LINE_BYTES`], with the start of its text.
    TooLong(String),
}

/// Splits a reader into numbered text lines.
pub(crate) struct LineReader<R> {
    reader: R,
    number: u64,
    total: u64,
    buffer: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader,
            number: 0,
            total: 0,
            buffer: Vec::new(),
        }
    }

    /// Returns the number of lines read so far.
    pub(crate) fn count(&self) -> u64 {
        self.number
    }

    /// Reads the next line with its 1-based number, or `None` at the end.
    ///
    /// # Errors
    ///
    /// Read and decompression failures, content that is not text (UTF-16,
    /// a NUL byte on the first line, another archive format) and input over
    /// [`MAX_INPUT_BYTES`].
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, LineText)>, IntelErrorKind> {
        let number = self.number + 1;
        let read_error = |error| IntelErrorKind::Read { line: number, error };
        self.buffer.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
            .map_err(read_error)?;
        if read == 0 {
            return Ok(None);
        }
        self.number = number;
        self.add_to_total(read as u64)?;

        let too_long = self.buffer.len() > MAX_LINE_BYTES && !self.buffer.ends_with(b"\n");
        if too_long {
            let skipped = self.reader.skip_until(b'\n').map_err(read_error)?;
            self.add_to_total(skipped as u64)?;
        }

        let mut bytes = self.buffer.as_slice();
        if number == 1 {
            check_text_start(bytes)?;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        // A NUL on the first line means a binary or UTF-16 file. Later, it
        // is a damaged line: the NUL becomes U+FFFD so that the value is
        // rejected with its line number and the rest of the file loads.
        if number == 1 && bytes.contains(&0) {
            return Err(IntelErrorKind::NotText(
                "line 1 contains a NUL byte, so the file is binary or UTF-16 text".to_owned(),
            ));
        }
        bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let mut text = String::from_utf8_lossy(bytes);
        if text.contains('\0') {
            text = std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"));
        }

        let line = if too_long {
            LineText::TooLong(excerpt(&text))
        } else {
            LineText::Text(text.into_owned())
        };
        Ok(Some((number, line)))
    }

    fn add_to_total(&mut self, bytes: u64) -> Result<(), IntelErrorKind> {
        self.total += bytes;
        if self.total > MAX_INPUT_BYTES {
            return Err(IntelErrorKind::TooLarge { max: MAX_INPUT_BYTES });
        }
        Ok(())
    }
}

/// Rejects content whose first bytes show that it is not UTF-8 text.
fn check_text_start(bytes: &[u8]) -> Result<(), IntelErrorKind> {
    let reason = if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        "it starts with a UTF-16 byte order mark; convert it to UTF-8"
    } else if bytes.starts_with(b"\xFD7zXZ\x00") {
        "it is xz-compressed; decompress it first (gzip is read directly)"
    } else if bytes.starts_with(b"\x28\xB5\x2F\xFD") {
        "it is zstd-compressed; decompress it first (gzip is read directly)"
    } else if bytes.starts_with(b"PK\x03\x04") {
        "it is a zip archive; extract the watchlist first"
    } else if bytes.len() >= 10 && bytes.starts_with(b"BZh") && &bytes[4..10] == b"1AY&SY" {
        "it is bzip2-compressed; decompress it first (gzip is read directly)"
    } else {
        return Ok(());
    };
    Err(IntelErrorKind::NotText(reason.to_owned()))
}

/// Returns the start of `text` for reports, marking a cut with an ellipsis.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Result<Vec<(u64, String)>, IntelErrorKind> {
        let mut reader = LineReader::new(input);
        let mut lines = Vec::new();
        while let Some((number, line)) = reader.next_line()? {
            let text = match line {
                LineText::Text(text) => text,
                LineText::TooLong(start) => format!("TOO LONG: {}", start.chars().count()),
            };
            lines.push((number, text));
        }
        Ok(lines)
    }

    fn texts(input: &[u8]) -> Vec<String> {
        read_all(input)
            .unwrap()
            .into_iter()
            .map(|(_, text)| text)
            .collect()
    }

    #[test]
    fn line_endings_table() {
        let rows: [(&[u8], &[&str]); 6] = [
            (b"a\nb\n", &["a", "b"]),
            (b"a\r\nb\r\n", &["a", "b"]),
            (b"a\nb", &["a", "b"]),
            (b"a\r\nb\r", &["a", "b"]),
            (b"\xEF\xBB\xBFa\nb", &["a", "b"]),
            (b"", &[]),
        ];
        for (input, expected) in rows {
            assert_eq!(texts(input), expected, "{input:?}");
        }
    }

    #[test]
    fn bom_only_stripped_on_first_line() {
        assert_eq!(texts(b"a\n\xEF\xBB\xBFb"), ["a", "\u{feff}b"]);
    }

    #[test]
    fn line_numbers_count_blank_lines() {
        let lines = read_all(b"a\n\n\nb").unwrap();
        assert_eq!(
            lines,
            [
                (1, "a".to_owned()),
                (2, String::new()),
                (3, String::new()),
                (4, "b".to_owned())
            ]
        );
    }

    #[test]
    fn invalid_utf8_replaced() {
        assert_eq!(texts(b"caf\xE9\nok"), ["caf\u{FFFD}", "ok"]);
    }

    #[test]
    fn non_text_starts_rejected() {
        let rows: [&[u8]; 5] = [
            b"\xFF\xFEa\x00",
            b"\xFD7zXZ\x00\x00",
            b"PK\x03\x04rest",
            b"\x28\xB5\x2F\xFDrest",
            b"BZh91AY&SYrest",
        ];
        for input in rows {
            let result = read_all(input);
            assert!(
                matches!(result, Err(IntelErrorKind::NotText(_))),
                "{input:?}: {result:?}"
            );
        }
    }

    #[test]
    fn nul_byte_on_first_line_fails() {
        let error = read_all(b"a\x00b\nc\n").unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn nul_byte_later_replaced() {
        let lines = read_all(b"a\nb\x00c\nd\n").unwrap();
        assert_eq!(lines[1], (2, "b\u{fffd}c".to_owned()));
        assert_eq!(lines[2], (3, "d".to_owned()));
    }

    #[test]
    fn long_line_skipped_and_counted() {
        let mut input = b"first\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        input.extend(b"\nlast\n");
        let lines = read_all(&input).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].1, format!("TOO LONG: {}", EXCERPT_CHARS + 1));
        assert_eq!(lines[2], (3, "last".to_owned()));
    }

    #[test]
    fn line_at_limit_kept() {
        let mut input = vec![b'x'; MAX_LINE_BYTES];
        input.push(b'\n');
        let lines = read_all(&input).unwrap();
        assert_eq!(lines[0].1.len(), MAX_LINE_BYTES);
    }

    #[test]
    fn excerpt_cuts_long_text() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(EXCERPT_CHARS + 5);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
    }
}
