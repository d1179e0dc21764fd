//! Tombstones: deleted time ranges per series, and the block's `tombstones` file.
//!
//! This module owns [`Intervals`] (a set of deleted timestamps as merged inclusive ranges),
//! [`Tombstones`] (intervals per series reference) and the `tombstones` file format, specified
//! in `engine/docs/format/tombstones.md`.
//!
//! Invariants that must stay true:
//! - An [`Intervals`] is always sorted by `mint`, with `mint <= maxt` in every interval, and no
//!   two intervals overlap or touch (`[1,5]` and `[6,9]` are stored as `[1,9]`); arithmetic
//!   never overflows, even at `i64::MIN` / `i64::MAX`.
//! - [`Tombstones`] never holds an empty [`Intervals`].
//! - The file is replaced atomically and carries a CRC32; a reader accepts only files that
//!   satisfy the invariants above, anything else is [`Error::Corruption`].

use std::collections::BTreeMap;
use std::path::Path;

use crate::encoding::{check_trailing_crc32, Decbuf, Encbuf};
use crate::error::{DecodeError, Error, Result};
use crate::fs;

/// Magic number at the start of a tombstones file: the bytes `TMTS`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"TMTS");
/// The tombstones format version this code writes and reads.
pub const VERSION: u8 = 1;
/// File name of the tombstones file inside a block directory.
pub const FILE_NAME: &str = "tombstones";

/// Sorted, non-overlapping, merged inclusive intervals `[mint, maxt]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Intervals(Vec<(i64, i64)>);

impl Intervals {
    /// An empty set.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds `[mint, maxt]`, merging it with every interval it overlaps or touches. An empty
    /// range (`mint > maxt`) is ignored.
    pub fn add(&mut self, mint: i64, maxt: i64) {
        if mint > maxt {
            return;
        }
        // i128 so that `maxt + 1` cannot overflow at i64::MAX.
        let (lo, hi) = (i128::from(mint), i128::from(maxt));
        // First interval that ends at or after `mint - 1` (overlaps or touches on the left).
        let first = self.0.partition_point(|&(_, b)| i128::from(b) + 1 < lo);
        // First interval that starts after `maxt + 1` (beyond touching on the right).
        let end = self.0.partition_point(|&(a, _)| i128::from(a) <= hi + 1);
        if first >= end {
            self.0.insert(first, (mint, maxt));
            return;
        }
        let merged = (mint.min(self.0[first].0), maxt.max(self.0[end - 1].1));
        self.0.splice(first..end, std::iter::once(merged));
    }

    /// True if `t` lies in one of the intervals.
    pub fn contains(&self, t: i64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < t);
        self.0.get(i).is_some_and(|&(a, _)| a <= t)
    }

    /// True if every timestamp of `[mint, maxt]` is deleted, i.e. one interval contains the
    /// whole range (intervals are merged, so one suffices). An empty range is covered.
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        if mint > maxt {
            return true;
        }
        let i = self.0.partition_point(|&(_, b)| b < mint);
        self.0.get(i).is_some_and(|&(a, b)| a <= mint && maxt <= b)
    }

    /// True if some interval intersects `[mint, maxt]`.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        if mint > maxt {
            return false;
        }
        let i = self.0.partition_point(|&(_, b)| b < mint);
        self.0.get(i).is_some_and(|&(a, _)| a <= maxt)
    }

    /// The intervals in order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.0.iter().copied()
    }

    /// The intervals in order, as a slice.
    pub fn as_slice(&self) -> &[(i64, i64)] {
        &self.0
    }

    /// Number of intervals.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every interval of `other`.
    pub fn extend(&mut self, other: &Intervals) {
        for (a, b) in other.iter() {
            self.add(a, b);
        }
    }
}

impl FromIterator<(i64, i64)> for Intervals {
    fn from_iter<I: IntoIterator<Item = (i64, i64)>>(iter: I) -> Self {
        let mut s = Intervals::new();
        for (a, b) in iter {
            s.add(a, b);
        }
        s
    }
}

/// Deleted intervals per series reference (`u64`: a block series id or a head series ref).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tombstones {
    by_ref: BTreeMap<u64, Intervals>,
}

impl Tombstones {
    /// No tombstones.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `[mint, maxt]` of series `r` deleted (ignored if `mint > maxt`).
    pub fn add(&mut self, r: u64, mint: i64, maxt: i64) {
        if mint > maxt {
            return;
        }
        self.by_ref.entry(r).or_default().add(mint, maxt);
    }

    /// Adds every interval of `iv` to series `r`.
    pub fn add_intervals(&mut self, r: u64, iv: &Intervals) {
        if iv.is_empty() {
            return;
        }
        self.by_ref.entry(r).or_default().extend(iv);
    }

    /// Adds all of `other`'s tombstones.
    pub fn merge(&mut self, other: &Tombstones) {
        for (r, iv) in other.iter() {
            self.add_intervals(r, iv);
        }
    }

    /// The deleted intervals of series `r`, if any.
    pub fn get(&self, r: u64) -> Option<&Intervals> {
        self.by_ref.get(&r)
    }

    /// Removes and returns the intervals of series `r`.
    pub fn remove(&mut self, r: u64) -> Option<Intervals> {
        self.by_ref.remove(&r)
    }

    /// Series references and their intervals, in increasing reference order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Intervals)> + '_ {
        self.by_ref.iter().map(|(&r, iv)| (r, iv))
    }

    /// Number of series with tombstones.
    pub fn len(&self) -> usize {
        self.by_ref.len()
    }

    /// True if there are no tombstones.
    pub fn is_empty(&self) -> bool {
        self.by_ref.is_empty()
    }

    /// Total number of intervals over all series (what `meta.json` calls `numTombstones`).
    pub fn num_intervals(&self) -> u64 {
        self.by_ref.values().map(|iv| iv.len() as u64).sum()
    }

    /// Encodes the whole file (header, entries, CRC32). See `tombstones.md`.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encbuf::with_capacity(16 + self.by_ref.len() * 8);
        e.put_u32(MAGIC);
        e.put_u8(VERSION);
        e.put_uvarint(self.by_ref.len() as u64);
        let mut prev = 0u64;
        for (i, (&r, iv)) in self.by_ref.iter().enumerate() {
            // Refs are strictly increasing: store the first as is, then gaps minus one.
            e.put_uvarint(if i == 0 { r } else { r - prev - 1 });
            prev = r;
            e.put_uvarint(iv.len() as u64);
            let mut prev_max = 0i64;
            for (j, (a, b)) in iv.iter().enumerate() {
                if j == 0 {
                    e.put_varint(a);
                } else {
                    // Intervals neither overlap nor touch: the gap is at least 2.
                    e.put_uvarint((a.wrapping_sub(prev_max) as u64).wrapping_sub(2));
                }
                e.put_uvarint(b.wrapping_sub(a) as u64);
                prev_max = b;
            }
        }
        e.put_crc32_of(0);
        e.buf
    }

    /// Decodes a whole file as written by [`Tombstones::encode`], checking magic, version,
    /// CRC32 and every invariant.
    pub fn decode(data: &[u8]) -> Result<Tombstones, DecodeError> {
        let mut head = Decbuf::new(data);
        let magic = head.get_u32()?;
        if magic != MAGIC {
            return Err(DecodeError::new(
                0,
                format!("bad tombstones magic {magic:#010x}"),
            ));
        }
        let version = head.get_u8()?;
        if version != VERSION {
            return Err(DecodeError::new(
                4,
                format!("unsupported tombstones version {version}"),
            ));
        }
        let body = check_trailing_crc32(data)?;
        let mut d = Decbuf::new(body);
        d.get_bytes(5)?;
        let at = |d: &Decbuf<'_>| d.offset() as u64;
        // Every entry takes at least 4 bytes (ref, count, start, length).
        let n = d.get_uvarint_len(d.remaining() / 4)?;
        let mut t = Tombstones::new();
        let mut prev: Option<u64> = None;
        for _ in 0..n {
            let pos = at(&d);
            let v = d.get_uvarint()?;
            let r = match prev {
                None => v,
                Some(p) => p
                    .checked_add(v)
                    .and_then(|x| x.checked_add(1))
                    .ok_or_else(|| DecodeError::new(pos, "series ref overflows"))?,
            };
            prev = Some(r);
            let pos = at(&d);
            let k = d.get_uvarint_len(d.remaining() / 2)?;
            if k == 0 {
                return Err(DecodeError::new(pos, "series with no intervals"));
            }
            let mut iv = Vec::with_capacity(k);
            let mut prev_max = 0i64;
            for j in 0..k {
                let pos = at(&d);
                let a = if j == 0 {
                    d.get_varint()?
                } else {
                    let gap = i128::from(d.get_uvarint()?) + 2;
                    i64::try_from(i128::from(prev_max) + gap)
                        .map_err(|_| DecodeError::new(pos, "interval start overflows"))?
                };
                let pos = at(&d);
                let len = d.get_uvarint()?;
                let b = i64::try_from(i128::from(a) + i128::from(len))
                    .map_err(|_| DecodeError::new(pos, "interval end overflows"))?;
                iv.push((a, b));
                prev_max = b;
            }
            t.by_ref.insert(r, Intervals(iv));
        }
        if !d.is_empty() {
            return Err(DecodeError::new(at(&d), "trailing bytes after tombstones"));
        }
        Ok(t)
    }
}

/// Writes `t` to `path`, atomically replacing any previous file.
pub fn write_tombstones(path: &Path, t: &Tombstones) -> Result<()> {
    fs::replace_file_atomic(path, &t.encode())
}

/// Reads the tombstones file at `path`. A missing file means no tombstones; bad bytes are
/// [`Error::Corruption`] naming the file and offset.
pub fn read_tombstones(path: &Path) -> Result<Tombstones> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tombstones::new()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    Tombstones::decode(&data).map_err(|e| e.in_file(path, 0).into())
}

/// Feeds arbitrary bytes to the tombstones decoder; must never panic. Whatever decodes must
/// survive an encode/decode round trip unchanged.
pub fn fuzz_tombstones(data: &[u8]) {
    check_round_trip(data);
    // Again with a fixed-up CRC, so that a fuzzer reaches the entry decoder.
    if data.len() >= 4 {
        let mut v = data.to_vec();
        let n = v.len() - 4;
        let crc = crc32fast::hash(&v[..n]);
        v[n..].copy_from_slice(&crc.to_le_bytes());
        check_round_trip(&v);
    }
}

fn check_round_trip(data: &[u8]) {
    if let Ok(t) = Tombstones::decode(data) {
        let again = Tombstones::decode(&t.encode());
        assert_eq!(
            again.as_ref(),
            Ok(&t),
            "tombstones do not survive a round trip"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn bound() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => -20i64..20,
            1 => Just(i64::MIN),
            1 => Just(i64::MIN + 1),
            1 => Just(i64::MAX),
            1 => Just(i64::MAX - 1),
            1 => any::<i64>(),
        ]
    }

    fn check_invariants(iv: &Intervals) {
        for &(a, b) in iv.as_slice() {
            assert!(a <= b);
        }
        for w in iv.as_slice().windows(2) {
            assert!(i128::from(w[0].1) + 1 < i128::from(w[1].0), "{iv:?}");
        }
    }

    /// Points worth probing for a set of intervals: every bound and its neighbours.
    fn probes(adds: &[(i64, i64)]) -> BTreeSet<i64> {
        let mut p = BTreeSet::from([i64::MIN, i64::MAX, 0]);
        for &(a, b) in adds {
            for x in [a, b] {
                p.insert(x);
                p.insert(x.saturating_sub(1));
                p.insert(x.saturating_add(1));
            }
        }
        p
    }

    /// Naive model: is `t` inside any added (non-empty) range?
    fn model_contains(adds: &[(i64, i64)], t: i64) -> bool {
        adds.iter().any(|&(a, b)| a <= b && a <= t && t <= b)
    }

    proptest! {
        #[test]
        fn intervals_match_naive_model(adds in proptest::collection::vec((bound(), bound()), 0..12)) {
            let iv: Intervals = adds.iter().copied().collect();
            check_invariants(&iv);
            let ps = probes(&adds);
            for &t in &ps {
                prop_assert_eq!(iv.contains(t), model_contains(&adds, t), "t={}", t);
            }
            let pv: Vec<i64> = ps.iter().copied().collect();
            for (i, &a) in pv.iter().enumerate() {
                for &b in &pv[i..] {
                    // Every probe in [a, b] is deleted iff covered, given the model is a
                    // union of ranges whose bounds are all probes.
                    let all = pv.iter().filter(|&&t| a <= t && t <= b).all(|&t| model_contains(&adds, t));
                    prop_assert_eq!(iv.covers(a, b), all, "covers({}, {})", a, b);
                    let any = pv.iter().filter(|&&t| a <= t && t <= b).any(|&t| model_contains(&adds, t));
                    prop_assert_eq!(iv.overlaps(a, b), any, "overlaps({}, {})", a, b);
                }
            }
            // Order of insertion does not matter.
            let rev: Intervals = adds.iter().rev().copied().collect();
            prop_assert_eq!(&rev, &iv);
        }

        #[test]
        fn file_round_trip(entries in proptest::collection::vec(
            (prop_oneof![any::<u64>(), 0u64..10, Just(u64::MAX)], bound(), bound()), 0..20)
        ) {
            let mut t = Tombstones::new();
            for (r, a, b) in entries {
                t.add(r, a, b);
            }
            let bytes = t.encode();
            prop_assert_eq!(Tombstones::decode(&bytes).unwrap(), t.clone());
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join(FILE_NAME);
            write_tombstones(&p, &t).unwrap();
            prop_assert_eq!(read_tombstones(&p).unwrap(), t);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            fuzz_tombstones(&data);
        }

        #[test]
        fn mutated_files_never_panic(
            entries in proptest::collection::vec((0u64..1000, bound(), bound()), 1..10),
            muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut t = Tombstones::new();
            for (r, a, b) in entries {
                t.add(r, a, b);
            }
            let mut bytes = t.encode();
            for (i, b) in muts {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
            fuzz_tombstones(&bytes);
        }
    }

    #[test]
    fn adjacent_intervals_merge_and_extremes_work() {
        let mut iv = Intervals::new();
        iv.add(1, 5);
        iv.add(6, 9);
        assert_eq!(iv.as_slice(), &[(1, 9)]);
        iv.add(11, 12);
        assert_eq!(iv.as_slice(), &[(1, 9), (11, 12)]);
        iv.add(10, 10);
        assert_eq!(iv.as_slice(), &[(1, 12)]);
        iv.add(5, 3);
        assert_eq!(iv.len(), 1);
        iv.add(i64::MIN, i64::MIN);
        iv.add(i64::MAX, i64::MAX);
        assert_eq!(
            iv.as_slice(),
            &[(i64::MIN, i64::MIN), (1, 12), (i64::MAX, i64::MAX)]
        );
        assert!(iv.contains(i64::MAX) && iv.contains(i64::MIN) && !iv.contains(0));
        iv.add(i64::MIN + 1, i64::MAX - 1);
        assert_eq!(iv.as_slice(), &[(i64::MIN, i64::MAX)]);
        assert!(iv.covers(i64::MIN, i64::MAX));
        assert!(iv.covers(3, 2));
    }

    #[test]
    fn matches_the_example_in_the_spec() {
        assert_eq!(MAGIC, 0x5354_4D54);
        let mut t = Tombstones::new();
        t.add(7, 10, 20);
        t.add(7, 30, 30);
        let b = t.encode();
        assert_eq!(
            &b[..12],
            &[0x54, 0x4D, 0x54, 0x53, 1, 1, 7, 2, 0x14, 0x0A, 0x08, 0x00]
        );
        assert_eq!(b[12..], crc32fast::hash(&b[..12]).to_le_bytes());
    }

    #[test]
    fn tombstones_api() {
        let mut t = Tombstones::new();
        assert!(t.is_empty());
        t.add(7, 10, 20);
        t.add(7, 21, 30);
        t.add(3, 0, 0);
        t.add(9, 5, 1);
        assert_eq!(t.len(), 2);
        assert_eq!(t.num_intervals(), 2);
        assert_eq!(t.get(7).unwrap().as_slice(), &[(10, 30)]);
        assert!(t.get(9).is_none());
        let refs: Vec<u64> = t.iter().map(|(r, _)| r).collect();
        assert_eq!(refs, [3, 7]);
        let mut u = Tombstones::new();
        u.add(7, 40, 50);
        u.merge(&t);
        assert_eq!(u.get(7).unwrap().as_slice(), &[(10, 30), (40, 50)]);
        assert_eq!(u.remove(3).unwrap().as_slice(), &[(0, 0)]);
        assert_eq!(u.len(), 1);
    }

    #[test]
    fn missing_file_is_empty_and_corruption_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        assert!(read_tombstones(&p).unwrap().is_empty());
        let mut t = Tombstones::new();
        t.add(1, 0, 100);
        t.add(2, -5, 5);
        t.add(2, 10, 11);
        write_tombstones(&p, &t).unwrap();
        let good = std::fs::read(&p).unwrap();
        for i in 0..good.len() {
            let mut d = good.clone();
            d[i] ^= 0x04;
            std::fs::write(&p, &d).unwrap();
            match read_tombstones(&p) {
                Err(Error::Corruption(c)) => {
                    assert_eq!(c.file, p);
                    assert!(c.offset <= d.len() as u64);
                }
                other => panic!("flip at {i}: expected corruption, got {other:?}"),
            }
        }
        for n in 0..good.len() {
            std::fs::write(&p, &good[..n]).unwrap();
            assert!(
                matches!(read_tombstones(&p), Err(Error::Corruption(_))),
                "truncated to {n}"
            );
        }
        // Valid CRC but broken invariants: two refs in the wrong order cannot be encoded, so
        // hand-craft an entry with zero intervals.
        let mut e = Encbuf::new();
        e.put_u32(MAGIC);
        e.put_u8(VERSION);
        e.put_uvarint(1);
        e.put_uvarint(5);
        e.put_uvarint(0);
        e.put_bytes(&[0, 0]);
        e.put_crc32_of(0);
        assert!(Tombstones::decode(&e.buf).is_err());
    }

    /// Writes the seed corpus for the `tombstones` fuzz target (run with `--ignored`).
    #[test]
    #[ignore]
    fn write_fuzz_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/tombstones");
        std::fs::create_dir_all(&root).unwrap();
        let mut t = Tombstones::new();
        std::fs::write(root.join("empty"), t.encode()).unwrap();
        t.add(1, 0, 100);
        t.add(1, 200, 300);
        t.add(42, i64::MIN, i64::MAX);
        let good = t.encode();
        std::fs::write(root.join("three"), &good).unwrap();
        std::fs::write(root.join("truncated"), &good[..good.len() - 3]).unwrap();
        let mut bad = good.clone();
        bad[7] ^= 0x40;
        std::fs::write(root.join("bad-crc"), bad).unwrap();
    }
}
