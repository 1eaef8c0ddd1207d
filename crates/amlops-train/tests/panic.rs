//! A panic while the task waits for its job: run_task's guard cancels the Azure ML job through the hook the task
//! registered, and reports the panic as the task's error.

use amlops_agent::{
    CancellationToken, NetworkSettings, Output, TaskContext, TaskEnv, error_chain_message, run_guarded,
};
use amlops_azureml::{AzureMlClient, ClientConfig, build_client};
use amlops_train::client_api::ClientJobApi;
use amlops_train::flow::WatchedJob;
use amlops_train::register_panic_cancel;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WS: &str =
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

#[tokio::test]
async fn a_panic_while_waiting_cancels_the_job() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{WS}/jobs/train-42/cancel")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let http = build_client(&NetworkSettings::default()).unwrap();
    let config = ClientConfig::new(&server.uri(), "sub", "rg", "ws");
    let client = AzureMlClient::new(
        http,
        config,
        None,
        amlops_azureml::http::ignore_secrets(),
        CancellationToken::new(),
    )
    .unwrap();
    let cleanup = ClientJobApi::new(client, amlops_agent::AzureEnvironment::AzureCloud);
    let (output, buf) = Output::capture(false);
    let ctx = TaskContext::new(TaskEnv::default(), output, CancellationToken::new());
    let watched = WatchedJob::default();
    let err = run_guarded(ctx, |ctx| async move {
        let _guard = register_panic_cancel(&ctx, &cleanup, &watched);
        watched.set(Some("train-42"));
        let statuses: Vec<&str> = Vec::new();
        // A bug while reading the job's status.
        let first = statuses.first().copied().expect("a status");
        Ok(amlops_agent::Outcome::succeeded(first))
    })
    .await
    .expect_err("a panic is the task's error");
    let message = error_chain_message(err.as_ref());
    assert!(message.contains("the task panicked"), "{message}");
    assert!(
        message.contains("cancellation of the job 'train-42' requested"),
        "{message}"
    );
    assert!(
        buf.text()
            .contains("Clean-up after the panic (cancel the Azure ML job being waited for)"),
        "{}",
        buf.text()
    );
    server.verify().await;
}

#[tokio::test]
async fn without_a_watched_job_the_hook_does_nothing() {
    let (output, _buf) = Output::capture(false);
    let ctx = TaskContext::new(TaskEnv::default(), output, CancellationToken::new());
    let server = MockServer::start().await;
    let http = build_client(&NetworkSettings::default()).unwrap();
    let client = AzureMlClient::new(
        http,
        ClientConfig::new(&server.uri(), "sub", "rg", "ws"),
        None,
        amlops_azureml::http::ignore_secrets(),
        CancellationToken::new(),
    )
    .unwrap();
    let cleanup = ClientJobApi::new(client, amlops_agent::AzureEnvironment::AzureCloud);
    let watched = WatchedJob::default();
    let err = run_guarded(ctx, |ctx| async move {
        let _guard = register_panic_cancel(&ctx, &cleanup, &watched);
        let values: Vec<u32> = ctx.env.get("NOT_SET").map(|_| 1).into_iter().collect();
        Ok(amlops_agent::Outcome::succeeded(values[0].to_string()))
    })
    .await
    .expect_err("panicked");
    assert!(
        error_chain_message(err.as_ref()).contains("no job was being waited for"),
        "{}",
        error_chain_message(err.as_ref())
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
