//! The lookup structures, one per indicator kind.

use std::borrow::Cow;
use std::net::IpAddr;

use hashbrown::HashMap;
use iocwatch_model::value::{observed_digest, observed_domain, observed_email, observed_ip};
use iocwatch_model::{CanonicalUrl, DigestAlgo, DigestScope, Field, IndicatorValue};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use smallvec::SmallVec;

use crate::{DomainMatch, Entry, IndicatorId, WatchlistInfo};

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
enum SchemeRule {
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

#[derive(Debug, Default)]
pub(crate) struct Strategies {
    v4: Map<u32, Ids>,
    v6: Map<u128, Ids>,
    sockets: Map<(IpAddr, u16), Ids>,
    v4_nets: PrefixMap<Ipv4Net, Ids>,
    v6_nets: PrefixMap<Ipv6Net, Ids>,
    pub(crate) v4_filter: Option<V4Filter>,
    pub(crate) has_v6: bool,
    pub(crate) domains: Map<Box<str>, Ids>,
    urls: Map<Box<str>, SmallVec<[(SchemeRule, IndicatorId); 1]>>,
    pub(crate) digests: Map<Box<str>, SmallVec<[(DigestScope, IndicatorId); 1]>>,
    emails: Map<Box<str>, Ids>,
    pub(crate) ja4: Map<Box<str>, Ids>,
}

impl Strategies {
    pub(crate) fn build(entries: &[Entry], _watchlists: &[WatchlistInfo]) -> Self {
        let mut this = Self::default();
        let mut filter = V4Filter::new();
        for (index, entry) in entries.iter().enumerate() {
            let id = IndicatorId::try_from(index).unwrap_or(IndicatorId::MAX);
            match &entry.indicator.value {
                IndicatorValue::Ip(IpAddr::V4(v4)) => {
                    let bits = u32::from(*v4);
                    filter.set_range(bits >> 16, bits >> 16);
                    this.v4.entry(bits).or_default().push(id);
                }
                IndicatorValue::Ip(IpAddr::V6(v6)) => {
                    this.has_v6 = true;
                    this.v6.entry(u128::from(*v6)).or_default().push(id);
                }
                IndicatorValue::Socket(ip, port) => {
                    match ip {
                        IpAddr::V4(v4) => {
                            let bits = u32::from(*v4);
                            filter.set_range(bits >> 16, bits >> 16);
                        }
                        IpAddr::V6(_) => this.has_v6 = true,
                    }
                    this.sockets.entry((*ip, *port)).or_default().push(id);
                }
                IndicatorValue::Net(IpNet::V4(net)) => {
                    filter.set_range(u32::from(net.network()) >> 16, u32::from(net.broadcast()) >> 16);
                    push_net(&mut this.v4_nets, *net, id);
                }
                IndicatorValue::Net(IpNet::V6(net)) => {
                    this.has_v6 = true;
                    push_net(&mut this.v6_nets, *net, id);
                }
                IndicatorValue::Domain(domain) => {
                    this.domains.entry(domain.as_str().into()).or_default().push(id);
                }
                IndicatorValue::Url(url) => {
                    let rule = SchemeRule::of(url.scheme.as_deref());
                    this.urls
                        .entry(url.key.as_str().into())
                        .or_default()
                        .push((rule, id));
                }
                IndicatorValue::Digest { scope, hex, .. } => {
                    this.digests
                        .entry(hex.as_str().into())
                        .or_default()
                        .push((*scope, id));
                }
                IndicatorValue::Email(email) => {
                    this.emails.entry(email.as_str().into()).or_default().push(id);
                }
                IndicatorValue::Ja4(ja4) => {
                    this.ja4.entry(ja4.as_str().into()).or_default().push(id);
                }
            }
        }
        let any_v4 = !this.v4.is_empty()
            || this.v4_nets.iter().next().is_some()
            || this.sockets.keys().any(|(ip, _)| ip.is_ipv4());
        this.v4_filter = any_v4.then_some(filter);
        this
    }

    pub(crate) fn match_value<F>(
        &self,
        watchlists: &[WatchlistInfo],
        entries: &[Entry],
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
                    self.match_ip(ip, port, &mut on_hit);
                }
            }
            Field::DnsQuestionName | Field::UrlDomain | Field::TlsServerName => {
                if let Some(ip) = observed_ip(value) {
                    self.match_ip(ip, None, &mut on_hit);
                } else {
                    self.match_domain(watchlists, entries, value, &mut on_hit);
                }
            }
            Field::UrlFull => self.match_url(value, &mut on_hit),
            Field::TlsJa3 => self.match_digest(value, DigestAlgo::Md5, DigestScope::Ja3, &mut on_hit),
            Field::TlsJa3s => self.match_digest(value, DigestAlgo::Md5, DigestScope::Ja3s, &mut on_hit),
            Field::TlsCertSha1 => self.match_digest(value, DigestAlgo::Sha1, DigestScope::Cert, &mut on_hit),
            Field::TlsCertSha256 => {
                self.match_digest(value, DigestAlgo::Sha256, DigestScope::Cert, &mut on_hit)
            }
            Field::FileMd5 => self.match_digest(value, DigestAlgo::Md5, DigestScope::File, &mut on_hit),
            Field::FileSha1 => self.match_digest(value, DigestAlgo::Sha1, DigestScope::File, &mut on_hit),
            Field::FileSha256 => self.match_digest(value, DigestAlgo::Sha256, DigestScope::File, &mut on_hit),
            Field::FileSha512 => self.match_digest(value, DigestAlgo::Sha512, DigestScope::File, &mut on_hit),
            Field::TlsJa4 => {
                if self.ja4.is_empty() {
                    return;
                }
                let lower = lower_ascii(value);
                if let Some(ids) = self.ja4.get(lower.as_ref()) {
                    for id in ids {
                        on_hit(*id, Cow::Borrowed(lower.as_ref()));
                    }
                }
            }
            Field::EmailFrom | Field::EmailTo => {
                if self.emails.is_empty() {
                    return;
                }
                if let Some(email) = observed_email(value)
                    && let Some(ids) = self.emails.get(email.as_ref())
                {
                    for id in ids {
                        on_hit(*id, Cow::Borrowed(email.as_ref()));
                    }
                }
            }
            _ => {}
        }
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

    /// Looks the name up, then each parent domain on a label boundary.
    fn match_domain<F>(&self, watchlists: &[WatchlistInfo], entries: &[Entry], value: &str, on_hit: &mut F)
    where
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
                    let subdomains_allowed = entries
                        .get(*id as usize)
                        .and_then(|entry| watchlists.get(usize::from(entry.watchlist)))
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
}

fn push_net<N: prefix_trie::Prefix>(map: &mut PrefixMap<N, Ids>, net: N, id: IndicatorId) {
    match map.get_mut(&net) {
        Some(ids) => ids.push(id),
        None => {
            map.insert(net, smallvec::smallvec![id]);
        }
    }
}

fn lower_ascii(value: &str) -> Cow<'_, str> {
    if value.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(value.to_ascii_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}
