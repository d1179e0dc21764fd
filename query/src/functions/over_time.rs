//! The `*_over_time` range-vector functions, as Prometheus 3.5 computes them: Kahan–Neumaier
//! summation in `sum_over_time`, an incremental Kahan mean in `avg_over_time` (with its
//! infinity handling), Welford-style variance with Kahan compensation, and NaN-skipping
//! min/max.
//!
//! Every function returns `None` when the window holds no points.

use super::histogram::quantile;
use super::kahan_inc;
use super::range::RangeInput;

/// `avg_over_time(v[r])` as Prometheus 3.5 computes it: a Kahan sum divided by the count,
/// switching to a Kahan-compensated incremental mean once the sum would overflow.
pub fn avg_over_time(i: &RangeInput) -> Option<f64> {
    let first = i.points.first()?.v;
    let (mut sum, mut c, mut mean) = (first, 0.0f64, 0.0f64);
    let mut incremental = false;
    let mut count = 1.0;
    for p in &i.points[1..] {
        count += 1.0;
        if !incremental {
            let (s, nc) = kahan_inc(p.v, sum, c);
            if !s.is_infinite() {
                (sum, c) = (s, nc);
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(p.v / count, q * mean, q * c);
    }
    Some(if incremental {
        mean + c
    } else {
        sum / count + c / count
    })
}

/// `min_over_time(v[r])`: the smallest value; NaN only if every value is NaN.
pub fn min_over_time(i: &RangeInput) -> Option<f64> {
    let first = i.points.first()?.v;
    Some(
        i.points
            .iter()
            .fold(first, |m, p| if p.v < m || m.is_nan() { p.v } else { m }),
    )
}

/// `max_over_time(v[r])`: the largest value; NaN only if every value is NaN.
pub fn max_over_time(i: &RangeInput) -> Option<f64> {
    let first = i.points.first()?.v;
    Some(
        i.points
            .iter()
            .fold(first, |m, p| if p.v > m || m.is_nan() { p.v } else { m }),
    )
}

/// `sum_over_time(v[r])`: Kahan–Neumaier sum (the compensation is dropped when the sum is
/// infinite).
pub fn sum_over_time(i: &RangeInput) -> Option<f64> {
    if i.points.is_empty() {
        return None;
    }
    let (mut sum, mut c) = (0.0, 0.0);
    for p in i.points {
        (sum, c) = kahan_inc(p.v, sum, c);
    }
    Some(if sum.is_infinite() { sum } else { sum + c })
}

/// `count_over_time(v[r])`: the number of points.
pub fn count_over_time(i: &RangeInput) -> Option<f64> {
    if i.points.is_empty() {
        return None;
    }
    Some(i.points.len() as f64)
}

/// Population variance as Prometheus's `stdvar_over_time` computes it.
fn variance(i: &RangeInput) -> Option<f64> {
    if i.points.is_empty() {
        return None;
    }
    let mut count = 0.0;
    let (mut mean, mut c_mean) = (0.0, 0.0);
    let (mut aux, mut c_aux) = (0.0, 0.0);
    for p in i.points {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    Some((aux + c_aux) / count)
}

/// `stddev_over_time(v[r])`: population standard deviation.
pub fn stddev_over_time(i: &RangeInput) -> Option<f64> {
    variance(i).map(f64::sqrt)
}

/// `stdvar_over_time(v[r])`: population variance.
pub fn stdvar_over_time(i: &RangeInput) -> Option<f64> {
    variance(i)
}

/// `last_over_time(v[r])`: the newest value.
pub fn last_over_time(i: &RangeInput) -> Option<f64> {
    i.points.last().map(|p| p.v)
}

/// `mad_over_time(v[r])`: the median absolute deviation from the median.
pub fn mad_over_time(i: &RangeInput) -> Option<f64> {
    if i.points.is_empty() {
        return None;
    }
    let mut vals: Vec<f64> = i.points.iter().map(|p| p.v).collect();
    let median = quantile(0.5, &mut vals);
    let mut dev: Vec<f64> = i.points.iter().map(|p| (p.v - median).abs()).collect();
    Some(quantile(0.5, &mut dev))
}

/// `ts_of_min_over_time(v[r])`: the time (s) of the smallest value (the last such, NaN
/// skipped unless every value is NaN).
pub fn ts_of_min_over_time(i: &RangeInput) -> Option<f64> {
    ts_of_extreme(i, |cur, best| cur <= best)
}

/// `ts_of_max_over_time(v[r])`: the time (s) of the largest value (the last such).
pub fn ts_of_max_over_time(i: &RangeInput) -> Option<f64> {
    ts_of_extreme(i, |cur, best| cur >= best)
}

fn ts_of_extreme(i: &RangeInput, better: impl Fn(f64, f64) -> bool) -> Option<f64> {
    let first = i.points.first()?;
    let (mut best, mut t) = (first.v, first.t);
    for p in &i.points[1..] {
        if better(p.v, best) || best.is_nan() {
            (best, t) = (p.v, p.t);
        }
    }
    Some(t as f64 / 1000.0)
}

/// `ts_of_last_over_time(v[r])`: the time (s) of the newest point.
pub fn ts_of_last_over_time(i: &RangeInput) -> Option<f64> {
    i.points.last().map(|p| p.t as f64 / 1000.0)
}

/// `present_over_time(v[r])`: 1 if the window holds any point.
pub fn present_over_time(i: &RangeInput) -> Option<f64> {
    if i.points.is_empty() {
        None
    } else {
        Some(1.0)
    }
}

/// `quantile_over_time(q, v[r])`: the `q`-quantile of the values, by [`quantile`]'s rule.
pub fn quantile_over_time(q: f64, i: &RangeInput) -> Option<f64> {
    if i.points.is_empty() {
        return None;
    }
    let mut vals: Vec<f64> = i.points.iter().map(|p| p.v).collect();
    Some(quantile(q, &mut vals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Point;
    use proptest::prelude::*;

    fn with<R>(vals: &[f64], f: impl FnOnce(&RangeInput) -> R) -> R {
        let p: Vec<Point> = vals
            .iter()
            .enumerate()
            .map(|(k, &v)| Point {
                t: k as i64 * 1000,
                v,
            })
            .collect();
        f(&RangeInput {
            points: &p,
            range_start: -1,
            range_end: 1_000_000,
        })
    }

    #[test]
    fn empty_window_gives_nothing() {
        let i = RangeInput {
            points: &[],
            range_start: 0,
            range_end: 1,
        };
        assert_eq!(avg_over_time(&i), None);
        assert_eq!(min_over_time(&i), None);
        assert_eq!(max_over_time(&i), None);
        assert_eq!(sum_over_time(&i), None);
        assert_eq!(count_over_time(&i), None);
        assert_eq!(stddev_over_time(&i), None);
        assert_eq!(stdvar_over_time(&i), None);
        assert_eq!(last_over_time(&i), None);
        assert_eq!(present_over_time(&i), None);
        assert_eq!(quantile_over_time(0.5, &i), None);
    }

    #[test]
    fn basic_aggregations() {
        let v = [4.0, 2.0, 9.0, 5.0];
        assert_eq!(with(&v, avg_over_time), Some(5.0));
        assert_eq!(with(&v, min_over_time), Some(2.0));
        assert_eq!(with(&v, max_over_time), Some(9.0));
        assert_eq!(with(&v, sum_over_time), Some(20.0));
        assert_eq!(with(&v, count_over_time), Some(4.0));
        assert_eq!(with(&v, last_over_time), Some(5.0));
        assert_eq!(with(&v, present_over_time), Some(1.0));
        // mean 5, squared deviations 1 9 16 0 → 26/4
        assert_eq!(with(&v, stdvar_over_time), Some(6.5));
        assert_eq!(with(&v, stddev_over_time), Some(6.5f64.sqrt()));
        // sorted 2 4 5 9, rank 0.5*3 = 1.5 → 4.5
        assert_eq!(with(&v, |i| quantile_over_time(0.5, i)), Some(4.5));
    }

    #[test]
    fn kahan_sum_and_avg() {
        let v = [1.0, 1e100, 1.0, -1e100];
        assert_eq!(with(&v, sum_over_time), Some(2.0));
        // The mean, as Prometheus computes it, need not recover this one exactly; it must not panic and
        // stays finite.
        assert!(with(&v, avg_over_time).is_some_and(f64::is_finite));
        // Overflowing sum, finite mean thanks to the incremental computation.
        let big = [f64::MAX, f64::MAX, f64::MAX];
        let m = with(&big, avg_over_time).unwrap_or(0.0);
        assert!((m - f64::MAX).abs() <= f64::MAX * 1e-12, "{m}");
        assert_eq!(with(&big, sum_over_time), Some(f64::INFINITY));
    }

    #[test]
    fn infinities_and_nan() {
        let inf = f64::INFINITY;
        assert_eq!(with(&[1.0, inf, 2.0], avg_over_time), Some(inf));
        assert_eq!(with(&[inf, inf], avg_over_time), Some(inf));
        assert!(with(&[inf, -inf], avg_over_time).is_some_and(f64::is_nan));
        assert!(with(&[1.0, f64::NAN, 2.0], avg_over_time).is_some_and(f64::is_nan));
        assert!(with(&[inf, f64::NAN], avg_over_time).is_some_and(f64::is_nan));
        assert_eq!(with(&[1.0, inf], sum_over_time), Some(inf));
        // min/max skip NaN unless all are NaN.
        assert_eq!(with(&[f64::NAN, 3.0, 1.0], min_over_time), Some(1.0));
        assert_eq!(with(&[f64::NAN, 3.0, 1.0], max_over_time), Some(3.0));
        assert_eq!(with(&[3.0, f64::NAN, 1.0], min_over_time), Some(1.0));
        assert_eq!(with(&[3.0, f64::NAN, 4.0], max_over_time), Some(4.0));
        assert!(with(&[f64::NAN, f64::NAN], max_over_time).is_some_and(f64::is_nan));
        assert!(with(&[1.0, f64::NAN], stddev_over_time).is_some_and(f64::is_nan));
        assert_eq!(with(&[7.0], stddev_over_time), Some(0.0));
    }

    proptest! {
        #[test]
        fn over_time_matches_naive_on_small_ints(vals in proptest::collection::vec(-1000i32..1000, 1..50)) {
            let v: Vec<f64> = vals.iter().map(|&x| f64::from(x)).collect();
            let n = v.len() as f64;
            let sum: f64 = v.iter().sum();
            let mean = sum / n;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
            prop_assert_eq!(with(&v, sum_over_time), Some(sum));
            let a = with(&v, avg_over_time).unwrap_or(f64::NAN);
            prop_assert!((a - mean).abs() <= 1e-9 * (1.0 + mean.abs()));
            let s = with(&v, stdvar_over_time).unwrap_or(f64::NAN);
            prop_assert!((s - var).abs() <= 1e-9 * (1.0 + var));
            let mn = v.iter().cloned().fold(f64::INFINITY, f64::min);
            prop_assert_eq!(with(&v, min_over_time), Some(mn));
        }

        #[test]
        fn over_time_never_panics(v in proptest::collection::vec(proptest::num::f64::ANY, 0..20), q in proptest::num::f64::ANY) {
            with(&v, |i| {
                let _ = (avg_over_time(i), min_over_time(i), max_over_time(i), sum_over_time(i));
                let _ = (stddev_over_time(i), stdvar_over_time(i), quantile_over_time(q, i));
            });
        }
    }
}
