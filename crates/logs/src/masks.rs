//! Bit masks of a line's bytes, built sixteen bytes at a time with vector
//! instructions through `wide` (SSE2 on x86-64, NEON on AArch64, plain
//! code elsewhere), in safe code. Bit `i % 64` of word `i / 64` stands for
//! byte `i`. A screen reads a line's quotes or separators from the masks
//! instead of testing its bytes one by one.

use wide::u8x16;

/// Bytes per vector.
const LANES: usize = 16;

/// Bytes per mask word.
const WORD: usize = 64;

/// Fills `words` with the positions of the `"` bytes of `text`. Returns
/// false when `text` has a byte that no JSON screen accepts: a
/// backslash, a control byte or a byte outside ASCII.
pub(crate) fn quotes(text: &[u8], words: &mut Vec<u64>) -> bool {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let space = u8x16::splat(b' ');
    // The lanes of every opaque byte, checked once at the end. The high
    // bit of a byte outside ASCII is set already.
    let mut opaque = u8x16::ZERO;
    let mut word_of = |chunk: &[u8; WORD]| {
        let (blocks, _) = chunk.as_chunks::<LANES>();
        let mut word = 0_u64;
        for (index, block) in blocks.iter().enumerate() {
            let block = u8x16::new(*block);
            opaque |= block.simd_eq(backslash) | block.simd_lt(space) | block;
            word |= u64::from(block.simd_eq(quote).to_bitmask()) << (index * LANES);
        }
        word
    };

    words.clear();
    let (chunks, tail) = text.as_chunks::<WORD>();
    words.extend(chunks.iter().map(&mut word_of));
    if !tail.is_empty() {
        // Spaces, which no mask looks for, pad the last word.
        let mut padded = [b' '; WORD];
        padded[..tail.len()].copy_from_slice(tail);
        words.push(word_of(&padded));
    }
    opaque.to_bitmask() == 0
}

/// Returns the position of the first set bit at or after `from`.
#[inline]
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
///
/// The count adds up the lanes of the comparisons, which needs no bit
/// count instruction: x86-64 has one only from its second level on.
pub(crate) fn separators(line: &[u8], separator: u8, needed: usize, positions: &mut Vec<usize>) -> usize {
    let pattern = u8x16::splat(separator);
    let (blocks, tail) = line.as_chunks::<LANES>();
    let mut total = 0;
    // An equal byte compares to 0xff, which is -1 in a wrapping add. A
    // lane holds at most 255, so a sum covers at most 255 blocks.
    let mut lanes = u8x16::ZERO;
    let mut pending = 0;

    for (index, block) in blocks.iter().enumerate() {
        let found = u8x16::new(*block).simd_eq(pattern);
        lanes -= found;
        if positions.len() < needed {
            push_bits(positions, needed, index * LANES, found.to_bitmask());
        }
        pending += 1;
        if pending == MAX_SUMMED {
            total += sum_lanes(lanes);
            lanes = u8x16::ZERO;
            pending = 0;
        }
    }

    if !tail.is_empty() {
        // The last block ends at the end of the line and overlaps the one
        // before, so only its last `tail.len()` lanes are new. A line
        // shorter than a block is padded with a byte other than the
        // separator. The sum has room for it, since `pending` is below
        // the maximum.
        let start = line.len().saturating_sub(LANES);
        let (last, new_from) = match line.last_chunk::<LANES>() {
            Some(last) => (*last, LANES - tail.len()),
            None => {
                let mut padded = [!separator; LANES];
                padded[..tail.len()].copy_from_slice(tail);
                (padded, 0)
            }
        };
        let found = u8x16::new(last).simd_eq(pattern) & u8x16::new(NEW_LANES[new_from]);
        lanes -= found;
        push_bits(positions, needed, start, found.to_bitmask());
    }
    total + sum_lanes(lanes)
}

/// Most blocks whose comparisons one sum of lanes adds up.
const MAX_SUMMED: usize = 255;

/// Pushes `offset` plus the index of each set bit of `bits` to
/// `positions` while it has fewer than `needed`.
#[inline]
fn push_bits(positions: &mut Vec<usize>, needed: usize, offset: usize, mut bits: u32) {
    while bits != 0 && positions.len() < needed {
        positions.push(offset + bits.trailing_zeros() as usize);
        bits &= bits - 1;
    }
}

/// `NEW_LANES[n]` keeps the lanes from `n` on.
const NEW_LANES: [[u8; LANES]; LANES] = {
    let mut table = [[0; LANES]; LANES];
    let mut n = 0;
    while n < LANES {
        let mut lane = n;
        while lane < LANES {
            table[n][lane] = 0xff;
            lane += 1;
        }
        n += 1;
    }
    table
};

/// Adds up the sixteen lanes, eight at a time in a 64-bit word: pairs of
/// bytes first, then the four sums of pairs in one multiplication.
fn sum_lanes(lanes: u8x16) -> usize {
    let bytes = lanes.to_array();
    let (halves, _) = bytes.as_chunks::<8>();
    halves
        .iter()
        .map(|half| {
            let word = u64::from_le_bytes(*half);
            let pairs = (word & 0x00ff_00ff_00ff_00ff) + ((word >> 8) & 0x00ff_00ff_00ff_00ff);
            (pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48) as usize
        })
        .sum()
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
            assert!(quotes(&text, &mut words), "length {length}");
            let expected: Vec<usize> = (0..length).filter(|&i| text[i] == b'"').collect();
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
                assert!(!quotes(&text, &mut Vec::new()), "byte {bad:#x} at {position}");
            }
        }
        assert!(quotes(b"\"a\x7fb\" ~", &mut Vec::new()));
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
    fn sum_lanes_adds_every_lane() {
        for seed in 0..64_usize {
            let lanes: [u8; LANES] = std::array::from_fn(|i| ((i * 37 + seed * 101) % 256) as u8);
            let expected: usize = lanes.iter().map(|&lane| usize::from(lane)).sum();
            assert_eq!(sum_lanes(u8x16::new(lanes)), expected, "seed {seed}");
        }
        assert_eq!(sum_lanes(u8x16::splat(255)), 16 * 255);
    }

    #[test]
    fn separators_counts_lines_of_many_blocks() {
        // A line of over 255 blocks needs more than one sum of lanes.
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
