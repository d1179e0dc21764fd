//! Prometheus's own PromQL conformance files (`promql/promqltest/testdata/*.test` of the 3.5
//! line), run through our evaluator in process.
//!
//! The files live outside the project, in `../shared/fixtures/promqltest-3.5/` relative to the
//! workspace root (see that folder's README); without that folder this test says so and
//! passes. They are run with every experimental PromQL feature on, as Prometheus 3.5.3 passes
//! them (`promql-experimental-functions`, `promql-duration-expr`,
//! `promql-delayed-name-removal`).
//!
//! The language (Prometheus's `promqltest`):
//! - `load <step>` / `load_with_nhcb <step>` then series lines `metric{l="v"} 1+2x3 _ stale`:
//!   the values at 0, step, 2·step, …; `_` is no sample, `stale` a stale marker, `a+bxN` N+1
//!   values from a, `axN` N+1 copies, `_xN` N gaps; `{{...}}` is a native histogram;
//! - `clear` drops all data;
//! - `eval instant at <time> <expr>` and `eval range from <t> to <t> step <d> <expr>`, with the
//!   expected result on the following lines (`{labels} value` for an instant vector, a bare
//!   number for a scalar, series notation for range results); `eval_ordered` also checks the
//!   order; `eval_fail` must fail (`expected_fail_message` / `expected_fail_regexp` check the
//!   message); `eval_warn` / `eval_info` and `expect warn|info|no_info ...` lines ask for
//!   annotations;
//! - as Prometheus's runner does, an instant query is also run as a range query from t-1m to
//!   t+1m at step 1m, whose middle step must give the same result (unless it is ordered or
//!   must fail).
//!
//! What counts:
//! - a case is *native-histogram* (skipped, counted, never passed) when its expected output has
//!   `{{`, or its query's selectors can match a series that was loaded as native histograms
//!   (those are not loaded: our storage holds floats only);
//! - every other case must pass, except those in [`KNOWN_FAILING`] (file, line, reason); a
//!   listed case that passes fails the test, so the list stays honest;
//! - annotations are checked as Prometheus's runner checks them: `eval_warn` / `eval_info`
//!   need at least one warning / info, `expect warn|info msg: M` one with message `M` (the
//!   position our annotations carry, ` (1:5)`, is not part of it), `expect no_warn|no_info`
//!   none; the runner prints how many annotation expectations it checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use tidemark_engine::{Db, DbOptions, Labels, MatchType, Matcher};
use tidemark_query::{EngineOptions, Features, QueryEngine, Value};

const STALE: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// Float cases we do not pass yet: (file, line of the `eval`, reason).
const KNOWN_FAILING: &[(&str, usize, &str)] = &[];

/// The fixture folder, if present.
fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/promqltest-3.5");
    dir.is_dir().then_some(dir)
}

fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1000.0).round() as i64);
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let bytes = body.as_bytes();
    let (mut total, mut i) = (0i64, 0usize);
    if bytes.is_empty() {
        return Err(format!("empty duration {s:?}"));
    }
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let n: i64 = body[start..i]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let ms = match &body[unit_start..i] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            u => return Err(format!("bad duration unit {u:?} in {s:?}")),
        };
        total += n * ms;
    }
    Ok(if neg { -total } else { total })
}

fn parse_number(s: &str) -> Result<f64, String> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => return Ok(f64::INFINITY),
        "-inf" => return Ok(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Ok(f64::NAN),
        "stale" => return Ok(STALE),
        _ => {}
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16)
            .map(|v| v as f64)
            .map_err(|_| format!("bad number {t:?}"));
    }
    t.parse::<f64>().map_err(|_| format!("bad number {t:?}"))
}

/// Series notation: a list of optional values.
fn parse_values(s: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad {tok:?}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        // `a+bxN`, `a-bxN`, `axN`.
        // (`0x59` is 0 repeated, not hex: series notation has no hex numbers.)
        if let Some(xpos) = tok.rfind('x').filter(|&p| p > 0) {
            let n: usize = tok[xpos + 1..]
                .parse()
                .map_err(|_| format!("bad repeat in {tok:?}"))?;
            let head = &tok[..xpos];
            // The operator is the last + or - that is not at the start or after an `e`.
            let hb = head.as_bytes();
            let op = (1..hb.len())
                .rev()
                .find(|&i| (hb[i] == b'+' || hb[i] == b'-') && !matches!(hb[i - 1], b'e' | b'E'));
            let (a, b) = match op {
                Some(i) => {
                    let b = parse_number(&head[i + 1..])?;
                    (
                        parse_number(&head[..i])?,
                        if hb[i] == b'-' { -b } else { b },
                    )
                }
                None => (parse_number(head)?, 0.0),
            };
            for k in 0..=n {
                // Stale markers repeat as stale markers.
                out.push(Some(if a.to_bits() == STALE.to_bits() {
                    STALE
                } else {
                    a + b * k as f64
                }));
            }
            continue;
        }
        out.push(Some(parse_number(tok)?));
    }
    Ok(out)
}

/// Splits `metric{a="b"} rest` into the series' labels and the rest, parsing the descriptor
/// with our own PromQL parser (so quoted UTF-8 names work as they do in queries).
fn parse_series(line: &str) -> Result<(Labels, &str), String> {
    let line = line.trim();
    let end = match line.find('{') {
        Some(open) if !line[..open].contains(char::is_whitespace) => {
            close_brace(line, open).ok_or_else(|| format!("unclosed braces in {line:?}"))? + 1
        }
        _ => line.find(char::is_whitespace).unwrap_or(line.len()),
    };
    let (desc, rest) = line.split_at(end);
    let labels = if desc == "{}" {
        Labels::empty()
    } else {
        let expr = tidemark_query::parser::parse(desc).map_err(|e| format!("{desc:?}: {e}"))?;
        let Expr::VectorSelector(vs) = expr else {
            return Err(format!("{desc:?} is not a series"));
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(n) = &vs.name {
            pairs.push(("__name__".into(), n.clone()));
        }
        for m in &vs.matchers.matchers {
            pairs.push((m.name.clone(), m.value.clone()));
        }
        Labels::from_pairs(pairs).ok_or_else(|| format!("bad labels in {desc:?}"))?
    };
    Ok((labels, rest))
}

fn close_brace(s: &str, open: usize) -> Option<usize> {
    let (mut in_str, mut esc) = (false, false);
    for (i, c) in s[open..].char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' if in_str => esc = true,
            '"' => in_str = !in_str,
            '}' if !in_str => return Some(open + i),
            _ => {}
        }
    }
    None
}

/// Prometheus's `almost.Equal` with the runner's epsilon.
fn almost_equal(a: f64, b: f64) -> bool {
    const EPS: f64 = 1e-6;
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < EPS * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < EPS
}

#[derive(Debug)]
enum Query {
    Instant(i64),
    Range { start: i64, end: i64, step: i64 },
}

#[derive(Debug)]
struct Case {
    line: usize,
    query: Query,
    expr: String,
    fail: bool,
    ordered: bool,
    fail_message: Option<String>,
    fail_regexp: Option<regex::Regex>,
    /// Annotation expectations (eval_warn, eval_info, expect ...).
    expects: Vec<Expect>,
    /// Expected results: (labels, values); a scalar has `None` labels.
    expected: Vec<(Option<Labels>, Vec<Option<f64>>)>,
    native: bool,
}

/// An annotation expectation.
#[derive(Debug)]
struct Expect {
    /// An info (else a warning).
    info: bool,
    /// Whether one must be there (`no_warn` / `no_info`: none may).
    present: bool,
    /// The message one must have.
    msg: Option<String>,
}

/// Checks our annotations (`PromQL warning: ... (1:5)`) against the expectations.
fn check_annotations(expects: &[Expect], got: &[String]) -> Result<(), String> {
    for e in expects {
        let of_kind: Vec<&str> = got
            .iter()
            .filter(|a| a.starts_with("PromQL info:") == e.info)
            .map(|a| match a.rfind(" (") {
                Some(i) if a.ends_with(')') => &a[..i],
                _ => a.as_str(),
            })
            .collect();
        let ok = match (&e.msg, e.present) {
            (_, false) => of_kind.is_empty(),
            (None, true) => !of_kind.is_empty(),
            (Some(m), true) => of_kind.iter().any(|a| a == m),
        };
        if !ok {
            return Err(format!("annotations {got:?} do not meet {e:?}"));
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Counts {
    passed: usize,
    native: usize,
    /// Lines of the native-histogram cases (listed in the output).
    native_lines: Vec<usize>,
    known_failing: usize,
    annotations_checked: usize,
}

/// A series loaded as native histograms (not stored), to classify the cases that read it.
type HistogramSeries = Vec<Labels>;

fn open_db(dir: &Path) -> Db {
    Db::open(
        dir,
        DbOptions {
            retention_time: None,
            // Loads may append far behind the newest sample (a later `load` starts at 0
            // again): a head range of a century never refuses them.
            block_range: 100 * 365 * 86_400_000,
            ..DbOptions::default()
        },
    )
    .expect("open db")
}

/// The selectors of `e`, as engine matchers.
fn selectors(e: &Expr, out: &mut Vec<Vec<Matcher>>) {
    let mut add = |vs: &VectorSelector| {
        let mut ms = Vec::new();
        if let Some(n) = &vs.name {
            if let Ok(m) = Matcher::new(MatchType::Equal, "__name__", n.clone()) {
                ms.push(m);
            }
        }
        for m in &vs.matchers.matchers {
            let kind = match m.op {
                MatchOp::Equal => MatchType::Equal,
                MatchOp::NotEqual => MatchType::NotEqual,
                MatchOp::Re(_) => MatchType::RegexMatch,
                MatchOp::NotRe(_) => MatchType::RegexNoMatch,
            };
            if let Ok(m) = Matcher::new(kind, m.name.clone(), m.value.clone()) {
                ms.push(m);
            }
        }
        out.push(ms);
    };
    match e {
        Expr::VectorSelector(vs) => add(vs),
        Expr::MatrixSelector(ms) => add(&ms.vs),
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                selectors(a, out);
            }
        }
        _ => {}
    }
}

fn reads_histograms(expr: &str, hist: &HistogramSeries) -> bool {
    if hist.is_empty() {
        return false;
    }
    let Ok(e) = tidemark_query::parser::parse_with(expr, Features::all()) else {
        return false;
    };
    let mut sels = Vec::new();
    selectors(&e, &mut sels);
    sels.iter().any(|ms| {
        hist.iter()
            .any(|l| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
    })
}

/// Compares an instant-vector, scalar or matrix result with the expectation.
fn compare(case: &Case, value: &Value, steps: &[i64]) -> Result<(), String> {
    let exp = &case.expected;
    match value {
        Value::Scalar { v, .. } => match exp.as_slice() {
            [(None, vals)] if vals.len() == 1 => match vals[0] {
                Some(e) if almost_equal(e, *v) => Ok(()),
                _ => Err(format!("scalar: expected {:?}, got {v}", vals[0])),
            },
            _ => Err(format!("got scalar {v}, expected {exp:?}")),
        },
        Value::String { s, .. } => Err(format!("got string {s:?}")),
        Value::Vector(samples) => {
            if samples.len() != exp.len() {
                return Err(format!(
                    "expected {} samples, got {}: {}",
                    exp.len(),
                    samples.len(),
                    samples
                        .iter()
                        .map(|s| format!("{} {}", s.labels, s.v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            for (k, s) in samples.iter().enumerate() {
                let pos = if case.ordered {
                    (exp[k].0.as_ref() == Some(&s.labels)).then_some(k)
                } else {
                    exp.iter().position(|(l, _)| l.as_ref() == Some(&s.labels))
                };
                let Some(pos) = pos else {
                    return Err(format!("unexpected series {} {} (at {k})", s.labels, s.v));
                };
                match exp[pos].1.as_slice() {
                    [Some(e)] if almost_equal(*e, s.v) => {}
                    other => {
                        return Err(format!("{}: expected {:?}, got {}", s.labels, other, s.v))
                    }
                }
            }
            Ok(())
        }
        Value::Matrix(series) => {
            if series.len() != exp.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    exp.len(),
                    series.len(),
                    series
                        .iter()
                        .map(|s| format!(
                            "{} {:?}",
                            s.labels,
                            s.points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>()
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            for s in series {
                let Some((_, vals)) = exp.iter().find(|(l, _)| l.as_ref() == Some(&s.labels))
                else {
                    return Err(format!("unexpected series {}", s.labels));
                };
                let want: Vec<(i64, f64)> = if steps.is_empty() {
                    // An instant query's range vector: the values only.
                    vals.iter().flatten().map(|&v| (0, v)).collect()
                } else {
                    vals.iter()
                        .zip(steps)
                        .filter_map(|(v, &t)| v.map(|v| (t, v)))
                        .collect()
                };
                let got: Vec<(i64, f64)> = s
                    .points
                    .iter()
                    .map(|p| (if steps.is_empty() { 0 } else { p.t }, p.v))
                    .collect();
                let same = want.len() == got.len()
                    && want
                        .iter()
                        .zip(&got)
                        .all(|(a, b)| a.0 == b.0 && almost_equal(a.1, b.1));
                if !same {
                    return Err(format!("{}: expected {want:?}, got {got:?}", s.labels));
                }
            }
            Ok(())
        }
    }
}

fn run_case(engine: &QueryEngine, db: &Db, case: &Case) -> Result<(), String> {
    let (result, steps) = match case.query {
        Query::Instant(t) => (engine.instant(db, &case.expr, t), Vec::new()),
        Query::Range { start, end, step } => {
            let mut steps = Vec::new();
            let mut t = start;
            while t <= end {
                steps.push(t);
                t += step;
            }
            (engine.range(db, &case.expr, start, end, step), steps)
        }
    };
    if case.fail {
        return match result {
            Ok(r) => Err(format!("expected an error, got {:?}", r.value)),
            Err(e) => {
                let msg = e.message;
                if let Some(m) = &case.fail_message {
                    if &msg != m {
                        return Err(format!("error {msg:?}, expected {m:?}"));
                    }
                }
                if let Some(re) = &case.fail_regexp {
                    if !re.is_match(&msg) {
                        return Err(format!("error {msg:?} does not match {re}"));
                    }
                }
                Ok(())
            }
        };
    }
    let value = result.map_err(|e| format!("error: {} ({})", e.message, e.kind.as_str()))?;
    compare(case, &value.value, &steps)?;
    check_annotations(&case.expects, &value.warnings)?;
    // Prometheus's runner also checks an instant query's middle step in range mode.
    if let Query::Instant(t) = case.query {
        if case.ordered || matches!(value.value, Value::Matrix(_) | Value::String { .. }) {
            return Ok(());
        }
        let r = engine
            .range(db, &case.expr, t - 60_000, t + 60_000, 60_000)
            .map_err(|e| format!("as a range query: {}", e.message))?;
        let Value::Matrix(m) = r.value else {
            return Err("range query gave no matrix".into());
        };
        let mid: Vec<tidemark_query::Sample> = m
            .iter()
            .filter_map(|s| {
                s.points
                    .iter()
                    .find(|p| p.t == t)
                    .map(|p| tidemark_query::Sample {
                        labels: s.labels.clone(),
                        t,
                        v: p.v,
                    })
            })
            .collect();
        let as_value = match value.value {
            Value::Scalar { .. } => match mid.first() {
                Some(s) => Value::Scalar { t, v: s.v },
                None => return Err("range query: no scalar at the middle step".into()),
            },
            _ => Value::Vector(mid),
        };
        compare(case, &as_value, &[]).map_err(|e| format!("as a range query: {e}"))?;
    }
    Ok(())
}

fn is_command(l: &str) -> bool {
    let t = l.trim_start();
    t == "clear" || t.starts_with("load") || t.starts_with("eval")
}

/// Runs one file; returns the counts and the failures (`file:line: ...`).
fn run_file(path: &Path) -> (Counts, Vec<(usize, String)>) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let engine = QueryEngine::new(EngineOptions {
        features: Features::all(),
        ..EngineOptions::default()
    });
    let mut dir = tempfile::tempdir().unwrap();
    let mut db = open_db(dir.path());
    let mut hist: HistogramSeries = Vec::new();
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let lineno = i + 1;
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut body = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() && !is_command(lines[i]) {
            if !lines[i].trim().starts_with('#') {
                body.push(lines[i].trim());
            }
            i += 1;
        }
        let ctx = format!("{name}:{lineno}");
        if line == "clear" {
            drop(db);
            dir = tempfile::tempdir().unwrap();
            db = open_db(dir.path());
            hist.clear();
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("load_with_nhcb ")
            .map(|r| (r, true))
            .or_else(|| line.strip_prefix("load ").map(|r| (r, false)))
        {
            let (step, nhcb) = rest;
            let step = parse_duration(step).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let mut series: Vec<(Labels, Vec<Option<f64>>)> = Vec::new();
            for b in &body {
                let (l, rest) = parse_series(b).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                if rest.contains("{{") {
                    hist.push(l);
                    continue;
                }
                if nhcb {
                    // The classic series are loaded as floats, and Prometheus also converts
                    // them to a native histogram named without `_bucket`.
                    if let Some(base) = l.get("__name__").and_then(|n| n.strip_suffix("_bucket")) {
                        let pairs = l
                            .iter()
                            .filter(|x| x.name != "le")
                            .map(|x| (x.name, if x.name == "__name__" { base } else { x.value }));
                        if let Some(h) = Labels::from_pairs(pairs) {
                            hist.push(h);
                        }
                    }
                }
                let vals = parse_values(rest).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                // A series defined twice in one load: the last definition wins, as in
                // Prometheus's runner.
                series.retain(|(x, _)| *x != l);
                series.push((l, vals));
            }
            let n = series.iter().map(|s| s.1.len()).max().unwrap_or(0);
            for k in 0..n {
                let mut app = db.appender();
                for (l, vals) in &series {
                    if let Some(Some(v)) = vals.get(k) {
                        app.append(l, k as i64 * step, *v)
                            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    }
                }
                app.commit().unwrap();
            }
            continue;
        }
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        let mut expects = Vec::new();
        let (fail, ordered) = match cmd {
            "eval" | "eval_fail" | "eval_ordered" => (cmd == "eval_fail", cmd == "eval_ordered"),
            "eval_warn" | "eval_info" => {
                expects.push(Expect {
                    info: cmd == "eval_info",
                    present: true,
                    msg: None,
                });
                (false, false)
            }
            other => panic!("{ctx}: unknown command {other:?}"),
        };
        let (query, expr) = if let Some(r) = rest.strip_prefix("instant at ") {
            let (t, e) = r
                .split_once(' ')
                .unwrap_or_else(|| panic!("{ctx}: no expr"));
            (
                Query::Instant(parse_duration(t).unwrap_or_else(|e| panic!("{ctx}: {e}"))),
                e,
            )
        } else if let Some(r) = rest.strip_prefix("range from ") {
            let parts: Vec<&str> = r.splitn(6, ' ').collect();
            assert!(
                parts.len() == 6 && parts[1] == "to" && parts[3] == "step",
                "{ctx}: bad range header"
            );
            let d = |s: &str| parse_duration(s).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            (
                Query::Range {
                    start: d(parts[0]),
                    end: d(parts[2]),
                    step: d(parts[4]),
                },
                parts[5],
            )
        } else {
            panic!("{ctx}: bad eval header");
        };
        let mut case = Case {
            line: lineno,
            query,
            expr: expr.trim().to_owned(),
            fail,
            ordered,
            fail_message: None,
            fail_regexp: None,
            expects: Vec::new(),
            expected: Vec::new(),
            native: false,
        };
        for b in &body {
            if let Some(m) = b.strip_prefix("expected_fail_message ") {
                case.fail_message = Some(m.to_owned());
            } else if let Some(m) = b.strip_prefix("expected_fail_regexp ") {
                case.fail_regexp =
                    Some(regex::Regex::new(m).unwrap_or_else(|e| panic!("{ctx}: {e}")));
            } else if let Some(m) = b.strip_prefix("expect ") {
                let kind = m.split([' ', ':']).next().unwrap_or("");
                if matches!(kind, "warn" | "info" | "no_warn" | "no_info") {
                    expects.push(Expect {
                        info: kind.ends_with("info"),
                        present: !kind.starts_with("no_"),
                        msg: m.split_once("msg:").map(|(_, msg)| msg.trim().to_owned()),
                    });
                } else if m == "ordered" {
                    case.ordered = true;
                } else {
                    panic!("{ctx}: unknown expectation {m:?}");
                }
            } else if b.contains("{{") {
                case.native = true;
            } else if b.starts_with('{')
                || b.starts_with(|c: char| c.is_alphabetic() || c == '_')
                    && !b.starts_with("Inf")
                    && !b.starts_with("NaN")
                    && !b.starts_with("inf")
                    && !b.starts_with("nan")
            {
                let (l, rest) = parse_series(b).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let vals = parse_values(rest).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                case.expected.push((Some(l), vals));
            } else {
                let vals = parse_values(b).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                case.expected.push((None, vals));
            }
        }
        case.expects = expects;
        if reads_histograms(&case.expr, &hist) {
            case.native = true;
        }
        if case.native {
            counts.native += 1;
            counts.native_lines.push(case.line);
            continue;
        }
        counts.annotations_checked += case.expects.len();
        let known = KNOWN_FAILING
            .iter()
            .find(|(f, l, _)| *f == name && *l == case.line);
        match (run_case(&engine, &db, &case), known) {
            (Ok(()), None) => counts.passed += 1,
            (Ok(()), Some((_, _, why))) => failures.push((
                case.line,
                format!("listed as known-failing ({why}) but passes: remove it from KNOWN_FAILING"),
            )),
            (Err(_), Some(_)) => counts.known_failing += 1,
            (Err(e), None) => failures.push((case.line, format!("{}: {e}", case.expr))),
        }
    }
    (counts, failures)
}

#[test]
fn prometheus_conformance_files() {
    let Some(dir) = fixtures() else {
        println!("skipping: ../shared/fixtures/promqltest-3.5 is not there");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let only = std::env::var("PROMQLTEST_FILE").ok();
    let mut totals = Counts::default();
    let mut all_failures: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let (c, failures) = run_file(f);
        println!(
            "{name:28} passed {:4}  native-histogram (skipped) {:4}  known-failing {:3}  failing {:3}  annotations checked {:3}",
            c.passed,
            c.native,
            c.known_failing,
            failures.len(),
            c.annotations_checked
        );
        if !c.native_lines.is_empty() {
            let lines: Vec<String> = c.native_lines.iter().map(usize::to_string).collect();
            println!("  skipped (native histograms), lines: {}", lines.join(" "));
        }
        totals.passed += c.passed;
        totals.native += c.native;
        totals.known_failing += c.known_failing;
        totals.annotations_checked += c.annotations_checked;
        if !failures.is_empty() {
            all_failures.insert(name, failures);
        }
    }
    let failing: usize = all_failures.values().map(Vec::len).sum();
    println!(
        "{:28} passed {:4}  native-histogram (skipped) {:4}  known-failing {:3}  failing {:3}  annotations checked {:3}",
        "total", totals.passed, totals.native, totals.known_failing, failing, totals.annotations_checked
    );
    for (f, fs) in &all_failures {
        for (l, m) in fs {
            println!("FAIL {f}:{l}: {m}");
        }
    }
    assert_eq!(
        failing, 0,
        "{failing} conformance cases fail (see FAIL lines)"
    );
}

#[test]
fn notation_helpers() {
    assert_eq!(
        parse_values("1+2x2 _ stale _x2 3x1 -1-1x1 1e3")
            .unwrap()
            .len(),
        3 + 1 + 1 + 2 + 2 + 2 + 1
    );
    assert_eq!(
        parse_values("0+10x2").unwrap(),
        vec![Some(0.0), Some(10.0), Some(20.0)]
    );
    assert_eq!(
        parse_values("-1-1x1").unwrap(),
        vec![Some(-1.0), Some(-2.0)]
    );
    assert_eq!(parse_values("1e-3").unwrap(), vec![Some(0.001)]);
    assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
    assert_eq!(parse_duration("10s53ms").unwrap(), 10_053);
    assert_eq!(parse_duration("100").unwrap(), 100_000);
    assert!(almost_equal(1.0, 1.0 + 1e-9) && !almost_equal(1.0, 1.001));
    assert!(almost_equal(f64::NAN, f64::NAN));
}
