//! The accept loop of the HTTP listener, with the time limits that keep a
//! slow or stalled client from holding a connection, or the service, open.
//!
//! `axum::serve` (axum 0.8) sets no timer on its HTTP/1 connections, so it reads the
//! headers of a request for as long as the client takes to send them.
//! This loop serves each connection with hyper's own builder, which
//! closes a connection whose client has not sent a whole request head
//! within [`HEADER_READ_TIMEOUT`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;

use crate::ClientAddr;

/// Time a client has to send the head of a request: the request line and
/// the headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Time that open connections get to finish after the shutdown signal.
/// A console's event stream, or a client that stalls while it sends a
/// body, would otherwise hold the service open.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Time a handler waits for the next bytes of a request body before the
/// body fails with [`io::ErrorKind::TimedOut`].
const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The time limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read: Duration,
    pub(crate) body_idle: Duration,
    pub(crate) shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            body_idle: BODY_IDLE_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// Returns `body` with a limit on the time between two of its chunks.
/// When no bytes arrive within `idle`, the body ends with an error of kind
/// [`io::ErrorKind::TimedOut`], which the handler reading it reports.
fn with_idle_timeout(body: Body, idle: Duration) -> Body {
    let chunks = futures_util::stream::unfold(Some(body.into_data_stream()), move |state| async move {
        let mut chunks = state?;
        match tokio::time::timeout(idle, chunks.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(chunks))),
            Ok(None) => None,
            Err(_) => {
                let message = format!(
                    "no bytes of the request body arrived for {}",
                    humantime::format_duration(idle)
                );
                let error = axum::Error::new(io::Error::new(io::ErrorKind::TimedOut, message));
                Some((Err(error), None))
            }
        }
    });
    Body::from_stream(chunks)
}

/// Returns whether `error`, or an error it wraps, is a time-out of
/// [`with_idle_timeout`].
pub(crate) fn is_timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    has_cause(error, |cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
    })
}

/// Returns whether `error` or one of the errors it wraps passes `test`.
pub(crate) fn has_cause(
    error: &(dyn std::error::Error + 'static),
    test: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if test(error) {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// open connections finish for up to the grace period of `limits`.
/// Handlers see the client address as `ConnectInfo<ClientAddr>`.
pub(crate) async fn serve<L>(
    mut listener: L,
    router: Router,
    shutdown: impl Future<Output = ()>,
    limits: Limits,
) where
    L: Listener<Addr = SocketAddr>,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            (io, address) = listener.accept() => {
                // Every request gets the client's address, as
                // `into_make_service_with_connect_info` adds it, and a
                // body that fails when the client stalls in it.
                let body_idle = limits.body_idle;
                let service = router.clone().map_request(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(ClientAddr(address)));
                    request.map(|body| with_idle_timeout(Body::new(body), body_idle))
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read)
                    .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(client = %address, error = %error, "HTTP connection ended on an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(
                grace_seconds = limits.shutdown_grace.as_secs(),
                "HTTP connections still open after the shutdown grace period; closing them"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::time::Instant;

    use axum::routing::get;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stalled_request_head_and_body_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let read_body = |body: Body| async move {
            match axum::body::to_bytes(body, 1024).await {
                Ok(bytes) => (axum::http::StatusCode::OK, bytes.len().to_string()),
                Err(error) if is_timed_out(&error) => {
                    (axum::http::StatusCode::REQUEST_TIMEOUT, error.to_string())
                }
                Err(error) => (axum::http::StatusCode::BAD_REQUEST, error.to_string()),
            }
        };
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/body", axum::routing::post(read_body));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let limits = Limits {
            header_read: Duration::from_millis(500),
            body_idle: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(1),
        };
        let server = tokio::spawn(serve(listener, router, async { drop(stopped.await) }, limits));

        let client = tokio::task::spawn_blocking(move || {
            // A whole request gets a response.
            let mut whole = std::net::TcpStream::connect(address).unwrap();
            whole
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut reply = String::new();
            whole.read_to_string(&mut reply).unwrap();
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
            assert!(reply.ends_with("ok"), "{reply}");

            // A request head that never ends is closed after the limit.
            let mut stalled = std::net::TcpStream::connect(address).unwrap();
            stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            stalled.write_all(b"GET / HTTP/1.1\r\nHost").unwrap();
            let started = Instant::now();
            let mut rest = Vec::new();
            let _ = stalled.read_to_end(&mut rest);
            let head_waited = started.elapsed();

            // A body that stalls part way fails in the handler that reads it.
            let mut stalled_body = std::net::TcpStream::connect(address).unwrap();
            stalled_body
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stalled_body
                .write_all(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
                .unwrap();
            let started = Instant::now();
            let mut reply = [0_u8; 1024];
            let read = stalled_body.read(&mut reply).unwrap_or(0);
            let reply = String::from_utf8_lossy(&reply[..read]).into_owned();
            (head_waited, started.elapsed(), reply)
        });
        let (head_waited, body_waited, reply) = client.await.unwrap();
        assert!(
            head_waited < Duration::from_secs(5),
            "closed after {head_waited:?}"
        );
        assert!(
            body_waited < Duration::from_secs(5),
            "answered after {body_waited:?}"
        );
        assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
        assert!(reply.contains("no bytes of the request body arrived"), "{reply}");

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops")
            .unwrap();
    }
}
