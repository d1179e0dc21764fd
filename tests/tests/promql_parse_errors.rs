//! Parse errors against the real thing: each query below goes to Prometheus 3.5 and to
//! Tidemark's engine (over an empty database), twice: with the experimental PromQL features
//! off (the defaults), and with `--enable-feature=promql-experimental-functions,
//! promql-duration-expr` on both sides. Both must agree on success or failure and on the error
//! type; for failures the message (`LINE:COL: parse error: ...`, or the `START:END: ...` of an
//! error computing a duration expression) must be identical, once Prometheus's HTTP-layer
//! prefix `invalid parameter "query": ` is removed. Where the wording cannot reasonably be
//! identical the query is listed in `KNOWN_DIFFERENCES` with the reason, and then only the
//! position and error type must agree (and the message must still differ, so the list stays
//! honest).

use tidemark_engine::{Db, DbOptions};
use tidemark_query::{EngineOptions, Features, QueryEngine};
use tidemark_tests::prom::{PromOptions, PromResult, PromServer};

/// Queries whose messages differ, with the reason; positions must still match.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "x{a=~\"[a-\\\\d]\"}",
    "regex syntax errors come from Go's regexp package in Prometheus; Tidemark gives Go's \
     text for the common mistakes (parentheses, brackets, repetitions, class ranges, trailing \
     backslash) but Rust's regex crate's text for the rest, such as a class escape used as a \
     range bound",
)];

/// Queries whose outcome differs altogether (one side accepts, or the errors differ in kind),
/// with the reason. Each must still differ, or the test fails.
const KNOWN_OUTCOME_DIFFERENCES: &[(&str, &str)] = &[
    (
        "abs(sum(y^))",
        "Prometheus 3.5's parser panics while recovering from this syntax error inside an \
         aggregation within parentheses and answers \"unexpected error\"; Tidemark reports the \
         syntax error",
    ),
    (
        "(sum(x) by)",
        "Prometheus 3.5's parser panics while recovering from this syntax error and answers \
         \"unexpected error\"; Tidemark reports the syntax error",
    ),
    (
        "x{a=~\"a{2,_1}\"}",
        "Go's regexp takes braces that do not form a repetition literally; the engine's regex \
         dialect (Rust's regex crate) refuses them",
    ),
    (
        "x{a=~\"\\\\Q.\\\\E\"}",
        "Go's regexp supports \\Q...\\E quoting; the engine's regex dialect does not",
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

/// Prometheus 3.x syntax: numbers with `_` and durations as numbers (`foo[90]`, `1m + 1`),
/// duration expressions (`promql-duration-expr`) and their errors, quoted UTF-8 metric and
/// label names, `limitk`/`limit_ratio` and the experimental functions
/// (`promql-experimental-functions`), and `info`.
const QUERIES_3X: &[&str] = &[
    // Regular expressions: Go's messages.
    "x{a=~\"[z-a]\"}",
    "x{a=~\"*\"}",
    "x{a=~\"a)\"}",
    "x{a=~\"a[bc\"}",
    "x{a=~\"\\\\\"}",
    "x{a=~\"a|+\"}",
    "x{a!~\"(a|b\"}",
    "x{a=~\"a{1001}\"}",
    "x{a=~\"[a-\\\\d]\"}",
    "x{a=~\"[[:alpha:]-z]\"}",
    "x{a=~\"(?i)a(b\"}",
    "x{a=~\"a{2}{3}\"}",
    "x{a=~\"x**\"}",
    // Known outcome differences (see KNOWN_OUTCOME_DIFFERENCES).
    "abs(sum(y^))",
    "(sum(x) by)",
    "x{a=~\"a{2,_1}\"}",
    "x{a=~\"\\\\Q.\\\\E\"}",
    // Order of errors: lexer errors read before a reduction, trailing commas, `@`.
    "@",
    "x % @ 1",
    "info(x,[0.5",
    "info(x,^^ 2,]",
    "limit_ratio(0 ,^1ms",
    "sum(1) $",
    "sum() $",
    "limitk(1,x) $",
    "sum by (a) (1) $",
    "1 offset 1m $",
    "x offset 1m offset 1m $",
    "2 offset+1.5 }offset %",
    "{a=\"b\"}[1.5^ 1d[^-nan 2,",
    "x[1m+1m $]",
    "x offset (1m) offset 1m $",
    "x[-1m $",
    "sum(x, on)",
    // Non-ASCII text in messages (Go's %q and its 10-byte limit).
    "x\u{a0}+ 1",
    "\u{200b}x",
    "foo{\u{e9}=\"a\"}",
    "{\"\u{e9}\"}",
    "sum by (\"\u{e9}\") (x)",
    "'\\x41' \"\u{200b} foo{\u{e9}=\"",
    "x \"\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\"",
    // 3.x syntax.
    "foo[5m+1m]",
    "foo offset (1h/2)",
    "foo[2*1m:1m]",
    "foo[step()]",
    "foo[5]",
    "foo[5m:5]",
    "foo offset 5",
    "foo[1m+5]",
    "foo[min(1m,2m)]",
    "limitk(2, foo)",
    "limit_ratio(0.5, foo)",
    "double_exponential_smoothing(x[5m],0.5,0.5)",
    "holt_winters(x[5m],0.5,0.5)",
    "sort_by_label(x, \"a\")",
    "info(x)",
    "{\"my.metric\", \"some.label\"=\"x\"}",
    "sum by (\"some.label\") (x)",
    "\"my.metric\"{a=\"b\"}",
    "x[-1m]",
    "foo[5m] offset -(1m)",
    "foo[-5m+10m]",
    "foo @ (1+2)",
    "foo[1m*0]",
    "1m",
    "1m + 1",
    "-1m",
    "1h30m",
    "5m5",
    "1_000_000",
    "1__0",
    "1_",
    "0x_1F",
    "0x1.5",
    "1.5.5",
    "1e+",
    "1e5e5",
    ".5e3",
    "1._5",
    "x offset 1.5",
    "x offset 1.5m",
    "x[1.5]",
    "x[1.5m]",
    "x[1ms]",
    "x[0.0001]",
    "x[5m:0]",
    "x[5m:1.5]",
    "x offset 1e3",
    "x offset -5",
    "x offset 0x10",
    "x[0x10]",
    "x[1e3]",
    "x[5m1]",
    "x[5m ]",
    "x[ 5 ]",
    "x[5 m]",
    "{\"my.metric\"}",
    "{\"my.metric\", a=\"b\"}",
    "{a=\"b\", \"my.metric\"}",
    "{\"my.metric\", \"other\"}",
    "{\"a\"=\"b\"}",
    "{\"\"=\"b\"}",
    "{\"a\"}",
    "{\"a\"=~\"b\"}",
    "{\"a\"!=\"b\", c=\"d\"}",
    "foo{\"my.metric\"}",
    "foo{\"__name__\"=\"x\"}",
    "{'a.b'=\"c\"}",
    "{`a.b`=\"c\"}",
    "{\"a\" = }",
    "{\"a\" b}",
    "{\"a\" \"b\"}",
    "{\"a\",}",
    "{,\"a\"}",
    "{\"a\"==\"b\"}",
    "sum by (\"\") (x)",
    "sum by (\"a\", b) (x)",
    "sum by (\"a\",) (x)",
    "sum(x) by (a.b)",
    "sum(x) without (\"a.b\")",
    "x + on(\"a.b\") y",
    "x + on(\"a.b\") group_left(\"c.d\") y",
    "x + on(a) group_left(\"a\") y",
    "sum by (__name__) (x)",
    "count_values(\"a.b\", x)",
    "label_replace(x, \"a.b\", \"$1\", \"c\", \"(.*)\")",
    "label_join(x, \"a.b\", \",\", \"c\")",
    "\"foo\"",
    "{\"foo\"}[5m]",
    "{\"foo\"} offset 5m",
    "\"foo\" + 1",
    "limitk by (a) (2, x)",
    "limitk(x)",
    "limitk(\"a\", x)",
    "limit_ratio(2, x)",
    "limit_ratio(-0.5, x)",
    "limit_ratio(\"a\", x)",
    "limitk(-1, x)",
    "limitk(2, x[5m])",
    "limitk",
    "limitk + 1",
    "limit_ratio{a=\"b\"}",
    "{limitk=\"a\"}",
    "sum by (limitk) (x)",
    "limitk()",
    "limitk(1,2,3)",
    "mad_over_time(x[5m])",
    "ts_of_max_over_time(x[5m])",
    "ts_of_min_over_time(x[5m])",
    "ts_of_last_over_time(x[5m])",
    "first_over_time(x[5m])",
    "histogram_avg(x)",
    "histogram_stddev(x)",
    "histogram_stdvar(x)",
    "info(x, {a=\"b\"})",
    "info(x, y)",
    "info(x, {__name__=\"y\"})",
    "info(rate(x[5m]))",
    "info(x, {a=~\".*\"})",
    "info(x, {})",
    "info(x, sum(y))",
    "info(x, 1)",
    "info(x, y[5m])",
    "sort_by_label(x, \"a\", \"b\")",
    "sort_by_label_desc(x, \"a\")",
    "double_exponential_smoothing(x[5m], 2, 0.5)",
    "double_exponential_smoothing(x)",
    "present_over_time(x[5m])",
    "xrate(x[5m])",
    "sort_by_label(x, 1)",
    "sort_by_label(1)",
    "foo[1m/0]",
    "foo[1m%0]",
    "foo[1m/0s]",
    "foo[(1m)]",
    "foo[((1m))]",
    "foo[-(1m)]",
    "foo[+1m]",
    "foo[--1m]",
    "foo[-(-1m)]",
    "foo[1m^2]",
    "foo[2^3]",
    "foo[10s*1.5]",
    "foo[1m-2m]",
    "foo[1m-1m]",
    "foo[5m:(1m)]",
    "foo[5m:-1m]",
    "foo[5m:1m-1m]",
    "foo[5m:1m+1m]",
    "foo offset 1m+1m",
    "foo offset (1m+1m)",
    "foo offset -(1m+1m)",
    "foo offset (-1m)",
    "foo offset (1m)",
    "foo offset 1m * 2",
    "foo offset (1m*1e30)",
    "foo offset 1e30",
    "foo[1e30]",
    "foo[1e10]",
    "foo[(1e10)]",
    "foo[1m*1e20]",
    "foo[1m/1e20]",
    "foo[1.5s*0.001]",
    "foo[1ms/2]",
    "foo[3ms/2]",
    "foo offset (9000000000*2)",
    "foo[9000000000*2000000000]",
    "foo[(1m-2m)]",
    "foo[1m-2m:1m-2m]",
    "foo[5m:1m] offset (1m-2m)",
    "foo offset (1m%0)",
    "foo offset (1m%(1m-1m))",
    "foo offset (1m%(-2m+1m))",
    "x @ 1m",
    "x @ 1.5",
    "x[5m:1m:]",
    "x[5m::1m]",
    "x[5m+",
    "x[5m+]",
    "x[(5m]",
    "x[5m)]",
    "x offset (",
    "x offset (1m",
    "x offset 1m)",
    "x offset (1m))",
    "x offset -(",
    "x offset --1m",
    "x offset +1m",
    "x offset - 1m",
    "x offset (1m +)",
    "x[1m,2m]",
    "x[a]",
    "x[5m:a]",
    "x[1m 2m]",
    "x[1m:1m 2m]",
    "x offset 1m 2m",
    "x offset \"1m\"",
    "x offset x",
    "x offset 1y1y",
    "x offset 1y1",
    "rate(x[5m] offset (1m))",
    "(x offset 1m)[5m:1m]",
    "x[5m:1m] offset 1m offset 1m",
    "x offset 5m[1m:]",
    "x offset --1m*2",
    "x offset -1m*2",
    "x offset (1m) * 2",
    "x offset (1m) + x",
    "x offset (1m 2m)",
    "x offset -(1m)*2",
    "x[5m:(1m]",
    "x[5m:1m+]",
    "x[5m:1m)]",
    "x[(1m) 2m]",
    "x[1m*(2]",
    "x[1m 2m:]",
    "x @ 10 offset (2m)",
    "x[2^-1]",
    "x[2^-1*1m]",
    "x[2*-1m]",
    "x[-1m*-2]",
    "x[1m*2^2]",
    "x[-2^2]",
    "x[(-2)^2]",
    "x offset -2^2",
    "x offset 2^2",
    "1e999 + 1",
    "x[1e999]",
    "1_000.5",
    "1_0e1_0",
    "0x1_F",
    "0X1f",
    "0xg",
    "00x1",
    ".5_5",
    "0_1",
    "0_8",
    "09.5",
    "1e-999",
    "x[1ms1s]",
    "x[99999999999y]",
    "x[999999999999999999999y]",
    "x[1y1w]",
    "x[1h1h]",
    "x[1hs]",
    "x[1ys]",
    "x[1d1m1s1ms]",
    "x[1s1ms]",
    "x offset 1ds",
    "x[0]",
    "x[0ms]",
    "x[1_0s]",
    "x[1_0]",
    "x[0x10s]",
    "1ys",
    "x @ 0s",
    "0s + 1",
    "x offset 0",
    "x offset -0s",
    "x @ 300y",
    "x[300y]",
    "x offset 300y",
    "sum(x) by (a) (y)",
    "x[(a)]",
    "x[(]",
    "x[(",
    "x[-a]",
    "x[-",
    "x[-]",
    "x[1m+(a)]",
    "x[ ]",
    "x[ ",
    "x[5m] + y[:1m]",
    "x[5m:1m] + y[:1m]",
    "x[1m,]",
    "x[,]",
    "x[(1m)",
    "x offset (1m+1m) offset 1m",
    "x offset 1m offset (1m+1m)",
    "x offset 0s offset 1m",
    "x offset 0s [5m]",
    "x offset (1m+1m) [5m]",
    "x offset (1m-1m) offset 2m",
    "1 offset (1m+1m)",
    "x[5m:] offset (1m+1m) offset 1m",
    "0x1e",
    "0x1e1",
    "0x1E+1",
    "x @ start() offset 1m @ 2",
];

fn strip_prefix(e: &str) -> &str {
    e.strip_prefix("invalid parameter \"query\": ").unwrap_or(e)
}

/// `L:C` of a message.
fn position(msg: &str) -> &str {
    msg.split(": parse error").next().unwrap_or(msg)
}

/// Compares every query with one Prometheus and one engine; the disagreements and how many
/// known differences were excused.
fn compare(prom: &PromServer, features: Features, label: &str) -> (Vec<String>, usize) {
    let api = prom.api();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), DbOptions::default()).expect("open db");
    let engine = QueryEngine::new(EngineOptions {
        features,
        ..Default::default()
    });
    let t = 1_000_000;
    let mut failures = Vec::new();
    let mut excused = 0;
    let mut outcome_excused = 0;
    for q in QUERIES.iter().chain(QUERIES_3X) {
        let want = api
            .query(q, t)
            .unwrap_or_else(|e| panic!("{q:?}: Prometheus request failed: {e}"))
            .result;
        let got = engine.instant(&db, q, t);
        if KNOWN_OUTCOME_DIFFERENCES.iter().any(|(k, _)| k == q) {
            let want_outcome = match &want {
                PromResult::Error { error, .. } => strip_prefix(error).to_string(),
                _ => "ok".to_string(),
            };
            let got_outcome = match &got {
                Err(e) => e.message.clone(),
                Ok(_) => "ok".to_string(),
            };
            if want_outcome == got_outcome {
                failures.push(format!(
                    "[{label}] {q:?} is listed in KNOWN_OUTCOME_DIFFERENCES but now agrees; remove it"
                ));
            } else {
                outcome_excused += 1;
            }
            continue;
        }
        let known = KNOWN_DIFFERENCES.iter().any(|(k, _)| k == q);
        match (&want, &got) {
            (PromResult::Error { error_type, error }, Err(e)) => {
                let want_msg = strip_prefix(error);
                if error_type != e.kind.as_str() {
                    failures.push(format!(
                        "[{label}] {q:?}: error type {} vs Prometheus {error_type} ({want_msg})",
                        e.kind.as_str()
                    ));
                } else if known {
                    if position(want_msg) != position(&e.message) {
                        failures.push(format!(
                            "[{label}] {q:?} (known difference): position of\n   tidemark: {}\n   prometheus: {want_msg}",
                            e.message
                        ));
                    } else if want_msg == e.message {
                        failures.push(format!(
                            "[{label}] {q:?} is listed in KNOWN_DIFFERENCES but now agrees; remove it"
                        ));
                    } else {
                        excused += 1;
                    }
                } else if want_msg != e.message {
                    failures.push(format!(
                        "[{label}] {q:?}:\n   tidemark:   {}\n   prometheus: {want_msg}",
                        e.message
                    ));
                }
            }
            (PromResult::Error { error, .. }, Ok(_)) => failures.push(format!(
                "[{label}] {q:?}: Tidemark accepted it; Prometheus: {error}"
            )),
            (_, Err(e)) => failures.push(format!(
                "[{label}] {q:?}: Prometheus accepted it; Tidemark: {}",
                e.message
            )),
            (_, Ok(_)) => {}
        }
    }
    (failures, excused + outcome_excused)
}

#[test]
fn parse_errors_match_prometheus() {
    let total = QUERIES.len() + QUERIES_3X.len();
    assert!(total >= 500, "the suite should cover at least 500 queries");
    let plain = PromServer::start().unwrap_or_else(|e| panic!("{e}"));
    let (mut failures, mut excused) = compare(&plain, Features::default(), "features off");
    drop(plain);
    let flagged = PromServer::start_with(&PromOptions {
        extra_args: vec![
            "--enable-feature=promql-experimental-functions,promql-duration-expr".into(),
        ],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let on = Features {
        experimental_functions: true,
        duration_expressions: true,
        ..Features::default()
    };
    let (f2, e2) = compare(&flagged, on, "features on");
    failures.extend(f2);
    excused += e2;
    println!(
        "{total} queries compared twice (features off and on): {} disagreements, {excused} \
         comparisons excused as known differences (KNOWN_DIFFERENCES: {}, \
         KNOWN_OUTCOME_DIFFERENCES: {} entries, each with its reason)",
        failures.len(),
        KNOWN_DIFFERENCES.len(),
        KNOWN_OUTCOME_DIFFERENCES.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} comparisons disagree with Prometheus:\n{}",
        failures.len(),
        2 * total,
        failures.join("\n")
    );
}

/// Series selectors (`match[]` of `/api/v1/series`, labels, federation, ...), parsed as
/// Prometheus's `ParseMetricSelector` does.
const SELECTORS: &[&str] = &[
    "foo",
    "foo{a=\"b\"}",
    "{a=\"b\"}",
    "{\"my.metric\"}",
    "{\"my.metric\", \"some.label\"=~\"x.*\"}",
    "foo{__name__=\"x\"}",
    "foo{a=\"b\",}",
    "foo:bar{a=\"b\"}",
    "by{a=\"b\"}",
    "limitk",
    "foo{a=\"b\"} # comment",
    "",
    " ",
    "{}",
    "{a=\"\"}",
    "{__name__=~\".*\"}",
    "foo{",
    "foo{a=\"b\"",
    "foo{a}",
    "foo{a=~\"(\"}",
    "rate(x[5m])",
    "x[5m]",
    "sum(x)",
    "1",
    "inf",
    "-foo",
    "\"foo\"",
    "on",
    "foo offset 5m",
    "foo @ 1",
    "foo bar",
    "{a=\"b\"} or {c=\"d\"}",
    "foo{a=\"b\"}}",
    "foo)",
];

#[test]
fn series_selector_errors_match_prometheus() {
    let prom = PromServer::start().unwrap_or_else(|e| panic!("{e}"));
    let api = prom.api();
    let mut failures = Vec::new();
    for sel in SELECTORS {
        let (_, body) = api
            .post_form("/api/v1/series", &[("match[]", sel)])
            .unwrap_or_else(|e| panic!("{sel:?}: {e}"));
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{sel:?}: {e}: {body}"));
        let want = match v["status"].as_str() {
            Some("success") => "ok".to_string(),
            _ => v["error"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("invalid parameter \"match[]\": ")
                .to_string(),
        };
        // The API's own rule after parsing, as in Prometheus's `parseMatchersParam`.
        let got = match tidemark_query::parser::parse_metric_selector(sel) {
            Ok(ms) if ms.iter().all(|m| m.matches_empty()) => {
                "match[] must contain at least one non-empty matcher".to_string()
            }
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        if got != want {
            failures.push(format!(
                "{sel:?}:\n   tidemark:   {got}\n   prometheus: {want}"
            ));
        }
    }
    println!(
        "{} series selectors compared: {} disagreements",
        SELECTORS.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
