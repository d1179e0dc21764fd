//! The experimental PromQL features (`tidemark_query::Features`, set from
//! `--enable-feature`) change what parses and how names are dropped, exactly when they are on.

use tidemark_engine::{labels, Db, DbOptions};
use tidemark_query::{EngineOptions, Features, QueryEngine, Value};

/// `a_total` and `b_total`, both `{job="x"}`, counting up every 15 s for 10 minutes; the
/// series are created in the order `i="2"`, `i="10"`, `i="1"` for `g`.
fn db(dir: &std::path::Path) -> Db {
    let db = Db::open(dir, DbOptions::default()).unwrap();
    for k in 0..40i64 {
        let mut app = db.appender();
        for name in ["a_total", "b_total"] {
            app.append(
                &labels!("__name__" => name, "job" => "x"),
                k * 15_000,
                k as f64,
            )
            .unwrap();
        }
        for i in ["2", "10", "1"] {
            app.append(&labels!("__name__" => "g", "i" => i), k * 15_000, 1.0)
                .unwrap();
        }
        app.commit().unwrap();
    }
    db
}

fn engine(features: Features) -> QueryEngine {
    QueryEngine::new(EngineOptions {
        features,
        ..EngineOptions::default()
    })
}

fn labels_of(v: &Value) -> Vec<String> {
    match v {
        Value::Vector(s) => s.iter().map(|s| s.labels.to_string()).collect(),
        other => panic!("not a vector: {other:?}"),
    }
}

#[test]
fn experimental_functions_only_with_their_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let t = 300_000;
    for (q, msg) in [
        (
            "sort_by_label(g, \"i\")",
            "1:1: parse error: function \"sort_by_label\" is not enabled",
        ),
        (
            "limitk(1, g)",
            "1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
        ),
        (
            "holt_winters(g[5m], 0.5, 0.5)",
            "1:1: parse error: unknown function with name \"holt_winters\"",
        ),
    ] {
        let err = engine(Features::default()).instant(&db, q, t).unwrap_err();
        assert_eq!(err.message, msg, "{q}");
    }
    let on = engine(Features {
        experimental_functions: true,
        ..Features::default()
    });
    // Natural order: 1 < 2 < 10.
    let got = on.instant(&db, "sort_by_label(g, \"i\")", t).unwrap();
    assert_eq!(
        labels_of(&got.value),
        [
            r#"{__name__="g", i="1"}"#,
            r#"{__name__="g", i="2"}"#,
            r#"{__name__="g", i="10"}"#
        ]
    );
    // limitk keeps the first series in selection order: the head's creation order.
    let got = on.instant(&db, "limitk(1, g)", t).unwrap();
    assert_eq!(labels_of(&got.value), [r#"{__name__="g", i="2"}"#]);
    assert!(on.instant(&db, "holt_winters(g[5m], 0.5, 0.5)", t).is_err());
}

#[test]
fn delayed_name_removal_only_with_its_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let t = 300_000;
    let q = "label_replace(rate({job=\"x\"}[5m]), \"n\", \"$1\", \"__name__\", \"(.+)\")";
    // Off: rate drops the names at once, the two results collide.
    let err = engine(Features::default()).instant(&db, q, t).unwrap_err();
    assert_eq!(
        err.message,
        "vector cannot contain metrics with the same labelset"
    );
    // On: label_replace still sees the names; they are dropped at the end.
    let on = engine(Features {
        delayed_name_removal: true,
        ..Features::default()
    });
    let mut got = labels_of(&on.instant(&db, q, t).unwrap().value);
    got.sort();
    assert_eq!(
        got,
        [r#"{job="x", n="a_total"}"#, r#"{job="x", n="b_total"}"#]
    );
    // Grouping by a name waiting to be dropped fails once the names are gone.
    let err = on
        .instant(&db, "sum by (__name__) (rate({job=\"x\"}[5m]))", t)
        .unwrap_err();
    assert_eq!(
        err.message,
        "vector cannot contain metrics with the same labelset"
    );
    // Off, the same grouping sees no name and sums everything.
    let got = engine(Features::default())
        .instant(&db, "sum by (__name__) (rate({job=\"x\"}[5m]))", t)
        .unwrap();
    assert_eq!(labels_of(&got.value), ["{}"]);
}

#[test]
fn info_joins_target_info_on_instance_and_job() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let mut app = db.appender();
    for (l, v) in [
        (
            labels!("__name__" => "m", "job" => "a", "instance" => "1", "x" => "own"),
            5.0,
        ),
        (
            labels!("__name__" => "m", "job" => "a", "instance" => "2"),
            6.0,
        ),
        (
            labels!("__name__" => "target_info", "job" => "a", "instance" => "1", "version" => "v1", "x" => "info"),
            1.0,
        ),
    ] {
        app.append(&l, 0, v).unwrap();
    }
    app.commit().unwrap();
    let on = engine(Features {
        experimental_functions: true,
        ..Features::default()
    });
    let mut got = labels_of(&on.instant(&db, "info(m)", 0).unwrap().value);
    got.sort();
    // The series' own `x` wins; the series without target_info stays as it is.
    assert_eq!(
        got,
        [
            r#"{__name__="m", instance="1", job="a", version="v1", x="own"}"#,
            r#"{__name__="m", instance="2", job="a"}"#
        ]
    );
    // A data matcher that cannot match "" drops series without a matching info series.
    let got = on.instant(&db, "info(m, {version=~\".+\"})", 0).unwrap();
    assert_eq!(
        labels_of(&got.value),
        [r#"{__name__="m", instance="1", job="a", version="v1", x="own"}"#]
    );
}
