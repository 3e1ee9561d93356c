//! Reading of the parsed TOML document into the raw sections.
//!
//! Each section reader takes from its [`Table`] every key it accepts, by
//! name and TOML type, so the reader's calls are the one list of that
//! table's keys. The sink layer reads each `[[sink]]` table the same way
//! with [`SinkConfig::read`]. The values that were read go on to the value
//! checks of [`Checker`].

use iocwatch_config::Table;
use iocwatch_sinks::SinkConfig;

use super::{Checker, RawAlerts, RawConfig, RawHttp, RawSink, RawSource};

impl<'t> Checker<'_, 't> {
    /// Reads the whole document.
    pub(super) fn read_config(&mut self, mut top: Table<'t>) -> RawConfig {
        let raw = RawConfig {
            data_dir: top.path(self.report, "data_dir"),
            home_net: top.strings(self.report, "home_net"),
            http: top.table(self.report, "http").map(|table| self.read_http(table)),
            alerts: top
                .table(self.report, "alerts")
                .map(|table| self.read_alerts(table)),
            sources: top
                .tables(self.report, "source")
                .into_iter()
                .map(|table| self.read_source(table))
                .collect(),
            sinks: top
                .tables(self.report, "sink")
                .into_iter()
                .map(|table| self.read_sink(table))
                .collect(),
        };
        top.finish(self.report);
        raw
    }

    fn read_http(&mut self, mut http: Table<'t>) -> RawHttp {
        let raw = RawHttp {
            listen: http.string(self.report, "listen"),
            max_body_bytes: http.integer(self.report, "max_body_bytes"),
            tls_cert: http.path(self.report, "tls_cert"),
            tls_key: http.path(self.report, "tls_key"),
        };
        http.finish(self.report);
        raw
    }

    fn read_alerts(&mut self, mut alerts: Table<'t>) -> RawAlerts {
        let raw = RawAlerts {
            dedup_window: alerts.string(self.report, "dedup_window"),
        };
        alerts.finish(self.report);
        raw
    }

    /// Reads one `[[source]]` table, also when its `name` or `type` is
    /// missing or not a string, so that its other values are still checked.
    fn read_source(&mut self, mut source: Table<'t>) -> RawSource {
        let report = &mut *self.report;
        let name = source.required_string(
            report,
            "name",
            "a [[source]] needs a `name`, for example name = \"zeek\"",
        );
        let kind = source.required_string(
            report,
            "type",
            "a [[source]] needs a `type`: file, syslog, http or stdin",
        );

        let decoder = source.string(report, "decoder");
        let paths = source.strings(report, "paths");
        let start_at = source.string(report, "start_at");
        let poll_interval = source.string(report, "poll_interval");
        let udp = source.string(report, "udp");
        let tcp = source.string(report, "tcp");
        let max_message_bytes = source.integer(report, "max_message_bytes");
        let wrong_type = source.wrong_type().to_vec();
        source.finish(report);

        RawSource {
            name,
            kind,
            decoder,
            paths,
            start_at,
            poll_interval,
            udp,
            tcp,
            max_message_bytes,
            wrong_type,
        }
    }

    /// Reads one `[[sink]]` table with the sink layer's reader, and keeps
    /// the places of its keys for the problems found when the sink is
    /// built.
    fn read_sink(&mut self, mut sink: Table<'t>) -> RawSink {
        let name = sink.peek_string("name");
        let config = SinkConfig::read(&mut sink, self.report);
        let raw = RawSink {
            name,
            config,
            span: sink.span(),
            places: sink.places().to_vec(),
        };
        sink.finish(self.report);
        raw
    }
}
