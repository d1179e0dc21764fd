//! `kubernetes_sd_configs` entries, as written in `prometheus.yml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::http::{default_true, Authorization, BasicAuth, HttpClientConfig, TlsConfig};

/// The kind of object a Kubernetes discoverer turns into targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    #[serde(rename = "endpointslice")]
    EndpointSlice,
    /// One target per ingress path.
    Ingress,
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

/// `attach_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachMetadata {
    /// Attach the node's metadata to pod, endpoints and endpointslice targets.
    #[serde(default)]
    pub node: bool,
    /// Attach the namespace's metadata.
    #[serde(default)]
    pub namespace: bool,
}

/// One `kubernetes_sd_configs` entry. The HTTP client fields are inline, as in Prometheus;
/// [`KubernetesSdConfig::http_client_config`] gathers them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSdConfig {
    /// The role (required).
    pub role: Role,
    /// The API server URL; absent means in-cluster (or `kubeconfig_file`).
    #[serde(default)]
    pub api_server: Option<String>,
    /// A kubeconfig file to connect with.
    #[serde(default)]
    pub kubeconfig_file: Option<String>,
    /// `namespaces`.
    #[serde(default)]
    pub namespaces: Namespaces,
    /// `selectors`.
    #[serde(default)]
    pub selectors: Vec<Selector>,
    /// `attach_metadata`.
    #[serde(default)]
    pub attach_metadata: AttachMetadata,

    /// `basic_auth`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// `bearer_token`.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// `bearer_token_file`.
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
    /// `follow_redirects`.
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    /// `enable_http2`.
    #[serde(default = "default_true")]
    pub enable_http2: bool,
    /// `http_headers`.
    #[serde(default)]
    pub http_headers: BTreeMap<String, serde_yaml::Value>,
}

impl KubernetesSdConfig {
    /// The inline HTTP client fields as one [`HttpClientConfig`].
    pub fn http_client_config(&self) -> HttpClientConfig {
        HttpClientConfig {
            basic_auth: self.basic_auth.clone(),
            authorization: self.authorization.clone(),
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
