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

/// Header names `http_headers` may not set (prometheus/common's reserved list).
const RESERVED_HEADERS: [&str; 17] = [
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
];

fn set(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

impl TlsConfig {
    /// Checks the combinations prometheus/common (as in Prometheus 2.42) rejects.
    pub fn validate(&self) -> Result<(), String> {
        if set(&self.ca) && set(&self.ca_file) {
            return Err("at most one of ca and ca_file must be configured".to_owned());
        }
        if set(&self.cert) && set(&self.cert_file) {
            return Err("at most one of cert and cert_file must be configured".to_owned());
        }
        if set(&self.key) && set(&self.key_file) {
            return Err("at most one of key and key_file must be configured".to_owned());
        }
        // 2.42 has only the `_file` fields and words their check its own way; the inline
        // `cert`/`key` (v3) get v3's messages.
        if !set(&self.cert) && !set(&self.key) {
            if let (Some(cert), false) = (&self.cert_file, set(&self.key_file)) {
                if !cert.is_empty() {
                    return Err(format!(
                        "client cert file {cert:?} specified without client key file"
                    ));
                }
            }
            if let (Some(key), false) = (&self.key_file, set(&self.cert_file)) {
                if !key.is_empty() {
                    return Err(format!(
                        "client key file {key:?} specified without client cert file"
                    ));
                }
            }
        }
        let cert = set(&self.cert) || set(&self.cert_file);
        let key = set(&self.key) || set(&self.key_file);
        if cert && !key {
            return Err(
                "exactly one of key or key_file must be configured when a client certificate is configured"
                    .to_owned(),
            );
        }
        if key && !cert {
            return Err(
                "exactly one of cert or cert_file must be configured when a client key is configured"
                    .to_owned(),
            );
        }
        for v in [&self.min_version, &self.max_version].into_iter().flatten() {
            if !matches!(v.as_str(), "TLS10" | "TLS11" | "TLS12" | "TLS13") {
                return Err(format!("unknown TLS version: {v}"));
            }
        }
        Ok(())
    }
}

impl HttpClientConfig {
    /// Checks the field combinations prometheus/common rejects, with its messages.
    pub fn validate(&self) -> Result<(), String> {
        let bearer = set(&self.bearer_token) || set(&self.bearer_token_file);
        if set(&self.bearer_token) && set(&self.bearer_token_file) {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".to_owned(),
            );
        }
        if self.basic_auth.is_some() && bearer {
            return Err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                    .to_owned(),
            );
        }
        if let Some(b) = &self.basic_auth {
            if !b.username.is_empty() && set(&b.username_file) {
                return Err(
                    "at most one of basic_auth username & username_file must be configured"
                        .to_owned(),
                );
            }
            if set(&b.password) && set(&b.password_file) {
                return Err(
                    "at most one of basic_auth password & password_file must be configured"
                        .to_owned(),
                );
            }
        }
        if let Some(a) = &self.authorization {
            if bearer {
                return Err(
                    "authorization is not compatible with bearer_token & bearer_token_file"
                        .to_owned(),
                );
            }
            if set(&a.credentials) && set(&a.credentials_file) {
                return Err(
                    "at most one of authorization credentials & credentials_file must be configured"
                        .to_owned(),
                );
            }
            if a.kind
                .as_deref()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("basic")
            {
                return Err(
                    r#"authorization type cannot be set to "basic", use "basic_auth" instead"#
                        .to_owned(),
                );
            }
            if self.basic_auth.is_some() {
                return Err(
                    "at most one of basic_auth, oauth2 & authorization must be configured"
                        .to_owned(),
                );
            }
        }
        if set(&self.no_proxy) && !set(&self.proxy_url) {
            return Err("if no_proxy is configured, proxy_url must also be configured".to_owned());
        }
        if self.proxy_from_environment && set(&self.proxy_url) {
            return Err(
                "if proxy_from_environment is configured, proxy_url must not be configured"
                    .to_owned(),
            );
        }
        if self.proxy_from_environment && set(&self.no_proxy) {
            return Err(
                "if proxy_from_environment is configured, no_proxy must not be configured"
                    .to_owned(),
            );
        }
        if !(self.proxy_connect_header.is_empty()
            || set(&self.proxy_url)
            || self.proxy_from_environment)
        {
            return Err(
                "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured"
                    .to_owned(),
            );
        }
        for name in self.http_headers.keys() {
            if RESERVED_HEADERS
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
            {
                return Err(format!("setting header {name:?} is not allowed"));
            }
        }
        self.tls_config.validate()
    }

    /// The configuration as Prometheus uses it after validation: the legacy `bearer_token` /
    /// `bearer_token_file` become `authorization` with type `Bearer`, and an `authorization`
    /// without a type gets `Bearer`.
    pub fn normalized(mut self) -> Self {
        if let Some(a) = &mut self.authorization {
            let kind = a.kind.as_deref().unwrap_or("").trim().to_owned();
            a.kind = Some(if kind.is_empty() {
                "Bearer".to_owned()
            } else {
                kind
            });
        } else if set(&self.bearer_token) || set(&self.bearer_token_file) {
            self.authorization = Some(Authorization {
                kind: Some("Bearer".to_owned()),
                credentials: self.bearer_token.take().filter(|s| !s.is_empty()),
                credentials_file: self.bearer_token_file.take().filter(|s| !s.is_empty()),
            });
        }
        self
    }

    /// Makes every relative file path absolute against `dir` (the configuration file's folder),
    /// as Prometheus's `SetDirectory` does.
    pub fn resolve_paths(&mut self, dir: &std::path::Path) {
        let files = [
            &mut self.bearer_token_file,
            &mut self.tls_config.ca_file,
            &mut self.tls_config.cert_file,
            &mut self.tls_config.key_file,
        ];
        for f in files {
            resolve_path(f, dir);
        }
        if let Some(b) = &mut self.basic_auth {
            resolve_path(&mut b.password_file, dir);
            resolve_path(&mut b.username_file, dir);
        }
        if let Some(a) = &mut self.authorization {
            resolve_path(&mut a.credentials_file, dir);
        }
    }
}

/// Joins a relative, non-empty `path` to `dir`.
pub fn resolve_path(path: &mut Option<String>, dir: &std::path::Path) {
    if let Some(p) = path {
        if !p.is_empty() && std::path::Path::new(p.as_str()).is_relative() {
            *p = dir.join(p.as_str()).to_string_lossy().into_owned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(yaml: &str) -> HttpClientConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn rejects_conflicting_auth_with_prometheus_messages() {
        for (yaml, err) in [
            ("bearer_token: a\nbearer_token_file: b", "at most one of bearer_token & bearer_token_file must be configured"),
            ("bearer_token: a\nbasic_auth: {username: u}", "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"),
            ("basic_auth: {username: u, password: p, password_file: f}", "at most one of basic_auth password & password_file must be configured"),
            ("authorization: {credentials: c}\nbearer_token: a", "authorization is not compatible with bearer_token & bearer_token_file"),
            ("authorization: {credentials: c, credentials_file: f}", "at most one of authorization credentials & credentials_file must be configured"),
            ("authorization: {type: Basic, credentials: c}", r#"authorization type cannot be set to "basic", use "basic_auth" instead"#),
            ("authorization: {credentials: c}\nbasic_auth: {username: u}", "at most one of basic_auth, oauth2 & authorization must be configured"),
            ("tls_config: {ca: x, ca_file: y}", "at most one of ca and ca_file must be configured"),
            ("tls_config: {cert: x}", "exactly one of key or key_file must be configured when a client certificate is configured"),
            ("tls_config: {key: x}", "exactly one of cert or cert_file must be configured when a client key is configured"),
            ("tls_config: {cert_file: x}", r#"client cert file "x" specified without client key file"#),
            ("tls_config: {key_file: x}", r#"client key file "x" specified without client cert file"#),
            ("tls_config: {min_version: TLS14}", "unknown TLS version: TLS14"),
            ("no_proxy: x", "if no_proxy is configured, proxy_url must also be configured"),
            ("proxy_from_environment: true\nproxy_url: http://p", "if proxy_from_environment is configured, proxy_url must not be configured"),
            ("http_headers: {Host: {values: [x]}}", r#"setting header "Host" is not allowed"#),
        ] {
            assert_eq!(http(yaml).validate(), Err(err.to_owned()), "{yaml}");
        }
        for ok in [
            "bearer_token: a",
            "basic_auth: {username: u, password_file: f}",
            "tls_config: {cert_file: c, key: k}",
            "authorization: {credentials_file: f}",
            "{}",
        ] {
            assert_eq!(http(ok).validate(), Ok(()), "{ok}");
        }
    }

    #[test]
    fn bearer_token_becomes_authorization() {
        let c = http("bearer_token_file: /t").normalized();
        assert_eq!(
            c.authorization,
            Some(Authorization {
                kind: Some("Bearer".to_owned()),
                credentials: None,
                credentials_file: Some("/t".to_owned())
            })
        );
        assert_eq!(c.bearer_token_file, None);
        let c = http("authorization: {credentials: x}").normalized();
        assert_eq!(c.authorization.unwrap().kind.as_deref(), Some("Bearer"));
    }
}
