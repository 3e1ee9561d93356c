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

impl LineText {
    /// Returns the line as a [`Line`] borrowed from `self`.
    pub(crate) fn as_line(&self) -> Line<'_> {
        match self {
            Self::Text(text) => Line::Text(text),
            Self::TooLong(start) => Line::TooLong(start),
        }
    }
}

/// One line of input, borrowed from the [`LineReader`] or a [`LineText`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Line<'a> {
    /// The text; invalid UTF-8 sequences are replaced with U+FFFD.
    Text(&'a str),
    /// A line over [`MAX_LINE_BYTES`], with the start of its text.
    TooLong(&'a str),
}

/// Location of the text of the current line of a [`LineReader`].
#[derive(Debug, Clone, Copy)]
enum Current {
    /// In `text`, at this byte range.
    Text(usize, usize),
    /// In `repaired`: text with replacement characters.
    Repaired,
    /// In `repaired`: the start of a line over [`MAX_LINE_BYTES`].
    TooLong,
}

/// Splits a reader into numbered text lines.
///
/// After the first line, the complete lines in the reader's buffer are
/// read as one block when they are valid UTF-8 without NUL bytes, the
/// usual case. The block is checked and copied once into a reused buffer,
/// and each line is borrowed from it. Other lines are read one at a time.
pub(crate) struct LineReader<R> {
    reader: R,
    number: u64,
    total: u64,
    /// The bytes of the line being read. Its allocation moves to `text`
    /// when the line is valid UTF-8, and back for the next line.
    buffer: Vec<u8>,
    /// The current line with its terminator, when it is valid UTF-8, or
    /// a block of lines, each with its terminator.
    text: String,
    /// Start of the next line of the block in `text`.
    cursor: usize,
    /// End of the block in `text`, or 0 without a block.
    block_end: usize,
    /// The current line when it needed repair or was cut.
    repaired: String,
    current: Current,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader,
            number: 0,
            total: 0,
            buffer: Vec::new(),
            text: String::new(),
            cursor: 0,
            block_end: 0,
            repaired: String::new(),
            current: Current::Text(0, 0),
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
    /// As [`LineReader::advance`].
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, LineText)>, IntelErrorKind> {
        let Some(number) = self.advance()? else {
            return Ok(None);
        };
        let line = match self.line() {
            Line::Text(text) => LineText::Text(text.to_owned()),
            Line::TooLong(start) => LineText::TooLong(start.to_owned()),
        };
        Ok(Some((number, line)))
    }

    /// Returns the line that the last successful [`LineReader::advance`]
    /// read.
    pub(crate) fn line(&self) -> Line<'_> {
        match self.current {
            // The range lies on character boundaries, since it only leaves
            // out a byte order mark and a line terminator, so the empty
            // fallback is never taken.
            Current::Text(start, end) => Line::Text(self.text.get(start..end).unwrap_or_default()),
            Current::Repaired => Line::Text(&self.repaired),
            Current::TooLong => Line::TooLong(&self.repaired),
        }
    }

    /// Reads the next line, which [`LineReader::line`] then returns, and
    /// returns its 1-based number, or `None` at the end.
    ///
    /// # Errors
    ///
    /// Read and decompression failures, content that is not text (UTF-16,
    /// a NUL byte on the first line, another archive format) and input over
    /// [`MAX_INPUT_BYTES`].
    pub(crate) fn advance(&mut self) -> Result<Option<u64>, IntelErrorKind> {
        if self.next_in_block() || (self.number > 0 && self.read_block()? && self.next_in_block()) {
            return Ok(Some(self.number));
        }
        self.block_end = 0;
        let number = self.number + 1;
        let read_error = |error| IntelErrorKind::Read { line: number, error };
        if self.buffer.capacity() == 0 {
            self.buffer = std::mem::take(&mut self.text).into_bytes();
        }
        self.buffer.clear();
        // Most lines lie whole in the reader's buffer: one search finds
        // their end and one copy takes them. Others are read up to the
        // size limit.
        let available = self.reader.fill_buf().map_err(read_error)?;
        let read = match memchr::memchr(b'\n', available) {
            Some(end) if end < MAX_LINE_BYTES => {
                self.buffer.extend_from_slice(&available[..=end]);
                self.reader.consume(end + 1);
                end + 1
            }
            _ => {
                let limit = MAX_LINE_BYTES as u64 + 1;
                (&mut self.reader)
                    .take(limit)
                    .read_until(b'\n', &mut self.buffer)
                    .map_err(read_error)?
            }
        };
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

        let mut start = 0;
        if number == 1 {
            check_text_start(&self.buffer)?;
            if self.buffer.starts_with(b"\xEF\xBB\xBF") {
                start = 3;
            }
        }
        // A NUL on the first line means a binary or UTF-16 file. Later, it
        // is a damaged line: the NUL becomes U+FFFD so that the value is
        // rejected with its line number and the rest of the file loads.
        if number == 1 && memchr::memchr(0, &self.buffer[start..]).is_some() {
            return Err(IntelErrorKind::NotText(
                "line 1 contains a NUL byte, so the file is binary or UTF-16 text".to_owned(),
            ));
        }
        let mut end = self.buffer.len();
        if self.buffer[start..end].ends_with(b"\n") {
            end -= 1;
        }
        if self.buffer[start..end].ends_with(b"\r") {
            end -= 1;
        }
        if !too_long && memchr::memchr(0, &self.buffer[start..end]).is_none() {
            match String::from_utf8(std::mem::take(&mut self.buffer)) {
                Ok(text) => {
                    self.text = text;
                    self.current = Current::Text(start, end);
                    return Ok(Some(number));
                }
                Err(error) => self.buffer = error.into_bytes(),
            }
        }
        let bytes = &self.buffer[start..end];
        let mut text = String::from_utf8_lossy(bytes);
        if text.contains('\0') {
            text = std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"));
        }
        self.repaired.clear();
        if too_long {
            self.repaired.push_str(&excerpt(&text));
            self.current = Current::TooLong;
        } else {
            self.repaired.push_str(&text);
            self.current = Current::Repaired;
        }
        Ok(Some(number))
    }

    /// Makes the next line of the block the current line. Returns false
    /// when the block has no line left.
    fn next_in_block(&mut self) -> bool {
        let Some(rest) = self.text.as_bytes().get(self.cursor..self.block_end) else {
            return false;
        };
        // Every line of a block ends with a newline.
        let Some(length) = memchr::memchr(b'\n', rest) else {
            return false;
        };
        let start = self.cursor;
        let end = if rest[..length].ends_with(b"\r") {
            start + length - 1
        } else {
            start + length
        };
        self.cursor = start + length + 1;
        self.number += 1;
        self.current = Current::Text(start, end);
        true
    }

    /// Copies the complete lines in the reader's buffer into `text` as a
    /// block when they are valid UTF-8 without NUL bytes. Returns false,
    /// with nothing read, when there are none or they are not.
    fn read_block(&mut self) -> Result<bool, IntelErrorKind> {
        let number = self.number + 1;
        let available = self
            .reader
            .fill_buf()
            .map_err(|error| IntelErrorKind::Read { line: number, error })?;
        // Lines within the first MAX_LINE_BYTES are within the line limit.
        let window = &available[..available.len().min(MAX_LINE_BYTES)];
        let Some(last) = memchr::memrchr(b'\n', window) else {
            return Ok(false);
        };
        let lines = &available[..=last];
        if memchr::memchr(0, lines).is_some() {
            return Ok(false);
        }
        let Ok(lines) = std::str::from_utf8(lines) else {
            return Ok(false);
        };
        self.text.clear();
        self.text.push_str(lines);
        let length = lines.len();
        self.reader.consume(length);
        self.cursor = 0;
        self.block_end = length;
        self.add_to_total(length as u64)?;
        Ok(true)
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
    fn borrowed_lines_between_repaired_ones() {
        let input = b"\xEF\xBB\xBFfirst\r\ncaf\xE9\nclean\nnul\x00\n\nlast";
        let mut reader = LineReader::new(&input[..]);
        let mut lines = Vec::new();
        while let Some(number) = reader.advance().unwrap() {
            let Line::Text(text) = reader.line() else {
                panic!("line {number} is not text");
            };
            lines.push((number, text.to_owned()));
        }
        let expected = [
            (1, "first"),
            (2, "caf\u{FFFD}"),
            (3, "clean"),
            (4, "nul\u{FFFD}"),
            (5, ""),
            (6, "last"),
        ];
        let expected: Vec<(u64, String)> = expected.iter().map(|(n, t)| (*n, (*t).to_owned())).collect();
        assert_eq!(lines, expected);
    }

    /// Splits `input` into lines as a plain split does, to compare the
    /// reader against.
    fn split_lines(input: &[u8]) -> Vec<String> {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let input = input.strip_suffix(b"\n").unwrap_or(input);
        if input.is_empty() {
            return Vec::new();
        }
        input
            .split(|&byte| byte == b'\n')
            .map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                String::from_utf8_lossy(line).replace('\0', "\u{fffd}")
            })
            .collect()
    }

    #[test]
    fn block_lines_match_plain_split() {
        let pieces: [&[u8]; 9] = [
            b"evil.example",
            b"198.51.100.7\r",
            b"",
            b"caf\xE9",
            b"nul\x00byte",
            b"h\xC3\xA9llo",
            b"44d88612fea8a8f36de82e1278abb02f",
            b"# comment",
            b"\r",
        ];
        let mut seed = 7_u64;
        for round in 0..200 {
            let mut input = b"first\n".to_vec();
            for _ in 0..(round % 40) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                input.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
                input.push(b'\n');
            }
            if round % 3 == 0 {
                input.extend_from_slice(b"last");
            }
            let expected = split_lines(&input);
            for capacity in [8, 13, 64, 4096] {
                let mut reader = LineReader::new(std::io::BufReader::with_capacity(capacity, &input[..]));
                let mut lines = Vec::new();
                while let Some(number) = reader.advance().unwrap() {
                    let Line::Text(text) = reader.line() else {
                        panic!("line {number} is not text");
                    };
                    assert_eq!(number, lines.len() as u64 + 1);
                    lines.push(text.to_owned());
                }
                assert_eq!(lines, expected, "round {round}, capacity {capacity}");
            }
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
    fn lines_across_small_buffers_agree() {
        let mut input = b"\xEF\xBB\xBFfirst\r\ncaf\xE9\n\nnul\x00x\n".to_vec();
        for length in [1, 6, 7, 8, 15, 16, 17, 40] {
            input.extend(std::iter::repeat_n(b'a' + (length % 26) as u8, length));
            input.push(b'\n');
        }
        input.extend(b"no newline at the end");
        let expected = read_all(&input).unwrap();
        for capacity in [1, 2, 7, 8, 16, 64] {
            let mut reader = LineReader::new(std::io::BufReader::with_capacity(capacity, &input[..]));
            let mut lines = Vec::new();
            while let Some((number, line)) = reader.next_line().unwrap() {
                let LineText::Text(text) = line else {
                    panic!("line {number} is too long");
                };
                lines.push((number, text));
            }
            assert_eq!(lines, expected, "buffer of {capacity} bytes");
        }
    }

    #[test]
    fn excerpt_cuts_long_text() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(EXCERPT_CHARS + 5);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
    }
}
