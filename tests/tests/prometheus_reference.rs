//! End-to-end tests of the reference-Prometheus harness (`tidemark_tests::prom`) against Debian's
//! real Prometheus 3.5: data goes in by remote write, comes back through the HTTP API, and is
//! checked with the harness's own `compare` against values worked out by hand below. The
//! binary comes from `scripts/reference-peers.sh` (found through `tidemark_tests::peers`); if
//! it is missing the tests fail with the install hint.

use std::collections::BTreeMap;
use std::time::Duration;

use tidemark_tests::prom::{
    compare, compare_ordered, labels, stale_nan, InputSeries, InstantSample, Labels, Point,
    PromOptions, PromResult, PromServer, RangeSeries,
};

const S: i64 = 1000; // one second in ms
const TOL: f64 = 1e-6;

fn start() -> PromServer {
    PromServer::start().unwrap_or_else(|e| panic!("{e}"))
}

fn lbls(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>()
}

fn pt(t_ms: i64, v: f64) -> Point {
    Point {
        t_ms,
        v,
        raw: format!("{v}"),
    }
}

/// Labels written as string pairs in the expectations below.
type L<'a> = &'a [(&'a str, &'a str)];

fn vector(elems: &[(L, i64, f64)]) -> PromResult {
    PromResult::Vector(
        elems
            .iter()
            .map(|(l, t, v)| InstantSample {
                metric: lbls(l),
                point: pt(*t, *v),
            })
            .collect(),
    )
}

fn matrix(series: &[(L, Vec<(i64, f64)>)]) -> PromResult {
    PromResult::Matrix(
        series
            .iter()
            .map(|(l, pts)| RangeSeries {
                metric: lbls(l),
                points: pts.iter().map(|&(t, v)| pt(t, v)).collect(),
            })
            .collect(),
    )
}

fn every_minute(values: &[f64]) -> Vec<(i64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64 * 60 * S, v))
        .collect()
}

/// The shared data set, samples every 60 s from t=0 to t=600 s:
/// - `up`: 1 for a/api, 0 for c/web;
/// - `http_requests_total`: a/api 0,10,20,30,40 then a reset to 5 at 300 s and +10 a minute;
///   b/api 100+6/min; c/web +120/min (2/s);
/// - `temperature` (gauge): a/api 20,21,22 at 0..120 s, a gap, 25,26 at 540,600 s;
///   c/web 30..34 at 0..240 s then a stale marker at 300 s; d/web 50..54 then an ordinary NaN at
///   300 s (it must stay visible as NaN, unlike the stale marker).
fn data_set() -> Vec<InputSeries> {
    let ups = |v: f64| every_minute(&[v; 11]);
    let counter_a = every_minute(&[0., 10., 20., 30., 40., 5., 15., 25., 35., 45., 55.]);
    let counter_b: Vec<f64> = (0..11).map(|i| 100.0 + 6.0 * i as f64).collect();
    let counter_c: Vec<f64> = (0..11).map(|i| 120.0 * i as f64).collect();
    let mut temp_c = every_minute(&[30., 31., 32., 33., 34.]);
    temp_c.push((300 * S, stale_nan()));
    let mut temp_d = every_minute(&[50., 51., 52., 53., 54.]);
    temp_d.push((300 * S, f64::NAN));
    vec![
        (
            labels(&[("__name__", "up"), ("job", "api"), ("instance", "a")]),
            ups(1.0),
        ),
        (
            labels(&[("__name__", "up"), ("job", "web"), ("instance", "c")]),
            ups(0.0),
        ),
        (
            labels(&[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("instance", "a"),
            ]),
            counter_a,
        ),
        (
            labels(&[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("instance", "b"),
            ]),
            every_minute(&counter_b),
        ),
        (
            labels(&[
                ("__name__", "http_requests_total"),
                ("job", "web"),
                ("instance", "c"),
            ]),
            every_minute(&counter_c),
        ),
        (
            labels(&[
                ("__name__", "temperature"),
                ("job", "api"),
                ("instance", "a"),
            ]),
            vec![
                (0, 20.),
                (60 * S, 21.),
                (120 * S, 22.),
                (540 * S, 25.),
                (600 * S, 26.),
            ],
        ),
        (
            labels(&[
                ("__name__", "temperature"),
                ("job", "web"),
                ("instance", "c"),
            ]),
            temp_c,
        ),
        (
            labels(&[
                ("__name__", "temperature"),
                ("job", "web"),
                ("instance", "d"),
            ]),
            temp_d,
        ),
    ]
}

/// A server holding [`data_set`]; small batches so several requests and the batching are used.
fn loaded_server() -> PromServer {
    let prom = start();
    prom.remote_write()
        .with_batch_size(7)
        .write(&data_set())
        .unwrap_or_else(|e| panic!("remote write failed: {e}\nlog:\n{}", prom.log()));
    prom
}

fn check(prom: &PromServer, query: &str, t_ms: i64, expected: PromResult) {
    let got = prom
        .api()
        .query(query, t_ms)
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    if let Err(e) = compare(&expected, &got.result, TOL) {
        panic!(
            "{query} at {t_ms} ms: {e}\nexpected {expected:?}\ngot {:?}",
            got.result
        );
    }
}

const UP_A: &[(&str, &str)] = &[("__name__", "up"), ("instance", "a"), ("job", "api")];
const UP_C: &[(&str, &str)] = &[("__name__", "up"), ("instance", "c"), ("job", "web")];
const T_A: &[(&str, &str)] = &[
    ("__name__", "temperature"),
    ("instance", "a"),
    ("job", "api"),
];
const T_C: &[(&str, &str)] = &[
    ("__name__", "temperature"),
    ("instance", "c"),
    ("job", "web"),
];
const T_D: &[(&str, &str)] = &[
    ("__name__", "temperature"),
    ("instance", "d"),
    ("job", "web"),
];

#[test]
fn instant_queries_match_hand_computed_values() {
    let prom = loaded_server();
    let t = 510 * S;

    check(&prom, "up", t, vector(&[(UP_A, t, 1.0), (UP_C, t, 0.0)]));

    // rate at 510 s, window [210 s, 510 s]: samples at 240..480 s (4 intervals, 240 s).
    // Both edges are 30 s away (< 1.1 × 60 s), so the increase is extrapolated by 300/240.
    // a: 35 - 40 + 40 (reset at 300 s) = 35 → 43.75 / 300; b: 24 → 30 / 300; c: 480 → 600 / 300.
    check(
        &prom,
        "rate(http_requests_total[5m])",
        t,
        vector(&[
            (&[("instance", "a"), ("job", "api")], t, 43.75 / 300.0),
            (&[("instance", "b"), ("job", "api")], t, 0.1),
            (&[("instance", "c"), ("job", "web")], t, 2.0),
        ]),
    );

    // Newest samples at 480 s: a 35, b 148, c 960.
    let sum = vector(&[(&[("job", "api")], t, 183.0), (&[("job", "web")], t, 960.0)]);
    check(&prom, "sum by (job) (http_requests_total)", t, sum);

    // Order matters for sort_desc: web (960) before api (183).
    let q = "sort_desc(sum by (job) (http_requests_total))";
    let got = prom.api().query(q, t).unwrap();
    let desc = vector(&[(&[("job", "web")], t, 960.0), (&[("job", "api")], t, 183.0)]);
    compare_ordered(&desc, &got.result, TOL).unwrap_or_else(|e| panic!("{q}: {e}"));
    let asc = vector(&[(&[("job", "api")], t, 183.0), (&[("job", "web")], t, 960.0)]);
    assert!(compare_ordered(&asc, &got.result, TOL).is_err());
    compare(&asc, &got.result, TOL).unwrap(); // as a set it is the same

    // Before the stale marker every temperature series is there (a through the gap).
    let t = 290 * S;
    check(
        &prom,
        "temperature",
        t,
        vector(&[(T_A, t, 22.0), (T_C, t, 34.0), (T_D, t, 54.0)]),
    );
    // After it: c ended by the stale marker (sent bit-exact), d shows its ordinary NaN.
    let t = 330 * S;
    check(
        &prom,
        "temperature",
        t,
        vector(&[(T_A, t, 22.0), (T_D, t, f64::NAN)]),
    );
    // In the gap, more than 5m after the last sample of a: nothing.
    check(&prom, "temperature{instance=\"a\"}", 480 * S, vector(&[]));
}

#[test]
fn range_query_matches_hand_computed_values() {
    let prom = loaded_server();
    let got = prom
        .api()
        .query_range("temperature", 30 * S, 600 * S, 60 * S)
        .unwrap();
    assert_eq!(got.http_status, 200);
    let at = |secs: &[i64], v: &dyn Fn(i64) -> f64| -> Vec<(i64, f64)> {
        secs.iter().map(|&s| (s * S, v(s))).collect()
    };
    // Steps at 30, 90, ..., 570 s.
    let expected = matrix(&[
        // a: 20, 21, 22, then 22 while 120 s is within 5m (up to 390 s), absent at 450 and
        // 510 s, 25 at 570 s (sample at 540 s).
        (
            T_A,
            [
                at(&[30], &|_| 20.),
                at(&[90], &|_| 21.),
                at(&[150, 210, 270, 330, 390], &|_| 22.),
                at(&[570], &|_| 25.),
            ]
            .concat(),
        ),
        // c: 30..34 until 270 s, then ended by the stale marker at 300 s.
        (
            T_C,
            at(&[30, 90, 150, 210, 270], &|s| 30. + ((s - 30) / 60) as f64),
        ),
        // d: 50..54 until 270 s, then the ordinary NaN from 300 s on, while within 5m.
        (
            T_D,
            [
                at(&[30, 90, 150, 210, 270], &|s| 50. + ((s - 30) / 60) as f64),
                at(&[330, 390, 450, 510, 570], &|_| f64::NAN),
            ]
            .concat(),
        ),
    ]);
    // Prometheus sorts matrix series by label set, so the order is checked too.
    compare_ordered(&expected, &got.result, TOL).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn scalar_string_and_errors() {
    let prom = start();
    let api = prom.api();

    // Grafana's health check.
    let got = api.query("1+1", 4 * S).unwrap();
    assert_eq!(got.http_status, 200);
    compare(&PromResult::Scalar(pt(4 * S, 2.0)), &got.result, TOL).unwrap();
    let PromResult::Scalar(p) = &got.result else {
        unreachable!()
    };
    assert_eq!(p.raw, "2");

    let got = api.query("\"hello\"", 4 * S).unwrap();
    let expected = PromResult::String {
        t_ms: 4 * S,
        value: "hello".into(),
    };
    compare(&expected, &got.result, TOL).unwrap();

    let got = api.query("sum(", 4 * S).unwrap();
    assert_eq!(got.http_status, 400);
    let bad_data = PromResult::Error {
        error_type: "bad_data".into(),
        error: String::new(),
    };
    compare(&bad_data, &got.result, TOL).unwrap();
    let got = api.query_range("up", 10 * S, 0, S).unwrap();
    compare(&bad_data, &got.result, TOL).unwrap();

    // An execution error: two api series on the left side of a one-to-one match.
    prom.remote_write().write(&data_set()).unwrap();
    let got = api
        .query("http_requests_total + on(job) up", 510 * S)
        .unwrap();
    assert_eq!(got.http_status, 422, "{:?}", got.result);
    let execution = PromResult::Error {
        error_type: "execution".into(),
        error: String::new(),
    };
    compare(&execution, &got.result, TOL).unwrap();
    assert!(compare(&bad_data, &got.result, TOL).is_err());
}

/// Prometheus 3.5's lookback and range windows are left-open, `(t-5m, t]` (2.x included the
/// left edge). Tidemark's comparisons rely on the same rule.
#[test]
fn windows_are_left_open_in_3_5() {
    let prom = loaded_server();
    // The last sample of temperature a before the gap is at 120 s = 420 s - 5m: exactly on
    // the left edge at 420 s, so not seen; one second earlier it is.
    check(&prom, "temperature{instance=\"a\"}", 420 * S, vector(&[]));
    check(
        &prom,
        "temperature{instance=\"a\"}",
        419 * S,
        vector(&[(T_A, 419 * S, 22.0)]),
    );
    // [5m] at 600 s holds the samples at 360..600 s (300 s is the open edge): five of them.
    check(
        &prom,
        "count_over_time(http_requests_total{instance=\"b\"}[5m])",
        600 * S,
        vector(&[(&[("instance", "b"), ("job", "api")], 600 * S, 5.0)]),
    );
}

#[test]
fn lookback_delta_is_configurable() {
    let prom = PromServer::start_with(&PromOptions {
        lookback_delta: Some(Duration::from_secs(60)),
        ..PromOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    prom.remote_write().write(&data_set()).unwrap();
    // With a 1m lookback the gauge a is gone 60 s after its sample at 120 s (the window
    // `(t - 1m, t]` is left-open).
    check(&prom, "temperature{instance=\"a\"}", 180 * S, vector(&[]));
    check(
        &prom,
        "temperature{instance=\"a\"}",
        179 * S,
        vector(&[(T_A, 179 * S, 22.0)]),
    );
}

/// How far back remote write may go: an empty TSDB takes any first timestamp; afterwards a
/// sample must be ≥ (newest timestamp in the head − 1h), and newer than its series' last one.
#[test]
fn remote_write_accepts_samples_within_one_hour_of_the_head_max() {
    let prom = start();
    let rw = prom.remote_write();
    let one = |name: &str, t: i64| -> Vec<InputSeries> {
        vec![(labels(&[("__name__", name)]), vec![(t, 1.0)])]
    };
    const H: i64 = 3600 * S;
    rw.write_request(&one("first", 0))
        .expect("empty TSDB takes t=0");
    rw.write_request(&one("x", 3 * H)).expect("later sample");
    rw.write_request(&one("y", 2 * H))
        .expect("exactly head max - 1h is accepted");
    let err = rw.write_request(&one("z", 2 * H - 1)).unwrap_err();
    assert!(
        err.contains("400") && err.contains("out of bounds"),
        "{err}"
    );
    let err = rw.write_request(&one("x", 3 * H - S)).unwrap_err();
    assert!(err.contains("400") && err.contains("out of order"), "{err}");
    // Nothing of the rejected requests was stored.
    let got = prom.api().query("z", 2 * H).unwrap();
    compare(&vector(&[]), &got.result, TOL).unwrap();
    let got = prom.api().query("y", 2 * H).unwrap();
    compare(
        &vector(&[(&[("__name__", "y")], 2 * H, 1.0)]),
        &got.result,
        TOL,
    )
    .unwrap();
}

#[test]
fn missing_binary_names_the_peer_script() {
    let err = PromServer::start_with(&PromOptions {
        binary: Some("/nonexistent/prometheus".into()),
        ..PromOptions::default()
    })
    .err()
    .expect("must fail");
    assert!(err.contains("scripts/reference-peers.sh"), "{err}");
}

#[test]
fn compare_reports_differences() {
    let a = &[("job", "a")][..];
    let b = &[("job", "b")][..];
    let base = vector(&[(a, 1000, 1.0), (b, 1000, 2.0)]);

    // Equal within tolerance, NaN == NaN, infinities by sign; order ignored by compare().
    compare(
        &base,
        &vector(&[(b, 1000, 2.0 + 1e-9), (a, 1000, 1.0)]),
        TOL,
    )
    .unwrap();
    let special = vector(&[(a, 0, f64::NAN), (b, 0, f64::INFINITY)]);
    compare(&special, &special, TOL).unwrap();
    let neg = vector(&[(a, 0, f64::NAN), (b, 0, f64::NEG_INFINITY)]);
    assert!(compare(&special, &neg, TOL).is_err());
    assert!(compare(
        &special,
        &vector(&[(a, 0, 0.0), (b, 0, f64::INFINITY)]),
        TOL
    )
    .is_err());

    let err = compare(&base, &vector(&[(a, 1000, 1.0), (b, 1000, 2.1)]), TOL).unwrap_err();
    assert!(err.contains("{job=\"b\"}") && err.contains("t=1"), "{err}");
    assert!(
        err.contains("expected 2") && err.contains("got 2.1"),
        "{err}"
    );

    let err = compare(&base, &vector(&[(a, 1000, 1.0)]), TOL).unwrap_err();
    assert!(err.contains("missing [\"{job=\\\"b\\\"}\"]"), "{err}");

    let err = compare(&base, &vector(&[(a, 1000, 1.0), (b, 2000, 2.0)]), TOL).unwrap_err();
    assert!(
        err.contains("timestamp") && err.contains("{job=\"b\"}"),
        "{err}"
    );

    let swapped = vector(&[(b, 1000, 2.0), (a, 1000, 1.0)]);
    compare(&base, &swapped, TOL).unwrap();
    let err = compare_ordered(&base, &swapped, TOL).unwrap_err();
    assert!(err.contains("position 0"), "{err}");

    let err = compare(&base, &PromResult::Scalar(pt(1000, 1.0)), TOL).unwrap_err();
    assert!(
        err.contains("expected vector") && err.contains("got scalar"),
        "{err}"
    );

    let m1 = matrix(&[(a, vec![(0, 1.0), (60_000, 2.0)])]);
    let m2 = matrix(&[(a, vec![(0, 1.0)])]);
    let err = compare(&m1, &m2, TOL).unwrap_err();
    assert!(err.contains("missing points at t=60"), "{err}");
    let m3 = matrix(&[(a, vec![(0, 1.0), (60_000, 3.0)])]);
    let err = compare(&m1, &m3, TOL).unwrap_err();
    assert!(err.contains("point #1") && err.contains("t=60"), "{err}");

    let e1 = PromResult::Error {
        error_type: "bad_data".into(),
        error: "x".into(),
    };
    let e2 = PromResult::Error {
        error_type: "execution".into(),
        error: "x".into(),
    };
    assert!(compare(&e1, &e2, TOL).unwrap_err().contains("error type"));
    assert!(compare(&e1, &base, TOL).is_err());
}

#[test]
fn start_failure_reports_the_process_log() {
    let err = PromServer::start_with(&PromOptions {
        extra_args: vec!["--no-such-flag".into()],
        ..PromOptions::default()
    })
    .err()
    .expect("must fail");
    assert!(
        err.contains("exited during start-up") && err.contains("no-such-flag"),
        "{err}"
    );
}

/// Data spanning more than 3h makes Prometheus compact its head into blocks (in the background,
/// possibly while later batches arrive); the data stays complete and queryable from the blocks.
#[test]
fn long_history_survives_head_compaction() {
    let prom = start();
    const STEP: i64 = 30 * S;
    const N: i64 = 10 * 120 + 1; // 10h of samples every 30 s
    let series: Vec<InputSeries> = (0..3)
        .map(|j| {
            let inst = format!("i{j}");
            let samples = (0..N).map(|i| (i * STEP, (i + j) as f64)).collect();
            (
                labels(&[("__name__", "long"), ("instance", inst.as_str())]),
                samples,
            )
        })
        .collect();
    prom.remote_write()
        .with_batch_size(300)
        .write(&series)
        .unwrap_or_else(|e| panic!("{e}\nlog:\n{}", prom.log()));
    let end = (N - 1) * STEP;
    let got = prom.api().query("count_over_time(long[10h])", end).unwrap();
    // `(end - 10h, end]` is left-open: the sample at 0 is out.
    let expected = vector(&[
        (&[("instance", "i0")], end, (N - 1) as f64),
        (&[("instance", "i1")], end, (N - 1) as f64),
        (&[("instance", "i2")], end, (N - 1) as f64),
    ]);
    compare(&expected, &got.result, TOL).unwrap_or_else(|e| panic!("{e}"));
    // The head compacts in the background once it spans more than 3h; wait (bounded) for the
    // blocks and check the data again, now read from blocks.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !prom.log().contains("write block") {
        assert!(
            std::time::Instant::now() < deadline,
            "no head compaction within 20 s; log:\n{}",
            prom.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = prom.api().query("count_over_time(long[10h])", end).unwrap();
    compare(&expected, &got.result, TOL).unwrap_or_else(|e| panic!("after compaction: {e}"));
    let got = prom
        .api()
        .query("long{instance=\"i2\"}", 3_600 * S)
        .unwrap();
    compare(
        &vector(&[(
            &[("__name__", "long"), ("instance", "i2")],
            3_600 * S,
            122.0,
        )]),
        &got.result,
        TOL,
    )
    .unwrap();
}
