//! The register binary run as the agent would run it, against a wiremock workspace.

use std::path::{Path, PathBuf};

use amlops_testkit::{AgentRun, AzureRmSpec, RunResult, TaskResult, cargo_bin};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const SAS: &str = "sv=2023-11-03&sr=c&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";

fn ws() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/mlw"
    )
}

fn base(server: &MockServer) -> AgentRun {
    AgentRun::new(cargo_bin("amlops-register"))
        .azure_rm("azureSubscription", AzureRmSpec::anonymous(&server.uri()))
        .input("resourceGroup", "rg")
        .input("workspace", "mlw")
        .secret("c2VjcmV0LXNpZ25hdHVyZQ")
}

async fn run(agent: AgentRun) -> RunResult {
    tokio::task::spawn_blocking(move || agent.run())
        .await
        .expect("the run finishes")
}

fn model_folder(root: &Path) -> PathBuf {
    let dir = root.join("model");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("model.pkl"), b"weights").unwrap();
    std::fs::write(dir.join("sub/config.json"), b"{\"depth\": 3}").unwrap();
    dir
}

/// The default datastore with a SAS secret, path-style blobs under `/acct/cont/` on the same server.
async fn mount_datastore(server: &MockServer, uploaded_before: bool) {
    Mock::given(method("GET"))
        .and(path(format!("{}/datastores", ws())))
        .and(query_param("isDefault", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": format!("{}/datastores/workspaceblobstore", ws()),
            "name": "workspaceblobstore",
            "properties": {"datastoreType": "AzureBlob", "accountName": "acct", "containerName": "cont",
                "endpoint": "core.windows.net", "protocol": "https", "isDefault": true,
                "credentials": {"credentialsType": "AccountKey"}}
        }]})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "{}/datastores/workspaceblobstore/listSecrets",
            ws()
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"secretsType": "Sas", "sasToken": SAS})),
        )
        .mount(server)
        .await;
    if uploaded_before {
        Mock::given(method("HEAD"))
            .and(path_regex("^/acct/cont/LocalUpload/"))
            .respond_with(ResponseTemplate::new(200).insert_header("x-ms-meta-upload_status", "completed"))
            .mount(server)
            .await;
    }
    Mock::given(method("PUT"))
        .and(path_regex("^/acct/cont/LocalUpload/"))
        .respond_with(ResponseTemplate::new(201))
        .mount(server)
        .await;
}

async fn mount_model_put(server: &MockServer, name: &str, version: &str, expect: u64) {
    Mock::given(method("PUT"))
        .and(path(format!("{}/models/{name}/versions/{version}", ws())))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("{}/models/{name}/versions/{version}", ws()),
            "name": version,
            "properties": {}
        })))
        .expect(expect)
        .mount(server)
        .await;
}

async fn mount_container(server: &MockServer, collection: &str, name: &str, latest: Option<&str>) {
    let m = Mock::given(method("GET")).and(path(format!("{}/{collection}/{name}", ws())));
    match latest {
        Some(v) => m.respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": name, "properties": {"latestVersion": v}
        }))),
        None => m.respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "UserError", "message": "not found"}
        }))),
    }
    .mount(server)
    .await;
}

async fn requests(server: &MockServer, verb: &str, prefix: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path().starts_with(prefix))
        .collect()
}

async fn put_body(server: &MockServer, p: &str) -> Value {
    let found = requests(server, "PUT", p).await;
    assert_eq!(found.len(), 1, "one PUT of {p}");
    serde_json::from_slice(&found[0].body).expect("a JSON body")
}

fn assert_ok(run: &RunResult) {
    assert_eq!(
        run.agent_result(),
        TaskResult::Succeeded,
        "errors {:?}\n{}",
        run.errors(),
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn local_folder_is_uploaded_once_and_skipped_on_a_later_run() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = model_folder(dir.path());
    let hash = amlops_azureml::upload::object_hash(&folder).unwrap();
    mount_datastore(&server, false).await;
    mount_container(&server, "models", "churn", Some("2")).await;
    mount_model_put(&server, "churn", "3", 1).await;

    let agent = base(&server)
        .input("modelName", "churn")
        .input("modelPath", folder.to_string_lossy());
    let first = run(agent.clone()).await;
    assert_ok(&first);
    let blobs = requests(&server, "PUT", "/acct/cont/").await;
    let mut uploaded: Vec<String> = blobs
        .iter()
        .filter(|r| r.url.query().is_some_and(|q| !q.contains("comp=")))
        .map(|r| r.url.path().to_string())
        .collect();
    uploaded.sort();
    assert_eq!(
        uploaded,
        [
            format!("/acct/cont/LocalUpload/{hash}/model/model.pkl"),
            format!("/acct/cont/LocalUpload/{hash}/model/sub/config.json"),
        ]
    );
    assert!(
        blobs
            .iter()
            .all(|r| r.url.query().is_some_and(|q| q.contains("sig=")))
    );
    let body = put_body(&server, &format!("{}/models/churn/versions/3", ws())).await;
    let expected_uri = format!(
        "azureml://subscriptions/{SUB}/resourcegroups/rg/workspaces/mlw/datastores/workspaceblobstore/paths/LocalUpload/{hash}/model"
    );
    assert_eq!(body["properties"]["modelUri"], json!(expected_uri));
    assert_eq!(body["properties"]["modelType"], "custom_model");
    assert_eq!(
        body["properties"]["properties"]["amlops.contentHash"],
        json!(hash)
    );
    let id = format!("{}/models/churn/versions/3", ws());
    let outputs = first.outputs();
    assert_eq!(outputs["assetName"], "churn");
    assert_eq!(outputs["assetVersion"], "3");
    assert_eq!(outputs["assetId"], id);
    assert_eq!(outputs["modelName"], "churn");
    assert_eq!(outputs["modelVersion"], "3");
    assert_eq!(outputs["modelId"], id);
    assert_eq!(outputs["modelUri"], "azureml:churn:3");
    assert!(
        first.summaries().contains("2 file(s) uploaded"),
        "{}",
        first.summaries()
    );

    // A later run (another build) with the same files: the datastore already has them.
    server.reset().await;
    mount_datastore(&server, true).await;
    mount_container(&server, "models", "churn", Some("3")).await;
    mount_model_put(&server, "churn", "4", 1).await;
    let second = run(agent.variable("Build.BuildId", "1235")).await;
    assert_ok(&second);
    assert!(
        requests(&server, "PUT", "/acct/cont/").await.is_empty(),
        "nothing uploaded again"
    );
    let body = put_body(&server, &format!("{}/models/churn/versions/4", ws())).await;
    assert_eq!(body["properties"]["modelUri"], json!(expected_uri));
    assert_eq!(second.output("modelVersion"), "4");
    assert!(
        second.summaries().contains("already in the datastore"),
        "{}",
        second.summaries()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_file_model_points_at_the_file() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.onnx");
    std::fs::write(&file, b"onnx").unwrap();
    let hash = amlops_azureml::upload::object_hash(&file).unwrap();
    mount_datastore(&server, false).await;
    mount_container(&server, "models", "onnx-model", None).await;
    mount_model_put(&server, "onnx-model", "1", 1).await;
    let r = run(base(&server)
        .input("modelName", "onnx-model")
        .input("modelPath", "model.onnx")
        .env("SYSTEM_DEFAULTWORKINGDIRECTORY", dir.path().to_string_lossy()))
    .await;
    assert_ok(&r);
    let body = put_body(&server, &format!("{}/models/onnx-model/versions/1", ws())).await;
    let uri = body["properties"]["modelUri"].as_str().unwrap();
    assert!(
        uri.ends_with(&format!("/paths/LocalUpload/{hash}/model.onnx")),
        "{uri}"
    );
}

async fn mount_mlflow(server: &MockServer, job: &str) {
    Mock::given(method("GET"))
        .and(path(ws()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ws(), "name": "mlw",
            "properties": {"mlFlowTrackingUri": format!("{}/mlflow/v1.0{}", server.uri(), ws())}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/mlflow/v2.0{}/api/2.0/mlflow/runs/get", ws())))
        .and(query_param("run_id", job))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"run": {
            "info": {"run_id": job, "status": "FINISHED"},
            "data": {"metrics": [
                {"key": "auc", "value": 0.91, "step": "9", "timestamp": 1},
                {"key": "rmse", "value": 12.5, "step": "9", "timestamp": 1}
            ]}
        }})))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registers_a_job_output_and_copies_the_job_metrics() {
    let server = MockServer::start().await;
    mount_mlflow(&server, "train-42").await;
    mount_container(&server, "models", "churn", Some("6")).await;
    mount_model_put(&server, "churn", "7", 1).await;
    let r = run(base(&server)
        .input("modelName", "churn")
        .input("modelPath", "azureml://jobs/train-42/outputs/model")
        .input("modelType", "mlflow_model"))
    .await;
    assert_ok(&r);
    let body = put_body(&server, &format!("{}/models/churn/versions/7", ws())).await;
    let p = &body["properties"];
    assert_eq!(p["modelUri"], "azureml://jobs/train-42/outputs/model");
    assert_eq!(p["modelType"], "mlflow_model");
    assert_eq!(p["jobName"], "train-42");
    assert_eq!(p["properties"]["amlops.metric.auc"], "0.91");
    assert_eq!(p["properties"]["amlops.metric.rmse"], "12.5");
    assert_eq!(p["properties"]["amlops.sourceJob"], "train-42");
    assert!(
        requests(&server, "POST", "/").await.is_empty(),
        "no datastore call for a job output"
    );
    let summary = r.summaries();
    assert!(
        summary.contains("Training job: `train-42`") && summary.contains("| auc | 0.91 |"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_metrics_are_a_warning() {
    let server = MockServer::start().await;
    mount_container(&server, "models", "churn", None).await;
    mount_model_put(&server, "churn", "1", 1).await;
    Mock::given(method("GET"))
        .and(path(ws()))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": {"code": "AuthorizationFailed", "message": "no"}})),
        )
        .mount(&server)
        .await;
    let r = run(base(&server)
        .input("modelName", "churn")
        .input(
            "modelPath",
            "azureml://datastores/workspaceblobstore/paths/models/churn/",
        )
        .input("jobName", "train-9"))
    .await;
    assert_eq!(r.agent_result(), TaskResult::SucceededWithIssues, "{}", r.stdout);
    assert!(
        r.warnings().iter().any(|w| w.contains("train-9")),
        "{:?}",
        r.warnings()
    );
    let body = put_body(&server, &format!("{}/models/churn/versions/1", ws())).await;
    assert_eq!(body["properties"]["jobName"], "train-9");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_of_the_same_step_reuses_the_version() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = model_folder(dir.path());
    mount_datastore(&server, false).await;
    mount_container(&server, "models", "churn", None).await;
    mount_model_put(&server, "churn", "1", 1).await;
    let agent = base(&server)
        .input("modelName", "churn")
        .input("modelPath", folder.to_string_lossy())
        .input("reason", "first release");
    let first = run(agent.clone()).await;
    assert_ok(&first);
    let stored = put_body(&server, &format!("{}/models/churn/versions/1", ws())).await["properties"].clone();

    // The job is re-run (attempt 2): the version created before is found through its properties.
    server.reset().await;
    mount_datastore(&server, false).await;
    mount_container(&server, "models", "churn", Some("1")).await;
    Mock::given(method("GET"))
        .and(path(format!("{}/models/churn/versions", ws())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": format!("{}/models/churn/versions/0", ws()), "name": "0",
             "properties": {"modelUri": "azureml://elsewhere", "properties": {"amlops.idempotencyKey": "other"}}},
            {"id": format!("{}/models/churn/versions/1", ws()), "name": "1", "properties": stored}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("/versions/"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let second = run(agent.variable("System.JobAttempt", "2")).await;
    assert_ok(&second);
    assert!(
        requests(&server, "PUT", "/").await.is_empty(),
        "no version PUT and no upload"
    );
    assert_eq!(second.output("modelVersion"), "1");
    assert_eq!(
        second.output("modelId"),
        format!("{}/models/churn/versions/1", ws())
    );
    assert!(
        second
            .summaries()
            .contains("already registered by an earlier attempt of this step"),
        "{}",
        second.summaries()
    );
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_version_with_other_content_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/models/churn/versions/5", ws())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("{}/models/churn/versions/5", ws()), "name": "5",
            "properties": {"modelUri": "azureml://x", "properties": {"amlops.buildId": "77", "amlops.contentHash": "old"}}
        })))
        .mount(&server)
        .await;
    let r = run(base(&server)
        .input("modelName", "churn")
        .input("modelPath", "azureml://jobs/train-1/outputs/model")
        .input("version", "5"))
    .await;
    assert_eq!(r.agent_result(), TaskResult::Failed);
    let e = &r.errors()[0];
    assert!(
        e.contains("version '5' already exists") && e.contains("build 77"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mlflow_model_without_mlmodel_fails_before_any_call() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = model_folder(dir.path());
    let r = run(base(&server)
        .input("modelName", "churn")
        .input("modelPath", folder.to_string_lossy())
        .input("modelType", "mlflow_model"))
    .await;
    assert_eq!(r.agent_result(), TaskResult::Failed);
    let e = &r.errors()[0];
    assert!(
        e.contains("MLmodel") && e.contains(&*folder.to_string_lossy()),
        "{e}"
    );
    assert!(server.received_requests().await.unwrap_or_default().is_empty());

    // With the MLmodel file it goes through.
    std::fs::write(folder.join("MLmodel"), b"flavors:\n  python_function: {}\n").unwrap();
    mount_datastore(&server, false).await;
    mount_container(&server, "models", "churn", None).await;
    mount_model_put(&server, "churn", "1", 1).await;
    let r = run(base(&server)
        .input("modelName", "churn")
        .input("modelPath", folder.to_string_lossy())
        .input("modelType", "mlflow_model"))
    .await;
    assert_ok(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_inputs_are_named_before_any_call() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = model_folder(dir.path());
    let yaml = dir.path().join("env.yml");
    std::fs::write(&yaml, "name: e\nimage: python:3.11\n").unwrap();
    let bad_name = dir.path().join("bad-name.yml");
    std::fs::write(&bad_name, "name: bad name\nimage: python:3.11\n").unwrap();
    let bad_yaml = dir.path().join("bad-syntax.yml");
    std::fs::write(&bad_yaml, "name: e\nimage: [python\n").unwrap();
    let cases: Vec<(AgentRun, &str)> = vec![
        (
            base(&server)
                .input("modelName", "bad name!")
                .input("modelPath", folder.to_string_lossy()),
            "'modelName'",
        ),
        (
            base(&server)
                .input("modelName", "-churn")
                .input("modelPath", folder.to_string_lossy()),
            "'modelName'",
        ),
        (
            base(&server)
                .input("modelName", "m".repeat(256))
                .input("modelPath", folder.to_string_lossy()),
            "'modelName'",
        ),
        (base(&server).input("modelName", "churn"), "'modelPath'"),
        (
            base(&server)
                .input("modelName", "churn")
                .input("modelPath", "/no/such/model"),
            "/no/such/model",
        ),
        (
            base(&server)
                .input("modelName", "churn")
                .input("modelPath", "s3://bucket/model"),
            "'modelPath'",
        ),
        (
            base(&server)
                .input("modelName", "churn")
                .input("modelPath", folder.to_string_lossy())
                .input("version", "1/2"),
            "'version'",
        ),
        (
            base(&server)
                .input("modelName", "churn")
                .input("modelPath", folder.to_string_lossy())
                .input("modelType", "onnx"),
            "'modelType'",
        ),
        (
            base(&server)
                .input("modelName", "churn")
                .input("modelPath", folder.to_string_lossy())
                .input("properties", "amlops.buildId=1"),
            "'properties'",
        ),
        (
            base(&server)
                .input("modelName", "churn")
                .input("modelPath", folder.to_string_lossy())
                .input("jobName", "-x"),
            "'jobName'",
        ),
        (
            base(&server)
                .input("modelName", "churn")
                .input("assetFile", yaml.to_string_lossy()),
            "not both",
        ),
        (base(&server), "nothing to register"),
        (
            base(&server).input("assetFile", bad_name.to_string_lossy()),
            "invalid asset name `bad name`",
        ),
        (
            base(&server).input("assetFile", bad_yaml.to_string_lossy()),
            "bad-syntax.yml:",
        ),
        (
            base(&server).input("assetFile", "/no/such/asset.yml"),
            "'assetFile'",
        ),
        (
            base(&server).input("workspace", "w").input("modelName", "churn"),
            "'workspace'",
        ),
    ];
    for (agent, needle) in cases {
        let r = run(agent).await;
        assert_eq!(r.agent_result(), TaskResult::Failed, "{needle}: {}", r.stdout);
        let errors = r.errors();
        assert!(
            errors.len() == 1 && errors[0].contains(needle),
            "{needle}: {errors:?}"
        );
    }
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_governance_property_is_present_and_right() {
    let server = MockServer::start().await;
    mount_container(&server, "models", "churn", None).await;
    mount_model_put(&server, "churn", "1", 1).await;
    let before = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let r = run(base(&server)
        .input("modelName", "churn")
        .input(
            "modelPath",
            "azureml://datastores/workspaceblobstore/paths/models/churn",
        )
        .input("jobName", "train-7")
        .input("description", "Churn classifier")
        .input("tags", "team=risk\nstage = candidate")
        .input("properties", "dataset=churn-2026-11")
        .variable("Build.SourceVersionMessage", "Add tenure features\n\nlong text")
        .variable("Build.Reason", "PullRequest")
        .variable("System.PullRequest.PullRequestId", "12"))
    .await;
    let after = time::OffsetDateTime::now_utc();
    // The job has no metrics here (the workspace answers 404): nothing to copy, the record is complete anyway.
    assert_ok(&r);
    let body = put_body(&server, &format!("{}/models/churn/versions/1", ws())).await;
    let p = &body["properties"];
    assert_eq!(p["description"], "Churn classifier");
    assert_eq!(p["tags"], json!({"team": "risk", "stage": "candidate"}));
    let props = p["properties"].as_object().unwrap();
    let get = |k: &str| {
        props
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{k} missing in {props:?}"))
    };
    assert_eq!(get("dataset"), "churn-2026-11");
    assert_eq!(get("amlops.publishedBy"), "Ada Lovelace");
    assert_eq!(get("amlops.publishedByEmail"), "ada@contoso.com");
    assert_eq!(get("amlops.reason"), "Add tenure features (PullRequest #12)");
    let at = time::OffsetDateTime::parse(
        get("amlops.publishedAt"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(get("amlops.publishedAt").ends_with('Z'));
    assert!(before <= at && at <= after, "{at}");
    assert_eq!(get("amlops.buildId"), "1234");
    assert_eq!(get("amlops.buildNumber"), "20261126.1");
    assert_eq!(
        get("amlops.runUrl"),
        "https://dev.azure.com/contoso/mlops/_build/results?buildId=1234"
    );
    assert_eq!(get("amlops.commit"), "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(get("amlops.repository"), "contoso/churn-model");
    assert_eq!(get("amlops.branch"), "main");
    assert_eq!(get("amlops.pipeline"), "churn-train");
    assert_eq!(get("amlops.step"), "Train/train_job/AzureMLTrain1");
    assert_eq!(get("amlops.sourceJob"), "train-7");
    let uri_hash = hex_sha256("azureml://datastores/workspaceblobstore/paths/models/churn");
    assert_eq!(get("amlops.contentHash"), uri_hash);
    let key = get("amlops.idempotencyKey");
    assert!(
        key.len() == 32 && key.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    assert_eq!(props.len(), 16, "{props:?}");
    // The summary carries the record.
    let summary = r.summaries();
    for needle in [
        "| `amlops.publishedBy` | Ada Lovelace |",
        "| `amlops.reason` | Add tenure features (PullRequest #12) |",
    ] {
        assert!(summary.contains(needle), "{needle} in {summary}");
    }
    // The explicit reason input wins.
    server.reset().await;
    mount_container(&server, "models", "churn", None).await;
    mount_model_put(&server, "churn", "1", 1).await;
    let r = run(base(&server)
        .input("modelName", "churn")
        .input(
            "modelPath",
            "azureml://datastores/workspaceblobstore/paths/models/churn",
        )
        .input("reason", "Q4 recalibration"))
    .await;
    assert_eq!(r.agent_result(), TaskResult::Succeeded, "{}", r.stdout);
    let body = put_body(&server, &format!("{}/models/churn/versions/1", ws())).await;
    assert_eq!(
        body["properties"]["properties"]["amlops.reason"],
        "Q4 recalibration"
    );
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_with_a_conda_file() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("conda.yml"),
        "name: churn\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn==1.5.2\n",
    )
    .unwrap();
    let yaml = dir.path().join("env.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\nname: churn-env\n\
         image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\nconda_file: conda.yml\n\
         description: Training environment\n",
    )
    .unwrap();
    mount_container(&server, "environments", "churn-env", Some("4")).await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/environments/churn-env/versions/5", ws())))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("{}/environments/churn-env/versions/5", ws()), "name": "5", "properties": {}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let r = run(base(&server)
        .input("assetFile", yaml.to_string_lossy())
        .input("tags", "owner=ml"))
    .await;
    assert_ok(&r);
    let body = put_body(&server, &format!("{}/environments/churn-env/versions/5", ws())).await;
    let p = &body["properties"];
    assert_eq!(
        p["image"],
        "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
    );
    let conda = p["condaFile"].as_str().unwrap();
    assert!(
        conda.contains("scikit-learn==1.5.2") && conda.contains("conda-forge"),
        "{conda}"
    );
    assert_eq!(p["description"], "Training environment");
    assert_eq!(p["tags"]["owner"], "ml");
    assert_eq!(p["properties"]["amlops.publishedBy"], "Ada Lovelace");
    assert_eq!(p["properties"]["amlops.buildId"], "1234");
    let outputs = r.outputs();
    assert_eq!(outputs["assetName"], "churn-env");
    assert_eq!(outputs["assetVersion"], "5");
    assert_eq!(
        outputs["assetId"],
        format!("{}/environments/churn-env/versions/5", ws())
    );
    assert!(!outputs.contains_key("modelName"), "{outputs:?}");
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_with_a_docker_build_context() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("docker-context");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM python:3.11-slim\nRUN pip install scikit-learn\n",
    )
    .unwrap();
    std::fs::write(ctx.join("requirements.txt"), "scikit-learn\n").unwrap();
    let hash = amlops_azureml::upload::object_hash(&ctx).unwrap();
    let yaml = dir.path().join("serve-env.yml");
    std::fs::write(
        &yaml,
        "name: churn-serve\nversion: 2\nbuild:\n  path: docker-context\n  dockerfile_path: Dockerfile\n",
    )
    .unwrap();
    mount_datastore(&server, false).await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/environments/churn-serve/versions/2", ws())))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("{}/environments/churn-serve/versions/2", ws()), "name": "2", "properties": {}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let r = run(base(&server).input("assetFile", yaml.to_string_lossy())).await;
    assert_ok(&r);
    let mut blobs: Vec<String> = requests(&server, "PUT", "/acct/cont/")
        .await
        .iter()
        .filter(|r| r.url.query().is_some_and(|q| !q.contains("comp=")))
        .map(|r| r.url.path().to_string())
        .collect();
    blobs.sort();
    assert_eq!(
        blobs,
        [
            format!("/acct/cont/LocalUpload/{hash}/docker-context/Dockerfile"),
            format!("/acct/cont/LocalUpload/{hash}/docker-context/requirements.txt"),
        ]
    );
    let body = put_body(&server, &format!("{}/environments/churn-serve/versions/2", ws())).await;
    let build = &body["properties"]["build"];
    let context = build["contextUri"].as_str().unwrap();
    assert!(
        context.contains("/cont/LocalUpload/") && context.ends_with("/docker-context/"),
        "{context}"
    );
    assert!(context.contains(&hash), "{context}");
    assert_eq!(build["dockerfilePath"], "Dockerfile");
    assert_eq!(
        body["properties"]["properties"]["amlops.step"],
        "Train/train_job/AzureMLTrain1"
    );
    assert_eq!(r.output("assetVersion"), "2");
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_yaml_is_refused() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("job.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: echo hi\n\
         environment: azureml:e:1\ncompute: azureml:cpu\n",
    )
    .unwrap();
    let r = run(base(&server).input("assetFile", yaml.to_string_lossy())).await;
    assert_eq!(r.agent_result(), TaskResult::Failed);
    assert!(r.errors()[0].contains("is a job YAML"), "{:?}", r.errors());
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn data_asset_from_a_local_folder() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("train.csv"), "a,b\n1,2\n").unwrap();
    let hash = amlops_azureml::upload::object_hash(&data).unwrap();
    let yaml = dir.path().join("data.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\nname: churn-data\ntype: uri_folder\n\
         path: ./data\n",
    )
    .unwrap();
    mount_datastore(&server, false).await;
    mount_container(&server, "data", "churn-data", None).await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/data/churn-data/versions/1", ws())))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "1", "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let r = run(base(&server).input("assetFile", yaml.to_string_lossy())).await;
    assert_ok(&r);
    let body = put_body(&server, &format!("{}/data/churn-data/versions/1", ws())).await;
    let uri = body["properties"]["dataUri"].as_str().unwrap();
    assert!(uri.contains(&format!("LocalUpload/{hash}/data")), "{uri}");
    assert_eq!(body["properties"]["dataType"], "uri_folder");
    assert_eq!(
        body["properties"]["properties"]["amlops.publishedByEmail"],
        "ada@contoso.com"
    );
    // Without an id in the response, the id is the request's ARM path.
    assert_eq!(
        r.output("assetId"),
        format!("{}/data/churn-data/versions/1", ws())
    );
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn component_with_local_code_and_a_latest_environment() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/train.py"), "print('train')\n").unwrap();
    let yaml = dir.path().join("component.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\nname: train_churn\n\
         version: 3\ntype: command\ninputs:\n  data:\n    type: uri_folder\noutputs:\n  model:\n    type: \
         mlflow_model\ncode: ./src\nenvironment: azureml:churn-env@latest\ncommand: python train.py --data \
         ${{inputs.data}} --model ${{outputs.model}}\n",
    )
    .unwrap();
    mount_container(&server, "environments", "churn-env", Some("5")).await;
    let code_id = format!("{}/codes/amlops-code-src/versions/1", ws());
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/amlops-code-src/versions", ws())))
        .and(query_param("hashVersion", "202208"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": code_id, "name": "1", "properties": {"codeUri": "https://acct.blob.core.windows.net/c/src"}}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/amlops-code-src/versions/1", ws())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": code_id, "name": "1", "properties": {"codeUri": "https://acct.blob.core.windows.net/c/src"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("/(codes|components)/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"properties": {}})))
        .mount(&server)
        .await;
    let r = run(base(&server).input("assetFile", yaml.to_string_lossy())).await;
    assert_ok(&r);
    let body = put_body(&server, &format!("{}/components/train_churn/versions/3", ws())).await;
    let spec = &body["properties"]["componentSpec"];
    // The component spec refers to assets as the SDK writes them: `azureml:` + the ARM id.
    assert_eq!(spec["code"], json!(format!("azureml:{code_id}")), "{spec}");
    assert_eq!(
        spec["environment"],
        json!(format!("azureml:{}/environments/churn-env/versions/5", ws())),
        "{spec}"
    );
    assert_eq!(body["properties"]["properties"]["amlops.buildId"], "1234");
    assert_eq!(
        r.output("assetId"),
        format!("{}/components/train_churn/versions/3", ws())
    );
    assert!(
        requests(&server, "PUT", "/acct/").await.is_empty(),
        "the code was already uploaded"
    );
    assert!(
        requests(&server, "PUT", &code_id).await.is_empty(),
        "the code version found by hash is not PUT again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn component_with_additional_includes_uploads_them_in_its_snapshot() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (rel, text) in [
        ("comp/src/train.py", "from common import util\n"),
        ("common/util.py", "X = 1\n"),
        ("common/.amlignore", "*.tmp\n"),
        ("common/scratch.tmp", "ignored"),
        ("conf/labels.txt", "a\nb\n"),
    ] {
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        std::fs::write(root.join(rel), text).unwrap();
    }
    let yaml = root.join("comp/component.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\nname: train_churn\n\
         version: 3\ntype: command\ncode: ./src\nenvironment: azureml:churn-env:5\ncommand: python train.py\n\
         additional_includes:\n  - ../common\n  - ../conf/labels.txt\n",
    )
    .unwrap();
    let hash = amlops_azureml::upload::content_hash_with_includes(
        &root.join("comp/src"),
        &[root.join("common"), root.join("conf/labels.txt")],
    )
    .unwrap();
    let version = &hash[..16];
    let code_id = format!("{}/codes/amlops-code-src/versions/{version}", ws());
    let code_uri = format!("{uri}/acct/codes/code_with_additional_includes");
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/amlops-code-src/versions", ws())))
        .and(query_param("hash", hash.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{code_id}/startPendingUpload")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"blobReferenceForConsumption": {
                "blobUri": format!("{uri}/acct/codes"),
                "credential": {"credentialType": "SAS", "sasUri": format!("{uri}/acct/codes?{SAS}")}
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("^/acct/codes/"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(code_id.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": code_id, "name": version, "properties": {"codeUri": code_uri}
        })))
        .mount(&server)
        .await;
    // The upload creates the code version; the rendered dependency PUT of it is not sent again.
    Mock::given(method("PUT"))
        .and(path(code_id.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": code_id, "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("/components/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"properties": {}})))
        .mount(&server)
        .await;
    let r = run(base(&server).input("assetFile", yaml.to_string_lossy())).await;
    assert_ok(&r);
    let mut blobs: Vec<(String, Vec<u8>)> = requests(&server, "PUT", "/acct/codes/")
        .await
        .into_iter()
        .map(|r| (r.url.path().to_string(), r.body))
        .collect();
    blobs.sort();
    let prefix = "/acct/codes/code_with_additional_includes";
    assert_eq!(
        blobs,
        [
            (format!("{prefix}/common/.amlignore"), b"*.tmp\n".to_vec()),
            (format!("{prefix}/common/util.py"), b"X = 1\n".to_vec()),
            (format!("{prefix}/labels.txt"), b"a\nb\n".to_vec()),
            (
                format!("{prefix}/train.py"),
                b"from common import util\n".to_vec()
            ),
        ]
    );
    // The upload's PUT of the code version names the snapshot.
    let code = put_body(&server, &code_id).await;
    assert_eq!(code["properties"]["codeUri"], code_uri.as_str(), "{code}");
    assert_eq!(
        code["properties"]["properties"]["hash_sha256"],
        hash.as_str(),
        "{code}"
    );
    let body = put_body(&server, &format!("{}/components/train_churn/versions/3", ws())).await;
    assert_eq!(
        body["properties"]["componentSpec"]["code"],
        json!(format!("azureml:{code_id}"))
    );
    server.verify().await;
}

/// `code: ./train.py`: the file is uploaded at the root of the pending-upload container with `codeUri` =
/// `{blobUri}/`, as the SDK does, and the code version is PUT once (by the upload, not again as a rendered
/// dependency).
#[tokio::test(flavor = "multi_thread")]
async fn component_with_a_single_code_file_puts_it_at_the_container_root_once() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let script = "print('train')\n";
    std::fs::write(dir.path().join("train.py"), script).unwrap();
    let yaml = dir.path().join("component.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\nname: train_churn\n\
         version: 3\ntype: command\ncode: ./train.py\nenvironment: azureml:churn-env:5\ncommand: python train.py\n",
    )
    .unwrap();
    let hash = amlops_azureml::upload::content_hash(&dir.path().join("train.py")).unwrap();
    let version = &hash[..16];
    let code_id = format!("{}/codes/amlops-code-train-py/versions/{version}", ws());
    let code_uri = format!("{uri}/acct/codes/");
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/amlops-code-train-py/versions", ws())))
        .and(query_param("hash", hash.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{code_id}/startPendingUpload")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"blobReferenceForConsumption": {
                "blobUri": format!("{uri}/acct/codes"),
                "credential": {"credentialType": "SAS", "sasUri": format!("{uri}/acct/codes?{SAS}")}
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("^/acct/codes/"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(code_id.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": code_id, "name": version, "properties": {"codeUri": code_uri}
        })))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(code_id.as_str()))
        .and(wiremock::matchers::body_json(json!({"properties": {
            "codeUri": code_uri,
            "properties": {"hash_sha256": hash, "hash_version": "202208"}
        }})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": code_id, "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("/components/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let r = run(base(&server).input("assetFile", yaml.to_string_lossy())).await;
    assert_ok(&r);
    let blobs: Vec<(String, Vec<u8>)> = requests(&server, "PUT", "/acct/codes/")
        .await
        .into_iter()
        .map(|r| (r.url.path().to_string(), r.body))
        .collect();
    assert_eq!(
        blobs,
        [("/acct/codes/train.py".to_string(), script.as_bytes().to_vec())]
    );
    assert_eq!(requests(&server, "PUT", &code_id).await.len(), 1);
    let body = put_body(&server, &format!("{}/components/train_churn/versions/3", ws())).await;
    assert_eq!(
        body["properties"]["componentSpec"]["code"],
        json!(format!("azureml:{code_id}"))
    );
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_additional_include_is_an_error_naming_the_yaml() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/train.py"), "print(1)\n").unwrap();
    let yaml = dir.path().join("component.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\nname: train_churn\n\
         version: 3\ntype: command\ncode: ./src\nenvironment: azureml:churn-env:5\ncommand: python train.py\n\
         additional_includes:\n  - ../missing_lib\n",
    )
    .unwrap();
    let r = run(base(&server).input("assetFile", yaml.to_string_lossy())).await;
    assert_eq!(r.agent_result(), TaskResult::Failed);
    let errors = r.errors().join("\n");
    assert!(errors.contains("component.yml"), "{errors}");
    assert!(errors.contains("`../missing_lib`"), "{errors}");
    assert!(requests(&server, "PUT", "/").await.is_empty());
}

async fn mount_env_put(server: &MockServer, name: &str, version: &str, expect: u64) {
    Mock::given(method("PUT"))
        .and(path(format!("{}/environments/{name}/versions/{version}", ws())))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": format!("{}/environments/{name}/versions/{version}", ws()), "name": version, "properties": {}
        })))
        .expect(expect)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn asset_yaml_reruns_and_fixed_versions_are_idempotent() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("env.yml");
    std::fs::write(&yaml, "name: serve-env\nimage: python:3.11-slim\n").unwrap();
    mount_container(&server, "environments", "serve-env", None).await;
    mount_env_put(&server, "serve-env", "1", 1).await;
    let agent = base(&server).input("assetFile", yaml.to_string_lossy());
    assert_ok(&run(agent.clone()).await);
    let stored =
        put_body(&server, &format!("{}/environments/serve-env/versions/1", ws())).await["properties"].clone();
    server.verify().await;

    // Re-run of the same step: found through the idempotency key, nothing PUT.
    server.reset().await;
    mount_container(&server, "environments", "serve-env", Some("1")).await;
    Mock::given(method("GET"))
        .and(path(format!("{}/environments/serve-env/versions", ws())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": format!("{}/environments/serve-env/versions/1", ws()), "name": "1", "properties": stored}
        ]})))
        .mount(&server)
        .await;
    mount_env_put(&server, "serve-env", "2", 0).await;
    let again = run(agent.clone()).await;
    assert_ok(&again);
    assert_eq!(again.output("assetVersion"), "1");
    assert!(requests(&server, "PUT", "/").await.is_empty());
    server.verify().await;

    // Another run with a fixed version that already holds the same content: that version, no PUT.
    std::fs::write(&yaml, "name: serve-env\nversion: 1\nimage: python:3.11-slim\n").unwrap();
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/environments/serve-env/versions/1", ws())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("{}/environments/serve-env/versions/1", ws()), "name": "1", "properties": stored
        })))
        .mount(&server)
        .await;
    let fixed = run(agent.clone().variable("Build.BuildId", "2000")).await;
    assert_ok(&fixed);
    assert!(
        fixed
            .summaries()
            .contains("already holds the same content (registered by build 1234)")
    );
    assert_eq!(fixed.output("assetVersion"), "1");
    assert!(requests(&server, "PUT", "/").await.is_empty());

    // The same fixed version with other content is refused.
    std::fs::write(&yaml, "name: serve-env\nversion: 1\nimage: python:3.12-slim\n").unwrap();
    let changed = run(agent.variable("Build.BuildId", "2001")).await;
    assert_eq!(changed.agent_result(), TaskResult::Failed);
    assert!(
        changed.errors()[0].contains("already exists"),
        "{:?}",
        changed.errors()
    );
    assert!(requests(&server, "PUT", "/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn model_yaml_with_a_local_folder_and_the_training_job() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = model_folder(dir.path());
    let hash = amlops_azureml::upload::object_hash(&folder).unwrap();
    let yaml = dir.path().join("model.yml");
    std::fs::write(
        &yaml,
        "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: churn\npath: ./model\n\
         type: mlflow_model\ndescription: from YAML\ntags:\n  source: yaml\n",
    )
    .unwrap();

    // mlflow_model without MLmodel: refused before any call.
    let agent = base(&server)
        .input("assetFile", yaml.to_string_lossy())
        .input("jobName", "train-42")
        .input("version", "12");
    let refused = run(agent.clone()).await;
    assert_eq!(refused.agent_result(), TaskResult::Failed);
    assert!(refused.errors()[0].contains("MLmodel"), "{:?}", refused.errors());
    assert!(server.received_requests().await.unwrap_or_default().is_empty());

    std::fs::write(folder.join("MLmodel"), b"flavors: {}\n").unwrap();
    let hash_with_mlmodel = amlops_azureml::upload::object_hash(&folder).unwrap();
    assert_ne!(hash, hash_with_mlmodel);
    mount_datastore(&server, false).await;
    mount_mlflow(&server, "train-42").await;
    mount_model_put(&server, "churn", "12", 1).await;
    let r = run(agent).await;
    assert_ok(&r);
    let body = put_body(&server, &format!("{}/models/churn/versions/12", ws())).await;
    let p = &body["properties"];
    let uri = p["modelUri"].as_str().unwrap();
    assert!(
        uri.ends_with(&format!("/paths/LocalUpload/{hash_with_mlmodel}/model")),
        "{uri}"
    );
    assert_eq!(p["modelType"], "mlflow_model");
    assert_eq!(p["description"], "from YAML");
    assert_eq!(p["tags"]["source"], "yaml");
    assert_eq!(p["jobName"], "train-42");
    assert_eq!(p["properties"]["amlops.metric.auc"], "0.91");
    assert_eq!(p["properties"]["amlops.sourceJob"], "train-42");
    let outputs = r.outputs();
    assert_eq!(outputs["modelVersion"], "12");
    assert_eq!(outputs["modelUri"], "azureml:churn:12");
    server.verify().await;
}
