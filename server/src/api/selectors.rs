//! The `match[]`, `start`, `end` and `limit` parameters of the metadata endpoints (series,
//! labels, label values, federation, deletion), parsed as Prometheus 3.5 does.

use tidemark_engine::Matcher;

use super::params::parse_time;
use super::{ApiError, Params};

/// One series selector (`up{job="a"}`) as engine matchers. Errors are Prometheus's parse
/// errors (`1:3: parse error: ...`, from its `ParseMetricSelector`, which accepts only a
/// selector) or its "at least one non-empty matcher" rule.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, ApiError> {
    let out = tidemark_query::parser::parse_metric_selector(s)
        .map_err(|e| ApiError::bad_data(e.to_string()))?;
    if out.iter().all(|m| m.matches_empty()) {
        return Err(ApiError::bad_data(
            "match[] must contain at least one non-empty matcher",
        ));
    }
    Ok(out)
}

/// Every `match[]` of the request, parsed.
pub fn match_sets(p: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    p.all("match[]").into_iter().map(parse_selector).collect()
}

/// `start` and `end` in milliseconds; absent ones span all time. `end` before `start` is an
/// error as in Prometheus.
pub fn time_range(p: &Params) -> Result<(i64, i64), ApiError> {
    let start = match p.get("start") {
        Some(s) if !s.is_empty() => parse_time("start", s)?,
        _ => i64::MIN,
    };
    let end = match p.get("end") {
        Some(s) if !s.is_empty() => parse_time("end", s)?,
        _ => i64::MAX,
    };
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    Ok((start, end))
}

/// `limit`: absent or 0 is no limit; anything else must be a positive integer.
pub fn limit(p: &Params) -> Result<usize, ApiError> {
    match p.get("limit") {
        None | Some("") | Some("0") => Ok(usize::MAX),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Ok(_) => Err(ApiError::bad_data(
                "invalid parameter \"limit\": limit must be non-negative",
            )),
            // Go's `strconv.Atoi` wording, as Prometheus reports it.
            Err(e) => {
                let why = match e.kind() {
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                        "value out of range"
                    }
                    _ => "invalid syntax",
                };
                Err(ApiError::bad_data(format!(
                    "invalid parameter \"limit\": strconv.Atoi: parsing {s:?}: {why}"
                )))
            }
        },
    }
}

/// Truncates `items` to `limit`, returning Prometheus's warning when it did.
pub fn apply_limit<T>(items: &mut Vec<T>, limit: usize) -> Vec<String> {
    if items.len() > limit {
        items.truncate(limit);
        vec!["results truncated due to limit".to_owned()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_like_prometheus() {
        assert_eq!(parse_selector("up").unwrap().len(), 1);
        assert_eq!(parse_selector("up{job=~\"a|b\",x!=\"\"}").unwrap().len(), 3);
        assert_eq!(parse_selector("{job=\"a\"}").unwrap().len(), 1);
        let e = parse_selector("{job=~\".*\"}").unwrap_err();
        assert!(e.message.contains("non-empty matcher"), "{e:?}");
        assert!(parse_selector("up +")
            .unwrap_err()
            .message
            .contains("parse error"));
        assert!(parse_selector("rate(up[5m])").is_err());
    }

    #[test]
    fn limits_and_ranges() {
        let p = Params::parse(Some("limit=2&start=10&end=5"), None);
        assert_eq!(limit(&p).unwrap(), 2);
        assert!(time_range(&p).is_err());
        assert!(limit(&Params::parse(Some("limit=-1"), None)).is_err());
        assert_eq!(limit(&Params::parse(None, None)).unwrap(), usize::MAX);
        let mut v = vec![1, 2, 3];
        assert_eq!(apply_limit(&mut v, 2).len(), 1);
        assert_eq!(v, [1, 2]);
    }
}
