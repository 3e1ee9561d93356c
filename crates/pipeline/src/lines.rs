//! Splitting a byte stream into lines without copying each line.

use std::io::{self, Read};

/// Maximum line length accepted, in bytes. A longer line is skipped and
/// reported as malformed rather than growing the buffer without bound.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

const BUFFER: usize = 1024 * 1024;

/// One line from a [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line without its `\n` (a trailing `\r` is kept).
    Text {
        /// The line's bytes.
        bytes: &'a [u8],
        /// Byte offset of the line's first byte in the stream.
        offset: u64,
    },
    /// A line longer than [`MAX_LINE`], skipped.
    TooLong {
        /// Byte offset of the line's first byte in the stream.
        offset: u64,
        /// Number of bytes skipped, with the line's `\n` when it has one.
        length: u64,
    },
}

/// Reads lines from a stream into a reusable buffer.
pub struct LineReader<R> {
    inner: R,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buffer[0]`.
    base: u64,
    eof: bool,
    /// Bytes still to be read from `inner`, when the stream is a range.
    limit: Option<u64>,
    /// Newlines located but not yet returned, one bit per byte from
    /// `buffer[newlines_at]`. They are the only newlines between `start`
    /// and `located`.
    newlines: u64,
    /// Position in `buffer` of the byte that bit 0 of `newlines` marks.
    newlines_at: usize,
    /// End of the part of `buffer` searched for newlines.
    located: usize,
    /// Whether the latest line was shorter than [`SHORT_LINE`].
    short_lines: bool,
}

/// Length under which a line counts as short, in bytes. Locating
/// newlines 64 bytes at a time took fewer instructions than one search per
/// line on Zeek TSV lines of about 130 bytes, and more on EVE lines of
/// about 630. The limit between them is an estimate.
const SHORT_LINE: usize = 256;

impl<R: Read> LineReader<R> {
    /// Creates a reader over the whole of `inner`, whose first byte is at stream
    /// offset `base`.
    pub fn new(inner: R, base: u64) -> Self {
        Self {
            inner,
            buffer: vec![0; BUFFER],
            start: 0,
            end: 0,
            base,
            eof: false,
            limit: None,
            newlines: 0,
            newlines_at: 0,
            located: 0,
            short_lines: true,
        }
    }

    /// Creates a reader that stops after `limit` bytes of `inner` (then yields the
    /// last, possibly unterminated, line).
    pub fn with_limit(inner: R, base: u64, limit: u64) -> Self {
        let mut reader = Self::new(inner, base);
        reader.limit = Some(limit);
        reader
    }

    /// Reads the next line, or returns `None` at the end of the stream.
    ///
    /// # Errors
    ///
    /// An I/O error from the underlying reader.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        let mut skipping: Option<u64> = None;
        loop {
            if let Some(line_end) = self.next_newline() {
                let line_start = self.start;
                self.start = line_end + 1;
                self.short_lines = line_end - line_start < SHORT_LINE;
                let offset = self.base + line_start as u64;
                if let Some(offset) = skipping {
                    let length = self.base + line_end as u64 + 1 - offset;
                    return Ok(Some(Line::TooLong { offset, length }));
                }
                return Ok(Some(Line::Text {
                    bytes: &self.buffer[line_start..line_end],
                    offset,
                }));
            }
            if self.eof {
                let stream_end = self.base + self.end as u64;
                if self.start == self.end {
                    return Ok(skipping.map(|offset| Line::TooLong {
                        offset,
                        length: stream_end - offset,
                    }));
                }
                let line_start = self.start;
                self.start = self.end;
                let offset = self.base + line_start as u64;
                if let Some(offset) = skipping {
                    return Ok(Some(Line::TooLong {
                        offset,
                        length: stream_end - offset,
                    }));
                }
                return Ok(Some(Line::Text {
                    bytes: &self.buffer[line_start..self.end],
                    offset,
                }));
            }
            // Move the partial line to the front, growing the buffer when
            // the line fills it.
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buffer.len() {
                if self.buffer.len() >= MAX_LINE {
                    // Drop what is buffered and keep reading to the newline.
                    skipping.get_or_insert(self.base);
                    self.base += self.end as u64;
                    self.end = 0;
                } else {
                    let grown = (self.buffer.len() * 2).min(MAX_LINE);
                    self.buffer.resize(grown, 0);
                }
            }
            // What is buffered has no newline.
            self.located = self.end;
            self.fill()?;
        }
    }

    /// Returns the position of the next newline in `buffer[start..end]`.
    /// After a short line, locates newlines 64 bytes at a time, because a
    /// search per line costs more than the line's bytes on short lines.
    /// After a long line, and for the last bytes, one search finds the end
    /// of the next line.
    #[inline]
    fn next_newline(&mut self) -> Option<usize> {
        loop {
            if self.newlines != 0 {
                let position = self.newlines_at + self.newlines.trailing_zeros() as usize;
                self.newlines &= self.newlines - 1;
                return Some(position);
            }
            let unsearched = self.buffer.get(self.located..self.end)?;
            match unsearched.first_chunk::<64>() {
                Some(chunk) if self.short_lines => {
                    self.newlines = iocwatch_logs::byte_mask(chunk, b'\n');
                    self.newlines_at = self.located;
                    self.located += 64;
                }
                _ => {
                    let position = self.located + memchr::memchr(b'\n', unsearched)?;
                    self.located = position + 1;
                    return Some(position);
                }
            }
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut room = self.buffer.len() - self.end;
        if let Some(limit) = self.limit {
            room = room.min(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        if room == 0 {
            self.eof = true;
            return Ok(());
        }
        let read = loop {
            match self.inner.read(&mut self.buffer[self.end..self.end + room]) {
                Ok(read) => break read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        if read == 0 {
            self.eof = true;
        }
        self.end += read;
        if let Some(limit) = self.limit.as_mut() {
            *limit -= read as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8]) -> Vec<(String, u64)> {
        let mut reader = LineReader::new(input, 0);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            match line {
                Line::Text { bytes, offset } => {
                    lines.push((String::from_utf8_lossy(bytes).into_owned(), offset))
                }
                Line::TooLong { offset, .. } => lines.push(("<too long>".to_owned(), offset)),
            }
        }
        lines
    }

    #[test]
    fn lines_and_offsets() {
        let lines = collect(b"ab\ncd\r\n\nlast");
        let expected = [("ab", 0), ("cd\r", 3), ("", 7), ("last", 8)];
        let expected: Vec<(String, u64)> = expected.iter().map(|(s, o)| ((*s).to_owned(), *o)).collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn final_newline_no_empty_line() {
        assert_eq!(collect(b"a\nb\n").len(), 2);
        assert!(collect(b"").is_empty());
    }

    #[test]
    fn lines_across_buffer_refills() {
        let mut input = Vec::new();
        for i in 0..200_000 {
            input.extend_from_slice(format!("line-{i}\n").as_bytes());
        }
        let lines = collect(&input);
        assert_eq!(lines.len(), 200_000);
        assert_eq!(lines[199_999].0, "line-199999");
        let offset = lines[150_000].1 as usize;
        assert!(input[offset..].starts_with(b"line-150000\n"));
    }

    /// Yields its bytes in reads of an uneven size.
    struct UnevenReads<'a> {
        rest: &'a [u8],
        size: usize,
    }

    impl Read for UnevenReads<'_> {
        fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
            let count = self.rest.len().min(into.len()).min(self.size);
            into[..count].copy_from_slice(&self.rest[..count]);
            self.rest = &self.rest[count..];
            Ok(count)
        }
    }

    #[test]
    fn lines_match_plain_split() {
        // Short and long lines of 0 to 699 bytes, some with a carriage
        // return, over three buffers, so that newlines fall at every
        // position of a 64-byte block and on both sides of each refill.
        let mut input = Vec::new();
        let mut expected = Vec::new();
        let mut length = 0;
        while input.len() < 3 * BUFFER {
            length = (length * 31 + 17) % 700;
            let offset = input.len() as u64;
            let text: String = (0..length)
                .map(|i| if i % 41 == 40 { '\r' } else { 'a' })
                .collect();
            input.extend_from_slice(text.as_bytes());
            input.push(b'\n');
            expected.push((text, offset));
        }
        input.extend_from_slice(b"unterminated");
        expected.push(("unterminated".to_owned(), (input.len() - 12) as u64));

        for size in [7919, 65_536, BUFFER] {
            let mut reader = LineReader::new(UnevenReads { rest: &input, size }, 0);
            let mut lines = Vec::new();
            while let Some(line) = reader.next_line().unwrap() {
                match line {
                    Line::Text { bytes, offset } => {
                        lines.push((String::from_utf8_lossy(bytes).into_owned(), offset))
                    }
                    Line::TooLong { offset, .. } => panic!("line at {offset} reported too long"),
                }
            }
            assert_eq!(lines.len(), expected.len(), "reads of {size}");
            assert!(lines == expected, "reads of {size}");
        }
    }

    #[test]
    fn long_line_grows_buffer() {
        let mut input = vec![b'x'; BUFFER * 3];
        input.extend_from_slice(b"\nnext\n");
        let lines = collect(&input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0.len(), BUFFER * 3);
        assert_eq!(lines[1], ("next".to_owned(), (BUFFER * 3 + 1) as u64));
    }

    #[test]
    fn too_long_lines_skipped_with_length() {
        let long = MAX_LINE + 5;
        let mut input = b"first\n".to_vec();
        input.resize(input.len() + long, b'x');
        input.extend_from_slice(b"\nnext\n");
        let last_start = input.len();
        input.resize(input.len() + long, b'y');

        let mut reader = LineReader::new(
            UnevenReads {
                rest: &input,
                size: 65_536,
            },
            0,
        );
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            match line {
                Line::Text { bytes, offset } => lines.push(format!("text {offset} {}", bytes.len())),
                Line::TooLong { offset, length } => lines.push(format!("too long {offset} {length}")),
            }
        }

        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], "text 0 5");
        // The newline of a skipped line counts as skipped.
        assert_eq!(lines[1], format!("too long 6 {}", long + 1));
        assert_eq!(lines[2], format!("text {} 4", 6 + long + 1));
        // The last line has no newline.
        assert_eq!(lines[3], format!("too long {last_start} {long}"));
    }

    #[test]
    fn limit_stops_reading() {
        let mut reader = LineReader::with_limit(&b"abc\ndef\nghi\n"[..], 0, 6);
        let mut count = 0;
        while reader.next_line().unwrap().is_some() {
            count += 1;
        }
        assert_eq!(count, 2);
    }
}
