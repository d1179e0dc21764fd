#![no_main]
//! Fuzz target `wal_segment`: feeds arbitrary bytes to `tidemark_engine::wal::fuzz_wal_segment`, which must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_engine::wal::fuzz_wal_segment(data));
