//! Helpers shared by Tidemark's end-to-end tests (the tests themselves live in `tests/tests/`)
//! and by the fuzz targets.

pub mod kube_api;
pub mod model;
pub mod peers;
pub mod prom;
pub mod promql_fuzz;
pub mod sd_stub;
