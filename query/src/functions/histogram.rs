//! Quantile estimation: `histogram_quantile`'s interpolation over one classic histogram's
//! buckets (Prometheus 3.5's `bucketQuantile`) and the rule of the `quantile` aggregation and
//! `quantile_over_time`.

use std::cmp::Ordering;

/// Prometheus 3.5's `bucketQuantile` over one bucket set of `(upper bound, cumulative count)`
/// pairs in any order (the vector is sorted and may be rewritten).
///
/// NaN `q` → NaN; `q < 0` → -Inf; `q > 1` → +Inf. NaN without a `+Inf` bucket, with fewer than
/// two buckets (after merging equal bounds), or with zero observations. Counts are forced to
/// be monotonic. The quantile is interpolated linearly within its bucket; the lowest bucket
/// starts at 0 if its upper bound is positive (otherwise its upper bound is returned), and a
/// quantile in the `+Inf` bucket returns the second-highest bound.
pub fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Stable sort by upper bound (bounds are never NaN in practice; NaN compares equal).
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    match buckets.last() {
        Some(b) if b.0 == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce(buckets);
    ensure_monotonic(buckets);
    let n = buckets.len();
    if n < 2 {
        return f64::NAN;
    }
    let observations = buckets[n - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // First bucket (among all but the last) whose count reaches the rank.
    let b = go_search(n - 1, |k| buckets[k].1 >= rank);
    if b == n - 1 {
        return buckets[n - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let bucket_end = buckets[b].0;
    let mut count = buckets[b].1;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// Go's `sort.Search`: the smallest index in `0..n` for which `f` holds, by Go's exact
/// bisection (so results match even when `f` is not monotonic, e.g. with NaN counts).
fn go_search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0usize, n);
    while i < j {
        let h = i + (j - i) / 2;
        if !f(h) {
            i = h + 1;
        } else {
            j = h;
        }
    }
    i
}

/// Merges buckets with equal upper bounds (sorted input), adding their counts.
fn coalesce(buckets: &mut Vec<(f64, f64)>) {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &b in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.0 == b.0 => last.1 += b.1,
            _ => out.push(b),
        }
    }
    *buckets = out;
}

/// `histogram_fraction(lower, upper, ...)` over classic buckets `(upper bound, cumulative
/// count)`: the estimated share of observations in `(lower, upper]`, interpolating linearly
/// inside a bucket (the first bucket starts at -Inf: a bound inside it gives NaN, as in
/// Prometheus 3.5). NaN without a `+Inf` bucket, without observations, or for a NaN bound; 0 when
/// `lower >= upper`. `buckets` is sorted in place.
pub fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    match buckets.last() {
        Some(b) if b.0 == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce(buckets);
    ensure_monotonic(buckets);
    let count = buckets[buckets.len() - 1].1;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    // Interpolation as Prometheus writes it: the first bucket starts at -Inf, so a bound
    // inside it gives NaN, and one inside the +Inf bucket counts none of that bucket.
    let rank = |v: f64| -> f64 {
        let mut prev = 0.0;
        for (i, &(hi, c)) in buckets.iter().enumerate() {
            let lo = if i > 0 {
                buckets[i - 1].0
            } else {
                f64::NEG_INFINITY
            };
            if v <= lo {
                return prev;
            }
            if v < hi {
                return prev + (c - prev) * (v - lo) / (hi - lo);
            }
            prev = c;
        }
        count
    };
    (rank(upper) - rank(lower)) / count
}

/// Whether classic buckets `(upper bound, cumulative count)` (any order) have a count below
/// an earlier one, beyond float noise, once sorted and merged by bound: what makes
/// Prometheus 3.5 fix them up and say so in an info annotation. Needs a `+Inf` bucket and two
/// buckets, as the quantile does.
pub fn needs_monotonicity_fix(buckets: &[(f64, f64)]) -> bool {
    let mut b = buckets.to_vec();
    b.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    if b.len() < 2 || b.last().map(|x| x.0) != Some(f64::INFINITY) {
        return false;
    }
    coalesce(&mut b);
    let mut max = f64::NEG_INFINITY;
    for &(_, c) in &b {
        if c < max && (max - c) > 1e-12 * max.abs() {
            return true;
        }
        max = max.max(c);
    }
    false
}

/// Raises every count to at least the largest count before it.
fn ensure_monotonic(buckets: &mut [(f64, f64)]) {
    let mut max = f64::NEG_INFINITY;
    for b in buckets.iter_mut() {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
}

/// The `q`-quantile of `values` as Prometheus's `quantile` aggregation and
/// `quantile_over_time` compute it: values sorted ascending (NaNs first), rank `q * (n - 1)`,
/// linear interpolation between the neighbouring values.
///
/// Empty → NaN; NaN `q` → NaN; `q < 0` → -Inf; `q > 1` → +Inf. `values` is sorted in place.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if q.is_nan() {
        return f64::NAN;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    fn bq(q: f64, b: &[(f64, f64)]) -> f64 {
        bucket_quantile(q, &mut b.to_vec())
    }

    #[test]
    fn histogram_quantile_interpolates() {
        let b = [(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (INF, 40.0)];
        // rank 20 → bucket (0.1, 0.5]: 0.1 + 0.4 * (10/20)
        assert!((bq(0.5, &b) - 0.3).abs() < 1e-12);
        // rank 4 in the lowest bucket: 0 + 0.1 * 4/10
        assert!((bq(0.1, &b) - 0.04).abs() < 1e-12);
        // q = 1: rank 40 → first bucket with count ≥ 40 is le=1 → 0.5 + 0.5 * 10/10
        assert_eq!(bq(1.0, &b), 1.0);
        assert_eq!(bq(0.0, &b), 0.0);
    }

    #[test]
    fn unsorted_and_non_monotonic_buckets() {
        // Sorted: 1:5, 2:3 (→5), 4:8, +Inf:10.
        let b = [(INF, 10.0), (4.0, 8.0), (1.0, 5.0), (2.0, 3.0)];
        // rank 5 → first count ≥ 5 is le=1 → 0 + 1 * 5/5
        assert_eq!(bq(0.5, &b), 1.0);
        // rank 7 → le=4 (le=2 has 5 after the fix): 2 + 2 * (7-5)/(8-5)
        assert!((bq(0.7, &b) - (2.0 + 2.0 * 2.0 / 3.0)).abs() < 1e-12);
        // rank 9 → the +Inf bucket → second-highest bound.
        assert_eq!(bq(0.9, &b), 4.0);
    }

    #[test]
    fn histogram_quantile_special_cases() {
        let b = [(1.0, 5.0), (INF, 10.0)];
        assert_eq!(bq(-0.1, &b), -INF);
        assert_eq!(bq(1.1, &b), INF);
        assert!(bq(f64::NAN, &b).is_nan());
        // No +Inf bucket.
        assert!(bq(0.5, &[(1.0, 5.0), (2.0, 10.0)]).is_nan());
        // Fewer than two buckets.
        assert!(bq(0.5, &[(INF, 10.0)]).is_nan());
        assert!(bq(0.5, &[]).is_nan());
        // Duplicated bounds merge into one bucket → fewer than two.
        assert!(bq(0.5, &[(INF, 3.0), (INF, 4.0)]).is_nan());
        // Zero observations.
        assert!(bq(0.5, &[(1.0, 0.0), (INF, 0.0)]).is_nan());
        // Lowest bucket with a non-positive bound returns the bound.
        assert_eq!(bq(0.1, &[(-1.0, 5.0), (0.0, 8.0), (INF, 10.0)]), -1.0);
        // Negative bounds interpolate between bounds.
        assert!((bq(0.65, &[(-1.0, 5.0), (0.0, 8.0), (INF, 10.0)]) - (-0.5)).abs() < 1e-12);
    }

    #[test]
    fn quantile_rule() {
        assert!(quantile(0.5, &mut []).is_nan());
        assert_eq!(quantile(-1.0, &mut [1.0]), -INF);
        assert_eq!(quantile(2.0, &mut [1.0]), INF);
        assert_eq!(quantile(0.5, &mut [3.0, 1.0, 2.0]), 2.0);
        // rank 0.25 * 3 = 0.75 → 1 * 0.25 + 2 * 0.75
        assert_eq!(quantile(0.25, &mut [4.0, 3.0, 2.0, 1.0]), 1.75);
        assert_eq!(quantile(1.0, &mut [4.0, 3.0, 2.0, 1.0]), 4.0);
        assert_eq!(quantile(0.0, &mut [4.0, 3.0, 2.0, 1.0]), 1.0);
        assert_eq!(quantile(0.3, &mut [7.0]), 7.0);
        // NaN sorts first.
        assert!(quantile(0.0, &mut [1.0, f64::NAN]).is_nan());
        assert_eq!(quantile(1.0, &mut [1.0, f64::NAN]), 1.0);
    }

    proptest! {
        #[test]
        fn quantile_is_between_min_and_max(v in proptest::collection::vec(-1e6f64..1e6, 1..30), q in 0.0f64..=1.0) {
            let mn = v.iter().cloned().fold(f64::INFINITY, f64::min);
            let mx = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let r = quantile(q, &mut v.clone());
            prop_assert!(r >= mn - 1e-9 && r <= mx + 1e-9);
        }

        #[test]
        fn bucket_quantile_never_panics(
            b in proptest::collection::vec((proptest::num::f64::ANY, proptest::num::f64::ANY), 0..10),
            q in proptest::num::f64::ANY,
        ) {
            let _ = bucket_quantile(q, &mut b.clone());
            let mut vals: Vec<f64> = b.iter().map(|x| x.1).collect();
            let _ = quantile(q, &mut vals);
        }
    }
}
