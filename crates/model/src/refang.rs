//! Refanging: turning defanged indicators back into live values.
//!
//! Threat reports write `hxxp://evil[.]example` so that no reader opens the
//! value by accident. Every value read from a feed passes through
//! [`refang`] before it is parsed.

use std::borrow::Cow;

/// Bracketed or parenthesised markers and what they stand for.
///
/// Matched case-insensitively. Longer markers come first so that `[://]`
/// wins over `[:]`.
const MARKERS: &[(&str, &str)] = &[
    ("[://]", "://"),
    ("(://)", "://"),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[at]", "@"),
    ("(at)", "@"),
    ("{at}", "@"),
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[:]", ":"),
    ("(:)", ":"),
    ("[/]", "/"),
    ("[@]", "@"),
    ("(@)", "@"),
];

/// Returns `value` with defanging undone.
///
/// Handles the marker forms `[.]`, `(.)`, `{.}`, `[dot]`, `[:]`, `[://]`,
/// `[/]`, `[@]` and `[at]` in any letter case, and a leading `hxxp` or
/// `hxxps` scheme in any letter case. A value with nothing to undo is
/// returned borrowed.
pub fn refang(value: &str) -> Cow<'_, str> {
    let needs_markers = value.bytes().any(|b| matches!(b, b'[' | b'(' | b'{'));
    let needs_scheme = starts_with_hxxp(value);
    if !needs_markers && !needs_scheme {
        return Cow::Borrowed(value);
    }

    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    if needs_scheme {
        // "hxxp", "hXXp" and "HXXPS" become "http" and "https".
        out.push_str("http");
        rest = &rest[4..];
        if let Some(after) = rest.strip_prefix(['s', 'S']) {
            out.push('s');
            rest = after;
        }
    }
    while !rest.is_empty() {
        let replaced = MARKERS.iter().find_map(|(marker, live)| {
            let head = rest.get(..marker.len())?;
            head.eq_ignore_ascii_case(marker).then_some((marker.len(), *live))
        });
        match replaced {
            Some((len, live)) => {
                out.push_str(live);
                rest = &rest[len..];
            }
            None => {
                let Some(ch) = rest.chars().next() else { break };
                out.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    Cow::Owned(out)
}

/// True when `value` starts with a defanged `hxxp` scheme in any letter
/// case.
pub(crate) fn starts_with_hxxp(value: &str) -> bool {
    value
        .get(..4)
        .is_some_and(|head| head.eq_ignore_ascii_case("hxxp"))
}

#[cfg(test)]
mod tests {
    use super::refang;

    #[test]
    fn refang_table() {
        let rows = [
            ("evil.example", "evil.example"),
            ("evil[.]example", "evil.example"),
            ("evil(.)example", "evil.example"),
            ("evil{.}example", "evil.example"),
            ("evil[dot]example", "evil.example"),
            ("evil[DOT]example", "evil.example"),
            ("hxxp://evil.example/a", "http://evil.example/a"),
            ("hXXps://evil.example/a", "https://evil.example/a"),
            ("HXXPS[://]evil[.]example[/]a", "https://evil.example/a"),
            ("hxxps[:]//evil.example", "https://evil.example"),
            ("user[@]mail[.]example", "user@mail.example"),
            ("user[at]mail.example", "user@mail.example"),
            ("198.51.100[.]7", "198.51.100.7"),
            ("[2001:db8::1]", "[2001:db8::1]"),
        ];
        for (input, expected) in rows {
            assert_eq!(refang(input), expected, "refang({input:?})");
        }
    }

    #[test]
    fn refang_keeps_unicode() {
        assert_eq!(refang("bücher[.]example"), "bücher.example");
    }
}
