//! Paging, run history, log offsets, MLflow, discovery.

use crate::common::*;
use amlops_azureml::models::*;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn lists_follow_next_link() {
    let server = MockServer::start().await;
    let next = format!(
        "{}{}/jobs?api-version=2026-07-01&$skipToken=abc",
        server.uri(),
        ws_path()
    );
    Mock::given(method("GET"))
        .and(path(format!("{}/jobs", ws_path())))
        .and(query_param("$skipToken", "abc"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"name": "j3", "properties": {"status": "Completed"}}]})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/jobs", ws_path())))
        .and(query_param("jobType", "Command"))
        .and(query_param("tag", "team"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"name": "j1", "properties": {"status": "Running"}}, {"name": "j2", "properties": {"status": "Weird"}}],
            "nextLink": next
        })))
        .mount(&server)
        .await;
    let jobs = client(&server.uri())
        .list_jobs(Some("Command"), Some("team"))
        .await
        .unwrap();
    let names: Vec<_> = jobs.iter().map(|j| j.name.clone().unwrap()).collect();
    assert_eq!(names, ["j1", "j2", "j3"]);
    assert_eq!(
        jobs[1].properties.status,
        Some(JobStatus::Unknown("Weird".into()))
    );
}

#[tokio::test]
async fn next_link_to_another_host_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/models/m/versions", ws_path())))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [], "nextLink": "https://other.example/x"})),
        )
        .mount(&server)
        .await;
    let err = client(&server.uri()).list_model_versions("m").await.unwrap_err();
    assert!(err.to_string().contains("another host"));
}

#[tokio::test]
async fn run_details_children_and_logs_with_offsets() {
    let server = MockServer::start().await;
    let scope = ws_path();
    let log_url = format!("{}/logs/user_logs/std_log.txt?sv=1&sig=SECRETSIG", server.uri());
    Mock::given(method("GET"))
        .and(path(format!("/history/v1.0{scope}/runs/job1/details")))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "runId": "job1", "status": "Running", "logFiles": {"user_logs/std_log.txt": log_url}, "other": 1
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/history/v1.0{scope}/runs/job1/children")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"runId": "step1", "status": "Completed"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/logs/user_logs/std_log.txt"))
        .and(header("range", "bytes=6-"))
        .respond_with(ResponseTemplate::new(206).set_body_string("world\n"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/logs/user_logs/std_log.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello\nworld\n"))
        .mount(&server)
        .await;
    let (sink, seen) = recording_sink();
    let c = client_with(
        config(&server.uri()),
        Some(CountingSource::new(std::time::Duration::from_secs(3600))),
        sink,
    );
    c.set_data_plane_base(url::Url::parse(&server.uri()).unwrap());
    let d = c.get_run_details("job1").await.unwrap();
    assert_eq!(d.status, Some(JobStatus::Running));
    assert!(
        seen.lock().unwrap().iter().any(|s| s == "SECRETSIG"),
        "SAS signature registered"
    );
    assert!(!format!("{d:?}").contains("SECRETSIG"));
    let url = &d.log_files["user_logs/std_log.txt"];
    let first = c.fetch_log(url, 0).await.unwrap();
    assert_eq!(&first[..], b"hello\nworld\n");
    let rest = c.fetch_log(url, 6).await.unwrap();
    assert_eq!(&rest[..], b"world\n");
    // SAS URLs take no bearer.
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .filter(|r| r.url.path().starts_with("/logs"))
            .all(|r| r.headers.get("authorization").is_none())
    );
    let children = c.get_run_children("job1").await.unwrap();
    assert_eq!(children[0].run_id.as_deref(), Some("step1"));
}

#[tokio::test]
async fn log_offset_sliced_when_range_is_ignored_and_416_is_empty() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/a.txt"))
        .and(header("range", "bytes=12-"))
        .respond_with(ResponseTemplate::new(416))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/a.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello\nworld\n"))
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let url = format!("{}/a.txt", server.uri());
    assert_eq!(&c.fetch_log(&url, 3).await.unwrap()[..], b"lo\nworld\n");
    assert!(c.fetch_log(&url, 12).await.unwrap().is_empty());
}

#[tokio::test]
async fn discovery_and_mlflow() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let host = uri.trim_start_matches("http://");
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "properties": {"discoveryUrl": format!("{uri}/discovery"),
                           "mlFlowTrackingUri": format!("http://{host}/mlflow/v1.0{}", ws_path())}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/discovery"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"api": format!("{uri}/api-base")})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/mlflow/v2.0{}/api/2.0/mlflow/runs/get", ws_path())))
        .and(query_param("run_id", "job1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"run": {
            "info": {"run_id": "job1", "status": "FINISHED"},
            "data": {"metrics": [{"key": "accuracy", "value": 0.93, "step": "4", "timestamp": "1700000000000"}],
                     "params": [{"key": "lr", "value": "0.1"}]}
        }})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/mlflow/v2.0{}/api/2.0/mlflow/metrics/get-history",
            ws_path()
        )))
        .and(query_param("metric_key", "loss"))
        .and(query_param("page_token", "p2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"metrics": [{"key": "loss", "value": 0.2, "step": 2}]})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/mlflow/v2.0{}/api/2.0/mlflow/metrics/get-history",
            ws_path()
        )))
        .and(query_param("metric_key", "loss"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "metrics": [{"key": "loss", "value": 0.5, "step": 1}], "next_page_token": "p2"})))
        .mount(&server)
        .await;
    let c = client(&uri);
    assert_eq!(
        c.data_plane_base().await.unwrap().as_str(),
        format!("{uri}/api-base")
    );
    let run = c.mlflow_get_run("job1").await.unwrap();
    assert_eq!(run.metric("accuracy"), Some(0.93));
    assert_eq!(run.info.status.as_deref(), Some("FINISHED"));
    let h = c.mlflow_metric_history("job1", "loss").await.unwrap();
    assert_eq!(h.iter().map(|m| m.value).collect::<Vec<_>>(), [0.5, 0.2]);
}

#[test]
fn mlflow_base_mapping() {
    let u = amlops_azureml::client::mlflow_base_from_tracking_uri(
        "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w",
    )
    .unwrap();
    assert_eq!(
        u.as_str(),
        "https://westeurope.api.azureml.ms/mlflow/v2.0/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_for_job_reports_status_changes_until_terminal() {
    let server = MockServer::start().await;
    let job_path = format!("{}/jobs/j1", ws_path());
    for (i, status) in ["Queued", "Running", "Running", "Finalizing"].iter().enumerate() {
        Mock::given(method("GET"))
            .and(path(job_path.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"properties": {"status": status}})))
            .up_to_n_times(1)
            .with_priority(u8::try_from(i + 1).unwrap())
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(job_path.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"properties": {"status": "Completed"}})),
        )
        .with_priority(10)
        .mount(&server)
        .await;
    let (sink, _) = recording_sink();
    let c = paused_client_with(config(&server.uri()), None, sink);
    let mut seen = Vec::new();
    let start = tokio::time::Instant::now();
    let job = c
        .wait_for_job("j1", std::time::Duration::from_secs(10), None, |j| {
            seen.push(j.properties.status.clone().unwrap())
        })
        .await
        .unwrap();
    assert_eq!(job.properties.status, Some(JobStatus::Completed));
    assert_eq!(
        seen,
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Finalizing,
            JobStatus::Completed
        ]
    );
    assert!(start.elapsed() >= std::time::Duration::from_secs(40));
}

#[tokio::test]
async fn cancel_job_follows_location_and_aml_token_header() {
    let server = MockServer::start().await;
    let loc = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/l/mfeOperationResults/c1",
        server.uri()
    );
    Mock::given(method("POST"))
        .and(path(format!("{}/jobs/j1/cancel", ws_path())))
        .and(header("content-length", "0"))
        .respond_with(ResponseTemplate::new(202).insert_header("location", loc.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/l/mfeOperationResults/c1")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/jobs/p1", ws_path())))
        .and(header("x-azureml-token", "ML-TOKEN"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"name": "p1", "properties": {"jobType": "Pipeline", "status": "NotStarted"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server.uri());
    c.cancel_job("j1").await.unwrap();
    let job: Job =
        serde_json::from_value(json!({"properties": {"jobType": "Pipeline", "jobs": {}}})).unwrap();
    let created = c
        .create_or_update_job_with_aml_token("p1", &job, "ML-TOKEN")
        .await
        .unwrap();
    assert_eq!(created.properties.job_type, Some(JobType::Pipeline));
}

#[tokio::test]
async fn bad_names_are_refused_before_sending() {
    let server = MockServer::start().await;
    let err = client(&server.uri()).get_job("a/../b").await.unwrap_err();
    assert_eq!(err.kind, amlops_azureml::ErrorKind::InvalidInput);
    assert!(server.received_requests().await.unwrap().is_empty());
}
