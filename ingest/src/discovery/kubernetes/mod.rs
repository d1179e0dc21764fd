//! Kubernetes service discovery (`kubernetes_sd_configs`).
//!
//! In data order:
//! - [`config`](KubernetesSdConfig): the YAML entry and its validation (Prometheus's messages);
//!   `selector` checks label and field selectors.
//! - `client`: a `kube::Client` for in-cluster, `api_server` or `kubeconfig_file` connections,
//!   with credentials files re-read on every request.
//! - `translate`: pure functions from Kubernetes objects to [`TargetGroup`]s, one per role,
//!   with exactly Prometheus's `__meta_kubernetes_*` labels.
//! - `discoverer`: list+watch streams (kube's watcher with the default backoff), the object
//!   caches the join roles need, and the emission of changed groups.
//!
//! [`TargetGroup`]: crate::discovery::TargetGroup

mod client;
mod config;
mod discoverer;
mod selector;
pub mod translate;

pub use client::{ClientError, SERVICE_ACCOUNT_DIR_ENV};
pub use config::{AttachMetadata, ConfigError, KubernetesSdConfig, Namespaces, Role, Selector};
pub use discoverer::{run, KubernetesDiscoverer};
pub use selector::SelectorError;
