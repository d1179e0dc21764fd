//! Aggregation operators (`sum`, `avg`, `topk`, ...) over an instant vector, for all steps.
//!
//! An aggregation consumes its argument one series at a time ([`Aggregation::add`]) into
//! per-group, per-step state, so its input is never held whole: memory is the groups' state
//! (for `topk`/`bottomk`, `k` entries per group and step) plus what the result needs.
//!
//! What must stay true:
//! - Groups are formed once per query (a series' grouping labels do not change between
//!   steps); output order is the order in which groups first appear, as in Prometheus.
//! - Per group and step, values are combined in input order (float sums, `avg`'s incremental
//!   mean and `topk`'s tie-breaking depend on it), exactly as if the input were materialised.

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;
use tidemark_engine::Labels;

use crate::error::QueryError;
use crate::eval::{group_key, StepSeries, Val};
use crate::functions;

type Result<T> = std::result::Result<T, QueryError>;

/// An aggregation in progress: feed it every series of the argument with
/// [`Aggregation::add`], in evaluation order, then take the result with
/// [`Aggregation::finish`].
pub(crate) struct Aggregation<'m> {
    modifier: Option<&'m LabelModifier>,
    steps: usize,
    state: State,
}

enum State {
    /// `sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`, `stdvar`, `quantile`.
    Fold {
        kind: Kind,
        /// `quantile`'s parameter per step.
        q: Vec<f64>,
        groups: Groups<FoldGroup>,
    },
    TopBottom(TopBottom),
    /// `limitk` (`ratio` false: the first `k` series of each group at each step, in input
    /// order) and `limit_ratio` (a deterministic, label-hash-based share of the series).
    Limit {
        ratio: bool,
        param: Vec<f64>,
        /// Per group: series kept so far at each step.
        groups: Groups<Vec<usize>>,
        out: Vec<StepSeries>,
    },
    CountValues {
        label: String,
        out: Vec<StepSeries>,
        index: HashMap<Labels, usize>,
    },
}

/// Groups in order of first appearance.
struct Groups<G> {
    keys: Vec<Labels>,
    state: Vec<G>,
    index: HashMap<Labels, usize>,
}

impl<G> Groups<G> {
    fn new() -> Self {
        Groups {
            keys: Vec::new(),
            state: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The group of `key`, created with `new` if it is the first time.
    fn get(&mut self, key: Labels, new: impl FnOnce() -> G) -> (usize, &mut G) {
        let g = match self.index.get(&key) {
            Some(&g) => g,
            None => {
                self.keys.push(key.clone());
                self.state.push(new());
                self.index.insert(key, self.keys.len() - 1);
                self.keys.len() - 1
            }
        };
        (g, &mut self.state[g])
    }
}

struct FoldGroup {
    acc: Vec<Acc>,
    /// `quantile`: the values per step.
    per_step: Vec<Vec<f64>>,
}

impl<'m> Aggregation<'m> {
    /// Starts aggregation `op` with its evaluated parameter, if any, over `steps` steps.
    /// Fails for an unknown operator or a bad parameter.
    pub(crate) fn new(
        op: &str,
        param: Option<Val>,
        modifier: Option<&'m LabelModifier>,
        steps: usize,
    ) -> Result<Self> {
        let state = match op {
            "topk" | "bottomk" => {
                State::TopBottom(TopBottom::new(op == "topk", &scalar_param(param, op)?))
            }
            "limitk" | "limit_ratio" => {
                let ratio = op == "limit_ratio";
                let mut param = scalar_param(param, op)?;
                if ratio {
                    // Prometheus caps the ratio to [-1, 1] (with a warning).
                    for r in &mut param {
                        *r = r.clamp(-1.0, 1.0);
                    }
                }
                State::Limit {
                    ratio,
                    param,
                    groups: Groups::new(),
                    out: Vec::new(),
                }
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
                State::CountValues {
                    label,
                    out: Vec::new(),
                    index: HashMap::new(),
                }
            }
            _ => {
                let kind = Kind::parse(op)?;
                let q = if kind == Kind::Quantile {
                    scalar_param(param, op)?
                } else {
                    Vec::new()
                };
                State::Fold {
                    kind,
                    q,
                    groups: Groups::new(),
                }
            }
        };
        Ok(Aggregation {
            modifier,
            steps,
            state,
        })
    }

    /// Adds one series of the argument (labels and one optional value per step).
    pub(crate) fn add(&mut self, labels: Labels, vals: &[Option<f64>]) {
        let steps = self.steps;
        let key = group_key(&labels, self.modifier);
        match &mut self.state {
            State::Fold { kind, groups, .. } => {
                let kind = *kind;
                let (_, g) = groups.get(key, || FoldGroup {
                    acc: vec![Acc::default(); steps],
                    per_step: if kind == Kind::Quantile {
                        vec![Vec::new(); steps]
                    } else {
                        Vec::new()
                    },
                });
                for (step, v) in vals.iter().enumerate() {
                    let Some(x) = *v else { continue };
                    g.acc[step].add(kind, x);
                    if kind == Kind::Quantile {
                        g.per_step[step].push(x);
                    }
                }
            }
            State::TopBottom(tb) => tb.add(key, labels, vals),
            State::Limit {
                ratio,
                param,
                groups,
                out,
            } => {
                let (_, kept) = groups.get(key, || vec![0; steps]);
                let offset = ratio_offset(&labels);
                let vals: Vec<Option<f64>> = vals
                    .iter()
                    .enumerate()
                    .map(|(step, v)| {
                        let v = (*v)?;
                        let p = param.get(step).copied().unwrap_or(f64::NAN);
                        let keep = if *ratio {
                            (p >= 0.0 && offset < p) || (p < 0.0 && offset >= 1.0 + p)
                        } else {
                            // `k` truncated towards zero, as Go's int64(k).
                            !p.is_nan() && (kept[step] as f64) < p.trunc()
                        };
                        if keep {
                            kept[step] += 1;
                        }
                        keep.then_some(v)
                    })
                    .collect();
                if vals.iter().any(Option::is_some) {
                    out.push(StepSeries { labels, vals });
                }
            }
            State::CountValues { label, out, index } => {
                for (step, v) in vals.iter().enumerate() {
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
        }
    }

    /// The aggregation's result: one series per group (per output series for `topk`,
    /// `bottomk` and `count_values`).
    pub(crate) fn finish(self) -> Val {
        match self.state {
            State::Fold { kind, q, groups } => {
                let mut out = Vec::with_capacity(groups.keys.len());
                for (key, mut g) in groups.keys.into_iter().zip(groups.state) {
                    let vals = g
                        .acc
                        .iter()
                        .enumerate()
                        .map(|(step, a)| {
                            (a.n > 0.0).then(|| match kind {
                                Kind::Sum | Kind::Avg => a.sum_or_avg(kind),
                                Kind::Min | Kind::Max => a.a,
                                Kind::Count => a.n,
                                Kind::Group => 1.0,
                                Kind::Stddev => (a.b / a.n).sqrt(),
                                Kind::Stdvar => a.b / a.n,
                                Kind::Quantile => functions::quantile(
                                    q.get(step).copied().unwrap_or(f64::NAN),
                                    &mut g.per_step[step],
                                ),
                            })
                        })
                        .collect();
                    out.push(StepSeries { labels: key, vals });
                }
                Val::Vector(out)
            }
            State::TopBottom(tb) => Val::Vector(tb.finish(self.steps)),
            State::Limit { out, .. } => Val::Vector(out),
            State::CountValues { out, .. } => Val::Vector(out),
        }
    }
}

/// Where a series falls in `[0, 1]` for `limit_ratio`: its label hash over the hash range.
/// (Prometheus hashes with xxHash64 of its label encoding, we with xxh3 of ours, so the
/// series `limit_ratio` picks differ from Prometheus's; the shares and the complement
/// property `limit_ratio(r) or limit_ratio(-(1-r))` = everything hold the same.)
fn ratio_offset(labels: &Labels) -> f64 {
    labels.stable_hash() as f64 / u64::MAX as f64
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
    /// Sum (sum, avg until it would overflow), mean (avg after that, stddev), min or max.
    a: f64,
    /// Sum of squared deviations (stddev, stdvar).
    b: f64,
    /// Kahan compensation of `a` (sum, avg).
    c: f64,
    /// `avg` switched from the direct sum to the incremental mean (the sum would overflow).
    incremental: bool,
}

/// Prometheus's `kahanSumInc`: Kahan–Neumaier summation whose compensation resets when the
/// sum becomes infinite.
fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

impl Acc {
    fn add(&mut self, kind: Kind, x: f64) {
        self.n += 1.0;
        let first = self.n == 1.0;
        match kind {
            Kind::Sum => {
                if first {
                    self.a = x;
                } else {
                    (self.a, self.c) = kahan_sum_inc(x, self.a, self.c);
                }
            }
            // Prometheus 3.5's `avg`: a Kahan sum divided at the end, switching to an
            // incremental mean once the sum would overflow.
            Kind::Avg => {
                if first {
                    self.a = x;
                    return;
                }
                if !self.incremental {
                    let (sum, c) = kahan_sum_inc(x, self.a, self.c);
                    if !sum.is_infinite() {
                        (self.a, self.c) = (sum, c);
                        return;
                    }
                    self.incremental = true;
                    self.a /= self.n - 1.0;
                    self.c /= self.n - 1.0;
                }
                let q = (self.n - 1.0) / self.n;
                (self.a, self.c) = kahan_sum_inc(x / self.n, q * self.a, q * self.c);
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

    /// The value of a `sum` or `avg` with at least one value.
    fn sum_or_avg(&self, kind: Kind) -> f64 {
        match kind {
            Kind::Avg if self.incremental => self.a + self.c,
            Kind::Avg => self.a / self.n + self.c / self.n,
            _ => self.a + self.c,
        }
    }
}

/// `topk`/`bottomk` in progress: per group and step, a bounded heap of the best samples so
/// far, and the labels of the series that were offered (by input number).
struct TopBottom {
    top: bool,
    /// `k` per step, as a heap size limit (0: select nothing).
    limits: Vec<usize>,
    /// Per group, per step: the heap of (value, input number).
    groups: Groups<Vec<Vec<(f64, usize)>>>,
    /// Per input series: its labels and its group.
    inputs: Vec<(Labels, usize)>,
}

impl TopBottom {
    fn new(top: bool, k: &[f64]) -> Self {
        // Prometheus caps `k` at the group's size; a heap that is never full holds the same
        // samples, so capping is not needed for the result (and the size is not known yet
        // while streaming).
        let limits = k
            .iter()
            .map(|&kk| {
                if kk.is_nan() || kk < 1.0 {
                    0
                } else if kk >= usize::MAX as f64 {
                    usize::MAX
                } else {
                    kk as usize
                }
            })
            .collect();
        TopBottom {
            top,
            limits,
            groups: Groups::new(),
            inputs: Vec::new(),
        }
    }

    fn add(&mut self, key: Labels, labels: Labels, vals: &[Option<f64>]) {
        let i = self.inputs.len();
        let steps = vals.len();
        let (g, heaps) = self.groups.get(key, || vec![Vec::new(); steps]);
        self.inputs.push((labels, g));
        // Prometheus's algorithm: per step, a bounded heap whose root is the weakest kept
        // sample; a new sample replaces the root only if strictly better. Series are offered
        // in input order, which keeps Prometheus's tie-breaking for a given input order.
        for (step, v) in vals.iter().enumerate() {
            let Some(x) = *v else { continue };
            let limit = self.limits.get(step).copied().unwrap_or(0);
            if limit == 0 {
                continue;
            }
            heap_offer(&mut heaps[step], limit, (x, i), self.top);
        }
    }

    fn finish(self, steps: usize) -> Vec<StepSeries> {
        let TopBottom {
            top,
            groups,
            inputs,
            ..
        } = self;
        // The kept series, in input order, with their values per step.
        let mut kept: HashMap<usize, Vec<Option<f64>>> = HashMap::new();
        for heaps in &groups.state {
            for (step, heap) in heaps.iter().enumerate() {
                for &(v, i) in heap {
                    kept.entry(i).or_insert_with(|| vec![None; steps])[step] = Some(v);
                }
            }
        }
        let mut ids: Vec<usize> = kept.keys().copied().collect();
        ids.sort_unstable();
        let mut inputs: Vec<Option<Labels>> = inputs.into_iter().map(|(l, _)| Some(l)).collect();
        let mut take = |i: usize, kept: &mut HashMap<usize, Vec<Option<f64>>>| {
            Some(StepSeries {
                labels: inputs[i].take()?,
                vals: kept.remove(&i)?,
            })
        };
        if steps != 1 {
            // A range query's order does not matter (it is sorted later) but a nested
            // expression sees input order, as before.
            return ids.into_iter().filter_map(|i| take(i, &mut kept)).collect();
        }
        // An instant query returns each group's selection in rank order (best first), groups
        // in order of first appearance; equal values keep input order.
        let mut out = Vec::with_capacity(ids.len());
        for heaps in &groups.state {
            let mut sel: Vec<(f64, usize)> = heaps.first().cloned().unwrap_or_default();
            sel.sort_by_key(|&(_, i)| i);
            sel.sort_by(|&(x, _), &(y, _)| match (x.is_nan(), y.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if top => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
            });
            out.extend(sel.into_iter().filter_map(|(_, i)| take(i, &mut kept)));
        }
        out
    }
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
