//! Azure Monitor metrics of online endpoints and deployments, computed from real scoring calls: requests per minute
//! by deployment and status code class, latency percentiles measured on the calls, deployment capacity; the route
//! is behind the workspace token like every ARM route.

use crate::common;

use serde_json::{Value, json};

const SCORE: &str = r#"
import json, os, time

def init():
    pass

def run(raw_data):
    data = json.loads(raw_data)
    if data.get("fail"):
        raise RuntimeError("asked to fail")
    if os.environ["COLOR"] == "green":
        time.sleep(0.15)
    return {"color": os.environ["COLOR"]}
"#;

async fn put_and_wait(t: &common::T, url: &str, body: Value) {
    let (s, headers, v) = t.put(url, body).await;
    assert!(s == 200 || s == 201, "{s} {v}");
    let op = headers
        .get("azure-asyncoperation")
        .expect("Azure-AsyncOperation header")
        .to_str()
        .unwrap()
        .to_owned();
    let status = t.wait_async_op(&op).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
}

async fn score(uri: &str, key: &str, deployment: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .post(uri)
        .bearer_auth(key)
        .header("azureml-model-deployment", deployment)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn metrics_url(t: &common::T, resource: &str, query: &str) -> String {
    format!(
        "{}{resource}/providers/Microsoft.Insights/metrics?api-version=2023-10-01&{query}",
        t.ws.workspace_url()
    )
}

fn series_for<'a>(metric: &'a Value, dims: &[(&str, &str)]) -> Option<&'a Value> {
    metric["timeseries"].as_array().unwrap().iter().find(|s| {
        dims.iter().all(|(name, value)| {
            s["metadatavalues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["name"]["value"] == *name && m["value"] == *value)
        })
    })
}

/// Sum of an aggregation over a series' points.
fn sum(series: &Value, aggregation: &str) -> f64 {
    series["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p[aggregation].as_f64())
        .sum()
}

/// The largest value of an aggregation over a series' points.
fn max(series: &Value, aggregation: &str) -> f64 {
    series["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p[aggregation].as_f64())
        .fold(0.0, f64::max)
}

#[tokio::test]
async fn metrics_route_reports_the_real_scoring_calls() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t.upload_code("metrics-code", &[("score.py", SCORE)]).await;
    put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-m"),
        json!({"location": "local", "properties": {"authMode": "Key"}}),
    )
    .await;
    for color in ["blue", "green"] {
        put_and_wait(
            &t,
            &t.arm(&format!("/onlineEndpoints/ep-m/deployments/{color}")),
            json!({
                "location": "local",
                "sku": {"name": "Default", "capacity": 2},
                "properties": {
                    "endpointComputeType": "Managed",
                    "environmentId": "azureml:env:1",
                    "codeConfiguration": {"codeId": code, "scoringScript": "score.py"},
                    "environmentVariables": {"COLOR": color},
                },
            }),
        )
        .await;
    }
    let (_, ep) = t.get(&t.arm("/onlineEndpoints/ep-m")).await;
    let uri = ep["properties"]["scoringUri"].as_str().unwrap().to_owned();
    let (_, _, keys) = t.post(&t.arm("/onlineEndpoints/ep-m/listKeys"), json!({})).await;
    let key = keys["primaryKey"].as_str().unwrap().to_owned();

    let start = time::OffsetDateTime::now_utc();
    for _ in 0..6 {
        assert_eq!(score(&uri, &key, "blue", json!({"x": 1})).await, 200);
    }
    for _ in 0..3 {
        assert_eq!(score(&uri, &key, "green", json!({"x": 1})).await, 200);
    }
    assert_eq!(score(&uri, &key, "green", json!({"fail": true})).await, 500);
    let end = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let timespan = format!("{}/{}", fmt(start), fmt(end));

    // Requests by deployment and status code class.
    let url = metrics_url(
        &t,
        "/onlineEndpoints/ep-m",
        &format!(
            "metricnames=RequestsPerMinute&timespan={timespan}&interval=PT1M&aggregation=total&%24filter=deployment%20eq%20%27%2A%27%20and%20statusCodeClass%20eq%20%27%2A%27"
        ),
    );
    let (s, v) = t.get(&url).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["interval"], "PT1M");
    let rpm = &v["value"][0];
    assert_eq!(rpm["name"]["value"], "RequestsPerMinute");
    assert_eq!(rpm["errorCode"], "Success");
    assert_eq!(rpm["timeseries"].as_array().unwrap().len(), 3, "{rpm}");
    let blue_ok = series_for(rpm, &[("deployment", "blue"), ("statuscodeclass", "2xx")]).unwrap();
    let green_ok = series_for(rpm, &[("deployment", "green"), ("statuscodeclass", "2xx")]).unwrap();
    let green_5xx = series_for(rpm, &[("deployment", "green"), ("statuscodeclass", "5xx")]).unwrap();
    assert_eq!(sum(blue_ok, "total"), 6.0);
    assert_eq!(sum(green_ok, "total"), 3.0);
    assert_eq!(sum(green_5xx, "total"), 1.0);
    assert!(series_for(rpm, &[("deployment", "blue"), ("statuscodeclass", "5xx")]).is_none());
    // A point per minute of the timespan; minutes without calls carry only their time stamp.
    let points = blue_ok["data"].as_array().unwrap();
    assert!(points.len() >= 2, "{blue_ok}");
    assert!(
        points
            .iter()
            .all(|p| p["timeStamp"].as_str().unwrap().ends_with(":00Z"))
    );
    assert!(points.iter().any(|p| p.get("total").is_none()), "{blue_ok}");

    // Latency percentiles per deployment, measured on the calls: green sleeps 150 ms a call.
    let url = metrics_url(
        &t,
        "/onlineEndpoints/ep-m",
        &format!(
            "metricnames=RequestLatency_P50,RequestLatency_P95,RequestLatency_P99&timespan={timespan}&interval=PT1M&aggregation=average&%24filter=deployment%20eq%20%27%2A%27"
        ),
    );
    let (s, v) = t.get(&url).await;
    assert_eq!(s, 200, "{v}");
    let p95 = &v["value"][1];
    assert_eq!(p95["name"]["value"], "RequestLatency_P95");
    assert_eq!(p95["unit"], "MilliSeconds");
    let green = max(series_for(p95, &[("deployment", "green")]).unwrap(), "average");
    let blue = max(series_for(p95, &[("deployment", "blue")]).unwrap(), "average");
    assert!(green >= 150.0, "green p95 {green} ms");
    assert!(blue < green, "blue p95 {blue} ms, green {green} ms");

    // Deployment metrics: capacity from the sku; CPU and memory are not measured locally (no series).
    let url = metrics_url(
        &t,
        "/onlineEndpoints/ep-m/deployments/green",
        &format!(
            "metricnames=CpuUtilizationPercentage,DeploymentCapacity&timespan={timespan}&interval=PT1M&aggregation=average"
        ),
    );
    let (s, v) = t.get(&url).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["value"][0]["timeseries"].as_array().unwrap().is_empty());
    assert_eq!(v["value"][1]["timeseries"][0]["data"][0]["average"], 2.0);

    // Unknown metrics, other intervals and an unknown endpoint are refused.
    let (s, v) = t
        .get(&metrics_url(&t, "/onlineEndpoints/ep-m", "metricnames=Bogus"))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("Bogus"), "{v}");
    let (s, _) = t
        .get(&metrics_url(
            &t,
            "/onlineEndpoints/ep-m",
            "metricnames=RequestsPerMinute&interval=PT5M",
        ))
        .await;
    assert_eq!(s, 400);
    let (s, _) = t
        .get(&metrics_url(
            &t,
            "/onlineEndpoints/nope",
            "metricnames=RequestsPerMinute",
        ))
        .await;
    assert_eq!(s, 404);
    // An ARM route: without the workspace token, refused like every other one.
    let s = t
        .anonymous
        .get(metrics_url(
            &t,
            "/onlineEndpoints/ep-m",
            "metricnames=RequestsPerMinute",
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(s, 401);
}
