//! Typed WAL records: what the bytes inside one WAL frame mean.
//!
//! This module owns the payload formats of the three record kinds (series, samples,
//! tombstones), keyed by the record's first byte ([`RecordType`]). It is pure: functions over
//! byte slices, no files. The framing around a payload (length, CRC, segments) lives in
//! [`super::segment`] and knows nothing about these types.
//!
//! What must stay true:
//! - `decode_x(encode_x(v)) == v` for every value, bit-exact for sample values (NaN payloads,
//!   -0.0, infinities) and for the full `u64` / `i64` ranges of refs and timestamps.
//! - Decoding never panics, never loops beyond the bytes it was given, and never reserves
//!   memory from a count it has not checked against the bytes that remain (each entry has a
//!   known minimum size, so `count * min_size <= remaining` bounds every reservation).
//! - A decoder appends to its output vector only on success: on error the vector is left as it
//!   was, so a caller reusing one vector across records never sees half a record.
//! - Layouts are specified byte by byte in `engine/docs/format/wal.md`.

use crate::encoding::{Decbuf, Encbuf};
use crate::error::DecodeError;
use crate::labels::Labels;

/// The kind of a WAL record, stored in its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// New series and the refs the head gave them ([`RefSeries`]), type byte 1.
    Series,
    /// Samples of series logged earlier ([`RefSample`]), type byte 2.
    Samples,
    /// Deleted time ranges of series ([`RefTombstone`]), type byte 3.
    Tombstones,
}

impl RecordType {
    /// The type byte written at the start of a record of this kind.
    pub const fn byte(self) -> u8 {
        match self {
            RecordType::Series => 1,
            RecordType::Samples => 2,
            RecordType::Tombstones => 3,
        }
    }

    /// The record kind for a type byte, `None` if the byte is not a known kind. Byte 0 is never
    /// valid, so zero-filled bytes are not mistaken for a record.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(RecordType::Series),
            2 => Some(RecordType::Samples),
            3 => Some(RecordType::Tombstones),
            _ => None,
        }
    }
}

/// A new series: the ref the head assigned and its label set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefSeries {
    /// The series ref, unique within the head.
    pub r: u64,
    /// The series' labels; decoding rejects empty and invalid label sets.
    pub labels: Labels,
}

/// One sample of the series with ref `r`.
///
/// Equality compares the value's bits, so NaN samples with the same payload are equal and
/// `0.0 != -0.0`: this is what "the WAL round-trips samples exactly" means.
#[derive(Debug, Clone, Copy)]
pub struct RefSample {
    /// The series ref.
    pub r: u64,
    /// Timestamp in milliseconds since the Unix epoch.
    pub t: i64,
    /// The value, stored as its raw bits.
    pub v: f64,
}

impl PartialEq for RefSample {
    fn eq(&self, other: &Self) -> bool {
        self.r == other.r && self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}
impl Eq for RefSample {}

/// A deleted time range `[mint, maxt]` (both inclusive) of the series with ref `r`.
///
/// `mint > maxt` is carried as is (it deletes nothing); the codec does not judge intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefTombstone {
    /// The series ref.
    pub r: u64,
    /// First deleted timestamp (inclusive).
    pub mint: i64,
    /// Last deleted timestamp (inclusive).
    pub maxt: i64,
}

/// Smallest encoding of one series entry: ref (1 byte), label count (1 byte), and one label
/// whose name and value are each at least one byte with a one-byte length.
const MIN_SERIES_ENTRY: usize = 6;
/// Smallest encoding of one label: two one-byte lengths and two one-byte strings.
const MIN_LABEL: usize = 4;
/// Smallest encoding of one sample: two one-byte varints and the 8 value bytes.
const MIN_SAMPLE_ENTRY: usize = 10;
/// Smallest encoding of one tombstone: three one-byte varints.
const MIN_TOMBSTONE_ENTRY: usize = 3;

/// The kind of a record from its first byte. Fails on an empty record or an unknown type byte.
pub fn record_type(rec: &[u8]) -> Result<RecordType, DecodeError> {
    let Some(&b) = rec.first() else {
        return Err(DecodeError::new(0, "empty WAL record"));
    };
    RecordType::from_byte(b)
        .ok_or_else(|| DecodeError::new(0, format!("unknown WAL record type byte {b}")))
}

/// Runs `f` with an [`Encbuf`] that appends to `buf`.
fn with_encbuf(buf: &mut Vec<u8>, f: impl FnOnce(&mut Encbuf)) {
    let mut e = Encbuf {
        buf: std::mem::take(buf),
    };
    f(&mut e);
    *buf = e.buf;
}

/// Appends a series record holding `series` to `buf`.
pub fn encode_series(series: &[RefSeries], buf: &mut Vec<u8>) {
    with_encbuf(buf, |e| {
        e.put_u8(RecordType::Series.byte());
        e.put_uvarint(series.len() as u64);
        for s in series {
            e.put_uvarint(s.r);
            e.put_uvarint(s.labels.len() as u64);
            for l in s.labels.iter() {
                e.put_uvarint_str(l.name);
                e.put_uvarint_str(l.value);
            }
        }
    });
}

/// Appends a samples record holding `samples` to `buf`.
///
/// The first sample's ref and timestamp are the record's base; every sample (the first
/// included) stores zig-zag varint deltas from that base, computed with wrapping arithmetic so
/// any `u64` ref and `i64` timestamp round-trip, followed by the value's 8 raw bytes.
pub fn encode_samples(samples: &[RefSample], buf: &mut Vec<u8>) {
    encode_samples_iter(samples.iter().copied(), buf);
}

/// [`encode_samples`] for samples produced on the fly (the appender encodes its buffered
/// samples without copying them into a slice first).
pub fn encode_samples_iter(samples: impl ExactSizeIterator<Item = RefSample>, buf: &mut Vec<u8>) {
    with_encbuf(buf, |e| {
        e.buf.reserve(1 + 10 + 16 + samples.len() * 12);
        e.put_u8(RecordType::Samples.byte());
        e.put_uvarint(samples.len() as u64);
        let mut samples = samples.peekable();
        let Some(&first) = samples.peek() else { return };
        e.put_u64(first.r);
        e.put_i64(first.t);
        for s in samples {
            e.put_varint(s.r.wrapping_sub(first.r) as i64);
            e.put_varint(s.t.wrapping_sub(first.t));
            e.put_f64(s.v);
        }
    });
}

/// Appends a tombstones record holding `tombstones` to `buf`.
pub fn encode_tombstones(tombstones: &[RefTombstone], buf: &mut Vec<u8>) {
    with_encbuf(buf, |e| {
        e.put_u8(RecordType::Tombstones.byte());
        e.put_uvarint(tombstones.len() as u64);
        for t in tombstones {
            e.put_uvarint(t.r);
            e.put_varint(t.mint);
            e.put_varint(t.maxt);
        }
    });
}

/// Decodes a series record, appending its entries to `out` (nothing is appended on error).
pub fn decode_series(rec: &[u8], out: &mut Vec<RefSeries>) -> Result<(), DecodeError> {
    append_or_restore(out, |out| decode_series_into(rec, out))
}

/// Decodes a samples record, appending its samples to `out` (nothing is appended on error).
pub fn decode_samples(rec: &[u8], out: &mut Vec<RefSample>) -> Result<(), DecodeError> {
    append_or_restore(out, |out| decode_samples_into(rec, out))
}

/// Decodes a tombstones record, appending its entries to `out` (nothing is appended on error).
pub fn decode_tombstones(rec: &[u8], out: &mut Vec<RefTombstone>) -> Result<(), DecodeError> {
    append_or_restore(out, |out| decode_tombstones_into(rec, out))
}

fn append_or_restore<T>(
    out: &mut Vec<T>,
    f: impl FnOnce(&mut Vec<T>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let before = out.len();
    let res = f(out);
    if res.is_err() {
        out.truncate(before);
    }
    res
}

/// Reads the type byte and checks it is `want`.
fn expect_type(d: &mut Decbuf<'_>, want: RecordType) -> Result<(), DecodeError> {
    let b = d.get_u8()?;
    if b != want.byte() {
        return Err(DecodeError::new(
            0,
            format!("record type byte {b} is not {want:?} ({})", want.byte()),
        ));
    }
    Ok(())
}

/// Reads an entry count and checks that `count * min_entry` bytes remain, so the count can
/// safely size a reservation.
fn get_count(d: &mut Decbuf<'_>, min_entry: usize, what: &str) -> Result<usize, DecodeError> {
    let at = d.offset() as u64;
    let n = d.get_uvarint()?;
    let max = (d.remaining() / min_entry) as u64;
    if n > max {
        return Err(DecodeError::new(
            at,
            format!(
                "{what} count {n} cannot fit in the {} bytes left",
                d.remaining()
            ),
        ));
    }
    Ok(n as usize)
}

fn expect_end(d: &Decbuf<'_>) -> Result<(), DecodeError> {
    if !d.is_empty() {
        return Err(DecodeError::new(
            d.offset() as u64,
            format!("{} trailing bytes after the last entry", d.remaining()),
        ));
    }
    Ok(())
}

fn decode_series_into(rec: &[u8], out: &mut Vec<RefSeries>) -> Result<(), DecodeError> {
    let mut d = Decbuf::new(rec);
    expect_type(&mut d, RecordType::Series)?;
    let count = get_count(&mut d, MIN_SERIES_ENTRY, "series")?;
    out.reserve(count);
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for _ in 0..count {
        let at = d.offset() as u64;
        let r = d.get_uvarint()?;
        let n = get_count(&mut d, MIN_LABEL, "label")?;
        if n == 0 {
            return Err(DecodeError::new(at, format!("series {r} has no labels")));
        }
        pairs.clear();
        for _ in 0..n {
            let name = d.get_uvarint_str()?;
            let value = d.get_uvarint_str()?;
            pairs.push((name, value));
        }
        let labels = Labels::from_sorted(pairs.iter().copied())
            .map_err(|why| DecodeError::new(at, format!("series {r}: {why}")))?;
        out.push(RefSeries { r, labels });
    }
    expect_end(&d)
}

/// Reads a zig-zag varint at `*pos`. One-byte values (the common case for deltas inside a
/// batch) take a fast path; longer ones go through [`Decbuf`]'s checked reader.
#[inline(always)]
fn varint_at(b: &[u8], pos: &mut usize) -> Result<i64, DecodeError> {
    let u = match b.get(*pos) {
        Some(&x) if x < 0x80 => {
            *pos += 1;
            u64::from(x)
        }
        _ => {
            let rest = b.get(*pos..).unwrap_or(&[]);
            let mut d = Decbuf::new(rest);
            let u = d
                .get_uvarint()
                .map_err(|e| DecodeError::new(*pos as u64, e.what))?;
            *pos += d.offset();
            u
        }
    };
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
}

fn decode_samples_into(rec: &[u8], out: &mut Vec<RefSample>) -> Result<(), DecodeError> {
    let mut d = Decbuf::new(rec);
    expect_type(&mut d, RecordType::Samples)?;
    let at = d.offset() as u64;
    let n = d.get_uvarint()?;
    if n == 0 {
        return expect_end(&d);
    }
    let base_r = d.get_u64()?;
    let base_t = d.get_i64()?;
    if n > (d.remaining() / MIN_SAMPLE_ENTRY) as u64 {
        return Err(DecodeError::new(
            at,
            format!(
                "sample count {n} cannot fit in the {} bytes left",
                d.remaining()
            ),
        ));
    }
    let n = n as usize;
    out.reserve(n);
    // Work on the rest of the record with a plain index: this loop is WAL replay's hot path.
    let base = d.offset();
    let b = d.rest();
    let mut pos = 0usize;
    for _ in 0..n {
        let dr = varint_at(b, &mut pos).map_err(|e| shift(e, base))?;
        let dt = varint_at(b, &mut pos).map_err(|e| shift(e, base))?;
        let Some(v) = b.get(pos..pos + 8) else {
            return Err(DecodeError::new(
                (base + pos) as u64,
                format!(
                    "sample value needs 8 bytes, {} left",
                    b.len().saturating_sub(pos)
                ),
            ));
        };
        let mut raw = [0u8; 8];
        raw.copy_from_slice(v);
        pos += 8;
        out.push(RefSample {
            r: base_r.wrapping_add(dr as u64),
            t: base_t.wrapping_add(dt),
            v: f64::from_bits(u64::from_le_bytes(raw)),
        });
    }
    if pos != b.len() {
        return Err(DecodeError::new(
            (base + pos) as u64,
            format!("{} trailing bytes after the last sample", b.len() - pos),
        ));
    }
    Ok(())
}

fn shift(e: DecodeError, base: usize) -> DecodeError {
    DecodeError::new(e.offset + base as u64, e.what)
}

fn decode_tombstones_into(rec: &[u8], out: &mut Vec<RefTombstone>) -> Result<(), DecodeError> {
    let mut d = Decbuf::new(rec);
    expect_type(&mut d, RecordType::Tombstones)?;
    let count = get_count(&mut d, MIN_TOMBSTONE_ENTRY, "tombstone")?;
    out.reserve(count);
    for _ in 0..count {
        let r = d.get_uvarint()?;
        let mint = d.get_varint()?;
        let maxt = d.get_varint()?;
        out.push(RefTombstone { r, mint, maxt });
    }
    expect_end(&d)
}

/// Feeds arbitrary bytes through every record decoder. Never panics unless a decoded value
/// fails to round-trip through its encoder (which would be a codec bug).
pub fn fuzz_wal_record(data: &[u8]) {
    let _ = record_type(data);

    let mut series = Vec::new();
    if decode_series(data, &mut series).is_ok() {
        let mut buf = Vec::new();
        encode_series(&series, &mut buf);
        let mut again = Vec::new();
        assert_eq!(decode_series(&buf, &mut again), Ok(()));
        assert_eq!(again, series);
    }

    let mut samples = Vec::new();
    if decode_samples(data, &mut samples).is_ok() {
        let mut buf = Vec::new();
        encode_samples(&samples, &mut buf);
        let mut again = Vec::new();
        assert_eq!(decode_samples(&buf, &mut again), Ok(()));
        assert_eq!(again, samples);
    }

    let mut tombstones = Vec::new();
    if decode_tombstones(data, &mut tombstones).is_ok() {
        let mut buf = Vec::new();
        encode_tombstones(&tombstones, &mut buf);
        let mut again = Vec::new();
        assert_eq!(decode_tombstones(&buf, &mut again), Ok(()));
        assert_eq!(again, tombstones);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;
    use proptest::prelude::*;

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            Just(f64::NAN),
            Just(f64::from_bits(0x7ff0_0000_0000_0001)), // signalling NaN
            Just(f64::from_bits(0xfff8_dead_beef_0001)), // negative NaN with a payload
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(0.0),
            Just(f64::MIN_POSITIVE / 2.0), // subnormal
        ]
    }

    fn any_sample() -> impl Strategy<Value = RefSample> {
        let r = prop_oneof![any::<u64>(), 0u64..1000, Just(u64::MAX), Just(0)];
        let t = prop_oneof![
            any::<i64>(),
            1_600_000_000_000i64..1_700_000_000_000,
            Just(i64::MIN),
            Just(i64::MAX)
        ];
        (r, t, any_f64()).prop_map(|(r, t, v)| RefSample { r, t, v })
    }

    fn any_labels() -> impl Strategy<Value = Labels> {
        proptest::collection::vec(("[a-z_]{1,8}", "[a-zA-Z0-9\u{e9}\u{1F600} ]{1,12}"), 1..6)
            .prop_map(|p| Labels::from_pairs(p).expect("non-empty names"))
    }

    fn any_series() -> impl Strategy<Value = RefSeries> {
        (any::<u64>(), any_labels()).prop_map(|(r, labels)| RefSeries { r, labels })
    }

    fn any_tombstone() -> impl Strategy<Value = RefTombstone> {
        (any::<u64>(), any::<i64>(), any::<i64>()).prop_map(|(r, mint, maxt)| RefTombstone {
            r,
            mint,
            maxt,
        })
    }

    proptest! {
        #[test]
        fn series_round_trip(v in proptest::collection::vec(any_series(), 0..20)) {
            let mut buf = vec![0xAA]; // encoders append: keep a prefix byte to prove it
            encode_series(&v, &mut buf);
            prop_assert_eq!(buf[0], 0xAA);
            prop_assert_eq!(record_type(&buf[1..]).unwrap(), RecordType::Series);
            let mut out = vec![RefSeries { r: 7, labels: labels!("x" => "y") }];
            decode_series(&buf[1..], &mut out).unwrap();
            prop_assert_eq!(&out[1..], &v[..]);
        }

        #[test]
        fn samples_round_trip(v in proptest::collection::vec(any_sample(), 0..200)) {
            let mut buf = Vec::new();
            encode_samples(&v, &mut buf);
            prop_assert_eq!(record_type(&buf).unwrap(), RecordType::Samples);
            let mut out = Vec::new();
            decode_samples(&buf, &mut out).unwrap();
            prop_assert_eq!(out, v);
        }

        #[test]
        fn tombstones_round_trip(v in proptest::collection::vec(any_tombstone(), 0..50)) {
            let mut buf = Vec::new();
            encode_tombstones(&v, &mut buf);
            prop_assert_eq!(record_type(&buf).unwrap(), RecordType::Tombstones);
            let mut out = Vec::new();
            decode_tombstones(&buf, &mut out).unwrap();
            prop_assert_eq!(out, v);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            fuzz_wal_record(&data);
            // Again with each valid type byte in front, so the decoders get past the first check.
            for ty in 1u8..=3 {
                let mut d = vec![ty];
                d.extend_from_slice(&data);
                fuzz_wal_record(&d);
            }
        }

        #[test]
        fn mutated_records_never_panic(
            series in proptest::collection::vec(any_series(), 1..4),
            samples in proptest::collection::vec(any_sample(), 1..20),
            tombs in proptest::collection::vec(any_tombstone(), 1..4),
            which in 0usize..3,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut buf = Vec::new();
            match which {
                0 => encode_series(&series, &mut buf),
                1 => encode_samples(&samples, &mut buf),
                _ => encode_tombstones(&tombs, &mut buf),
            }
            let mut m = buf.clone();
            for (i, x) in &flips {
                let i = i.index(m.len());
                m[i] ^= x;
            }
            fuzz_wal_record(&m);
            // Every truncation of a valid record fails cleanly (records have no optional tail).
            let c = cut.index(buf.len());
            fuzz_wal_record(&buf[..c]);
            let mut a = Vec::new();
            let mut b = Vec::new();
            let mut t = Vec::new();
            let ok = decode_series(&buf[..c], &mut a).is_ok()
                || decode_samples(&buf[..c], &mut b).is_ok()
                || decode_tombstones(&buf[..c], &mut t).is_ok();
            prop_assert!(!ok, "a truncated record decoded");
            prop_assert!(a.is_empty() && b.is_empty() && t.is_empty());
        }
    }

    #[test]
    fn nan_payloads_and_extremes_are_bit_exact() {
        let v = vec![
            RefSample {
                r: u64::MAX,
                t: i64::MIN,
                v: f64::from_bits(0x7ff0_0000_0000_0001),
            },
            RefSample {
                r: 0,
                t: i64::MAX,
                v: f64::from_bits(0xfff8_0000_0000_beef),
            },
            RefSample {
                r: 1 << 63,
                t: 0,
                v: -0.0,
            },
            RefSample {
                r: 5,
                t: -1,
                v: f64::NEG_INFINITY,
            },
        ];
        let mut buf = Vec::new();
        encode_samples(&v, &mut buf);
        let mut out = Vec::new();
        decode_samples(&buf, &mut out).unwrap();
        for (a, b) in v.iter().zip(&out) {
            assert_eq!(a.v.to_bits(), b.v.to_bits());
            assert_eq!((a.r, a.t), (b.r, b.t));
        }
        let tombs = vec![RefTombstone {
            r: u64::MAX,
            mint: i64::MIN,
            maxt: i64::MAX,
        }];
        let mut buf = Vec::new();
        encode_tombstones(&tombs, &mut buf);
        let mut out = Vec::new();
        decode_tombstones(&buf, &mut out).unwrap();
        assert_eq!(out, tombs);
    }

    #[test]
    fn samples_are_compact() {
        // 1000 samples of consecutive refs at one timestamp: 1 + 2 + 16 + 1000 * (1 + 1 + 8).
        let v: Vec<_> = (0..1000)
            .map(|i| RefSample {
                r: 5000 + i,
                t: 1_700_000_000_000,
                v: i as f64,
            })
            .collect();
        let mut buf = Vec::new();
        encode_samples(&v, &mut buf);
        assert!(buf.len() <= 1 + 2 + 16 + 1000 * 11, "{} bytes", buf.len());
    }

    #[test]
    fn empty_lists_round_trip() {
        let mut buf = Vec::new();
        encode_samples(&[], &mut buf);
        assert_eq!(buf, [2, 0]);
        let mut out = Vec::new();
        decode_samples(&buf, &mut out).unwrap();
        assert!(out.is_empty());
        let mut buf = Vec::new();
        encode_series(&[], &mut buf);
        let mut out = Vec::new();
        decode_series(&buf, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn rejects_bad_records() {
        assert!(record_type(&[]).is_err());
        assert!(record_type(&[0]).is_err());
        assert!(record_type(&[9]).is_err());
        let mut out = Vec::new();
        // Wrong type byte for the decoder.
        assert!(decode_samples(&[1, 0], &mut out).is_err());
        // Trailing garbage.
        assert!(decode_samples(&[2, 0, 0], &mut out).is_err());
        // A huge count with no bytes behind it must fail before reserving anything.
        assert!(decode_samples(&[2, 0xff, 0xff, 0xff, 0xff, 0x0f], &mut out).is_err());
        let mut huge = vec![2, 0xff, 0xff, 0xff, 0xff, 0x0f];
        huge.extend_from_slice(&[0; 16]);
        let e = decode_samples(&huge, &mut out).unwrap_err();
        assert!(e.what.contains("cannot fit"), "{e}");
        assert_eq!(out.capacity(), 0);
        let mut series = Vec::new();
        assert!(decode_series(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f], &mut series).is_err());
        assert_eq!(series.capacity(), 0);
    }

    #[test]
    fn rejects_invalid_label_sets() {
        // Hand-built series records: ref 1, then labels.
        let build = |labels: &[(&str, &str)]| {
            let mut e = Encbuf::new();
            e.put_u8(1);
            e.put_uvarint(1);
            e.put_uvarint(1);
            e.put_uvarint(labels.len() as u64);
            for (n, v) in labels {
                e.put_uvarint_str(n);
                e.put_uvarint_str(v);
            }
            e.buf
        };
        let mut out = Vec::new();
        assert!(decode_series(&build(&[("a", "1"), ("b", "2")]), &mut out).is_ok());
        let mut out = Vec::new();
        for bad in [&[("b", "1"), ("a", "2")][..], &[("a", "1"), ("a", "2")][..]] {
            let e = decode_series(&build(bad), &mut out).unwrap_err();
            assert!(e.what.contains("sorted"), "{e}");
        }
        // Empty names/values cannot even pass the count check (4 bytes per label minimum), or
        // fail label validation.
        assert!(decode_series(&build(&[("a", "")]), &mut out).is_err());
        assert!(decode_series(&build(&[]), &mut out).is_err());
        // Not UTF-8.
        let mut r = build(&[("a", "x")]);
        let last = r.len() - 1;
        r[last] = 0xff;
        assert!(decode_series(&r, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn decoders_leave_output_untouched_on_error() {
        let v: Vec<_> = (0..10)
            .map(|i| RefSample {
                r: i,
                t: i as i64,
                v: 1.0,
            })
            .collect();
        let mut buf = Vec::new();
        encode_samples(&v, &mut buf);
        buf.pop();
        let mut out = vec![RefSample { r: 1, t: 2, v: 3.0 }];
        assert!(decode_samples(&buf, &mut out).is_err());
        assert_eq!(out, vec![RefSample { r: 1, t: 2, v: 3.0 }]);
    }
}
