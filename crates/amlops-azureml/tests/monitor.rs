//! Azure Monitor metrics of online endpoints and deployments: the request, the typed answer (series split by
//! dimensions, empty minutes, series without a dimension, a metric with an error), throttling.
//!
//! The answers below have the shape of the public Microsoft.Insights 2023-10-01 examples `GetMetric.json` and
//! `GetMetricError.json` (Azure REST API specifications), with online-endpoint metric names and dimensions.

use std::time::Duration;

use crate::common::*;
use amlops_azureml::monitor::{
    ENDPOINT_LATENCY_METRICS, LATENCY_FILTER, METRICS_API_VERSION, MetricUnit, MetricsQuery, REQUESTS_FILTER,
    REQUESTS_PER_MINUTE,
};
use amlops_azureml::{ErrorKind, RetryPolicy};
use serde_json::json;
use time::macros::datetime;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn endpoint_metrics_path(endpoint: &str) -> String {
    format!(
        "{}/onlineEndpoints/{endpoint}/providers/Microsoft.Insights/metrics",
        ws_path()
    )
}

fn requests_answer() -> serde_json::Value {
    json!({
        "cost": 10,
        "timespan": "2026-12-06T14:00:00Z/2026-12-06T14:03:00Z",
        "interval": "PT1M",
        "value": [{
            "id": "/x/providers/Microsoft.Insights/metrics/RequestsPerMinute",
            "type": "Microsoft.Insights/metrics",
            "name": {"value": "RequestsPerMinute", "localizedValue": "Requests Per Minute"},
            "unit": "Count",
            "timeseries": [
                {
                    "metadatavalues": [
                        {"name": {"value": "deployment", "localizedValue": "deployment"}, "value": "green"},
                        {"name": {"value": "statuscodeclass", "localizedValue": "statusCodeClass"}, "value": "2xx"}
                    ],
                    "data": [
                        {"timeStamp": "2026-12-06T14:00:00Z", "total": 40.0},
                        {"timeStamp": "2026-12-06T14:01:00Z"},
                        {"timeStamp": "2026-12-06T14:02:00Z", "total": 12.0}
                    ]
                },
                {
                    "metadatavalues": [
                        {"name": {"value": "deployment", "localizedValue": "deployment"}, "value": "green"},
                        {"name": {"value": "statuscodeclass", "localizedValue": "statusCodeClass"}, "value": "5xx"}
                    ],
                    "data": [{"timeStamp": "2026-12-06T14:02:00Z", "total": 3.0}]
                },
                {
                    "metadatavalues": [],
                    "data": [{"timeStamp": "2026-12-06T14:00:00Z", "total": 7.0}]
                }
            ],
            "errorCode": "Success"
        }, {
            "name": {"value": "RequestLatency_P99"},
            "unit": "MilliSeconds",
            "timeseries": [],
            "errorMessage": "Metric not found",
            "errorCode": "BadRequest"
        }],
        "namespace": "microsoft.machinelearningservices/workspaces/onlineendpoints",
        "resourceregion": "westeurope"
    })
}

fn query<'a>(names: &'a [&'a str], filter: &'a str) -> MetricsQuery<'a> {
    MetricsQuery {
        names,
        start: datetime!(2026-12-06 14:00 UTC),
        end: datetime!(2026-12-06 14:03 UTC),
        interval: "PT1M",
        aggregations: &["total"],
        filter: Some(filter),
    }
}

#[tokio::test]
async fn endpoint_metrics_request_and_split_series() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(endpoint_metrics_path("churn")))
        .and(query_param("api-version", METRICS_API_VERSION))
        .and(query_param("metricnames", "RequestsPerMinute"))
        .and(query_param(
            "timespan",
            "2026-12-06T14:00:00Z/2026-12-06T14:03:00Z",
        ))
        .and(query_param("interval", "PT1M"))
        .and(query_param("aggregation", "total"))
        .and(query_param(
            "$filter",
            "deployment eq '*' and statusCodeClass eq '*'",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(requests_answer()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let r = client
        .online_endpoint_metrics("churn", &query(&[REQUESTS_PER_MINUTE], REQUESTS_FILTER))
        .await
        .unwrap();
    // Spaces travel as %20, not `+`.
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(
        sent.url.query().unwrap().contains("deployment%20eq%20%27%2A%27"),
        "{}",
        sent.url
    );
    assert_eq!(r.interval.as_deref(), Some("PT1M"));
    assert_eq!(r.resourceregion.as_deref(), Some("westeurope"));
    let m = r.metric("requestsperminute").unwrap();
    assert_eq!(m.unit, Some(MetricUnit::Count));
    assert_eq!(m.error(), None);
    assert_eq!(m.timeseries.len(), 3);
    let ok = &m.timeseries[0];
    // Dimension names are compared without regard to case (the service lower-cases them).
    assert_eq!(ok.dimension("deployment"), Some("green"));
    assert_eq!(ok.dimension("statusCodeClass"), Some("2xx"));
    assert_eq!(ok.data.len(), 3);
    assert_eq!(ok.data[0].time_stamp, datetime!(2026-12-06 14:00 UTC));
    assert_eq!(ok.data[0].total, Some(40.0));
    // An empty minute: a point with a time stamp and no value.
    assert_eq!(ok.data[1].total, None);
    assert_eq!(m.timeseries[1].dimension("statusCodeClass"), Some("5xx"));
    assert_eq!(m.timeseries[1].data[0].total, Some(3.0));
    // A series without the split dimensions.
    assert_eq!(m.timeseries[2].dimension("deployment"), None);
    // A metric the service could not answer for.
    let p99 = r.metric(ENDPOINT_LATENCY_METRICS[3]).unwrap();
    assert_eq!(p99.error().as_deref(), Some("BadRequest: Metric not found"));
    assert!(p99.timeseries.is_empty());
}

#[tokio::test]
async fn deployment_metrics_path_and_latency_filter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{}/onlineEndpoints/churn/deployments/green/providers/Microsoft.Insights/metrics",
            ws_path()
        )))
        .and(query_param(
            "metricnames",
            "CpuUtilizationPercentage,DeploymentCapacity",
        ))
        .and(query_param("aggregation", "average,maximum"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "timespan": "2026-12-06T14:00:00Z/2026-12-06T14:03:00Z",
            "value": [{
                "name": {"value": "CpuUtilizationPercentage"},
                "unit": "Percent",
                "timeseries": [{"metadatavalues": [], "data": [
                    {"timeStamp": "2026-12-06T14:00:00Z", "average": 12.5, "maximum": 30.0}
                ]}]
            }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let q = MetricsQuery {
        names: &["CpuUtilizationPercentage", "DeploymentCapacity"],
        aggregations: &["average", "maximum"],
        filter: None,
        ..query(&[], LATENCY_FILTER)
    };
    let r = client
        .online_deployment_metrics("churn", "green", &q)
        .await
        .unwrap();
    let cpu = r.metric("CpuUtilizationPercentage").unwrap();
    assert_eq!(cpu.unit, Some(MetricUnit::Percent));
    assert_eq!(cpu.timeseries[0].data[0].average, Some(12.5));
    assert_eq!(cpu.timeseries[0].data[0].maximum, Some(30.0));
    // DeploymentCapacity was asked for and not answered: absent, not an error.
    assert!(r.metric("DeploymentCapacity").is_none());
    assert!(
        !server.received_requests().await.unwrap()[0]
            .url
            .query()
            .unwrap()
            .contains("filter")
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_waits_for_retry_after_then_reads() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(endpoint_metrics_path("churn")))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "5"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(endpoint_metrics_path("churn")))
        .respond_with(ResponseTemplate::new(200).set_body_json(requests_answer()))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.retry = RetryPolicy::default();
    let (sink, _) = recording_sink();
    let client = paused_client_with(cfg, Some(CountingSource::new(Duration::from_secs(3600))), sink);
    let start = tokio::time::Instant::now();
    let r = client
        .online_endpoint_metrics("churn", &query(&[REQUESTS_PER_MINUTE], REQUESTS_FILTER))
        .await
        .unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    assert_eq!(r.value.len(), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn throttling_that_never_ends_is_a_status_error_with_the_operation() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(endpoint_metrics_path("churn")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ms-request-id", "req-42")
                .set_body_json(json!({"error": {"code": "TooManyRequests", "message": "slow down"}})),
        )
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let e = client
        .online_endpoint_metrics("churn", &query(&[REQUESTS_PER_MINUTE], REQUESTS_FILTER))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Status);
    assert_eq!(e.operation, "onlineEndpoints.metrics");
    assert_eq!(e.status, Some(429));
    let text = e.to_string();
    assert!(
        text.contains("TooManyRequests") && text.contains("req-42"),
        "{text}"
    );
    // The test policy makes 4 attempts.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}
