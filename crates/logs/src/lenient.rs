//! Serde field types that accept what real logs write instead of failing
//! the whole line.
//!
//! Log producers change the JSON type of a field between versions (a port
//! as number or string, a single value or an array, an object or `null`).
//! Each type here reads the expected shape, borrowing strings from the line
//! where serde_json allows it (no escapes), and yields "absent" for any
//! other shape, so one odd field costs only that field.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A string field, `None` when absent or of another JSON type.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Text<'l>(pub Option<Cow<'l, str>>);

/// A list of strings: a JSON array (non-string elements skipped) or a
/// single string read as a one-element list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TextList<'l>(pub Vec<Cow<'l, str>>);

/// A port: a JSON number or a numeric string from 0 to 65535.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Port(pub Option<u16>);

/// A scalar kept as the text the log wrote: a number's digits or a
/// string's content. `None` for `null`, booleans, objects and arrays.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Scalar<'l>(pub Option<Cow<'l, str>>);

/// A nested object read as `T`, `None` when the field is not an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Object<T>(pub Option<T>);

/// An array of objects read as `T`; elements that are not objects are
/// skipped, and a field that is not an array reads as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectList<T>(pub Vec<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Default for ObjectList<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

/// Implements the scalar `visit_*` methods of a visitor so that booleans,
/// numbers and `null` read as `$absent`.
macro_rules! absent_for_scalars {
    ($absent:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Reads one string, borrowed when serde_json can lend it.
struct CowStrVisitor;

impl<'de> Visitor<'de> for CowStrVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(value)))
    }

    // serde_json calls `visit_str` for a string with escapes, which it has
    // unescaped into a scratch buffer.
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(value)))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| None)
    }

    absent_for_scalars!(None);
}

impl<'de: 'l, 'l> Deserialize<'de> for Text<'l> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CowStrVisitor).map(Text)
    }
}

struct TextListVisitor;

impl<'de> Visitor<'de> for TextListVisitor {
    type Value = Vec<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of strings or a string")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Text(item)) = seq.next_element::<Text<'de>>()? {
            items.extend(item);
        }
        Ok(items)
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(vec![Cow::Borrowed(value)])
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(vec![Cow::Owned(value.to_owned())])
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(vec![Cow::Owned(value)])
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| Vec::new())
    }

    absent_for_scalars!(Vec::new());
}

impl<'de: 'l, 'l> Deserialize<'de> for TextList<'l> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextListVisitor).map(TextList)
    }
}

struct PortVisitor;

impl<'de> Visitor<'de> for PortVisitor {
    type Value = Option<u16>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a port number")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(u16::try_from(value).ok())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(u16::try_from(value).ok())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(parse_port(value.as_bytes()))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| None)
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PortVisitor).map(Port)
    }
}

/// Parses a decimal port of 1 to 5 digits; `None` for anything else,
/// including values above 65535.
#[inline]
pub(crate) fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut value: u32 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    u16::try_from(value).ok()
}

impl<'de: 'l, 'l> Deserialize<'de> for Scalar<'l> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <Option<&'de RawValue>>::deserialize(deserializer)?;
        Ok(Scalar(raw.and_then(scalar_text)))
    }
}

/// Returns the text of a raw JSON scalar: a string's unescaped content or
/// a number's digits as written.
fn scalar_text(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<Text<'_>>(text).ok()?.0,
        b'-' | b'0'..=b'9' => Some(Cow::Borrowed(text)),
        _ => None,
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    absent_for_scalars!(None);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

struct ObjectListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectListVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Object(item)) = seq.next_element::<Object<T>>()? {
            items.extend(item);
        }
        Ok(items)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| Vec::new())
    }

    absent_for_scalars!(Vec::new());
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ObjectListVisitor(PhantomData))
            .map(ObjectList)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Inner<'l> {
        #[serde(default, borrow)]
        name: Text<'l>,
    }

    #[derive(Debug, Deserialize)]
    struct Sample<'l> {
        #[serde(default, borrow)]
        text: Text<'l>,
        #[serde(default, borrow)]
        list: TextList<'l>,
        #[serde(default)]
        port: Port,
        #[serde(default, borrow)]
        scalar: Scalar<'l>,
        #[serde(default, borrow)]
        object: Object<Inner<'l>>,
        #[serde(default, borrow)]
        objects: ObjectList<Inner<'l>>,
    }

    fn parse(json: &str) -> Sample<'_> {
        match serde_json::from_str(json) {
            Ok(sample) => sample,
            Err(err) => panic!("{json}: {err}"),
        }
    }

    #[test]
    fn text_borrows_plain_strings() {
        let sample = parse(r#"{"text":"abc"}"#);
        assert!(matches!(sample.text.0, Some(Cow::Borrowed("abc"))));
    }

    #[test]
    fn text_unescapes_into_owned() {
        let sample = parse(r#"{"text":"a\"b"}"#);
        assert!(matches!(sample.text.0.as_deref(), Some("a\"b")));
        assert!(matches!(sample.text.0, Some(Cow::Owned(_))));
    }

    #[test]
    fn text_of_other_types_is_absent() {
        for json in [
            r#"{"text":1}"#,
            r#"{"text":null}"#,
            r#"{"text":true}"#,
            r#"{"text":[1,"a"]}"#,
            r#"{"text":{"a":1}}"#,
        ] {
            assert_eq!(parse(json).text, Text(None), "{json}");
        }
    }

    #[test]
    fn text_list_shapes() {
        assert_eq!(parse(r#"{"list":["a",1,"b"]}"#).list.0, ["a", "b"]);
        assert_eq!(parse(r#"{"list":"a"}"#).list.0, ["a"]);
        assert!(parse(r#"{"list":{"a":"b"}}"#).list.0.is_empty());
        assert!(parse(r#"{"list":null}"#).list.0.is_empty());
    }

    #[test]
    fn port_shapes() {
        let rows = [
            (r#"{"port":443}"#, Some(443)),
            (r#"{"port":"8080"}"#, Some(8080)),
            (r#"{"port":65535}"#, Some(65535)),
            (r#"{"port":65536}"#, None),
            (r#"{"port":-1}"#, None),
            (r#"{"port":"http"}"#, None),
            (r#"{"port":4.5}"#, None),
            (r#"{"port":[80]}"#, None),
        ];
        for (json, expected) in rows {
            assert_eq!(parse(json).port.0, expected, "{json}");
        }
    }

    #[test]
    fn scalar_keeps_number_text() {
        let rows = [
            (r#"{"scalar":1541117137.618695}"#, Some("1541117137.618695")),
            (r#"{"scalar":174463751733854}"#, Some("174463751733854")),
            (r#"{"scalar" :  12.5  , "text":"x"}"#, Some("12.5")),
            (r#"{"scalar":"a\u0062c"}"#, Some("abc")),
            (
                r#"{"scalar":"2018-03-24T17:15:20.865716Z"}"#,
                Some("2018-03-24T17:15:20.865716Z"),
            ),
            (r#"{"scalar":null}"#, None),
            (r#"{"scalar":true}"#, None),
            (r#"{"scalar":{"a":1}}"#, None),
        ];
        for (json, expected) in rows {
            assert_eq!(parse(json).scalar.0.as_deref(), expected, "{json}");
        }
    }

    #[test]
    fn scalar_works_from_slice() {
        let line = br#"{"scalar":12.5,"object":{"name":"x"}}"#;
        let sample: Sample<'_> = match serde_json::from_slice(line) {
            Ok(sample) => sample,
            Err(err) => panic!("{err}"),
        };
        assert_eq!(sample.scalar.0.as_deref(), Some("12.5"));
    }

    #[test]
    fn object_shapes() {
        let sample = parse(r#"{"object":{"name":"x","other":[1]}}"#);
        assert_eq!(
            sample.object.0.and_then(|inner| inner.name.0).as_deref(),
            Some("x")
        );
        assert!(parse(r#"{"object":"x"}"#).object.0.is_none());
        assert!(parse(r#"{"object":[{"name":"x"}]}"#).object.0.is_none());
    }

    #[test]
    fn object_list_skips_non_objects() {
        let sample = parse(r#"{"objects":[{"name":"a"},"b",{"name":"c"},7]}"#);
        let names: Vec<_> = sample
            .objects
            .0
            .iter()
            .filter_map(|inner| inner.name.0.as_deref())
            .collect();
        assert_eq!(names, ["a", "c"]);
        assert!(parse(r#"{"objects":{"name":"a"}}"#).objects.0.is_empty());
    }

    #[test]
    fn parse_port_bounds() {
        assert_eq!(parse_port(b"0"), Some(0));
        assert_eq!(parse_port(b"65535"), Some(65535));
        assert_eq!(parse_port(b"65536"), None);
        assert_eq!(parse_port(b"99999"), None);
        assert_eq!(parse_port(b"123456"), None);
        assert_eq!(parse_port(b""), None);
        assert_eq!(parse_port(b"8o"), None);
    }
}
