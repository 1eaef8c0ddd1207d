//! The local workspace keeps its state across a restart: jobs, models, endpoints and their traffic.

use crate::support::{get, run, score, workspace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("churn");
    crate::support::write_files(&root, amlops::demo::SAMPLE_PROJECT);
    let state = dir.path().join("state");
    let ws = workspace(&state).await;
    let text = std::fs::read_to_string(root.join("azure-pipelines.yml")).unwrap();
    let reports = run(&ws, &root, &text).await;
    let job = reports[0].outputs["jobName"].clone();
    ws.shutdown().await.unwrap();

    let ws = workspace(&state).await;
    // The deployment's scoring process starts again in the background; the endpoint answers once it is ready.
    let deployment = get(&ws, "onlineEndpoints/churn/deployments/churn-v1")
        .await
        .unwrap();
    assert_eq!(deployment["properties"]["provisioningState"], "Updating");
    ws.ready().await;
    let job_json = get(&ws, &format!("jobs/{job}"))
        .await
        .expect("the job is still there");
    assert_eq!(job_json["properties"]["status"], "Completed");
    let model = get(&ws, "models/churn/versions/1")
        .await
        .expect("the model is still registered");
    assert_eq!(
        model["properties"]["properties"]["amlops.sourceJob"],
        job.as_str()
    );
    let endpoint = get(&ws, "onlineEndpoints/churn")
        .await
        .expect("the endpoint is still there");
    assert_eq!(
        endpoint["properties"]["traffic"],
        serde_json::json!({"churn-v1": 100})
    );
    let request = std::fs::read_to_string(root.join("deploy/smoke-request.json")).unwrap();
    let (status, body) = score(&ws, "churn", &request).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("churn_probability"), "{body}");
    ws.shutdown().await.unwrap();
}
