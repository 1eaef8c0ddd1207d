//! Bodies are logged at debug level only, with secrets redacted.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::*;
use amlops_azureml::models::Job;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn run(level: tracing::Level) -> String {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/jobs/j1", ws_path())))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"name": "j1", "properties": {"status": "Queued"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{}/onlineEndpoints/ep/listKeys", ws_path())))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"primaryKey": "PRIMARY-KEY-VALUE", "secondaryKey": "K2"})),
        )
        .mount(&server)
        .await;
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Every event, whatever sibling tests' threads cached (once in CI, the listKeys response was lost).
    let _capture = amlops_testkit::capture_tracing(subscriber);
    let c = client(&server.uri());
    let job: Job = serde_json::from_value(
        json!({"properties": {"jobType": "Command", "command": "python train.py",
        "environmentVariables": {"DB_PASSWORD": "hunter2"}}}),
    )
    .unwrap();
    c.create_or_update_job("j1", &job).await.unwrap();
    c.list_endpoint_keys("ep").await.unwrap();
    String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn debug_logs_bodies_with_secrets_redacted() {
    let logs = run(tracing::Level::DEBUG).await;
    assert!(logs.contains("python train.py"), "{logs}");
    assert!(
        logs.contains("\\\"DB_PASSWORD\\\":\\\"REDACTED\\\"")
            || logs.contains("\"DB_PASSWORD\":\"REDACTED\""),
        "{logs}"
    );
    assert!(!logs.contains("hunter2"));
    assert!(!logs.contains("PRIMARY-KEY-VALUE"));
    assert!(!logs.contains("token-1"));
    assert!(logs.contains("<secret>"));
}

#[tokio::test(flavor = "current_thread")]
async fn info_logs_no_bodies() {
    let logs = run(tracing::Level::INFO).await;
    assert!(!logs.contains("python train.py"), "{logs}");
}
