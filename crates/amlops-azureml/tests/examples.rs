//! Every official example of api-version 2026-07-01 (`tests/data/rest-examples`, provenance in its README): the
//! request the client sends matches the example (method, path, api-version, body JSON-equal) and the example's
//! response parses without losing a field (re-serialised, it equals the example body).

use crate::common::*;
use amlops_azureml::models::*;
use amlops_azureml::{AzureMlClient, ClientConfig};
use pretty_assertions::assert_eq;
use serde_json::Value;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Example {
    params: Value,
    body: Option<Value>,
    responses: Value,
}

impl Example {
    fn load(rel: &str) -> Self {
        let text = std::fs::read_to_string(examples_dir().join(rel)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        Self {
            params: v["parameters"].clone(),
            body: v["parameters"].get("body").cloned(),
            responses: v["responses"].clone(),
        }
    }
    fn p(&self, k: &str) -> String {
        self.params[k].as_str().unwrap().to_string()
    }
    fn ws_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.p("subscriptionId"),
            self.p("resourceGroupName"),
            self.p("workspaceName")
        )
    }
    fn response_body(&self, code: &str) -> Value {
        self.responses[code]["body"].clone()
    }
    fn client(&self, server: &MockServer) -> AzureMlClient {
        let mut c: ClientConfig = config(&server.uri());
        c.subscription_id = self.p("subscriptionId");
        c.resource_group = self.p("resourceGroupName");
        c.workspace = self.p("workspaceName");
        c.api_version = self.p("api-version");
        let (sink, _) = recording_sink();
        client_with(
            c,
            Some(CountingSource::new(std::time::Duration::from_secs(3600))),
            sink,
        )
    }
    /// Mount the example's operation; `code` selects the response.
    async fn mount(&self, server: &MockServer, verb: &str, suffix: &str, code: &str) {
        let mut m = Mock::given(method(verb))
            .and(path(format!("{}{}", self.ws_path(), suffix)))
            .and(query_param("api-version", self.p("api-version")))
            .and(header("authorization", "Bearer token-1"));
        if let Some(b) = &self.body {
            m = m.and(body_json(b));
        }
        let mut resp = ResponseTemplate::new(code.parse::<u16>().unwrap());
        if let Some(b) = self.responses[code].get("body") {
            resp = resp.set_body_json(b);
        }
        m.respond_with(resp).expect(1).mount(server).await;
    }
    /// Mount the GET that follows a long-running PUT/PATCH.
    async fn mount_get(&self, server: &MockServer, suffix: &str, code: &str) {
        Mock::given(method("GET"))
            .and(path(format!("{}{}", self.ws_path(), suffix)))
            .and(query_param("api-version", self.p("api-version")))
            .respond_with(ResponseTemplate::new(200).set_body_json(self.response_body(code)))
            .expect(1)
            .mount(server)
            .await;
    }
}

fn lossless<T: serde::Serialize>(parsed: &T, expected: &Value) {
    assert_eq!(&serde_json::to_value(parsed).unwrap(), expected);
}

/// The round trip above passes whatever the field names: a misnamed field keeps its key in the
/// flattened `extra` map. Each key given (`name` or `properties.name`) must land in a typed field
/// of `T`: with its value replaced by one no typed field accepts, the response no longer
/// deserialises (in `extra` it would).
fn assert_typed<T: serde::de::DeserializeOwned>(response: &Value, keys: &[&str]) {
    for key in keys {
        let mut probe = response.clone();
        let slot = key
            .split('.')
            .try_fold(&mut probe, |v, k| v.get_mut(k))
            .unwrap_or_else(|| panic!("the example has no `{key}`"));
        *slot = serde_json::json!([[[true]]]);
        assert!(
            serde_json::from_value::<T>(probe).is_err(),
            "`{key}` is not read into a typed field of {}",
            std::any::type_name::<T>()
        );
    }
}

fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test]
async fn workspace_get() {
    let ex = Example::load("Workspace/get.json");
    let server = MockServer::start().await;
    ex.mount(&server, "GET", "", "200").await;
    let ws = ex.client(&server).get_workspace().await.unwrap();
    lossless(&ws, &ex.response_body("200"));
    assert_typed::<Workspace>(
        &ex.response_body("200"),
        &[
            "id",
            "name",
            "type",
            "location",
            "properties.discoveryUrl",
            "properties.friendlyName",
        ],
    );
    let expected = &ex.response_body("200")["properties"];
    assert_eq!(
        ws.properties.discovery_url.as_deref(),
        expected["discoveryUrl"].as_str()
    );
    assert_eq!(
        ws.properties.ml_flow_tracking_uri.as_deref(),
        expected["mlFlowTrackingUri"].as_str()
    );
    assert_eq!(
        ws.properties.workspace_id.as_deref(),
        expected["workspaceId"].as_str()
    );
}

async fn job_put(rel: &str, job_type: JobType) {
    let ex = Example::load(rel);
    let server = MockServer::start().await;
    let id = ex.p("id");
    ex.mount(&server, "PUT", &format!("/jobs/{id}"), "201").await;
    let body: Job = typed(ex.body.as_ref().unwrap());
    let job = ex.client(&server).create_or_update_job(&id, &body).await.unwrap();
    lossless(&job, &ex.response_body("201"));
    assert_typed::<Job>(
        &ex.response_body("201"),
        &[
            "id",
            "name",
            "type",
            "properties.jobType",
            "properties.status",
            "properties.displayName",
            "properties.experimentName",
            "properties.description",
            "properties.tags",
            "properties.properties",
            "properties.computeId",
            "properties.inputs",
            "properties.outputs",
            "properties.services",
        ],
    );
    if job_type == JobType::Command {
        assert_typed::<Job>(
            &ex.response_body("201"),
            &[
                "properties.codeId",
                "properties.command",
                "properties.environmentId",
                "properties.environmentVariables",
            ],
        );
    }
    assert_eq!(job.properties.job_type, Some(job_type));
    assert_eq!(job.properties.status, Some(JobStatus::NotStarted));
}

#[tokio::test]
async fn command_job_put() {
    job_put("Job/CommandJob/createOrUpdate.json", JobType::Command).await;
}

#[tokio::test]
async fn pipeline_job_put() {
    job_put("Job/PipelineJob/createOrUpdate.json", JobType::Pipeline).await;
}

#[tokio::test]
async fn job_cancel() {
    let ex = Example::load("Job/cancel.json");
    let server = MockServer::start().await;
    ex.mount(&server, "POST", &format!("/jobs/{}/cancel", ex.p("id")), "200")
        .await;
    ex.client(&server).cancel_job(&ex.p("id")).await.unwrap();
}

#[tokio::test]
async fn job_delete() {
    let ex = Example::load("Job/delete.json");
    let server = MockServer::start().await;
    // The example's `id` is a URL; the job name is its last segment.
    let id = ex.p("id");
    let name = id.rsplit('/').next().unwrap();
    ex.mount(&server, "DELETE", &format!("/jobs/{name}"), "204").await;
    ex.client(&server).delete_job(name).await.unwrap();
}

#[tokio::test]
async fn datastore_get_and_list_secrets() {
    let ex = Example::load("Datastore/get.json");
    let server = MockServer::start().await;
    ex.mount(&server, "GET", &format!("/datastores/{}", ex.p("name")), "200")
        .await;
    let ds = ex.client(&server).get_datastore(&ex.p("name")).await.unwrap();
    lossless(&ds, &ex.response_body("200"));
    assert_typed::<Datastore>(
        &ex.response_body("200"),
        &[
            "properties.datastoreType",
            "properties.accountName",
            "properties.containerName",
            "properties.endpoint",
            "properties.protocol",
            "properties.isDefault",
            "properties.credentials",
        ],
    );

    let ex = Example::load("Datastore/listSecrets.json");
    let server = MockServer::start().await;
    ex.mount(
        &server,
        "POST",
        &format!("/datastores/{}/listSecrets", ex.p("name")),
        "200",
    )
    .await;
    let s = ex
        .client(&server)
        .list_datastore_secrets(&ex.p("name"), false)
        .await
        .unwrap();
    lossless(&s, &ex.response_body("200"));
    assert_eq!(s.secrets_type, Some(SecretsType::AccountKey));
}

#[tokio::test]
async fn code_start_pending_upload_and_put() {
    let ex = Example::load("Workspace/CodeVersion/createOrGetStartPendingUpload.json");
    let server = MockServer::start().await;
    let (n, v) = (ex.p("name"), ex.p("version"));
    ex.mount(
        &server,
        "POST",
        &format!("/codes/{n}/versions/{v}/startPendingUpload"),
        "200",
    )
    .await;
    let req: PendingUploadRequest = typed(ex.body.as_ref().unwrap());
    let p = ex
        .client(&server)
        .start_code_pending_upload(&n, &v, &req)
        .await
        .unwrap();
    lossless(&p, &ex.response_body("200"));
    let cred = p.blob_reference_for_consumption.unwrap().credential.unwrap();
    assert_eq!(cred.credential_type.as_deref(), Some("SAS"));
    assert!(cred.sas_uri.is_some());

    let ex = Example::load("Workspace/CodeVersion/createOrUpdate.json");
    let server = MockServer::start().await;
    let (n, v) = (ex.p("name"), ex.p("version"));
    ex.mount(&server, "PUT", &format!("/codes/{n}/versions/{v}"), "200")
        .await;
    let body: CodeVersion = typed(ex.body.as_ref().unwrap());
    let c = ex
        .client(&server)
        .create_or_update_code_version(&n, &v, &body)
        .await
        .unwrap();
    lossless(&c, &ex.response_body("200"));
    assert!(c.properties.code_uri.is_some());
}

#[tokio::test]
async fn environment_version_put() {
    let ex = Example::load("Workspace/EnvironmentVersion/createOrUpdate.json");
    let server = MockServer::start().await;
    let (n, v) = (ex.p("name"), ex.p("version"));
    ex.mount(&server, "PUT", &format!("/environments/{n}/versions/{v}"), "200")
        .await;
    let body: EnvironmentVersion = typed(ex.body.as_ref().unwrap());
    let e = ex
        .client(&server)
        .create_or_update_environment_version(&n, &v, &body)
        .await
        .unwrap();
    lossless(&e, &ex.response_body("200"));
}

#[tokio::test]
async fn model_container_and_version_put() {
    let ex = Example::load("Workspace/ModelContainer/createOrUpdate.json");
    let server = MockServer::start().await;
    let n = ex.p("name");
    ex.mount(&server, "PUT", &format!("/models/{n}"), "200").await;
    let body: ModelContainer = typed(ex.body.as_ref().unwrap());
    let c = ex
        .client(&server)
        .create_or_update_model_container(&n, &body)
        .await
        .unwrap();
    lossless(&c, &ex.response_body("200"));

    let ex = Example::load("Workspace/ModelVersion/createOrUpdate.json");
    let server = MockServer::start().await;
    let (n, v) = (ex.p("name"), ex.p("version"));
    ex.mount(&server, "PUT", &format!("/models/{n}/versions/{v}"), "200")
        .await;
    let body: ModelVersion = typed(ex.body.as_ref().unwrap());
    let m = ex
        .client(&server)
        .create_or_update_model_version(&n, &v, &body)
        .await
        .unwrap();
    lossless(&m, &ex.response_body("200"));
    assert_typed::<ModelVersion>(
        &ex.response_body("200"),
        &[
            "properties.modelType",
            "properties.modelUri",
            "properties.description",
            "properties.tags",
            "properties.properties",
            "properties.flavors",
        ],
    );
    assert!(m.properties.model_uri.is_some());
}

#[tokio::test]
async fn online_endpoint_put_get_update_delete() {
    let ex = Example::load("Workspace/OnlineEndpoint/createOrUpdate.json");
    let server = MockServer::start().await;
    let n = ex.p("endpointName");
    ex.mount(&server, "PUT", &format!("/onlineEndpoints/{n}"), "200")
        .await;
    ex.mount_get(&server, &format!("/onlineEndpoints/{n}"), "200")
        .await;
    let body: OnlineEndpoint = typed(ex.body.as_ref().unwrap());
    let e = ex
        .client(&server)
        .create_or_update_online_endpoint(&n, &body)
        .await
        .unwrap();
    lossless(&e, &ex.response_body("200"));
    assert_eq!(e.properties.provisioning_state, Some(ProvisioningState::Creating));
    assert_eq!(
        e.properties.scoring_uri.as_deref(),
        Some("https://www.contoso.com/example")
    );

    let ex = Example::load("Workspace/OnlineEndpoint/get.json");
    let server = MockServer::start().await;
    ex.mount(&server, "GET", &format!("/onlineEndpoints/{n}"), "200")
        .await;
    let e = ex.client(&server).get_online_endpoint(&n).await.unwrap();
    lossless(&e, &ex.response_body("200"));
    assert_typed::<OnlineEndpoint>(
        &ex.response_body("200"),
        &[
            "id",
            "name",
            "type",
            "location",
            "tags",
            "properties.authMode",
            "properties.description",
            "properties.scoringUri",
            "properties.swaggerUri",
            "properties.provisioningState",
            "properties.traffic",
        ],
    );
    assert!(e.properties.auth_mode.is_some());

    let ex = Example::load("Workspace/OnlineEndpoint/update.json");
    let server = MockServer::start().await;
    ex.mount(&server, "PATCH", &format!("/onlineEndpoints/{n}"), "200")
        .await;
    ex.mount_get(&server, &format!("/onlineEndpoints/{n}"), "200")
        .await;
    let e = ex
        .client(&server)
        .update_online_endpoint(&n, ex.body.as_ref().unwrap())
        .await
        .unwrap();
    lossless(&e, &ex.response_body("200"));

    let ex = Example::load("Workspace/OnlineEndpoint/delete.json");
    let server = MockServer::start().await;
    ex.mount(&server, "DELETE", &format!("/onlineEndpoints/{n}"), "204")
        .await;
    ex.client(&server).delete_online_endpoint(&n).await.unwrap();
}

#[tokio::test]
async fn online_endpoint_keys_token_regenerate() {
    let ex = Example::load("Workspace/OnlineEndpoint/listKeys.json");
    let server = MockServer::start().await;
    let n = ex.p("endpointName");
    ex.mount(&server, "POST", &format!("/onlineEndpoints/{n}/listKeys"), "200")
        .await;
    let (sink, seen) = recording_sink();
    let mut c = config(&server.uri());
    c.api_version = ex.p("api-version");
    let client = client_with(
        c,
        Some(CountingSource::new(std::time::Duration::from_secs(3600))),
        sink,
    );
    let keys = client.list_endpoint_keys(&n).await.unwrap();
    lossless(&keys, &ex.response_body("200"));
    assert!(
        seen.lock().unwrap().contains(&"string".to_string()),
        "keys registered as secrets"
    );
    assert!(!format!("{keys:?}").contains("string"));

    let ex = Example::load("Workspace/OnlineEndpoint/getToken.json");
    let server = MockServer::start().await;
    ex.mount(&server, "POST", &format!("/onlineEndpoints/{n}/token"), "200")
        .await;
    let t = ex.client(&server).get_endpoint_token(&n).await.unwrap();
    lossless(&t, &ex.response_body("200"));
    assert_eq!(t.expiry_time_utc, Some(1));

    let ex = Example::load("Workspace/OnlineEndpoint/regenerateKeys.json");
    let server = MockServer::start().await;
    ex.mount(
        &server,
        "POST",
        &format!("/onlineEndpoints/{n}/regenerateKeys"),
        "200",
    )
    .await;
    ex.client(&server)
        .regenerate_endpoint_keys(&n, ex.body.as_ref().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn online_deployment_put_update_logs_delete() {
    let ex = Example::load("OnlineDeployment/ManagedOnlineDeployment/createOrUpdate.json");
    let server = MockServer::start().await;
    let (e, d) = (ex.p("endpointName"), ex.p("deploymentName"));
    let suffix = format!("/onlineEndpoints/{e}/deployments/{d}");
    ex.mount(&server, "PUT", &suffix, "200").await;
    ex.mount_get(&server, &suffix, "200").await;
    let body: OnlineDeployment = typed(ex.body.as_ref().unwrap());
    let dep = ex
        .client(&server)
        .create_or_update_online_deployment(&e, &d, &body)
        .await
        .unwrap();
    lossless(&dep, &ex.response_body("200"));
    assert_typed::<OnlineDeployment>(
        &ex.response_body("200"),
        &[
            "properties.endpointComputeType",
            "properties.model",
            "properties.instanceType",
            "properties.environmentId",
            "properties.codeConfiguration",
            "properties.description",
            "properties.provisioningState",
        ],
    );
    assert!(dep.properties.provisioning_state.is_some());

    let ex = Example::load("OnlineDeployment/ManagedOnlineDeployment/update.json");
    let server = MockServer::start().await;
    ex.mount(&server, "PATCH", &suffix, "200").await;
    ex.mount_get(&server, &suffix, "200").await;
    let dep = ex
        .client(&server)
        .update_online_deployment(&e, &d, ex.body.as_ref().unwrap())
        .await
        .unwrap();
    lossless(&dep, &ex.response_body("200"));

    let ex = Example::load("OnlineDeployment/getLogs.json");
    let server = MockServer::start().await;
    let (e2, d2) = (ex.p("endpointName"), ex.p("deploymentName"));
    ex.mount(
        &server,
        "POST",
        &format!("/onlineEndpoints/{e2}/deployments/{d2}/getLogs"),
        "200",
    )
    .await;
    let req: DeploymentLogsRequest = typed(ex.body.as_ref().unwrap());
    let logs = ex
        .client(&server)
        .get_deployment_logs(&e2, &d2, &req)
        .await
        .unwrap();
    lossless(&logs, &ex.response_body("200"));
    assert_eq!(logs.content.as_deref(), Some("string"));

    let ex = Example::load("Workspace/OnlineDeployment/delete.json");
    let server = MockServer::start().await;
    let (e3, d3) = (ex.p("endpointName"), ex.p("deploymentName"));
    ex.mount(
        &server,
        "DELETE",
        &format!("/onlineEndpoints/{e3}/deployments/{d3}"),
        "200",
    )
    .await;
    ex.client(&server)
        .delete_online_deployment(&e3, &d3)
        .await
        .unwrap();
}

#[tokio::test]
async fn schedule_put() {
    let ex = Example::load("Schedule/createOrUpdate.json");
    let server = MockServer::start().await;
    let n = ex.p("name");
    ex.mount(&server, "PUT", &format!("/schedules/{n}"), "200").await;
    ex.mount_get(&server, &format!("/schedules/{n}"), "200").await;
    let body: Schedule = typed(ex.body.as_ref().unwrap());
    let s = ex
        .client(&server)
        .create_or_update_schedule(&n, &body)
        .await
        .unwrap();
    lossless(&s, &ex.response_body("200"));
    assert!(s.properties.trigger.is_some());
    assert!(s.properties.action.is_some());
}
