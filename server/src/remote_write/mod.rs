//! The Prometheus remote-write 1.0 receiver's wire format: decoding a request body into
//! series and samples ([`decode`]), and appending them to the database ([`append`]).
//!
//! # On the wire
//!
//! A request is `POST /api/v1/write` with `Content-Encoding: snappy` and
//! `Content-Type: application/x-protobuf`. The body is:
//!
//! 1. Snappy **block** ("raw") compression — not the framed stream format. The block starts
//!    with the uncompressed length as a little-endian base-128 varint, followed by literal and
//!    copy elements. We read the declared length first and refuse bodies that would expand past
//!    [`MAX_DECODED_BYTES`] before allocating anything.
//! 2. Inside, one protobuf `prometheus.WriteRequest` (proto3, `prompb/remote.proto`):
//!
//! ```text
//! WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//! TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
//!                repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//! Label        { string name = 1; string value = 2; }
//! Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: Unix milliseconds
//! ```
//!
//! Fields we do not store (metadata, exemplars, native histograms) are skipped by their wire
//! type, as protobuf requires for unknown fields. Values are IEEE-754 doubles carried bit-exact
//! (fixed64), so stale markers survive. Label sets are sorted by name on arrival; labels with an
//! empty value are dropped (an empty value means "absent" in Prometheus).
//!
//! [`decode`] never panics, whatever the input.

pub mod append;
mod proto;

pub use append::{append, AppendOutcome, RemoteWriteCounters};
pub use proto::{Label, Sample, TimeSeries, WriteRequest};

use prost::Message;

/// Largest decompressed request accepted (Prometheus's senders cap batches far below this).
pub const MAX_DECODED_BYTES: usize = 256 << 20;

/// Why a request body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not valid snappy block-format data.
    #[error("snappy decode: {0}")]
    Snappy(String),
    /// The declared decompressed length is larger than [`MAX_DECODED_BYTES`].
    #[error("snappy decode: decompressed length {len} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The declared length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The decompressed bytes are not a valid `WriteRequest`.
    #[error("protobuf decode: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Decodes a snappy-compressed protobuf `WriteRequest`.
pub fn decode(body: &[u8]) -> Result<WriteRequest, DecodeError> {
    let len = snap::raw::decompress_len(body).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if len > MAX_DECODED_BYTES {
        return Err(DecodeError::TooLarge {
            len,
            limit: MAX_DECODED_BYTES,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

/// The fuzz target's body: decode arbitrary bytes, both as a compressed body and as an
/// already-decompressed protobuf message; whatever decodes must turn into label sets (or a
/// named error) and survive a re-encode with the same labels and timestamps.
pub fn fuzz_decode(data: &[u8]) {
    let check = |req: &WriteRequest| {
        for ts in &req.timeseries {
            let _ = ts.label_set();
        }
        let again = WriteRequest::decode(req.encode_to_vec().as_slice())
            .expect("a decoded request re-encodes to a decodable one");
        assert_eq!(again.timeseries.len(), req.timeseries.len());
        for (a, b) in again.timeseries.iter().zip(&req.timeseries) {
            assert_eq!(a.labels, b.labels);
            let times = |t: &TimeSeries| t.samples.iter().map(|s| s.timestamp).collect::<Vec<_>>();
            assert_eq!(times(a), times(b));
        }
    };
    if let Ok(req) = decode(data) {
        check(&req);
    }
    if let Ok(req) = WriteRequest::decode(data) {
        check(&req);
    }
}

/// Builders for tests of the receiver.
#[cfg(test)]
pub(crate) mod test_support {
    use prost::Message;

    use super::{Label, Sample, TimeSeries, WriteRequest};

    /// A request body as a client sends it: snappy-compressed protobuf.
    pub(crate) fn body(req: &WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .expect("snappy compresses any input")
    }

    /// A series from label pairs and (timestamp, value) samples.
    pub(crate) fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{body, series};
    use super::*;

    #[test]
    fn round_trip_keeps_values_bit_exact() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let req = WriteRequest {
            timeseries: vec![series(
                &[("job", "a"), ("__name__", "up")],
                &[(1, 1.5), (2, stale), (3, f64::INFINITY)],
            )],
        };
        let got = decode(&body(&req)).unwrap();
        assert_eq!(got.timeseries[0].labels, req.timeseries[0].labels);
        let bits = |r: &WriteRequest| -> Vec<(i64, u64)> {
            r.timeseries[0]
                .samples
                .iter()
                .map(|s| (s.timestamp, s.value.to_bits()))
                .collect()
        };
        assert_eq!(bits(&got), bits(&req));
        let ls = got.timeseries[0].label_set().unwrap();
        assert_eq!(ls.metric_name(), Some("up"));
        assert_eq!(ls.get("job"), Some("a"));
    }

    #[test]
    fn unknown_fields_are_skipped() {
        // WriteRequest with a metadata entry (field 3) and a series with an exemplar (field 3).
        let mut raw = Vec::new();
        // field 3, wire type 2, length 2: a MetricMetadata with type=1 (field 1 varint).
        raw.extend_from_slice(&[0x1a, 0x02, 0x08, 0x01]);
        let ts = series(&[("__name__", "x")], &[(5, 1.0)]);
        let mut ts_bytes = ts.encode_to_vec();
        // exemplar: field 3, wire type 2, empty.
        ts_bytes.extend_from_slice(&[0x1a, 0x00]);
        raw.push(0x0a);
        raw.push(ts_bytes.len() as u8);
        raw.extend_from_slice(&ts_bytes);
        let req = WriteRequest::decode(raw.as_slice()).unwrap();
        assert_eq!(req.timeseries, vec![ts]);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(matches!(
            decode(b"\xff\xff\xff"),
            Err(DecodeError::Snappy(_))
        ));
        let not_proto = snap::raw::Encoder::new()
            .compress_vec(b"\x0a\xff\x01")
            .unwrap();
        assert!(matches!(decode(&not_proto), Err(DecodeError::Protobuf(_))));
        // Declares 2^31 bytes of output: refused before allocation.
        assert!(matches!(
            decode(&[0x80, 0x80, 0x80, 0x80, 0x08, 0x00]),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn label_sets_are_sorted_and_validated() {
        let ts = series(&[("b", "2"), ("a", "1"), ("c", "")], &[]);
        let ls = ts.label_set().unwrap();
        assert_eq!(ls.len(), 2);
        assert!(series(&[("", "x")], &[]).label_set().is_err());
        assert!(series(&[("a", "1"), ("a", "2")], &[]).label_set().is_err());
        assert!(series(&[], &[]).label_set().is_err());
    }

    #[test]
    fn seed_corpus_decodes_as_described() {
        let two = include_bytes!("../../../fuzz/corpus/remote_write/two_series");
        let req = decode(two).unwrap();
        assert_eq!(req.timeseries.len(), 2);
        assert_eq!(req.timeseries[0].samples.len(), 2);
        let stale = include_bytes!("../../../fuzz/corpus/remote_write/stale_marker");
        let req = decode(stale).unwrap();
        assert_eq!(
            req.timeseries[0].samples[0].value.to_bits(),
            0x7ff0_0000_0000_0002
        );
        let huge = include_bytes!("../../../fuzz/corpus/remote_write/huge_declared_length");
        assert!(matches!(decode(huge), Err(DecodeError::TooLarge { .. })));
        let dup = include_bytes!("../../../fuzz/corpus/remote_write/unsorted_dup_labels");
        assert!(decode(dup).unwrap().timeseries[0].label_set().is_err());
    }

    #[test]
    fn fuzz_target_survives_garbage() {
        for data in [
            &b""[..],
            b"\x00",
            b"\x0a\x05\x0a\x03\x0a\x01",
            b"\xfe\xff\xff\xff\x0f",
        ] {
            fuzz_decode(data);
        }
    }
}
