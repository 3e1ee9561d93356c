//! Byte searches for lines that hold a wanted byte every few bytes, where
//! one `memchr` call per hit costs more than it saves. They test eight
//! bytes at a time in a `u64` (SWAR), in safe code.

/// `0x7f` in every byte.
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
/// `0x80` in every byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Returns `byte` in every byte of a word.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// Returns a word with `0x80` in each byte of `word` that is zero and `0`
/// in every other byte. Exact, unlike the shorter test that can flag the
/// byte after a zero byte.
#[inline]
fn zero_bytes(word: u64) -> u64 {
    !(((word & LOW7) + LOW7) | word | LOW7)
}

/// Calls `found` with the offset of every `needle` in `haystack`, in
/// order.
#[inline]
pub(crate) fn for_each_byte(haystack: &[u8], needle: u8, mut found: impl FnMut(usize)) {
    let pattern = splat(needle);
    let chunks = haystack.chunks_exact(8);
    let tail = chunks.remainder();
    for (index, chunk) in chunks.enumerate() {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            continue;
        };
        let mut hits = zero_bytes(u64::from_le_bytes(bytes) ^ pattern);
        while hits != 0 {
            found(index * 8 + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
    }
    let base = haystack.len() - tail.len();
    for (offset, &byte) in tail.iter().enumerate() {
        if byte == needle {
            found(base + offset);
        }
    }
}

/// Returns the offset of the first `"` at or after `start`: the end of a
/// JSON string without escapes. Returns `None` when there is none, or when
/// a backslash or a byte outside printable ASCII and DEL (a control byte,
/// a byte of UTF-8) comes first.
pub(crate) fn plain_string_end(text: &[u8], start: usize) -> Option<usize> {
    let quote = splat(b'"');
    let backslash = splat(b'\\');
    // Adding 0x60 to the low seven bits of a byte sets its high bit
    // unless the byte is below 0x20.
    let control_offset = splat(0x60);
    let mut position = start;
    while let Some(chunk) = text.get(position..position + 8) {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
        let special = zero_bytes(word ^ quote)
            | zero_bytes(word ^ backslash)
            | (word & HIGH)
            | (!((word & LOW7) + control_offset) & HIGH);
        if special != 0 {
            let at = position + (special.trailing_zeros() / 8) as usize;
            return (text.get(at) == Some(&b'"')).then_some(at);
        }
        position += 8;
    }
    for (offset, &byte) in text.get(position..)?.iter().enumerate() {
        match byte {
            b'"' => return Some(position + offset),
            b'\\' | 0..=0x1f | 0x80..=0xff => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_each_byte_finds_every_offset() {
        let mut text = Vec::new();
        for length in 0..40_usize {
            text.clear();
            text.extend((0..length).map(|i| {
                if i % 3 == 0 || i % 7 == 0 {
                    b'\t'
                } else {
                    b'a' + (i % 26) as u8
                }
            }));
            let expected: Vec<usize> = (0..length).filter(|i| text[*i] == b'\t').collect();
            let mut found = Vec::new();
            for_each_byte(&text, b'\t', |offset| found.push(offset));
            assert_eq!(found, expected, "length {length}");
        }
    }

    #[test]
    fn for_each_byte_beside_odd_bytes() {
        let text = [0, b',', 0x80, b',', 0xff, 0x2c ^ 0x80, b',', 1, b',', b','];
        let mut found = Vec::new();
        for_each_byte(&text, b',', |offset| found.push(offset));
        assert_eq!(found, [1, 3, 6, 8, 9]);
    }

    #[test]
    fn plain_string_end_stops_at_quote_or_rejects() {
        let line = br#"{"a":"b","long key name":"value with spaces","n":1}"#;
        let quotes: Vec<usize> = (0..line.len()).filter(|i| line[*i] == b'"').collect();
        for pair in quotes.chunks(2) {
            assert_eq!(plain_string_end(line, pair[0] + 1), Some(pair[1]));
        }
        assert_eq!(plain_string_end(b"\x7f\"", 0), Some(1));
        assert_eq!(plain_string_end(b"no end", 0), None);
        let string = b"\"a string of some length\" and more";
        for position in 1..24 {
            for bad in [b'\\', 0x00, 0x09, 0x1f, 0x80, 0xc3, 0xff] {
                let mut damaged = string.to_vec();
                damaged[position] = bad;
                assert_eq!(plain_string_end(&damaged, 1), None, "byte {bad:#x} at {position}");
            }
        }
        let mut after = string.to_vec();
        after[30] = 0xff;
        assert_eq!(plain_string_end(&after, 1), Some(24));
    }
}
