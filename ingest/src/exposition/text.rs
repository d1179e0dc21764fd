//! The Prometheus text format 0.0.4, parsed like Prometheus 3.5's `textparse.PromParser`
//! (quoted UTF-8 names included), and additionally accepting everything `promtool check metrics` (client_golang's `expfmt`
//! parser) accepts.
//!
//! Prometheus's lexer rules that shape this parser:
//! - blanks are spaces and tabs, allowed between any two tokens and at both ends of a line;
//!   empty lines are skipped; a missing final line break is fine;
//! - label values may contain raw line breaks and NUL bytes; a backslash escapes any byte but
//!   a line break; the label list tolerates a trailing comma and even a missing one;
//! - the value token is any run of bytes other than blanks, `{` and line breaks;
//! - a NUL byte where a line would start ends the body (the lexer's end-of-input rule);
//! - `#` followed by blanks and `HELP`/`TYPE` and blanks is metadata; any other `#` line is a
//!   comment. The help text is the rest of the line minus its first byte.
//! - Prometheus 3's quoted names: a double-quoted string inside the braces followed by `,`
//!   or `}` is the metric name (`{"my.metric", a="b"}`, `{a="b", "my.metric"}`), allowed
//!   once and only when no name precedes the braces; one followed by `=` is a label name
//!   (`m{"some.label"="x"}`). Quoted names escape like label values and are unescaped the
//!   same way; empty ones are refused (Prometheus fails the scrape on them too). Metadata
//!   lines may quote the name (`# TYPE "my.metric" counter`); it is kept as written.
//!
//! Where `promtool` accepts what Prometheus's scrape parser rejects, Tidemark accepts too:
//! - a `# TYPE` value is matched case-insensitively after skipping extra leading blanks
//!   (`# TYPE x  COUNTER`);
//! - `# HELP` / `# TYPE` with no metric name, and `# TYPE name` with no type, are comments;
//! - timestamps may carry a sign (`-5`, `+5`);
//! - help text need not be valid UTF-8.
//!
//! Duplicate label names are reported when the labels are materialised
//! ([`Sample::labels_into`](super::Sample::labels_into)), as Prometheus fails the scrape when
//! it appends such a series.

use super::entry::{Entry, Help, MetricName, MetricType, Sample};
use super::error::{token_text, ErrorKind, ParseError};
use super::lex::{self, skip_blanks, ValueScanError};
use super::Format;

/// The type a `# TYPE name type` line (as [`TextParser::metadata_line`] returns it) sets;
/// `None` for any other line (comments such as `# TYPE name` without a type included). The
/// line is parsed again as the parser did, so a quoted name holding blanks or a type word
/// cannot mislead it.
fn type_of_type_line(line: &[u8]) -> Option<MetricType> {
    let kw = skip_blanks(line, 1);
    if !line.get(kw..)?.starts_with(b"TYPE") {
        return None;
    }
    match TextParser::new(line).comment(0) {
        Ok(Entry::Type { kind, .. }) => Some(kind),
        _ => None,
    }
}

/// Pull parser for the text format. See the module docs for the accepted syntax.
#[derive(Debug, Clone)]
pub(crate) struct TextParser<'a> {
    body: &'a [u8],
    pos: usize,
    /// The last `#` line returned or skipped (from `#` to the line end): the metadata
    /// entry's line right after one is returned.
    meta_line: (usize, usize),
    /// The type of the last `# TYPE` line (Prometheus 3 normalizes `le`/`quantile` by it).
    mtype: MetricType,
}

impl<'a> TextParser<'a> {
    /// A parser over a whole body.
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            pos: 0,
            meta_line: (0, 0),
            mtype: MetricType::Unknown,
        }
    }

    #[cold]
    fn err(&self, offset: usize, kind: ErrorKind) -> ParseError {
        ParseError::at(Format::Text, self.body, offset, kind)
    }

    /// The next entry, `Ok(None)` at the end of the body.
    #[inline]
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.body;
        loop {
            let i = skip_blanks(b, self.pos);
            if i >= b.len() {
                self.pos = i;
                return Ok(None);
            }
            let c = b[i];
            if lex::is_metric_start(c) {
                return self.sample(i).map(|s| Some(Entry::Sample(s)));
            }
            match c {
                b'\n' => self.pos = i + 1,
                b'#' => return self.comment(i).map(Some),
                b'{' => return self.sample(i).map(|s| Some(Entry::Sample(s))),
                0 => {
                    self.pos = b.len();
                    return Ok(None);
                }
                _ => return Err(self.err(i, ErrorKind::InvalidStart)),
            }
        }
    }

    /// End of the line holding `i` (index of its `\n`, or the body length).
    #[inline]
    fn line_end(&self, i: usize) -> usize {
        memchr::memchr(b'\n', &self.body[i..]).map_or(self.body.len(), |p| i + p)
    }

    /// The whole line (from `#`, without the line break) of the last `#` line returned or
    /// skipped.
    pub(crate) fn metadata_line(&self) -> &'a [u8] {
        &self.body[self.meta_line.0..self.meta_line.1]
    }

    /// Skips the next line if it is exactly `line`, a line [`TextParser::metadata_line`]
    /// returned before (from any body): the same bytes parse to the same entry. The only
    /// state kept between lines, the type of the last `# TYPE` line, is taken from it.
    #[inline]
    pub(crate) fn skip_line(&mut self, line: &[u8]) -> bool {
        let b = self.body;
        let start = skip_blanks(b, self.pos);
        let end = start + line.len();
        if line.is_empty() || end > b.len() || b[start..end] != *line {
            return false;
        }
        if end < b.len() && b[end] != b'\n' {
            return false;
        }
        if let Some(kind) = type_of_type_line(line) {
            self.mtype = kind;
        }
        self.meta_line = (start, end);
        self.pos = (end + 1).min(b.len());
        true
    }

    /// A `#` line at `i`: metadata or a comment.
    fn comment(&mut self, i: usize) -> Result<Entry<'a>, ParseError> {
        let b = self.body;
        let end = self.line_end(i);
        self.pos = (end + 1).min(b.len());
        self.meta_line = (i, end);
        let comment = Ok(Entry::Comment(&b[i..end]));
        let kw = skip_blanks(b, i + 1).min(end);
        if kw == i + 1 {
            return comment;
        }
        let line = &b[kw..end];
        let (is_help, after) = if line.starts_with(b"HELP") {
            (true, kw + 4)
        } else if line.starts_with(b"TYPE") {
            (false, kw + 4)
        } else {
            return comment;
        };
        let what = if is_help { "HELP" } else { "TYPE" };
        if after >= end || !matches!(b[after], b' ' | b'\t') {
            return comment;
        }
        let name_start = skip_blanks(b, after).min(end);
        if name_start == end {
            // promtool ignores `# HELP ` without a name.
            return comment;
        }
        let (metric, name_end) = if b[name_start] == b'"' {
            // A quoted name ends on its line here (Prometheus's lexer would run on into
            // the next line and then fail on what follows).
            match lex::scan_label_value(&b[..end], name_start + 1, true) {
                Ok(close) => (MetricName::new(&b[name_start + 1..close]), close + 1),
                Err(e) => return Err(self.err(name_start, value_scan_kind(e))),
            }
        } else if lex::is_metric_start(b[name_start]) {
            let name_end = lex::scan_metric_name(b, name_start).min(end);
            (MetricName::new(&b[name_start..name_end]), name_end)
        } else {
            return Err(self.err(name_start, ErrorKind::ExpectedMetricName(what)));
        };
        let rest = &b[name_end..end];
        let text: &[u8] = if rest.iter().all(|&c| c == b' ' || c == b'\t') {
            &[]
        } else {
            &rest[1..]
        };
        if is_help {
            return Ok(Entry::Help(Help::new(metric, text, Format::Text)));
        }
        let t = &text[skip_blanks(text, 0)..];
        if t.is_empty() {
            // promtool ignores `# TYPE name` without a type.
            return comment;
        }
        let kind = if t.eq_ignore_ascii_case(b"counter") {
            MetricType::Counter
        } else if t.eq_ignore_ascii_case(b"gauge") {
            MetricType::Gauge
        } else if t.eq_ignore_ascii_case(b"histogram") {
            MetricType::Histogram
        } else if t.eq_ignore_ascii_case(b"summary") {
            MetricType::Summary
        } else if t.eq_ignore_ascii_case(b"untyped") {
            MetricType::Unknown
        } else {
            return Err(self.err(end - t.len(), ErrorKind::InvalidMetricType(token_text(t))));
        };
        self.mtype = kind;
        Ok(Entry::Type { metric, kind })
    }

    /// Like [`TextParser::next_entry`], but a sample line whose series is exactly `expected`
    /// (bytes an earlier `Sample::series` of this format returned) is not lexed up to its
    /// value: the same bytes lex to the same series, and they were valid then.
    #[inline(always)]
    pub(crate) fn next_entry_expecting(
        &mut self,
        expected: &[u8],
    ) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.body;
        let start = skip_blanks(b, self.pos);
        let end = start + expected.len();
        // A sample needs a value after its series, so `end` must be inside the body.
        if !expected.is_empty() && end < b.len() && b[start..end] == *expected {
            let whole = if expected.ends_with(b"}") {
                true
            } else {
                // A bare name must end here and not be followed by a label list.
                let next = skip_blanks(b, end);
                lex::scan_metric_name(b, end) == end && (next >= b.len() || b[next] != b'{')
            };
            if whole {
                // `{"name", ...}` gives `name_end == start`, as the full parse does.
                let name_end = lex::scan_metric_name(b, start);
                let mut s = self.sample_value(start, name_end, end)?;
                s.expected = true;
                return Ok(Some(Entry::Sample(s)));
            }
        }
        self.next_entry()
    }

    /// A sample line starting at `start`: a metric name, or `{` with the quoted name inside.
    #[inline]
    fn sample(&mut self, start: usize) -> Result<Sample<'a>, ParseError> {
        let b = self.body;
        // `name_end == start` for `{"name", ...}`.
        let name_end = lex::scan_metric_name(b, start);
        let i = skip_blanks(b, name_end);
        let mut series_end = name_end;
        if i < b.len() && b[i] == b'{' {
            let (close, quoted_name) = self.labels(i + 1, name_end > start)?;
            if name_end == start && !quoted_name {
                return Err(self.err(start, ErrorKind::MetricNameNotSet));
            }
            series_end = close + 1;
        }
        self.sample_value(start, name_end, series_end)
    }

    /// The rest of a sample line after its series (`start..series_end`): value and timestamp.
    #[inline(always)]
    fn sample_value(
        &mut self,
        start: usize,
        name_end: usize,
        series_end: usize,
    ) -> Result<Sample<'a>, ParseError> {
        let b = self.body;
        let mut i = skip_blanks(b, series_end);
        let vstart = i;
        // The common value, a plain decimal, is parsed as the token is scanned.
        let fast = lex::parse_decimal_prefix(&b[i..])
            .filter(|&(_, n)| i + n == b.len() || matches!(b[i + n], b' ' | b'\t' | b'\n' | b'{'));
        let value = if let Some((v, n)) = fast {
            i += n;
            v
        } else {
            while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'{') {
                i += 1;
            }
            if i == vstart {
                return Err(self.err(i, ErrorKind::ExpectedValue));
            }
            let tok = &b[vstart..i];
            match lex::parse_float(tok) {
                Some(v) if v.is_nan() => f64::from_bits(lex::NORMAL_NAN),
                Some(v) => v,
                None => return Err(self.value_error(vstart, tok)),
            }
        };

        i = skip_blanks(b, i);
        let mut timestamp = 0;
        let mut has_timestamp = false;
        if i < b.len() && b[i] != b'\n' {
            let tstart = i;
            if matches!(b[i], b'-' | b'+') {
                i += 1;
            }
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let glued = i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n');
            let tok = &b[tstart..i];
            match lex::parse_int_timestamp(tok).filter(|_| !glued) {
                Some(t) => {
                    timestamp = t;
                    has_timestamp = true;
                }
                None => {
                    let end = self.token_end(tstart);
                    let kind = if !glued && (tok.is_empty() || tok == b"-" || tok == b"+") {
                        ErrorKind::TrailingData(token_text(&b[tstart..end]))
                    } else {
                        ErrorKind::InvalidTimestamp(token_text(&b[tstart..end]))
                    };
                    return Err(self.err(tstart, kind));
                }
            }
            i = skip_blanks(b, i);
            if i < b.len() && b[i] != b'\n' {
                let end = self.token_end(i);
                return Err(self.err(i, ErrorKind::TrailingData(token_text(&b[i..end]))));
            }
        }
        self.pos = (i + 1).min(b.len());
        // Offsets fit in u32: `Parser::new` refuses larger bodies.
        Ok(Sample {
            body: b,
            start: start as u32,
            name_end: name_end as u32,
            series_end: series_end as u32,
            exemplar_at: 0,
            value,
            timestamp,
            has_timestamp,
            format: Format::Text,
            mtype: self.mtype,
            expected: false,
        })
    }

    fn token_end(&self, mut i: usize) -> usize {
        while i < self.body.len() && !matches!(self.body[i], b' ' | b'\t' | b'\n') {
            i += 1;
        }
        i
    }

    #[cold]
    fn value_error(&self, at: usize, tok: &[u8]) -> ParseError {
        let kind = if tok.last() == Some(&b'\r') {
            ErrorKind::CarriageReturn(token_text(tok))
        } else {
            ErrorKind::InvalidValue(token_text(tok))
        };
        self.err(at, kind)
    }

    /// Label list after `{` at `i - 1`; returns the index of the closing `}` and whether a
    /// quoted metric name was among the labels. `named`: the series has a name already.
    #[inline]
    fn labels(&self, mut i: usize, mut named: bool) -> Result<(usize, bool), ParseError> {
        let b = self.body;
        let mut quoted_name = false;
        loop {
            i = skip_blanks(b, i);
            if i >= b.len() {
                return Err(self.err(i, ErrorKind::ExpectedLabelName));
            }
            if b[i] == b'}' {
                return Ok((i, quoted_name));
            }
            if b[i] == b'"' {
                let open = i;
                let close = match lex::scan_label_value(b, i + 1, true) {
                    Ok(close) => close,
                    Err(e) => return Err(self.err(i, value_scan_kind(e))),
                };
                if close == open + 1 {
                    return Err(self.err(open, ErrorKind::EmptyQuotedName));
                }
                i = skip_blanks(b, close + 1);
                match b.get(i) {
                    Some(b',' | b'}') => {
                        if named {
                            return Err(self.err(open, ErrorKind::MetricNameTwice));
                        }
                        named = true;
                        quoted_name = true;
                        if b[i] == b',' {
                            i += 1;
                        }
                        continue;
                    }
                    Some(b'=') => {}
                    _ => return Err(self.err(i, ErrorKind::ExpectedAfterQuotedName)),
                }
            } else if lex::is_label_start(b[i]) {
                i = skip_blanks(b, lex::scan_label_name(b, i));
            } else {
                return Err(self.err(i, ErrorKind::ExpectedLabelName));
            }
            if i >= b.len() || b[i] != b'=' {
                return Err(self.err(i, ErrorKind::ExpectedEqual));
            }
            i = skip_blanks(b, i + 1);
            if i >= b.len() || b[i] != b'"' {
                return Err(self.err(i, ErrorKind::ExpectedLabelValue));
            }
            i = match lex::scan_label_value(b, i + 1, true) {
                Ok(close) => close + 1,
                Err(e) => return Err(self.err(i, value_scan_kind(e))),
            };
            i = skip_blanks(b, i);
            if i < b.len() && b[i] == b',' {
                i += 1;
            }
        }
    }
}

pub(crate) fn value_scan_kind(e: ValueScanError) -> ErrorKind {
    match e {
        ValueScanError::Unterminated => ErrorKind::UnterminatedLabelValue,
        ValueScanError::EscapedNewline => ErrorKind::EscapedNewline,
        ValueScanError::InvalidUtf8 => ErrorKind::InvalidUtf8LabelValue,
    }
}
