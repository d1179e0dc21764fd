//! Relabel table tests: every action and the edge cases of Prometheus's `relabel_test.go`
//! (re-derived from the behaviour, not copied), with 3.x's semantics (UTF-8 names, `.`
//! matching newlines).
use super::*;

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

/// Runs `yaml` rules on `input` with both label stores; `None` = dropped.
fn run(yaml: &str, input: &[(&str, &str)]) -> Option<LabelSet> {
    let rs = rules(yaml);
    let mut set = labels(input);
    let mut sorted = SortedLabels::from_pairs(set.clone());
    let kept = process(&rs, &mut set);
    assert_eq!(kept, process(&rs, &mut sorted), "stores disagree: {yaml}");
    if kept {
        assert_eq!(
            set.clone().into_iter().collect::<Vec<_>>(),
            sorted.0,
            "{yaml}"
        );
    }
    kept.then_some(set)
}

#[test]
fn table() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, &[(&str, &str)], Option<&[(&str, &str)]>)] = &[
        // replace
        (
            "[{source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}-ch${1}'}]",
            &[("a", "foo")],
            Some(&[("a", "foo"), ("d", "choo-choo")]),
        ),
        (
            "[{source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, replacement: 'b${1}${2}m'}]",
            &[("a", "foo"), ("b", "bar")],
            Some(&[("a", "boobam"), ("b", "bar")]),
        ),
        (
            "[{source_labels: [a], regex: 'f', target_label: b, replacement: bar}]",
            &[("a", "boo")],
            Some(&[("a", "boo")]),
        ),
        // A missing source with the default regex deletes the target (fast path, `$1` → "").
        ("[{source_labels: [missing], target_label: a}]", &[("a", "foo")], Some(&[])),
        // Fast path: a constant.
        (
            "[{target_label: __address__, replacement: 'bb:9115'}]",
            &[("a", "x")],
            Some(&[("__address__", "bb:9115"), ("a", "x")]),
        ),
        // An explicit `(.*)` is not the default: no fast path, but it matches "" and gives "".
        (
            "[{source_labels: [missing], regex: '(.*)', target_label: a, replacement: 'x$1'}]",
            &[("a", "foo")],
            Some(&[("a", "x")]),
        ),
        // An empty replacement result deletes.
        (
            "[{source_labels: [a], regex: '(.*)', target_label: a, replacement: ''}]",
            &[("a", "foo")],
            Some(&[]),
        ),
        // Templated target label; under 3.x's UTF-8 names only an empty expansion is skipped.
        (
            "[{source_labels: [a], regex: '(.*)', target_label: 'l_$1', replacement: 'v'}]",
            &[("a", "x")],
            Some(&[("a", "x"), ("l_x", "v")]),
        ),
        (
            "[{source_labels: [a], regex: '(.*)', target_label: '${1}', replacement: 'v'}]",
            &[("a", "1x")],
            Some(&[("1x", "v"), ("a", "1x")]),
        ),
        (
            "[{source_labels: [b], regex: '(.*)', target_label: '${1}', replacement: 'v'}]",
            &[("a", "1x")],
            Some(&[("a", "1x")]),
        ),
        // `$1_suffix` refers to group "1_suffix": empty.
        (
            "[{source_labels: [a], regex: '(.*)', target_label: b, replacement: '$1_x'}]",
            &[("a", "v"), ("b", "old")],
            Some(&[("a", "v")]),
        ),
        // `.` matches a newline in 3.x.
        (
            "[{source_labels: [a], target_label: b}]",
            &[("a", "x\ny")],
            Some(&[("a", "x\ny"), ("b", "x\ny")]),
        ),
        // The seed's address rewrite.
        (
            r"[{source_labels: [__address__, p], regex: '([^:]+)(?::\d+)?;(\d+)', target_label: __address__, replacement: '$1:$2'}]",
            &[("__address__", "10.0.0.1:1234"), ("p", "9191")],
            Some(&[("__address__", "10.0.0.1:9191"), ("p", "9191")]),
        ),
        (
            r"[{source_labels: [__address__, p], regex: '([^:]+)(?::\d+)?;(\d+)', target_label: __address__, replacement: '$1:$2'}]",
            &[("__address__", "10.0.0.1:1234")],
            Some(&[("__address__", "10.0.0.1:1234")]),
        ),
        // keep / drop
        ("[{source_labels: [a], regex: 'f|o', action: drop}]", &[("a", "foo")], Some(&[("a", "foo")])),
        ("[{source_labels: [a], regex: 'f.*', action: drop}]", &[("a", "foo")], None),
        ("[{source_labels: [a], regex: 'foo.*', action: keep}]", &[("a", "foo\nbar")], Some(&[("a", "foo\nbar")])),
        ("[{source_labels: [a], regex: '(?-s:foo.*)', action: keep}]", &[("a", "foo\nbar")], None),
        ("[{source_labels: [a], regex: true, action: keep}]", &[("a", "true")], Some(&[("a", "true")])),
        ("[{source_labels: [a], regex: true, action: keep}]", &[], None),
        // A drop stops processing.
        (
            "[{source_labels: [a], regex: x, action: drop}, {target_label: b, replacement: c}]",
            &[("a", "x")],
            None,
        ),
        // keepequal / dropequal
        ("[{source_labels: [a], target_label: b, action: keepequal}]", &[("a", "1"), ("b", "1")], Some(&[("a", "1"), ("b", "1")])),
        ("[{source_labels: [a], target_label: b, action: keepequal}]", &[("a", "1"), ("b", "2")], None),
        ("[{source_labels: [a], target_label: b, action: keepequal}]", &[], Some(&[])),
        ("[{source_labels: [a], target_label: b, action: dropequal}]", &[("a", "1"), ("b", "1")], None),
        ("[{source_labels: [a], target_label: b, action: dropequal}]", &[("a", "1")], Some(&[("a", "1")])),
        // hashmod
        ("[{source_labels: [c], modulus: 1000, target_label: d, action: hashmod}]", &[("c", "baz")], Some(&[("c", "baz"), ("d", "976")])),
        ("[{source_labels: [a], modulus: 1000, target_label: d, action: hashmod}]", &[("a", "foo\nbar")], Some(&[("a", "foo\nbar"), ("d", "734")])),
        // labelmap: the original stays; new labels are not re-matched.
        (
            "[{action: labelmap, regex: '(b.*)', replacement: 'bar_${1}'}]",
            &[("b1", "bar"), ("b2", "baz")],
            Some(&[("b1", "bar"), ("b2", "baz"), ("bar_b1", "bar"), ("bar_b2", "baz")]),
        ),
        (
            "[{action: labelmap, regex: '__meta_kubernetes_pod_label_(.+)'}]",
            &[("__meta_kubernetes_pod_label_app", "web"), ("x", "y")],
            Some(&[("__meta_kubernetes_pod_label_app", "web"), ("app", "web"), ("x", "y")]),
        ),
        // labeldrop / labelkeep (anchored on the name)
        ("[{action: labeldrop, regex: 'b.*'}]", &[("a", "1"), ("b1", "2"), ("ab", "3")], Some(&[("a", "1"), ("ab", "3")])),
        ("[{action: labelkeep, regex: 'a|b1'}]", &[("a", "1"), ("b1", "2"), ("ab", "3")], Some(&[("a", "1"), ("b1", "2")])),
        // lowercase / uppercase; an empty input deletes the target.
        ("[{action: lowercase, source_labels: [a, b], target_label: c}]", &[("a", "FoO"), ("b", "ÄB")], Some(&[("a", "FoO"), ("b", "ÄB"), ("c", "foo;äb")])),
        ("[{action: uppercase, source_labels: [a], target_label: a}]", &[("a", "straße")], Some(&[("a", "STRAßE")])),
        ("[{action: uppercase, source_labels: [missing], target_label: a}]", &[("a", "x")], Some(&[])),
        // Case-insensitive action, separator.
        ("[{action: Replace, source_labels: [a, b], separator: '', target_label: c}]", &[("a", "x"), ("b", "y")], Some(&[("a", "x"), ("b", "y"), ("c", "xy")])),
        // Go-only regex syntax.
        (r"[{source_labels: [a], regex: '\d+', action: keep}]", &[("a", "٣")], None),
        (r"[{source_labels: [a], regex: '\Qa.b\E', action: keep}]", &[("a", "a.b")], Some(&[("a", "a.b")])),
        // Empty regex (explicit null) matches only "".
        ("[{source_labels: [a], regex: , action: keep}]", &[], Some(&[])),
        ("[{source_labels: [a], regex: , action: keep}]", &[("a", "x")], None),
    ];
    for (yaml, input, want) in cases {
        let got = run(yaml, input);
        let want = want.map(labels);
        assert_eq!(got, want, "{yaml} on {input:?}");
    }
}

#[test]
fn hashmod_matches_prometheus_vectors() {
    assert_eq!(hashmod("baz", 1000), 976);
    assert_eq!(hashmod("foo\nbar", 1000), 734);
}

#[test]
fn defaults() {
    let r = RelabelConfig::from_yaml_str("{target_label: x}").unwrap();
    assert_eq!(r.separator, ";");
    assert_eq!(r.replacement, "$1");
    assert_eq!(r.action, Action::Replace);
    assert!(r.regex.is_default());
    assert_eq!(r.regex.as_str(), "(.*)");
    let explicit = RelabelConfig::from_yaml_str("{target_label: x, regex: '(.*)'}").unwrap();
    assert!(!explicit.regex.is_default());
    assert_ne!(r, explicit);
}

#[test]
fn invalid_rules_never_load() {
    for (yaml, msg) in [
        (
            "{action: hashmod, target_label: a}",
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        ("{action: bogus}", "unknown relabel action \"bogus\""),
        ("{target_label: x, regex: '['}", "error parsing regexp:"),
        ("{target_label: x, foo: 1}", "unknown field `foo`"),
    ] {
        let e = RelabelConfig::from_yaml_str(yaml).unwrap_err();
        assert!(e.contains(msg), "{yaml}: {e}");
    }
}

#[test]
fn fuzz_entry_handles_garbage() {
    for input in [
        &b""[..],
        b"\xff\xfe",
        b"- {target_label: a}\n---\na=1\n",
        b"- {action: labelmap, regex: '(.*)', replacement: 'x_$1'}\n---\na=1\nb=\n",
        b"[{action: hashmod, source_labels: [a], target_label: h, modulus: 7}]\n---\na=q",
        b"not yaml: [",
    ] {
        fuzz_relabel(input);
    }
}
