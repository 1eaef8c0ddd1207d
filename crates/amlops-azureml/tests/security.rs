//! Where credentials go (issue 22): workspace and datastore properties that name another host get no token, no
//! SAS and no request at all; a redirect to another host is not followed with secret headers.
//!
//! The client's connection is a loopback one (the wiremock server `ws`), so the allow-list is that server's own
//! address; the "foreign" server is another wiremock server, which must receive nothing.

use crate::common::*;
use amlops_azureml::upload::UploadOptions;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn host_of(server: &MockServer) -> String {
    server.uri().trim_start_matches("http://").to_string()
}

async fn assert_untouched(foreign: &MockServer) {
    let got = foreign.received_requests().await.unwrap_or_default();
    assert!(got.is_empty(), "the foreign host got {} requests", got.len());
}

async fn mount_workspace(ws: &MockServer, discovery: &str, tracking: &str) {
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": WS,
            "properties": {"discoveryUrl": discovery, "mlFlowTrackingUri": tracking}
        })))
        .mount(ws)
        .await;
}

#[tokio::test]
async fn a_foreign_discovery_url_gets_no_token() {
    let ws = MockServer::start().await;
    let foreign = MockServer::start().await;
    mount_workspace(
        &ws,
        &format!("{}/discovery", foreign.uri()),
        &format!("azureml://{}/mlflow/v1.0{}", host_of(&ws), ws_path()),
    )
    .await;
    let c = client(&ws.uri());
    let e = c.get_run_details("run-1").await.unwrap_err().to_string();
    assert!(e.contains(&host_of(&foreign)), "{e}");
    assert!(e.contains("discoveryUrl"), "{e}");
    assert!(e.contains("refusing to send"), "{e}");
    assert_untouched(&foreign).await;
}

#[tokio::test]
async fn a_foreign_api_in_the_discovery_document_gets_no_token() {
    let ws = MockServer::start().await;
    let foreign = MockServer::start().await;
    mount_workspace(&ws, &format!("{}/discovery", ws.uri()), "azureml://unused/").await;
    Mock::given(method("GET"))
        .and(path("/discovery"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"api": foreign.uri()})))
        .mount(&ws)
        .await;
    let c = client(&ws.uri());
    let e = c.get_run_children("run-1").await.unwrap_err().to_string();
    assert!(e.contains(&host_of(&foreign)), "{e}");
    assert!(e.contains("the discovery document's 'api'"), "{e}");
    assert_untouched(&foreign).await;
}

#[tokio::test]
async fn a_foreign_mlflow_tracking_uri_gets_no_token() {
    let ws = MockServer::start().await;
    let foreign = MockServer::start().await;
    mount_workspace(
        &ws,
        &format!("{}/discovery", ws.uri()),
        &format!("azureml://{}/mlflow/v1.0{}", host_of(&foreign), ws_path()),
    )
    .await;
    let c = client(&ws.uri());
    let e = c.mlflow_get_run("run-1").await.unwrap_err().to_string();
    // `azureml://` becomes https: the host is named either way.
    assert!(e.contains(&host_of(&foreign)), "{e}");
    assert!(e.contains("mlFlowTrackingUri"), "{e}");
    assert_untouched(&foreign).await;
}

#[tokio::test]
async fn a_datastore_with_a_foreign_blob_endpoint_gets_no_sas() {
    let ws = MockServer::start().await;
    let foreign = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/datastores", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"value": [{"name": "workspaceblobstore",
            "properties": {"datastoreType": "AzureBlob", "accountName": "acct", "containerName": "c",
                "isDefault": true, "credentials": {"credentialsType": "AccountKey"},
                "properties": {"blobEndpoint": format!("{}/acct", foreign.uri())}}}]}),
        ))
        .mount(&ws)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "{}/datastores/workspaceblobstore/listSecrets",
            ws_path()
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"secretsType": "Sas", "sasToken": "sv=1&sig=S"})),
        )
        .expect(0)
        .mount(&ws)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.pkl"), b"weights").unwrap();
    // No path-style override: the datastore's own blobEndpoint is what would be used.
    let c = client(&ws.uri());
    let e = c
        .upload_to_default_datastore(dir.path(), ("m", "1"), &UploadOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(&host_of(&foreign)), "{e}");
    assert!(e.contains("properties.blobEndpoint"), "{e}");
    assert!(e.contains("storage SAS"), "{e}");
    assert_untouched(&foreign).await;
    // The same check for a caller that reads the datastore itself (the gate's downloads).
    let ds: amlops_azureml::models::Datastore = serde_json::from_value(json!({"name": "d", "properties": {
        "accountName": "acct", "containerName": "c", "properties": {"blobEndpoint": foreign.uri()}}}))
    .unwrap();
    let e = c
        .datastore_container("data.download", &ds)
        .unwrap_err()
        .to_string();
    assert!(e.contains("the datastore 'd' properties.blobEndpoint"), "{e}");
}

#[tokio::test]
async fn a_foreign_upload_sas_uri_gets_no_file() {
    let ws = MockServer::start().await;
    let foreign = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/c/versions", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&ws)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex("startPendingUpload$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blobReferenceForConsumption": {
            "blobUri": format!("{}/acct/c", foreign.uri()),
            "credential": {"credentialType": "SAS", "sasUri": format!("{}/acct/c?sv=1&sig=S", foreign.uri())}}})))
        .mount(&ws)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.py"), b"print(1)").unwrap();
    let c = client(&ws.uri());
    let e = c
        .upload_code("c", None, dir.path(), &UploadOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(&host_of(&foreign)), "{e}");
    assert!(e.contains("startPendingUpload"), "{e}");
    assert_untouched(&foreign).await;
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_with_the_aml_token() {
    let ws = MockServer::start().await;
    let foreign = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/jobs/j1", ws_path())))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/collect", foreign.uri())),
        )
        .mount(&ws)
        .await;
    let c = client(&ws.uri());
    let job: amlops_azureml::models::Job =
        serde_json::from_value(json!({"properties": {"jobType": "Pipeline"}})).unwrap();
    let e = c
        .create_or_update_job_with_aml_token("j1", &job, "AML-TOKEN-SECRET")
        .await
        .unwrap_err();
    let text = format!("{e} {:?}", std::error::Error::source(&e));
    assert!(!text.contains("AML-TOKEN-SECRET"), "{text}");
    assert_untouched(&foreign).await;
    // The same origin is still followed.
    let ws2 = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}/moved", ws2.uri())))
        .mount(&ws2)
        .await;
    Mock::given(method("GET"))
        .and(path("/moved"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": WS, "properties": {}})))
        .mount(&ws2)
        .await;
    let ws_read = client(&ws2.uri()).get_workspace().await.unwrap();
    assert_eq!(ws_read.name.as_deref(), Some(WS));
}

#[test]
fn code_uploads_are_confined_to_the_repository_the_task_names() {
    use amlops_agent::{CancellationToken, Output, TaskContext, TaskEnv};
    use amlops_azureml::code_repository;
    let ctx = |pairs: Vec<(&str, String)>| {
        let (output, _buffer) = Output::capture(false);
        TaskContext::new(TaskEnv::from_map(pairs), output, CancellationToken::new())
    };
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("ml/jobs")).unwrap();
    let job = repo.join("ml/jobs/train.yml");
    std::fs::write(&job, "command: echo\n").unwrap();
    let repo_real = repo.canonicalize().unwrap();
    // On an agent: Build.SourcesDirectory.
    let on_agent = ctx(vec![("BUILD_SOURCESDIRECTORY", "/agent/_work/1/s".into())]);
    assert_eq!(
        code_repository(&on_agent),
        Some(std::path::PathBuf::from("/agent/_work/1/s"))
    );
    // Outside an agent: the git repository holding the job file.
    let local = ctx(vec![("INPUT_JOBFILE", job.display().to_string())]);
    assert_eq!(code_repository(&local), Some(repo_real));
    // No repository outside an agent, or the input set: not confined.
    let loose = dir.path().join("loose.yml");
    std::fs::write(&loose, "command: echo\n").unwrap();
    let none = ctx(vec![("INPUT_JOBFILE", loose.display().to_string())]);
    assert_eq!(code_repository(&none), None);
    let allowed = ctx(vec![
        ("BUILD_SOURCESDIRECTORY", "/agent/_work/1/s".into()),
        ("INPUT_ALLOWPATHSOUTSIDEREPOSITORY", "true".into()),
    ]);
    assert_eq!(code_repository(&allowed), None);
}
