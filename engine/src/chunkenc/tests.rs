//! Tests of the XOR chunk codec: round trips, the iterator contract, corruption handling,
//! compression figures and (ignored by default) throughput.

use super::*;
use crate::iter::{check_iterator_contract, collect_samples};
use proptest::prelude::*;

/// A small deterministic PRNG (splitmix64) for generated data.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
}

fn encode(samples: &[(i64, f64)]) -> XorChunk {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, v);
    }
    c
}

fn assert_round_trip(samples: &[(i64, f64)]) -> XorChunk {
    let c = encode(samples);
    let got = decode_all(c.bytes()).expect("decodes");
    assert!(
        same_samples(samples, &got),
        "round trip differs:\n want {samples:?}\n  got {got:?}"
    );
    assert_eq!(c.num_samples(), samples.len());
    assert_eq!(num_samples_in(c.bytes()).unwrap(), samples.len());
    assert_eq!(c.first_time(), samples.first().map(|s| s.0));
    assert_eq!(c.last_time(), samples.last().map(|s| s.0));
    assert_eq!(
        c.last_value().map(f64::to_bits),
        samples.last().map(|s| s.1.to_bits())
    );
    c
}

const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn special_values() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        0.1,
        1234.56,
        f64::from_bits(STALE_NAN),
        f64::NAN,
        f64::from_bits(0xfff8_0000_0000_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        -f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9_007_199_254_740_992.0,
        9_007_199_254_740_993.0,
        -9_007_199_254_740_992.0,
        1e300,
        4096.0 * 123_456.0,
        0.015625,
        1e-9,
        123_456.789_012_5,
    ]
}

/// The data shapes of the design brief, 120 samples each. Timestamps are a 15 s grid with
/// uniform ±`jitter` ms noise.
pub(super) fn shape(rng: &mut Rng, name: &str, n: usize, jitter: i64) -> Vec<(i64, f64)> {
    let base = 1_700_000_000_000 + rng.range(0, 15_000);
    let ts: Vec<i64> = (0..n as i64)
        .map(|i| base + i * 15_000 + rng.range(-jitter, jitter))
        .collect();
    let vals: Vec<f64> = match name {
        // Integer counter, +0..=20 per scrape.
        "counter_int" => {
            let mut v = rng.range(0, 1_000_000);
            (0..n)
                .map(|_| {
                    v += rng.range(0, 20);
                    v as f64
                })
                .collect()
        }
        // CPU seconds: a counter of 1/100 s ticks, exposed as ticks / 100.
        "counter_cpu" => {
            let mut v = rng.range(0, 100_000_000);
            (0..n)
                .map(|_| {
                    v += rng.range(0, 300);
                    v as f64 / 100.0
                })
                .collect()
        }
        // Memory bytes: random walk of whole 4 KiB pages.
        "gauge_mem" => {
            let mut v = rng.range(100_000, 1_000_000);
            (0..n)
                .map(|_| {
                    v += rng.range(-16, 16);
                    (v * 4096) as f64
                })
                .collect()
        }
        // Float gauge stepping by -0.5, 0 or +0.5.
        "gauge_half" => {
            let mut v = rng.range(0, 200);
            (0..n)
                .map(|_| {
                    v += rng.range(-1, 1);
                    v as f64 * 0.5
                })
                .collect()
        }
        "constant" => vec![rng.range(0, 100) as f64; n],
        // Arbitrary floats: the XOR path.
        "random_float" => (0..n).map(|_| rng.next_u64() as f64 / 3.7e9).collect(),
        _ => panic!("unknown shape {name}"),
    };
    ts.into_iter().zip(vals).collect()
}

#[test]
fn empty_chunk() {
    let c = XorChunk::new();
    assert_eq!(c.bytes(), &[0, 0]);
    assert_eq!(c.num_samples(), 0);
    assert_eq!(c.first_time(), None);
    assert_eq!(c.last_time(), None);
    assert_eq!(c.last_value(), None);
    assert_eq!(decode_all(c.bytes()).unwrap(), vec![]);
    check_iterator_contract(&[], || c.iter());
    assert!(XorChunk::from_bytes(&[0, 0]).unwrap().bytes() == [0, 0]);
}

#[test]
fn special_values_round_trip_bit_exact() {
    let vals = special_values();
    // Every ordered pair of specials, so every mode switch is exercised.
    let mut samples = Vec::new();
    let mut t = -1_000_000i64;
    for &a in &vals {
        for &b in &vals {
            samples.push((t, a));
            samples.push((t + 15_000, b));
            t += 30_001;
        }
    }
    for chunk in samples.chunks(200) {
        assert_round_trip(chunk);
    }
    assert_round_trip(&samples[..MAX_SAMPLES.min(samples.len())]);
    let stale = assert_round_trip(&[(1, 1.0), (2, f64::from_bits(STALE_NAN)), (3, 2.0)]);
    assert_eq!(decode_all(stale.bytes()).unwrap()[1].1.to_bits(), STALE_NAN);
}

#[test]
fn extreme_timestamps() {
    assert_round_trip(&[(i64::MIN, 1.0), (i64::MAX, 2.0)]);
    assert_round_trip(&[
        (i64::MIN, 1.0),
        (i64::MIN + 1, 1.0),
        (i64::MAX - 1, 1.0),
        (i64::MAX, 1.0),
    ]);
    assert_round_trip(&[(i64::MIN, 0.0), (0, 0.0), (1, 0.0), (i64::MAX, 0.0)]);
    assert_round_trip(&[
        (-5, 1.0),
        (-4, 1.0),
        (-3, 1.0),
        (1 << 62, 1.0),
        ((1 << 62) + 1, 1.0),
    ]);
    assert_round_trip(&[(i64::MAX, f64::NAN)]);
    assert_round_trip(&[(i64::MIN, -0.0)]);
}

#[test]
fn iterator_contract_on_many_shapes() {
    let mut rng = Rng(1);
    let mut sets: Vec<Vec<(i64, f64)>> = vec![
        vec![(0, 1.0)],
        vec![
            (-5, 1.0),
            (0, f64::NAN),
            (1, 2.0),
            (10, -0.0),
            (i64::MAX, 3.0),
        ],
        vec![(i64::MIN, 1.0), (i64::MAX, 1.0)],
        (0..50).map(|i| (i * 10, 7.0)).collect(),
        (0..50).map(|i| (i * 10 + i % 3, 7.0)).collect(),
        (0..50)
            .map(|i| (i * 10, if i % 10 < 5 { 1.0 } else { 2.0 }))
            .collect(),
        (0..50).map(|i| (i * 2, (i / 7) as f64)).collect(),
    ];
    for name in [
        "counter_int",
        "counter_cpu",
        "gauge_mem",
        "gauge_half",
        "constant",
        "random_float",
    ] {
        for jitter in [0, 5] {
            sets.push(shape(&mut rng, name, 120, jitter));
        }
    }
    for s in &sets {
        let c = assert_round_trip(s);
        check_iterator_contract(s, || c.iter());
        let bytes = c.bytes().to_vec();
        check_iterator_contract(s, || XorIter::new(&bytes));
    }
}

#[test]
fn seek_skips_inside_runs() {
    let samples: Vec<(i64, f64)> = (0..1000).map(|i| (i * 15_000, 3.0)).collect();
    let c = assert_round_trip(&samples);
    assert!(
        c.bytes().len() < 20,
        "constant chunk is {} bytes",
        c.bytes().len()
    );
    let mut it = c.iter();
    assert!(it.seek(500 * 15_000 - 1));
    assert_eq!(it.at(), (500 * 15_000, 3.0));
    assert!(it.next());
    assert_eq!(it.at().0, 501 * 15_000);
    assert!(it.seek(999 * 15_000));
    assert!(!it.next());
    assert!(it.err().is_none());
    let mut it = c.iter();
    assert!(!it.seek(999 * 15_000 + 1));
    assert!(it.err().is_none());
}

#[test]
fn chunk_size_and_capacity() {
    assert!(
        std::mem::size_of::<XorChunk>() <= 72,
        "{}",
        std::mem::size_of::<XorChunk>()
    );
    let mut rng = Rng(9);
    let mut c = XorChunk::new();
    assert_eq!(c.capacity_bytes(), 0);
    for (t, v) in shape(&mut rng, "counter_int", 120, 5) {
        c.append(t, v);
    }
    let len = c.bytes().len();
    assert!(c.capacity_bytes() <= len + MIN_SPARE_FOR_TEST + len / 4 + 8);
    c.shrink_to_fit();
    assert_eq!(c.capacity_bytes(), len);
    // Appending after shrinking still works.
    c.append(c.last_time().unwrap() + 1, 1.5);
    assert_eq!(c.num_samples(), 121);
}
const MIN_SPARE_FOR_TEST: usize = 32;

#[test]
fn full_chunk() {
    let mut c = XorChunk::new();
    for i in 0..MAX_SAMPLES as i64 {
        c.append(i * 1000 + (i % 7), (i % 13) as f64);
    }
    assert!(c.is_full());
    let got = decode_all(c.bytes()).unwrap();
    assert_eq!(got.len(), MAX_SAMPLES);
    let i = MAX_SAMPLES as i64 - 1;
    assert_eq!(got[MAX_SAMPLES - 1], (i * 1000 + (i % 7), (i % 13) as f64));
    let mut c = XorChunk::new();
    for i in 0..MAX_SAMPLES as i64 {
        c.append(i * 1000, 5.0);
    }
    assert!(c.bytes().len() < 20);
    assert_eq!(decode_all(c.bytes()).unwrap().len(), MAX_SAMPLES);
}

#[test]
#[should_panic(expected = "full chunk")]
fn append_to_full_chunk_panics() {
    let mut c = XorChunk::new();
    for i in 0..=MAX_SAMPLES as i64 {
        c.append(i, 0.0);
    }
}

#[test]
fn corrupt_chunks_report_errors() {
    let mut rng = Rng(3);
    let s = shape(&mut rng, "counter_int", 120, 5);
    let c = encode(&s);
    let b = c.bytes();
    // Too short, trailing bytes, truncation, bad padding, bad header.
    assert!(decode_all(&[]).is_err());
    assert!(decode_all(&[1]).is_err());
    assert!(decode_all(&[0, 0, 0]).is_err());
    let mut long = b.to_vec();
    long.push(0);
    assert!(decode_all(&long).is_err());
    assert!(decode_all(&b[..b.len() - 1]).is_err());
    for cut in 2..b.len() {
        assert!(decode_all(&b[..cut]).is_err(), "truncated at {cut} decoded");
    }
    let mut more = b.to_vec();
    more[0] = more[0].wrapping_add(1);
    let e = decode_all(&more).unwrap_err();
    assert!(e.offset as usize <= b.len() + 8, "{e}");
    let mut bad_head = vec![1, 0, 0, 3];
    assert!(decode_all(&bad_head).is_err());
    bad_head[3] = 1; // raw value head but no 8 bytes
    assert!(decode_all(&bad_head).is_err());
    // Non-increasing timestamps: two samples with a zero reference delta and residual.
    let mut zero = XorChunk::new();
    zero.append(0, 1.0);
    zero.append(5, 1.0);
    let mut z = zero.bytes().to_vec();
    let hdr = z.len() - 2; // d_ref varint (one byte) then the body
    z[hdr] = 0;
    assert!(decode_all(&z).is_err());
    assert!(XorChunk::from_bytes(&z).is_err());
    // The iterator stays exhausted after an error.
    let mut it = XorIter::new(&z);
    while it.next() {}
    assert!(it.err().is_some());
    assert!(!it.next());
    assert!(!it.seek(i64::MIN));
    assert!(it.err().is_some());
}

#[test]
fn from_bytes_reproduces_the_encoder_state() {
    let mut rng = Rng(5);
    for name in [
        "counter_int",
        "counter_cpu",
        "gauge_mem",
        "gauge_half",
        "constant",
        "random_float",
    ] {
        let s = shape(&mut rng, name, 240, 5);
        let all = encode(&s);
        for cut in [0, 1, 2, 3, 60, 119, 239] {
            let mut c = XorChunk::from_bytes(encode(&s[..cut]).bytes()).unwrap();
            assert_eq!(c.bytes(), encode(&s[..cut]).bytes());
            for &(t, v) in &s[cut..] {
                c.append(t, v);
            }
            assert_eq!(c.bytes(), all.bytes(), "{name} cut at {cut}");
        }
    }
}

#[test]
fn fuzz_function_accepts_valid_and_broken_chunks() {
    let mut rng = Rng(11);
    for name in [
        "counter_int",
        "gauge_mem",
        "gauge_half",
        "constant",
        "random_float",
    ] {
        let c = encode(&shape(&mut rng, name, 120, 5));
        fuzz_xor_chunk(c.bytes());
        let mut b = c.bytes().to_vec();
        for i in 0..b.len() {
            for bit in 0..8 {
                b[i] ^= 1 << bit;
                fuzz_xor_chunk(&b);
                b[i] ^= 1 << bit;
            }
        }
    }
    fuzz_xor_chunk(&[]);
    fuzz_xor_chunk(&[0xff, 0xff, 0, 0, 0xff]);
}

fn arb_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<u64>().prop_map(f64::from_bits),
        2 => prop::sample::select(special_values()),
        2 => (-1000i64..1000).prop_map(|i| i as f64),
        1 => (-100_000i64..100_000).prop_map(|i| i as f64 / 100.0),
        1 => (-64i64..64).prop_map(|i| i as f64 * 0.25),
    ]
}

fn arb_samples() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let deltas = prop_oneof![
        3 => Just(15_000u64),
        3 => 14_990u64..15_010,
        2 => 1u64..100,
        1 => any::<u64>(),
    ];
    (
        any::<i64>(),
        proptest::collection::vec((deltas, arb_value(), any::<bool>()), 0..300),
    )
        .prop_map(|(start, items)| {
            let mut t = start;
            let mut out = Vec::with_capacity(items.len());
            let mut prev = 0.0f64;
            for (i, (d, v, repeat)) in items.into_iter().enumerate() {
                if i > 0 {
                    match t.checked_add_unsigned(d.max(1)) {
                        Some(nt) => t = nt,
                        None => break,
                    }
                }
                let v = if repeat && i > 0 { prev } else { v };
                out.push((t, v));
                prev = v;
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_arbitrary(samples in arb_samples()) {
        let c = encode(&samples);
        let got = decode_all(c.bytes()).unwrap();
        prop_assert!(same_samples(&samples, &got));
        let rebuilt = XorChunk::from_bytes(c.bytes()).unwrap();
        prop_assert_eq!(rebuilt.bytes(), c.bytes());
    }

    #[test]
    fn from_bytes_then_append_equals_append_all(samples in arb_samples(), cut in any::<prop::sample::Index>()) {
        let cut = if samples.is_empty() { 0 } else { cut.index(samples.len() + 1) };
        let mut c = XorChunk::from_bytes(encode(&samples[..cut]).bytes()).unwrap();
        for &(t, v) in &samples[cut..] {
            c.append(t, v);
        }
        let all = encode(&samples);
        prop_assert_eq!(c.bytes(), all.bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzz_xor_chunk(&data);
    }

    #[test]
    fn mutated_chunks_never_panic(
        samples in arb_samples(),
        muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let c = encode(&samples);
        let mut b = c.bytes().to_vec();
        for (i, x) in muts {
            let i = i.index(b.len());
            b[i] ^= x;
        }
        fuzz_xor_chunk(&b);
        let cut = cut.index(b.len() + 1);
        fuzz_xor_chunk(&b[..cut]);
    }

    #[test]
    fn contract_on_arbitrary_samples(samples in arb_samples()) {
        let samples = &samples[..samples.len().min(40)];
        let c = encode(samples);
        check_iterator_contract(samples, || c.iter());
    }
}

/// Bytes per sample of one 120-sample chunk per series, averaged over many series.
fn bytes_per_sample(name: &str, jitter: i64, chunks: usize) -> f64 {
    let mut rng = Rng(42);
    let mut bytes = 0usize;
    for _ in 0..chunks {
        let s = shape(&mut rng, name, 120, jitter);
        let c = encode(&s);
        debug_assert!(same_samples(&s, &decode_all(c.bytes()).unwrap()));
        bytes += c.bytes().len();
    }
    bytes as f64 / (chunks * 120) as f64
}

/// Compression figures; `cargo test -p tidemark-engine chunkenc::tests::compression -- --nocapture`
/// prints them. The bounds are the figures reached plus a small margin.
#[test]
fn compression() {
    // (shape, jitter ms, limit): the figures reached plus about 1.5%; the constant series
    // is held to the design target of 0.12.
    let limits = [
        ("counter_int", 5, 1.32),
        ("counter_cpu", 5, 1.83),
        ("gauge_mem", 5, 1.43),
        ("gauge_half", 5, 0.96),
        ("counter_int", 0, 0.89),
        ("counter_cpu", 0, 1.39),
        ("gauge_mem", 0, 1.0),
        ("gauge_half", 0, 0.53),
        ("constant", 0, 0.12),
        ("random_float", 5, 8.0),
    ];

    let mut report = String::from("\nXOR chunk bytes/sample (120-sample chunks, 15 s interval):\n");
    let mut got = std::collections::HashMap::new();
    for (name, jitter, limit) in limits {
        let bps = bytes_per_sample(name, jitter, 300);
        got.insert((name, jitter), bps);
        report.push_str(&format!("  {name:<13} jitter ±{jitter} ms: {bps:.3}\n"));
        assert!(bps <= limit, "{name} jitter {jitter}: {bps:.3} > {limit}");
    }
    // The mix: 4 integer counters, 1 cpu-seconds counter, 2 memory gauges, 3 float gauges.
    for jitter in [5, 0] {
        let mix = [
            ("counter_int", 4.0),
            ("counter_cpu", 1.0),
            ("gauge_mem", 2.0),
            ("gauge_half", 3.0),
        ];
        let total: f64 = mix.iter().map(|m| m.1).sum();
        let avg = mix.iter().map(|&(n, w)| got[&(n, jitter)] * w).sum::<f64>() / total;
        report.push_str(&format!("  mix (4:1:2:3)  jitter ±{jitter} ms: {avg:.3}\n"));
    }
    eprintln!("{report}");
}

/// Wall time of the fastest of many short repetitions: on a shared machine the fastest run is
/// the one that had a core to itself.
fn best_rate(samples: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    let mut best = std::time::Duration::MAX;
    for _ in 0..reps {
        let start = std::time::Instant::now();
        f();
        best = best.min(start.elapsed());
    }
    samples as f64 / best.as_secs_f64()
}

/// Throughput in samples/s (thread CPU time); run in release:
/// `cargo test --release -p tidemark-engine chunkenc::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let mut rng = Rng(7);
    for name in [
        "counter_int",
        "counter_cpu",
        "gauge_mem",
        "gauge_half",
        "constant",
        "random_float",
    ] {
        let series: Vec<Vec<(i64, f64)>> =
            (0..200).map(|_| shape(&mut rng, name, 120, 5)).collect();
        let n = series.len() * 120;
        let mut chunks = Vec::new();
        let append = best_rate(n, 60, || {
            chunks = series.iter().map(|s| encode(s)).collect::<Vec<_>>();
        });
        let decode = best_rate(n, 60, || {
            let mut sum = 0.0;
            for c in &chunks {
                let mut it = c.iter();
                while it.next() {
                    let (t, v) = it.at();
                    sum += v + t as f64;
                }
            }
            std::hint::black_box(sum);
        });
        // Seek to the last sample: decodes every sample without producing values.
        let seek = best_rate(n, 60, || {
            for (c, s) in chunks.iter().zip(&series) {
                let mut it = c.iter();
                assert!(it.seek(s[119].0));
                std::hint::black_box(it.at());
            }
        });
        eprintln!(
            "{name:<13} append {:>6.1} M/s  decode {:>6.1} M/s  seek-through {:>6.1} M/s",
            append / 1e6,
            decode / 1e6,
            seek / 1e6
        );
    }
    let all = collect_samples(&mut encode(&shape(&mut rng, "counter_int", 10, 0)).iter()).unwrap();
    assert_eq!(all.len(), 10);
}

/// The example in `engine/docs/format/chunk-xor.md`, byte for byte.
#[test]
fn spec_example_bytes() {
    let c = encode(&[
        (1_700_000_000_000, 5.0),
        (1_700_000_015_000, 5.0),
        (1_700_000_030_000, 5.0),
        (1_700_000_045_003, 7.0),
        (1_700_000_060_001, 7.5),
    ]);
    let want = [
        0x05, 0x00, 0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, 0xc0, 0x02, 0x3f, 0xd0, 0x12, 0x20, 0x01,
        0x88, 0x00, 0xc0,
    ];
    assert_eq!(c.bytes(), &want);
}

/// Writes the fuzz seed corpus (valid chunks of every shape and a few broken ones) to
/// `fuzz/corpus/xor_chunk/`; run explicitly after a format change:
/// `cargo test -p tidemark-engine chunkenc::tests::write_fuzz_corpus -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/xor_chunk");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(2024);
    let mut seeds: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), XorChunk::new().bytes().to_vec()),
        (
            "one_sample".into(),
            encode(&[(1_700_000_000_000, 1.0)]).bytes().to_vec(),
        ),
        (
            "extreme_times".into(),
            encode(&[(i64::MIN, -0.0), (i64::MAX, f64::NAN)])
                .bytes()
                .to_vec(),
        ),
    ];
    let specials: Vec<(i64, f64)> = special_values()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as i64 * 1000, v))
        .collect();
    seeds.push(("specials".into(), encode(&specials).bytes().to_vec()));
    for name in [
        "counter_int",
        "counter_cpu",
        "gauge_mem",
        "gauge_half",
        "constant",
        "random_float",
    ] {
        seeds.push((
            name.into(),
            encode(&shape(&mut rng, name, 120, 5)).bytes().to_vec(),
        ));
    }
    let good = encode(&shape(&mut rng, "counter_int", 30, 5))
        .bytes()
        .to_vec();
    seeds.push(("broken_truncated".into(), good[..good.len() - 3].to_vec()));
    let mut trailing = good.clone();
    trailing.push(0);
    seeds.push(("broken_trailing_byte".into(), trailing));
    let mut count = good.clone();
    count[0] ^= 0x10;
    seeds.push(("broken_count".into(), count));
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x5a;
    seeds.push(("broken_bits".into(), flipped));
    seeds.push(("broken_head".into(), vec![2, 0, 0, 3, 1]));
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
