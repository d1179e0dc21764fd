//! Label matchers: the four PromQL matchers `=`, `!=`, `=~` and `!~`, with Prometheus 3.5
//! semantics.
//!
//! This module owns matching a single label value. Selecting series with a list of matchers is
//! [`crate::postings::postings_for_matchers`].
//!
//! Semantics (as in Prometheus 3.5):
//! - the value `""` stands for "label absent" (label values are never empty), so `{a=""}`
//!   selects series without `a` and `{a!=""}` series that have it;
//! - regexes use Go RE2 syntax and are fully anchored: `=~"foo"` is `^(?:foo)$` and does not
//!   match `"foobar"`; matching is case-sensitive unless the pattern says `(?i)`;
//! - `.` matches `\n` too (Prometheus 3 compiles matchers with `(?s)`; 2.x did not), so
//!   `.*` matches every value; `(?-s:.*)` matches values without a newline;
//! - Perl classes `\d`, `\s`, `\w` and `\b` are ASCII-only, as in Go (see `syntax`).
//!
//! Invariants of a [`Matcher`]: it is immutable after construction (the public fields are for
//! reading; build a new matcher to change them), and for the regex kinds the compiled form
//! always agrees with an anchored `regex::Regex` of the (Go-adjusted) pattern: the fast paths in
//! `fast` are exact, never approximate.

mod fast;
mod syntax;
#[cfg(test)]
mod tests;

pub(crate) use fast::has_prefix;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::error::{Error, Result};

/// The kind of a label matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchType {
    /// `=`: the value equals the string.
    Equal,
    /// `!=`: the value differs from the string.
    NotEqual,
    /// `=~`: the value matches the anchored regex.
    RegexMatch,
    /// `!~`: the value does not match the anchored regex.
    RegexNoMatch,
}

impl MatchType {
    /// The PromQL operator: `=`, `!=`, `=~` or `!~`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::RegexMatch => "=~",
            MatchType::RegexNoMatch => "!~",
        }
    }

    /// True for `!=` and `!~`.
    pub fn is_negative(self) -> bool {
        matches!(self, MatchType::NotEqual | MatchType::RegexNoMatch)
    }

    /// True for `=~` and `!~`.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::RegexMatch | MatchType::RegexNoMatch)
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a matcher tests a value (the positive form; negative kinds invert it).
#[derive(Clone)]
enum Inner {
    /// `=` / `!=`: string equality with `value`.
    Literal,
    /// `=~` / `!~`: the compiled anchored regex, shared by clones.
    Regex(Arc<fast::Compiled>),
}

/// A label matcher such as `job=~"api|web"`.
#[derive(Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The operator.
    pub kind: MatchType,
    /// The string or regex source text.
    pub value: String,
    inner: Inner,
    matches_empty: bool,
}

impl Matcher {
    /// Builds a matcher. For the regex kinds the pattern is validated and compiled; a bad
    /// regex gives [`Error::InvalidArgument`] carrying the parser's message.
    pub fn new(
        kind: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Matcher> {
        let name = name.into();
        let value = value.into();
        let inner = if kind.is_regex() {
            let compiled = compile(&value).map_err(|e| {
                Error::InvalidArgument(format!(
                    "invalid regular expression {value:?} for label {name:?}: {e}"
                ))
            })?;
            Inner::Regex(Arc::new(compiled))
        } else {
            Inner::Literal
        };
        let mut m = Matcher {
            name,
            kind,
            value,
            inner,
            matches_empty: false,
        };
        m.matches_empty = m.matches("");
        Ok(m)
    }

    /// `name="value"`; cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Self::literal(MatchType::Equal, name.into(), value.into())
    }

    /// `name!="value"`; cannot fail.
    pub fn not_equal(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Self::literal(MatchType::NotEqual, name.into(), value.into())
    }

    fn literal(kind: MatchType, name: String, value: String) -> Matcher {
        let matches_empty = (kind == MatchType::Equal) == value.is_empty();
        Matcher {
            name,
            kind,
            value,
            inner: Inner::Literal,
            matches_empty,
        }
    }

    /// Whether label value `v` satisfies the matcher; `v = ""` stands for "label absent".
    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        let positive = match &self.inner {
            Inner::Literal => fast::bytes_eq(v.as_bytes(), self.value.as_bytes()),
            Inner::Regex(c) => c.is_match(v),
        };
        positive != self.kind.is_negative()
    }

    /// Whether the matcher accepts the empty value, i.e. series without the label.
    #[inline]
    pub fn matches_empty(&self) -> bool {
        self.matches_empty
    }

    /// For `=~` / `!~`: the exact, finite set of strings the regex matches (sorted, without
    /// duplicates), when the pattern is a literal alternation like `a|b|c` (also `(a|b)`,
    /// `(?:a|b)`, a plain literal, small classes like `[ab]` or `(?i)ok`); `None` otherwise and
    /// for `=` / `!=`. For `!~` it is the set the regex matches, i.e. the values *excluded*.
    pub fn set_matches(&self) -> Option<&[String]> {
        match &self.inner {
            Inner::Regex(c) => c.set(),
            Inner::Literal => None,
        }
    }

    /// A literal prefix every accepted value starts with (e.g. `foo.*` → `"foo"`,
    /// `foo.+bar` → `"foo"`); `""` when there is none. For `=` it is the value itself; for the
    /// negative kinds it is always `""`.
    pub fn prefix(&self) -> &str {
        match (self.kind, &self.inner) {
            (MatchType::Equal, _) => &self.value,
            (MatchType::RegexMatch, Inner::Regex(c)) => c.prefix(),
            _ => "",
        }
    }

    /// The regex's literal prefix for `=~` and `!~` (for `!~`: a prefix of every *rejected*
    /// value); `""` for the other kinds.
    pub(crate) fn regex_prefix(&self) -> &str {
        match &self.inner {
            Inner::Regex(c) => c.prefix(),
            Inner::Literal => "",
        }
    }

    /// For the regex kinds: true if the regex is known to match every non-empty string.
    pub(crate) fn regex_matches_all_non_empty(&self) -> bool {
        matches!(&self.inner, Inner::Regex(c) if c.matches_all_non_empty())
    }

    #[cfg(test)]
    fn uses_regex_engine(&self) -> bool {
        matches!(&self.inner, Inner::Regex(c) if c.uses_regex_engine())
    }
}

/// Fuzz entry point: `data` is a regex pattern, then `\0`-separated values (lossy UTF-8).
/// Building the matcher must never panic, and when it succeeds every value (plus `""` and the
/// literal set, if any) must get the same verdict from [`Matcher::matches`] as from a plain
/// anchored `regex::Regex` of the same pattern, and must respect [`Matcher::set_matches`] and
/// [`Matcher::prefix`]. Any disagreement panics.
pub fn fuzz_matcher(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let pattern = parts.next().unwrap_or_default();
    let Ok(m) = Matcher::new(MatchType::RegexMatch, "l", pattern) else {
        return;
    };
    let parsed = match syntax::parse(pattern) {
        Ok(p) => p,
        Err(e) => panic!("Matcher::new accepted {pattern:?}, the parser rejects it: {e}"),
    };
    // The regex engine may refuse what the expansion handles (size limits); then skip it.
    let reference = regex::RegexBuilder::new(&format!("^(?:{})$", parsed.regex_text))
        .octal(true)
        .build()
        .ok();
    let set = m.set_matches().unwrap_or_default();
    for v in parts.chain([""]).chain(set.iter().map(String::as_str)) {
        let got = m.matches(v);
        if let Some(re) = &reference {
            assert_eq!(
                got,
                re.is_match(v),
                "{pattern:?} on {v:?}: fast path disagrees with the regex engine"
            );
        }
        if got {
            assert!(
                v.starts_with(m.prefix()),
                "{pattern:?}: {v:?} lacks prefix {:?}",
                m.prefix()
            );
        }
        if let Some(set) = m.set_matches() {
            assert_eq!(
                got,
                set.iter().any(|s| s == v),
                "{pattern:?}: set disagrees on {v:?}"
            );
        }
    }
}

fn compile(pattern: &str) -> std::result::Result<fast::Compiled, String> {
    let parsed = syntax::parse(pattern)?;
    fast::Compiled::new(&parsed.hir, &parsed.regex_text)
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Hash for Matcher {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.name.hash(state);
        self.value.hash(state);
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("value", &self.value)
            .finish()
    }
}

impl fmt::Display for Matcher {
    /// `name<op>"value"`, the value quoted like Go's `strconv.Quote` (which PromQL parses back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        f.write_str(self.kind.as_str())?;
        write_quoted(f, &self.value)
    }
}

/// Writes `s` as a double-quoted PromQL string, escaping like Go's `strconv.Quote`.
pub fn write_quoted(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\x07' => out.write_str("\\a")?,
            '\x08' => out.write_str("\\b")?,
            '\x0c' => out.write_str("\\f")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\x0b' => out.write_str("\\v")?,
            c if is_printable(c) => out.write_char(c)?,
            c if u32::from(c) < 0x80 => write!(out, "\\x{:02x}", u32::from(c))?,
            c if u32::from(c) < 0x10000 => write!(out, "\\u{:04x}", u32::from(c))?,
            c => write!(out, "\\U{:08x}", u32::from(c))?,
        }
    }
    out.write_char('"')
}

/// An approximation of Go's `unicode.IsPrint` (letters, marks, numbers, punctuation, symbols
/// and the ASCII space) without the Unicode tables: control, non-ASCII whitespace, format and
/// private-use characters are escaped; unassigned code points are printed as they are.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = u32::from(c);
    let format_or_private = matches!(
        u,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
            | 0xE000..=0xF8FF
            | 0xF0000..=0x10FFFF
    );
    !format_or_private
}
