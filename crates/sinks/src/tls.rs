//! TLS set-up shared by the webhook and syslog sinks: rustls with the
//! `ring` crypto provider, and trust anchors from a CA file or from the
//! system trust store.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::{ConfigError, ConfigErrorKind};

/// Reads the PEM certificates of `path`, the file named by `key`.
pub(crate) fn read_pem_certificates(
    sink: &str,
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|error| {
        ConfigError::new(
            sink,
            ConfigErrorKind::ReadFile {
                key,
                path: path.to_owned(),
                error,
            },
        )
    })?;
    let invalid = |reason: String| {
        ConfigError::new(
            sink,
            ConfigErrorKind::Certificate {
                key,
                path: path.to_owned(),
                reason,
            },
        )
    };
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("the file has no CERTIFICATE block".to_owned()));
    }
    Ok(certificates)
}

/// Returns the problem of a `ca_file` given where no certificate is
/// checked: `applies_to` names the setting it needs.
pub(crate) fn unused_ca_file(ca_file: &Path, applies_to: &str) -> ConfigErrorKind {
    ConfigErrorKind::InvalidValue {
        key: "ca_file",
        value: ca_file.display().to_string(),
        reason: format!("applies only to {applies_to}"),
    }
}

/// Builds the rustls client configuration: the certificates of `ca_file`
/// when given, else the system trust store. An empty system store is an
/// error only when `roots_needed`, since a client of plain `http` URLs
/// never verifies a certificate.
pub(crate) fn client_config(
    sink: &str,
    ca_file: Option<&Path>,
    roots_needed: bool,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for certificate in read_pem_certificates(sink, "ca_file", path)? {
                roots.add(certificate).map_err(|e| {
                    ConfigError::new(
                        sink,
                        ConfigErrorKind::Certificate {
                            key: "ca_file",
                            path: path.to_owned(),
                            reason: e.to_string(),
                        },
                    )
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(native.certs);
            if added == 0 && roots_needed {
                return Err(ConfigError::new(
                    sink,
                    ConfigErrorKind::Missing {
                        key: "ca_file",
                        reason: "the system trust store has no certificates; name the receiver's CA file",
                    },
                ));
            }
        }
    }
    // rustls 0.23.48 deprecates the ring provider because it lacks
    // post-quantum key exchange. The alternative, aws-lc-rs, needs cmake
    // to build, so ring stays until the build machines have it.
    #[allow(deprecated, reason = "ring is the provider this workspace builds with")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            ConfigError::new(
                sink,
                ConfigErrorKind::Client {
                    client: "TLS",
                    reason: e.to_string(),
                },
            )
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Returns true when a rustls error is among the causes: the handshake
/// failed, for example on a certificate that does not verify.
///
/// `io::Error::source` skips the error it wraps, and clients wrap the
/// rustls error in one or two `io::Error`s, so these are unwrapped with
/// `get_ref` as well.
pub(crate) fn has_tls_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        let mut inner: Option<&(dyn std::error::Error + 'static)> = Some(cause);
        while let Some(candidate) = inner {
            if candidate.downcast_ref::<rustls::Error>().is_some() {
                return true;
            }
            inner = candidate
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .map(|boxed| boxed as &(dyn std::error::Error + 'static));
        }
        source = cause.source();
    }
    false
}
