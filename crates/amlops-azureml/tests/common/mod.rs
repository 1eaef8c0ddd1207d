//! Shared test helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amlops_agent::{CancellationToken, NetworkSettings};
use amlops_azureml::credential::{AccessToken, Credential, TokenSource};
use amlops_azureml::http::{RetryPolicy, SecretSink, build_client};
use amlops_azureml::{AzureMlClient, AzureMlError, ClientConfig, PollOptions};
use async_trait::async_trait;

pub const SUB: &str = "00000000-1111-2222-3333-444444444444";
pub const RG: &str = "test-rg";
pub const WS: &str = "my-aml-workspace";

pub fn examples_dir() -> PathBuf {
    // Copied into the repository with their provenance (tests/data/rest-examples/README.md).
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rest-examples/examples"
    ))
}

/// A token source that counts calls and hands out `token-<n>` valid for `lifetime`.
#[derive(Debug)]
pub struct CountingSource {
    pub calls: AtomicUsize,
    pub lifetime: Duration,
}

impl CountingSource {
    pub fn new(lifetime: Duration) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            lifetime,
        })
    }
    pub fn count(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenSource for CountingSource {
    async fn fetch_token(&self, _scope: &str, _c: &CancellationToken) -> Result<AccessToken, AzureMlError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(AccessToken {
            token: format!("token-{n}"),
            expires_on: time::OffsetDateTime::now_utc() + time::Duration::try_from(self.lifetime).unwrap(),
        })
    }
}

/// A secret sink that records what it is given.
pub fn recording_sink() -> (SecretSink, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (
        Arc::new(move |v: &str| s.lock().unwrap().push(v.to_string())),
        seen,
    )
}

/// A fast retry policy for tests (no jitter, small waits).
pub fn fast_retry() -> RetryPolicy {
    let mut r = RetryPolicy::default();
    r.max_attempts = 4;
    r.initial_backoff = Duration::from_millis(10);
    r.max_backoff = Duration::from_millis(50);
    r.jitter = 0.0;
    r
}

pub fn config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base, SUB, RG, WS);
    c.retry = fast_retry();
    c.poll = PollOptions {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(50),
        timeout: Duration::from_secs(30),
    };
    c
}

pub fn client_with(
    config: ClientConfig,
    source: Option<Arc<dyn TokenSource>>,
    sink: SecretSink,
) -> AzureMlClient {
    let http = build_client(&NetworkSettings::default()).unwrap();
    let cred = source.map(|s| Arc::new(Credential::new(s, sink.clone())));
    AzureMlClient::new(http, config, cred, sink, CancellationToken::new()).unwrap()
}

pub fn client(base: &str) -> AzureMlClient {
    let (sink, _) = recording_sink();
    client_with(
        config(base),
        Some(CountingSource::new(Duration::from_secs(3600))),
        sink,
    )
}

pub fn ws_path() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
    )
}

/// For tests with paused time: a client without timers (no timeouts, no idle-pool timer), because paused time
/// jumps to the next timer whenever the runtime waits for real I/O.
pub fn paused_client_with(
    config: ClientConfig,
    source: Option<Arc<dyn TokenSource>>,
    sink: SecretSink,
) -> AzureMlClient {
    paused_client_cancel(config, source, sink, CancellationToken::new())
}

pub fn paused_client_cancel(
    config: ClientConfig,
    source: Option<Arc<dyn TokenSource>>,
    sink: SecretSink,
    cancel: CancellationToken,
) -> AzureMlClient {
    let http = reqwest::Client::builder()
        .pool_idle_timeout(None)
        .no_proxy()
        .build()
        .unwrap();
    let cred = source.map(|s| Arc::new(Credential::new(s, sink.clone())));
    AzureMlClient::new(http, config, cred, sink, cancel).unwrap()
}
