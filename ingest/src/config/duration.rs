//! Prometheus's duration syntax (`prometheus/common/model.Duration`): `1m30s`, `500ms`, `0`.
//!
//! Parsing accepts `((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?` (units
//! from largest to smallest, each at most once) or a bare `0`; `y` = 365d, `w` = 7d, `d` = 24h.
//! Formatting writes the largest units first, `y` and `w` only when they divide the value
//! exactly, so `Duration::parse(d.to_string()) == d` and `90d` stays `90d`, not `12w6d`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

const MS_PER_SECOND: u64 = 1000;
const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: u64 = 7 * MS_PER_DAY;
const MS_PER_YEAR: u64 = 365 * MS_PER_DAY;

/// The units in the order they must appear, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", MS_PER_YEAR),
    ("w", MS_PER_WEEK),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
    ("ms", 1),
];

/// Go's `time.Duration` holds nanoseconds in an `int64`; a longer duration is "out of range".
const MAX_MS: u64 = (i64::MAX as u64) / 1_000_000;

/// A duration in Prometheus's syntax, with millisecond resolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    ms: u64,
}

/// Why a duration string was rejected; the message is Prometheus's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text does not follow the syntax.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// The value does not fit Go's `time.Duration` (about 292 years).
    #[error("duration out of range")]
    OutOfRange,
}

impl Duration {
    /// The zero duration.
    pub const ZERO: Duration = Duration { ms: 0 };

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration { ms }
    }

    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration {
            ms: s * MS_PER_SECOND,
        }
    }

    /// The length in milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.ms
    }

    /// Whether this is the zero duration.
    pub const fn is_zero(self) -> bool {
        self.ms == 0
    }

    /// The same length as a [`std::time::Duration`].
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.ms)
    }

    /// Parses Prometheus's duration syntax (see the module doc).
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        let invalid = || DurationError::Invalid(s.to_owned());
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let bytes = s.as_bytes();
        let mut pos = 0;
        let mut next_unit = 0;
        let mut total: u64 = 0;
        while pos < bytes.len() {
            let start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos == start {
                return Err(invalid());
            }
            let digits = &s[start..pos];
            let unit_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
                pos += 1;
            }
            let unit = &s[unit_start..pos];
            // Units must appear in decreasing order, each once.
            let idx = UNITS[next_unit..]
                .iter()
                .position(|(u, _)| *u == unit)
                .map(|i| i + next_unit)
                .ok_or_else(invalid)?;
            next_unit = idx + 1;
            // Go parses each number as an int and multiplies in int64; anything that does not
            // fit is out of range.
            let n: u64 = digits.parse().map_err(|_| DurationError::OutOfRange)?;
            let part = n
                .checked_mul(UNITS[idx].1)
                .ok_or(DurationError::OutOfRange)?;
            total = total.checked_add(part).ok_or(DurationError::OutOfRange)?;
        }
        if total > MAX_MS {
            return Err(DurationError::OutOfRange);
        }
        Ok(Duration { ms: total })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.ms;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, len) in UNITS {
            // Years and weeks only when exact: `90d` reads better than `12w6d`.
            let exact_only = unit == "y" || unit == "w";
            if exact_only && !ms.is_multiple_of(len) {
                continue;
            }
            let n = ms / len;
            if n > 0 {
                write!(f, "{n}{unit}")?;
                ms -= n * len;
            }
        }
        Ok(())
    }
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Like Prometheus, the YAML value is read as a string: `15` is not a duration.
        let s = String::deserialize(d)?;
        Duration::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_like_prometheus() {
        for (text, ms, formatted) in [
            ("0", 0, "0s"),
            ("0s", 0, "0s"),
            ("1m", 60_000, "1m"),
            ("1m30s", 90_000, "1m30s"),
            ("90s", 90_000, "1m30s"),
            ("500ms", 500, "500ms"),
            ("1s500ms", 1_500, "1s500ms"),
            ("15s", 15_000, "15s"),
            ("1h", 3_600_000, "1h"),
            ("90d", 90 * MS_PER_DAY, "90d"),
            ("14d", 14 * MS_PER_DAY, "2w"),
            ("1y", MS_PER_YEAR, "1y"),
            ("1y1d", MS_PER_YEAR + MS_PER_DAY, "366d"),
            (
                "1w2d3h4m5s6ms",
                MS_PER_WEEK + 2 * MS_PER_DAY + 3 * MS_PER_HOUR + 4 * MS_PER_MINUTE + 5_006,
                "9d3h4m5s6ms",
            ),
            ("120m", 7_200_000, "2h"),
        ] {
            let d = Duration::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(d.as_millis(), ms, "{text}");
            assert_eq!(d.to_string(), formatted, "{text}");
            assert_eq!(Duration::parse(&d.to_string()), Ok(d));
        }
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for text in [
            "", "30s1m", "1m1m", "15", "1.5s", "-1s", "1 s", "s", "1S", "1M", "1mss", "1sm", " 1s",
            "1s ", "1us", "1ns",
        ] {
            assert_eq!(
                Duration::parse(text),
                Err(DurationError::Invalid(text.to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(
            Duration::parse("30s1m").unwrap_err().to_string(),
            r#"not a valid duration string: "30s1m""#
        );
        assert_eq!(Duration::parse("300y"), Err(DurationError::OutOfRange));
        assert_eq!(
            Duration::parse("99999999999999999999s"),
            Err(DurationError::OutOfRange)
        );
        assert!(Duration::parse("292y").is_ok());
    }

    #[test]
    fn deserializes_from_yaml_strings_only() {
        let d: Duration = serde_yaml::from_str("1m30s").unwrap();
        assert_eq!(d, Duration::from_secs(90));
        assert!(serde_yaml::from_str::<Duration>("15").is_err());
    }
}
