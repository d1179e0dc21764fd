//! The XOR chunk codec for float samples (`(timestamp_ms: i64, value: f64)`).
//!
//! Owns the encoding of one chunk's samples into bytes ([`XorChunk`]) and back
//! ([`XorIter`]); chunk files, the head and blocks store these bytes next to the
//! [`ENCODING_XOR`] byte. The format, specified bit by bit in
//! `engine/docs/format/chunk-xor.md`, keeps Gorilla's structure (timestamp delta residuals,
//! XOR'd floats) and adds adaptive Rice codes for residuals, an exact scaled-integer path
//! for values that are integers, binary fractions or short decimals, and run lengths for
//! repeated samples.
//!
//! Invariants:
//! - Every f64 bit pattern and every strictly increasing i64 timestamp sequence round-trips
//!   bit-exactly (NaN payloads such as the stale marker, ±Inf, -0.0, subnormals).
//! - [`XorChunk::bytes`] is a complete encoding after every append.
//! - Decoding never panics, never allocates from a length field and never loops forever;
//!   corrupt bytes end iteration with [`SampleIterator::err`] set, with the byte offset.
//! - Decoded timestamps are strictly increasing, even for corrupt input.

mod bstream;
mod xor;

use crate::error::DecodeError;
use crate::iter::SampleIterator;

pub use xor::{XorChunk, XorIter, MAX_SAMPLES};

/// Encoding byte stored next to a chunk in chunk files.
pub const ENCODING_XOR: u8 = 1;

/// Number of samples stated in an encoded chunk's header, if readable.
pub fn num_samples_in(bytes: &[u8]) -> Result<usize, DecodeError> {
    match bytes.get(0..2) {
        Some(b) => Ok(usize::from(u16::from_le_bytes([b[0], b[1]]))),
        None => Err(DecodeError::new(0, "chunk shorter than its 2-byte header")),
    }
}

/// Decodes all samples of an encoded chunk, or the first error.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<(i64, f64)>, DecodeError> {
    let n = num_samples_in(bytes)?;
    let mut out = Vec::with_capacity(n.min(bytes.len() * 8 + 1));
    let mut it = XorIter::new(bytes);
    while it.next() {
        out.push(it.at());
    }
    match it.err() {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Fuzz entry point: decodes arbitrary bytes fully and must not panic. When they decode,
/// re-encoding the samples and decoding again gives the same samples (bit-exact), seeking
/// agrees with linear iteration, and [`XorChunk::from_bytes`] accepts them.
pub fn fuzz_xor_chunk(data: &[u8]) {
    let _ = num_samples_in(data);
    let decoded = decode_all(data);
    // Seeking must not panic either, corrupt or not.
    let mut it = XorIter::new(data);
    let target = data.first().map_or(0, |&b| i64::from(b) * 1000);
    let _ = it.seek(target);
    let _ = it.next();
    let Ok(samples) = decoded else {
        assert!(
            XorChunk::from_bytes(data).is_err(),
            "from_bytes accepted undecodable bytes"
        );
        return;
    };
    assert_eq!(samples.len(), num_samples_in(data).unwrap_or(usize::MAX));
    for w in samples.windows(2) {
        assert!(w[0].0 < w[1].0, "decoded timestamps do not increase");
    }
    let mut c = XorChunk::new();
    for &(t, v) in &samples {
        c.append(t, v);
    }
    let again = decode_all(c.bytes()).expect("re-encoded chunk does not decode");
    assert!(
        same_samples(&samples, &again),
        "re-encoded chunk decodes to different samples"
    );
    let rebuilt = XorChunk::from_bytes(data).expect("from_bytes rejected a decodable chunk");
    assert_eq!(
        rebuilt.bytes(),
        c.bytes(),
        "from_bytes differs from appending the samples"
    );
    for &(t, _) in samples.iter().step_by(7) {
        let mut it = XorIter::new(data);
        assert!(it.seek(t), "seek to a present timestamp failed");
        let (got_t, _) = it.at();
        assert_eq!(got_t, t, "seek landed on the wrong sample");
    }
}

/// True if both sample lists are equal with values compared bit for bit.
fn same_samples(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
}

#[cfg(test)]
mod tests;
