#![no_main]
//! Fuzz target `remote_write`: feeds arbitrary bytes to
//! `tidemark_server::remote_write::fuzz_decode`, which decodes them as a snappy-compressed
//! remote-write body and as a bare protobuf `WriteRequest`, builds every series' label set and
//! checks that a decoded request re-encodes to the same labels and timestamps. It must never
//! panic, hang, or allocate more than the declared-length limit allows.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tidemark_server::remote_write::fuzz_decode(data));
