//! The metrics of an analysis window: Azure Monitor's answers for the endpoint and its deployments, reduced to
//! each side's [`METRICS`](super::METRICS).

use std::collections::{BTreeMap, BTreeSet};

use amlops_agent::is_canceled;
use amlops_azureml::AzureMlError;
use amlops_azureml::monitor::{
    DEPLOYMENT_METRICS, ENDPOINT_LATENCY_METRICS, LATENCY_FILTER, MetricsQuery, MetricsResponse,
    REQUESTS_FILTER, REQUESTS_PER_MINUTE,
};
use time::OffsetDateTime;

use crate::api::DeployApi;

/// The minutes a poll looks at: `[start, end)`, whole UTC minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First minute.
    pub start: OffsetDateTime,
    /// The minute after the last one.
    pub end: OffsetDateTime,
}

fn floor_minute(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(t)
}

pub(crate) fn hhmm(t: OffsetDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

impl Window {
    /// From the minute of `from` to the minute of `to`, both included.
    pub fn new(from: OffsetDateTime, to: OffsetDateTime) -> Self {
        let start = floor_minute(from);
        let end = floor_minute(to.max(from)) + time::Duration::minutes(1);
        Self { start, end }
    }

    /// `14:02–14:05 UTC` (the last minute included), or `14:02 UTC` for a single minute.
    pub fn describe(&self) -> String {
        let last = self.end - time::Duration::minutes(1);
        if last <= self.start {
            format!("{} UTC", hhmm(self.start))
        } else {
            format!("{}–{} UTC", hhmm(self.start), hhmm(last))
        }
    }

    /// Whether `t` is one of the window's minutes.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        t >= self.start && t < self.end
    }
}

/// One side's metrics over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SideMetrics {
    /// The deployments of the side.
    pub deployments: Vec<String>,
    /// Requests in the window.
    pub requests: f64,
    /// 5xx requests in the window.
    pub errors: f64,
    /// The metrics of [`super::METRICS`] that have a value.
    pub values: BTreeMap<String, f64>,
    /// Instances (`DeploymentCapacity`, latest minute), when reported.
    pub instances: Option<f64>,
}

/// What Azure Monitor said about the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// The canary's metrics.
    pub canary: SideMetrics,
    /// The baseline's metrics (`None` without a baseline).
    pub baseline: Option<SideMetrics>,
    /// Minutes of the window with data for the endpoint.
    pub minutes_with_data: Vec<OffsetDateTime>,
    /// Problems reading some metrics (shown, not fatal).
    pub notes: Vec<String>,
}

type PerMinute = BTreeMap<(String, OffsetDateTime), f64>;

/// Sum a metric's points per (deployment, minute) over the series matching `keep` (by status code class).
fn per_minute(
    r: &MetricsResponse,
    metric: &str,
    window: &Window,
    value: fn(&amlops_azureml::monitor::MetricValue) -> Option<f64>,
    keep: impl Fn(Option<&str>) -> bool,
) -> PerMinute {
    let mut out = PerMinute::new();
    let Some(m) = r.metric(metric) else {
        return out;
    };
    for series in &m.timeseries {
        // A series without the `deployment` dimension cannot be attributed to either side.
        let Some(dep) = series.dimension("deployment") else {
            continue;
        };
        if !keep(series.dimension("statusCodeClass")) {
            continue;
        }
        for p in &series.data {
            if let Some(v) = value(p).filter(|v| v.is_finite())
                && window.contains(p.time_stamp)
            {
                *out.entry((dep.to_ascii_lowercase(), p.time_stamp)).or_default() += v;
            }
        }
    }
    out
}

fn side_has(deps: &[String], dep: &str) -> bool {
    deps.iter().any(|d| d.eq_ignore_ascii_case(dep))
}

/// Compute both sides' metrics from the answers of one poll.
pub fn compute(
    requests: &MetricsResponse,
    latency: &MetricsResponse,
    deployments: &BTreeMap<String, MetricsResponse>,
    canary: &str,
    baseline: &[String],
    window: &Window,
) -> Sample {
    let total = per_minute(requests, REQUESTS_PER_MINUTE, window, |p| p.total, |_| true);
    let errors = per_minute(
        requests,
        REQUESTS_PER_MINUTE,
        window,
        |p| p.total,
        |class| class.is_some_and(|c| c.eq_ignore_ascii_case("5xx")),
    );
    let minutes: BTreeSet<OffsetDateTime> = total.keys().map(|(_, t)| *t).collect();
    let latencies: Vec<(String, PerMinute)> = ENDPOINT_LATENCY_METRICS
        .iter()
        .map(|m| {
            let name = format!(
                "latency_{}",
                m.rsplit('_').next().unwrap_or_default().to_ascii_lowercase()
            );
            (name, per_minute(latency, m, window, |p| p.average, |_| true))
        })
        .collect();
    let side = |deps: Vec<String>| -> SideMetrics {
        let mut s = SideMetrics {
            deployments: deps.clone(),
            ..SideMetrics::default()
        };
        let mine = |pm: &PerMinute| -> Vec<((String, OffsetDateTime), f64)> {
            pm.iter()
                .filter(|((d, _), _)| side_has(&deps, d))
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        };
        // `+ 0.0`: the sum of no values is -0.0, which would print as "-0"
        s.requests = mine(&total).iter().map(|(_, v)| v).sum::<f64>() + 0.0;
        s.errors = mine(&errors).iter().map(|(_, v)| v).sum::<f64>() + 0.0;
        if s.requests > 0.0 {
            s.values.insert("error_rate".into(), s.errors / s.requests);
        }
        if !minutes.is_empty() {
            s.values
                .insert("requests_per_minute".into(), s.requests / minutes.len() as f64);
        }
        for (name, pm) in &latencies {
            let points = mine(pm);
            if points.is_empty() {
                continue;
            }
            let weights: Vec<f64> = points
                .iter()
                .map(|(k, _)| total.get(k).copied().unwrap_or(0.0))
                .collect();
            let wsum: f64 = weights.iter().sum();
            let v = if wsum > 0.0 {
                points.iter().zip(&weights).map(|((_, v), w)| v * w).sum::<f64>() / wsum
            } else {
                points.iter().map(|(_, v)| v).sum::<f64>() / points.len() as f64
            };
            s.values.insert(name.clone(), v);
        }
        let mut cpu = Vec::new();
        let mut memory = Vec::new();
        let mut instances: Option<f64> = None;
        for d in &deps {
            let Some(r) = deployments.get(d) else {
                continue;
            };
            let points = |metric: &str| -> Vec<(OffsetDateTime, f64)> {
                r.metric(metric)
                    .into_iter()
                    .flat_map(|m| &m.timeseries)
                    .flat_map(|s| &s.data)
                    .filter(|p| window.contains(p.time_stamp))
                    .filter_map(|p| p.average.filter(|v| v.is_finite()).map(|v| (p.time_stamp, v)))
                    .collect()
            };
            cpu.extend(points(DEPLOYMENT_METRICS[0]).into_iter().map(|(_, v)| v));
            memory.extend(points(DEPLOYMENT_METRICS[1]).into_iter().map(|(_, v)| v));
            if let Some((_, v)) = points(DEPLOYMENT_METRICS[2]).into_iter().max_by_key(|(t, _)| *t) {
                *instances.get_or_insert(0.0) += v;
            }
        }
        for (name, values) in [("cpu", cpu), ("memory", memory)] {
            if !values.is_empty() {
                s.values
                    .insert(name.into(), values.iter().sum::<f64>() / values.len() as f64);
            }
        }
        s.instances = instances;
        s
    };
    Sample {
        canary: side(vec![canary.to_string()]),
        baseline: (!baseline.is_empty()).then(|| side(baseline.to_vec())),
        minutes_with_data: minutes.into_iter().collect(),
        notes: Vec::new(),
    }
}

/// Read the window's metrics for the canary and the baseline: the endpoint's requests and latency, and each
/// deployment's CPU, memory and instances (a deployment whose metrics cannot be read is noted, not fatal).
pub async fn fetch(
    api: &dyn DeployApi,
    endpoint: &str,
    canary: &str,
    baseline: &[String],
    window: &Window,
) -> Result<Sample, AzureMlError> {
    let query =
        |names: &'static [&'static str], aggregations: &'static [&'static str], filter| MetricsQuery {
            names,
            start: window.start,
            end: window.end,
            interval: "PT1M",
            aggregations,
            filter,
        };
    let requests = api
        .endpoint_metrics(
            endpoint,
            &query(&[REQUESTS_PER_MINUTE], &["total"], Some(REQUESTS_FILTER)),
        )
        .await?;
    let latency = api
        .endpoint_metrics(
            endpoint,
            &query(&ENDPOINT_LATENCY_METRICS, &["average"], Some(LATENCY_FILTER)),
        )
        .await?;
    let mut notes = Vec::new();
    for (r, what) in [(&requests, "requests"), (&latency, "latency")] {
        for m in &r.value {
            if let Some(e) = m.error() {
                notes.push(format!("{} ({what}): {e}", m.name.value));
            }
        }
    }
    let mut deployments = BTreeMap::new();
    for d in std::iter::once(canary.to_string()).chain(baseline.iter().cloned()) {
        match api
            .deployment_metrics(endpoint, &d, &query(&DEPLOYMENT_METRICS, &["average"], None))
            .await
        {
            Ok(r) => {
                deployments.insert(d, r);
            }
            Err(e) if is_canceled(&e) => return Err(e),
            Err(e) => notes.push(format!("the metrics of deployment '{d}' cannot be read: {e}")),
        }
    }
    let mut sample = compute(&requests, &latency, &deployments, canary, baseline, window);
    sample.notes = notes;
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn window_covers_whole_minutes_and_says_so() {
        let w = Window::new(
            datetime!(2026-12-06 14:02:40 UTC),
            datetime!(2026-12-06 14:05:10 UTC),
        );
        assert_eq!(w.start, datetime!(2026-12-06 14:02 UTC));
        assert_eq!(w.end, datetime!(2026-12-06 14:06 UTC));
        assert_eq!(w.describe(), "14:02–14:05 UTC");
        let one = Window::new(
            datetime!(2026-12-06 14:02:10 UTC),
            datetime!(2026-12-06 14:02:50 UTC),
        );
        assert_eq!(one.describe(), "14:02 UTC");
        assert!(w.contains(datetime!(2026-12-06 14:05 UTC)));
        assert!(!w.contains(datetime!(2026-12-06 14:06 UTC)));
    }

    #[test]
    fn a_window_with_no_5xx_series_has_an_error_rate_of_plus_zero() {
        // The local workspace (and Azure, for a healthy deployment) reports no 5xx series at all.
        let requests: MetricsResponse = serde_json::from_value(serde_json::json!({
            "timespan": "2026-12-06T14:02:00Z/2026-12-06T14:04:00Z",
            "value": [{"name": {"value": "RequestsPerMinute"}, "timeseries": [{
                "metadatavalues": [
                    {"name": {"value": "deployment"}, "value": "green"},
                    {"name": {"value": "statusCodeClass"}, "value": "2xx"}],
                "data": [{"timeStamp": "2026-12-06T14:03:00Z", "total": 60.0}]}]}]
        }))
        .unwrap();
        let latency: MetricsResponse = serde_json::from_value(serde_json::json!({
            "timespan": "2026-12-06T14:02:00Z/2026-12-06T14:04:00Z", "value": []
        }))
        .unwrap();
        let window = Window::new(
            datetime!(2026-12-06 14:02 UTC),
            datetime!(2026-12-06 14:03:30 UTC),
        );
        let sample = compute(&requests, &latency, &BTreeMap::new(), "green", &[], &window);
        let rate = sample.canary.values["error_rate"];
        assert_eq!(rate, 0.0);
        assert!(rate.is_sign_positive(), "a -0 error rate prints as \"-0\"");
    }
}
