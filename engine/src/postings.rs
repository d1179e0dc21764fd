//! Postings: sets of series ids, and selecting them with label matchers.
//!
//! Series ids inside one index (the head, or one block) are `u32`, and a postings list is a
//! [`RoaringBitmap`]: intersection, union and difference are roaring's set operations.
//! [`IndexLookup`] is the narrow read interface that both the head and a block index
//! implement; matcher evaluation ([`postings_for_matchers`]) is written once against it.
//!
//! Also here: [`MemIndex`], a small in-memory `IndexLookup` (the reference implementation), and
//! [`check_index_lookup_conformance`], which other implementations run in their tests.
//!
//! Invariant: [`postings_for_matchers`] returns exactly the ids of the series for which every
//! matcher accepts the series' value of its label (`""` when absent): the index work is only an
//! optimisation of that naive definition.

use std::collections::BTreeMap;
use std::ops::Bound;

use roaring::{MultiOps, RoaringBitmap};

use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::matcher::{has_prefix, MatchType, Matcher};

/// Read access to an inverted label index, implemented by the head and by block index readers.
pub trait IndexLookup {
    /// All series ids in the index.
    fn all_postings(&self) -> Result<RoaringBitmap>;

    /// Union of the postings of `name="v"` for each `v` in `values`; values that do not occur
    /// are skipped.
    fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap>;

    /// Union of the postings of `name="v"` for every value `v` that starts with `prefix` and
    /// for which `pred(v)` is true. Implementations visit only the values with that prefix
    /// (values are kept sorted), so a prefix narrows the scan.
    fn postings_matching(
        &self,
        name: &str,
        prefix: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap>;

    /// The distinct values of label `name`, sorted; empty if the name does not occur.
    fn label_values(&self, name: &str) -> Result<Vec<String>>;

    /// The label names that occur, sorted.
    fn label_names(&self) -> Result<Vec<String>>;
}

/// Series ids matching all matchers, with Prometheus semantics:
/// - a matcher that matches `""` also matches series without that label;
/// - the result of only matchers that match `""` is every series, minus what they exclude;
/// - at least one matcher must be given (empty slice → [`Error::InvalidArgument`]).
///
/// Each matcher becomes one step on one label. A matcher that rejects `""` *restricts* the
/// result to the series whose value it accepts; a matcher that accepts `""` *excludes* the
/// series whose value it rejects. Each step fetches the smallest value set it can:
/// - `=v`, `!=v`, and regexes with an exact literal set ([`Matcher::set_matches`]) look the
///   values up directly, never scanning the label's values;
/// - other regexes scan only the values starting with their literal prefix;
/// - `=~"(?s).*"` adds no constraint, `!~"(?s).*"` selects nothing, and `=~".+"`-like
///   regexes mean "has the label" (remember that `.` does not match `\n`, so `=~".*"`
///   still excludes values containing a newline, which costs one scan of the label's values).
///
/// Restricting steps with direct lookups run first and are intersected smallest first;
/// scans run only while the result is non-empty; exclusions are subtracted last.
pub fn postings_for_matchers(ix: &dyn IndexLookup, ms: &[Matcher]) -> Result<RoaringBitmap> {
    if ms.is_empty() {
        return Err(Error::InvalidArgument(
            "postings_for_matchers needs at least one matcher".into(),
        ));
    }
    let mut steps = Vec::with_capacity(ms.len());
    for m in ms {
        let step = Step::plan(m);
        match (&step.sel, step.restrict) {
            (Sel::Never, true) => return Ok(RoaringBitmap::new()),
            (Sel::Never, false) => {}
            _ => steps.push(step),
        }
    }
    steps.sort_by_key(|s| (!s.restrict, s.cost()));

    let mut result: Option<RoaringBitmap> = None;
    let mut lookups: Vec<RoaringBitmap> = Vec::new();
    for step in steps.iter().filter(|s| s.restrict && s.is_lookup()) {
        lookups.push(step.fetch(ix)?);
    }
    // Intersect smallest first so the working set shrinks as early as possible.
    lookups.sort_by_key(RoaringBitmap::len);
    for bm in lookups {
        intersect(&mut result, bm);
        if result.as_ref().is_some_and(RoaringBitmap::is_empty) {
            return Ok(RoaringBitmap::new());
        }
    }
    for step in steps.iter().filter(|s| s.restrict && !s.is_lookup()) {
        let bm = step.fetch(ix)?;
        intersect(&mut result, bm);
        if result.as_ref().is_some_and(RoaringBitmap::is_empty) {
            return Ok(RoaringBitmap::new());
        }
    }
    let mut result = match result {
        Some(r) => r,
        None => ix.all_postings()?,
    };
    for step in steps.iter().filter(|s| !s.restrict) {
        if result.is_empty() {
            break;
        }
        result -= step.fetch(ix)?;
    }
    Ok(result)
}

fn intersect(acc: &mut Option<RoaringBitmap>, bm: RoaringBitmap) {
    match acc {
        Some(a) => *a &= bm,
        None => *acc = Some(bm),
    }
}

/// Which present values of a label a step selects.
#[derive(Debug)]
enum Sel<'a> {
    /// No value at all.
    Never,
    /// Exactly these values (may include values that do not occur).
    Values(Vec<&'a str>),
    /// Every value: "the label is present".
    All,
    /// The values starting with `prefix` for which the matcher's verdict equals the step's
    /// `restrict` flag.
    Scan { prefix: &'a str },
}

/// One matcher turned into an index operation.
#[derive(Debug)]
struct Step<'a> {
    m: &'a Matcher,
    /// True: the result is restricted to the selected series (the matcher rejects `""`).
    /// False: the selected series are excluded (the matcher accepts `""`).
    restrict: bool,
    /// The values whose series are selected: those `v` with `m.matches(v) == restrict`.
    sel: Sel<'a>,
}

impl<'a> Step<'a> {
    fn plan(m: &'a Matcher) -> Step<'a> {
        let restrict = !m.matches_empty();
        let sel = match m.kind {
            // restrict: v == value; exclude (value == ""): every present value.
            MatchType::Equal if restrict => Sel::Values(vec![m.value.as_str()]),
            MatchType::Equal => Sel::All,
            // restrict (value == ""): every present value; exclude: v == value.
            MatchType::NotEqual if restrict => Sel::All,
            MatchType::NotEqual => Sel::Values(vec![m.value.as_str()]),
            // Selected values are those where the regex itself matches iff `regex_true`.
            MatchType::RegexMatch | MatchType::RegexNoMatch => {
                let regex_true = (m.kind == MatchType::RegexMatch) == restrict;
                if regex_true {
                    if let Some(set) = m.set_matches() {
                        Sel::Values(
                            set.iter()
                                .map(String::as_str)
                                .filter(|v| !v.is_empty())
                                .collect(),
                        )
                    } else if m.regex_matches_all_non_empty() {
                        Sel::All
                    } else {
                        Sel::Scan {
                            prefix: m.regex_prefix(),
                        }
                    }
                } else if m.regex_matches_all_non_empty() {
                    Sel::Never
                } else if m
                    .set_matches()
                    .is_some_and(|s| s.iter().all(String::is_empty))
                {
                    // The regex matches no non-empty value, so every present value is selected.
                    Sel::All
                } else {
                    Sel::Scan { prefix: "" }
                }
            }
        };
        let sel = match sel {
            Sel::Values(v) if v.is_empty() => Sel::Never,
            s => s,
        };
        Step { m, restrict, sel }
    }

    /// True when the step is a direct lookup of known values.
    fn is_lookup(&self) -> bool {
        matches!(self.sel, Sel::Values(_))
    }

    /// A rough relative cost, used only for ordering.
    fn cost(&self) -> usize {
        match &self.sel {
            Sel::Never => 0,
            Sel::Values(v) => v.len(),
            Sel::Scan { prefix } if !prefix.is_empty() => 1 << 20,
            Sel::Scan { .. } => 1 << 30,
            Sel::All => (1 << 30) + 1,
        }
    }

    fn fetch(&self, ix: &dyn IndexLookup) -> Result<RoaringBitmap> {
        let name = self.m.name.as_str();
        match &self.sel {
            Sel::Never => Ok(RoaringBitmap::new()),
            Sel::Values(v) => ix.postings_for_values(name, v),
            Sel::All => ix.postings_matching(name, "", &mut |_| true),
            Sel::Scan { prefix } => {
                let (m, want) = (self.m, self.restrict);
                ix.postings_matching(name, prefix, &mut |v| m.matches(v) == want)
            }
        }
    }
}

/// A simple in-memory inverted index over a list of label sets (series id = position).
///
/// It keeps `name → value → postings` in sorted maps, like a head index, so it is a fair
/// stand-in for measurements as well as the reference implementation for
/// [`check_index_lookup_conformance`].
#[derive(Debug, Clone, Default)]
pub struct MemIndex {
    postings: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
    all: RoaringBitmap,
}

impl MemIndex {
    /// Indexes `series`; series `i` gets id `i`.
    ///
    /// # Panics
    /// If there are more than `u32::MAX + 1` series.
    pub fn new(series: &[Labels]) -> Self {
        let mut ix = MemIndex::default();
        for (i, ls) in series.iter().enumerate() {
            let id =
                u32::try_from(i).unwrap_or_else(|_| panic!("MemIndex holds at most 2^32 series"));
            ix.add(id, ls);
        }
        ix
    }

    /// Adds series `id` with labels `ls`.
    pub fn add(&mut self, id: u32, ls: &Labels) {
        self.all.insert(id);
        for l in ls {
            let values = match self.postings.get_mut(l.name) {
                Some(v) => v,
                None => self.postings.entry(l.name.to_owned()).or_default(),
            };
            match values.get_mut(l.value) {
                Some(p) => {
                    p.insert(id);
                }
                None => {
                    values.insert(l.value.to_owned(), RoaringBitmap::from_iter([id]));
                }
            }
        }
    }
}

impl IndexLookup for MemIndex {
    fn all_postings(&self) -> Result<RoaringBitmap> {
        Ok(self.all.clone())
    }

    fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap> {
        let Some(vals) = self.postings.get(name) else {
            return Ok(RoaringBitmap::new());
        };
        Ok(values.iter().filter_map(|v| vals.get(*v)).union())
    }

    fn postings_matching(
        &self,
        name: &str,
        prefix: &str,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap> {
        let Some(vals) = self.postings.get(name) else {
            return Ok(RoaringBitmap::new());
        };
        Ok(vals
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(v, _)| has_prefix(v, prefix))
            .filter(|(v, _)| pred(v))
            .map(|(_, p)| p)
            .union())
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .postings
            .get(name)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn label_names(&self) -> Result<Vec<String>> {
        Ok(self.postings.keys().cloned().collect())
    }
}

/// Checks an [`IndexLookup`] implementation against [`MemIndex`] over the same series (ids must
/// agree: series `i` at id `i`). Meant for tests: it panics with a description of the first
/// difference. It checks every method on every label name (and a missing one), value lookups
/// for single, several, duplicate, missing and empty values, prefix scans (that `pred` sees
/// exactly the values with the prefix), and [`postings_for_matchers`] for a set of matcher
/// combinations built from the data. At most 64 values per label are probed individually.
pub fn check_index_lookup_conformance(ix: &dyn IndexLookup, series: &[Labels]) {
    fn ok<T>(what: &str, r: Result<T>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("{what} failed: {e}"),
        }
    }
    let mem = MemIndex::new(series);
    assert_eq!(
        ok("all_postings", ix.all_postings()),
        mem.all,
        "all_postings differs"
    );
    let names = ok("label_names", mem.label_names());
    assert_eq!(
        ok("label_names", ix.label_names()),
        names,
        "label_names differs"
    );

    let mut probe_names: Vec<&str> = names.iter().map(String::as_str).collect();
    probe_names.push("__no_such_label__");
    let mut matcher_sets: Vec<Vec<Matcher>> = Vec::new();
    for &name in &probe_names {
        let values = ok("label_values", mem.label_values(name));
        assert_eq!(
            ok("label_values", ix.label_values(name)),
            values,
            "label_values({name:?}) differs"
        );
        let step = (values.len() / 64).max(1);
        let probes: Vec<&str> = values.iter().step_by(step).map(String::as_str).collect();

        let mut lists: Vec<Vec<&str>> = vec![
            Vec::new(),
            vec![""],
            vec!["\u{10FFFF}no such value"],
            values.iter().map(String::as_str).collect(),
            values.iter().rev().map(String::as_str).collect(),
        ];
        for &v in &probes {
            lists.push(vec![v]);
            lists.push(vec![v, v, "\u{10FFFF}no such value"]);
        }
        if probes.len() >= 2 {
            lists.push(probes.iter().rev().copied().collect());
        }
        for list in &lists {
            let want = ok("postings_for_values", mem.postings_for_values(name, list));
            let got = ok("postings_for_values", ix.postings_for_values(name, list));
            assert_eq!(got, want, "postings_for_values({name:?}, {list:?}) differs");
        }

        let mut prefixes: Vec<String> = vec![String::new(), "\u{10FFFF}".into()];
        for &v in &probes {
            let mut chars = v.char_indices().map(|(i, _)| i).skip(1);
            if let Some(i) = chars.next() {
                prefixes.push(v[..i].to_owned());
            }
            prefixes.push(v.chars().take(v.chars().count() / 2).collect());
            prefixes.push(v.to_owned());
        }
        prefixes.sort();
        prefixes.dedup();
        for prefix in &prefixes {
            let with_prefix: Vec<&str> = values
                .iter()
                .map(String::as_str)
                .filter(|v| v.starts_with(prefix.as_str()))
                .collect();
            for mode in 0..3 {
                let pick = |v: &str| match mode {
                    0 => true,
                    1 => false,
                    _ => v.len().is_multiple_of(2),
                };
                let want = ok(
                    "postings_matching",
                    mem.postings_matching(name, prefix, &mut |v| pick(v)),
                );
                let mut seen: Vec<String> = Vec::new();
                let got = ok(
                    "postings_matching",
                    ix.postings_matching(name, prefix, &mut |v| {
                        seen.push(v.to_owned());
                        pick(v)
                    }),
                );
                assert_eq!(
                    got, want,
                    "postings_matching({name:?}, {prefix:?}) mode {mode} differs"
                );
                seen.sort();
                seen.dedup();
                assert_eq!(
                    seen, with_prefix,
                    "postings_matching({name:?}, {prefix:?}) visited other values"
                );
            }
        }

        if let Some(&v) = probes.first() {
            let re_v = regex_syntax::escape(v);
            let first: String = v.chars().take(1).collect();
            let re_first = regex_syntax::escape(&first);
            let made = [
                Matcher::new(MatchType::Equal, name, v),
                Matcher::new(MatchType::NotEqual, name, v),
                Matcher::new(MatchType::Equal, name, ""),
                Matcher::new(MatchType::NotEqual, name, ""),
                Matcher::new(MatchType::RegexMatch, name, format!("{re_v}|")),
                Matcher::new(MatchType::RegexNoMatch, name, format!("{re_v}|")),
                Matcher::new(MatchType::RegexMatch, name, format!("{re_first}.*")),
                Matcher::new(MatchType::RegexNoMatch, name, format!("{re_first}.+")),
                Matcher::new(MatchType::RegexMatch, name, ".+"),
                Matcher::new(MatchType::RegexMatch, name, ".*"),
            ];
            for m in made {
                let m = ok("Matcher::new", m);
                matcher_sets.push(vec![m]);
            }
        }
    }
    // Pairs of matchers on different labels.
    let singles: Vec<Matcher> = matcher_sets
        .iter()
        .filter_map(|s| s.first().cloned())
        .collect();
    for (i, a) in singles.iter().enumerate().step_by(3) {
        for b in singles.iter().skip(i + 1).step_by(4) {
            matcher_sets.push(vec![a.clone(), b.clone()]);
        }
    }
    for ms in &matcher_sets {
        let want = ok("postings_for_matchers", postings_for_matchers(&mem, ms));
        let got = ok("postings_for_matchers", postings_for_matchers(ix, ms));
        assert_eq!(got, want, "postings_for_matchers({ms:?}) differs");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels;
    use proptest::prelude::*;
    use MatchType::{Equal, NotEqual, RegexMatch, RegexNoMatch};

    fn naive(series: &[Labels], ms: &[Matcher]) -> RoaringBitmap {
        series
            .iter()
            .enumerate()
            .filter(|(_, ls)| ms.iter().all(|m| m.matches(ls.get(&m.name).unwrap_or(""))))
            .map(|(i, _)| i as u32)
            .collect()
    }

    fn mk(kind: MatchType, name: &str, v: &str) -> Matcher {
        Matcher::new(kind, name, v).unwrap()
    }

    fn sample() -> Vec<Labels> {
        vec![
            labels!("a" => "x", "b" => "1"),
            labels!("a" => "y", "b" => "2"),
            labels!("a" => "xy", "c" => "3"),
            labels!("b" => "1"),
            labels!("a" => "x\ny"),
            labels!("a" => "é", "b" => "2"),
            Labels::empty(),
        ]
    }

    #[test]
    fn edge_cases() {
        let series = sample();
        let ix = MemIndex::new(&series);
        let ids = |ms: &[Matcher]| {
            postings_for_matchers(&ix, ms)
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
        };
        // As in Prometheus 3, `.` matches a newline too (series 4 is `a="x\ny"`), so `.*`
        // and `(?s).*` select the same series.
        #[rustfmt::skip]
        let cases: Vec<(Vec<Matcher>, Vec<u32>)> = vec![
            (vec![mk(Equal, "a", "x")], vec![0]),
            (vec![mk(Equal, "a", "")], vec![3, 6]),
            (vec![mk(NotEqual, "a", "")], vec![0, 1, 2, 4, 5]),
            (vec![mk(NotEqual, "a", "x")], vec![1, 2, 3, 4, 5, 6]),
            (vec![mk(RegexMatch, "a", "x|")], vec![0, 3, 6]),
            (vec![mk(RegexNoMatch, "a", "x|")], vec![1, 2, 4, 5]),
            (vec![mk(RegexMatch, "a", "x|y")], vec![0, 1]),
            (vec![mk(RegexMatch, "a", ".*")], vec![0, 1, 2, 3, 4, 5, 6]),
            (vec![mk(RegexMatch, "a", "(?s).*")], vec![0, 1, 2, 3, 4, 5, 6]),
            (vec![mk(RegexNoMatch, "a", ".*")], vec![]),
            (vec![mk(RegexNoMatch, "a", "(?s).*")], vec![]),
            (vec![mk(RegexMatch, "a", ".+")], vec![0, 1, 2, 4, 5]),
            (vec![mk(RegexMatch, "a", "(?s).+")], vec![0, 1, 2, 4, 5]),
            (vec![mk(RegexNoMatch, "a", ".+")], vec![3, 6]),
            (vec![mk(RegexNoMatch, "a", "(?s).+")], vec![3, 6]),
            (vec![mk(RegexMatch, "a", "x.*")], vec![0, 2, 4]),
            (vec![mk(RegexMatch, "a", "(?s)x.*")], vec![0, 2, 4]),
            (vec![mk(RegexNoMatch, "a", "x.*")], vec![1, 3, 5, 6]),
            (vec![mk(RegexMatch, "a", "")], vec![3, 6]),
            (vec![mk(RegexNoMatch, "a", "")], vec![0, 1, 2, 4, 5]),
            (vec![mk(RegexMatch, "a", "[^\\s\\S]")], vec![]),
            (vec![mk(RegexNoMatch, "a", "[^\\s\\S]")], vec![0, 1, 2, 3, 4, 5, 6]),
            (vec![mk(RegexMatch, "a", "nope")], vec![]),
            (vec![mk(Equal, "nope", "")], vec![0, 1, 2, 3, 4, 5, 6]),
            (vec![mk(Equal, "a", "x"), mk(Equal, "b", "1")], vec![0]),
            (vec![mk(Equal, "b", "2"), mk(RegexMatch, "a", "\\w")], vec![1]),
            (vec![mk(RegexMatch, "a", ".+"), mk(NotEqual, "a", "y")], vec![0, 2, 4, 5]),
            (vec![mk(Equal, "b", ""), mk(Equal, "c", "")], vec![4, 6]),
            (vec![mk(NotEqual, "b", "1"), mk(RegexNoMatch, "a", "y|é")], vec![2, 4, 6]),
            (vec![mk(Equal, "a", "x"), mk(Equal, "a", "y")], vec![]),
        ];
        for (ms, want) in cases {
            assert_eq!(ids(&ms), want, "{ms:?}");
            assert_eq!(
                naive(&series, &ms).iter().collect::<Vec<_>>(),
                want,
                "naive {ms:?}"
            );
        }
        assert!(matches!(
            postings_for_matchers(&ix, &[]),
            Err(Error::InvalidArgument(_))
        ));
    }

    /// Records which index methods a query uses, to check the efficiency rules.
    struct Spy<'a> {
        inner: &'a MemIndex,
        calls: std::cell::RefCell<Vec<String>>,
    }

    impl IndexLookup for Spy<'_> {
        fn all_postings(&self) -> Result<RoaringBitmap> {
            self.calls.borrow_mut().push("all".into());
            self.inner.all_postings()
        }
        fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap> {
            self.calls
                .borrow_mut()
                .push(format!("values {name} {values:?}"));
            self.inner.postings_for_values(name, values)
        }
        fn postings_matching(
            &self,
            name: &str,
            prefix: &str,
            pred: &mut dyn FnMut(&str) -> bool,
        ) -> Result<RoaringBitmap> {
            self.calls
                .borrow_mut()
                .push(format!("scan {name} {prefix:?}"));
            self.inner.postings_matching(name, prefix, pred)
        }
        fn label_values(&self, name: &str) -> Result<Vec<String>> {
            self.calls.borrow_mut().push(format!("label_values {name}"));
            self.inner.label_values(name)
        }
        fn label_names(&self) -> Result<Vec<String>> {
            self.calls.borrow_mut().push("label_names".into());
            self.inner.label_names()
        }
    }

    #[test]
    fn uses_the_cheapest_index_operations() {
        let mem = MemIndex::new(&sample());
        let calls = |ms: &[Matcher]| {
            let spy = Spy {
                inner: &mem,
                calls: Default::default(),
            };
            postings_for_matchers(&spy, ms).unwrap();
            spy.calls.into_inner()
        };
        assert_eq!(calls(&[mk(Equal, "a", "x")]), ["values a [\"x\"]"]);
        assert_eq!(
            calls(&[mk(RegexMatch, "a", "y|x")]),
            ["values a [\"x\", \"y\"]"]
        );
        assert_eq!(calls(&[mk(RegexMatch, "a", "x.*")]), ["scan a \"x\""]);
        assert_eq!(calls(&[mk(RegexMatch, "a", "x.+y")]), ["scan a \"x\""]);
        assert_eq!(
            calls(&[mk(NotEqual, "a", "x")]),
            ["all", "values a [\"x\"]"]
        );
        assert_eq!(
            calls(&[mk(RegexNoMatch, "a", "x|y")]),
            ["all", "values a [\"x\", \"y\"]"]
        );
        assert_eq!(calls(&[mk(RegexMatch, "a", "(?s).+")]), ["scan a \"\""]);
        // `=~"(?s).*"` adds nothing; with another matcher it is not even looked at.
        assert_eq!(
            calls(&[mk(Equal, "b", "1"), mk(RegexMatch, "a", "(?s).*")]),
            ["values b [\"1\"]"]
        );
        // Lookups run before scans; once empty, nothing else runs.
        assert_eq!(
            calls(&[
                mk(RegexMatch, "a", ".+"),
                mk(Equal, "b", "nope"),
                mk(NotEqual, "c", "3")
            ]),
            ["values b [\"nope\"]"]
        );
        // Exclusions come last, after the restricting steps.
        assert_eq!(
            calls(&[
                mk(NotEqual, "a", "y"),
                mk(RegexMatch, "a", "x.*"),
                mk(Equal, "b", "1")
            ]),
            ["values b [\"1\"]", "scan a \"x\"", "values a [\"y\"]"]
        );
    }

    /// A different `IndexLookup` implementation: linear scans over the series.
    struct Scanning(Vec<Labels>);

    impl IndexLookup for Scanning {
        fn all_postings(&self) -> Result<RoaringBitmap> {
            Ok((0..self.0.len() as u32).collect())
        }
        fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap> {
            Ok(self
                .0
                .iter()
                .enumerate()
                .filter(|(_, l)| l.get(name).is_some_and(|v| values.contains(&v)))
                .map(|(i, _)| i as u32)
                .collect())
        }
        fn postings_matching(
            &self,
            name: &str,
            prefix: &str,
            pred: &mut dyn FnMut(&str) -> bool,
        ) -> Result<RoaringBitmap> {
            let vals: Vec<String> = self
                .label_values(name)?
                .into_iter()
                .filter(|v| v.starts_with(prefix) && pred(v))
                .collect();
            let vals: Vec<&str> = vals.iter().map(String::as_str).collect();
            self.postings_for_values(name, &vals)
        }
        fn label_values(&self, name: &str) -> Result<Vec<String>> {
            let mut v: Vec<String> = self
                .0
                .iter()
                .filter_map(|l| l.get(name))
                .map(str::to_owned)
                .collect();
            v.sort();
            v.dedup();
            Ok(v)
        }
        fn label_names(&self) -> Result<Vec<String>> {
            let mut v: Vec<String> = self
                .0
                .iter()
                .flat_map(|l| l.iter().map(|l| l.name.to_owned()))
                .collect();
            v.sort();
            v.dedup();
            Ok(v)
        }
    }

    #[test]
    fn conformance_check_accepts_correct_implementations() {
        let series = sample();
        check_index_lookup_conformance(&MemIndex::new(&series), &series);
        check_index_lookup_conformance(&Scanning(series.clone()), &series);
        check_index_lookup_conformance(&Scanning(Vec::new()), &[]);
    }

    /// Ignores the prefix: visits values it should not.
    struct IgnoresPrefix(MemIndex);

    impl IndexLookup for IgnoresPrefix {
        fn all_postings(&self) -> Result<RoaringBitmap> {
            self.0.all_postings()
        }
        fn postings_for_values(&self, name: &str, values: &[&str]) -> Result<RoaringBitmap> {
            self.0.postings_for_values(name, values)
        }
        fn postings_matching(
            &self,
            name: &str,
            prefix: &str,
            pred: &mut dyn FnMut(&str) -> bool,
        ) -> Result<RoaringBitmap> {
            self.0
                .postings_matching(name, "", &mut |v| pred(v) && v.starts_with(prefix))
        }
        fn label_values(&self, name: &str) -> Result<Vec<String>> {
            self.0.label_values(name)
        }
        fn label_names(&self) -> Result<Vec<String>> {
            self.0.label_names()
        }
    }

    #[test]
    #[should_panic(expected = "visited other values")]
    fn conformance_check_catches_a_prefix_violation() {
        let series = sample();
        check_index_lookup_conformance(&IgnoresPrefix(MemIndex::new(&series)), &series);
    }

    #[test]
    #[should_panic(expected = "postings_for_values")]
    fn conformance_check_catches_wrong_ids() {
        let series = sample();
        let mut shifted = vec![Labels::empty()];
        shifted.extend(series.iter().cloned());
        shifted.pop();
        // Same label data, but series i is at id i+1.
        check_index_lookup_conformance(&Scanning(shifted), &series);
    }

    fn series_strategy() -> impl Strategy<Value = Vec<Labels>> {
        let value = prop::sample::select(vec!["", "", "x", "y", "xy", "z", "é", "x\ny", "foo"]);
        prop::collection::vec((value.clone(), value.clone(), value), 0..40).prop_map(|rows| {
            rows.into_iter()
                .map(|(a, b, c)| labels!("a" => a, "b" => b, "c" => c))
                .collect()
        })
    }

    fn matcher_strategy() -> impl Strategy<Value = Matcher> {
        let name = prop::sample::select(vec!["a", "b", "c", "d"]);
        let literal = prop::sample::select(vec!["", "x", "y", "xy", "x\ny", "nope"]);
        let pattern = prop::sample::select(vec![
            "", "x", "x|", "x|y", "y|xy|foo", ".*", ".+", "(?s).*", "(?s).+", "x.*", "x.+", ".*y",
            "[xy]", "é|", "nope", "x\ny", "(?s)x.y", "x.y", "f.*o", "[^x]+", "(x|)(y|)", "\\w+",
            ".*x.*",
        ]);
        prop_oneof![
            (name.clone(), literal.clone()).prop_map(|(n, v)| mk(Equal, n, v)),
            (name.clone(), literal).prop_map(|(n, v)| mk(NotEqual, n, v)),
            (name.clone(), pattern.clone()).prop_map(|(n, v)| mk(RegexMatch, n, v)),
            (name, pattern).prop_map(|(n, v)| mk(RegexNoMatch, n, v)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn matches_naive_evaluation(
            series in series_strategy(),
            ms in prop::collection::vec(matcher_strategy(), 1..5),
        ) {
            let ix = MemIndex::new(&series);
            prop_assert_eq!(postings_for_matchers(&ix, &ms).unwrap(), naive(&series, &ms), "{:?}", ms);
            prop_assert_eq!(postings_for_matchers(&Scanning(series.clone()), &ms).unwrap(), naive(&series, &ms));
        }
    }

    /// Release-mode measurement over 1M series (run with
    /// `cargo test -p tidemark-engine --release postings::tests::measure -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn measure_1m_series() {
        use std::time::Instant;
        const N: u32 = 1_000_000;
        let t = Instant::now();
        let mut ix = MemIndex::default();
        for i in 0..N {
            let a = format!("v{}", i % 100_000);
            let b = format!("b{}", i % 10);
            let inst = format!("host-{}:9100", i % 5_000);
            let ls = labels!("__name__" => "metric", "a" => &a, "b" => &b, "instance" => &inst, "job" => "node");
            ix.add(i, &ls);
        }
        eprintln!("built MemIndex of {N} series in {:?}", t.elapsed());
        let cases: Vec<(&str, Vec<Matcher>)> = vec![
            (
                "a=\"v42\", b=\"b2\"",
                vec![mk(Equal, "a", "v42"), mk(Equal, "b", "b2")],
            ),
            ("a=~\"v1|v2|v3\"", vec![mk(RegexMatch, "a", "v1|v2|v3")]),
            ("a=~\"v1234.*\"", vec![mk(RegexMatch, "a", "v1234.*")]),
            (
                "a=~\"v9.*\", b=\"b1\"",
                vec![mk(RegexMatch, "a", "v9.*"), mk(Equal, "b", "b1")],
            ),
            (
                "b=\"b3\", a=~\".*\"",
                vec![mk(Equal, "b", "b3"), mk(RegexMatch, "a", ".*")],
            ),
            (
                "b=\"b3\", a=~\"(?s).*\"",
                vec![mk(Equal, "b", "b3"), mk(RegexMatch, "a", "(?s).*")],
            ),
            (
                "a=\"v7\", instance!=\"host-7:9100\"",
                vec![
                    mk(Equal, "a", "v7"),
                    mk(NotEqual, "instance", "host-7:9100"),
                ],
            ),
            ("a=~\".*99\"", vec![mk(RegexMatch, "a", ".*99")]),
            ("b=\"b1\"", vec![mk(Equal, "b", "b1")]),
            (
                "a=~\"v.1.*\" (regex engine)",
                vec![mk(RegexMatch, "a", "v.1.*")],
            ),
            ("a=~\".+\" (has label)", vec![mk(RegexMatch, "a", ".+")]),
            (
                "b=\"b1\", a!~\"v1|v2\"",
                vec![mk(Equal, "b", "b1"), mk(RegexNoMatch, "a", "v1|v2")],
            ),
        ];
        for (what, ms) in cases {
            let runs = 20;
            let mut n = 0;
            let t = Instant::now();
            for _ in 0..runs {
                n = postings_for_matchers(&ix, &ms).unwrap().len();
            }
            eprintln!(
                "{what:40} {:>10.3?} per query, {n} series",
                t.elapsed() / runs
            );
        }
        for (what, f) in [
            (
                "scan a, pred false",
                &mut (|_: &str| false) as &mut dyn FnMut(&str) -> bool,
            ),
            ("scan a, pred true", &mut |_: &str| true),
            ("scan a, every 100th", &mut |v: &str| v.ends_with("00")),
        ] {
            let t = Instant::now();
            let n = ix.postings_matching("a", "", f).unwrap().len();
            eprintln!("{what:40} {:>10.3?}, {n} series", t.elapsed());
        }
        let values = ix.label_values("a").unwrap();
        for p in [".*", "v9.*", ".*99", "v1|v2|v3", "v.1.*"] {
            let m = mk(RegexMatch, "a", p);
            let t = Instant::now();
            let n = values.iter().filter(|v| m.matches(v)).count();
            let per = t.elapsed() / values.len() as u32;
            eprintln!(
                "{:40} {per:>10.3?} per value, {n} of {}",
                format!("matches() =~{p:?}"),
                values.len()
            );
        }
        let t = Instant::now();
        let runs = 1000;
        for _ in 0..runs {
            std::hint::black_box(Matcher::new(RegexMatch, "a", "api-(eu|us)-.*|web.+").unwrap());
        }
        eprintln!(
            "{:40} {:>10.3?}",
            "Matcher::new(=~\"api-(eu|us)-.*|web.+\")",
            t.elapsed() / runs
        );
    }
}
