//! The screen of the JSON lines decoder: one pass over a line that checks
//! its JSON syntax, works out which format [`crate::JsonDecoder`] would
//! read it as, and collects the byte range of every string value, without
//! building a record.
//!
//! It accepts only lines that the full decoder certainly reads without
//! error, and leaves every other line to it: a line with a backslash (an
//! escape), a byte outside printable ASCII, a number with an exponent or
//! more than 20 characters, or nesting deeper than 64. The format follows
//! the decoder's rules. A line that contains `"event_type"` is read as
//! EVE first, which fails on an object with a repeated EVE field name, so
//! the screen rejects those, and such a line is EVE when `event_type` is a
//! top-level string. Other lines are Zeek JSON when they have a top-level
//! Zeek key (`ts`, `uid`, `id.orig_h`, `id.resp_h`, `_path`) and one of
//! the keys the decoder searches for, and ECS otherwise. The screen leaves
//! a line with `"event_type"` that is not EVE to the full decode.
//!
//! The pass steps from token to token. The line's quote positions, found
//! sixteen bytes at a time, give the end of each string at once. A small
//! cache of the keys seen gives what a key means to each reader.
//!
//! Most lines skip the pass: a line with the skeleton of a line screened
//! before is read along that line's template (see [`crate::json_template`]).

use std::ops::Range;

use crate::json_template::{LineKey, ReplayBuffers, Replayed, Templates};
use crate::zeek::{Key, is_address_column, target_is_path};
use crate::{eve, masks};

/// Maximum nesting of objects and arrays the screen follows.
const MAX_DEPTH: usize = 64;

/// Maximum length of a number the screen accepts, in bytes.
const MAX_NUMBER: usize = 20;

/// Most digits of an integer that ECS reads as text, so that its text is
/// the digits the line wrote (larger ones become floating point).
const MAX_ECS_INTEGER_DIGITS: usize = 18;

/// Key class bit: the EVE reader may read an observable from the key's
/// string values.
const EVE_VALUE: u8 = 1;
/// Key class bit: the Zeek JSON reader may read an observable from the
/// key's string values.
const ZEEK_VALUE: u8 = 2;
/// Class of a line read as ECS, whose reader may read any value.
const ECS_VALUE: u8 = 4;
/// Key class bit: the EVE reader reads the key's values as a request
/// target, whose path is left out (see [`target_is_path`]).
const EVE_TARGET: u8 = 8;
/// Key class bit: the Zeek JSON reader reads the key's values as a
/// request target.
const ZEEK_TARGET: u8 = 16;

/// Key role bit: `event_type`, which makes a line EVE when it is a
/// top-level string.
const EVENT_TYPE: u8 = 1;
/// Key role bit: a key every Zeek log has, which makes a line Zeek JSON
/// when it is at the top level.
const ZEEK_TOP: u8 = 2;
/// Key role bit: a key whose presence in the line sends it to the Zeek
/// reader.
const ZEEK_SEARCHED: u8 = 4;

/// Number of sets of two slots in [`KeyCache`], a power of two.
const KEY_SETS: usize = 256;

/// Maximum length of a key that [`KeyCache`] keeps, in bytes: three words.
const MAX_CACHED_KEY: usize = 24;

/// The meaning of a key to the readers of each format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct KeyInfo {
    /// [`EVE_VALUE`], [`ZEEK_VALUE`], [`EVE_TARGET`] and [`ZEEK_TARGET`]
    /// bits.
    class: u8,
    /// [`EVENT_TYPE`], [`ZEEK_TOP`] and [`ZEEK_SEARCHED`] bits.
    roles: u8,
    /// One more than the key's index in [`eve::FIELDS`], 0 for a key
    /// that is not an EVE field.
    eve_field: u8,
}

impl KeyInfo {
    /// Returns the bit of the key in [`Frame::eve_fields`], 0 for a key
    /// that is not an EVE field.
    fn eve_field_bit(self) -> u64 {
        (1_u64 << self.eve_field) >> 1
    }
}

/// Works out what `key` means to each reader.
#[cold]
fn classify(key: &[u8]) -> KeyInfo {
    let eve = eve::key_class(key);
    let mut class = if eve.is_observable { EVE_VALUE } else { 0 };
    if eve.is_observable && key == b"url" {
        class |= EVE_TARGET;
    }
    class |= zeek_class(key);
    let roles = match key {
        b"event_type" => EVENT_TYPE,
        b"_path" | b"ts" | b"uid" | b"id.orig_h" => ZEEK_TOP | ZEEK_SEARCHED,
        b"id.resp_h" => ZEEK_TOP,
        _ => 0,
    };
    KeyInfo {
        class,
        roles,
        eve_field: eve.field.map_or(0, |index| (index + 1) as u8),
    }
}

/// Returns the class bits of `key` for the Zeek reader: whether it may
/// read an observable from the key's values, and whether it reads them
/// as a request target.
fn zeek_class(key: &[u8]) -> u8 {
    let Ok(name) = std::str::from_utf8(key) else {
        return 0;
    };
    let zeek_key = Key::from_name(name);
    let mut class = 0;
    if zeek_key.is_some_and(Key::may_carry_observable) || is_address_column(name) {
        class |= ZEEK_VALUE;
    }
    if zeek_key == Some(Key::Uri) {
        class |= ZEEK_TARGET;
    }
    class
}

/// A key remembered by [`KeyCache`], in 32 bytes.
#[derive(Debug, Clone, Copy, Default)]
struct CachedKey {
    words: [u64; 3],
    length: u8,
    info: KeyInfo,
}

impl CachedKey {
    /// Returns whether this is the key of `length` bytes whose words are
    /// `words`. Compares word by word: the words of a key are built in
    /// registers, and an array compare would store and reload them.
    #[inline]
    fn is_key(&self, length: u8, words: [u64; 3]) -> bool {
        let differences =
            (self.words[0] ^ words[0]) | (self.words[1] ^ words[1]) | (self.words[2] ^ words[2]);
        self.length == length && differences == 0
    }
}

/// Two [`CachedKey`]s in one cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct KeySet([CachedKey; 2]);

const _: () = assert!(std::mem::size_of::<KeySet>() == 64, "a set fills one cache line");

/// The [`KeyInfo`] of recently seen keys. A hash of a key's bytes picks
/// a set of two slots. A new key takes the first slot and moves the key
/// there to the second. An unused slot contains the empty key, whose
/// [`KeyInfo`] is the default.
///
/// A log has few distinct keys, so nearly every lookup is a hit, which
/// costs a hash and a compare of three words.
#[derive(Debug)]
struct KeyCache {
    sets: Box<[KeySet; KEY_SETS]>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            sets: Box::new([KeySet::default(); KEY_SETS]),
        }
    }
}

impl KeyCache {
    /// Returns the [`KeyInfo`] of the key at `range` of `text`. Inlined,
    /// because it runs for most keys of a line and a call costs more than
    /// a hit.
    #[inline(always)]
    fn info(&mut self, text: &[u8], range: Range<usize>) -> KeyInfo {
        let Some(key) = text.get(range.clone()) else {
            return KeyInfo::default();
        };
        if key.len() > MAX_CACHED_KEY {
            return classify(key);
        }
        let words = key_words(text, range);
        // A cached key is short enough for its length to fit a byte.
        let length = key.len() as u8;
        let mixed = words[0] ^ words[1].rotate_left(21) ^ words[2].rotate_left(42) ^ u64::from(length);
        let index = (mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & (KEY_SETS - 1);
        let KeySet([first, second]) = &mut self.sets[index];
        if first.is_key(length, words) {
            return first.info;
        }
        if second.is_key(length, words) {
            return second.info;
        }
        *second = *first;
        *first = CachedKey {
            length,
            words,
            info: classify(key),
        };
        first.info
    }
}

/// Returns the bytes of `text` in `range`, at most [`MAX_CACHED_KEY`] of
/// them, as three little-endian words padded with zero bytes.
#[inline(always)]
fn key_words(text: &[u8], range: Range<usize>) -> [u64; 3] {
    let mut words = [0; 3];
    let mut start = range.start;
    for word in &mut words {
        if start >= range.end {
            break;
        }
        let length = (range.end - start).min(8);
        // Reads eight bytes where the text has them, which is nearly
        // always, since a value follows every key.
        *word = match text.get(start..).and_then(<[u8]>::first_chunk::<8>) {
            Some(chunk) => u64::from_le_bytes(*chunk) & (u64::MAX >> (64 - 8 * length)),
            None => {
                let mut padded = [0; 8];
                if let (Some(bytes), Some(room)) = (text.get(start..start + length), padded.get_mut(..length))
                {
                    room.copy_from_slice(bytes);
                }
                u64::from_le_bytes(padded)
            }
        };
        start += 8;
    }
    words
}

/// An open object or array.
#[derive(Debug, Clone, Copy)]
struct Frame {
    is_object: bool,
    /// The EVE fields the object has, one bit each.
    eve_fields: u64,
    /// Class of the key that string values in this frame belong to: the
    /// latest key of an object, the key of an array.
    value_class: u8,
    /// The EVE reader skips the frame as a whole, because it is the value
    /// of a key that is not an EVE field, or lies inside one. Its keys then
    /// need no lookup, since only their syntax matters.
    skipped: bool,
    /// The EVE reader skips the value of the latest key of an object, or
    /// the elements of an array.
    value_skipped: bool,
}

/// Buffers reused from line to line.
#[derive(Debug, Default)]
pub(crate) struct ScreenBuffers {
    /// The open frames around the innermost one.
    parents: Vec<Frame>,
    integers: Vec<Range<usize>>,
    /// Whether the line has a number with a fraction.
    has_fraction: bool,
    /// String values with the class of their key.
    strings: Vec<(Range<usize>, u8)>,
    keys: KeyCache,
    /// Positions of the line's quotes, one bit per byte.
    quotes: Vec<u64>,
    /// Skeletons of lines screened before.
    templates: Templates,
}

impl ScreenBuffers {
    /// Returns how many lines were read along a template.
    #[cfg(test)]
    pub(crate) fn template_hits(&self) -> u64 {
        self.templates.hits()
    }

    /// Returns the memory the templates take, in bytes.
    #[cfg(test)]
    pub(crate) fn template_memory(&self) -> usize {
        self.templates.memory()
    }
}

/// The tokens the grammar allows next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    ValueOrArrayEnd,
    Key,
    KeyOrObjectEnd,
    CommaOrEnd,
}

/// Screens one line; see the module documentation. Pushes the ranges of
/// string values (and of integers, for ECS) to `values`, in `line`'s
/// offsets.
///
/// `has_event_type` returns whether the line contains `"event_type"`,
/// and `zeek_candidate` whether it contains one of the keys that the
/// decoder searches for Zeek. A line read along a template needs neither
/// search, because its template records where `"event_type"` can be.
pub(crate) fn screen(
    line: &[u8],
    has_event_type: impl FnOnce() -> bool,
    zeek_candidate: impl FnOnce() -> bool,
    buffers: &mut ScreenBuffers,
    values: &mut Vec<Range<usize>>,
) -> Option<&'static str> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let end = line.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
    let text = line.get(start..end)?;
    if text.first() != Some(&b'{') {
        return None;
    }

    buffers.parents.clear();
    buffers.integers.clear();
    buffers.strings.clear();
    buffers.has_fraction = false;
    let quotes = masks::quotes(text, &mut buffers.quotes)?;
    let key = LineKey::new(text, quotes);
    let replayed = buffers.templates.replay(
        key,
        text,
        start,
        &buffers.quotes,
        ReplayBuffers {
            strings: &mut buffers.strings,
            integers: &mut buffers.integers,
            has_fraction: &mut buffers.has_fraction,
            values,
        },
    );
    let (shape, eve_candidate) = match replayed {
        Some(Replayed::Screened(format)) => return Some(format),
        Some(Replayed::Read(shape, eve_candidate)) => (shape, eve_candidate),
        None => {
            let eve_candidate = has_event_type();
            let shape = walk(text, buffers, eve_candidate)?;
            buffers
                .templates
                .learn(key, text, &buffers.quotes, &buffers.strings, shape, eve_candidate);
            (shape, eve_candidate)
        }
    };

    let (format, class, target) = match shape.reading(eve_candidate) {
        Reading::Rejected => return None,
        Reading::Strings {
            format,
            class,
            target,
        } => (format, class, target),
        Reading::ZeekIfSearched if zeek_candidate() => ZEEK_READING,
        Reading::ZeekIfSearched | Reading::Ecs => {
            // ECS reads a number as its text, and the text of a fraction or
            // of a large integer is not always the digits the line wrote.
            // The length counts a minus sign, which errs towards a full
            // decode.
            if buffers.has_fraction
                || buffers
                    .integers
                    .iter()
                    .any(|integer| integer.len() > MAX_ECS_INTEGER_DIGITS)
            {
                return None;
            }
            values.extend(
                buffers
                    .integers
                    .iter()
                    .map(|integer| start + integer.start..start + integer.end),
            );
            ("ecs", ECS_VALUE, 0)
        }
    };

    let selected =
        buffers.strings.iter().filter(
            |(range, value_class)| match string_use(*value_class, class, target) {
                StringUse::Skipped => false,
                StringUse::Read => true,
                StringUse::ReadUnlessPath => !text.get(range.clone()).is_some_and(target_is_path),
            },
        );
    values.extend(selected.map(|(range, _)| start + range.start..start + range.end));
    Some(format)
}

/// The use a reading makes of a string value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringUse {
    /// The value is not tested.
    Skipped,
    /// The value is tested.
    Read,
    /// The value is a request target, tested unless it is a path.
    ReadUnlessPath,
}

/// Returns the use of a string whose key has the class bits
/// `value_class`, in a reading of the strings of class `class` with the
/// request targets of class `target`.
pub(crate) fn string_use(value_class: u8, class: u8, target: u8) -> StringUse {
    if value_class & class == 0 && class & ECS_VALUE == 0 {
        StringUse::Skipped
    } else if value_class & target != 0 {
        StringUse::ReadUnlessPath
    } else {
        StringUse::Read
    }
}

/// The reading of a Zeek JSON line: its format, and the class bits of
/// the strings read and of the request targets among them.
const ZEEK_READING: (&str, u8, u8) = ("zeek-json", ZEEK_VALUE, ZEEK_TARGET);

/// The way [`screen`] reads the strings of a line, as its shape decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The line is left to the full decode.
    Rejected,
    /// The line is `format`. Its strings whose key class has a bit of
    /// `class` are read, except for the paths among those whose class has
    /// a bit of `target`.
    Strings {
        format: &'static str,
        class: u8,
        target: u8,
    },
    /// The line is Zeek JSON when it contains a key the decoder searches
    /// for, and ECS otherwise.
    ZeekIfSearched,
    /// The line is ECS, which reads every string and integer.
    Ecs,
}

/// Facts [`walk`] found about a line's keys.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Shape {
    /// `event_type` is a top-level string.
    event_type_string: bool,
    /// One of the keys every Zeek log has is at the top level.
    zeek_key_at_top: bool,
    /// One of the keys the decoder searches for Zeek is a key somewhere.
    zeek_key_searched: bool,
}

impl Shape {
    /// Returns whether [`screen`] reads the integers and fractions of a
    /// line of this shape. It does only for a line that may be ECS, which
    /// is neither an EVE candidate nor a line with the Zeek keys.
    pub(crate) fn reads_numbers(self, eve_candidate: bool) -> bool {
        let zeek = self.zeek_key_at_top && self.zeek_key_searched;
        !(eve_candidate || zeek)
    }

    /// Returns how a line of this shape is read. Only EVE candidates
    /// keep the strings of EVE keys alone, so `eve_candidate` is part of
    /// the shape.
    pub(crate) fn reading(self, eve_candidate: bool) -> Reading {
        if eve_candidate {
            if !self.event_type_string {
                return Reading::Rejected;
            }
            return Reading::Strings {
                format: "suricata-eve",
                class: EVE_VALUE,
                target: EVE_TARGET,
            };
        }
        match (self.zeek_key_at_top, self.zeek_key_searched) {
            (true, true) => {
                let (format, class, target) = ZEEK_READING;
                Reading::Strings {
                    format,
                    class,
                    target,
                }
            }
            (true, false) => Reading::ZeekIfSearched,
            (false, _) => Reading::Ecs,
        }
    }
}

/// Walks the syntax of `text`, a trimmed line starting with `{`.
/// Collects string values, integers and keys in `buffers`, in offsets of
/// `text`: for an EVE candidate, only the values of EVE keys that carry
/// observables. Rejects an EVE candidate whose object repeats an EVE
/// field. Rejects a string with a backslash or a byte outside printable
/// ASCII and DEL, and any such byte elsewhere, which the grammar does not
/// expect. The caller has checked that `text` has none and indexed its
/// quotes.
///
/// Most members have a string, number or literal value, so an inner
/// loop reads an object's members one after another. A member whose
/// value is an object or array, and the end of the object, go back to
/// the outer loop.
fn walk(text: &[u8], buffers: &mut ScreenBuffers, eve_candidate: bool) -> Option<Shape> {
    let ScreenBuffers {
        parents,
        integers,
        has_fraction,
        strings,
        keys,
        quotes,
        templates: _,
    } = buffers;
    let mut shape = Shape::default();
    let mut frame = Frame {
        is_object: true,
        eve_fields: 0,
        value_class: 0,
        skipped: false,
        value_skipped: false,
    };
    let mut position = 1;
    let mut expect = Expect::KeyOrObjectEnd;

    loop {
        // The root object is open: the text cannot end before it closes.
        let mut byte = *text.get(position)?;
        while byte == b' ' {
            position += 1;
            byte = *text.get(position)?;
        }
        match expect {
            Expect::Key | Expect::KeyOrObjectEnd => {
                if byte != b'"' {
                    if byte != b'}' || expect != Expect::KeyOrObjectEnd {
                        return None;
                    }
                    let Some(parent) = parents.pop() else {
                        return only_spaces_after(text, position + 1).then_some(shape);
                    };
                    frame = parent;
                    position += 1;
                    expect = Expect::CommaOrEnd;
                    continue;
                }
                // Reads one member per turn, from the quote at `position`.
                loop {
                    let key_end = masks::next_bit(quotes, position + 1)?;
                    let key = position + 1..key_end;
                    position = skip_spaces(text, key_end + 1);
                    if text.get(position) != Some(&b':') {
                        return None;
                    }
                    position = skip_spaces(text, position + 1);
                    let byte = *text.get(position)?;

                    // The roles of the key when it is at the top level.
                    let mut top_roles = 0;
                    // The keys of a skipped frame need no class. Neither
                    // do the keys of a number or literal once the line is
                    // known to be Zeek JSON, unless it may be EVE, whose
                    // reader rejects a repeated field of any value.
                    let needs_class = eve_candidate
                        || matches!(byte, b'"' | b'{' | b'[')
                        || !(shape.zeek_key_at_top && shape.zeek_key_searched);
                    if !frame.skipped && needs_class {
                        let info = keys.info(text, key);
                        if parents.is_empty() {
                            top_roles = info.roles;
                            shape.zeek_key_at_top |= info.roles & ZEEK_TOP != 0;
                        }
                        shape.zeek_key_searched |= info.roles & ZEEK_SEARCHED != 0;
                        // The EVE reader rejects a repeated field, and
                        // ignores other keys whether repeated or not.
                        if eve_candidate {
                            let bit = info.eve_field_bit();
                            if frame.eve_fields & bit != 0 {
                                return None;
                            }
                            frame.eve_fields |= bit;
                            frame.value_skipped = bit == 0;
                        }
                        frame.value_class = info.class;
                    }
                    position = match byte {
                        b'"' => {
                            let end = masks::next_bit(quotes, position + 1)?;
                            shape.event_type_string |= top_roles & EVENT_TYPE != 0;
                            if !eve_candidate || frame.value_class & EVE_VALUE != 0 {
                                strings.push((position + 1..end, frame.value_class));
                            }
                            end + 1
                        }
                        b'{' | b'[' => {
                            expect = Expect::Value;
                            break;
                        }
                        _ => scalar(text, position, integers, has_fraction)?,
                    };
                    position = skip_spaces(text, position);
                    match text.get(position) {
                        Some(b',') => {
                            position = skip_spaces(text, position + 1);
                            if text.get(position) != Some(&b'"') {
                                return None;
                            }
                        }
                        // The outer loop closes the object.
                        Some(b'}') => {
                            expect = Expect::CommaOrEnd;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            Expect::Value | Expect::ValueOrArrayEnd => match byte {
                b'"' => {
                    let end = masks::next_bit(quotes, position + 1)?;
                    if !eve_candidate || frame.value_class & EVE_VALUE != 0 {
                        strings.push((position + 1..end, frame.value_class));
                    }
                    position = end + 1;
                    expect = Expect::CommaOrEnd;
                }
                b'{' | b'[' => {
                    if parents.len() + 1 >= MAX_DEPTH {
                        return None;
                    }
                    let is_object = byte == b'{';
                    let skipped = frame.skipped || frame.value_skipped;
                    parents.push(frame);
                    frame = Frame {
                        is_object,
                        eve_fields: 0,
                        value_class: if skipped { 0 } else { frame.value_class },
                        skipped,
                        value_skipped: skipped,
                    };
                    position += 1;
                    expect = if is_object {
                        Expect::KeyOrObjectEnd
                    } else {
                        Expect::ValueOrArrayEnd
                    };
                }
                b']' if expect == Expect::ValueOrArrayEnd => {
                    // Only an array expects a value or its end, and the
                    // root is an object, so the array has a parent.
                    frame = parents.pop()?;
                    position += 1;
                    expect = Expect::CommaOrEnd;
                }
                _ => {
                    position = scalar(text, position, integers, has_fraction)?;
                    expect = Expect::CommaOrEnd;
                }
            },
            Expect::CommaOrEnd => match byte {
                b',' => {
                    position += 1;
                    expect = if frame.is_object {
                        Expect::Key
                    } else {
                        Expect::Value
                    };
                }
                b'}' | b']' => {
                    if frame.is_object != (byte == b'}') {
                        return None;
                    }
                    let Some(parent) = parents.pop() else {
                        return only_spaces_after(text, position + 1).then_some(shape);
                    };
                    frame = parent;
                    position += 1;
                }
                _ => return None,
            },
        }
    }
}

/// Returns the first position at or after `position` that is not a
/// space.
#[inline]
pub(crate) fn skip_spaces(text: &[u8], mut position: usize) -> usize {
    while text.get(position) == Some(&b' ') {
        position += 1;
    }
    position
}

/// Checks the number or literal at `position` and returns the position
/// after it. Records an integer's range in `integers`, and a fraction in
/// `has_fraction`. Returns `None` for a malformed value and for a number
/// that [`number`] rejects.
#[inline(always)]
pub(crate) fn scalar(
    text: &[u8],
    position: usize,
    integers: &mut Vec<Range<usize>>,
    has_fraction: &mut bool,
) -> Option<usize> {
    let (end, is_integer) = scalar_end(text, position)?;
    match is_integer {
        Some(true) => integers.push(position..end),
        Some(false) => *has_fraction = true,
        None => {}
    }
    Some(end)
}

/// Checks the number or literal at `position` as [`scalar`] does, and
/// returns the position after it with, for a number, whether it is an
/// integer.
#[inline(always)]
pub(crate) fn scalar_end(text: &[u8], position: usize) -> Option<(usize, Option<bool>)> {
    let rest = text.get(position..)?;
    let (length, is_integer) = match rest.first_chunk::<NUMBER_WINDOW>() {
        Some(window) if matches!(window[0], b'-' | b'0'..=b'9') => {
            let (length, is_integer) = number_in_window(window)?;
            (length, Some(is_integer))
        }
        Some(_) => (literal(rest)?, None),
        None if matches!(rest.first(), Some(b'-' | b'0'..=b'9')) => {
            let (length, is_integer) = number_by_bytes(rest)?;
            (length, Some(is_integer))
        }
        None => (literal(rest)?, None),
    };
    Some((position + length, is_integer))
}

/// Returns the length of the literal `true`, `false` or `null` that
/// `rest` starts with.
#[inline(always)]
fn literal(rest: &[u8]) -> Option<usize> {
    match rest.first()? {
        b't' if rest.first_chunk() == Some(b"true") => Some(4),
        b'f' if rest.first_chunk() == Some(b"false") => Some(5),
        b'n' if rest.first_chunk() == Some(b"null") => Some(4),
        _ => None,
    }
}

/// Returns true when `text` has only spaces from `position` on, as it must
/// after the root object closes.
fn only_spaces_after(text: &[u8], position: usize) -> bool {
    text.get(position..)
        .is_some_and(|rest| rest.iter().all(|&byte| byte == b' '))
}

/// Bytes that [`number_in_window`] reads: a number of [`MAX_NUMBER`]
/// bytes and the byte after it fit.
const NUMBER_WINDOW: usize = 32;

/// Checks the JSON number at the start of `window` from the mask of its
/// digits. Returns its length and whether it is an integer, or `None` for
/// a malformed number, one with an exponent, or one longer than
/// [`MAX_NUMBER`].
#[inline(always)]
fn number_in_window(window: &[u8; NUMBER_WINDOW]) -> Option<(usize, bool)> {
    let digits = masks::digits(window);
    let sign = usize::from(window[0] == b'-');
    let mut end = match window.get(sign)? {
        b'0' => sign + 1,
        b'1'..=b'9' => sign + (digits >> sign).trailing_ones() as usize,
        _ => return None,
    };
    // A number longer than the limit is rejected here, so `end` stays
    // inside the window.
    if end > MAX_NUMBER {
        return None;
    }
    let is_integer = window.get(end) != Some(&b'.');
    if !is_integer {
        let fraction = (digits >> (end + 1)).trailing_ones() as usize;
        if fraction == 0 {
            return None;
        }
        end += 1 + fraction;
        if end > MAX_NUMBER {
            return None;
        }
    }
    if matches!(window.get(end), Some(b'e' | b'E')) {
        return None;
    }
    Some((end, is_integer))
}

/// Checks the number at the start of `text` as [`number_in_window`] does,
/// one byte at a time, for a number near the end of a line.
fn number_by_bytes(text: &[u8]) -> Option<(usize, bool)> {
    let mut end = 0;
    if text.get(end) == Some(&b'-') {
        end += 1;
    }
    match text.get(end) {
        Some(b'0') => end += 1,
        Some(b'1'..=b'9') => {
            while text.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        _ => return None,
    }
    let mut is_integer = true;
    if text.get(end) == Some(&b'.') {
        end += 1;
        if !text.get(end).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while text.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        is_integer = false;
    }
    if matches!(text.get(end), Some(b'e' | b'E')) || end > MAX_NUMBER {
        return None;
    }
    Some((end, is_integer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_reads_numbers_and_literals() {
        let cases: [(&str, Option<usize>); 14] = [
            ("true,", Some(4)),
            ("false}", Some(5)),
            ("null", Some(4)),
            ("tru", None),
            ("nul}", None),
            ("fals", None),
            ("-0.25,", Some(5)),
            ("0123", Some(1)),
            ("12.", None),
            ("-", None),
            ("1e5", None),
            ("12345678901234567890,", Some(20)),
            ("123456789012345678901", None),
            ("x", None),
        ];
        for (text, expected) in cases {
            let mut integers = Vec::new();
            let mut has_fraction = false;
            assert_eq!(
                scalar(text.as_bytes(), 0, &mut integers, &mut has_fraction),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn scalar_window_agrees_with_bytes() {
        let alphabet = [b'-', b'0', b'1', b'9', b'.', b'e', b'E', b',', b'x'];
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = texts
                .iter()
                .filter(|text| text.len() == texts.last().map_or(0, Vec::len))
                .flat_map(|text| {
                    alphabet.iter().map(move |&byte| {
                        let mut longer = text.clone();
                        longer.push(byte);
                        longer
                    })
                })
                .collect();
            texts.extend(longer);
        }
        for digits in 1..=34 {
            for prefix in ["", "-"] {
                for suffix in ["", ".5", ".", ".25e", "e", "0"] {
                    texts.push(format!("{prefix}{}{suffix}", "7".repeat(digits)).into_bytes());
                    texts.push(format!("{prefix}1.{}{suffix}", "3".repeat(digits)).into_bytes());
                }
            }
        }
        for literal in ["true", "false", "null", "tru", "fals", "nul", "nulls", "t", "x"] {
            texts.push(literal.as_bytes().to_vec());
        }
        for text in texts {
            let expected = match text.first() {
                Some(b'-' | b'0'..=b'9') => {
                    number_by_bytes(&text).map(|(end, is_integer)| (end, Some(is_integer)))
                }
                _ => literal(&text).map(|end| (end, None)),
            };
            let mut padded = text.clone();
            padded.resize(text.len() + NUMBER_WINDOW, b' ');
            assert_eq!(
                scalar_end(&padded, 0),
                expected,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn unused_slots_contain_empty_key() {
        assert_eq!(classify(b""), KeyInfo::default());
        let mut cache = KeyCache::default();
        assert_eq!(cache.info(b"\"\":1", 1..1), KeyInfo::default());
    }

    #[test]
    fn key_cache_agrees_with_classify() {
        let mut keys: Vec<Vec<u8>> = eve::FIELDS.iter().map(|(name, _)| name.to_vec()).collect();
        for name in [
            "ts",
            "uid",
            "id.orig_h",
            "id.resp_h",
            "_path",
            "query",
            "host",
            "assigned_addr",
        ] {
            keys.push(name.as_bytes().to_vec());
        }
        // Keys of every length up to past the cached ones, some sharing
        // their first or last words.
        for length in 0..=40 {
            keys.push((0..length).map(|i| b'a' + (i % 26) as u8).collect());
            keys.push(
                (0..length)
                    .map(|i| if i == length / 2 { b'z' } else { b'a' })
                    .collect(),
            );
        }
        let mut cache = KeyCache::default();
        for round in 0..3 {
            for (index, key) in keys.iter().enumerate() {
                // The key alone, and the key inside a member.
                let mut member = b"\"".to_vec();
                member.extend_from_slice(key);
                member.extend_from_slice(b"\":\"value\"");
                let expected = classify(key);
                assert_eq!(
                    cache.info(key, 0..key.len()),
                    expected,
                    "round {round} key {index}"
                );
                assert_eq!(
                    cache.info(&member, 1..1 + key.len()),
                    expected,
                    "round {round} key {index}"
                );
            }
        }
    }
}
