//! The decoded form of one log line.
//!
//! A [`Record`] borrows from the line wherever it can, so that the hot
//! path allocates nothing for the large majority of lines that match no
//! indicator. The owned alert is built only on a match.

use std::borrow::Cow;

use crate::field::Field;

/// One value seen in a log field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed<'l> {
    /// The ECS field it was seen in.
    pub field: Field,
    /// The value as the log wrote it (unescaped).
    pub value: Cow<'l, str>,
    /// For an address, the port it was seen with (connection endpoints),
    /// which lets `ip:port` indicators match.
    pub port: Option<u16>,
}

impl<'l> Observed<'l> {
    /// Creates an observable without port.
    pub fn new(field: Field, value: impl Into<Cow<'l, str>>) -> Self {
        Self {
            field,
            value: value.into(),
            port: None,
        }
    }
}

/// A connection endpoint as a log wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint<'l> {
    /// The address text.
    pub ip: Cow<'l, str>,
    /// The port, when the log gives one.
    pub port: Option<u16>,
}

/// One decoded log line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record<'l> {
    /// The log format the line was read as, for statistics: `zeek-tsv`,
    /// `zeek-json`, `suricata-eve`, `ecs`, `sysmon`, or a syslog body format
    /// (`netfilter`, `filterlog`, `panos`, `cef`, `kv`).
    pub format: &'static str,
    /// ECS `event.dataset`, such as `zeek.conn` or `suricata.eve`.
    pub dataset: Cow<'l, str>,
    /// The event time as the log wrote it (epoch seconds or ISO 8601).
    pub timestamp: Option<Cow<'l, str>>,
    /// The connection's source endpoint.
    pub source: Option<Endpoint<'l>>,
    /// The connection's destination endpoint.
    pub destination: Option<Endpoint<'l>>,
    /// Every value that can match an indicator.
    pub observables: Vec<Observed<'l>>,
    /// Other ECS fields worth showing in an alert (`network.transport`,
    /// `event.action`, a Zeek `uid`), by dotted ECS name.
    pub context: Vec<(&'static str, Cow<'l, str>)>,
}

impl<'l> Record<'l> {
    /// Adds an observable unless the value is empty or a placeholder
    /// (`-`, `(empty)`).
    pub fn observe(&mut self, field: Field, value: impl Into<Cow<'l, str>>) {
        let value = value.into();
        if !is_placeholder(&value) {
            self.observables.push(Observed {
                field,
                value,
                port: None,
            });
        }
    }

    /// Sets an endpoint and adds its address as an observable.
    pub fn set_endpoint(&mut self, field: Field, ip: Cow<'l, str>, port: Option<u16>) {
        if is_placeholder(&ip) {
            return;
        }
        let endpoint = Endpoint { ip: ip.clone(), port };
        match field {
            Field::SourceIp => self.source = Some(endpoint),
            Field::DestinationIp => self.destination = Some(endpoint),
            _ => {}
        }
        self.observables.push(Observed {
            field,
            value: ip,
            port,
        });
    }

    /// Adds a context field unless the value is empty or a placeholder.
    pub fn add_context(&mut self, name: &'static str, value: impl Into<Cow<'l, str>>) {
        let value = value.into();
        if !is_placeholder(&value) {
            self.context.push((name, value));
        }
    }
}

/// Empty values and the placeholders logs write for them.
pub fn is_placeholder(value: &str) -> bool {
    matches!(value, "" | "-" | "(empty)")
}
