//! The HTTP client configuration shared by scrape jobs, Kubernetes discovery and remote write
//! (Prometheus's `common/config.HTTPClientConfig`).
//!
//! In `prometheus.yml` these fields are written inline in the owning section, not under a key of
//! their own. Owners therefore repeat the fields (serde's `flatten` cannot be combined with
//! `deny_unknown_fields`) and build an [`HttpClientConfig`] from them.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `basic_auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    #[serde(default)]
    pub username: String,
    /// A file holding the user name, read on every request.
    #[serde(default)]
    pub username_file: Option<String>,
    /// The password.
    #[serde(default)]
    pub password: Option<String>,
    /// A file holding the password, read on every request (whitespace trimmed).
    #[serde(default)]
    pub password_file: Option<String>,
}

/// `authorization`: sends `Authorization: <type> <credentials>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme; Prometheus's default is `Bearer`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The credentials.
    #[serde(default)]
    pub credentials: Option<String>,
    /// A file holding the credentials, read on every request (whitespace trimmed).
    #[serde(default)]
    pub credentials_file: Option<String>,
}

/// `tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM text of the CA certificate(s).
    #[serde(default)]
    pub ca: Option<String>,
    /// A file holding the CA certificate(s).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// PEM text of the client certificate.
    #[serde(default)]
    pub cert: Option<String>,
    /// A file holding the client certificate.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// PEM text of the client key.
    #[serde(default)]
    pub key: Option<String>,
    /// A file holding the client key.
    #[serde(default)]
    pub key_file: Option<String>,
    /// The name to verify the server's certificate against (SNI).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Skip verification of the server's certificate.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// `TLS10` … `TLS13`.
    #[serde(default)]
    pub min_version: Option<String>,
    /// `TLS10` … `TLS13`.
    #[serde(default)]
    pub max_version: Option<String>,
}

/// An HTTP client configuration, as Prometheus's `HTTPClientConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    /// `basic_auth`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// Legacy `bearer_token` (becomes `authorization` with type `Bearer`).
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// Legacy `bearer_token_file`.
    #[serde(default)]
    pub bearer_token_file: Option<String>,
    /// `tls_config`.
    #[serde(default)]
    pub tls_config: TlsConfig,
    /// `proxy_url`.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// `no_proxy`.
    #[serde(default)]
    pub no_proxy: Option<String>,
    /// `proxy_from_environment`.
    #[serde(default)]
    pub proxy_from_environment: bool,
    /// `proxy_connect_header`.
    #[serde(default)]
    pub proxy_connect_header: BTreeMap<String, Vec<String>>,
    /// `follow_redirects` (default `true`).
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    /// `enable_http2` (default `true`).
    #[serde(default = "default_true")]
    pub enable_http2: bool,
    /// `http_headers`: extra headers.
    #[serde(default)]
    pub http_headers: BTreeMap<String, serde_yaml::Value>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: TlsConfig::default(),
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: false,
            proxy_connect_header: BTreeMap::new(),
            follow_redirects: true,
            enable_http2: true,
            http_headers: BTreeMap::new(),
        }
    }
}

/// `true`, as a serde default.
pub fn default_true() -> bool {
    true
}
