//! OpenMetrics 1.0 text, parsed like Prometheus 3.5's `textparse.OpenMetricsParser`, quoted
//! UTF-8 names included.
//!
//! What that parser enforces, and so this one:
//! - tokens are separated by exactly one space; no tabs, no blank lines, no leading or
//!   trailing spaces, no spaces inside braces; a trailing comma in a label list is fine;
//! - the only `#` lines are `# HELP`, `# TYPE`, `# UNIT` and `# EOF`; the body must end with
//!   `# EOF` and an optional line break, with nothing after it;
//! - label values and help text share one escaping (`\\`, `\"`, `\n`); a raw line break may
//!   not appear in a label value; help text must be UTF-8;
//! - `# TYPE` is one of `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`,
//!   `stateset`, `unknown` (exactly, lower case); a non-empty `# UNIT` must be a suffix of the
//!   family name after `_`;
//! - timestamps are float seconds (any Prometheus float but NaN and ±Inf), converted with
//!   `int64(ts * 1000)`;
//! - `sample # {labels} value [timestamp]` exemplars may follow any sample;
//! - quoted names as in the text format (`{"my.metric",a="b"}`, `m{"some.label"="x"}`,
//!   `# TYPE "my.metric" counter`), without blanks; not the metric name inside an
//!   exemplar's labels.
//!
//! Not enforced (neither does Prometheus): suffix/type agreement, family grouping and order.

use super::entry::{ascii, Entry, Exemplar, Help, MetricName, MetricType, RawLabels, Sample};
use super::error::{token_text, ErrorKind, ParseError};
use super::lex;
use super::text::value_scan_kind;
use super::{Format, ParserOptions};

/// The metric type a `# TYPE` line names (exactly, in lower case).
fn metric_type(text: &[u8]) -> Option<MetricType> {
    Some(match text {
        b"counter" => MetricType::Counter,
        b"gauge" => MetricType::Gauge,
        b"histogram" => MetricType::Histogram,
        b"gaugehistogram" => MetricType::GaugeHistogram,
        b"summary" => MetricType::Summary,
        b"info" => MetricType::Info,
        b"stateset" => MetricType::StateSet,
        b"unknown" => MetricType::Unknown,
        _ => return None,
    })
}

/// Decodes the exemplar whose labels start at `at` in an already validated body.
pub(crate) fn decode_exemplar(body: &[u8], at: usize) -> Option<Exemplar<'_>> {
    OpenMetricsParser::new(body, ParserOptions::default())
        .exemplar(at)
        .ok()
        .map(|(e, _)| e)
}

/// Pull parser for OpenMetrics. See the module docs for the accepted syntax.
#[derive(Debug, Clone)]
pub(crate) struct OpenMetricsParser<'a> {
    body: &'a [u8],
    pos: usize,
    done: bool,
    opts: ParserOptions,
    /// The family of the last `# TYPE`, for recognising `_created` samples.
    family: &'a [u8],
    family_type: MetricType,
    /// The line (`#` to line end) of the last metadata entry returned.
    meta_line: (usize, usize),
}

impl<'a> OpenMetricsParser<'a> {
    /// A parser over a whole body.
    pub(crate) fn new(body: &'a [u8], opts: ParserOptions) -> Self {
        Self {
            body,
            pos: 0,
            done: false,
            opts,
            family: &[],
            family_type: MetricType::Unknown,
            meta_line: (0, 0),
        }
    }

    #[cold]
    fn err(&self, offset: usize, kind: ErrorKind) -> ParseError {
        ParseError::at(Format::OpenMetrics, self.body, offset, kind)
    }

    /// The next entry; `Ok(None)` once `# EOF` has been read.
    #[inline]
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let b = self.body;
            let i = self.pos;
            if i >= b.len() {
                return Err(self.err(i, ErrorKind::MissingEof));
            }
            let c = b[i];
            if lex::is_metric_start(c) || c == b'{' {
                let s = self.sample(i)?;
                if self.opts.skip_created && self.is_created(s.metric_name_raw()) {
                    continue;
                }
                return Ok(Some(Entry::Sample(s)));
            }
            if c == b'#' {
                return self.hash_line(i);
            }
            return Err(self.err(i, ErrorKind::InvalidStart));
        }
    }

    /// The whole line (from `#`, without the line break) of the last metadata entry.
    pub(crate) fn metadata_line(&self) -> &'a [u8] {
        &self.body[self.meta_line.0..self.meta_line.1]
    }

    /// Skips the next line if it is exactly `line`, a line
    /// [`OpenMetricsParser::metadata_line`] returned before (from any body): the same bytes
    /// parse to the same entry. A `# TYPE` line still sets the current family, taken from
    /// the line (valid, since it parsed before: `# TYPE <name> <type>`).
    #[inline]
    pub(crate) fn skip_line(&mut self, line: &[u8]) -> bool {
        let b = self.body;
        let (start, end) = (self.pos, self.pos + line.len());
        if self.done || end >= b.len() || b[end] != b'\n' || b[start..end] != *line {
            return false;
        }
        if line.starts_with(b"# TYPE ") {
            // Types hold no spaces: the last one separates the name from the type.
            let Some(sep) = line.iter().rposition(|&c| c == b' ').filter(|&p| p > 7) else {
                return false;
            };
            let Some(kind) = metric_type(&line[sep + 1..]) else {
                return false;
            };
            self.family = &b[start + 7..start + sep];
            if let [b'"', inner @ .., b'"'] = self.family {
                self.family = inner;
            }
            self.family_type = kind;
        } else if !(line.starts_with(b"# HELP ") || line.starts_with(b"# UNIT ")) {
            return false;
        }
        self.meta_line = (start, end);
        self.pos = end + 1;
        true
    }

    /// Whether `name` is the `_created` series of the current counter, histogram or summary.
    fn is_created(&self, name: &[u8]) -> bool {
        matches!(
            self.family_type,
            MetricType::Counter | MetricType::Histogram | MetricType::Summary
        ) && name.len() == self.family.len() + 8
            && name.starts_with(self.family)
            && name.ends_with(b"_created")
    }

    fn hash_line(&mut self, i: usize) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.body;
        let rest = &b[i..];
        if rest.starts_with(b"# EOF") {
            let mut end = i + 5;
            if end < b.len() && b[end] == b'\n' {
                end += 1;
            }
            if end != b.len() {
                return Err(self.err(end, ErrorKind::DataAfterEof));
            }
            self.done = true;
            self.pos = end;
            return Ok(None);
        }
        let what = if rest.starts_with(b"# HELP ") {
            "HELP"
        } else if rest.starts_with(b"# TYPE ") {
            "TYPE"
        } else if rest.starts_with(b"# UNIT ") {
            "UNIT"
        } else {
            return Err(self.err(i, ErrorKind::InvalidComment));
        };
        let name_start = i + 7;
        let (metric_bytes, name_end) = if name_start < b.len() && b[name_start] == b'"' {
            // Quoted: kept as written between the quotes, as Prometheus keeps it.
            match lex::scan_label_value(b, name_start + 1, false) {
                Ok(close) => (&b[name_start + 1..close], close + 1),
                Err(e) => return Err(self.err(name_start, value_scan_kind(e))),
            }
        } else if name_start < b.len() && lex::is_metric_start(b[name_start]) {
            let name_end = lex::scan_metric_name(b, name_start);
            (&b[name_start..name_end], name_end)
        } else {
            return Err(self.err(name_start, ErrorKind::ExpectedMetricName(what)));
        };
        let line_end = memchr::memchr(b'\n', &b[name_end..]);
        let line_end = match line_end {
            Some(p) if b[name_end] == b' ' => name_end + p,
            _ => return Err(self.err(name_end, ErrorKind::ExpectedMetadataText(what))),
        };
        self.pos = line_end + 1;
        self.meta_line = (i, line_end);
        let metric = MetricName::new(metric_bytes);
        let text = &b[name_end + 1..line_end];
        match what {
            "HELP" => {
                if std::str::from_utf8(text).is_err() {
                    return Err(self.err(name_end + 1, ErrorKind::InvalidHelpUtf8));
                }
                Ok(Some(Entry::Help(Help::new(
                    metric,
                    text,
                    Format::OpenMetrics,
                ))))
            }
            "TYPE" => {
                let Some(kind) = metric_type(text) else {
                    return Err(
                        self.err(name_end + 1, ErrorKind::InvalidMetricType(token_text(text)))
                    );
                };
                self.family = metric_bytes;
                self.family_type = kind;
                Ok(Some(Entry::Type { metric, kind }))
            }
            _ => {
                let is_suffix = text.is_empty()
                    || (metric_bytes.len() > text.len()
                        && metric_bytes.ends_with(text)
                        && metric_bytes[metric_bytes.len() - text.len() - 1] == b'_');
                if !is_suffix {
                    return Err(self.err(
                        name_end + 1,
                        ErrorKind::UnitNotSuffix {
                            unit: token_text(text),
                            metric: metric.to_string(),
                        },
                    ));
                }
                // A suffix of a valid name is valid UTF-8, and so is an empty unit.
                Ok(Some(Entry::Unit {
                    metric,
                    unit: ascii(text),
                }))
            }
        }
    }

    /// A space followed by a token of bytes other than space and line break, starting at
    /// `i`; returns the token's range.
    #[inline]
    fn spaced_token(&self, i: usize) -> Option<(usize, usize)> {
        let b = self.body;
        if i >= b.len() || b[i] != b' ' {
            return None;
        }
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j] != b' ' && b[j] != b'\n' {
            j += 1;
        }
        (j > start).then_some((start, j))
    }

    /// Like [`OpenMetricsParser::next_entry`], but a sample line whose series is exactly
    /// `expected` (bytes an earlier `Sample::series` of this format returned) is not lexed up
    /// to its value: the same bytes lex to the same series, and they were valid then.
    #[inline(always)]
    pub(crate) fn next_entry_expecting(
        &mut self,
        expected: &[u8],
    ) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.body;
        let start = self.pos;
        let end = start + expected.len();
        // A sample needs a value after its series, so `end` must be inside the body; a bare
        // name must end here (a space follows it, nothing else).
        if !self.done
            && !expected.is_empty()
            && end < b.len()
            && b[start..end] == *expected
            && (expected.ends_with(b"}") || b[end] == b' ')
        {
            // `{"name",...}` gives `name_end == start`, as the full parse does.
            let name_end = lex::scan_metric_name(b, start);
            let mut s = self.sample_value(start, name_end, end)?;
            if self.opts.skip_created && self.is_created(s.metric_name_raw()) {
                return self.next_entry();
            }
            s.expected = true;
            return Ok(Some(Entry::Sample(s)));
        }
        self.next_entry()
    }

    /// A sample line starting at `start`: a metric name, or `{` with the quoted name inside.
    #[inline]
    fn sample(&mut self, start: usize) -> Result<Sample<'a>, ParseError> {
        let b = self.body;
        // `name_end == start` for `{"name",...}`.
        let name_end = lex::scan_metric_name(b, start);
        let mut i = name_end;
        if i < b.len() && b[i] == b'{' {
            let names = if name_end > start {
                Names::Named
            } else {
                Names::Unnamed
            };
            let (close, quoted_name) = self.labels(i + 1, names)?;
            if name_end == start && !quoted_name {
                return Err(self.err(start, ErrorKind::MetricNameNotSet));
            }
            i = close + 1;
        }
        self.sample_value(start, name_end, i)
    }

    /// The rest of a sample line after its series (`start..series_end`): value, timestamp
    /// and exemplar.
    #[inline(always)]
    fn sample_value(
        &mut self,
        start: usize,
        name_end: usize,
        series_end: usize,
    ) -> Result<Sample<'a>, ParseError> {
        let b = self.body;
        let mut i = series_end;
        let Some((vs, ve)) = self.spaced_token(i) else {
            return Err(self.err(i, ErrorKind::ExpectedValue));
        };
        let value = match lex::parse_float(&b[vs..ve]) {
            Some(v) if v.is_nan() => f64::from_bits(lex::NORMAL_NAN),
            Some(v) => v,
            None => return Err(self.err(vs, ErrorKind::InvalidValue(token_text(&b[vs..ve])))),
        };
        i = ve;

        let mut timestamp = 0;
        let mut has_timestamp = false;
        let mut exemplar_at = 0;
        if !self.at_exemplar(i) && i < b.len() && b[i] == b' ' {
            let Some((ts, te)) = self.spaced_token(i) else {
                return Err(self.trailing(i));
            };
            match lex::parse_float(&b[ts..te]) {
                Some(t) if t.is_finite() => {
                    timestamp = lex::seconds_to_ms(t);
                    has_timestamp = true;
                }
                _ => return Err(self.err(ts, ErrorKind::InvalidTimestamp(token_text(&b[ts..te])))),
            }
            i = te;
        }
        if self.at_exemplar(i) {
            let (_, end) = self.exemplar(i + 4)?;
            if !self.opts.skip_exemplars {
                exemplar_at = i + 4;
            }
            i = end;
        }
        self.end_of_line(i)?;
        self.pos = i + 1;
        // Offsets fit in u32: `Parser::new` refuses larger bodies.
        Ok(Sample {
            body: b,
            start: start as u32,
            name_end: name_end as u32,
            series_end: series_end as u32,
            exemplar_at: exemplar_at as u32,
            value,
            timestamp,
            has_timestamp,
            format: Format::OpenMetrics,
            mtype: self.family_type,
            expected: false,
        })
    }

    #[inline]
    fn at_exemplar(&self, i: usize) -> bool {
        self.body.len() > i + 3 && &self.body[i..i + 4] == b" # {"
    }

    /// Requires the line break ending a sample at `i`.
    #[inline]
    fn end_of_line(&self, i: usize) -> Result<(), ParseError> {
        let b = self.body;
        if i >= b.len() {
            return Err(self.err(i, ErrorKind::MissingEof));
        }
        if b[i] != b'\n' {
            return Err(self.trailing(i));
        }
        Ok(())
    }

    /// Error for unexpected bytes from `i` to the end of the line.
    #[cold]
    fn trailing(&self, i: usize) -> ParseError {
        let b = self.body;
        let end = b[i..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |p| i + p);
        self.err(i, ErrorKind::TrailingData(token_text(&b[i..end])))
    }

    /// An exemplar whose labels start at `i` (after `# {`); returns it and the index after it.
    fn exemplar(&self, i: usize) -> Result<(Exemplar<'a>, usize), ParseError> {
        let b = self.body;
        let (close, _) = self.labels(i, Names::Exemplar)?;
        let labels = RawLabels::new(&b[i..close]);
        let Some((vs, ve)) = self.spaced_token(close + 1) else {
            return Err(self.err(close + 1, ErrorKind::ExpectedExemplarValue));
        };
        let value = match lex::parse_float(&b[vs..ve]) {
            Some(v) if v.is_nan() => f64::from_bits(lex::NORMAL_NAN),
            Some(v) => v,
            None => {
                return Err(self.err(vs, ErrorKind::InvalidExemplarValue(token_text(&b[vs..ve]))))
            }
        };
        let mut end = ve;
        let mut timestamp_ms = None;
        if end < b.len() && b[end] == b' ' {
            let Some((ts, te)) = self.spaced_token(end) else {
                return Err(self.trailing(end));
            };
            match lex::parse_float(&b[ts..te]) {
                Some(t) if t.is_finite() => timestamp_ms = Some(lex::seconds_to_ms(t)),
                _ => {
                    return Err(self.err(
                        ts,
                        ErrorKind::InvalidExemplarTimestamp(token_text(&b[ts..te])),
                    ))
                }
            }
            end = te;
        }
        Ok((
            Exemplar {
                labels,
                value,
                timestamp_ms,
            },
            end,
        ))
    }

    /// Strict label list after `{` at `i - 1`; returns the index of the closing `}` and
    /// whether a quoted metric name was among the labels (`names` says where one may be).
    #[inline]
    fn labels(&self, mut i: usize, names: Names) -> Result<(usize, bool), ParseError> {
        let b = self.body;
        if i < b.len() && b[i] == b'}' {
            return Ok((i, false));
        }
        let mut named = names != Names::Unnamed;
        let mut quoted_name = false;
        loop {
            if i < b.len() && b[i] == b'"' {
                let open = i;
                let close = match lex::scan_label_value(b, i + 1, false) {
                    Ok(close) => close,
                    Err(e) => return Err(self.err(i, value_scan_kind(e))),
                };
                // Prometheus 3.5 refuses an empty series name or label name when it appends
                // the series, but keeps exemplars labelled `""="v"`.
                if close == open + 1 && names != Names::Exemplar {
                    return Err(self.err(open, ErrorKind::EmptyQuotedName));
                }
                i = close + 1;
                match b.get(i) {
                    Some(b',' | b'}') => {
                        if names == Names::Exemplar {
                            return Err(self.err(open, ErrorKind::MetricNameInExemplar));
                        }
                        if named {
                            return Err(self.err(open, ErrorKind::MetricNameTwice));
                        }
                        named = true;
                        quoted_name = true;
                        if b[i] == b'}' {
                            return Ok((i, quoted_name));
                        }
                        i += 1;
                        // Prometheus 3.5 takes `{"name",}`.
                        if b.get(i) == Some(&b'}') {
                            return Ok((i, quoted_name));
                        }
                        continue;
                    }
                    Some(b'=') => {}
                    _ => return Err(self.err(i, ErrorKind::ExpectedAfterQuotedName)),
                }
            } else if i < b.len() && lex::is_label_start(b[i]) {
                i = lex::scan_label_name(b, i);
            } else {
                return Err(self.err(i, ErrorKind::ExpectedLabelName));
            }
            if i >= b.len() || b[i] != b'=' {
                return Err(self.err(i, ErrorKind::ExpectedEqual));
            }
            i += 1;
            if i >= b.len() || b[i] != b'"' {
                return Err(self.err(i, ErrorKind::ExpectedLabelValue));
            }
            i = match lex::scan_label_value(b, i + 1, false) {
                Ok(close) => close + 1,
                Err(e) => return Err(self.err(i, value_scan_kind(e))),
            };
            match b.get(i) {
                // Prometheus 3.5 takes a trailing comma (`m{a="b",}`).
                Some(b',') if b.get(i + 1) == Some(&b'}') => return Ok((i + 1, quoted_name)),
                Some(b',') => i += 1,
                Some(b'}') => return Ok((i, quoted_name)),
                _ => return Err(self.err(i, ErrorKind::ExpectedComma)),
            }
        }
    }
}

/// Where a label list is, for the quoted metric name it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// A series whose name precedes the braces: no quoted name.
    Named,
    /// A series starting with `{`: exactly one quoted name.
    Unnamed,
    /// An exemplar's labels: no metric name at all.
    Exemplar,
}
