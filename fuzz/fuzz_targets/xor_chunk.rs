#![no_main]
//! Fuzz target `xor_chunk`: feeds arbitrary bytes to `tidemark_engine::chunkenc::fuzz_xor_chunk`, which must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_engine::chunkenc::fuzz_xor_chunk(data));
