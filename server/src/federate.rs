//! `GET /federate?match[]=...`: the newest sample (within the lookback delta) of every
//! matching series, in the text exposition format 0.0.4, as Prometheus 3.5 writes it.
//!
//! Output rules kept from Prometheus: series grouped by metric name, each group preceded by
//! `# TYPE <name> untyped`; labels in name order, then the external labels a series lacks
//! (with an empty `instance` among them), appended in name order; values in Go's `%g` shortest form; timestamps in
//! milliseconds; stale markers are not federated. Selector errors are plain-text 400s.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tidemark_engine::{Labels, SampleIterator};

use crate::api::selectors::parse_selector;
use crate::api::{read_params, ApiError};
use crate::state::AppState;

const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: shortest digits, exponent form when the
/// decimal exponent is below -4 or at least 6 (Go uses 6 as the exponent threshold for the
/// shortest `%g`).
pub fn format_go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `-1.2345e-7`.
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = mant.strip_prefix('-').map_or((false, mant), |m| (true, m));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

fn escape_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The labels federation adds to series lacking them: the external labels plus an empty
/// `instance` (unless configured), in name order, as Prometheus does.
pub fn external_labels(
    configured: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut all = configured.clone();
    all.entry("instance".to_owned()).or_default();
    all.into_iter().collect()
}

/// Renders `(labels, t, v)` triples, already sorted by metric name, with `external` labels.
pub fn render(samples: &[(Labels, i64, f64)], external: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut last_name: Option<&str> = None;
    for (labels, t, v) in samples {
        let name = labels.metric_name().unwrap_or("");
        if last_name != Some(name) {
            out.push_str("# TYPE ");
            out.push_str(name);
            out.push_str(" untyped\n");
            last_name = Some(name);
        }
        out.push_str(name);
        let mut pairs: Vec<(&str, &str)> = labels
            .iter()
            .filter(|l| l.name != "__name__")
            .map(|l| (l.name, l.value))
            .collect();
        for (n, v) in external {
            if labels.get(n).is_none() {
                pairs.push((n, v));
            }
        }
        if !pairs.is_empty() {
            out.push('{');
            for (i, (n, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(n);
                out.push_str("=\"");
                escape_value(&mut out, v);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        out.push_str(&format_go_g(*v));
        out.push(' ');
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out
}

fn plain(status: StatusCode, msg: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg + "\n",
    )
        .into_response()
}

/// The newest non-stale sample in `[now - lookback, now]` of every series matching any set.
fn collect(
    st: &AppState,
    sets: &[Vec<tidemark_engine::Matcher>],
    now: i64,
) -> Result<Vec<(Labels, i64, f64)>, String> {
    let lookback = st.settings.lookback_delta.as_millis() as i64;
    let q = st.db.querier(now - lookback, now);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for set in sets {
        for s in q.select(set).map_err(|e| e.to_string())? {
            if !seen.insert(s.labels().clone()) {
                continue;
            }
            let mut it = s.iter();
            let mut last = None;
            while it.next() {
                last = Some(it.at());
            }
            if let Some(e) = it.err() {
                return Err(e.to_string());
            }
            if let Some((t, v)) = last {
                if v.to_bits() != STALE_NAN_BITS {
                    out.push((s.labels().clone(), t, v));
                }
            }
        }
    }
    out.sort_by(|a, b| {
        a.0.metric_name()
            .cmp(&b.0.metric_name())
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(out)
}

/// `GET /federate`.
pub async fn federate(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let p = match read_params(req).await {
        Ok(p) => p,
        Err(ApiError { message, .. }) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let mut sets = Vec::new();
    for m in p.all("match[]") {
        match parse_selector(m) {
            Ok(s) => sets.push(s),
            Err(e) => return plain(StatusCode::BAD_REQUEST, e.message),
        }
    }
    let external = external_labels(&st.config.read().0.global.external_labels);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let state = st.clone();
    let res = tokio::task::spawn_blocking(move || collect(&state, &sets, now)).await;
    match res {
        Ok(Ok(samples)) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            render(&samples, &external),
        )
            .into_response(),
        Ok(Err(e)) => plain(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testutil::{enc, Harness};
    use tidemark_engine::labels;

    #[test]
    fn go_g_format() {
        for (v, s) in [
            (2.9657e-05, "2.9657e-05"),
            (0.003872937, "0.003872937"),
            (1.0, "1"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (-0.5, "-0.5"),
            (1e-4, "0.0001"),
            (1.5e300, "1.5e+300"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
            (1796466011368.0, "1.796466011368e+12"),
        ] {
            assert_eq!(format_go_g(v), s, "{v}");
        }
    }

    #[tokio::test]
    async fn newest_sample_grouped_with_external_labels() {
        let h = Harness::new(&[]);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        h.add(&[
            (labels!("__name__" => "up", "job" => "b"), now - 2_000, 1.0),
            (labels!("__name__" => "up", "job" => "a"), now - 2_000, 0.0),
            (
                labels!("__name__" => "http", "job" => "a", "path" => "/\"x\""),
                now - 2_000,
                1e6,
            ),
            (
                labels!("__name__" => "old", "job" => "a"),
                now - 600_000,
                1.0,
            ),
        ]);
        h.add(&[
            (labels!("__name__" => "up", "job" => "b"), now - 1_000, 2.0),
            (
                labels!("__name__" => "up", "job" => "a"),
                now - 1_000,
                f64::from_bits(STALE_NAN_BITS),
            ),
        ]);
        let uri = format!(
            "/federate?match[]=up&match[]={}&match[]=old",
            enc("{job=\"a\"}")
        );
        let (s, ct, body) = h.call("GET", &uri, None, Vec::new()).await;
        assert_eq!(s, 200);
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
        let expected = format!(
            "# TYPE http untyped\nhttp{{job=\"a\",path=\"/\\\"x\\\"\",instance=\"\"}} 1e+06 {}\n# TYPE up untyped\nup{{job=\"b\",instance=\"\"}} 2 {}\n",
            now - 2_000,
            now - 1_000
        );
        assert_eq!(body, expected);
        let (s, _, body) = h
            .call("GET", "/federate?match[]=up%7B", None, Vec::new())
            .await;
        assert_eq!(s, 400);
        assert!(body.contains("parse error"), "{body}");
        let (s, _, body) = h.call("GET", "/federate", None, Vec::new()).await;
        assert_eq!((s.as_u16(), body.as_str()), (200, ""));
    }

    #[test]
    fn external_labels_are_appended_when_missing() {
        let out = render(
            &[(
                labels!("__name__" => "x", "region" => "us", "z" => "1"),
                5,
                1.0,
            )],
            &[("region".into(), "eu".into()), ("dc".into(), "d1".into())],
        );
        assert_eq!(
            out,
            "# TYPE x untyped\nx{region=\"us\",z=\"1\",dc=\"d1\"} 1 5\n"
        );
    }
}
