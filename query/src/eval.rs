//! The evaluator: every expression node is evaluated for all steps of a query at once (an
//! instant query is a range query with one step), as Prometheus's `rangeEval` does, so a
//! selector reads each series once per query.
//!
//! Series stream through the nodes that allow it ([`streams`]): a selector reads one series,
//! range and element-wise functions and vector–scalar operators turn it into one output
//! series, and the consumer — an aggregation, `scalar`, `absent`, a subquery, or the range
//! query's result — folds it in before the next series is read. So memory is what the
//! result and the consumers' per-group state need, plus the storage's per-series chunk
//! references, not series × steps. Operators that need all series at once (vector–vector
//! matching, `histogram_quantile`) evaluate their operands whole.
//!
//! What must stay true:
//! - Instant-vector values are kept per series as one optional value per step; a series
//!   absent at a step has `None` there.
//! - `__name__` is dropped exactly where Prometheus 3.5 drops it: arithmetic and `bool`
//!   comparisons, most functions, and aggregations.
//! - Stale markers end a series at once: a step whose newest sample in the lookback window is
//!   a stale marker has no value.
//! - A streamed expression hands out exactly the series, in exactly the order, that
//!   evaluating it whole lists: aggregations combine values in that order (float sums, `avg`,
//!   `topk` ties), and group output follows first appearance.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use promql_parser::label::MatchOp;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AggregateExpr, AtModifier, BinaryExpr, Call, Expr, LabelModifier, MatrixSelector, Offset,
    SubqueryExpr, VectorSelector,
};
use tidemark_engine::iter::SampleIterator;
use tidemark_engine::labels::METRIC_NAME;
use tidemark_engine::{Labels, MatchType, Matcher, Querier};

use crate::aggregate::Aggregation;
use crate::binary::VectorScalar;
use crate::error::{ErrorKind, QueryError};
use crate::functions::{self, RangeInput};
use crate::value::Point;

/// Prometheus's stale marker.
pub(crate) const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub(crate) fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

type Result<T> = std::result::Result<T, QueryError>;

/// An instant vector over all steps.
#[derive(Debug, Clone)]
pub(crate) struct StepSeries {
    pub labels: Labels,
    pub vals: Vec<Option<f64>>,
}

/// A range vector: raw points per series (only an instant query's result, or a function arg).
#[derive(Debug, Clone)]
pub(crate) struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// An evaluated node.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<StepSeries>),
    /// Only produced at the top of an instant query (`x[5m]`, a subquery).
    Matrix(Vec<RangeSeries>),
}

/// Per-query counters.
#[derive(Debug, Clone, Default)]
pub struct EvalStats {
    /// Series read from storage.
    pub series_touched: u64,
    /// Samples loaded from storage.
    pub samples_loaded: u64,
}

pub(crate) struct Evaluator<'q> {
    pub querier: &'q Querier,
    /// Step timestamps (ms).
    pub steps: Vec<i64>,
    pub start: i64,
    pub end: i64,
    pub lookback: i64,
    pub default_subquery_step: i64,
    pub max_samples: u64,
    pub deadline: Instant,
    /// Set by the caller (e.g. when the HTTP client went away) to stop the query.
    pub cancel: Option<&'q AtomicBool>,
    pub stats: EvalStats,
    /// Where the query's annotations go.
    pub ann: Annotator<'q>,
}

/// Collects a query's annotations (`PromQL warning: ...` / `PromQL info: ...`), each with the
/// position of the expression it concerns, as Prometheus's API prints them.
#[derive(Clone, Copy)]
pub(crate) struct Annotator<'q> {
    pub notes: &'q std::cell::RefCell<Vec<String>>,
    /// Start offset of each node, by the node's address in the evaluated AST.
    pub positions: &'q HashMap<usize, usize>,
    pub query: &'q str,
}

impl Annotator<'_> {
    /// Adds `msg` about the expression `at` (once per query).
    pub fn add(&self, msg: String, at: &Expr) {
        let note = match self.positions.get(&(at as *const Expr as usize)) {
            Some(&pos) => {
                let pos = pos.min(self.query.len());
                let before = &self.query.as_bytes()[..pos];
                let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
                let col = match before.iter().rposition(|&b| b == b'\n') {
                    Some(i) => pos - i,
                    None => pos + 1,
                };
                format!("{msg} ({line}:{col})")
            }
            None => msg,
        };
        let mut notes = self.notes.borrow_mut();
        if !notes.contains(&note) {
            notes.push(note);
        }
    }

    /// Prometheus's warning for a quantile outside `[0, 1]` (or NaN).
    pub fn check_quantile(&self, q: f64, at: &Expr) {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            self.add(
                format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    go_g(q)
                ),
                at,
            );
        }
    }
}

/// Go's `%g` for the values annotations print.
fn go_g(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Where each node of `e` starts, by node address, from the parser's position tree (whose
/// children follow [`crate::parser::PosTree`]'s order).
pub(crate) fn node_positions(
    e: &Expr,
    pos: &crate::parser::PosTree,
    out: &mut HashMap<usize, usize>,
) {
    out.insert(e as *const Expr as usize, pos.start);
    let children: Vec<&Expr> = match e {
        Expr::Paren(p) => vec![&p.expr],
        Expr::Unary(u) => vec![&u.expr],
        Expr::Subquery(sq) => vec![&sq.expr],
        Expr::Binary(b) => vec![&b.lhs, &b.rhs],
        Expr::Aggregate(a) => {
            let mut c: Vec<&Expr> = vec![&a.expr];
            c.extend(a.param.as_deref());
            c
        }
        Expr::Call(c) => c.args.args.iter().map(|a| a.as_ref()).collect(),
        _ => Vec::new(),
    };
    for (c, p) in children.into_iter().zip(&pos.children) {
        node_positions(c, p, out);
    }
}

fn dur_ms(d: &std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => dur_ms(d),
        Some(Offset::Neg(d)) => -dur_ms(d),
    }
}

fn to_matchers(vs: &VectorSelector) -> Result<Vec<Matcher>> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(QueryError::bad_data(
            "the 'or' operator in label matchers is not supported by Prometheus 3.5",
        ));
    }
    let mut out = Vec::new();
    if let Some(name) = &vs.name {
        out.push(Matcher::new(MatchType::Equal, METRIC_NAME, name.clone())?);
    }
    for m in &vs.matchers.matchers {
        let kind = match &m.op {
            MatchOp::Equal => MatchType::Equal,
            MatchOp::NotEqual => MatchType::NotEqual,
            MatchOp::Re(_) => MatchType::RegexMatch,
            MatchOp::NotRe(_) => MatchType::RegexNoMatch,
        };
        out.push(Matcher::new(kind, m.name.clone(), m.value.clone())?);
    }
    if out.iter().all(|m| m.matches_empty()) {
        return Err(QueryError::bad_data(
            "vector selector must contain at least one non-empty matcher",
        ));
    }
    Ok(out)
}

/// The labels Prometheus 3.5 drops together with the metric name (`DropMetricName`): the
/// name and the type-and-unit metadata labels.
pub(crate) const NAME_LABELS: [&str; 3] = [METRIC_NAME, "__type__", "__unit__"];

/// Prefix under which, with `promql-delayed-name-removal`, a label of [`NAME_LABELS`] waits to
/// be dropped at the end of the query (Prometheus marks the series `DropName` instead). The
/// prefix cannot come from data: label names starting with `__` are reserved.
const PENDING: &str = "__tidemark_pending_drop__";

thread_local! {
    /// Whether the query running on this thread has `promql-delayed-name-removal` on. Set by
    /// [`DelayedNameRemoval`] for the duration of one query (evaluation is synchronous).
    static DELAYED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Turns delayed name removal on or off for the current thread until dropped.
pub(crate) struct DelayedNameRemoval(bool);

impl DelayedNameRemoval {
    pub(crate) fn set(on: bool) -> Self {
        DelayedNameRemoval(DELAYED.with(|d| d.replace(on)))
    }
}

impl Drop for DelayedNameRemoval {
    fn drop(&mut self) {
        DELAYED.with(|d| d.set(self.0));
    }
}

fn delayed() -> bool {
    DELAYED.with(|d| d.get())
}

/// `l` without its metric name (see [`NAME_LABELS`]); with delayed name removal the name is
/// only marked to be dropped when the query ends ([`finish_names`]).
pub(crate) fn drop_name(l: &Labels) -> Labels {
    if !delayed() {
        return l.without(&NAME_LABELS);
    }
    if !NAME_LABELS.iter().any(|n| l.get(n).is_some()) {
        return l.clone();
    }
    rename(l, |n| {
        NAME_LABELS.contains(&n).then(|| format!("{PENDING}{n}"))
    })
}

/// `l` with labels renamed where `f` says so.
fn rename(l: &Labels, f: impl Fn(&str) -> Option<String>) -> Labels {
    let pairs: Vec<(String, &str)> = l
        .iter()
        .map(|x| (f(x.name).unwrap_or_else(|| x.name.to_owned()), x.value))
        .collect();
    Labels::from_pairs(pairs).unwrap_or_default()
}

fn has_pending(l: &Labels) -> bool {
    l.iter().any(|x| x.name.starts_with(PENDING))
}

/// `l` with the names waiting to be dropped visible again (and which ones they were).
fn unhide(l: &Labels) -> (Labels, Vec<&'static str>) {
    let was: Vec<&'static str> = NAME_LABELS
        .iter()
        .copied()
        .filter(|n| l.get(&format!("{PENDING}{n}")).is_some())
        .collect();
    if was.is_empty() {
        return (l.clone(), was);
    }
    let shown = rename(l, |n| n.strip_prefix(PENDING).map(str::to_owned));
    (shown, was)
}

/// Marks the labels `which` of `l` to be dropped again.
fn rehide(l: &Labels, which: &[&str]) -> Labels {
    if which.is_empty() {
        return l.clone();
    }
    rename(l, |n| which.contains(&n).then(|| format!("{PENDING}{n}")))
}

/// The end of a query: names waiting to be dropped are dropped.
pub(crate) fn finish_names(l: Labels) -> Labels {
    if !has_pending(&l) {
        return l;
    }
    Labels::from_pairs(
        l.iter()
            .filter(|x| !x.name.starts_with(PENDING))
            .map(|x| (x.name, x.value)),
    )
    .unwrap_or_default()
}

/// `l` without the metric name, also one waiting to be dropped (for matching signatures).
pub(crate) fn strip_name(l: &Labels) -> Labels {
    finish_names(l.without(&NAME_LABELS))
}

/// Receives the series of an instant vector one at a time, in evaluation order: the labels
/// and one optional value per step. The values are lent; a consumer that keeps them copies
/// them.
pub(crate) type Sink<'s> = dyn FnMut(Labels, &[Option<f64>]) -> Result<()> + 's;

/// Whether [`Evaluator::for_each_series`] evaluates `e` series by series (it then never holds
/// more than one series of `e` at once): selectors, and element-wise functions, range
/// functions, unary minus and vector–scalar operators over such expressions. Everything else
/// is evaluated whole and then handed out.
pub(crate) fn streams(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => streams(&p.expr),
        Expr::VectorSelector(_) => true,
        Expr::Unary(u) => u.expr.value_type() == ValueType::Vector,
        Expr::Call(c) => streaming_call(c),
        Expr::Binary(b) => vector_scalar_op(b).is_some(),
        _ => false,
    }
}

/// The function name a call evaluates.
fn call_name(c: &Call) -> &'static str {
    c.func.name
}

/// Calls that map each input series to at most one output series on their own.
fn streaming_call(c: &Call) -> bool {
    let name = call_name(c);
    simple_range_fn(name).is_some()
        || functions::math_fn(name).is_some()
        || matches!(
            name,
            "quantile_over_time"
                | "predict_linear"
                | "double_exponential_smoothing"
                | "timestamp"
                | "sort"
                | "sort_desc"
                | "sort_by_label"
                | "sort_by_label_desc"
                | "round"
                | "clamp"
                | "clamp_min"
                | "clamp_max"
                | "label_replace"
                | "label_join"
        )
        || (functions::date_fn(name).is_some() && !c.args.args.is_empty())
}

/// For a vector–scalar operator that can stream: the operation.
fn vector_scalar_op(b: &BinaryExpr) -> Option<VectorScalar> {
    let scalar_left = match (b.lhs.value_type(), b.rhs.value_type()) {
        (ValueType::Vector, ValueType::Scalar) => false,
        (ValueType::Scalar, ValueType::Vector) => true,
        _ => return None,
    };
    VectorScalar::new(b, scalar_left)
}

impl Evaluator<'_> {
    fn check_deadline(&self) -> Result<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(QueryError {
                kind: ErrorKind::Canceled,
                message: "query was canceled".into(),
            });
        }
        if Instant::now() > self.deadline {
            return Err(QueryError {
                kind: ErrorKind::Timeout,
                message: "query timed out in expression evaluation".into(),
            });
        }
        Ok(())
    }

    fn count_samples(&mut self, n: u64) -> Result<()> {
        self.stats.samples_loaded += n;
        if self.stats.samples_loaded > self.max_samples {
            return Err(QueryError::execution(
                "query processing would load too many samples into memory in query execution",
            ));
        }
        Ok(())
    }

    /// The timestamp a selector reads at for step `t`, given `@` and `offset`.
    fn ref_time(&self, t: i64, at: &Option<AtModifier>, offset: &Option<Offset>) -> Result<i64> {
        let base = match at {
            None => t,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(st)) => match st.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => dur_ms(&d),
                Err(e) => -dur_ms(&e.duration()),
            },
        };
        Ok(base - offset_ms(offset))
    }

    /// The reference time of every step for a selector or subquery with `at` and `offset`.
    fn ref_times(&self, at: &Option<AtModifier>, offset: &Option<Offset>) -> Result<Vec<i64>> {
        self.steps
            .iter()
            .map(|&t| self.ref_time(t, at, offset))
            .collect()
    }

    pub fn eval(&mut self, e: &Expr) -> Result<Val> {
        self.check_deadline()?;
        match e {
            Expr::VectorSelector(_) => self.collect_vector(e).map(Val::Vector),
            Expr::Unary(_) | Expr::Call(_) | Expr::Binary(_) if streams(e) => {
                self.collect_vector(e).map(Val::Vector)
            }
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; self.steps.len()])),
            Expr::StringLiteral(s) => Ok(Val::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => match self.eval(&u.expr)? {
                Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|x| -x).collect())),
                Val::Vector(vs) => Ok(Val::Vector(
                    vs.into_iter()
                        .map(|s| StepSeries {
                            labels: drop_name(&s.labels),
                            vals: s.vals.into_iter().map(|v| v.map(|x| -x)).collect(),
                        })
                        .collect(),
                )),
                _ => Err(QueryError::bad_data(
                    "unary expression only allowed on expressions of type scalar or instant vector",
                )),
            },
            Expr::MatrixSelector(ms) => self.eval_matrix_top(ms),
            Expr::Subquery(sq) => self.eval_subquery_top(sq),
            Expr::Call(c) => self.eval_call(c),
            Expr::Aggregate(a) => self.eval_aggregate(a),
            Expr::Binary(b) => self.eval_binary(b),
            Expr::Extension(_) => Err(QueryError::bad_data("unsupported expression")),
        }
    }

    /// Evaluates the instant-vector expression `e` and hands its series to `sink` one at a
    /// time, in the order [`Evaluator::eval`] would list them (that order is part of the
    /// semantics: aggregations combine values in it). Streams where [`streams`] says so;
    /// otherwise evaluates `e` whole first.
    pub(crate) fn for_each_series(&mut self, e: &Expr, sink: &mut Sink) -> Result<()> {
        self.check_deadline()?;
        match e {
            Expr::Paren(p) => self.for_each_series(&p.expr, sink),
            Expr::VectorSelector(vs) => self.stream_selector(vs, sink),
            Expr::Unary(u) if u.expr.value_type() == ValueType::Vector => {
                let mut buf = Vec::new();
                self.for_each_series(&u.expr, &mut |labels, vals| {
                    buf.clear();
                    buf.extend(vals.iter().map(|v| v.map(|x| -x)));
                    sink(drop_name(&labels), &buf)
                })
            }
            Expr::Call(c) if streaming_call(c) => self.stream_call(c, sink),
            Expr::Binary(b) => match vector_scalar_op(b) {
                Some(op) => self.stream_vector_scalar(b, op, sink),
                None => self.drain(e, sink),
            },
            _ => self.drain(e, sink),
        }
    }

    /// Evaluates `e` whole and hands out its series.
    fn drain(&mut self, e: &Expr, sink: &mut Sink) -> Result<()> {
        match self.eval(e)? {
            Val::Vector(v) => {
                for s in v {
                    sink(s.labels, &s.vals)?;
                }
                Ok(())
            }
            _ => Err(QueryError::bad_data(
                "expected type instant vector in call to function",
            )),
        }
    }

    /// The series of `e`, materialised.
    fn collect_vector(&mut self, e: &Expr) -> Result<Vec<StepSeries>> {
        let mut out = Vec::new();
        self.for_each_series(e, &mut collect_into(&mut out))?;
        Ok(out)
    }

    /// Reads every series matching `vs` in `[mint, maxt]` and hands its points to `f`, one
    /// series at a time, so a query holds one series' raw points at once, not all of them.
    /// Stale markers are counted as loaded, and left out if `skip_stale`.
    fn load_each(
        &mut self,
        vs: &VectorSelector,
        (mint, maxt): (i64, i64),
        skip_stale: bool,
        mut f: impl FnMut(Labels, &[Point]) -> Result<()>,
    ) -> Result<()> {
        let matchers = to_matchers(vs)?;
        let sub = self.querier_for(mint, maxt);
        // Prometheus's engine selects unsorted: from the head alone, series come in creation
        // order, which is what ties in `topk`/`bottomk` (and float sums' order) follow.
        let selected = sub.select_unsorted(&matchers)?;
        let mut points = Vec::new();
        for s in &selected {
            self.check_deadline()?;
            self.stats.series_touched += 1;
            let mut it = s.iter();
            points.clear();
            let mut loaded = 0u64;
            if it.seek(mint) {
                loop {
                    let (t, v) = it.at();
                    if t > maxt {
                        break;
                    }
                    loaded += 1;
                    if !(skip_stale && is_stale(v)) {
                        points.push(Point { t, v });
                    }
                    if !it.next() {
                        break;
                    }
                }
            }
            if let Some(e) = it.err() {
                return Err(QueryError::internal(format!("reading {}: {e}", s.labels())));
            }
            self.count_samples(loaded)?;
            f(s.labels().clone(), &points)?;
        }
        Ok(())
    }

    /// Reads every series matching `vs` in `[mint, maxt]` (for results that are raw points).
    fn load(
        &mut self,
        vs: &VectorSelector,
        range: (i64, i64),
        skip_stale: bool,
    ) -> Result<Vec<RangeSeries>> {
        let mut out = Vec::new();
        self.load_each(vs, range, skip_stale, |labels, points| {
            out.push(RangeSeries {
                labels,
                points: points.to_vec(),
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn querier_for(&self, mint: i64, maxt: i64) -> Querier {
        self.querier.narrowed(mint, maxt)
    }

    fn stream_selector(&mut self, vs: &VectorSelector, sink: &mut Sink) -> Result<()> {
        let refs = self.ref_times(&vs.at, &vs.offset)?;
        let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(());
        };
        let lookback = self.lookback;
        let mut vals = Vec::with_capacity(refs.len());
        self.load_each(
            vs,
            (lo.saturating_sub(lookback), hi),
            false,
            |labels, points| {
                lookback_values(points, &refs, lookback, &mut vals);
                if vals.iter().any(Option::is_some) {
                    sink(labels, &vals)?;
                }
                Ok(())
            },
        )
    }

    /// `timestamp(selector)`: the time of the sample each step reads, in seconds.
    fn stream_selector_timestamps(&mut self, vs: &VectorSelector, sink: &mut Sink) -> Result<()> {
        let refs = self.ref_times(&vs.at, &vs.offset)?;
        let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(());
        };
        let lookback = self.lookback;
        let (mut ts, mut vals) = (Vec::new(), Vec::with_capacity(refs.len()));
        self.load_each(
            vs,
            (lo.saturating_sub(lookback), hi),
            false,
            |labels, points| {
                ts.clear();
                ts.extend(points.iter().map(|p| Point {
                    t: p.t,
                    v: if is_stale(p.v) {
                        p.v
                    } else {
                        p.t as f64 / 1000.0
                    },
                }));
                lookback_values(&ts, &refs, lookback, &mut vals);
                if vals.iter().any(Option::is_some) {
                    sink(drop_name(&labels), &vals)?;
                }
                Ok(())
            },
        )
    }

    fn eval_matrix_top(&mut self, ms: &MatrixSelector) -> Result<Val> {
        if self.steps.len() != 1 {
            return Err(QueryError::bad_data(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
            ));
        }
        let t = self.ref_time(self.steps[0], &ms.vs.at, &ms.vs.offset)?;
        let range = dur_ms(&ms.range);
        // Left-open: `(t - range, t]`.
        let series = self.load(&ms.vs, (t.saturating_sub(range).saturating_add(1), t), true)?;
        Ok(Val::Matrix(
            series
                .into_iter()
                .filter(|s| !s.points.is_empty())
                .collect(),
        ))
    }

    /// Evaluates a subquery's inner expression at its own aligned steps covering every outer
    /// step's window, and hands each inner series to `f` as points (at the inner steps), with
    /// the outer steps' reference times. Streams when the inner expression does.
    fn each_subquery_series(
        &mut self,
        sq: &SubqueryExpr,
        mut f: impl FnMut(Labels, &[Point], &[i64]) -> Result<()>,
    ) -> Result<()> {
        let range = dur_ms(&sq.range);
        let step = sq
            .step
            .as_ref()
            .map(dur_ms)
            .filter(|&s| s > 0)
            .unwrap_or(self.default_subquery_step);
        let refs = self.ref_times(&sq.at, &sq.offset)?;
        let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(());
        };
        // Inner steps are aligned to multiples of the step from the epoch; the first is the
        // first such time after `lo - range` (windows are left-open).
        let first = (lo - range).div_euclid(step) * step;
        let first = if first <= lo - range {
            first + step
        } else {
            first
        };
        let mut inner_steps = Vec::new();
        let mut t = first;
        while t <= hi {
            inner_steps.push(t);
            t += step;
            // Every inner step is at least one point held in memory: bound them by the
            // query's sample budget.
            if inner_steps.len() as u64 > self.max_samples.saturating_sub(self.stats.samples_loaded)
            {
                return Err(QueryError::execution(
                    "query processing would load too many samples into memory in subquery evaluation",
                ));
            }
        }
        let mut inner = Evaluator {
            querier: self.querier,
            start: inner_steps.first().copied().unwrap_or(lo),
            end: inner_steps.last().copied().unwrap_or(hi),
            steps: inner_steps,
            lookback: self.lookback,
            default_subquery_step: self.default_subquery_step,
            max_samples: self.max_samples.saturating_sub(self.stats.samples_loaded),
            deadline: self.deadline,
            cancel: self.cancel,
            stats: EvalStats::default(),
            ann: self.ann,
        };
        let inner_steps = inner.steps.clone();
        let mut points = Vec::new();
        match sq.expr.value_type() {
            ValueType::Vector => inner.for_each_series(&sq.expr, &mut |labels, vals| {
                points.clear();
                points.extend(
                    vals.iter()
                        .zip(&inner_steps)
                        .filter_map(|(v, &t)| v.map(|v| Point { t, v })),
                );
                f(labels, &points, &refs)
            })?,
            _ => match inner.eval(&sq.expr)? {
                Val::Scalar(vs) => {
                    points.extend(vs.iter().zip(&inner_steps).map(|(&v, &t)| Point { t, v }));
                    f(Labels::empty(), &points, &refs)?;
                }
                _ => {
                    return Err(QueryError::bad_data(
                        "subquery is only allowed on instant vector or scalar",
                    ))
                }
            },
        }
        self.stats.series_touched += inner.stats.series_touched;
        self.count_samples(inner.stats.samples_loaded)
    }

    fn eval_subquery_top(&mut self, sq: &SubqueryExpr) -> Result<Val> {
        if self.steps.len() != 1 {
            return Err(QueryError::bad_data(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
            ));
        }
        let range = dur_ms(&sq.range);
        let mut out = Vec::new();
        self.each_subquery_series(sq, |labels, points, refs| {
            let t = refs[0];
            let points: Vec<Point> = points
                .iter()
                .copied()
                .filter(|p| p.t > t - range && p.t <= t)
                .collect();
            if !points.is_empty() {
                out.push(RangeSeries { labels, points });
            }
            Ok(())
        })?;
        Ok(Val::Matrix(out))
    }

    /// Applies `f` to every step window of the range argument `arg` (for each series, for
    /// each step, its points in `(ref - range, ref]`, left-open since Prometheus 3.0),
    /// one series at a time, and hands the resulting series to `sink`.
    fn stream_range_fn(
        &mut self,
        arg: &Expr,
        keep_name: bool,
        f: impl FnMut(&RangeInput, usize) -> Result<Option<f64>>,
        sink: &mut Sink,
    ) -> Result<()> {
        self.stream_windows(arg, keep_name, &mut PerWindow(f), sink)
    }

    /// [`Evaluator::stream_range_fn`] for any [`WindowFn`].
    fn stream_windows(
        &mut self,
        arg: &Expr,
        keep_name: bool,
        f: &mut impl WindowFn,
        sink: &mut Sink,
    ) -> Result<()> {
        let mut vals = Vec::new();
        let mut emit = |labels: Labels, points: &[Point], refs: &[i64], range: i64| -> Result<()> {
            f.start_series(points);
            range_fn_values(points, refs, range, f, &mut vals)?;
            f.end_series(&labels, vals.iter().any(Option::is_some));
            if vals.iter().any(Option::is_some) {
                let labels = if keep_name {
                    labels
                } else {
                    drop_name(&labels)
                };
                sink(labels, &vals)?;
            }
            Ok(())
        };
        match strip_parens(arg) {
            Expr::MatrixSelector(ms) => {
                let range = dur_ms(&ms.range);
                let refs = self.ref_times(&ms.vs.at, &ms.vs.offset)?;
                let (Some(&lo), Some(&hi)) = (refs.iter().min(), refs.iter().max()) else {
                    return Ok(());
                };
                self.load_each(&ms.vs, (lo - range, hi), true, |labels, points| {
                    emit(labels, points, &refs, range)
                })
            }
            Expr::Subquery(sq) => {
                let range = dur_ms(&sq.range);
                self.each_subquery_series(sq, |labels, points, refs| {
                    emit(labels, points, refs, range)
                })
            }
            _ => Err(QueryError::bad_data(
                "expected type range vector in call to function",
            )),
        }
    }

    fn scalar_arg(&mut self, e: &Expr) -> Result<Vec<f64>> {
        match self.eval(e)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(QueryError::bad_data(
                "expected type scalar in call to function",
            )),
        }
    }

    fn vector_arg(&mut self, e: &Expr) -> Result<Vec<StepSeries>> {
        match self.eval(e)? {
            Val::Vector(v) => Ok(v),
            _ => Err(QueryError::bad_data(
                "expected type instant vector in call to function",
            )),
        }
    }

    fn string_arg(&mut self, e: &Expr) -> Result<String> {
        match self.eval(e)? {
            Val::String(s) => Ok(s),
            _ => Err(QueryError::bad_data(
                "expected type string in call to function",
            )),
        }
    }

    /// Streams the series of `e` through the element-wise `f(value, step)`, dropping
    /// `__name__` and series left without values.
    fn stream_map(
        &mut self,
        e: &Expr,
        mut f: impl FnMut(f64, usize) -> Option<f64>,
        sink: &mut Sink,
    ) -> Result<()> {
        let mut buf = Vec::new();
        self.for_each_series(e, &mut |labels, vals| {
            buf.clear();
            buf.extend(
                vals.iter()
                    .enumerate()
                    .map(|(i, v)| v.and_then(|x| f(x, i))),
            );
            if buf.iter().any(Option::is_some) {
                sink(drop_name(&labels), &buf)?;
            }
            Ok(())
        })
    }

    /// Streams the series of `e` with new labels from `relabel`; two output series with the
    /// same labels are an error, as in Prometheus.
    fn stream_relabel(
        &mut self,
        e: &Expr,
        dst_is_name: bool,
        relabel: impl Fn(&Labels) -> Labels,
        sink: &mut Sink,
    ) -> Result<()> {
        let mut seen: HashSet<Labels> = HashSet::new();
        self.for_each_series(e, &mut |labels, vals| {
            // A name waiting to be dropped is visible to label_replace/label_join; setting
            // the metric name keeps the name (Prometheus clears `DropName`).
            let (shown, was) = unhide(&labels);
            let out = relabel(&shown);
            let labels = if was.is_empty() || dst_is_name {
                out
            } else {
                rehide(&out, &was)
            };
            if !seen.insert(labels.clone()) {
                return Err(duplicate_labelset());
            }
            sink(labels, vals)
        })
    }

    fn stream_vector_scalar(
        &mut self,
        b: &BinaryExpr,
        op: VectorScalar,
        sink: &mut Sink,
    ) -> Result<()> {
        // The scalar operand is evaluated first so the vector operand can stream; both are
        // always evaluated, so only which of two failing operands is reported can differ.
        let (s, v) = if op.scalar_left() {
            (&b.lhs, &b.rhs)
        } else {
            (&b.rhs, &b.lhs)
        };
        let s = self.scalar_arg(s)?;
        let mut buf = Vec::new();
        self.for_each_series(v, &mut |labels, vals| {
            op.apply(vals, &s, &mut buf);
            if buf.iter().any(Option::is_some) {
                let labels = if op.drops_name() {
                    drop_name(&labels)
                } else {
                    labels
                };
                sink(labels, &buf)?;
            }
            Ok(())
        })
    }

    /// Checks a call against Prometheus 3.5's function table; returns its name and arguments.
    fn checked_call<'c>(&self, c: &'c Call) -> Result<(&'static str, Vec<&'c Expr>)> {
        let name = call_name(c);
        let Some(def) = functions::function_def(name) else {
            return Err(QueryError::bad_data(format!(
                "unknown function with name {name:?}"
            )));
        };
        let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();
        // Hold every call to the signatures of the function table (the parser checked them too).
        def.check_arity(args.len()).map_err(QueryError::bad_data)?;
        Ok((name, args))
    }

    /// The calls of [`streaming_call`], series by series.
    fn stream_call(&mut self, c: &Call, sink: &mut Sink) -> Result<()> {
        let (name, args) = self.checked_call(c)?;
        let n = self.steps.len();
        if let Some((func, keep_name)) = simple_range_fn(name) {
            if let Some(is_rate) = counter_rate(name) {
                let mut f = CounterRate {
                    resets: functions::CounterResets::default(),
                    is_rate,
                    names: Vec::new(),
                };
                let r = self.stream_windows(args[0], keep_name, &mut f, sink);
                for n in f.names {
                    self.ann.add(
                        format!("PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {n:?}"),
                        args[0],
                    );
                }
                return r;
            }
            return self.stream_range_fn(args[0], keep_name, |i, _| Ok(func(i)), sink);
        }
        match name {
            "quantile_over_time" => {
                let q = self.scalar_arg(args[0])?;
                let (ann, at) = (self.ann, args[0]);
                self.stream_range_fn(
                    args[1],
                    false,
                    |i, k| {
                        let v = functions::quantile_over_time(q[k], i);
                        if v.is_some() {
                            ann.check_quantile(q[k], at);
                        }
                        Ok(v)
                    },
                    sink,
                )
            }
            "predict_linear" => {
                let d = self.scalar_arg(args[1])?;
                let steps = self.steps.clone();
                self.stream_range_fn(
                    args[0],
                    false,
                    |i, k| Ok(functions::predict_linear(i, steps[k], d[k])),
                    sink,
                )
            }
            "double_exponential_smoothing" => {
                let sf = self.scalar_arg(args[1])?;
                let tf = self.scalar_arg(args[2])?;
                self.stream_range_fn(
                    args[0],
                    false,
                    |i, k| {
                        functions::double_exponential_smoothing(i, sf[k], tf[k])
                            .map_err(QueryError::execution)
                    },
                    sink,
                )
            }
            "timestamp" => match strip_parens(args[0]) {
                Expr::VectorSelector(vs) => self.stream_selector_timestamps(vs, sink),
                other => {
                    let steps = self.steps.clone();
                    let mut buf = Vec::new();
                    self.for_each_series(other, &mut |labels, vals| {
                        buf.clear();
                        buf.extend(
                            vals.iter()
                                .zip(&steps)
                                .map(|(v, &t)| v.map(|_| t as f64 / 1000.0)),
                        );
                        sink(drop_name(&labels), &buf)
                    })
                }
            },
            // Ordering only matters for an instant query's result, which the engine sorts.
            "sort" | "sort_desc" => self.for_each_series(args[0], sink),
            "sort_by_label" | "sort_by_label_desc" => {
                for a in &args[1..] {
                    self.string_arg(a)?;
                }
                self.for_each_series(args[0], sink)
            }
            "round" => {
                let to = if args.len() > 1 {
                    self.scalar_arg(args[1])?
                } else {
                    vec![1.0; n]
                };
                self.stream_map(args[0], |v, i| Some(functions::round(v, to[i])), sink)
            }
            "clamp" => {
                let lo = self.scalar_arg(args[1])?;
                let hi = self.scalar_arg(args[2])?;
                self.stream_map(args[0], |v, i| functions::clamp(v, lo[i], hi[i]), sink)
            }
            "clamp_min" => {
                let lo = self.scalar_arg(args[1])?;
                self.stream_map(args[0], |v, i| Some(functions::clamp_min(v, lo[i])), sink)
            }
            "clamp_max" => {
                let hi = self.scalar_arg(args[1])?;
                self.stream_map(args[0], |v, i| Some(functions::clamp_max(v, hi[i])), sink)
            }
            "label_replace" => {
                let dst = self.string_arg(args[1])?;
                let repl = self.string_arg(args[2])?;
                let src = self.string_arg(args[3])?;
                let re_s = self.string_arg(args[4])?;
                let checked = functions::compile_label_replace_regex(&re_s).and_then(|re| {
                    functions::check_label_replace_dst(&dst)?;
                    Ok(re)
                });
                match checked {
                    Ok(re) => self.stream_relabel(
                        args[0],
                        dst == METRIC_NAME,
                        |l| functions::label_replace(l, &dst, &repl, &src, &re),
                        sink,
                    ),
                    // Prometheus evaluates the vector before it looks at the other arguments:
                    // its errors come first.
                    Err(e) => {
                        self.for_each_series(args[0], &mut |_, _| Ok(()))?;
                        Err(QueryError::execution(e))
                    }
                }
            }
            "label_join" => {
                let dst = self.string_arg(args[1])?;
                let sep = self.string_arg(args[2])?;
                let mut srcs = Vec::new();
                for a in &args[3..] {
                    srcs.push(self.string_arg(a)?);
                }
                let src_refs: Vec<&str> = srcs.iter().map(String::as_str).collect();
                if let Err(e) = functions::check_label_join_args(&dst, &src_refs) {
                    self.for_each_series(args[0], &mut |_, _| Ok(()))?;
                    return Err(QueryError::execution(e));
                }
                self.stream_relabel(
                    args[0],
                    dst == METRIC_NAME,
                    |l| functions::label_join(l, &dst, &sep, &src_refs),
                    sink,
                )
            }
            _ => {
                let f = functions::date_fn(name)
                    .or_else(|| functions::math_fn(name))
                    .ok_or_else(|| {
                        QueryError::bad_data(format!("function {name:?} is not supported"))
                    })?;
                self.stream_map(args[0], |v, _| Some(f(v)), sink)
            }
        }
    }

    /// Calls that do not stream (see [`streaming_call`]): they produce a scalar, consume
    /// their whole argument, or make series from nothing.
    fn eval_call(&mut self, c: &Call) -> Result<Val> {
        let (name, args) = self.checked_call(c)?;
        let n = self.steps.len();
        let v = match name {
            "time" => Val::Scalar(self.steps.iter().map(|&t| t as f64 / 1000.0).collect()),
            "pi" => Val::Scalar(vec![std::f64::consts::PI; n]),
            "vector" => {
                let s = self.scalar_arg(args[0])?;
                Val::Vector(vec![StepSeries {
                    labels: Labels::empty(),
                    vals: s.into_iter().map(Some).collect(),
                }])
            }
            "scalar" => {
                // Per step: how many series have a value (0, 1, more) and the first one.
                let mut seen: Vec<(u8, f64)> = vec![(0, f64::NAN); n];
                self.for_each_series(args[0], &mut |_, vals| {
                    for (s, v) in seen.iter_mut().zip(vals) {
                        if let Some(x) = *v {
                            if s.0 == 0 {
                                s.1 = x;
                            }
                            s.0 = s.0.saturating_add(1);
                        }
                    }
                    Ok(())
                })?;
                Val::Scalar(
                    seen.into_iter()
                        .map(|(k, x)| if k == 1 { x } else { f64::NAN })
                        .collect(),
                )
            }
            "absent" => {
                let mut present = vec![false; n];
                self.for_each_series(args[0], &mut |_, vals| {
                    mark_present(&mut present, vals);
                    Ok(())
                })?;
                absent(&present, absent_labels(args[0]))
            }
            "absent_over_time" => {
                let mut present = vec![false; n];
                self.stream_range_fn(args[0], true, |_, _| Ok(Some(1.0)), &mut |_, vals| {
                    mark_present(&mut present, vals);
                    Ok(())
                })?;
                absent(&present, absent_labels(args[0]))
            }
            // Native-histogram functions: they skip float samples, so on float data the
            // result is empty (the argument is still evaluated, for its errors and limits).
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => {
                self.for_each_series(args[0], &mut |_, _| Ok(()))?;
                Val::Vector(Vec::new())
            }
            "info" => Val::Vector(self.info(args[0], args.get(1).copied())?),
            "histogram_quantile" => {
                let q = self.scalar_arg(args[0])?;
                let v = self.vector_arg(args[1])?;
                for &qi in &q {
                    self.ann.check_quantile(qi, args[0]);
                }
                self.check_buckets(&v, args[1]);
                let mut forced: Vec<String> = Vec::new();
                let out = classic_histogram(v, |labels, i, b| {
                    if (0.0..=1.0).contains(&q[i]) && functions::needs_monotonicity_fix(b) {
                        let name = labels.get(METRIC_NAME).unwrap_or("").to_owned();
                        if !forced.contains(&name) {
                            forced.push(name);
                        }
                    }
                    functions::bucket_quantile(q[i], b)
                })?;
                for name in forced {
                    self.ann.add(
                        format!("PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?}"),
                        args[1],
                    );
                }
                Val::Vector(out)
            }
            "histogram_fraction" => {
                let lo = self.scalar_arg(args[0])?;
                let hi = self.scalar_arg(args[1])?;
                let v = self.vector_arg(args[2])?;
                Val::Vector(classic_histogram(v, |_, i, b| {
                    functions::bucket_fraction(lo[i], hi[i], b)
                })?)
            }
            _ => match functions::date_fn(name) {
                // Date functions without an argument apply to the evaluation time.
                Some(f) if args.is_empty() => Val::Vector(vec![StepSeries {
                    labels: Labels::empty(),
                    vals: self
                        .steps
                        .iter()
                        .map(|&t| Some(f(t as f64 / 1000.0)))
                        .collect(),
                }]),
                _ => {
                    return Err(QueryError::bad_data(format!(
                        "function {name:?} is not supported"
                    )))
                }
            },
        };
        Ok(v)
    }

    /// `info(v, [data-label selector])` (experimental): each series of `v` gains the data
    /// labels (all but the name and the identifying `instance` and `job`) of the info series
    /// (`target_info`, or those the selector's `__name__` matchers pick) that share its
    /// `instance` and `job` at that step, without overwriting its own labels. Data matchers
    /// in the selector restrict the info series and which labels are added; a series with no
    /// matching info series stays as it is, unless those matchers cannot match an empty value,
    /// when it is dropped.
    fn info(&mut self, v: &Expr, selector: Option<&Expr>) -> Result<Vec<StepSeries>> {
        const IDENTIFYING: [&str; 2] = ["instance", "job"];
        let input = self.vector_arg(v)?;
        let mut sel = match selector.map(strip_parens) {
            None => VectorSelector::new(
                Some("target_info".into()),
                promql_parser::label::Matchers::new(Vec::new()),
            ),
            Some(Expr::VectorSelector(vs)) => vs.clone(),
            Some(_) => {
                return Err(QueryError::bad_data(
                    "expected a vector selector as the second argument of info",
                ))
            }
        };
        let data: Vec<promql_parser::label::Matcher> = sel
            .matchers
            .matchers
            .iter()
            .filter(|m| m.name != METRIC_NAME)
            .cloned()
            .collect();
        let all_match_empty = data.iter().all(|m| match &m.op {
            MatchOp::Equal => m.value.is_empty(),
            MatchOp::NotEqual => !m.value.is_empty(),
            MatchOp::Re(_) | MatchOp::NotRe(_) => {
                let kind = if matches!(m.op, MatchOp::Re(_)) {
                    MatchType::RegexMatch
                } else {
                    MatchType::RegexNoMatch
                };
                Matcher::new(kind, m.name.clone(), m.value.clone()).is_ok_and(|x| x.matches(""))
            }
        });
        let named =
            sel.name.is_some() || sel.matchers.matchers.iter().any(|m| m.name == METRIC_NAME);
        if !named {
            sel.matchers
                .matchers
                .push(promql_parser::label::Matcher::new(
                    MatchOp::Equal,
                    METRIC_NAME,
                    "target_info",
                ));
        }
        let infos = self.collect_vector(&Expr::VectorSelector(sel))?;
        let n = self.steps.len();
        let mut out: Vec<StepSeries> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for s in &input {
            let key: Vec<&str> = IDENTIFYING
                .iter()
                .map(|l| s.labels.get(l).unwrap_or(""))
                .collect();
            for i in 0..n {
                let Some(x) = s.vals[i] else { continue };
                let mut b = s.labels.builder();
                let mut found = false;
                for info in &infos {
                    if info.vals[i].is_none()
                        || IDENTIFYING
                            .iter()
                            .zip(&key)
                            .any(|(l, k)| info.labels.get(l).unwrap_or("") != *k)
                    {
                        continue;
                    }
                    found = true;
                    for l in info.labels.iter() {
                        let wanted = data.is_empty() || data.iter().any(|m| m.name == l.name);
                        if l.name == METRIC_NAME
                            || IDENTIFYING.contains(&l.name)
                            || !wanted
                            || s.labels.get(l.name).is_some()
                        {
                            continue;
                        }
                        b.set(l.name, l.value);
                    }
                }
                if !found && !all_match_empty {
                    continue;
                }
                let labels = b.build().unwrap_or_default();
                let k = *index.entry(labels.clone()).or_insert_with(|| {
                    out.push(StepSeries {
                        labels,
                        vals: vec![None; n],
                    });
                    out.len() - 1
                });
                out[k].vals[i] = Some(x);
            }
        }
        Ok(out)
    }

    /// Prometheus's warning for bucket series whose `le` is missing or not a number.
    fn check_buckets(&self, v: &[StepSeries], at: &Expr) {
        for s in v {
            let le = s.labels.get("le").unwrap_or("");
            if parse_le(le).is_err() || s.labels.get("le").is_none() {
                self.ann.add(
                    format!(
                        "PromQL warning: bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {:?}",
                        s.labels.get(METRIC_NAME).unwrap_or("")
                    ),
                    at,
                );
            }
        }
    }

    fn eval_aggregate(&mut self, a: &AggregateExpr) -> Result<Val> {
        let op = a.op.to_string().to_lowercase();
        let param = match &a.param {
            Some(p) if op == "count_values" => Some(Val::String(self.string_arg(p)?)),
            Some(p) => Some(Val::Scalar(self.scalar_arg(p)?)),
            None => None,
        };
        match (&param, &a.param, op.as_str()) {
            (Some(Val::Scalar(qs)), Some(p), "quantile") => {
                for &q in qs {
                    self.ann.check_quantile(q, p);
                }
            }
            (Some(Val::Scalar(rs)), Some(p), "limit_ratio") => {
                for &r in rs {
                    if !(-1.0..=1.0).contains(&r) && !r.is_nan() {
                        self.ann.add(
                            format!(
                                "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
                                go_g(r),
                                go_g(r.clamp(-1.0, 1.0))
                            ),
                            p,
                        );
                    }
                }
            }
            _ => {}
        }
        match Aggregation::new(&op, param, a.modifier.as_ref(), self.steps.len()) {
            Ok(mut agg) => {
                self.for_each_series(&a.expr, &mut |labels, vals| {
                    agg.add(labels, vals);
                    Ok(())
                })?;
                Ok(agg.finish())
            }
            // Prometheus evaluates the argument before it looks at the operator's parameter:
            // the argument's errors come first.
            Err(e) => {
                self.for_each_series(&a.expr, &mut |_, _| Ok(()))?;
                Err(e)
            }
        }
    }

    fn eval_binary(&mut self, b: &BinaryExpr) -> Result<Val> {
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        crate::binary::binary(b, lhs, rhs, self.steps.len())
    }
}

/// A sink that collects series, as [`Evaluator::eval`] returns them.
fn collect_into(
    out: &mut Vec<StepSeries>,
) -> impl FnMut(Labels, &[Option<f64>]) -> Result<()> + '_ {
    |labels, vals| {
        out.push(StepSeries {
            labels,
            vals: vals.to_vec(),
        });
        Ok(())
    }
}

fn mark_present(present: &mut [bool], vals: &[Option<f64>]) {
    for (p, v) in present.iter_mut().zip(vals) {
        *p |= v.is_some();
    }
}

fn duplicate_labelset() -> QueryError {
    QueryError::execution("vector cannot contain metrics with the same labelset")
}

/// A range-vector function of one window.
type RangeFn = fn(&RangeInput) -> Option<f64>;

/// Range-vector functions that take only the range argument: the function and whether it
/// keeps `__name__` (only `last_over_time` does in 3.5).
fn simple_range_fn(name: &str) -> Option<(RangeFn, bool)> {
    let f: RangeFn = match name {
        "rate" => functions::rate,
        "increase" => functions::increase,
        "delta" => functions::delta,
        "irate" => functions::irate,
        "idelta" => functions::idelta,
        "deriv" => functions::deriv,
        "changes" => functions::changes,
        "resets" => functions::resets,
        "avg_over_time" => functions::avg_over_time,
        "min_over_time" => functions::min_over_time,
        "max_over_time" => functions::max_over_time,
        "sum_over_time" => functions::sum_over_time,
        "count_over_time" => functions::count_over_time,
        "stddev_over_time" => functions::stddev_over_time,
        "stdvar_over_time" => functions::stdvar_over_time,
        "last_over_time" => functions::last_over_time,
        "present_over_time" => functions::present_over_time,
        "mad_over_time" => functions::mad_over_time,
        "ts_of_last_over_time" => functions::ts_of_last_over_time,
        "ts_of_max_over_time" => functions::ts_of_max_over_time,
        "ts_of_min_over_time" => functions::ts_of_min_over_time,
        _ => return None,
    };
    Some((f, name == "last_over_time"))
}

/// A function of one series' window at one step.
trait WindowFn {
    /// Called with a series' points before its windows.
    fn start_series(&mut self, _points: &[Point]) {}
    /// Called after a series' windows with its labels and whether any window had a value.
    fn end_series(&mut self, _labels: &Labels, _produced: bool) {}
    /// The value for window `i` at step `step`; the window's points start at index `offset`
    /// of the series' points.
    fn window(&mut self, i: &RangeInput, step: usize, offset: usize) -> Result<Option<f64>>;
}

/// A window function that looks at each window on its own.
struct PerWindow<F>(F);

impl<F: FnMut(&RangeInput, usize) -> Result<Option<f64>>> WindowFn for PerWindow<F> {
    fn window(&mut self, i: &RangeInput, step: usize, _offset: usize) -> Result<Option<f64>> {
        (self.0)(i, step)
    }
}

/// `rate`/`increase` with the series' counter resets found once for all its windows.
struct CounterRate {
    resets: functions::CounterResets,
    is_rate: bool,
    /// Metric names of series with a value that do not look like counters (for 3.5's info).
    names: Vec<String>,
}

impl WindowFn for CounterRate {
    fn start_series(&mut self, points: &[Point]) {
        self.resets.scan(points);
    }
    fn end_series(&mut self, labels: &Labels, produced: bool) {
        let Some(name) = labels.get(METRIC_NAME) else {
            return;
        };
        let counter_like = ["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|s| name.ends_with(s));
        if produced && !counter_like && !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_owned());
        }
    }
    fn window(&mut self, i: &RangeInput, _step: usize, offset: usize) -> Result<Option<f64>> {
        Ok(self.resets.rate(i, offset, self.is_rate))
    }
}

/// For `rate` and `increase`: whether per second.
fn counter_rate(name: &str) -> Option<bool> {
    match name {
        "rate" => Some(true),
        "increase" => Some(false),
        _ => None,
    }
}

/// A range function's value at every step, written to `vals`: its window is
/// `(t - range, t]` (left-open since Prometheus 3.0) for each reference time `t`.
fn range_fn_values(
    points: &[Point],
    refs: &[i64],
    range: i64,
    f: &mut impl WindowFn,
    vals: &mut Vec<Option<f64>>,
) -> Result<()> {
    vals.clear();
    // Steps usually move forward, so the window bounds only advance; with `@` they may not.
    let monotonic = refs.windows(2).all(|w| w[0] <= w[1]);
    let (mut lo, mut hi) = (0usize, 0usize);
    for (i, &t) in refs.iter().enumerate() {
        if monotonic {
            while lo < points.len() && points[lo].t <= t - range {
                lo += 1;
            }
            hi = hi.max(lo);
            while hi < points.len() && points[hi].t <= t {
                hi += 1;
            }
        } else {
            lo = points.partition_point(|p| p.t <= t - range);
            hi = points.partition_point(|p| p.t <= t);
        }
        let input = RangeInput {
            points: &points[lo..hi],
            range_start: t - range,
            range_end: t,
        };
        vals.push(if lo == hi {
            None
        } else {
            f.window(&input, i, lo)?
        });
    }
    Ok(())
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        other => other,
    }
}

/// `absent`/`absent_over_time`: one series with `labels`, valued 1 at the steps where
/// nothing is `present`.
fn absent(present: &[bool], labels: Labels) -> Val {
    let vals: Vec<Option<f64>> = present.iter().map(|&p| (!p).then_some(1.0)).collect();
    Val::Vector(if vals.iter().any(Option::is_some) {
        vec![StepSeries { labels, vals }]
    } else {
        Vec::new()
    })
}

/// Labels of `absent(...)`'s output: the selector's equality matchers (names other than
/// `__name__`, each used once).
fn absent_labels(e: &Expr) -> Labels {
    let vs = match strip_parens(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &vs.matchers.matchers {
        *seen.entry(m.name.as_str()).or_default() += 1;
    }
    let pairs: Vec<(&str, &str)> = vs
        .matchers
        .matchers
        .iter()
        .filter(|m| {
            matches!(m.op, MatchOp::Equal)
                && m.name != METRIC_NAME
                && seen.get(m.name.as_str()) == Some(&1)
        })
        .map(|m| (m.name.as_str(), m.value.as_str()))
        .collect();
    Labels::from_pairs(pairs).unwrap_or_default()
}

/// For each reference time (increasing or not), the newest point in `(ref - lookback, ref]`,
/// or `None` if there is none or it is a stale marker; written to `vals`.
pub(crate) fn lookback_values(
    points: &[Point],
    refs: &[i64],
    lookback: i64,
    vals: &mut Vec<Option<f64>>,
) {
    vals.clear();
    let mut hi = 0usize;
    let mut prev = i64::MIN;
    for &t in refs {
        // Steps usually move forward: then the newest point at or before `t` only advances.
        if t >= prev {
            while hi < points.len() && points[hi].t <= t {
                hi += 1;
            }
        } else {
            hi = points.partition_point(|p| p.t <= t);
        }
        prev = t;
        vals.push(if hi == 0 {
            None
        } else {
            let p = points[hi - 1];
            // Prometheus 3 excludes a sample exactly `lookback` old: the window is
            // `(t - lookback, t]`.
            if p.t <= t - lookback || is_stale(p.v) {
                None
            } else {
                Some(p.v)
            }
        });
    }
}

/// A function of classic histograms (`histogram_quantile`, `histogram_fraction`): the input's
/// bucket series are grouped by their labels without `le` (the metric name included, as in
/// Prometheus 3.5), `f(step, buckets)` gives each group's value per step, and the output
/// drops the metric name; two groups that become equal then are the error Prometheus gives.
fn classic_histogram(
    v: Vec<StepSeries>,
    mut f: impl FnMut(&Labels, usize, &mut Vec<(f64, f64)>) -> f64,
) -> Result<Vec<StepSeries>> {
    // Group in order of first appearance.
    let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (si, s) in v.iter().enumerate() {
        let Some(le) = s.labels.get("le") else {
            continue;
        };
        let Ok(upper) = parse_le(le) else { continue };
        let key = s.labels.without(&["le"]);
        let gi = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[gi].1.push((upper, si));
    }
    let n = v.first().map_or(0, |s| s.vals.len());
    let mut out = Vec::new();
    for (labels, members) in groups {
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            let mut buckets: Vec<(f64, f64)> = members
                .iter()
                .filter_map(|&(u, si)| v[si].vals[i].map(|c| (u, c)))
                .collect();
            vals.push(if buckets.is_empty() {
                None
            } else {
                Some(f(&labels, i, &mut buckets))
            });
        }
        if vals.iter().any(Option::is_some) {
            out.push(StepSeries {
                labels: drop_name(&labels),
                vals,
            });
        }
    }
    check_unique_per_step(&out)?;
    Ok(out)
}

/// Prometheus's check after a function call: no two series with the same labels at a step.
fn check_unique_per_step(v: &[StepSeries]) -> Result<()> {
    let mut seen: HashMap<&Labels, usize> = HashMap::new();
    for (i, s) in v.iter().enumerate() {
        if let Some(&j) = seen.get(&s.labels) {
            if s.vals
                .iter()
                .zip(&v[j].vals)
                .any(|(a, b)| a.is_some() && b.is_some())
            {
                return Err(duplicate_labelset());
            }
        } else {
            seen.insert(&s.labels, i);
        }
    }
    Ok(())
}

fn parse_le(s: &str) -> std::result::Result<f64, ()> {
    match s.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        t => t.parse::<f64>().map_err(|_| ()),
    }
}

/// Label-set helpers shared by aggregation and binary operators.
pub(crate) fn labels_keep(l: &Labels, names: &[String]) -> Labels {
    Labels::from_pairs(
        l.iter()
            .filter(|x| names.iter().any(|n| n == x.name))
            .map(|x| (x.name, x.value)),
    )
    .unwrap_or_default()
}

/// `labels` minus `names` (and `__name__`, also one waiting to be dropped, if
/// `drop_metric`).
pub(crate) fn labels_drop(l: &Labels, names: &[String], drop_metric: bool) -> Labels {
    Labels::from_pairs(
        l.iter()
            .filter(|x| {
                let dropped = names.iter().any(|n| n == x.name);
                let name =
                    x.name == METRIC_NAME || x.name.strip_prefix(PENDING) == Some(METRIC_NAME);
                !(dropped || drop_metric && name)
            })
            .map(|x| (x.name, x.value)),
    )
    .unwrap_or_default()
}

/// The grouping key of an aggregation.
pub(crate) fn group_key(l: &Labels, m: Option<&LabelModifier>) -> Labels {
    match m {
        None => Labels::empty(),
        // `by (__name__)` groups by a name waiting to be dropped too, and the group keeps it
        // waiting (so equal groups after the drop fail at the end, as in Prometheus).
        Some(LabelModifier::Include(ls)) => {
            let (shown, was) = unhide(l);
            rehide(&labels_keep(&shown, &ls.labels), &was)
        }
        Some(LabelModifier::Exclude(ls)) => labels_drop(l, &ls.labels, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tidemark_engine::{labels, Db, DbOptions};

    /// 20 series `m{i="0".."19"}`, counters over 10 minutes at 15 s.
    fn db(dir: &std::path::Path) -> Db {
        let db = Db::open(
            dir,
            DbOptions {
                retention_time: None,
                ..DbOptions::default()
            },
        )
        .unwrap();
        for k in 0..40i64 {
            let mut app = db.appender();
            for i in 0..20 {
                app.append(
                    &labels!("__name__" => "m", "i" => i.to_string()),
                    k * 15_000,
                    (k * i) as f64,
                )
                .unwrap();
            }
            app.commit().unwrap();
        }
        db
    }

    fn evaluator<'q>(
        querier: &'q Querier,
        cancel: &'q AtomicBool,
        max_samples: u64,
    ) -> Evaluator<'q> {
        let steps: Vec<i64> = (0..40).map(|k| k * 15_000).collect();
        Evaluator {
            querier,
            start: steps[0],
            end: steps[steps.len() - 1],
            steps,
            lookback: 300_000,
            default_subquery_step: 60_000,
            max_samples,
            deadline: Instant::now() + Duration::from_secs(60),
            cancel: Some(cancel),
            stats: EvalStats::default(),
            ann: Annotator {
                notes: Box::leak(Box::default()),
                positions: Box::leak(Box::default()),
                query: "",
            },
        }
    }

    fn parse(q: &str) -> Expr {
        promql_parser::parser::parse(q).unwrap()
    }

    #[test]
    fn streamed_expressions_hand_out_one_series_at_a_time_and_stop_when_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let querier = db.querier(i64::MIN, i64::MAX);
        for q in [
            "m",
            "rate(m[1m])",
            "abs(-(m * 2))",
            "clamp_min(increase(m[2m]), 1) > 3",
            "label_replace(m, \"j\", \"$1\", \"i\", \"(.*)\")",
            "max_over_time(rate(m[1m])[3m:30s])",
        ] {
            let e = parse(q);
            assert!(streams(&e), "{q} should stream");
            // Cancelling from inside the sink stops the stream before the next series.
            let cancel = AtomicBool::new(false);
            let mut ev = evaluator(&querier, &cancel, u64::MAX);
            let mut seen = 0;
            let err = ev
                .for_each_series(&e, &mut |_, vals| {
                    assert_eq!(vals.len(), 40);
                    seen += 1;
                    cancel.store(true, Ordering::Relaxed);
                    Ok(())
                })
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::Canceled, "{q}: {err}");
            assert_eq!(seen, 1, "{q}");
            // Uncancelled, it streams what eval returns, in the same order.
            let go = AtomicBool::new(false);
            let mut ev = evaluator(&querier, &go, u64::MAX);
            let mut streamed = Vec::new();
            ev.for_each_series(&e, &mut collect_into(&mut streamed))
                .unwrap();
            let mut ev = evaluator(&querier, &go, u64::MAX);
            let Val::Vector(whole) = ev.eval(&e).unwrap() else {
                panic!("{q}: not a vector");
            };
            assert!(streamed.len() >= 19, "{q}: {} series", streamed.len());
            assert_eq!(streamed.len(), whole.len(), "{q}");
            for (a, b) in streamed.iter().zip(&whole) {
                assert_eq!((&a.labels, &a.vals), (&b.labels, &b.vals), "{q}");
            }
        }
    }

    #[test]
    fn the_sample_limit_stops_a_stream_part_way() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let querier = db.querier(i64::MIN, i64::MAX);
        let go = AtomicBool::new(false);
        for q in ["sum(rate(m[1m]))", "topk(2, m)", "rate(m[1m]) * 2"] {
            // 40 samples per series: the limit is reached at the 5th series.
            let mut ev = evaluator(&querier, &go, 190);
            let mut seen = 0;
            let e = parse(q);
            let err = match &e {
                Expr::Aggregate(_) => ev.eval(&e).map(|_| ()).unwrap_err(),
                _ => ev
                    .for_each_series(&e, &mut |_, _| {
                        seen += 1;
                        Ok(())
                    })
                    .unwrap_err(),
            };
            assert_eq!(err.kind, ErrorKind::Execution, "{q}: {err}");
            assert!(err.message.contains("too many samples"), "{q}: {err}");
            assert!(seen <= 4, "{q}: {seen} series after the limit");
            assert_eq!(ev.stats.series_touched, 5, "{q}");
        }
    }
}
