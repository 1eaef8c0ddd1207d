//! The whole task (inputs, evaluation, log, outputs, summary, report) run in-process against an in-memory Azure ML.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use amlops_agent::{CancellationToken, Output, TaskContext, TaskEnv, finish};
use amlops_gate::{BackendError, EndpointTraffic, GateBackend, GateInputs, ModelVersion, execute};
use amlops_testkit::{AgentEvent, RunResult, TaskResult};
use async_trait::async_trait;

#[derive(Default)]
struct FakeAzureMl {
    jobs: BTreeMap<String, BTreeMap<String, f64>>,
    models: Vec<ModelVersion>,
    endpoints: BTreeMap<String, BTreeMap<String, u32>>,
    deployments: BTreeMap<(String, String), String>,
    data: BTreeMap<String, PathBuf>,
    calls: Mutex<Vec<String>>,
    /// Job metrics never arrive (a hung service).
    hang: bool,
}

impl FakeAzureMl {
    fn job(mut self, name: &str, metrics: &[(&str, f64)]) -> Self {
        self.jobs.insert(
            name.into(),
            metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        );
        self
    }

    fn model(mut self, name: &str, version: &str, tags: &[(&str, &str)], props: &[(&str, &str)]) -> Self {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        self.models.push(ModelVersion {
            name: name.into(),
            version: version.into(),
            id: Some(format!("{WS}/models/{name}/versions/{version}")),
            tags: map(tags),
            properties: map(props),
        });
        self
    }

    fn endpoint(mut self, name: &str, deployments: &[(&str, u32, &str)]) -> Self {
        let mut traffic = BTreeMap::new();
        for (dep, pct, model) in deployments {
            traffic.insert(dep.to_string(), *pct);
            self.deployments
                .insert((name.to_string(), dep.to_string()), model.to_string());
        }
        self.endpoints.insert(name.into(), traffic);
        self
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

const WS: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

#[async_trait]
impl GateBackend for FakeAzureMl {
    async fn job_metrics(&self, job: &str) -> Result<BTreeMap<String, f64>, BackendError> {
        self.record(format!("job_metrics {job}"));
        if self.hang {
            std::future::pending::<()>().await;
        }
        self.jobs.get(job).cloned().ok_or_else(|| {
            BackendError::new(format!("reading the metrics of job '{job}'"), "404 job not found")
        })
    }

    async fn model_version(&self, name: &str, version: &str) -> Result<Option<ModelVersion>, BackendError> {
        self.record(format!("model_version {name}:{version}"));
        Ok(self
            .models
            .iter()
            .find(|m| m.name == name && m.version == version)
            .cloned())
    }

    async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersion>, BackendError> {
        self.record(format!("model_versions {name}"));
        Ok(self.models.iter().filter(|m| m.name == name).cloned().collect())
    }

    async fn endpoint_traffic(&self, endpoint: &str) -> Result<Option<EndpointTraffic>, BackendError> {
        self.record(format!("endpoint_traffic {endpoint}"));
        Ok(self
            .endpoints
            .get(endpoint)
            .map(|t| EndpointTraffic { traffic: t.clone() }))
    }

    async fn deployment_model(
        &self,
        endpoint: &str,
        deployment: &str,
    ) -> Result<Option<String>, BackendError> {
        self.record(format!("deployment_model {endpoint}/{deployment}"));
        Ok(self
            .deployments
            .get(&(endpoint.to_string(), deployment.to_string()))
            .cloned())
    }

    async fn download_data(&self, uri: &str, dest: &Path) -> Result<PathBuf, BackendError> {
        self.record(format!("download_data {uri}"));
        let source = self
            .data
            .get(uri)
            .ok_or_else(|| BackendError::new(format!("downloading '{uri}'"), "404 data asset not found"))?;
        let target = dest.join(source.file_name().unwrap());
        std::fs::copy(source, &target).unwrap();
        Ok(target)
    }
}

/// Run the task in-process as the agent would, with `backend` standing in for Azure ML.
async fn run(inputs: &[(&str, &str)], backend: &FakeAzureMl) -> RunResult {
    run_with_token(inputs, backend, CancellationToken::new()).await
}

async fn run_with_token(
    inputs: &[(&str, &str)],
    backend: &FakeAzureMl,
    cancel: CancellationToken,
) -> RunResult {
    let temp = support::temp_dir();
    let mut env: Vec<(String, String)> = vec![
        ("AGENT_TEMPDIRECTORY".into(), temp.to_string_lossy().into_owned()),
        (
            "SYSTEM_DEFAULTWORKINGDIRECTORY".into(),
            temp.to_string_lossy().into_owned(),
        ),
        ("SYSTEM_TASKINSTANCENAME".into(), "Gate1".into()),
        ("INPUT_AZURESUBSCRIPTION".into(), "conn".into()),
        ("ENDPOINT_URL_conn".into(), "http://127.0.0.1:9/".into()),
        ("ENDPOINT_AUTH_SCHEME_conn".into(), "None".into()),
        ("INPUT_RESOURCEGROUP".into(), "rg".into()),
        ("INPUT_WORKSPACE".into(), "ws".into()),
    ];
    for (k, v) in inputs {
        env.push((amlops_agent::env::input_env_name(k), v.to_string()));
    }
    let (output, buffer) = Output::capture(false);
    let ctx = TaskContext::new(TaskEnv::from_map(env), output.clone(), cancel);
    let result = match GateInputs::read(&ctx) {
        Ok(inputs) => execute(&ctx, &inputs, Some(backend)).await,
        Err(e) => Err(e.into()),
    };
    // The exit code `finish` gives, as the binary would exit with it.
    let code = if finish(&output, result) == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    };
    RunResult::decode(Some(code), buffer.text(), String::new())
}

fn report_json(run: &RunResult) -> serde_json::Value {
    let path = run
        .events
        .iter()
        .find_map(|e| match e {
            AgentEvent::Artifact { name, path, .. } if name == "amlops-gate" => Some(path.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no report artifact in:\n{}", run.stdout));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn candidate_job() -> FakeAzureMl {
    FakeAzureMl::default().job("sunny_cat_1", &[("accuracy", 0.93), ("rmse", 0.41), ("f1", 0.88)])
}

#[tokio::test]
async fn metric_rules_on_a_job_pass() {
    let backend = candidate_job();
    let run = run(
        &[
            ("rules", "candidate.accuracy >= 0.9\ncandidate.f1 > 0.8 # floor\n"),
            ("candidateJob", "sunny_cat_1"),
        ],
        &backend,
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert_eq!(run.output("gatePassed"), "true");
    assert_eq!(run.output("failedRules"), "");
    assert_eq!(run.output("driftedColumns"), "");
    let summary = run.summaries();
    assert!(summary.contains("## Azure ML gate: ✅ passed"), "{summary}");
    assert!(
        summary.contains("| `candidate.accuracy >= 0.9` | accuracy = 0.93 | — | ✅ passed |"),
        "{summary}"
    );
    let report = report_json(&run);
    assert_eq!(report["gatePassed"], true);
    assert_eq!(report["rules"][1]["rule"], "candidate.f1 > 0.8");
    assert_eq!(report["rules"][1]["lhs"], 0.88);
    assert_eq!(report["candidate"]["job"], "sunny_cat_1");
    assert_eq!(report["run"]["step"], "Gate1");
    assert_eq!(backend.calls(), ["job_metrics sunny_cat_1"]);
}

#[tokio::test]
async fn champion_is_the_model_behind_the_highest_traffic_deployment() {
    let backend = candidate_job()
        .endpoint(
            "churn-ep",
            &[
                ("blue", 20, &format!("{WS}/models/churn/versions/3")),
                ("green", 80, "azureml:churn:4"),
            ],
        )
        .model("churn", "3", &[], &[("rmse", "0.30")])
        .model("churn", "4", &[], &[("rmse", "0.40"), ("accuracy", "0.95")]);
    let run = run(
        &[
            (
                "rules",
                "candidate.rmse <= champion.rmse * 1.02\ncandidate.accuracy >= champion.accuracy - 0.01",
            ),
            ("candidateJob", "sunny_cat_1"),
            ("championEndpoint", "churn-ep"),
        ],
        &backend,
    )
    .await;
    // 0.41 <= 0.408 fails; 0.93 >= 0.94 fails.
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    assert_eq!(
        run.output("failedRules"),
        "candidate.rmse <= champion.rmse * 1.02\ncandidate.accuracy >= champion.accuracy - 0.01"
    );
    assert_eq!(run.output("gatePassed"), "false");
    let calls = backend.calls();
    assert!(
        calls.contains(&"deployment_model churn-ep/green".to_string()),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.contains("blue")), "{calls:?}");
    let summary = run.summaries();
    assert!(summary.contains("- Champion: model churn:4"), "{summary}");
    assert!(
        summary.contains(
            "| `candidate.rmse <= champion.rmse * 1.02` | rmse = 0.41 | rmse = 0.4 | ❌ failed: 0.41 <= 0.408 is false |"
        ),
        "{summary}"
    );
    let errors = run.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("rule `candidate.rmse <= champion.rmse * 1.02` failed")),
        "{errors:?}"
    );
    assert!(
        errors.last().unwrap().contains("2 of 2 rules failed"),
        "{errors:?}"
    );
    assert_eq!(report_json(&run)["champion"]["model"]["version"], "4");
}

#[tokio::test]
async fn a_traffic_tie_picks_the_first_deployment_by_name_with_a_notice() {
    let backend = candidate_job()
        .endpoint(
            "ep",
            &[("green", 50, "azureml:churn:4"), ("blue", 50, "azureml:churn:3")],
        )
        .model("churn", "3", &[], &[("rmse", "0.5")])
        .model("churn", "4", &[], &[("rmse", "0.1")]);
    let run = run(
        &[
            ("rules", "candidate.rmse <= champion.rmse"),
            ("candidateJob", "sunny_cat_1"),
            ("championEndpoint", "ep"),
        ],
        &backend,
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("share the highest traffic (50%); using 'blue'"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn no_champion_passes_with_a_notice_unless_required() {
    let rules = "candidate.accuracy >= 0.9\ncandidate.rmse <= champion.rmse";
    let backend = candidate_job();
    let run1 = run(
        &[
            ("rules", rules),
            ("candidateJob", "sunny_cat_1"),
            ("championEndpoint", "new-ep"),
        ],
        &backend,
    )
    .await;
    assert_eq!(run1.agent_result(), TaskResult::Succeeded, "{}", run1.stdout);
    assert_eq!(run1.output("gatePassed"), "true");
    assert!(
        run1.stdout
            .contains("Notice: the endpoint 'new-ep' does not exist yet"),
        "{}",
        run1.stdout
    );
    let summary = run1.summaries();
    assert!(summary.contains("- Champion: none"), "{summary}");
    assert!(
        summary.contains("rmse = no champion | ℹ️ passed (no champion)"),
        "{summary}"
    );

    // An endpoint with no live traffic has no champion either.
    let backend = candidate_job().endpoint("ep", &[("blue", 0, "azureml:churn:1")]);
    let run2 = run(
        &[
            ("rules", rules),
            ("candidateJob", "sunny_cat_1"),
            ("championEndpoint", "ep"),
            ("requireChampion", "true"),
        ],
        &backend,
    )
    .await;
    assert_eq!(run2.agent_result(), TaskResult::Failed, "{}", run2.stdout);
    assert_eq!(run2.output("failedRules"), "candidate.rmse <= champion.rmse");
    assert!(
        run2.stdout.contains("no deployment receiving traffic"),
        "{}",
        run2.stdout
    );
    assert!(
        run2.errors()
            .iter()
            .any(|e| e.contains("'requireChampion' is true")),
        "{:?}",
        run2.errors()
    );
}

#[tokio::test]
async fn champion_by_name_and_tag_is_the_latest_tagged_version() {
    let backend = FakeAzureMl::default()
        .model("churn", "10", &[("stage", "production")], &[("auc", "0.80")])
        .model("churn", "9", &[("stage", "production")], &[("auc", "0.70")])
        .model("churn", "11", &[("stage", "staging")], &[("auc", "0.99")])
        .model("churn", "12", &[], &[("metrics.auc", "0.85")]);
    let run = run(
        &[
            ("rules", "candidate.auc > champion.auc"),
            ("candidateModel", "azureml:churn:12"),
            ("championModel", "churn"),
            ("championTag", "stage=production"),
        ],
        &backend,
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    // Version 10 beats 9 numerically (not as text).
    assert!(
        run.stdout
            .contains("champion: model churn:10, the latest version tagged stage=production")
    );
    assert_eq!(report_json(&run)["rules"][0]["rhs"], 0.8);

    let run = run_no_tag_match().await;
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("no version of model 'churn' has the tag stage=production")
    );
}

async fn run_no_tag_match() -> RunResult {
    let backend = FakeAzureMl::default().model("churn", "1", &[], &[("auc", "0.9")]);
    run(
        &[
            ("rules", "candidate.auc >= champion.auc"),
            ("candidateModel", "churn:1"),
            ("championModel", "churn"),
            ("championTag", "stage=production"),
        ],
        &backend,
    )
    .await
}

#[tokio::test]
async fn a_missing_metric_fails_naming_it_and_listing_the_others() {
    let backend = candidate_job();
    let run = run(
        &[
            ("rules", "candidate.Accuracy >= 0.9"),
            ("candidateJob", "sunny_cat_1"),
        ],
        &backend,
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Failed);
    assert_eq!(run.output("failedRules"), "candidate.Accuracy >= 0.9");
    let e = &run.errors()[0];
    assert!(
        e.contains("the candidate metric 'Accuracy' does not exist in job 'sunny_cat_1'")
            && e.contains("available metrics: accuracy, f1, rmse")
            && e.contains("did you mean 'accuracy'?"),
        "{e}"
    );
}

#[tokio::test]
async fn warn_mode_succeeds_with_issues_and_still_reports_the_failure() {
    let backend = candidate_job();
    let run = run(
        &[
            ("rules", "candidate.accuracy >= 0.95\ncandidate.f1 >= 0.8"),
            ("candidateJob", "sunny_cat_1"),
            ("mode", "warn"),
        ],
        &backend,
    )
    .await;
    assert_eq!(
        run.agent_result(),
        TaskResult::SucceededWithIssues,
        "{}",
        run.stdout
    );
    assert_eq!(run.output("gatePassed"), "false");
    assert_eq!(run.output("failedRules"), "candidate.accuracy >= 0.95");
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    assert_eq!(run.warnings().len(), 1, "{:?}", run.warnings());
    assert!(run.summaries().contains("⚠️ failed (warn mode"));
    assert_eq!(report_json(&run)["result"], "warned");
    assert!(
        run.stdout
            .contains("Event com.amlops.gate.failed: Gate failed: sunny_cat_1 (warned)"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn configuration_mistakes_are_named() {
    let backend = candidate_job();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("rules", "candidate.accuracy >= 0.9")], "set 'candidateJob'"),
        (
            &[
                ("rules", "candidate.accuracy >= champion.accuracy"),
                ("candidateJob", "sunny_cat_1"),
            ],
            "set 'championEndpoint' or 'championModel'",
        ),
        (
            &[
                ("rules", "candidate.a > 1"),
                ("candidateJob", "j"),
                ("candidateModel", "m:1"),
            ],
            "not both",
        ),
        (
            &[
                ("rules", "candidate.a > 1"),
                ("candidateModel", "azureml:m@latest"),
            ],
            "input 'candidateModel'",
        ),
        (
            &[
                ("rules", "candidate.a >= champion.a"),
                ("candidateJob", "sunny_cat_1"),
                ("championModel", "churn"),
            ],
            "set 'championTag'",
        ),
        (&[("mode", "strict"), ("rules", "candidate.a > 1")], "'mode'"),
        (&[], "nothing to gate"),
        (&[("baselineData", "a.csv")], "'targetData' is not"),
        (
            &[("rules", "candidate.a > 1"), ("candidateJob", "missing_job")],
            "reading the metrics of job 'missing_job': 404 job not found",
        ),
        (
            &[("rules", "candidate.a > 1"), ("candidateModel", "churn:7")],
            "the candidate model churn:7 (input 'candidateModel') does not exist",
        ),
    ];
    for (inputs, needle) in cases {
        let run = run(inputs, &backend).await;
        assert_eq!(run.agent_result(), TaskResult::Failed, "{inputs:?}");
        let e = run.errors().join("\n");
        assert!(e.contains(needle), "{inputs:?}: {e}");
    }
}

#[tokio::test]
async fn a_rule_that_does_not_parse_points_at_the_rule_and_character() {
    let run = run(
        &[
            ("rules", "candidate.accuracy >= 0.9\ncandidate.rmse =< 0.5"),
            ("candidateJob", "j"),
        ],
        &FakeAzureMl::default(),
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Failed);
    assert_eq!(
        run.errors(),
        [
            "invalid rule on line 2 of input 'rules': `candidate.rmse =< 0.5`: at character 16: `=<` is not an \
          operator; use `<=`"
        ]
    );
    assert!(
        run.stdout.contains("candidate.rmse =< 0.5\n               ^"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn azureml_data_is_downloaded_through_the_backend() {
    let dir = support::temp_dir();
    let mut backend = FakeAzureMl::default();
    backend.data.insert(
        "azureml:train:3".into(),
        support::write_parquet(&dir.join("train.parquet"), 400, 0.0, false),
    );
    backend.data.insert(
        "azureml://datastores/workspaceblobstore/paths/inference/day1.csv".into(),
        support::write_csv(&dir.join("day1.csv"), 400, 3.0, false),
    );
    let run = run(
        &[
            ("baselineData", "azureml:train:3"),
            (
                "targetData",
                "azureml://datastores/workspaceblobstore/paths/inference/day1.csv",
            ),
        ],
        &backend,
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    assert_eq!(run.output("driftedColumns"), "num");
    assert_eq!(
        backend.calls(),
        [
            "download_data azureml:train:3",
            "download_data azureml://datastores/workspaceblobstore/paths/inference/day1.csv"
        ]
    );
}

#[tokio::test]
async fn rules_and_drift_together() {
    let dir = support::temp_dir();
    let baseline = support::write_csv(&dir.join("b.csv"), 300, 0.0, false);
    let target = support::write_csv(&dir.join("t.csv"), 300, 0.0, true);
    let backend = candidate_job();
    let run = run(
        &[
            ("rules", "candidate.accuracy >= 0.9"),
            ("candidateJob", "sunny_cat_1"),
            ("baselineData", baseline.to_str().unwrap()),
            ("targetData", target.to_str().unwrap()),
        ],
        &backend,
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    assert_eq!(run.output("failedRules"), "");
    assert_eq!(run.output("driftedColumns"), "cat");
    let e = run.errors().join("\n");
    assert!(
        e.contains("column 'cat' drifted: jensen_shannon_distance = "),
        "{e}"
    );
    assert!(e.contains("0 of 1 rules failed, 1 of 2 columns drifted"), "{e}");
    // drift.detected, then gate.failed, both in the audit trail uploaded as the amlops-audit artifact.
    let audit = run
        .events
        .iter()
        .find_map(|e| match e {
            AgentEvent::Artifact { name, path, .. } if name == "amlops-audit" => Some(path.clone()),
            _ => None,
        })
        .expect("audit artifact");
    let types: Vec<String> = std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(types, ["com.amlops.drift.detected", "com.amlops.gate.failed"]);
}

#[tokio::test]
async fn cancellation_stops_a_hung_evaluation() {
    let backend = FakeAzureMl {
        hang: true,
        ..candidate_job()
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        trigger.cancel();
    });
    let run = run_with_token(
        &[
            ("rules", "candidate.accuracy >= 0.9"),
            ("candidateJob", "sunny_cat_1"),
        ],
        &backend,
        cancel,
    )
    .await;
    assert_eq!(run.agent_result(), TaskResult::Canceled, "{}", run.stdout);
    assert_eq!(backend.calls(), ["job_metrics sunny_cat_1"]);
    assert!(run.outputs().is_empty());
}
