//! Azure Monitor metrics (`{endpoint or deployment id}/providers/Microsoft.Insights/metrics`, the 2023-10-01 shape)
//! of online endpoints and deployments, computed from the scoring calls this workspace served: what AzureMLDeploy's
//! canary analysis reads. The route is an ARM route, behind the same bearer token as every other one.
//!
//! - `RequestsPerMinute` (dimensions `deployment`, `statusCodeClass`): scoring calls per minute (aggregations
//!   `total`, `average`, `maximum`, `minimum` all give the minute's count).
//! - `RequestLatency_P50/P90/P95/P99` (dimension `deployment`): nearest-rank percentiles, in milliseconds, of the
//!   minute's calls as measured around the scoring process (queueing in the server included); `RequestLatency`:
//!   their mean.
//! - Deployment metrics: `DeploymentCapacity` is the deployment's `sku.capacity` for each minute; the local
//!   workspace does not measure its scoring process, so `CpuUtilizationPercentage` and
//!   `CpuMemoryUtilizationPercentage` are answered without series (absent, as for a deployment Azure has not
//!   reported on yet), and rules on `cpu` or `memory` are inconclusive locally.
//!
//! Minutes are UTC and published at once (Azure Monitor publishes them a minute or more late). A series is returned
//! for each dimension combination with calls in the timespan, with a point per minute (only a `timeStamp` when that
//! minute had no call). Only `interval=PT1M` is served; calls older than a day are forgotten.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::{App, Req, Resp, json_response};
use crate::error::ApiError;
use crate::store::kind;

/// Minutes kept.
const KEEP_MINUTES: i64 = 24 * 60;

/// Endpoint metrics this workspace serves.
const ENDPOINT_METRICS: [&str; 6] = [
    "RequestsPerMinute",
    "RequestLatency",
    "RequestLatency_P50",
    "RequestLatency_P90",
    "RequestLatency_P95",
    "RequestLatency_P99",
];

/// Deployment metrics this workspace serves.
const DEPLOYMENT_METRICS: [&str; 3] = [
    "CpuUtilizationPercentage",
    "CpuMemoryUtilizationPercentage",
    "DeploymentCapacity",
];

#[derive(Default)]
struct Minute {
    /// Calls by status class (index = status / 100).
    classes: [u64; 6],
    /// Latencies in milliseconds.
    latencies: Vec<f64>,
}

/// Scoring calls per (endpoint, deployment, minute since the epoch).
#[derive(Default)]
pub(crate) struct Book {
    minutes: Mutex<BTreeMap<(String, String, i64), Minute>>,
}

fn minute_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60)
}

impl Book {
    /// Record one scoring call answered with `status` after `elapsed`.
    pub(crate) fn record(&self, endpoint: &str, deployment: &str, status: u16, elapsed: Duration) {
        let now = minute_of(OffsetDateTime::now_utc());
        let mut m = self
            .minutes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = m
            .entry((endpoint.to_string(), deployment.to_string(), now))
            .or_default();
        entry.classes[usize::from(status / 100).min(5)] += 1;
        entry.latencies.push(elapsed.as_secs_f64() * 1000.0);
        m.retain(|(_, _, minute), _| *minute > now - KEEP_MINUTES);
    }
}

/// The query of a metrics request.
struct Query {
    names: Vec<String>,
    start: i64,
    end: i64,
    timespan: String,
    aggregations: Vec<String>,
    /// Dimension (lower-case) -> `None` for `'*'` (split), or the one value kept (split too).
    filter: BTreeMap<String, Option<String>>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn parse_query(req: &Req, known: &[&str]) -> Result<Query, ApiError> {
    let names: Vec<String> = req
        .q("metricnames")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return Err(bad(format!(
            "Give 'metricnames' (comma-separated): {}.",
            known.join(", ")
        )));
    }
    for n in &names {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(n)) {
            return Err(bad(format!(
                "Failed to find metric configuration for the metric '{n}'. Valid metrics: {}.",
                known.join(", ")
            )));
        }
    }
    if let Some(i) = req.q("interval")
        && !i.eq_ignore_ascii_case("PT1M")
    {
        return Err(bad(format!(
            "The local workspace aggregates per minute: use interval=PT1M, not '{i}'."
        )));
    }
    let now = OffsetDateTime::now_utc();
    let (start, end) = match req.q("timespan") {
        None => (now - time::Duration::hours(1), now),
        Some(ts) => {
            let (a, b) = ts
                .split_once('/')
                .ok_or_else(|| bad(format!("The timespan '{ts}' is not 'start/end'.")))?;
            let parse = |s: &str| {
                OffsetDateTime::parse(s.trim(), &Rfc3339)
                    .map_err(|e| bad(format!("The timespan '{ts}' has an invalid time '{s}': {e}.")))
            };
            (parse(a)?, parse(b)?)
        }
    };
    if end <= start {
        return Err(bad("The timespan's end must come after its start."));
    }
    // Whole minutes: from the start's minute to the minute before the end (an end inside a minute includes it).
    let start_min = minute_of(start);
    let end_min = if end.second() == 0 && end.nanosecond() == 0 {
        minute_of(end)
    } else {
        minute_of(end) + 1
    };
    if end_min - start_min > KEEP_MINUTES * 31 {
        return Err(bad("The timespan is too long for PT1M (at most 31 days)."));
    }
    let aggregations = req
        .q("aggregation")
        .unwrap_or("average")
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let mut filter = BTreeMap::new();
    if let Some(f) = req.q("$filter").filter(|f| !f.trim().is_empty()) {
        for clause in split_and(f) {
            let Some((dim, value)) = clause.split_once(" eq ") else {
                return Err(bad(format!(
                    "The $filter clause '{clause}' is not \"<dimension> eq '<value>'\"."
                )));
            };
            let value = value.trim().trim_matches('\'');
            filter.insert(
                dim.trim().to_ascii_lowercase(),
                (value != "*").then(|| value.to_string()),
            );
        }
    }
    Ok(Query {
        names,
        start: start_min,
        end: end_min,
        timespan: format!("{}/{}", stamp(start_min), stamp(end_min)),
        aggregations,
        filter,
    })
}

fn split_and(f: &str) -> Vec<String> {
    let lower = f.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(" and ") {
        out.push(f[from..from + i].trim().to_string());
        from += i + 5;
    }
    out.push(f[from..].trim().to_string());
    out
}

fn stamp(minute: i64) -> String {
    OffsetDateTime::from_unix_timestamp(minute * 60)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn status_class(index: usize) -> String {
    format!("{index}xx")
}

fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

fn point(minute: i64, value: Option<f64>, aggregations: &[String]) -> Value {
    let mut p = json!({"timeStamp": stamp(minute)});
    if let Some(v) = value {
        for a in aggregations {
            if ["average", "total", "maximum", "minimum"].contains(&a.as_str()) {
                p[a.as_str()] = json!(v);
            } else if a == "count" {
                p["count"] = json!(1.0);
            }
        }
    }
    p
}

fn metric(id: &str, name: &str, unit: &str, timeseries: Vec<Value>) -> Value {
    json!({
        "id": format!("{id}/providers/Microsoft.Insights/metrics/{name}"),
        "type": "Microsoft.Insights/metrics",
        "name": {"value": name, "localizedValue": name},
        "displayDescription": "",
        "unit": unit,
        "timeseries": timeseries,
        "errorCode": "Success",
    })
}

fn answer(app: &App, q: &Query, namespace: &str, value: Vec<Value>) -> Value {
    json!({
        "cost": 0,
        "timespan": q.timespan,
        "interval": "PT1M",
        "value": value,
        "namespace": namespace,
        "resourceregion": app.cfg.location,
    })
}

/// `GET .../onlineEndpoints/{ep}[/deployments/{dep}]/providers/Microsoft.Insights/metrics` (`r` from the collection
/// `onlineendpoints` on).
pub(crate) fn route(app: &App, req: &Req, r: &[&str]) -> Resp {
    match r {
        ["onlineendpoints", ep, "providers", ns, "metrics"] if ns.eq_ignore_ascii_case(NAMESPACE) => {
            endpoint(app, req, ep)
        }
        [
            "onlineendpoints",
            ep,
            "deployments",
            dep,
            "providers",
            ns,
            "metrics",
        ] if ns.eq_ignore_ascii_case(NAMESPACE) => deployment(app, req, ep, dep),
        _ => Err(ApiError::not_found(format!("The resource '{}'", r.join("/")))),
    }
}

/// The metrics provider.
const NAMESPACE: &str = "Microsoft.Insights";

/// `GET {endpoint}/providers/Microsoft.Insights/metrics`.
fn endpoint(app: &App, req: &Req, ep: &str) -> Resp {
    if app.store.get(kind::ENDPOINTS, ep).is_none() {
        return Err(ApiError::not_found(format!("Endpoint '{ep}'")));
    }
    let q = parse_query(req, &ENDPOINT_METRICS)?;
    let by_dep = q.filter.contains_key("deployment");
    let by_class = q.filter.contains_key("statuscodeclass");
    let keep_dep = |d: &str| match q.filter.get("deployment") {
        Some(Some(v)) => v.eq_ignore_ascii_case(d),
        _ => true,
    };
    let book = app
        .metrics
        .minutes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // (deployment, minute) -> the minute's calls.
    let calls: Vec<(&str, i64, &Minute)> = book
        .range((ep.to_string(), String::new(), i64::MIN)..)
        .take_while(|((e, _, _), _)| e == ep)
        .filter(|((_, d, m), _)| *m >= q.start && *m < q.end && keep_dep(d))
        .map(|((_, d, m), v)| (d.as_str(), *m, v))
        .collect();
    let id = app.arm_id(&format!("/onlineEndpoints/{ep}"));
    let mut value = Vec::new();
    for name in &q.names {
        let lname = name.to_ascii_lowercase();
        let mut timeseries = Vec::new();
        if lname == "requestsperminute" {
            // Series key: (deployment or "", class or usize::MAX).
            let mut series: BTreeMap<(String, Option<usize>), BTreeMap<i64, f64>> = BTreeMap::new();
            for (d, m, minute) in &calls {
                for (class, n) in minute.classes.iter().enumerate().filter(|(_, n)| **n > 0) {
                    if let Some(Some(want)) = q.filter.get("statuscodeclass")
                        && !want.eq_ignore_ascii_case(&status_class(class))
                    {
                        continue;
                    }
                    let key = (
                        if by_dep { d.to_string() } else { String::new() },
                        by_class.then_some(class),
                    );
                    *series.entry(key).or_default().entry(*m).or_default() += *n as f64;
                }
            }
            if series.is_empty() && !by_dep && !by_class {
                series.insert((String::new(), None), BTreeMap::new());
            }
            for ((d, class), points) in series {
                let mut meta = Vec::new();
                if by_dep {
                    meta.push(
                        json!({"name": {"value": "deployment", "localizedValue": "deployment"}, "value": d}),
                    );
                }
                if let Some(c) = class {
                    meta.push(json!({"name": {"value": "statuscodeclass", "localizedValue": "statusCodeClass"}, "value": status_class(c)}));
                }
                let data: Vec<Value> = (q.start..q.end)
                    .map(|m| point(m, points.get(&m).copied(), &q.aggregations))
                    .collect();
                timeseries.push(json!({"metadatavalues": meta, "data": data}));
            }
            value.push(metric(&id, name, "Count", timeseries));
        } else {
            // Latency: by deployment only.
            let p = match lname.as_str() {
                "requestlatency_p50" => Some(50.0),
                "requestlatency_p90" => Some(90.0),
                "requestlatency_p95" => Some(95.0),
                "requestlatency_p99" => Some(99.0),
                _ => None,
            };
            let mut series: BTreeMap<String, BTreeMap<i64, Vec<f64>>> = BTreeMap::new();
            for (d, m, minute) in &calls {
                series
                    .entry(if by_dep { d.to_string() } else { String::new() })
                    .or_default()
                    .entry(*m)
                    .or_default()
                    .extend(&minute.latencies);
            }
            if series.is_empty() && !by_dep {
                series.insert(String::new(), BTreeMap::new());
            }
            for (d, mut points) in series {
                let meta = if by_dep {
                    vec![json!({"name": {"value": "deployment", "localizedValue": "deployment"}, "value": d})]
                } else {
                    Vec::new()
                };
                let data: Vec<Value> = (q.start..q.end)
                    .map(|m| {
                        let v = points.get_mut(&m).and_then(|l| match p {
                            Some(p) => percentile(l, p),
                            None if l.is_empty() => None,
                            None => Some(l.iter().sum::<f64>() / l.len() as f64),
                        });
                        point(m, v, &q.aggregations)
                    })
                    .collect();
                timeseries.push(json!({"metadatavalues": meta, "data": data}));
            }
            value.push(metric(&id, name, "MilliSeconds", timeseries));
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &answer(
            app,
            &q,
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            value,
        ),
    ))
}

/// `GET {deployment}/providers/Microsoft.Insights/metrics`.
fn deployment(app: &App, req: &Req, ep: &str, dep: &str) -> Resp {
    let Some(record) = app.store.get(kind::DEPLOYMENTS, &format!("{ep}/{dep}")) else {
        return Err(ApiError::not_found(format!(
            "Deployment '{dep}' of endpoint '{ep}'"
        )));
    };
    let q = parse_query(req, &DEPLOYMENT_METRICS)?;
    let capacity = record["sku"]["capacity"].as_f64().unwrap_or(1.0);
    let id = app.arm_id(&format!("/onlineEndpoints/{ep}/deployments/{dep}"));
    let mut value = Vec::new();
    for name in &q.names {
        let timeseries = if name.eq_ignore_ascii_case("DeploymentCapacity") {
            let data: Vec<Value> = (q.start..q.end)
                .map(|m| point(m, Some(capacity), &q.aggregations))
                .collect();
            vec![json!({"metadatavalues": [], "data": data})]
        } else {
            Vec::new()
        };
        let unit = if name.eq_ignore_ascii_case("DeploymentCapacity") {
            "Count"
        } else {
            "Percent"
        };
        value.push(metric(&id, name, unit, timeseries));
    }
    Ok(json_response(
        StatusCode::OK,
        &answer(
            app,
            &q,
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
            value,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), Some(50.0));
        assert_eq!(percentile(&mut v, 95.0), Some(95.0));
        assert_eq!(percentile(&mut v, 99.0), Some(99.0));
        let mut one = vec![7.0];
        assert_eq!(percentile(&mut one, 99.0), Some(7.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn filter_clauses_split_on_and() {
        assert_eq!(
            split_and("deployment eq '*' AND statusCodeClass eq '5xx'"),
            vec!["deployment eq '*'", "statusCodeClass eq '5xx'"]
        );
    }
}
