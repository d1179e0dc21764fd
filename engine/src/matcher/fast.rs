//! Fast matching for fully anchored regexes, derived from the pattern's HIR.
//!
//! The HIR is expanded into a finite list of alternatives, each a sequence of literal strings
//! and "gaps" (`.*`, `.+`, `(?s:.*)`, `.{n,}`: any run of at least `n` characters, newline
//! excluded unless dotall). Alternatives without gaps form an exact literal set (sorted,
//! searched by comparison); the others are matched by a linear scan ("globs"). When the HIR
//! contains anything else (bounded single-character wildcards, unbounded repetition of other
//! things, assertions other than the outer anchors, byte classes), or the expansion would be
//! too large, the compiled `regex::Regex` is used instead.
//!
//! Invariants:
//! - the language of `set ∪ globs` equals the language of the anchored regex exactly, so
//!   the set can be used for index lookups without re-checking;
//! - every match starts with `prefix`;
//! - all gaps of one glob agree on dotall, which is what makes leftmost-first literal search
//!   exact (see [`Glob::is_match`]).

use regex_syntax::hir::{self, Class, ClassUnicode, Hir, HirKind, Look};

/// Most literal-only alternatives kept from an expansion when the pattern is short; longer
/// patterns may keep up to their length (a plain alternation never expands beyond it).
const MIN_SET_LIMIT: usize = 256;
/// Most bytes of literal text an expansion may produce, at minimum.
const MIN_BYTES_LIMIT: usize = 64 * 1024;
/// Most alternatives with gaps matched by scanning; beyond this the regex engine is faster.
const MAX_GLOBS: usize = 16;

/// How a regex's language is matched.
#[derive(Debug)]
pub(super) enum Strategy {
    /// Exact expansion: `v` matches iff `v` is in `set` or matches one of `globs`.
    Expanded {
        /// Sorted, deduplicated literal alternatives.
        set: Vec<String>,
        /// Alternatives containing gaps.
        globs: Vec<Glob>,
    },
    /// The regex engine, compiled from `^(?:pattern)$`.
    Regex(regex::Regex),
}

/// A compiled anchored regex.
#[derive(Debug)]
pub(super) struct Compiled {
    strategy: Strategy,
    prefix: String,
    matches_all_non_empty: bool,
}

impl Compiled {
    /// Builds the matcher for `hir` (already validated); `regex_text` is the pattern text for
    /// the regex engine, compiled only when the expansion fails.
    pub(super) fn new(hir: &Hir, regex_text: &str) -> Result<Compiled, String> {
        let limits = Limits {
            max_alts: MIN_SET_LIMIT.max(regex_text.len()),
            max_bytes: MIN_BYTES_LIMIT.max(regex_text.len().saturating_mul(4)),
        };
        if let Some((set, globs)) = expand(hir, &limits) {
            let matches_all_non_empty = globs.iter().any(|g| {
                g.head.is_empty()
                    && matches!(g.segments.as_slice(), [(gap, lit)] if lit.is_empty() && gap.dotall && gap.min <= 1)
            });
            let prefix = common_prefix(
                set.iter()
                    .map(String::as_str)
                    .chain(globs.iter().map(|g| g.head.as_str())),
            );
            return Ok(Compiled {
                strategy: Strategy::Expanded { set, globs },
                prefix,
                matches_all_non_empty,
            });
        }
        let re = regex::RegexBuilder::new(&format!("^(?:{regex_text})$"))
            .octal(true)
            .build()
            .map_err(|e| e.to_string())?;
        let seq = hir::literal::Extractor::new()
            .kind(hir::literal::ExtractKind::Prefix)
            .extract(hir);
        let prefix = seq
            .longest_common_prefix()
            .map(utf8_prefix)
            .unwrap_or_default();
        Ok(Compiled {
            strategy: Strategy::Regex(re),
            prefix,
            matches_all_non_empty: false,
        })
    }

    /// Whether the anchored regex matches `v`.
    #[inline]
    pub(super) fn is_match(&self, v: &str) -> bool {
        match &self.strategy {
            Strategy::Expanded { set, globs } => {
                set_contains(set, v) || globs.iter().any(|g| g.is_match(v))
            }
            Strategy::Regex(re) => has_prefix(v, &self.prefix) && re.is_match(v),
        }
    }

    /// The exact finite language, when there is one.
    pub(super) fn set(&self) -> Option<&[String]> {
        match &self.strategy {
            Strategy::Expanded { set, globs } if globs.is_empty() => Some(set),
            _ => None,
        }
    }

    /// A prefix of every match.
    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// True if every non-empty string matches (known only for the analysed forms).
    pub(super) fn matches_all_non_empty(&self) -> bool {
        self.matches_all_non_empty
    }

    /// True if the regex engine is used (for tests).
    #[cfg(test)]
    pub(super) fn uses_regex_engine(&self) -> bool {
        matches!(self.strategy, Strategy::Regex(_))
    }
}

#[inline]
fn set_contains(set: &[String], v: &str) -> bool {
    if set.len() <= 8 {
        set.iter().any(|s| bytes_eq(s.as_bytes(), v.as_bytes()))
    } else {
        set.binary_search_by(|s| s.as_str().cmp(v)).is_ok()
    }
}

/// Byte equality that compares short strings inline. Label values and literals are short, and a
/// libc `memcmp` call per comparison costs more than the comparison itself (far more on some
/// virtual machines, where the vectorised variants are slow to enter).
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 32 {
        return a == b;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// `s.starts_with(p)` via [`bytes_eq`].
#[inline]
pub(crate) fn has_prefix(s: &str, p: &str) -> bool {
    p.is_empty() || (s.len() >= p.len() && bytes_eq(&s.as_bytes()[..p.len()], p.as_bytes()))
}

/// `s.strip_prefix(p)` via [`bytes_eq`].
#[inline]
fn strip_prefix<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    // A byte prefix equal to a whole `str` ends on a character boundary, so `get` succeeds.
    if has_prefix(s, p) {
        s.get(p.len()..)
    } else {
        None
    }
}

/// `s.strip_suffix(p)` via [`bytes_eq`].
#[inline]
fn strip_suffix<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    if p.is_empty() {
        return Some(s);
    }
    let cut = s.len().checked_sub(p.len())?;
    if bytes_eq(&s.as_bytes()[cut..], p.as_bytes()) {
        s.get(..cut)
    } else {
        None
    }
}

/// The longest valid UTF-8 prefix of `b` (a byte-wise common prefix may end mid-character).
fn utf8_prefix(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(e) => String::from_utf8_lossy(&b[..e.valid_up_to()]).into_owned(),
    }
}

/// Longest common prefix of `items`, cut at a character boundary; "" for no items.
fn common_prefix<'a>(mut items: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = items.next() else {
        return String::new();
    };
    let mut len = first.len();
    for s in items {
        len = first.as_bytes()[..len]
            .iter()
            .zip(s.as_bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if len == 0 {
            break;
        }
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    first[..len].to_owned()
}

/// Any run of at least `min` characters; without `dotall`, none of them is `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Gap {
    min: u32,
    dotall: bool,
}

impl Gap {
    /// Consumes the `min` mandatory characters.
    #[inline]
    fn skip_min<'a>(&self, s: &'a str) -> Option<&'a str> {
        let mut it = s.chars();
        for _ in 0..self.min {
            let c = it.next()?;
            if c == '\n' && !self.dotall {
                return None;
            }
        }
        Some(it.as_str())
    }

    /// Whether `s` may make up the optional part of the gap.
    #[inline]
    fn allows(&self, s: &str) -> bool {
        self.dotall || !s.as_bytes().contains(&b'\n')
    }
}

/// `head gap₁ lit₁ gap₂ lit₂ … gapₙ litₙ`, where only the last literal may be empty.
#[derive(Debug)]
pub(super) struct Glob {
    head: String,
    segments: Vec<(Gap, String)>,
}

impl Glob {
    fn from_pieces(pieces: Vec<Piece>) -> Option<Glob> {
        let mut it = pieces.into_iter().peekable();
        let head = match it.peek() {
            Some(Piece::Lit(_)) => match it.next() {
                Some(Piece::Lit(s)) => s,
                _ => return None,
            },
            _ => String::new(),
        };
        let mut segments = Vec::new();
        while let Some(p) = it.next() {
            let Piece::Gap(gap) = p else { return None };
            let lit = match it.next() {
                Some(Piece::Lit(s)) => s,
                Some(Piece::Gap(_)) => return None,
                None => String::new(),
            };
            segments.push((gap, lit));
        }
        let first = segments.first()?.0.dotall;
        if segments.iter().any(|(g, _)| g.dotall != first) {
            return None;
        }
        Some(Glob { head, segments })
    }

    /// Anchored match. Each middle literal is taken at its leftmost occurrence: with unbounded
    /// gaps that all agree on dotall, a later occurrence can only leave less room (the text
    /// skipped over could have been absorbed by the next gap instead), so leftmost is exact.
    #[inline]
    fn is_match(&self, s: &str) -> bool {
        let Some(mut rest) = strip_prefix(s, &self.head) else {
            return false;
        };
        let last = self.segments.len() - 1;
        for (i, (gap, lit)) in self.segments.iter().enumerate() {
            let Some(r) = gap.skip_min(rest) else {
                return false;
            };
            if i == last {
                return match strip_suffix(r, lit) {
                    Some(mid) => gap.allows(mid),
                    None => false,
                };
            }
            let Some(at) = r.find(lit.as_str()) else {
                return false;
            };
            if !gap.allows(&r[..at]) {
                return false;
            }
            rest = &r[at + lit.len()..];
        }
        false
    }
}

/// A step of an expanded alternative.
#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Gap(Gap),
}

/// An alternative: normalized so literals and gaps alternate and no literal is empty.
type Alt = Vec<Piece>;

struct Limits {
    max_alts: usize,
    max_bytes: usize,
}

/// Splits the exact expansion of `hir` into literal alternatives and globs.
fn expand(hir: &Hir, limits: &Limits) -> Option<(Vec<String>, Vec<Glob>)> {
    let alts = seq(hir, true, true, limits)?;
    let mut set = Vec::new();
    let mut globs = Vec::new();
    for alt in alts {
        let mut alt = alt;
        match alt.len() {
            0 => set.push(String::new()),
            1 if matches!(alt[0], Piece::Lit(_)) => {
                if let Some(Piece::Lit(s)) = alt.pop() {
                    set.push(s);
                }
            }
            _ => {
                if globs.len() == MAX_GLOBS {
                    return None;
                }
                globs.push(Glob::from_pieces(alt)?);
            }
        }
    }
    set.sort_unstable();
    set.dedup();
    Some((set, globs))
}

fn push_piece(alt: &mut Alt, p: &Piece) -> Option<()> {
    match (alt.last_mut(), p) {
        (_, Piece::Lit(b)) if b.is_empty() => {}
        (Some(Piece::Lit(a)), Piece::Lit(b)) => a.push_str(b),
        (Some(Piece::Gap(a)), Piece::Gap(b)) => *a = merge_gaps(*a, *b)?,
        (_, p) => alt.push(p.clone()),
    }
    Some(())
}

/// The single gap equal to `a` followed by `b`, when there is one.
fn merge_gaps(a: Gap, b: Gap) -> Option<Gap> {
    if a.dotall == b.dotall {
        Some(Gap {
            min: a.min.checked_add(b.min)?,
            dotall: a.dotall,
        })
    } else if a.min == 0 && !a.dotall {
        // `[^\n]*(?s:.{n,})` = `(?s:.{n,})`: the first part can always be empty.
        Some(b)
    } else if b.min == 0 && !b.dotall {
        Some(a)
    } else {
        None
    }
}

/// All concatenations `x ++ y`; `None` beyond the limits.
fn product(xs: &[Alt], ys: &[Alt], limits: &Limits) -> Option<Vec<Alt>> {
    if xs.len().checked_mul(ys.len())? > limits.max_alts {
        return None;
    }
    let mut out = Vec::with_capacity(xs.len() * ys.len());
    let mut bytes = 0usize;
    for x in xs {
        for y in ys {
            let mut z = x.clone();
            for p in y {
                push_piece(&mut z, p)?;
            }
            bytes += alt_bytes(&z);
            if bytes > limits.max_bytes {
                return None;
            }
            out.push(z);
        }
    }
    Some(out)
}

fn alt_bytes(alt: &Alt) -> usize {
    alt.iter()
        .map(|p| if let Piece::Lit(s) = p { s.len() } else { 0 })
        .sum()
}

fn alts_bytes(alts: &[Alt]) -> usize {
    alts.iter().map(alt_bytes).sum()
}

/// `Some(dotall)` if `hir` is a single "any character" class (`.` or `(?s:.)`).
fn any_char(hir: &Hir) -> Option<bool> {
    match hir.kind() {
        HirKind::Capture(c) => any_char(&c.sub),
        HirKind::Class(Class::Unicode(c)) => {
            let r: Vec<(char, char)> = c.ranges().iter().map(|r| (r.start(), r.end())).collect();
            match r.as_slice() {
                [('\0', '\u{10FFFF}')] => Some(true),
                [('\0', '\t'), ('\x0b', '\u{10FFFF}')] => Some(false),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Number of characters in a class (surrogates are not characters).
fn class_len(c: &ClassUnicode) -> usize {
    c.ranges()
        .iter()
        .map(|r| {
            let (a, b) = (u32::from(r.start()), u32::from(r.end()));
            let n = (b - a + 1) as usize;
            if a < 0xD800 && b > 0xDFFF {
                n - 0x800
            } else {
                n
            }
        })
        .sum()
}

/// The exact language of `hir` as alternatives, or `None` if it cannot be expressed within the
/// limits. `at_start`/`at_end` say whether `hir` is known to begin at the start / end at the
/// end of the input, where `^`/`\A` and `$`/`\z` always hold.
fn seq(hir: &Hir, at_start: bool, at_end: bool, limits: &Limits) -> Option<Vec<Alt>> {
    match hir.kind() {
        HirKind::Empty => Some(vec![Vec::new()]),
        HirKind::Literal(l) => {
            let s = std::str::from_utf8(&l.0).ok()?;
            Some(vec![vec![Piece::Lit(s.to_owned())]])
        }
        HirKind::Class(Class::Unicode(c)) => {
            if class_len(c) > limits.max_alts {
                return None;
            }
            let mut out = Vec::new();
            for r in c.ranges() {
                for cp in u32::from(r.start())..=u32::from(r.end()) {
                    if let Some(ch) = char::from_u32(cp) {
                        out.push(vec![Piece::Lit(ch.to_string())]);
                    }
                }
            }
            Some(out)
        }
        // The empty class (`Hir::fail()`, e.g. `[^\s\S]`) is a byte class; it matches nothing.
        HirKind::Class(Class::Bytes(c)) if c.ranges().is_empty() => Some(Vec::new()),
        HirKind::Class(Class::Bytes(_)) => None,
        HirKind::Look(look) => match look {
            Look::Start if at_start => Some(vec![Vec::new()]),
            Look::End if at_end => Some(vec![Vec::new()]),
            _ => None,
        },
        HirKind::Repetition(rep) => {
            if let Some(dotall) = any_char(&rep.sub) {
                return match rep.max {
                    None => Some(vec![vec![Piece::Gap(Gap {
                        min: rep.min,
                        dotall,
                    })]]),
                    Some(_) => None,
                };
            }
            let max = rep.max?;
            let sub = seq(&rep.sub, false, false, limits)?;
            let mut power: Vec<Alt> = vec![Vec::new()];
            for _ in 0..rep.min {
                power = product(&power, &sub, limits)?;
            }
            let mut out = power.clone();
            let mut bytes = alts_bytes(&out);
            for _ in rep.min..max {
                power = product(&power, &sub, limits)?;
                if power.is_empty() {
                    break;
                }
                bytes += alts_bytes(&power);
                out.extend(power.iter().cloned());
                if out.len() > limits.max_alts || bytes > limits.max_bytes {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Capture(c) => seq(&c.sub, at_start, at_end, limits),
        HirKind::Concat(subs) => {
            let last = subs.len().saturating_sub(1);
            let mut acc: Vec<Alt> = vec![Vec::new()];
            for (i, s) in subs.iter().enumerate() {
                let part = seq(s, at_start && i == 0, at_end && i == last, limits)?;
                acc = product(&acc, &part, limits)?;
            }
            Some(acc)
        }
        HirKind::Alternation(subs) => {
            let mut out = Vec::new();
            for s in subs {
                out.extend(seq(s, at_start, at_end, limits)?);
                if out.len() > limits.max_alts {
                    return None;
                }
            }
            Some(out)
        }
    }
}
