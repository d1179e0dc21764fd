//! Differential PromQL test: the same data is written to Debian's Prometheus 3.5 (by remote
//! write, default feature flags) and to a Tidemark database, then every query below runs as
//! instant queries at several times and as range queries at two steps on both; results must
//! agree (same series, same labels, values within relative error 1e-6, same error types, same
//! annotations: `warnings` and `infos`).
//! Differences that are understood and accepted are listed, with the reason, in
//! `KNOWN_DIFFERENCES` (and `KNOWN_EXPERIMENTAL_DIFFERENCES` for the experimental functions'
//! suite); an entry that no longer differs fails the test.
//!
//! Samples are 15 s apart from 0, and most evaluation times are multiples of 15 s, so samples
//! sit exactly on the left edge of lookback and range windows all the time: Prometheus 3's
//! windows are left-open, `(t - d, t]`, and the queries below exercise that edge on purpose
//! (`count_over_time(x[15s])` sees one sample, not two; an instant selector at exactly 5m
//! after the last sample before a gap sees nothing).

use std::collections::BTreeMap;

use tidemark_engine::{Db, DbOptions, Labels};
use tidemark_query::{EngineOptions, Features, QueryEngine, QueryError, Value};
use tidemark_tests::prom::{
    compare, compare_ordered, InputSeries, InstantSample, Point, PromOptions, PromResult,
    PromServer, RangeSeries,
};

const STEP: i64 = 15_000;
const POINTS: i64 = 240; // one hour

/// Queries whose results are known to differ, with the reason (none today).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// Why range queries of `info()` differ: Prometheus 3.5's range-query `info()` attaches data
/// labels across series and steps (a `job="db"` series gets `target_info`'s `version` of an
/// `api` instance, and a version that changed half-way stays at its old value), while its
/// instant queries — and Tidemark at every step — join each series with its own instance's
/// info series at that step. An upstream bug in the experimental function, not copied.
const INFO_RANGE: &str = "Prometheus 3.5's range-query info() mixes info labels across series \
    and steps (upstream bug in the experimental function); instant queries agree";

/// The same for the experimental functions' suite (matched as substrings of the failure
/// lines, so `range info(` covers only range evaluations of `info` queries).
const KNOWN_EXPERIMENTAL_DIFFERENCES: &[(&str, &str)] = &[
    ("range info(", INFO_RANGE),
    ("range sum by (version) (info(", INFO_RANGE),
];

/// Queries whose annotations (`warnings`/`infos`) are known to differ from Prometheus 3.5's,
/// with the reason (none today); every other query must agree on them too.
const KNOWN_ANNOTATION_DIFFERENCES: &[(&str, &str)] = &[];

fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut s = seed;
    move |n| {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }
}

fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Realistic data: counters (one resets, one has a gap, one ends with a stale marker),
/// gauges, a classic histogram and a summary.
fn data() -> Vec<InputSeries> {
    let mut r = rng(42);
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let mut out: Vec<InputSeries> = Vec::new();
    for (job, inst) in [
        ("api", "10.0.0.1:80"),
        ("api", "10.0.0.2:80"),
        ("db", "10.0.1.1:5432"),
    ] {
        for method in ["GET", "POST"] {
            let mut v = r(1000) as f64;
            let mut s = Vec::new();
            for k in 0..POINTS {
                let t = k * STEP;
                if inst == "10.0.0.2:80" && method == "POST" && (100..140).contains(&k) {
                    continue; // a 10-minute gap
                }
                if inst == "10.0.1.1:5432" && method == "GET" && k == 120 {
                    v = 3.0; // counter reset
                }
                if inst == "10.0.0.1:80" && method == "POST" && k == 180 {
                    s.push((t, stale));
                    break; // the target went away
                }
                s.push((t, v));
                v += r(20) as f64;
            }
            out.push((
                l(&[
                    ("__name__", "http_requests_total"),
                    ("job", job),
                    ("instance", inst),
                    ("method", method),
                ]),
                s,
            ));
        }
        let mut g = r(100) as f64 / 4.0;
        let gauge: Vec<(i64, f64)> = (0..POINTS)
            .map(|k| {
                g += (r(5) as f64 - 2.0) * 0.5;
                (k * STEP, g)
            })
            .collect();
        out.push((
            l(&[
                ("__name__", "node_temp_celsius"),
                ("job", job),
                ("instance", inst),
            ]),
            gauge,
        ));
    }
    // A classic histogram per job.
    for job in ["api", "db"] {
        let bounds = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
        let mut counts = [0f64; 6];
        let (mut sum, mut count) = (0.0, 0.0);
        let mut series: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 8];
        for k in 0..POINTS {
            for _ in 0..r(10) {
                let obs = r(1200) as f64 / 1000.0;
                for (b, c) in bounds.iter().zip(counts.iter_mut()) {
                    let ub: f64 = if *b == "+Inf" {
                        f64::INFINITY
                    } else {
                        b.parse().unwrap()
                    };
                    if obs <= ub {
                        *c += 1.0;
                    }
                }
                sum += obs;
                count += 1.0;
            }
            for (i, c) in counts.iter().enumerate() {
                series[i].push((k * STEP, *c));
            }
            series[6].push((k * STEP, sum));
            series[7].push((k * STEP, count));
        }
        for (i, b) in bounds.iter().enumerate() {
            out.push((
                l(&[
                    ("__name__", "req_duration_seconds_bucket"),
                    ("job", job),
                    ("le", b),
                ]),
                series[i].clone(),
            ));
        }
        out.push((
            l(&[("__name__", "req_duration_seconds_sum"), ("job", job)]),
            series[6].clone(),
        ));
        out.push((
            l(&[("__name__", "req_duration_seconds_count"), ("job", job)]),
            series[7].clone(),
        ));
    }
    // A summary.
    for q in ["0.5", "0.9", "0.99"] {
        let base: f64 = q.parse().unwrap();
        let s: Vec<(i64, f64)> = (0..POINTS)
            .map(|k| (k * STEP, base + (r(100) as f64) / 1000.0))
            .collect();
        out.push((l(&[("__name__", "rpc_seconds"), ("quantile", q)]), s));
    }
    // Info metrics for `info()`: target_info for two instances (one changes its version
    // half-way, one has a `method` data label that its series already carry), build_info for
    // the db instance.
    let info = |pairs: &[(&str, &str)], from: i64, to: i64| -> InputSeries {
        (l(pairs), (from..to).map(|k| (k * STEP, 1.0)).collect())
    };
    out.push(info(
        &[
            ("__name__", "target_info"),
            ("job", "api"),
            ("instance", "10.0.0.1:80"),
            ("version", "1.0"),
        ],
        0,
        POINTS / 2,
    ));
    out.push(info(
        &[
            ("__name__", "target_info"),
            ("job", "api"),
            ("instance", "10.0.0.1:80"),
            ("version", "1.1"),
        ],
        POINTS / 2,
        POINTS,
    ));
    out.push(info(
        &[
            ("__name__", "target_info"),
            ("job", "api"),
            ("instance", "10.0.0.2:80"),
            ("version", "1.0"),
            ("method", "PUT"),
        ],
        0,
        POINTS,
    ));
    out.push(info(
        &[
            ("__name__", "build_info"),
            ("job", "db"),
            ("instance", "10.0.1.1:5432"),
            ("revision", "abc"),
        ],
        0,
        POINTS,
    ));
    out
}

const QUERIES: &[&str] = &[
    // Selectors and modifiers.
    "http_requests_total",
    "http_requests_total{job=\"api\"}",
    "http_requests_total{job=~\"a.*\", method!=\"GET\"}",
    "http_requests_total{instance!~\"10\\\\.0\\\\.0\\\\..*\"}",
    "{__name__=~\"node_.*\"}",
    "http_requests_total offset 5m",
    "http_requests_total offset -2m",
    "node_temp_celsius @ 1200",
    "node_temp_celsius @ 1200 offset 1m",
    "nonexistent_metric",
    // Rates and friends.
    "rate(http_requests_total[5m])",
    "rate(http_requests_total[1m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "delta(node_temp_celsius[5m])",
    "idelta(node_temp_celsius[5m])",
    "deriv(node_temp_celsius[10m])",
    "predict_linear(node_temp_celsius[10m], 3600)",
    "resets(http_requests_total[30m])",
    "changes(node_temp_celsius[5m])",
    "holt_winters(node_temp_celsius[10m], 0.5, 0.5)",
    "rate(http_requests_total[5m] offset 10m)",
    "rate(node_temp_celsius[5m])",
    "increase(rpc_seconds[5m])",
    "irate(node_temp_celsius[5m])",
    "rate(node_temp_celsius[15s])",
    "sum(rate({__name__=~\"node_temp_celsius|rpc_seconds|http_requests_total\"}[5m]))",
    "delta(http_requests_total[5m])",
    "histogram_quantile(0.5, rate(node_temp_celsius[5m]))",
    "histogram_quantile(NaN, sum by (le) (req_duration_seconds_bucket))",
    "quantile(NaN, node_temp_celsius)",
    // Over-time functions.
    "avg_over_time(node_temp_celsius[5m])",
    "min_over_time(node_temp_celsius[5m])",
    "max_over_time(node_temp_celsius[5m])",
    "sum_over_time(node_temp_celsius[5m])",
    "count_over_time(http_requests_total[5m])",
    "stddev_over_time(node_temp_celsius[10m])",
    "stdvar_over_time(node_temp_celsius[10m])",
    "last_over_time(http_requests_total[5m])",
    "present_over_time(http_requests_total[5m])",
    "quantile_over_time(0.9, node_temp_celsius[10m])",
    "absent_over_time(nonexistent_metric[5m])",
    "absent_over_time(http_requests_total[5m])",
    // Aggregations.
    "sum(rate(http_requests_total[5m]))",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum without (instance) (rate(http_requests_total[5m]))",
    "avg by (job) (node_temp_celsius)",
    "min(node_temp_celsius)",
    "max by (job) (node_temp_celsius)",
    "count by (method) (http_requests_total)",
    "group by (job) (http_requests_total)",
    "stddev(node_temp_celsius)",
    "stdvar by (job) (node_temp_celsius)",
    "quantile(0.75, node_temp_celsius)",
    "quantile by (job) (0.5, rate(http_requests_total[5m]))",
    "count_values(\"temp\", round(node_temp_celsius))",
    "topk(2, rate(http_requests_total[5m]))",
    "bottomk(1, node_temp_celsius)",
    "topk by (job) (1, http_requests_total)",
    // Histograms and summaries.
    "histogram_quantile(0.99, sum by (le) (rate(req_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (job, le) (rate(req_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.9, req_duration_seconds_bucket)",
    // The native-histogram functions skip float samples: empty on this data, except
    // histogram_fraction, which 3.5 also computes from classic buckets.
    "histogram_count(req_duration_seconds_bucket)",
    "histogram_sum(rate(req_duration_seconds_bucket[5m]))",
    "histogram_avg(req_duration_seconds_bucket)",
    "histogram_stddev(req_duration_seconds_bucket)",
    "histogram_fraction(0, 0.5, req_duration_seconds_bucket)",
    "histogram_fraction(0.1, 0.7, rate(req_duration_seconds_bucket[5m]))",
    "histogram_fraction(0.3, +Inf, sum by (le) (req_duration_seconds_bucket))",
    "histogram_quantile(0.9, {__name__=~\"req_duration_seconds_bucket|rpc_seconds\"})",
    "rate(req_duration_seconds_sum[5m]) / rate(req_duration_seconds_count[5m])",
    "rpc_seconds{quantile=\"0.99\"}",
    "max(rpc_seconds) by (quantile)",
    // Operators.
    "http_requests_total * 2",
    "-node_temp_celsius",
    "node_temp_celsius - 20",
    "2 ^ node_temp_celsius / 1e6",
    "node_temp_celsius % 3",
    "node_temp_celsius > 25",
    "node_temp_celsius > bool 25",
    "25 < node_temp_celsius",
    "node_temp_celsius == node_temp_celsius",
    "node_temp_celsius != bool 25",
    "rate(http_requests_total[5m]) / on(job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))",
    "sum by (job, instance) (rate(http_requests_total[5m])) * on(job, instance) group_right node_temp_celsius",
    "http_requests_total / ignoring(method) group_left node_temp_celsius",
    "node_temp_celsius * on(instance) group_left(job) count by (instance, job) (http_requests_total)",
    "http_requests_total and node_temp_celsius",
    "http_requests_total and on(instance) node_temp_celsius > 26",
    "http_requests_total unless on(job) node_temp_celsius{job=\"db\"}",
    "node_temp_celsius or http_requests_total",
    "http_requests_total + node_temp_celsius",
    "http_requests_total + ignoring(method) node_temp_celsius",
    "1 + 2 * 3 ^ 2",
    "(1 + 2) * 3",
    "2 ^ 3 ^ 2",
    "time()",
    "vector(1)",
    "scalar(sum(node_temp_celsius))",
    "node_temp_celsius * scalar(count(node_temp_celsius))",
    // Element-wise functions.
    "abs(node_temp_celsius - 25)",
    "ceil(node_temp_celsius)",
    "floor(node_temp_celsius)",
    "round(node_temp_celsius)",
    "round(node_temp_celsius, 5)",
    "round(node_temp_celsius, 0.3)",
    "exp(node_temp_celsius / 10)",
    "ln(node_temp_celsius)",
    "log2(node_temp_celsius)",
    "log10(node_temp_celsius)",
    "sqrt(node_temp_celsius)",
    "sgn(node_temp_celsius - 25)",
    "clamp(node_temp_celsius, 20, 30)",
    "clamp_min(node_temp_celsius, 25)",
    "clamp_max(node_temp_celsius, 25)",
    "sin(node_temp_celsius)",
    "cos(node_temp_celsius)",
    "tan(node_temp_celsius)",
    "asin(node_temp_celsius / 100)",
    "acos(node_temp_celsius / 100)",
    "atan(node_temp_celsius)",
    "sinh(node_temp_celsius / 10)",
    "cosh(node_temp_celsius / 10)",
    "tanh(node_temp_celsius / 10)",
    "asinh(node_temp_celsius)",
    "acosh(node_temp_celsius)",
    "atanh(node_temp_celsius / 100)",
    "deg(node_temp_celsius)",
    "rad(node_temp_celsius)",
    "pi()",
    "timestamp(node_temp_celsius)",
    "timestamp(node_temp_celsius offset 1m)",
    "absent(nonexistent_metric{job=\"x\"})",
    "absent(node_temp_celsius)",
    "label_replace(node_temp_celsius, \"host\", \"$1\", \"instance\", \"([^:]+):.*\")",
    "label_replace(node_temp_celsius, \"job\", \"\", \"job\", \".*\")",
    "label_join(node_temp_celsius, \"id\", \"/\", \"job\", \"instance\")",
    "day_of_month()",
    "day_of_week()",
    "hour(node_temp_celsius * 1000)",
    "minute()",
    "month()",
    "year()",
    "days_in_month()",
    "day_of_year()",
    "sort(node_temp_celsius)",
    "sort_desc(node_temp_celsius)",
    // Window edges (samples every 15 s; most evaluation times are multiples of 15 s).
    "count_over_time(node_temp_celsius[15s])",
    "count_over_time(node_temp_celsius[1m])",
    "last_over_time(node_temp_celsius[15s] offset 15s)",
    "sum_over_time(http_requests_total[30s] @ 1500)",
    "http_requests_total{instance=\"10.0.0.2:80\", method=\"POST\"}",
    "timestamp(http_requests_total{instance=\"10.0.0.2:80\"})",
    "node_temp_celsius @ 1500 offset 5m",
    "count_over_time(node_temp_celsius[1m:15s])",
    "count_over_time(node_temp_celsius[5m:1m] @ 1500)",
    // 3.x regexes: `.` matches a newline too.
    "http_requests_total{job=~\"(?s).*\", method=~\"G.T\"}",
    "label_replace(node_temp_celsius, \"x\", \"$1\", \"job\", \"(.)\")",
    // Functions 3.5 only knows with promql-experimental-functions (off here): errors.
    "sort_by_label(node_temp_celsius, \"job\")",
    "limitk(1, node_temp_celsius)",
    "mad_over_time(node_temp_celsius[5m])",
    "double_exponential_smoothing(node_temp_celsius[10m], 0.5, 0.5)",
    "atan2(1, 2)",
    "node_temp_celsius atan2 node_temp_celsius",
    // Subqueries.
    "max_over_time(rate(http_requests_total[1m])[10m:1m])",
    "avg_over_time(node_temp_celsius[10m:])",
    "rate(http_requests_total[5m:30s])",
    "min_over_time(sum by (job) (node_temp_celsius)[15m:2m] offset 1m)",
    // Errors.
    "sum(",
    "rate(node_temp_celsius)",
    "http_requests_total + on(job) node_temp_celsius",
    "{job=~\".*\"}",
    "unknown_function(x)",
    "label_replace(node_temp_celsius, \"1x\", \"\", \"job\", \".*\")",
    "holt_winters(node_temp_celsius[10m], 1.5, 0.5)",
];

/// Systematic combinations on top of the hand-written list, so every function, aggregation
/// and operator is met with several inputs, windows and modifiers.
fn generated_queries() -> Vec<String> {
    let mut q = Vec::new();
    let counters = [
        "http_requests_total",
        "http_requests_total{job=\"api\"}",
        "req_duration_seconds_count",
    ];
    let gauges = [
        "node_temp_celsius",
        "rpc_seconds",
        "node_temp_celsius{instance=~\"10.0.0.*\"}",
    ];
    for f in ["rate", "irate", "increase", "resets"] {
        for sel in counters {
            for w in ["30s", "2m", "5m", "17m"] {
                q.push(format!("{f}({sel}[{w}])"));
            }
            q.push(format!("{f}({sel}[5m] offset 3m)"));
        }
    }
    for f in [
        "delta",
        "idelta",
        "deriv",
        "changes",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "last_over_time",
        "present_over_time",
    ] {
        for sel in gauges {
            for w in ["1m", "5m", "11m"] {
                q.push(format!("{f}({sel}[{w}])"));
            }
        }
        q.push(format!("{f}(node_temp_celsius[5m:45s])"));
    }
    for p in ["0", "0.25", "0.5", "0.99", "1", "-1", "2"] {
        q.push(format!("quantile_over_time({p}, node_temp_celsius[10m])"));
        q.push(format!("quantile({p}, node_temp_celsius)"));
        q.push(format!(
            "histogram_quantile({p}, sum by (le) (rate(req_duration_seconds_bucket[5m])))"
        ));
    }
    for d in ["60", "600", "-300"] {
        q.push(format!("predict_linear(node_temp_celsius[10m], {d})"));
    }
    for agg in [
        "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
    ] {
        for grouping in [
            "",
            " by (job)",
            " without (instance)",
            " by (method, job)",
            " without (job, instance, method)",
        ] {
            q.push(format!("{agg}{grouping} (rate(http_requests_total[5m]))"));
        }
        q.push(format!("{agg} by (job) (node_temp_celsius)"));
    }
    for k in ["1", "3", "0", "100"] {
        q.push(format!("topk({k}, node_temp_celsius)"));
        q.push(format!("bottomk by (job) ({k}, node_temp_celsius)"));
    }
    q.push("count_values(\"v\", http_requests_total)".to_owned());
    q.push("count_values by (job) (\"v\", round(node_temp_celsius))".to_owned());
    for f in [
        "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "sin", "cos", "tan",
        "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad",
    ] {
        q.push(format!("{f}(node_temp_celsius / 30)"));
        q.push(format!("{f}(-rpc_seconds)"));
    }
    for f in [
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
        "month",
        "year",
    ] {
        q.push(format!("{f}(node_temp_celsius * 100000)"));
        q.push(format!("{f}(vector(86400 * 59.5))"));
    }
    for op in ["+", "-", "*", "/", "%", "^"] {
        q.push(format!("node_temp_celsius {op} 3"));
        q.push(format!("3 {op} node_temp_celsius"));
        q.push(format!(
            "rate(http_requests_total[5m]) {op} on(instance) group_left node_temp_celsius"
        ));
        q.push(format!("sum by (job) (node_temp_celsius) {op} ignoring(method) sum by (job, method) (http_requests_total) "));
    }
    for op in ["==", "!=", ">", "<", ">=", "<="] {
        q.push(format!("node_temp_celsius {op} 25"));
        q.push(format!("node_temp_celsius {op} bool 25"));
        q.push(format!("25 {op} node_temp_celsius"));
        q.push(format!(
            "node_temp_celsius {op} on(instance) group_left max by (instance) (node_temp_celsius)"
        ));
        q.push(format!("1 {op} bool 2"));
    }
    for op in ["and", "or", "unless"] {
        q.push(format!("http_requests_total {op} node_temp_celsius > 25"));
        q.push(format!(
            "http_requests_total {op} on(job) node_temp_celsius > 25"
        ));
        q.push(format!(
            "node_temp_celsius {op} ignoring(instance) rpc_seconds"
        ));
    }
    for (r, st) in [("10m", "1m"), ("5m", ""), ("30m", "5m"), ("3m", "7s")] {
        q.push(format!(
            "max_over_time(sum(rate(http_requests_total[1m]))[{r}:{st}])"
        ));
        q.push(format!(
            "avg_over_time(node_temp_celsius[{r}:{st}] offset 2m)"
        ));
    }
    q
}

fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|x| (x.name.to_owned(), x.value.to_owned()))
        .collect()
}

fn point(t: i64, v: f64) -> Point {
    Point {
        t_ms: t,
        v,
        raw: String::new(),
    }
}

fn to_prom(r: Result<tidemark_query::QueryResult, QueryError>) -> PromResult {
    match r {
        Err(e) => PromResult::Error {
            error_type: e.kind.as_str().to_owned(),
            error: e.message,
        },
        Ok(r) => match r.value {
            Value::Scalar { t, v } => PromResult::Scalar(point(t, v)),
            Value::String { t, s } => PromResult::String { t_ms: t, value: s },
            Value::Vector(v) => PromResult::Vector(
                v.into_iter()
                    .map(|s| InstantSample {
                        metric: labels_map(&s.labels),
                        point: point(s.t, s.v),
                    })
                    .collect(),
            ),
            Value::Matrix(m) => PromResult::Matrix(
                m.into_iter()
                    .map(|s| RangeSeries {
                        metric: labels_map(&s.labels),
                        points: s.points.into_iter().map(|p| point(p.t, p.v)).collect(),
                    })
                    .collect(),
            ),
        },
    }
}

#[test]
#[ignore = "debugging aid: TIDEMARK_DIFF_QUERY and TIDEMARK_DIFF_TIME"]
fn debug_one_query() {
    let prom = PromServer::start().unwrap_or_else(|e| panic!("{e}"));
    let input = data();
    prom.remote_write().write(&input).expect("remote write");
    let dir = tempfile::tempdir().unwrap();
    let db = load_tidemark(dir.path(), &input);
    let q = std::env::var("TIDEMARK_DIFF_QUERY").unwrap();
    let t: i64 = std::env::var("TIDEMARK_DIFF_TIME")
        .unwrap()
        .parse()
        .unwrap();
    eprintln!("prometheus: {:?}", prom.api().query(&q, t).unwrap().result);
    eprintln!(
        "tidemark:   {:?}",
        to_prom(QueryEngine::new(Default::default()).instant(&db, &q, t))
    );
}

/// Loads `input` into a new database in the same order as remote write (by timestamp).
fn load_tidemark(dir: &std::path::Path, input: &[InputSeries]) -> Db {
    let db = Db::open(
        dir,
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    let mut all: Vec<(i64, usize, f64)> = Vec::new();
    for (i, (_, s)) in input.iter().enumerate() {
        all.extend(s.iter().map(|&(t, v)| (t, i, v)));
    }
    all.sort_by_key(|&(t, i, _)| (t, i));
    let labels: Vec<Labels> = input
        .iter()
        .map(|(l, _)| Labels::from_pairs(l.clone()).unwrap())
        .collect();
    for chunk in all.chunks(500) {
        let mut app = db.appender();
        for &(t, i, v) in chunk {
            app.append(&labels[i], t, v).unwrap();
        }
        app.commit().unwrap();
    }
    db
}

/// Queries of the experimental functions, compared with a Prometheus started with
/// `--enable-feature=promql-experimental-functions` (and Tidemark with the same feature).
const EXPERIMENTAL_QUERIES: &[&str] = &[
    "double_exponential_smoothing(node_temp_celsius[15m], 0.1, 0.9)",
    "double_exponential_smoothing(node_temp_celsius[15m], 0.9, 0.1)",
    "double_exponential_smoothing(node_temp_celsius[10m], 0.5, 0.5)",
    "double_exponential_smoothing(node_temp_celsius[10m], 1.5, 0.5)",
    "double_exponential_smoothing(rate(http_requests_total[1m])[10m:1m], 0.3, 0.3)",
    "sort_by_label(node_temp_celsius, \"instance\")",
    "sort_by_label_desc(node_temp_celsius, \"job\", \"instance\")",
    "sort_by_label(http_requests_total, \"method\", \"instance\")",
    "sort_by_label(req_duration_seconds_bucket, \"le\")",
    "mad_over_time(node_temp_celsius[5m])",
    "mad_over_time(node_temp_celsius[1m])",
    "ts_of_max_over_time(node_temp_celsius[10m])",
    "ts_of_min_over_time(node_temp_celsius[10m])",
    "ts_of_last_over_time(http_requests_total[5m])",
    "limitk(1, node_temp_celsius)",
    "limitk by (job) (1, http_requests_total)",
    "count(limitk(2, http_requests_total))",
    "limitk(0, node_temp_celsius)",
    "limit_ratio(1, node_temp_celsius)",
    "limit_ratio(-1, node_temp_celsius)",
    "limit_ratio(0, node_temp_celsius)",
    "count(limit_ratio(1.5, node_temp_celsius))",
    "count(limit_ratio(-2, node_temp_celsius))",
    "holt_winters(node_temp_celsius[10m], 0.5, 0.5)",
    "info(node_temp_celsius)",
    "info(http_requests_total)",
    "info(rate(http_requests_total[5m]))",
    "info(node_temp_celsius, {version=~\".+\"})",
    "info(node_temp_celsius, {version=\"1.0\"})",
    "info(node_temp_celsius, {__name__=\"build_info\"})",
    "info(node_temp_celsius, {__name__=~\".+_info\"})",
    "sum by (version) (info(node_temp_celsius))",
];

/// Runs `queries` on both (instant at seven times, range at two steps); returns how many
/// evaluations were compared and the differences.
fn differences(
    prom: &PromServer,
    db: &Db,
    engine: &QueryEngine,
    queries: &[String],
) -> (usize, Vec<String>) {
    let api = prom.api();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let mut compared = 0;
    let end = (POINTS - 1) * STEP;
    for q in queries {
        let q = q.as_str();
        let ordered = q.starts_with("sort") || q.starts_with("topk") || q.starts_with("bottomk");
        // 1_785_000 is exactly 5m after the last sample before the POST gap of 10.0.0.2.
        for t in [
            0,
            7 * STEP + 3_000,
            1_500_000,
            1_785_000,
            2_700_000,
            end,
            end + 200_000,
        ] {
            let resp = api.query(q, t).unwrap_or_else(|e| panic!("{q}: {e}"));
            let want = resp.result;
            let ours = engine.instant(db, q, t);
            let mut want_notes: Vec<String> = resp.warnings;
            want_notes.extend(resp.infos);
            want_notes.sort();
            let mut got_notes = ours
                .as_ref()
                .map(|r| r.warnings.clone())
                .unwrap_or_default();
            got_notes.sort();
            if want_notes != got_notes {
                notes.push((
                    q.to_owned(),
                    format!(
                        "instant {q} @ {t}: annotations: expected {want_notes:?}, got {got_notes:?}"
                    ),
                ));
            }
            let got = to_prom(ours);
            let res = if ordered {
                compare_ordered(&want, &got, 1e-6)
            } else {
                compare(&want, &got, 1e-6)
            };
            compared += 1;
            if let Err(e) = res {
                failures.push(format!("instant {q} @ {t}: {e}"));
            }
        }
        for (start, stop, step) in [(0, end, 60_000), (300_000, 3_000_000, 37_000)] {
            let resp = api
                .query_range(q, start, stop, step)
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            let want = resp.result;
            let ours = engine.range(db, q, start, stop, step);
            let mut want_notes: Vec<String> = resp.warnings;
            want_notes.extend(resp.infos);
            want_notes.sort();
            let mut got_notes = ours
                .as_ref()
                .map(|r| r.warnings.clone())
                .unwrap_or_default();
            got_notes.sort();
            if want_notes != got_notes {
                notes.push((
                    q.to_owned(),
                    format!(
                        "range {q} [{start}, {stop}] step {step}: annotations: expected {want_notes:?}, got {got_notes:?}"
                    ),
                ));
            }
            let got = to_prom(ours);
            compared += 1;
            if let Err(e) = compare(&want, &got, 1e-6) {
                failures.push(format!("range {q} [{start}, {stop}] step {step}: {e}"));
            }
        }
    }
    // Annotations: every difference must be a listed query, and every listed query that is
    // run must still differ.
    let excused = notes
        .iter()
        .filter(|(q, _)| KNOWN_ANNOTATION_DIFFERENCES.iter().any(|(k, _)| k == q))
        .count();
    eprintln!(
        "{} evaluations with different annotations ({excused} excused by KNOWN_ANNOTATION_DIFFERENCES)",
        notes.len()
    );
    for (q, n) in &notes {
        if !KNOWN_ANNOTATION_DIFFERENCES.iter().any(|(k, _)| k == q) {
            failures.push(n.clone());
        }
    }
    for (k, _) in KNOWN_ANNOTATION_DIFFERENCES {
        if queries.iter().any(|q| q == k) && !notes.iter().any(|(q, _)| q == k) {
            failures.push(format!(
                "{k}: listed in KNOWN_ANNOTATION_DIFFERENCES but the annotations agree"
            ));
        }
    }
    (compared, failures)
}

/// Fails on differences not in `known` and on entries there that no longer differ; prints
/// the counts.
fn judge(what: &str, known: &[(&str, &str)], queries: usize, compared: usize, failures: &[String]) {
    let unexpected: Vec<&String> = failures
        .iter()
        .filter(|f| !known.iter().any(|(q, _)| f.contains(q)))
        .collect();
    let excused = failures.len() - unexpected.len();
    eprintln!(
        "{what}: compared {compared} query evaluations over {queries} queries; {} differ ({excused} excused as known differences)",
        failures.len()
    );
    let stale: Vec<&str> = known
        .iter()
        .filter(|(q, _)| !failures.iter().any(|f| f.contains(q)))
        .map(|(q, _)| *q)
        .collect();
    assert!(
        stale.is_empty(),
        "listed as known differences but no longer different: {stale:?}"
    );
    assert!(
        unexpected.is_empty(),
        "{} of {compared} results differ from Prometheus 3.5:\n{}",
        unexpected.len(),
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn promql_agrees_with_prometheus() {
    let prom = PromServer::start().unwrap_or_else(|e| panic!("{e}"));
    let input = data();
    prom.remote_write()
        .write(&input)
        .expect("remote write to Prometheus");
    let dir = tempfile::tempdir().unwrap();
    let db = load_tidemark(dir.path(), &input);
    let engine = QueryEngine::new(Default::default());
    let mut queries: Vec<String> = QUERIES.iter().map(|s| s.to_string()).collect();
    queries.extend(generated_queries());
    assert!(queries.len() >= 500, "only {} queries", queries.len());
    let (compared, failures) = differences(&prom, &db, &engine, &queries);
    judge(
        "default features",
        KNOWN_DIFFERENCES,
        queries.len(),
        compared,
        &failures,
    );
}

#[test]
fn experimental_functions_agree_with_prometheus() {
    let prom = PromServer::start_with(&PromOptions {
        extra_args: vec!["--enable-feature=promql-experimental-functions".into()],
        ..PromOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let input = data();
    prom.remote_write()
        .write(&input)
        .expect("remote write to Prometheus");
    let dir = tempfile::tempdir().unwrap();
    let db = load_tidemark(dir.path(), &input);
    let engine = QueryEngine::new(EngineOptions {
        features: Features {
            experimental_functions: true,
            ..Features::default()
        },
        ..EngineOptions::default()
    });
    let queries: Vec<String> = EXPERIMENTAL_QUERIES.iter().map(|s| s.to_string()).collect();
    let (compared, failures) = differences(&prom, &db, &engine, &queries);
    judge(
        "promql-experimental-functions",
        KNOWN_EXPERIMENTAL_DIFFERENCES,
        queries.len(),
        compared,
        &failures,
    );
}
