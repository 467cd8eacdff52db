//! TCP and TLS connections shared by both transports.
//!
//! TLS is rustls with its `ring` provider, chosen explicitly (not the
//! process-wide default) so the crate builds without a C compiler for
//! aws-lc and links statically into musl binaries.
//!
//! The router's certificate is checked against a CA file (PEM), as the
//! RouterOS manual advises for self-signed certificates ("import its CA into
//! the client's trusted root"). There is deliberately no built-in root
//! store: routers rarely carry publicly trusted certificates, and a
//! `FROM scratch` container has no system store. [`TlsOptions::insecure`]
//! skips verification entirely, for lab routers, and says so loudly in the
//! log at every connection.
//!
//! RouterOS `api-ssl` without a certificate offers only anonymous
//! Diffie-Hellman, which rustls (rightly) does not implement: give the
//! service a certificate.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::{ApiError, Endpoint};

/// ALPN protocol id of HTTP/1.1, offered by the REST transport.
pub(crate) const ALPN_HTTP1: &[u8] = b"http/1.1";

/// How to check the router's TLS certificate (`apis://`, `https://`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file with the CA certificate(s) that signed the router's
    /// certificate. Required unless [`insecure`](Self::insecure) is set.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. Only for lab routers: anybody on the path
    /// can then read the password. Logged as a warning at every connection.
    pub insecure: bool,
    /// Name to verify the certificate against, when it differs from the
    /// URL host (e.g. connecting by IP to a certificate issued for a name).
    pub server_name: Option<String>,
}

impl TlsOptions {
    /// Verify against the CA certificates in `path`.
    pub fn with_ca_file(path: impl Into<PathBuf>) -> Self {
        Self { ca_file: Some(path.into()), ..Self::default() }
    }

    /// Accept any certificate (see [`insecure`](Self::insecure)).
    pub fn insecure() -> Self {
        Self { insecure: true, ..Self::default() }
    }
}

/// A ready TLS client setup: connector and the name to verify.
#[derive(Clone)]
pub(crate) struct TlsSetup {
    connector: TlsConnector,
    server_name: ServerName<'static>,
    insecure: bool,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup").field("server_name", &self.server_name).field("insecure", &self.insecure).finish()
    }
}

impl TlsSetup {
    /// Builds the rustls configuration for `endpoint`.
    pub(crate) fn new(opts: &TlsOptions, endpoint: &Endpoint, alpn: Option<&[u8]>) -> Result<Self, ApiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ApiError::Tls(e.to_string()))?;
        let mut config = if opts.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
                .with_no_client_auth()
        } else {
            let path = opts.ca_file.as_ref().ok_or_else(|| {
                ApiError::Tls(format!(
                    "{endpoint} needs a CA file to verify the router's certificate \
                     (or the explicit insecure mode for a lab router)"
                ))
            })?;
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| ApiError::Tls(format!("CA file {}: {e}", path.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| ApiError::Tls(format!("CA file {}: {e}", path.display())))?;
                roots.add(cert).map_err(|e| ApiError::Tls(format!("CA file {}: {e}", path.display())))?;
            }
            if roots.is_empty() {
                return Err(ApiError::Tls(format!("CA file {} holds no certificate", path.display())));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        if let Some(alpn) = alpn {
            config.alpn_protocols = vec![alpn.to_vec()];
        }
        let name = opts.server_name.clone().unwrap_or_else(|| endpoint.host.clone());
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| ApiError::Tls(format!("{name:?} is not a valid TLS server name")))?;
        Ok(Self { connector: TlsConnector::from(Arc::new(config)), server_name, insecure: opts.insecure })
    }
}

/// Connects TCP (and TLS when `tls` is set) within `timeout`.
pub(crate) async fn connect(
    endpoint: &Endpoint,
    tls: Option<&TlsSetup>,
    timeout: Duration,
) -> Result<Stream, ApiError> {
    let fail = |reason: String| ApiError::Connect { endpoint: endpoint.to_string(), reason };
    let work = async {
        let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await.map_err(|e| fail(e.to_string()))?;
        // Small request/reply exchanges: do not wait for Nagle.
        tcp.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
        match tls {
            None => Ok(Stream::Plain(tcp)),
            Some(setup) => {
                if setup.insecure {
                    tracing::warn!(
                        %endpoint,
                        "TLS CERTIFICATE VERIFICATION IS DISABLED: anybody on the path can impersonate the router \
                         and read the password; set a CA file instead of the insecure mode"
                    );
                }
                let tls = setup
                    .connector
                    .connect(setup.server_name.clone(), tcp)
                    .await
                    .map_err(|e| fail(format!("TLS handshake: {e}")))?;
                Ok(Stream::Tls(Box::new(tls)))
            }
        }
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| fail(format!("no connection within {timeout:?}")))?
}

/// A TCP or TLS stream.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Certificate "verifier" of the insecure mode: accepts any certificate,
/// but still checks the handshake signatures with the provider's
/// algorithms (so the session keys belong to whoever holds that key).
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
