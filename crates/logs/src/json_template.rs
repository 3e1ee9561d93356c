//! Templates of the lines that the JSON screen accepted, which let it
//! screen a line of the same skeleton without walking its syntax.
//!
//! The skeleton of a line is what lies between its values: the braces,
//! brackets, commas, colons, spaces and keys, with the quotes around
//! string values. A log writer produces few skeletons, since its events
//! of one kind carry the same keys in the same order. A template keeps a
//! skeleton as segments of bytes, one before each value, and for each
//! value whether it is a string or a number or literal, and which class
//! the walk gave a string.
//!
//! The skeleton decides the format of an EVE or Zeek JSON line, and which
//! of its strings are tested against the indicators. The template of such
//! a line marks those strings, so a replay gives the values to test
//! without the screen selecting them again.
//!
//! A line follows a template when each segment is found at its place and
//! each value between them is well formed: a string ends at the next
//! quote, and a number or literal passes the walk's own check. Such a line
//! is JSON of the same structure as the template's line, with the same
//! keys and the same kinds of values, so the walk would find the same
//! facts about it and keep the same strings. Replaying the template gives
//! them from byte compares of the segments and the checks of the values.
//! Nothing is trusted to a hash: the hash of a line only picks which
//! templates to try.

use std::ops::Range;

use crate::json_screen::{Reading, Shape, StringUse, scalar, scalar_end, skip_spaces, string_use};
use crate::masks;
use crate::zeek::target_is_path;

/// The key that makes a line a candidate for EVE.
const EVENT_TYPE: &[u8; 10] = b"event_type";

/// Number of sets of templates, a power of two.
const SETS: usize = 256;

/// Templates per set, tried from the most recently used.
const WAYS: usize = 4;

/// Maximum length of a line that becomes a template, in bytes.
const MAX_LINE: usize = 8 * 1024;

/// Maximum memory the templates of one decoder take, in bytes. A new
/// template that would pass it is not built, so that lines of ever new
/// skeletons (long arrays of varying length, say) cannot fill memory.
const MAX_MEMORY: usize = 8 * 1024 * 1024;

/// Templates built before the cache must pay its way: after these, a new
/// template needs [`HITS_PER_BUILD`] replays per template built so far.
const FREE_BUILDS: u64 = 256;

/// Replays per template built that keep the cache building templates.
/// Lines of ever new skeletons then cost a walk and little more.
const HITS_PER_BUILD: u64 = 8;

/// A value of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// A string, and what a replay does with it.
    String(Pick),
    /// A number or a literal.
    Scalar,
}

/// The handling of a string value in a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// Ignored: the walk does not keep it, or the format of the template
    /// does not read it.
    Skip,
    /// Keeps it with the class of its key, as the walk does, for a
    /// template without a format.
    Keep(u8),
    /// Gives it as a value to test.
    Read,
    /// Gives it as a value to test unless it is a path.
    ReadTarget,
}

/// A segment of a template and the value after it.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The first [`HEAD`] bytes of the segment, padded with zeros, and
    /// the mask of the bytes that belong to it, for a compare in registers.
    head: [u128; 2],
    mask: [u128; 2],
    /// Offset of the segment in [`Template::bytes`].
    start: u32,
    /// Length of the segment.
    length: u32,
    value: Value,
}

impl Slot {
    fn new(segment: &[u8], start: u32, value: Value) -> Option<Self> {
        let mut padded = [0_u8; HEAD];
        let head_length = segment.len().min(HEAD);
        padded
            .get_mut(..head_length)?
            .copy_from_slice(segment.get(..head_length)?);
        let (low, high) = halves(&padded);
        let mask_of = |bytes: usize| match bytes {
            0 => 0,
            1..=15 => u128::MAX >> (8 * (16 - bytes)),
            _ => u128::MAX,
        };
        Some(Self {
            head: [low, high],
            mask: [mask_of(head_length), mask_of(head_length.saturating_sub(16))],
            start,
            length: u32::try_from(segment.len()).ok()?,
            value,
        })
    }
}

/// Bytes of a segment that a [`Slot`] keeps in registers.
const HEAD: usize = 32;

/// Returns the two halves of `chunk` as little-endian numbers.
#[inline(always)]
fn halves(chunk: &[u8; HEAD]) -> (u128, u128) {
    let (low, high) = chunk.split_at(16);
    let number = |half: &[u8]| u128::from_le_bytes(half.try_into().unwrap_or([0; 16]));
    (number(low), number(high))
}

/// The skeleton of a line the walk accepted; see the module documentation.
#[derive(Debug)]
struct Template {
    /// Whether the line contained `"event_type"`, which changes what the
    /// walk checks and keeps.
    eve_candidate: bool,
    /// Whether a key of the skeleton is `event_type`. A line of the
    /// skeleton contains `"event_type"` when this is set or a string value
    /// is `event_type`: quotes only delimit strings, and the bytes between
    /// two strings (punctuation, spaces, numbers and literals) never have
    /// an underscore.
    key_event_type: bool,
    /// Whether screening a line of the skeleton reads its integers and
    /// fractions, as [`Shape::reads_numbers`] returns it.
    reads_numbers: bool,
    /// The segments one after another.
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    /// The segment after the last value, whose value is unused.
    last: Slot,
    /// The facts the walk found about the line.
    shape: Shape,
    /// The format of every line of the skeleton, when the skeleton alone
    /// decides it and which strings are read. The slots then pick the
    /// strings to test, and a replay gives the values at once.
    format: Option<&'static str>,
}

impl Template {
    /// Returns the memory the template takes, in bytes.
    fn memory(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.bytes.capacity()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
    }

    /// Builds the template of `text`, which the walk accepted with `shape`
    /// and `strings`. Returns `None` for a line too long or otherwise not
    /// worth keeping.
    fn build(
        text: &[u8],
        quotes: &[u64],
        strings: &[(Range<usize>, u8)],
        shape: Shape,
        eve_candidate: bool,
    ) -> Option<Self> {
        if text.len() > MAX_LINE {
            return None;
        }
        let mut bytes = Vec::with_capacity(text.len());
        let mut slots = Vec::new();
        let mut walk_strings = strings.iter().peekable();
        let reading = shape.reading(eve_candidate);
        let mut segment = 0;
        let mut position = 0;
        // Integers found while skipping scalars, which the template does
        // not need.
        let mut integers = Vec::new();
        let mut has_fraction = false;
        let mut key_event_type = false;
        let mut value_event_type = false;

        let mut push = |bytes: &mut Vec<u8>, range: Range<usize>, value: Value| {
            let start = u32::try_from(bytes.len()).ok()?;
            let segment = text.get(range)?;
            bytes.extend_from_slice(segment);
            slots.push(Slot::new(segment, start, value)?);
            Some(())
        };

        // The walk accepted the line, so outside strings every byte that
        // is not punctuation or a space starts a number or a literal.
        while let Some(&byte) = text.get(position) {
            match byte {
                b'"' => {
                    let end = masks::next_bit(quotes, position + 1)?;
                    let content = position + 1;
                    let is_event_type = text.get(content..end) == Some(EVENT_TYPE.as_slice());
                    if text.get(skip_spaces(text, end + 1)) == Some(&b':') {
                        key_event_type |= is_event_type;
                        position = end + 1;
                        continue;
                    }
                    value_event_type |= is_event_type;
                    let pick = match walk_strings.peek() {
                        Some((range, class)) if range.start == content => {
                            let class = *class;
                            walk_strings.next();
                            match reading {
                                Reading::Strings {
                                    class: read, target, ..
                                } => match string_use(class, read, target) {
                                    StringUse::Skipped => Pick::Skip,
                                    StringUse::Read => Pick::Read,
                                    StringUse::ReadUnlessPath => Pick::ReadTarget,
                                },
                                _ => Pick::Keep(class),
                            }
                        }
                        _ => Pick::Skip,
                    };
                    let value = Value::String(pick);
                    push(&mut bytes, segment..content, value)?;
                    segment = end;
                    position = end + 1;
                }
                b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                    let end = scalar(text, position, &mut integers, &mut has_fraction)?;
                    push(&mut bytes, segment..position, Value::Scalar)?;
                    segment = end;
                    position = end;
                }
                _ => position += 1,
            }
        }
        // Every string the walk kept is a value of the template, and the
        // search for `"event_type"` agrees with the skeleton.
        if walk_strings.next().is_some() || eve_candidate != (key_event_type || value_event_type) {
            return None;
        }

        let rest = text.get(segment..)?;
        let last = Slot::new(rest, u32::try_from(bytes.len()).ok()?, Value::Scalar)?;
        bytes.extend_from_slice(rest);
        Some(Self {
            eve_candidate,
            key_event_type,
            reads_numbers: shape.reads_numbers(eve_candidate),
            bytes,
            slots,
            last,
            shape,
            format: match reading {
                Reading::Strings { format, .. } => Some(format),
                _ => None,
            },
        })
    }

    /// Reads `text`, which starts at `start` in its line, along the
    /// template. A template with a format pushes the ranges of the values
    /// to test, in offsets of the line, to `values`, and returns the
    /// format. Another pushes the strings the walk would keep to
    /// `strings`, and, when the screen reads them, the integers and
    /// fractions to `integers` and `has_fraction`, and returns the walk's
    /// shape and whether `text` contains `"event_type"`. Returns `None`
    /// when `text` does not follow the template or differs from its line
    /// in containing `"event_type"`. The buffers may then hold part of its
    /// values.
    #[inline]
    fn replay(
        &self,
        text: &[u8],
        start: usize,
        quotes: &[u64],
        buffers: &mut ReplayBuffers<'_>,
    ) -> Option<Replayed> {
        let mut position = 0;
        let mut value_event_type = false;
        for slot in &self.slots {
            position = self.follow(text, position, slot)?;
            match slot.value {
                Value::String(pick) => {
                    let end = masks::next_bit(quotes, position)?;
                    // With `event_type` as a key, a value cannot change
                    // whether the line contains it.
                    if !self.key_event_type {
                        value_event_type |= end - position == EVENT_TYPE.len()
                            && text.get(position..end) == Some(EVENT_TYPE.as_slice());
                    }
                    match pick {
                        Pick::Skip => {}
                        Pick::Keep(class) => buffers.strings.push((position..end, class)),
                        Pick::ReadTarget if text.get(position..end).is_some_and(target_is_path) => {}
                        Pick::Read | Pick::ReadTarget => buffers.values.push(start + position..start + end),
                    }
                    position = end;
                }
                Value::Scalar if self.reads_numbers => {
                    position = scalar(text, position, buffers.integers, buffers.has_fraction)?
                }
                Value::Scalar => position = scalar_end(text, position)?.0,
            }
        }
        let end = self.follow(text, position, &self.last)?;
        let eve_candidate = self.key_event_type || value_event_type;
        if end != text.len() || eve_candidate != self.eve_candidate {
            return None;
        }
        Some(match self.format {
            Some(format) => Replayed::Screened(format),
            None => Replayed::Read(self.shape, eve_candidate),
        })
    }

    /// Returns the position after the segment of `slot` when `text` has
    /// it at `position`. Compares the first [`HEAD`] bytes in registers
    /// where the line has that many left.
    #[inline(always)]
    fn follow(&self, text: &[u8], position: usize, slot: &Slot) -> Option<usize> {
        let length = slot.length as usize;
        let end = position + length;
        // Most segments fit the first half of the head.
        if length <= HEAD / 2
            && let Some(chunk) = text.get(position..).and_then(<[u8]>::first_chunk::<{ HEAD / 2 }>)
        {
            let differences = (u128::from_le_bytes(*chunk) ^ slot.head[0]) & slot.mask[0];
            return (differences == 0).then_some(end);
        }
        let same = match text.get(position..).and_then(<[u8]>::first_chunk::<HEAD>) {
            Some(chunk) => {
                let (low, high) = halves(chunk);
                let differences =
                    ((low ^ slot.head[0]) & slot.mask[0]) | ((high ^ slot.head[1]) & slot.mask[1]);
                differences == 0 && (length <= HEAD || self.same_rest(text, position, slot))
            }
            None => {
                let start = slot.start as usize;
                text.get(position..end) == self.bytes.get(start..start + length)
            }
        };
        same.then_some(end)
    }

    /// Compares the bytes of the segment of `slot` past its head.
    #[cold]
    fn same_rest(&self, text: &[u8], position: usize, slot: &Slot) -> bool {
        let (start, length) = (slot.start as usize, slot.length as usize);
        text.get(position + HEAD..position + length) == self.bytes.get(start + HEAD..start + length)
    }
}

/// The result of a replay; see [`Template::replay`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Replayed {
    /// The format of the line, with the values to test given.
    Screened(&'static str),
    /// The walk's shape and whether the line contains `"event_type"`,
    /// with the strings and integers given.
    Read(Shape, bool),
}

/// The buffers a replay fills.
pub(crate) struct ReplayBuffers<'a> {
    /// The strings the walk would keep, with the classes of their keys.
    pub(crate) strings: &'a mut Vec<(Range<usize>, u8)>,
    /// The integers, when the screen reads them.
    pub(crate) integers: &'a mut Vec<Range<usize>>,
    /// Whether a number has a fraction, when the screen reads numbers.
    pub(crate) has_fraction: &'a mut bool,
    /// The values to test, in offsets of the line.
    pub(crate) values: &'a mut Vec<Range<usize>>,
}

/// The templates of one decoder, in sets picked by a hash of a line's
/// quote count and first bytes; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Templates {
    /// [`SETS`] sets of [`WAYS`] templates each, allocated on first use.
    sets: Vec<[Option<Box<Template>>; WAYS]>,
    /// Lines read along a template.
    hits: u64,
    /// Templates built.
    builds: u64,
    /// Memory the templates take, in bytes, as [`Template::memory`]
    /// counts it.
    memory: usize,
}

/// The hash that picks a line's set of templates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineKey(usize);

impl LineKey {
    /// Returns the key of `text`, which has `quotes` quotes: that number
    /// and the first eight bytes.
    #[inline]
    pub(crate) fn new(text: &[u8], quotes: u32) -> Self {
        let count = quotes;
        let head = text
            .first_chunk::<8>()
            .map_or(0, |head| u64::from_le_bytes(*head));
        let mixed = u64::from(count) ^ head.rotate_left(17);
        Self((mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as usize & (SETS - 1))
    }
}

impl Templates {
    /// Returns how many lines were read along a template.
    #[cfg(test)]
    pub(crate) fn hits(&self) -> u64 {
        self.hits
    }

    /// Returns the memory the templates take, in bytes.
    #[cfg(test)]
    pub(crate) fn memory(&self) -> usize {
        self.memory
    }

    /// Reads `text`, which starts at `start` in its line, along the
    /// templates of its set, the most recently used first. Returns the
    /// result of [`Template::replay`] for the first template that `text`
    /// follows, or `None` with the buffers unchanged.
    pub(crate) fn replay(
        &mut self,
        key: LineKey,
        text: &[u8],
        start: usize,
        quotes: &[u64],
        mut buffers: ReplayBuffers<'_>,
    ) -> Option<Replayed> {
        let set = self.sets.get_mut(key.0)?;
        let lengths = (
            buffers.strings.len(),
            buffers.integers.len(),
            *buffers.has_fraction,
            buffers.values.len(),
        );
        for way in 0..WAYS {
            let Some(template) = &set[way] else {
                break;
            };
            if let Some(replayed) = template.replay(text, start, quotes, &mut buffers) {
                set[..=way].rotate_right(1);
                self.hits += 1;
                return Some(replayed);
            }
            let (kept, counted, fraction, values) = lengths;
            buffers.strings.truncate(kept);
            buffers.integers.truncate(counted);
            *buffers.has_fraction = fraction;
            buffers.values.truncate(values);
        }
        None
    }

    /// Keeps the template of `text`, which the walk accepted with `shape`
    /// and `strings`, as the most recently used of its set.
    pub(crate) fn learn(
        &mut self,
        key: LineKey,
        text: &[u8],
        quotes: &[u64],
        strings: &[(Range<usize>, u8)],
        shape: Shape,
        eve_candidate: bool,
    ) {
        if self.builds >= FREE_BUILDS && self.hits < self.builds * HITS_PER_BUILD {
            return;
        }
        let Some(template) = Template::build(text, quotes, strings, shape, eve_candidate) else {
            return;
        };
        if self.sets.is_empty() {
            self.sets.resize_with(SETS, Default::default);
        }
        let Some(set) = self.sets.get_mut(key.0) else {
            return;
        };
        // The least recently used template of the set makes room.
        let evicted = set[WAYS - 1].as_ref().map_or(0, |evicted| evicted.memory());
        let memory = self.memory - evicted + template.memory();
        if memory > MAX_MEMORY {
            return;
        }
        self.memory = memory;
        self.builds += 1;
        set.rotate_right(1);
        set[0] = Some(Box::new(template));
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Range;
    use std::path::{Path, PathBuf};

    use crate::Decoder;
    use crate::json::JsonDecoder;

    /// Screens `line` with `decoder`, and with a new decoder that has no
    /// template, and returns both results.
    fn both(decoder: &mut JsonDecoder, line: &[u8]) -> [(Option<&'static str>, Vec<Range<usize>>); 2] {
        let mut warm = Vec::new();
        let warm_format = decoder.screen(line, &mut warm);
        let mut cold = Vec::new();
        let cold_format = JsonDecoder::new().screen(line, &mut cold);
        [(warm_format, warm), (cold_format, cold)]
    }

    /// Lines of several skeletons: EVE with nested arrays, Zeek JSON, ECS
    /// with integers, spaces between tokens, literals.
    const LINES: [&str; 9] = [
        r#"{"timestamp":"2024-03-01T00:00:00.000037+0000","flow_id":1084319709991935,"event_type":"dns","src_ip":"10.0.1.53","src_port":53,"dest_ip":"10.38.17.100","dns":{"version":2,"qr":true,"rrname":"sync.example.test","answers":[{"rrname":"sync.example.test","ttl":345,"rdata":"151.54.5.147"}],"grouped":{"A":["151.54.5.147","13.192.236.62"]}}}"#,
        r#"{"timestamp":"2024-03-01T00:00:00.000317+0000","event_type":"flow","src_ip":"10.21.24.41","dest_ip":"206.115.183.71","flow":{"pkts_toserver":8,"start":"2024-02-29T23:58:21.000317+0000","alerted":false},"tcp":{"syn":true,"state":"closed"}}"#,
        r#"{"ts":1709251200.001002,"uid":"CeK2xlpvqE2jDQ0Lgx","id.orig_h":"10.6.139.140","id.orig_p":42419,"id.resp_h":"142.172.109.190","id.resp_p":443,"proto":"tcp","duration":0.067159,"local_orig":true,"history":"ShADadFf","tunnel_parents":[]}"#,
        r#"{"_path":"http","ts":1709251200.5,"uid":"C1","host":"files.example.test","uri":"/a/b?c=d","tags":["x","y"],"status_code":200}"#,
        r#"{"@timestamp":"2024-03-01T00:00:00Z","source":{"ip":"10.0.0.1","port":5353},"destination":{"ip":"192.0.2.1","bytes":123456789012},"url":{"full":"http://a.example/"},"score":-5,"ok":null}"#,
        r#"{ "event_type" : "http" , "src_ip" : "10.0.0.3" , "http" : { "hostname" : "h.example" , "length" : 0 } }"#,
        r#"{"event_type":"http","src_ip":"10.0.0.5","http":{"hostname":"h.example","url":"/index.html","http_refer":"http://r.example/"}}"#,
        r#"{"_path":"http","ts":1709251200.5,"uid":"C2","id.orig_h":"10.0.0.6","host":"x.example","uri":"http://x.example/a","referrer":"/b"}"#,
        r#"{"event_type":"alert","src_ip":"10.0.0.4","dest_ip":"198.51.100.9","alert":{"signature":"ET x","signature_id":2000001,"metadata":{"tag":["a","b"]}},"tls":{"sni":"evil.example","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865"}}}"#,
    ];

    /// Bytes that change a line's syntax or kind of value.
    const EDITS: &[u8] = b"\"\\,:{}[] -.0159aeEftnx\t\x01\x7f\xc3";

    #[test]
    fn templates_agree_with_walk_on_every_edit() {
        let mut decoder = JsonDecoder::new();
        for line in LINES {
            let line = line.as_bytes();
            let [warm, cold] = both(&mut decoder, line);
            assert_eq!(warm, cold, "{}", String::from_utf8_lossy(line));
            assert!(cold.0.is_some(), "{}", String::from_utf8_lossy(line));
            let hits = decoder.template_hits();
            let [warm, cold] = both(&mut decoder, line);
            assert_eq!(warm, cold);
            assert_eq!(
                decoder.template_hits(),
                hits + 1,
                "{}",
                String::from_utf8_lossy(line)
            );

            let mut edits = Vec::new();
            for position in 0..=line.len() {
                for &byte in EDITS {
                    let mut replaced = line.to_vec();
                    if position < line.len() {
                        replaced[position] = byte;
                        edits.push(replaced);
                    }
                    let mut inserted = line.to_vec();
                    inserted.insert(position, byte);
                    edits.push(inserted);
                }
                if position < line.len() {
                    let mut removed = line.to_vec();
                    removed.remove(position);
                    edits.push(removed);
                }
            }
            for edited in edits {
                // The template of the line itself is the most recent one.
                decoder.screen(line, &mut Vec::new());
                let [warm, cold] = both(&mut decoder, &edited);
                assert_eq!(warm, cold, "{}", String::from_utf8_lossy(&edited));
            }
        }
    }

    #[test]
    fn templates_agree_with_walk_on_changed_values() {
        let mut decoder = JsonDecoder::new();
        let values = [
            "1",
            "-0",
            "0.5",
            "12345678901234567890",
            "123456789012345678901",
            "1e5",
            "01",
            "true",
            "false",
            "null",
            "\"\"",
            "\"text\"",
            "\"a b\"",
            "[]",
            "{}",
            "[1]",
            "\"x\\\"y\"",
            "\"event_type\"",
            "\"event_typ\"",
        ];
        for template in [
            r#"{"event_type":"dns","src_ip":"10.0.0.1","dest_port":V,"dns":{"rrname":V}}"#,
            r#"{"ts":V,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":V,"n":[V,V]}"#,
            r#"{"a":V,"b":{"c":V},"d":[V]}"#,
            r#"{"event_type":V,"src_ip":"10.0.0.1","x":{"event_type":V}}"#,
        ] {
            for first in values {
                for second in values {
                    let line = template.replacen('V', first, 1).replace('V', second);
                    let [warm, cold] = both(&mut decoder, line.as_bytes());
                    assert_eq!(warm, cold, "{line}");
                }
            }
        }
        assert!(decoder.template_hits() > 0);
    }

    #[test]
    fn templates_stay_within_memory_bound() {
        let mut decoder = JsonDecoder::new();
        // Every line has a new skeleton, with one more string in an array
        // of at least a thousand, about 100 KB a template. The quote count
        // differs, so each line picks another set of templates.
        let mut line = String::from(r#"{"event_type":"flow","src_ip":"10.0.0.1","n":["x""#);
        line.push_str(&r#","x""#.repeat(1000));
        for _ in 0..200 {
            line.push_str(r#","x""#);
            let mut text = line.clone();
            text.push_str("]}");
            let mut values = Vec::new();
            assert_eq!(decoder.screen(text.as_bytes(), &mut values), Some("suricata-eve"));
            assert!(decoder.template_memory() <= super::MAX_MEMORY);
        }
        // The bound, and not the number of templates, stopped the builds.
        assert!(decoder.template_memory() > super::MAX_MEMORY * 3 / 4);
    }

    fn json_logs(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                json_logs(&path, found);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "json" || extension == "log")
            {
                found.push(path);
            }
        }
    }

    #[test]
    fn templates_agree_with_walk_on_real_logs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        if !dir.is_dir() {
            eprintln!("skipped: ../shared/data not found (looked in {})", dir.display());
            return;
        }
        let mut files = Vec::new();
        json_logs(&dir, &mut files);
        files.sort();
        let mut screened: u64 = 0;
        let mut hits = 0;
        for path in files {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if !bytes.starts_with(b"{") {
                continue;
            }
            let mut decoder = JsonDecoder::new();
            for line in bytes.split(|&b| b == b'\n') {
                let [warm, cold] = both(&mut decoder, line);
                assert_eq!(
                    warm,
                    cold,
                    "{}: {}",
                    path.display(),
                    String::from_utf8_lossy(line)
                );
                screened += u64::from(cold.0.is_some());
            }
            eprintln!(
                "{}: {} lines read along a template",
                path.display(),
                decoder.template_hits()
            );
            hits += decoder.template_hits();
        }
        eprintln!("{hits} of {screened} screened lines read along a template");
        assert!(
            hits * 2 > screened,
            "only {hits} of {screened} screened lines read along a template"
        );
    }
}
