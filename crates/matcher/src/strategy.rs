//! The lookup structures, one per indicator kind.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};

use hashbrown::HashMap;
use iocwatch_model::value::{observed_digest, observed_domain, observed_email, observed_ip};
use iocwatch_model::{CanonicalUrl, DigestAlgo, DigestScope, Field, Indicator, IndicatorValue};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use smallvec::SmallVec;

use crate::{DomainMatch, IndicatorId, WatchlistId, WatchlistInfo};

type Ids = SmallVec<[IndicatorId; 2]>;
pub(crate) type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// One bit per IPv4 /16 that contains any address, network or socket
/// indicator. Most observed addresses match nothing, and this rejects
/// them with one memory read before any hash or trie lookup.
pub(crate) struct V4Filter(pub(crate) Box<[u64]>);

impl V4Filter {
    fn new() -> Self {
        Self(vec![0; 1 << 10].into_boxed_slice())
    }

    fn set_range(&mut self, first16: u32, last16: u32) {
        for slot in first16..=last16 {
            self.0[(slot >> 6) as usize] |= 1 << (slot & 63);
        }
    }

    #[inline]
    fn may_contain(&self, addr: u32) -> bool {
        let slot = addr >> 16;
        self.0[(slot >> 6) as usize] & (1 << (slot & 63)) != 0
    }
}

impl std::fmt::Debug for V4Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("V4Filter")
    }
}

/// A URL indicator's scheme rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SchemeRule {
    /// Written without scheme: any scheme matches.
    Any,
    /// `http` or `https`: the same resource is routinely served on both,
    /// and feeds record whichever scheme the reporter saw, so either
    /// matches.
    Web,
    /// Another scheme, which must be the observed one.
    Exact(Box<str>),
}

impl SchemeRule {
    fn of(scheme: Option<&str>) -> Self {
        match scheme {
            None => Self::Any,
            Some("http" | "https") => Self::Web,
            Some(other) => Self::Exact(other.into()),
        }
    }

    fn accepts(&self, observed: Option<&str>) -> bool {
        match (self, observed) {
            (Self::Any, _) | (_, None) => true,
            (Self::Web, Some(scheme)) => matches!(scheme, "http" | "https"),
            (Self::Exact(expected), Some(scheme)) => **expected == *scheme,
        }
    }
}

/// The tables of every kind, in two groups that are filled in parallel.
#[derive(Debug, Default)]
pub(crate) struct Strategies {
    pub(crate) addresses: Addresses,
    pub(crate) names: Names,
}

/// The tables of addresses, sockets and networks.
#[derive(Debug, Default)]
pub(crate) struct Addresses {
    v4: Map<u32, Ids>,
    v6: Map<u128, Ids>,
    sockets: Map<(IpAddr, u16), Ids>,
    v4_nets: PrefixMap<Ipv4Net, Ids>,
    v6_nets: PrefixMap<Ipv6Net, Ids>,
    pub(crate) v4_filter: Option<V4Filter>,
    pub(crate) has_v6: bool,
}

/// The tables of values written as text: domains, URLs, digests, e-mail
/// addresses and JA4 fingerprints.
#[derive(Debug, Default)]
pub(crate) struct Names {
    pub(crate) domains: Map<Box<str>, Ids>,
    pub(crate) urls: Map<Box<str>, SmallVec<[(SchemeRule, IndicatorId); 1]>>,
    pub(crate) digests: Map<Box<str>, SmallVec<[(DigestScope, IndicatorId); 1]>>,
    pub(crate) emails: Map<Box<str>, Ids>,
    pub(crate) ja4: Map<Box<str>, Ids>,
}

/// Returns true for the values that go to [`Addresses`].
fn is_address(value: &IndicatorValue) -> bool {
    matches!(
        value,
        IndicatorValue::Ip(_) | IndicatorValue::Socket(..) | IndicatorValue::Net(_)
    )
}

impl Strategies {
    /// Reserves room for `counts` more indicators, so that adding them
    /// does not grow the tables step by step.
    pub(crate) fn reserve(&mut self, counts: &KindCounts) {
        self.addresses.reserve(counts);
        self.names.reserve(counts);
    }

    /// Adds indicator `id` with `value` to the table for its kind. Returns
    /// false, adding nothing, when an indicator already in the same bucket
    /// is the same as this one by `is_same`.
    ///
    /// Equal values always land in the same bucket, so checking the
    /// bucket finds every earlier indicator with an equal value.
    pub(crate) fn insert(
        &mut self,
        id: IndicatorId,
        value: &IndicatorValue,
        is_same: impl Fn(IndicatorId) -> bool,
    ) -> bool {
        if is_address(value) {
            self.addresses.insert(id, value, is_same)
        } else {
            self.names.insert(id, value, is_same)
        }
    }

    /// Adds the indicators of `indicators` from index `start` on, each with
    /// its index as id, the addresses on one thread and the names on
    /// another. An indicator is a duplicate when an earlier one of the same
    /// watchlist, by `owners`, has the same value. Returns the sorted
    /// indexes of the duplicates, which are not added. The indicators after
    /// a duplicate then have ids that are too high, so the caller removes
    /// the duplicates and fills the tables again.
    pub(crate) fn insert_all(
        &mut self,
        start: usize,
        indicators: &[Indicator],
        owners: &[WatchlistId],
    ) -> Vec<usize> {
        let added = indicators.get(start..).unwrap_or_default();
        let counts = KindCounts::of(added.iter().map(|indicator| &indicator.value));
        let is_same = |index: usize| {
            move |other: IndicatorId| {
                let other = other as usize;
                owners.get(other) == owners.get(index)
                    && indicators.get(other).map(|indicator| &indicator.value)
                        == indicators.get(index).map(|indicator| &indicator.value)
            }
        };
        let Self { addresses, names } = self;
        let (mut duplicates, name_duplicates) = rayon::join(
            || {
                addresses.reserve(&counts);
                add_group(start, added, true, |id, value, index| {
                    addresses.insert(id, value, is_same(index))
                })
            },
            || {
                names.reserve(&counts);
                add_group(start, added, false, |id, value, index| {
                    names.insert(id, value, is_same(index))
                })
            },
        );
        duplicates.extend(name_duplicates);
        duplicates.sort_unstable();
        duplicates
    }

    pub(crate) fn match_value<F>(
        &self,
        watchlists: &[WatchlistInfo],
        owners: &[WatchlistId],
        field: Field,
        value: &str,
        port: Option<u16>,
        mut on_hit: F,
    ) where
        F: FnMut(IndicatorId, Cow<'_, str>),
    {
        match field {
            Field::SourceIp | Field::DestinationIp | Field::RelatedIp | Field::DnsResolvedIp => {
                if let Some(ip) = observed_ip(value) {
                    self.addresses.match_ip(ip, port, &mut on_hit);
                }
            }
            Field::DnsQuestionName | Field::UrlDomain | Field::TlsServerName | Field::TlsCertName => {
                if let Some(ip) = observed_ip(value) {
                    self.addresses.match_ip(ip, None, &mut on_hit);
                } else {
                    self.names.match_domain(watchlists, owners, value, &mut on_hit);
                }
            }
            Field::UrlFull => self.names.match_url(value, &mut on_hit),
            Field::TlsJa3
            | Field::TlsJa3s
            | Field::TlsCertSha1
            | Field::TlsCertSha256
            | Field::FileMd5
            | Field::FileSha1
            | Field::FileSha256
            | Field::FileSha512 => {
                if let Some((algo, scope)) = digest_kind(field) {
                    self.names.match_digest(value, algo, scope, &mut on_hit);
                }
            }
            Field::TlsJa4 => {
                if self.names.ja4.is_empty() {
                    return;
                }
                let lower = lower_ascii(value);
                if let Some(ids) = self.names.ja4.get(lower.as_ref()) {
                    for id in ids {
                        on_hit(*id, Cow::Borrowed(lower.as_ref()));
                    }
                }
            }
            Field::EmailFrom | Field::EmailTo => {
                if self.names.emails.is_empty() {
                    return;
                }
                if let Some(email) = observed_email(value)
                    && let Some(ids) = self.names.emails.get(email.as_ref())
                {
                    for id in ids {
                        on_hit(*id, Cow::Borrowed(email.as_ref()));
                    }
                }
            }
            _ => {}
        }
    }
}

impl Addresses {
    /// Reserves room for the addresses of `counts`.
    fn reserve(&mut self, counts: &KindCounts) {
        self.v4.reserve(counts.v4);
        self.v6.reserve(counts.v6);
        self.sockets.reserve(counts.sockets);
    }

    /// Adds an address, socket or network, as [`Strategies::insert`] does.
    fn insert(
        &mut self,
        id: IndicatorId,
        value: &IndicatorValue,
        is_same: impl Fn(IndicatorId) -> bool,
    ) -> bool {
        match value {
            IndicatorValue::Ip(IpAddr::V4(v4)) => {
                let bits = u32::from(*v4);
                if !push_id(self.v4.entry(bits).or_default(), id, &is_same) {
                    return false;
                }
                self.set_v4_range(bits, bits);
            }
            IndicatorValue::Ip(IpAddr::V6(v6)) => {
                if !push_id(self.v6.entry(u128::from(*v6)).or_default(), id, &is_same) {
                    return false;
                }
                self.has_v6 = true;
            }
            IndicatorValue::Socket(ip, port) => {
                if !push_id(self.sockets.entry((*ip, *port)).or_default(), id, &is_same) {
                    return false;
                }
                match ip {
                    IpAddr::V4(v4) => {
                        let bits = u32::from(*v4);
                        self.set_v4_range(bits, bits);
                    }
                    IpAddr::V6(_) => self.has_v6 = true,
                }
            }
            IndicatorValue::Net(IpNet::V4(net)) => {
                if !push_net(&mut self.v4_nets, *net, id, &is_same) {
                    return false;
                }
                self.set_v4_range(u32::from(net.network()), u32::from(net.broadcast()));
            }
            IndicatorValue::Net(IpNet::V6(net)) => {
                if !push_net(&mut self.v6_nets, *net, id, &is_same) {
                    return false;
                }
                self.has_v6 = true;
            }
            IndicatorValue::Domain(_)
            | IndicatorValue::Url(_)
            | IndicatorValue::Digest { .. }
            | IndicatorValue::Email(_)
            | IndicatorValue::Ja4(_) => return false,
        }
        true
    }

    #[inline]
    fn match_ip<F>(&self, ip: IpAddr, port: Option<u16>, on_hit: &mut F)
    where
        F: FnMut(IndicatorId, Cow<'_, str>),
    {
        let mut atomic: Option<String> = None;
        let mut hit = |id: IndicatorId, on_hit: &mut F| {
            let text = atomic.get_or_insert_with(|| ip.to_string());
            on_hit(id, Cow::Borrowed(text.as_str()));
        };
        match ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                match &self.v4_filter {
                    Some(filter) if filter.may_contain(bits) => {}
                    _ => return,
                }
                if let Some(ids) = self.v4.get(&bits) {
                    ids.iter().for_each(|id| hit(*id, on_hit));
                }
                if let Ok(host) = Ipv4Net::new(v4, 32) {
                    for (_, ids) in self.v4_nets.cover(&host) {
                        ids.iter().for_each(|id| hit(*id, on_hit));
                    }
                }
            }
            IpAddr::V6(v6) => {
                if !self.has_v6 {
                    return;
                }
                if let Some(ids) = self.v6.get(&u128::from(v6)) {
                    ids.iter().for_each(|id| hit(*id, on_hit));
                }
                if let Ok(host) = Ipv6Net::new(v6, 128) {
                    for (_, ids) in self.v6_nets.cover(&host) {
                        ids.iter().for_each(|id| hit(*id, on_hit));
                    }
                }
            }
        }
        if let Some(port) = port.filter(|_| !self.sockets.is_empty())
            && let Some(ids) = self.sockets.get(&(ip, port))
        {
            ids.iter().for_each(|id| hit(*id, on_hit));
        }
    }

    /// Returns true when an IPv6 address or network indicator contains
    /// `v6`. Socket indicators are left out.
    pub(crate) fn contains_v6(&self, v6: Ipv6Addr) -> bool {
        self.has_v6
            && (self.v6.contains_key(&u128::from(v6))
                || Ipv6Net::new(v6, 128).is_ok_and(|host| self.v6_nets.cover(&host).next().is_some()))
    }

    /// Returns the addresses of the IPv6 socket indicators.
    pub(crate) fn v6_socket_addresses(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.sockets.keys().filter_map(|(ip, _)| match ip {
            IpAddr::V6(v6) => Some(*v6),
            IpAddr::V4(_) => None,
        })
    }

    /// Marks the IPv4 /16 blocks from the one of `first` to the one of
    /// `last` in the /16 filter, creating the filter on first use.
    fn set_v4_range(&mut self, first: u32, last: u32) {
        self.v4_filter
            .get_or_insert_with(V4Filter::new)
            .set_range(first >> 16, last >> 16);
    }
}

impl Names {
    /// Looks the name up, then each parent domain on a label boundary.
    fn match_domain<F>(
        &self,
        watchlists: &[WatchlistInfo],
        owners: &[WatchlistId],
        value: &str,
        on_hit: &mut F,
    ) where
        F: FnMut(IndicatorId, Cow<'_, str>),
    {
        if self.domains.is_empty() {
            return;
        }
        let Some(name) = observed_domain(value) else {
            return;
        };
        let mut suffix: &str = name.as_ref();
        let mut exact = true;
        loop {
            if let Some(ids) = self.domains.get(suffix) {
                for id in ids {
                    let subdomains_allowed = owners
                        .get(*id as usize)
                        .and_then(|owner| watchlists.get(usize::from(*owner)))
                        .is_none_or(|list| list.domain_match == DomainMatch::Subdomains);
                    if exact || subdomains_allowed {
                        on_hit(*id, Cow::Borrowed(name.as_ref()));
                    }
                }
            }
            match suffix.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => {
                    suffix = parent;
                    exact = false;
                }
                _ => break,
            }
        }
    }

    fn match_url<F>(&self, value: &str, on_hit: &mut F)
    where
        F: FnMut(IndicatorId, Cow<'_, str>),
    {
        if self.urls.is_empty() {
            return;
        }
        let Some(url) = CanonicalUrl::observed(value) else {
            return;
        };
        let Some(candidates) = self.urls.get(url.key.as_str()) else {
            return;
        };
        let full = url.to_string();
        for (rule, id) in candidates {
            if rule.accepts(url.scheme.as_deref()) {
                on_hit(*id, Cow::Borrowed(full.as_str()));
            }
        }
    }

    fn match_digest<F>(&self, value: &str, algo: DigestAlgo, field_scope: DigestScope, on_hit: &mut F)
    where
        F: FnMut(IndicatorId, Cow<'_, str>),
    {
        if self.digests.is_empty() {
            return;
        }
        let Some(hex) = observed_digest(value, algo) else {
            return;
        };
        let Some(candidates) = self.digests.get(hex.as_ref()) else {
            return;
        };
        for (scope, id) in candidates {
            if *scope == DigestScope::Any || *scope == field_scope {
                on_hit(*id, Cow::Borrowed(hex.as_ref()));
            }
        }
    }

    /// Reserves room for the names of `counts`.
    fn reserve(&mut self, counts: &KindCounts) {
        self.domains.reserve(counts.domains);
        self.urls.reserve(counts.urls);
        self.digests.reserve(counts.digests);
        self.emails.reserve(counts.emails);
        self.ja4.reserve(counts.ja4);
    }

    /// Adds a value written as text, as [`Strategies::insert`] does.
    fn insert(
        &mut self,
        id: IndicatorId,
        value: &IndicatorValue,
        is_same: impl Fn(IndicatorId) -> bool,
    ) -> bool {
        match value {
            IndicatorValue::Domain(domain) => push_keyed(&mut self.domains, domain, id, &is_same),
            IndicatorValue::Url(url) => {
                let rule = SchemeRule::of(url.scheme.as_deref());
                push_keyed_with(&mut self.urls, &url.key, (rule, id), |(_, other)| is_same(*other))
            }
            IndicatorValue::Digest { scope, hex, .. } => {
                push_keyed_with(&mut self.digests, hex, (*scope, id), |(_, other)| is_same(*other))
            }
            IndicatorValue::Email(email) => push_keyed(&mut self.emails, email, id, &is_same),
            IndicatorValue::Ja4(ja4) => push_keyed(&mut self.ja4, ja4, id, &is_same),
            IndicatorValue::Ip(_) | IndicatorValue::Socket(..) | IndicatorValue::Net(_) => false,
        }
    }
}

/// Number of indicators of each table, for reserving room in it.
#[derive(Debug, Default)]
pub(crate) struct KindCounts {
    v4: usize,
    v6: usize,
    sockets: usize,
    domains: usize,
    urls: usize,
    digests: usize,
    emails: usize,
    ja4: usize,
}

impl KindCounts {
    /// Counts one value of each of `values` in the table it goes to.
    pub(crate) fn of<'a>(values: impl IntoIterator<Item = &'a IndicatorValue>) -> Self {
        let mut counts = Self::default();
        for value in values {
            match value {
                IndicatorValue::Ip(IpAddr::V4(_)) => counts.v4 += 1,
                IndicatorValue::Ip(IpAddr::V6(_)) => counts.v6 += 1,
                IndicatorValue::Socket(..) => counts.sockets += 1,
                IndicatorValue::Net(_) => {}
                IndicatorValue::Domain(_) => counts.domains += 1,
                IndicatorValue::Url(_) => counts.urls += 1,
                IndicatorValue::Digest { .. } => counts.digests += 1,
                IndicatorValue::Email(_) => counts.emails += 1,
                IndicatorValue::Ja4(_) => counts.ja4 += 1,
            }
        }
        counts
    }
}

/// Returns the digest algorithm and scope of a digest field.
fn digest_kind(field: Field) -> Option<(DigestAlgo, DigestScope)> {
    match field {
        Field::TlsJa3 => Some((DigestAlgo::Md5, DigestScope::Ja3)),
        Field::TlsJa3s => Some((DigestAlgo::Md5, DigestScope::Ja3s)),
        Field::TlsCertSha1 => Some((DigestAlgo::Sha1, DigestScope::Cert)),
        Field::TlsCertSha256 => Some((DigestAlgo::Sha256, DigestScope::Cert)),
        Field::FileMd5 => Some((DigestAlgo::Md5, DigestScope::File)),
        Field::FileSha1 => Some((DigestAlgo::Sha1, DigestScope::File)),
        Field::FileSha256 => Some((DigestAlgo::Sha256, DigestScope::File)),
        Field::FileSha512 => Some((DigestAlgo::Sha512, DigestScope::File)),
        _ => None,
    }
}

/// Calls `insert` with the id, value and index of each indicator of
/// `added` that goes to [`Addresses`] when `addresses` is true, and to
/// [`Names`] otherwise. The first of `added` has index `start`. Returns
/// the indexes for which `insert` returned false.
fn add_group(
    start: usize,
    added: &[Indicator],
    addresses: bool,
    mut insert: impl FnMut(IndicatorId, &IndicatorValue, usize) -> bool,
) -> Vec<usize> {
    let mut rejected = Vec::new();
    for (offset, indicator) in added.iter().enumerate() {
        let index = start + offset;
        if is_address(&indicator.value) == addresses {
            // The caller checked that every index fits an id.
            let id = IndicatorId::try_from(index).unwrap_or(IndicatorId::MAX);
            if !insert(id, &indicator.value, index) {
                rejected.push(index);
            }
        }
    }
    rejected
}

/// Appends `id` to `ids` unless `is_same` is true for an id already there.
fn push_id(ids: &mut Ids, id: IndicatorId, is_same: impl Fn(IndicatorId) -> bool) -> bool {
    if ids.iter().any(|other| is_same(*other)) {
        return false;
    }
    ids.push(id);
    true
}

fn push_net<N: prefix_trie::Prefix>(
    map: &mut PrefixMap<N, Ids>,
    net: N,
    id: IndicatorId,
    is_same: impl Fn(IndicatorId) -> bool,
) -> bool {
    match map.get_mut(&net) {
        Some(ids) => push_id(ids, id, is_same),
        None => {
            map.insert(net, smallvec::smallvec![id]);
            true
        }
    }
}

/// Appends `id` to the bucket of string key `key`, as [`push_id`] does.
fn push_keyed(
    map: &mut Map<Box<str>, Ids>,
    key: &str,
    id: IndicatorId,
    is_same: impl Fn(IndicatorId) -> bool,
) -> bool {
    push_keyed_with(map, key, id, |other| is_same(*other))
}

/// Appends `item` to the bucket of string key `key` unless `is_same`
/// is true for an item already there. The key is copied only when it is
/// new.
fn push_keyed_with<A: smallvec::Array>(
    map: &mut Map<Box<str>, SmallVec<A>>,
    key: &str,
    item: A::Item,
    is_same: impl Fn(&A::Item) -> bool,
) -> bool {
    match map.get_mut(key) {
        Some(bucket) => {
            if bucket.iter().any(is_same) {
                return false;
            }
            bucket.push(item);
        }
        None => {
            let mut bucket = SmallVec::new();
            bucket.push(item);
            map.insert(Box::from(key), bucket);
        }
    }
    true
}

fn lower_ascii(value: &str) -> Cow<'_, str> {
    if value.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(value.to_ascii_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}
