//! `kubernetes_sd_configs` entries, as written in `prometheus.yml`, and their validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::selector;
use crate::config::http::{
    default_true, Authorization, BasicAuth, HttpClientConfig, OAuth2, TlsConfig,
};

/// The kind of object a Kubernetes discoverer turns into targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// One target per node.
    Node,
    /// One target per service port.
    Service,
    /// One target per pod container port (or per pod without ports).
    Pod,
    /// One target per endpoint address and port (core/v1 Endpoints).
    Endpoints,
    /// One target per endpoint address and port (discovery.k8s.io/v1 EndpointSlice).
    EndpointSlice,
    /// One target per ingress path.
    Ingress,
}

impl Role {
    /// The name used in `prometheus.yml` (and in meta label names).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Service => "service",
            Role::Pod => "pod",
            Role::Endpoints => "endpoints",
            Role::EndpointSlice => "endpointslice",
            Role::Ingress => "ingress",
        }
    }

    /// Parses a role name; the error is Prometheus's.
    pub fn parse(name: &str) -> Result<Role, ConfigError> {
        Ok(match name {
            "node" => Role::Node,
            "service" => Role::Service,
            "pod" => Role::Pod,
            "endpoints" => Role::Endpoints,
            "endpointslice" => Role::EndpointSlice,
            "ingress" => Role::Ingress,
            other => return Err(ConfigError::UnknownRole(other.to_owned())),
        })
    }

    /// The selector roles a discoverer of this role accepts, in Prometheus's order.
    pub fn allowed_selector_roles(self) -> &'static [Role] {
        match self {
            Role::Pod => &[Role::Pod, Role::Node],
            Role::Service => &[Role::Service],
            Role::Endpoints => &[Role::Pod, Role::Service, Role::Endpoints],
            Role::EndpointSlice => &[Role::Pod, Role::Service, Role::EndpointSlice],
            Role::Node => &[Role::Node],
            Role::Ingress => &[Role::Ingress],
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Role::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A `kubernetes_sd_configs` entry that is well-formed YAML but not a valid configuration.
/// The messages are Prometheus's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `role` is absent.
    #[error("role missing (one of: pod, service, endpoints, endpointslice, node, ingress)")]
    RoleMissing,
    /// `role` names no known role.
    #[error("unknown Kubernetes SD role {0:?}")]
    UnknownRole(String),
    /// Both `kubeconfig_file` and `api_server` are set.
    #[error("cannot use 'kubeconfig_file' and 'api_server' simultaneously")]
    KubeconfigAndApiServer,
    /// `kubeconfig_file` is combined with HTTP client settings.
    #[error("cannot use a custom HTTP client configuration together with 'kubeconfig_file'")]
    KubeconfigAndHttpConfig,
    /// HTTP client settings without `api_server`.
    #[error(
        "to use custom HTTP client configuration please provide the 'api_server' URL explicitly"
    )]
    HttpConfigWithoutApiServer,
    /// `own_namespace` outside the cluster.
    #[error("cannot use 'api_server' and 'namespaces.own_namespace' simultaneously")]
    ApiServerAndOwnNamespace,
    /// `own_namespace` with a kubeconfig.
    #[error("cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously")]
    KubeconfigAndOwnNamespace,
    /// Two `selectors` entries for the same role.
    #[error("duplicated selector role: {0}")]
    DuplicatedSelectorRole(Role),
    /// A selector for a role this discoverer does not watch.
    #[error("{role} role supports only {allowed} selectors")]
    SelectorRoleNotAllowed {
        /// The discoverer's role.
        role: Role,
        /// The allowed selector roles, comma-separated.
        allowed: String,
    },
    /// A label or field selector that does not parse.
    #[error("{0}")]
    Selector(#[from] selector::SelectorError),
    /// `api_server` does not parse as a URL.
    #[error("invalid api_server URL {url:?}: {reason}")]
    ApiServerUrl {
        /// The configured value.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// `namespaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Namespaces {
    /// Add the namespace Tidemark runs in (in-cluster only).
    #[serde(default)]
    pub own_namespace: bool,
    /// Namespaces to watch; empty means all.
    #[serde(default)]
    pub names: Vec<String>,
}

/// One `selectors` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// The role whose list/watch the selectors restrict.
    pub role: Role,
    /// A label selector.
    #[serde(default)]
    pub label: Option<String>,
    /// A field selector.
    #[serde(default)]
    pub field: Option<String>,
}

/// `attach_metadata`. Prometheus 3.5 knows only `node` (`namespace` came in 3.6 and is
/// refused as an unknown field, as 3.5 refuses it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachMetadata {
    /// Attach the node's metadata to pod, endpoints and endpointslice targets.
    #[serde(default)]
    pub node: bool,
}

/// One `kubernetes_sd_configs` entry. The HTTP client fields are inline, as in Prometheus;
/// [`KubernetesSdConfig::http_client_config`] gathers them.
///
/// Deserializing validates the entry as Prometheus's `UnmarshalYAML` does (see
/// [`KubernetesSdConfig::validate`]), so a parsed value is valid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawKubernetesSdConfig")]
pub struct KubernetesSdConfig {
    /// The role (required).
    pub role: Role,
    /// The API server URL; absent means in-cluster (or `kubeconfig_file`).
    pub api_server: Option<String>,
    /// A kubeconfig file to connect with.
    pub kubeconfig_file: Option<String>,
    /// `namespaces`.
    pub namespaces: Namespaces,
    /// `selectors`.
    pub selectors: Vec<Selector>,
    /// `attach_metadata`.
    pub attach_metadata: AttachMetadata,

    /// `basic_auth`.
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`.
    pub authorization: Option<Authorization>,
    /// `oauth2`: the client-credentials grant; the token is sent as a bearer token.
    pub oauth2: Option<OAuth2>,
    /// `bearer_token`.
    pub bearer_token: Option<crate::config::Secret>,
    /// `bearer_token_file`.
    pub bearer_token_file: Option<String>,
    /// `tls_config`.
    pub tls_config: TlsConfig,
    /// `proxy_url`.
    pub proxy_url: Option<String>,
    /// `no_proxy`.
    pub no_proxy: Option<String>,
    /// `proxy_from_environment`.
    pub proxy_from_environment: bool,
    /// `proxy_connect_header`.
    pub proxy_connect_header: BTreeMap<String, Vec<crate::config::Secret>>,
    /// `follow_redirects`.
    pub follow_redirects: bool,
    /// `enable_http2`.
    pub enable_http2: bool,
    /// `http_headers`.
    pub http_headers: BTreeMap<String, crate::config::http::HeaderSpec>,
}

/// The YAML shape of [`KubernetesSdConfig`], before validation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubernetesSdConfig {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    api_server: Option<String>,
    #[serde(default)]
    kubeconfig_file: Option<String>,
    #[serde(default)]
    namespaces: Namespaces,
    #[serde(default)]
    selectors: Vec<Selector>,
    #[serde(default)]
    attach_metadata: AttachMetadata,

    #[serde(default)]
    basic_auth: Option<BasicAuth>,
    #[serde(default)]
    authorization: Option<Authorization>,
    #[serde(default)]
    oauth2: Option<OAuth2>,
    #[serde(default)]
    bearer_token: Option<crate::config::Secret>,
    #[serde(default)]
    bearer_token_file: Option<String>,
    #[serde(default)]
    tls_config: TlsConfig,
    #[serde(default)]
    proxy_url: Option<String>,
    #[serde(default)]
    no_proxy: Option<String>,
    #[serde(default)]
    proxy_from_environment: bool,
    #[serde(default)]
    proxy_connect_header: BTreeMap<String, Vec<crate::config::Secret>>,
    #[serde(default = "default_true")]
    follow_redirects: bool,
    #[serde(default = "default_true")]
    enable_http2: bool,
    #[serde(default)]
    http_headers: BTreeMap<String, crate::config::http::HeaderSpec>,
}

impl TryFrom<RawKubernetesSdConfig> for KubernetesSdConfig {
    type Error = ConfigError;

    fn try_from(raw: RawKubernetesSdConfig) -> Result<Self, ConfigError> {
        let config = KubernetesSdConfig {
            role: raw.role.ok_or(ConfigError::RoleMissing)?,
            api_server: raw.api_server,
            kubeconfig_file: raw.kubeconfig_file,
            namespaces: raw.namespaces,
            selectors: raw.selectors,
            attach_metadata: raw.attach_metadata,
            basic_auth: raw.basic_auth,
            authorization: raw.authorization,
            oauth2: raw.oauth2,
            bearer_token: raw.bearer_token,
            bearer_token_file: raw.bearer_token_file,
            tls_config: raw.tls_config,
            proxy_url: raw.proxy_url,
            no_proxy: raw.no_proxy,
            proxy_from_environment: raw.proxy_from_environment,
            proxy_connect_header: raw.proxy_connect_header,
            follow_redirects: raw.follow_redirects,
            enable_http2: raw.enable_http2,
            http_headers: raw.http_headers,
        };
        config.validate()?;
        Ok(config)
    }
}

impl KubernetesSdConfig {
    /// A configuration of `role` with every other field at its default (in-cluster, all
    /// namespaces, no selectors).
    pub fn new(role: Role) -> Self {
        let http = HttpClientConfig::default();
        KubernetesSdConfig {
            role,
            api_server: None,
            kubeconfig_file: None,
            namespaces: Namespaces::default(),
            selectors: Vec::new(),
            attach_metadata: AttachMetadata::default(),
            basic_auth: http.basic_auth,
            authorization: http.authorization,
            oauth2: http.oauth2,
            bearer_token: http.bearer_token,
            bearer_token_file: http.bearer_token_file,
            tls_config: http.tls_config,
            proxy_url: http.proxy_url,
            no_proxy: http.no_proxy,
            proxy_from_environment: http.proxy_from_environment,
            proxy_connect_header: http.proxy_connect_header,
            follow_redirects: http.follow_redirects,
            enable_http2: http.enable_http2,
            http_headers: http.http_headers,
        }
    }

    /// Checks the entry as Prometheus's `SDConfig.UnmarshalYAML` does, in the same order and
    /// with the same messages. The generic HTTP client checks belong to [`HttpClientConfig`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        // An empty `api_server` loads (Prometheus parses it as an empty URL, and seed 002
        // ships it as a placeholder); connecting then fails with a clear error.
        if let Some(url) = self.api_server.as_deref().filter(|u| !u.is_empty()) {
            check_api_server_url(url)?;
        }
        let custom_http = self.http_client_config() != HttpClientConfig::default();
        if self.api_server.is_some() && self.kubeconfig_file.is_some() {
            return Err(ConfigError::KubeconfigAndApiServer);
        }
        if self.kubeconfig_file.is_some() && custom_http {
            return Err(ConfigError::KubeconfigAndHttpConfig);
        }
        if self.api_server.is_none() && custom_http {
            return Err(ConfigError::HttpConfigWithoutApiServer);
        }
        if self.api_server.is_some() && self.namespaces.own_namespace {
            return Err(ConfigError::ApiServerAndOwnNamespace);
        }
        if self.kubeconfig_file.is_some() && self.namespaces.own_namespace {
            return Err(ConfigError::KubeconfigAndOwnNamespace);
        }
        let mut seen = Vec::new();
        for sel in &self.selectors {
            if seen.contains(&sel.role) {
                return Err(ConfigError::DuplicatedSelectorRole(sel.role));
            }
            seen.push(sel.role);
            let allowed = self.role.allowed_selector_roles();
            if !allowed.contains(&sel.role) {
                return Err(ConfigError::SelectorRoleNotAllowed {
                    role: self.role,
                    allowed: allowed
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            selector::parse_field_selector(sel.field.as_deref().unwrap_or(""))?;
            selector::parse_label_selector(sel.label.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }

    /// The `selectors` entry for objects of `role`, if any.
    pub fn selector_for(&self, role: Role) -> Option<&Selector> {
        self.selectors.iter().find(|s| s.role == role)
    }

    /// The inline HTTP client fields as one [`HttpClientConfig`].
    pub fn http_client_config(&self) -> HttpClientConfig {
        HttpClientConfig {
            basic_auth: self.basic_auth.clone(),
            authorization: self.authorization.clone(),
            oauth2: self.oauth2.clone(),
            bearer_token: self.bearer_token.clone(),
            bearer_token_file: self.bearer_token_file.clone(),
            tls_config: self.tls_config.clone(),
            proxy_url: self.proxy_url.clone(),
            no_proxy: self.no_proxy.clone(),
            proxy_from_environment: self.proxy_from_environment,
            proxy_connect_header: self.proxy_connect_header.clone(),
            follow_redirects: self.follow_redirects,
            enable_http2: self.enable_http2,
            http_headers: self.http_headers.clone(),
        }
    }
}

/// Prometheus parses `api_server` with Go's `url.Parse` and checks nothing more at load:
/// `example.com` or `ftp://x` load (and fail when the discoverer connects, see
/// `client::out_of_cluster`). Refused here is what `url.Parse` refuses: no scheme before
/// `:`, an unclosed IPv6 bracket, a bad `%` escape, control characters.
fn check_api_server_url(url: &str) -> Result<(), ConfigError> {
    let bad = |reason: &str| ConfigError::ApiServerUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(bad("invalid control character in URL"));
    }
    if url.starts_with(':') {
        return Err(bad("missing protocol scheme"));
    }
    let bytes = url.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(bad("invalid URL escape"));
        }
    }
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.starts_with('[') && !host.contains(']') {
            return Err(bad("missing ']' in host"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<KubernetesSdConfig, String> {
        serde_yaml::from_str::<KubernetesSdConfig>(yaml).map_err(|e| e.to_string())
    }

    fn err(yaml: &str) -> String {
        parse(yaml).expect_err("config should be rejected")
    }

    #[test]
    fn minimal_config_takes_defaults() {
        let c = parse("role: pod").unwrap();
        assert_eq!(c, KubernetesSdConfig::new(Role::Pod));
        assert!(c.follow_redirects && c.enable_http2);
    }

    #[test]
    fn every_role_parses() {
        for r in [
            "node",
            "service",
            "pod",
            "endpoints",
            "endpointslice",
            "ingress",
        ] {
            let c = parse(&format!("role: {r}")).unwrap();
            assert_eq!(c.role.as_str(), r);
        }
    }

    #[test]
    fn validation_messages_are_prometheus_s() {
        let cases = [
            ("namespaces: {names: [a]}", "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"),
            ("role: pods", "unknown Kubernetes SD role \"pods\""),
            ("role: pod\napi_server: https://a:6443\nkubeconfig_file: /k", "cannot use 'kubeconfig_file' and 'api_server' simultaneously"),
            ("role: pod\nkubeconfig_file: /k\nbearer_token: x", "cannot use a custom HTTP client configuration together with 'kubeconfig_file'"),
            ("role: pod\nbearer_token: x", "to use custom HTTP client configuration please provide the 'api_server' URL explicitly"),
            ("role: pod\ntls_config: {insecure_skip_verify: true}", "to use custom HTTP client configuration please provide the 'api_server' URL explicitly"),
            ("role: pod\napi_server: https://a\nnamespaces: {own_namespace: true}", "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously"),
            ("role: pod\nkubeconfig_file: /k\nnamespaces: {own_namespace: true}", "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously"),
            ("role: pod\nselectors: [{role: pod, label: a=b}, {role: pod, field: c=d}]", "duplicated selector role: pod"),
            ("role: pod\nselectors: [{role: service, label: a=b}]", "pod role supports only pod, node selectors"),
            ("role: endpoints\nselectors: [{role: node}]", "endpoints role supports only pod, service, endpoints selectors"),
            ("role: endpointslice\nselectors: [{role: ingress}]", "endpointslice role supports only pod, service, endpointslice selectors"),
            ("role: node\nselectors: [{role: pod}]", "node role supports only node selectors"),
            ("role: ingress\nselectors: [{role: service}]", "ingress role supports only ingress selectors"),
            ("role: service\nselectors: [{role: pod}]", "service role supports only service selectors"),
        ];
        for (yaml, want) in cases {
            let got = err(yaml);
            assert!(got.contains(want), "{yaml:?}: got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn api_server_loads_whatever_go_url_parse_accepts() {
        for ok in [
            "example.com",
            "example.com:443",
            "ftp://x",
            "http://",
            "/just/path",
            "https://u:p@h:6443/prefix",
        ] {
            parse(&format!("role: pod\napi_server: '{ok}'"))
                .and_then(|c| c.validate().map_err(|e| e.to_string()))
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, why) in [
            ("://bad", "missing protocol scheme"),
            ("http://[::1", "missing ']' in host"),
            ("http://a/%zz", "invalid URL escape"),
        ] {
            let e = parse(&format!("role: pod\napi_server: '{bad}'"))
                .and_then(|c| c.validate().map_err(|e| e.to_string()))
                .unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn attach_metadata_knows_only_node_as_in_3_5() {
        assert!(
            parse("role: pod\napi_server: https://a\nattach_metadata: {node: true}")
                .unwrap()
                .attach_metadata
                .node
        );
        // 3.5: "field namespace not found in type kubernetes.AttachMetadataConfig".
        let e = err("role: pod\napi_server: https://a\nattach_metadata: {namespace: true}");
        assert!(e.contains("namespace"), "{e}");
    }

    #[test]
    fn selectors_must_parse() {
        let e = err("role: pod\nselectors: [{role: pod, label: 'a in (b'}]");
        assert!(e.contains("label selector"), "{e}");
        let e = err("role: pod\nselectors: [{role: pod, field: 'spec.nodeName'}]");
        assert!(e.contains("field selector"), "{e}");
        let ok = parse(
            "role: endpoints\nselectors: [{role: pod, label: 'app in (a,b),!legacy', field: 'spec.nodeName=n1'}, {role: service, label: x=y}]",
        )
        .unwrap();
        assert_eq!(
            ok.selector_for(Role::Service).unwrap().label.as_deref(),
            Some("x=y")
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        assert!(err("role: pod\nfoo: 1").contains("unknown field `foo`"));
        assert!(err("role: pod\nnamespaces: {bar: 1}").contains("unknown field `bar`"));
    }

    #[test]
    fn out_of_cluster_with_http_config_is_valid() {
        let c = parse("role: pod\napi_server: https://127.0.0.1:6443\nbearer_token_file: /t\ntls_config: {ca_file: /ca}").unwrap();
        assert_eq!(c.bearer_token_file.as_deref(), Some("/t"));
        assert!(err("role: pod\napi_server: '://x'").contains("invalid api_server URL"));
    }
}
