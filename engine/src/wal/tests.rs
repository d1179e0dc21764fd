//! Tests of the WAL on real files: framing, torn tails, corruption, checkpoints, full disks.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::labels::Labels;

/// A deterministic payload of varying length for commit `i`, record `j`.
fn payload(i: usize, j: usize) -> Vec<u8> {
    let mut p = format!("commit {i} record {j};").into_bytes();
    let n = (i * 7 + j * 13) % 50;
    p.extend((0..n).map(|k| (i + k) as u8));
    p
}

/// Everything a replay returns: records as (checkpoint, segment, offset, payload), and damage.
#[derive(Debug, Default)]
struct Replayed {
    records: Vec<(Option<u32>, u32, u64, Vec<u8>)>,
    damage: Vec<SegmentCorruption>,
}

impl Replayed {
    fn payloads(&self) -> Vec<Vec<u8>> {
        self.records.iter().map(|r| r.3.clone()).collect()
    }
}

fn replay_all(dir: &Path) -> Replayed {
    let mut out = Replayed::default();
    let mut r = WalReplay::open(dir).unwrap();
    while let Some(rec) = r.next_record() {
        match rec {
            Ok(rec) => out.records.push((
                rec.checkpoint,
                rec.segment,
                rec.offset,
                rec.payload.to_vec(),
            )),
            Err(ReplayError::Corrupt(c)) => out.damage.push(c),
            Err(ReplayError::Io(e)) => panic!("I/O error during replay: {e}"),
        }
    }
    out
}

fn small_opts(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        sync: SyncPolicy::Never,
    }
}

/// Logs `commits` commits of 1-3 records; returns every payload in order.
fn log_commits(wal: &mut Wal, from: usize, commits: usize) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for i in from..from + commits {
        let recs: Vec<Vec<u8>> = (0..1 + i % 3).map(|j| payload(i, j)).collect();
        let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
        wal.log(&refs).unwrap();
        all.extend(recs);
    }
    all
}

#[test]
fn write_reopen_replay_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let mut wal = Wal::open(&dir, small_opts(4096)).unwrap();
    assert_eq!(wal.current_segment(), 1);
    assert_eq!(wal.dir(), dir.as_path());
    let mut want = log_commits(&mut wal, 0, 300);
    wal.log(&[]).unwrap(); // no-op
    let last = wal.current_segment();
    assert!(
        last > 3,
        "small segments should have rolled over, at {last}"
    );
    assert!(wal.size_bytes() > 300 * 8);
    wal.close().unwrap();

    let got = replay_all(&dir);
    assert!(got.damage.is_empty(), "{:?}", got.damage);
    assert_eq!(got.payloads(), want);
    assert_eq!(segment_range(&dir).unwrap(), Some((1, last)));
    // Offsets are real frame offsets.
    for (_, seg, off, p) in &got.records {
        let bytes = fs::read(dir.join(segment_file_name(*seg))).unwrap();
        let at = *off as usize + FRAME_HEADER_LEN as usize;
        assert_eq!(&bytes[at..at + p.len()], &p[..]);
    }

    // Reopening starts a new segment after the last one and never appends to old ones.
    let before = fs::read(dir.join(segment_file_name(last))).unwrap();
    let mut wal = Wal::open(&dir, small_opts(4096)).unwrap();
    assert_eq!(wal.current_segment(), last + 1);
    want.extend(log_commits(&mut wal, 300, 50));
    drop(wal);
    assert_eq!(fs::read(dir.join(segment_file_name(last))).unwrap(), before);
    assert_eq!(replay_all(&dir).payloads(), want);
}

#[test]
fn empty_wal_and_missing_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    assert_eq!(segment_range(&missing).unwrap(), None);
    let r = replay_all(&missing);
    assert!(r.records.is_empty() && r.damage.is_empty());
    let wal = Wal::open(&missing, WalOptions::default()).unwrap();
    drop(wal);
    let r = replay_all(&missing);
    assert!(r.records.is_empty() && r.damage.is_empty());
}

#[test]
fn rejects_empty_records() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
    assert!(matches!(
        wal.log(&[b"a", b""]),
        Err(Error::InvalidArgument(_))
    ));
    // Nothing of the rejected group was written.
    wal.log(&[b"b"]).unwrap();
    assert_eq!(replay_all(tmp.path()).payloads(), vec![b"b".to_vec()]);
}

#[test]
fn sync_always_and_explicit_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = WalOptions {
        segment_size: 1024,
        sync: SyncPolicy::Always,
    };
    let mut wal = Wal::open(tmp.path(), opts).unwrap();
    let want = log_commits(&mut wal, 0, 40);
    wal.sync().unwrap();
    let n = wal.cut_segment().unwrap();
    assert_eq!(n, wal.current_segment());
    drop(wal);
    assert_eq!(replay_all(tmp.path()).payloads(), want);
}

#[test]
fn groups_stay_in_one_segment_and_segments_respect_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let cap = 600;
    let mut wal = Wal::open(tmp.path(), small_opts(cap)).unwrap();
    for g in 0..200usize {
        let n = 1 + g % 4;
        let len = if g % 37 == 5 {
            900
        } else {
            10 + (g * 31) % 120
        }; // some groups exceed the cap
        let recs: Vec<Vec<u8>> = (0..n)
            .map(|j| {
                let mut p = format!("{g:05}/{j}").into_bytes();
                p.resize(len, b'x');
                p
            })
            .collect();
        let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
        wal.log(&refs).unwrap();
    }
    drop(wal);
    let got = replay_all(tmp.path());
    assert!(got.damage.is_empty());
    // group -> segment, segment -> groups
    let mut group_seg = std::collections::BTreeMap::new();
    let mut seg_groups: std::collections::BTreeMap<u32, std::collections::BTreeSet<usize>> =
        Default::default();
    for (_, seg, _, p) in &got.records {
        let g: usize = std::str::from_utf8(&p[..5]).unwrap().parse().unwrap();
        let prev = group_seg.insert(g, *seg);
        assert!(
            prev.is_none() || prev == Some(*seg),
            "group {g} split across segments"
        );
        seg_groups.entry(*seg).or_default().insert(g);
    }
    assert_eq!(group_seg.len(), 200);
    let (first, last) = segment_range(tmp.path()).unwrap().unwrap();
    for s in first..=last {
        let size = fs::metadata(tmp.path().join(segment_file_name(s)))
            .unwrap()
            .len();
        let groups = seg_groups.get(&s).map_or(0, |g| g.len());
        assert!(
            size <= cap || groups == 1,
            "segment {s}: {size} bytes, {groups} groups"
        );
    }
}

#[test]
fn record_larger_than_cap_goes_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path(), small_opts(100)).unwrap();
    wal.log(&[b"small1"]).unwrap();
    wal.log(&[&[7u8; 500]]).unwrap();
    wal.log(&[b"small2"]).unwrap();
    drop(wal);
    let got = replay_all(tmp.path());
    let segs: Vec<u32> = got.records.iter().map(|r| r.1).collect();
    assert_eq!(segs, vec![1, 2, 3]);
    assert_eq!(got.records[1].3, vec![7u8; 500]);
}

#[test]
fn records_straddling_and_exceeding_the_read_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
    let mut want = Vec::new();
    for i in 0..400usize {
        // ~5 KiB records cross the 1 MiB buffer boundary at arbitrary offsets; one record of
        // 3 MiB makes the buffer grow, and reading goes on normally after it.
        let len = if i == 200 {
            3 << 20
        } else {
            4000 + (i * 977) % 3000
        };
        let p: Vec<u8> = (0..len).map(|k| (k * 31 + i) as u8).collect();
        wal.log(&[&p]).unwrap();
        want.push(p);
    }
    drop(wal);
    let got = replay_all(tmp.path());
    assert!(got.damage.is_empty());
    assert_eq!(got.records.len(), want.len());
    assert!(got.payloads() == want, "payloads differ");
}

/// Writes a WAL with three segments; returns its payloads.
fn three_segments(dir: &Path) -> Vec<Vec<u8>> {
    let mut wal = Wal::open(dir, WalOptions::default()).unwrap();
    let mut want = log_commits(&mut wal, 0, 5);
    wal.cut_segment().unwrap();
    want.extend(log_commits(&mut wal, 5, 5));
    wal.cut_segment().unwrap();
    want.extend(log_commits(&mut wal, 10, 5));
    wal.close().unwrap();
    assert_eq!(segment_range(dir).unwrap(), Some((1, 3)));
    want
}

#[test]
fn torn_tail_at_every_offset_of_the_last_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let want = three_segments(dir);
    let clean = replay_all(dir);
    let (_, seg, off, p) = clean.records.last().unwrap().clone();
    assert_eq!(seg, 3);
    let path = dir.join(segment_file_name(3));
    let original = fs::read(&path).unwrap();
    let end = off as usize + FRAME_HEADER_LEN as usize + p.len();
    assert_eq!(end, original.len());

    for cut in off as usize..end {
        fs::write(&path, &original[..cut]).unwrap();
        let got = replay_all(dir);
        assert_eq!(got.payloads(), want[..want.len() - 1], "cut at {cut}");
        if cut == off as usize {
            assert!(got.damage.is_empty(), "cut at a frame boundary is clean");
            continue;
        }
        assert_eq!(got.damage.len(), 1, "cut at {cut}");
        let c = &got.damage[0];
        assert!(c.torn_tail, "cut at {cut}: {c}");
        assert_eq!(
            (c.segment, c.offset, c.checkpoint),
            (3, off, None),
            "cut at {cut}"
        );
        assert_eq!(c.file, path);
        if cut % 2 == 0 {
            let rep = repair(c).unwrap();
            assert_eq!(rep.truncated_at, off);
            assert_eq!(rep.bytes_removed, (cut - off as usize) as u64);
            assert!(rep.side_file.is_none());
        } else {
            // Wal::open repairs the torn tail by itself before starting segment 4.
            let wal = Wal::open(dir, WalOptions::default()).unwrap();
            assert_eq!(wal.current_segment(), 4);
            drop(wal);
            fs::remove_file(dir.join(segment_file_name(4))).unwrap();
        }
        assert_eq!(fs::metadata(&path).unwrap().len(), off);
        let again = replay_all(dir);
        assert!(again.damage.is_empty(), "cut at {cut}: {:?}", again.damage);
        assert_eq!(again.payloads(), want[..want.len() - 1]);
    }

    // A tail that the file system extended with zeros (size updated, data not written).
    let mut zeroed = original.clone();
    for b in &mut zeroed[off as usize..] {
        *b = 0;
    }
    fs::write(&path, &zeroed).unwrap();
    let got = replay_all(dir);
    assert_eq!(got.payloads(), want[..want.len() - 1]);
    assert!(
        got.damage[0].torn_tail && got.damage[0].cause.contains("zero"),
        "{:?}",
        got.damage
    );
}

#[test]
fn corruption_in_an_earlier_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let want = three_segments(dir);
    let clean = replay_all(dir);
    let in_seg2: Vec<_> = clean.records.iter().filter(|r| r.1 == 2).cloned().collect();
    let victim = &in_seg2[in_seg2.len() / 2];
    let path = dir.join(segment_file_name(2));
    let original = fs::read(&path).unwrap();
    let mut bad = original.clone();
    let flip_at = victim.2 as usize + FRAME_HEADER_LEN as usize + 3; // inside the payload
    bad[flip_at] ^= 0x40;
    fs::write(&path, &bad).unwrap();

    let got = replay_all(dir);
    assert_eq!(got.damage.len(), 1);
    let c = &got.damage[0];
    assert!(!c.torn_tail);
    assert_eq!((c.segment, c.offset), (2, victim.2));
    assert!(c.cause.contains("CRC32"), "{c}");
    let msg = Error::from(ReplayError::Corrupt(c.clone())).to_string();
    assert!(
        msg.contains("00000002") && msg.contains(&format!("offset {}", victim.2)),
        "{msg}"
    );
    // Records before the damage and every later segment are still there.
    let lost: Vec<Vec<u8>> = in_seg2
        .iter()
        .filter(|r| r.2 >= victim.2)
        .map(|r| r.3.clone())
        .collect();
    let expect: Vec<Vec<u8>> = want.iter().filter(|p| !lost.contains(p)).cloned().collect();
    assert_eq!(got.payloads(), expect);
    assert!(got.records.iter().any(|r| r.1 == 3));

    // Repair keeps the cut-off bytes in a side file.
    let rep = repair(c).unwrap();
    let side = rep.side_file.clone().unwrap();
    assert_eq!(side, dir.join("00000002.corrupt"));
    assert_eq!(fs::read(&side).unwrap(), &bad[victim.2 as usize..]);
    let again = replay_all(dir);
    assert!(again.damage.is_empty());
    assert_eq!(again.payloads(), expect);
    // Side files are not segments; Wal::open carries on after segment 3.
    assert_eq!(segment_range(dir).unwrap(), Some((1, 3)));
    assert_eq!(
        Wal::open(dir, WalOptions::default())
            .unwrap()
            .current_segment(),
        4
    );

    // A second repair of the same segment does not overwrite the first side file.
    let mut bad2 = fs::read(&path).unwrap();
    let l = bad2.len();
    bad2[l - 1] ^= 1;
    fs::write(&path, &bad2).unwrap();
    let got = replay_all(dir);
    let rep = repair(&got.damage[0]).unwrap();
    assert_eq!(rep.side_file.unwrap(), dir.join("00000002.corrupt.1"));
    assert!(side.exists());
}

#[test]
fn bogus_lengths_never_allocate_or_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_segments(dir);
    let path = dir.join(segment_file_name(1));
    let mut bad = fs::read(&path).unwrap();
    // First frame: length u32::MAX.
    bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&path, &bad).unwrap();
    let got = replay_all(dir);
    let c = &got.damage[0];
    assert_eq!((c.segment, c.offset, c.torn_tail), (1, 8, false));
    assert!(c.cause.contains("exceeds"), "{c}");
}

#[test]
fn header_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let want = three_segments(dir);
    // A crash right after creating the newest segment: an empty file.
    fs::write(dir.join(segment_file_name(4)), b"").unwrap();
    let got = replay_all(dir);
    assert_eq!(got.payloads(), want);
    assert!(got.damage[0].torn_tail && got.damage[0].offset == 0);
    // Wal::open rewrites the header and goes on after it.
    let wal = Wal::open(dir, WalOptions::default()).unwrap();
    assert_eq!(wal.current_segment(), 5);
    drop(wal);
    assert_eq!(
        fs::metadata(dir.join(segment_file_name(4))).unwrap().len(),
        SEGMENT_HEADER_LEN
    );
    assert!(replay_all(dir).damage.is_empty());

    // A newer version in the newest segment is not a torn tail: Wal::open refuses.
    let p6 = dir.join(segment_file_name(6));
    let mut h = fs::read(dir.join(segment_file_name(5))).unwrap();
    h[4] = SEGMENT_VERSION + 1;
    fs::write(&p6, &h).unwrap();
    let got = replay_all(dir);
    assert!(!got.damage[0].torn_tail && got.damage[0].cause.contains("version"));
    assert!(matches!(
        Wal::open(dir, WalOptions::default()),
        Err(Error::Corruption(_))
    ));
    fs::remove_file(&p6).unwrap();

    // Bad magic in an earlier segment: mid-log corruption at offset 0; repair empties it.
    let p1 = dir.join(segment_file_name(1));
    let mut b = fs::read(&p1).unwrap();
    b[0] ^= 0xff;
    fs::write(&p1, &b).unwrap();
    let got = replay_all(dir);
    let c = &got.damage[0];
    assert_eq!((c.segment, c.offset, c.torn_tail), (1, 0, false));
    let rep = repair(c).unwrap();
    assert_eq!(fs::read(rep.side_file.unwrap()).unwrap(), b);
    assert!(replay_all(dir).damage.is_empty());
}

#[test]
fn a_missing_segment_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_segments(dir);
    fs::remove_file(dir.join(segment_file_name(2))).unwrap();
    let e = WalReplay::open(dir).unwrap_err();
    assert!(e.to_string().contains("00000002"), "{e}");
}

#[test]
fn replay_repairing_repairs_and_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let want = three_segments(dir);
    let p1 = dir.join(segment_file_name(1));
    let mut b = fs::read(&p1).unwrap();
    let l = b.len();
    b[l - 2] ^= 1; // last record of segment 1
    fs::write(&p1, &b).unwrap();
    let p3 = dir.join(segment_file_name(3));
    let b3 = fs::read(&p3).unwrap();
    fs::write(&p3, &b3[..b3.len() - 3]).unwrap(); // torn tail
    let mut seen = Vec::new();
    let report = WalReplay::replay_repairing(dir, |r| {
        seen.push(r.payload.to_vec());
        Ok(())
    })
    .unwrap();
    assert_eq!(report.repairs.len(), 2);
    assert!(!report.repairs[0].torn_tail && report.repairs[1].torn_tail);
    assert_eq!(seen.len(), want.len() - 2);
    assert_eq!(report.records, seen.len() as u64);
    assert_eq!(replay_all(dir).payloads(), seen);
}

// ---- checkpoints ----

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Series(RefSeries),
    Sample(RefSample),
    Tomb(RefTombstone),
}

fn decode_items(payloads: &[Vec<u8>]) -> Vec<Item> {
    let mut out = Vec::new();
    for p in payloads {
        match record_type(p).unwrap() {
            RecordType::Series => {
                let mut v = Vec::new();
                decode_series(p, &mut v).unwrap();
                out.extend(v.into_iter().map(Item::Series));
            }
            RecordType::Samples => {
                let mut v = Vec::new();
                decode_samples(p, &mut v).unwrap();
                out.extend(v.into_iter().map(Item::Sample));
            }
            RecordType::Tombstones => {
                let mut v = Vec::new();
                decode_tombstones(p, &mut v).unwrap();
                out.extend(v.into_iter().map(Item::Tomb));
            }
        }
    }
    out
}

fn keep_item(it: &Item, keep: &dyn Fn(u64) -> bool, mint: i64) -> bool {
    match it {
        Item::Series(s) => keep(s.r),
        Item::Sample(s) => keep(s.r) && s.t >= mint,
        Item::Tomb(t) => keep(t.r) && t.maxt >= mint,
    }
}

/// Logs a segment's worth of records for series `refs` with samples at `ts`; returns them.
fn log_segment(wal: &mut Wal, refs: std::ops::Range<u64>, ts: std::ops::Range<i64>) -> Vec<Item> {
    let mut items = Vec::new();
    let series: Vec<RefSeries> = refs
        .clone()
        .map(|r| RefSeries {
            r,
            labels: Labels::from_pairs([("__name__", "m"), ("i", &r.to_string())]).unwrap(),
        })
        .collect();
    let mut buf = Vec::new();
    encode_series(&series, &mut buf);
    wal.log(&[&buf]).unwrap();
    items.extend(series.into_iter().map(Item::Series));
    for t in ts.clone() {
        let samples: Vec<RefSample> = refs
            .clone()
            .map(|r| RefSample {
                r,
                t,
                v: (r as f64) * 0.5 + t as f64,
            })
            .collect();
        let tombs: Vec<RefTombstone> = if t % 7 == 0 {
            vec![RefTombstone {
                r: refs.start,
                mint: t - 20,
                maxt: t - 5,
            }]
        } else {
            Vec::new()
        };
        let mut b1 = Vec::new();
        encode_samples(&samples, &mut b1);
        let mut b2 = Vec::new();
        encode_tombstones(&tombs, &mut b2);
        // Group commit: samples and tombstones in one log call.
        wal.log(&[&b1, &b2]).unwrap();
        items.extend(samples.into_iter().map(Item::Sample));
        items.extend(tombs.into_iter().map(Item::Tomb));
    }
    items
}

#[test]
fn checkpoint_keeps_exactly_what_it_should() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut wal = Wal::open(dir, WalOptions::default()).unwrap();
    let mut seg_items = Vec::new();
    for s in 0..4u64 {
        seg_items.push(log_segment(
            &mut wal,
            s * 10..s * 10 + 10,
            s as i64 * 30..s as i64 * 30 + 40,
        ));
        wal.cut_segment().unwrap();
    }
    // Segments 1..=4 are full, 5 is being written.
    assert_eq!(wal.current_segment(), 5);
    let tail = log_segment(&mut wal, 100..103, 0..5);

    assert!(matches!(
        checkpoint(dir, 5, &|_| true, 0),
        Err(Error::InvalidArgument(_))
    ));
    let keep = |r: u64| !r.is_multiple_of(3);
    let mint = 45;
    let stats = checkpoint(dir, 2, &keep, mint).unwrap();
    assert_eq!(stats.checkpoint, 2);
    assert_eq!(stats.previous, None);
    assert_eq!(stats.segments_read, 2);
    assert_eq!(stats.segments_deleted, 2);
    assert!(stats.dir.ends_with("checkpoint.00000002"));
    assert!(stats.size_bytes > 0);
    assert_eq!(segment_range(dir).unwrap(), Some((3, 5)));

    let expected_ckpt: Vec<Item> = seg_items[..2]
        .concat()
        .into_iter()
        .filter(|i| keep_item(i, &keep, mint))
        .collect();
    let kept_samples = expected_ckpt
        .iter()
        .filter(|i| matches!(i, Item::Sample(_)))
        .count();
    assert_eq!(stats.samples_kept, kept_samples as u64);
    assert!(stats.samples_dropped > 0 && stats.series_dropped > 0 && stats.tombstones_dropped > 0);

    let got = replay_all(dir);
    assert!(got.damage.is_empty());
    let from_ckpt: Vec<Vec<u8>> = got
        .records
        .iter()
        .filter(|r| r.0 == Some(2))
        .map(|r| r.3.clone())
        .collect();
    assert_eq!(decode_items(&from_ckpt), expected_ckpt);
    let mut expected_all = expected_ckpt.clone();
    expected_all.extend(seg_items[2..].concat());
    expected_all.extend(tail.clone());
    assert_eq!(decode_items(&got.payloads()), expected_all);

    // A second checkpoint folds in the first one.
    assert!(matches!(
        checkpoint(dir, 2, &keep, mint),
        Err(Error::InvalidArgument(_))
    ));
    let keep2 = |r: u64| !r.is_multiple_of(3) && r != 31;
    let mint2 = 80;
    let stats = checkpoint(dir, 4, &keep2, mint2).unwrap();
    assert_eq!(stats.previous, Some(2));
    assert_eq!(stats.checkpoints_deleted, 1);
    assert!(!dir.join("checkpoint.00000002").exists());
    assert_eq!(segment_range(dir).unwrap(), Some((5, 5)));
    let mut expected_ckpt2: Vec<Item> = expected_ckpt;
    expected_ckpt2.extend(seg_items[2..4].concat());
    expected_ckpt2.retain(|i| keep_item(i, &keep2, mint2));
    let got = replay_all(dir);
    let mut expected_all = expected_ckpt2.clone();
    expected_all.extend(tail.clone());
    assert_eq!(decode_items(&got.payloads()), expected_all);
    assert!(got.records.iter().all(|r| r.0 == Some(4) || r.1 == 5));

    // Logging goes on; a reopen starts after both the segments and the checkpoint.
    drop(wal);
    fs::remove_file(dir.join(segment_file_name(5))).unwrap();
    let wal = Wal::open(dir, WalOptions::default()).unwrap();
    assert_eq!(wal.current_segment(), 5);
    assert!(wal.size_bytes() >= stats.size_bytes);
}

#[test]
fn checkpoint_crash_safety() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let mut wal = Wal::open(&dir, WalOptions::default()).unwrap();
    for s in 0..3u64 {
        log_segment(&mut wal, s * 5..s * 5 + 5, 0..10);
        wal.cut_segment().unwrap();
    }
    drop(wal);
    let keep = |r: u64| r != 3;
    let backup = tmp.path().join("backup");
    copy_dir(&dir, &backup);

    // Crash while writing the checkpoint: a .tmp directory with a partial segment.
    let stray = dir.join("checkpoint.00000002.tmp");
    fs::create_dir_all(&stray).unwrap();
    fs::write(stray.join("00000001"), b"TMWL\x01\0\0\0garbage").unwrap();
    let before = replay_all(&backup);
    let got = replay_all(&dir);
    assert!(!stray.exists(), "replay removes unfinished checkpoints");
    assert_eq!(got.payloads(), before.payloads());
    // And Wal::open removes them too.
    fs::create_dir_all(&stray).unwrap();
    drop(Wal::open(&dir, WalOptions::default()).unwrap());
    assert!(!stray.exists());
    fs::remove_file(dir.join(segment_file_name(4))).unwrap();
    fs::remove_file(dir.join(segment_file_name(5))).unwrap();

    // The checkpoint itself also clears a stale .tmp of its own name.
    fs::create_dir_all(&stray).unwrap();
    checkpoint(&dir, 2, &keep, 0).unwrap();
    let after = replay_all(&dir);
    assert!(!stray.exists());

    // Crash after publishing but before deleting: old segments (and an old checkpoint) are
    // still there. Replay must give the same as after the deletions.
    for s in 1..=2 {
        fs::copy(
            backup.join(segment_file_name(s)),
            dir.join(segment_file_name(s)),
        )
        .unwrap();
    }
    fs::create_dir_all(dir.join("checkpoint.00000001")).unwrap();
    fs::copy(
        backup.join(segment_file_name(1)),
        dir.join("checkpoint.00000001/00000001"),
    )
    .unwrap();
    let crashed = replay_all(&dir);
    assert_eq!(crashed.payloads(), after.payloads());
    assert!(crashed.damage.is_empty());
    // The next checkpoint cleans everything up.
    let mut wal = Wal::open(&dir, WalOptions::default()).unwrap();
    wal.log(&[&{
        let mut b = Vec::new();
        encode_tombstones(
            &[RefTombstone {
                r: 1,
                mint: 0,
                maxt: 1,
            }],
            &mut b,
        );
        b
    }])
    .unwrap();
    wal.cut_segment().unwrap();
    let stats = checkpoint(&dir, wal.current_segment() - 1, &keep, 0).unwrap();
    assert_eq!(stats.checkpoints_deleted, 2);
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("checkpoint."))
            .count(),
        1,
        "{names:?}"
    );
}

#[test]
fn checkpoint_refuses_corrupt_input_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    three_segments(dir); // payloads are not typed records
    let e = checkpoint(dir, 2, &|_| true, 0).unwrap_err();
    assert!(matches!(e, Error::Corruption(_)), "{e}");
    assert!(e.to_string().contains("00000001"), "{e}");
    assert_eq!(segment_range(dir).unwrap(), Some((1, 3)));
    assert_eq!(last_checkpoint(dir).unwrap(), None);
    assert!(!dir.join("checkpoint.00000002.tmp").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p: PathBuf = e.path();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

// ---- full disk ----

/// Unmounts a tmpfs when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn write_error_on_a_full_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    fs::create_dir_all(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("write_error_on_a_full_disk: cannot mount a tmpfs (not root?); skipped");
        return;
    }
    let _mount = Mount(mnt.clone());
    let filler = mnt.join("filler");
    fs::write(&filler, vec![1u8; 16 << 10]).unwrap();
    let dir = mnt.join("wal");
    let mut wal = Wal::open(&dir, WalOptions::default()).unwrap();
    let mut logged = Vec::new();
    let mut failed = None;
    for i in 0..10_000usize {
        let a = vec![(i % 251) as u8; 700 + i % 300];
        let b = payload(i, 1);
        match wal.log(&[&a, &b]) {
            Ok(()) => logged.extend([a, b]),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let e = failed.expect("a 64 KiB file system must fill up");
    match &e {
        Error::Io { op, path, source } => {
            assert_eq!(*op, "write");
            assert_eq!(path, &dir.join(segment_file_name(1)));
            assert_eq!(source.raw_os_error(), Some(28), "ENOSPC: {source}");
        }
        other => panic!("expected an I/O error, got {other}"),
    }
    assert!(e.to_string().contains("00000001"), "{e}");
    assert!(!logged.is_empty());
    // Everything logged before the error replays intact, with no damage.
    let got = replay_all(&dir);
    assert!(got.damage.is_empty(), "{:?}", got.damage);
    assert_eq!(got.payloads(), logged);
    // Failing again is fine and still leaves no partial frame.
    assert!(wal.log(&[&[9u8; 4000]]).is_err());
    assert_eq!(replay_all(&dir).payloads(), logged);

    // Space comes back: logging works again.
    fs::remove_file(&filler).unwrap();
    wal.log(&[b"after the disk was freed"]).unwrap();
    wal.sync().unwrap();
    logged.push(b"after the disk was freed".to_vec());
    drop(wal);
    let got = replay_all(&dir);
    assert!(got.damage.is_empty());
    assert_eq!(got.payloads(), logged);
}

// ---- fuzz entry points ----

fn segment_bytes(payloads: &[&[u8]]) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
    wal.log(payloads).unwrap();
    drop(wal);
    fs::read(tmp.path().join(segment_file_name(1))).unwrap()
}

#[test]
fn fuzz_wal_segment_on_known_inputs() {
    let good = segment_bytes(&[b"one", b"two", b"three"]);
    for mode in [0u8, 1] {
        let mut d = vec![mode];
        d.extend_from_slice(&good);
        super::fuzz_wal_segment(&d);
        for cut in 0..good.len() {
            let mut d = vec![mode];
            d.extend_from_slice(&good[..cut]);
            super::fuzz_wal_segment(&d);
        }
        for i in 0..good.len() {
            let mut d = vec![mode];
            d.extend_from_slice(&good);
            d[1 + i] ^= 0x5a;
            super::fuzz_wal_segment(&d);
        }
    }
    super::fuzz_wal_segment(&[]);
    super::fuzz_wal_segment(&[1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fuzz_wal_segment_never_panics(
        mode in any::<u8>(),
        recs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..5),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        cut in any::<prop::sample::Index>(),
        junk in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
        let mut seg = segment_bytes(&refs);
        for (i, x) in &flips {
            let i = i.index(seg.len());
            seg[i] ^= x;
        }
        let c = cut.index(seg.len() + 1);
        seg.truncate(c.max(1));
        seg.extend_from_slice(&junk);
        let mut d = vec![mode];
        d.extend_from_slice(&seg);
        super::fuzz_wal_segment(&d);
        super::fuzz_wal_segment(&junk);
    }
}

// ---- speed ----

/// WAL replay speed: read + CRC + decode of samples records of 1000 samples each (the shape a
/// scrape of 1000 series produces), 3M samples in total. Run with
/// `cargo test --release -p tidemark-engine wal::tests::replay_speed -- --ignored --nocapture`.
#[test]
#[ignore = "measurement; run in release mode"]
fn replay_speed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
    let mut buf = Vec::new();
    let (records, per) = (3000usize, 1000u64);
    for i in 0..records {
        let t = 1_700_000_000_000 + i as i64 * 15_000;
        let samples: Vec<RefSample> = (0..per)
            .map(|r| RefSample {
                r: 10_000 + r,
                t: t + (r as i64 % 50),
                v: (i as f64) * 1.5 + r as f64,
            })
            .collect();
        buf.clear();
        encode_samples(&samples, &mut buf);
        wal.log(&[&buf]).unwrap();
    }
    wal.close().unwrap();
    let bytes = fs::metadata(tmp.path().join(segment_file_name(1)))
        .unwrap()
        .len();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let mut r = WalReplay::open(tmp.path()).unwrap();
        let mut out = Vec::with_capacity(per as usize);
        let mut n = 0u64;
        while let Some(rec) = r.next_record() {
            let rec = rec.unwrap();
            out.clear();
            decode_samples(rec.payload, &mut out).unwrap();
            n += out.len() as u64;
        }
        assert_eq!(n, records as u64 * per);
        best = best.min(start.elapsed().as_secs_f64());
    }
    let total = (records as u64 * per) as f64;
    eprintln!(
        "replay: {:.1} M samples/s, {:.0} MB/s ({} bytes, {:.1} bytes/sample, best of 5: {:.1} ms)",
        total / best / 1e6,
        bytes as f64 / best / 1e6,
        bytes,
        bytes as f64 / total,
        best * 1e3
    );
}

// ---- fuzz seeds ----

/// Writes the seed corpora `fuzz/corpus/wal_record/` and `fuzz/corpus/wal_segment/`. Run with
/// `cargo test -p tidemark-engine wal::tests::write_fuzz_seeds -- --ignored` to regenerate.
#[test]
#[ignore = "writes the fuzz seed corpus into the source tree"]
fn write_fuzz_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let rec_dir = root.join("wal_record");
    let seg_dir = root.join("wal_segment");
    fs::create_dir_all(&rec_dir).unwrap();
    fs::create_dir_all(&seg_dir).unwrap();

    let mut series = Vec::new();
    encode_series(
        &[
            RefSeries {
                r: 1,
                labels: Labels::from_pairs([("__name__", "up"), ("job", "node")]).unwrap(),
            },
            RefSeries {
                r: 2,
                labels: Labels::from_pairs([("a", "\u{e9}")]).unwrap(),
            },
        ],
        &mut series,
    );
    let mut samples = Vec::new();
    encode_samples(
        &[
            RefSample {
                r: 1,
                t: 1_700_000_000_000,
                v: 1.0,
            },
            RefSample {
                r: 2,
                t: 1_700_000_000_000,
                v: f64::from_bits(0x7ff0_0000_0000_0001),
            },
            RefSample {
                r: 0,
                t: i64::MIN,
                v: -0.0,
            },
        ],
        &mut samples,
    );
    let mut tombs = Vec::new();
    encode_tombstones(
        &[RefTombstone {
            r: 1,
            mint: -5,
            maxt: i64::MAX,
        }],
        &mut tombs,
    );
    let mut empty = Vec::new();
    encode_samples(&[], &mut empty);
    // One series (ref 1) whose two labels are out of order.
    let unsorted = vec![1u8, 1, 1, 2, 1, b'b', 1, b'1', 1, b'a', 1, b'2'];
    let huge_count = vec![
        2u8, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("series", series.clone()),
        ("samples", samples.clone()),
        ("tombstones", tombs.clone()),
        ("samples_empty", empty),
        ("samples_truncated", samples[..samples.len() - 3].to_vec()),
        ("series_unsorted_labels", unsorted),
        ("samples_huge_count", huge_count),
        ("unknown_type", vec![9, 0]),
    ];
    for (name, bytes) in &seeds {
        fuzz_wal_record(bytes);
        fs::write(rec_dir.join(name), bytes).unwrap();
    }

    let seg = segment_bytes(&[&series, &samples, &tombs]);
    let frame2 = SEGMENT_HEADER_LEN as usize + FRAME_HEADER_LEN as usize + series.len();
    let mut crc_flip = seg.clone();
    crc_flip[frame2 + FRAME_HEADER_LEN as usize + 2] ^= 1;
    let mut bad_magic = seg.clone();
    bad_magic[0] = b'X';
    let with_mode = |mode: u8, b: &[u8]| {
        let mut v = vec![mode];
        v.extend_from_slice(b);
        v
    };
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("valid_mid_log", with_mode(0, &seg)),
        ("valid_tail", with_mode(1, &seg)),
        ("torn_tail", with_mode(1, &seg[..seg.len() - 5])),
        ("torn_frame_header", with_mode(1, &seg[..frame2 + 3])),
        ("crc_mismatch_mid_log", with_mode(0, &crc_flip)),
        (
            "header_only",
            with_mode(1, &seg[..SEGMENT_HEADER_LEN as usize]),
        ),
        ("empty_file", with_mode(1, &[])),
        ("bad_magic", with_mode(0, &bad_magic)),
    ];
    for (name, bytes) in &seeds {
        super::fuzz_wal_segment(bytes);
        fs::write(seg_dir.join(name), bytes).unwrap();
    }
}
