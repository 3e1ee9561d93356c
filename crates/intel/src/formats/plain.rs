//! Plain lists: one or more indicators per line, in the syntaxes that
//! public blocklists use.
//!
//! - Comment lines start with `#`, `;` or `!` (adblock). An inline comment
//!   starts with `#` or `;` after a blank (`1.10.16.0/20 ; SBL256894`) and
//!   becomes the description of the line's indicators.
//! - Several values may share a line, separated by blanks or commas.
//!   Values followed by words (`192.0.2.7 scanning host`,
//!   `192.0.2.8,scanner`) take the words as their description. A line of mostly words is a note, such as a file's
//!   date or the prose beside a feed, and is rejected whole, so that a
//!   commit hash or file name inside it is not loaded as an indicator.
//! - Hosts files: `0.0.0.0 name...` or `127.0.0.1 name...`, where the first
//!   address is the sink and the names after it are the indicators.
//! - Adblock rules `||host^` and `||host/path^$options`; exception rules
//!   (`@@`) are rejected.
//! - dnsmasq `address=/name/0.0.0.0`, `server=/name/` and `local=/name/`.
//! - BIND `zone "name" { ... };` lines.
//! - Response policy zones: `name CNAME .` records; directives (`$TTL`)
//!   and other records (SOA, NS) are skipped.
//! - Suricata and Snort rules: the addresses of the header and the value
//!   of each host, domain or fingerprint buffer (see [`super::ids_rule`]),
//!   with `msg` as the description.
//! - Header comments: maltrail `# Reference: <url>` lines apply to the
//!   entries up to the next reference block, `# Aliases:` to the rest of the
//!   file; FireHOL `# Maintainer : name` sets the provider and
//!   `# Category : name` a tag.

use std::net::IpAddr;
use std::sync::Arc;

use iocwatch_model::{IndicatorError, Meta, ParseOptions, parse_indicator};

use super::ids_rule::ids_rule;
use crate::columns::set_extra;
use crate::error::LineError;
use crate::watchlist::{Collector, MetaCache};

/// Host names that hosts files map to themselves; they are no indicators.
const HOSTS_FILE_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

/// The options of dnsmasq lines that name domains.
const DNSMASQ_PREFIXES: [&str; 3] = ["address=", "server=", "local="];

/// DNS record types recognised in zone-file lines.
const RECORD_TYPES: &[&str] = &[
    "SOA", "NS", "CNAME", "A", "AAAA", "TXT", "MX", "PTR", "SRV", "DNAME", "CAA",
];

/// Maximum length of the [`RECORD_TYPES`].
const MAX_RECORD_TYPE_LEN: usize = {
    let mut longest = 0;
    let mut index = 0;
    while index < RECORD_TYPES.len() {
        if RECORD_TYPES[index].len() > longest {
            longest = RECORD_TYPES[index].len();
        }
        index += 1;
    }
    longest
};

/// Reads plain-list lines into indicators.
pub(crate) struct PlainDecoder {
    provider: Option<String>,
    category: Option<String>,
    aliases: Option<String>,
    references: Vec<String>,
    /// True once an entry follows the current reference lines, so that the
    /// next `# Reference:` line starts a new block.
    references_used: bool,
    /// Metadata from header comments, shared by every entry without an
    /// inline comment.
    base: Arc<Meta>,
    commented: MetaCache,
    /// True inside a multi-line zone-file record, such as an SOA in
    /// parentheses.
    in_zone_record: bool,
}

/// The content of one non-comment line.
#[derive(Debug, PartialEq, Eq)]
enum Entry<'a> {
    Values(Vec<&'a str>),
    /// Values followed by words that describe them.
    Described {
        values: Vec<&'a str>,
        description: &'a str,
    },
    /// A line with no indicator, such as a zone-file directive.
    Skip,
    /// A zone-file record that continues up to a closing parenthesis.
    OpenRecord,
    Reject(LineError),
}

impl PlainDecoder {
    pub(crate) fn new() -> Self {
        Self {
            provider: None,
            category: None,
            aliases: None,
            references: Vec::new(),
            references_used: false,
            base: Arc::default(),
            commented: MetaCache::default(),
            in_zone_record: false,
        }
    }

    pub(crate) fn line(&mut self, number: u64, text: &str, out: &mut Collector) {
        // A line that is one value alone, as most lines of large lists are,
        // has no blank to trim and no comment, so it skips those checks.
        if !self.in_zone_record
            && let Some(value) = single_value(text)
        {
            self.references_used = true;
            let meta = self.meta_for(None);
            out.add(number, value, None, &meta);
            return;
        }
        let line = text.trim();
        if line.is_empty() {
            return;
        }
        if self.in_zone_record {
            self.in_zone_record = !line.contains(')');
            return;
        }
        if let Some(comment) = comment_text(line) {
            self.comment(comment);
            return;
        }
        self.references_used = true;

        // A rule's options contain `;`, which would start an inline comment.
        if let Some(rule) = ids_rule(line) {
            if rule.is_empty() {
                out.reject(number, line, LineError::RuleWithoutAddresses);
                return;
            }
            let meta = self.meta_for(rule.message.as_deref());
            for address in rule.addresses {
                out.add(number, address, None, &meta);
            }
            for (value, kind) in &rule.contents {
                out.add(number, value, *kind, &meta);
            }
            return;
        }

        let (body, inline_comment) = split_inline_comment(line);
        if let Some(value) = single_value(body) {
            let meta = self.meta_for(inline_comment);
            out.add(number, value, None, &meta);
            return;
        }
        match entry(body) {
            Entry::Values(values) => {
                let meta = self.meta_for(inline_comment);
                for value in values {
                    out.add(number, value, None, &meta);
                }
            }
            Entry::Described { values, description } => {
                let meta = match inline_comment {
                    Some(comment) => self.meta_for(Some(&format!("{description} {comment}"))),
                    None => self.meta_for(Some(description)),
                };
                for value in values {
                    out.add(number, value, None, &meta);
                }
            }
            Entry::Skip => {}
            Entry::OpenRecord => self.in_zone_record = true,
            Entry::Reject(error) => out.reject(number, body, error),
        }
    }

    /// Applies a header comment of the form `key: value` or `key : value`.
    fn comment(&mut self, comment: &str) {
        let Some((key, value)) = comment.split_once(':') else {
            return;
        };
        let key = key.trim();
        let value = value.trim();
        let is_key = key.len() <= 32 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
        if !is_key || value.is_empty() {
            return;
        }
        let value = value.to_owned();
        match key.to_ascii_lowercase().as_str() {
            "reference" => {
                if self.references_used {
                    self.references.clear();
                    self.references_used = false;
                }
                self.references.push(value);
            }
            "aliases" => self.aliases = Some(value),
            "maintainer" => self.provider = Some(value),
            "category" => self.category = Some(value),
            _ => return,
        }
        self.base = Arc::new(self.header_meta());
    }

    fn header_meta(&self) -> Meta {
        let mut meta = Meta {
            provider: self.provider.clone(),
            tags: self.category.iter().cloned().collect(),
            reference: self.references.first().cloned(),
            ..Meta::default()
        };
        if self.references.len() > 1 {
            set_extra(&mut meta, "references", &self.references.join(" "));
        }
        if let Some(aliases) = &self.aliases {
            set_extra(&mut meta, "aliases", aliases);
        }
        meta
    }

    fn meta_for(&mut self, inline_comment: Option<&str>) -> Arc<Meta> {
        match inline_comment {
            None => Arc::clone(&self.base),
            Some(description) => self.commented.share(Meta {
                description: Some(description.to_owned()),
                ..Meta::clone(&self.base)
            }),
        }
    }
}

/// Returns the text of a comment line without its markers, or `None` for
/// other lines.
fn comment_text(line: &str) -> Option<&str> {
    if line.starts_with(['#', ';', '!']) {
        return Some(line.trim_start_matches(['#', ';', '!']).trim());
    }
    // The `[Adblock Plus 2.0]` header line of adblock lists.
    if line.starts_with('[') && line.ends_with(']') {
        let lower = line.to_ascii_lowercase();
        if lower.contains("adblock") || lower.contains("ublock") {
            return Some("");
        }
    }
    None
}

/// Splits `line` at the first `#` or `;` that follows a blank, returning
/// the part before it and the comment text, if any.
fn split_inline_comment(line: &str) -> (&str, Option<&str>) {
    if line.starts_with("zone") {
        // BIND `zone` lines use `;` as a statement terminator.
        return (line, None);
    }
    let bytes = line.as_bytes();
    let marker =
        (1..bytes.len()).find(|&i| matches!(bytes[i], b'#' | b';') && bytes[i - 1].is_ascii_whitespace());
    match marker {
        Some(i) => {
            let comment = line[i..].trim_start_matches(['#', ';']).trim();
            (line[..i].trim_end(), (!comment.is_empty()).then_some(comment))
        }
        None => (line, None),
    }
}

/// Returns `body` when it is one value and nothing else, as most lines
/// of large lists are, so that [`entry`] need not try every syntax on it.
/// Such a body is printable ASCII without blanks and starts with a letter
/// or digit. It is neither a dnsmasq line nor a bare record type, and
/// `entry` returns it as the only value.
fn single_value(body: &str) -> Option<&str> {
    let bytes = body.as_bytes();
    let starts_alphanumeric = bytes.first().is_some_and(u8::is_ascii_alphanumeric);
    // Without an early exit, so that the check runs on many bytes at once.
    // A comma may join several values, which `entry` splits.
    let graphic = bytes.iter().fold(true, |graphic, &byte| {
        graphic & (byte.wrapping_sub(b'!') <= b'~' - b'!') & (byte != b',')
    });
    let plain = starts_alphanumeric
        && graphic
        && !DNSMASQ_PREFIXES
            .iter()
            .any(|prefix| prefix.as_bytes().first() == bytes.first() && body.starts_with(prefix))
        && !(bytes.len() <= MAX_RECORD_TYPE_LEN && RECORD_TYPES.contains(&body));
    plain.then_some(body)
}

/// Finds the values of one non-comment line.
fn entry(body: &str) -> Entry<'_> {
    if let Some(rule) = body.strip_prefix("||") {
        let end = rule.find(['^', '$', '|']).unwrap_or(rule.len());
        return Entry::Values(vec![&rule[..end]]);
    }
    if body.starts_with("@@") {
        return Entry::Reject(LineError::AdblockException);
    }
    if let Some(names) = dnsmasq_names(body) {
        return Entry::Values(names);
    }
    if let Some(name) = bind_zone_name(body) {
        return Entry::Values(vec![name]);
    }
    let tokens: Vec<&str> = body.split_whitespace().collect();
    if let Some(entry) = zone_file_entry(&tokens) {
        return entry;
    }
    if tokens.len() >= 2 && is_sink_address(tokens[0]) {
        let names = tokens[1..]
            .iter()
            .copied()
            .filter(|name| !is_hosts_file_name(name));
        return Entry::Values(names.collect());
    }
    blank_separated(body, tokens)
}

/// Reads the blank-separated `tokens` of `body`: values, one value with
/// a description, or a line of text. A token of values joined by commas
/// (`192.0.2.9,198.51.100.9`) counts as those values.
fn blank_separated<'a>(body: &'a str, tokens: Vec<&'a str>) -> Entry<'a> {
    let tokens: Vec<&str> = tokens.into_iter().flat_map(comma_separated).collect();
    if tokens.len() < 2 {
        return Entry::Values(tokens);
    }
    let indicator_like: Vec<bool> = tokens.iter().map(|token| looks_like_indicator(token)).collect();
    let indicators = indicator_like.iter().filter(|like| **like).count();
    let words = tokens
        .iter()
        .zip(&indicator_like)
        .filter(|(token, like)| !**like && is_word(token))
        .count();
    // Values first and then words: the words describe the values, also
    // when they name another value (`192.0.2.7 beacons to bad.example`).
    let leading = indicator_like.iter().take_while(|like| **like).count();
    if leading > 0 && words > 0 {
        let rest = tokens[leading];
        // Every token is a slice of `body`, so the difference of their
        // addresses is the token's offset in it.
        let offset = (rest.as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
        let description = body
            .get(offset..)
            .unwrap_or_default()
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '-' | ':' | '|'));
        return Entry::Described {
            values: tokens[..leading].to_vec(),
            description,
        };
    }
    if (words >= 2 && words > indicators) || (words >= 1 && indicators == 0) {
        return Entry::Reject(LineError::Text {
            others: tokens.len() - indicators,
            tokens: tokens.len(),
        });
    }
    Entry::Values(tokens)
}

/// Splits `token` at its commas when every part between them is an
/// indicator. A token without `/` whose first part is an indicator and
/// whose rest is not (`192.0.2.7,scanner`) is split after the first
/// part. Any other token, such as a URL with a comma in its path, is
/// returned whole.
fn comma_separated(token: &str) -> Vec<&str> {
    let Some((first, rest)) = token.split_once(',') else {
        return vec![token];
    };
    let parts: Vec<&str> = token.split(',').filter(|part| !part.is_empty()).collect();
    if parts.iter().all(|part| looks_like_indicator(part)) {
        parts
    } else if !token.contains('/') && looks_like_indicator(first) && !rest.is_empty() {
        vec![first, rest]
    } else {
        vec![token]
    }
}

/// True when `token` parses as an indicator, or would but for being too
/// broad or unroutable. A bare word that is a top-level domain (`is`,
/// `to`, `in`) counts as a word, not as an indicator.
fn looks_like_indicator(token: &str) -> bool {
    match parse_indicator(token, None, ParseOptions::default()) {
        Ok(_) => true,
        Err(IndicatorError::Unroutable(_)) => true,
        Err(IndicatorError::TooBroad(_)) => token.contains(['.', ':', '/']),
        Err(_) => false,
    }
}

/// True for a token that reads as a word of text: it has a letter and no
/// character that joins the parts of an address, name or URL.
fn is_word(token: &str) -> bool {
    token.bytes().any(|byte| byte.is_ascii_alphabetic()) && !token.contains(['.', ':', '/', '@'])
}

/// Returns the names of a dnsmasq `address=/name/.../target` line.
fn dnsmasq_names(body: &str) -> Option<Vec<&str>> {
    let rest = DNSMASQ_PREFIXES
        .iter()
        .find_map(|prefix| body.strip_prefix(prefix))?;
    let parts: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
    // The last part is the target address or empty; a line without the
    // closing slash has none.
    let names = if parts.len() > 1 {
        &parts[..parts.len() - 1]
    } else {
        &parts[..]
    };
    Some(names.iter().copied().filter(|name| !name.is_empty()).collect())
}

/// Returns the name of a BIND `zone "name" { ... };` line.
fn bind_zone_name(body: &str) -> Option<&str> {
    let rest = body.strip_prefix("zone")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next(),
        None => rest.split_whitespace().next(),
    }
}

/// Reads a zone-file line of a response policy zone. `$` directives and
/// records other than CNAME carry no indicator. In `name CNAME target`,
/// the owner name is the indicator unless the target is `rpz-passthru.`,
/// which allows the name. Returns `None` for lines in another syntax.
fn zone_file_entry<'a>(tokens: &[&'a str]) -> Option<Entry<'a>> {
    let first = *tokens.first()?;
    if first.starts_with('$') && first.len() > 1 && first[1..].bytes().all(|b| b.is_ascii_uppercase()) {
        return Some(Entry::Skip);
    }
    let type_index = tokens
        .iter()
        .take(4)
        .position(|token| RECORD_TYPES.contains(token))?;
    let is_ttl_or_class = |token: &str| token == "IN" || token.bytes().all(|b| b.is_ascii_digit());
    if !tokens[1..type_index.max(1)]
        .iter()
        .all(|token| is_ttl_or_class(token))
    {
        return None;
    }
    let owner = (type_index > 0 && !is_ttl_or_class(first)).then_some(first);
    if tokens[type_index] != "CNAME" {
        let opens = tokens.iter().any(|token| token.contains('('));
        let closes = tokens.iter().any(|token| token.contains(')'));
        return Some(if opens && !closes {
            Entry::OpenRecord
        } else {
            Entry::Skip
        });
    }
    let target = tokens.get(type_index + 1).copied();
    match owner {
        Some(name) if name != "@" && target != Some("rpz-passthru.") => {
            Some(Entry::Values(vec![name.strip_prefix("*.").unwrap_or(name)]))
        }
        _ => Some(Entry::Skip),
    }
}

/// True for the unspecified and loopback addresses that hosts files map
/// blocked names to.
fn is_sink_address(token: &str) -> bool {
    token == "0"
        || token
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified() || ip.is_loopback())
}

fn is_hosts_file_name(name: &str) -> bool {
    HOSTS_FILE_NAMES
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_table() {
        let rows: [(&str, &[&str]); 17] = [
            ("evil.example", &["evil.example"]),
            ("d1[.]example d2[.]example", &["d1[.]example", "d2[.]example"]),
            ("0.0.0.0 bad.example", &["bad.example"]),
            (
                "127.0.0.1 bad.example other.example",
                &["bad.example", "other.example"],
            ),
            ("::1 localhost ip6-localhost", &[]),
            ("127.0.0.1", &["127.0.0.1"]),
            ("||bad.example^", &["bad.example"]),
            ("||bad.example/path/x.exe^$all", &["bad.example/path/x.exe"]),
            ("||bad.example$third-party", &["bad.example"]),
            ("address=/bad.example/0.0.0.0", &["bad.example"]),
            ("server=/a.example/b.example/", &["a.example", "b.example"]),
            ("local=/bad.example", &["bad.example"]),
            (
                "zone \"bad.example\" { type master; notify no; file \"null.zone.file\"; };",
                &["bad.example"],
            ),
            ("bad.example CNAME .", &["bad.example"]),
            ("*.bad.example 300 IN CNAME .", &["bad.example"]),
            ("213.152.161.99:47390", &["213.152.161.99:47390"]),
            ("http://91.240.84.166", &["http://91.240.84.166"]),
        ];
        for (body, expected) in rows {
            assert_eq!(entry(body), Entry::Values(expected.to_vec()), "{body:?}");
        }
    }

    #[test]
    fn rule_values_load_with_message() {
        let text = "# ET rules\n\
                    alert ip [192.0.2.1,198.51.100.0/24] any -> $HOME_NET any (msg:\"ET DROP group 1\"; sid:1;)\n\
                    alert http $HOME_NET any -> any any (msg:\"content\"; content:\"evil.example\";)\n\
                    alert http $HOME_NET any -> $EXTERNAL_NET any (msg:\"urlhaus\"; http.host; content:\"bad.example\"; sid:2;)\n";
        let watchlist = crate::load_reader(
            "et",
            "drop.rules",
            text.as_bytes(),
            &crate::LoadOptions::default(),
        )
        .unwrap();
        let values: Vec<String> = watchlist
            .indicators
            .iter()
            .map(|indicator| indicator.value.to_string())
            .collect();
        assert_eq!(values, ["192.0.2.1", "198.51.100.0/24", "bad.example"]);
        assert_eq!(
            watchlist.indicators[0].meta.description.as_deref(),
            Some("ET DROP group 1")
        );
        assert_eq!(
            watchlist.indicators[2].meta.description.as_deref(),
            Some("urlhaus")
        );
        assert_eq!(watchlist.report.rejected.len(), 1);
        assert_eq!(watchlist.report.rejected[0].line, 3);
        assert_eq!(
            watchlist.report.rejected[0].error,
            LineError::RuleWithoutAddresses
        );
    }

    #[test]
    fn single_value_agrees_with_entry() {
        let bodies = [
            "evil.example",
            "Evil.Example.",
            "198.51.100.7",
            "198.51.100.0/24",
            "213.152.161.99:47390",
            "http://91.240.84.166",
            "44d88612fea8a8f36de82e1278abb02f",
            "evil[.]example",
            "hxxp://evil[.]example/a",
            "bücher.example",
            "evil.example\u{a0}other.example",
            "evil.example\tother.example",
            "0.0.0.0 bad.example",
            "127.0.0.1",
            "localhost",
            "0.0.0.0",
            "||bad.example^",
            "@@||good.example^",
            "address=/bad.example/0.0.0.0",
            "server=/a.example/b.example/",
            "local=/bad.example",
            "addressbook.example",
            "zone",
            "zone \"bad.example\" { type master; };",
            "NS",
            "CNAME",
            "SOA",
            "AAAA",
            "$TTL",
            "*.bad.example",
            "[2001:db8::1]",
            "-",
            "_dmarc.example",
        ];
        for body in bodies {
            if let Some(value) = single_value(body) {
                assert_eq!(Entry::Values(vec![value]), entry(body), "{body:?}");
            }
        }
        let claimed = [
            "evil.example",
            "198.51.100.7",
            "http://91.240.84.166",
            "addressbook.example",
        ];
        for body in claimed {
            assert_eq!(single_value(body), Some(body), "{body:?}");
        }
        let left = [
            "0.0.0.0 bad.example",
            "evil.example\u{a0}other.example",
            "bücher.example",
            "||bad.example^",
            "address=/bad.example/0.0.0.0",
            "NS",
            "$TTL",
        ];
        for body in left {
            assert_eq!(single_value(body), None, "{body:?}");
        }
    }

    #[test]
    fn zone_file_lines_skipped() {
        for body in [
            "$TTL 30",
            "$ORIGIN rpz.example.",
            "@ IN SOA localhost. root.localhost. 1 86400 3600 604800 30",
            "NS localhost.",
            "IN NS ns1.example.",
            "allowed.example CNAME rpz-passthru.",
        ] {
            assert_eq!(entry(body), Entry::Skip, "{body:?}");
        }
        assert_eq!(entry("@ IN SOA ns.example. admin.example. ("), Entry::OpenRecord);
    }

    #[test]
    fn adblock_exception_rejected() {
        assert_eq!(
            entry("@@||good.example^"),
            Entry::Reject(LineError::AdblockException)
        );
    }

    #[test]
    fn inline_comment_table() {
        let rows = [
            ("1.10.16.0/20 ; SBL256894", "1.10.16.0/20", Some("SBL256894")),
            ("evil.example # note", "evil.example", Some("note")),
            (
                "129.82.138.12 # pinger1a.netsec.colostate.edu",
                "129.82.138.12",
                Some("pinger1a.netsec.colostate.edu"),
            ),
            ("http://evil.example/#frag", "http://evil.example/#frag", None),
            ("http://evil.example/a;b", "http://evil.example/a;b", None),
            ("evil.example #", "evil.example", None),
            (
                "zone \"a.example\" { type master; };",
                "zone \"a.example\" { type master; };",
                None,
            ),
        ];
        for (line, body, comment) in rows {
            assert_eq!(split_inline_comment(line), (body, comment), "{line:?}");
        }
    }

    #[test]
    fn comment_lines() {
        let rows = [
            ("# Reference: x", Some("Reference: x")),
            ("; Spamhaus DROP List", Some("Spamhaus DROP List")),
            ("! Title: list", Some("Title: list")),
            ("[Adblock Plus 2.0]", Some("")),
            ("[2001:db8::1]", None),
            ("evil.example", None),
        ];
        for (line, expected) in rows {
            assert_eq!(comment_text(line), expected, "{line:?}");
        }
    }
}
