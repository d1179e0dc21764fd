//! Prometheus's configuration file, `prometheus.yml`.

pub mod http;
