//! Content negotiation as Prometheus 3.5 does it: the scrape's `Accept` header, built from
//! the job's `scrape_protocols`, and the parser chosen from the response's `Content-Type`,
//! strictly (a missing, malformed or unknown type fails the scrape unless the job has a
//! `fallback_scrape_protocol`).

use super::Format;

/// The media type of each `scrape_protocols` name, as Prometheus 3.5 sends it.
pub fn protocol_media_type(protocol: &str) -> Option<&'static str> {
    Some(match protocol {
        "PrometheusProto" => {
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
        }
        "PrometheusText0.0.4" => "text/plain;version=0.0.4",
        "PrometheusText1.0.0" => "text/plain;version=1.0.0",
        "OpenMetricsText0.0.1" => "application/openmetrics-text;version=0.0.1",
        "OpenMetricsText1.0.0" => "application/openmetrics-text;version=1.0.0",
        _ => return None,
    })
}

/// How many scrape protocols Prometheus 3.5 knows (its q-weights count down from one more).
const KNOWN_PROTOCOLS: usize = 5;

/// The `Accept` header Prometheus 3.5 builds from `protocols` (the job's resolved
/// `scrape_protocols`) and the name escaping scheme (`allow-utf-8` by default): each media
/// type in order with `q=0.6`, `q=0.5`, ... and `*/*` last; the 1.0.0 text formats carry
/// `escaping=<scheme>`.
///
/// One difference: Tidemark has no protobuf parser, so `PrometheusProto` is left out (its
/// weight is skipped, the others keep Prometheus's); a target then answers in a text format.
pub fn accept_header<S: AsRef<str>>(protocols: &[S], escaping: &str) -> String {
    let mut parts = Vec::with_capacity(protocols.len() + 1);
    let mut weight = KNOWN_PROTOCOLS + 1;
    for p in protocols {
        let p = p.as_ref();
        if let Some(media) = protocol_media_type(p).filter(|_| p != "PrometheusProto") {
            let mut v = media.to_owned();
            if p == "PrometheusText1.0.0" || p == "OpenMetricsText1.0.0" {
                v.push_str(";escaping=");
                v.push_str(escaping);
            }
            v.push_str(&format!(";q=0.{weight}"));
            parts.push(v);
        }
        weight = weight.saturating_sub(1);
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// The `Accept` header for Prometheus 3.5's default `scrape_protocols` and escaping.
pub fn default_accept_header() -> String {
    accept_header(
        &[
            "OpenMetricsText1.0.0",
            "OpenMetricsText0.0.1",
            "PrometheusText1.0.0",
            "PrometheusText0.0.4",
        ],
        "allow-utf-8",
    )
}

/// The format a `scrape_protocols` name (as in `fallback_scrape_protocol`) is parsed with;
/// `None` for `PrometheusProto` (no protobuf parser) and unknown names.
pub fn protocol_format(protocol: &str) -> Option<Format> {
    match protocol {
        "PrometheusText0.0.4" | "PrometheusText1.0.0" => Some(Format::Text),
        "OpenMetricsText0.0.1" | "OpenMetricsText1.0.0" => Some(Format::OpenMetrics),
        _ => None,
    }
}

/// The parser for a scrape response, as Prometheus 3.5's `extractMediaType` decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// The `Content-Type` names a format.
    Format(Format),
    /// The fallback protocol is used; the text is the warning Prometheus logs.
    Fallback(Format, String),
    /// The scrape fails with this message (Prometheus's words).
    Error(String),
}

/// Chooses the parser from the response's `Content-Type` and the job's
/// `fallback_scrape_protocol`, with Prometheus 3.5's error texts: a blank type, one that does
/// not parse as a media type, or an unknown one fails the scrape unless a fallback is
/// configured (then the fallback is used and the returned warning says why).
/// `application/vnd.google.protobuf` is known to Prometheus but Tidemark cannot parse it: it
/// fails the scrape with a message saying so.
pub fn negotiate(content_type: Option<&str>, fallback: Option<&str>) -> Negotiated {
    let ct = content_type.unwrap_or("");
    let fallback = fallback.filter(|f| !f.is_empty());
    let use_fallback = |fb: &str, warning: String| {
        match protocol_format(fb) {
        Some(f) => Negotiated::Fallback(f, warning),
        None => Negotiated::Error(format!(
            "{warning}; fallback_scrape_protocol {fb:?} is not supported by Tidemark (no protobuf parser)"
        )),
    }
    };
    if ct.is_empty() {
        return match fallback {
            None => Negotiated::Error(
                "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target".into(),
            ),
            Some(fb) => use_fallback(
                fb,
                format!("non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol {fb:?}"),
            ),
        };
    }
    let media = match parse_media_type(ct) {
        Ok(m) => m,
        Err(e) => {
            return match fallback {
                None => Negotiated::Error(format!(
                    "cannot parse Content-Type {ct:?} and no fallback_scrape_protocol for target\n{e}"
                )),
                Some(fb) => use_fallback(
                    fb,
                    format!("could not parse received Content-Type {ct:?}, using fallback_scrape_protocol {fb:?}\n{e}"),
                ),
            }
        }
    };
    match media.as_str() {
        "text/plain" => Negotiated::Format(Format::Text),
        "application/openmetrics-text" => Negotiated::Format(Format::OpenMetrics),
        "application/vnd.google.protobuf" => Negotiated::Error(format!(
            "received Content-Type {ct:?}: the protobuf exposition format is not supported by Tidemark"
        )),
        _ => match fallback {
            None => Negotiated::Error(format!(
                "received unsupported Content-Type {ct:?} and no fallback_scrape_protocol specified for target"
            )),
            Some(fb) => use_fallback(
                fb,
                format!("received unsupported Content-Type {ct:?}, using fallback_scrape_protocol {fb:?}"),
            ),
        },
    }
}

/// RFC 2045 token characters, as Go's `mime` package checks them.
fn is_token_char(c: char) -> bool {
    c.is_ascii() && c > ' ' && c != '\x7f' && !"()<>@,;:\\\"/[]?=".contains(c)
}

/// The longest prefix of token characters, and the rest.
fn consume_token(s: &str) -> (&str, &str) {
    let end = s.find(|c| !is_token_char(c)).unwrap_or(s.len());
    s.split_at(end)
}

/// A parameter value (a token or a quoted string) and the rest; `None` if there is none.
fn consume_value(s: &str) -> Option<(&str, &str)> {
    let Some(q) = s.strip_prefix('"') else {
        let (t, rest) = consume_token(s);
        return (!t.is_empty()).then_some((t, rest));
    };
    let mut escaped = false;
    for (i, c) in q.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some((&q[..i], &q[i + 1..])),
            _ => {}
        }
    }
    None
}

/// The media type of a `Content-Type`, lower-cased, as Go's `mime.ParseMediaType` accepts it
/// (a token, optionally `/` and a token, then `; name=value` parameters, trailing `;`
/// allowed); the error texts are Go's.
pub fn parse_media_type(v: &str) -> Result<String, &'static str> {
    let (base, _) = v.split_once(';').unwrap_or((v, ""));
    let media = base.trim().to_ascii_lowercase();
    let (typ, rest) = consume_token(&media);
    if typ.is_empty() {
        return Err("mime: no media type");
    }
    if !rest.is_empty() {
        let Some(after) = rest.strip_prefix('/') else {
            return Err("mime: expected slash after first token");
        };
        let (sub, rest) = consume_token(after);
        if sub.is_empty() {
            return Err("mime: expected token after slash");
        }
        if !rest.is_empty() {
            return Err("mime: unexpected content after media subtype");
        }
    }
    // The parameters: `v` from the first `;`.
    let mut v = &v[v.find(';').unwrap_or(v.len())..];
    loop {
        v = v.trim_start();
        if v.is_empty() {
            break;
        }
        let parsed = v.strip_prefix(';').and_then(|p| {
            let (name, rest) = consume_token(p.trim_start());
            if name.is_empty() {
                return None;
            }
            let rest = rest.trim_start().strip_prefix('=')?;
            consume_value(rest.trim_start()).map(|(_, rest)| rest)
        });
        match parsed {
            Some(rest) => v = rest,
            None if v.trim() == ";" => break,
            None => return Err("mime: invalid media parameter"),
        }
    }
    Ok(media)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers Prometheus 3.5.3 sent to a loopback server that recorded them.
    #[test]
    fn accept_headers_are_prometheus_3_5_s() {
        assert_eq!(
            default_accept_header(),
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
        assert_eq!(
            accept_header(&["PrometheusText0.0.4"], "allow-utf-8"),
            "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
        );
        // 3.5: `text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,
        // application/vnd.google.protobuf;...;q=0.4,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.3,
        // text/plain;version=0.0.4;q=0.2,*/*;q=0.1`, less the protobuf entry.
        assert_eq!(
            accept_header(
                &[
                    "PrometheusText1.0.0",
                    "OpenMetricsText0.0.1",
                    "PrometheusProto",
                    "OpenMetricsText1.0.0",
                    "PrometheusText0.0.4"
                ],
                "allow-utf-8"
            ),
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
        );
        assert!(accept_header(&["OpenMetricsText1.0.0"], "underscores")
            .starts_with("application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6"));
    }

    /// The errors Prometheus 3.5.3 reported in `lastError` for the same responses.
    #[test]
    fn content_types_are_strict_as_prometheus_3_5() {
        let n = negotiate;
        assert_eq!(
            n(Some("text/plain; version=0.0.4; charset=utf-8"), None),
            Negotiated::Format(Format::Text)
        );
        assert_eq!(
            n(Some("Application/OpenMetrics-Text; version=1.0.0"), None),
            Negotiated::Format(Format::OpenMetrics)
        );
        assert_eq!(
            n(None, None),
            Negotiated::Error("non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target".into())
        );
        assert_eq!(
            n(Some(";;;"), None),
            Negotiated::Error(
                "cannot parse Content-Type \";;;\" and no fallback_scrape_protocol for target\nmime: no media type".into()
            )
        );
        assert_eq!(
            n(Some("application/json"), None),
            Negotiated::Error("received unsupported Content-Type \"application/json\" and no fallback_scrape_protocol specified for target".into())
        );
        assert!(matches!(
            n(None, Some("PrometheusText0.0.4")),
            Negotiated::Fallback(Format::Text, _)
        ));
        assert!(matches!(
            n(Some("application/json"), Some("OpenMetricsText1.0.0")),
            Negotiated::Fallback(Format::OpenMetrics, _)
        ));
        assert!(matches!(
            n(Some("te xt/plain"), Some("PrometheusText1.0.0")),
            Negotiated::Fallback(Format::Text, w) if w.ends_with("mime: expected slash after first token")
        ));
        assert!(matches!(
            n(Some("text/plain;"), None),
            Negotiated::Format(Format::Text)
        ));
        assert!(matches!(
            n(Some("text/plain;;"), None),
            Negotiated::Error(_)
        ));
        assert!(matches!(
            n(Some("text/plain; x"), None),
            Negotiated::Error(_)
        ));
        assert!(matches!(
            n(Some("text/plain; charset=\"utf-8\""), None),
            Negotiated::Format(Format::Text)
        ));
        // A bare type is a media type to Go; an unsupported one.
        assert!(
            matches!(n(Some("text"), None), Negotiated::Error(e) if e.starts_with("received unsupported"))
        );
    }
}
