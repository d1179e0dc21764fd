//! Relabel regular expressions with Go RE2 semantics on top of the `regex` crate.
//!
//! Prometheus 3.x compiles `regex` as `^(?s:<regex>)$` with Go's `regexp`: `.` matches `\n`
//! too (2.x used `^(?:<regex>)$`). The two syntaxes agree on what relabel rules use, except:
//! - Go's `\d \w \s \b` (and negations) are ASCII-only; Rust's are Unicode. They are rewritten
//!   to explicit ASCII classes.
//! - Go supports `\Q…\E` literals; they are rewritten to escaped text.
//! - Inside a class, Go takes `[`, `&&`, `~~` literally where Rust would nest or combine
//!   classes; they are escaped. POSIX classes like `[[:alpha:]]` are kept.
//! - Go takes a `{` that does not start a valid repetition literally; Rust rejects it.
//!
//! Replacement templates are expanded with [`Regex::expand`], a port of the behaviour of Go's
//! `Regexp.ExpandString` (not of Rust's `Captures::expand`, which differs on `${…}` with
//! non-word characters, on leading zeros and on non-ASCII names).

use std::fmt;

/// A compiled, fully anchored relabel regex. Equality compares the source text and whether it
/// is the implicit default.
#[derive(Clone)]
pub struct Regex {
    source: String,
    /// No `regex` key was given: this is the default `(.*)`, which enables `replace`'s fast
    /// path (Prometheus compares against its default regex by identity).
    is_default: bool,
    compiled: regex::Regex,
    /// The source is exactly `(.*)`: it matches any value (newlines included), capturing all
    /// of it.
    dot_star: bool,
}

impl Regex {
    /// The default relabel regex, `(.*)`, as used when no `regex` key is given.
    pub fn default_regex() -> Self {
        let mut r = Regex::new("(.*)").expect("the default regex compiles");
        r.is_default = true;
        r
    }

    /// Compiles `source` anchored as `^(?s:source)$` with Go semantics. The error text is
    /// `error parsing regexp: <reason>: `^(?s:source)$``, as Prometheus words it (the reason
    /// comes from the Rust parser, so it differs from Go's).
    pub fn new(source: &str) -> Result<Self, String> {
        let anchored = format!("^(?s:{source})$");
        let translated = translate(source)
            .map_err(|reason| format!("error parsing regexp: {reason}: `{anchored}`"))?;
        let compiled = regex::RegexBuilder::new(&format!("^(?s:{translated})$"))
            .size_limit(1 << 24)
            .build()
            .map_err(|e| {
                let reason = match &e {
                    regex::Error::Syntax(text) => text
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .unwrap_or("invalid syntax")
                        .to_owned(),
                    other => other.to_string(),
                };
                format!("error parsing regexp: {reason}: `{anchored}`")
            })?;
        Ok(Regex {
            dot_star: source == "(.*)",
            source: source.to_owned(),
            is_default: false,
            compiled,
        })
    }

    /// The regex as written in the configuration (without the anchors).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether this is the implicit default (no `regex` key).
    pub fn is_default(&self) -> bool {
        self.is_default
    }

    /// Whether the whole of `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        if self.dot_star {
            return true;
        }
        self.compiled.is_match(value)
    }

    /// Matches `value` and, on a match, expands `template` with the captures (Go's
    /// `ExpandString`). `None` when the regex does not match.
    pub fn match_expand(&self, value: &str, template: &str) -> Option<String> {
        self.match_expand_all(value, [template]).map(|[s]| s)
    }

    /// Like [`Regex::match_expand`] for several templates, matching once.
    pub fn match_expand_all<const N: usize>(
        &self,
        value: &str,
        templates: [&str; N],
    ) -> Option<[String; N]> {
        if self.dot_star {
            return Some(templates.map(|t| {
                let mut out = String::new();
                expand_with(t, &mut out, |group| match group {
                    Group::Index(0) | Group::Index(1) => Some(value),
                    _ => None,
                });
                out
            }));
        }
        let caps = self.compiled.captures(value)?;
        Some(templates.map(|t| self.expand(t, &caps)))
    }

    /// Expands `template` with `caps` like Go's `Regexp.ExpandString`: `$1`, `${1}`, `$name`,
    /// `${name}`, `$$`; a name is the longest run of letters, digits and `_`; a reference to a
    /// missing or unmatched group expands to nothing; a malformed `$` is copied.
    pub fn expand(&self, template: &str, caps: &regex::Captures<'_>) -> String {
        let mut out = String::new();
        expand_with(template, &mut out, |group| match group {
            Group::Index(i) => caps.get(i).map(|m| m.as_str()),
            Group::Name(name) => {
                // Go takes the first group with that name.
                let idx = self
                    .compiled
                    .capture_names()
                    .position(|n| n == Some(name))?;
                caps.get(idx).map(|m| m.as_str())
            }
        });
        out
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.is_default == other.is_default
    }
}

impl Eq for Regex {}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.source)
    }
}

/// A capture-group reference in a template.
enum Group<'a> {
    Index(usize),
    Name(&'a str),
}

fn expand_with<'t, 'v>(
    template: &'t str,
    out: &mut String,
    lookup: impl Fn(Group<'t>) -> Option<&'v str>,
) {
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match extract(rest) {
            None => out.push('$'),
            Some((name, after)) => {
                rest = after;
                if let Some(v) = lookup(group_of(name)) {
                    out.push_str(v);
                }
            }
        }
    }
    out.push_str(rest);
}

/// Go's `extract`: a name after `$`, braced or not. Returns the name and the text after it.
fn extract(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let mut after = &body[end..];
    if braced {
        after = after.strip_prefix('}')?;
    }
    Some((name, after))
}

/// A name made only of ASCII digits, without a leading zero and below 10^8, is a group
/// number; anything else is a group name.
fn group_of(name: &str) -> Group<'_> {
    let numeric = name.bytes().all(|b| b.is_ascii_digit())
        && !(name.len() > 1 && name.starts_with('0'))
        && name.len() <= 8;
    match name.parse::<usize>() {
        Ok(n) if numeric => Group::Index(n),
        _ => Group::Name(name),
    }
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "0-9A-Za-z_";
const ASCII_SPACE: &str = r"\t\n\x0C\r ";

/// Rewrites a Go RE2 pattern into the Rust `regex` syntax with the same meaning (see the
/// module doc). Errors only for what Go rejects too (an unterminated escape).
pub(crate) fn translate(go: &str) -> Result<String, String> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Position in `chars` just after the class's `[` or `[^`, where `]` is literal.
    let mut class_body_start = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                return Err("trailing backslash at end of expression".to_owned());
            };
            i += 2;
            let perl = |set: &str, negated: bool| -> String {
                match (in_class, negated) {
                    (true, false) => set.to_owned(),
                    (_, true) => format!("[^{set}]"),
                    (false, false) => format!("[{set}]"),
                }
            };
            match next {
                'd' => out.push_str(&perl(ASCII_DIGIT, false)),
                'D' => out.push_str(&perl(ASCII_DIGIT, true)),
                'w' => out.push_str(&perl(ASCII_WORD, false)),
                'W' => out.push_str(&perl(ASCII_WORD, true)),
                's' => out.push_str(&perl(ASCII_SPACE, false)),
                'S' => out.push_str(&perl(ASCII_SPACE, true)),
                'b' if !in_class => out.push_str(r"(?-u:\b)"),
                'B' if !in_class => out.push_str(r"(?-u:\B)"),
                'Q' => {
                    let mut lit = String::new();
                    while i < chars.len() {
                        if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        lit.push(chars[i]);
                        i += 1;
                    }
                    if in_class {
                        for ch in lit.chars() {
                            push_class_literal(&mut out, ch);
                        }
                    } else {
                        out.push_str(&regex::escape(&lit));
                    }
                }
                _ => {
                    out.push('\\');
                    out.push(next);
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' if i > class_body_start => {
                    in_class = false;
                    out.push(']');
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    // A POSIX class `[:name:]`: copy through its closing `:]`.
                    let close = (i + 2..chars.len().saturating_sub(1))
                        .find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                    match close {
                        Some(j) => {
                            out.extend(&chars[i..j + 2]);
                            i = j + 2;
                            continue;
                        }
                        None => out.push_str(r"\["),
                    }
                }
                _ => push_class_literal(&mut out, c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_body_start = i;
                continue;
            }
            '{' if !starts_repetition(&chars[i..]) => out.push_str(r"\{"),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// Pushes a character that Go takes literally inside a class.
fn push_class_literal(out: &mut String, c: char) {
    match c {
        // Rust would open a nested class or read a set operation (`&&`, `~~`, `--`).
        '[' | '&' | '~' => {
            out.push('\\');
            out.push(c);
        }
        '-' if out.ends_with('-') && !out.ends_with("\\-") => out.push_str(r"\-"),
        _ => out.push(c),
    }
}

/// Whether `s` (starting at `{`) is a repetition `{n}`, `{n,}` or `{n,m}`.
fn starts_repetition(s: &[char]) -> bool {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    s.get(i) == Some(&'}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn anchored_and_dot_matches_newline_as_in_3_x() {
        assert!(re("f|o").is_match("f"));
        assert!(!re("f|o").is_match("foo"));
        assert!(re("foo.*").is_match("foo\nbar"));
        assert!(re("(.*)").is_match("a\nb"));
        assert!(re("(.*)").is_match(""));
        assert!(!re("(?-s:foo.*)").is_match("foo\nbar"));
        assert_eq!(
            re("(.*)").match_expand("a\nb", "x$1").as_deref(),
            Some("xa\nb")
        );
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(re(r"\d+").is_match("123"));
        assert!(!re(r"\d").is_match("٣"));
        assert!(!re(r"\w").is_match("é"));
        assert!(re(r"\W").is_match("é"));
        assert!(re(r"[\w.]+").is_match("a.b_c"));
        assert!(!re(r"[\d]").is_match("٣"));
        assert!(re(r"[^\D]").is_match("7"));
        assert!(re(r"\s").is_match("\t"));
        assert!(!re(r"\s").is_match("\u{a0}"));
        assert!(re(r"a\b.*").is_match("a b"));
        assert!(re(r"([^:]+)(?::\d+)?;(\d+)").is_match("host:1234;9191"));
    }

    #[test]
    fn go_literals_rust_would_reject() {
        assert!(re(r"\Qa.b\E").is_match("a.b"));
        assert!(!re(r"\Qa.b\E").is_match("axb"));
        assert!(re("a{").is_match("a{"));
        assert!(re("x{foo}").is_match("x{foo}"));
        assert!(re("a{2}").is_match("aa"));
        assert!(re("[[]").is_match("["));
        assert!(re("[]a]").is_match("]"));
        assert!(re("[a&&b]").is_match("&"));
        assert!(re("[[:alpha:]]+").is_match("abc"));
    }

    #[test]
    fn compile_errors_name_the_anchored_regex() {
        let e = Regex::new("(abc").unwrap_err();
        assert!(e.starts_with("error parsing regexp: "), "{e}");
        assert!(e.ends_with(": `^(?s:(abc)$`"), "{e}");
        assert!(Regex::new("\\").is_err());
        assert!(Regex::new("*").is_err());
    }

    fn expand(regex: &str, value: &str, template: &str) -> Option<String> {
        re(regex).match_expand(value, template)
    }

    #[test]
    fn expansion_follows_go() {
        assert_eq!(
            expand("f(.*)", "foo", "ch${1}-ch${1}").unwrap(),
            "choo-choo"
        );
        assert_eq!(expand("(.*)", "foo", "$1").unwrap(), "foo");
        assert_eq!(expand("(a)(b)", "ab", "$2$1").unwrap(), "ba");
        // `$1_x` names group "1_x", which does not exist.
        assert_eq!(expand("(a)", "a", "$1_x").unwrap(), "");
        assert_eq!(expand("(a)", "a", "${1}_x").unwrap(), "a_x");
        assert_eq!(expand("(a)", "a", "$$1").unwrap(), "$1");
        assert_eq!(expand("(a)", "a", "cost: $").unwrap(), "cost: $");
        assert_eq!(expand("(a)", "a", "$!").unwrap(), "$!");
        // Go: `${` without a closing brace or with a non-word character is copied literally.
        assert_eq!(expand("(a)", "a", "${1").unwrap(), "${1");
        assert_eq!(expand("(a)", "a", "${a-b}").unwrap(), "${a-b}");
        assert_eq!(expand("(a)", "a", "${}").unwrap(), "${}");
        // Leading zeros make a name, not a number.
        assert_eq!(expand("(a)", "a", "$01").unwrap(), "");
        assert_eq!(expand("(a)", "a", "$0").unwrap(), "a");
        assert_eq!(
            expand("(?P<host>[^:]+):(?P<port>\\d+)", "h:1", "$port/$host").unwrap(),
            "1/h"
        );
        assert_eq!(
            expand("(?P<host>[^:]+):(?P<port>\\d+)", "h:1", "${port}x").unwrap(),
            "1x"
        );
        assert_eq!(expand("(a)|(b)", "a", "[$2]").unwrap(), "[]");
        assert_eq!(expand("(a)", "a", "$99999999999").unwrap(), "");
        assert!(expand("f", "boo", "x").is_none());
        assert_eq!(expand("(.*)", "a\nb", "$1").as_deref(), Some("a\nb"));
    }
}
