//! The demo's canary stage: after the main pipeline, the registered model rolls out again as a second deployment
//! (`churn-canary`) beside the one it deployed, with AzureMLDeploy@1's canary analysis on the local workspace's
//! metrics while sample traffic flows through the endpoint's scoring URI.
//!
//! - `--variant healthy` (default): the canary answers as fast as the baseline and reaches 100%.
//! - `--variant slow-canary`: the canary's scoring script sleeps [`SLOW_SECONDS`] a call; the analysis rule on
//!   `latency_p95` fails at the 50% step and the rollout rolls back to the previous split (what the demo expects).
//!
//! The step lasts [`STEP_WAIT_SECONDS`]: the task's analysis reads the metrics once, at the end of the wait.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use amlops_agent::{CancellationToken, NetworkSettings};
use amlops_azureml::credential::StaticToken;
use amlops_azureml::{AzureMlClient, ClientConfig, Credential};
use serde_json::Value;

use crate::pipeline::{RunSettings, StepReport, parse_pipeline_text, run_pipeline};

/// Which canary the demo rolls out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Variant {
    /// A canary as fast as the baseline: it reaches 100%.
    #[default]
    Healthy,
    /// A deliberately slow canary: the analysis rolls it back.
    SlowCanary,
}

/// How long the canary step lasts.
pub const STEP_WAIT_SECONDS: u64 = 20;

/// How long the slow canary sleeps in each call.
pub const SLOW_SECONDS: f64 = 0.3;

/// The canary rollout, run with the variables `endpointName`, `modelId` and `scoringScript`.
pub const CANARY_PIPELINE: &str = r#"# The demo's canary stage (amlops demo): a second deployment of the registered model, analysed on the endpoint's
# metrics while traffic flows.
steps:
  - task: AzureMLDeploy@1
    name: canary
    displayName: Canary rollout with analysis
    inputs:
      azureSubscription: ml-workspace
      resourceGroup: rg-ml
      workspace: ws-churn
      endpointName: $(endpointName)
      deploymentName: churn-canary
      model: $(modelId)
      codePath: score
      scoringScript: $(scoringScript)
      environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest
      strategy: canary
      trafficSteps: 50,100
      stepWaitSeconds: 20
      smokeTestRequest: deploy/smoke-request.json
      analysis: |
        canary.error_rate <= 0.01
        canary.latency_p95 <= baseline.latency_p95 * 2 + 100
      analysisMinRequests: 20
"#;

/// The slow canary's scoring script: the sample's `score.py`, slowed down.
pub const SLOW_SCORE: &str = r#""""The sample's score.py, deliberately slow (amlops demo --variant slow-canary)."""
import importlib.util
import os
import time

_spec = importlib.util.spec_from_file_location(
    "churn_score", os.path.join(os.path.dirname(os.path.abspath(__file__)), "score.py")
)
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)


def init():
    _base.init()


def run(raw_data):
    time.sleep(SLOW_SECONDS)
    return _base.run(raw_data)
"#;

fn client(workspace: &amlops_local::LocalWorkspace) -> Result<AzureMlClient, String> {
    let config = workspace.config();
    let http = amlops_azureml::build_client(&NetworkSettings::default()).map_err(|e| e.to_string())?;
    let secrets: amlops_azureml::SecretSink = Arc::new(|_: &str| {});
    let credential = Credential::new(Arc::new(StaticToken::new(workspace.token())), secrets.clone());
    AzureMlClient::new(
        http,
        ClientConfig::new(
            workspace.base_url(),
            &config.subscription_id,
            &config.resource_group,
            &config.workspace,
        ),
        Some(Arc::new(credential)),
        secrets,
        CancellationToken::new(),
    )
    .map_err(|e| e.to_string())
}

/// Score `body` through the endpoint (routed by its traffic split) until `stop` fires; returns the calls made.
async fn send_traffic(
    client: AzureMlClient,
    uri: String,
    key: String,
    body: Value,
    stop: CancellationToken,
    calls: Arc<AtomicUsize>,
) {
    while !stop.is_cancelled() {
        if client.invoke_endpoint(&uri, &key, None, &body).await.is_ok() {
            calls.fetch_add(1, Ordering::Relaxed);
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
    }
}

/// Run the canary stage after the main pipeline's `earlier` steps (in `root`, the sample project).
pub async fn run_stage(
    workspace: &amlops_local::LocalWorkspace,
    settings: &RunSettings,
    root: &Path,
    earlier: &[StepReport],
    variant: Variant,
) -> Result<Vec<StepReport>, String> {
    let output = |name: &str| crate::pipeline::latest_output(earlier, name);
    let endpoint = output("endpointName")?;
    let model = output("modelId")?;
    let script = match variant {
        Variant::Healthy => "score.py",
        Variant::SlowCanary => {
            let text = SLOW_SCORE.replace("SLOW_SECONDS", &SLOW_SECONDS.to_string());
            std::fs::write(root.join("score").join("slow_score.py"), text)
                .map_err(|e| format!("cannot write the slow scoring script: {e}"))?;
            "slow_score.py"
        }
    };
    let body: Value = std::fs::read_to_string(root.join("deploy").join("smoke-request.json"))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("the sample's smoke request: {e}"))?;
    let client = client(workspace)?;
    let ep = client
        .get_online_endpoint(&endpoint)
        .await
        .map_err(|e| format!("reading the endpoint '{endpoint}': {e}"))?;
    let uri = ep
        .properties
        .scoring_uri
        .ok_or_else(|| format!("the endpoint '{endpoint}' has no scoring URI"))?;
    let key = client
        .list_endpoint_keys(&endpoint)
        .await
        .map_err(|e| format!("reading the keys of '{endpoint}': {e}"))?
        .primary_key
        .ok_or_else(|| format!("the endpoint '{endpoint}' has no key"))?;
    println!(
        "\n── canary ({}): 'churn-canary' rolls out on '{endpoint}' at 50% then 100%, analysed over {STEP_WAIT_SECONDS} s \
         of sample traffic",
        match variant {
            Variant::Healthy => "healthy",
            Variant::SlowCanary => "deliberately slow, expected to roll back",
        }
    );
    let stop = CancellationToken::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let traffic = tokio::spawn(send_traffic(client, uri, key, body, stop.clone(), calls.clone()));
    let path = root.join("canary-pipeline.yml");
    let mut pipeline = parse_pipeline_text(CANARY_PIPELINE, &path).map_err(|e| e.to_string())?;
    pipeline.variables.insert("endpointName".into(), endpoint);
    pipeline.variables.insert("modelId".into(), model);
    pipeline.variables.insert("scoringScript".into(), script.into());
    let result = run_pipeline(&pipeline, settings).await.map_err(|e| e.to_string());
    stop.cancel();
    let _ = traffic.await;
    println!(
        "   {} scoring calls sent during the rollout",
        calls.load(Ordering::Relaxed)
    );
    let mut reports = result?;
    if variant == Variant::SlowCanary {
        // The demo expects this rollout to be rolled back by the analysis.
        for r in &mut reports {
            let rolled_back = r.outputs.get("analysisPassed").map(String::as_str) == Some("false");
            r.title = format!("{} (slow canary: expected to roll back)", r.title);
            r.result = if r.result == "Failed" && rolled_back {
                "Succeeded".into()
            } else {
                format!("Failed (expected a rollback, got {})", r.result)
            };
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canary_pipeline_parses_with_analysis() {
        let p = parse_pipeline_text(CANARY_PIPELINE, Path::new("canary-pipeline.yml")).unwrap();
        let text = format!("{p:?}");
        assert!(
            text.contains("canary.latency_p95 <= baseline.latency_p95 * 2 + 100"),
            "{text}"
        );
        assert!(text.contains("AzureMLDeploy"), "{text}");
    }

    #[test]
    fn the_slow_script_sleeps() {
        let text = SLOW_SCORE.replace("SLOW_SECONDS", &SLOW_SECONDS.to_string());
        assert!(text.contains("time.sleep(0.3)"), "{text}");
    }
}
