#![no_main]
//! Fuzz target `chunk_segment`: feeds arbitrary bytes to `tidemark_engine::chunks::fuzz_chunk_segment`, which must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_engine::chunks::fuzz_chunk_segment(data));
