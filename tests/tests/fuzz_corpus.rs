//! Replays every fuzz target's seed corpus (`fuzz/corpus/<target>/*`) through the same
//! function the fuzz target calls, so `cargo test` catches regressions of fuzz findings, and
//! runs the model-based engine check on random operation sequences.

use std::path::Path;

use proptest::prelude::*;

fn target_fn(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "xor_chunk" => tidemark_engine::chunkenc::fuzz_xor_chunk,
        "wal_record" => tidemark_engine::wal::fuzz_wal_record,
        "wal_segment" => tidemark_engine::wal::fuzz_wal_segment,
        "index" => tidemark_engine::index::fuzz_index,
        "tombstones" => tidemark_engine::tombstones::fuzz_tombstones,
        "chunk_segment" => tidemark_engine::chunks::fuzz_chunk_segment,
        "meta" => tidemark_engine::meta::fuzz_meta,
        "matcher" => tidemark_engine::matcher::fuzz_matcher,
        "engine_model" => tidemark_tests::model::fuzz_engine_model,
        "promql" => tidemark_tests::promql_fuzz::fuzz_promql,
        "relabel" => tidemark_ingest::relabel::fuzz_relabel,
        "exposition_text" => tidemark_ingest::exposition::fuzz_text,
        "exposition_openmetrics" => tidemark_ingest::exposition::fuzz_openmetrics,
        "remote_write" => tidemark_server::remote_write::fuzz_decode,
        _ => return None,
    })
}

fn fuzz_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
}

#[test]
fn every_fuzz_target_has_a_replayed_corpus() {
    let targets = std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap();
    let mut n = 0;
    for t in targets {
        let name = t
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            target_fn(&name).is_some(),
            "fuzz target {name} is not replayed by this test"
        );
        let corpus = fuzz_dir().join("corpus").join(&name);
        assert!(
            corpus.is_dir(),
            "fuzz target {name} has no seed corpus at {}",
            corpus.display()
        );
        n += 1;
    }
    assert!(n >= 7);
}

#[test]
fn seed_corpora_replay_without_panics() {
    let mut files = 0;
    for dir in std::fs::read_dir(fuzz_dir().join("corpus")).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let f = target_fn(&name).unwrap_or_else(|| panic!("corpus {name} has no target"));
        for input in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(input.unwrap().path()).unwrap();
            f(&data);
            files += 1;
        }
    }
    assert!(files > 0);
}

proptest! {
    // 48 cases by default; PROPTEST_CASES=N runs more when hunting.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]
    #[test]
    fn engine_matches_model(ops in proptest::collection::vec(any::<u8>(), 0..600)) {
        tidemark_tests::model::fuzz_engine_model(&ops);
    }
}

/// PromQL-ish strings built from real tokens, so most of them parse and reach evaluation.
fn promql_soup() -> impl Strategy<Value = String> {
    let tokens = prop_oneof![
        Just("http_requests_total"),
        Just("temp"),
        Just("lat_bucket"),
        Just("{job=\"api\"}"),
        Just("{le=~\".+\"}"),
        Just("[5m]"),
        Just("[1m:15s]"),
        Just("[30s:]"),
        Just(" offset 1m"),
        Just(" @ 300"),
        Just(" @ start()"),
        Just("("),
        Just(")"),
        Just(","),
        Just(" + "),
        Just(" - "),
        Just(" * "),
        Just(" / "),
        Just(" % "),
        Just(" ^ "),
        Just(" == "),
        Just(" > bool "),
        Just(" and "),
        Just(" or "),
        Just(" unless "),
        Just(" on(job) "),
        Just(" ignoring(instance) "),
        Just(" group_left "),
        Just(" group_right(job) "),
        Just("sum"),
        Just("avg by (job)"),
        Just("topk(1,"),
        Just("quantile(0.5,"),
        Just("count_values(\"x\","),
        Just("rate("),
        Just("irate("),
        Just("increase("),
        Just("deriv("),
        Just("holt_winters("),
        Just("abs("),
        Just("round("),
        Just("clamp("),
        Just("histogram_quantile(0.9,"),
        Just("label_replace("),
        Just("scalar("),
        Just("vector("),
        Just("absent("),
        Just("time()"),
        Just("sort_desc("),
        Just("max_over_time("),
        Just("quantile_over_time(0.9,"),
        Just("timestamp("),
        Just("1"),
        Just("-2.5"),
        Just("NaN"),
        Just("Inf"),
        Just("\"s\""),
        Just("0x10"),
        Just(" "),
    ];
    proptest::collection::vec(tokens, 1..14).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]
    #[test]
    fn promql_never_panics(q in promql_soup()) {
        tidemark_tests::promql_fuzz::fuzz_promql(q.as_bytes());
    }
}

/// Well-formed PromQL from a small grammar (types may still mismatch: errors are fine,
/// panics are not).
fn promql_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("http_requests_total".to_owned()),
        Just("temp".to_owned()),
        Just("lat_bucket".to_owned()),
        Just("temp{job=\"api\"}".to_owned()),
        Just("1".to_owned()),
        Just("-0.5".to_owned()),
        Just("time()".to_owned()),
        Just("nothing_here".to_owned()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let ops = [
            " + ",
            " / ",
            " % ",
            " ^ ",
            " > ",
            " > bool ",
            " and ",
            " or on(job) ",
            " unless ignoring(instance) ",
            " * on(job) group_left ",
            " - ignoring(instance) group_right(instance) ",
            " == bool on() ",
        ];
        let aggs = [
            "sum",
            "avg by (job)",
            "max without (instance)",
            "count",
            "stddev",
            "group",
            "min by (le)",
        ];
        let fns = [
            "abs",
            "round",
            "sort_desc",
            "timestamp",
            "scalar",
            "absent",
            "vector",
            "ln",
            "sgn",
            "year",
            "clamp_min",
        ];
        let over = [
            "rate",
            "max_over_time",
            "deriv",
            "changes",
            "avg_over_time",
            "last_over_time",
            "present_over_time",
        ];
        prop_oneof![
            (
                inner.clone(),
                proptest::sample::select(ops.to_vec()),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}){op}({b})")),
            (proptest::sample::select(aggs.to_vec()), inner.clone())
                .prop_map(|(f, a)| format!("{f}({a})")),
            (proptest::sample::select(fns.to_vec()), inner.clone())
                .prop_map(|(f, a)| format!("{f}({a})")),
            (
                proptest::sample::select(over.to_vec()),
                inner.clone(),
                proptest::sample::select(vec!["[5m:30s]", "[1m:]", "[2m:1m] offset 1m"])
            )
                .prop_map(|(f, a, r)| format!("{f}(({a}){r})")),
            (
                proptest::sample::select(vec![
                    "rate",
                    "irate",
                    "increase",
                    "resets",
                    "holt_winters"
                ]),
                proptest::sample::select(vec![
                    "http_requests_total[5m]",
                    "temp[1m] offset 2m",
                    "lat_bucket[10m] @ 600",
                    "temp[30s] @ end()"
                ])
            )
                .prop_map(|(f, s)| if f == "holt_winters" {
                    format!("{f}({s}, 0.5, 0.5)")
                } else {
                    format!("{f}({s})")
                }),
            inner.clone().prop_map(|a| format!("topk(2, {a})")),
            inner.clone().prop_map(|a| format!("quantile(0.3, {a})")),
            inner
                .clone()
                .prop_map(|a| format!("count_values(\"v\", {a})")),
            inner
                .clone()
                .prop_map(|a| format!("label_replace({a}, \"x\", \"$1\", \"job\", \"(.)\")")),
            inner.prop_map(|a| format!("histogram_quantile(0.9, {a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]
    #[test]
    fn promql_grammar_never_panics(q in promql_expr()) {
        tidemark_tests::promql_fuzz::fuzz_promql(q.as_bytes());
    }
}
