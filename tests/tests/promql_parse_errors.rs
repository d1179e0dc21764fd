//! Parse errors against the real thing: each query below goes to Debian's Prometheus 2.42 and
//! to Tidemark's engine (over an empty database). Both must agree on success or failure and on
//! the error type; for failures the message (`LINE:COL: parse error: ...`) must be identical,
//! once Prometheus's HTTP-layer prefix `invalid parameter "query": ` is removed. Where the
//! wording cannot reasonably be identical the query is listed in `KNOWN_DIFFERENCES` with the
//! reason, and then only the position and error type must agree.

use tidemark_engine::{Db, DbOptions};
use tidemark_query::QueryEngine;
use tidemark_tests::prom::{PromResult, PromServer};

/// Queries whose messages differ, with the reason; positions must still match.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "x{a=~\"(\"}",
        "regex syntax errors come from Go's regexp package in Prometheus and from Rust's regex \
         crate in Tidemark; the texts differ",
    ),
    (
        "x{a!~\"a{2,1}\"}",
        "regex syntax errors come from Go's regexp package in Prometheus and from Rust's regex \
         crate in Tidemark; the texts differ",
    ),
];

/// Malformed, odd and valid-but-tricky queries.
const QUERIES: &[&str] = &[
    // Lexer errors.
    "sum(",
    "x}",
    "1 + )",
    "a\n+ )",
    "x[5m",
    "((x)",
    "x{a=\"b\"",
    "x{a=\"b\",",
    "x{a{",
    "x{a!b}",
    "x{a=\"b\"|}",
    "x ! y",
    "x =~ y",
    "x $ y",
    "\"unterminated",
    "'unterminated",
    "`unterminated",
    "\"a\nb\"",
    "\"\\400\"",
    "x{a='\\q'}",
    "\"\\x4\"",
    "\"\\u12\"",
    "\"\\uD800\"",
    "\"\\U00110000\"",
    "1_000",
    "0x1p3",
    "1e",
    "1e999",
    "0x",
    "5mx",
    "x[5]",
    "x[]",
    "x[1y1y]",
    "x[5m:1m:1m]",
    "x[5m:5]",
    "x[[5m]]",
    "x]",
    "x[5m] ]",
    "x[ 5m ]",
    "x[5m a]",
    "x[5m:1m a]",
    // Syntax errors in expressions.
    "1 +",
    "1 + ",
    "foo bar",
    "sum(foo bar)",
    "sum(1 +)",
    "rate(x[5m] y)",
    "rate(sum(x) y)",
    "sum by (a) x",
    "sum by (a) (x) by (b)",
    "(1",
    "()",
    "(1 2)",
    "1 2",
    "* 1",
    "a + group_left b",
    "a + on(b) group_left",
    "a + on b",
    "a + on(b c) d",
    "a * on(b) group_left(c d) e",
    "a * on(b,) c",
    "a * on(b,,c) d",
    "sum(x) by x",
    "sum(x) by (a b)",
    "sum(x) by (a:b)",
    "sum(x) by (1)",
    "sum(x) by (\"a\")",
    "sum(x) without (a,)",
    "sum without () (x)",
    "sum(x) by (offset, on, bool, by)",
    "foo{a=\"b\" c}",
    "foo{a}",
    "foo{,}",
    "foo{a=}",
    "foo{a=b}",
    "foo{a==\"b\"}",
    "foo{\"a\"=\"b\"}",
    "foo{a=\"b\",}",
    "foo{a=\"b\" # comment\n}",
    "x offset",
    "x offset 5",
    "x offset -",
    "x offset - 5m",
    "x offset 5m5",
    "x @",
    "x @ start",
    "x @ start(",
    "x @ now()",
    "x @ \"1\"",
    "x @ - 5",
    "x[5m:",
    "x[5m:1m",
    "x[:1m]",
    "x[5m 1m]",
    "x[\"5m\"]",
    "sum(x,)",
    "rate(x[5m],)",
    "rate(x[5m],,)",
    "rate(,)",
    "",
    "  # only a comment",
    "\n\n",
    // Semantic errors found while parsing.
    "foo(1) $",
    "foo(1",
    "double_exponential_smoothing(x[5m],1,1)",
    "sort_by_label(x)",
    "topk(x)",
    "sum()",
    "sum(x, y)",
    "count_values(x)",
    "x[0s]",
    "x[5m:0s]",
    "x offset 0s",
    "x[1m1h]",
    "x[999999999999999999y]",
    "rate(x[5m]) offset 1m",
    "(foo)[5m]",
    "1 offset 5m",
    "1[5m]",
    "x @ 1e20",
    "x @ Inf",
    "x @ NaN",
    "x @ start() @ end()",
    "x @ 1 @ 2",
    "x offset 1m offset 2m",
    "x offset 1m[5m]",
    "x @ 10[5m]",
    "a @ start()[5m]",
    "x{a=\"b\"} offset 5m[1m:]",
    "a + on(b) group_left +",
    "a + on(b) group_left )",
    "1 > bool",
    "sum(x) by",
    "sum(x) by (a",
    "a + on(b",
    "sum(x) by (",
    "x{a=~\"(\"}",
    "x{a!~\"a{2,1}\"}",
    // Type errors.
    "rate(x)",
    "rate(x[5m:])",
    "abs(x[5m])",
    "label_join(x)",
    "label_join(x, \"a\", \"b\", 1)",
    "round(x,1,2)",
    "rate()",
    "time(1)",
    "histogram_quantile(x, y)",
    "label_replace(x, 1, \"\", \"\", \"\")",
    "count_values(1, x)",
    "topk(\"a\", x)",
    "quantile(x, y)",
    "sum(x[5m])",
    "sum(\"a\")",
    "-\"a\"",
    "+x[5m]",
    "-x[5m]",
    "x[5m:] [1m:]",
    "x[5m] @ 3 [1m:]",
    "\"a\"[1m:]",
    "\"a\" + 1",
    "x[5m] + 1",
    "1 + x[5m]",
    "a and 1",
    "1 and 1",
    "1 or on(a) b",
    "1 + on(a) b",
    "a + on(b) group_left(b) c",
    "1 > 1",
    "1 > bool 1 > 1",
    "a and bool b",
    "x + bool y",
    "a unless on(x) group_left b",
    "a or ignoring(x) group_right b",
    "{}",
    "{a=\"\"}",
    "{a=~\".*\"}",
    "{a!=\"x\"}",
    "foo{__name__=\"a\"}",
    "{__name__=\"a\", __name__=\"b\"}",
    // Valid but tricky.
    "-2^2",
    "- -1",
    "2 ^ 3 ^ 2",
    "-x offset 5m",
    "x @ -1",
    "x @ 5",
    "x @ start()",
    "x @ end()[5m]",
    "x @ 10 offset 1m",
    "x offset -5m",
    "x{a=\"b\"}[5m] offset 1m @ 10",
    "x[1h30m]",
    "x[5m:]",
    "x[5m:1m] offset 1m",
    "010",
    "09",
    "0x1F",
    ".5",
    "5.",
    "InF",
    "-nan",
    "1e3",
    "holt_winters(x[5m],1,1)",
    "x == bool y",
    "x + ignoring(a) group_right y",
    "a * on(b) group_left (c) d",
    "sum(x) by (a)",
    "sum by (a)(x)",
    "count_values(\"v\", x)",
    "sum",
    "sum + 1",
    "by",
    "offset",
    "start",
    "and",
    "on",
    "bool",
    "atan2",
    "a atan2 b",
    "abs",
    "abs{a=\"b\"}",
    "label_join(x, \"a\", \"-\", \"b\", \"c\", \"d\")",
    "year()",
    "x # trailing comment",
    "`raw \\n`",
    "'single'",
    "a:b:c",
    "{__name__=~\"a.*\"}",
    "(((x)))",
];

fn strip_prefix(e: &str) -> &str {
    e.strip_prefix("invalid parameter \"query\": ").unwrap_or(e)
}

/// `L:C` of a message.
fn position(msg: &str) -> &str {
    msg.split(": parse error").next().unwrap_or(msg)
}

#[test]
fn parse_errors_match_prometheus() {
    let prom = PromServer::start().unwrap_or_else(|e| panic!("{e}"));
    let api = prom.api();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), DbOptions::default()).expect("open db");
    let engine = QueryEngine::new(Default::default());
    let t = 1_000_000;
    let mut failures = Vec::new();
    for q in QUERIES {
        let want = api
            .query(q, t)
            .unwrap_or_else(|e| panic!("{q:?}: Prometheus request failed: {e}"))
            .result;
        let got = engine.instant(&db, q, t);
        let known = KNOWN_DIFFERENCES.iter().any(|(k, _)| k == q);
        match (&want, &got) {
            (PromResult::Error { error_type, error }, Err(e)) => {
                let want_msg = strip_prefix(error);
                if error_type != e.kind.as_str() {
                    failures.push(format!(
                        "{q:?}: error type {} vs Prometheus {error_type} ({want_msg})",
                        e.kind.as_str()
                    ));
                } else if known {
                    if position(want_msg) != position(&e.message) {
                        failures.push(format!(
                            "{q:?} (known difference): position of\n   tidemark: {}\n   prometheus: {want_msg}",
                            e.message
                        ));
                    }
                } else if want_msg != e.message {
                    failures.push(format!(
                        "{q:?}:\n   tidemark:   {}\n   prometheus: {want_msg}",
                        e.message
                    ));
                }
            }
            (PromResult::Error { error, .. }, Ok(_)) => {
                failures.push(format!("{q:?}: Tidemark accepted it; Prometheus: {error}"))
            }
            (_, Err(e)) => failures.push(format!(
                "{q:?}: Prometheus accepted it; Tidemark: {}",
                e.message
            )),
            (_, Ok(_)) => {}
        }
    }
    assert!(
        QUERIES.len() >= 150,
        "the suite should cover at least 150 queries"
    );
    assert!(
        failures.is_empty(),
        "{} of {} queries disagree with Prometheus:\n{}",
        failures.len(),
        QUERIES.len(),
        failures.join("\n")
    );
}
