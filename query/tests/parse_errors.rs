//! Parse errors are `bad_data` and say what is wrong, in Prometheus 3.5's words.

use tidemark_engine::{Db, DbOptions};
use tidemark_query::{EngineOptions, ErrorKind, Features, QueryEngine};

#[test]
fn parse_errors_are_bad_data_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let engine = QueryEngine::new(Default::default());
    // Messages as Prometheus 3.5 prints them (after its `invalid parameter "query": `
    // prefix); `tests/tests/promql_parse_errors.rs` checks many more live.
    for (q, want) in [
        ("sum(", "1:5: parse error: unclosed left parenthesis"),
        ("rate(x[5m]", "1:11: parse error: unclosed left parenthesis"),
        ("foo{a=}", "1:7: parse error: unexpected \"}\" in label matching, expected string"),
        ("1 +", "1:4: parse error: unexpected end of input"),
        ("", "unknown position: parse error: no expression found in input"),
        ("x[5m:1m:1m]", "1:8: parse error: unexpected colon ':'"),
        ("x[]", "1:3: parse error: unexpected \"]\" in subquery selector, expected number or duration"),
        ("x offset", "1:9: parse error: unexpected end of input in offset, expected number or duration"),
        ("x[1y1y]", "1:3: parse error: bad number or duration syntax: \"1y1\""),
        ("x[1.5m]", "1:3: parse error: unknown unit \".\" in duration \"1.5m\""),
        ("x[a]", "1:3: parse error: unexpected character in duration expression: 'a'"),
        ("sort_by_label(x)", "1:1: parse error: function \"sort_by_label\" is not enabled"),
        ("holt_winters(x[5m], 0.5, 0.5)", "1:1: parse error: unknown function with name \"holt_winters\""),
        (
            "limitk(2, x)",
            "1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
        ),
        ("foo[5m+1m]", "1:5: parse error: experimental duration expression is not enabled"),
        ("sum by (\"\") (x)", "1:9: parse error: invalid label name for grouping: \"\""),
        ("x @ now()", "1:5: parse error: unexpected identifier \"now\" in @, expected timestamp"),
        (
            "rate(x)",
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ),
    ] {
        let e = engine.instant(&db, q, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadData, "{q}: {e}");
        assert_eq!(e.message, want, "{q}");
    }
}

#[test]
fn experimental_syntax_parses_with_its_feature() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let engine = QueryEngine::new(EngineOptions {
        features: Features {
            experimental_functions: true,
            duration_expressions: true,
            ..Features::default()
        },
        ..Default::default()
    });
    for q in [
        "limitk(2, x)",
        "limit_ratio(0.5, x)",
        "foo[5m+1m]",
        "foo offset (1h/2)",
        "foo[2*1m:1m]",
        "{\"my.metric\", \"some.label\"=\"x\"}",
        "sum by (\"some.label\") (x)",
    ] {
        engine
            .instant(&db, q, 1_000_000)
            .unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    // Errors computing a duration expression carry its byte offsets, as in Prometheus.
    for (q, want) in [
        ("foo[1m-2m]", "4:9: duration must be greater than 0"),
        ("foo offset (1m%(1m-1m))", "12:21: modulo by zero"),
        ("foo[1m/0]", "1:7: parse error: division by zero"),
    ] {
        let e = engine.instant(&db, q, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadData, "{q}: {e}");
        assert_eq!(e.message, want, "{q}");
    }
}
