//! Comparison of two query results (e.g. Prometheus's and Tidemark's).

use std::collections::BTreeMap;

use crate::prom::api::{Labels, Point, PromResult};

/// How [`compare_with`] compares.
#[derive(Clone, Copy, Debug)]
pub struct CompareOptions {
    /// Largest accepted relative difference `|e - a| / max(|e|, |a|)`.
    pub rel_tol: f64,
    /// Differences up to this absolute amount are accepted too (for results near zero, where a
    /// relative bound is meaningless). 0 = relative bound only.
    pub abs_tol: f64,
    /// Whether the order of vector elements and matrix series must match (queries with `sort`,
    /// `topk`, ...; Prometheus also sorts matrix series by label set).
    pub ordered: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            rel_tol: 1e-6,
            abs_tol: 0.0,
            ordered: false,
        }
    }
}

/// Compares `actual` with `expected`, vector elements and matrix series as sets (order ignored).
///
/// Same result type; same label sets; equal timestamps; values equal within `rel_tol` relative
/// error (NaN equals NaN, infinities equal by sign). For errors only `errorType` must match.
/// The `Err` names the first series and point that differ.
pub fn compare(expected: &PromResult, actual: &PromResult, rel_tol: f64) -> Result<(), String> {
    compare_with(
        expected,
        actual,
        &CompareOptions {
            rel_tol,
            ..CompareOptions::default()
        },
    )
}

/// Like [`compare`], but the order of vector elements and matrix series must match too.
pub fn compare_ordered(
    expected: &PromResult,
    actual: &PromResult,
    rel_tol: f64,
) -> Result<(), String> {
    compare_with(
        expected,
        actual,
        &CompareOptions {
            rel_tol,
            ordered: true,
            ..CompareOptions::default()
        },
    )
}

/// Compares `actual` with `expected` as `opts` say (see [`compare`]).
pub fn compare_with(
    expected: &PromResult,
    actual: &PromResult,
    opts: &CompareOptions,
) -> Result<(), String> {
    match (expected, actual) {
        (
            PromResult::Error {
                error_type: et,
                error: em,
            },
            PromResult::Error {
                error_type: at,
                error: am,
            },
        ) => {
            if et == at {
                Ok(())
            } else {
                Err(format!(
                    "error type differs: expected {et:?} ({em}), got {at:?} ({am})"
                ))
            }
        }
        (PromResult::Scalar(e), PromResult::Scalar(a)) => {
            point_eq(e, a, opts).map_err(|m| format!("scalar differs: {m}"))
        }
        (
            PromResult::String {
                t_ms: et,
                value: ev,
            },
            PromResult::String {
                t_ms: at,
                value: av,
            },
        ) => {
            if et == at && ev == av {
                Ok(())
            } else {
                Err(format!(
                    "string differs: expected {ev:?} at {}, got {av:?} at {}",
                    secs(*et),
                    secs(*at)
                ))
            }
        }
        (PromResult::Vector(e), PromResult::Vector(a)) => {
            let e: Vec<(&Labels, &[Point])> = e
                .iter()
                .map(|s| (&s.metric, std::slice::from_ref(&s.point)))
                .collect();
            let a: Vec<(&Labels, &[Point])> = a
                .iter()
                .map(|s| (&s.metric, std::slice::from_ref(&s.point)))
                .collect();
            compare_series("vector", &e, &a, opts)
        }
        (PromResult::Matrix(e), PromResult::Matrix(a)) => {
            let e: Vec<(&Labels, &[Point])> =
                e.iter().map(|s| (&s.metric, &s.points[..])).collect();
            let a: Vec<(&Labels, &[Point])> =
                a.iter().map(|s| (&s.metric, &s.points[..])).collect();
            compare_series("matrix", &e, &a, opts)
        }
        _ => Err(format!(
            "result type differs: expected {}, got {}",
            describe(expected),
            describe(actual)
        )),
    }
}

fn describe(r: &PromResult) -> String {
    match r {
        PromResult::Error { error_type, error } => format!("error {error_type:?} ({error})"),
        PromResult::Matrix(s) => format!("matrix of {} series", s.len()),
        PromResult::Vector(s) => format!("vector of {} elements", s.len()),
        PromResult::Scalar(p) => format!("scalar {} at {}", p.raw, secs(p.t_ms)),
        PromResult::String { value, .. } => format!("string {value:?}"),
    }
}

fn compare_series(
    kind: &str,
    expected: &[(&Labels, &[Point])],
    actual: &[(&Labels, &[Point])],
    opts: &CompareOptions,
) -> Result<(), String> {
    let e_map = index(kind, "expected", expected)?;
    let a_map = index(kind, "actual", actual)?;
    let missing: Vec<String> = e_map
        .keys()
        .filter(|k| !a_map.contains_key(*k))
        .map(|k| format_labels(k))
        .collect();
    let extra: Vec<String> = a_map
        .keys()
        .filter(|k| !e_map.contains_key(*k))
        .map(|k| format_labels(k))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(format!(
            "{kind}: series sets differ: missing {missing:?}, unexpected {extra:?}"
        ));
    }
    for (labels, e_points) in &e_map {
        let a_points = a_map[labels];
        let name = format_labels(labels);
        for (i, (e, a)) in e_points.iter().zip(a_points.iter()).enumerate() {
            point_eq(e, a, opts).map_err(|m| format!("{kind}: series {name}, point #{i}: {m}"))?;
        }
        if e_points.len() != a_points.len() {
            let n = e_points.len().min(a_points.len());
            let (which, rest) = if e_points.len() > a_points.len() {
                ("missing", &e_points[n..])
            } else {
                ("unexpected", &a_points[n..])
            };
            let times: Vec<String> = rest.iter().map(|p| secs(p.t_ms)).collect();
            return Err(format!(
                "{kind}: series {name}: expected {} points, got {}; {which} points at t={}",
                e_points.len(),
                a_points.len(),
                times.join(",")
            ));
        }
    }
    if opts.ordered {
        for (i, ((e, _), (a, _))) in expected.iter().zip(actual.iter()).enumerate() {
            if e != a {
                return Err(format!(
                    "{kind}: order differs at position {i}: expected {}, got {}",
                    format_labels(e),
                    format_labels(a)
                ));
            }
        }
    }
    Ok(())
}

fn index<'a>(
    kind: &str,
    side: &str,
    series: &[(&'a Labels, &'a [Point])],
) -> Result<BTreeMap<&'a Labels, &'a [Point]>, String> {
    let mut map = BTreeMap::new();
    for &(labels, points) in series {
        if map.insert(labels, points).is_some() {
            return Err(format!(
                "{kind}: {side} result has series {} twice",
                format_labels(labels)
            ));
        }
    }
    Ok(map)
}

fn point_eq(e: &Point, a: &Point, opts: &CompareOptions) -> Result<(), String> {
    if e.t_ms != a.t_ms {
        return Err(format!(
            "timestamp differs: expected t={} (value {}), got t={} (value {})",
            secs(e.t_ms),
            e.raw,
            secs(a.t_ms),
            a.raw
        ));
    }
    if !values_equal(e.v, a.v, opts) {
        return Err(format!(
            "value at t={} differs: expected {}, got {} (relative error {:e}, tolerance {:e})",
            secs(e.t_ms),
            e.raw,
            a.raw,
            rel_err(e.v, a.v),
            opts.rel_tol
        ));
    }
    Ok(())
}

fn values_equal(e: f64, a: f64, opts: &CompareOptions) -> bool {
    if e.is_nan() || a.is_nan() {
        return e.is_nan() && a.is_nan();
    }
    if e.is_infinite() || a.is_infinite() {
        return e == a;
    }
    e == a || (e - a).abs() <= opts.abs_tol || rel_err(e, a) <= opts.rel_tol
}

fn rel_err(e: f64, a: f64) -> f64 {
    let scale = e.abs().max(a.abs());
    if scale == 0.0 {
        0.0
    } else {
        (e - a).abs() / scale
    }
}

fn secs(ms: i64) -> String {
    crate::prom::api::format_ms_as_seconds(ms)
}

/// Formats a label set the way Prometheus prints series: `name{a="1", b="2"}`.
pub fn format_labels(labels: &Labels) -> String {
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}
