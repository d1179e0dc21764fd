#![no_main]
//! Fuzz target `meta`: feeds arbitrary bytes to `tidemark_engine::meta::fuzz_meta`, which must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_engine::meta::fuzz_meta(data));
