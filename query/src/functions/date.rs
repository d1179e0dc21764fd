//! Calendar functions of a Unix time in seconds, in UTC: `day_of_month`, `day_of_week`,
//! `day_of_year`, `days_in_month`, `hour`, `minute`, `month`, `year`.
//!
//! Prometheus 3.5 converts the value with Go's `int64(v)` (truncation; on amd64 NaN, ±Inf and
//! out-of-range values become `i64::MIN`) and then uses Go's `time` package, whose calendar
//! arithmetic counts days from an "absolute" epoch in wrapping 64-bit integers. This module
//! follows the same arithmetic, so ordinary dates (any proleptic Gregorian date, before 1970
//! too) and the odd results for extreme values both match.

/// Seconds per day.
const SECS_PER_DAY: u64 = 86_400;
/// Go's `absoluteZeroYear`.
const ABSOLUTE_ZERO_YEAR: i64 = -292_277_022_399;
/// Go's `unixToInternal + internalToAbsolute`: shifts Unix seconds to absolute seconds.
const UNIX_TO_ABSOLUTE: i64 = 9_223_372_028_715_321_600;
const DAYS_PER_400_YEARS: u64 = 365 * 400 + 97;
const DAYS_PER_100_YEARS: u64 = 365 * 100 + 24;
const DAYS_PER_4_YEARS: u64 = 365 * 4 + 1;
/// Days before the start of each month in a non-leap year (index 12 = 365).
const DAYS_BEFORE: [u64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// Go's `int64(f)` on amd64: truncation toward zero; NaN and values outside the `i64` range
/// give `i64::MIN`.
fn go_f64_to_i64(v: f64) -> i64 {
    // 2^63 as f64; the range of exactly representable truncations is [-2^63, 2^63).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

/// Seconds since Go's absolute epoch for a Unix time in seconds.
fn abs_secs(v: f64) -> u64 {
    go_f64_to_i64(v).wrapping_add(UNIX_TO_ABSOLUTE) as u64
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Go's `absDate`: (year, zero-based day of year, month 1..=12, day of month 1..=31).
fn abs_date(abs: u64) -> (i64, u64, u64, u64) {
    let mut d = abs / SECS_PER_DAY;
    let mut n = d / DAYS_PER_400_YEARS;
    let mut y = 400 * n;
    d -= DAYS_PER_400_YEARS * n;

    n = d / DAYS_PER_100_YEARS;
    n -= n >> 2;
    y = y.wrapping_add(100 * n);
    d -= DAYS_PER_100_YEARS * n;

    n = d / DAYS_PER_4_YEARS;
    y = y.wrapping_add(4 * n);
    d -= DAYS_PER_4_YEARS * n;

    n = d / 365;
    n -= n >> 2;
    y = y.wrapping_add(n);
    d -= 365 * n;

    let year = (y as i64).wrapping_add(ABSOLUTE_ZERO_YEAR);
    let yday = d;
    let mut day = yday;
    if is_leap(year) {
        if day > 31 + 29 - 1 {
            day -= 1;
        } else if day == 31 + 29 - 1 {
            return (year, yday, 2, 29);
        }
    }
    let mut month = (day / 31) as usize;
    let end = DAYS_BEFORE[month + 1];
    let begin = if day >= end {
        month += 1;
        end
    } else {
        DAYS_BEFORE[month]
    };
    (year, yday, month as u64 + 1, day - begin + 1)
}

/// Days in `month` (1..=12) of `year`, as Go's `32 - Date(year, month, 32).Day()` gives it.
fn days_in(year: i64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn day_of_month(v: f64) -> f64 {
    abs_date(abs_secs(v)).3 as f64
}

fn day_of_week(v: f64) -> f64 {
    // Go's absWeekday: the absolute epoch is a Monday.
    let sec = abs_secs(v).wrapping_add(SECS_PER_DAY) % (7 * SECS_PER_DAY);
    (sec / SECS_PER_DAY) as f64
}

fn day_of_year(v: f64) -> f64 {
    (abs_date(abs_secs(v)).1 + 1) as f64
}

fn days_in_month(v: f64) -> f64 {
    let (year, _, month, _) = abs_date(abs_secs(v));
    days_in(year, month) as f64
}

fn hour(v: f64) -> f64 {
    ((abs_secs(v) % SECS_PER_DAY) / 3600) as f64
}

fn minute(v: f64) -> f64 {
    ((abs_secs(v) % 3600) / 60) as f64
}

fn month(v: f64) -> f64 {
    abs_date(abs_secs(v)).2 as f64
}

fn year(v: f64) -> f64 {
    abs_date(abs_secs(v)).0 as f64
}

/// Date functions by PromQL name (`day_of_month day_of_week day_of_year days_in_month hour
/// minute month year`) of a Unix time in seconds, in UTC. `None` if `name` is not one of them.
/// `day_of_week` counts from Sunday = 0; fractions of a second are truncated toward zero.
pub fn date_fn(name: &str) -> Option<fn(f64) -> f64> {
    let f: fn(f64) -> f64 = match name {
        "day_of_month" => day_of_month,
        "day_of_week" => day_of_week,
        "day_of_year" => day_of_year,
        "days_in_month" => days_in_month,
        "hour" => hour,
        "minute" => minute,
        "month" => month,
        "year" => year,
        _ => return None,
    };
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// All eight functions at `t`: (year, month, day, yday, wday, dim, hour, minute).
    fn all(t: f64) -> [f64; 8] {
        let names = [
            "year",
            "month",
            "day_of_month",
            "day_of_year",
            "day_of_week",
            "days_in_month",
            "hour",
            "minute",
        ];
        names.map(|n| date_fn(n).map_or(f64::NAN, |f| f(t)))
    }

    #[test]
    fn known_dates() {
        assert!(date_fn("week").is_none());
        // 1970-01-01T00:00:00 Thursday
        assert_eq!(all(0.0), [1970.0, 1.0, 1.0, 1.0, 4.0, 31.0, 0.0, 0.0]);
        // 2000-02-29T12:34:56 Tuesday (leap year divisible by 400)
        assert_eq!(
            all(951_827_696.0),
            [2000.0, 2.0, 29.0, 60.0, 2.0, 29.0, 12.0, 34.0]
        );
        // 2000-03-01T00:00:00 Wednesday
        assert_eq!(
            all(951_868_800.0),
            [2000.0, 3.0, 1.0, 61.0, 3.0, 31.0, 0.0, 0.0]
        );
        // 1900-02-15T00:00:00 Thursday (1900 is not a leap year)
        assert_eq!(
            all(-2_205_100_800.0),
            [1900.0, 2.0, 15.0, 46.0, 4.0, 28.0, 0.0, 0.0]
        );
        // 2023-12-31T23:59:59 Sunday, day 365
        assert_eq!(
            all(1_704_067_199.0),
            [2023.0, 12.0, 31.0, 365.0, 0.0, 31.0, 23.0, 59.0]
        );
        // 2024-12-31T23:59:59 Tuesday, day 366
        assert_eq!(
            all(1_735_689_599.0),
            [2024.0, 12.0, 31.0, 366.0, 2.0, 31.0, 23.0, 59.0]
        );
        // 1969-12-31T23:59:59 Wednesday
        assert_eq!(
            all(-1.0),
            [1969.0, 12.0, 31.0, 365.0, 3.0, 31.0, 23.0, 59.0]
        );
        // Fractions truncate toward zero: -0.5 is 1970-01-01T00:00:00.
        assert_eq!(all(-0.5), all(0.0));
        assert_eq!(all(59.9)[7], 0.0);
        // 2024-04-15T08:05:00 Monday
        assert_eq!(
            all(1_713_168_300.0),
            [2024.0, 4.0, 15.0, 106.0, 1.0, 30.0, 8.0, 5.0]
        );
        // 1600-01-01T00:00:00 Saturday (-11_676_096_000)
        assert_eq!(
            all(-11_676_096_000.0),
            [1600.0, 1.0, 1.0, 1.0, 6.0, 31.0, 0.0, 0.0]
        );
        // 9999-12-31T23:59:59 Friday (253_402_300_799)
        assert_eq!(
            all(253_402_300_799.0),
            [9999.0, 12.0, 31.0, 365.0, 5.0, 31.0, 23.0, 59.0]
        );
        // Year 10000-01-01 Saturday
        assert_eq!(
            all(253_402_300_800.0),
            [10000.0, 1.0, 1.0, 1.0, 6.0, 31.0, 0.0, 0.0]
        );
    }

    #[test]
    fn extreme_values_follow_go() {
        // NaN, ±Inf and out-of-range values all become i64::MIN seconds, like Go on amd64.
        let nan = all(f64::NAN);
        assert_eq!(nan, all(f64::INFINITY));
        assert_eq!(nan, all(f64::NEG_INFINITY));
        assert_eq!(nan, all(1e300));
        assert_eq!(nan, all(-(2f64.powi(63))));
        for v in nan {
            assert!(v.is_finite());
        }
    }

    /// Days since 1970-01-01 → (y, m, d), the well-known civil-from-days algorithm, as an
    /// independent reference.
    fn civil(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    proptest! {
        #[test]
        fn matches_reference_calendar(secs in -100_000_000_000i64..100_000_000_000) {
            let r = all(secs as f64);
            let days = secs.div_euclid(86_400);
            let (y, m, d) = civil(days);
            prop_assert_eq!(r[0], y as f64);
            prop_assert_eq!(r[1], m as f64);
            prop_assert_eq!(r[2], d as f64);
            prop_assert_eq!(r[4], ((days + 4).rem_euclid(7)) as f64);
            prop_assert_eq!(r[6], (secs.rem_euclid(86_400) / 3600) as f64);
            prop_assert_eq!(r[7], (secs.rem_euclid(3600) / 60) as f64);
            let (ny, nm, _) = civil(days + 1);
            if nm != m || ny != y {
                prop_assert_eq!(r[5], d as f64);
            }
        }

        #[test]
        fn never_panics(v in proptest::num::f64::ANY) {
            let _ = all(v);
        }
    }
}
