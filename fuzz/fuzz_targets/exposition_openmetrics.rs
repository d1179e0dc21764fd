#![no_main]
//! Fuzz target `exposition_openmetrics`: feeds arbitrary bytes as a scraped body to
//! `tidemark_ingest::exposition::fuzz_openmetrics`, which parses every entry, materialises every
//! sample's labels and checks that each sample survives a round trip through the text format.
//! It must never panic or hang.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_ingest::exposition::fuzz_openmetrics(data));
