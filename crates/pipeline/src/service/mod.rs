//! The monitoring service behind `iocwatch run`.
//!
//! Sources send batches of lines into one bounded channel. The match step
//! runs on its own thread: it decodes each line and matches it against the
//! current [`Snapshot`]. It commits the batch's alerts together with the
//! batch's read offsets in one store transaction, so that a restart
//! neither loses nor repeats an alert. New alerts wait in the store's
//! durable queue until each sink's worker delivers them. A watcher polls
//! the store's revision and swaps in a new snapshot when a watchlist, an
//! indicator or the allowlist changes, or when an indicator expires.

pub mod deliver;
pub mod health;
pub mod process;
pub mod snapshot;

use std::collections::HashMap;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use iocwatch_logs::{DecoderChoice, Format};
use iocwatch_matcher::{BuildError, MatcherBuilder};
use iocwatch_sinks::{Sink, SinkConfig};
use iocwatch_store::{AlertOutcome, NewSighting, Store, StoreError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::alert::AlertBuilder;
use crate::allowlist::Allowlist;
use crate::config::{Config, SinkTable, SourceConfig, SourceKind, StartAt};
use crate::homenet::HomeNet;
use crate::service::health::{ServiceHealth, SinkHealth, SourceHealth};
use crate::service::process::{Detection, LineIn, LineOutcome, Processor};
use crate::service::snapshot::{Snapshot, WatchlistPolicy};
use crate::sources::{
    self, Batch, CheckpointLoad, FileSource, FileSourceConfig, SourceLine, StdinSource, StdinSourceConfig,
    SyslogSource, SyslogSourceConfig,
};

/// Batches waiting between the sources and the match step, at most.
const CHANNEL_BATCHES: usize = 64;

/// How often the watcher reads the store's revision.
pub const RELOAD_POLL: Duration = Duration::from_millis(250);

/// Errors that keep the service from starting or stop it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store could not be opened or read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The watchlists could not be compiled.
    #[error("watchlists: {0}")]
    Matcher(#[from] BuildError),
    /// A source could not start.
    #[error("source {name:?}: {message}")]
    Source {
        /// The source's name.
        name: String,
        /// What failed.
        message: String,
    },
    /// A sink's configuration is not valid.
    #[error("sink {name:?} (line {line}): {message}")]
    Sink {
        /// The sink's name.
        name: String,
        /// Line of the sink's table in the configuration.
        line: usize,
        /// Description of the problem.
        message: String,
    },
    /// A thread or task of the service failed.
    #[error("{0}")]
    Internal(String),
}

/// Reason lines posted to an HTTP source were not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// No HTTP source has this name; the names of those that exist.
    UnknownSource(Vec<String>),
    /// The match step is behind; the sender should try again shortly.
    Busy,
    /// The service is stopping.
    Closed,
}

/// Hands lines posted over HTTP to the match step.
#[derive(Debug, Clone)]
pub struct IngestHandle {
    sources: Arc<HashMap<String, Arc<str>>>,
    /// The one sender that all clones share, taken out when the service
    /// stops. The match step then ends once the sources are done, even
    /// while HTTP connections that hold a clone are still open.
    tx: Arc<std::sync::Mutex<Option<mpsc::Sender<Batch>>>>,
}

impl IngestHandle {
    /// Queues the lines of one request for the HTTP source `source`,
    /// without waiting. The returned receiver gets a message once the
    /// lines' alerts are stored; it closes without one when the service
    /// stopped before storing them.
    ///
    /// # Errors
    ///
    /// An [`IngestError`] when the source does not exist or the match
    /// step cannot take more lines now.
    pub fn submit(&self, source: &str, lines: Vec<Vec<u8>>) -> Result<mpsc::Receiver<()>, IngestError> {
        let Some(name) = self.sources.get(source) else {
            return Err(IngestError::UnknownSource(self.source_names()));
        };
        let received = Instant::now();
        let count = lines.len() as u64;
        let (stored, receipt) = mpsc::channel(1);
        let batch = Batch {
            source: name.clone(),
            lines: lines
                .into_iter()
                .map(|data| SourceLine {
                    data: data.into(),
                    path: None,
                    offset: None,
                    peer: None,
                    received,
                })
                .collect(),
            checkpoint: None,
            stored: Some(stored),
        };
        let sent = match self.tx.lock() {
            Ok(tx) => match tx.as_ref() {
                Some(tx) => tx.try_send(batch),
                None => Err(mpsc::error::TrySendError::Closed(batch)),
            },
            // A thread panicked while it held the lock, so the service is
            // failing.
            Err(_) => Err(mpsc::error::TrySendError::Closed(batch)),
        };
        match sent {
            Ok(()) => {
                metrics::counter!("iocwatch_source_lines_total", "source" => source.to_owned())
                    .increment(count);
                Ok(receipt)
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(IngestError::Busy),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(IngestError::Closed),
        }
    }

    /// Checks that an HTTP source is named `source`.
    ///
    /// # Errors
    ///
    /// The sorted names of the HTTP sources when none is named `source`.
    pub fn check_source(&self, source: &str) -> Result<(), Vec<String>> {
        if self.sources.contains_key(source) {
            Ok(())
        } else {
            Err(self.source_names())
        }
    }

    fn source_names(&self) -> Vec<String> {
        let mut known: Vec<String> = self.sources.keys().cloned().collect();
        known.sort();
        known
    }
}

/// A started service.
pub struct Running {
    /// Hands HTTP ingest requests to the service.
    pub ingest: IngestHandle,
    /// The health of sources and sinks.
    pub health: Arc<ServiceHealth>,
    /// The store.
    pub store: Arc<Store>,
    processor: thread::JoinHandle<()>,
    tasks: tokio::task::JoinSet<()>,
    sources: tokio::task::JoinSet<()>,
    shutdown: CancellationToken,
    /// Held open, and locked, until the service stops.
    _lock: std::fs::File,
}

impl Running {
    /// Waits until `shutdown` is cancelled and the service has stopped:
    /// the sources stop reading, the match step commits what they sent,
    /// and the delivery workers finish the delivery they are in.
    ///
    /// # Errors
    ///
    /// An error when a source task or the match step failed.
    pub async fn wait(mut self) -> Result<(), ServiceError> {
        self.shutdown.cancelled().await;
        let mut first_error = None;
        while let Some(result) = self.sources.join_next().await {
            if let Err(err) = result {
                let error = ServiceError::Internal(format!("a source task failed: {err}"));
                tracing::error!(error = %error, "source stopped; the service shuts down");
                self.shutdown.cancel();
                first_error.get_or_insert(error);
            }
        }
        // Every sender is gone once the sources are done and the ingest
        // handle's sender is taken out, which ends the match step's loop.
        if let Ok(mut tx) = self.ingest.tx.lock() {
            tx.take();
        }
        drop(self.ingest);
        let processor = self.processor;
        let joined = tokio::task::spawn_blocking(move || processor.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            first_error.get_or_insert(ServiceError::Internal("the match step failed".to_owned()));
        }
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
        let configured: Vec<String> = self
            .health
            .sinks
            .iter()
            .map(|sink| sink.name().to_owned())
            .collect();
        report_queued_at_shutdown(&self.store, &configured).await;
        first_error.map_or(Ok(()), Err)
    }
}

/// Logs one warning per sink that still has alerts queued once the
/// delivery workers have stopped. The queue is in the store, so the next
/// start delivers them to a configured sink of the same name.
async fn report_queued_at_shutdown(store: &Arc<Store>, configured: &[String]) {
    let stats = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.queue_stats()).await
    };
    let stats = match stats {
        Ok(Ok(stats)) => stats,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "failed to read the delivery queue at shutdown; alerts may still be queued");
            return;
        }
        Err(err) => {
            tracing::warn!(error = %err, "the delivery queue read at shutdown stopped; alerts may still be queued");
            return;
        }
    };
    for queue in stats.iter().filter(|queue| queue.depth > 0) {
        let oldest = queue.oldest_enqueued_at.map(rfc3339);
        let oldest = oldest.as_deref();
        if configured.contains(&queue.sink) {
            tracing::warn!(
                sink = %queue.sink,
                queued_alerts = queue.depth,
                retrying = queue.retrying,
                oldest_queued_at = oldest,
                "alerts are still queued for this sink at shutdown; they stay in the store and are delivered after the next start"
            );
        } else {
            tracing::warn!(
                sink = %queue.sink,
                queued_alerts = queue.depth,
                oldest_queued_at = oldest,
                "alerts are queued for a sink that is not configured; they stay in the store until a sink of this name is configured again"
            );
        }
    }
}

/// Starts the service described by `config`; it runs until `shutdown` is
/// cancelled.
///
/// # Errors
///
/// A [`ServiceError`] when the store cannot be opened, a source cannot
/// start or a sink is misconfigured.
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, ServiceError> {
    let lock = lock_data_dir(&config.data_dir)?;
    let store = {
        let dir = config.data_dir.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || Store::open(&dir))
                .await
                .map_err(|err| ServiceError::Internal(err.to_string()))??,
        )
    };
    {
        let store = store.clone();
        let result =
            tokio::task::spawn_blocking(move || store.retry_all_now(OffsetDateTime::now_utc())).await;
        if let Ok(Ok(count)) = result
            && count > 0
        {
            tracing::info!(
                deliveries = count,
                "queued deliveries that waited for a retry are tried now"
            );
        }
    }
    let home = config
        .home_net
        .clone()
        .map_or_else(HomeNet::default, HomeNet::new);
    let default_window = config.alerts.dedup_window;

    let started = Instant::now();
    let first = build_snapshot(&store, &home, default_window)?;
    tracing::info!(
        indicators = first.snapshot.matcher().len(),
        watchlists = first.snapshot.matcher().watchlists().len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "watchlists loaded"
    );
    record_snapshot_metrics(&first.snapshot, started.elapsed());
    if first.snapshot.matcher().is_empty() {
        tracing::warn!(
            "no indicator is loaded, so nothing can alert; load one with `iocwatch watchlist import NAME FILE`"
        );
    }
    if config.sources.is_empty() {
        tracing::warn!("no source is configured, so no event is read; add a [[source]] to the configuration");
    }
    let mut next_expiry = first.next_expiry;
    let snapshot = Arc::new(ArcSwap::from_pointee(first.snapshot));

    let sinks = open_sinks(&config.sinks)?;
    for sink in &sinks {
        if let Err(message) = sink.prepare() {
            tracing::warn!(
                sink = sink.name(),
                error = %message,
                "the sink cannot write; its deliveries are retried with backoff until it can"
            );
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut wakes = HashMap::new();
    let mut sink_health = Vec::new();
    for sink in &sinks {
        let wake = Arc::new(Notify::new());
        let health = Arc::new(SinkHealth::new(sink.name(), sink.type_name()));
        wakes.insert(sink.name().to_owned(), wake.clone());
        sink_health.push(health.clone());
        tasks.spawn(deliver::run_worker(
            sink.clone(),
            store.clone(),
            wake,
            health,
            shutdown.clone(),
        ));
    }

    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let mut source_tasks = tokio::task::JoinSet::new();
    let mut choices = HashMap::new();
    let mut http_sources = HashMap::new();
    let mut source_health = HashMap::new();
    let checkpoints: Arc<dyn CheckpointLoad> = Arc::new(StoreCheckpoints(store.clone()));
    for source in &config.sources {
        let name: Arc<str> = Arc::from(source.name.as_str());
        choices.insert(name.clone(), decoder_choice(source)?);
        let health = Arc::new(SourceHealth::new(&source.name, source_type(&source.kind)));
        source_health.insert(source.name.clone(), health);
        match &source.kind {
            SourceKind::Http => {
                http_sources.insert(source.name.clone(), name);
            }
            kind => {
                spawn_source(
                    &mut source_tasks,
                    &source.name,
                    kind,
                    &tx,
                    &checkpoints,
                    &shutdown,
                )
                .await?
            }
        }
    }
    let source_health = Arc::new(source_health);
    let ingest = IngestHandle {
        sources: Arc::new(http_sources),
        tx: Arc::new(std::sync::Mutex::new(Some(tx))),
    };

    let routes: Vec<(String, Arc<Sink>)> = sinks
        .iter()
        .map(|sink| (sink.name().to_owned(), sink.clone()))
        .collect();
    let processor = {
        let store = store.clone();
        let snapshot = snapshot.clone();
        let health = source_health.clone();
        let wakes = wakes.clone();
        let shutdown = shutdown.clone();
        thread::Builder::new()
            .name("iocwatch-match".to_owned())
            .spawn(move || {
                match_loop(
                    rx,
                    Processor::new(choices),
                    &store,
                    &snapshot,
                    &routes,
                    &wakes,
                    &health,
                    &shutdown,
                );
            })
            .map_err(|err| ServiceError::Internal(format!("cannot start the match thread: {err}")))?
    };

    {
        let store = store.clone();
        let snapshot = snapshot.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RELOAD_POLL) => {}
                }
                next_expiry = reload_if_changed(&store, &snapshot, &home, default_window, next_expiry).await;
            }
        });
    }
    {
        let store = store.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
                record_queue_metrics(&store).await;
            }
        });
    }

    let health = Arc::new(ServiceHealth {
        sources: config
            .sources
            .iter()
            .filter_map(|source| source_health.get(&source.name).cloned())
            .collect(),
        sinks: sink_health,
        store: store.clone(),
        snapshot,
    });
    Ok(Running {
        ingest,
        health,
        store,
        processor,
        tasks,
        sources: source_tasks,
        shutdown,
        _lock: lock,
    })
}

/// Name of the lock file that keeps a second service off a data folder.
pub const LOCK_FILE: &str = "iocwatch-run.lock";

/// Takes the data folder for this service: a second `iocwatch run` on the
/// same folder would read every source twice and deliver every alert twice.
/// The lock ends with the process, also when it is killed.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, ServiceError> {
    let internal = |message: String| ServiceError::Internal(message);
    std::fs::create_dir_all(dir)
        .map_err(|err| internal(format!("cannot create the data folder {}: {err}", dir.display())))?;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| internal(format!("cannot open {}: {err}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(internal(format!(
            "another iocwatch run uses the data folder {}; stop it first, or give this one its own data_dir",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(internal(format!("cannot lock {}: {err}", path.display())))
        }
    }
}

/// A built snapshot and the time its first indicator expires.
struct Built {
    snapshot: Snapshot,
    next_expiry: Option<OffsetDateTime>,
}

/// Builds a snapshot from the store's enabled watchlists, their unexpired
/// indicators and the allowlist.
fn build_snapshot(store: &Store, home: &HomeNet, default_window: Duration) -> Result<Built, ServiceError> {
    let now = OffsetDateTime::now_utc();
    let revision = store.revision()?;
    let active = store.active_watchlists(now)?;
    let allowlist = Allowlist::new(store.allowlist()?.into_iter().map(|entry| entry.value));
    let mut builder = MatcherBuilder::new();
    let mut policies = Vec::with_capacity(active.len());
    for watchlist in active {
        let id = builder.add_watchlist(&watchlist.name, watchlist.settings.domain_match);
        debug_assert_eq!(usize::from(id), policies.len());
        policies.push(WatchlistPolicy {
            severity: watchlist.settings.severity,
            dedup_window: watchlist.settings.dedup_window,
        });
        builder.add_all(id, watchlist.indicators, |indicator| {
            !allowlist.covers_indicator(indicator)
        });
    }
    let matcher = builder.build()?;
    let next_expiry = store.next_expiry(now)?;
    let alerts = AlertBuilder::new(matcher, home.clone(), now);
    Ok(Built {
        snapshot: Snapshot::new(alerts, policies, allowlist, revision, default_window),
        next_expiry,
    })
}

/// Rebuilds and swaps the snapshot when the store changed or an indicator
/// expired; returns the next expiry time.
async fn reload_if_changed(
    store: &Arc<Store>,
    snapshot: &Arc<ArcSwap<Snapshot>>,
    home: &HomeNet,
    default_window: Duration,
    next_expiry: Option<OffsetDateTime>,
) -> Option<OffsetDateTime> {
    let current = snapshot.load().revision();
    let expired = next_expiry.is_some_and(|at| at <= OffsetDateTime::now_utc());
    let revision = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.revision()).await
    };
    let revision = match revision {
        Ok(Ok(revision)) => revision,
        Ok(Err(err)) => {
            tracing::error!(error = %err, "failed to read the watchlist revision; watchlist changes wait until the store is readable");
            return next_expiry;
        }
        Err(_) => return next_expiry,
    };
    if revision == current && !expired {
        return next_expiry;
    }
    let started = Instant::now();
    let built = {
        let store = store.clone();
        let home = home.clone();
        tokio::task::spawn_blocking(move || build_snapshot(&store, &home, default_window)).await
    };
    match built {
        Ok(Ok(built)) => {
            let elapsed = started.elapsed();
            tracing::info!(
                revision = built.snapshot.revision(),
                indicators = built.snapshot.matcher().len(),
                elapsed_ms = elapsed.as_millis() as u64,
                reason = if expired { "expiry" } else { "change" },
                "watchlists reloaded"
            );
            record_snapshot_metrics(&built.snapshot, elapsed);
            snapshot.store(Arc::new(built.snapshot));
            built.next_expiry
        }
        Ok(Err(err)) => {
            tracing::error!(error = %err, "failed to rebuild the watchlists; the previous ones stay in use");
            next_expiry
        }
        Err(_) => next_expiry,
    }
}

fn record_snapshot_metrics(snapshot: &Snapshot, elapsed: Duration) {
    metrics::gauge!("iocwatch_matcher_indicators").set(snapshot.matcher().len() as f64);
    metrics::gauge!("iocwatch_matcher_watchlists").set(snapshot.matcher().watchlists().len() as f64);
    metrics::gauge!("iocwatch_matcher_build_seconds").set(elapsed.as_secs_f64());
    metrics::counter!("iocwatch_matcher_builds_total").increment(1);
}

async fn record_queue_metrics(store: &Arc<Store>) {
    let store = store.clone();
    let Ok(Ok(stats)) = tokio::task::spawn_blocking(move || store.queue_stats()).await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    for queue in stats {
        metrics::gauge!("iocwatch_sink_queue_depth", "sink" => queue.sink.clone()).set(queue.depth as f64);
        let age = queue
            .oldest_enqueued_at
            .map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0));
        metrics::gauge!("iocwatch_sink_queue_oldest_seconds", "sink" => queue.sink).set(age);
    }
}

fn open_sinks(tables: &[SinkTable]) -> Result<Vec<Arc<Sink>>, ServiceError> {
    tables
        .iter()
        .map(|table| {
            Sink::new(table.config.clone())
                .map(Arc::new)
                .map_err(|err| ServiceError::Sink {
                    name: table.config.name.clone(),
                    line: table.line,
                    message: err.reasons(),
                })
        })
        .collect()
}

/// Builds a configured sink the way the service does at startup, for the
/// configuration check: this reads the files the sink names and builds
/// its client.
///
/// # Errors
///
/// Returns the sink layer's error, which lists every problem found.
pub fn check_sink(config: &SinkConfig) -> Result<(), iocwatch_sinks::ConfigError> {
    Sink::new(config.clone()).map(drop)
}

/// Builds a configured sink as [`check_sink`] does, and then checks,
/// without leaving anything behind, that a file sink can write its file.
/// The service itself creates the folder and warns when it cannot.
///
/// # Errors
///
/// Returns the sink layer's error for the first check that fails.
pub fn check_sink_writable(config: &SinkConfig) -> Result<(), iocwatch_sinks::ConfigError> {
    check_sink(config)?;
    Sink::check_writable(config)
}

fn decoder_choice(source: &SourceConfig) -> Result<DecoderChoice, ServiceError> {
    if source.decoder.0 == "auto" {
        return Ok(match source.kind {
            SourceKind::Syslog { .. } => DecoderChoice::Fixed(Format::Syslog),
            SourceKind::Http => DecoderChoice::Fixed(Format::Json),
            SourceKind::File { .. } | SourceKind::Stdin => DecoderChoice::Auto,
        });
    }
    source
        .decoder
        .0
        .parse::<DecoderChoice>()
        .map_err(|err| ServiceError::Source {
            name: source.name.clone(),
            message: err.to_string(),
        })
}

fn source_type(kind: &SourceKind) -> &'static str {
    match kind {
        SourceKind::File { .. } => "file",
        SourceKind::Syslog { .. } => "syslog",
        SourceKind::Http => "http",
        SourceKind::Stdin => "stdin",
    }
}

async fn spawn_source(
    tasks: &mut tokio::task::JoinSet<()>,
    name: &str,
    kind: &SourceKind,
    tx: &mpsc::Sender<Batch>,
    checkpoints: &Arc<dyn CheckpointLoad>,
    shutdown: &CancellationToken,
) -> Result<(), ServiceError> {
    let fail = |message: String| ServiceError::Source {
        name: name.to_owned(),
        message,
    };
    match kind {
        SourceKind::File {
            paths,
            start_at,
            poll_interval,
        } => {
            let mut config = FileSourceConfig::new(name, paths.clone());
            config.start_at = match start_at {
                StartAt::Beginning => sources::StartAt::Beginning,
                StartAt::End => sources::StartAt::End,
            };
            config.poll_interval = *poll_interval;
            let source = FileSource::new(config).map_err(|err| fail(err.to_string()))?;
            let (tx, checkpoints, shutdown) = (tx.clone(), checkpoints.clone(), shutdown.clone());
            tasks.spawn(async move {
                source.run(tx, checkpoints, shutdown).await;
            });
        }
        SourceKind::Syslog {
            udp,
            tcp,
            max_message_bytes,
        } => {
            let mut config = SyslogSourceConfig::new(name);
            config.udp = *udp;
            config.tcp = *tcp;
            config.max_message_bytes = *max_message_bytes;
            let source = SyslogSource::bind(config)
                .await
                .map_err(|err| fail(err.to_string()))?;
            let (tx, shutdown) = (tx.clone(), shutdown.clone());
            tasks.spawn(async move {
                source.run(tx, shutdown).await;
            });
        }
        SourceKind::Stdin => {
            let source = StdinSource::new(StdinSourceConfig::new(name));
            let (tx, shutdown) = (tx.clone(), shutdown.clone());
            tasks.spawn(async move {
                source.run(tx, shutdown).await;
            });
        }
        SourceKind::Http => {}
    }
    Ok(())
}

/// Reads checkpoints from the store for the file sources.
struct StoreCheckpoints(Arc<Store>);

impl CheckpointLoad for StoreCheckpoints {
    fn load(&self, source: &str, path: &str) -> Option<sources::Checkpoint> {
        match self.0.checkpoint(source, path) {
            Ok(found) => found,
            Err(err) => {
                tracing::error!(source, path, error = %err, "failed to read the checkpoint; the file is read as new");
                None
            }
        }
    }
}

/// Runs the match step until every sender of `rx` is gone.
#[allow(clippy::too_many_arguments)]
fn match_loop(
    mut rx: mpsc::Receiver<Batch>,
    mut processor: Processor,
    store: &Store,
    snapshot: &ArcSwap<Snapshot>,
    routes: &[(String, Arc<Sink>)],
    wakes: &HashMap<String, Arc<Notify>>,
    health: &HashMap<String, Arc<SourceHealth>>,
    shutdown: &CancellationToken,
) {
    let mut detections: Vec<Detection> = Vec::new();
    let mut received: Vec<Instant> = Vec::new();
    while let Some(mut batch) = rx.blocking_recv() {
        let stored = batch.stored.take();
        let current = snapshot.load_full();
        let now = OffsetDateTime::now_utc();
        detections.clear();
        received.clear();
        let mut events = 0_u64;
        for line in &batch.lines {
            let before = detections.len();
            let outcome = processor.line(
                &current,
                LineIn {
                    source: &batch.source,
                    path: line.path.as_ref(),
                    offset: line.offset,
                    data: &line.data,
                },
                now,
                &mut detections,
            );
            match outcome {
                LineOutcome::Event | LineOutcome::Alert => events += 1,
                // Malformed lines are counted where they are reported.
                LineOutcome::Malformed | LineOutcome::Skipped => {}
            }
            if detections.len() > before {
                received.push(line.received);
            }
        }
        let name = batch.source.to_string();
        if !batch.lines.is_empty()
            && let Some(health) = health.get(&name)
        {
            health.received(batch.lines.len() as u64);
        }
        metrics::counter!("iocwatch_events_decoded_total", "source" => name.clone()).increment(events);
        metrics::counter!("iocwatch_sightings_total", "source" => name.clone())
            .increment(detections.len() as u64);
        let sightings: Vec<NewSighting> = detections.iter().map(|d| sighting(d, routes)).collect();
        let checkpoints: Vec<sources::Checkpoint> = batch.checkpoint.into_iter().collect();
        if sightings.is_empty() && checkpoints.is_empty() {
            acknowledge(stored);
            continue;
        }
        let Some(outcomes) = commit_with_retry(store, &sightings, &checkpoints, shutdown) else {
            // Not stored: the sender's receipt closes without a message.
            continue;
        };
        acknowledge(stored);
        let mut woken: Vec<&str> = Vec::new();
        for ((outcome, sighting), received) in outcomes.iter().zip(&sightings).zip(&received) {
            match outcome {
                AlertOutcome::Created { id } | AlertOutcome::Reopened { id } => {
                    let what = if matches!(outcome, AlertOutcome::Created { .. }) {
                        "created"
                    } else {
                        "reopened"
                    };
                    metrics::counter!("iocwatch_alerts_total", "outcome" => what).increment(1);
                    tracing::info!(alert_id = %id, indicator = %sighting.indicator, watchlist = %sighting.watchlist, host = sighting.internal_host.as_deref().unwrap_or("-"), severity = %sighting.severity.as_str(), "alert {what}");
                    woken.extend(sighting.sinks.iter().map(String::as_str));
                }
                AlertOutcome::Updated { .. } => {
                    metrics::counter!("iocwatch_alerts_total", "outcome" => "deduplicated").increment(1);
                }
            }
            metrics::histogram!("iocwatch_alert_commit_latency_seconds")
                .record(received.elapsed().as_secs_f64());
        }
        woken.sort_unstable();
        woken.dedup();
        for sink in woken {
            if let Some(wake) = wakes.get(sink) {
                wake.notify_one();
            }
        }
    }
    tracing::info!("match step stopped: every source is closed");
}

/// Tells the sender of a batch that waits for it that the batch is stored.
fn acknowledge(stored: Option<mpsc::Sender<()>>) {
    if let Some(stored) = stored {
        // The sender may have stopped waiting; the batch is stored anyway.
        let _ = stored.try_send(());
    }
}

/// Commits a batch, trying again while the store fails, so that a full
/// disk or a locked database holds the sources back instead of losing
/// alerts. Gives up, returning `None`, only when the service is shutting
/// down.
fn commit_with_retry(
    store: &Store,
    sightings: &[NewSighting],
    checkpoints: &[sources::Checkpoint],
    shutdown: &CancellationToken,
) -> Option<Vec<AlertOutcome>> {
    let mut wait = Duration::from_millis(100);
    loop {
        match store.commit_batch(sightings, checkpoints, OffsetDateTime::now_utc()) {
            Ok(outcomes) => return Some(outcomes),
            Err(err) => {
                tracing::error!(error = %err, alerts = sightings.len(), "failed to store alerts; trying again");
                metrics::counter!("iocwatch_store_errors_total").increment(1);
                if shutdown.is_cancelled() && wait >= Duration::from_secs(5) {
                    tracing::error!(
                        alerts = sightings.len(),
                        "the service is stopping and the store still fails; these alerts and read offsets are not stored, so the lines are read again on the next start"
                    );
                    return None;
                }
                thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn sighting(detection: &Detection, routes: &[(String, Arc<Sink>)]) -> NewSighting {
    let document = &detection.alert.document;
    NewSighting {
        dedup_key: detection.dedup_key.clone(),
        watchlist: detection.watchlist.clone(),
        indicator: detection.indicator.clone(),
        internal_host: detection.alert.internal_host.map(|ip| ip.to_string()),
        severity: detection.severity,
        event_time: detection.alert.time,
        window: detection.window,
        document: document.clone(),
        sinks: routes
            .iter()
            .filter(|(_, sink)| sink.accepts(document))
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

/// Formats a time as RFC 3339.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}
