#![no_main]
//! Fuzz target `relabel`: arbitrary bytes as a YAML list of relabel rules, `---`, then
//! `name=value` lines; parses the rules (must never panic) and applies valid ones to the labels
//! with both label stores, which must agree (`tidemark_ingest::relabel::fuzz_relabel`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_ingest::relabel::fuzz_relabel(data));
