//! Production data collection: a deployment whose dataCollector enables model_inputs and model_outputs writes the
//! events of every scoring call to modelDataCollector/<endpoint>/<deployment>/<collection>/<yyyy>/<MM>/<dd>/<HH>/
//! in the default datastore; a script using `azureml.ai.monitoring.Collector` (the shim) logs its own data.

use crate::common;

use serde_json::{Value, json};

/// Logs its inputs through the Collector shim (as Azure's docs show); the outputs are collected automatically.
const SCORE: &str = r#"
import json
from azureml.ai.monitoring import Collector

inputs_collector = Collector(name="model_inputs", on_error=lambda e: print("collect failed", e))

def init():
    pass

def run(raw_data):
    rows = json.loads(raw_data)["data"]
    context = inputs_collector.collect([{"x": r["x"], "city": r["city"]} for r in rows])
    assert context.get_id()
    return {"predictions": [{"y": r["x"] * 2} for r in rows]}
"#;

async fn put_and_wait(t: &common::T, url: &str, body: Value) {
    let (s, headers, v) = t.put(url, body).await;
    assert!(s == 200 || s == 201, "{s} {v}");
    let op = headers
        .get("azure-asyncoperation")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let status = t.wait_async_op(&op).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
}

fn deployment(code: &str, collector: Option<Value>) -> Value {
    let mut body = json!({
        "location": "local",
        "sku": {"name": "Default", "capacity": 1},
        "properties": {
            "endpointComputeType": "Managed",
            "instanceType": "Standard_DS3_v2",
            "environmentId": "azureml:env:1",
            "codeConfiguration": {"codeId": code, "scoringScript": "score.py"},
        },
    });
    if let Some(c) = collector {
        body["properties"]["dataCollector"] = c;
    }
    body
}

/// Names and contents of the blobs under `prefix` in the default datastore.
async fn blobs(t: &common::T, prefix: &str) -> Vec<(String, String)> {
    let url = t.datastore_blob_url("").await;
    let (base, sas) = url.split_once('?').unwrap();
    let list = t
        .http
        .get(format!(
            "{}?restype=container&comp=list&prefix={prefix}&{sas}",
            base.trim_end_matches('/')
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut out = Vec::new();
    for part in list.split("<Name>").skip(1) {
        let name = part.split("</Name>").next().unwrap().to_string();
        let text = t
            .http
            .get(t.datastore_blob_url(&name).await)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        out.push((name, text));
    }
    out.sort();
    out
}

async fn score(t: &common::T, uri: &str, key: &str, time: Option<&str>, xs: &[i64]) -> (u16, Value) {
    let rows: Vec<Value> = xs.iter().map(|x| json!({"x": x, "city": "paris"})).collect();
    let mut rb = t.http.post(uri).bearer_auth(key).json(&json!({"data": rows}));
    if let Some(time) = time {
        rb = rb.header("x-amlops-event-time", time);
    }
    let resp = rb.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn scoring_calls_are_collected_in_the_collector_layout() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t.upload_code("score-code", &[("score.py", SCORE)]).await;
    put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-mon"),
        json!({"location": "local", "properties": {"authMode": "Key"}}),
    )
    .await;
    let collector = json!({"collections": {
        "model_inputs": {"dataCollectionMode": "Enabled", "samplingRate": 1.0},
        "model_outputs": {"dataCollectionMode": "enabled"}},
        "rollingRate": "Hour"});
    put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-mon/deployments/blue"),
        deployment(&code, Some(collector)),
    )
    .await;
    put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-mon/deployments/plain"),
        deployment(&code, None),
    )
    .await;
    let (_, ep) = t.get(&t.arm("/onlineEndpoints/ep-mon")).await;
    let uri = ep["properties"]["scoringUri"].as_str().unwrap().to_owned();
    let (_, _, keys) = t
        .post(&t.arm("/onlineEndpoints/ep-mon/listKeys"), json!({}))
        .await;
    let key = keys["primaryKey"].as_str().unwrap().to_owned();
    put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-mon"),
        json!({"location": "local", "properties": {"authMode": "Key", "traffic": {"blue": 100}}}),
    )
    .await;

    for (time, xs) in [
        ("2026-12-01T08:51:30Z", vec![1, 2]),
        ("2026-12-01T08:10:00Z", vec![3]),
        ("2026-12-01T09:00:00Z", vec![4]),
    ] {
        let (s, v) = score(&t, &uri, &key, Some(time), &xs).await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = score(&t, &uri, &key, Some("noon"), &[1]).await;
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("x-amlops-event-time"), "{v}");

    let found = blobs(&t, "modelDataCollector/ep-mon/").await;
    let names: Vec<String> = found
        .iter()
        .map(|(n, _)| {
            // The file name is the scoring process's id: compare the folders.
            n.rsplit_once('/').unwrap().0.to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "modelDataCollector/ep-mon/blue/model_inputs/2026/12/01/08",
            "modelDataCollector/ep-mon/blue/model_inputs/2026/12/01/09",
            "modelDataCollector/ep-mon/blue/model_outputs/2026/12/01/08",
            "modelDataCollector/ep-mon/blue/model_outputs/2026/12/01/09",
        ]
    );
    assert!(found.iter().all(|(n, _)| n.ends_with(".jsonl")));
    let events = |i: usize| -> Vec<Value> {
        found[i]
            .1
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let inputs = events(0);
    assert_eq!(inputs.len(), 2, "one event a call");
    let first = &inputs[0];
    assert_eq!(first["specversion"], "1.0");
    assert_eq!(first["type"], "azureml.inference.model_inputs");
    assert_eq!(first["time"], "2026-12-01T08:51:30Z");
    assert_eq!(
        first["data"],
        json!([{"x": 1, "city": "paris"}, {"x": 2, "city": "paris"}])
    );
    assert!(
        first["source"]
            .as_str()
            .unwrap()
            .ends_with("/onlineEndpoints/ep-mon/deployments/blue"),
        "{first}"
    );
    let outputs = events(2);
    assert_eq!(outputs[0]["type"], "azureml.inference.model_outputs");
    assert_eq!(outputs[0]["data"], json!([{"y": 2}, {"y": 4}]));
    // Inputs and outputs of one call share the correlation id; calls do not.
    assert_eq!(outputs[0]["correlationid"], first["correlationid"]);
    assert_ne!(inputs[1]["correlationid"], first["correlationid"]);

    // A deployment without a dataCollector collects nothing.
    let resp = t
        .http
        .post(&uri)
        .bearer_auth(&key)
        .header("azureml-model-deployment", "plain")
        .json(&json!({"data": [{"x": 1, "city": "rome"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(blobs(&t, "modelDataCollector/ep-mon/plain/").await.is_empty());
}
