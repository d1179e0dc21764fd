//! Runs the data-driven PromQL cases in `tests/cases/*.test` against a real database in a
//! temporary directory.
//!
//! Format (one case is one text block; `#` starts a comment line):
//! ```text
//! load 1m                                   # interval between the values below
//!   http_requests{job="api"} 0+10x5 _ 100 stale   # 0 10 20 30 40 50, a gap, 100, a stale marker
//!
//! eval instant at 5m sum(http_requests)     # time: a duration since the epoch, or seconds
//!   {} 50                                   # expected samples (any order); `ordered` keeps order
//!
//! eval range from 0 to 4m step 2m http_requests
//!   http_requests{job="api"} 0 20 40        # `_` where a step has no value
//!
//! eval_fail instant at 0 rate(http_requests)   # must fail; `eval_fail bad_data ...` checks the kind
//! ```
//! Values: numbers, `Inf`, `-Inf`, `NaN`, `_` (nothing), `stale` (a stale marker), and
//! `A+BxN` / `A-BxN` (N+1 values from A in steps of B). Scalars are expected as a bare
//! number line.

use std::path::Path;

use tidemark_engine::{Db, DbOptions, Labels};
use tidemark_query::{ErrorKind, QueryEngine, Value};

const STALE: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1000.0).round() as i64);
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut total = 0i64;
    let mut num = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            num.push(c);
            i += 1;
            continue;
        }
        let unit: String = if c == 'm' && chars.get(i + 1) == Some(&'s') {
            i += 2;
            "ms".into()
        } else {
            i += 1;
            c.to_string()
        };
        let n: i64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
        num.clear();
        total += n * match unit.as_str() {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return Err(format!("bad duration unit in {s:?}")),
        };
    }
    if !num.is_empty() {
        return Err(format!("duration {s:?} lacks a unit"));
    }
    Ok(if neg { -total } else { total })
}

/// Splits `metric{a="b"} rest` into the series labels and the rest.
fn parse_series(line: &str) -> Result<(Labels, &str), String> {
    let line = line.trim();
    let (name_part, rest) = match line.find('{') {
        Some(open) if !line[..open].contains(' ') => {
            let close =
                find_close(line, open).ok_or_else(|| format!("unclosed braces in {line:?}"))?;
            (&line[..=close], &line[close + 1..])
        }
        _ => match line.find(' ') {
            Some(sp) => (&line[..sp], &line[sp..]),
            None => (line, ""),
        },
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let (name, body) = match name_part.find('{') {
        Some(open) => (
            &name_part[..open],
            &name_part[open + 1..name_part.len() - 1],
        ),
        None => (name_part, ""),
    };
    if !name.is_empty() {
        pairs.push(("__name__".into(), name.into()));
    }
    let mut rest_body = body.trim();
    while !rest_body.is_empty() {
        let eq = rest_body
            .find('=')
            .ok_or_else(|| format!("bad labels {body:?}"))?;
        let lname = rest_body[..eq].trim().to_owned();
        let after = rest_body[eq + 1..].trim_start();
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| format!("unquoted value in {body:?}"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(match n {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                }
                '"' => {
                    end = Some(i);
                    break;
                }
                other => value.push(other),
            }
        }
        let end = end.ok_or_else(|| format!("unterminated value in {body:?}"))?;
        pairs.push((lname, value));
        rest_body = after[end + 1..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    let labels = Labels::from_pairs(pairs).ok_or_else(|| format!("bad labels in {line:?}"))?;
    Ok((labels, rest))
}

fn find_close(s: &str, open: usize) -> Option<usize> {
    let mut in_str = false;
    let mut esc = false;
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

fn parse_number(s: &str) -> Result<f64, String> {
    match s {
        "Inf" | "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        "stale" => Ok(STALE),
        _ => s.parse().map_err(|_| format!("bad number {s:?}")),
    }
}

/// Expands a value list into optional values.
fn parse_values(s: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if let Some(xpos) = tok.find('x') {
            let (head, count) = (&tok[..xpos], &tok[xpos + 1..]);
            let n: usize = count
                .parse()
                .map_err(|_| format!("bad repeat count in {tok:?}"))?;
            // A+B or A-B, where A may itself be negative.
            let split = head[1..]
                .rfind(['+', '-'])
                .map(|p| p + 1)
                .ok_or_else(|| format!("bad expansion {tok:?}"))?;
            let start = parse_number(&head[..split])?;
            let step = parse_number(head[split..].trim_start_matches('+'))?;
            for k in 0..=n {
                out.push(Some(start + step * k as f64));
            }
            continue;
        }
        out.push(Some(parse_number(tok)?));
    }
    Ok(out)
}

fn same(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    a == b || ((a - b) / b.abs().max(a.abs())).abs() <= 1e-6
}

fn run_file(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time: None,
            ..DbOptions::default()
        },
    )
    .unwrap();
    let engine = QueryEngine::new(Default::default());
    let mut failures = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let lineno = i + 1;
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The block's indented body.
        let mut body = Vec::new();
        while i < lines.len()
            && (lines[i].starts_with(' ') || lines[i].starts_with('\t'))
            && !lines[i].trim().is_empty()
        {
            if !lines[i].trim().starts_with('#') {
                body.push(lines[i].trim());
            }
            i += 1;
        }
        let ctx = format!("{}:{lineno}: {line}", path.display());
        if let Some(interval) = line.strip_prefix("load ") {
            let step = parse_duration(interval.trim()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let mut series: Vec<(Labels, Vec<Option<f64>>)> = Vec::new();
            for b in &body {
                let (l, rest) = parse_series(b).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                series.push((
                    l,
                    parse_values(rest).unwrap_or_else(|e| panic!("{ctx}: {e}")),
                ));
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
        let (fail, kind, rest) = if let Some(r) = line.strip_prefix("eval_fail ") {
            let (kind, r) = match r.split_once(' ') {
                Some(("bad_data", r)) => (Some(ErrorKind::BadData), r),
                Some(("execution", r)) => (Some(ErrorKind::Execution), r),
                _ => (None, r),
            };
            (true, kind, r)
        } else if let Some(r) = line.strip_prefix("eval ") {
            (false, None, r)
        } else {
            panic!("{ctx}: unknown command");
        };
        let (ordered, rest) = match rest.strip_prefix("ordered ") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let result = if let Some(r) = rest.strip_prefix("instant at ") {
            let (t, expr) = r
                .split_once(' ')
                .unwrap_or_else(|| panic!("{ctx}: missing expression"));
            (
                engine.instant(&db, expr, parse_duration(t).unwrap()),
                expr.to_owned(),
                None,
            )
        } else if let Some(r) = rest.strip_prefix("range from ") {
            let parts: Vec<&str> = r.splitn(6, ' ').collect();
            assert!(
                parts.len() == 6 && parts[1] == "to" && parts[3] == "step",
                "{ctx}: want `range from T to T step D EXPR`"
            );
            let (s, e, st) = (
                parse_duration(parts[0]).unwrap(),
                parse_duration(parts[2]).unwrap(),
                parse_duration(parts[4]).unwrap(),
            );
            (
                engine.range(&db, parts[5], s, e, st),
                parts[5].to_owned(),
                Some((s, e, st)),
            )
        } else {
            panic!("{ctx}: want `instant at` or `range from`");
        };
        let (res, _expr, range) = result;
        if fail {
            match res {
                Ok(r) => failures.push(format!("{ctx}: expected an error, got {:?}", r.value)),
                Err(e) => {
                    if let Some(k) = kind {
                        if e.kind != k {
                            failures.push(format!("{ctx}: expected {} error, got {e}", k.as_str()));
                        }
                    }
                }
            }
            continue;
        }
        let value = match res {
            Ok(r) => r.value,
            Err(e) => {
                failures.push(format!("{ctx}: query failed: {e}"));
                continue;
            }
        };
        if let Err(e) = check(&value, &body, ordered, range) {
            failures.push(format!("{ctx}: {e}"));
        }
    }
    failures
}

fn check(
    value: &Value,
    body: &[&str],
    ordered: bool,
    range: Option<(i64, i64, i64)>,
) -> Result<(), String> {
    match value {
        Value::Scalar { v, .. } => {
            let want = parse_number(
                body.first()
                    .ok_or("expected no result, got a scalar")?
                    .trim(),
            )?;
            if !same(*v, want) {
                return Err(format!("scalar {v}, want {want}"));
            }
        }
        Value::String { s, .. } => {
            let want = body
                .first()
                .ok_or("expected no result, got a string")?
                .trim()
                .trim_matches('"');
            if s != want {
                return Err(format!("string {s:?}, want {want:?}"));
            }
        }
        Value::Vector(got) => {
            let mut want: Vec<(Labels, f64)> = Vec::new();
            for b in body {
                let (l, rest) = parse_series(b)?;
                let v = parse_values(rest)?;
                want.push((l, v.first().copied().flatten().ok_or("missing value")?));
            }
            if got.len() != want.len() {
                return Err(format!(
                    "got {} samples, want {}: {got:?}",
                    got.len(),
                    want.len()
                ));
            }
            for (k, (wl, wv)) in want.iter().enumerate() {
                let found = if ordered {
                    got.get(k).filter(|s| &s.labels == wl)
                } else {
                    got.iter().find(|s| &s.labels == wl)
                };
                match found {
                    None => return Err(format!("missing {wl} (got {got:?})")),
                    Some(s) if !same(s.v, *wv) => {
                        return Err(format!("{wl}: got {}, want {wv}", s.v))
                    }
                    _ => {}
                }
            }
        }
        Value::Matrix(got) if range.is_none() => {
            // An instant query's range vector: compare the values of each series.
            if got.len() != body.len() {
                return Err(format!("got {} series, want {}", got.len(), body.len()));
            }
            for b in body {
                let (l, rest) = parse_series(b)?;
                let want: Vec<f64> = parse_values(rest)?.into_iter().flatten().collect();
                let s = got
                    .iter()
                    .find(|s| s.labels == l)
                    .ok_or_else(|| format!("missing series {l}"))?;
                let have: Vec<f64> = s.points.iter().map(|p| p.v).collect();
                if have.len() != want.len() || have.iter().zip(&want).any(|(a, b)| !same(*a, *b)) {
                    return Err(format!("{l}: got {have:?}, want {want:?}"));
                }
            }
        }
        Value::Matrix(got) => {
            let (start, _end, step) = range.ok_or("unexpected matrix")?;
            let mut want: Vec<(Labels, Vec<Option<f64>>)> = Vec::new();
            for b in body {
                let (l, rest) = parse_series(b)?;
                want.push((l, parse_values(rest)?));
            }
            if got.len() != want.len() {
                return Err(format!(
                    "got {} series, want {}: {:?}",
                    got.len(),
                    want.len(),
                    got.iter().map(|s| s.labels.to_string()).collect::<Vec<_>>()
                ));
            }
            for (wl, wv) in &want {
                let s = got
                    .iter()
                    .find(|s| &s.labels == wl)
                    .ok_or_else(|| format!("missing series {wl}"))?;
                let expected: Vec<(i64, f64)> = wv
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| (start + k as i64 * step, v)))
                    .collect();
                let actual: Vec<(i64, f64)> = s.points.iter().map(|p| (p.t, p.v)).collect();
                if expected.len() != actual.len()
                    || expected
                        .iter()
                        .zip(&actual)
                        .any(|(a, b)| a.0 != b.0 || !same(a.1, b.1))
                {
                    return Err(format!("{wl}: got {actual:?}, want {expected:?}"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn promql_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut n = 0;
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "test"))
    {
        n += 1;
        failures.extend(run_file(f));
    }
    assert!(n > 0, "no case files in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn format_helpers() {
    assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
    assert_eq!(parse_duration("90").unwrap(), 90_000);
    assert_eq!(parse_duration("100ms").unwrap(), 100);
    assert_eq!(parse_values("1+2x2 _ -1-1x1 stale").unwrap().len(), 7);
    let (l, rest) = parse_series(r#"m{a="x y", b="\"q\""} 1 2"#).unwrap();
    assert_eq!(l.get("a"), Some("x y"));
    assert_eq!(l.get("b"), Some("\"q\""));
    assert_eq!(rest.trim(), "1 2");
}
