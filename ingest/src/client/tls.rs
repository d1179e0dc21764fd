//! A rustls client configuration built from a `tls_config` section.
//!
//! Prometheus checks the CA, certificate and key files on every request and rebuilds its
//! transport when they change; [`TlsMaterial`] holds the bytes read so the client can compare.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::ClientError;
use crate::config::http::TlsConfig;

/// The bytes a TLS configuration refers to, read from inline PEM or from files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TlsMaterial {
    ca: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
}

impl TlsMaterial {
    /// Reads the CA, certificate and key named by `cfg`.
    pub(crate) fn read(cfg: &TlsConfig) -> Result<Self, ClientError> {
        Ok(Self {
            ca: pem_source(&cfg.ca, &cfg.ca_file, "ca_file")?,
            cert: pem_source(&cfg.cert, &cfg.cert_file, "cert_file")?,
            key: pem_source(
                &cfg.key.as_ref().map(|k| k.expose().to_owned()),
                &cfg.key_file,
                "key_file",
            )?,
        })
    }
}

fn pem_source(
    inline: &Option<String>,
    file: &Option<String>,
    field: &'static str,
) -> Result<Option<Vec<u8>>, ClientError> {
    if let Some(text) = inline {
        return Ok(Some(text.as_bytes().to_vec()));
    }
    match file {
        Some(path) => std::fs::read(path)
            .map(Some)
            .map_err(|e| ClientError::Tls(format!("unable to read {field} {path}: {e}"))),
        None => Ok(None),
    }
}

/// Builds the rustls configuration for `cfg` from already-read `material`.
pub(crate) fn client_config(
    cfg: &TlsConfig,
    material: &TlsMaterial,
) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(ring::default_provider());
    let versions = protocol_versions(cfg)?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| ClientError::Tls(e.to_string()))?;

    let verifier: Arc<dyn ServerCertVerifier> = if cfg.insecure_skip_verify {
        Arc::new(AcceptAnyCert(provider.clone()))
    } else {
        let mut roots = RootCertStore::empty();
        match &material.ca {
            Some(pem) => {
                let mut n = 0;
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| ClientError::Tls(format!("bad CA PEM: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| ClientError::Tls(format!("bad CA certificate: {e}")))?;
                    n += 1;
                }
                if n == 0 {
                    return Err(ClientError::Tls(
                        "unable to use specified CA cert: no certificate found".into(),
                    ));
                }
            }
            None => {
                // The system roots, as Go's crypto/x509 uses them. Unreadable ones are skipped.
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        match &cfg.server_name {
            Some(name) if !name.is_empty() => {
                let name = ServerName::try_from(name.clone())
                    .map_err(|e| ClientError::Tls(format!("invalid server_name {name:?}: {e}")))?;
                Arc::new(NameOverride {
                    inner: webpki,
                    name,
                })
            }
            _ => webpki,
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);

    let config = match (&material.cert, &material.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ClientError::Tls(format!("bad client certificate PEM: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| ClientError::Tls(format!("bad client key PEM: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ClientError::Tls(e.to_string()))?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => {
            return Err(ClientError::Tls(
                "exactly one of key or key_file must be configured when a client certificate is configured".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(ClientError::Tls(
                "exactly one of cert or cert_file must be configured when a client key is configured".into(),
            ))
        }
    };
    Ok(config)
}

fn protocol_versions(
    cfg: &TlsConfig,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, ClientError> {
    // rustls speaks TLS 1.2 and 1.3 only; older minimums are satisfied by 1.2.
    let rank = |v: &Option<String>, default: u8| -> Result<u8, ClientError> {
        match v.as_deref() {
            None | Some("") => Ok(default),
            Some("TLS10") => Ok(10),
            Some("TLS11") => Ok(11),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(other) => Err(ClientError::Tls(format!("unknown TLS version: {other}"))),
        }
    };
    let min = rank(&cfg.min_version, 12)?;
    let max = rank(&cfg.max_version, 13)?;
    let mut out = Vec::new();
    if min <= 12 && max >= 12 {
        out.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        out.push(&rustls::version::TLS13);
    }
    if out.is_empty() {
        return Err(ClientError::Tls(format!(
            "no supported TLS version between {:?} and {:?}",
            cfg.min_version, cfg.max_version
        )));
    }
    Ok(out)
}

/// Verifies the chain as usual but against `server_name` instead of the URL's host.
#[derive(Debug)]
struct NameOverride {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NameOverride {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure_skip_verify`: any certificate is accepted, but handshake signatures are still
/// checked so the session keys belong to whoever sent the certificate.
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
