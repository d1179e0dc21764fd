//! A minimal HTTPS GET against the test server, for checks that bypass the discoverer.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use super::KubeApiServer;

/// The status, `Content-Type` and body of a response.
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, empty if absent.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl KubeApiServer {
    /// `GET path` over HTTPS (verified with the server's CA) with `Authorization: Bearer
    /// <token>`.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile_certs(self.ca_pem()) {
            roots.add(cert).expect("CA certificate");
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(self.addr())
            .await
            .expect("connect to the test API server");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("server name");
        let tls = connector.connect(name, tcp).await.expect("TLS handshake");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .expect("HTTP handshake");
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header("Host", self.addr().to_string())
            .header("Authorization", format!("Bearer {token}"))
            .body(Empty::<Bytes>::new())
            .expect("request");
        let resp = sender.send_request(req).await.expect("send request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("read body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            content_type,
            body,
        }
    }
}

fn rustls_pemfile_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM")
}
