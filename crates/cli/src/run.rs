//! `iocwatch run` and `iocwatch config check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use iocwatch_matcher::Matcher;
use iocwatch_model::{Indicator, IndicatorValue};
use iocwatch_pipeline::Allowlist;
use iocwatch_pipeline::config::{Checks, Config, ConfigError, ConfigIssue};
use iocwatch_pipeline::service::snapshot::Snapshot;
use iocwatch_pipeline::service::{self, IngestError, IngestHandle};
use iocwatch_server::{
    AppState, HealthReport, IngestRejection, IngestTarget, LoginLimiter, LoginLimits, MetricsRender,
    RateTracker, ServiceView, TlsListener,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::args::{ConfigCheckArgs, LogFormat, RunArgs};

/// How far the configuration check goes for sinks.
#[derive(Clone, Copy)]
enum SinkCheck {
    /// Build each sink, as the service does at startup.
    Build,
    /// Build each sink and check that file sinks can write their file,
    /// without leaving anything behind, for `config check`.
    BuildAndProbe,
}

/// Reads and checks a configuration file; `None` gives the defaults.
fn load_config(path: Option<&Path>, sink_check: SinkCheck) -> Result<Config, ConfigError> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
        path: shown.clone(),
        issues: vec![ConfigIssue {
            line: None,
            column: None,
            message: format!("cannot read the file: {err}"),
        }],
    })?;
    let decoder = |name: &str| {
        name.parse::<iocwatch_logs::Format>()
            .map(|_| ())
            .map_err(|err| err.to_string())
    };
    let tls = |cert: &Path, key: &Path| {
        iocwatch_server::load_tls_config(cert, key)
            .map(|_| ())
            .map_err(|err| err.to_string())
    };
    let checks = Checks {
        decoder: &decoder,
        sink: match sink_check {
            SinkCheck::Build => &service::check_sink,
            SinkCheck::BuildAndProbe => &service::check_sink_writable,
        },
        tls: &tls,
    };
    Config::parse(&shown, &text, &checks)
}

/// Runs `iocwatch config check`.
pub fn check(args: ConfigCheckArgs) -> Result<ExitCode> {
    args.ignored.warn("config check");
    // Building some sinks (the e-mail sink's connection pool) needs a
    // runtime, as when the service starts.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let _context = runtime.enter();
    match load_config(Some(&args.file), SinkCheck::BuildAndProbe) {
        Ok(config) => {
            println!(
                "{}: valid: {} source{}, {} sink{}, data in {}, HTTP on {}",
                args.file.display(),
                config.sources.len(),
                plural(config.sources.len()),
                config.sinks.len(),
                plural(config.sinks.len()),
                config.data_dir.display(),
                config.http.listen
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("{err}");
            Ok(ExitCode::from(crate::EXIT_ERROR))
        }
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// Runs `iocwatch run` until SIGINT or SIGTERM.
pub fn run(args: RunArgs, data_dir: Option<PathBuf>) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("iocwatch")
        .build()
        .context("cannot start the async runtime")?;
    let context = runtime.enter();
    let mut config = match load_config(args.config.as_deref(), SinkCheck::Build) {
        Ok(config) => config,
        Err(err) => anyhow::bail!("{err}"),
    };
    drop(context);
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    if let Some(listen) = args.listen {
        config.http.listen = listen;
    }
    init_logs(args.log_format);
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let result = runtime.block_on(serve(config, metrics));
    // A read of standard input cannot be cancelled: give blocking reads a
    // moment to end instead of waiting for input that may never come.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result?;
    Ok(ExitCode::SUCCESS)
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IOCWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn serve(config: Config, metrics: PrometheusHandle) -> Result<()> {
    let shutdown = CancellationToken::new();
    let listen = config.http.listen;
    let max_body_bytes = config.http.max_body_bytes;
    let data_dir = config.data_dir.clone();
    let tls = match (&config.http.tls_cert, &config.http.tls_key) {
        (Some(cert), Some(key)) => Some(iocwatch_server::load_tls_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen} for HTTP; set [http] listen to a free address")
    })?;
    let running = service::start(config, shutdown.clone())
        .await
        .with_context(|| format!("cannot start the service with data in {}", data_dir.display()))?;
    let local = listener.local_addr().unwrap_or(listen);
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(http = %local, scheme, data_dir = %data_dir.display(), "iocwatch is running");
    let state = AppState {
        ingest: Arc::new(Ingest(running.ingest.clone())),
        health: Arc::new(Health(running.health.clone())),
        metrics: Arc::new(Metrics(metrics)),
        max_body_bytes,
        store: running.store.clone(),
        service: Arc::new(Service(running.health.snapshot.clone())),
        tls: tls.is_some(),
        login_limiter: Arc::new(LoginLimiter::new(LoginLimits::default())),
        rates: Arc::new(RateTracker::default()),
    };
    let router = iocwatch_server::router(state);
    let http_shutdown = shutdown.clone();
    let stopped = async move {
        http_shutdown.cancelled().await;
    };
    let http = match tls {
        Some(config) => tokio::spawn(iocwatch_server::serve_tls(
            TlsListener::new(listener, config),
            router,
            stopped,
        )),
        None => tokio::spawn(iocwatch_server::serve(listener, router, stopped)),
    };
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let result = running.wait().await;
    shutdown.cancel();
    match http.await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::error!(error = %err, "the HTTP listener failed"),
        Err(err) => tracing::error!(error = %err, "the HTTP listener stopped"),
    }
    tracing::info!("iocwatch stopped");
    result.context("the service stopped on an error")
}

/// Starts a graceful stop on the first SIGINT or SIGTERM, and exits at
/// once on a second one, for an operator who does not want to wait.
async fn stop_on_signal(shutdown: CancellationToken) {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => Some(signal),
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGTERM; stop the service with SIGINT");
            None
        }
    };
    let mut received = async || {
        let sigterm = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            () = sigterm => "SIGTERM",
        }
    };
    tokio::select! {
        name = received() => tracing::info!("{name} received; stopping"),
        () = shutdown.cancelled() => {}
    }
    shutdown.cancel();
    let name = received().await;
    tracing::warn!("{name} received again; exiting without waiting for the stop to finish");
    std::process::exit(130);
}

struct Ingest(IngestHandle);

impl IngestTarget for Ingest {
    fn submit(
        &self,
        source: &str,
        lines: Vec<Vec<u8>>,
    ) -> Result<tokio::sync::mpsc::Receiver<()>, IngestRejection> {
        self.0.submit(source, lines).map_err(|err| match err {
            IngestError::UnknownSource(known) => IngestRejection::UnknownSource { known },
            IngestError::Busy => IngestRejection::Busy,
            IngestError::Closed => IngestRejection::Closed,
        })
    }

    fn check_source(&self, source: &str) -> Result<(), Vec<String>> {
        self.0.check_source(source)
    }
}

struct Health(Arc<service::health::ServiceHealth>);

impl HealthReport for Health {
    fn health(&self) -> (bool, Value) {
        self.0.report()
    }
}

struct Metrics(PrometheusHandle);

impl MetricsRender for Metrics {
    fn render(&self) -> String {
        self.0.render()
    }
}

struct Service(Arc<arc_swap::ArcSwap<Snapshot>>);

impl ServiceView for Service {
    fn matcher(&self) -> Matcher {
        self.0.load().matcher().clone()
    }

    fn allowlist_filter(
        &self,
        entries: Vec<IndicatorValue>,
    ) -> Box<dyn Fn(&Indicator) -> bool + Send + Sync> {
        let allowlist = Allowlist::new(entries);
        Box::new(move |indicator| allowlist.covers_indicator(indicator))
    }
}
