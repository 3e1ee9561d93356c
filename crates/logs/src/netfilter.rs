//! Linux netfilter log lines, as the iptables and nftables `LOG` targets
//! and UFW write them to the kernel log:
//!
//! ```text
//! [3217909.838554] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:... SRC=109.205.213.90 DST=194.58.102.129 LEN=40 ... PROTO=TCP SPT=51638 DPT=48580 WINDOW=1024 RES=0x00 SYN URGP=0
//! ```
//!
//! The optional `[seconds since boot]` comes first, then the log prefix
//! the rule set chose (`[UFW BLOCK]`, an iptables `--log-prefix`), kept as
//! `event.action`. The fields are `KEY=value` words, some empty (`OUT=`),
//! some bare flags (`DF`, `SYN`); IPv6 packets use the same keys. An ICMP
//! error quotes the packet that caused it in `[...]`. The quoted addresses
//! become `related.ip`, and the quoted ports are not taken for the ICMP
//! packet's. ARP
//! packets give their addresses as `IPSRC=` and `IPDST=`.

use std::borrow::Cow;

use iocwatch_model::{Field, Record};

use crate::syslog::{parse_ip, transport_name};
use crate::{DecodeError, excerpt};

/// Returns true when `body` has the `IN=` and `OUT=` fields that start
/// every netfilter log line.
pub(crate) fn matches(body: &str) -> bool {
    find_field(body, "IN=").is_some() && find_field(body, "OUT=").is_some()
}

/// Returns the offset of the word that starts with `key`.
fn find_field(body: &str, key: &str) -> Option<usize> {
    body.match_indices(key)
        .map(|(position, _)| position)
        .find(|&position| position == 0 || body.as_bytes().get(position - 1) == Some(&b' '))
}

/// The fields of the outer packet, each from its first occurrence.
#[derive(Default)]
struct Fields<'l> {
    source: Option<&'l str>,
    destination: Option<&'l str>,
    source_port: Option<&'l str>,
    destination_port: Option<&'l str>,
    protocol: Option<&'l str>,
    input: Option<&'l str>,
    output: Option<&'l str>,
}

/// Decodes a netfilter log line.
pub(crate) fn decode(body: &str) -> Result<Record<'_>, DecodeError> {
    let Some(fields_start) = find_field(body, "IN=") else {
        return Err(DecodeError::new(format!(
            "netfilter line has no IN= field: {}",
            excerpt(body.as_bytes())
        )));
    };
    let mut record = Record {
        format: "netfilter",
        dataset: Cow::Borrowed("iptables.log"),
        ..Record::default()
    };
    let prefix = log_prefix(body.get(..fields_start).unwrap_or_default());
    if !prefix.is_empty() {
        record.add_context("event.action", prefix);
    }

    let mut fields = Fields::default();
    let mut depth = 0_usize;
    for word in body.get(fields_start..).unwrap_or_default().split(' ') {
        let mut word = word;
        if let Some(inner) = word.strip_prefix('[') {
            depth += 1;
            word = inner;
        }
        let closes = word.ends_with(']');
        if closes {
            word = word.strip_suffix(']').unwrap_or(word);
        }
        if let Some((key, value)) = word.split_once('=') {
            if depth == 0 {
                fields.take(key, value);
            } else if matches!(key, "SRC" | "DST") && parse_ip(value).is_some() {
                record.observe(Field::RelatedIp, value);
            }
        }
        if closes {
            depth = depth.saturating_sub(1);
        }
    }

    let source = required(fields.source, "SRC")?;
    let destination = required(fields.destination, "DST")?;
    let source_port = port(fields.source_port, "SPT")?;
    let destination_port = port(fields.destination_port, "DPT")?;
    record.set_endpoint(Field::SourceIp, Cow::Borrowed(source), source_port);
    record.set_endpoint(Field::DestinationIp, Cow::Borrowed(destination), destination_port);
    if let Some(protocol) = fields.protocol {
        record.add_context("network.transport", transport_name(protocol));
    }
    if let Some(input) = fields.input {
        record.add_context("observer.ingress.interface.name", input);
    }
    if let Some(output) = fields.output {
        record.add_context("observer.egress.interface.name", output);
    }
    Ok(record)
}

impl<'l> Fields<'l> {
    fn take(&mut self, key: &str, value: &'l str) {
        let slot = match key {
            "SRC" | "IPSRC" => &mut self.source,
            "DST" | "IPDST" => &mut self.destination,
            "SPT" => &mut self.source_port,
            "DPT" => &mut self.destination_port,
            "PROTO" => &mut self.protocol,
            "IN" => &mut self.input,
            "OUT" => &mut self.output,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
}

/// Returns the address of field `key`, which every IP packet's line has.
fn required<'l>(value: Option<&'l str>, key: &str) -> Result<&'l str, DecodeError> {
    let Some(value) = value else {
        return Err(DecodeError::new(format!(
            "netfilter line has no {key}= field; is it cut off?"
        )));
    };
    if parse_ip(value).is_none() {
        return Err(DecodeError::new(format!(
            "netfilter {key}= is not an IP address: {}",
            excerpt(value.as_bytes())
        )));
    }
    Ok(value)
}

fn port(value: Option<&str>, key: &str) -> Result<Option<u16>, DecodeError> {
    match value {
        None => Ok(None),
        Some(value) => value.parse().map(Some).map_err(|_| {
            DecodeError::new(format!(
                "netfilter {key}= is not a port number: {}",
                excerpt(value.as_bytes())
            ))
        }),
    }
}

/// Returns the log prefix from the text before `IN=`: without the
/// `[uptime]` stamp, the brackets UFW puts around it, and a trailing
/// colon.
fn log_prefix(text: &str) -> &str {
    let mut text = text.trim();
    if let Some(rest) = text.strip_prefix('[')
        && let Some((stamp, after)) = rest.split_once(']')
        && stamp
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b' ')
    {
        text = after.trim();
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')) {
        text = inner.trim();
    }
    text.strip_suffix(':').unwrap_or(text).trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{context, pairs};

    #[test]
    fn decodes_addresses_ports_and_prefix() {
        type Row = (
            &'static str,
            Vec<(&'static str, &'static str)>,
            Option<u16>,
            Option<u16>,
            Vec<(&'static str, &'static str)>,
        );
        let rows: Vec<Row> = vec![
            (
                "[3217909.838554] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:7c:d8:0f:fe:54:00:7c:d8:0f:08:00 SRC=109.205.213.90 DST=194.58.102.129 LEN=40 TOS=0x00 PREC=0x00 TTL=240 ID=1830 PROTO=TCP SPT=51638 DPT=48580 WINDOW=1024 RES=0x00 SYN URGP=0 ",
                vec![
                    ("source.ip", "109.205.213.90"),
                    ("destination.ip", "194.58.102.129"),
                ],
                Some(51638),
                Some(48580),
                vec![
                    ("event.action", "UFW BLOCK"),
                    ("network.transport", "tcp"),
                    ("observer.ingress.interface.name", "eth0"),
                ],
            ),
            (
                "[  341.399450] [netfilter-OUTPUT] IN= OUT=enp0s3 SRC=192.168.122.235 DST=192.168.122.1 LEN=56 TOS=0x00 PREC=0x00 TTL=64 ID=47923 DF PROTO=UDP SPT=43648 DPT=53 LEN=36 ",
                vec![
                    ("source.ip", "192.168.122.235"),
                    ("destination.ip", "192.168.122.1"),
                ],
                Some(43648),
                Some(53),
                vec![
                    ("event.action", "netfilter-OUTPUT"),
                    ("network.transport", "udp"),
                    ("observer.egress.interface.name", "enp0s3"),
                ],
            ),
            (
                "IPTables-Dropped: IN=eth0 OUT= SRC=2001:db8::1 DST=2001:db8::2 LEN=80 TC=0 HOPLIMIT=57 FLOWLBL=0 PROTO=TCP SPT=443 DPT=50000 WINDOW=0 RES=0x00 RST URGP=0",
                vec![("source.ip", "2001:db8::1"), ("destination.ip", "2001:db8::2")],
                Some(443),
                Some(50000),
                vec![
                    ("event.action", "IPTables-Dropped"),
                    ("network.transport", "tcp"),
                    ("observer.ingress.interface.name", "eth0"),
                ],
            ),
            (
                "[UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.5 DST=198.51.100.7 LEN=84 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.7 DST=192.0.2.9 LEN=56 PROTO=UDP SPT=5353 DPT=33434 LEN=36 ] ",
                vec![
                    ("related.ip", "198.51.100.7"),
                    ("related.ip", "192.0.2.9"),
                    ("source.ip", "203.0.113.5"),
                    ("destination.ip", "198.51.100.7"),
                ],
                None,
                None,
                vec![
                    ("event.action", "UFW BLOCK"),
                    ("network.transport", "icmp"),
                    ("observer.ingress.interface.name", "eth0"),
                ],
            ),
            (
                "IN=br0 OUT= ARP HTYPE=1 PTYPE=0x0800 OPCODE=1 MACSRC=aa:bb:cc:dd:ee:ff IPSRC=192.0.2.1 MACDST=00:00:00:00:00:00 IPDST=192.0.2.2",
                vec![("source.ip", "192.0.2.1"), ("destination.ip", "192.0.2.2")],
                None,
                None,
                vec![("observer.ingress.interface.name", "br0")],
            ),
        ];
        for (body, observables, source_port, destination_port, expected_context) in rows {
            let record = decode(body).unwrap_or_else(|err| panic!("{body}: {err}"));
            assert_eq!(pairs(&record), observables, "{body}");
            assert_eq!(record.source.as_ref().and_then(|e| e.port), source_port, "{body}");
            assert_eq!(
                record.destination.as_ref().and_then(|e| e.port),
                destination_port,
                "{body}"
            );
            assert_eq!(context(&record), expected_context, "{body}");
            assert_eq!(record.format, "netfilter");
            assert_eq!(record.dataset, "iptables.log");
        }
    }

    #[test]
    fn malformed_lines_name_the_field() {
        let rows = [
            (
                "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:7c:d",
                "netfilter line has no SRC= field; is it cut off?",
            ),
            (
                "IN=eth0 OUT= SRC=192.0.2.1 DS",
                "netfilter line has no DST= field; is it cut off?",
            ),
            (
                "IN=eth0 OUT= SRC=185.81.6 DST=192.0.2.1",
                "netfilter SRC= is not an IP address: \"185.81.6\"",
            ),
            (
                "IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.300",
                "netfilter DST= is not an IP address: \"192.0.2.300\"",
            ),
            (
                "IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.3 PROTO=TCP SPT=99999 DPT=1",
                "netfilter SPT= is not a port number: \"99999\"",
            ),
            (
                "OUT= SRC=192.0.2.1",
                "netfilter line has no IN= field: \"OUT= SRC=192.0.2.1\"",
            ),
        ];
        for (body, expected) in rows {
            assert_eq!(decode(body).map(|_| ()).unwrap_err().message, expected, "{body}");
        }
    }

    #[test]
    fn matches_needs_in_and_out() {
        assert!(matches("[UFW BLOCK] IN=eth0 OUT= SRC=1"));
        assert!(matches("IN= OUT=eth0"));
        assert!(!matches("PHYSIN=eth0 OUT= SRC=1"));
        assert!(!matches("srcip=192.0.2.1 dstip=192.0.2.2"));
    }
}
