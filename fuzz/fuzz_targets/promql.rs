#![no_main]
//! Fuzz target `promql`: parses arbitrary strings as PromQL and evaluates what parses on a
//! small fixed data set (`tidemark_tests::promql_fuzz`); nothing may panic or hang.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_tests::promql_fuzz::fuzz_promql(data));
