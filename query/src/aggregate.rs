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
    // Series-major: each member series is read once, front to back, into per-step
    // accumulators. Per step, values are still combined in member order, as Prometheus does.
    let kind = Kind::parse(op)?;
    let mut out = Vec::with_capacity(keys.len());
    for (key, m) in keys.into_iter().zip(members) {
        let mut acc = vec![Acc::default(); steps];
        let mut per_step: Vec<Vec<f64>> = if kind == Kind::Quantile {
            vec![Vec::new(); steps]
        } else {
            Vec::new()
        };
        for &i in &m {
            for (step, v) in input[i].vals.iter().enumerate() {
                let Some(x) = *v else { continue };
                acc[step].add(kind, x);
                if kind == Kind::Quantile {
                    per_step[step].push(x);
                }
            }
        }
        let vals = acc
            .iter()
            .enumerate()
            .map(|(step, a)| {
                (a.n > 0.0).then(|| match kind {
                    Kind::Sum | Kind::Avg | Kind::Min | Kind::Max => a.a,
                    Kind::Count => a.n,
                    Kind::Group => 1.0,
                    Kind::Stddev => (a.b / a.n).sqrt(),
                    Kind::Stdvar => a.b / a.n,
                    Kind::Quantile => functions::quantile(
                        q.as_ref().map_or(f64::NAN, |q| q[step]),
                        &mut per_step[step],
                    ),
                })
            })
            .collect();
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
    Quantile,
}

impl Kind {
    fn parse(op: &str) -> Result<Kind> {
        Ok(match op {
            "sum" => Kind::Sum,
            "avg" => Kind::Avg,
            "min" => Kind::Min,
            "max" => Kind::Max,
            "count" => Kind::Count,
            "group" => Kind::Group,
            "stddev" => Kind::Stddev,
            "stdvar" => Kind::Stdvar,
            "quantile" => Kind::Quantile,
            other => {
                return Err(QueryError::bad_data(format!(
                    "unknown aggregation {other:?}"
                )))
            }
        })
    }
}

/// One group's running state at one step.
#[derive(Clone, Copy, Default)]
struct Acc {
    /// Values seen.
    n: f64,
    /// Sum, mean (avg, stddev), min or max.
    a: f64,
    /// Sum of squared deviations (stddev, stdvar).
    b: f64,
}

impl Acc {
    fn add(&mut self, kind: Kind, x: f64) {
        self.n += 1.0;
        let first = self.n == 1.0;
        match kind {
            Kind::Sum => self.a = if first { x } else { self.a + x },
            // Incremental mean as Prometheus 2.42 computes `avg`, with its Inf handling.
            Kind::Avg => {
                if first {
                    self.a = x;
                } else if self.a.is_infinite() {
                    if x.is_infinite() && (x > 0.0) != (self.a > 0.0) {
                        self.a = f64::NAN;
                    }
                } else if x.is_infinite() {
                    self.a = x;
                } else {
                    self.a += x / self.n - self.a / self.n;
                }
            }
            Kind::Min => {
                if first || self.a.is_nan() || x < self.a {
                    self.a = x;
                }
            }
            Kind::Max => {
                if first || self.a.is_nan() || x > self.a {
                    self.a = x;
                }
            }
            // Welford's method, as Prometheus computes stddev/stdvar.
            Kind::Stddev | Kind::Stdvar => {
                let delta = x - self.a;
                self.a += delta / self.n;
                self.b += delta * (x - self.a);
            }
            Kind::Count | Kind::Group | Kind::Quantile => {}
        }
    }
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
        // Prometheus's algorithm: per step, a bounded heap whose root is the weakest kept
        // sample; a new sample replaces the root only if strictly better. Series are offered
        // in member order (series-major, so each series is read once), which keeps
        // Prometheus's tie-breaking for a given input order.
        let limits: Vec<usize> = k
            .iter()
            .map(|&kk| {
                if kk.is_nan() || kk < 1.0 {
                    0
                } else if kk >= m.len() as f64 {
                    m.len()
                } else {
                    kk as usize
                }
            })
            .collect();
        let mut heaps: Vec<Vec<(f64, usize)>> =
            limits.iter().map(|&l| Vec::with_capacity(l)).collect();
        for &i in m {
            for (step, v) in input[i].vals.iter().enumerate() {
                let Some(x) = *v else { continue };
                let limit = limits[step];
                if limit == 0 {
                    continue;
                }
                heap_offer(&mut heaps[step], limit, (x, i), top);
            }
        }
        for (step, heap) in heaps.into_iter().enumerate() {
            for (v, i) in heap {
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

/// Whether `a` ranks below `b` in the heap (the root is the lowest-ranked kept sample): for
/// topk, smaller values rank lower; for bottomk, larger ones; NaN always ranks lowest.
fn weaker(a: f64, b: f64, top: bool) -> bool {
    if a.is_nan() {
        return true;
    }
    if top {
        a < b
    } else {
        a > b
    }
}

/// Offers a sample to a bounded heap of at most `limit` entries.
fn heap_offer(h: &mut Vec<(f64, usize)>, limit: usize, item: (f64, usize), top: bool) {
    if h.len() < limit {
        h.push(item);
        let mut c = h.len() - 1;
        while c > 0 {
            let p = (c - 1) / 2;
            if !weaker(h[c].0, h[p].0, top) {
                break;
            }
            h.swap(c, p);
            c = p;
        }
        return;
    }
    let root = h[0].0;
    let better = if top { root < item.0 } else { root > item.0 };
    if !(better || (root.is_nan() && !item.0.is_nan())) {
        return;
    }
    h[0] = item;
    let mut p = 0;
    loop {
        let (l, r) = (2 * p + 1, 2 * p + 2);
        let mut m = p;
        if l < h.len() && weaker(h[l].0, h[m].0, top) {
            m = l;
        }
        if r < h.len() && weaker(h[r].0, h[m].0, top) {
            m = r;
        }
        if m == p {
            break;
        }
        h.swap(p, m);
        p = m;
    }
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
