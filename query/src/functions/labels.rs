//! `label_replace` and `label_join` on one label set, label-name validation, and the argument
//! checks (with Prometheus 3.5's error strings) the evaluator runs before applying them.
//!
//! The regular expression is Rust's `regex`, anchored as Prometheus 3.5 anchors Go's
//! (`^(?s:re)$`: `.` matches a newline); `$1`, `$name` and `${name}` expand as in Go's `Regexp.Expand`.

use regex::Regex;
use tidemark_engine::Labels;

/// Whether `name` is a valid label name under Prometheus 3.5's UTF-8 validation.
pub fn is_valid_label_name(name: &str) -> bool {
    // Prometheus 3.5 validates label names as UTF-8 (any non-empty valid UTF-8 string). Our
    // strings are always UTF-8: the parser turns invalid bytes from escapes such as `\xff`
    // into U+FFFD, so that character stands for invalid UTF-8 here.
    !name.is_empty() && !name.contains('\u{fffd}')
}

/// Compiles `label_replace`'s regex anchored at both ends. Error: Prometheus's
/// `invalid regular expression in label_replace(): <re>`.
pub fn compile_label_replace_regex(re: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?s:{re})$"))
        .map_err(|_| format!("invalid regular expression in label_replace(): {re}"))
}

/// Checks `label_replace`'s destination label name (after the regex compiled). Error:
/// Prometheus's `invalid destination label name in label_replace(): <dst>`.
pub fn check_label_replace_dst(dst: &str) -> Result<(), String> {
    if is_valid_label_name(dst) {
        Ok(())
    } else {
        Err(format!(
            "invalid destination label name in label_replace(): {dst}"
        ))
    }
}

/// Checks `label_join`'s label names: sources first, then the destination, with Prometheus's
/// `invalid source label name in label_join(): <src>` /
/// `invalid destination label name in label_join(): <dst>` errors.
pub fn check_label_join_args(dst: &str, srcs: &[&str]) -> Result<(), String> {
    if let Some(bad) = srcs.iter().find(|s| !is_valid_label_name(s)) {
        return Err(format!("invalid source label name in label_join(): {bad}"));
    }
    if !is_valid_label_name(dst) {
        return Err(format!(
            "invalid destination label name in label_join(): {dst}"
        ));
    }
    Ok(())
}

/// Returns `labels` with `dst` set to `value`, or removed if `value` is empty.
fn with_label(labels: &Labels, dst: &str, value: &str) -> Labels {
    let mut b = labels.builder();
    b.set(dst, value);
    // `dst` is non-empty for validated calls; an empty name would leave the labels unchanged.
    b.build().unwrap_or_else(|| labels.clone())
}

/// `label_replace` on one label set: if `regex` (from [`compile_label_replace_regex`]) matches
/// the value of `src` (empty if absent), `dst` is set to `replacement` with `$1` / `${name}`
/// expanded, or removed when the expansion is empty. Without a match the labels are returned
/// unchanged. The metric name is kept.
pub fn label_replace(
    labels: &Labels,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &Regex,
) -> Labels {
    let src_val = labels.get(src).unwrap_or("");
    let Some(caps) = regex.captures(src_val) else {
        return labels.clone();
    };
    let mut res = String::new();
    caps.expand(replacement, &mut res);
    with_label(labels, dst, &res)
}

/// `label_join` on one label set: `dst` becomes the values of `srcs` (empty for absent ones)
/// joined by `sep`, or is removed when that is empty. The metric name is kept.
pub fn label_join(labels: &Labels, dst: &str, sep: &str, srcs: &[&str]) -> Labels {
    let vals: Vec<&str> = srcs.iter().map(|s| labels.get(s).unwrap_or("")).collect();
    with_label(labels, dst, &vals.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_engine::labels;

    fn re(s: &str) -> Regex {
        compile_label_replace_regex(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn label_names() {
        assert!(is_valid_label_name("a"));
        assert!(is_valid_label_name("_a1"));
        assert!(is_valid_label_name("__name__"));
        assert!(!is_valid_label_name(""));
        assert!(is_valid_label_name("1a"));
        assert!(is_valid_label_name("a-b"));
        assert!(is_valid_label_name("ä"));
        assert!(!is_valid_label_name("a\u{fffd}z"));
    }

    #[test]
    fn replace_expands_groups() {
        let l = labels!("__name__" => "up", "instance" => "host:9090", "job" => "x");
        let r = re("(.*):(?P<port>.*)");
        let out = label_replace(&l, "host", "$1", "instance", &r);
        assert_eq!(
            out,
            labels!("__name__" => "up", "instance" => "host:9090", "job" => "x", "host" => "host")
        );
        let out = label_replace(&l, "port", "p${port}-$2", "instance", &r);
        assert_eq!(out.get("port"), Some("p9090-9090"));
        // `$1x` names group "1x", which does not exist → empty.
        let out = label_replace(&l, "y", "$1x", "instance", &r);
        assert_eq!(out, l);
        // Overwriting an existing label, and the metric name.
        let out = label_replace(&l, "job", "new", "job", &re(".*"));
        assert_eq!(out.get("job"), Some("new"));
        let out = label_replace(&l, "__name__", "down", "job", &re("x"));
        assert_eq!(out.get("__name__"), Some("down"));
    }

    #[test]
    fn replace_is_anchored_and_handles_missing() {
        let l = labels!("a" => "foobar");
        // Not a full match → unchanged.
        assert_eq!(label_replace(&l, "b", "x", "a", &re("foo")), l);
        // Alternation is anchored as a whole.
        assert_eq!(label_replace(&l, "b", "x", "a", &re("foo|bar")), l);
        assert_eq!(
            label_replace(&l, "b", "x", "a", &re("bar|foobar")).get("b"),
            Some("x")
        );
        // Missing source matches as "".
        assert_eq!(
            label_replace(&l, "b", "x", "missing", &re("")).get("b"),
            Some("x")
        );
        assert_eq!(label_replace(&l, "b", "x", "missing", &re(".+")), l);
        // Empty replacement removes dst.
        assert_eq!(label_replace(&l, "a", "", "a", &re(".*")), Labels::empty());
    }

    #[test]
    fn replace_errors() {
        assert_eq!(
            compile_label_replace_regex("(").map(|_| ()),
            Err("invalid regular expression in label_replace(): (".to_owned())
        );
        // 3.5 validates names as UTF-8: "1x" is fine; U+FFFD stands for invalid bytes.
        assert_eq!(
            check_label_replace_dst("a\u{fffd}"),
            Err("invalid destination label name in label_replace(): a\u{fffd}".to_owned())
        );
        assert!(check_label_replace_dst("ok_1").is_ok());
        assert!(check_label_replace_dst("1x").is_ok());
    }

    #[test]
    fn join() {
        let l = labels!("a" => "1", "b" => "2", "c" => "3");
        assert_eq!(
            label_join(&l, "d", "-", &["a", "b", "c"]).get("d"),
            Some("1-2-3")
        );
        assert_eq!(
            label_join(&l, "d", "-", &["a", "x", "c"]).get("d"),
            Some("1--3")
        );
        assert_eq!(label_join(&l, "a", "", &["b", "c"]).get("a"), Some("23"));
        // Empty result removes dst; no sources also gives "".
        assert_eq!(label_join(&l, "a", "", &["x"]).get("a"), None);
        assert_eq!(label_join(&l, "a", ",", &[]).get("a"), None);
        assert_eq!(
            check_label_join_args("d", &["a", ""]),
            Err("invalid source label name in label_join(): ".to_owned())
        );
        assert_eq!(
            check_label_join_args("", &["a"]),
            Err("invalid destination label name in label_join(): ".to_owned())
        );
        assert!(check_label_join_args("-d", &["b-c"]).is_ok());
        assert!(check_label_join_args("d", &["a"]).is_ok());
    }
}
