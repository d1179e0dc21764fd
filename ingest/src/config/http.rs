//! The HTTP client configuration shared by scrape jobs, Kubernetes discovery and remote write
//! (Prometheus's `common/config.HTTPClientConfig`).
//!
//! In `prometheus.yml` these fields are written inline in the owning section, not under a key of
//! their own. Owners therefore repeat the fields (serde's `flatten` cannot be combined with
//! `deny_unknown_fields`) and build an [`HttpClientConfig`] from them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::secret::Secret;

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
    pub password: Option<Secret>,
    /// A file holding the password, read on every request (whitespace trimmed).
    #[serde(default)]
    pub password_file: Option<String>,
    /// A secret-manager reference for the user name (never resolved).
    #[serde(default)]
    pub username_ref: Option<String>,
    /// A secret-manager reference for the password (never resolved).
    #[serde(default)]
    pub password_ref: Option<String>,
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
    pub credentials: Option<Secret>,
    /// A file holding the credentials, read on every request (whitespace trimmed).
    #[serde(default)]
    pub credentials_file: Option<String>,
    /// A secret-manager reference for the credentials (never resolved).
    #[serde(default)]
    pub credentials_ref: Option<String>,
}

/// `oauth2`: the OAuth 2.0 client-credentials grant; the token fetched from `token_url` is sent
/// as `Authorization: Bearer <token>` and reused until it expires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// `client_id` (required).
    #[serde(default)]
    pub client_id: String,
    /// `client_secret`.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// `client_secret_file`, read whenever a token is fetched.
    #[serde(default)]
    pub client_secret_file: Option<String>,
    /// `client_secret_ref` (a secret-manager reference; never resolved).
    #[serde(default)]
    pub client_secret_ref: Option<String>,
    /// `scopes`, sent space-separated as `scope`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `token_url` (required).
    #[serde(default)]
    pub token_url: String,
    /// `endpoint_params`: extra form parameters of the token request.
    #[serde(default)]
    pub endpoint_params: BTreeMap<String, String>,
    /// `tls_config` of the token request.
    #[serde(default)]
    pub tls_config: TlsConfig,
    /// `proxy_url` of the token request.
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
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

impl OAuth2 {
    /// prometheus/common's checks of an `oauth2` block, with its messages.
    pub fn validate(&self) -> Result<(), String> {
        if self.client_id.is_empty() {
            return Err("oauth2 client_id must be configured".to_owned());
        }
        if self.token_url.is_empty() {
            return Err("oauth2 token_url must be configured".to_owned());
        }
        if [
            set(&self.client_secret),
            set(&self.client_secret_file),
            set(&self.client_secret_ref),
        ]
        .into_iter()
        .filter(|s| *s)
        .count()
            > 1
        {
            return Err("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials".to_owned());
        }
        validate_proxy(
            &self.proxy_url,
            &self.no_proxy,
            self.proxy_from_environment,
            &self.proxy_connect_header,
        )?;
        self.tls_config.validate()
    }
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
    pub key: Option<Secret>,
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
    /// A secret-manager reference for the CA (accepted as Prometheus does; Prometheus itself
    /// has no secret manager, so it is never resolved).
    #[serde(default)]
    pub ca_ref: Option<String>,
    /// A secret-manager reference for the client certificate (never resolved).
    #[serde(default)]
    pub cert_ref: Option<String>,
    /// A secret-manager reference for the client key (never resolved).
    #[serde(default)]
    pub key_ref: Option<String>,
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
    /// `oauth2`.
    #[serde(default)]
    pub oauth2: Option<OAuth2>,
    /// Legacy `bearer_token` (becomes `authorization` with type `Bearer`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
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
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    /// `follow_redirects` (default `true`).
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    /// `enable_http2` (default `true`).
    #[serde(default = "default_true")]
    pub enable_http2: bool,
    /// `http_headers`: extra headers.
    #[serde(default)]
    pub http_headers: BTreeMap<String, HeaderSpec>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            basic_auth: None,
            authorization: None,
            oauth2: None,
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

/// One `http_headers` entry as written: `{values: [..], secrets: [..], files: [..]}`
/// (prometheus/common's `Header`). Its `Debug` masks the `secrets`; the client reads the entry
/// through [`HeaderSpec::expose`].
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct HeaderSpec(serde_yaml::Value);

impl HeaderSpec {
    /// The entry, secrets included: only for the code that sends the header.
    pub fn expose(&self) -> &serde_yaml::Value {
        &self.0
    }
}

impl std::fmt::Debug for HeaderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", super::show::mask_secret_lists(&self.0))
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

/// A configuration string, plain or secret, that may be unset.
trait Text {
    fn text(&self) -> &str;
}

impl Text for String {
    fn text(&self) -> &str {
        self
    }
}

impl Text for Secret {
    fn text(&self) -> &str {
        self.expose()
    }
}

/// Whether an optional field is set to something non-empty (Go's zero value is "unset").
fn set<T: Text>(s: &Option<T>) -> bool {
    s.as_ref().is_some_and(|s| !s.text().is_empty())
}

impl TlsConfig {
    /// Checks the combinations prometheus/common (as in Prometheus 3.5) rejects.
    pub fn validate(&self) -> Result<(), String> {
        for (what, values) in [
            (
                "ca, ca_file & ca_ref",
                [set(&self.ca), set(&self.ca_file), set(&self.ca_ref)],
            ),
            (
                "cert, cert_file & cert_ref",
                [set(&self.cert), set(&self.cert_file), set(&self.cert_ref)],
            ),
            (
                "key, key_file & key_ref",
                [set(&self.key), set(&self.key_file), set(&self.key_ref)],
            ),
        ] {
            if values.into_iter().filter(|s| *s).count() > 1 {
                return Err(format!("at most one of {what} must be configured"));
            }
        }
        let cert = set(&self.cert) || set(&self.cert_file) || set(&self.cert_ref);
        let key = set(&self.key) || set(&self.key_file) || set(&self.key_ref);
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

/// The proxy checks prometheus/common makes (for the client and for `oauth2`).
fn validate_proxy(
    proxy_url: &Option<String>,
    no_proxy: &Option<String>,
    from_env: bool,
    connect_header: &BTreeMap<String, Vec<Secret>>,
) -> Result<(), String> {
    if set(no_proxy) && !set(proxy_url) {
        return Err("if no_proxy is configured, proxy_url must also be configured".to_owned());
    }
    if from_env && set(proxy_url) {
        return Err(
            "if proxy_from_environment is configured, proxy_url must not be configured".to_owned(),
        );
    }
    if from_env && set(no_proxy) {
        return Err(
            "if proxy_from_environment is configured, no_proxy must not be configured".to_owned(),
        );
    }
    if !(connect_header.is_empty() || set(proxy_url) || from_env) {
        return Err(
            "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured"
                .to_owned(),
        );
    }
    Ok(())
}

impl HttpClientConfig {
    /// Checks the field combinations prometheus/common rejects, with its messages, in its
    /// order.
    pub fn validate(&self) -> Result<(), String> {
        let bearer = set(&self.bearer_token) || set(&self.bearer_token_file);
        if set(&self.bearer_token) && set(&self.bearer_token_file) {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".to_owned(),
            );
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && bearer {
            return Err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                    .to_owned(),
            );
        }
        if let Some(b) = &self.basic_auth {
            let user = [
                !b.username.is_empty(),
                set(&b.username_file),
                set(&b.username_ref),
            ];
            if user.into_iter().filter(|x| *x).count() > 1 {
                return Err(
                    "at most one of basic_auth username, username_file & username_ref must be configured"
                        .to_owned(),
                );
            }
            if [
                set(&b.password),
                set(&b.password_file),
                set(&b.password_ref),
            ]
            .into_iter()
            .filter(|s| *s)
            .count()
                > 1
            {
                return Err(
                    "at most one of basic_auth password, password_file & password_ref must be configured"
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
            if [
                set(&a.credentials),
                set(&a.credentials_file),
                set(&a.credentials_ref),
            ]
            .into_iter()
            .filter(|s| *s)
            .count()
                > 1
            {
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
        }
        if let Some(o) = &self.oauth2 {
            o.validate()?;
        }
        validate_proxy(
            &self.proxy_url,
            &self.no_proxy,
            self.proxy_from_environment,
            &self.proxy_connect_header,
        )?;
        let auths = [
            self.basic_auth.is_some(),
            self.authorization.is_some(),
            self.oauth2.is_some(),
        ];
        if auths.into_iter().filter(|x| *x).count() > 1 {
            return Err(
                "at most one of basic_auth, oauth2 & authorization must be configured".to_owned(),
            );
        }
        for (name, spec) in &self.http_headers {
            if RESERVED_HEADERS
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
            {
                return Err(format!("setting header {name:?} is not allowed"));
            }
            check_header_spec(spec.expose())?;
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
                credentials_ref: None,
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
        if let Some(o) = &mut self.oauth2 {
            resolve_path(&mut o.client_secret_file, dir);
            resolve_path(&mut o.tls_config.ca_file, dir);
            resolve_path(&mut o.tls_config.cert_file, dir);
            resolve_path(&mut o.tls_config.key_file, dir);
        }
    }
}

/// An `http_headers` entry is `{values: [..], secrets: [..], files: [..]}` (prometheus/common's
/// `Header`); anything else is refused as Prometheus's strict YAML decoding does.
fn check_header_spec(spec: &serde_yaml::Value) -> Result<(), String> {
    let Some(map) = spec.as_mapping() else {
        return if spec.is_null() {
            Ok(())
        } else {
            Err("http_headers: a header must be a mapping with values, secrets or files".to_owned())
        };
    };
    for (k, v) in map {
        let key = k.as_str().unwrap_or("");
        if !matches!(key, "values" | "secrets" | "files") {
            return Err(format!("unknown field {key:?} in http_headers"));
        }
        let ok = v.is_null()
            || v.as_sequence().is_some_and(|s| {
                s.iter()
                    .all(|x| x.is_string() || x.is_number() || x.is_bool())
            });
        if !ok {
            return Err(format!("http_headers {key} must be a list of strings"));
        }
    }
    Ok(())
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
            ("basic_auth: {username: u, password: p, password_file: f}", "at most one of basic_auth password, password_file & password_ref must be configured"),
            ("authorization: {credentials: c}\nbearer_token: a", "authorization is not compatible with bearer_token & bearer_token_file"),
            ("authorization: {credentials: c, credentials_file: f}", "at most one of authorization credentials & credentials_file must be configured"),
            ("authorization: {type: Basic, credentials: c}", r#"authorization type cannot be set to "basic", use "basic_auth" instead"#),
            ("authorization: {credentials: c}\nbasic_auth: {username: u}", "at most one of basic_auth, oauth2 & authorization must be configured"),
            ("tls_config: {ca: x, ca_file: y}", "at most one of ca, ca_file & ca_ref must be configured"),
            ("tls_config: {cert: x}", "exactly one of key or key_file must be configured when a client certificate is configured"),
            ("tls_config: {key: x}", "exactly one of cert or cert_file must be configured when a client key is configured"),
            ("tls_config: {cert_file: x}", "exactly one of key or key_file must be configured when a client certificate is configured"),
            ("tls_config: {key_file: x}", "exactly one of cert or cert_file must be configured when a client key is configured"),
            ("oauth2: {client_id: a}", "oauth2 token_url must be configured"),
            ("oauth2: {token_url: a}", "oauth2 client_id must be configured"),
            ("oauth2: {client_id: a, token_url: u, client_secret: s, client_secret_file: f}", "at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials"),
            ("oauth2: {client_id: a, token_url: u}\nbearer_token: b", "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"),
            ("oauth2: {client_id: a, token_url: u}\nauthorization: {credentials: c}", "at most one of basic_auth, oauth2 & authorization must be configured"),
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
                credentials_file: Some("/t".to_owned()),
                credentials_ref: None,
            })
        );
        assert_eq!(c.bearer_token_file, None);
        let c = http("authorization: {credentials: x}").normalized();
        assert_eq!(c.authorization.unwrap().kind.as_deref(), Some("Bearer"));
    }
}
