//! Exposition-format parsers: the Prometheus text format 0.0.4 and OpenMetrics 1.0.
//!
//! This module owns everything between a scraped body (`&[u8]`, already decompressed) and
//! the entries the scrape loop consumes. It follows Prometheus 3.5's `model/textparse`
//! (including the normalization of `le` and `quantile` values)
//! (accepting the same bodies, with the same NaN canonicalisation and timestamp units) and
//! additionally accepts every text body `promtool check metrics` accepts.
//!
//! - [`negotiate`](mod@negotiate): the scrape's `Accept` header from `scrape_protocols`, and
//!   the parser chosen strictly from `Content-Type` (with `fallback_scrape_protocol`).
//! - [`Parser`]: a pull parser over the whole body yielding [`Entry`] values that borrow the
//!   body. On the common path (a sample whose series is already in the scrape cache) nothing
//!   is allocated: [`Sample::series`] gives the raw `name{labels}` bytes to look up, and only
//!   on a miss does [`Sample::labels_into`] unescape the labels into a reusable [`LabelBuf`].
//! - Errors are a [`ParseError`] naming the line, column and offending text; a malformed
//!   body fails its scrape, never the process. Every function here is total: no input panics.
//!
//! ```
//! use tidemark_ingest::exposition::{Entry, Format, LabelBuf, Parser, ParserOptions};
//!
//! let body = b"# TYPE http_requests_total counter\n\
//!              http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n";
//! let mut parser = Parser::new(body, Format::Text, ParserOptions::default());
//! let mut buf = LabelBuf::new();
//! let mut samples = 0;
//! while let Some(entry) = parser.next_entry().unwrap() {
//!     if let Entry::Sample(s) = entry {
//!         // The scrape loop would look `s.series()` up in its cache first.
//!         assert_eq!(s.series(), br#"http_requests_total{method="post",code="200"}"#);
//!         s.labels_into(&mut buf).unwrap();
//!         assert_eq!(buf.get("code"), Some("200"));
//!         assert_eq!((s.value(), s.timestamp_ms()), (1027.0, Some(1395066363000)));
//!         samples += 1;
//!     }
//! }
//! assert_eq!(samples, 1);
//! ```

mod entry;
mod error;
mod lex;
pub mod negotiate;
mod openmetrics;
mod render;
mod text;

#[cfg(test)]
mod tests;

use std::fmt;

pub use entry::{Entry, Exemplar, Help, LabelBuf, MetricType, RawLabels, RawLabelsIter, Sample};
pub use error::{ErrorDetails, ErrorKind, Excerpt, ParseError};
pub use lex::NORMAL_NAN;
pub use negotiate::{accept_header, default_accept_header, negotiate, Negotiated};

pub use render::{escape_label_value, write_text_sample};

use openmetrics::OpenMetricsParser;
use text::TextParser;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain`).
    Text,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::OpenMetrics => "OpenMetrics",
        })
    }
}

/// What the parser drops. The defaults keep everything, as Prometheus 3.5 does without
/// `created-timestamp-zero-ingestion`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParserOptions {
    /// OpenMetrics: skip the `<family>_created` samples of counters, histograms and
    /// summaries (3.5 without `created-timestamp-zero-ingestion` ingests them as ordinary
    /// series). They are still validated.
    pub skip_created: bool,
    /// OpenMetrics: do not return exemplars (they are still validated, so a malformed one
    /// still fails the body).
    pub skip_exemplars: bool,
}

#[derive(Debug, Clone)]
enum Inner<'a> {
    Text(TextParser<'a>),
    OpenMetrics(OpenMetricsParser<'a>),
    TooLarge(&'a [u8], Format),
}

/// A pull parser over one whole exposition body, in either format.
#[derive(Debug, Clone)]
pub struct Parser<'a> {
    inner: Inner<'a>,
    failed: bool,
}

impl<'a> Parser<'a> {
    /// A parser of `body` in `format`. A body over 4 GiB fails with
    /// [`ErrorKind::BodyTooLarge`] on the first call to [`Parser::next_entry`].
    pub fn new(body: &'a [u8], format: Format, options: ParserOptions) -> Self {
        if u32::try_from(body.len()).is_err() {
            return Self {
                inner: Inner::TooLarge(body, format),
                failed: false,
            };
        }
        let inner = match format {
            Format::Text => Inner::Text(TextParser::new(body)),
            Format::OpenMetrics => Inner::OpenMetrics(OpenMetricsParser::new(body, options)),
        };
        Self {
            inner,
            failed: false,
        }
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        match self.inner {
            Inner::Text(_) => Format::Text,
            Inner::OpenMetrics(_) => Format::OpenMetrics,
            Inner::TooLarge(_, f) => f,
        }
    }

    /// The next entry; `Ok(None)` at the end of the body (for OpenMetrics: after `# EOF`).
    /// After an error the parser stays failed and keeps returning `Ok(None)`: the body as a
    /// whole is invalid.
    #[inline]
    pub fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        if self.failed {
            return Ok(None);
        }
        let r = match &mut self.inner {
            Inner::Text(p) => p.next_entry(),
            Inner::OpenMetrics(p) => p.next_entry(),
            Inner::TooLarge(body, format) => Err(ParseError::at(
                *format,
                &body[..0],
                0,
                ErrorKind::BodyTooLarge,
            )),
        };
        if r.is_err() {
            self.failed = true;
        }
        r
    }
}

impl<'a> Parser<'a> {
    /// Like [`Parser::next_entry`], with a hint: the series the caller expects next, as bytes
    /// an earlier [`Sample::series`] of a parser **of the same format** returned (a scrape
    /// cache's prediction from the previous scrape). When the next line is a sample of exactly
    /// that series, its labels are not lexed again and the sample says so
    /// ([`Sample::is_expected`]).
    #[inline(always)]
    pub fn next_entry_expecting(
        &mut self,
        expected: &[u8],
    ) -> Result<Option<Entry<'a>>, ParseError> {
        let r = match &mut self.inner {
            Inner::Text(p) if !self.failed => p.next_entry_expecting(expected),
            Inner::OpenMetrics(p) if !self.failed => p.next_entry_expecting(expected),
            _ => return self.next_entry(),
        };
        if r.is_err() {
            self.failed = true;
        }
        r
    }
}

impl<'a> Parser<'a> {
    /// The whole line (from `#`, without the line break) of the `# HELP`, `# TYPE` or
    /// `# UNIT` entry just returned, or of the line just skipped. Read it right away: in the
    /// text format, plain comment lines move it too.
    pub fn metadata_line(&self) -> &'a [u8] {
        match &self.inner {
            Inner::Text(p) => p.metadata_line(),
            Inner::OpenMetrics(p) => p.metadata_line(),
            Inner::TooLarge(..) => &[],
        }
    }

    /// Skips the next line if it is exactly `line`, which must be a line
    /// [`Parser::metadata_line`] returned for an earlier body **of the same format** (a
    /// scrape's metadata repeats scrape after scrape): the same bytes give the same entry, so
    /// they need not be parsed again (an OpenMetrics `# TYPE` line still sets the parser's
    /// current family). Returns whether the line was skipped.
    #[inline]
    pub fn skip_metadata_line(&mut self, line: &[u8]) -> bool {
        match &mut self.inner {
            Inner::Text(p) if !self.failed => p.skip_line(line),
            Inner::OpenMetrics(p) if !self.failed => p.skip_line(line),
            _ => false,
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// Fuzz entry point for the text format (`fuzz/fuzz_targets/exposition_text.rs`).
pub fn fuzz_text(data: &[u8]) {
    fuzz_check(data, Format::Text);
}

/// Fuzz entry point for OpenMetrics (`fuzz/fuzz_targets/exposition_openmetrics.rs`).
pub fn fuzz_openmetrics(data: &[u8]) {
    fuzz_check(data, Format::OpenMetrics);
}

/// One entry as text, for comparing two parses of the same body.
fn describe_entry(p: &Parser<'_>, r: &Result<Option<Entry<'_>>, ParseError>) -> String {
    match r {
        Ok(Some(Entry::Sample(s))) => format!(
            "sample {:?} {:x} {:?}",
            s.series(),
            s.value().to_bits(),
            s.timestamp_ms()
        ),
        Ok(Some(Entry::Help(_) | Entry::Type { .. } | Entry::Unit { .. })) => {
            format!("metadata {:?}", p.metadata_line())
        }
        Ok(Some(e)) => format!("{e:?}"),
        Ok(None) => "end".to_owned(),
        Err(e) => format!("error at {}: {e}", e.offset()),
    }
}

/// Parses `data` twice: plainly, then with the shortcuts of a scrape cache — the first
/// parse's n-th series as the hint for the n-th sample, and its metadata lines skipped — and
/// checks that both see the same entries and the same error.
fn fuzz_check_shortcuts(data: &[u8], format: Format) {
    let opts = ParserOptions::default();
    let mut first = Parser::new(data, format, opts);
    let (mut want, mut series, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let r = first.next_entry();
        want.push(describe_entry(&first, &r));
        match &r {
            Ok(Some(Entry::Sample(s))) => series.push(s.series()),
            Ok(Some(Entry::Help(_) | Entry::Type { .. } | Entry::Unit { .. })) => {
                lines.push(first.metadata_line());
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let mut second = Parser::new(data, format, opts);
    let (mut got, mut samples, mut metadata) = (Vec::new(), 0, 0);
    loop {
        if let Some(&line) = lines.get(metadata) {
            if second.skip_metadata_line(line) {
                got.push(format!("metadata {line:?}"));
                metadata += 1;
                continue;
            }
        }
        let hint = series.get(samples).copied().unwrap_or_default();
        let r = second.next_entry_expecting(hint);
        got.push(describe_entry(&second, &r));
        match &r {
            Ok(Some(Entry::Sample(s))) => {
                assert!(!s.is_expected() || s.series() == hint);
                samples += 1;
            }
            Ok(Some(Entry::Help(_) | Entry::Type { .. } | Entry::Unit { .. })) => metadata += 1,
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    assert_eq!(got, want, "shortcuts changed what was parsed");
}

/// Parses `data` and checks what must hold for any input: no panic; the parser advances;
/// errors point inside the body; every sample's labels, rendered back to the text format and
/// parsed again, give the same labels, value bits and timestamp; the scrape cache's
/// shortcuts change nothing.
fn fuzz_check(data: &[u8], format: Format) {
    fuzz_check_shortcuts(data, format);
    let opts = ParserOptions::default();
    let mut parser = Parser::new(data, format, opts);
    let mut buf = LabelBuf::new();
    let mut again = LabelBuf::new();
    let mut line = String::new();
    let mut steps = 0usize;
    loop {
        steps += 1;
        assert!(steps <= data.len() + 2, "parser does not advance");
        let entry = match parser.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => {
                assert!(e.offset() <= data.len() && e.line() >= 1 && e.column() >= 1);
                let _ = e.to_string();
                assert!(parser.next_entry().unwrap_or(None).is_none());
                break;
            }
        };
        match entry {
            Entry::Sample(s) => {
                let name = s.metric_name();
                assert!(
                    s.series().starts_with(name.as_bytes()) || s.series().starts_with(b"{"),
                    "{name:?}"
                );
                assert!(!name.is_empty());
                let _ = s.raw_labels().iter().count();
                if let Some(ex) = s.exemplar() {
                    let _ = ex.to_labels();
                }
                if s.labels_into(&mut buf).is_err() {
                    continue;
                }
                assert_eq!(buf.get("__name__"), Some(&*name));
                line.clear();
                write_text_sample(
                    &mut line,
                    &name,
                    buf.iter().filter(|(n, _)| *n != "__name__"),
                    s.value(),
                    s.timestamp_ms(),
                );
                let mut p = Parser::new(line.as_bytes(), Format::Text, opts);
                let Ok(Some(Entry::Sample(t))) = p.next_entry() else {
                    panic!("re-rendered sample does not parse: {line:?}");
                };
                t.labels_into(&mut again)
                    .expect("re-rendered labels are unique");
                assert!(buf.iter().eq(again.iter()), "labels differ after {line:?}");
                assert_eq!(s.value().to_bits(), t.value().to_bits());
                assert_eq!(s.timestamp_ms(), t.timestamp_ms());
                let _ = buf.to_labels();
            }
            Entry::Help(h) => {
                let _ = h.text();
            }
            Entry::Type { .. } | Entry::Unit { .. } | Entry::Comment(_) => {}
        }
    }
}
