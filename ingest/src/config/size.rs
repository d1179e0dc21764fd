//! Byte sizes as `body_size_limit` takes them (`alecthomas/units.Base2Bytes`, which Prometheus
//! uses): a sequence of `<number><unit>` like `100MB`, `1.5GiB` or `1GB512MB`, or a bare `0`.
//!
//! Units are base 2 whatever their spelling: `KB` = `KiB` = 1024, `MB` = `MiB` = 1024², up to
//! `EB`/`EiB`, plus `B`. The case matters: `kB` and `mb` are unknown units. A leading `-` is
//! accepted as Prometheus accepts it; a negative limit means "no limit" there, so it is stored
//! as 0, which means the same here.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A size in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Why a size was rejected; the messages are those of Prometheus 3.5.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Not a sequence of numbers with units.
    #[error("units: invalid {0}")]
    Invalid(String),
    /// A number is followed by an unknown unit (or none).
    #[error("units: unknown unit {unit} in {text}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole text.
        text: String,
    },
    /// The value does not fit a signed 64-bit integer.
    #[error("units: overflow parsing unit")]
    Overflow,
}

fn unit_len(unit: &str) -> Option<f64> {
    let shift = match unit {
        "B" => 0,
        "KB" | "KiB" => 10,
        "MB" | "MiB" => 20,
        "GB" | "GiB" => 30,
        "TB" | "TiB" => 40,
        "PB" | "PiB" => 50,
        "EB" | "EiB" => 60,
        _ => return None,
    };
    Some((1u64 << shift) as f64)
}

impl ByteSize {
    /// Parses a size (see the module doc).
    pub fn parse(text: &str) -> Result<Self, SizeError> {
        let invalid = || SizeError::Invalid(text.to_owned());
        let mut s = text;
        let mut negative = false;
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(ByteSize(0));
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total = 0f64;
        while !s.is_empty() {
            let number_len = s
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b'.')
                .count();
            let number = &s[..number_len];
            // At most one '.', and at least one digit.
            if number.matches('.').count() > 1 || !number.bytes().any(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            let value: f64 = if let Some(whole) = number.strip_suffix('.') {
                whole.parse()
            } else if number.starts_with('.') {
                format!("0{number}").parse()
            } else {
                number.parse()
            }
            .map_err(|_| invalid())?;
            s = &s[number_len..];
            let unit_len_bytes = s
                .bytes()
                .take_while(|b| !(b.is_ascii_digit() || *b == b'.'))
                .count();
            let unit = &s[..unit_len_bytes];
            s = &s[unit_len_bytes..];
            let mult = unit_len(unit).ok_or_else(|| SizeError::UnknownUnit {
                unit: unit.to_owned(),
                text: text.to_owned(),
            })?;
            total += value * mult;
        }
        if total > i64::MAX as f64 {
            return Err(SizeError::Overflow);
        }
        Ok(ByteSize(if negative { 0 } else { total as u64 }))
    }
}

impl fmt::Display for ByteSize {
    /// The largest unit that divides the size exactly, as Prometheus prints it (`100MB`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0B");
        }
        for (unit, shift) in [
            ("EB", 60),
            ("PB", 50),
            ("TB", 40),
            ("GB", 30),
            ("MB", 20),
            ("KB", 10),
        ] {
            if self.0.is_multiple_of(1u64 << shift) {
                return write!(f, "{}{unit}", self.0 >> shift);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ByteSize::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_two_units() {
        for (text, bytes) in [
            ("0", 0),
            ("1B", 1),
            ("1KB", 1024),
            ("1KiB", 1024),
            ("100MB", 100 << 20),
            ("1GB512MB", (1 << 30) + (512 << 20)),
            ("1.5MB", 3 << 19),
            (".5KB", 512),
            ("2.KB", 2048),
            ("1EB", 1 << 60),
            ("-1MB", 0),
        ] {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(bytes)), "{text}");
        }
        assert_eq!(ByteSize(100 << 20).to_string(), "100MB");
        assert_eq!(ByteSize(1025).to_string(), "1025B");
    }

    #[test]
    fn rejects_unknown_units_with_prometheus_messages() {
        assert_eq!(
            ByteSize::parse("1kB").unwrap_err().to_string(),
            "units: unknown unit kB in 1kB"
        );
        assert_eq!(
            ByteSize::parse("1024").unwrap_err().to_string(),
            "units: unknown unit  in 1024"
        );
        for bad in ["", "MB", "1..5MB", "x1MB", "-"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ByteSize::parse("16EB"), Err(SizeError::Overflow));
    }
}
