//! What users see when things go wrong: a failing training script, a deployment whose smoke test fails.

use crate::support::{get, results, run, score, workspace, write_files};

const CONN: &str =
    "    inputs:\n      azureSubscription: local\n      resourceGroup: local\n      workspace: local\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_training_script_fails_the_step_with_the_jobs_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_files(
        &root,
        &[
            (
                "src/train.py",
                "import sys\nprint('loading data', flush=True)\nsys.exit('no rows in the training data')\n",
            ),
            (
                "job.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ntype: command\n\
                 command: python train.py\ncode: ./src\nenvironment:\n  image: python:3.11-slim\n",
            ),
        ],
    );
    let ws = workspace(&dir.path().join("state")).await;
    let pipeline = format!(
        "steps:\n  - task: AzureMLTrain@1\n    name: train\n{CONN}      jobFile: job.yml\n      jobName: broken-1\n"
    );
    let reports = run(&ws, &root, &pipeline).await;
    assert_eq!(results(&reports), [("train".to_string(), "Failed".to_string())]);
    let train = &reports[0];
    assert_eq!(train.outputs["jobStatus"], "Failed");
    assert_eq!(train.errors.len(), 1, "{:?}", train.errors);
    assert!(
        train.errors[0].contains("broken-1") && train.errors[0].contains("no rows in the training data"),
        "{:?}",
        train.errors
    );
    let job = get(&ws, "jobs/broken-1").await.unwrap();
    assert_eq!(job["properties"]["status"], "Failed");
    ws.shutdown().await.unwrap();
}

const GOOD_SCORE: &str = "import json\n\ndef init():\n    pass\n\ndef run(raw):\n    return {\"ok\": True, \"n\": len(json.loads(raw)[\"data\"])}\n";
const BAD_SCORE: &str = "def init():\n    pass\n\ndef run(raw):\n    raise ValueError('the new model cannot read this request')\n";

fn deploy_step(name: &str, code: &str, extra: &str) -> String {
    format!(
        "  - task: AzureMLDeploy@1\n    name: {name}\n{CONN}      endpointName: churn\n      model: $(reg.modelId)\n      \
         deploymentName: {name}\n      codePath: {code}\n      scoringScript: score.py\n      \
         environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest\n      \
         smokeTestRequest: request.json\n      smokeTestExpect: /ok=true\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_smoke_test_rolls_back_to_the_previous_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_files(
        &root,
        &[
            ("model/model.json", "{\"weights\": [1, 2]}\n"),
            ("good/score.py", GOOD_SCORE),
            ("bad/score.py", BAD_SCORE),
            ("request.json", "{\"data\": [[1, 2]]}\n"),
        ],
    );
    let ws = workspace(&dir.path().join("state")).await;
    let pipeline = format!(
        "steps:\n  - task: AzureMLRegister@1\n    name: reg\n{CONN}      modelName: churn\n      modelPath: model\n{}{}",
        deploy_step("blue", "good", ""),
        deploy_step(
            "green",
            "bad",
            "      strategy: canary\n      trafficSteps: 50,100\n      stepWaitSeconds: 0\n"
        ),
    );
    let reports = run(&ws, &root, &pipeline).await;
    assert_eq!(
        results(&reports),
        [
            ("reg".to_string(), "Succeeded".to_string()),
            ("blue".into(), "Succeeded".into()),
            ("green".into(), "Failed".into())
        ]
    );
    let green = &reports[2];
    assert!(
        green.errors.iter().any(|e| e.contains("smoke test")),
        "{:?}",
        green.errors
    );
    // The split from before the rollout is back, the failed deployment is gone, and blue still answers.
    let endpoint = get(&ws, "onlineEndpoints/churn").await.unwrap();
    assert_eq!(
        endpoint["properties"]["traffic"],
        serde_json::json!({"blue": 100})
    );
    assert!(
        get(&ws, "onlineEndpoints/churn/deployments/green")
            .await
            .is_none()
    );
    let (status, body) = score(&ws, "churn", "{\"data\": [[1, 2], [3, 4]]}").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"n\": 2") || body.contains("\"n\":2"), "{body}");
    ws.shutdown().await.unwrap();
}
