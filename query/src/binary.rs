//! Binary operators: arithmetic, comparisons (filtering and `bool`) and set operators between
//! scalars and instant vectors, with one-to-one and group_left/group_right matching.
//!
//! Matching is decided per step, as in Prometheus: a series missing at a step does not take
//! part in it, and duplicate matches are errors only where they actually occur.

use std::collections::HashMap;

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use tidemark_engine::Labels;

use crate::error::QueryError;
use crate::eval::{labels_drop, labels_keep, StepSeries, Val};

type Result<T> = std::result::Result<T, QueryError>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
    Atan2,
}

impl Op {
    fn parse(s: &str) -> Result<Op> {
        Ok(match s {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "^" => Op::Pow,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            "and" => Op::And,
            "or" => Op::Or,
            "unless" => Op::Unless,
            "atan2" => Op::Atan2,
            other => {
                return Err(QueryError::bad_data(format!(
                    "unknown binary operator {other:?}"
                )))
            }
        })
    }
    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }
    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }
}

/// `lhs op rhs` as Prometheus computes it; for comparisons, whether it holds (as 1/0).
fn apply(op: Op, l: f64, r: f64) -> f64 {
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    match op {
        Op::Add => l + r,
        Op::Sub => l - r,
        Op::Mul => l * r,
        Op::Div => l / r,
        Op::Mod => l % r,
        Op::Pow => l.powf(r),
        Op::Atan2 => l.atan2(r),
        Op::Eq => b(l == r),
        Op::Ne => b(l != r),
        Op::Gt => b(l > r),
        Op::Lt => b(l < r),
        Op::Ge => b(l >= r),
        Op::Le => b(l <= r),
        Op::And | Op::Or | Op::Unless => f64::NAN,
    }
}

/// Evaluates a binary expression whose operands were evaluated to `lhs` and `rhs`.
pub(crate) fn binary(b: &BinaryExpr, lhs: Val, rhs: Val, steps: usize) -> Result<Val> {
    let op = Op::parse(&b.op.to_string().to_lowercase())?;
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    if let Some(m) = &b.modifier {
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            return Err(QueryError::bad_data(
                "fill modifiers are not supported by Prometheus 3.5",
            ));
        }
    }
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => {
            if op.is_comparison() && !return_bool {
                return Err(QueryError::bad_data(
                    "comparisons between scalars must use BOOL modifier",
                ));
            }
            Ok(Val::Scalar(
                l.iter().zip(&r).map(|(&x, &y)| apply(op, x, y)).collect(),
            ))
        }
        (Val::Vector(v), Val::Scalar(s)) => vector_scalar(op, v, &s, false, return_bool),
        (Val::Scalar(s), Val::Vector(v)) => vector_scalar(op, v, &s, true, return_bool),
        (Val::Vector(l), Val::Vector(r)) => {
            if op.is_set() {
                return Ok(Val::Vector(set_op(op, l, r, b, steps)));
            }
            vector_vector(op, l, r, b, return_bool, steps)
        }
        _ => Err(QueryError::bad_data(
            "binary expression must contain only scalar and instant vector types",
        )),
    }
}

/// A vector–scalar operation, applied to one series at a time so that a chain of such
/// operations streams (see `Evaluator::for_each_series`).
#[derive(Clone, Copy)]
pub(crate) struct VectorScalar {
    op: Op,
    scalar_left: bool,
    return_bool: bool,
}

impl VectorScalar {
    /// The operation of `b`, whose vector operand is on the right if `scalar_left`; `None`
    /// for what [`binary`] rejects (set operators, fill modifiers), so that the caller takes
    /// the general path and reports the error in its place.
    pub(crate) fn new(b: &BinaryExpr, scalar_left: bool) -> Option<VectorScalar> {
        let op = Op::parse(&b.op.to_string().to_lowercase()).ok()?;
        if op.is_set() {
            return None;
        }
        let mut return_bool = false;
        if let Some(m) = &b.modifier {
            if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
                return None;
            }
            return_bool = m.return_bool;
        }
        Some(VectorScalar {
            op,
            scalar_left,
            return_bool,
        })
    }

    /// Whether the scalar is the left operand.
    pub(crate) fn scalar_left(&self) -> bool {
        self.scalar_left
    }

    /// Whether the result loses `__name__` (arithmetic and `bool` comparisons).
    pub(crate) fn drops_name(&self) -> bool {
        !self.op.is_comparison() || self.return_bool
    }

    /// The result for one series' values `vals` and the scalar's values `s` (one per step),
    /// written to `out`; a filtering comparison leaves `None` where it does not hold.
    pub(crate) fn apply(&self, vals: &[Option<f64>], s: &[f64], out: &mut Vec<Option<f64>>) {
        let op = self.op;
        out.clear();
        out.extend(vals.iter().zip(s).map(|(v, &s)| {
            let x = (*v)?;
            let (l, r) = if self.scalar_left { (s, x) } else { (x, s) };
            let res = apply(op, l, r);
            if op.is_comparison() {
                if self.return_bool {
                    Some(res)
                } else if res == 1.0 {
                    Some(x)
                } else {
                    None
                }
            } else {
                Some(res)
            }
        }));
    }
}

fn vector_scalar(
    op: Op,
    v: Vec<StepSeries>,
    s: &[f64],
    scalar_left: bool,
    return_bool: bool,
) -> Result<Val> {
    if op.is_set() {
        return Err(QueryError::bad_data(
            "set operator not allowed in binary scalar expression",
        ));
    }
    let vs = VectorScalar {
        op,
        scalar_left,
        return_bool,
    };
    let mut out = Vec::with_capacity(v.len());
    for series in v {
        let mut vals = Vec::with_capacity(series.vals.len());
        vs.apply(&series.vals, s, &mut vals);
        if vals.iter().any(Option::is_some) {
            let labels = if vs.drops_name() {
                crate::eval::drop_name(&series.labels)
            } else {
                series.labels
            };
            out.push(StepSeries { labels, vals });
        }
    }
    Ok(Val::Vector(out))
}

fn matching(b: &BinaryExpr) -> (VectorMatchCardinality, Option<&LabelModifier>) {
    match &b.modifier {
        Some(m) => (m.card.clone(), m.matching.as_ref()),
        None => (VectorMatchCardinality::OneToOne, None),
    }
}

/// The matching signature, as Prometheus 3.5 computes it: `on` keeps the listed labels;
/// `ignoring` drops them and `__name__`; without either, the metric name and the
/// type-and-unit labels are dropped.
fn signature(l: &Labels, m: Option<&LabelModifier>) -> Labels {
    match m {
        Some(LabelModifier::Include(ls)) => labels_keep(l, &ls.labels),
        Some(LabelModifier::Exclude(ls)) => labels_drop(l, &ls.labels, true),
        None => crate::eval::strip_name(l),
    }
}

fn set_op(
    op: Op,
    l: Vec<StepSeries>,
    r: Vec<StepSeries>,
    b: &BinaryExpr,
    steps: usize,
) -> Vec<StepSeries> {
    let (_, m) = matching(b);
    let lsig: Vec<Labels> = l.iter().map(|s| signature(&s.labels, m)).collect();
    let rsig: Vec<Labels> = r.iter().map(|s| signature(&s.labels, m)).collect();
    let mut lout: Vec<Vec<Option<f64>>> = l.iter().map(|s| s.vals.clone()).collect();
    let mut rout: Vec<Vec<Option<f64>>> = vec![vec![None; steps]; r.len()];
    for step in 0..steps {
        let rkeys: HashMap<&Labels, ()> = r
            .iter()
            .zip(&rsig)
            .filter(|(s, _)| s.vals[step].is_some())
            .map(|(_, k)| (k, ()))
            .collect();
        match op {
            Op::And => {
                for (i, k) in lsig.iter().enumerate() {
                    if !rkeys.contains_key(k) {
                        lout[i][step] = None;
                    }
                }
            }
            Op::Unless => {
                for (i, k) in lsig.iter().enumerate() {
                    if rkeys.contains_key(k) {
                        lout[i][step] = None;
                    }
                }
            }
            _ => {
                let lkeys: HashMap<&Labels, ()> = l
                    .iter()
                    .zip(&lsig)
                    .filter(|(s, _)| s.vals[step].is_some())
                    .map(|(_, k)| (k, ()))
                    .collect();
                for (i, k) in rsig.iter().enumerate() {
                    if !lkeys.contains_key(k) {
                        rout[i][step] = r[i].vals[step];
                    }
                }
            }
        }
    }
    let mut out: Vec<StepSeries> = l
        .into_iter()
        .zip(lout)
        .map(|(s, vals)| StepSeries {
            labels: s.labels,
            vals,
        })
        .filter(|s| s.vals.iter().any(Option::is_some))
        .collect();
    if op == Op::Or {
        out.extend(
            r.into_iter()
                .zip(rout)
                .map(|(s, vals)| StepSeries {
                    labels: s.labels,
                    vals,
                })
                .filter(|s| s.vals.iter().any(Option::is_some)),
        );
    }
    out
}

fn vector_vector(
    op: Op,
    l: Vec<StepSeries>,
    r: Vec<StepSeries>,
    b: &BinaryExpr,
    return_bool: bool,
    steps: usize,
) -> Result<Val> {
    let (card, m) = matching(b);
    // Orient: iterate the "many" side, look up the "one" side.
    let (many, one, swapped, include): (&[StepSeries], &[StepSeries], bool, Vec<String>) =
        match &card {
            VectorMatchCardinality::OneToMany(inc) => (&r, &l, true, inc.labels.clone()),
            VectorMatchCardinality::ManyToOne(inc) => (&l, &r, false, inc.labels.clone()),
            VectorMatchCardinality::OneToOne => (&l, &r, false, Vec::new()),
            VectorMatchCardinality::ManyToMany => {
                return Err(QueryError::bad_data(
                    "many-to-many matching is only allowed for set operators",
                ))
            }
        };
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let many_sig: Vec<Labels> = many.iter().map(|s| signature(&s.labels, m)).collect();
    let one_sig: Vec<Labels> = one.iter().map(|s| signature(&s.labels, m)).collect();
    let drop_metric = !op.is_comparison() || return_bool;
    let mut result_labels: HashMap<(usize, usize), Labels> = HashMap::new();
    let mut out: Vec<StepSeries> = Vec::new();
    let mut out_index: HashMap<Labels, usize> = HashMap::new();
    for step in 0..steps {
        let mut one_map: HashMap<&Labels, usize> = HashMap::new();
        for (j, s) in one.iter().enumerate() {
            if s.vals[step].is_none() {
                continue;
            }
            if one_map.insert(&one_sig[j], j).is_some() {
                let side = if swapped { "left" } else { "right" };
                return Err(QueryError::execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: {};many-to-many matching not allowed: matching labels must be unique on one side",
                    one_sig[j], one[j].labels
                )));
            }
        }
        let mut seen_one: HashMap<usize, ()> = HashMap::new();
        let mut produced: HashMap<usize, ()> = HashMap::new();
        for (i, s) in many.iter().enumerate() {
            let Some(mv) = s.vals[step] else { continue };
            let Some(&j) = one_map.get(&many_sig[i]) else {
                continue;
            };
            if one_to_one && seen_one.insert(j, ()).is_some() {
                return Err(QueryError::execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
            let ov = one[j].vals[step].unwrap_or(f64::NAN);
            let (lv, rv) = if swapped { (ov, mv) } else { (mv, ov) };
            let res = apply(op, lv, rv);
            let value = if op.is_comparison() {
                if return_bool {
                    res
                } else if res == 1.0 {
                    lv
                } else {
                    continue;
                }
            } else {
                res
            };
            let labels = result_labels
                .entry((i, j))
                .or_insert_with(|| {
                    let base = &s.labels;
                    let mut lb = if drop_metric {
                        crate::eval::drop_name(base)
                    } else {
                        base.clone()
                    };
                    if one_to_one {
                        lb = match m {
                            Some(LabelModifier::Include(ls)) => labels_keep(&lb, &ls.labels),
                            Some(LabelModifier::Exclude(ls)) => labels_drop(&lb, &ls.labels, false),
                            None => lb,
                        };
                    }
                    if !include.is_empty() {
                        let mut bld = lb.builder();
                        for name in &include {
                            match one[j].labels.get(name) {
                                Some(v) => bld.set(name, v),
                                None => bld.del(name),
                            };
                        }
                        lb = bld.build().unwrap_or_default();
                    }
                    lb
                })
                .clone();
            let k = match out_index.get(&labels) {
                Some(&k) => k,
                None => {
                    out.push(StepSeries {
                        labels: labels.clone(),
                        vals: vec![None; steps],
                    });
                    out_index.insert(labels, out.len() - 1);
                    out.len() - 1
                }
            };
            if produced.insert(k, ()).is_some() {
                return Err(QueryError::execution(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            out[k].vals[step] = Some(value);
        }
    }
    Ok(Val::Vector(out))
}
