//! Deep and long queries: every walk over a query (parsing, type check, conversion, position
//! tree, evaluation, printing, dropping) stays within a 2 MiB thread stack in a debug build
//! up to [`MAX_NESTING`] levels, and one level more is a clear parse error, never a crash.

use std::time::Duration;

use tidemark_engine::{labels, Db, DbOptions};

use crate::parser::MAX_NESTING;
use crate::{EngineOptions, Features, QueryEngine};

/// The stack of a tokio worker thread (and of `spawn_blocking` threads).
const WORKER_STACK: usize = 2 << 20;

/// Queries `depth` levels deep, by shape (each level is one node of the syntax tree or
/// one nested parser call).
fn shapes(depth: usize) -> Vec<(&'static str, String)> {
    let n = depth;
    let nest = |open: &str, inner: &str, close: &str, levels: usize| {
        format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
    };
    vec![
        // `-` before a number folds into the number, but each sign is a parser call.
        ("signs before a number", format!("{}1", "-".repeat(n - 1))),
        ("signs before a selector", format!("{}m", "-".repeat(n - 1))),
        ("parentheses", nest("(", "m", ")", n - 1)),
        ("a chain of additions", vec!["m"; n].join(" + ")),
        ("a chain of scalar additions", vec!["1"; n].join("+")),
        ("a right-deep power chain", vec!["m"; n].join(" ^ ")),
        ("nested calls", nest("abs(", "m", ")", n - 1)),
        ("nested aggregations", nest("sum(", "m", ")", n - 1)),
        ("nested topk", nest("topk(1, ", "m", ")", n - 1)),
        (
            "nested count_values",
            nest("count_values(\"v\", ", "m", ")", n - 1),
        ),
        (
            "nested label_replace",
            nest(
                "label_replace(",
                "m",
                ", \"a\", \"$1\", \"i\", \"(.*)\")",
                n - 1,
            ),
        ),
        ("nested sorts", nest("sort_desc(", "m", ")", n - 1)),
        ("nested clamps", nest("clamp(", "m", ", 0, 1)", n - 1)),
        ("nested absent", nest("absent(", "m", ")", n - 1)),
        (
            "scalar and vector",
            nest("vector(scalar(", "m", "))", (n - 1) / 2),
        ),
        (
            "nested matching",
            nest("m and on(i) (", "m", ")", (n - 1) / 2),
        ),
        (
            "nested group_left",
            nest("m * on(i) group_left() (", "m", ")", (n - 1) / 2),
        ),
        (
            "nested signs and parentheses",
            nest("-(", "m", ")", (n - 1) / 2),
        ),
        (
            "nested histogram_quantile",
            nest("histogram_quantile(0.5, ", "m", ")", n - 1),
        ),
        (
            "nested subqueries",
            nest("last_over_time(", "m", "[1m:1m])", (n - 1) / 2),
        ),
        (
            "a duration chain",
            format!("m offset ({})", vec!["1s"; n - 1].join("+")),
        ),
        (
            "nested duration parentheses",
            format!("count_over_time(m[{}])", nest("(", "1m", ")", n - 3)),
        ),
    ]
}

fn db(dir: &std::path::Path) -> Db {
    let db = Db::open(
        dir,
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    let mut app = db.appender();
    app.append(&labels!("__name__" => "m", "i" => "0"), 60_000, 1.0)
        .unwrap();
    app.commit().unwrap();
    db
}

fn engine() -> QueryEngine {
    QueryEngine::new(EngineOptions {
        timeout: Duration::from_secs(600),
        features: Features::all(),
        ..EngineOptions::default()
    })
}

/// Runs `f` on a thread with `stack` bytes of stack (as a tokio worker has).
fn on_stack<T: Send + 'static>(stack: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Parses, evaluates (instant and range), prints and drops `q`; the error text if any.
fn run_all(db: &Db, q: &str) -> Result<(), String> {
    let ast = crate::parser::parse_with(q, Features::all()).map_err(|e| e.to_string())?;
    let printed = ast.to_string();
    let cloned = ast.clone();
    assert!(cloned == ast);
    drop((ast, cloned, printed));
    let e = engine();
    e.instant(db, q, 120_000).map_err(|e| e.to_string())?;
    e.range(db, q, 0, 120_000, 60_000)
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[test]
fn every_shape_at_the_limit_evaluates_on_a_2_mib_stack() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(db(dir.path()));
    let mut bad = Vec::new();
    for (what, q) in shapes(MAX_NESTING as usize) {
        let db = db.clone();
        // Every shape is well typed: evaluation runs to the bottom.
        if let Err(e) = on_stack(WORKER_STACK, move || run_all(&db, &q)) {
            bad.push(format!("{what}: {e}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn every_shape_one_level_deeper_is_a_clear_parse_error() {
    let mut bad = Vec::new();
    for (what, q) in shapes(MAX_NESTING as usize + 1) {
        let err = on_stack(WORKER_STACK, move || {
            crate::parser::parse_with(&q, Features::all())
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        let msg =
            format!("parse error: expression nested too deeply (more than {MAX_NESTING} levels)");
        match err {
            Err(e) if e.starts_with("1:") && e.ends_with(&msg) => {}
            other => bad.push(format!("{what}: {other:?}")),
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn hostile_sizes_are_refused_without_a_crash() {
    // What a hostile client sent: far past the limit, on a worker's stack.
    for n in [1_600, 5_000, 100_000] {
        for (what, q) in shapes(n) {
            let err = on_stack(WORKER_STACK, move || {
                crate::parser::parse_with(&q, Features::all())
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            let e = err.expect_err(what);
            assert!(e.contains("nested too deeply"), "{what} ({n}): {e}");
        }
    }
    // Series selectors (`match[]`) never nest.
    let q = format!("{}1", "-".repeat(100_000));
    assert!(
        on_stack(WORKER_STACK, move || crate::parser::parse_metric_selector(
            &q
        ))
        .is_err()
    );
}

#[test]
fn the_error_names_where_the_limit_is_passed() {
    let q = format!("{}1", "-".repeat(5_000));
    let e = crate::parser::parse(&q).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "1:{}: parse error: expression nested too deeply (more than {MAX_NESTING} levels)",
            MAX_NESTING + 1
        )
    );
    let q = vec!["1"; 5_000].join("+");
    let e = crate::parser::parse(&q).unwrap_err();
    // At the operator that makes the chain one level too deep.
    assert_eq!(e.line_col(), (1, 2 * MAX_NESTING as usize));
}

#[test]
fn grafana_sized_queries_parse() {
    // A few hundred terms, as dashboards generate.
    let q = (0..400)
        .map(|i| format!("rate(m{{i=\"{i}\"}}[5m])"))
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(crate::parser::parse(&q).is_ok());
}

/// Measures the stack one level of a shape needs: `TIDEMARK_DEEP_SHAPE` (a shape's name),
/// `TIDEMARK_DEEP_LEVELS` and `TIDEMARK_DEEP_STACK` (bytes). Run by hand, in a loop that
/// raises the levels until the process aborts (a stack overflow cannot be caught; past
/// [`MAX_NESTING`] only with the constant raised for the measurement, and
/// `TIDEMARK_DEEP_PARSE_ONLY` set to time the parser alone): the
/// deepest level that passes on 2 MiB gives the stack per level. Measured in a debug build
/// with the parser on its growable stack: nested aggregations 1,345 levels (about 1.6 KiB
/// per level), nested calls 1,533, parentheses, signs and operator chains 2,415.
#[test]
#[ignore]
fn measure_stack_per_level() {
    let var = |k: &str| std::env::var(k).unwrap();
    let shape = var("TIDEMARK_DEEP_SHAPE");
    let levels: usize = var("TIDEMARK_DEEP_LEVELS").parse().unwrap();
    let stack: usize = var("TIDEMARK_DEEP_STACK").parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(db(dir.path()));
    let (_, q) = shapes(levels)
        .into_iter()
        .find(|(w, _)| *w == shape)
        .unwrap();
    let parse_only = std::env::var("TIDEMARK_DEEP_PARSE_ONLY").is_ok();
    let res = on_stack(stack, move || {
        if parse_only {
            crate::parser::parse_with(&q, Features::all())
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            run_all(&db, &q)
        }
    });
    println!("{shape} {levels} {stack}: {res:?}");
}

mod never_crash {
    use super::*;
    use proptest::prelude::*;

    /// Pieces that nest or chain, in any order (mostly unbalanced).
    fn piece() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "(", ")", "-", "+", "abs(", "sum(", "topk(1,", "1", "m", "+1", " or m", "[1m:]", "[",
            "]", "1m", "offset (", "*2", ",", "^",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Thousands of random pieces: parsed (or refused) on a 2 MiB stack, never a crash.
        #[test]
        fn long_random_nesting_never_overflows(
            pieces in proptest::collection::vec(piece(), 0..4_000),
            repeat in 1usize..4,
        ) {
            let q = pieces.concat().repeat(repeat);
            let r = on_stack(WORKER_STACK, move || {
                crate::parser::parse_with(&q, Features::all()).map(|e| e.to_string().len())
            });
            let _ = r;
        }
    }
}
