//! Rate-like range-vector functions: `rate`, `increase`, `delta` (extrapolated), `irate`,
//! `idelta`, `deriv`, `predict_linear`, `double_exponential_smoothing`, `changes` and `resets`, each over the
//! points of one series in a range selector's window, as Prometheus 3.5 computes them.
//!
//! `None` means the series contributes no sample at this step.

use super::kahan_inc;
use crate::value::Point;

/// The points of one series in a range selector's window `(range_start, range_end]`, and that
/// window.
///
/// Points are in increasing time order and carry no stale markers. With an `offset`, the window
/// is the shifted one (`range_end = eval_time - offset`).
#[derive(Debug, Clone, Copy)]
pub struct RangeInput<'a> {
    /// The points of the series inside the window.
    pub points: &'a [Point],
    /// Exclusive start of the window (ms).
    pub range_start: i64,
    /// Inclusive end of the window (ms).
    pub range_end: i64,
}

impl RangeInput<'_> {
    /// The selector's range in seconds (`range_end - range_start`).
    fn range_secs(&self) -> f64 {
        self.range_end.wrapping_sub(self.range_start) as f64 / 1000.0
    }
}

/// Prometheus 3.5's `extrapolatedRate`: the difference between the last and first point
/// (plus counter-reset corrections if `is_counter`), extrapolated towards the window edges,
/// and per second if `is_rate`.
///
/// Extrapolation: a gap to an edge shorter than 1.1 times the average sample interval is
/// extrapolated all the way, a longer one by half an average interval. For counters with a
/// positive increase and a non-negative first value, the start gap is then shortened to the
/// extrapolated time of the counter's zero point if that is nearer (the order since 2.51).
fn extrapolated_rate(i: &RangeInput, is_counter: bool, is_rate: bool) -> Option<f64> {
    let pts = i.points;
    if pts.len() < 2 {
        return None;
    }
    let mut result = pts[pts.len() - 1].v - pts[0].v;
    if is_counter {
        let mut prev = 0.0;
        for p in pts {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    Some(extrapolate(i, result, is_counter, is_rate))
}

/// The rest of `extrapolatedRate` once `result` (the raw increase, corrected for counter
/// resets) is known; `i` has at least two points.
fn extrapolate(i: &RangeInput, mut result: f64, is_counter: bool, is_rate: bool) -> f64 {
    let pts = i.points;
    let first = pts[0];
    let last = pts[pts.len() - 1];
    let mut duration_to_start = first.t.wrapping_sub(i.range_start) as f64 / 1000.0;
    let duration_to_end = i.range_end.wrapping_sub(last.t) as f64 / 1000.0;
    let sampled_interval = last.t.wrapping_sub(first.t) as f64 / 1000.0;
    let avg_between = sampled_interval / (pts.len() - 1) as f64;

    let threshold = avg_between * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = avg_between / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        let duration_to_zero = sampled_interval * (first.v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let duration_to_end = if duration_to_end >= threshold {
        avg_between / 2.0
    } else {
        duration_to_end
    };
    let extrapolate_to = sampled_interval + duration_to_start + duration_to_end;
    result *= extrapolate_to / sampled_interval;
    if is_rate {
        result /= i.range_secs();
    }
    result
}

/// Where one series' counter resets are, found in one pass so that `rate` and `increase`
/// over its successive, overlapping windows need not rescan every window for them (the scan
/// is most of their cost: a window of 5m at 15s holds 20 points, and a step of 15s moves it
/// by one).
#[derive(Debug, Default, Clone)]
pub struct CounterResets {
    /// For each point whose value is below its predecessor's: its index and the
    /// predecessor's value (what the correction adds), in index order.
    at: Vec<(usize, f64)>,
}

impl CounterResets {
    /// Finds the resets of `points` (a whole series, in time order), replacing earlier ones.
    pub fn scan(&mut self, points: &[Point]) {
        self.at.clear();
        for (k, w) in points.windows(2).enumerate() {
            if w[1].v < w[0].v {
                self.at.push((k + 1, w[0].v));
            }
        }
    }

    /// [`rate`] (`is_rate`) or [`increase`] of window `i`, whose points are those from index
    /// `offset` of the series last [`scan`](CounterResets::scan)ned. The same value, bit for
    /// bit: the corrections are added in the same order as the per-window scan adds them.
    pub fn rate(&self, i: &RangeInput, offset: usize, is_rate: bool) -> Option<f64> {
        let pts = i.points;
        if pts.len() < 2 {
            return None;
        }
        let mut result = pts[pts.len() - 1].v - pts[0].v;
        // The window's first point is compared with 0, not with its predecessor.
        if pts[0].v < 0.0 {
            result += 0.0;
        }
        let end = offset + pts.len();
        let from = self.at.partition_point(|&(k, _)| k <= offset);
        for &(_, prev) in self.at[from..].iter().take_while(|&&(k, _)| k < end) {
            result += prev;
        }
        Some(extrapolate(i, result, true, is_rate))
    }
}

/// `rate(v[r])`: per-second average increase of a counter over the window, with counter resets
/// handled and extrapolation to the window edges. `None` with fewer than two points.
pub fn rate(i: &RangeInput) -> Option<f64> {
    extrapolated_rate(i, true, true)
}

/// `increase(v[r])`: like [`rate`] but the total increase over the window, not per second.
pub fn increase(i: &RangeInput) -> Option<f64> {
    extrapolated_rate(i, true, false)
}

/// `delta(v[r])`: extrapolated difference between last and first value of a gauge (no reset
/// handling, no zero-point limit). `None` with fewer than two points.
pub fn delta(i: &RangeInput) -> Option<f64> {
    extrapolated_rate(i, false, false)
}

/// Prometheus's `instantValue` over the last two points.
fn instant_value(i: &RangeInput, is_rate: bool) -> Option<f64> {
    let pts = i.points;
    if pts.len() < 2 {
        return None;
    }
    let last = pts[pts.len() - 1];
    let prev = pts[pts.len() - 2];
    let mut result = if is_rate && last.v < prev.v {
        // Counter reset.
        last.v
    } else {
        last.v - prev.v
    };
    let interval = last.t.wrapping_sub(prev.t);
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// `irate(v[r])`: per-second rate between the last two points; after a counter reset the
/// last value itself is the increase. `None` with fewer than two points.
pub fn irate(i: &RangeInput) -> Option<f64> {
    instant_value(i, true)
}

/// `idelta(v[r])`: difference between the last two points. `None` with fewer than two points.
pub fn idelta(i: &RangeInput) -> Option<f64> {
    instant_value(i, false)
}

/// Least-squares regression of value over time (seconds relative to `intercept_t`), with
/// Kahan summation; returns `(slope, intercept at intercept_t)`. A constant series gives slope
/// 0 (or NaN for a constant infinite value). `pts` must not be empty.
fn linear_regression(pts: &[Point], intercept_t: i64) -> (f64, f64) {
    let mut n = 0.0;
    let (mut sum_x, mut c_x) = (0.0, 0.0);
    let (mut sum_y, mut c_y) = (0.0, 0.0);
    let (mut sum_xy, mut c_xy) = (0.0, 0.0);
    let (mut sum_x2, mut c_x2) = (0.0, 0.0);
    let init_y = pts[0].v;
    let mut const_y = true;
    for (idx, p) in pts.iter().enumerate() {
        if const_y && idx > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = p.t.wrapping_sub(intercept_t) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(p.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * p.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let sum_x = sum_x + c_x;
    let sum_y = sum_y + c_y;
    let sum_xy = sum_xy + c_xy;
    let sum_x2 = sum_x2 + c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv(v[r])`: per-second slope of the least-squares line through the points. `None` with
/// fewer than two points.
pub fn deriv(i: &RangeInput) -> Option<f64> {
    if i.points.len() < 2 {
        return None;
    }
    Some(linear_regression(i.points, i.points[0].t).0)
}

/// `predict_linear(v[r], t)`: the least-squares line's value `duration_secs` seconds after the
/// evaluation time `eval_t` (ms). `None` with fewer than two points.
///
/// `eval_t` is the step's evaluation time (Prometheus's `enh.Ts`), not shifted by an `offset`,
/// while point timestamps are the stored ones, exactly as Prometheus 3.5 does it.
pub fn predict_linear(i: &RangeInput, eval_t: i64, duration_secs: f64) -> Option<f64> {
    if i.points.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(i.points, eval_t);
    Some(slope * duration_secs + intercept)
}

/// Go's `%f` formatting of a float (six decimals; `NaN`, `+Inf`, `-Inf`).
fn go_fmt_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{v:.6}")
    }
}

/// `double_exponential_smoothing(v[r], sf, tf)` (2.x's `holt_winters`) with smoothing factor `sf` and
/// trend factor `tf`. Errors (with Prometheus's message) unless `0 < sf < 1` and `0 < tf < 1`
/// (NaN factors pass, as in Prometheus); `Ok(None)` with fewer than two points.
pub fn double_exponential_smoothing(
    i: &RangeInput,
    sf: f64,
    tf: f64,
) -> Result<Option<f64>, String> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            go_fmt_f(sf)
        ));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            go_fmt_f(tf)
        ));
    }
    let pts = i.points;
    if pts.len() < 2 {
        return Ok(None);
    }
    let mut s0 = 0.0;
    let mut s1 = pts[0].v;
    let mut b = pts[1].v - pts[0].v;
    for (idx, p) in pts.iter().enumerate().skip(1) {
        let x = sf * p.v;
        // Trend at the previous index; the first trend is the initial difference.
        if idx - 1 != 0 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Ok(Some(s1))
}

/// `changes(v[r])`: how often the value changed (NaN to NaN is no change). `None` without
/// points.
pub fn changes(i: &RangeInput) -> Option<f64> {
    let (first, rest) = i.points.split_first()?;
    let mut n = 0u64;
    let mut prev = first.v;
    for p in rest {
        if p.v != prev && !(p.v.is_nan() && prev.is_nan()) {
            n += 1;
        }
        prev = p.v;
    }
    Some(n as f64)
}

/// `resets(v[r])`: how often the value decreased. `None` without points.
pub fn resets(i: &RangeInput) -> Option<f64> {
    let (first, rest) = i.points.split_first()?;
    let mut n = 0u64;
    let mut prev = first.v;
    for p in rest {
        if p.v < prev {
            n += 1;
        }
        prev = p.v;
    }
    Some(n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Point> {
        v.iter().map(|&(t, v)| Point { t, v }).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
    }

    #[track_caller]
    fn assert_close(a: Option<f64>, b: f64) {
        let a = a.expect("a value");
        assert!(close(a, b), "{a} != {b}");
    }

    #[test]
    fn rate_needs_two_points() {
        let p = pts(&[(10_000, 1.0)]);
        let i = RangeInput {
            points: &p,
            range_start: 0,
            range_end: 60_000,
        };
        assert_eq!(rate(&i), None);
        assert_eq!(increase(&i), None);
        assert_eq!(delta(&i), None);
        assert_eq!(irate(&i), None);
        assert_eq!(idelta(&i), None);
        assert_eq!(deriv(&i), None);
        let e = RangeInput {
            points: &[],
            range_start: 0,
            range_end: 60_000,
        };
        assert_eq!(rate(&e), None);
        assert_eq!(changes(&e), None);
        assert_eq!(resets(&e), None);
    }

    #[test]
    fn rate_with_reset_and_extrapolation_at_both_edges() {
        // Window (0, 60s]; samples every 10s from 5s to 55s; reset after 30.
        // Values 10 20 30 5 15 25: raw increase 25-10 = 15, + 30 for the reset = 45.
        let p = pts(&[
            (5_000, 10.0),
            (15_000, 20.0),
            (25_000, 30.0),
            (35_000, 5.0),
            (45_000, 15.0),
            (55_000, 25.0),
        ]);
        let i = RangeInput {
            points: &p,
            range_start: 0,
            range_end: 60_000,
        };
        // sampled 50s, avg 10s, threshold 11s; start gap 5s (zero point 50*10/45 = 11.1s is
        // further), end gap 5s: extrapolate to 60s → 45 * 60/50 = 54.
        assert_close(increase(&i), 54.0);
        assert_close(rate(&i), 54.0 / 60.0);
        // delta ignores the reset: 15 * 60/50 = 18.
        assert_close(delta(&i), 18.0);
    }

    #[test]
    fn rate_limited_by_zero_point_and_half_interval() {
        // Window (0, 100s]; samples 40s..60s every 10s: 2, 4, 6 (increase 4).
        // Start gap 40s ≥ 11s → half an interval, 5s, first (the order since 2.51); the zero
        // point 20*2/4 = 10s before the first sample is farther, so 5s stays. End gap 40s →
        // half interval 5s.
        let p = pts(&[(40_000, 2.0), (50_000, 4.0), (60_000, 6.0)]);
        let i = RangeInput {
            points: &p,
            range_start: 0,
            range_end: 100_000,
        };
        assert_close(increase(&i), 4.0 * (20.0 + 5.0 + 5.0) / 20.0);
        assert_close(rate(&i), 4.0 * 30.0 / 20.0 / 100.0);
        // delta: no zero point; both gaps half an interval → 4 * 30/20.
        assert_close(delta(&i), 6.0);
        // A first value far from zero: the zero point is beyond the threshold → half interval.
        let p = pts(&[(40_000, 100.0), (50_000, 104.0), (60_000, 108.0)]);
        let i = RangeInput {
            points: &p,
            range_start: 0,
            range_end: 100_000,
        };
        assert_close(increase(&i), 8.0 * 30.0 / 20.0);
    }

    #[test]
    fn rate_zero_point_shortens_a_close_start() {
        // First value 1 and increase 10 over 10s: zero point 1s before the first sample, less
        // than the 5s gap to the window start (threshold 11s) → extrapolate only 1s.
        let p = pts(&[(5_000, 1.0), (15_000, 11.0)]);
        let i = RangeInput {
            points: &p,
            range_start: 0,
            range_end: 20_000,
        };
        assert_close(increase(&i), 10.0 * (10.0 + 1.0 + 5.0) / 10.0);
    }

    #[test]
    fn irate_and_idelta() {
        let p = pts(&[(0, 1.0), (10_000, 5.0), (15_000, 8.0)]);
        let i = RangeInput {
            points: &p,
            range_start: -1,
            range_end: 20_000,
        };
        assert_close(irate(&i), 3.0 / 5.0);
        assert_close(idelta(&i), 3.0);
        // Reset: the last value is the increase.
        let p = pts(&[(0, 1.0), (10_000, 5.0), (15_000, 2.0)]);
        let i = RangeInput {
            points: &p,
            range_start: -1,
            range_end: 20_000,
        };
        assert_close(irate(&i), 2.0 / 5.0);
        assert_close(idelta(&i), -3.0);
        // Same timestamps: no result.
        let p = pts(&[(5, 1.0), (5, 2.0)]);
        let i = RangeInput {
            points: &p,
            range_start: 0,
            range_end: 20_000,
        };
        assert_eq!(irate(&i), None);
        assert_eq!(idelta(&i), None);
    }

    #[test]
    fn deriv_and_predict_linear_on_a_line() {
        // v = 3 + 2 * t_secs
        let p: Vec<Point> = (0..10)
            .map(|k| Point {
                t: 1_000_000 + k * 15_000,
                v: 3.0 + 2.0 * (1_000.0 + k as f64 * 15.0),
            })
            .collect();
        let i = RangeInput {
            points: &p,
            range_start: 999_999,
            range_end: 1_150_000,
        };
        assert_close(deriv(&i), 2.0);
        // At eval 1_150s, 60s ahead: 3 + 2 * 1210.
        assert_close(predict_linear(&i, 1_150_000, 60.0), 3.0 + 2.0 * 1210.0);
        // Constant series: slope 0, constant prediction; infinite constant → NaN.
        let p = pts(&[(0, 7.0), (10_000, 7.0)]);
        let i = RangeInput {
            points: &p,
            range_start: -1,
            range_end: 10_000,
        };
        assert_close(deriv(&i), 0.0);
        assert_close(predict_linear(&i, 10_000, 100.0), 7.0);
        let p = pts(&[(0, f64::INFINITY), (10_000, f64::INFINITY)]);
        let i = RangeInput {
            points: &p,
            range_start: -1,
            range_end: 10_000,
        };
        assert!(deriv(&i).is_some_and(f64::is_nan));
    }

    #[test]
    fn double_exponential_smoothing_small_series() {
        // sf = 0.5, tf = 0.5 over 1, 3, 6, 10:
        // s1=1, b=2. i=1: s1 = 0.5*3 + 0.5*(1+2) = 3, s0 = 1.
        // i=2: b = 0.5*(3-1) + 0.5*2 = 2; s1 = 0.5*6 + 0.5*(3+2) = 5.5, s0 = 3.
        // i=3: b = 0.5*(5.5-3) + 0.5*2 = 2.25; s1 = 0.5*10 + 0.5*(5.5+2.25) = 8.875.
        let p = pts(&[(0, 1.0), (1_000, 3.0), (2_000, 6.0), (3_000, 10.0)]);
        let i = RangeInput {
            points: &p,
            range_start: -1,
            range_end: 3_000,
        };
        assert_eq!(double_exponential_smoothing(&i, 0.5, 0.5), Ok(Some(8.875)));
        assert_eq!(
            double_exponential_smoothing(&i, 1.0, 0.5),
            Err("invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000".to_owned())
        );
        assert_eq!(
            double_exponential_smoothing(&i, 0.5, -0.25),
            Err("invalid trend factor. Expected: 0 < tf < 1, got: -0.250000".to_owned())
        );
        let one = pts(&[(0, 1.0)]);
        let i = RangeInput {
            points: &one,
            range_start: -1,
            range_end: 3_000,
        };
        assert_eq!(double_exponential_smoothing(&i, 0.5, 0.5), Ok(None));
        // Factors are checked even without points.
        let e = RangeInput {
            points: &[],
            range_start: -1,
            range_end: 3_000,
        };
        assert!(double_exponential_smoothing(&e, 0.0, 0.5).is_err());
    }

    #[test]
    fn changes_and_resets() {
        let p = pts(&[
            (0, 1.0),
            (1, 1.0),
            (2, 2.0),
            (3, f64::NAN),
            (4, f64::NAN),
            (5, 0.5),
            (6, 3.0),
            (7, 1.0),
        ]);
        let i = RangeInput {
            points: &p,
            range_start: -1,
            range_end: 10,
        };
        // 1→2, 2→NaN, NaN→0.5, 0.5→3, 3→1
        assert_eq!(changes(&i), Some(5.0));
        // 3→1 only (comparisons with NaN are false)
        assert_eq!(resets(&i), Some(1.0));
    }

    proptest! {
        #[test]
        fn rate_of_linear_counter_is_its_slope(
            slope in 0.001f64..1000.0,
            offset in 0.0f64..1e6,
            step_s in 1i64..60,
            n in 3usize..50,
            phase in 0i64..1000,
        ) {
            // Samples start within one step of the window start and end within one step of
            // its end, so extrapolation covers the window exactly; the counter starts high
            // enough that the zero point never limits it.
            let step = step_s * 1000;
            let start = 1_000_000i64;
            let first_t = start + phase.min(step - 1).max(1);
            let p: Vec<Point> = (0..n as i64)
                .map(|k| {
                    let t = first_t + k * step;
                    Point { t, v: offset + slope * (step as f64 / 1000.0) * 1e3 + slope * (t - start) as f64 / 1000.0 }
                })
                .collect();
            let end = p[p.len() - 1].t + 1;
            let i = RangeInput { points: &p, range_start: start, range_end: end };
            let r = rate(&i).unwrap_or(f64::NAN);
            prop_assert!((r - slope).abs() <= 1e-6 * slope, "rate {} slope {}", r, slope);
            let d = deriv(&i).unwrap_or(f64::NAN);
            prop_assert!((d - slope).abs() <= 1e-6 * slope, "deriv {} slope {}", d, slope);
        }

        #[test]
        fn range_functions_never_panic(
            raw in proptest::collection::vec((0i64..100_000, proptest::num::f64::ANY), 0..20),
            sf in proptest::num::f64::ANY,
        ) {
            let mut p: Vec<Point> = raw.into_iter().map(|(t, v)| Point { t, v }).collect();
            p.sort_by_key(|p| p.t);
            let i = RangeInput { points: &p, range_start: -1, range_end: 100_000 };
            let _ = (rate(&i), increase(&i), delta(&i), irate(&i), idelta(&i), deriv(&i));
            let _ = (predict_linear(&i, 100_000, 60.0), changes(&i), resets(&i));
            let _ = double_exponential_smoothing(&i, sf, 0.5);
        }
    }

    proptest! {
        /// The reset index gives every window exactly (bit for bit) what the per-window scan
        /// gives, for series with resets, negative values, zeros and NaN.
        #[test]
        fn counter_resets_match_the_per_window_scan(
            vals in proptest::collection::vec(
                prop_oneof![
                    8 => (0u32..50).prop_map(f64::from),
                    1 => (-5i32..5).prop_map(f64::from),
                    1 => Just(-0.0),
                    1 => Just(f64::NAN),
                    1 => (0u32..1_000_000).prop_map(|x| f64::from(x) * 1e9),
                ],
                0..60,
            ),
            window in 1i64..12,
        ) {
            let p: Vec<Point> = vals
                .iter()
                .enumerate()
                .map(|(k, &v)| Point { t: k as i64 * 1000 + (k as i64 % 3), v })
                .collect();
            let mut r = CounterResets::default();
            r.scan(&p);
            for end in 0..=p.len() as i64 + 2 {
                let range_end = end * 1000;
                let range_start = range_end - window * 1000;
                let lo = p.partition_point(|q| q.t < range_start);
                let hi = p.partition_point(|q| q.t <= range_end);
                let i = RangeInput { points: &p[lo..hi], range_start, range_end };
                for is_rate in [true, false] {
                    let want = if is_rate { rate(&i) } else { increase(&i) };
                    let got = r.rate(&i, lo, is_rate);
                    prop_assert_eq!(want.map(f64::to_bits), got.map(f64::to_bits));
                }
            }
        }
    }
}
