//! Literal decoding and Go-style formatting, as Prometheus 3.5 (written in Go) does them:
//! numbers (`strconv.ParseInt(s, 0, 64)` then `ParseFloat`), durations (`model.ParseDuration`),
//! string unescaping, and `%q` / `%#U` quoting for error messages.

use std::fmt::Write;

/// Parses a number literal as Prometheus does: an integer in Go syntax (decimal, `0x` hex,
/// leading-`0` octal, `_` between digits) if possible, else a float. The error is Go's message.
pub(crate) fn parse_number(s: &str) -> Result<f64, String> {
    if let Some(v) = parse_go_int(s) {
        return Ok(v as f64);
    }
    let invalid = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Ok(f64::INFINITY),
        "-inf" | "-infinity" => return Ok(f64::NEG_INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    // Go parses hex mantissas only with a `p` exponent, which the lexer never produces.
    if lower.starts_with("0x") || lower.contains("inf") || lower.contains("nan") {
        return Err(invalid());
    }
    if !underscore_ok(s) {
        return Err(invalid());
    }
    match s.replace('_', "").parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            go_quote(s)
        )),
        Ok(v) => Ok(v),
        Err(_) => Err(invalid()),
    }
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'x' | b'o' | b'b') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseInt(s, 0, 64)` for what the lexer can produce.
fn parse_go_int(s: &str) -> Option<i64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean = s.replace('_', "");
    let s = clean.as_str();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() {
            return None;
        }
        return i64::from_str_radix(h, 16).ok();
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return i64::from_str_radix(&s[1..], 8).ok();
    }
    s.parse::<i64>().ok()
}

/// Nanoseconds in one second.
pub(crate) const NANOS_PER_SEC: f64 = 1e9;

/// Prometheus's duration syntax (`model.ParseDuration` of Prometheus 3.5): `[0-9]+` followed
/// by a unit, units in the order y w d h m s ms, each at most once; the result in
/// nanoseconds, with the library's messages.
pub(crate) fn parse_duration_ns(s: &str) -> Result<u64, String> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    let bad = || format!("not a valid duration string: {}", go_quote(s));
    const MS: u64 = 1_000_000;
    // (unit, order, nanoseconds)
    const UNITS: [(&str, usize, u64); 7] = [
        ("y", 0, 365 * 24 * 3_600_000 * MS),
        ("w", 1, 7 * 24 * 3_600_000 * MS),
        ("d", 2, 24 * 3_600_000 * MS),
        ("h", 3, 3_600_000 * MS),
        ("m", 4, 60_000 * MS),
        ("s", 5, 1000 * MS),
        ("ms", 6, MS),
    ];
    let b = s.as_bytes();
    let mut i = 0;
    let mut last_unit: Option<usize> = None;
    let mut total: u64 = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            return Err(bad());
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let v: u64 = s[start..i].parse().map_err(|_| bad())?;
        let ustart = i;
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        if ustart == i {
            return Err(bad());
        }
        let unit = &s[ustart..i];
        let Some(&(_, order, mult)) = UNITS.iter().find(|(u, _, _)| *u == unit) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                go_quote(unit),
                go_quote(s)
            ));
        };
        if last_unit.is_some_and(|l| order <= l) {
            return Err(bad());
        }
        last_unit = Some(order);
        if v > (1u64 << 63) / mult {
            return Err("duration out of range".into());
        }
        total += v * mult;
        if total > i64::MAX as u64 {
            return Err("duration out of range".into());
        }
    }
    Ok(total)
}

/// Decodes a string literal's text (with its quotes) that the lexer has validated.
pub(crate) fn unquote(lit: &str) -> String {
    let quote = lit.chars().next().unwrap_or('"');
    let inner = lit.get(1..lit.len().saturating_sub(1)).unwrap_or_default();
    if quote == '`' {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut bytes: Vec<u8> = Vec::new();
    let mut chars = inner.chars().peekable();
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        let mut take = |n: usize, radix: u32, first: Option<char>| -> u32 {
            let mut v = 0u32;
            let mut k = 0;
            if let Some(f) = first {
                v = f.to_digit(radix).unwrap_or(0);
                k = 1;
            }
            while k < n {
                let d = chars.next().and_then(|c| c.to_digit(radix)).unwrap_or(0);
                v = v * radix + d;
                k += 1;
            }
            v
        };
        let piece: Result<char, u8> = match e {
            'a' => Ok('\x07'),
            'b' => Ok('\x08'),
            'f' => Ok('\x0c'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\x0b'),
            '0'..='7' => Err(take(3, 8, Some(e)) as u8),
            'x' => Err(take(2, 16, None) as u8),
            'u' => Ok(char::from_u32(take(4, 16, None)).unwrap_or('\u{fffd}')),
            'U' => Ok(char::from_u32(take(8, 16, None)).unwrap_or('\u{fffd}')),
            other => Ok(other),
        };
        match piece {
            Ok(c) => {
                flush(&mut bytes, &mut out);
                out.push(c);
            }
            Err(b) => bytes.push(b),
        }
    }
    flush(&mut bytes, &mut out);
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space
/// (so not U+00A0 or U+200B). U+FFFD stands for an invalid byte here and is escaped.
fn is_go_printable(c: char) -> bool {
    static PRINTABLE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if c == ' ' || c.is_ascii_graphic() {
        return true;
    }
    if c.is_ascii() || c == '\u{fffd}' {
        return false;
    }
    let re = PRINTABLE.get_or_init(|| regex::Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S}]$").ok());
    match re {
        Some(re) => re.is_match(c.encode_utf8(&mut [0; 4])),
        None => !c.is_control(),
    }
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `%q` of a string.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `%.10q` of a string: the first ten characters, quoted.
pub(crate) fn go_quote_10(s: &str) -> String {
    let head: String = s.chars().take(10).collect();
    go_quote(&head)
}

/// Go's `%q` of a rune (`None` is end of input, which Go prints as U+FFFD).
pub(crate) fn go_quote_rune(c: Option<char>) -> String {
    let c = c.unwrap_or('\u{fffd}');
    let mut out = String::from("'");
    if c == '\u{fffd}' {
        out.push(c);
    } else {
        push_escaped(&mut out, c, '\'');
    }
    out.push('\'');
    out
}

/// Go's `%#U` of a rune: `U+0071 'q'`.
pub(crate) fn go_rune_u(c: Option<char>) -> String {
    let c = c.unwrap_or('\u{fffd}');
    if is_go_printable(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Go's `%f`: fixed notation with six decimals, `+Inf`, `-Inf`, `NaN`.
pub(crate) fn go_fixed(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_go() {
        assert_eq!(parse_number("010"), Ok(8.0));
        assert_eq!(parse_number("09"), Ok(9.0));
        assert_eq!(parse_number("0x1F"), Ok(31.0));
        assert_eq!(parse_number(".5"), Ok(0.5));
        assert_eq!(parse_number("5."), Ok(5.0));
        assert_eq!(parse_number("1e3"), Ok(1000.0));
        assert_eq!(parse_number("1_000"), Ok(1000.0));
        assert_eq!(parse_number("0x_1F"), Ok(31.0));
        assert_eq!(parse_number("0_8"), Ok(8.0));
        assert_eq!(parse_number("1_0e1_0"), Ok(1e11));
        assert_eq!(parse_number("InF"), Ok(f64::INFINITY));
        assert!(parse_number("nAn").is_ok_and(f64::is_nan));
        assert_eq!(
            parse_number("1e"),
            Err("strconv.ParseFloat: parsing \"1e\": invalid syntax".into())
        );
        assert_eq!(
            parse_number("1e999"),
            Err("strconv.ParseFloat: parsing \"1e999\": value out of range".into())
        );
    }

    #[test]
    fn durations_follow_prometheus() {
        let ms = |s: &str| parse_duration_ns(s).map(|n| n / 1_000_000);
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms("5ms"), Ok(5));
        assert_eq!(ms("1y"), Ok(31_536_000_000));
        assert_eq!(ms("0s"), Ok(0));
        assert_eq!(
            ms("1m1h"),
            Err("not a valid duration string: \"1m1h\"".into())
        );
        assert!(ms("1h1h").is_err());
        assert_eq!(
            ms("1.5m"),
            Err("unknown unit \".\" in duration \"1.5m\"".into())
        );
        assert_eq!(
            ms("1hs"),
            Err("unknown unit \"hs\" in duration \"1hs\"".into())
        );
        assert_eq!(ms("99999999999y"), Err("duration out of range".into()));
        assert_eq!(ms("300y"), Err("duration out of range".into()));
        assert!(ms("999999999999999999999y").is_err());
    }

    #[test]
    fn quoting_follows_go() {
        assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(go_quote_rune(Some('}')), "'}'");
        assert_eq!(go_quote_rune(Some('\'')), "'\\''");
        assert_eq!(go_rune_u(Some('q')), "U+0071 'q'");
        assert_eq!(go_quote_rune(Some('\u{a0}')), "'\\u00a0'");
        assert_eq!(go_quote_rune(Some('\u{200b}')), "'\\u200b'");
        assert_eq!(go_quote_rune(Some('é')), "'é'");
        assert_eq!(go_fixed(1e20), "100000000000000000000.000000");
        assert_eq!(unquote(r#""a\x41\101\u00e9\n""#), "aAAé\n");
        assert_eq!(unquote(r"`a\n`"), "a\\n");
        assert_eq!(unquote(r"'\''"), "'");
    }
}

/// The message Go's `regexp/syntax` gives for the first error in `re`, for the common
/// mistakes (used only for patterns the engine already refused, so that the text is
/// Prometheus's): unbalanced parentheses and brackets, bad repetitions, reversed class
/// ranges and a trailing backslash. `None` when none of these is found.
pub(crate) fn go_regex_error(re: &str) -> Option<String> {
    let err = |code: &str, expr: &str| Some(format!("error parsing regexp: {code}: `{expr}`"));
    let b: Vec<char> = re.chars().collect();
    let mut depth = 0usize;
    // Whether the previous item can take a repetition operator, and whether it already is one.
    let mut atom = false;
    let mut repeated = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            '\\' => {
                if i + 1 >= b.len() {
                    return err("trailing backslash at end of expression", "");
                }
                i += 2;
                atom = true;
                repeated = false;
                continue;
            }
            '(' => {
                depth += 1;
                atom = false;
                repeated = false;
                // Skip a group flag or name prefix (`?:`, `?i:`, `?P<name>`).
                if b.get(i + 1) == Some(&'?') {
                    let mut j = i + 2;
                    while j < b.len() && b[j] != ':' && b[j] != ')' && b[j] != '>' {
                        j += 1;
                    }
                    if j < b.len() && b[j] == ')' {
                        // A flags-only group like `(?i)`.
                        depth -= 1;
                    }
                    i = j + 1;
                    continue;
                }
            }
            ')' => {
                if depth == 0 {
                    return err("unexpected )", re);
                }
                depth -= 1;
                atom = true;
                repeated = false;
            }
            '|' => {
                atom = false;
                repeated = false;
            }
            '[' => {
                let start = i;
                let mut j = i + 1;
                if b.get(j) == Some(&'^') {
                    j += 1;
                }
                let mut first = true;
                let mut prev: Option<char> = None;
                loop {
                    let Some(&d) = b.get(j) else {
                        let rest: String = b[start..].iter().collect();
                        return err("missing closing ]", &rest);
                    };
                    if d == ']' && !first {
                        break;
                    }
                    first = false;
                    if d == '[' && b.get(j + 1) == Some(&':') {
                        if let Some(k) = (j + 2..b.len().saturating_sub(1))
                            .find(|&k| b[k] == ':' && b[k + 1] == ']')
                        {
                            j = k + 2;
                            prev = None;
                            continue;
                        }
                    }
                    let (lo, next) = if d == '\\' {
                        match b.get(j + 1) {
                            Some(&e) => (Some(e), j + 2),
                            None => return err("trailing backslash at end of expression", ""),
                        }
                    } else {
                        (Some(d), j + 1)
                    };
                    if d == '-' && prev.is_some() && b.get(j + 1).is_some_and(|&h| h != ']') {
                        let lo = prev.unwrap_or_default();
                        let hi = b[j + 1];
                        let hi_end = if hi == '\\' { j + 3 } else { j + 2 };
                        let hi_char = if hi == '\\' {
                            b.get(j + 2).copied().unwrap_or_default()
                        } else {
                            hi
                        };
                        if hi_char < lo {
                            let from = if j >= 2 && b[j - 2] == '\\' {
                                j - 2
                            } else {
                                j - 1
                            };
                            let text: String = b[from..hi_end.min(b.len())].iter().collect();
                            return err("invalid character class range", &text);
                        }
                        j = hi_end;
                        prev = None;
                        continue;
                    }
                    prev = lo;
                    j = next;
                }
                i = j + 1;
                atom = true;
                repeated = false;
                continue;
            }
            '*' | '+' | '?' | '{' => {
                let (op_end, count) = if c == '{' {
                    match parse_repeat(&b, i) {
                        Some((end, lo, hi)) => (end, Some((lo, hi))),
                        // Not a repetition: a literal `{`.
                        None => {
                            i += 1;
                            atom = true;
                            repeated = false;
                            continue;
                        }
                    }
                } else {
                    (i + 1, None)
                };
                // A lazy marker belongs to the operator.
                let op_end = if b.get(op_end) == Some(&'?') {
                    op_end + 1
                } else {
                    op_end
                };
                let op: String = b[i..op_end].iter().collect();
                if repeated {
                    // Go names the previous operator and this one.
                    let mut k = i;
                    while k > 0 && matches!(b[k - 1], '*' | '+' | '?' | '}') {
                        k -= 1;
                        if b[k] == '}' {
                            while k > 0 && b[k] != '{' {
                                k -= 1;
                            }
                        }
                    }
                    let text: String = b[k..op_end].iter().collect();
                    return err("invalid nested repetition operator", &text);
                }
                if !atom {
                    return err("missing argument to repetition operator", &op);
                }
                if let Some((lo, hi)) = count {
                    if lo > 1000 || hi.is_some_and(|h| h > 1000 || h < lo) {
                        return err("invalid repeat count", &op);
                    }
                }
                i = op_end;
                repeated = true;
                continue;
            }
            _ => {
                atom = true;
                repeated = false;
            }
        }
        i += 1;
    }
    if depth > 0 {
        return err("missing closing )", re);
    }
    None
}

/// `{n}`, `{n,}` or `{n,m}` at `i`: the end and the counts.
fn parse_repeat(b: &[char], i: usize) -> Option<(usize, u64, Option<u64>)> {
    let mut j = i + 1;
    let num = |j: &mut usize| -> Option<u64> {
        let s = *j;
        while *j < b.len() && b[*j].is_ascii_digit() {
            *j += 1;
        }
        (s < *j).then(|| {
            b[s..*j]
                .iter()
                .collect::<String>()
                .parse()
                .unwrap_or(u64::MAX)
        })
    };
    let lo = num(&mut j)?;
    let hi = if b.get(j) == Some(&',') {
        j += 1;
        if b.get(j) == Some(&'}') {
            None
        } else {
            Some(num(&mut j)?)
        }
    } else {
        Some(lo)
    };
    (b.get(j) == Some(&'}')).then_some((j + 1, lo, hi))
}

#[cfg(test)]
mod regex_tests {
    use super::go_regex_error;

    #[test]
    fn go_regex_messages() {
        let e = |s: &str| go_regex_error(s).unwrap_or_default();
        assert_eq!(e("("), "error parsing regexp: missing closing ): `(`");
        assert_eq!(e("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(
            e("a{2,1}"),
            "error parsing regexp: invalid repeat count: `{2,1}`"
        );
        assert_eq!(
            e("*"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            e("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(e("a[bc"), "error parsing regexp: missing closing ]: `[bc`");
        assert_eq!(
            e("\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
        assert_eq!(go_regex_error("a(b|c)*[x-y]{1,3}"), None);
        assert_eq!(go_regex_error("(?i)a(?:b)(?P<n>c)"), None);
    }
}
