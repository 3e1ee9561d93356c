//! pfSense and OPNsense `filterlog` lines: one CSV record per packet that
//! a logging rule saw.
//!
//! Every record starts with nine fields: rule number, sub-rule, anchor,
//! tracker (the rule's stable id), interface, reason, action (`pass`,
//! `block`, `reject`), direction (`in`, `out`) and IP version. Then:
//!
//! - IPv4: TOS, ECN, TTL, id, offset, flags, protocol number, protocol
//!   name, length, source, destination (fields 10 to 20).
//! - IPv6: class, flow label, hop limit, protocol name, protocol number,
//!   length, source, destination (fields 10 to 17).
//! - TCP and UDP add source port, destination port and data length; TCP
//!   then its flags, sequence numbers, window, urgent pointer and options.
//!   ICMP, IGMP, CARP and other protocols add their own fields, which
//!   carry no observable and are not read.

use std::borrow::Cow;

use iocwatch_model::{Field, Record};

use crate::syslog::{parse_ip, transport_name};
use crate::{DecodeError, excerpt};

/// Number of fields every record has.
const COMMON_FIELDS: usize = 9;

/// Whether `body` is a filterlog record without its `filterlog` tag: CSV
/// whose action, direction and IP version fields hold their known values.
pub(crate) fn matches(body: &str) -> bool {
    let mut fields = body.splitn(COMMON_FIELDS + 1, ',').skip(6);
    let (Some(action), Some(direction), Some(version)) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    matches!(
        action,
        "pass" | "block" | "reject" | "match" | "scrub" | "nat" | "rdr" | "binat"
    ) && matches!(direction, "in" | "out")
        && matches!(version, "4" | "6")
}

/// Field positions, 0-based, that differ between IPv4 and IPv6 records.
struct Layout {
    protocol: usize,
    source: usize,
    destination: usize,
}

const IPV4: Layout = Layout {
    protocol: 16,
    source: 18,
    destination: 19,
};

const IPV6: Layout = Layout {
    protocol: 12,
    source: 15,
    destination: 16,
};

/// Decodes a filterlog record.
pub(crate) fn decode(body: &str) -> Result<Record<'_>, DecodeError> {
    let fields: Vec<&str> = body.split(',').collect();
    if fields.len() < COMMON_FIELDS {
        return Err(cut_off(fields.len(), COMMON_FIELDS, "every record"));
    }
    let field = |index: usize| fields.get(index).copied().unwrap_or_default();
    let (layout, version) = match field(8) {
        "4" => (&IPV4, "an IPv4 record"),
        "6" => (&IPV6, "an IPv6 record"),
        other => {
            return Err(DecodeError::new(format!(
                "filterlog field 9 (IP version) must be 4 or 6, found {}",
                excerpt(other.as_bytes())
            )));
        }
    };
    if fields.len() <= layout.destination {
        return Err(cut_off(fields.len(), layout.destination + 1, version));
    }

    let mut record = Record {
        format: "filterlog",
        dataset: Cow::Borrowed("pfsense.log"),
        ..Record::default()
    };
    let protocol = field(layout.protocol);
    let is_tcp = protocol.eq_ignore_ascii_case("tcp");
    let is_udp = protocol.eq_ignore_ascii_case("udp");
    let (source_port, destination_port) = if is_tcp || is_udp {
        let first = layout.destination + 1;
        if fields.len() < first + 2 {
            return Err(cut_off(
                fields.len(),
                first + 2,
                if is_tcp { "a tcp record" } else { "a udp record" },
            ));
        }
        (
            Some(port(field(first), first)?),
            Some(port(field(first + 1), first + 1)?),
        )
    } else {
        (None, None)
    };
    let source = address(field(layout.source), layout.source, "source")?;
    let destination = address(field(layout.destination), layout.destination, "destination")?;
    record.set_endpoint(Field::SourceIp, Cow::Borrowed(source), source_port);
    record.set_endpoint(Field::DestinationIp, Cow::Borrowed(destination), destination_port);

    record.add_context("event.action", field(6));
    let direction = field(7);
    let interface_field = match direction {
        "in" => "observer.ingress.interface.name",
        _ => "observer.egress.interface.name",
    };
    record.add_context(
        "network.direction",
        match direction {
            "in" => "ingress",
            "out" => "egress",
            other => other,
        },
    );
    record.add_context(interface_field, field(4));
    record.add_context("event.reason", field(5));
    record.add_context("rule.id", field(3));
    if !protocol.is_empty() {
        record.add_context("network.transport", transport_name(protocol));
    }
    Ok(record)
}

fn cut_off(found: usize, needed: usize, record_kind: &str) -> DecodeError {
    DecodeError::new(format!(
        "filterlog line has {found} fields, but {record_kind} has at least {needed}; is it cut off?"
    ))
}

fn address<'l>(value: &'l str, index: usize, role: &str) -> Result<&'l str, DecodeError> {
    if parse_ip(value).is_some() {
        Ok(value)
    } else {
        Err(DecodeError::new(format!(
            "filterlog field {} ({role} address) is not an IP address: {}",
            index + 1,
            excerpt(value.as_bytes())
        )))
    }
}

fn port(value: &str, index: usize) -> Result<u16, DecodeError> {
    value.parse().map_err(|_| {
        DecodeError::new(format!(
            "filterlog field {} (port) is not a port number: {}",
            index + 1,
            excerpt(value.as_bytes())
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    #[test]
    fn decodes_each_version_and_protocol() {
        type Row = (
            &'static str,
            [&'static str; 2],
            Option<u16>,
            Option<u16>,
            &'static str,
            &'static str,
        );
        let rows: [Row; 6] = [
            (
                "146,,,1535324496,igb1.12,match,block,in,4,0x0,,63,12617,0,DF,6,tcp,60,10.170.12.50,1.1.1.1,49724,853,0,S,1891286705,,64240,,mss;sackOK;TS;nop;wscale",
                ["10.170.12.50", "1.1.1.1"],
                Some(49724),
                Some(853),
                "tcp",
                "block",
            ),
            (
                "176,,,1520797901,igb1.27,match,pass,in,4,0xb8,,64,58355,0,none,17,udp,76,10.170.27.27,216.229.4.66,123,123,56",
                ["10.170.27.27", "216.229.4.66"],
                Some(123),
                Some(123),
                "udp",
                "pass",
            ),
            (
                "6,,,1000000105,igb1.27,match,block,in,6,0x00,0xf6279,1,UDP,17,32,fe80::208:9bff:fef3:652b,ff02::1:2,546,547,32",
                ["fe80::208:9bff:fef3:652b", "ff02::1:2"],
                Some(546),
                Some(547),
                "udp",
                "block",
            ),
            (
                "176,,,1520797901,igb1.10,match,pass,in,4,0x0,,64,62096,0,DF,1,icmp,84,10.100.10.30,142.250.114.105,request,37728,164",
                ["10.100.10.30", "142.250.114.105"],
                None,
                None,
                "icmp",
                "pass",
            ),
            (
                "199,,,1557957510,igb1.12,match,pass,in,4,0xc0,,1,0,0,DF,2,igmp,32,10.170.12.17,239.255.255.250,datalength=8",
                ["10.170.12.17", "239.255.255.250"],
                None,
                None,
                "igmp",
                "pass",
            ),
            (
                "7,,,1000000103,em0,match,reject,out,6,0x00,0x00000,64,ICMPv6,58,16,2001:db8::1,2001:db8::2,",
                ["2001:db8::1", "2001:db8::2"],
                None,
                None,
                "ipv6-icmp",
                "reject",
            ),
        ];
        for (body, [source, destination], source_port, destination_port, transport, action) in rows {
            let record = decode(body).unwrap_or_else(|err| panic!("{body}: {err}"));
            assert_eq!(
                pairs(&record),
                [("source.ip", source), ("destination.ip", destination)],
                "{body}"
            );
            assert_eq!(record.source.as_ref().and_then(|e| e.port), source_port, "{body}");
            assert_eq!(
                record.destination.as_ref().and_then(|e| e.port),
                destination_port,
                "{body}"
            );
            let context = context(&record);
            assert!(
                context.contains(&("network.transport", transport)),
                "{body}: {context:?}"
            );
            assert!(context.contains(&("event.action", action)), "{body}: {context:?}");
            assert!(matches(body), "{body}");
        }
    }

    #[test]
    fn direction_and_interface() {
        let record = decode(
            "7,,,1000000103,em0,match,reject,out,4,0x0,,64,1,0,none,17,udp,40,192.0.2.1,198.51.100.2,1,2,20",
        )
        .unwrap();
        let context = context(&record);
        assert!(context.contains(&("network.direction", "egress")), "{context:?}");
        assert!(
            context.contains(&("observer.egress.interface.name", "em0")),
            "{context:?}"
        );
        assert!(context.contains(&("rule.id", "1000000103")), "{context:?}");
        assert!(context.contains(&("event.reason", "match")), "{context:?}");
    }

    #[test]
    fn malformed_lines_name_the_field() {
        let rows = [
            (
                "146,,,1535324496,igb1.12",
                "filterlog line has 5 fields, but every record has at least 9; is it cut off?",
            ),
            (
                "146,,,1535324496,igb1.12,match,block,in,4,0x0,,63,12617,0,DF,6,tcp,60,10.170.12.50",
                "filterlog line has 19 fields, but an IPv4 record has at least 20; is it cut off?",
            ),
            (
                "146,,,1535324496,igb1.12,match,block,in,4,0x0,,63,12617,0,DF,6,tcp,60,10.170.12.50,1.1.1.1,49724",
                "filterlog line has 21 fields, but a tcp record has at least 22; is it cut off?",
            ),
            (
                "146,,,1535324496,igb1.12,match,block,in,5,0x0",
                "filterlog field 9 (IP version) must be 4 or 6, found \"5\"",
            ),
            (
                "146,,,1535324496,igb1.12,match,block,in,4,0x0,,63,12617,0,DF,6,tcp,60,10.170.12.500,1.1.1.1,1,2,0",
                "filterlog field 19 (source address) is not an IP address: \"10.170.12.500\"",
            ),
            (
                "6,,,1000000105,igb1.27,match,block,in,6,0x00,0xf6279,1,UDP,17,32,fe80::1,ff02::zz,546,547,32",
                "filterlog field 17 (destination address) is not an IP address: \"ff02::zz\"",
            ),
            (
                "146,,,1535324496,igb1.12,match,block,in,4,0x0,,63,12617,0,DF,17,udp,60,10.0.0.1,1.1.1.1,x,2,0",
                "filterlog field 21 (port) is not a port number: \"x\"",
            ),
        ];
        for (body, expected) in rows {
            assert_eq!(decode(body).map(|_| ()).unwrap_err().message, expected, "{body}");
        }
    }

    #[test]
    fn matches_needs_known_values() {
        assert!(!matches("a,b,c,d,e,f,g,h,i"));
        assert!(!matches("146,,,1535324496,igb1.12,match,block,in,5"));
        assert!(!matches("146,,,1535324496"));
    }
}
