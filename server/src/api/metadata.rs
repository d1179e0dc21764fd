//! `/api/v1/metadata` and `/api/v1/targets/metadata`: metric metadata from the last scrape of
//! every active target.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{json, Map, Value};
use tidemark_engine::Matcher;
use tidemark_ingest::scrape::{MetricMetadata, Target};

use super::selectors::parse_selector;
use super::{read_params, success, ApiError, Params};
use crate::state::AppState;

/// Prometheus's `limit` for these endpoints: a number, negative meaning none.
fn number_limit(p: &Params) -> Result<Option<usize>, ApiError> {
    match p.get("limit") {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) => Ok(usize::try_from(n).ok()),
            Err(_) => Err(ApiError::bad_data("limit must be a number")),
        },
    }
}

fn active_targets(st: &AppState) -> Vec<Arc<Target>> {
    st.scrape
        .targets()
        .into_iter()
        .flat_map(|pool| pool.active)
        .collect()
}

/// (type, help, unit) of one entry, ordered for stable output.
fn key(m: &MetricMetadata) -> (&'static str, String, String) {
    (m.metric_type.as_str(), m.help.clone(), m.unit.clone())
}

/// `GET /api/v1/metadata?metric=&limit=`: metric name → distinct metadata across targets.
pub async fn metadata(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let limit = number_limit(&p)?;
    let metric = p.get("metric").filter(|m| !m.is_empty());
    let mut all: BTreeMap<String, BTreeSet<(&'static str, String, String)>> = BTreeMap::new();
    for t in active_targets(&st) {
        let md = t.metadata.lock().clone();
        match metric {
            Some(name) => {
                if let Some(m) = md.get(name) {
                    all.entry(name.to_owned()).or_default().insert(key(m));
                }
            }
            None => {
                for (name, m) in md.iter() {
                    all.entry(name.clone()).or_default().insert(key(m));
                }
            }
        }
    }
    let mut out = Map::new();
    for (name, set) in all {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        let list: Vec<Value> = set
            .into_iter()
            .map(|(t, help, unit)| json!({"type": t, "help": help, "unit": unit}))
            .collect();
        out.insert(name, Value::Array(list));
    }
    Ok(success(&Value::Object(out).to_string(), &[]))
}

fn matches(t: &Target, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(t.public.get(&m.name).unwrap_or("")))
}

/// `GET /api/v1/targets/metadata?match_target=&metric=&limit=`: one entry per target and
/// metric.
pub async fn targets_metadata(
    State(st): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    let p = read_params(req).await?;
    let limit = number_limit(&p)?;
    let matchers = match p.get("match_target").filter(|s| !s.is_empty()) {
        Some(s) => parse_selector(s)?,
        None => Vec::new(),
    };
    let metric = p.get("metric").filter(|m| !m.is_empty());
    let mut out: Vec<Value> = Vec::new();
    for t in active_targets(&st) {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        if !matches(&t, &matchers) {
            continue;
        }
        let target: Map<String, Value> = t
            .public
            .iter()
            .map(|l| (l.name.to_owned(), Value::String(l.value.to_owned())))
            .collect();
        let md = t.metadata.lock().clone();
        let entry = |m: &MetricMetadata| {
            json!({
                "target": target,
                "type": m.metric_type.as_str(),
                "help": m.help,
                "unit": m.unit,
            })
        };
        match metric {
            Some(name) => {
                if let Some(m) = md.get(name) {
                    out.push(entry(m));
                }
            }
            None => {
                for (name, m) in md.iter() {
                    let mut e = entry(m);
                    e["metric"] = Value::String(name.clone());
                    out.push(e);
                }
            }
        }
    }
    Ok(success(&Value::Array(out).to_string(), &[]))
}
