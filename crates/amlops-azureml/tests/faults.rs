//! Faults: throttling, 5xx, exhausted retries, connection resets, malformed bodies, long-running operations,
//! token refresh, cancellation.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use amlops_azureml::models::*;
use amlops_azureml::{ErrorKind, PollOptions};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn workspace_body() -> serde_json::Value {
    json!({"id": "x", "name": WS, "properties": {"discoveryUrl": "https://d", "workspaceId": "w"}})
}

#[tokio::test(start_paused = true)]
async fn throttled_429_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(workspace_body()))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.retry = amlops_azureml::RetryPolicy::default();
    let (sink, _) = recording_sink();
    let client = paused_client_with(cfg, Some(CountingSource::new(Duration::from_secs(3600))), sink);
    let start = tokio::time::Instant::now();
    let ws = client.get_workspace().await.unwrap();
    let waited = start.elapsed();
    assert_eq!(ws.properties.workspace_id.as_deref(), Some("w"));
    assert!(waited >= Duration::from_secs(7), "waited {waited:?}");
    assert!(waited < Duration::from_secs(8), "waited {waited:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn retry_after_ms_and_http_date_are_honoured_by_the_policy() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/a"))
        .respond_with(ResponseTemplate::new(503).insert_header("x-ms-retry-after-ms", "1234"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let date =
        amlops_azureml::http::format_http_date(time::OffsetDateTime::now_utc() + time::Duration::seconds(20));
    Mock::given(method("GET"))
        .and(path("/a"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", date.as_str()))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/a"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let waits = Arc::new(std::sync::Mutex::new(Vec::new()));
    let w = waits.clone();
    let policy = amlops_azureml::RetryPolicy::default().with_sleeper(Arc::new(move |d| {
        w.lock().unwrap().push(d);
        Box::pin(async {})
    }));
    let http = amlops_azureml::build_client(&Default::default()).unwrap();
    let url = format!("{}/a", server.uri());
    let resp = policy
        .execute(
            &Default::default(),
            amlops_azureml::Idempotency::Idempotent,
            || http.get(&url),
        )
        .await
        .unwrap();
    assert_eq!(resp.status.as_u16(), 200);
    assert_eq!(resp.attempts, 3);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits[0], Duration::from_millis(1234));
    assert!(
        waits[1] > Duration::from_secs(17) && waits[1] <= Duration::from_secs(20),
        "{waits:?}"
    );
}

#[tokio::test]
async fn repeated_503_then_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(workspace_body()))
        .mount(&server)
        .await;
    let ws = client(&server.uri()).get_workspace().await.unwrap();
    assert_eq!(ws.name.as_deref(), Some(WS));
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn exhausted_retries_give_an_error_with_every_field() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/jobs/j1", ws_path())))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("x-ms-request-id", "req-123")
                .insert_header("x-ms-correlation-request-id", "corr-456")
                .set_body_json(json!({"error": {"code": "ServiceBusy", "message": "try later",
                    "details": [{"code": "Inner", "message": "shard 3"}]}})),
        )
        .mount(&server)
        .await;
    let err = client(&server.uri()).get_job("j1").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Status);
    assert_eq!(err.operation, "jobs.get");
    assert_eq!(err.method, Some(reqwest::Method::GET));
    let url = err.url.clone().unwrap();
    assert!(
        url.contains("/jobs/j1") && url.contains("api-version=2026-07-01"),
        "{url}"
    );
    assert_eq!(err.status, Some(503));
    assert_eq!(err.attempts, Some(4));
    let arm = err.arm.clone().unwrap();
    assert_eq!(arm.code.as_deref(), Some("ServiceBusy"));
    assert_eq!(arm.message.as_deref(), Some("try later"));
    assert_eq!(arm.details[0].code.as_deref(), Some("Inner"));
    assert_eq!(err.request_id.as_deref(), Some("req-123"));
    assert_eq!(err.correlation_id.as_deref(), Some("corr-456"));
    assert!(err.body_excerpt.as_deref().unwrap().contains("ServiceBusy"));
    let text = err.to_string();
    for part in [
        "jobs.get",
        "ServiceBusy: try later",
        "HTTP 503",
        "req-123",
        "corr-456",
        "4 attempts",
    ] {
        assert!(text.contains(part), "{part} missing in {text}");
    }
    assert!(!text.contains("token-1"));
}

/// A server whose first connection is reset after the request is read; the second gets a 200.
async fn resetting_server(body: &'static str) -> (String, tokio::task::JoinHandle<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let mut served = 0;
        for i in 0..2 {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let _ = sock.read(&mut buf).await;
            served += 1;
            if i == 0 {
                drop(sock);
            } else {
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                sock.shutdown().await.unwrap();
            }
        }
        served
    });
    (format!("http://{addr}"), handle)
}

#[tokio::test]
async fn a_reset_connection_is_retried() {
    let (base, handle) =
        resetting_server(r#"{"name":"my-aml-workspace","properties":{"workspaceId":"w"}}"#).await;
    let ws = client(&base).get_workspace().await.unwrap();
    assert_eq!(ws.properties.workspace_id.as_deref(), Some("w"));
    assert_eq!(handle.await.unwrap(), 2);
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{}/jobs/j1", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"properties\": {\"status\": "))
        .mount(&server)
        .await;
    let err = client(&server.uri()).get_job("j1").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Decode);
    assert_eq!(err.status, Some(200));
    let text = err.to_string();
    assert!(
        text.contains("jobs.get failed: the response is not the expected JSON"),
        "{text}"
    );
    assert!(text.contains("body: {\"properties\""), "{text}");
}

#[tokio::test]
async fn lro_that_fails_returns_the_arm_error() {
    let server = MockServer::start().await;
    let op_url = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/op1",
        server.uri()
    );
    Mock::given(method("PUT"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("azure-asyncoperation", op_url.as_str())
                .set_body_json(json!({"properties": {"authMode": "Key", "provisioningState": "Creating"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/op1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "InProgress"})))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/op1")))
        .respond_with(ResponseTemplate::new(200).insert_header("x-ms-request-id", "rq").set_body_json(json!({
            "status": "Failed",
            "error": {"code": "QuotaExceeded", "message": "not enough cores", "details": [{"code": "Cores", "message": "need 4"}]}
        })))
        .mount(&server)
        .await;
    let body: OnlineEndpoint =
        serde_json::from_value(json!({"location": "westeurope", "properties": {"authMode": "Key"}})).unwrap();
    let err = client(&server.uri())
        .create_or_update_online_endpoint("ep", &body)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::OperationFailed);
    assert_eq!(err.operation, "onlineEndpoints.createOrUpdate");
    let arm = err.arm.clone().unwrap();
    assert_eq!(arm.code.as_deref(), Some("QuotaExceeded"));
    assert_eq!(arm.details[0].message.as_deref(), Some("need 4"));
    assert_eq!(err.request_id.as_deref(), Some("rq"));
    assert!(err.to_string().contains("QuotaExceeded: not enough cores"));
    // PUT + 3 polls, no final GET.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn location_lro_polls_while_202() {
    let server = MockServer::start().await;
    let loc = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/w/mfeOperationResults/op2",
        server.uri()
    );
    Mock::given(method("DELETE"))
        .and(path(format!("{}/onlineEndpoints/ep/deployments/blue", ws_path())))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("location", loc.as_str())
                .insert_header("retry-after", "0"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/w/mfeOperationResults/op2")))
        .respond_with(ResponseTemplate::new(202).insert_header("location", loc.as_str()))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/w/mfeOperationResults/op2")))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    client(&server.uri())
        .delete_online_deployment("ep", "blue")
        .await
        .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn lro_to_another_host_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("{}/jobs/j", ws_path())))
        .respond_with(ResponseTemplate::new(202).insert_header("location", "https://evil.example/steal"))
        .mount(&server)
        .await;
    let err = client(&server.uri()).delete_job("j").await.unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// Answers an operation-status poll with `Running`, and cancels `cancel` at poll number `at`.
struct CancelOnPoll {
    polls: std::sync::atomic::AtomicUsize,
    at: usize,
    cancel: amlops_agent::CancellationToken,
}

impl wiremock::Respond for CancelOnPoll {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let n = self.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if n == self.at {
            self.cancel.cancel();
        }
        ResponseTemplate::new(200).set_body_json(json!({"status": "Running"}))
    }
}

#[tokio::test(start_paused = true)]
async fn lro_timeout_and_cancellation() {
    let server = MockServer::start().await;
    let op_url = format!("{}/ops/1", server.uri());
    Mock::given(method("PUT"))
        .and(path(format!("{}/schedules/s", ws_path())))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("azure-asyncoperation", op_url.as_str())
                .set_body_json(json!({"properties": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Running"})))
        .mount(&server)
        .await;
    let body: Schedule = serde_json::from_value(json!({"properties": {"isEnabled": true}})).unwrap();
    let mut cfg = config(&server.uri());
    cfg.poll = PollOptions {
        interval: Duration::from_secs(5),
        max_interval: Duration::from_secs(60),
        timeout: Duration::from_secs(60),
    };
    let (sink, _) = recording_sink();
    let c = paused_client_with(
        cfg.clone(),
        Some(CountingSource::new(Duration::from_secs(3600))),
        sink.clone(),
    );
    let start = tokio::time::Instant::now();
    let err = c.create_or_update_schedule("s", &body).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(start.elapsed() <= Duration::from_secs(60));
    assert!(start.elapsed() >= Duration::from_secs(55));

    // Cancel while the operation is still running: the second status poll pulls the trigger.
    let cancel = amlops_agent::CancellationToken::new();
    server.reset().await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/schedules/s", ws_path())))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("azure-asyncoperation", op_url.as_str())
                .set_body_json(json!({"properties": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/1"))
        .respond_with(CancelOnPoll {
            polls: Default::default(),
            at: 2,
            cancel: cancel.clone(),
        })
        .mount(&server)
        .await;
    let c = paused_client_cancel(
        cfg,
        Some(CountingSource::new(Duration::from_secs(3600))),
        sink,
        cancel.clone(),
    );
    let err = c.create_or_update_schedule("s", &body).await.unwrap_err();
    assert!(cancel.is_cancelled());
    assert!(err.is_canceled());
    assert!(amlops_agent::is_canceled(&err));
}

#[tokio::test(start_paused = true)]
async fn token_expiring_during_a_long_poll_is_refreshed() {
    let server = MockServer::start().await;
    let op_url = format!("{}/ops/long", server.uri());
    Mock::given(method("PUT"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("azure-asyncoperation", op_url.as_str())
                .set_body_json(json!({"properties": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/long"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "InProgress"})))
        .up_to_n_times(30)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/long"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/onlineEndpoints/ep", ws_path())))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"properties": {"provisioningState": "Succeeded"}})),
        )
        .mount(&server)
        .await;
    // Tokens live 10 minutes; the operation takes 30 polls of 60 s.
    let source = CountingSource::new(Duration::from_secs(600));
    let mut cfg = config(&server.uri());
    cfg.poll = PollOptions {
        interval: Duration::from_secs(60),
        max_interval: Duration::from_secs(60),
        timeout: Duration::from_secs(7200),
    };
    let (sink, seen) = recording_sink();
    let c = paused_client_with(cfg, Some(source.clone()), sink);
    let body: OnlineEndpoint =
        serde_json::from_value(json!({"location": "w", "properties": {"authMode": "Key"}})).unwrap();
    let ep = c.create_or_update_online_endpoint("ep", &body).await.unwrap();
    assert_eq!(
        ep.properties.provisioning_state,
        Some(ProvisioningState::Succeeded)
    );
    let asked = source.count();
    assert!(asked >= 4, "the credential was asked {asked} times");
    let auths: std::collections::BTreeSet<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string())
        })
        .collect();
    assert!(auths.len() >= 4, "{auths:?}");
    // Every token went to the secret sink.
    let seen = seen.lock().unwrap();
    for n in 1..=asked {
        assert!(seen.contains(&format!("token-{n}")));
    }
}

#[tokio::test]
async fn non_idempotent_invoke_is_not_retried_on_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/score"))
        .and(wiremock::matchers::header("authorization", "Bearer k1"))
        .and(wiremock::matchers::header("azureml-model-deployment", "green"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let resp = client(&server.uri())
        .invoke_endpoint(
            &format!("{}/score", server.uri()),
            "k1",
            Some("green"),
            &json!({"data": [1]}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status.as_u16(), 502);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn unauthorised_once_refetches_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .and(wiremock::matchers::header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ws_path()))
        .and(wiremock::matchers::header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(workspace_body()))
        .mount(&server)
        .await;
    client(&server.uri()).get_workspace().await.unwrap();
}

#[tokio::test]
async fn insecure_and_credential_less_urls_are_refused() {
    let (sink, _) = recording_sink();
    let http = amlops_azureml::build_client(&Default::default()).unwrap();
    let cfg = config("http://management.example.com/");
    let err = amlops_azureml::AzureMlClient::new(http.clone(), cfg, None, sink.clone(), Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("plain http"), "{err}");
    let cfg = config("https://management.azure.com/");
    let err = amlops_azureml::AzureMlClient::new(http.clone(), cfg, None, sink.clone(), Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("only for loopback"), "{err}");
    let cfg = config("http://127.0.0.1:1/");
    assert!(amlops_azureml::AzureMlClient::new(http, cfg, None, sink, Default::default()).is_ok());
}
