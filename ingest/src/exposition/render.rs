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

/// Appends one sample line `name{labels} value [timestamp]\n`. `labels` must not contain
/// `__name__`; names are written as given. Values use Rust's shortest round-trip form
/// (`NaN`, `inf`, `-inf` for the special values, all of which the parser accepts).
pub fn write_text_sample<'l>(
    out: &mut String,
    name: &str,
    labels: impl IntoIterator<Item = (&'l str, &'l str)>,
    value: f64,
    timestamp_ms: Option<i64>,
) {
    out.push_str(name);
    let mut first = true;
    for (n, v) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(n);
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
