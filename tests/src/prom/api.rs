//! HTTP API client for `/api/v1/query` and `/api/v1/query_range`, and the parsed result types.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

/// A label set, sorted by name (`__name__` included when present).
pub type Labels = BTreeMap<String, String>;

/// One sample of a query result: time in milliseconds and value.
#[derive(Clone, Debug)]
pub struct Point {
    /// Timestamp in milliseconds since the epoch (the API sends float seconds).
    pub t_ms: i64,
    /// The value, parsed from the API's string form (`"NaN"`, `"+Inf"`, `"-Inf"`, decimals).
    pub v: f64,
    /// The value exactly as the server wrote it, for checks of number formatting.
    pub raw: String,
}

/// One element of an instant vector.
#[derive(Clone, Debug)]
pub struct InstantSample {
    /// The series' labels.
    pub metric: Labels,
    /// Its sample.
    pub point: Point,
}

/// One series of a range vector (matrix).
#[derive(Clone, Debug)]
pub struct RangeSeries {
    /// The series' labels.
    pub metric: Labels,
    /// Its samples in time order.
    pub points: Vec<Point>,
}

/// A query's result, or the API error that replaced it.
#[derive(Clone, Debug)]
pub enum PromResult {
    /// `resultType: "matrix"`.
    Matrix(Vec<RangeSeries>),
    /// `resultType: "vector"`, in the order the server sent.
    Vector(Vec<InstantSample>),
    /// `resultType: "scalar"`.
    Scalar(Point),
    /// `resultType: "string"`: time in milliseconds and the string.
    String {
        /// Timestamp in milliseconds.
        t_ms: i64,
        /// The string value.
        value: String,
    },
    /// `status: "error"`.
    Error {
        /// `errorType`, e.g. `bad_data`, `execution`.
        error_type: String,
        /// `error`, the human-readable message.
        error: String,
    },
}

impl PromResult {
    /// The API's `resultType` (`matrix`, `vector`, `scalar`, `string`), or `error`.
    pub fn result_type(&self) -> &'static str {
        match self {
            PromResult::Matrix(_) => "matrix",
            PromResult::Vector(_) => "vector",
            PromResult::Scalar(_) => "scalar",
            PromResult::String { .. } => "string",
            PromResult::Error { .. } => "error",
        }
    }
}

/// A parsed API answer.
#[derive(Clone, Debug)]
pub struct QueryResponse {
    /// HTTP status code (200 on success; 400 for `bad_data`, 422 for `execution`, ...).
    pub http_status: u16,
    /// The result or the error.
    pub result: PromResult,
    /// `warnings`, empty when absent.
    pub warnings: Vec<String>,
    /// `infos` (Prometheus 3.x), empty when absent.
    pub infos: Vec<String>,
}

/// Builds an agent for loopback use: no proxy (environment proxies are ignored), HTTP error
/// statuses returned as responses rather than errors, a global timeout.
pub(crate) fn loopback_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// Query client for any server speaking the Prometheus HTTP API.
///
/// Sends POST with form-encoded parameters, as Grafana does.
#[derive(Clone)]
pub struct ApiClient {
    base: String,
    agent: ureq::Agent,
}

impl ApiClient {
    /// A client for `base_url` (e.g. `http://127.0.0.1:9090`), with a 60 s timeout per request.
    pub fn new(base_url: &str) -> Self {
        ApiClient {
            base: base_url.trim_end_matches('/').to_string(),
            agent: loopback_agent(Duration::from_secs(60)),
        }
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Instant query `query` evaluated at `time_ms` (milliseconds).
    pub fn query(&self, query: &str, time_ms: i64) -> Result<QueryResponse, String> {
        self.post_query(
            "/api/v1/query",
            &[("query", query), ("time", &format_ms_as_seconds(time_ms))],
        )
    }

    /// Range query `query` from `start_ms` to `end_ms` every `step_ms` (all milliseconds).
    pub fn query_range(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResponse, String> {
        self.post_query(
            "/api/v1/query_range",
            &[
                ("query", query),
                ("start", &format_ms_as_seconds(start_ms)),
                ("end", &format_ms_as_seconds(end_ms)),
                ("step", &format_ms_as_seconds(step_ms)),
            ],
        )
    }

    /// POSTs form `params` to `path` (e.g. `/api/v1/query`) and parses the answer as a query
    /// response. Use it for parameters the typed methods lack (`timeout`, RFC 3339 times, ...).
    pub fn post_query(&self, path: &str, params: &[(&str, &str)]) -> Result<QueryResponse, String> {
        let (status, body) = self.post_form(path, params)?;
        parse_response(status, &body).map_err(|e| format!("POST {path} {params:?}: {e}"))
    }

    /// POSTs form `params` to `path` and returns the HTTP status and the body text.
    pub fn post_form(&self, path: &str, params: &[(&str, &str)]) -> Result<(u16, String), String> {
        let url = format!("{}{}", self.base, path);
        let mut resp = self
            .agent
            .post(&url)
            .send_form(params.iter().copied())
            .map_err(|e| format!("POST {url} failed: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| format!("POST {url}: reading the body failed: {e}"))?;
        Ok((status, body))
    }

    /// GETs `path` and returns the HTTP status and the body text.
    pub fn get(&self, path: &str) -> Result<(u16, String), String> {
        let url = format!("{}{}", self.base, path);
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| format!("GET {url} failed: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| format!("GET {url}: reading the body failed: {e}"))?;
        Ok((status, body))
    }
}

/// Formats milliseconds as the API's float seconds (`1500` → `1.5`, `-1` → `-0.001`).
pub fn format_ms_as_seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (s, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        format!("{sign}{s}")
    } else {
        format!("{sign}{s}.{frac:03}")
    }
}

/// Parses a value as the API writes it: `"NaN"`, `"+Inf"`, `"-Inf"`, or a Go float literal.
pub fn parse_prom_float(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse::<f64>()
            .map_err(|e| format!("bad sample value {s:?}: {e}")),
    }
}

/// Parses an API answer body (any server's) with its HTTP status into a [`QueryResponse`].
///
/// Fails on anything that is not a well-formed query response: not JSON, no `status`, a value
/// that is a JSON number instead of a string (which Grafana cannot read), etc.
pub fn parse_response(http_status: u16, body: &str) -> Result<QueryResponse, String> {
    let short = || body.chars().take(500).collect::<String>();
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("HTTP {http_status}: body is not JSON ({e}): {}", short()))?;
    let warnings = string_list(&v, "warnings")?;
    let infos = string_list(&v, "infos")?;
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("HTTP {http_status}: no \"status\" in {}", short()))?;
    let result = match status {
        "error" => PromResult::Error {
            error_type: str_field(&v, "errorType")?,
            error: str_field(&v, "error")?,
        },
        "success" => {
            let data = v.get("data").ok_or("success without \"data\"")?;
            parse_data(data)?
        }
        other => return Err(format!("unknown status {other:?}")),
    };
    Ok(QueryResponse {
        http_status,
        result,
        warnings,
        infos,
    })
}

/// An optional array of strings (`warnings`, `infos`).
fn string_list(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|w| {
                w.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("an entry of {key} is not a string"))
            })
            .collect(),
        Some(other) => Err(format!("{key} is not an array: {other}")),
    }
}

fn str_field(v: &Value, name: &str) -> Result<String, String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("missing string field {name:?} in {v}"))
}

fn parse_data(data: &Value) -> Result<PromResult, String> {
    let rt = data
        .get("resultType")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("data without resultType: {data}"))?;
    let result = data.get("result").ok_or("data without result")?;
    Ok(match rt {
        "matrix" => PromResult::Matrix(
            array(result, "matrix result")?
                .iter()
                .map(|s| {
                    Ok(RangeSeries {
                        metric: parse_metric(s)?,
                        points: array(s.get("values").unwrap_or(&Value::Null), "values")?
                            .iter()
                            .map(parse_point)
                            .collect::<Result<_, String>>()?,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        "vector" => PromResult::Vector(
            array(result, "vector result")?
                .iter()
                .map(|s| {
                    Ok(InstantSample {
                        metric: parse_metric(s)?,
                        point: parse_point(s.get("value").unwrap_or(&Value::Null))?,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        "scalar" => PromResult::Scalar(parse_point(result)?),
        "string" => {
            let pair = array(result, "string result")?;
            match pair {
                [t, Value::String(s)] if pair.len() == 2 => PromResult::String {
                    t_ms: parse_time(t)?,
                    value: s.clone(),
                },
                _ => return Err(format!("bad string result {result}")),
            }
        }
        other => return Err(format!("unknown resultType {other:?}")),
    })
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], String> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| format!("{what} is not an array: {v}"))
}

fn parse_metric(s: &Value) -> Result<Labels, String> {
    let m = s
        .get("metric")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("series without metric object: {s}"))?;
    m.iter()
        .map(|(k, v)| match v {
            Value::String(v) => Ok((k.clone(), v.clone())),
            _ => Err(format!("label {k} is not a string: {v}")),
        })
        .collect()
}

fn parse_time(t: &Value) -> Result<i64, String> {
    let secs = t
        .as_f64()
        .ok_or_else(|| format!("timestamp is not a JSON number: {t}"))?;
    Ok((secs * 1000.0).round() as i64)
}

fn parse_point(p: &Value) -> Result<Point, String> {
    match p.as_array().map(Vec::as_slice) {
        Some([t, Value::String(s)]) => Ok(Point {
            t_ms: parse_time(t)?,
            v: parse_prom_float(s)?,
            raw: s.clone(),
        }),
        _ => Err(format!("bad sample {p}: want [<number>, \"<value>\"]")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds() {
        assert_eq!(format_ms_as_seconds(0), "0");
        assert_eq!(format_ms_as_seconds(1500), "1.500");
        assert_eq!(format_ms_as_seconds(-1), "-0.001");
        assert_eq!(format_ms_as_seconds(1_700_000_000_005), "1700000000.005");
    }

    #[test]
    fn parses_special_values_and_errors() {
        let r = parse_response(
            200,
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"a":"1"},"value":[1.5,"NaN"]},
                {"metric":{},"value":[2,"+Inf"]},
                {"metric":{},"value":[2,"-Inf"]},
                {"metric":{},"value":[2,"1e-07"]}]},"warnings":["w"]}"#,
        )
        .unwrap();
        let PromResult::Vector(v) = r.result else {
            panic!("not a vector")
        };
        assert!(v[0].point.v.is_nan());
        assert_eq!(v[0].point.t_ms, 1500);
        assert_eq!(v[1].point.v, f64::INFINITY);
        assert_eq!(v[2].point.v, f64::NEG_INFINITY);
        assert_eq!(v[3].point.v, 1e-7);
        assert_eq!(r.warnings, vec!["w".to_string()]);
        assert!(r.infos.is_empty());
        let e = parse_response(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
        .unwrap();
        assert!(
            matches!(e.result, PromResult::Error { ref error_type, .. } if error_type == "bad_data")
        );
        assert!(parse_response(
            200,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,2]}}"#
        )
        .is_err());
    }
}
