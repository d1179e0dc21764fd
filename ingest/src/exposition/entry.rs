//! What the parsers yield: entries borrowing the body, and the reusable label buffer that
//! turns a sample's raw label text into names and unescaped values on a cache miss.

use std::borrow::Cow;

use tidemark_engine::{Labels, LabelsBuilder};

use super::error::{ErrorKind, ParseError};
use super::lex::{self, skip_blanks};
use super::Format;

/// One entry of an exposition body. Everything borrows the body; nothing is allocated.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// A series sample (`name{labels} value [timestamp] [# exemplar]`).
    Sample(Sample<'a>),
    /// `# HELP <metric> <text>`.
    Help(Help<'a>),
    /// `# TYPE <metric> <type>`.
    Type {
        /// The metric family name.
        metric: MetricName<'a>,
        /// Its type.
        kind: MetricType,
    },
    /// OpenMetrics `# UNIT <metric> <unit>`.
    Unit {
        /// The metric family name.
        metric: MetricName<'a>,
        /// The unit; empty when the line gives none.
        unit: &'a str,
    },
    /// Any other `#` line of the text format, as written (including the `#`).
    Comment(&'a [u8]),
}

/// A metric family name from a metadata line: validated (legacy charset, or a quoted name
/// that is valid UTF-8, given without its quotes and, as Prometheus 3.5 keeps metadata names,
/// without unescaping) but kept as bytes, because a scrape loop's metadata cache compares
/// bytes and the `&str` conversion costs a UTF-8 check per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetricName<'a>(&'a [u8]);

impl<'a> MetricName<'a> {
    pub(crate) fn new(name: &'a [u8]) -> Self {
        Self(name)
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The name as text.
    pub fn as_str(&self) -> &'a str {
        ascii(self.0)
    }
}

impl std::fmt::Display for MetricName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric type from `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`.
    Histogram,
    /// OpenMetrics `gaugehistogram`.
    GaugeHistogram,
    /// `summary`.
    Summary,
    /// OpenMetrics `info`.
    Info,
    /// OpenMetrics `stateset`.
    StateSet,
    /// OpenMetrics `unknown` and the text format's `untyped`.
    Unknown,
}

impl MetricType {
    /// The name Prometheus's metadata API reports (`unknown` for text-format `untyped`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
            Self::Unknown => "unknown",
        }
    }
}

/// `# HELP` metadata. The text is kept escaped; [`Help::text`] unescapes it.
#[derive(Debug, Clone, Copy)]
pub struct Help<'a> {
    /// The metric family name.
    pub metric: MetricName<'a>,
    raw: &'a [u8],
    format: Format,
}

impl<'a> Help<'a> {
    pub(crate) fn new(metric: MetricName<'a>, raw: &'a [u8], format: Format) -> Self {
        Self {
            metric,
            raw,
            format,
        }
    }

    /// The help text as written in the body (still escaped).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The unescaped help text. The text format unescapes `\\` and `\n`; OpenMetrics also
    /// `\"`. Other backslashes stay. Invalid UTF-8 (which promtool accepts in the text format)
    /// becomes U+FFFD.
    pub fn text(&self) -> Cow<'a, str> {
        lex::unescape(self.raw, self.format == Format::OpenMetrics)
    }
}

/// The labels of a sample or exemplar as written between the braces, not yet unescaped.
/// Already validated by the parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawLabels<'a> {
    raw: &'a [u8],
}

impl<'a> RawLabels<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Self { raw }
    }

    /// The bytes between the braces.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The `(name, value)` pairs in written order, unescaped (borrowed unless they contain an
    /// escape; a quoted label name is unescaped like a value). A quoted metric name among the
    /// labels (`{"my.metric", a="b"}`) is not a label and is skipped.
    pub fn iter(&self) -> RawLabelsIter<'a> {
        RawLabelsIter {
            raw: self.raw,
            pos: 0,
        }
    }

    /// Raw `(name, name is quoted, escaped value)` triples, in written order.
    fn raw_pairs(&self) -> RawPairs<'a> {
        RawPairs(RawItems {
            raw: self.raw,
            pos: 0,
        })
    }

    /// The quoted metric name among the labels (without quotes, still escaped), if any.
    fn quoted_metric_name(&self) -> Option<&'a [u8]> {
        RawItems {
            raw: self.raw,
            pos: 0,
        }
        .find_map(|item| match item {
            RawItem::MetricName(n) => Some(n),
            RawItem::Label { .. } => None,
        })
    }
}

/// One item of a validated label list: a label or a quoted metric name.
enum RawItem<'a> {
    /// `name="value"`: the name as written (without quotes, still escaped when `quoted`) and
    /// the escaped value.
    Label {
        name: &'a [u8],
        quoted: bool,
        value: &'a [u8],
    },
    /// A quoted metric name (`"my.metric"` followed by `,` or `}`), without quotes, escaped.
    MetricName(&'a [u8]),
}

/// Iterates over validated label text; tolerant of the text format's blanks and commas.
struct RawItems<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for RawItems<'a> {
    type Item = RawItem<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.raw;
        let mut i = self.pos;
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        let (name, quoted, name_end) = if i < b.len() && b[i] == b'"' {
            // The parser validated this text, so the closing quote exists.
            let close = lex::scan_label_value(b, i + 1, true).unwrap_or(b.len());
            let after = skip_blanks(b, close + 1);
            if after >= b.len() || b[after] != b'=' {
                self.pos = after;
                return Some(RawItem::MetricName(&b[(i + 1).min(close)..close]));
            }
            (&b[(i + 1).min(close)..close], true, close + 1)
        } else if i < b.len() && lex::is_label_start(b[i]) {
            let name_end = lex::scan_label_name(b, i);
            (&b[i..name_end], false, name_end)
        } else {
            self.pos = b.len();
            return None;
        };
        let eq = skip_blanks(b, name_end);
        let q = skip_blanks(b, eq + 1);
        let close = lex::scan_label_value(b, q + 1, true).unwrap_or(b.len());
        self.pos = close + 1;
        Some(RawItem::Label {
            name,
            quoted,
            value: &b[(q + 1).min(close)..close],
        })
    }
}

/// The labels of [`RawItems`]: `(name, name is quoted, escaped value)`.
struct RawPairs<'a>(RawItems<'a>);

impl<'a> Iterator for RawPairs<'a> {
    type Item = (&'a [u8], bool, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.0.next()? {
                RawItem::Label {
                    name,
                    quoted,
                    value,
                } => return Some((name, quoted, value)),
                RawItem::MetricName(_) => {}
            }
        }
    }
}

/// Iterator of [`RawLabels::iter`].
pub struct RawLabelsIter<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for RawLabelsIter<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut inner = RawPairs(RawItems {
            raw: self.raw,
            pos: self.pos,
        });
        let (n, quoted, v) = inner.next()?;
        self.pos = inner.0.pos;
        let name = if quoted {
            lex::unescape(n, true)
        } else {
            Cow::Borrowed(ascii(n))
        };
        Some((name, lex::unescape(v, true)))
    }
}

/// A validated name as `&str`.
pub(crate) fn ascii(b: &[u8]) -> &str {
    // Names are checked against the ASCII name charset (or, quoted, for UTF-8) before they
    // get here.
    std::str::from_utf8(b).unwrap_or_default()
}

/// An OpenMetrics exemplar attached to a sample.
#[derive(Debug, Clone, Copy)]
pub struct Exemplar<'a> {
    /// Its labels (at least `{}`).
    pub labels: RawLabels<'a>,
    /// Its value (NaN canonicalised).
    pub value: f64,
    /// Its timestamp in milliseconds, if given.
    pub timestamp_ms: Option<i64>,
}

impl Exemplar<'_> {
    /// The exemplar's label set; if a name repeats, the last value wins.
    pub fn to_labels(&self) -> Labels {
        Labels::from_pairs(self.labels.iter()).unwrap_or_default()
    }
}

/// One series sample. Borrows the body; nothing is allocated until labels are materialised.
/// Kept small (offsets into the body) because one is produced per line.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub(crate) body: &'a [u8],
    pub(crate) start: u32,
    pub(crate) name_end: u32,
    pub(crate) series_end: u32,
    /// Offset of the exemplar's labels (after `# {`); 0 when there is none.
    pub(crate) exemplar_at: u32,
    pub(crate) value: f64,
    pub(crate) timestamp: i64,
    pub(crate) has_timestamp: bool,
    pub(crate) format: Format,
    /// The type of the last `# TYPE` line before this sample (Prometheus 3's parsers
    /// normalize `le` under a histogram and `quantile` under a summary by it).
    pub(crate) mtype: MetricType,
    /// The series is the one passed to [`Parser::next_entry_expecting`](super::Parser::next_entry_expecting).
    pub(crate) expected: bool,
}

impl<'a> Sample<'a> {
    /// True when the series is the one the caller passed to
    /// [`Parser::next_entry_expecting`](super::Parser::next_entry_expecting).
    #[inline]
    pub fn is_expected(&self) -> bool {
        self.expected
    }

    /// The series identity exactly as written: `name`, `name{labels}` or, with a quoted
    /// UTF-8 name, `{"name", labels}` (text format: with any blanks inside). Equal bytes mean the same series, so the scrape loop can key its cache
    /// on this without materialising labels (the same series written differently misses the
    /// cache but resolves to the same labels).
    #[inline]
    pub fn series(&self) -> &'a [u8] {
        &self.body[self.start as usize..self.series_end as usize]
    }

    /// The metric name, unescaped (a quoted name, `{"my\\"name"}`, may hold escapes as a
    /// label value does).
    #[inline]
    pub fn metric_name(&self) -> Cow<'a, str> {
        if self.start == self.name_end {
            lex::unescape(self.metric_name_raw(), true)
        } else {
            Cow::Borrowed(ascii(self.metric_name_raw()))
        }
    }

    /// The metric name as written, without quotes and escapes undone.
    #[inline]
    pub(crate) fn metric_name_raw(&self) -> &'a [u8] {
        if self.start == self.name_end {
            // A series `{"name", labels}`: the parser made sure the name is there.
            self.raw_labels().quoted_metric_name().unwrap_or_default()
        } else {
            &self.body[self.start as usize..self.name_end as usize]
        }
    }

    /// The labels between the braces, unmaterialised (empty without braces). A quoted metric
    /// name among them is skipped by their iterator.
    pub fn raw_labels(&self) -> RawLabels<'a> {
        let (name_end, end) = (self.name_end as usize, self.series_end as usize);
        if end == name_end {
            return RawLabels::default();
        }
        // The series is `name [blanks] { labels }`, or `{ labels }` when the name is quoted
        // inside (then `name_end == start`).
        let open = skip_blanks(self.body, name_end);
        RawLabels::new(&self.body[open + 1..end - 1])
    }

    /// The value; every NaN is the canonical [`NORMAL_NAN`](super::NORMAL_NAN).
    #[inline]
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The explicit timestamp in milliseconds, if the line has one.
    #[inline]
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.has_timestamp.then_some(self.timestamp)
    }

    /// The OpenMetrics exemplar, if the line has one and the parser keeps exemplars. Decoded
    /// from the body on each call (the parser validated it already).
    pub fn exemplar(&self) -> Option<Exemplar<'a>> {
        if self.exemplar_at == 0 {
            return None;
        }
        super::openmetrics::decode_exemplar(self.body, self.exemplar_at as usize)
    }

    /// 1-based line number of this sample (scans the body: for error messages).
    pub fn line(&self) -> usize {
        1 + self.body[..self.start as usize]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    /// Writes `__name__` and the unescaped labels into `buf`, sorted by name. Fails on a
    /// duplicate label name, which Prometheus rejects when appending the series, failing the
    /// scrape. Empty values are kept in `buf` (they matter for `honor_labels`) and dropped by
    /// [`LabelBuf::to_labels`].
    pub fn labels_into(&self, buf: &mut LabelBuf) -> Result<(), ParseError> {
        buf.clear();
        buf.push(
            b"__name__",
            false,
            self.metric_name_raw(),
            self.start == self.name_end,
        );
        let normalized = match self.mtype {
            MetricType::Histogram => Some(&b"le"[..]),
            MetricType::Summary => Some(&b"quantile"[..]),
            _ => None,
        };
        for (n, quoted, v) in self.raw_labels().raw_pairs() {
            // Prometheus normalizes by the unescaped name; `le`/`quantile` have no escapes.
            match normalized
                .filter(|&l| l == n)
                .and_then(|_| normalize_float_label(v))
            {
                Some(norm) => buf.push(n, quoted, norm.as_bytes(), false),
                None => buf.push(n, quoted, v, true),
            }
        }
        if let Some(dup) = buf.sort_and_find_duplicate() {
            let dup = dup.to_owned();
            return Err(ParseError::at(
                self.format,
                self.body,
                self.start as usize,
                ErrorKind::DuplicateLabel(dup),
            ));
        }
        Ok(())
    }

    /// The sample's label set (allocates; see [`Sample::labels_into`] for the reusable form).
    pub fn to_labels(&self) -> Result<Labels, ParseError> {
        let mut buf = LabelBuf::default();
        self.labels_into(&mut buf)?;
        Ok(buf.to_labels())
    }
}

/// Prometheus 3's `normalizeFloatsInLabelValues`: a value that parses as a float is written
/// back as OpenMetrics formats floats (`1` → `1.0`, `0.50` → `0.5`, `1e6` → `1e+06`,
/// `+inf` → `+Inf`). `None` when it does not parse (the value stays as written). A value
/// that parses holds no escapes, so the raw bytes are the value.
pub fn normalize_float_label(raw: &[u8]) -> Option<String> {
    let f = super::lex::parse_float(raw)?;
    Some(super::lex::format_openmetrics_float(f))
}

/// A reusable buffer holding one series' labels, unescaped and sorted by name. Reusing it
/// across cache misses means a miss allocates only the final [`Labels`].
#[derive(Debug, Clone, Default)]
pub struct LabelBuf {
    text: Vec<u8>,
    spans: Vec<[u32; 3]>,
}

impl LabelBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every label.
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    fn push(&mut self, name: &[u8], unescape_name: bool, value: &[u8], unescape: bool) {
        let start = self.text.len() as u32;
        if unescape_name {
            lex::unescape_into(name, true, &mut self.text);
        } else {
            self.text.extend_from_slice(name);
        }
        let name_end = self.text.len() as u32;
        if unescape {
            lex::unescape_into(value, true, &mut self.text);
        } else {
            self.text.extend_from_slice(value);
        }
        self.spans.push([start, name_end, self.text.len() as u32]);
    }

    fn str_at(&self, a: u32, b: u32) -> &str {
        // Names are ASCII or (quoted) validated as UTF-8 and values were validated as UTF-8
        // by the parser; an escape replacement only inserts ASCII.
        std::str::from_utf8(&self.text[a as usize..b as usize]).unwrap_or_default()
    }

    fn sort_and_find_duplicate(&mut self) -> Option<&str> {
        let text = &self.text;
        self.spans.sort_unstable_by(|x, y| {
            text[x[0] as usize..x[1] as usize].cmp(&text[y[0] as usize..y[1] as usize])
        });
        let dup = self.spans.windows(2).find(|w| {
            text[w[0][0] as usize..w[0][1] as usize] == text[w[1][0] as usize..w[1][1] as usize]
        })?;
        let [a, b, _] = dup[0];
        Some(self.str_at(a, b))
    }

    /// Number of labels, `__name__` included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// `(name, value)` pairs sorted by name, empty values included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone + '_ {
        self.spans
            .iter()
            .map(|&[a, b, c]| (self.str_at(a, b), self.str_at(b, c)))
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The label set, with empty-valued labels dropped as Prometheus does.
    pub fn to_labels(&self) -> Labels {
        let pairs = self.iter().filter(|(_, v)| !v.is_empty());
        // Sorted, unique and non-empty by construction, so `from_sorted` cannot fail; the
        // sorting constructor is the fallback rather than a panic.
        Labels::from_sorted(pairs.clone())
            .unwrap_or_else(|_| Labels::from_pairs(pairs).unwrap_or_default())
    }

    /// Sets every label on `builder` (empty values delete, as in [`LabelsBuilder::set`]).
    pub fn fill_builder(&self, builder: &mut LabelsBuilder) {
        for (n, v) in self.iter() {
            builder.set(n, v);
        }
    }
}
