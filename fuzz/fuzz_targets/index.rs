#![no_main]
//! Fuzz target `index`: feeds arbitrary bytes to `tidemark_engine::index::fuzz_index`, which must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_engine::index::fuzz_index(data));
