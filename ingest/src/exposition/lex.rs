//! Byte-level pieces shared by both formats: character classes, Go-compatible float parsing,
//! label-value scanning and unescaping.
//!
//! Everything here works on `&[u8]` slices of the scraped body and never allocates, except
//! [`unescape`] when the text really contains an escape sequence.

use std::borrow::Cow;

const M_START: u8 = 1;
const M_CONT: u8 = 2;
const L_START: u8 = 4;
const L_CONT: u8 = 8;

/// Character classes of the legacy name charset: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`,
/// label names `[a-zA-Z_][a-zA-Z0-9_]*`.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alpha = b.is_ascii_alphabetic() || b == b'_';
        let digit = b.is_ascii_digit();
        let mut v = 0;
        if alpha || b == b':' {
            v |= M_START | M_CONT;
        }
        if digit {
            v |= M_CONT | L_CONT;
        }
        if alpha {
            v |= L_START | L_CONT;
        }
        t[c] = v;
        c += 1;
    }
    t
};

/// Whether `b` may start a metric name.
#[inline]
pub(crate) fn is_metric_start(b: u8) -> bool {
    CLASS[usize::from(b)] & M_START != 0
}

/// Whether `b` may start a label name.
#[inline]
pub(crate) fn is_label_start(b: u8) -> bool {
    CLASS[usize::from(b)] & L_START != 0
}

/// End of the metric name starting at `i` (which must hold a metric-name start character).
#[inline]
pub(crate) fn scan_metric_name(b: &[u8], i: usize) -> usize {
    scan_class(b, i, M_CONT)
}

/// End of the label name starting at `i` (which must hold a label-name start character).
#[inline]
pub(crate) fn scan_label_name(b: &[u8], i: usize) -> usize {
    scan_class(b, i, L_CONT)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Eight bytes of `b` from `i`, little-endian, if there are eight.
#[inline]
fn word(b: &[u8], i: usize) -> Option<u64> {
    let chunk = b.get(i..i + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(chunk);
    Some(u64::from_le_bytes(a))
}

/// Bit 7 of each byte of the result is set where the 7-bit byte of `x` lies in `lo..=hi`.
/// `x` must have every bit 7 clear, so that no addition carries into the next byte.
#[inline]
fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
    (x + LO * u64::from(128 - lo)) & !(x + LO * u64::from(127 - hi)) & HI
}

/// Bit 7 set for each byte of `w` that is a name character: `[a-zA-Z0-9_]`, plus `:` when
/// `colon` is set (metric names).
#[inline]
fn name_bytes(w: u64, colon: bool) -> u64 {
    let x = w & !HI;
    let alpha = in_range(x | (LO * 0x20), b'a', b'z');
    let digit = in_range(x, b'0', if colon { b':' } else { b'9' });
    let underscore = !((x ^ (LO * u64::from(b'_'))) + LO * 0x7f) & HI;
    (alpha | digit | underscore) & !w
}

/// End of the run of name characters from `i`. Names are long (node exporter's run to 40
/// bytes), so they are classified eight bytes at a time (SWAR), which also finds the end
/// without a byte loop whose exit the branch predictor cannot guess.
#[inline]
fn scan_class(b: &[u8], mut i: usize, class: u8) -> usize {
    let colon = class == M_CONT;
    while let Some(w) = word(b, i) {
        let bad = !name_bytes(w, colon) & HI;
        if bad != 0 {
            return i + (bad.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && CLASS[usize::from(b[i])] & class != 0 {
        i += 1;
    }
    i
}

/// Bit 7 set at (at least) the first byte of `w` equal to `c`; bytes above a match may be
/// flagged too, so only the lowest flag is meaningful.
#[inline]
fn first_eq(w: u64, c: u8) -> u64 {
    let v = w ^ (LO * u64::from(c));
    v.wrapping_sub(LO) & !v & HI
}

/// Skips spaces and tabs (the text format's only separators).
#[inline]
pub(crate) fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// Why a quoted label value could not be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueScanError {
    /// The body (or, in OpenMetrics, the line) ended before the closing quote.
    Unterminated,
    /// A backslash was followed by a line break.
    EscapedNewline,
    /// The value is not valid UTF-8.
    InvalidUtf8,
}

/// Scans a quoted label value whose opening quote is at `i - 1`; returns the index of the
/// closing quote. A backslash escapes the next byte (never a line break). With
/// `allow_newline == false` (OpenMetrics) a raw line break ends the value with an error; the
/// text format allows it, as Prometheus's lexer does.
#[inline]
pub(crate) fn scan_label_value(
    b: &[u8],
    mut i: usize,
    allow_newline: bool,
) -> Result<usize, ValueScanError> {
    let start = i;
    let mut high = 0u8;
    loop {
        // Skip eight bytes at a time while none is special.
        while let Some(w) = word(b, i) {
            let mut special = first_eq(w, b'"') | first_eq(w, b'\\');
            if !allow_newline {
                special |= first_eq(w, b'\n');
            }
            if special != 0 {
                let n = (special.trailing_zeros() / 8) as usize;
                // Bytes before the special one.
                let before = if n == 0 {
                    0
                } else {
                    w & (u64::MAX >> (64 - 8 * n))
                };
                high |= u8::from(before & HI != 0) << 7;
                i += n;
                break;
            }
            high |= u8::from(w & HI != 0) << 7;
            i += 8;
        }
        if i >= b.len() {
            break;
        }
        let c = b[i];
        high |= c;
        match c {
            b'"' => {
                if high >= 0x80 && std::str::from_utf8(&b[start..i]).is_err() {
                    return Err(ValueScanError::InvalidUtf8);
                }
                return Ok(i);
            }
            b'\\' => match b.get(i + 1) {
                None => return Err(ValueScanError::Unterminated),
                Some(b'\n') => return Err(ValueScanError::EscapedNewline),
                Some(&n) => {
                    high |= n;
                    i += 2;
                }
            },
            b'\n' if !allow_newline => return Err(ValueScanError::Unterminated),
            _ => i += 1,
        }
    }
    Err(ValueScanError::Unterminated)
}

/// Undoes exposition escaping the way Prometheus's `strings.Replacer` does: `\\` → `\`,
/// `\n` → line break and, when `quote` is set, `\"` → `"`. Any other backslash is kept as is.
/// Borrows when there is nothing to replace; invalid UTF-8 (possible only in help text of the
/// text format) is replaced with U+FFFD.
pub(crate) fn unescape(raw: &[u8], quote: bool) -> Cow<'_, str> {
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    unescape_into(raw, quote, &mut out);
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// [`unescape`] appending bytes to `out`.
pub(crate) fn unescape_into(raw: &[u8], quote: bool, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'\\' {
            match raw.get(i + 1) {
                Some(b'\\') => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                Some(b'"') if quote => {
                    out.push(b'"');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
        i += 1;
    }
}

/// The canonical NaN every parsed NaN becomes (Prometheus's `value.NormalNaN`), so that a
/// scraped value can never be mistaken for a staleness marker.
pub const NORMAL_NAN: u64 = 0x7ff8_0000_0000_0001;

/// Parses a sample value or OpenMetrics timestamp exactly as Prometheus does: Go's
/// `strconv.ParseFloat` minus hex floats and `_` separators. Accepted: decimal numbers with
/// optional sign, fraction and exponent (`1`, `-.5`, `5.`, `1E+06`); `Inf`/`Infinity` with an
/// optional sign and `NaN`, case-insensitively. Out-of-range numbers (`1e400`) are rejected,
/// as Go reports them as range errors; NaN is returned as [`NORMAL_NAN`].
#[inline]
pub(crate) fn parse_float(s: &[u8]) -> Option<f64> {
    if let Some(v) = parse_simple_decimal(s) {
        return Some(v);
    }
    parse_float_slow(s)
}

/// Powers of ten that are exact in an f64.
static POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Fast path for `[-+]?digits[.digits][(e|E)[-+]digits]` whose significant digits fit in
/// 2^53 and whose decimal exponent is within ±22: the mantissa and the power of ten are both
/// exact, so one IEEE multiplication or division gives the correctly rounded result
/// (Clinger's fast path). Returns `None` for anything else, including malformed input.
#[inline]
fn parse_simple_decimal(s: &[u8]) -> Option<f64> {
    match parse_decimal_prefix(s)? {
        (v, n) if n == s.len() => Some(v),
        _ => None,
    }
}

/// [`parse_simple_decimal`] of the longest prefix of `s` in its grammar, with the prefix's
/// length; `None` when the fast path does not apply to that prefix (too many digits, an
/// exponent out of range, an `e` without digits, no digit at all). The caller checks what
/// follows: the token must end there for the value to be the token's.
#[inline]
pub(crate) fn parse_decimal_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let (neg, mut i) = match s.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut mant: u64 = 0;
    let mut ndigits = 0u32;
    while i < s.len() && s[i].is_ascii_digit() {
        if ndigits >= 18 {
            return None;
        }
        mant = mant * 10 + u64::from(s[i] - b'0');
        ndigits += 1;
        i += 1;
    }
    let mut frac_digits = 0i32;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            if ndigits >= 18 {
                return None;
            }
            mant = mant * 10 + u64::from(s[i] - b'0');
            ndigits += 1;
            frac_digits += 1;
            i += 1;
        }
    }
    if ndigits == 0 || mant > (1 << 53) {
        return None;
    }
    let mut exp: i32 = 0;
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        let eneg = match s.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let estart = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - estart >= 4 {
                return None;
            }
            exp = exp * 10 + i32::from(s[i] - b'0');
            i += 1;
        }
        if i == estart {
            return None;
        }
        if eneg {
            exp = -exp;
        }
    }
    let e10 = exp - frac_digits;
    let v = mant as f64;
    let v = if e10 == 0 || mant == 0 {
        v
    } else if (1..=22).contains(&e10) {
        v * POW10[e10 as usize]
    } else if (-22..=-1).contains(&e10) {
        v / POW10[(-e10) as usize]
    } else {
        return None;
    };
    Some((if neg { -v } else { v }, i))
}

#[cold]
fn parse_float_slow(s: &[u8]) -> Option<f64> {
    let (neg, rest) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Go accepts no sign before NaN.
    if s.eq_ignore_ascii_case(b"nan") {
        return Some(f64::from_bits(NORMAL_NAN));
    }
    if !is_decimal_syntax(rest) {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    // Go's ParseFloat reports overflow as an error; Rust returns infinity.
    if v.is_infinite() {
        return None;
    }
    Some(v)
}

/// `digits[.digits][e[+-]digits]` with at least one mantissa digit (`5.`, `.5` are fine).
fn is_decimal_syntax(s: &[u8]) -> bool {
    let mut i = 0;
    let mut mant = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
        mant += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
            mant += 1;
        }
    }
    if mant == 0 {
        return false;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == s.len()
}

/// Prometheus's `formatOpenMetricsFloat`: `NaN`, `+Inf`, `-Inf`, else Go's
/// `strconv.FormatFloat(f, 'g', -1, 64)` with `.0` appended when it has neither `.` nor an
/// exponent (`1` → `1.0`, `0.25` → `0.25`, `1e6` → `1e+06`, `1e-5` → `1e-05`).
pub fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Shortest round-trip digits and the decimal exponent, from Rust's `{:e}`
    // (`-1.2345e-7`): the same digits Go's shortest formatting chooses.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // Go's 'g' with the shortest precision uses %e when exp < -4 || exp >= 6 (its eprec is
    // 6 for shortest formatting).
    let s = if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    } else if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
        }
    };
    if s.contains(['.', 'e']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// Parses a text-format timestamp: a base-10 int64. Prometheus's lexer takes digits only;
/// promtool (and the text format's own docs) also take a sign, so Tidemark does too.
#[inline]
pub(crate) fn parse_int_timestamp(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub(i64::from(c - b'0'))?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}

/// Converts OpenMetrics float seconds to milliseconds the way Prometheus does
/// (`int64(ts * 1000)`, truncating toward zero). Rust's conversion saturates where Go's is
/// undefined, for values beyond ±9.2e15 seconds.
#[inline]
pub(crate) fn seconds_to_ms(ts: f64) -> i64 {
    (ts * 1000.0) as i64
}

#[cfg(test)]
mod tests {
    #[test]
    fn openmetrics_float_formatting_is_go_s() {
        let cases = [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (0.5, "0.5"),
            (0.25, "0.25"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.5e-7, "2.5e-07"),
            (-3.0, "-3.0"),
            (1e21, "1e+21"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (f, want) in cases {
            assert_eq!(super::format_openmetrics_float(f), want, "{f}");
        }
    }

    use super::*;

    fn f(s: &str) -> Option<f64> {
        parse_float(s.as_bytes())
    }

    #[test]
    fn floats_follow_go_parse_float() {
        assert_eq!(f("1"), Some(1.0));
        assert_eq!(f("-0"), Some(-0.0));
        assert!(f("-0").unwrap().is_sign_negative());
        assert_eq!(f("00001"), Some(1.0));
        assert_eq!(f(".5"), Some(0.5));
        assert_eq!(f("5."), Some(5.0));
        assert_eq!(f("+3.25"), Some(3.25));
        assert_eq!(f("1e3"), Some(1000.0));
        assert_eq!(f("1E+06"), Some(1e6));
        assert_eq!(f("1.458255915e9"), Some(1.458255915e9));
        assert_eq!(f("7.424100000000001e-05"), Some(7.424100000000001e-05));
        assert_eq!(f("0.1"), Some(0.1));
        assert_eq!(
            f("123456789012345678901234567890"),
            Some(1.2345678901234568e29)
        );
        assert_eq!(f("1e-400"), Some(0.0));
        for inf in ["+Inf", "inf", "INF", "Infinity", "+infinity", "iNfInItY"] {
            assert_eq!(f(inf), Some(f64::INFINITY), "{inf}");
        }
        for inf in ["-Inf", "-inf", "-Infinity"] {
            assert_eq!(f(inf), Some(f64::NEG_INFINITY), "{inf}");
        }
        for nan in ["NaN", "nan", "NAN", "nAn"] {
            assert_eq!(f(nan).map(f64::to_bits), Some(NORMAL_NAN), "{nan}");
        }
        for bad in [
            "",
            "+",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "+nan",
            "-NaN",
            "infinit",
            "infinityy",
            "1_0",
            "0x10",
            "0x1p-3",
            "1p3",
            "1e400",
            "-1e400",
            "1.2.3",
            "1 ",
            " 1",
            "true",
            "1\r",
            "١",
            "--1",
            "1e5.5",
        ] {
            assert_eq!(f(bad), None, "{bad:?} must be rejected");
        }
    }

    #[test]
    fn fast_path_agrees_with_std() {
        for s in [
            "0.3",
            "123.456",
            "999999999999999",
            "0.000000000000001",
            "-42.0001",
            "1.5",
            "3.",
            "1.6891372e+09",
            "7.424100000000001e-05",
            "9007199254740992",
            "9007199254740993",
            "123456789012345678",
            "1e22",
            "1e23",
            "1e-22",
            "1e-23",
            "0e500",
            "2.5E-3",
            "0.1e1",
            "-1.7976931348623157e308",
            "4.9e-324",
        ] {
            assert_eq!(f(s), Some(s.parse::<f64>().unwrap()), "{s}");
        }
    }

    #[test]
    fn timestamps() {
        let t = |s: &str| parse_int_timestamp(s.as_bytes());
        assert_eq!(t("1395066363000"), Some(1395066363000));
        assert_eq!(t("-5"), Some(-5));
        assert_eq!(t("+5"), Some(5));
        assert_eq!(t("9223372036854775807"), Some(i64::MAX));
        assert_eq!(t("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(t("9223372036854775808"), None);
        assert_eq!(t("99999999999999999999"), None);
        assert_eq!(t("1.5"), None);
        assert_eq!(t("-"), None);
        assert_eq!(t(""), None);
        assert_eq!(seconds_to_ms(1520879607.789), 1520879607789);
        assert_eq!(seconds_to_ms(-1.5), -1500);
    }

    #[test]
    fn unescaping_matches_prometheus_replacers() {
        assert_eq!(unescape(br#"plain"#, true), "plain");
        assert_eq!(unescape(br#"a\\b\nc\"d"#, true), "a\\b\nc\"d");
        assert_eq!(unescape(br#"a\\b\nc\"d"#, false), "a\\b\nc\\\"d");
        assert_eq!(unescape(br#"\q\"#, true), "\\q\\");
        assert_eq!(unescape(br#"\\n"#, true), "\\n");
        assert_eq!(unescape(b"bad\xff\\n", false), "bad\u{fffd}\n");
    }

    #[test]
    fn swar_scans_agree_with_byte_loops() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for class in [M_CONT, L_CONT] {
            for &c in &bytes {
                for pos in 0..12 {
                    let mut b = b"abcdefghijklmnopqrstuvwx".to_vec();
                    b[pos] = c;
                    let slow = b.iter().position(|&x| CLASS[usize::from(x)] & class == 0);
                    assert_eq!(
                        scan_class(&b, 0, class),
                        slow.unwrap_or(b.len()),
                        "{c} at {pos}"
                    );
                }
            }
        }
        for &c in &bytes {
            for pos in 0..12 {
                let mut b = b"aaaaaaaaaaaaaaaaaaaa\"".to_vec();
                b[pos] = c;
                let want = match c {
                    b'"' => Ok(pos),
                    b'\\' if b[pos + 1] == b'\n' => Err(ValueScanError::EscapedNewline),
                    b'\\' => Ok(20),
                    b'\n' => Err(ValueScanError::Unterminated),
                    0x80.. => Err(ValueScanError::InvalidUtf8),
                    _ => Ok(20),
                };
                assert_eq!(scan_label_value(&b, 0, false), want, "{c} at {pos}");
            }
        }
    }

    #[test]
    fn label_value_scanning() {
        let s = |v: &[u8], nl| scan_label_value(v, 0, nl);
        assert_eq!(s(br#"abc" rest"#, false), Ok(3));
        assert_eq!(s(br#"a\"b" rest"#, false), Ok(4));
        assert_eq!(s(b"a\nb\"", true), Ok(3));
        assert_eq!(s(b"a\nb\"", false), Err(ValueScanError::Unterminated));
        assert_eq!(s(b"a\\\nb\"", true), Err(ValueScanError::EscapedNewline));
        assert_eq!(s(b"abc", true), Err(ValueScanError::Unterminated));
        assert_eq!(s(b"abc\\", true), Err(ValueScanError::Unterminated));
        assert_eq!(s(b"\xff\"", true), Err(ValueScanError::InvalidUtf8));
        assert_eq!(s("h\u{e9}\"".as_bytes(), true), Ok(3));
        assert_eq!(s(b"nul\0\"", false), Ok(4));
    }
}
