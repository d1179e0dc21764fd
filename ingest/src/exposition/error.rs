//! The parse error: what went wrong and on which line of the body.

use std::fmt;

use super::Format;

/// A malformed exposition body. It fails the scrape it came from and names the line, column
/// and text where parsing stopped. Boxed, so that parse results stay small on the hot path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(Box<ErrorDetails>);

/// Where and why parsing failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{format} exposition, line {line}, column {column}: {kind} (line: {excerpt})")]
pub struct ErrorDetails {
    /// The format that was being parsed.
    pub format: Format,
    /// 1-based line number.
    pub line: usize,
    /// 1-based byte column within the line.
    pub column: usize,
    /// Byte offset in the body.
    pub offset: usize,
    /// What was wrong.
    pub kind: ErrorKind,
    /// The offending line, quoted and shortened to at most 120 bytes.
    pub excerpt: Excerpt,
}

/// The offending line, printed as a quoted, escaped string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt(pub String);

impl fmt::Display for Excerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The ways an exposition body can be malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A line starts with something other than a metric name, `#`, or (text format) a blank.
    #[error("expected a metric name or a comment at the start of the line")]
    InvalidStart,
    /// OpenMetrics allows only `# HELP`, `# TYPE`, `# UNIT` and `# EOF` lines.
    #[error("OpenMetrics allows only '# HELP', '# TYPE', '# UNIT' and '# EOF' comment lines")]
    InvalidComment,
    /// `# HELP`, `# TYPE` or `# UNIT` is not followed by a valid metric name.
    #[error("expected a metric name after {0}")]
    ExpectedMetricName(&'static str),
    /// OpenMetrics metadata without a space-separated text and a line break.
    #[error("expected a space and text after the metric name in {0}")]
    ExpectedMetadataText(&'static str),
    /// `# TYPE` names a type the format does not have.
    #[error("invalid metric type {0:?}")]
    InvalidMetricType(String),
    /// OpenMetrics help text is not valid UTF-8.
    #[error("help text is not valid UTF-8")]
    InvalidHelpUtf8,
    /// OpenMetrics `# UNIT` whose unit is not a `_`-separated suffix of the family name.
    #[error("unit {unit:?} is not a suffix of metric {metric:?}")]
    UnitNotSuffix {
        /// The unit.
        unit: String,
        /// The family name.
        metric: String,
    },
    /// Inside braces: expected a label name.
    #[error("expected a label name")]
    ExpectedLabelName,
    /// After a label name: expected `=`.
    #[error("expected '=' after the label name")]
    ExpectedEqual,
    /// After `=`: expected a double-quoted value.
    #[error("expected a double-quoted label value")]
    ExpectedLabelValue,
    /// A label value has no closing quote (OpenMetrics: before the end of the line).
    #[error("unterminated label value")]
    UnterminatedLabelValue,
    /// A backslash in a label value is followed by a line break.
    #[error("backslash followed by a line break in a label value")]
    EscapedNewline,
    /// A label value is not valid UTF-8.
    #[error("label value is not valid UTF-8")]
    InvalidUtf8LabelValue,
    /// A quoted metric name inside the braces, but the series already has a name (before the
    /// braces or quoted earlier): `foo{"bar"}`, `{"a","b"}`.
    #[error("metric name already set")]
    MetricNameTwice,
    /// A series in braces without a quoted metric name among them: `{a="b"}`.
    #[error("metric name not set: expected a quoted metric name inside the braces")]
    MetricNameNotSet,
    /// A quoted metric or label name is empty (`{""}`, `{"m",""="v"}`).
    #[error("empty quoted name")]
    EmptyQuotedName,
    /// A quoted metric name inside an OpenMetrics exemplar's labels.
    #[error("metric name not allowed in an exemplar")]
    MetricNameInExemplar,
    /// After a quoted name inside braces: expected `=`, `,` or `}`.
    #[error("expected '=', ',' or '}}' after the quoted name")]
    ExpectedAfterQuotedName,
    /// OpenMetrics: after a label value, expected `,` or `}`.
    #[error("expected ',' or '}}' after the label value")]
    ExpectedComma,
    /// The same label name appears twice in one series (including `__name__`).
    #[error("duplicate label name {0:?}")]
    DuplicateLabel(String),
    /// No value after the series.
    #[error("expected a value after the series")]
    ExpectedValue,
    /// The value is not a number Prometheus accepts.
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    /// The value ends in a carriage return: the body uses CRLF line endings.
    #[error("invalid value {0:?}: CRLF line endings are not allowed")]
    CarriageReturn(String),
    /// The timestamp is not an integer (text) or a finite float (OpenMetrics).
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    /// Something follows the value or timestamp on the line.
    #[error("unexpected {0:?} after the sample; expected a timestamp or the end of the line")]
    TrailingData(String),
    /// No value after an OpenMetrics exemplar's labels.
    #[error("expected a value after the exemplar labels")]
    ExpectedExemplarValue,
    /// An OpenMetrics exemplar value is not a number.
    #[error("invalid exemplar value {0:?}")]
    InvalidExemplarValue(String),
    /// An OpenMetrics exemplar timestamp is not a finite float.
    #[error("invalid exemplar timestamp {0:?}")]
    InvalidExemplarTimestamp(String),
    /// OpenMetrics: the body does not end with `# EOF`.
    #[error("data does not end with # EOF")]
    MissingEof,
    /// The body is larger than 4 GiB (offsets are 32-bit).
    #[error("body larger than 4 GiB")]
    BodyTooLarge,
    /// OpenMetrics: something follows `# EOF`.
    #[error("unexpected data after # EOF")]
    DataAfterEof,
}

impl ParseError {
    /// Builds the error for `kind` at byte `offset` of `body`, computing the line and column.
    /// Only called on the error path, so it may scan the body.
    #[cold]
    pub(crate) fn at(format: Format, body: &[u8], offset: usize, kind: ErrorKind) -> Self {
        let offset = offset.min(body.len());
        let line_start = body[..offset]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = 1 + body[..line_start].iter().filter(|&&b| b == b'\n').count();
        let line_end = body[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |p| line_start + p);
        let mut end = line_end.min(line_start + 120);
        // Do not cut a UTF-8 sequence in half.
        while end < line_end && end > line_start && (body[end] & 0xc0) == 0x80 {
            end -= 1;
        }
        let excerpt = String::from_utf8_lossy(&body[line_start..end]).into_owned();
        Self(Box::new(ErrorDetails {
            format,
            line,
            column: offset - line_start + 1,
            offset,
            kind,
            excerpt: Excerpt(excerpt),
        }))
    }

    /// Where and why parsing failed.
    pub fn details(&self) -> &ErrorDetails {
        &self.0
    }

    /// What was wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// 1-based line number.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// 1-based byte column within the line.
    pub fn column(&self) -> usize {
        self.0.column
    }

    /// Byte offset in the body.
    pub fn offset(&self) -> usize {
        self.0.offset
    }
}

/// Text of a token for an error message, bounded in length.
#[cold]
pub(crate) fn token_text(b: &[u8]) -> String {
    let b = &b[..b.len().min(64)];
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_and_excerpt() {
        let body = b"a 1\nbb 2\nccc x\n";
        let e = ParseError::at(Format::Text, body, 13, ErrorKind::ExpectedValue);
        assert_eq!((e.line(), e.column()), (3, 5));
        assert_eq!(e.details().excerpt.0, "ccc x");
        assert_eq!(
            e.to_string(),
            "text exposition, line 3, column 5: expected a value after the series (line: \"ccc x\")"
        );
        let e = ParseError::at(Format::OpenMetrics, body, 99, ErrorKind::MissingEof);
        assert_eq!((e.line(), e.column()), (4, 1));
        let long = "x".repeat(300);
        let e = ParseError::at(Format::Text, long.as_bytes(), 0, ErrorKind::InvalidStart);
        assert_eq!(e.details().excerpt.0.len(), 120);
    }
}
