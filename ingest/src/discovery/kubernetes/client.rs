//! Connecting to the API server: in-cluster, `api_server` with the inline HTTP client
//! settings, or `kubeconfig_file`.
//!
//! Credentials files (`bearer_token_file`, `authorization.credentials_file`,
//! `basic_auth.*_file`, and the in-cluster service-account token) are re-read on every
//! request, as Prometheus does, so rotated (projected) tokens take effect at the next
//! request. The CA file is handed to kube, which re-reads it about every 60 s.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use futures::future::BoxFuture;
use http::header::{HeaderValue, AUTHORIZATION};
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

use super::config::KubernetesSdConfig;

/// The environment variable that, when set, replaces the service-account directory
/// `/var/run/secrets/kubernetes.io/serviceaccount` for in-cluster connections (`token`,
/// `ca.crt`, `namespace`). A test hook: it lets tests run the in-cluster mode against a
/// local API server; `KUBERNETES_SERVICE_HOST`/`_PORT` still give the address.
pub const SERVICE_ACCOUNT_DIR_ENV: &str = "TIDEMARK_K8S_SERVICE_ACCOUNT_DIR";

const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Why a Kubernetes client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The in-cluster environment (service host/port variables, service-account files) is
    /// missing or unreadable.
    #[error("in-cluster Kubernetes configuration: {0}")]
    InCluster(String),
    /// `api_server` cannot be connected to (not an http(s) URL with a host).
    #[error("api_server {url:?}: {reason}")]
    ApiServer {
        /// The configured value.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The kubeconfig file could not be loaded.
    #[error("kubeconfig_file {path:?}: {reason}")]
    Kubeconfig {
        /// The configured path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A TLS setting could not be applied (unreadable or invalid CA, bad server name).
    #[error("kubernetes_sd_config tls_config: {0}")]
    Tls(String),
    /// A setting this implementation does not apply; rejected rather than ignored.
    #[error("kubernetes_sd_config: {0} is not supported by Tidemark's Kubernetes discovery")]
    Unsupported(&'static str),
    /// The configuration is invalid.
    #[error("{0}")]
    Config(#[from] super::config::ConfigError),
    /// kube could not build the client.
    #[error("building the Kubernetes client: {0}")]
    Build(#[from] kube::Error),
}

/// A connected client and the namespace Tidemark runs in (in-cluster only).
pub(crate) struct Connection {
    pub client: kube::Client,
    pub own_namespace: Option<String>,
}

/// A secret given inline or as a file read on every use (whitespace trimmed).
#[derive(Debug, Clone)]
enum Secret {
    Inline(String),
    File(PathBuf),
}

impl Secret {
    fn from_fields(inline: Option<&str>, file: Option<&str>) -> Option<Secret> {
        match (inline, file) {
            (_, Some(f)) if !f.is_empty() => Some(Secret::File(PathBuf::from(f))),
            (Some(v), _) => Some(Secret::Inline(v.to_owned())),
            _ => None,
        }
    }

    fn read(&self) -> Result<String, std::io::Error> {
        match self {
            Secret::Inline(v) => Ok(v.clone()),
            Secret::File(p) => Ok(std::fs::read_to_string(p)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("reading {}: {e}", p.display()))
                })?
                .trim()
                .to_owned()),
        }
    }
}

/// What goes into the `Authorization` header of every request.
#[derive(Debug, Clone)]
enum Credentials {
    Scheme {
        scheme: String,
        secret: Secret,
    },
    Basic {
        username: Option<Secret>,
        password: Option<Secret>,
    },
    /// The latest OAuth 2.0 token, kept fresh by a task.
    OAuth2(Arc<OAuth2Token>),
}

/// The `Authorization` header of an OAuth 2.0 client-credentials token: fetched before the
/// first request, then refreshed by a task (the token client reuses a token until it
/// expires, so asking it every second costs nothing). The task ends with the discoverer.
struct OAuth2Token {
    header: Arc<parking_lot::Mutex<Result<HeaderValue, String>>>,
    refresher: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for OAuth2Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OAuth2Token(..)")
    }
}

impl Drop for OAuth2Token {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

impl OAuth2Token {
    async fn start(o: &crate::config::http::OAuth2) -> Result<OAuth2Token, ClientError> {
        let client = crate::client::HttpClient::new(&crate::config::http::HttpClientConfig {
            oauth2: Some(o.clone()),
            ..Default::default()
        })
        .map_err(|e| ClientError::Tls(format!("oauth2: {e}")))?;
        async fn fetch(client: &crate::client::HttpClient) -> Result<HeaderValue, String> {
            let text = client
                .authorization_header()
                .await
                .map_err(|e| e.to_string())?
                .ok_or("oauth2: no token")?;
            let mut v = HeaderValue::from_str(&text)
                .map_err(|_| "oauth2: the token is not a valid HTTP header value".to_owned())?;
            v.set_sensitive(true);
            Ok(v)
        }
        let header = Arc::new(parking_lot::Mutex::new(fetch(&client).await));
        let shared = header.clone();
        let refresher = tokio::spawn(async move {
            loop {
                let got = fetch(&client).await;
                let wait = if got.is_ok() { 1 } else { 5 };
                if let Err(e) = &got {
                    tracing::warn!(error = %e, "Kubernetes SD: cannot fetch the OAuth 2.0 token");
                }
                *shared.lock() = got;
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
        });
        Ok(OAuth2Token { header, refresher })
    }
}

impl Credentials {
    fn header(&self) -> Result<HeaderValue, std::io::Error> {
        let text = match self {
            Credentials::Scheme { scheme, secret } => format!("{scheme} {}", secret.read()?),
            Credentials::Basic { username, password } => {
                let user = username
                    .as_ref()
                    .map(Secret::read)
                    .transpose()?
                    .unwrap_or_default();
                let pass = password
                    .as_ref()
                    .map(Secret::read)
                    .transpose()?
                    .unwrap_or_default();
                let b64 =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                format!("Basic {b64}")
            }
            Credentials::OAuth2(token) => {
                return token
                    .header
                    .lock()
                    .clone()
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::PermissionDenied, e));
            }
        };
        let mut v = HeaderValue::from_str(&text).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "credentials are not a valid HTTP header value",
            )
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
}

/// A tower layer adding the `Authorization` header, reading credentials files per request.
#[derive(Clone)]
struct AuthLayer(Arc<Credentials>);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            credentials: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct AuthService<S> {
    inner: S,
    credentials: Arc<Credentials>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        if !req.headers().contains_key(AUTHORIZATION) {
            match self.credentials.header() {
                Ok(v) => {
                    req.headers_mut().insert(AUTHORIZATION, v);
                }
                Err(e) => return Box::pin(async move { Err(Box::new(e) as BoxError) }),
            }
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

fn build(
    config: kube::Config,
    credentials: Option<Credentials>,
) -> Result<kube::Client, ClientError> {
    let builder = ClientBuilder::try_from(config)?;
    Ok(match credentials {
        Some(c) => builder.with_layer(&AuthLayer(Arc::new(c))).build(),
        None => builder.build(),
    })
}

fn read_ca_pem(pem: &[u8], what: &str) -> Result<Vec<Vec<u8>>, ClientError> {
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.as_ref().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| ClientError::Tls(format!("{what}: invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ClientError::Tls(format!("{what}: no certificate found")));
    }
    Ok(certs)
}

fn read_ca_file(path: &Path) -> Result<Vec<Vec<u8>>, ClientError> {
    let pem = std::fs::read(path)
        .map_err(|e| ClientError::Tls(format!("reading CA file {}: {e}", path.display())))?;
    read_ca_pem(&pem, &format!("CA file {}", path.display()))
}

/// Opens a client for `cfg` (already validated).
pub(crate) async fn connect(cfg: &KubernetesSdConfig) -> Result<Connection, ClientError> {
    if let Some(path) = &cfg.kubeconfig_file {
        let err = |reason: String| ClientError::Kubeconfig {
            path: path.clone(),
            reason,
        };
        let kc = Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| err(e.to_string()))?;
        return Ok(Connection {
            client: build(config, None)?,
            own_namespace: None,
        });
    }
    match &cfg.api_server {
        Some(url) if url.is_empty() => Err(ClientError::InCluster(
            "api_server is empty: set it to the API server's URL".into(),
        )),
        Some(url) => out_of_cluster(cfg, url).await,
        None => in_cluster(cfg),
    }
}

fn in_cluster(cfg: &KubernetesSdConfig) -> Result<Connection, ClientError> {
    let incluster = |e: String| ClientError::InCluster(e);
    let (mut config, dir) = match std::env::var_os(SERVICE_ACCOUNT_DIR_ENV) {
        None => (
            kube::Config::incluster().map_err(|e| incluster(e.to_string()))?,
            PathBuf::from(SERVICE_ACCOUNT_DIR),
        ),
        Some(dir) => {
            // The test hook: the same steps as kube's `Config::incluster`, from another
            // directory.
            let dir = PathBuf::from(dir);
            let host = std::env::var("KUBERNETES_SERVICE_HOST")
                .map_err(|e| incluster(format!("KUBERNETES_SERVICE_HOST: {e}")))?;
            let port = std::env::var("KUBERNETES_SERVICE_PORT")
                .map_err(|e| incluster(format!("KUBERNETES_SERVICE_PORT: {e}")))?;
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            let url = format!("https://{host}:{port}");
            let mut config =
                kube::Config::new(url.parse().map_err(|e| incluster(format!("{url}: {e}")))?);
            config.root_cert = Some(read_ca_file(&dir.join("ca.crt"))?);
            config.root_cert_file = Some(dir.join("ca.crt"));
            (config, dir)
        }
    };
    // kube refreshes its own token file only every minute; ours is read per request.
    config.auth_info = Default::default();
    let own_namespace = if cfg.namespaces.own_namespace {
        let p = dir.join("namespace");
        let ns = std::fs::read_to_string(&p)
            .map_err(|e| incluster(format!("reading {}: {e}", p.display())))?;
        Some(ns.trim().to_owned())
    } else {
        None
    };
    let token = Credentials::Scheme {
        scheme: "Bearer".into(),
        secret: Secret::File(dir.join("token")),
    };
    Ok(Connection {
        client: build(config, Some(token))?,
        own_namespace,
    })
}

async fn out_of_cluster(cfg: &KubernetesSdConfig, url: &str) -> Result<Connection, ClientError> {
    if cfg.proxy_url.is_some()
        || cfg.no_proxy.is_some()
        || cfg.proxy_from_environment
        || !cfg.proxy_connect_header.is_empty()
    {
        return Err(ClientError::Unsupported(
            "proxy_url / no_proxy / proxy_from_environment / proxy_connect_header",
        ));
    }
    if !cfg.http_headers.is_empty() {
        return Err(ClientError::Unsupported("http_headers"));
    }
    let tls = &cfg.tls_config;
    if tls.cert.is_some() || tls.key.is_some() {
        return Err(ClientError::Unsupported(
            "inline tls_config cert/key (use cert_file/key_file)",
        ));
    }
    if tls.min_version.is_some() || tls.max_version.is_some() {
        return Err(ClientError::Unsupported(
            "tls_config min_version/max_version",
        ));
    }
    let uri: http::Uri =
        url.parse()
            .map_err(|e: http::uri::InvalidUri| ClientError::ApiServer {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
    // The configuration loads any URL Go parses (as Prometheus's does); connecting needs
    // http(s) and a host.
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none_or(str::is_empty) {
        return Err(ClientError::ApiServer {
            url: url.to_owned(),
            reason: "not an http(s) URL with a host".into(),
        });
    }
    let mut config = kube::Config::new(uri);
    config.accept_invalid_certs = tls.insecure_skip_verify;
    config.tls_server_name = tls.server_name.clone().filter(|s| !s.is_empty());
    if let Some(pem) = &tls.ca {
        config.root_cert = Some(read_ca_pem(pem.as_bytes(), "tls_config.ca")?);
    }
    if let Some(path) = tls.ca_file.as_deref().filter(|p| !p.is_empty()) {
        config.root_cert = Some(read_ca_file(Path::new(path))?);
        config.root_cert_file = Some(PathBuf::from(path));
    }
    config.auth_info.client_certificate = tls.cert_file.clone();
    config.auth_info.client_key = tls.key_file.clone();

    let credentials = if let Some(auth) = &cfg.authorization {
        let scheme = auth
            .kind
            .clone()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "Bearer".into());
        Secret::from_fields(
            auth.credentials.as_ref().map(|c| c.expose()),
            auth.credentials_file.as_deref(),
        )
        .map(|secret| Credentials::Scheme { scheme, secret })
    } else if let Some(secret) = Secret::from_fields(
        cfg.bearer_token.as_ref().map(|c| c.expose()),
        cfg.bearer_token_file.as_deref(),
    ) {
        Some(Credentials::Scheme {
            scheme: "Bearer".into(),
            secret,
        })
    } else if let Some(o) = &cfg.oauth2 {
        Some(Credentials::OAuth2(Arc::new(OAuth2Token::start(o).await?)))
    } else {
        cfg.basic_auth.as_ref().map(|b| Credentials::Basic {
            username: Secret::from_fields(Some(b.username.as_str()), b.username_file.as_deref()),
            password: Secret::from_fields(
                b.password.as_ref().map(|p| p.expose()),
                b.password_file.as_deref(),
            ),
        })
    };
    Ok(Connection {
        client: build(config, credentials)?,
        own_namespace: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secrets_are_read_on_every_use_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("tidemark-k8s-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "one\n").unwrap();
        let c = Credentials::Scheme {
            scheme: "Bearer".into(),
            secret: Secret::File(f.clone()),
        };
        assert_eq!(c.header().unwrap(), "Bearer one");
        std::fs::write(&f, "  two  ").unwrap();
        assert_eq!(c.header().unwrap(), "Bearer two");
        std::fs::remove_file(&f).unwrap();
        assert!(c.header().unwrap_err().to_string().contains("reading"));
        let b = Credentials::Basic {
            username: Some(Secret::Inline("u".into())),
            password: Some(Secret::Inline("p".into())),
        };
        assert_eq!(b.header().unwrap(), "Basic dTpw");
    }

    #[test]
    fn bad_ca_is_a_clear_error() {
        let e = read_ca_pem(b"not pem", "tls_config.ca")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tls_config.ca"), "{e}");
        let e = read_ca_file(Path::new("/nonexistent/ca.crt"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/ca.crt"), "{e}");
    }
}
