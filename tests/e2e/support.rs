//! Shared helpers: a local workspace, pipelines run with the real binaries, REST calls to check the results.

use std::collections::BTreeMap;
use std::path::Path;

use amlops::pipeline::{RunSettings, StepReport, parse_pipeline_text, run_pipeline};
use amlops_local::{LocalConfig, LocalWorkspace, Timing};
use serde_json::Value;

pub const API: &str = "api-version=2026-07-01";

/// Start a local workspace on `state` with no artificial delays.
pub async fn workspace(state: &Path) -> LocalWorkspace {
    let mut config = LocalConfig::new(state);
    config.timing = Timing::immediate();
    LocalWorkspace::start(config)
        .await
        .expect("the local workspace starts")
}

/// Write the files of a project.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Run a pipeline file's text with the real task binaries against `ws`, from `root`.
pub async fn run(ws: &LocalWorkspace, root: &Path, pipeline: &str) -> Vec<StepReport> {
    run_via(ws, ws.base_url(), root, pipeline).await
}

/// [`run`], with the tasks sent to `arm_url` (a proxy in front of `ws`) instead of `ws` itself.
pub async fn run_via(ws: &LocalWorkspace, arm_url: &str, root: &Path, pipeline: &str) -> Vec<StepReport> {
    let parsed = parse_pipeline_text(pipeline, &root.join("azure-pipelines.yml")).unwrap();
    let cfg = ws.config().clone();
    let host = amlops_agent::TaskEnv::from_process();
    let mut extra = BTreeMap::new();
    // The tasks' documented test knob: poll every 50 ms instead of backing off from seconds.
    extra.insert("AMLOPS_POLL_INTERVAL_MS".to_string(), "50".to_string());
    extra.insert(amlops_agent::knobs::TEST_HARNESS_VAR.to_string(), "1".to_string());
    let settings = RunSettings {
        bin_dir: amlops_testkit::cargo_bin("amlops-train")
            .parent()
            .unwrap()
            .to_path_buf(),
        root: root.to_path_buf(),
        arm_url: arm_url.to_string(),
        subscription_id: cfg.subscription_id.clone(),
        workspace_override: Some((cfg.resource_group.clone(), cfg.workspace.clone())),
        extra_env: extra,
        base_env: ["PATH", "HOME", "LANG"]
            .iter()
            .filter_map(|k| host.vars_exact(k).map(|v| (k.to_string(), v.to_string())))
            .collect(),
        access_token: Some(ws.token().to_string()),
    };
    run_pipeline(&parsed, &settings).await.unwrap()
}

/// GET a workspace resource (`path` relative to the workspace URL); `None` for 404.
pub async fn get(ws: &LocalWorkspace, path: &str) -> Option<Value> {
    let url = format!("{}/{path}?{API}", ws.workspace_url());
    let response = reqwest::Client::new()
        .get(&url)
        .bearer_auth(ws.token())
        .send()
        .await
        .unwrap();
    if response.status() == 404 {
        return None;
    }
    assert!(response.status().is_success(), "GET {url}: {}", response.status());
    Some(response.json().await.unwrap())
}

/// Score through an endpoint with its primary key; returns (status, body).
pub async fn score(ws: &LocalWorkspace, endpoint: &str, body: &str) -> (u16, String) {
    let client = reqwest::Client::new();
    let keys: Value = client
        .post(format!(
            "{}/onlineEndpoints/{endpoint}/listKeys?{API}",
            ws.workspace_url()
        ))
        .bearer_auth(ws.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uri = get(ws, &format!("onlineEndpoints/{endpoint}")).await.unwrap()["properties"]["scoringUri"]
        .as_str()
        .unwrap()
        .to_string();
    let response = client
        .post(uri)
        .bearer_auth(keys["primaryKey"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// (title, result) of every step.
pub fn results(reports: &[StepReport]) -> Vec<(String, String)> {
    reports
        .iter()
        .map(|r| (r.title.clone(), r.result.clone()))
        .collect()
}
