//! Element-wise math functions (`abs` … `tanh`, `deg`, `rad`, `sgn`), `round` and the
//! `clamp` family, with Prometheus's (Go's) handling of NaN, infinities and signed zero.

use super::{go_max, go_min};

fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}

/// Simple math functions by PromQL name: `abs ceil floor exp sqrt ln log2 log10 sgn acos acosh
/// asin asinh atan atanh cos cosh sin sinh tan tanh deg rad`. `None` if `name` is not one of
/// them. `sgn` keeps NaN and signed zero; `deg`/`rad` multiply before dividing, as Prometheus.
pub fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    let f: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => sgn,
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => deg,
        "rad" => rad,
        _ => return None,
    };
    Some(f)
}

/// `round(v, to_nearest)`: rounds to the nearest multiple of `to_nearest`, ties up, computed as
/// `floor(v * inv + 0.5) / inv` with `inv = 1 / to_nearest` (Prometheus's formula, so
/// `round(-2.5)` is -2 and `to_nearest = 0` gives NaN).
pub fn round(v: f64, to_nearest: f64) -> f64 {
    let inv = 1.0 / to_nearest;
    (v * inv + 0.5).floor() / inv
}

/// `clamp(v, min, max)`: `max(min, min(max, v))` with Go's NaN rules. `None` when `max < min`
/// (Prometheus returns an empty vector then).
pub fn clamp(v: f64, min: f64, max: f64) -> Option<f64> {
    if max < min {
        return None;
    }
    Some(go_max(min, go_min(max, v)))
}

/// `clamp_min(v, min)`: Go's `math.Max(min, v)` (NaN in either gives NaN).
pub fn clamp_min(v: f64, min: f64) -> f64 {
    go_max(min, v)
}

/// `clamp_max(v, max)`: Go's `math.Min(max, v)` (NaN in either gives NaN).
pub fn clamp_max(v: f64, max: f64) -> f64 {
    go_min(max, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(name: &str, v: f64) -> f64 {
        math_fn(name).map_or(f64::NAN, |f| f(v))
    }

    #[test]
    fn math_by_name() {
        assert!(math_fn("nope").is_none());
        assert!(math_fn("round").is_none());
        assert_eq!(m("abs", -2.0), 2.0);
        assert_eq!(m("ceil", 1.2), 2.0);
        assert_eq!(m("floor", -1.2), -2.0);
        assert_eq!(m("exp", 0.0), 1.0);
        assert_eq!(m("sqrt", 9.0), 3.0);
        assert!(m("sqrt", -1.0).is_nan());
        assert_eq!(m("ln", 1.0), 0.0);
        assert_eq!(m("ln", 0.0), f64::NEG_INFINITY);
        assert!(m("ln", -1.0).is_nan());
        assert_eq!(m("log2", 8.0), 3.0);
        assert_eq!(m("log10", 1000.0), 3.0);
        assert_eq!(m("sgn", -3.0), -1.0);
        assert_eq!(m("sgn", 3.0), 1.0);
        assert!(m("sgn", -0.0).is_sign_negative());
        assert!(m("sgn", f64::NAN).is_nan());
        assert!((m("deg", std::f64::consts::PI) - 180.0).abs() < 1e-12);
        assert!((m("rad", 180.0) - std::f64::consts::PI).abs() < 1e-12);
        assert!((m("cos", 0.0) - 1.0).abs() < 1e-15);
        assert!(m("acos", 2.0).is_nan());
        assert!(m("acosh", 0.5).is_nan());
        assert_eq!(m("atanh", 1.0), f64::INFINITY);
        assert_eq!(m("tanh", f64::INFINITY), 1.0);
        for name in [
            "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "acos", "acosh",
            "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg",
            "rad",
        ] {
            assert!(m(name, f64::NAN).is_nan(), "{name}");
        }
    }

    #[test]
    fn round_as_prometheus() {
        assert_eq!(round(2.5, 1.0), 3.0);
        assert_eq!(round(-2.5, 1.0), -2.0);
        assert_eq!(round(-2.6, 1.0), -3.0);
        assert_eq!(round(-0.4, 1.0), 0.0);
        assert_eq!(round(12.34, 0.1), 12.3);
        assert_eq!(round(17.0, 5.0), 15.0);
        assert_eq!(round(17.5, 5.0), 20.0);
        assert_eq!(round(-17.5, 5.0), -15.0);
        assert_eq!(round(1234.0, 100.0), 1200.0);
        assert_eq!(round(7.0, -5.0), 5.0);
        assert!(round(7.0, 0.0).is_nan());
        assert!(round(f64::NAN, 1.0).is_nan());
        assert_eq!(round(f64::INFINITY, 1.0), f64::INFINITY);
    }

    #[test]
    fn clamp_family() {
        assert_eq!(clamp(5.0, 0.0, 3.0), Some(3.0));
        assert_eq!(clamp(-5.0, 0.0, 3.0), Some(0.0));
        assert_eq!(clamp(1.0, 0.0, 3.0), Some(1.0));
        assert_eq!(clamp(1.0, 2.0, 2.0), Some(2.0));
        assert_eq!(clamp(1.0, 3.0, 0.0), None);
        assert!(clamp(f64::NAN, 0.0, 3.0).is_some_and(f64::is_nan));
        // NaN bounds don't compare, so there is a result, and it is NaN.
        assert!(clamp(1.0, f64::NAN, 3.0).is_some_and(f64::is_nan));
        assert_eq!(clamp(1.0, f64::NEG_INFINITY, f64::INFINITY), Some(1.0));
        assert_eq!(clamp_min(1.0, 2.0), 2.0);
        assert_eq!(clamp_min(3.0, 2.0), 3.0);
        assert!(clamp_min(f64::NAN, 2.0).is_nan());
        assert_eq!(clamp_min(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(clamp_max(1.0, 2.0), 1.0);
        assert_eq!(clamp_max(3.0, 2.0), 2.0);
        assert!(clamp_max(f64::NAN, 2.0).is_nan());
    }

    proptest! {
        #[test]
        fn clamp_stays_in_bounds(v in -1e9f64..1e9, a in -1e9f64..1e9, b in -1e9f64..1e9) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let c = clamp(v, lo, hi).unwrap_or(f64::NAN);
            prop_assert!(c >= lo && c <= hi);
        }

        #[test]
        fn round_to_one_is_within_half(v in -1e12f64..1e12) {
            let r = round(v, 1.0);
            prop_assert!((r - v).abs() <= 0.5 && r == r.trunc());
        }
    }
}
