#![no_main]
//! Fuzz target `engine_model`: feeds arbitrary bytes to `tidemark_tests::model::fuzz_engine_model`, which must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_tests::model::fuzz_engine_model(data));
