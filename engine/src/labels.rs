//! Label sets: sorted `name="value"` pairs identifying a series.
//!
//! A [`Labels`] is one reference-counted string holding every name and value, each preceded by
//! its length, so cloning is a reference-count increment and a series costs little more memory
//! than its text (the idea of Prometheus's `stringlabels`).
//!
//! Invariants of a `Labels`, established by every constructor:
//! - names are sorted, unique and non-empty; values are non-empty (an empty value means the
//!   label is absent, as in Prometheus);
//! - the encoding is canonical, so equal label sets have equal bytes (equality and hashing work
//!   on the bytes).
//!
//! Lengths are written in an ASCII-only variable-length form (bytes `0x00..=0x3f` end a number,
//! `0x40..=0x7f` carry six more bits), so the whole buffer stays valid UTF-8 and every string
//! starts on a character boundary.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The reserved label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label, borrowed from a [`Labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label<'a> {
    /// Label name.
    pub name: &'a str,
    /// Label value.
    pub value: &'a str,
}

/// A sorted, immutable, cheaply cloned label set.
#[derive(Clone)]
pub struct Labels {
    data: Arc<str>,
}

fn put_len(out: &mut String, mut n: usize) {
    while n >= 0x40 {
        out.push(char::from(0x40 | (n & 0x3f) as u8));
        n >>= 6;
    }
    out.push(char::from(n as u8));
}

/// Reads a length at `pos`; the buffer is trusted (built only by this module).
fn get_len(b: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let c = b[*pos];
        *pos += 1;
        n |= usize::from(c & 0x3f) << shift;
        if c < 0x40 {
            return n;
        }
        shift += 6;
    }
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Self {
            data: Arc::from(""),
        }
    }

    /// Builds a label set from pairs in any order. Pairs with an empty value are dropped; if a
    /// name repeats, the last value wins. Returns `None` if a name is empty.
    pub fn from_pairs<N, V, I>(pairs: I) -> Option<Self>
    where
        N: AsRef<str>,
        V: AsRef<str>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut v: Vec<(N, V)> = pairs.into_iter().collect();
        // Stable sort keeps input order among equal names, so "last wins" below is well defined.
        v.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(v.len());
        for (n, val) in &v {
            let (n, val) = (n.as_ref(), val.as_ref());
            if n.is_empty() {
                return None;
            }
            match out.last_mut() {
                Some(last) if last.0 == n => last.1 = val,
                _ => out.push((n, val)),
            }
        }
        out.retain(|(_, v)| !v.is_empty());
        Some(Self::encode(out.iter().copied()))
    }

    /// Builds a label set from pairs that must already be sorted by name, unique, and
    /// non-empty. Used by decoders: the error says which rule was broken.
    pub fn from_sorted<'a, I>(pairs: I) -> Result<Self, &'static str>
    where
        I: IntoIterator<Item = (&'a str, &'a str)> + Clone,
    {
        let mut prev: Option<&str> = None;
        for (n, v) in pairs.clone() {
            if n.is_empty() {
                return Err("empty label name");
            }
            if v.is_empty() {
                return Err("empty label value");
            }
            if let Some(p) = prev {
                if p >= n {
                    return Err("label names not sorted and unique");
                }
            }
            prev = Some(n);
        }
        Ok(Self::encode(pairs))
    }

    fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut s = String::new();
        for (n, v) in pairs {
            put_len(&mut s, n.len());
            s.push_str(n);
            put_len(&mut s, v.len());
            s.push_str(v);
        }
        Self { data: Arc::from(s) }
    }

    /// Iterates the labels in name order.
    pub fn iter(&self) -> LabelsIter<'_> {
        LabelsIter {
            s: &self.data,
            pos: 0,
        }
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if there are no labels.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        for l in self.iter() {
            match l.name.cmp(name) {
                Ordering::Less => continue,
                Ordering::Equal => return Some(l.value),
                Ordering::Greater => return None,
            }
        }
        None
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A stable 64-bit hash of the label set (xxh3 of the canonical encoding).
    pub fn stable_hash(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(self.data.as_bytes())
    }

    /// Bytes used by the encoded text (for memory accounting).
    pub fn encoded_len(&self) -> usize {
        self.data.len()
    }

    /// A builder starting from this label set.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self
                .iter()
                .map(|l| (l.name.to_owned(), l.value.to_owned()))
                .collect(),
        }
    }

    /// A copy without the labels whose names are in `names`.
    pub fn without(&self, names: &[&str]) -> Labels {
        Self::encode(
            self.iter()
                .filter(|l| !names.contains(&l.name))
                .map(|l| (l.name, l.value)),
        )
    }
}

/// Iterator over a [`Labels`].
#[derive(Debug, Clone)]
pub struct LabelsIter<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = Label<'a>;
    fn next(&mut self) -> Option<Label<'a>> {
        if self.pos >= self.s.len() {
            return None;
        }
        let b = self.s.as_bytes();
        let n = get_len(b, &mut self.pos);
        let name = &self.s[self.pos..self.pos + n];
        self.pos += n;
        let n = get_len(b, &mut self.pos);
        let value = &self.s[self.pos..self.pos + n];
        self.pos += n;
        Some(Label { name, value })
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = Label<'a>;
    type IntoIter = LabelsIter<'a>;
    fn into_iter(self) -> LabelsIter<'a> {
        self.iter()
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}
impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.data.hash(state)
    }
}

impl Ord for Labels {
    /// Label by label: name, then value; a prefix sorts first (Prometheus's `labels.Compare`).
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.data, &other.data) {
            return Ordering::Equal;
        }
        let (mut a, mut b) = (self.iter(), other.iter());
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => match x.name.cmp(y.name).then(x.value.cmp(y.value)) {
                    Ordering::Equal => continue,
                    o => return o,
                },
            }
        }
    }
}
impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Default for Labels {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Display for Labels {
    /// `{__name__="up", job="node"}`, values quoted and escaped like Go's `strconv.Quote`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Mutable label set used to derive a new [`Labels`].
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<(String, String)>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.labels.retain(|(n, _)| n != name);
        if !value.is_empty() {
            self.labels.push((name.to_owned(), value.to_owned()));
        }
        self
    }
    /// Deletes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|(n, _)| n != name);
        self
    }
    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    /// Builds the label set. Returns `None` if a name is empty.
    pub fn build(&self) -> Option<Labels> {
        Labels::from_pairs(self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }
}

/// Builds a [`Labels`] from `"name" => "value"` pairs; panics on an empty name (tests and
/// literals only).
#[macro_export]
macro_rules! labels {
    ($($n:expr => $v:expr),* $(,)?) => {
        $crate::labels::Labels::from_pairs([$((
            ::core::convert::AsRef::<str>::as_ref(&$n),
            ::core::convert::AsRef::<str>::as_ref(&$v),
        )),*])
        .expect("valid literal labels")
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sorted_dedup_and_lookup() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("a", "3")]).unwrap();
        let v: Vec<_> = l.iter().map(|l| (l.name, l.value)).collect();
        assert_eq!(v, vec![("a", "3"), ("b", "2")]);
        assert_eq!(l.get("a"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.len(), 2);
        assert_eq!(l.to_string(), r#"{a="3", b="2"}"#);
        assert!(Labels::from_pairs([("", "x")]).is_none());
    }

    #[test]
    fn from_sorted_validates() {
        assert!(Labels::from_sorted([("a", "1"), ("b", "2")]).is_ok());
        assert!(Labels::from_sorted([("b", "1"), ("a", "2")]).is_err());
        assert!(Labels::from_sorted([("a", "1"), ("a", "2")]).is_err());
        assert!(Labels::from_sorted([("a", "")]).is_err());
    }

    #[test]
    fn long_strings_and_unicode() {
        let long = "x".repeat(100_000);
        let l = Labels::from_pairs([("ünï", long.as_str()), ("a", "é")]).unwrap();
        assert_eq!(l.get("ünï"), Some(long.as_str()));
        assert_eq!(l.get("a"), Some("é"));
    }

    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("[a-c]{1,3}", "[a-c\u{e9}]{0,70}"), 0..6)
    }

    proptest! {
        #[test]
        fn ordering_matches_pairwise_comparison(a in pairs(), b in pairs()) {
            let la = Labels::from_pairs(a.clone()).unwrap();
            let lb = Labels::from_pairs(b.clone()).unwrap();
            let va: Vec<_> = la.iter().collect();
            let vb: Vec<_> = lb.iter().collect();
            prop_assert_eq!(la.cmp(&lb), va.cmp(&vb));
            prop_assert_eq!(la == lb, va == vb);
            let rebuilt = Labels::from_sorted(va.iter().map(|l| (l.name, l.value))).unwrap();
            prop_assert_eq!(rebuilt, la.clone());
        }
    }
}
