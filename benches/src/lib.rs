//! Data generators shared by Tidemark's benchmarks, so every benchmark describes and uses the
//! same, realistic data shapes.
//!
//! Series labels look like a Kubernetes cluster scraped by Prometheus: 1,000 metric names,
//! 10 jobs, 50 namespaces, and pods exposing 10 series each, so 1,000,000 series have a `pod`
//! label with 100,000 distinct values (and an `instance` per pod).
//!
//! Sample shapes (15 s scrape interval, timestamps jittered by up to ±5 ms):
//! - integer counters growing by a jittered increment (0..=20 per scrape);
//! - float counters (CPU seconds, 0.01 resolution);
//! - integer gauges doing a random walk in steps of 4096 (memory bytes);
//! - float gauges doing a random walk in steps of ±0.5;
//! - constant series (perfectly regular timestamps, one value) for the best case.

use tidemark_engine::{labels::LabelsBuilder, Labels};

pub mod exporter;

/// A small, fast, deterministic random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform integer in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Labels of series number `i` (see the module docs for the shape).
pub fn series_labels(i: u64) -> Labels {
    let pod = i / 10;
    let mut b = LabelsBuilder::new();
    b.set("__name__", &format!("metric_{}", i % 1000));
    b.set("job", &format!("job-{}", i % 10));
    b.set("namespace", &format!("ns-{}", pod % 50));
    let ip = format!(
        "10.{}.{}.{}:9100",
        pod / 62_500 % 250,
        pod / 250 % 250,
        pod % 250
    );
    b.set("instance", &ip);
    b.set("pod", &format!("pod-{pod}"));
    b.build().expect("valid labels")
}

/// The value shapes of the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Integer counter with jittered increments.
    Counter,
    /// Float counter with 0.01 resolution.
    FloatCounter,
    /// Integer gauge, random walk in steps of 4096.
    IntGauge,
    /// Float gauge, random walk in steps of ±0.5.
    FloatGauge,
    /// Constant value, regular timestamps.
    Constant,
}

/// The mix used for "realistic" figures: shape of series `i`.
pub fn realistic_shape(i: u64) -> Shape {
    match i % 10 {
        0..=3 => Shape::Counter,
        4 => Shape::FloatCounter,
        5..=6 => Shape::IntGauge,
        7 => Shape::FloatGauge,
        _ => Shape::Constant,
    }
}

/// `n` samples of the given shape starting at `start` ms, 15 s apart.
pub fn samples(shape: Shape, seed: u64, start: i64, n: usize) -> Vec<(i64, f64)> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    let mut v: f64 = match shape {
        Shape::Counter => r.below(1_000_000) as f64,
        Shape::FloatCounter => (r.below(10_000_000) as f64) / 100.0,
        Shape::IntGauge => (r.below(1 << 20) * 4096) as f64,
        Shape::FloatGauge => (r.below(100) as f64) / 2.0,
        Shape::Constant => 1.0,
    };
    for k in 0..n {
        let jitter = if shape == Shape::Constant {
            0
        } else {
            r.below(11) as i64 - 5
        };
        let t = start + k as i64 * 15_000 + jitter;
        out.push((t, v));
        v = match shape {
            Shape::Counter => v + r.below(21) as f64,
            Shape::FloatCounter => ((v * 100.0).round() + r.below(50) as f64) / 100.0,
            Shape::IntGauge => (v + (r.below(5) as f64 - 2.0) * 4096.0).max(0.0),
            Shape::FloatGauge => v + if r.below(2) == 0 { 0.5 } else { -0.5 },
            Shape::Constant => v,
        };
    }
    out
}

/// The PromQL benchmark's data and queries, shared by the criterion bench, the side-by-side
/// harness against Prometheus and the peak-heap harness, so all three measure the same thing.
///
/// 10,000 series × 2 h at 15 s (480 samples each, timestamps on the 15 s grid):
/// - 9,000 `http_requests_total` counters: 10 namespaces, 900 pods, 10 `code`s per pod,
///   growing by 0..20 per scrape;
/// - 1,000 `req_duration_seconds_bucket` counters: 100 histograms (`handler`) × 10 `le`
///   buckets, bucket `b` growing by `(b + 1) × 0..5` per scrape (cumulative counts stay
///   monotonic in `le` only statistically, as with real scrapes that race).
pub mod promql {
    use tidemark_engine::{Db, Labels};

    /// Scrape interval and query step (ms).
    pub const STEP: i64 = 15_000;
    /// Samples per series, and steps per query (2 h at 15 s).
    pub const POINTS: i64 = 480;

    /// The four queries of the PromQL speed target, with short names for tables.
    pub const QUERIES: [(&str, &str); 4] = [
        (
            "sum_by_rate",
            "sum by (namespace) (rate(http_requests_total[5m]))",
        ),
        (
            "histogram_quantile",
            "histogram_quantile(0.99, sum by (le) (rate(req_duration_seconds_bucket[5m])))",
        ),
        ("topk", "topk(10, rate(http_requests_total[5m]))"),
        (
            "regex_selection",
            "sum(rate(http_requests_total{pod=~\"pod-1.*\"}[5m]))",
        ),
    ];

    /// One series: label pairs and `(timestamp ms, value)` samples.
    pub type InputSeries = (Vec<(String, String)>, Vec<(i64, f64)>);

    /// The series described in the module docs (deterministic).
    pub fn data() -> Vec<InputSeries> {
        let mut r = crate::Rng::new(7);
        let mut out: Vec<InputSeries> = Vec::new();
        for i in 0..9000u64 {
            let pod = i / 10;
            let labels = vec![
                ("__name__".to_owned(), "http_requests_total".to_owned()),
                ("namespace".to_owned(), format!("ns-{}", pod % 10)),
                ("pod".to_owned(), format!("pod-{pod}")),
                ("code".to_owned(), format!("{}", 200 + (i % 10))),
            ];
            let mut v = r.below(1000) as f64;
            let s = (0..POINTS)
                .map(|k| {
                    v += r.below(20) as f64;
                    (k * STEP, v)
                })
                .collect();
            out.push((labels, s));
        }
        let bounds = [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
        ];
        for h in 0..100u64 {
            let mut counts = [0f64; 10];
            let mut series: Vec<Vec<(i64, f64)>> = (0..10)
                .map(|_| Vec::with_capacity(POINTS as usize))
                .collect();
            for k in 0..POINTS {
                for (b, c) in counts.iter_mut().enumerate() {
                    *c += (r.below(5) * (b as u64 + 1)) as f64;
                    series[b].push((k * STEP, *c));
                }
            }
            for (b, s) in series.into_iter().enumerate() {
                out.push((
                    vec![
                        (
                            "__name__".to_owned(),
                            "req_duration_seconds_bucket".to_owned(),
                        ),
                        ("handler".to_owned(), format!("/h{h}")),
                        ("le".to_owned(), bounds[b].to_owned()),
                    ],
                    s,
                ));
            }
        }
        out
    }

    /// Appends `input` to `db`, one commit per scrape (all series' k-th samples together), as
    /// a scraper would.
    pub fn load(db: &Db, input: &[InputSeries]) -> Result<(), String> {
        let labels: Vec<Labels> = input
            .iter()
            .map(|(l, _)| Labels::from_pairs(l.clone()).ok_or(format!("invalid labels {l:?}")))
            .collect::<Result<_, _>>()?;
        let points = input.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        for k in 0..points {
            let mut app = db.appender();
            for (i, (_, s)) in input.iter().enumerate() {
                if let Some(&(t, v)) = s.get(k) {
                    app.append(&labels[i], t, v)
                        .map_err(|e| format!("append to {}: {e}", labels[i]))?;
                }
            }
            app.commit().map_err(|e| format!("commit: {e}"))?;
        }
        Ok(())
    }
}

/// Resident set size of this process in bytes (Linux `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_increasing_in_time_and_deterministic() {
        for shape in [
            Shape::Counter,
            Shape::FloatCounter,
            Shape::IntGauge,
            Shape::FloatGauge,
            Shape::Constant,
        ] {
            let a = samples(shape, 7, 0, 500);
            assert_eq!(a, samples(shape, 7, 0, 500));
            assert!(a.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert_eq!(series_labels(75).get("pod"), Some("pod-7"));
    }
}

#[cfg(test)]
mod uniq {
    /// Benchmarks append one sample per series number: two numbers must never share labels.
    #[test]
    fn labels_are_unique() {
        let mut seen = std::collections::HashMap::new();
        for i in (0..2_000_000u64).step_by(7) {
            let l = super::series_labels(i);
            if let Some(j) = seen.insert(l.clone(), i) {
                panic!("{i} and {j} share {l}");
            }
        }
    }
}
