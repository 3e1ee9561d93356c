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

use std::collections::HashMap;
use std::ops::Range;

use crate::zeek::{Key, is_address_column};
use crate::{eve, masks};

/// Maximum nesting of objects and arrays the screen follows.
const MAX_DEPTH: usize = 64;

/// Maximum length of a number the screen accepts, in bytes.
const MAX_NUMBER: usize = 20;

/// Most digits of an integer that ECS reads as text, so that its text is
/// the digits the line wrote (larger ones become floating point).
const MAX_ECS_INTEGER_DIGITS: usize = 18;

/// Most distinct keys whose class [`ScreenBuffers`] remembers.
const MAX_CACHED_KEYS: usize = 4096;

/// Key class bit: the EVE reader may read an observable from the key's
/// string values.
const EVE_VALUE: u8 = 1;
/// Key class bit: the Zeek JSON reader may read an observable from the
/// key's string values.
const ZEEK_VALUE: u8 = 2;
/// Class of a line read as ECS, whose reader may read any value.
const ECS_VALUE: u8 = 4;

/// An open object or array.
#[derive(Debug, Clone, Copy)]
struct Frame {
    is_object: bool,
    /// Index in [`ScreenBuffers::keys`] of the object's first key.
    keys_start: usize,
    /// One bit per key hash, to compare keys only on a possible repeat.
    key_bits: u64,
    /// Class of the key that string values in this frame belong to: the
    /// latest key of an object, the key of an array.
    value_class: u8,
}

/// Buffers reused from line to line.
#[derive(Debug, Default)]
pub(crate) struct ScreenBuffers {
    frames: Vec<Frame>,
    keys: Vec<Range<usize>>,
    integers: Vec<Range<usize>>,
    /// Whether the line has a number with a fraction.
    has_fraction: bool,
    /// String values with the class of their key.
    strings: Vec<(Range<usize>, u8)>,
    /// Classes of the keys seen so far.
    classes: HashMap<Box<[u8]>, u8, foldhash::fast::FixedState>,
    /// Positions of the line's quotes, one bit per byte.
    quotes: Vec<u64>,
}

impl ScreenBuffers {
    /// Returns the class of a key of a line that is not EVE: whether the
    /// Zeek reader may read an observable from its values.
    fn zeek_class_of(&mut self, key: &[u8]) -> u8 {
        if let Some(&class) = self.classes.get(key) {
            return class;
        }
        let class = zeek_class(key);
        if self.classes.len() < MAX_CACHED_KEYS {
            self.classes.insert(key.into(), class);
        }
        class
    }
}

fn zeek_class(key: &[u8]) -> u8 {
    let Ok(name) = std::str::from_utf8(key) else {
        return 0;
    };
    if Key::from_name(name).is_some_and(Key::may_carry_observable) || is_address_column(name) {
        ZEEK_VALUE
    } else {
        0
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

/// The top-level key whose value is read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopKey {
    EventType,
    Other,
}

/// Screens one line; see the module documentation. Pushes the ranges of
/// string values (and of integers, for ECS) to `values`, in `line`'s
/// offsets.
///
/// `eve_candidate` states whether the line contains `"event_type"`, and
/// `zeek_candidate` returns whether it contains one of the keys that the
/// decoder searches for Zeek.
pub(crate) fn screen(
    line: &[u8],
    eve_candidate: bool,
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

    buffers.frames.clear();
    buffers.keys.clear();
    buffers.integers.clear();
    buffers.strings.clear();
    buffers.has_fraction = false;
    if !masks::quotes(text, &mut buffers.quotes) {
        return None;
    }
    let shape = walk(text, buffers, eve_candidate)?;

    let (format, class) = if eve_candidate {
        // Only the values of EVE keys were kept.
        if !shape.event_type_string {
            return None;
        }
        ("suricata-eve", EVE_VALUE)
    } else if shape.zeek_key_at_top && zeek_candidate() {
        ("zeek-json", ZEEK_VALUE)
    } else {
        // ECS reads a number as its text, and the text of a fraction or of
        // a large integer is not always the digits the line wrote. The
        // length counts a minus sign, which errs towards a full decode.
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
        ("ecs", ECS_VALUE)
    };

    let selected = buffers
        .strings
        .iter()
        .filter(|(_, value_class)| value_class & class != 0 || class & ECS_VALUE != 0);
    values.extend(selected.map(|(range, _)| start + range.start..start + range.end));
    Some(format)
}

/// Facts [`walk`] found at the top level of a line.
#[derive(Debug, Default)]
struct Shape {
    /// `event_type` is a string.
    event_type_string: bool,
    /// One of the keys every Zeek log has is present.
    zeek_key_at_top: bool,
}

/// Walks the syntax of `text`, a trimmed line starting with `{`.
/// Collects string values, integers and keys in `buffers`, in offsets of
/// `text`: for an EVE candidate, only the values of EVE keys that carry
/// observables, and only the keys that are EVE field names. Rejects a
/// string with a backslash or a byte outside printable ASCII and DEL, and
/// any such byte elsewhere, which the grammar does not expect; the caller
/// has checked that `text` has none and indexed its quotes.
fn walk(text: &[u8], buffers: &mut ScreenBuffers, eve_candidate: bool) -> Option<Shape> {
    let mut position = 0;
    let mut expect = Expect::Value;
    let mut top_key = TopKey::Other;
    let mut shape = Shape::default();

    loop {
        while text.get(position) == Some(&b' ') {
            position += 1;
        }
        // The root object is open: the text cannot end before it closes.
        let &byte = text.get(position)?;
        match expect {
            Expect::Value | Expect::ValueOrArrayEnd => {
                if byte == b']' && expect == Expect::ValueOrArrayEnd {
                    position = close(buffers, false, position)?;
                    expect = Expect::CommaOrEnd;
                    continue;
                }
                let at_top = buffers.frames.len() == 1;
                match byte {
                    b'"' => {
                        let range = string(&buffers.quotes, position)?;
                        if at_top && top_key == TopKey::EventType {
                            shape.event_type_string = true;
                        }
                        position = range.end + 1;
                        let class = buffers.frames.last().map_or(0, |frame| frame.value_class);
                        if class != 0 || !eve_candidate {
                            buffers.strings.push((range, class));
                        }
                        expect = Expect::CommaOrEnd;
                    }
                    b'{' | b'[' => {
                        if buffers.frames.len() >= MAX_DEPTH {
                            return None;
                        }
                        let is_object = byte == b'{';
                        let value_class = buffers.frames.last().map_or(0, |frame| frame.value_class);
                        buffers.frames.push(Frame {
                            is_object,
                            keys_start: buffers.keys.len(),
                            key_bits: 0,
                            value_class,
                        });
                        position += 1;
                        expect = if is_object {
                            Expect::KeyOrObjectEnd
                        } else {
                            Expect::ValueOrArrayEnd
                        };
                    }
                    b'-' | b'0'..=b'9' => {
                        let (end, is_integer) = number(text, position)?;
                        if is_integer {
                            buffers.integers.push(position..end);
                        } else {
                            buffers.has_fraction = true;
                        }
                        position = end;
                        expect = Expect::CommaOrEnd;
                    }
                    b't' | b'f' | b'n' => {
                        let literal: &[u8] = match byte {
                            b't' => b"true",
                            b'f' => b"false",
                            _ => b"null",
                        };
                        if !text[position..].starts_with(literal) {
                            return None;
                        }
                        position += literal.len();
                        expect = Expect::CommaOrEnd;
                    }
                    _ => return None,
                }
            }
            Expect::Key | Expect::KeyOrObjectEnd => {
                if byte == b'}' && expect == Expect::KeyOrObjectEnd {
                    position = close(buffers, true, position)?;
                    if buffers.frames.is_empty() {
                        return only_spaces_after(text, position).then_some(shape);
                    }
                    expect = Expect::CommaOrEnd;
                    continue;
                }
                if byte != b'"' {
                    return None;
                }
                let range = string(&buffers.quotes, position)?;
                let key = &text[range.clone()];
                if buffers.frames.len() == 1 {
                    top_key = if key == b"event_type" {
                        TopKey::EventType
                    } else {
                        TopKey::Other
                    };
                    if matches!(key, b"ts" | b"uid" | b"id.orig_h" | b"id.resp_h" | b"_path") {
                        shape.zeek_key_at_top = true;
                    }
                }
                let class = if eve_candidate {
                    let key_class = eve::key_class(key);
                    // The EVE reader rejects a repeated field, and ignores
                    // other keys whether repeated or not.
                    if key_class.is_field {
                        add_key(text, buffers, range.clone())?;
                    }
                    if key_class.is_observable { EVE_VALUE } else { 0 }
                } else {
                    buffers.zeek_class_of(key)
                };
                if let Some(frame) = buffers.frames.last_mut() {
                    frame.value_class = class;
                }
                position = range.end + 1;
                while text.get(position) == Some(&b' ') {
                    position += 1;
                }
                if text.get(position) != Some(&b':') {
                    return None;
                }
                position += 1;
                expect = Expect::Value;
            }
            Expect::CommaOrEnd => {
                let is_object = buffers.frames.last()?.is_object;
                match byte {
                    b',' => {
                        position += 1;
                        expect = if is_object { Expect::Key } else { Expect::Value };
                    }
                    b'}' | b']' => {
                        position = close(buffers, byte == b'}', position)?;
                        if buffers.frames.is_empty() {
                            return only_spaces_after(text, position).then_some(shape);
                        }
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// Returns true when `text` has only spaces from `position` on, as it must
/// after the root object closes.
fn only_spaces_after(text: &[u8], position: usize) -> bool {
    text.get(position..)
        .is_some_and(|rest| rest.iter().all(|&byte| byte == b' '))
}

/// Returns the range of the string whose opening quote is at `position`,
/// without its quotes, from the quote positions of the line.
fn string(quotes: &[u64], position: usize) -> Option<Range<usize>> {
    let end = masks::next_bit(quotes, position + 1)?;
    Some(position + 1..end)
}

/// Records a key of the innermost object. Returns `None` when the object
/// already has it.
fn add_key(text: &[u8], buffers: &mut ScreenBuffers, range: Range<usize>) -> Option<()> {
    let key = &text[range.clone()];
    let hash = key.len() * 7
        + usize::from(key.first().copied().unwrap_or(0))
        + usize::from(key.last().copied().unwrap_or(0)) * 3;
    let bit = 1_u64 << (hash & 63);
    let frame = buffers.frames.last_mut()?;
    if frame.key_bits & bit != 0 {
        let earlier = buffers.keys.get(frame.keys_start..).unwrap_or_default();
        if earlier.iter().any(|seen| &text[seen.clone()] == key) {
            return None;
        }
    }
    frame.key_bits |= bit;
    buffers.keys.push(range);
    Some(())
}

/// Closes the innermost frame, which must be an object when `object` is
/// true and an array otherwise. Returns the position after the bracket.
fn close(buffers: &mut ScreenBuffers, object: bool, position: usize) -> Option<usize> {
    let frame = buffers.frames.pop()?;
    if frame.is_object != object {
        return None;
    }
    buffers.keys.truncate(frame.keys_start);
    Some(position + 1)
}

/// Checks the JSON number at `position`. Returns the position after it
/// and whether it is an integer, or `None` for a malformed number, one
/// with an exponent, or one longer than [`MAX_NUMBER`].
fn number(text: &[u8], position: usize) -> Option<(usize, bool)> {
    let mut end = position;
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
    if matches!(text.get(end), Some(b'e' | b'E')) || end - position > MAX_NUMBER {
        return None;
    }
    Some((end, is_integer))
}
