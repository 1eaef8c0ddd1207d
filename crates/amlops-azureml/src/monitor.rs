//! Azure Monitor metrics of online endpoints and deployments (`Microsoft.Insights/metrics`, api-version
//! [`METRICS_API_VERSION`]), on the same ARM host and with the same token as every other call; throttling (429) and
//! 5xx go through the client's [`crate::RetryPolicy`] like any GET.
//!
//! The response models follow the `Response`, `Metric`, `TimeSeriesElement`, `MetadataValue` and `MetricValue`
//! definitions of the public Azure REST API specification of Microsoft.Insights, stable 2023-10-01
//! (`specification/monitor/resource-manager/Microsoft.Insights/stable/2023-10-01/metrics_API.json` and its examples
//! `GetMetric.json` (series split by a dimension in `metadatavalues`, points with `timeStamp` and the requested
//! aggregations) and `GetMetricError.json` (a metric with `errorCode`/`errorMessage` and no series)). A minute
//! without data is a point with only `timeStamp`, or no point at all; both read as "no value".
//!
//! Online endpoint metrics (public "Supported metrics for Microsoft.MachineLearningServices/workspaces/
//! onlineEndpoints" page): [`ENDPOINT_LATENCY_METRICS`] (milliseconds, split by `deployment`) and
//! [`REQUESTS_PER_MINUTE`] (split by `deployment` and `statusCodeClass`). Deployment metrics (`.../deployments/
//! {name}`): [`DEPLOYMENT_METRICS`] (split by `instanceId`).

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::client::{AzureMlClient, Call};
use crate::error::AzureMlError;

/// The Azure Monitor metrics api-version.
pub const METRICS_API_VERSION: &str = "2023-10-01";

/// Endpoint latency percentiles (ms), dimension `deployment`.
pub const ENDPOINT_LATENCY_METRICS: [&str; 4] = [
    "RequestLatency_P50",
    "RequestLatency_P90",
    "RequestLatency_P95",
    "RequestLatency_P99",
];

/// Requests per minute of the endpoint, dimensions `deployment` and `statusCodeClass` (`2xx`, `4xx`, `5xx`).
pub const REQUESTS_PER_MINUTE: &str = "RequestsPerMinute";

/// Deployment metrics: CPU and memory utilization (percent) and the number of instances.
pub const DEPLOYMENT_METRICS: [&str; 3] = [
    "CpuUtilizationPercentage",
    "CpuMemoryUtilizationPercentage",
    "DeploymentCapacity",
];

/// The `$filter` that splits the endpoint's requests by deployment and status code class.
pub const REQUESTS_FILTER: &str = "deployment eq '*' and statusCodeClass eq '*'";

/// The `$filter` that splits the endpoint's latency by deployment.
pub const LATENCY_FILTER: &str = "deployment eq '*'";

/// One metrics query: which metrics, which minutes, which aggregations, which split.
#[derive(Debug, Clone)]
pub struct MetricsQuery<'a> {
    /// `metricnames`.
    pub names: &'a [&'a str],
    /// Start of the `timespan` (inclusive).
    pub start: OffsetDateTime,
    /// End of the `timespan` (exclusive).
    pub end: OffsetDateTime,
    /// `interval` (`PT1M`).
    pub interval: &'a str,
    /// `aggregation` (`average`, `total`, `maximum`...).
    pub aggregations: &'a [&'a str],
    /// `$filter` (dimension split), if any.
    pub filter: Option<&'a str>,
}

/// `start/end` in the ISO 8601 form the API takes (`2021-04-20T09:00:00Z/2021-04-20T14:00:00Z`).
pub fn timespan(start: OffsetDateTime, end: OffsetDateTime) -> String {
    let f = |t: OffsetDateTime| {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    format!("{}/{}", f(start), f(end))
}

/// A name with its display form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizableString {
    /// The invariant name.
    #[serde(default)]
    pub value: String,
    /// The display name.
    #[serde(default)]
    pub localized_value: Option<String>,
}

/// The unit of a metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricUnit {
    /// `Count`.
    Count,
    /// `Percent`.
    Percent,
    /// `MilliSeconds`.
    MilliSeconds,
    /// `Seconds`.
    Seconds,
    /// `Bytes`.
    Bytes,
    /// `CountPerSecond`.
    CountPerSecond,
    /// A unit this version does not know.
    Unknown(String),
}

impl MetricUnit {
    /// Parse (case-insensitively).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "count" => Self::Count,
            "percent" => Self::Percent,
            "milliseconds" => Self::MilliSeconds,
            "seconds" => Self::Seconds,
            "bytes" => Self::Bytes,
            "countpersecond" => Self::CountPerSecond,
            _ => Self::Unknown(s.to_string()),
        }
    }
}

impl fmt::Display for MetricUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Count => "Count",
            Self::Percent => "Percent",
            Self::MilliSeconds => "MilliSeconds",
            Self::Seconds => "Seconds",
            Self::Bytes => "Bytes",
            Self::CountPerSecond => "CountPerSecond",
            Self::Unknown(s) => s,
        })
    }
}

impl<'de> Deserialize<'de> for MetricUnit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let s = String::deserialize(d)?;
    OffsetDateTime::parse(&s, &Rfc3339).map_err(|e| serde::de::Error::custom(format!("timeStamp '{s}': {e}")))
}

/// One minute (one `interval`) of a series: the aggregations asked for, absent when there was no data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    /// Start of the interval (UTC).
    #[serde(deserialize_with = "rfc3339")]
    pub time_stamp: OffsetDateTime,
    /// `average`.
    #[serde(default)]
    pub average: Option<f64>,
    /// `minimum`.
    #[serde(default)]
    pub minimum: Option<f64>,
    /// `maximum`.
    #[serde(default)]
    pub maximum: Option<f64>,
    /// `total`.
    #[serde(default)]
    pub total: Option<f64>,
    /// `count`.
    #[serde(default)]
    pub count: Option<f64>,
}

/// A dimension value of a series.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MetadataValue {
    /// The dimension.
    #[serde(default)]
    pub name: LocalizableString,
    /// Its value for this series.
    #[serde(default)]
    pub value: Option<String>,
}

/// One series: the dimension values it is split by and its points.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TimeSeriesElement {
    /// The dimension values (`deployment`, `statusCodeClass`...); empty without a split.
    #[serde(default)]
    pub metadatavalues: Vec<MetadataValue>,
    /// The points, one per interval (minutes without data may be left out).
    #[serde(default)]
    pub data: Vec<MetricValue>,
}

impl TimeSeriesElement {
    /// The value of a dimension (its name compared without regard to case: the service lower-cases some);
    /// `None` when the series is not split by it.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.metadatavalues
            .iter()
            .find(|m| m.name.value.eq_ignore_ascii_case(name))
            .and_then(|m| m.value.as_deref())
    }
}

/// One metric of the answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// The metric's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The metric's name.
    #[serde(default)]
    pub name: LocalizableString,
    /// The unit.
    #[serde(default)]
    pub unit: Option<MetricUnit>,
    /// The series (one per combination of the filtered dimensions).
    #[serde(default)]
    pub timeseries: Vec<TimeSeriesElement>,
    /// `Success`, or why this metric has no data.
    #[serde(default)]
    pub error_code: Option<String>,
    /// The error's message.
    #[serde(default)]
    pub error_message: Option<String>,
}

impl Metric {
    /// The error of this metric, when its `errorCode` is not `Success`.
    pub fn error(&self) -> Option<String> {
        match self.error_code.as_deref() {
            None | Some("") => None,
            Some(c) if c.eq_ignore_ascii_case("success") => None,
            Some(c) => Some(match &self.error_message {
                Some(m) => format!("{c}: {m}"),
                None => c.to_string(),
            }),
        }
    }
}

/// The answer of a metrics query.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetricsResponse {
    /// The timespan the service answered for.
    #[serde(default)]
    pub timespan: String,
    /// The interval it used (it may adjust the one asked for).
    #[serde(default)]
    pub interval: Option<String>,
    /// The metric namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The resource's region.
    #[serde(default)]
    pub resourceregion: Option<String>,
    /// One entry per metric asked for.
    #[serde(default)]
    pub value: Vec<Metric>,
}

impl MetricsResponse {
    /// The metric named `name` (compared without regard to case).
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.value
            .iter()
            .find(|m| m.name.value.eq_ignore_ascii_case(name))
    }
}

impl AzureMlClient {
    /// Metrics of an online endpoint (`{endpoint id}/providers/Microsoft.Insights/metrics`).
    pub async fn online_endpoint_metrics(
        &self,
        endpoint: &str,
        query: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        const OP: &str = "onlineEndpoints.metrics";
        let url = self.metrics_url(OP, &["onlineEndpoints", endpoint], query)?;
        self.get_metrics(OP, url).await
    }

    /// Metrics of an online deployment (`{deployment id}/providers/Microsoft.Insights/metrics`).
    pub async fn online_deployment_metrics(
        &self,
        endpoint: &str,
        deployment: &str,
        query: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        const OP: &str = "onlineDeployments.metrics";
        let url = self.metrics_url(
            OP,
            &["onlineEndpoints", endpoint, "deployments", deployment],
            query,
        )?;
        self.get_metrics(OP, url).await
    }

    fn metrics_url(
        &self,
        op: &str,
        resource: &[&str],
        query: &MetricsQuery<'_>,
    ) -> Result<Url, AzureMlError> {
        let mut segments: Vec<&str> = resource.to_vec();
        segments.extend(["providers", "Microsoft.Insights", "metrics"]);
        let mut url = self.ws_url(op, &segments)?;
        // Spaces as %20 (not `+`), as the Azure SDKs send them.
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
                .replace("%2D", "-")
                .replace("%5F", "_")
                .replace("%2E", ".")
        };
        let mut q = format!(
            "api-version={}&metricnames={}&timespan={}&interval={}&aggregation={}",
            METRICS_API_VERSION,
            enc(&query.names.join(",")),
            enc(&timespan(query.start, query.end)),
            enc(query.interval),
            enc(&query.aggregations.join(",")),
        );
        if let Some(f) = query.filter {
            q.push_str("&$filter=");
            q.push_str(&enc(f));
        }
        url.set_query(Some(&q));
        Ok(url)
    }

    async fn get_metrics(&self, op: &str, url: Url) -> Result<MetricsResponse, AzureMlError> {
        let resp = self.call(Call::new(op, Method::GET, url.clone())).await?;
        Self::decode(op, &Method::GET, &url, &resp, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespan_is_utc_iso() {
        let start = time::macros::datetime!(2026-12-06 14:03:00 +01:00);
        let end = time::macros::datetime!(2026-12-06 13:08:30 UTC);
        assert_eq!(timespan(start, end), "2026-12-06T13:03:00Z/2026-12-06T13:08:30Z");
    }

    #[test]
    fn units_and_metric_errors() {
        assert_eq!(MetricUnit::parse("milliseconds"), MetricUnit::MilliSeconds);
        assert_eq!(MetricUnit::parse("Joules").to_string(), "Joules");
        let m: Metric = serde_json::from_str(
            r#"{"name": {"value": "X"}, "timeseries": [], "errorCode": "InvalidSamplingType", "errorMessage": "no"}"#,
        )
        .unwrap();
        assert_eq!(m.error().as_deref(), Some("InvalidSamplingType: no"));
        let m: Metric = serde_json::from_str(r#"{"name": {"value": "X"}, "errorCode": "Success"}"#).unwrap();
        assert_eq!(m.error(), None);
    }
}
