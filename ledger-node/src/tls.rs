//! Serving HTTP with TLS (rustls, through axum-server) when the operator gives a certificate,
//! for the node API and the verifier service alike; plain HTTP otherwise (behind a TLS proxy,
//! or on loopback).
//!
//! Invariants:
//! - a handshake that does not finish within axum-server's timeout (10 s) is dropped, without
//!   holding up other connections; a request head must then arrive within
//!   [`HEADER_READ_TIMEOUT`];
//! - HTTP/1.1 only (ALPN), as over plain TCP;
//! - a certificate or key that cannot be read or used stops the server before it listens, with
//!   an error naming the file.

use anyhow::{Context, Result};
use axum::Router;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest wait for a request's head on a TLS connection (after the handshake's own 10 s).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A certificate chain and its private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A loaded server configuration.
#[derive(Clone)]
pub struct Tls(axum_server::tls_rustls::RustlsConfig);

impl TlsFiles {
    /// Reads and checks both files.
    pub async fn load(&self) -> Result<Tls> {
        for (what, path) in [("certificate", &self.cert), ("private key", &self.key)] {
            std::fs::metadata(path)
                .with_context(|| format!("the TLS {what} file {} cannot be read", path.display()))?;
        }
        let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&self.cert, &self.key)
            .await
            .with_context(|| {
                format!(
                    "the TLS certificate {} and key {} do not make a server configuration (PEM files, the key matching the certificate's first entry)",
                    self.cert.display(),
                    self.key.display()
                )
            })?;
        // HTTP/1.1 only, as over plain TCP: one protocol to review, and every request carries
        // the `Host` header the served links are built from (HTTP/2 has `:authority` instead).
        let mut server = (*config.get_inner()).clone();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls(axum_server::tls_rustls::RustlsConfig::from_config(
            std::sync::Arc::new(server),
        )))
    }
}

/// Both paths, or neither: the pair `--tls-cert`/`--tls-key` (or `api_tls_cert`/`api_tls_key`).
pub fn pair(cert: Option<&Path>, key: Option<&Path>) -> Result<Option<TlsFiles>> {
    match (cert, key) {
        (Some(c), Some(k)) => Ok(Some(TlsFiles {
            cert: c.to_path_buf(),
            key: k.to_path_buf(),
        })),
        (None, None) => Ok(None),
        _ => anyhow::bail!("give both a TLS certificate and its key, or neither"),
    }
}

/// Serves `app` on `listener` until `stop` completes: over TLS with `tls`, plain HTTP without.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<Tls>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => axum::serve(listener, app).with_graceful_shutdown(stop).await,
        Some(Tls(config)) => {
            let handle = axum_server::Handle::new();
            let closer = handle.clone();
            tokio::spawn(async move {
                stop.await;
                closer.graceful_shutdown(Some(Duration::from_secs(5)));
            });
            let mut server = axum_server::tls_rustls::from_tcp_rustls(listener.into_std()?, config)?;
            // A connection that sends no complete request head in time is closed.
            server
                .http_builder()
                .http1()
                .header_read_timeout(Some(HEADER_READ_TIMEOUT));
            server.handle(handle).serve(app.into_make_service()).await
        }
    }
}
