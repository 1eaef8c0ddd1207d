//! Live inference data against wiremock: `endpoint:` targets list and read only the hour folders of the window
//! in the default blob datastore; bad datastores, endpoints and deployments fail before any download; an empty
//! window names the folders looked at; `model:` baselines are the producing job's training input.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use amlops_agent::{CancellationToken, NetworkSettings};
use amlops_azureml::{AzureMlClient, ClientConfig, build_client};
use amlops_gate::GateError;
use amlops_gate::azure::AzureBackend;
use amlops_gate::live::{LiveOptions, resolve};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const WS: &str =
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

/// 2026-12-06T10:30:00Z.
const NOW: i64 = 1_796_553_000;

fn backend(server: &MockServer) -> AzureBackend {
    let http = build_client(&NetworkSettings::default()).unwrap();
    let mut config = ClientConfig::new(&server.uri(), "sub", "rg", "ws");
    config.blob_endpoint_override = Some(format!("{}/blob", server.uri()));
    let secrets = Arc::new(|_: &str| {});
    let client = AzureMlClient::new(http, config, None, secrets, CancellationToken::new()).unwrap();
    AzureBackend::new(client)
}

fn blob_datastore(kind: &str) -> serde_json::Value {
    json!({
        "name": "workspaceblobstore",
        "properties": {"datastoreType": kind, "accountName": "acct", "containerName": "data",
                       "endpoint": "core.windows.net", "protocol": "https", "isDefault": true,
                       "credentials": {"credentialsType": "AccountKey"}}
    })
}

async fn workspace(server: &MockServer, datastore_type: &str, traffic: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!("{WS}/datastores")))
        .and(query_param("isDefault", "true"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [blob_datastore(datastore_type)]})),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/datastores/workspaceblobstore")))
        .respond_with(ResponseTemplate::new(200).set_body_json(blob_datastore(datastore_type)))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{WS}/datastores/workspaceblobstore/listSecrets")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"secretsType": "Sas", "sasToken": "?sv=2024-11-04&sig=c2VjcmV0"})),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/onlineEndpoints/churn")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "churn", "properties": {"authMode": "Key", "traffic": traffic}
        })))
        .mount(server)
        .await;
    for dep in ["blue", "green"] {
        Mock::given(method("GET"))
            .and(path(format!("{WS}/onlineEndpoints/churn/deployments/{dep}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "name": dep, "properties": {"model": format!("{WS}/models/churn/versions/3")}
            })))
            .mount(server)
            .await;
    }
    let not_found = ResponseTemplate::new(404)
        .set_body_json(json!({"error": {"code": "NotFound", "message": "not found"}}));
    Mock::given(method("GET"))
        .and(path_regex(format!(
            "^{WS}/onlineEndpoints/[^/]+(/deployments/[^/]+)?$"
        )))
        .respond_with(not_found)
        .mount(server)
        .await;
}

/// A container answering List Blobs from a fixed set of blob names (any prefix).
struct Listing(Vec<String>);

impl Respond for Listing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let prefix = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "prefix")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let blobs: String = self
            .0
            .iter()
            .filter(|n| n.starts_with(&prefix))
            .map(|n| format!("<Blob><Name>{n}</Name></Blob>"))
            .collect();
        ResponseTemplate::new(200).set_body_string(format!(
            "<EnumerationResults><Blobs>{blobs}</Blobs><NextMarker/></EnumerationResults>"
        ))
    }
}

fn event(row: serde_json::Value) -> String {
    json!({"specversion": "1.0", "id": "e1", "source": "/subscriptions/sub", "type":
        "azureml.inference.model_inputs", "time": "2026-12-06T08:51:30Z", "datacontenttype": "application/json",
        "data": [row], "correlationid": "c1"})
    .to_string()
        + "\n"
}

/// Blobs of `blue` (inside and outside the window) and `green`, served; returns the names.
async fn collected(server: &MockServer) -> Vec<String> {
    let names: Vec<String> = [
        // Inside the 24 h window ending 2026-12-06 10:xx (folders 2026/12/05/11 .. 2026/12/06/10).
        "modelDataCollector/churn/blue/model_inputs/2026/12/05/11/a.jsonl",
        "modelDataCollector/churn/blue/model_inputs/2026/12/06/08/b.jsonl",
        "modelDataCollector/churn/blue/model_inputs/2026/12/06/10/c.jsonl",
        // Outside: an hour too old, the day before, a future hour, another collection.
        "modelDataCollector/churn/blue/model_inputs/2026/12/05/10/old.jsonl",
        "modelDataCollector/churn/blue/model_inputs/2026/12/04/12/older.jsonl",
        "modelDataCollector/churn/blue/model_inputs/2026/12/06/11/future.jsonl",
        "modelDataCollector/churn/blue/model_outputs/2026/12/06/08/out.jsonl",
        // Another deployment.
        "modelDataCollector/churn/green/model_inputs/2026/12/06/09/g.jsonl",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Mock::given(method("GET"))
        .and(path("/blob/acct/data"))
        .and(query_param("comp", "list"))
        .respond_with(Listing(names.clone()))
        .mount(server)
        .await;
    for (k, n) in names.iter().enumerate() {
        Mock::given(method("GET"))
            .and(path(format!("/blob/acct/data/{n}")))
            .and(query_param("sig", "c2VjcmV0"))
            .respond_with(ResponseTemplate::new(200).set_body_string(event(json!({"num": k, "cat": "a"}))))
            .mount(server)
            .await;
    }
    names
}

fn options() -> LiveOptions {
    LiveOptions {
        window_hours: 24,
        baseline_input: None,
        now: Some(NOW),
    }
}

/// The `prefix` of every List Blobs call and the path of every blob read.
async fn blob_calls(server: &MockServer) -> (Vec<String>, Vec<String>) {
    let mut listed = Vec::new();
    let mut read = Vec::new();
    for r in server.received_requests().await.unwrap_or_default() {
        if let Some(p) = r.url.path().strip_prefix("/blob/acct/data/") {
            read.push(p.to_string());
        } else if r.url.path() == "/blob/acct/data" {
            listed.extend(
                r.url
                    .query_pairs()
                    .filter(|(k, _)| k == "prefix")
                    .map(|(_, v)| v.into_owned()),
            );
        }
    }
    (listed, read)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn only_the_hour_folders_of_the_window_are_listed_and_read() {
    let server = MockServer::start().await;
    workspace(&server, "AzureBlob", json!({"blue": 100, "green": 0})).await;
    collected(&server).await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let got = resolve("endpoint:churn/blue", "targetData", Some(&b), &dir, &options())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, dir.join("targetData"));
    assert_eq!(
        files_under(&got),
        [
            "blue/model_inputs/2026/12/05/11/a.jsonl",
            "blue/model_inputs/2026/12/06/08/b.jsonl",
            "blue/model_inputs/2026/12/06/10/c.jsonl",
        ]
    );
    let first = std::fs::read_to_string(got.join("blue/model_inputs/2026/12/05/11/a.jsonl")).unwrap();
    assert!(first.contains("\"num\":0"), "{first}");

    let (listed, read) = blob_calls(&server).await;
    // One listing per hour folder of the window, nothing else.
    let expected: Vec<String> = (11..24)
        .map(|h| format!("modelDataCollector/churn/blue/model_inputs/2026/12/05/{h:02}/"))
        .chain((0..11).map(|h| format!("modelDataCollector/churn/blue/model_inputs/2026/12/06/{h:02}/")))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(
        read,
        [
            "modelDataCollector/churn/blue/model_inputs/2026/12/05/11/a.jsonl",
            "modelDataCollector/churn/blue/model_inputs/2026/12/06/08/b.jsonl",
            "modelDataCollector/churn/blue/model_inputs/2026/12/06/10/c.jsonl",
        ]
    );
}

// `endpoint:churn` reads every deployment with live traffic; `/model_outputs` reads that collection; a 3 h window
// lists three folders.
#[tokio::test]
async fn every_live_deployment_and_other_collections() {
    let server = MockServer::start().await;
    workspace(&server, "AzureBlob", json!({"blue": 60, "green": 40})).await;
    collected(&server).await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let got = resolve("endpoint:churn", "targetData", Some(&b), &dir, &options())
        .await
        .unwrap()
        .unwrap();
    let files = files_under(&got);
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files.contains(&"green/model_inputs/2026/12/06/09/g.jsonl".to_string()));

    let server = MockServer::start().await;
    workspace(&server, "AzureBlob", json!({"blue": 100})).await;
    collected(&server).await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let short = LiveOptions {
        window_hours: 3,
        ..options()
    };
    let got = resolve(
        "endpoint:churn/blue/model_outputs",
        "targetData",
        Some(&b),
        &dir,
        &short,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(files_under(&got), ["blue/model_outputs/2026/12/06/08/out.jsonl"]);
    let (listed, _) = blob_calls(&server).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed[0].ends_with("model_outputs/2026/12/06/08/"), "{listed:?}");
}

#[tokio::test]
async fn an_empty_window_names_the_folders_looked_at() {
    let server = MockServer::start().await;
    workspace(&server, "AzureBlob", json!({"blue": 100})).await;
    collected(&server).await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let old = LiveOptions {
        now: Some(NOW + 30 * 86_400),
        ..options()
    };
    let e = resolve("endpoint:churn/blue", "targetData", Some(&b), &dir, &old)
        .await
        .unwrap_err();
    assert!(matches!(e, GateError::NoLiveData(_)), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("modelDataCollector/churn/blue/model_inputs/{2027/01/04/11 .. 2027/01/05/10}/")
            && e.contains("workspaceblobstore")
            && e.contains("dataCollection")
            && e.contains("input 'targetData'"),
        "{e}"
    );
    let (_, read) = blob_calls(&server).await;
    assert!(read.is_empty(), "{read:?}");
}

#[tokio::test]
async fn bad_datastores_endpoints_and_deployments_fail_before_any_download() {
    let server = MockServer::start().await;
    workspace(&server, "AzureFile", json!({"blue": 100})).await;
    collected(&server).await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let e = resolve("endpoint:churn/blue", "targetData", Some(&b), &dir, &options())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("default datastore 'workspaceblobstore' is of type AzureFile, not a blob container"),
        "{e}"
    );
    let (listed, read) = blob_calls(&server).await;
    assert!(listed.is_empty() && read.is_empty());

    let server = MockServer::start().await;
    workspace(&server, "AzureBlob", json!({"blue": 100, "green": 0})).await;
    collected(&server).await;
    let b = backend(&server);
    let cases: BTreeMap<&str, &str> = [
        (
            "endpoint:nope/blue",
            "the online endpoint 'nope' does not exist in the workspace",
        ),
        (
            "endpoint:churn/red",
            "the endpoint 'churn' has no deployment 'red'",
        ),
        ("endpoint:churn/blue/x/y", "too many parts"),
    ]
    .into();
    for (given, want) in cases {
        let e = resolve(given, "targetData", Some(&b), &dir, &options())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(want) && e.contains("targetData"), "{given}: {e}");
    }
    let (listed, read) = blob_calls(&server).await;
    assert!(listed.is_empty() && read.is_empty(), "{listed:?} {read:?}");
}

// `model:churn:3`: the model's job, its only data input, downloaded from the datastore; `baselineInput` picks
// among several; errors list what there is.
#[tokio::test]
async fn model_baselines_are_the_training_job_input() {
    let server = MockServer::start().await;
    workspace(&server, "AzureBlob", json!({"blue": 100})).await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/models/churn/versions/3")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "3", "properties": {"jobName": "train-7", "modelUri": "azureml://jobs/train-7/outputs/model"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/models/churn/versions/4")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "4", "properties": {"jobName": "train-8"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/jobs/train-7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "train-7", "properties": {"jobType": "Command", "inputs": {
                "training_data": {"jobInputType": "uri_file",
                    "uri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/h1/train.csv"},
                "epochs": {"jobInputType": "literal", "value": "10"}}}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/jobs/train-8")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "train-8", "properties": {"jobType": "Command", "inputs": {
                "train": {"jobInputType": "uri_file",
                    "uri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/h1/train.csv"},
                "test": {"jobInputType": "mltable", "uri": "azureml:test-table:2"}}}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/acct/data/LocalUpload/h1/train.csv"))
        .respond_with(ResponseTemplate::new(200).set_body_string("num,cat\n1,a\n2,b\n"))
        .mount(&server)
        .await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let got = resolve("model:churn:3", "baselineData", Some(&b), &dir, &options())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, dir.join("baselineData").join("train.csv"));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "num,cat\n1,a\n2,b\n");

    let e = resolve("model:churn:4", "baselineData", Some(&b), &dir, &options())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("several data inputs")
            && e.contains("train (uri_file)")
            && e.contains("test (mltable)")
            && e.contains("baselineInput"),
        "{e}"
    );
    let pick = LiveOptions {
        baseline_input: Some("train".into()),
        ..options()
    };
    let dir2 = support::temp_dir();
    let got = resolve("model:churn:4", "baselineData", Some(&b), &dir2, &pick)
        .await
        .unwrap()
        .unwrap();
    assert!(got.ends_with("train.csv"), "{}", got.display());
    let missing = LiveOptions {
        baseline_input: Some("validation".into()),
        ..options()
    };
    let e = resolve("model:churn:4", "baselineData", Some(&b), &dir2, &missing)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no input 'validation'"), "{e}");
    // A model that does not exist.
    let e = resolve("model:churn:9", "baselineData", Some(&b), &dir2, &options())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("model churn:9 does not exist"), "{e}");
}

fn gate_config(
    target: &str,
    now: i64,
    mode: amlops_gate::GateMode,
    baseline: &Path,
) -> amlops_gate::GateConfig {
    amlops_gate::GateConfig {
        rules: Vec::new(),
        candidate: None,
        champion: None,
        require_champion: false,
        drift: Some(amlops_gate::gate::DriftInputs {
            baseline: baseline.display().to_string(),
            target: target.to_string(),
            columns: None,
            categorical: Some(vec!["cat".into()]),
            thresholds: Default::default(),
            live: LiveOptions {
                now: Some(now),
                ..options()
            },
        }),
        mode,
    }
}

// The whole gate on live data: the rows of the window's collector files are compared with the baseline; an empty
// window fails in fail mode and is a warning (no drift result) in warn mode.
#[tokio::test]
async fn the_gate_compares_the_window_and_warns_on_an_empty_one() {
    use amlops_gate::GateMode;
    let server = MockServer::start().await;
    workspace(&server, "AzureBlob", json!({"blue": 100})).await;
    collected(&server).await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let baseline = support::write_csv(&dir.join("baseline.csv"), 100, 0.0, false);
    let resolve = |p: &str| std::path::PathBuf::from(p);

    let config = gate_config("endpoint:churn/blue", NOW, GateMode::Fail, &baseline);
    let report = amlops_gate::gate::evaluate(&config, Some(&b), &dir.join("w1"), &resolve)
        .await
        .unwrap();
    let drift = report.drift.as_ref().unwrap();
    assert_eq!(drift.report.rows_baseline, 100);
    // a.jsonl, b.jsonl and c.jsonl: one row each; the other five files are outside the window or elsewhere.
    assert_eq!(drift.report.rows_target, 3);
    assert!(report.warnings.is_empty());

    let late = NOW + 30 * 86_400;
    let config = gate_config("endpoint:churn/blue", late, GateMode::Fail, &baseline);
    let e = amlops_gate::gate::evaluate(&config, Some(&b), &dir.join("w2"), &resolve)
        .await
        .unwrap_err();
    assert!(matches!(e, GateError::NoLiveData(_)), "{e}");

    let config = gate_config("endpoint:churn/blue", late, GateMode::Warn, &baseline);
    let report = amlops_gate::gate::evaluate(&config, Some(&b), &dir.join("w3"), &resolve)
        .await
        .unwrap();
    assert!(report.drift.is_none());
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("no collected data in the 1d window"),
        "{:?}",
        report.warnings
    );
}
