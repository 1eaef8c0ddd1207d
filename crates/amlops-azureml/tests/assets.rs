//! Rendered requests, generic asset containers and versions, deployment lists, datastore URLs, `connect`.

use crate::common::*;
use amlops_agent::{
    AzureAuth, AzureEnvironment, AzureRmConnection, CancellationToken, Output, TaskContext, TaskEnv,
};
use amlops_azureml::models::{CodeVersion, Datastore, PropertyValue};
use amlops_azureml::{ArmRequest, ErrorKind, connect};
use serde_json::json;
use wiremock::matchers::{body_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn sends_a_rendered_request_with_its_own_api_version() {
    let server = MockServer::start().await;
    let body = json!({"properties": {"jobType": "Pipeline"}});
    Mock::given(method("PUT"))
        .and(path(format!("{}/jobs/j1", ws_path())))
        .and(query_param("api-version", "2024-10-01"))
        .and(header("x-azureml-token", "aml-t"))
        .and(header_exists("authorization"))
        .and(body_json(&body))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "j1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{}/jobs/j2", ws_path())))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/models/m/versions/1", ws_path())))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": "UserError", "message": "bad"}})),
        )
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let job_path = format!("{}/jobs/j1", ws_path());
    let v = c
        .send_arm_request(&ArmRequest {
            op: "jobs.createOrUpdate",
            method: "PUT",
            path: &job_path,
            api_version: "2024-10-01",
            body: Some(&body),
            aml_token: Some("aml-t"),
        })
        .await
        .unwrap();
    assert_eq!(v, json!({"name": "j1"}));
    let deleted = c
        .send_arm_request(&ArmRequest {
            op: "jobs.delete",
            method: "DELETE",
            path: &format!("{}/jobs/j2", ws_path()),
            api_version: "2024-10-01",
            body: None,
            aml_token: None,
        })
        .await
        .unwrap();
    assert_eq!(deleted, serde_json::Value::Null);
    let err = c
        .send_arm_request(&ArmRequest {
            op: "createOrUpdate",
            method: "PUT",
            path: &format!("{}/models/m/versions/1", ws_path()),
            api_version: "2024-10-01",
            body: Some(&json!({})),
            aml_token: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Status);
    assert_eq!(err.status, Some(400));
    assert_eq!(err.operation, "createOrUpdate");
    for bad in ["https://other.example/x", "/a?b=c", ""] {
        let err = c
            .send_arm_request(&ArmRequest {
                op: "createOrUpdate",
                method: "PUT",
                path: bad,
                api_version: "1",
                body: None,
                aml_token: None,
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{bad}");
    }
}

#[tokio::test]
async fn reads_containers_and_versions_of_any_collection() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/environments/env1", ws_path())))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"name": "env1", "properties": {"latestVersion": "3", "nextVersion": "4"}}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/data/d1", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "d1", "properties": {}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/data/d1/versions/2", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"name": "2", "properties": {"dataUri": "azureml://x", "dataType": "uri_folder"}}),
        ))
        .mount(&server)
        .await;
    let next = format!(
        "{}{}/components/c1/versions?api-version=2026-07-01&$skipToken=p2",
        server.uri(),
        ws_path()
    );
    Mock::given(method("GET"))
        .and(path(format!("{}/components/c1/versions", ws_path())))
        .and(query_param("$skipToken", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"name": "2"}]})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/components/c1/versions", ws_path())))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [{"name": "1"}], "nextLink": next})),
        )
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let env = c.get_asset_container("environments", "env1").await.unwrap();
    assert_eq!(env.properties.next_version.as_deref(), Some("4"));
    assert_eq!(c.latest_asset_version("environments", "env1").await.unwrap(), "3");
    let err = c.latest_asset_version("data", "d1").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Decode);
    assert!(err.to_string().contains("'d1' has no latestVersion"), "{err}");
    let err = c.get_asset_container("models", "missing").await.unwrap_err();
    assert!(err.is_not_found());
    let v = c.get_asset_version("data", "d1", "2").await.unwrap();
    assert_eq!(v["properties"]["dataType"], "uri_folder");
    let all = c.list_asset_versions("components", "c1").await.unwrap();
    let names: Vec<_> = all.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["1", "2"]);
    assert_eq!(
        c.get_asset_version("data", "a/b", "1").await.unwrap_err().kind,
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn lists_an_endpoints_deployments() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/onlineEndpoints/ep/deployments", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"name": "blue", "properties": {"model": "m1"}},
            {"name": "green", "properties": {"model": "m2"}}
        ]})))
        .mount(&server)
        .await;
    let list = client(&server.uri()).list_online_deployments("ep").await.unwrap();
    let names: Vec<_> = list.iter().map(|d| d.name.clone().unwrap()).collect();
    assert_eq!(names, ["blue", "green"]);
    assert_eq!(list[1].properties.model.as_deref(), Some("m2"));
}

#[tokio::test]
async fn tokens_for_other_scopes_are_registered() {
    let (sink, seen) = recording_sink();
    let c = client_with(
        config("http://127.0.0.1:9"),
        Some(CountingSource::new(std::time::Duration::from_secs(3600))),
        sink.clone(),
    );
    let t = c
        .token_for_scope("https://ml.azure.com/.default")
        .await
        .unwrap()
        .unwrap();
    assert!(seen.lock().unwrap().contains(&t));
    let none = client_with(config("http://127.0.0.1:9"), None, sink);
    assert_eq!(
        none.token_for_scope("https://ml.azure.com/.default")
            .await
            .unwrap(),
        None
    );
    let other = none.with_cancellation(CancellationToken::new());
    other.cancellation().cancel();
    assert!(!none.cancellation().is_cancelled());
}

#[test]
fn datastore_container_urls() {
    let ds = |extra: serde_json::Value| -> Datastore {
        let mut v = json!({"name": "workspaceblobstore", "properties": {
            "accountName": "acct", "containerName": "cont", "endpoint": "core.windows.net", "protocol": "https"}});
        if let Some(p) = extra.as_object() {
            for (k, x) in p {
                v["properties"][k] = x.clone();
            }
        }
        serde_json::from_value(v).unwrap()
    };
    let c = client("http://127.0.0.1:9");
    assert_eq!(
        c.datastore_container_url(&ds(json!({}))).as_deref(),
        Some("https://acct.blob.core.windows.net/cont")
    );
    assert_eq!(
        c.datastore_container_url(&ds(
            json!({"properties": {"blobEndpoint": "http://127.0.0.1:7/amlopslocal/"}})
        ))
        .as_deref(),
        Some("http://127.0.0.1:7/amlopslocal/cont")
    );
    let mut cfg = config("http://127.0.0.1:9");
    cfg.blob_endpoint_override = Some("http://127.0.0.1:9/".into());
    let (sink, _) = recording_sink();
    let o = client_with(cfg, None, sink);
    assert_eq!(
        o.datastore_container_url(&ds(json!({}))).as_deref(),
        Some("http://127.0.0.1:9/acct/cont")
    );
    assert_eq!(
        o.datastore_container_url(&ds(json!({"containerName": null}))),
        None
    );
}

#[test]
fn code_version_properties_accept_any_scalar() {
    let code: CodeVersion = serde_json::from_value(json!({"properties": {"codeUri": "https://a/b",
        "properties": {"hash_sha256": "ab", "hash_version": 202208, "flag": true, "none": null}}}))
    .unwrap();
    let p = code.properties.properties.unwrap();
    assert_eq!(p["hash_version"].as_text(), "202208");
    assert_eq!(p["hash_sha256"], PropertyValue::String("ab".into()));
    assert_eq!(p["flag"].as_text(), "true");
    assert_eq!(p["none"], PropertyValue::Null);
    assert!(
        serde_json::from_value::<CodeVersion>(json!({"properties": {"properties": {"x": {"a": 1}}}}))
            .is_err()
    );
}

#[tokio::test]
async fn connect_builds_a_task_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": WS, "location": "westeurope", "properties": {}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (output, _buffer) = Output::capture(false);
    let ctx = TaskContext::new(TaskEnv::from_map([("X", "y")]), output, CancellationToken::new());
    let conn = AzureRmConnection {
        id: "local".into(),
        resource_manager_url: format!("{}/", server.uri()),
        subscription_id: Some(SUB.into()),
        environment: AzureEnvironment::AzureCloud,
        authority: "https://login.example/".into(),
        resource_id: server.uri(),
        auth: AzureAuth::None,
    };
    let c = connect(&ctx, &conn, RG, WS, ctx.cancel.clone()).unwrap();
    assert_eq!(
        c.get_workspace().await.unwrap().location.as_deref(),
        Some("westeurope")
    );
    // Loopback: blobs path-style on the same server.
    assert_eq!(
        c.config().blob_endpoint_override.as_deref(),
        Some(server.uri().as_str())
    );
    let mut no_sub = conn.clone();
    no_sub.subscription_id = None;
    let err = connect(&ctx, &no_sub, RG, WS, CancellationToken::new()).unwrap_err();
    assert!(err.to_string().contains("names no subscription"), "{err}");
    let mut remote = conn;
    remote.resource_manager_url = "https://management.example/".into();
    let err = connect(&ctx, &remote, RG, WS, CancellationToken::new()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication);
}
