//! `AzureBackend` (the gate's trait over the REST client) against wiremock: datastore downloads and lookups.

use crate::support;

use std::sync::Arc;

use amlops_agent::{CancellationToken, NetworkSettings};
use amlops_azureml::{AzureMlClient, ClientConfig, build_client};
use amlops_gate::GateBackend;
use amlops_gate::azure::AzureBackend;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WS: &str =
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

fn backend(server: &MockServer) -> AzureBackend {
    let http = build_client(&NetworkSettings::default()).unwrap();
    let mut config = ClientConfig::new(&server.uri(), "sub", "rg", "ws");
    config.blob_endpoint_override = Some(format!("{}/blob", server.uri()));
    let secrets = Arc::new(|_: &str| {});
    let client = AzureMlClient::new(http, config, None, secrets, CancellationToken::new()).unwrap();
    AzureBackend::new(client)
}

async fn datastore(server: &MockServer, secrets: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!("{WS}/datastores/workspaceblobstore")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "workspaceblobstore",
            "properties": {"datastoreType": "AzureBlob", "accountName": "acct", "containerName": "data",
                           "endpoint": "core.windows.net", "protocol": "https",
                           "credentials": {"credentialsType": "AccountKey"}}
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{WS}/datastores/workspaceblobstore/listSecrets")))
        .respond_with(ResponseTemplate::new(200).set_body_json(secrets))
        .mount(server)
        .await;
}

/// A workspace whose blob datastore hands out a SAS token, a temp folder, and the bytes of a
/// CSV file of `rows` rows to serve from it.
async fn sas_datastore(rows: usize) -> (MockServer, std::path::PathBuf, Vec<u8>) {
    let server = MockServer::start().await;
    datastore(
        &server,
        json!({"secretsType": "Sas", "sasToken": "?sv=2024-11-04&sig=c2VjcmV0"}),
    )
    .await;
    let dir = support::temp_dir();
    let csv = std::fs::read(support::write_csv(&dir.join("src.csv"), rows, 0.0, false)).unwrap();
    (server, dir, csv)
}

#[tokio::test]
async fn downloads_a_file_and_a_folder_from_a_blob_datastore() {
    let (server, dir, csv) = sas_datastore(50).await;
    Mock::given(method("GET"))
        .and(path("/blob/acct/data/inference/day1.csv"))
        .and(query_param("sig", "c2VjcmV0"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(csv.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/acct/data/inference/day2.csv"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(csv.clone()))
        .mount(&server)
        .await;
    // Two pages of List Blobs; a non-data blob is skipped.
    Mock::given(method("GET"))
        .and(path("/blob/acct/data"))
        .and(query_param("comp", "list"))
        .and(query_param("prefix", "inference/"))
        .and(query_param("marker", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<EnumerationResults><Blobs><Blob><Name>inference/day2.csv</Name></Blob></Blobs><NextMarker/>\
             </EnumerationResults>",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/acct/data"))
        .and(query_param("comp", "list"))
        .and(query_param("restype", "container"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<EnumerationResults><Blobs><Blob><Name>inference/day1.csv</Name></Blob>\
             <Blob><Name>inference/_SUCCESS</Name></Blob></Blobs><NextMarker>p2</NextMarker></EnumerationResults>",
        ))
        .expect(1..)
        .mount(&server)
        .await;
    let b = backend(&server);

    let one = dir.join("one");
    std::fs::create_dir_all(&one).unwrap();
    let file = b
        .download_data(
            "azureml://datastores/workspaceblobstore/paths/inference/day1.csv",
            &one,
        )
        .await
        .unwrap();
    assert_eq!(file, one.join("day1.csv"));
    assert_eq!(std::fs::read(&file).unwrap(), csv);

    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    let got = b
        .download_data(
            "azureml://datastores/workspaceblobstore/paths/inference/",
            &folder,
        )
        .await
        .unwrap();
    assert_eq!(got, folder);
    assert_eq!(std::fs::read(folder.join("day1.csv")).unwrap(), csv);
    assert_eq!(std::fs::read(folder.join("day2.csv")).unwrap(), csv);
    assert!(!folder.join("_SUCCESS").exists());
}

#[tokio::test]
async fn download_errors_say_what_is_missing() {
    let server = MockServer::start().await;
    datastore(&server, json!({"secretsType": "AccountKey", "key": "a2V5a2V5"})).await;
    let b = backend(&server);
    let dir = support::temp_dir();
    let e = b
        .download_data("azureml://datastores/workspaceblobstore/paths/x.csv", &dir)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("returned AccountKey secrets") && e.contains("SAS token only"),
        "{e}"
    );
    // A data asset stored outside the workspace's datastores.
    Mock::given(method("GET"))
        .and(path(format!("{WS}/data/external/versions/2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "properties": {"dataType": "uri_file", "dataUri": "https://acct.blob.core.windows.net/c/x.csv"}
        })))
        .mount(&server)
        .await;
    let e = b
        .download_data("azureml:external:2", &dir)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("downloading 'azureml:external:2'") && e.contains("not in a workspace datastore"),
        "{e}"
    );
    // A data asset that does not exist: the 404 says so.
    let e = b
        .download_data("azureml:train:3", &dir)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("downloading 'azureml:train:3'") && e.contains("404"),
        "{e}"
    );
}

// `azureml:<name>:<version>` and `@latest` resolve to the asset's dataUri in a datastore, which is
// downloaded like a datastore URI.
#[tokio::test]
async fn data_assets_resolve_to_their_datastore_path() {
    let (server, dir, csv) = sas_datastore(40).await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/data/train")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "properties": {"latestVersion": "3", "nextVersion": "4"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/data/train/versions/3")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "properties": {"dataType": "uri_file", "dataUri":
                "azureml://subscriptions/sub/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/LocalUpload/abc/train.csv"}
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/acct/data/LocalUpload/abc/train.csv"))
        .and(query_param("sig", "c2VjcmV0"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(csv.clone()))
        .expect(2)
        .mount(&server)
        .await;
    let b = backend(&server);
    for (k, uri) in ["azureml:train:3", "azureml:train@latest"].iter().enumerate() {
        let dest = dir.join(format!("d{k}"));
        std::fs::create_dir_all(&dest).unwrap();
        let file = b.download_data(uri, &dest).await.unwrap();
        assert_eq!(file, dest.join("train.csv"), "{uri}");
        assert_eq!(std::fs::read(&file).unwrap(), csv, "{uri}");
    }
}

#[tokio::test]
async fn lookups_map_404_to_none() {
    let server = MockServer::start().await;
    let not_found =
        ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "NotFound", "message": "no"}}));
    Mock::given(method("GET"))
        .and(path(format!("{WS}/models/churn/versions/9")))
        .respond_with(not_found.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/models/churn/versions")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"name": "1", "properties": {"tags": {"stage": "production"}, "properties": {"auc": "0.8"}}},
            {"name": "2", "properties": {"tags": {}, "properties": {}}}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/onlineEndpoints/ep/deployments/gone")))
        .respond_with(not_found)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{WS}/onlineEndpoints/broken")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": {"code": "AuthorizationFailed", "message": "denied"}})),
        )
        .mount(&server)
        .await;
    let b = backend(&server);
    assert_eq!(b.model_version("churn", "9").await.unwrap(), None);
    let versions = b.model_versions("churn").await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].version, "1");
    assert_eq!(
        versions[0].tags.get("stage").map(String::as_str),
        Some("production")
    );
    assert_eq!(versions[0].properties.get("auc").map(String::as_str), Some("0.8"));
    assert_eq!(b.deployment_model("ep", "gone").await.unwrap(), None);
    // Anything else than 404 is an error naming what was being read.
    let e = b.endpoint_traffic("broken").await.unwrap_err().to_string();
    assert!(e.starts_with("reading the online endpoint 'broken'"), "{e}");
}
