//! An HTTP client built from Prometheus's HTTP client configuration: authentication (basic,
//! authorization, OAuth 2.0 client credentials), TLS, proxy and redirects, used for scrapes and
//! HTTP service discovery.
//!
//! With `oauth2`, a token is fetched from `token_url` (form `grant_type=client_credentials`,
//! `scope`, `endpoint_params`; client id and secret as HTTP basic authentication, as Go's
//! `clientcredentials` package sends them first), cached until 10 s before its `expires_in`
//! runs out, and sent as `Authorization: <token_type> <access_token>`.
//!
//! As in Prometheus, secrets in files (`bearer_token_file`, `credentials_file`,
//! `password_file`) are re-read on every request, and the CA, certificate and key are re-read
//! too: when their bytes change the underlying client is rebuilt, so rotated credentials are
//! picked up without a reload.

mod tls;

use std::time::Duration;

use parking_lot::Mutex;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::redirect::Policy;

use crate::config::http::HttpClientConfig;
use tls::TlsMaterial;

/// Building a client or preparing a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The TLS configuration is unusable (unreadable file, bad PEM, bad version).
    #[error("TLS config: {0}")]
    Tls(String),
    /// A secret file could not be read.
    #[error("unable to read {field} {path}: {cause}")]
    SecretFile {
        /// The configuration field naming the file.
        field: &'static str,
        /// The file.
        path: String,
        /// Why it could not be read.
        cause: String,
    },
    /// The proxy URL or a header is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The OAuth 2.0 token could not be fetched.
    #[error("oauth2: {0}")]
    OAuth2(String),
}

/// A request failed; the message is the one Prometheus shows as the target's last error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The client could not be prepared.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The scrape timeout passed before the body was read completely.
    #[error("Get \"{0}\": context deadline exceeded")]
    Timeout(String),
    /// The status was not 200.
    #[error("server returned HTTP status {0}")]
    Status(String),
    /// The (decompressed) body reached `body_size_limit`.
    #[error("body size limit exceeded")]
    BodySizeLimit,
    /// Connecting, TLS, or reading the body failed.
    #[error("Get \"{url}\": {cause}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What went wrong.
        cause: String,
    },
}

/// What a successful fetch returned besides the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The response's `Content-Type` header, if any.
    pub content_type: Option<String>,
}

/// A client for one HTTP client configuration.
#[derive(Debug)]
pub struct HttpClient {
    cfg: HttpClientConfig,
    built: Mutex<(TlsMaterial, reqwest::Client)>,
    /// The OAuth 2.0 token, while valid.
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

/// An OAuth 2.0 access token and when to stop using it.
#[derive(Debug, Clone)]
struct CachedToken {
    header: String,
    valid_until: Option<std::time::Instant>,
}

/// A token endpoint's answer (RFC 6749 section 5.1).
#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl HttpClient {
    /// Builds a client; fails if the TLS files cannot be read or parsed, or the proxy is invalid.
    pub fn new(cfg: &HttpClientConfig) -> Result<Self, ClientError> {
        let material = TlsMaterial::read(&cfg.tls_config)?;
        let client = build(cfg, &material)?;
        Ok(Self {
            cfg: cfg.clone(),
            built: Mutex::new((material, client)),
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The `Authorization` header value for this request: the OAuth 2.0 token (fetched or
    /// cached) when `oauth2` is configured, else [`HttpClient::authorization`].
    pub async fn authorization_header(&self) -> Result<Option<String>, ClientError> {
        let Some(o) = &self.cfg.oauth2 else {
            return self.authorization();
        };
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            if t.valid_until
                .is_none_or(|until| std::time::Instant::now() < until)
            {
                return Ok(Some(t.header.clone()));
            }
        }
        let token = self.fetch_token(o).await?;
        let header = token.header.clone();
        *cached = Some(token);
        Ok(Some(header))
    }

    /// Drops the cached OAuth 2.0 token (the next request fetches a new one).
    pub async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn fetch_token(
        &self,
        o: &crate::config::http::OAuth2,
    ) -> Result<CachedToken, ClientError> {
        let fail = |m: String| ClientError::OAuth2(m);
        let secret = match (&o.client_secret, &o.client_secret_file) {
            (_, Some(path)) if !path.is_empty() => read_secret(path, "client_secret_file")?,
            (Some(s), _) => s.expose().to_owned(),
            _ => String::new(),
        };
        let token_client_cfg = HttpClientConfig {
            tls_config: o.tls_config.clone(),
            proxy_url: o.proxy_url.clone(),
            no_proxy: o.no_proxy.clone(),
            proxy_from_environment: o.proxy_from_environment,
            proxy_connect_header: o.proxy_connect_header.clone(),
            ..HttpClientConfig::default()
        };
        let material = TlsMaterial::read(&token_client_cfg.tls_config)?;
        let client = build(&token_client_cfg, &material)?;
        let mut form: Vec<(String, String)> =
            vec![("grant_type".to_owned(), "client_credentials".to_owned())];
        if !o.scopes.is_empty() {
            form.push(("scope".to_owned(), o.scopes.join(" ")));
        }
        for (k, v) in &o.endpoint_params {
            form.push((k.clone(), v.clone()));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let basic = base64_encode(
            format!("{}:{}", form_encode(&o.client_id), form_encode(&secret)).as_bytes(),
        );
        let response = client
            .post(&o.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, format!("Basic {basic}"))
            .body(body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| fail(format!("Post {:?}: {}", o.token_url, root_cause(&e))))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| fail(format!("Post {:?}: {}", o.token_url, root_cause(&e))))?;
        if !status.is_success() {
            return Err(fail(format!(
                "cannot fetch token: {}\nResponse: {}",
                status,
                String::from_utf8_lossy(&bytes)
            )));
        }
        let token: TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("cannot parse token response: {e}")))?;
        if token.access_token.is_empty() {
            return Err(fail("server response missing access_token".to_owned()));
        }
        let kind = match token.token_type.as_deref().unwrap_or("") {
            t if t.is_empty() || t.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
            t if t.eq_ignore_ascii_case("mac") => "MAC".to_owned(),
            t if t.eq_ignore_ascii_case("basic") => "Basic".to_owned(),
            t => t.to_owned(),
        };
        let expires_in = match &token.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.parse::<f64>().ok(),
            _ => None,
        }
        .filter(|s| *s > 0.0);
        // Go's oauth2 treats a token as expired 10 s early.
        let valid_until = expires_in
            .map(|s| std::time::Instant::now() + Duration::from_secs_f64((s - 10.0).max(0.0)));
        Ok(CachedToken {
            header: format!("{kind} {}", token.access_token),
            valid_until,
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &HttpClientConfig {
        &self.cfg
    }

    /// The current client, rebuilt first if the TLS files changed.
    fn client(&self) -> Result<reqwest::Client, ClientError> {
        let material = TlsMaterial::read(&self.cfg.tls_config)?;
        let mut built = self.built.lock();
        if built.0 != material {
            let client = build(&self.cfg, &material)?;
            *built = (material, client);
        }
        Ok(built.1.clone())
    }

    /// The `Authorization` header value, with secret files read now.
    pub fn authorization(&self) -> Result<Option<String>, ClientError> {
        let cfg = &self.cfg;
        if let Some(auth) = &cfg.authorization {
            let kind = auth.kind.as_deref().filter(|k| !k.is_empty());
            let credentials = match (&auth.credentials, &auth.credentials_file) {
                (_, Some(path)) => read_secret(path, "credentials_file")?,
                (Some(c), None) => c.expose().to_owned(),
                (None, None) => String::new(),
            };
            return Ok(Some(format!(
                "{} {}",
                kind.unwrap_or("Bearer"),
                credentials
            )));
        }
        if let Some(path) = &cfg.bearer_token_file {
            return Ok(Some(format!(
                "Bearer {}",
                read_secret(path, "bearer_token_file")?
            )));
        }
        if let Some(token) = &cfg.bearer_token {
            return Ok(Some(format!("Bearer {}", token.expose())));
        }
        if let Some(basic) = &cfg.basic_auth {
            let user = match &basic.username_file {
                Some(path) => read_secret(path, "username_file")?,
                None => basic.username.clone(),
            };
            let password = match (&basic.password, &basic.password_file) {
                (_, Some(path)) => read_secret(path, "password_file")?,
                (Some(p), None) => p.expose().to_owned(),
                (None, None) => String::new(),
            };
            return Ok(Some(format!(
                "Basic {}",
                base64_encode(format!("{user}:{password}").as_bytes())
            )));
        }
        Ok(None)
    }

    /// GETs `url` into `body` (cleared first), with `headers` added, everything (connect,
    /// headers and body) within `timeout`, and the decompressed body limited to `body_limit`
    /// bytes (0 = no limit). Only status 200 succeeds.
    pub async fn fetch(
        &self,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        timeout: Duration,
        body_limit: u64,
        body: &mut Vec<u8>,
    ) -> Result<Fetched, FetchError> {
        body.clear();
        let client = self.client()?;
        let mut request = client.get(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in self.extra_headers()? {
            request = request.header(name, value);
        }
        if let Some(auth) = self.authorization_header().await? {
            let value = HeaderValue::from_str(&auth)
                .map_err(|_| ClientError::Invalid("invalid Authorization header value".into()))?;
            request = request.header(AUTHORIZATION, value);
        }
        let work = async {
            let response = request.send().await.map_err(|e| transport(url, &e))?;
            let status = response.status();
            if status != reqwest::StatusCode::OK {
                return Err(FetchError::Status(format!(
                    "{} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )));
            }
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut response = response;
            while let Some(chunk) = response.chunk().await.map_err(|e| transport(url, &e))? {
                body.extend_from_slice(&chunk);
                if body_limit > 0 && body.len() as u64 >= body_limit {
                    return Err(FetchError::BodySizeLimit);
                }
            }
            Ok(Fetched { content_type })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(url.to_owned())),
        }
    }

    /// `http_headers`: `name: {values: [...], secrets: [...], files: [...]}`.
    fn extra_headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, ClientError> {
        let mut out = Vec::new();
        for (name, spec) in &self.cfg.http_headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ClientError::Invalid(format!("invalid header name {name:?}")))?;
            let mut values = Vec::new();
            for key in ["values", "secrets"] {
                if let Some(list) = spec.expose().get(key).and_then(|v| v.as_sequence()) {
                    values.extend(list.iter().filter_map(|v| v.as_str()).map(str::to_owned));
                }
            }
            if let Some(list) = spec.expose().get("files").and_then(|v| v.as_sequence()) {
                for path in list.iter().filter_map(|v| v.as_str()) {
                    values.push(read_secret(path, "http_headers files")?);
                }
            }
            for v in values {
                let value = HeaderValue::from_str(&v).map_err(|_| {
                    ClientError::Invalid(format!("invalid value for header {name:?}"))
                })?;
                out.push((header.clone(), value));
            }
        }
        Ok(out)
    }
}

/// The innermost cause of a reqwest error (its top-level message is generic).
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}

/// `application/x-www-form-urlencoded` encoding of one key or value (Go's `url.QueryEscape`).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn transport(url: &str, e: &reqwest::Error) -> FetchError {
    // reqwest's top-level message is generic ("error sending request"); the cause chain says
    // what actually happened (connection refused, certificate unknown…).
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    FetchError::Transport {
        url: url.to_owned(),
        cause,
    }
}

fn read_secret(path: &str, field: &'static str) -> Result<String, ClientError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| ClientError::SecretFile {
            field,
            path: path.to_owned(),
            cause: e.to_string(),
        })
}

fn build(cfg: &HttpClientConfig, material: &TlsMaterial) -> Result<reqwest::Client, ClientError> {
    let tls = tls::client_config(&cfg.tls_config, material)?;
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(if cfg.follow_redirects {
            Policy::limited(10)
        } else {
            Policy::none()
        })
        .gzip(true)
        .pool_max_idle_per_host(4);
    if !cfg.enable_http2 {
        builder = builder.http1_only();
    }
    builder = match &cfg.proxy_url {
        Some(url) if !url.is_empty() => {
            let mut proxy = reqwest::Proxy::all(url.as_str())
                .map_err(|e| ClientError::Invalid(format!("invalid proxy_url {url:?}: {e}")))?;
            if let Some(no_proxy) = &cfg.no_proxy {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(no_proxy));
            }
            builder.proxy(proxy)
        }
        // Prometheus ignores HTTP_PROXY and friends unless told to use them.
        _ if !cfg.proxy_from_environment => builder.no_proxy(),
        _ => builder,
    };
    builder
        .build()
        .map_err(|e| ClientError::Invalid(format!("building HTTP client: {e}")))
}

/// Standard base64 with padding (for basic auth).
fn base64_encode(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(TABLE[(n >> 18) as usize & 63] as char);
        out.push(TABLE[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            TABLE[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            TABLE[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The headers of a scrape request besides authentication: `accept` (built from the job's
/// `scrape_protocols`, see `exposition::negotiate`), the user agent, and the timeout in seconds
/// as the shortest float.
pub fn scrape_headers(accept: HeaderValue, timeout: Duration) -> Vec<(HeaderName, HeaderValue)> {
    let secs = timeout.as_secs_f64();
    vec![
        (ACCEPT, accept),
        (
            reqwest::header::USER_AGENT,
            HeaderValue::from_static(concat!("Tidemark/", env!("CARGO_PKG_VERSION"))),
        ),
        (
            HeaderName::from_static("x-prometheus-scrape-timeout-seconds"),
            HeaderValue::from_str(&format!("{secs}")).expect("a float is a valid header value"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::http::{Authorization, BasicAuth};
    use crate::config::Secret;

    #[test]
    fn form_encoding_is_go_query_escape() {
        assert_eq!(form_encode("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(i.as_bytes()), o);
        }
    }

    #[test]
    fn authorization_header_forms() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "  abc\n").unwrap();
        let mut cfg = HttpClientConfig {
            bearer_token_file: Some(token.to_string_lossy().into_owned()),
            ..Default::default()
        };
        let c = HttpClient::new(&cfg).unwrap();
        assert_eq!(c.authorization().unwrap().as_deref(), Some("Bearer abc"));
        // Rotated token: read again on the next request.
        std::fs::write(&token, "def").unwrap();
        assert_eq!(c.authorization().unwrap().as_deref(), Some("Bearer def"));

        cfg.bearer_token_file = None;
        cfg.authorization = Some(Authorization {
            kind: Some("Token".into()),
            credentials: Some(Secret::new("xyz")),
            credentials_file: None,
            credentials_ref: None,
        });
        let c = HttpClient::new(&cfg).unwrap();
        assert_eq!(c.authorization().unwrap().as_deref(), Some("Token xyz"));

        cfg.authorization = None;
        cfg.basic_auth = Some(BasicAuth {
            username: "user".into(),
            password: Some(Secret::new("pass")),
            ..Default::default()
        });
        let c = HttpClient::new(&cfg).unwrap();
        assert_eq!(
            c.authorization().unwrap().as_deref(),
            Some("Basic dXNlcjpwYXNz")
        );
    }

    #[test]
    fn missing_ca_file_is_an_error_naming_it() {
        let cfg = HttpClientConfig {
            tls_config: crate::config::http::TlsConfig {
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = HttpClient::new(&cfg).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn scrape_timeout_header_is_shortest_float() {
        let accept = HeaderValue::from_static("text/plain;version=0.0.4");
        let h = scrape_headers(accept.clone(), Duration::from_millis(500));
        assert_eq!(h[0].1, accept);
        assert_eq!(h[2].1, "0.5");
        let h = scrape_headers(accept, Duration::from_secs(10));
        assert_eq!(h[2].1, "10");
    }
}
