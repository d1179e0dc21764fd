//! Kubernetes service discovery (`kubernetes_sd_configs`).

mod config;

pub use config::{AttachMetadata, KubernetesSdConfig, Namespaces, Role, Selector};
