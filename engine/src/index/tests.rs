use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use roaring::RoaringBitmap;

use super::*;
use crate::error::Error;
use crate::labels::Labels;
use crate::postings::IndexLookup;

type Series = (Labels, Vec<ChunkMeta>);

fn symbols_of(series: &[Series]) -> Vec<String> {
    let mut s = BTreeSet::new();
    for (l, _) in series {
        for l in l.iter() {
            s.insert(l.name.to_owned());
            s.insert(l.value.to_owned());
        }
    }
    s.into_iter().collect()
}

fn write_index(path: &Path, series: &[Series], wide: bool) -> IndexStats {
    let mut w = IndexWriter::create(path, symbols_of(series)).unwrap();
    w.force_wide = wide;
    for (i, (l, c)) in series.iter().enumerate() {
        assert_eq!(w.add_series(l, c).unwrap(), i as u32);
    }
    w.finish().unwrap()
}

/// The naive model: for each name, value → series ids.
fn model(series: &[Series]) -> BTreeMap<String, BTreeMap<String, RoaringBitmap>> {
    let mut m: BTreeMap<String, BTreeMap<String, RoaringBitmap>> = BTreeMap::new();
    for (id, (l, _)) in series.iter().enumerate() {
        for l in l.iter() {
            m.entry(l.name.to_owned())
                .or_default()
                .entry(l.value.to_owned())
                .or_default()
                .insert(id as u32);
        }
    }
    m
}

fn time() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => -10_000i64..10_000,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => any::<i64>(),
    ]
}

fn chunk_metas() -> impl Strategy<Value = Vec<ChunkMeta>> {
    proptest::collection::vec(
        (
            time(),
            prop_oneof![Just(0u64), 0u64..5000, any::<u64>()],
            prop_oneof![any::<u64>(), 0u64..100_000, Just(u64::MAX)],
        ),
        0..6,
    )
    .prop_map(|v| {
        let mut c: Vec<ChunkMeta> = v
            .into_iter()
            .map(|(mint, dur, r)| ChunkMeta {
                mint,
                maxt: mint.saturating_add_unsigned(dur),
                chunk_ref: r,
            })
            .collect();
        c.sort_by_key(|c| c.mint);
        c
    })
}

fn label_set() -> impl Strategy<Value = Labels> {
    proptest::collection::vec(
        (
            prop_oneof![
                Just("__name__".to_owned()),
                Just("job".to_owned()),
                Just("ü".to_owned()),
                "[a-d]{1,2}"
            ],
            "[a-c\u{e9}]{1,3}",
        ),
        1..6,
    )
    .prop_map(|pairs| Labels::from_pairs(pairs).unwrap())
}

fn series_set() -> impl Strategy<Value = Vec<Series>> {
    proptest::collection::vec((label_set(), chunk_metas()), 0..60).prop_map(|v| {
        let mut m = BTreeMap::new();
        for (l, c) in v {
            m.insert(l, c);
        }
        m.into_iter().collect()
    })
}

fn check_against_model(r: &IndexReader, series: &[Series], probes: &[String]) {
    assert_eq!(r.num_series() as usize, series.len());
    let mut chunks = vec![ChunkMeta::default()];
    for (id, (l, c)) in series.iter().enumerate() {
        let got = r.series(id as u32, &mut chunks).unwrap();
        assert_eq!(&got, l);
        assert_eq!(&chunks, c);
    }
    assert!(matches!(
        r.series(series.len() as u32, &mut chunks),
        Err(Error::InvalidArgument(_))
    ));
    let syms: Vec<String> = r.symbols().map(|s| s.unwrap().to_owned()).collect();
    assert_eq!(syms, symbols_of(series));

    let m = model(series);
    let all: RoaringBitmap = (0..series.len() as u32).collect();
    assert_eq!(r.all_postings().unwrap(), all);
    assert_eq!(
        r.label_names().unwrap(),
        m.keys().cloned().collect::<Vec<_>>()
    );
    let mut names: Vec<&str> = m.keys().map(String::as_str).collect();
    names.push("missing");
    names.push("");
    for name in names {
        let values = m.get(name).cloned().unwrap_or_default();
        assert_eq!(
            r.label_values(name).unwrap(),
            values.keys().cloned().collect::<Vec<_>>()
        );
        for v in values.keys() {
            assert_eq!(&r.postings(name, v).unwrap(), &values[v]);
        }
        // Unions of present and absent values.
        let mut wanted: Vec<&str> = values.keys().map(String::as_str).step_by(2).collect();
        wanted.extend(probes.iter().map(String::as_str));
        let mut expect = RoaringBitmap::new();
        for v in &wanted {
            if let Some(p) = values.get(*v) {
                expect |= p;
            }
        }
        assert_eq!(r.postings_for_values(name, &wanted).unwrap(), expect);
        // Prefix + predicate: only prefixed values may be visited.
        for prefix in probes.iter().map(String::as_str).chain(["", "a", "é"]) {
            let mut visited = Vec::new();
            let got = r
                .postings_matching(name, prefix, &mut |v| {
                    visited.push(v.to_owned());
                    v.len() % 2 == 1
                })
                .unwrap();
            let mut expect = RoaringBitmap::new();
            let mut expect_visited = Vec::new();
            for (v, p) in &values {
                if v.starts_with(prefix) {
                    expect_visited.push(v.clone());
                    if v.len() % 2 == 1 {
                        expect |= p;
                    }
                }
            }
            assert_eq!(visited, expect_visited);
            assert_eq!(got, expect);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_matches_model(
        series in series_set(),
        probes in proptest::collection::vec("[a-c\u{e9}]{0,3}", 0..4),
        wide in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index");
        let stats = write_index(&p, &series, wide);
        prop_assert_eq!(stats.num_series as usize, series.len());
        prop_assert_eq!(stats.num_chunks, series.iter().map(|s| s.1.len() as u64).sum::<u64>());
        let r = IndexReader::open(&p).unwrap();
        prop_assert_eq!(r.size_bytes(), stats.size_bytes);
        prop_assert_eq!(std::fs::metadata(&p).unwrap().len(), stats.size_bytes);
        check_against_model(&r, &series, &probes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz_index(&data);
    }

    #[test]
    fn mutated_files_never_panic(
        series in series_set(),
        muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index");
        write_index(&p, &series, false);
        let mut data = std::fs::read(&p).unwrap();
        for (i, b) in muts {
            let i = i.index(data.len());
            data[i] = b;
        }
        if truncate {
            data.truncate(cut.index(data.len()));
        }
        // fuzz_index also retries with a recomputed CRC, reaching the structure decoders.
        fuzz_index(&data);
    }
}

fn small_series() -> Vec<Series> {
    let c = |mint: i64, maxt: i64, r: u64| ChunkMeta {
        mint,
        maxt,
        chunk_ref: r,
    };
    vec![
        (
            crate::labels!("__name__" => "up", "job" => "a"),
            vec![c(0, 10, 8), c(11, 20, 100)],
        ),
        (
            crate::labels!("__name__" => "up", "job" => "b"),
            vec![c(5, 5, 200)],
        ),
        (
            crate::labels!("__name__" => "x", "job" => "a", "z" => "é"),
            vec![],
        ),
    ]
}

#[test]
fn every_flipped_byte_and_truncation_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index");
    write_index(&p, &small_series(), false);
    let good = std::fs::read(&p).unwrap();
    let bad = dir.path().join("bad");
    let expect_corrupt = |data: &[u8], what: &str| {
        std::fs::write(&bad, data).unwrap();
        match IndexReader::open(&bad) {
            Err(Error::Corruption(c)) => {
                assert_eq!(c.file, bad, "{what}");
                assert!(c.offset <= data.len() as u64, "{what}: offset {}", c.offset);
            }
            other => panic!("{what}: expected corruption, got {other:?}"),
        }
    };
    for i in 0..good.len() {
        for bit in [0x01, 0x80] {
            let mut d = good.clone();
            d[i] ^= bit;
            expect_corrupt(&d, &format!("flip {bit:#x} at {i}"));
        }
    }
    for n in 0..good.len() {
        expect_corrupt(&good[..n], &format!("truncate to {n}"));
    }
    let mut longer = good.clone();
    longer.push(0);
    expect_corrupt(&longer, "appended byte");
}

#[test]
fn corruption_offsets_point_at_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index");
    write_index(&p, &small_series(), false);
    let good = std::fs::read(&p).unwrap();
    let n = good.len();
    let offset_of = |d: Vec<u8>| match IndexReader::from_bytes("f", d) {
        Err(Error::Corruption(c)) => c.offset,
        other => panic!("expected corruption, got {other:?}"),
    };
    let mut d = good.clone();
    d[0] ^= 1;
    assert_eq!(offset_of(d), 0);
    let mut d = good.clone();
    d[4] = 9;
    assert_eq!(offset_of(d), 4);
    let mut d = good.clone();
    d[20] ^= 1;
    assert_eq!(
        offset_of(d),
        n as u64 - 4,
        "CRC mismatch is reported at the CRC"
    );
}

#[test]
fn small_index_and_empty_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index");
    let series = small_series();
    let stats = write_index(&p, &series, false);
    assert_eq!(stats.num_label_names, 3);
    assert_eq!(stats.num_postings, 5);
    assert_eq!(stats.min_time, Some(0));
    assert_eq!(stats.max_time, Some(20));
    let r = IndexReader::open(&p).unwrap();
    check_against_model(&r, &series, &["u".into(), "zz".into()]);
    let mut b = RoaringBitmap::new();
    b.insert(0);
    b.insert(2);
    assert_eq!(r.postings_for_values("job", &["a", "nope"]).unwrap(), b);

    let empty = dir.path().join("empty");
    let stats = IndexWriter::create(&empty, Vec::<String>::new())
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(stats.num_series, 0);
    assert_eq!(stats.min_time, None);
    let r = IndexReader::open(&empty).unwrap();
    check_against_model(&r, &[], &[]);
    assert_eq!(r.size_bytes(), (HEADER_LEN + TOC_LEN + FOOTER_LEN) as u64);
    assert_eq!(r.size_bytes(), 100, "as index.md says");
    assert_eq!(MAGIC, 0x5849_4D54);
    assert_eq!(&std::fs::read(&empty).unwrap()[..4], b"TMIX");
}

#[test]
fn many_labels_and_many_pages() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index");
    let mut series = Vec::new();
    for i in 0..100 {
        let pairs: Vec<(String, String)> = (0..40)
            .map(|j| (format!("l{j:02}"), format!("v{}", (i * j) % 7 + i / 50)))
            .collect();
        let l = Labels::from_pairs(pairs).unwrap();
        let c = (0..i % 5)
            .map(|k| ChunkMeta {
                mint: k * 1000 + i,
                maxt: k * 1000 + 900,
                chunk_ref: (k as u64) << 40 | i as u64,
            })
            .collect();
        series.push((l, c));
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series.dedup_by(|a, b| a.0 == b.0);
    write_index(&p, &series, false);
    let r = IndexReader::open(&p).unwrap();
    check_against_model(&r, &series, &["v1".into()]);
}

#[test]
fn writer_rejects_invalid_input_and_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index");
    let inval =
        |r: crate::Result<u32>| assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    assert!(matches!(
        IndexWriter::create(&p, ["b", "a"]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        IndexWriter::create(&p, ["a", "a"]),
        Err(Error::InvalidArgument(_))
    ));

    let mut w = IndexWriter::create(&p, ["1", "2", "a", "b"]).unwrap();
    let c = |mint, maxt| ChunkMeta {
        mint,
        maxt,
        chunk_ref: 1,
    };
    inval(w.add_series(&Labels::empty(), &[]));
    inval(w.add_series(&crate::labels!("a" => "missing"), &[]));
    inval(w.add_series(&crate::labels!("a" => "1"), &[c(5, 4)]));
    inval(w.add_series(&crate::labels!("a" => "1"), &[c(5, 6), c(4, 9)]));
    assert_eq!(
        w.add_series(&crate::labels!("a" => "1"), &[c(1, 2), c(1, 3)])
            .unwrap(),
        0
    );
    inval(w.add_series(&crate::labels!("a" => "1"), &[]));
    inval(w.add_series(&crate::labels!("a" => "1", "b" => "zzz"), &[]));
    assert_eq!(
        w.add_series(&crate::labels!("a" => "1", "b" => "2"), &[])
            .unwrap(),
        1
    );
    inval(w.add_series(&crate::labels!("a" => "1"), &[]));
    assert_eq!(w.add_series(&crate::labels!("a" => "2"), &[]).unwrap(), 2);
    w.finish().unwrap();

    let r = IndexReader::open(&p).unwrap();
    let series = [
        (crate::labels!("a" => "1"), vec![c(1, 2), c(1, 3)]),
        (crate::labels!("a" => "1", "b" => "2"), vec![]),
        (crate::labels!("a" => "2"), vec![]),
    ];
    assert_eq!(r.num_series(), 3);
    let mut chunks = Vec::new();
    for (id, (l, cs)) in series.iter().enumerate() {
        assert_eq!(&r.series(id as u32, &mut chunks).unwrap(), l);
        assert_eq!(&chunks, cs);
    }
    // Unused symbols stay in the table.
    let syms: Vec<&str> = r.symbols().map(|s| s.unwrap()).collect();
    assert_eq!(syms, ["1", "2", "a", "b"]);
}

#[test]
fn reader_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<IndexReader>();
}

#[test]
fn missing_file_is_io_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        IndexReader::open(&dir.path().join("nope")),
        Err(Error::Io { .. })
    ));
}

/// Writes the seed corpus for the `index` fuzz target (run manually with `--ignored`).
#[test]
#[ignore]
fn write_fuzz_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/index");
    std::fs::create_dir_all(&root).unwrap();
    write_index(&root.join("small"), &small_series(), false);
    write_index(&root.join("small-wide"), &small_series(), true);
    IndexWriter::create(&root.join("empty"), Vec::<String>::new())
        .unwrap()
        .finish()
        .unwrap();
    let good = std::fs::read(root.join("small")).unwrap();
    std::fs::write(root.join("truncated"), &good[..good.len() / 2]).unwrap();
    let mut flipped = good.clone();
    flipped[30] ^= 0x10;
    std::fs::write(root.join("flipped"), flipped).unwrap();
    std::fs::write(root.join("garbage"), b"TMIX\x01\x00\x00\x00not an index").unwrap();
}

/// A quick size and speed measurement (run in release with `--ignored --nocapture`):
/// 100k series, 8 labels each, 4 chunks each; once with ~1.2k label pairs, once with a label
/// that is unique per series (100k values).
#[test]
#[ignore]
fn measure_100k_series() {
    measure(false);
    measure(true);
}

fn measure(unique_pod: bool) {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index");
    let n = 100_000u32;
    let mut series: Vec<Series> = (0..n)
        .map(|i| {
            let metric = i % 200;
            let inst = (i / 200) % 500;
            let pod = if unique_pod {
                i * 7919 % 1_000_003
            } else {
                inst * 7919 % 65536
            };
            let pairs = [
                ("__name__", format!("metric_{metric:03}_total")),
                ("job", format!("job-{}", metric % 10)),
                (
                    "instance",
                    format!("10.0.{}.{}:9100", inst / 250, inst % 250),
                ),
                ("namespace", format!("ns-{}", inst % 20)),
                ("pod", format!("pod-{}-{pod:05x}", inst % 20)),
                (
                    "env",
                    ["prod", "staging", "dev"][(inst % 3) as usize].to_owned(),
                ),
                (
                    "method",
                    ["GET", "POST", "PUT", "DELETE"][(i % 4) as usize].to_owned(),
                ),
                ("code", ["200", "404", "500"][(i % 3) as usize].to_owned()),
            ];
            (Labels::from_pairs(pairs).unwrap(), Vec::new())
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series.dedup_by(|a, b| a.0 == b.0);
    // Chunk refs as a chunk writer would hand them out: 4 chunks of ~150 bytes per series,
    // 30 minutes each with a scrape interval of 15s and some jitter in the start time.
    let base = 1_700_000_000_000i64;
    let mut cref = 8u64;
    for (i, (_, c)) in series.iter_mut().enumerate() {
        let jitter = (i as i64 * 37) % 15_000;
        for k in 0..4i64 {
            let mint = base + jitter + k * 1_800_000;
            let len = 140 + (i as u64 * 13 + k as u64 * 7) % 40;
            c.push(ChunkMeta {
                mint,
                maxt: mint + 1_785_000,
                chunk_ref: 1 << 32 | cref,
            });
            cref += len;
        }
    }
    let t = Instant::now();
    let stats = write_index(&p, &series, false);
    let write = t.elapsed();
    let t = Instant::now();
    let r = IndexReader::open(&p).unwrap();
    let open = t.elapsed();

    // Section sizes, from the TOC.
    let data = std::fs::read(&p).unwrap();
    let toc = data.len() - FOOTER_LEN - TOC_LEN;
    let mut offs: Vec<usize> = (0..7)
        .map(|i| {
            u64::from_le_bytes(data[toc + 8 * i..toc + 8 * i + 8].try_into().unwrap()) as usize
        })
        .collect();
    offs.push(toc);
    let per_series = |i: usize| (offs[i + 1] - offs[i]) as f64 / f64::from(stats.num_series);
    let names = [
        "symbols", "series", "pages", "postings", "values", "names", "sets",
    ];
    let sections: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n}={:.2}", per_series(i)))
        .collect();

    let iters = 10_000u32;
    let t = Instant::now();
    let mut total = 0u64;
    for i in 0..iters {
        let v = format!("ns-{}", i % 20);
        total += r.postings("namespace", &v).unwrap().len();
    }
    let lookup = t.elapsed() / iters;
    let pods = r.label_values("pod").unwrap();
    let three: Vec<&str> = pods
        .iter()
        .step_by(pods.len() / 3)
        .take(3)
        .map(String::as_str)
        .collect();
    let t = Instant::now();
    for _ in 0..iters {
        total += r.postings_for_values("pod", &three).unwrap().len();
    }
    let lookup3 = t.elapsed() / iters;
    let mut chunks = Vec::new();
    let t = Instant::now();
    for id in 0..r.num_series() {
        let l = r.series(id, &mut chunks).unwrap();
        total += l.encoded_len() as u64 + chunks.len() as u64;
    }
    let decode = t.elapsed() / r.num_series();
    // The part of `series()` spent building the `Labels` (labels.rs).
    let pairs: Vec<(String, String)> = series[0]
        .0
        .iter()
        .map(|l| (l.name.to_owned(), l.value.to_owned()))
        .collect();
    let t = Instant::now();
    for _ in 0..iters {
        let l = Labels::from_sorted(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))).unwrap();
        total += l.encoded_len() as u64;
    }
    let build = t.elapsed() / iters;
    eprintln!(
        "unique_pod={unique_pod} series={} size={} bytes ({:.1} B/series: {}) pairs={} \
         symbols={}\n  write={write:?} open={open:?} postings(1 of 20 ns)={lookup:?} \
         postings(3 of {} pods)={lookup3:?} series()={decode:?} (Labels::from_sorted alone \
         {build:?}) (checksum {total})",
        stats.num_series,
        stats.size_bytes,
        stats.size_bytes as f64 / f64::from(stats.num_series),
        sections.join(" "),
        stats.num_postings,
        stats.num_symbols,
        pods.len(),
    );
}

#[test]
fn seed_corpus_never_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/index");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    for e in entries.flatten() {
        fuzz_index(&std::fs::read(e.path()).unwrap());
    }
}
