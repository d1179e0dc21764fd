#![no_main]
//! Fuzz target `tombstones`: feeds arbitrary bytes to `tidemark_engine::tombstones::fuzz_tombstones`, which must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_engine::tombstones::fuzz_tombstones(data));
