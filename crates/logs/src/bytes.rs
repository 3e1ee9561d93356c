//! Byte searches for lines that hold a wanted byte every few bytes, where
//! one `memchr` call per hit costs more than it saves. They test eight
//! bytes at a time in a `u64` (SWAR), in safe code.

/// `0x7f` in every byte.
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

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
}
