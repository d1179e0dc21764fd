//! [`Secret`]: a configuration value that must never be shown back to anyone (passwords,
//! tokens, client secrets, private keys, secret headers).
//!
//! What must stay true: `Debug`, `Display` and `Serialize` of a `Secret` print `<secret>`, as
//! Prometheus's `config.Secret` marshals; the only way to the value is [`Secret::expose`], which
//! the code that sends it (the HTTP clients) calls by name.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a secret prints as, everywhere (Prometheus's mask).
pub const MASK: &str = "<secret>";

/// A secret string from the configuration file.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: only for code that must send or use it, never for display.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (Prometheus treats an empty secret as unset).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s: Secret = serde_yaml::from_str("hunter2").unwrap();
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{s}"), MASK);
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<secret>)");
        assert_eq!(serde_yaml::to_string(&s).unwrap().trim(), MASK);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<secret>\"");
    }
}
