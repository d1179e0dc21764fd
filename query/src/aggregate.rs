//! Aggregation operators (`sum`, `avg`, `topk`, ...) over an instant vector, for all steps.
//!
//! Groups are formed once per query (a series' grouping labels do not change between
//! steps); output order is the order in which groups first appear, as in Prometheus.

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;
use tidemark_engine::Labels;

use crate::error::QueryError;
use crate::eval::{group_key, StepSeries, Val};
use crate::functions;

type Result<T> = std::result::Result<T, QueryError>;

/// Evaluates aggregation `op` with its optional parameter over `input`.
pub(crate) fn aggregate(
    op: &str,
    param: Option<Val>,
    input: Vec<StepSeries>,
    modifier: Option<&LabelModifier>,
    steps: usize,
) -> Result<Val> {
    match op {
        "topk" | "bottomk" => {
            let k = scalar_param(param, op)?;
            return Ok(Val::Vector(top_bottom(
                op == "topk",
                &k,
                input,
                modifier,
                steps,
            )));
        }
        "count_values" => {
            let Some(Val::String(label)) = param else {
                return Err(QueryError::bad_data(
                    "count_values requires a string parameter",
                ));
            };
            if !functions::is_valid_label_name(&label) {
                return Err(QueryError::execution(format!(
                    "invalid label name {label:?}"
                )));
            }
            return Ok(Val::Vector(count_values(&label, input, modifier, steps)));
        }
        _ => {}
    }
    let q = if op == "quantile" {
        Some(scalar_param(param, op)?)
    } else {
        None
    };
    // Group series.
    let mut keys: Vec<Labels> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (i, s) in input.iter().enumerate() {
        let k = group_key(&s.labels, modifier);
        let g = *index.entry(k.clone()).or_insert_with(|| {
            keys.push(k);
            members.push(Vec::new());
            keys.len() - 1
        });
        members[g].push(i);
    }
    let mut out = Vec::with_capacity(keys.len());
    let mut buf: Vec<f64> = Vec::new();
    for (key, m) in keys.into_iter().zip(members) {
        let mut vals = Vec::with_capacity(steps);
        for step in 0..steps {
            buf.clear();
            buf.extend(m.iter().filter_map(|&i| input[i].vals[step]));
            if buf.is_empty() {
                vals.push(None);
                continue;
            }
            let v = match op {
                "sum" => buf.iter().sum(),
                "avg" => mean(&buf),
                "min" => {
                    buf.iter()
                        .copied()
                        .fold(f64::NAN, |a, b| if a.is_nan() || b < a { b } else { a })
                }
                "max" => {
                    buf.iter()
                        .copied()
                        .fold(f64::NAN, |a, b| if a.is_nan() || b > a { b } else { a })
                }
                "count" => buf.len() as f64,
                "group" => 1.0,
                "stddev" => variance(&buf).sqrt(),
                "stdvar" => variance(&buf),
                "quantile" => {
                    functions::quantile(q.as_ref().map_or(f64::NAN, |q| q[step]), &mut buf)
                }
                other => {
                    return Err(QueryError::bad_data(format!(
                        "unknown aggregation {other:?}"
                    )))
                }
            };
            vals.push(Some(v));
        }
        out.push(StepSeries { labels: key, vals });
    }
    Ok(Val::Vector(out))
}

fn scalar_param(param: Option<Val>, op: &str) -> Result<Vec<f64>> {
    match param {
        Some(Val::Scalar(v)) => Ok(v),
        _ => Err(QueryError::bad_data(format!(
            "{op} requires a scalar parameter"
        ))),
    }
}

/// Incremental mean as Prometheus 2.42 computes `avg` (it switches to this form to avoid
/// overflow; infinities are handled explicitly).
fn mean(v: &[f64]) -> f64 {
    let mut m = v[0];
    for (i, &x) in v.iter().enumerate().skip(1) {
        let n = (i + 1) as f64;
        if m.is_infinite() {
            if x.is_infinite() && (x > 0.0) != (m > 0.0) {
                m = f64::NAN;
            }
            continue;
        }
        if x.is_infinite() {
            m = x;
            continue;
        }
        m += x / n - m / n;
    }
    m
}

/// Population variance by Welford's method, as Prometheus computes stddev/stdvar.
fn variance(v: &[f64]) -> f64 {
    let (mut count, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
    for &x in v {
        count += 1.0;
        let delta = x - mean;
        mean += delta / count;
        m2 += delta * (x - mean);
    }
    m2 / count
}

fn top_bottom(
    top: bool,
    k: &[f64],
    input: Vec<StepSeries>,
    modifier: Option<&LabelModifier>,
    steps: usize,
) -> Vec<StepSeries> {
    let mut groups: HashMap<Labels, Vec<usize>> = HashMap::new();
    let mut order: Vec<Labels> = Vec::new();
    for (i, s) in input.iter().enumerate() {
        let key = group_key(&s.labels, modifier);
        groups
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(i);
    }
    let mut keep: Vec<Vec<Option<f64>>> = vec![vec![None; steps]; input.len()];
    for key in &order {
        let m = &groups[key];
        for step in 0..steps {
            let kk = k[step];
            if kk.is_nan() || kk < 1.0 {
                continue;
            }
            let kk = if kk >= m.len() as f64 {
                m.len()
            } else {
                kk as usize
            };
            let mut present: Vec<(usize, f64)> = m
                .iter()
                .filter_map(|&i| input[i].vals[step].map(|v| (i, v)))
                .collect();
            // NaN sorts last for both directions, as in Prometheus.
            present.sort_by(|a, b| {
                let (x, y) = (a.1, b.1);
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if top => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                    _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                }
            });
            for &(i, v) in present.iter().take(kk) {
                keep[i][step] = Some(v);
            }
        }
    }
    // An instant query returns each group's selection in rank order (best first), groups in
    // order of first appearance; a range query's order does not matter (it is sorted later).
    let mut rank: Vec<(usize, usize)> = Vec::new();
    if steps == 1 {
        for (g, key) in order.iter().enumerate() {
            let mut sel: Vec<usize> = groups[key]
                .iter()
                .copied()
                .filter(|&i| keep[i][0].is_some())
                .collect();
            sel.sort_by(|&a, &b| {
                let (x, y) = (
                    keep[a][0].unwrap_or(f64::NAN),
                    keep[b][0].unwrap_or(f64::NAN),
                );
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if top => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                    _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                }
            });
            rank.extend(sel.into_iter().map(|i| (g, i)));
        }
    }
    let mut out: Vec<Option<StepSeries>> = input
        .into_iter()
        .zip(keep)
        .map(|(s, vals)| {
            Some(StepSeries {
                labels: s.labels,
                vals,
            })
        })
        .collect();
    if steps == 1 {
        return rank
            .into_iter()
            .filter_map(|(_, i)| out[i].take())
            .collect();
    }
    out.into_iter()
        .flatten()
        .filter(|s| s.vals.iter().any(Option::is_some))
        .collect()
}

fn count_values(
    label: &str,
    input: Vec<StepSeries>,
    modifier: Option<&LabelModifier>,
    steps: usize,
) -> Vec<StepSeries> {
    let mut out: Vec<StepSeries> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for s in &input {
        let key = group_key(&s.labels, modifier);
        for (step, v) in s.vals.iter().enumerate() {
            let Some(v) = v else { continue };
            let mut b = key.builder();
            b.set(label, &format_value(*v));
            let labels = b.build().unwrap_or_default();
            let i = *index.entry(labels.clone()).or_insert_with(|| {
                out.push(StepSeries {
                    labels,
                    vals: vec![None; steps],
                });
                out.len() - 1
            });
            let slot = &mut out[i].vals[step];
            *slot = Some(slot.unwrap_or(0.0) + 1.0);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)` for the label values count_values produces.
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's Display prints the shortest round-trip digits without an exponent, like 'f', -1.
    format!("{v}")
}
