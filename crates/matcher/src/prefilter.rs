//! A conservative test of raw log bytes: could any value written in them
//! match an indicator?
//!
//! A scan calls [`LineFilter::may_match`] on the bytes of the fields of a
//! line that can carry observables, before decoding the line. The test
//! splits the bytes into tokens and looks each token up the way the
//! matcher would look up a value that consists of it: a dotted quad in the
//! IPv4 /16 bitmap, an IPv6 address in the address tables, a name and its
//! parent domains in the domain table, a hex string in the digest table, a
//! JA4 fingerprint in the JA4 table. It never rejects a value that
//! matches. It may pass one that does not, which costs only a full decode
//! of the line.
//!
//! The test holds for decoders whose observables are literal substrings of
//! the line: a whole value, a URL's host, a `host:port` host, an e-mail
//! address's domain, or a URL assembled from such parts. Bytes that a
//! decoder may transform before matching (a backslash escape, any byte
//! outside ASCII) make the test say yes.

use std::net::{IpAddr, Ipv6Addr};

use iocwatch_model::url::key_host;
use iocwatch_model::value::observed_ip;

use crate::Matcher;
use crate::strategy::Map;

/// Length of the hex form of MD5, SHA-1, SHA-256 and SHA-512 digests.
const DIGEST_LENGTHS: [usize; 4] = [32, 40, 64, 128];

/// Maximum length of the text of an IPv6 address, in bytes.
const MAX_IPV6_TEXT: usize = 45;

/// Length of a JA4 fingerprint: a 10-character prefix and two 12-digit
/// hashes, joined by underscores.
const JA4_LENGTH: usize = 36;

/// Maximum length of a token that is looked up. A longer token counts as
/// a possible match.
const MAX_TOKEN: usize = 256;

/// Byte classes of the tokenizer.
const SEPARATOR: u8 = 0;
const DIGIT: u8 = 1;
const HEX_LETTER: u8 = 2;
const LETTER: u8 = 3;
const DOT: u8 = 4;
const COLON: u8 = 5;
const NAME_PUNCTUATION: u8 = 6;
/// A backslash or a byte outside ASCII: the decoder may turn it into
/// other text, so the filter cannot judge the line.
const OPAQUE: u8 = 7;

static CLASSES: [u8; 256] = {
    let mut table = [SEPARATOR; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            b'0'..=b'9' => DIGIT,
            b'a'..=b'f' | b'A'..=b'F' => HEX_LETTER,
            b'g'..=b'z' | b'G'..=b'Z' => LETTER,
            b'.' => DOT,
            b':' => COLON,
            b'-' | b'_' => NAME_PUNCTUATION,
            b'\\' | 0x80..=0xff => OPAQUE,
            _ => SEPARATOR,
        };
        byte += 1;
    }
    table
};

/// A pre-decode test of log bytes against a [`Matcher`]; see the module
/// documentation for what it promises.
#[derive(Debug, Clone)]
pub struct LineFilter {
    matcher: Matcher,
    /// One bit per IPv4 /16 that contains an address, network or socket
    /// indicator, or the IPv4 host of a URL or e-mail indicator.
    v4: Box<[u64]>,
    /// One bit per name hash of every domain indicator and of every
    /// host name in a URL or e-mail indicator, so that most names are
    /// ruled out without a table lookup. The length is a power of two.
    names: Box<[u64]>,
    /// The host names of URL indicators and the domains of e-mail
    /// indicators.
    hosts: Map<Box<str>, ()>,
    /// One bit per hash of the first eight hex digits of every digest
    /// indicator, so that most digests are ruled out without a copy and a
    /// table lookup. The length is a power of two.
    digests: Box<[u64]>,
    /// The IPv6 addresses of socket indicators and the IPv6 hosts of URL
    /// and e-mail indicators. Address and network indicators are looked
    /// up in the matcher's tables.
    v6_hosts: Map<u128, ()>,
    /// The names without a dot that domain indicators and the hosts of
    /// URL and e-mail indicators end in, such as `intranet`, so that
    /// tokens without a dot are looked up only when there are any.
    dotless: Map<Box<str>, ()>,
}

impl LineFilter {
    /// Builds the filter of `matcher`. Returns `None` when the matcher
    /// contains an indicator that the filter cannot judge from tokens (a
    /// URL or e-mail host that ends in a byte other than a letter, digit,
    /// `-`, `_` or dot), so that every line must be decoded.
    pub fn new(matcher: &Matcher) -> Option<Self> {
        let strategies = &matcher.inner.strategies;
        let words = name_words(
            strategies.names.domains.len() + strategies.names.urls.len() + strategies.names.emails.len(),
        );
        // The domains on one thread, the hosts of URL and e-mail indicators
        // on another, each into a set of its own.
        let (domain_names, host_names) = rayon::join(
            || {
                let mut names = vec![0; words].into_boxed_slice();
                let mut dotless: Map<Box<str>, ()> = Map::default();
                for domain in strategies.names.domains.keys() {
                    let (hash, token) = last_name_token(domain)?;
                    set_name_bit(&mut names, hash);
                    if !token.contains('.') {
                        insert_new(&mut dotless, token);
                    }
                }
                Some((names, dotless))
            },
            || {
                let mut v4 = match &strategies.addresses.v4_filter {
                    Some(filter) => filter.0.clone(),
                    None => vec![0; 1 << 10].into_boxed_slice(),
                };
                let mut names = vec![0; words].into_boxed_slice();
                let mut hosts: Map<Box<str>, ()> = Map::default();
                let mut dotless: Map<Box<str>, ()> = Map::default();
                let mut v6_hosts: Map<u128, ()> = strategies
                    .addresses
                    .v6_socket_addresses()
                    .map(|address| (u128::from(address), ()))
                    .collect();
                // The table keys contain every URL and e-mail indicator
                // value once.
                let url_hosts = strategies.names.urls.keys().map(|key| key_host(key));
                let email_domains = strategies
                    .names
                    .emails
                    .keys()
                    .map(|email| email.rsplit_once('@').map_or("", |(_, domain)| domain));
                for host in url_hosts.chain(email_domains) {
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    match observed_ip(host) {
                        Some(IpAddr::V4(address)) => set_bit(&mut v4, u32::from(address) >> 16),
                        Some(IpAddr::V6(address)) => {
                            v6_hosts.insert(u128::from(address), ());
                        }
                        // For a host with other bytes, the filter looks up
                        // the name it ends in, because the tokenizer splits
                        // the rest off.
                        None => {
                            let (hash, token) = last_name_token(host)?;
                            set_name_bit(&mut names, hash);
                            insert_new(&mut hosts, token);
                            if !token.contains('.') {
                                insert_new(&mut dotless, token);
                            }
                        }
                    }
                }
                Some((v4, names, hosts, dotless, v6_hosts))
            },
        );
        let (mut names, mut dotless) = domain_names?;
        let (v4, more_names, hosts, more_dotless, v6_hosts) = host_names?;
        for (word, more) in names.iter_mut().zip(more_names.iter()) {
            *word |= more;
        }
        dotless.extend(more_dotless);
        let mut digests = vec![0; name_words(strategies.names.digests.len())].into_boxed_slice();
        for digest in strategies.names.digests.keys() {
            if let Some(prefix) = digest_prefix(digest.as_bytes()) {
                set_name_bit(&mut digests, prefix);
            }
        }
        Some(Self {
            matcher: matcher.clone(),
            v4,
            names,
            hosts,
            digests,
            v6_hosts,
            dotless,
        })
    }

    /// Returns false only when no value written in `bytes` can match an
    /// indicator; see the module documentation for the values it covers.
    #[inline]
    pub fn may_match(&self, bytes: &[u8]) -> bool {
        // Addresses are the commonest values that can match, so they are
        // tested first, in one pass, in the caller's code.
        match dotted_quad(bytes) {
            Some(address) => self.may_contain_v4(address),
            None => self.other_may_match(bytes),
        }
    }

    /// Tests a value that is not a dotted quad, as [`LineFilter::may_match`].
    #[inline(never)]
    fn other_may_match(&self, bytes: &[u8]) -> bool {
        // The flags of every byte are read without a branch. Values are
        // short, and a loop that stops at the first byte of interest
        // mispredicts where it stops.
        let flags = bytes
            .iter()
            .fold(0, |flags, &byte| flags | VALUE_FLAGS[usize::from(byte)]);

        // Host names come next: a value that is one lower-case name with
        // a dot is one token, looked up at once.
        if flags & (HAS_DOT | NOT_LOWER_NAME) == HAS_DOT {
            return self.name_may_match::<true>(bytes);
        }
        // A value of hex digits alone can only be a digest, or a name
        // without a dot.
        if flags & NOT_HEX == 0 && bytes.len() <= MAX_TOKEN {
            return self.is_hex_digest(bytes) || self.is_dotless_name(bytes);
        }
        // Only a value with a dot (an address or a name), a colon (an IPv6
        // address, a colon-separated digest) or at least 32 bytes (a
        // digest, a JA4 fingerprint) can match. Most values have neither.
        // Listed names without a dot are the exception.
        if bytes.len() < DIGEST_LENGTHS[0]
            && flags & (HAS_DOT | COLON_OR_OPAQUE) == 0
            && self.dotless.is_empty()
        {
            return false;
        }

        let mut start = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            match CLASSES[usize::from(byte)] {
                SEPARATOR => {
                    if index > start && self.token_may_match(&bytes[start..index]) {
                        return true;
                    }
                    start = index + 1;
                }
                OPAQUE => return true,
                _ => {}
            }
        }
        start < bytes.len() && self.token_may_match(&bytes[start..])
    }

    /// Tests one run of name characters, colons and dots.
    fn token_may_match(&self, token: &[u8]) -> bool {
        if token.len() > MAX_TOKEN {
            return true;
        }
        // One pass finds what the tests below read.
        let mut colons = 0;
        let mut has_dot = false;
        let mut hex_or_colon = true;
        let mut part = 0;
        let mut longest_part = 0;
        for &byte in token {
            match byte {
                b':' => {
                    colons += 1;
                    longest_part = longest_part.max(part);
                    part = 0;
                }
                b'.' => {
                    has_dot = true;
                    hex_or_colon = false;
                    part += 1;
                }
                _ => {
                    hex_or_colon &= byte.is_ascii_hexdigit();
                    part += 1;
                }
            }
        }
        longest_part = longest_part.max(part);
        if colons == 0 {
            return self.part_may_match(token);
        }

        // A digest written as colon-separated hex pairs.
        let hex_digits = token.len() - colons;
        if hex_or_colon
            && DIGEST_LENGTHS.contains(&hex_digits)
            && self.is_digest(token.iter().filter(|b| **b != b':'))
        {
            return true;
        }

        // An IPv6 address, which the matcher folds to IPv4 when it is
        // IPv4-mapped (`::ffff:102:304`). Its text has at most eight colons
        // (`::2:3:4:5:6:7:8`) and 45 bytes, and the parser is costly on
        // longer runs of hex pairs.
        if (2..=8).contains(&colons)
            && token.len() <= MAX_IPV6_TEXT
            && let Some(v6) = std::str::from_utf8(token)
                .ok()
                .and_then(|text| text.parse::<Ipv6Addr>().ok())
        {
            let listed = match v6.to_ipv4_mapped() {
                Some(v4) => self.may_contain_v4(u32::from(v4)),
                None => self.may_contain_v6(v6),
            };
            if listed {
                return true;
            }
        }

        // `host:port`, an IPv4-mapped address in dotted form, a URL's
        // `scheme:` or a time of day. A part without a dot matches only as
        // a digest, so the two-digit parts of a fingerprint are skipped.
        let dotless_listed = !self.dotless.is_empty();
        if !has_dot && longest_part < DIGEST_LENGTHS[0] && !dotless_listed {
            return false;
        }
        token.split(|&b| b == b':').any(|part| {
            (has_dot || dotless_listed || DIGEST_LENGTHS.contains(&part.len())) && self.part_may_match(part)
        })
    }

    /// Tests a run of name characters and dots.
    fn part_may_match(&self, part: &[u8]) -> bool {
        if part.is_empty() {
            return false;
        }
        let mut has_dot = false;
        let mut has_name_byte = false;
        let mut all_hex = true;
        for &byte in part {
            match CLASSES[usize::from(byte)] {
                DOT => {
                    has_dot = true;
                    all_hex = false;
                }
                DIGIT => {}
                HEX_LETTER => has_name_byte = true,
                _ => {
                    has_name_byte = true;
                    all_hex = false;
                }
            }
        }
        if all_hex && self.is_hex_digest(part) {
            return true;
        }
        if !has_dot {
            return (part.len() == JA4_LENGTH && self.is_ja4(part)) || self.is_dotless_name(part);
        }
        if !has_name_byte {
            return self.dotted_may_match(part);
        }
        self.name_may_match::<false>(part)
    }

    /// Tests digits and dots: the /16 of a dotted quad. Leading zeros,
    /// which the address parser rejects, are accepted here.
    fn dotted_may_match(&self, part: &[u8]) -> bool {
        let mut octets = [0_u8; 4];
        let mut count = 0;
        for digits in part.split(|&b| b == b'.') {
            let (Some(slot), Some(octet)) = (octets.get_mut(count), decimal_octet(digits)) else {
                return false;
            };
            *slot = octet;
            count += 1;
        }
        count == 4 && self.may_contain_v4(u32::from_be_bytes(octets))
    }

    /// Tests a host name: the name and each parent domain, as the domain
    /// strategy looks them up. A suffix is looked up only when its bit in
    /// [`LineFilter::names`] is set.
    ///
    /// `LOWER_CASE` is true when `part` has no upper-case letter, so that
    /// its bytes are hashed without folding their case.
    fn name_may_match<const LOWER_CASE: bool>(&self, part: &[u8]) -> bool {
        let mut end = part.len();
        while end > 0 && part[end - 1] == b'.' {
            end -= 1;
        }
        let name = &part[..end];
        // The hash of the suffix after `index`, built from the last byte
        // back.
        let mut hash = NAME_HASH_SEED;
        for (index, &byte) in name.iter().enumerate().rev() {
            if byte == b'.' && self.name_bit(hash) && self.suffix_is_listed(&name[index + 1..]) {
                return true;
            }
            hash = if LOWER_CASE {
                lower_name_hash_step(hash, byte)
            } else {
                name_hash_step(hash, byte)
            };
        }
        self.name_bit(hash) && self.suffix_is_listed(name)
    }

    /// Looks a name up in the domain table and among the hosts of URL
    /// and e-mail indicators.
    fn suffix_is_listed(&self, suffix: &[u8]) -> bool {
        let Ok(suffix) = std::str::from_utf8(suffix) else {
            return true;
        };
        let lower;
        let suffix = if suffix.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = suffix.to_ascii_lowercase();
            lower.as_str()
        } else {
            suffix
        };
        self.matcher.inner.strategies.names.domains.contains_key(suffix) || self.hosts.contains_key(suffix)
    }

    #[inline]
    fn name_bit(&self, hash: u64) -> bool {
        has_name_bit(&self.names, hash)
    }

    /// Looks up `hex`, hex digits alone in either case, in the digest
    /// table, unless its length or first digits rule it out.
    #[inline]
    fn is_hex_digest(&self, hex: &[u8]) -> bool {
        DIGEST_LENGTHS.contains(&hex.len())
            && digest_prefix(hex).is_some_and(|prefix| has_name_bit(&self.digests, prefix))
            && self.is_digest(hex.iter())
    }

    /// Looks up hex digits, in either case, in the digest table.
    fn is_digest<'a>(&self, digits: impl Iterator<Item = &'a u8>) -> bool {
        let mut lower = [0_u8; 128];
        let mut length = 0;
        for (slot, digit) in lower.iter_mut().zip(digits) {
            *slot = digit.to_ascii_lowercase();
            length += 1;
        }
        std::str::from_utf8(&lower[..length])
            .is_ok_and(|hex| self.matcher.inner.strategies.names.digests.contains_key(hex))
    }

    /// Tests a run of name characters without a dot against the JA4
    /// indicators, which the matcher compares in lower case.
    fn is_ja4(&self, part: &[u8]) -> bool {
        let ja4 = &self.matcher.inner.strategies.names.ja4;
        if ja4.is_empty() {
            return false;
        }
        let mut lower = [0_u8; JA4_LENGTH];
        for (slot, byte) in lower.iter_mut().zip(part) {
            *slot = byte.to_ascii_lowercase();
        }
        std::str::from_utf8(&lower).is_ok_and(|text| ja4.contains_key(text))
    }

    /// Looks a run of name characters without a dot up among the listed
    /// names without a dot, in lower case.
    fn is_dotless_name(&self, part: &[u8]) -> bool {
        if self.dotless.is_empty() {
            return false;
        }
        std::str::from_utf8(part)
            .is_ok_and(|name| self.dotless.contains_key(name.to_ascii_lowercase().as_str()))
    }

    fn may_contain_v6(&self, address: Ipv6Addr) -> bool {
        self.matcher.inner.strategies.addresses.contains_v6(address)
            || self.v6_hosts.contains_key(&u128::from(address))
    }

    #[inline]
    fn may_contain_v4(&self, address: u32) -> bool {
        let slot = address >> 16;
        self.v4
            .get((slot >> 6) as usize)
            .is_some_and(|word| word & (1 << (slot & 63)) != 0)
    }
}

/// Adds `key` to `set` unless it is there, copying it only when it is new.
fn insert_new(set: &mut Map<Box<str>, ()>, key: &str) {
    if !set.contains_key(key) {
        set.insert(key.into(), ());
    }
}

fn set_bit(bits: &mut [u64], slot: u32) {
    if let Some(word) = bits.get_mut((slot >> 6) as usize) {
        *word |= 1 << (slot & 63);
    }
}

/// Initial value of a name hash.
const NAME_HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// Returns the name hash of `byte` followed by the bytes whose name hash
/// is `hash`. [`LineFilter::names`] keeps the hashes of names in either
/// case. A hash is built from the last byte back, so that the hashes of
/// all the suffixes of a name come out of one pass.
#[inline]
fn name_hash_step(hash: u64, byte: u8) -> u64 {
    lower_name_hash_step(hash, byte.to_ascii_lowercase())
}

/// Returns [`name_hash_step`] of a byte that is not an upper-case letter.
#[inline]
fn lower_name_hash_step(hash: u64, byte: u8) -> u64 {
    (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// Returns the bit of `hash` in a set of `words` 64-bit words, a power
/// of two. The high bits of the hash are mixed best.
#[inline]
fn name_slot(hash: u64, words: usize) -> usize {
    let bits = (words * 64).trailing_zeros();
    (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
}

/// Returns the number of words of a name set for `names` names: 32 to 64
/// bits per name, so that at most about 3% of other names find their bit
/// set, within 8 KiB and 2 MiB.
fn name_words(names: usize) -> usize {
    (names * 32 / 64).next_power_of_two().clamp(1 << 10, 1 << 18)
}

#[inline]
fn has_name_bit(bits: &[u64], hash: u64) -> bool {
    let slot = name_slot(hash, bits.len());
    bits.get(slot >> 6)
        .is_some_and(|word| word & (1 << (slot & 63)) != 0)
}

fn set_name_bit(bits: &mut [u64], hash: u64) {
    let slot = name_slot(hash, bits.len());
    set_bit(bits, slot as u32);
}

/// Returns the first eight bytes of `hex`, hex digits, in lower case as
/// one number, or `None` when it is shorter. Setting bit 5 of every byte
/// lower-cases a hex letter and leaves a digit as it is.
#[inline]
fn digest_prefix(hex: &[u8]) -> Option<u64> {
    let head = hex.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*head) | 0x2020_2020_2020_2020)
}

/// The byte classes of host names, one bit per class.
const NAME_CLASSES: u8 = 1 << DIGIT | 1 << HEX_LETTER | 1 << LETTER | 1 << DOT | 1 << NAME_PUNCTUATION;

/// Returns the last token of a host name, the part after its last byte
/// other than a letter, digit, `-`, `_` or dot, with its name hash. This
/// is the whole name for a valid host name. Returns `None` when the name
/// ends in such a byte.
fn last_name_token(name: &str) -> Option<(u64, &str)> {
    let bytes = name.as_bytes();
    let start = bytes
        .iter()
        .rposition(|&byte| NAME_CLASSES >> CLASSES[usize::from(byte)] & 1 == 0)
        .map_or(0, |index| index + 1);
    let token = name.get(start..).filter(|token| !token.is_empty())?;
    let hash = token.bytes().rev().fold(NAME_HASH_SEED, name_hash_step);
    Some((hash, token))
}

/// Flag of [`VALUE_FLAGS`]: the byte is a dot.
const HAS_DOT: u8 = 1;
/// Flag of [`VALUE_FLAGS`]: the byte is not a lower-case letter, a digit,
/// `-`, `_` or a dot, so the value is not a lower-case host name.
const NOT_LOWER_NAME: u8 = 2;
/// Flag of [`VALUE_FLAGS`]: the byte is not a hex digit.
const NOT_HEX: u8 = 4;
/// Flag of [`VALUE_FLAGS`]: the byte is a colon, a backslash or a byte
/// outside ASCII.
const COLON_OR_OPAQUE: u8 = 8;

/// The flags of each byte value, which [`LineFilter::may_match`] ORs
/// over a value to choose its test.
static VALUE_FLAGS: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            b'.' => HAS_DOT | NOT_HEX,
            b'0'..=b'9' | b'a'..=b'f' => 0,
            b'g'..=b'z' | b'-' | b'_' => NOT_HEX,
            b'A'..=b'F' => NOT_LOWER_NAME,
            b':' | b'\\' | 0x80..=0xff => COLON_OR_OPAQUE | NOT_LOWER_NAME | NOT_HEX,
            _ => NOT_LOWER_NAME | NOT_HEX,
        };
        byte += 1;
    }
    table
};

/// Parses a value that is exactly a dotted quad, leading zeros allowed.
#[inline]
fn dotted_quad(bytes: &[u8]) -> Option<u32> {
    if bytes.len() < 7 || bytes.len() > 15 {
        return None;
    }
    let (first, mut rest) = leading_octet(bytes)?;
    let mut address = first;
    for _ in 0..3 {
        let (octet, after) = leading_octet(rest.strip_prefix(b".")?)?;
        address = address << 8 | octet;
        rest = after;
    }
    rest.is_empty().then_some(address)
}

/// Parses the one to three digits that start `bytes` as an octet, and
/// returns it with the bytes after it. A fourth digit is left in the rest.
#[inline]
fn leading_octet(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let digit = |index: usize| {
        bytes
            .get(index)
            .map(|byte| u32::from(byte.wrapping_sub(b'0')))
            .filter(|value| *value < 10)
    };
    let first = digit(0)?;
    let Some(second) = digit(1) else {
        return Some((first, bytes.get(1..)?));
    };
    let Some(third) = digit(2) else {
        return Some((first * 10 + second, bytes.get(2..)?));
    };
    let value = first * 100 + second * 10 + third;
    (value <= 255).then_some((value, bytes.get(3..)?))
}

/// Parses 0 to 255 written in decimal, as a dotted quad writes it.
fn decimal_octet(digits: &[u8]) -> Option<u8> {
    if digits.is_empty() || digits.len() > 3 {
        return None;
    }
    let mut value: u16 = 0;
    for &digit in digits {
        value = value * 10 + u16::from(digit - b'0');
    }
    u8::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses what [`dotted_quad`] accepts, written plainly.
    fn reference(bytes: &[u8]) -> Option<u32> {
        let parts: Vec<&[u8]> = bytes.split(|&b| b == b'.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut address = 0;
        for part in parts {
            if part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = part
                .iter()
                .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'));
            if value > 255 {
                return None;
            }
            address = address << 8 | value;
        }
        Some(address)
    }

    #[test]
    fn value_flags_agree_with_byte_classes() {
        for byte in 0..=255_u8 {
            let flags = VALUE_FLAGS[usize::from(byte)];
            let is_name_byte =
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'-' | b'_' | b'.');
            assert_eq!(flags & HAS_DOT != 0, byte == b'.', "byte {byte:#x}");
            assert_eq!(flags & NOT_LOWER_NAME == 0, is_name_byte, "byte {byte:#x}");
            assert_eq!(flags & NOT_HEX == 0, byte.is_ascii_hexdigit(), "byte {byte:#x}");
            assert_eq!(
                flags & COLON_OR_OPAQUE != 0,
                byte == b':' || byte == b'\\' || !byte.is_ascii(),
                "byte {byte:#x}"
            );
        }
    }

    #[test]
    fn last_name_token_after_other_bytes() {
        let hash_of = |name: &str| name.bytes().rev().fold(NAME_HASH_SEED, name_hash_step);
        assert_eq!(
            last_name_token("www.evil.example"),
            Some((hash_of("www.evil.example"), "www.evil.example"))
        );
        assert_eq!(
            last_name_token("a+b.example"),
            Some((hash_of("b.example"), "b.example"))
        );
        assert_eq!(
            last_name_token("us_battle_net"),
            Some((hash_of("us_battle_net"), "us_battle_net"))
        );
        assert_eq!(last_name_token("example%"), None);
        assert_eq!(last_name_token(""), None);
    }

    #[test]
    fn dotted_quad_reads_exactly_four_octets() {
        for text in [
            "1.2.3.4",
            "10.13.217.144",
            "255.255.255.255",
            "001.02.3.000",
            "256.1.1.1",
            "1.2.3.256",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1234.1.1.1",
            "1.2.3.4a",
            "a1.2.3.4",
            "1.2.3.1000",
            "1.2.3.-4",
            "12.34.56.78",
            "0.0.0.0",
            "",
        ] {
            assert_eq!(
                dotted_quad(text.as_bytes()),
                reference(text.as_bytes()),
                "{text:?}"
            );
        }
        // Every string of up to eight bytes over digits, dots and one
        // letter, and longer ones drawn from a fixed sequence.
        let alphabet = b"0129.5x";
        let mut text = Vec::new();
        for length in 0..=8_u32 {
            for mut code in 0..alphabet.len().pow(length) {
                text.clear();
                for _ in 0..length {
                    text.push(alphabet[code % alphabet.len()]);
                    code /= alphabet.len();
                }
                assert_eq!(
                    dotted_quad(&text),
                    reference(&text),
                    "{:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
        let mut state = 7_u64;
        for _ in 0..200_000 {
            text.clear();
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let length = 7 + (state >> 60) as usize;
            for shift in 0..length {
                text.push(alphabet[((state >> (shift * 3 % 56)) as usize + shift) % 5]);
            }
            assert_eq!(
                dotted_quad(&text),
                reference(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
