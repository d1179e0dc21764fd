//! Writing samples in the text format 0.0.4 — the inverse of the parser, used by the
//! round-trip tests and fuzz targets (and usable by anything that exposes series).

use std::fmt::Write;

/// Appends `value` with the text format's escaping of label values (`\\`, `\"`, `\n`).
pub fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Whether `name` matches `re` fully: `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names (`colon`),
/// `[a-zA-Z_][a-zA-Z0-9_]*` for label names.
fn is_legacy_name(name: &str, colon: bool) -> bool {
    let b = name.as_bytes();
    let start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || (colon && c == b':');
    !b.is_empty() && start(b[0]) && b[1..].iter().all(|&c| start(c) || c.is_ascii_digit())
}

/// Appends one sample line `name{labels} value [timestamp]\n`. `labels` must not contain
/// `__name__`. A name outside the legacy charset is written quoted, as Prometheus 3 does
/// (`{"my.metric","some.label"="x"}`). Values use Rust's shortest round-trip form
/// (`NaN`, `inf`, `-inf` for the special values, all of which the parser accepts).
pub fn write_text_sample<'l>(
    out: &mut String,
    name: &str,
    labels: impl IntoIterator<Item = (&'l str, &'l str)>,
    value: f64,
    timestamp_ms: Option<i64>,
) {
    let mut first = true;
    if is_legacy_name(name, true) {
        out.push_str(name);
    } else {
        out.push_str("{\"");
        escape_label_value(out, name);
        out.push('"');
        first = false;
    }
    for (n, v) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        if is_legacy_name(n, false) {
            out.push_str(n);
        } else {
            out.push('"');
            escape_label_value(out, n);
            out.push('"');
        }
        out.push_str("=\"");
        escape_label_value(out, v);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    // Writing to a String cannot fail.
    let _ = write!(out, " {value:?}");
    if let Some(t) = timestamp_ms {
        let _ = write!(out, " {t}");
    }
    out.push('\n');
}
