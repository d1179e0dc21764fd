//! PromQL's functions for float samples, as pure functions over points and values, matching
//! Prometheus 3.5.
//!
//! The evaluator selects the data and calls these; nothing here touches storage, labels of
//! whole vectors, or evaluation time except through arguments. Modules:
//! - [`range`]: rate-like functions over one series' points in a range selector's window
//!   (`rate`, `increase`, `delta`, `irate`, `idelta`, `deriv`, `predict_linear`,
//!   `double_exponential_smoothing`, `changes`, `resets`);
//! - [`over_time`]: the `*_over_time` aggregations;
//! - [`math`]: element-wise math (`abs` … `tanh`, `deg`, `rad`, `sgn`), `round`, `clamp*`;
//! - [`date`]: calendar functions of a Unix time in seconds (UTC);
//! - [`histogram`]: `histogram_quantile`'s bucket interpolation and the `quantile` rule;
//! - [`labels`]: `label_replace`, `label_join` and label-name validation;
//! - [`table`]: the signatures of every function Prometheus 3.5 knows.
//!
//! Shared numeric helpers (Go's `math.Max`/`math.Min` semantics, Kahan–Neumaier summation)
//! live in this module.

pub mod date;
pub mod histogram;
pub mod labels;
pub mod math;
pub mod over_time;
pub mod range;
pub mod table;

pub use date::date_fn;
pub use histogram::{bucket_fraction, bucket_quantile, needs_monotonicity_fix, quantile};
pub use labels::{
    check_label_join_args, check_label_replace_dst, compile_label_replace_regex,
    is_valid_label_name, label_join, label_replace,
};
pub use math::{clamp, clamp_max, clamp_min, math_fn, round};
pub use over_time::{
    avg_over_time, count_over_time, last_over_time, mad_over_time, max_over_time, min_over_time,
    present_over_time, quantile_over_time, stddev_over_time, stdvar_over_time, sum_over_time,
    ts_of_last_over_time, ts_of_max_over_time, ts_of_min_over_time,
};
pub use range::{
    changes, delta, deriv, double_exponential_smoothing, idelta, increase, irate, predict_linear,
    rate, resets, CounterResets, RangeInput,
};
pub use table::{function_def, ArgType, FunctionDef, FUNCTIONS};

/// Go's `math.Max`: `+Inf` wins over NaN, NaN wins over everything else, `+0` over `-0`.
pub(crate) fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() {
            y
        } else {
            x
        }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`: `-Inf` wins over NaN, NaN wins over everything else, `-0` over `+0`.
pub(crate) fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else if x < y {
        x
    } else {
        y
    }
}

/// One step of Kahan summation with Neumaier's improvement, as Prometheus's `kahanSumInc`:
/// returns the new running sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    // As Prometheus's `kahanSumInc`: the compensation is dropped once the sum is infinite.
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_max_min_special_cases() {
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert!(go_max(f64::NAN, 1.0).is_nan());
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_max(0.0, -0.0).is_sign_positive());
        assert_eq!(go_max(1.0, 2.0), 2.0);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert!(go_min(-0.0, 0.0).is_sign_negative());
        assert_eq!(go_min(1.0, 2.0), 1.0);
    }

    #[test]
    fn kahan_recovers_small_terms() {
        let mut s = (0.0, 0.0);
        for v in [1.0, 1e100, 1.0, -1e100] {
            s = kahan_inc(v, s.0, s.1);
        }
        assert_eq!(s.0 + s.1, 2.0);
    }
}
