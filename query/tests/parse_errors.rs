//! Parse errors are `bad_data` and say what is wrong.

use tidemark_engine::{Db, DbOptions};
use tidemark_query::{ErrorKind, QueryEngine};

#[test]
fn parse_errors_are_bad_data_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let engine = QueryEngine::new(Default::default());
    for q in [
        "sum(",
        "rate(x[5m]",
        "foo{a=}",
        "1 +",
        "x[5m:1m:1m]",
        "sort_by_label(x)",
        "x @ now()",
    ] {
        let e = engine.instant(&db, q, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadData, "{q}: {e}");
        assert!(!e.message.is_empty());
        eprintln!("{q:>20} -> {}", e.message);
    }
}
