//! Format names, for configuration files and command-line options.
//!
//! | name | format |
//! |---|---|
//! | `auto` | detected from each file's first lines ([`crate::detect_format`]) |
//! | `zeek-tsv` | [`Format::ZeekTsv`] |
//! | `json` | [`Format::Json`] |
//! | `syslog` | [`Format::Syslog`]: any body, decided per line |
//! | `netfilter`, `filterlog`, `panos`, `cef`, `kv` | [`Format::SyslogBody`]: syslog lines with that body only |
//! | `syslog-json` | [`Format::SyslogBody`] with [`SyslogBody::Json`]: JSON after a syslog header |

use std::fmt;
use std::str::FromStr;

use crate::{Format, SyslogBody, detect_format};

impl Format {
    /// Every format, in the order their names are listed.
    pub const ALL: [Format; 9] = [
        Format::ZeekTsv,
        Format::Json,
        Format::Syslog,
        Format::SyslogBody(SyslogBody::Netfilter),
        Format::SyslogBody(SyslogBody::Filterlog),
        Format::SyslogBody(SyslogBody::Panos),
        Format::SyslogBody(SyslogBody::Cef),
        Format::SyslogBody(SyslogBody::Kv),
        Format::SyslogBody(SyslogBody::Json),
    ];

    /// Returns the name that [`Format::from_str`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Format::ZeekTsv => "zeek-tsv",
            Format::Json => "json",
            Format::Syslog => "syslog",
            Format::SyslogBody(SyslogBody::Json) => "syslog-json",
            Format::SyslogBody(body) => body.name(),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {name:?}; valid names are auto, {}", valid_names())]
pub struct UnknownFormat {
    /// The name as given.
    pub name: String,
}

fn valid_names() -> String {
    let names: Vec<&str> = Format::ALL.iter().map(|format| format.name()).collect();
    names.join(", ")
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Reads a format name, ignoring case and surrounding spaces.
    /// `auto` is no format: read it as a [`DecoderChoice`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let requested = name.trim();
        Format::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(requested))
            .ok_or_else(|| UnknownFormat {
                name: name.to_owned(),
            })
    }
}

/// The choice of decoder for a log: detected per file, or fixed by
/// configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DecoderChoice {
    /// Detect the format from each file's first lines.
    #[default]
    Auto,
    /// Read every file as this format.
    Fixed(Format),
}

impl DecoderChoice {
    /// Returns the format for a file whose first bytes are `head`: the
    /// fixed one, or the detected one (`None` when no line decides).
    pub fn resolve(self, head: &[u8]) -> Option<Format> {
        match self {
            DecoderChoice::Auto => detect_format(head),
            DecoderChoice::Fixed(format) => Some(format),
        }
    }
}

impl FromStr for DecoderChoice {
    type Err = UnknownFormat;

    /// Reads `auto` or a [`Format`] name, ignoring case and surrounding
    /// spaces.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.trim().eq_ignore_ascii_case("auto") {
            return Ok(DecoderChoice::Auto);
        }
        name.parse().map(DecoderChoice::Fixed)
    }
}

impl fmt::Display for DecoderChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecoderChoice::Auto => f.write_str("auto"),
            DecoderChoice::Fixed(format) => format.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new_decoder;

    #[test]
    fn names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>(), Ok(format));
            assert_eq!(
                format.to_string().parse::<DecoderChoice>(),
                Ok(DecoderChoice::Fixed(format))
            );
        }
        assert_eq!(" Auto ".parse::<DecoderChoice>(), Ok(DecoderChoice::Auto));
        assert_eq!("CEF".parse::<Format>(), Ok(Format::SyslogBody(SyslogBody::Cef)));
        assert_eq!(DecoderChoice::Auto.to_string(), "auto");
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let message = "leef".parse::<DecoderChoice>().unwrap_err().to_string();
        assert_eq!(
            message,
            "unknown log format \"leef\"; valid names are auto, zeek-tsv, json, syslog, \
             netfilter, filterlog, panos, cef, kv, syslog-json"
        );
        assert!("auto".parse::<Format>().is_err());
    }

    #[test]
    fn decoders_by_name() {
        let rows = [
            ("zeek-tsv", "zeek-tsv"),
            ("json", "json"),
            ("syslog", "syslog"),
            ("netfilter", "netfilter"),
            ("filterlog", "filterlog"),
            ("panos", "panos"),
            ("cef", "cef"),
            ("kv", "kv"),
            ("syslog-json", "json"),
        ];
        for (name, decoder_format) in rows {
            let format: Format = name.parse().unwrap();
            assert_eq!(new_decoder(format).format(), decoder_format, "{name}");
        }
    }

    #[test]
    fn choice_resolves() {
        let head =
            b"Aug 20 00:01:05 localhost kernel: [1.0] [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.2\n";
        assert_eq!(DecoderChoice::Auto.resolve(head), Some(Format::Syslog));
        assert_eq!(DecoderChoice::Auto.resolve(b"hello\n"), None);
        let fixed = DecoderChoice::Fixed(Format::SyslogBody(SyslogBody::Netfilter));
        assert_eq!(
            fixed.resolve(b"hello\n"),
            Some(Format::SyslogBody(SyslogBody::Netfilter))
        );
    }
}
