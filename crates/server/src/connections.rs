//! The accept loop of the HTTP listener, with the time limits that keep a
//! slow or stalled client from holding a connection, or the service, open.
//!
//! `axum::serve` (axum 0.8) sets no timer on its HTTP/1 connections, so it reads the
//! headers of a request for as long as the client takes to send them.
//! This loop serves each connection with hyper's own builder, which
//! closes a connection whose client has not sent a whole request head
//! within [`HEADER_READ_TIMEOUT`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
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

/// The time limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read: Duration,
    pub(crate) shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
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
                // `into_make_service_with_connect_info` adds it.
                let service = router.clone().map_request(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(ClientAddr(address)));
                    request.map(Body::new)
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
    async fn stalled_request_head_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route("/", get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let limits = Limits {
            header_read: Duration::from_millis(500),
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
            started.elapsed()
        });
        let waited = client.await.unwrap();
        assert!(waited < Duration::from_secs(5), "closed after {waited:?}");

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops")
            .unwrap();
    }
}
