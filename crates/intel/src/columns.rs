//! Column names of CSV feeds: which column contains the indicator, which one
//! its type, and which [`Meta`] field each other column fills.

use iocwatch_model::Meta;

/// Normalised names of columns that hold indicators. When a header has
/// several, the first in header order is used.
const INDICATOR_COLUMNS: &[&str] = &[
    "indicator",
    "ioc",
    "ioc_value",
    "observable",
    "value",
    "ip",
    "ipv4",
    "ipv6",
    "ip_address",
    "dst_ip",
    "cidr",
    "network",
    "domain",
    "domain_name",
    "hostname",
    "host",
    "fqdn",
    "url",
    "uri",
    "md5",
    "md5_hash",
    "sha1",
    "sha1_hash",
    "sha256",
    "sha256_hash",
    "sha512",
    "sha512_hash",
    "hash",
    "file_hash",
    "ja3_md5",
    "ja3",
    "ja3s_md5",
    "ja3s",
    "ja4",
    "email",
    "email_address",
];

/// Normalised names of columns that give each row's indicator type.
/// `threat_type` is not one: it names a threat, such as `botnet_cc`.
const TYPE_COLUMNS: &[&str] = &["ioc_type", "indicator_type", "observable_type", "type"];

/// A [`Meta`] field that a column fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MetaField {
    Description,
    Reference,
    Provider,
    Confidence,
    FirstSeen,
    LastSeen,
    Malware,
    Tlp,
    Tags,
}

/// Column names for each field, by preference: when a row has values in
/// two columns of one field, the earlier name wins and the other value
/// goes to `extra`.
const META_COLUMNS: &[(MetaField, &[&str])] = &[
    (
        MetaField::Description,
        &[
            "description",
            "desc",
            "comment",
            "reason",
            "listingreason",
            "listing_reason",
            "threat",
            "threat_type",
            "target",
        ],
    ),
    (
        MetaField::Reference,
        &[
            "reference",
            "urlhaus_link",
            "phish_detail_url",
            "link",
            "reference_url",
        ],
    ),
    (MetaField::Provider, &["provider", "source", "reporter"]),
    (MetaField::Confidence, &["confidence", "confidence_level"]),
    (
        MetaField::FirstSeen,
        &[
            "first_seen",
            "first_seen_utc",
            "firstseen",
            "dateadded",
            "date_added",
            "submission_time",
            "listingdate",
            "listing_date",
        ],
    ),
    (
        MetaField::LastSeen,
        &["last_seen", "last_seen_utc", "lastseen", "last_online"],
    ),
    (
        MetaField::Malware,
        &["malware_printable", "malware", "malware_family", "fk_malware"],
    ),
    (MetaField::Tlp, &["tlp"]),
    (MetaField::Tags, &["tags", "tag"]),
];

/// Returns a column name in the form the tables above use: without byte
/// order mark, quotes and surrounding blanks, lower case, with blanks and
/// hyphens as underscores.
pub(crate) fn normalise_name(name: &str) -> String {
    let trimmed = name.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '"');
    trimmed.to_lowercase().replace([' ', '-'], "_")
}

pub(crate) fn is_indicator_column(normalised: &str) -> bool {
    INDICATOR_COLUMNS.contains(&normalised)
}

/// Returns the position of an indicator column name in the preference
/// order (`indicator` first), or `None` for other names.
pub(crate) fn indicator_column_rank(normalised: &str) -> Option<usize> {
    INDICATOR_COLUMNS.iter().position(|name| *name == normalised)
}

pub(crate) fn is_type_column(normalised: &str) -> bool {
    TYPE_COLUMNS.contains(&normalised)
}

/// The field a column fills and its preference rank within that field.
pub(crate) fn meta_field(normalised: &str) -> Option<(MetaField, usize)> {
    META_COLUMNS.iter().find_map(|(field, names)| {
        let rank = names.iter().position(|name| *name == normalised)?;
        Some((*field, rank))
    })
}

/// True for the values that feeds write for "no value": empty, `-` and
/// `None`.
pub(crate) fn is_unset(value: &str) -> bool {
    matches!(value.trim(), "" | "-" | "None")
}

/// Stores `value` of the column `column` in `field` of `meta`, or in
/// `meta.extra` when the field is already set or the value does not fit.
pub(crate) fn set_meta_field(meta: &mut Meta, field: MetaField, column: &str, value: &str) {
    let slot = match field {
        MetaField::Tags => {
            let tags = value.split(',').map(str::trim).filter(|tag| !is_unset(tag));
            meta.tags.extend(tags.map(str::to_owned));
            return;
        }
        MetaField::Confidence => {
            match parse_confidence(value) {
                Some(confidence) if meta.confidence.is_none() => meta.confidence = Some(confidence),
                _ => set_extra(meta, column, value),
            }
            return;
        }
        MetaField::Description => &mut meta.description,
        MetaField::Reference => &mut meta.reference,
        MetaField::Provider => &mut meta.provider,
        MetaField::FirstSeen => &mut meta.first_seen,
        MetaField::LastSeen => &mut meta.last_seen,
        MetaField::Malware => &mut meta.malware,
        MetaField::Tlp => &mut meta.tlp,
    };
    if slot.is_none() {
        *slot = Some(value.to_owned());
    } else {
        set_extra(meta, column, value);
    }
}

pub(crate) fn set_extra(meta: &mut Meta, column: &str, value: &str) {
    meta.extra.insert(column.to_owned(), value.to_owned());
}

/// Reads a confidence from 0 to 100, written as an integer, a decimal or
/// with a percent sign.
fn parse_confidence(value: &str) -> Option<u8> {
    let number = value.trim().trim_end_matches('%').trim();
    let parsed: f64 = number.parse().ok()?;
    if !(0.0..=100.0).contains(&parsed) {
        return None;
    }
    // The range check above keeps the rounded value within u8.
    Some(parsed.round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalised() {
        let rows = [
            ("\u{feff}SHA1", "sha1"),
            (" \"first_seen_utc\" ", "first_seen_utc"),
            ("First Seen", "first_seen"),
            ("ioc-type", "ioc_type"),
        ];
        for (raw, expected) in rows {
            assert_eq!(normalise_name(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn column_roles() {
        assert!(is_indicator_column("ja3_md5"));
        assert!(is_indicator_column("dst_ip"));
        assert!(!is_indicator_column("threat_type"));
        assert!(is_type_column("ioc_type"));
        assert!(!is_type_column("threat_type"));
        assert_eq!(meta_field("threat_type"), Some((MetaField::Description, 7)));
        assert_eq!(meta_field("malware_printable"), Some((MetaField::Malware, 0)));
        assert_eq!(meta_field("dst_port"), None);
    }

    #[test]
    fn unset_values() {
        for value in ["", " ", "-", "None"] {
            assert!(is_unset(value), "{value:?}");
        }
        assert!(!is_unset("none of these"));
    }

    #[test]
    fn confidence_forms() {
        let rows = [
            ("75", Some(75)),
            ("100", Some(100)),
            ("50%", Some(50)),
            ("62.5", Some(63)),
            ("101", None),
        ];
        for (raw, expected) in rows {
            assert_eq!(parse_confidence(raw), expected, "{raw:?}");
        }
        assert_eq!(parse_confidence("high"), None);
        assert_eq!(parse_confidence("-1"), None);
    }

    #[test]
    fn second_value_of_field_goes_to_extra() {
        let mut meta = Meta::default();
        set_meta_field(
            &mut meta,
            MetaField::Malware,
            "malware_printable",
            "Cobalt Strike",
        );
        set_meta_field(&mut meta, MetaField::Malware, "fk_malware", "win.cobalt_strike");
        set_meta_field(&mut meta, MetaField::Confidence, "confidence", "very");
        set_meta_field(&mut meta, MetaField::Tags, "tags", "32-bit, elf,,mips");
        assert_eq!(meta.malware.as_deref(), Some("Cobalt Strike"));
        assert_eq!(
            meta.extra.get("fk_malware").map(String::as_str),
            Some("win.cobalt_strike")
        );
        assert_eq!(meta.extra.get("confidence").map(String::as_str), Some("very"));
        assert_eq!(meta.tags, ["32-bit", "elf", "mips"]);
    }
}
