//! Ingest for Tidemark: Prometheus configuration, service discovery (static, file, Kubernetes),
//! relabeling, scrape loops, exposition parsers, remote-write decoding and backfill.
//! (Not built yet: this crate is a placeholder until the scrape-ingest issue.)
