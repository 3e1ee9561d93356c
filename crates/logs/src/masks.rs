//! Bit masks of a line's bytes, built sixteen bytes at a time with vector
//! instructions through `wide` (SSE2 on x86-64, NEON on AArch64, plain
//! code elsewhere), in safe code. Bit `i % 64` of word `i / 64` stands for
//! byte `i`. A screen reads a line's quotes or separators from the masks
//! instead of testing its bytes one by one.

use wide::{i8x16, u8x16};

/// Bytes per vector.
const LANES: usize = 16;

/// Bytes per mask word.
const WORD: usize = 64;

/// Fills `words` with the positions of the `"` bytes of `text`, and
/// returns their number. Returns `None` when `text` has a byte that no
/// JSON screen accepts: a backslash, a control byte or a byte outside
/// ASCII.
pub(crate) fn quotes(text: &[u8], words: &mut Vec<u64>) -> Option<u32> {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let space = i8x16::splat(b' ' as i8);
    // The lanes of every opaque byte, checked once at the end.
    let mut opaque = u8x16::ZERO;
    // The quotes of the whole words, counted per lane: the compare sets a
    // quote's lane to 255, so subtracting it adds one. A lane wraps after
    // 255 quotes, which only a line of over 4 KiB can reach.
    let mut counts = u8x16::ZERO;
    let mut mark = |block: u8x16| {
        // Read as signed, a byte outside ASCII is negative, so one
        // compare finds it and the control bytes.
        let below_space: u8x16 = bytemuck::cast(space.simd_gt(bytemuck::cast::<u8x16, i8x16>(block)));
        opaque |= block.simd_eq(backslash) | below_space;
        block.simd_eq(quote)
    };
    words.clear();
    let (chunks, _) = text.as_chunks::<WORD>();
    for chunk in chunks {
        words.push(mask_word(chunk, |block| {
            let quotes = mark(block);
            counts -= quotes;
            quotes
        }));
    }
    let mut count: u32 = counts.to_array().iter().map(|&lane| u32::from(lane)).sum();
    // Spaces, which no mask looks for, pad a text shorter than a word.
    if let Some(word) = last_word(text, b' ', &mut mark) {
        count += word.count_ones();
        words.push(word);
    }
    (opaque.to_bitmask() == 0).then_some(count)
}

/// Returns the position of the first set bit at or after `from`.
#[inline(always)]
pub(crate) fn next_bit(words: &[u64], from: usize) -> Option<usize> {
    let mut index = from / 64;
    let mut word = words.get(index)? & (u64::MAX << (from % 64));
    loop {
        if word != 0 {
            return Some(index * 64 + word.trailing_zeros() as usize);
        }
        index += 1;
        word = *words.get(index)?;
    }
}

/// Pushes to `positions` the offsets of the first `needed` bytes of `line`
/// equal to `separator`, and returns how many `line` has in all.
pub(crate) fn separators(line: &[u8], separator: u8, needed: usize, positions: &mut Vec<usize>) -> usize {
    let pattern = u8x16::splat(separator);
    let mut total = 0;
    for_each_word(
        line,
        !separator,
        |block| block.simd_eq(pattern),
        |offset, word| {
            total += word.count_ones() as usize;
            let mut bits = word;
            while bits != 0 && positions.len() < needed {
                positions.push(offset + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        },
    );
    total
}

/// Calls `each` with the offset and the mask of every 64 bytes of
/// `text`. `mark` compares a block of sixteen bytes and returns the
/// lanes to mark.
///
/// The last word contains the bytes after the whole words. When `text` has
/// a whole word, the last 64 bytes are compared again and only the bits
/// of the new bytes kept, which avoids a copy. A shorter text is padded
/// with `padding`, a byte that `mark` leaves unmarked.
#[inline]
fn for_each_word(
    text: &[u8],
    padding: u8,
    mut mark: impl FnMut(u8x16) -> u8x16,
    mut each: impl FnMut(usize, u64),
) {
    let (chunks, _) = text.as_chunks::<WORD>();
    for (index, chunk) in chunks.iter().enumerate() {
        each(index * WORD, mask_word(chunk, &mut mark));
    }
    if let Some(word) = last_word(text, padding, mark) {
        each(chunks.len() * WORD, word);
    }
}

/// Returns the mask of the bytes of `text` after its whole words, as
/// [`for_each_word`] builds it, or `None` when there are none.
#[inline]
fn last_word(text: &[u8], padding: u8, mut mark: impl FnMut(u8x16) -> u8x16) -> Option<u64> {
    let tail = text.as_chunks::<WORD>().1;
    if tail.is_empty() {
        return None;
    }
    Some(match text.last_chunk::<WORD>() {
        Some(last) => mask_word(last, &mut mark) >> (WORD - tail.len()),
        None => {
            let mut padded = [padding; WORD];
            padded[..tail.len()].copy_from_slice(tail);
            mask_word(&padded, &mut mark)
        }
    })
}

/// Returns the mask of the bytes of `chunk` that `mark` marks.
#[inline]
fn mask_word(chunk: &[u8; WORD], mut mark: impl FnMut(u8x16) -> u8x16) -> u64 {
    let (blocks, _) = chunk.as_chunks::<LANES>();
    let mut word = 0_u64;
    for (index, block) in blocks.iter().enumerate() {
        word |= u64::from(mark(u8x16::new(*block)).to_bitmask()) << (index * LANES);
    }
    word
}

/// Returns the positions of the ASCII digits of `window`, bit `i` for
/// `window[i]`.
#[inline(always)]
pub(crate) fn digits(window: &[u8; 32]) -> u32 {
    let (low, high) = window.split_at(LANES);
    let nine = u8x16::splat(b'9');
    let zero = u8x16::splat(b'0');
    // A byte is a digit when `byte - '9'` and `'0' - byte`, both
    // saturating at zero, are zero.
    let half = |bytes: &[u8]| {
        let block = u8x16::new(bytes.try_into().unwrap_or([0; LANES]));
        (block.saturating_sub(nine) | zero.saturating_sub(block))
            .simd_eq(u8x16::ZERO)
            .to_bitmask()
    };
    half(low) | half(high) << LANES
}

/// Returns the positions of the bytes of `chunk` equal to `byte`, bit
/// `i` for `chunk[i]`.
#[inline]
pub fn byte_mask(chunk: &[u8; 64], byte: u8) -> u64 {
    let pattern = u8x16::splat(byte);
    mask_word(chunk, |block| block.simd_eq(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(length: usize, seed: usize) -> Vec<u8> {
        (0..length)
            .map(|i| match (i * 7 + seed) % 11 {
                0 => b'"',
                1 => b'\t',
                2 => b' ',
                _ => b'a' + ((i + seed) % 26) as u8,
            })
            .collect()
    }

    #[test]
    fn quotes_marks_every_quote_at_any_length() {
        for length in 0..200 {
            let mut text = sample(length, length);
            text.iter_mut().filter(|b| **b == b'\t').for_each(|b| *b = b'x');
            let mut words = Vec::new();
            let count = quotes(&text, &mut words);
            let expected: Vec<usize> = (0..length).filter(|&i| text[i] == b'"').collect();
            assert_eq!(count, Some(expected.len() as u32), "length {length}");
            let mut found = Vec::new();
            let mut from = 0;
            while let Some(position) = next_bit(&words, from) {
                found.push(position);
                from = position + 1;
            }
            assert_eq!(found, expected, "length {length}");
        }
    }

    #[test]
    fn quotes_refuses_bytes_a_screen_cannot_judge() {
        let mut base = sample(70, 3);
        base.iter_mut().filter(|b| **b == b'\t').for_each(|b| *b = b'x');
        for position in [0, 15, 16, 33, 63, 64, 69] {
            for bad in [b'\\', 0x00, b'\t', 0x1f, 0x80, 0xc3, 0xff] {
                let mut text = base.clone();
                text[position] = bad;
                assert_eq!(
                    quotes(&text, &mut Vec::new()),
                    None,
                    "byte {bad:#x} at {position}"
                );
            }
        }
        assert_eq!(quotes(b"\"a\x7fb\" ~", &mut Vec::new()), Some(2));
    }

    #[test]
    fn next_bit_crosses_words() {
        let words = [0, 0, 1 << 5];
        assert_eq!(next_bit(&words, 0), Some(133));
        assert_eq!(next_bit(&words, 133), Some(133));
        assert_eq!(next_bit(&words, 134), None);
        assert_eq!(next_bit(&words, 500), None);
    }

    #[test]
    fn separators_counts_all_and_keeps_the_first() {
        for separator in [b'\t', b' ', b'"'] {
            for length in 0..150 {
                let line = sample(length, 1);
                let all: Vec<usize> = (0..length).filter(|&i| line[i] == separator).collect();
                for needed in [0, 1, 3, 100] {
                    let mut positions = Vec::new();
                    let total = separators(&line, separator, needed, &mut positions);
                    assert_eq!(total, all.len());
                    assert_eq!(positions, all[..needed.min(all.len())], "length {length}");
                }
            }
        }
    }

    #[test]
    fn byte_mask_marks_equal_bytes() {
        let chunk: [u8; WORD] = std::array::from_fn(|i| if i % 5 == 0 || i == 63 { b'\n' } else { b'a' });
        let mask = byte_mask(&chunk, b'\n');
        for (index, byte) in chunk.iter().enumerate() {
            assert_eq!(mask >> index & 1 == 1, *byte == b'\n', "byte {index}");
        }
    }

    #[test]
    fn digits_marks_every_digit() {
        let window: [u8; 32] =
            std::array::from_fn(|i| [b'/', b'0', b'5', b'9', b':', b'a', 0xb0, b'.'][i % 8]);
        let mask = digits(&window);
        for (index, byte) in window.iter().enumerate() {
            assert_eq!(mask >> index & 1 == 1, byte.is_ascii_digit(), "byte {index}");
        }
    }

    #[test]
    fn separators_counts_long_lines() {
        for length in [4079, 4080, 4081, 4096, 4097, 8160, 8161, 9000] {
            let line = vec![b'\t'; length];
            for needed in [2, length - 100, length] {
                let mut positions = Vec::new();
                assert_eq!(separators(&line, b'\t', needed, &mut positions), length);
                assert!(positions.iter().copied().eq(0..needed), "needed {needed}");
            }
        }
    }
}
