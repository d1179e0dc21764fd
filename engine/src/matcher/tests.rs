use super::*;
use proptest::prelude::*;

fn m(kind: MatchType, v: &str) -> Matcher {
    match Matcher::new(kind, "a", v) {
        Ok(m) => m,
        Err(e) => panic!("matcher {kind}{v:?}: {e}"),
    }
}

use MatchType::{Equal, NotEqual, RegexMatch, RegexNoMatch};

/// A matcher kind and pattern, with values and whether each should match.
type Case = (MatchType, &'static str, &'static [(&'static str, bool)]);

#[test]
fn table() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        (Equal, "foo", &[("foo", true), ("foobar", false), ("", false), ("Foo", false)]),
        (Equal, "", &[("", true), ("x", false)]),
        (NotEqual, "foo", &[("foo", false), ("bar", true), ("", true)]),
        (NotEqual, "", &[("", false), ("x", true)]),
        (RegexMatch, "foo", &[("foo", true), ("foobar", false), ("xfoo", false), ("", false), ("FOO", false)]),
        (RegexMatch, "a|b", &[("a", true), ("b", true), ("ab", false), ("", false), ("a|b", false)]),
        (RegexMatch, "(a|b)", &[("a", true), ("b", true), ("c", false)]),
        (RegexMatch, "(?:ab|cd)", &[("ab", true), ("cd", true), ("abcd", false)]),
        (RegexMatch, "x|", &[("x", true), ("", true), ("y", false)]),
        (RegexMatch, "", &[("", true), ("a", false)]),
        (RegexMatch, ".*", &[("", true), ("abc", true), ("a\nb", true), ("\n", true)]),
        (RegexMatch, "(?s).*", &[("", true), ("a\nb", true)]),
        (RegexMatch, "(?s:.+)", &[("", false), ("\n", true)]),
        (RegexMatch, ".+", &[("", false), ("a", true), ("\n", true), ("ab\n", true)]),
        (RegexMatch, "foo.*", &[("foo", true), ("foobar", true), ("fo", false), ("xfoo", false), ("foo\nbar", true)]),
        (RegexMatch, "foo.+bar", &[("foobar", false), ("fooxbar", true), ("foo\nbar", true), ("foo-bar-bar", true)]),
        (RegexMatch, ".*foo.*", &[("foo", true), ("xfooy", true), ("fo", false), ("\nfoo", true)]),
        (RegexMatch, ".*-prod", &[("api-prod", true), ("api-prod2", false), ("-prod", true)]),
        (RegexMatch, "a.*b.*c", &[("abc", true), ("aXbYc", true), ("acb", false), ("abcbc", true), ("ab\nc", true)]),
        (RegexMatch, "(?s)a.*b", &[("a\nb", true), ("ab", true), ("ba", false)]),
        (RegexMatch, "a.b", &[("axb", true), ("ab", false), ("a\nb", true)]),
        (RegexMatch, "(?-s)a.b", &[("axb", true), ("a\nb", false)]),
        (RegexMatch, "[0-9]+", &[("123", true), ("", false), ("12a", false)]),
        (RegexMatch, "\\d+", &[("123", true), ("\u{663}", false)]),
        (RegexMatch, "\\w+", &[("abc_1", true), ("é", false)]),
        (RegexMatch, "\\W", &[("é", true), ("a", false)]),
        (RegexMatch, "\\s", &[(" ", true), ("\t", true), ("\u{a0}", false), ("\x0b", false)]),
        (RegexMatch, "[^\\d]", &[("a", true), ("1", false), ("\u{663}", true)]),
        (RegexMatch, "[\\w-]+", &[("a-b", true), ("é", false)]),
        (RegexMatch, "(?i)foo", &[("FOO", true), ("Foo", true), ("fo", false)]),
        (RegexMatch, "a\\.b", &[("a.b", true), ("axb", false)]),
        (RegexMatch, "\\$\\^\\(\\)\\[\\]\\{\\}\\|\\*\\+\\?\\\\", &[("$^()[]{}|*+?\\", true)]),
        (RegexMatch, "é|ü", &[("é", true), ("ü", true), ("e", false)]),
        (RegexMatch, "日本.*", &[("日本語", true), ("日", false)]),
        (RegexMatch, "^foo$", &[("foo", true), ("foox", false)]),
        (RegexMatch, "^(foo|bar)$|baz", &[("foo", true), ("bar", true), ("baz", true), ("foobar", false)]),
        (RegexMatch, "foo$bar", &[("foo", false), ("foobar", false), ("foo$bar", false)]),
        (RegexMatch, "\\bfoo\\b", &[("foo", true)]),
        (RegexMatch, "\\Bx", &[("x", false)]),
        (RegexMatch, "a{2}", &[("aa", true), ("a", false), ("aaa", false)]),
        (RegexMatch, "a?b", &[("b", true), ("ab", true), ("aab", false)]),
        (RegexMatch, "[^a]", &[("b", true), ("a", false), ("", false)]),
        (RegexMatch, "\\x41\\101", &[("AA", true)]),
        (RegexMatch, "(?m)^a$", &[("a", true), ("a\n", false)]),
        (RegexMatch, "[^\\s\\S]", &[("", false), ("a", false)]),
        (RegexNoMatch, "foo", &[("foo", false), ("bar", true), ("", true)]),
        (RegexNoMatch, "x|", &[("", false), ("x", false), ("y", true)]),
        (RegexNoMatch, ".*", &[("", false), ("x", false), ("a\nb", false)]),
        (RegexNoMatch, ".+", &[("", true), ("x", false)]),
        (RegexNoMatch, "foo.*", &[("foo", false), ("fo", true), ("", true)]),
    ];
    for (kind, pattern, checks) in cases {
        let mt = m(*kind, pattern);
        for (v, want) in *checks {
            assert_eq!(mt.matches(v), *want, "{mt} on {v:?}");
        }
        assert_eq!(mt.matches_empty(), mt.matches(""), "{mt}");
        // Every regex agrees with the plain anchored regex engine on the same (Go-adjusted) text.
        if kind.is_regex() {
            let parsed = syntax::parse(pattern).unwrap();
            let re = regex::RegexBuilder::new(&format!("^(?:{})$", parsed.regex_text))
                .octal(true)
                .build()
                .unwrap();
            for (v, _) in *checks {
                assert_eq!(
                    mt.matches(v),
                    re.is_match(v) != kind.is_negative(),
                    "{mt} vs regex on {v:?}"
                );
            }
        }
    }
}

#[test]
fn fast_paths_avoid_the_regex_engine() {
    for p in [
        ".*",
        ".+",
        "(?s).*",
        "a|b|c",
        "foo.*",
        "foo.+",
        ".*foo.*",
        ".*foo",
        "(?i)foo",
        "[ab]x",
        "x|",
        "foo.*|bar.*",
        "^foo.*$",
        "(foo|bar)-.*",
        "a.*b.*c",
        "\\d\\d",
        "",
    ] {
        assert!(
            !m(RegexMatch, p).uses_regex_engine(),
            "{p} should not use the regex engine"
        );
    }
    for p in ["a.b", "[a-z]+", "(ab)*", "x.*y.?", "a[bc]+d"] {
        assert!(
            m(RegexMatch, p).uses_regex_engine(),
            "{p} should use the regex engine"
        );
    }
}

#[test]
fn set_matches() {
    let set = |kind, p: &str| m(kind, p).set_matches().map(|s| s.to_vec());
    let v = |xs: &[&str]| Some(xs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(set(RegexMatch, "a|b|c"), v(&["a", "b", "c"]));
    assert_eq!(set(RegexMatch, "c|b|a|b"), v(&["a", "b", "c"]));
    assert_eq!(set(RegexMatch, "(a|b)"), v(&["a", "b"]));
    assert_eq!(set(RegexMatch, "(?:foo|bar)"), v(&["bar", "foo"]));
    assert_eq!(set(RegexMatch, "foo"), v(&["foo"]));
    assert_eq!(set(RegexMatch, "x|"), v(&["", "x"]));
    assert_eq!(set(RegexMatch, ""), v(&[""]));
    assert_eq!(set(RegexMatch, "[ab]"), v(&["a", "b"]));
    // Case folding is Unicode-aware (as in Go): `k` also folds to the Kelvin sign.
    assert_eq!(
        set(RegexMatch, "(?i)ok"),
        v(&["OK", "Ok", "O\u{212A}", "oK", "ok", "o\u{212A}"])
    );
    assert_eq!(set(RegexMatch, "(?i)ab"), v(&["AB", "Ab", "aB", "ab"]));
    assert_eq!(
        set(RegexMatch, "api-(eu|us)-[12]"),
        v(&["api-eu-1", "api-eu-2", "api-us-1", "api-us-2"])
    );
    assert_eq!(set(RegexMatch, "foo\\.bar"), v(&["foo.bar"]));
    assert_eq!(set(RegexMatch, "^a$"), v(&["a"]));
    assert_eq!(set(RegexMatch, "[^\\s\\S]"), v(&[]));
    assert_eq!(set(RegexNoMatch, "a|b"), v(&["a", "b"]));
    assert_eq!(set(RegexMatch, ".*"), None);
    assert_eq!(set(RegexMatch, "foo.*"), None);
    assert_eq!(set(RegexMatch, "a.b"), None);
    assert_eq!(set(RegexMatch, "[a-z]{4}"), None, "too large to expand");
    assert_eq!(set(Equal, "a"), None);
    assert_eq!(set(NotEqual, "a"), None);
    // A long literal alternation is kept as a set, however many values it has.
    let many: Vec<String> = (0..5000).map(|i| format!("v{i}")).collect();
    assert_eq!(
        m(RegexMatch, &many.join("|"))
            .set_matches()
            .map(<[String]>::len),
        Some(5000)
    );
}

#[test]
fn prefixes() {
    let p = |kind, v: &str| m(kind, v).prefix().to_owned();
    assert_eq!(p(RegexMatch, "foo.*"), "foo");
    assert_eq!(p(RegexMatch, "foo.+bar"), "foo");
    assert_eq!(p(RegexMatch, "foo|foobar"), "foo");
    assert_eq!(p(RegexMatch, "abc|abd"), "ab");
    assert_eq!(p(RegexMatch, ".*foo"), "");
    assert_eq!(p(RegexMatch, "a.b"), "a");
    assert_eq!(p(RegexMatch, "abc[0-9]+"), "abc");
    assert_eq!(p(RegexMatch, "(?i)foo"), "");
    assert_eq!(
        p(RegexMatch, "é.*|è.*"),
        "",
        "a common byte prefix inside a character is cut"
    );
    assert_eq!(p(RegexMatch, "ab.*|"), "");
    assert_eq!(p(Equal, "x"), "x");
    assert_eq!(p(NotEqual, "x"), "");
    assert_eq!(p(RegexNoMatch, "foo.*"), "");
}

#[test]
fn invalid_regexes() {
    for (p, needle) in [
        ("(", "unclosed group"),
        ("*", "repetition operator missing expression"),
        ("[a", "unclosed character class"),
        ("a{1001}", "invalid repeat count"),
        ("(?x)a # comment", "only the flags"),
        ("(?u)a", "only the flags"),
        ("[a&&b]", "set operations"),
        ("[a[b]]", "nested character classes"),
        ("\\<a", "word boundary"),
        ("\\p{NoSuchClass}", "Unicode"),
        ("a)|(b", "unopened group"),
    ] {
        match Matcher::new(RegexMatch, "job", p) {
            Ok(_) => panic!("{p:?} should be rejected"),
            Err(Error::InvalidArgument(msg)) => {
                assert!(msg.contains(needle), "{p:?}: {msg:?} lacks {needle:?}");
                assert!(msg.contains("job"), "{msg}");
            }
            Err(e) => panic!("{p:?}: wrong error {e}"),
        }
    }
    assert!(Matcher::new(Equal, "a", "(").is_ok(), "= takes any string");
    assert!(Matcher::new(RegexMatch, "a", "a{1000}").is_ok());
}

#[test]
fn display_debug_eq() {
    assert_eq!(
        m(RegexMatch, "a|b").to_string().replacen('a', "job", 1),
        "job=~\"a|b\""
    );
    let x = Matcher::new(RegexMatch, "job", "a|b").unwrap();
    assert_eq!(x.to_string(), "job=~\"a|b\"");
    assert_eq!(
        Matcher::equal("a", "x\"y\\z\n").to_string(),
        r#"a="x\"y\\z\n""#
    );
    assert_eq!(
        Matcher::not_equal("a", "é日\u{1}\u{a0}\u{7f}\u{feff}").to_string(),
        r#"a!="é日\x01\u00a0\x7f\ufeff""#
    );
    assert_eq!(m(RegexNoMatch, "\\d").to_string(), r#"a!~"\\d""#);
    assert_eq!(MatchType::NotEqual.to_string(), "!=");
    assert_eq!(x.clone(), x);
    assert_ne!(m(RegexMatch, "a"), m(Equal, "a"));
    assert_eq!(m(Equal, "a"), Matcher::equal("a", "a"));
    assert_eq!(Matcher::not_equal("a", ""), m(NotEqual, ""));
    assert!(!Matcher::not_equal("a", "").matches_empty());
    assert!(Matcher::not_equal("a", "x").matches_empty());
    assert!(Matcher::equal("a", "").matches_empty());
    assert!(format!("{x:?}").contains("a|b"));
}

// ---- property tests -------------------------------------------------------------------------

/// A small regex grammar; `pattern` is what users write, `reference` the same language in
/// plain Rust regex syntax (Perl classes spelled out in ASCII, as Go means them).
#[derive(Debug, Clone)]
enum Re {
    Lit(String),
    Dot,
    DotAll,
    Digit,
    Class(&'static str),
    Star(Box<Re>),
    Plus(Box<Re>),
    Opt(Box<Re>),
    Rep(Box<Re>, u32, u32),
    Alt(Vec<Re>),
    Cat(Vec<Re>),
    Caseless(Box<Re>),
    Capture(Box<Re>),
}

impl Re {
    fn render(&self, reference: bool) -> String {
        match self {
            Re::Lit(s) => regex_syntax::escape(s),
            Re::Dot => ".".into(),
            Re::DotAll => "(?s:.)".into(),
            Re::Digit => if reference { "[0-9]" } else { "\\d" }.into(),
            Re::Class(c) => (*c).into(),
            Re::Star(r) => format!("(?:{})*", r.render(reference)),
            Re::Plus(r) => format!("(?:{})+", r.render(reference)),
            Re::Opt(r) => format!("(?:{})?", r.render(reference)),
            Re::Rep(r, a, b) => format!("(?:{}){{{a},{b}}}", r.render(reference)),
            Re::Alt(rs) => rs
                .iter()
                .map(|r| r.render(reference))
                .collect::<Vec<_>>()
                .join("|"),
            Re::Cat(rs) => rs
                .iter()
                .map(|r| format!("(?:{})", r.render(reference)))
                .collect(),
            Re::Caseless(r) => format!("(?i:{})", r.render(reference)),
            Re::Capture(r) => format!("({})", r.render(reference)),
        }
    }
}

fn re_strategy() -> impl Strategy<Value = Re> {
    let leaf = prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "ab", "foo", "é", ".", "\n", "1", ""]).prop_map(|s| Re::Lit(s.into())),
        2 => Just(Re::Dot),
        1 => Just(Re::DotAll),
        1 => Just(Re::Digit),
        1 => prop::sample::select(vec!["[ab]", "[^a]", "[a-c1]", "[é\\n]"]).prop_map(Re::Class),
        2 => Just(Re::Star(Box::new(Re::Dot))),
        1 => Just(Re::Plus(Box::new(Re::Dot))),
        1 => Just(Re::Star(Box::new(Re::DotAll))),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 1..4).prop_map(Re::Cat),
            2 => prop::collection::vec(inner.clone(), 1..4).prop_map(Re::Alt),
            1 => inner.clone().prop_map(|r| Re::Star(Box::new(r))),
            1 => inner.clone().prop_map(|r| Re::Plus(Box::new(r))),
            1 => inner.clone().prop_map(|r| Re::Opt(Box::new(r))),
            1 => (inner.clone(), 0u32..3, 0u32..3).prop_map(|(r, a, b)| Re::Rep(Box::new(r), a.min(b), a.max(b))),
            1 => inner.clone().prop_map(|r| Re::Caseless(Box::new(r))),
            1 => inner.prop_map(|r| Re::Capture(Box::new(r))),
        ]
    })
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "b", "A", "ab", "foo", "é", "É", "\n", "1", "\u{663}", ".", "x", " ",
        ]),
        0..7,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fast_paths_agree_with_the_regex_engine(re in re_strategy(), values in prop::collection::vec(value_strategy(), 1..24)) {
        let pattern = re.render(false);
        let reference = regex::Regex::new(&format!("^(?s:{})$", re.render(true)));
        prop_assume!(reference.is_ok());
        let reference = reference.unwrap();
        let pos = Matcher::new(RegexMatch, "l", pattern.as_str());
        prop_assert!(pos.is_ok(), "{pattern:?}: {pos:?}");
        let pos = pos.unwrap();
        let neg = Matcher::new(RegexNoMatch, "l", pattern.as_str()).unwrap();
        let set = pos.set_matches();
        if let Some(set) = set {
            for s in set {
                prop_assert!(reference.is_match(s), "{pattern:?}: set element {s:?} does not match");
            }
        }
        for v in values.iter().map(String::as_str).chain([""]).chain(set.unwrap_or(&[]).iter().map(String::as_str)) {
            let want = reference.is_match(v);
            prop_assert_eq!(pos.matches(v), want, "{:?} on {:?}", pattern, v);
            prop_assert_eq!(neg.matches(v), !want, "negated {:?} on {:?}", pattern, v);
            if let Some(set) = set {
                prop_assert_eq!(set.iter().any(|s| s == v), want, "{:?}: set disagrees on {:?}", pattern, v);
            }
            if want {
                prop_assert!(v.starts_with(pos.prefix()), "{pattern:?}: {v:?} lacks prefix {:?}", pos.prefix());
            }
        }
        prop_assert_eq!(pos.matches_empty(), reference.is_match(""));
    }
}

/// Sequences of literals and wildcards over a tiny alphabet: dense coverage of the glob matcher.
fn glob_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "b", "ab", "aa", "\\n", ".*", ".+", "(?s:.*)", "(?s:.+)", ".", "(?:a|b)",
        ]),
        1..7,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn globs_agree_with_the_regex_engine(
        pattern in glob_strategy(),
        values in prop::collection::vec("[abx\n]{0,10}", 1..32),
    ) {
        let reference = regex::Regex::new(&format!("^(?s:{pattern})$")).unwrap();
        let pos = Matcher::new(RegexMatch, "l", pattern.as_str()).unwrap();
        for v in values.iter().map(String::as_str).chain([""]) {
            let want = reference.is_match(v);
            prop_assert_eq!(pos.matches(v), want, "{:?} on {:?}", pattern, v);
            if want {
                prop_assert!(v.starts_with(pos.prefix()));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Random regex-syntax soup: never panics, and whatever compiles agrees with the regex
    /// engine (the differential check lives in `fuzz_matcher`).
    #[test]
    fn arbitrary_patterns_never_panic_and_agree(
        pattern in "[ab.*+?|()\\[\\]^$\\\\dDwWsSbB{}0-9,:!=<>PpLnuxi-]{0,24}",
        values in prop::collection::vec("[ab0-9\n ._-]{0,8}", 0..8),
    ) {
        let mut data = pattern.into_bytes();
        for v in values {
            data.push(0);
            data.extend_from_slice(v.as_bytes());
        }
        fuzz_matcher(&data);
    }
}

#[test]
fn fuzz_seed_corpus_runs_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/matcher");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut n = 0;
    for e in entries {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        fuzz_matcher(&data);
        n += 1;
    }
    assert!(n >= 5, "expected seed files in {}", dir.display());
}
