//! TLS for the listener, from PEM certificate and key files, with rustls
//! and its ring provider.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Time a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once, at most; further connections wait in
/// the kernel's accept queue.
const MAX_PENDING_HANDSHAKES: usize = 1024;

/// A finished handshake, or `None` for one that failed.
type Handshake = Option<(TlsStream<TcpStream>, SocketAddr)>;

/// A certificate or key file that cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file cannot be read or has no certificate.
    #[error("cannot read the TLS certificate {path}: {detail}; give a PEM file with the certificate chain")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// The reason.
        detail: String,
    },
    /// The key file cannot be read or has no private key.
    #[error(
        "cannot read the TLS key {path}: {detail}; give a PEM file with a PKCS#8, PKCS#1 or SEC1 private key"
    )]
    Key {
        /// The file.
        path: PathBuf,
        /// The reason.
        detail: String,
    },
    /// The key does not fit the certificate, or rustls rejects them.
    #[error("the TLS certificate {cert} and key {key} cannot be used together: {detail}")]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The reason.
        detail: String,
    },
}

/// Loads a certificate chain and private key from PEM files into a rustls
/// server configuration that offers HTTP/1.1.
///
/// # Errors
///
/// A [`TlsError`] naming the file at fault.
pub fn load_tls_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsError::Certificate {
            path: cert.to_owned(),
            detail: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate {
            path: cert.to_owned(),
            detail: "the file has no CERTIFICATE block".to_owned(),
        });
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Key {
        path: key.to_owned(),
        detail: error.to_string(),
    })?;
    // rustls 0.23.48 deprecates the ring provider because it lacks
    // post-quantum key exchange; ring is the one this workspace builds.
    #[allow(deprecated, reason = "ring is the provider this workspace builds with")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|error| TlsError::Config {
            cert: cert.to_owned(),
            key: key.to_owned(),
            detail: error.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TCP listener that completes a TLS handshake on every connection.
/// Handshakes run as tasks of their own, so a client that stalls in its
/// handshake delays no other connection.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: tokio::task::JoinSet<Handshake>,
}

impl TlsListener {
    /// Wraps a bound TCP listener.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: tokio::task::JoinSet::new(),
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let room = self.handshakes.len() < MAX_PENDING_HANDSHAKES;
            let pending = !self.handshakes.is_empty();
            tokio::select! {
                accepted = self.tcp.accept(), if room => match accepted {
                    Ok((stream, address)) => {
                        let acceptor = self.acceptor.clone();
                        self.handshakes.spawn(handshake(acceptor, stream, address));
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot accept a TLS connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(done) = self.handshakes.join_next(), if pending => {
                    if let Ok(Some((tls, address))) = done {
                        return (tls, address);
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Completes the TLS handshake of one connection within
/// [`HANDSHAKE_TIMEOUT`].
async fn handshake(acceptor: TlsAcceptor, stream: TcpStream, address: SocketAddr) -> Handshake {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some((tls, address)),
        Ok(Err(error)) => {
            tracing::debug!(client = %address, error = %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(client = %address, "TLS handshake timed out");
            None
        }
    }
}

/// The client address of a connection, plain or TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}
