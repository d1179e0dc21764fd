//! The query engine: parses a PromQL expression, evaluates it as an instant or range query
//! against a storage querier, and enforces the limits (samples loaded, timeout, concurrent
//! queries).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tidemark_engine::{Db, Querier};

use crate::error::{ErrorKind, QueryError};
use crate::eval::{
    finish_names, is_stale, streams, Annotator, DelayedNameRemoval, EvalStats, Evaluator,
    StepSeries, Val,
};
use crate::value::{Point, Sample, Series, Value};

/// Settings of the query engine; defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back a selector looks for the newest sample (`--query.lookback-delta`, 5m).
    pub lookback_delta: Duration,
    /// Most samples one query may load (`--query.max-samples`, 50,000,000).
    pub max_samples: u64,
    /// Longest a query may run (`--query.timeout`, 2m).
    pub timeout: Duration,
    /// Queries evaluated at once; more wait (`--query.max-concurrency`, 20).
    pub max_concurrency: usize,
    /// Step of subqueries without one (the evaluation interval, 1m).
    pub default_subquery_step: Duration,
    /// Experimental PromQL features (`--enable-feature=promql-...`), all off by default.
    pub features: crate::Features,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            max_concurrency: 20,
            default_subquery_step: Duration::from_secs(60),
            features: crate::Features::default(),
        }
    }
}

/// Where a query reads its data.
pub trait Queryable {
    /// A querier over `[mint, maxt]` (ms, inclusive).
    fn querier(&self, mint: i64, maxt: i64) -> Querier;
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Querier {
        Db::querier(self, mint, maxt)
    }
}

/// Per-query statistics, for the API and self-metrics.
#[derive(Debug, Clone, Default)]
pub struct QueryStats {
    /// Series read from storage.
    pub series_touched: u64,
    /// Samples loaded from storage.
    pub samples_loaded: u64,
    /// Time spent waiting for a concurrency slot.
    pub queue_time: Duration,
    /// Time spent parsing.
    pub parse_time: Duration,
    /// Time spent evaluating.
    pub eval_time: Duration,
}

/// A successful query's result.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// Annotations, as Prometheus 3.5 words them with the position they concern: `PromQL
    /// info: ...` ones belong in the API's `infos`, the others in `warnings`.
    pub warnings: Vec<String>,
    /// Statistics.
    pub stats: QueryStats,
}

/// Evaluates PromQL queries; share one per process.
#[derive(Debug)]
pub struct QueryEngine {
    opts: EngineOptions,
    running: Mutex<usize>,
    slot_freed: Condvar,
}

struct Slot<'a>(&'a QueryEngine);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.running.lock() -= 1;
        self.0.slot_freed.notify_one();
    }
}

/// Most points a range query may return per series, as Prometheus enforces.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;

impl QueryEngine {
    /// An engine with the given options.
    pub fn new(opts: EngineOptions) -> Self {
        Self {
            opts,
            running: Mutex::new(0),
            slot_freed: Condvar::new(),
        }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    fn acquire(&self, deadline: Instant) -> Result<Slot<'_>, QueryError> {
        let mut n = self.running.lock();
        while *n >= self.opts.max_concurrency.max(1) {
            if self.slot_freed.wait_until(&mut n, deadline).timed_out() {
                return Err(QueryError {
                    kind: ErrorKind::Timeout,
                    message: "query timed out in query queue".into(),
                });
            }
        }
        *n += 1;
        Ok(Slot(self))
    }

    /// Evaluates `expr` at time `t` (ms).
    pub fn instant(
        &self,
        db: &dyn Queryable,
        expr: &str,
        t: i64,
    ) -> Result<QueryResult, QueryError> {
        self.run(db, expr, (t, t, 1), true, None)
    }

    /// Evaluates `expr` at every `step` (ms, > 0) from `start` to `end` (ms).
    pub fn range(
        &self,
        db: &dyn Queryable,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError> {
        check_range(start, end, step)?;
        self.run(db, expr, (start, end, step), false, None)
    }

    /// Like [`QueryEngine::instant`], stopping with a `canceled` error soon after `cancel` is
    /// set (checked between series and between expression nodes).
    pub fn instant_cancellable(
        &self,
        db: &dyn Queryable,
        expr: &str,
        t: i64,
        cancel: &AtomicBool,
    ) -> Result<QueryResult, QueryError> {
        self.run(db, expr, (t, t, 1), true, Some(cancel))
    }

    /// Like [`QueryEngine::range`], stopping with a `canceled` error soon after `cancel` is set.
    pub fn range_cancellable(
        &self,
        db: &dyn Queryable,
        expr: &str,
        (start, end, step): (i64, i64, i64),
        cancel: &AtomicBool,
    ) -> Result<QueryResult, QueryError> {
        check_range(start, end, step)?;
        self.run(db, expr, (start, end, step), false, Some(cancel))
    }

    fn run(
        &self,
        db: &dyn Queryable,
        expr: &str,
        (start, end, step): (i64, i64, i64),
        instant: bool,
        cancel: Option<&AtomicBool>,
    ) -> Result<QueryResult, QueryError> {
        let t0 = Instant::now();
        let deadline = t0 + self.opts.timeout;
        let _slot = self.acquire(deadline)?;
        let _names = DelayedNameRemoval::set(self.opts.features.delayed_name_removal);
        let queue_time = t0.elapsed();
        let t1 = Instant::now();
        let (ast, pos_tree) = crate::parse::parse(expr, self.opts.features)?;
        let mut positions = HashMap::new();
        crate::eval::node_positions(&ast, &pos_tree, &mut positions);
        let notes = std::cell::RefCell::new(Vec::new());
        let parse_time = t1.elapsed();
        let t2 = Instant::now();
        let lookback = i64::try_from(self.opts.lookback_delta.as_millis()).unwrap_or(i64::MAX);
        let mut steps = Vec::new();
        let mut t = start;
        while t <= end {
            steps.push(t);
            match t.checked_add(step) {
                Some(n) => t = n,
                None => break,
            }
        }
        let querier = db.querier(i64::MIN, i64::MAX);
        let mut ev = Evaluator {
            querier: &querier,
            steps: steps.clone(),
            start,
            end,
            lookback,
            default_subquery_step: i64::try_from(self.opts.default_subquery_step.as_millis())
                .unwrap_or(60_000),
            max_samples: self.opts.max_samples,
            deadline,
            cancel,
            stats: EvalStats::default(),
            ann: Annotator {
                notes: &notes,
                positions: &positions,
                query: expr,
            },
        };
        let value = if instant {
            instant_value(ev.eval(&ast)?, &ast, start)?
        } else if streams(&ast) {
            // The result's series go straight to points: the per-step form of the whole
            // result is never held.
            let mut out = Vec::new();
            ev.for_each_series(&ast, &mut |labels, vals| {
                let points = to_points(vals, &steps);
                if !points.is_empty() {
                    out.push(Series {
                        labels: finish_names(labels),
                        points,
                    });
                }
                Ok(())
            })?;
            finish_matrix(out)?
        } else {
            range_value(ev.eval(&ast)?, &steps)?
        };
        Ok(QueryResult {
            value,
            warnings: notes.take(),
            stats: QueryStats {
                series_touched: ev.stats.series_touched,
                samples_loaded: ev.stats.samples_loaded,
                queue_time,
                parse_time,
                eval_time: t2.elapsed(),
            },
        })
    }
}

/// Prometheus's validation of a range query's parameters.
fn check_range(start: i64, end: i64, step: i64) -> Result<(), QueryError> {
    if end < start {
        return Err(QueryError::bad_data(
            "end timestamp must not be before start time",
        ));
    }
    if step <= 0 {
        return Err(QueryError::bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step > MAX_POINTS_PER_SERIES {
        return Err(QueryError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    Ok(())
}

fn duplicate_at_step(v: &[StepSeries]) -> bool {
    let mut seen: HashMap<&tidemark_engine::Labels, usize> = HashMap::new();
    for (i, s) in v.iter().enumerate() {
        if let Some(&j) = seen.get(&s.labels) {
            if s.vals
                .iter()
                .zip(&v[j].vals)
                .any(|(a, b)| a.is_some() && b.is_some())
            {
                return true;
            }
        } else {
            seen.insert(&s.labels, i);
        }
    }
    false
}

fn top_call_name(e: &promql_parser::parser::Expr) -> Option<&'static str> {
    match e {
        promql_parser::parser::Expr::Call(c) => Some(c.func.name),
        promql_parser::parser::Expr::Paren(p) => top_call_name(&p.expr),
        _ => None,
    }
}

fn instant_value(val: Val, ast: &promql_parser::parser::Expr, t: i64) -> Result<Value, QueryError> {
    Ok(match val {
        Val::Scalar(v) => Value::Scalar { t, v: v[0] },
        Val::String(s) => Value::String { t, s },
        Val::Matrix(m) => {
            let mut out: Vec<Series> = m
                .into_iter()
                .map(|s| Series {
                    labels: s.labels,
                    points: s.points,
                })
                .collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            Value::Matrix(out)
        }
        Val::Vector(mut v) => {
            for s in &mut v {
                s.labels = finish_names(std::mem::take(&mut s.labels));
            }
            if duplicate_at_step(&v) {
                return Err(QueryError::execution(
                    "vector cannot contain metrics with the same labelset",
                ));
            }
            let mut out: Vec<Sample> = v
                .into_iter()
                .filter_map(|s| {
                    s.vals[0].map(|v| Sample {
                        labels: s.labels,
                        t,
                        v,
                    })
                })
                .collect();
            match top_call_name(ast) {
                Some("sort") => out.sort_by(|a, b| cmp_value(a.v, b.v)),
                // Descending, NaN still last (as Prometheus's sort_desc).
                Some("sort_desc") => out.sort_by(|a, b| cmp_value(-a.v, -b.v)),
                Some(f @ ("sort_by_label" | "sort_by_label_desc")) => {
                    let names = sort_label_names(ast);
                    let desc = f == "sort_by_label_desc";
                    go_sort(&mut out, |a, b| {
                        cmp_by_labels(&a.labels, &b.labels, &names, desc)
                    });
                }
                _ => {}
            }
            Value::Vector(out)
        }
    })
}

/// The label names of a top-level `sort_by_label(v, "a", "b")` call.
fn sort_label_names(e: &promql_parser::parser::Expr) -> Vec<String> {
    use promql_parser::parser::Expr;
    match e {
        Expr::Paren(p) => sort_label_names(&p.expr),
        Expr::Call(c) => c.args.args[1..]
            .iter()
            .filter_map(|a| match a.as_ref() {
                Expr::StringLiteral(s) => Some(s.val.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `sort_by_label`'s comparison, as Prometheus 3.5 writes it: the first named label whose
/// values differ decides by natural order (`-1` when [`natural_less`], else `+1`, reversed for
/// `_desc`), then the whole label sets.
fn cmp_by_labels(
    a: &tidemark_engine::Labels,
    b: &tidemark_engine::Labels,
    names: &[String],
    desc: bool,
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for n in names {
        let (x, y) = (a.get(n).unwrap_or(""), b.get(n).unwrap_or(""));
        if x == y {
            continue;
        }
        let less = if desc {
            natural_less(y, x)
        } else {
            natural_less(x, y)
        };
        return if less {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    if desc {
        b.cmp(a)
    } else {
        a.cmp(b)
    }
}

/// The natural order Prometheus uses (`facette/natsort`'s `Compare`): the strings are cut into
/// runs of ASCII digits and of other characters; two numeric runs compare as integers, others
/// as strings; when all of one string's runs equal the other's, the shorter is less. Not a
/// strict order ("0.05" and "0.5" are each less than the other), which is why sorting follows
/// Go's algorithm ([`go_sort`]).
fn natural_less(a: &str, b: &str) -> bool {
    fn chunks(s: &str) -> Vec<&str> {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push(&s[start..i]);
                start = i;
            }
        }
        out
    }
    // Go's strconv.Atoi: optional sign, decimal digits, fits in i64.
    fn atoi(s: &str) -> Option<i64> {
        s.parse::<i64>().ok()
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (i, x) in ca.iter().enumerate() {
        let Some(y) = cb.get(i) else {
            return false;
        };
        let equal = match (atoi(x), atoi(y)) {
            (Some(p), Some(q)) if p != q => return p < q,
            (Some(_), Some(_)) => true,
            _ if x == y => true,
            _ => return x < y,
        };
        if equal {
            if i == ca.len() - 1 {
                return true;
            } else if i == cb.len() - 1 {
                return false;
            }
        }
    }
    false
}

/// Sorts as Go's `slices.SortFunc` does for the sizes where that is an insertion sort (12
/// elements or fewer), so an order that is not strict gives the same result; larger inputs
/// use a stable sort (the same result whenever the order is strict).
fn go_sort<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    if v.len() > 12 {
        v.sort_by(cmp);
        return;
    }
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && cmp(&v[j], &v[j - 1]) == std::cmp::Ordering::Less {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Orders values with NaN last (as Prometheus's sort and sort_desc do).
fn cmp_value(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

fn to_points(vals: &[Option<f64>], steps: &[i64]) -> Vec<Point> {
    vals.iter()
        .zip(steps)
        .filter_map(|(v, &t)| v.map(|v| Point { t, v }))
        .collect()
}

/// A range query's result: series sorted by labels; series that share labels (at different
/// steps) merged, and an error if they share a step.
fn finish_matrix(mut out: Vec<Series>) -> Result<Value, QueryError> {
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut merged: Vec<Series> = Vec::with_capacity(out.len());
    let mut extended = false;
    for s in out {
        match merged.last_mut() {
            Some(last) if last.labels == s.labels => {
                last.points.extend(s.points);
                extended = true;
            }
            _ => {
                check_merged(merged.last_mut(), &mut extended)?;
                merged.push(s);
            }
        }
    }
    check_merged(merged.last_mut(), &mut extended)?;
    Ok(Value::Matrix(merged))
}

/// Orders the points of a series merged from several, failing if two share a timestamp.
fn check_merged(s: Option<&mut Series>, extended: &mut bool) -> Result<(), QueryError> {
    if let (Some(s), true) = (s, *extended) {
        s.points.sort_by_key(|p| p.t);
        if s.points.windows(2).any(|w| w[0].t == w[1].t) {
            return Err(QueryError::execution(
                "vector cannot contain metrics with the same labelset",
            ));
        }
    }
    *extended = false;
    Ok(())
}

fn range_value(val: Val, steps: &[i64]) -> Result<Value, QueryError> {
    Ok(match val {
        Val::Scalar(v) => Value::Matrix(vec![Series {
            labels: tidemark_engine::Labels::empty(),
            points: v.iter().zip(steps).map(|(&v, &t)| Point { t, v }).collect(),
        }]),
        Val::Vector(v) => finish_matrix(
            v.into_iter()
                .map(|s| Series {
                    labels: finish_names(s.labels),
                    points: to_points(&s.vals, steps),
                })
                .filter(|s| !s.points.is_empty())
                .collect(),
        )?,
        Val::String(_) | Val::Matrix(_) => {
            return Err(QueryError::bad_data(
                "invalid expression type for range query, must be Scalar or instant Vector",
            ))
        }
    })
}

/// True if `v` is Prometheus's stale marker (exposed for callers that write samples).
pub fn is_stale_marker(v: f64) -> bool {
    is_stale(v)
}
