//! docs/troubleshooting.md quotes the errors users meet exactly as the tasks print them. Each quoted message (a
//! ```text block) is produced here by the real code: the client against a wiremock service that answers as Azure
//! does, the Entra credential against a wiremock authority, the HTTP client's set-up. The loopback addresses are
//! written as the Azure hosts they stand for. A quoted block with no case here, or a case whose message differs
//! from the quote, fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use crate::common::*;
use amlops_agent::{CancellationToken, NetworkSettings, error_chain_message};
use amlops_azureml::credential::{EntraCredential, FixedAssertion, TokenSource};
use amlops_azureml::http::build_client;
use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ARM: &str = "https://management.azure.com";
const LOGIN: &str = "https://login.microsoftonline.com";
const REQUEST_ID: &str = "5b7a4d2e-8c1f-4e6a-9d3b-2f0c7e1a9b64";

/// The ```text blocks of docs/troubleshooting.md, by the `##` heading above them.
fn quoted() -> BTreeMap<String, Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/troubleshooting.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut heading, mut block): (String, Option<String>) = (String::new(), None);
    for line in text.lines() {
        if let Some(b) = block.as_mut() {
            if line == "```" {
                out.entry(heading.clone())
                    .or_default()
                    .push(block.take().unwrap());
            } else {
                if !b.is_empty() {
                    b.push('\n');
                }
                b.push_str(line);
            }
        } else if let Some(h) = line.strip_prefix("## ") {
            heading = h.trim().to_string();
        } else if line == "```text" {
            block = Some(String::new());
        }
    }
    out
}

fn error_body(code: &str, message: &str) -> serde_json::Value {
    json!({"error": {"code": code, "message": message}})
}

fn answer(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-ms-request-id", REQUEST_ID)
        .set_body_json(body)
}

/// The message as a user sees it: the loopback service written as the host it stands for.
fn as_seen(message: String, server: &MockServer, host: &str) -> String {
    message.replace(&server.uri(), host)
}

async fn arm_error(status: u16, body: serde_json::Value, call: &str) -> String {
    let server = MockServer::start().await;
    Mock::given(path_regex(".*"))
        .respond_with(answer(status, body))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let error = match call {
        "workspace" => client.get_workspace().await.map(|_| ()).unwrap_err(),
        "job" => client.get_job("sharp_lime_9k2").await.map(|_| ()).unwrap_err(),
        "model" => client
            .get_model_version("churn", "3")
            .await
            .map(|_| ())
            .unwrap_err(),
        other => panic!("no call {other}"),
    };
    as_seen(error_chain_message(&error), &server, ARM)
}

/// A write to an endpoint that another operation keeps busy past the (here: short) longest wait.
async fn busy_error() -> String {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(answer(
            409,
            error_body(
                "OperationDuplicationConflict",
                "Conflict of operation, another operation on same entity is already running.",
            ),
        ))
        .mount(&server)
        .await;
    let mut config = config(&server.uri());
    config.conflict = amlops_azureml::lro::ConflictOptions {
        max_wait: Duration::from_millis(60),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
    };
    let (sink, _) = recording_sink();
    let client = client_with(config, Some(CountingSource::new(Duration::from_secs(3600))), sink);
    let endpoint: amlops_azureml::models::OnlineEndpoint = serde_json::from_value(json!({
        "location": "westeurope", "properties": {"authMode": "Key", "traffic": {"blue": 100}}}))
    .unwrap();
    let error = client
        .create_or_update_online_endpoint("churn", &endpoint)
        .await
        .map(|_| ())
        .unwrap_err();
    // the seconds waited and the attempts made vary with the machine; the page shows a typical run
    let text = as_seen(error_chain_message(&error), &server, ARM);
    let re = regex::Regex::new(r"for \d+ s after \d+ attempt\(s\)").unwrap();
    re.replace(&text, "for 1800 s after 41 attempt(s)").into_owned()
}

async fn arm_write_error(status: u16, body: serde_json::Value, write: &str) -> String {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(answer(status, body))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let error = match write {
        "job" => {
            let job: amlops_azureml::models::Job = serde_json::from_value(json!({"properties": {
                "jobType": "Command", "command": "python train.py",
                "environmentId": "azureml:sklearn-env:1", "computeId": "azureml:cpu-cluster"}}))
            .unwrap();
            client
                .create_or_update_job("sharp_lime_9k2", &job)
                .await
                .map(|_| ())
                .unwrap_err()
        }
        "model" => {
            let version: amlops_azureml::models::ModelVersion =
                serde_json::from_value(json!({"properties": {
                "modelUri": "azureml://jobs/sharp_lime_9k2/outputs/model", "modelType": "mlflow_model"}}))
                .unwrap();
            client
                .create_or_update_model_version("churn", "3", &version)
                .await
                .map(|_| ())
                .unwrap_err()
        }
        other => panic!("no write {other}"),
    };
    as_seen(error_chain_message(&error), &server, ARM)
}

async fn entra_error(body: serde_json::Value, federated: bool) -> String {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(body))
        .mount(&server)
        .await;
    let http = build_client(&NetworkSettings::default()).unwrap();
    let url = url::Url::parse(&format!(
        "{}/72f988bf-0000-0000-0000-000000000000/oauth2/v2.0/token",
        server.uri()
    ))
    .unwrap();
    let client_id = "3f1e0c5a-7a6b-4d8e-9c2f-1b0a9e8d7c6b";
    let credential = if federated {
        EntraCredential::with_assertion(
            http,
            fast_retry(),
            url,
            client_id,
            Arc::new(FixedAssertion("eyJ".into())),
        )
    } else {
        EntraCredential::with_secret(http, fast_retry(), url, client_id, "not-the-secret")
    };
    let error = credential
        .fetch_token("https://management.azure.com/.default", &CancellationToken::new())
        .await
        .unwrap_err();
    as_seen(error_chain_message(&error), &server, LOGIN)
}

/// Every message the page quotes, rendered by the code, by heading.
async fn rendered() -> BTreeMap<&'static str, Vec<String>> {
    let mut m: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    m.entry("AuthorizationFailed").or_default().push(
        arm_error(
            403,
            error_body(
                "AuthorizationFailed",
                "The client '3f1e0c5a-7a6b-4d8e-9c2f-1b0a9e8d7c6b' with object id \
                 '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d' does not have authorization to perform action \
                 'Microsoft.MachineLearningServices/workspaces/read' over scope \
                 '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/test-rg/providers/\
                 Microsoft.MachineLearningServices/workspaces/my-aml-workspace' or the scope is invalid. If access \
                 was recently granted, please refresh your credentials.",
            ),
            "workspace",
        )
        .await,
    );
    m.entry("ResourceNotFound").or_default().push(
        arm_error(
            404,
            error_body(
                "ResourceGroupNotFound",
                "Resource group 'test-rg' could not be found.",
            ),
            "workspace",
        )
        .await,
    );
    m.entry("ResourceNotFound").or_default().push(
        arm_error(
            404,
            error_body(
                "ResourceNotFound",
                "The Resource 'Microsoft.MachineLearningServices/workspaces/my-aml-workspace' under resource group \
                 'test-rg' was not found.",
            ),
            "workspace",
        )
        .await,
    );
    m.entry("Conflict: operation in progress")
        .or_default()
        .push(busy_error().await);
    m.entry("Conflict: name taken").or_default().push(
        arm_write_error(
            409,
            error_body(
                "UserError",
                "A model version churn:3 already exists with different properties; versions are immutable.",
            ),
            "model",
        )
        .await,
    );
    m.entry("TooManyRequests").or_default().push(
        arm_error(
            429,
            error_body(
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation type - Read.",
            ),
            "job",
        )
        .await,
    );
    m.entry("UserError from job validation").or_default().push(
        arm_write_error(
            400,
            error_body(
                "UserError",
                "Compute cpu-cluster not found in workspace my-aml-workspace.",
            ),
            "job",
        )
        .await,
    );
    m.entry("Workload identity federation").or_default().push(
        entra_error(
            json!({"error": "invalid_request", "error_description":
                "AADSTS70021: No matching federated identity record found for presented assertion. Assertion \
                 Issuer: 'https://vstoken.dev.azure.com/0a1b2c3d-4e5f-6789-abcd-ef0123456789'. Assertion Subject: \
                 'sc://contoso/churn/aml-service-connection'. Assertion Audience: 'api://AzureADTokenExchange'.\r\n\
                 Trace ID: 1c2d3e4f\r\nCorrelation ID: 5a6b7c8d\r\nTimestamp: 2026-12-06 08:51:30Z"}),
            true,
        )
        .await,
    );
    m.entry("Service principal secret").or_default().push(
        entra_error(
            json!({"error": "invalid_client", "error_description":
                "AADSTS7000222: The provided client secret keys for app '3f1e0c5a-7a6b-4d8e-9c2f-1b0a9e8d7c6b' \
                 are expired.\r\nTrace ID: 1c2d3e4f"}),
            false,
        )
        .await,
    );
    let missing_ca = NetworkSettings {
        ca_bundle: Some(PathBuf::from("/etc/ssl/corp/proxy-ca.pem")),
        ..NetworkSettings::default()
    };
    m.entry("Proxy and custom CA")
        .or_default()
        .push(build_client(&missing_ca).unwrap_err().to_string());
    let bad_proxy = NetworkSettings {
        proxy_url: Some("http://proxy.contoso.com:80800".into()),
        ..NetworkSettings::default()
    };
    m.entry("Proxy and custom CA")
        .or_default()
        .push(build_client(&bad_proxy).unwrap_err().to_string());
    m
}

#[tokio::test]
async fn every_quoted_message_is_one_the_code_prints() {
    let doc = quoted();
    let code = rendered().await;
    let mut problems = Vec::new();
    for (heading, messages) in &code {
        let quotes = doc.get(*heading).cloned().unwrap_or_default();
        for message in messages {
            if !quotes.contains(message) {
                problems.push(format!(
                    "## {heading}: the page does not quote what the code prints:\n{message}\n"
                ));
            }
        }
    }
    for (heading, quotes) in &doc {
        // The launcher's message is checked by task-manifests/test/launcher.test.js.
        if heading == "No binary for the agent's platform" {
            continue;
        }
        let printed = code.get(heading.as_str()).cloned().unwrap_or_default();
        for q in quotes {
            if !printed.contains(q) {
                problems.push(format!(
                    "## {heading}: quoted, but no test case prints it:\n{q}\n"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
