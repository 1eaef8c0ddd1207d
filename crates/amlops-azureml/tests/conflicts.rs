//! Busy resources: a write that gets `409 Conflict` because another operation is in progress waits it out
//! (following the operation when its status URL is given, else backing off), bounded and cancellable; a permanent
//! 409 fails at once with the ARM code; hostile numbers and bodies from the server do not panic. Time is paused:
//! the waits are asserted exactly, without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use amlops_azureml::models::*;
use amlops_azureml::{ConflictOptions, ErrorKind};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const BUSY: &str = r#"{"error":{"code":"Conflict","message":"Conflict","details":[{"code":"OperationDuplicationConflict","message":"Conflict of operation, another operation on same entity is already running in workspace my-aml-workspace."}]}}"#;

/// Answers 409 (busy) to the first `busy` PUTs, then 201 with an `Azure-AsyncOperation` that has succeeded.
struct BusyThenOk {
    busy: usize,
    seen: Arc<AtomicUsize>,
    extra_headers: Vec<(&'static str, String)>,
    op_url: String,
}

impl Respond for BusyThenOk {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.busy {
            let mut t = ResponseTemplate::new(409).set_body_raw(BUSY, "application/json");
            for (k, v) in &self.extra_headers {
                t = t.insert_header(*k, v.as_str());
            }
            return t;
        }
        ResponseTemplate::new(201)
            .insert_header("azure-asyncoperation", self.op_url.as_str())
            .set_body_json(json!({"properties": {}}))
    }
}

fn endpoint() -> OnlineEndpoint {
    serde_json::from_value(json!({"location": "westeurope", "properties": {"authMode": "Key"}})).unwrap()
}

async fn mount_endpoint(
    server: &MockServer,
    busy: usize,
    extra: Vec<(&'static str, String)>,
) -> Arc<AtomicUsize> {
    let seen = Arc::new(AtomicUsize::new(0));
    let op_url = format!("{}/ops/put", server.uri());
    Mock::given(method("PUT"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(BusyThenOk {
            busy,
            seen: seen.clone(),
            extra_headers: extra,
            op_url,
        })
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/put"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"properties": {"provisioningState": "Succeeded"}})),
        )
        .mount(server)
        .await;
    seen
}

fn conflict_config(base: &str) -> amlops_azureml::ClientConfig {
    let mut cfg = config(base);
    cfg.conflict = ConflictOptions {
        max_wait: Duration::from_secs(600),
        initial_backoff: Duration::from_secs(5),
        max_backoff: Duration::from_secs(60),
    };
    cfg.poll.timeout = Duration::from_secs(3600);
    cfg
}

fn paused(cfg: amlops_azureml::ClientConfig) -> amlops_azureml::AzureMlClient {
    let (sink, _) = recording_sink();
    paused_client_with(cfg, Some(CountingSource::new(Duration::from_secs(3600))), sink)
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_busy_twice_is_written_after_backing_off() {
    let server = MockServer::start().await;
    let seen = mount_endpoint(&server, 2, Vec::new()).await;
    let c = paused(conflict_config(&server.uri()));
    let start = tokio::time::Instant::now();
    let ep = c
        .create_or_update_online_endpoint("ep", &endpoint())
        .await
        .unwrap();
    assert_eq!(
        ep.properties.provisioning_state,
        Some(ProvisioningState::Succeeded)
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3, "two busy answers, then the write");
    // 5 s, then 10 s of backoff; the LRO poll interval of the test config is 10 ms.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(15) && waited < Duration::from_secs(16),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_operation_in_flight_is_followed_when_its_status_url_is_given() {
    let server = MockServer::start().await;
    let other = format!("{}/ops/other", server.uri());
    let seen = mount_endpoint(&server, 1, vec![("azure-asyncoperation", other.clone())]).await;
    let polls = Arc::new(AtomicUsize::new(0));
    struct Other(Arc<AtomicUsize>);
    impl Respond for Other {
        fn respond(&self, _req: &Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            let status = if n < 3 { "InProgress" } else { "Failed" };
            ResponseTemplate::new(200)
                .insert_header("retry-after", "20")
                .set_body_json(json!({"status": status}))
        }
    }
    Mock::given(method("GET"))
        .and(path("/ops/other"))
        .respond_with(Other(polls.clone()))
        .mount(&server)
        .await;
    let mut cfg = conflict_config(&server.uri());
    cfg.poll.max_interval = Duration::from_secs(60);
    let c = paused(cfg);
    let start = tokio::time::Instant::now();
    c.create_or_update_online_endpoint("ep", &endpoint())
        .await
        .unwrap();
    // Someone else's operation ending Failed is not our failure: the write goes through afterwards.
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    // Polled at once, then twice after the operation's Retry-After of 20 s; no blind backoff on top.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(40) && waited < Duration::from_secs(41),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_status_url_in_the_message_is_followed_too() {
    let server = MockServer::start().await;
    let op = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/abc?api-version=2026-07-01",
        server.uri()
    );
    let body = json!({"error": {"code": "Conflict", "message": format!(
        "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: {op}."
    )}});
    let seen = Arc::new(AtomicUsize::new(0));
    struct Once(Arc<AtomicUsize>, Value);
    impl Respond for Once {
        fn respond(&self, _req: &Request) -> ResponseTemplate {
            if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
                ResponseTemplate::new(409).set_body_json(self.1.clone())
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"properties": {}}))
            }
        }
    }
    Mock::given(method("PUT"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(Once(seen.clone(), body))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/abc"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"properties": {}})))
        .mount(&server)
        .await;
    let c = paused(conflict_config(&server.uri()));
    let start = tokio::time::Instant::now();
    c.create_or_update_online_endpoint("ep", &endpoint())
        .await
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_permanent_conflict_fails_at_once_with_the_arm_code() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/models/m/versions/1", ws_path())))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"error": {
            "code": "UserError",
            "message": "Asset paths cannot be updated: the model version m:1 already exists with another path."
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let c = paused(conflict_config(&server.uri()));
    let body: ModelVersion =
        serde_json::from_value(json!({"properties": {"modelUri": "azureml://x"}})).unwrap();
    let start = tokio::time::Instant::now();
    let err = c
        .create_or_update_model_version("m", "1", &body)
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(err.status, Some(409));
    assert_eq!(
        err.arm.as_ref().and_then(|a| a.code.as_deref()),
        Some("UserError")
    );
    let text = err.to_string();
    assert!(
        text.contains("UserError: Asset paths cannot be updated"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resource_that_stays_busy_fails_after_the_budget_naming_the_service_error() {
    let server = MockServer::start().await;
    let seen = mount_endpoint(&server, usize::MAX, Vec::new()).await;
    let mut cfg = conflict_config(&server.uri());
    cfg.conflict.max_wait = Duration::from_secs(120);
    let c = paused(cfg);
    let start = tokio::time::Instant::now();
    let err = c
        .create_or_update_online_endpoint("ep", &endpoint())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    let text = amlops_agent::error_chain_message(&err);
    assert!(
        text.contains("stayed busy with another operation for 120 s"),
        "{text}"
    );
    assert!(text.contains("OperationDuplicationConflict"), "{text}");
    assert!(text.contains("HTTP 409"), "{text}");
    assert!(
        !text.contains("name-taken"),
        "busy is not advised as a taken name: {text}"
    );
    // 5 + 10 + 20 + 40 + 45 (the rest of the budget) s.
    assert_eq!(start.elapsed(), Duration::from_secs(120));
    assert_eq!(seen.load(Ordering::SeqCst), 6);
}

#[tokio::test(start_paused = true)]
async fn cancellation_ends_a_conflict_wait_at_once() {
    let server = MockServer::start().await;
    mount_endpoint(&server, usize::MAX, Vec::new()).await;
    let cancel = amlops_agent::CancellationToken::new();
    let (sink, _) = recording_sink();
    let c = paused_client_cancel(
        conflict_config(&server.uri()),
        Some(CountingSource::new(Duration::from_secs(3600))),
        sink,
        cancel.clone(),
    );
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(7)).await;
        trigger.cancel();
    });
    let start = tokio::time::Instant::now();
    let err = c
        .create_or_update_online_endpoint("ep", &endpoint())
        .await
        .unwrap_err();
    assert!(err.is_canceled(), "{err}");
    assert!(amlops_agent::is_canceled(&err));
    assert_eq!(start.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn a_get_that_answers_409_is_not_retried_as_a_busy_write() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(ResponseTemplate::new(409).set_body_raw(BUSY, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = paused(conflict_config(&server.uri()));
    let err = c.get_online_endpoint("ep").await.unwrap_err();
    assert_eq!(err.status, Some(409));
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_of_1e20_ends_the_retries_without_panicking() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1e20"))
        .expect(1)
        .mount(&server)
        .await;
    let c = paused(conflict_config(&server.uri()));
    let err = c.get_online_endpoint("ep").await.unwrap_err();
    assert_eq!(err.status, Some(503));
}

#[tokio::test]
async fn a_body_over_the_limit_is_an_error_not_an_allocation() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![b' '; 4096], "application/json"))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.retry.max_body = 1024;
    let (sink, _) = recording_sink();
    let c = client_with(cfg, Some(CountingSource::new(Duration::from_secs(3600))), sink);
    let err = c.get_online_endpoint("ep").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Decode, "{err}");
    assert!(
        err.to_string().contains("larger than the limit of 1024 bytes"),
        "{err}"
    );
}
