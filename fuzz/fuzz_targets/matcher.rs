#![no_main]
//! Fuzz target `matcher`: feeds arbitrary bytes to `tidemark_engine::matcher::fuzz_matcher`
//! (a regex pattern, then values), which compares the matcher's fast paths with the regex
//! engine and must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_engine::matcher::fuzz_matcher(data));
