//! Parse errors are `bad_data` and say what is wrong.

use tidemark_engine::{Db, DbOptions};
use tidemark_query::{ErrorKind, QueryEngine};

#[test]
fn parse_errors_are_bad_data_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let engine = QueryEngine::new(Default::default());
    // Messages as Debian's Prometheus 2.42 prints them (after its `invalid parameter
    // "query": ` prefix); `tests/tests/promql_parse_errors.rs` checks many more live.
    for (q, want) in [
        ("sum(", "1:5: parse error: unclosed left parenthesis"),
        ("rate(x[5m]", "1:11: parse error: unclosed left parenthesis"),
        ("foo{a=}", "1:7: parse error: unexpected \"}\" in label matching, expected string"),
        ("1 +", "1:4: parse error: unexpected end of input"),
        ("x[5m:1m:1m]", "1:8: parse error: unexpected colon ':'"),
        ("sort_by_label(x)", "1:1: parse error: unknown function with name \"sort_by_label\""),
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
