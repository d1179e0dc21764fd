//! Content negotiation: the `Accept` header a scrape sends and the parser chosen from the
//! response's `Content-Type`, as in Prometheus 2.42.

use super::Format;

/// The `Accept` header Prometheus 2.42 (and every release before 2.49) sends on a scrape:
/// OpenMetrics 1.0.0 first, then OpenMetrics 0.0.1, then the text format 0.0.4.
pub const SCRAPE_ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The parser for a response with this `Content-Type` header, as Prometheus 2.42 chooses it:
/// only the media type counts (case-insensitive, parameters ignored);
/// `application/openmetrics-text` selects OpenMetrics, and anything else (a missing, empty,
/// malformed or unknown type included) falls back to the text format.
///
/// 2.42 would parse `application/vnd.google.protobuf` as protobuf; Tidemark never asks for
/// it (see [`SCRAPE_ACCEPT_HEADER`]) and, like an unknown type, parses it as text.
pub fn format_for_content_type(content_type: Option<&str>) -> Format {
    let Some(ct) = content_type else {
        return Format::Text;
    };
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let f = format_for_content_type;
        assert_eq!(f(None), Format::Text);
        assert_eq!(f(Some("")), Format::Text);
        assert_eq!(
            f(Some("text/plain; version=0.0.4; charset=utf-8")),
            Format::Text
        );
        assert_eq!(
            f(Some(
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            )),
            Format::OpenMetrics
        );
        assert_eq!(
            f(Some("application/openmetrics-text;version=0.0.1")),
            Format::OpenMetrics
        );
        assert_eq!(
            f(Some(" Application/OpenMetrics-Text ")),
            Format::OpenMetrics
        );
        assert_eq!(f(Some("application/json")), Format::Text);
        assert_eq!(f(Some("garbage;;;")), Format::Text);
    }

    #[test]
    fn accept_header_is_the_pre_2_49_one() {
        let parts: Vec<&str> = SCRAPE_ACCEPT_HEADER.split(',').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0], "application/openmetrics-text;version=1.0.0");
        assert_eq!(parts[3], "*/*;q=0.1");
    }
}
