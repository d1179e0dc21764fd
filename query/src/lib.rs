//! PromQL for Tidemark: parsing, planning and evaluation of instant and range queries over the
//! engine's querier traits. (Not built yet: this crate is a placeholder until the PromQL issue.)
