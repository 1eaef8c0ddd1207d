//! The amlops-gate binary run as the agent would run it: local data drift (no Azure needed), bad data, rule errors,
//! and an end-to-end champion/challenger gate against a wiremock Azure ML.

use crate::support;

use amlops_testkit::{AgentRun, AzureRmSpec, RunResult, TaskResult, cargo_bin};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn gate() -> AgentRun {
    AgentRun::new(cargo_bin("amlops-gate"))
}

fn drift_run(baseline: &std::path::Path, target: &std::path::Path) -> AgentRun {
    gate()
        .input("baselineData", baseline.to_string_lossy())
        .input("targetData", target.to_string_lossy())
}

#[test]
fn csv_without_drift_passes_without_any_azure_connection() {
    let dir = support::temp_dir();
    let b = support::write_csv(&dir.join("train.csv"), 500, 0.0, false);
    let t = support::write_csv(&dir.join("infer.csv"), 500, 0.0, false);
    let run = drift_run(&b, &t).input("championEndpoint", "churn-ep").run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert_eq!(run.output("gatePassed"), "true");
    assert!(
        run.stdout
            .contains("##[warning]the input 'championEndpoint' is ignored: there are no rules"),
        "{}",
        run.stdout
    );
    assert_eq!(run.output("driftedColumns"), "");
    let summary = run.summaries();
    assert!(
        summary.contains("| Column | Type | Metric | Threshold | Value | Verdict |"),
        "{summary}"
    );
    // Azure ML's defaults: normalized Wasserstein for numerical columns, Jensen-Shannon for categorical ones.
    assert!(
        summary.contains("| num | numerical | normalized_wasserstein_distance | > 0.1 | 0 | ✅ no drift |"),
        "{summary}"
    );
    assert!(
        summary.contains("| cat | categorical | jensen_shannon_distance | > 0.1 | 0 | ✅ no drift |"),
        "{summary}"
    );
}

#[test]
fn parquet_drift_fails_the_gate_and_names_the_columns() {
    let dir = support::temp_dir();
    let b = support::write_parquet(&dir.join("train.parquet"), 500, 0.0, false);
    let t = support::write_parquet(&dir.join("infer.parquet"), 500, 2.0, true);
    let run = drift_run(&b, &t).run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    assert_eq!(run.output("gatePassed"), "false");
    assert_eq!(run.output("driftedColumns"), "num,cat");
    let errors = run.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("column 'num' drifted: normalized_wasserstein_distance = ")),
        "{errors:?}"
    );
    assert!(
        errors.last().unwrap().contains("2 of 2 columns drifted"),
        "{errors:?}"
    );
    // The JSON report carries the drift crate's report.
    let report = artifact_json(&run);
    assert_eq!(report["driftedColumns"], json!(["num", "cat"]));
    assert_eq!(report["drift"]["report"]["columns"]["num"]["type"], "numerical");
    assert_eq!(
        report["drift"]["report"]["columns"]["num"]["metrics"]["normalized_wasserstein_distance"]["drift"],
        true
    );
}

#[test]
fn warn_mode_and_thresholds() {
    let dir = support::temp_dir();
    let b = support::write_csv(&dir.join("b.csv"), 400, 0.0, false);
    let t = support::write_csv(&dir.join("t.csv"), 400, 2.0, false);
    // Raising the numerical threshold for num lets it pass; the stricter KS p-value check on it still drifts.
    let run = drift_run(&b, &t)
        .input(
            "driftThresholds",
            "num:normalized_wasserstein_distance=5\nks=0.05",
        )
        .input("mode", "warn")
        .run();
    assert_eq!(
        run.agent_result(),
        TaskResult::SucceededWithIssues,
        "{}",
        run.stdout
    );
    assert_eq!(run.output("driftedColumns"), "num");
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    let warnings = run.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("two_sample_kolmogorov_smirnov_test")),
        "{warnings:?}"
    );
    let summary = run.summaries();
    assert!(
        summary.contains("| num | numerical | normalized_wasserstein_distance | > 5 |"),
        "{summary}"
    );
    assert!(
        summary.contains("| num | numerical | two_sample_kolmogorov_smirnov_test | p < 0.05 |"),
        "{summary}"
    );

    let bad = drift_run(&b, &t)
        .input("driftThresholds", "wasserstein=0.2")
        .run();
    assert_eq!(bad.agent_result(), TaskResult::Failed);
    let e = &bad.errors()[0];
    assert!(
        e.contains("'driftThresholds'") && e.contains("unknown metric `wasserstein`"),
        "{e}"
    );
}

#[test]
fn bad_data_names_the_file_and_the_column() {
    let dir = support::temp_dir();
    let b = support::write_csv(&dir.join("b.csv"), 100, 0.0, false);
    let t = support::write_csv(&dir.join("t.csv"), 100, 0.0, false);

    let missing = drift_run(&b, &t).input("driftColumns", "num, age").run();
    assert_eq!(missing.agent_result(), TaskResult::Failed);
    let e = &missing.errors()[0];
    assert!(e.contains("age") && e.contains("b.csv"), "{e}");

    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "num,cat\n").unwrap();
    let run = drift_run(&b, &empty).run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    let e = &run.errors()[0];
    assert!(e.contains("empty.csv"), "{e}");

    let typed = dir.join("typed.csv");
    let mut text = std::fs::read_to_string(&t).unwrap();
    text.push_str("lots,b\n");
    std::fs::write(&typed, text).unwrap();
    // In the baseline a value of the wrong type is an error naming the file and the column.
    let run = drift_run(&typed, &t).input("categoricalColumns", "cat").run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    let e = &run.errors()[0];
    assert!(e.contains("typed.csv") && e.contains("num"), "{e}");
    // In the target it is a data-type error: counted (1 of 101 rows), then missing; a threshold on the
    // rate fails the gate naming the column.
    let run = drift_run(&b, &typed)
        .input("categoricalColumns", "cat")
        .input("driftThresholds", "type_errors=0")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    assert_eq!(run.output("driftedColumns"), "num");
    let e = run.errors().join("\n");
    assert!(
        e.contains("column 'num' drifted: data_type_error_rate = 0.009901"),
        "{e}"
    );

    let run = drift_run(&b, &dir.join("nope.parquet")).run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    let e = &run.errors()[0];
    assert!(
        e.contains("'targetData'") && e.contains("nope.parquet") && e.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn a_bad_rule_is_reported_before_anything_else() {
    let run = gate()
        .input("rules", "candidate.accuracy >= 0.9\ncandidate.auc >> 0.8")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    assert_eq!(
        run.errors(),
        [
            "invalid rule on line 2 of input 'rules': `candidate.auc >> 0.8`: at character 16: expected a number, \
          candidate.<metric>, champion.<metric> or `(`, found `>`"
        ]
    );
    // The log shows the rule with a caret under the character.
    assert!(
        run.stdout.contains("candidate.auc >> 0.8\n               ^"),
        "{}",
        run.stdout
    );
}

#[test]
fn rules_need_the_workspace_connection() {
    let dir = support::temp_dir();
    let rules = dir.join("gate-rules.txt");
    std::fs::write(&rules, "# from a file\ncandidate.accuracy >= 0.9\n").unwrap();
    let run = gate()
        .input("rulesFile", rules.to_string_lossy())
        .input("candidateJob", "j1")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    let e = &run.errors()[0];
    assert!(e.contains("'azureSubscription'") && e.contains("required"), "{e}");

    let bad = dir.join("bad-rules.txt");
    std::fs::write(&bad, "\n  candidate.accuracy >= 0,9\n").unwrap();
    let run = gate().input("rulesFile", bad.to_string_lossy()).run();
    let e = &run.errors()[0];
    assert!(
        e.starts_with(&format!("invalid rule on line 2 of {}", bad.display()))
            && e.contains("at character 26"),
        "{e}"
    );
}

fn artifact_json(run: &RunResult) -> Value {
    let path = run
        .events
        .iter()
        .find_map(|e| match e {
            amlops_testkit::AgentEvent::Artifact { name, path, .. } if name == "amlops-gate" => {
                Some(path.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no amlops-gate artifact:\n{}", run.stdout));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const WS: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/\
                  Microsoft.MachineLearningServices/workspaces/ws";

async fn azure_ml(server: &MockServer) {
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path(WS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": WS, "name": "ws",
            "properties": {"mlFlowTrackingUri": format!("{uri}/mlflow/v1.0{WS}")}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/mlflow/v2.0{WS}/api/2.0/mlflow/runs/get")))
        .and(query_param("run_id", "sunny_cat_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"run": {
            "info": {"run_id": "sunny_cat_1", "status": "FINISHED"},
            "data": {"metrics": [
                {"key": "accuracy", "value": 0.93, "step": "0", "timestamp": "1700000000000"},
                {"key": "rmse", "value": 0.39, "step": "0", "timestamp": "1700000000000"}
            ]}
        }})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/onlineEndpoints/churn-ep")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "churn-ep", "location": "westeurope",
            "properties": {"authMode": "Key", "traffic": {"blue": 90, "green": 10}, "mirrorTraffic": {"green": 50}}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/onlineEndpoints/churn-ep/deployments/blue")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "blue", "location": "westeurope",
            "properties": {"endpointComputeType": "Managed", "model": format!("{WS}/models/churn/versions/7")}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/models/churn/versions/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("{WS}/models/churn/versions/7"), "name": "7",
            "properties": {"properties": {"rmse": "0.40", "accuracy": "0.91"}, "tags": {"stage": "production"}}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/onlineEndpoints/missing-ep")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "ResourceNotFound", "message": "not found"}
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
}

fn champion_run(server: &MockServer, endpoint: &str) -> AgentRun {
    gate()
        .azure_rm("azureSubscription", AzureRmSpec::anonymous(&server.uri()))
        .input("resourceGroup", "rg")
        .input("workspace", "ws")
        .input(
            "rules",
            "candidate.accuracy >= 0.9\ncandidate.rmse <= champion.rmse * 1.02",
        )
        .input("candidateJob", "sunny_cat_1")
        .input("championEndpoint", endpoint)
        .input("notify", format!("webhook:{}/hook", server.uri()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn champion_challenger_end_to_end_against_the_rest_api() {
    let server = MockServer::start().await;
    azure_ml(&server).await;
    let task = champion_run(&server, "churn-ep");
    let run = tokio::task::spawn_blocking(move || task.run()).await.unwrap();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert_eq!(run.output("gatePassed"), "true");
    assert!(run.stdout.contains("Champion: model churn:7"), "{}", run.stdout);
    let summary = run.summaries();
    assert!(
        summary
            .contains("| `candidate.rmse <= champion.rmse * 1.02` | rmse = 0.39 | rmse = 0.4 | ✅ passed |"),
        "{summary}"
    );
    // The deployment with 90% of the live traffic is the champion; mirrored traffic does not count.
    let requests = server.received_requests().await.unwrap();
    let paths: Vec<String> = requests.iter().map(|r| r.url.path().to_string()).collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/deployments/blue")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.ends_with("/deployments/green")),
        "{paths:?}"
    );
    // gate.passed went to the webhook as a CloudEvent.
    let hooks: Vec<Value> = requests
        .iter()
        .filter(|r| r.url.path() == "/hook")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["type"], "com.amlops.gate.passed");
    assert_eq!(hooks[0]["subject"], "sunny_cat_1");

    // No endpoint yet: the champion rule passes with a notice; requireChampion turns it into a failure.
    let task = champion_run(&server, "missing-ep");
    let run = tokio::task::spawn_blocking(move || task.run()).await.unwrap();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("the endpoint 'missing-ep' does not exist yet")
    );
    let task = champion_run(&server, "missing-ep").input("requireChampion", "true");
    let run = tokio::task::spawn_blocking(move || task.run()).await.unwrap();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    assert_eq!(
        run.output("failedRules"),
        "candidate.rmse <= champion.rmse * 1.02"
    );
    let hooks: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/hook")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(hooks.last().unwrap()["type"], "com.amlops.gate.failed");
}
