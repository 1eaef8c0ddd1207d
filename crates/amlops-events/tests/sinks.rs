//! Every sink against a wiremock server, with the payload asserted; retries, the give-up warning, secrets, the
//! audit trail and its artifact, the notifyOn filter and input errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amlops_agent::{CancellationToken, CaptureBuffer, Output, PipelineContext, TaskContext, TaskEnv};
use amlops_azureml::http::RetryPolicy;
use amlops_events::{
    AssetRef, Emitter, EmitterBuilder, Event, EventType, EventsError, NotifySettings, WorkspaceInfo,
    default_retry_policy,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const RUN_URL: &str = "https://dev.example/org/mlops/_build/results?buildId=77";

fn env_pairs() -> Vec<(String, String)> {
    [
        ("SYSTEM_COLLECTIONURI", "https://dev.example/org/"),
        ("SYSTEM_TEAMPROJECT", "mlops"),
        ("BUILD_BUILDID", "77"),
        ("BUILD_BUILDNUMBER", "20261126.7"),
        ("BUILD_SOURCEVERSION", "0123456789abcdef"),
        ("BUILD_SOURCEBRANCH", "refs/heads/main"),
        ("BUILD_REPOSITORY_NAME", "credit-risk"),
        ("BUILD_REQUESTEDFOR", "Grace Hopper"),
        ("BUILD_REQUESTEDFOREMAIL", "grace@example.org"),
        ("BUILD_REASON", "Manual"),
        ("SYSTEM_TASKINSTANCENAME", "Register"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn pipeline() -> PipelineContext {
    PipelineContext::from_env(&TaskEnv::from_map(env_pairs()))
}

type Delays = Arc<Mutex<Vec<Duration>>>;

/// The webhook retry policy without jitter, with waits recorded instead of slept.
fn test_retry() -> (RetryPolicy, Delays) {
    let delays: Delays = Arc::default();
    let seen = delays.clone();
    let mut policy = default_retry_policy().with_sleeper(Arc::new(move |d| {
        seen.lock().unwrap().push(d);
        Box::pin(async {})
    }));
    policy.jitter = 0.0;
    (policy, delays)
}

struct Harness {
    emitter: Emitter,
    output: Output,
    out: CaptureBuffer,
    delays: Delays,
    _dir: tempfile::TempDir,
}

fn harness(
    notify: &str,
    notify_on: &str,
    configure: impl FnOnce(EmitterBuilder) -> EmitterBuilder,
) -> Harness {
    let (output, out) = Output::capture(false);
    let mut settings = NotifySettings::parse(notify, notify_on).unwrap();
    settings.secret = Some("hmac-key-42".into());
    for t in &settings.targets {
        for s in t.secrets() {
            output.register_secret(&s);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (retry, delays) = test_retry();
    let builder = EmitterBuilder::new(output.clone(), pipeline())
        .settings(settings)
        .workspace(WorkspaceInfo::named("mlw-prod"))
        .retry(retry)
        .dir(dir.path());
    let emitter = configure(builder).build().unwrap();
    Harness {
        emitter,
        output,
        out,
        delays,
        _dir: dir,
    }
}

impl Harness {
    fn out_output(&self) -> Output {
        self.output.clone()
    }
}

fn model_event() -> Event {
    Event::model_registered(
        AssetRef::model("credit-risk", "3").with_id("azureml://registries/r/models/credit-risk/versions/3"),
    )
    .metric("auc", 0.9134)
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "one request expected");
    requests.remove(0)
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Lines of the captured output other than `task.setsecret` (which carries secrets to the agent by design).
fn visible(out: &CaptureBuffer) -> String {
    out.text()
        .lines()
        .filter(|l| !l.starts_with("##vso[task.setsecret]"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn teams_receives_an_adaptive_card_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/workflows/wf1/triggers/manual/paths/invoke"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let url = format!(
        "{}/workflows/wf1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TEAMSSIG0123456789",
        server.uri()
    );
    let h = harness(&format!("teams:{url}"), "", |b| b);
    let report = h.emitter.emit(model_event()).await;
    assert_eq!(report.delivered.len(), 1);

    let req = only_request(&server).await;
    assert_eq!(header(&req, "content-type"), "application/json");
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], "Model registered: credit-risk:3");
    assert_eq!(card["body"][0]["color"], "Good");
    let facts: Vec<(String, String)> = card["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "FactSet")
        .flat_map(|b| b["facts"].as_array().unwrap().clone())
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("Outcome", "succeeded"),
        ("Model", "credit-risk:3"),
        ("Workspace", "mlw-prod"),
        ("Requested for", "Grace Hopper <grace@example.org>"),
        ("Branch", "main"),
        ("Commit", "01234567"),
        ("auc", "0.9134"),
    ] {
        assert!(
            facts.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {facts:?}"
        );
    }
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["actions"][0]["url"], RUN_URL);

    let text = visible(&h.out);
    assert!(
        text.contains(&format!("sent to teams ({})", server.address())),
        "{text}"
    );
    assert!(!text.contains("TEAMSSIG0123456789"), "{text}");
}

#[tokio::test]
async fn slack_receives_block_kit_blocks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T000/B000/SLACKTOKEN42"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let h = harness(
        &format!("slack:{}/services/T000/B000/SLACKTOKEN42", server.uri()),
        "",
        |b| b,
    );
    let event = Event::gate_failed(AssetRef::model("credit-risk", "3"), "auc 0.71 < 0.80 <required>")
        .metric("auc", 0.71);
    h.emitter.emit(event).await;

    let req = only_request(&server).await;
    assert_eq!(header(&req, "content-type"), "application/json");
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["text"], "Gate failed: credit-risk:3 (failed)");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], "Gate failed: credit-risk:3");
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[1]["text"]["text"],
        ":x: auc 0.71 &lt; 0.80 &lt;required&gt;"
    );
    let fields: Vec<&str> = blocks
        .iter()
        .filter(|b| b["fields"].is_array())
        .flat_map(|b| {
            b["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["text"].as_str().unwrap())
        })
        .collect();
    assert!(fields.contains(&"*Model*\ncredit-risk:3"), "{fields:?}");
    assert!(fields.contains(&"*Outcome*\nfailed"), "{fields:?}");
    assert!(fields.contains(&"*auc*\n0.71"), "{fields:?}");
    assert!(
        blocks
            .iter()
            .all(|b| b["fields"].as_array().is_none_or(|f| f.len() <= 10))
    );
    let context = blocks.iter().find(|b| b["type"] == "context").unwrap();
    assert!(
        context["elements"][0]["text"]
            .as_str()
            .unwrap()
            .contains("com.amlops.gate.failed")
    );
    let actions = blocks.last().unwrap();
    assert_eq!(actions["type"], "actions");
    assert_eq!(actions["elements"][0]["type"], "button");
    assert_eq!(actions["elements"][0]["url"], RUN_URL);
    assert!(!visible(&h.out).contains("SLACKTOKEN42"));
}

/// HMAC-SHA256 written out from its definition, independent of the hmac crate.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_key: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_key: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([inner_key.as_slice(), message].concat());
    let outer = Sha256::digest([outer_key.as_slice(), inner.as_slice()].concat());
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn generic_webhooks_get_a_signed_structured_cloudevent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/ml"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let h = harness(
        &format!("webhook:{}/hooks/ml?token=WEBHOOKTOKEN99", server.uri()),
        "",
        |b| b,
    );
    let report = h.emitter.emit(model_event()).await;

    let req = only_request(&server).await;
    assert_eq!(
        header(&req, "content-type"),
        "application/cloudevents+json; charset=utf-8"
    );
    let expected = format!("sha256={}", hmac_sha256_hex(b"hmac-key-42", &req.body));
    assert_eq!(header(&req, "x-amlops-signature"), expected);
    let ce: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["id"], report.id.as_str());
    assert_eq!(ce["source"], RUN_URL);
    assert_eq!(ce["type"], "com.amlops.model.registered");
    assert_eq!(
        ce["subject"],
        "azureml://registries/r/models/credit-risk/versions/3"
    );
    assert_eq!(ce["datacontenttype"], "application/json");
    let time = ce["time"].as_str().unwrap();
    assert!(time.ends_with('Z'), "{time}");
    time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).unwrap();
    let data = &ce["data"];
    assert_eq!(data["who"]["name"], "Grace Hopper");
    assert_eq!(data["why"]["reason"], "Manual");
    assert_eq!(data["when"], ce["time"]);
    assert_eq!(data["build"]["id"], "77");
    assert_eq!(data["build"]["number"], "20261126.7");
    assert_eq!(data["build"]["runUrl"], RUN_URL);
    assert_eq!(data["build"]["step"], "Register");
    assert_eq!(data["source"]["commit"], "0123456789abcdef");
    assert_eq!(data["source"]["repository"], "credit-risk");
    assert_eq!(data["source"]["branch"], "refs/heads/main");
    assert_eq!(data["workspace"]["name"], "mlw-prod");
    assert_eq!(data["assets"][0]["name"], "credit-risk");
    assert_eq!(data["assets"][0]["version"], "3");
    assert_eq!(data["outcome"], "succeeded");
    assert_eq!(data["metrics"]["auc"], 0.9134);
    assert!(!visible(&h.out).contains("WEBHOOKTOKEN99"));
}

#[tokio::test]
async fn without_a_secret_generic_webhooks_are_not_signed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (output, _out) = Output::capture(false);
    let dir = tempfile::tempdir().unwrap();
    let emitter = EmitterBuilder::new(output, pipeline())
        .settings(NotifySettings::parse(&format!("{}/h", server.uri()), "").unwrap())
        .dir(dir.path())
        .build()
        .unwrap();
    emitter.emit(model_event()).await;
    let req = only_request(&server).await;
    assert!(req.headers.get("x-amlops-signature").is_none());
}

#[tokio::test]
async fn event_grid_receives_a_cloudevents_batch_with_the_access_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/events"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // No path: /api/events is added.
    let h = harness(
        &format!("eventgrid:{} TOPICKEY-abcdef123456", server.uri()),
        "",
        |b| b,
    );
    let report = h
        .emitter
        .emit(Event::job_completed(AssetRef::job("train-42")).metric("loss", 0.25))
        .await;
    assert_eq!(report.failed, Vec::<String>::new());

    let req = only_request(&server).await;
    assert_eq!(
        header(&req, "content-type"),
        "application/cloudevents-batch+json; charset=utf-8"
    );
    assert_eq!(header(&req, "aeg-sas-key"), "TOPICKEY-abcdef123456");
    assert_eq!(req.url.query(), Some("api-version=2018-01-01"));
    assert!(req.headers.get("authorization").is_none());
    let batch: Value = serde_json::from_slice(&req.body).unwrap();
    let events = batch.as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "com.amlops.job.completed");
    assert_eq!(events[0]["specversion"], "1.0");
    assert_eq!(events[0]["subject"], "train-42");
    assert_eq!(events[0]["id"], report.id.as_str());
    assert!(!visible(&h.out).contains("TOPICKEY-abcdef123456"));
}

#[tokio::test]
async fn event_grid_without_a_key_uses_an_entra_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/events"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let scopes: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = scopes.clone();
    let h = harness(&format!("eventgrid:{}/api/events", server.uri()), "", move |b| {
        b.token_provider(Arc::new(move |scope: &str| {
            seen.lock().unwrap().push(scope.to_string());
            async { Ok::<_, amlops_events::TokenError>("ENTRA-TOKEN-xyz789".to_string()) }
        }))
    });
    h.emitter
        .emit(Event::new(EventType::DriftDetected).subject("azureml:data:sales:4"))
        .await;
    let req = only_request(&server).await;
    assert_eq!(header(&req, "authorization"), "Bearer ENTRA-TOKEN-xyz789");
    assert!(req.headers.get("aeg-sas-key").is_none());
    assert_eq!(
        scopes.lock().unwrap().as_slice(),
        ["https://eventgrid.azure.net/.default"]
    );
    let text = h.out.text();
    assert!(
        text.contains("##vso[task.setsecret]ENTRA-TOKEN-xyz789"),
        "the token is registered"
    );
    assert!(!visible(&h.out).contains("ENTRA-TOKEN-xyz789"));
}

#[test]
fn event_grid_without_a_key_or_a_credential_is_a_setup_error() {
    let (output, _) = Output::capture(false);
    let err = EmitterBuilder::new(output, pipeline())
        .settings(
            NotifySettings::parse(
                "# c\neventgrid:https://t.westeurope-1.eventgrid.azure.net/api/events",
                "",
            )
            .unwrap(),
        )
        .build()
        .unwrap_err();
    assert!(
        matches!(err, EventsError::EventGridNeedsCredential { line: 2 }),
        "{err}"
    );
    assert!(err.to_string().contains("'notify', line 2"), "{err}");
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let h = harness(&format!("webhook:{}/h", server.uri()), "", |b| b);
    let report = h.emitter.emit(model_event()).await;
    assert_eq!(report.delivered, vec![format!("webhook ({})", server.address())]);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(
        h.delays.lock().unwrap().as_slice(),
        [Duration::from_secs(1), Duration::from_secs(2)]
    );
    assert!(h.out.text().contains("after 3 attempts"));
    let finished = h.emitter.finish().await.unwrap();
    assert!(finished.failed_deliveries.is_empty());
}

#[tokio::test]
async fn a_sink_that_keeps_failing_gives_a_warning_without_its_secret_and_the_task_goes_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal\nerror"))
        .mount(&server)
        .await;
    let h = harness(
        &format!("{}/hooks/SECRETPATHTOKEN/x?code=QUERYSECRET777", server.uri()),
        "",
        |b| b,
    );
    let report = h.emitter.emit(model_event()).await;
    assert_eq!(report.failed, vec![format!("webhook ({})", server.address())]);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert_eq!(
        h.delays.lock().unwrap().as_slice(),
        [
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(4)
        ]
    );
    let text = visible(&h.out);
    let warning = text
        .lines()
        .find(|l| l.starts_with("##vso[task.logissue type=warning"))
        .expect("a warning");
    assert!(
        warning.contains(&format!("webhook ({})", server.address())),
        "{warning}"
    );
    assert!(warning.contains("HTTP 500: internal error"), "{warning}");
    assert!(warning.contains("(4 attempts)"), "{warning}");
    assert!(
        !text.contains("SECRETPATHTOKEN") && !text.contains("QUERYSECRET777"),
        "{text}"
    );
    // failOnNotifyError is false: finish succeeds and reports the failure.
    let finished = h.emitter.finish().await.unwrap();
    assert_eq!(finished.failed_deliveries.len(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_fail_the_task_with_fail_on_notify_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let h = harness(&format!("slack:{}/services/gone", server.uri()), "", |b| {
        let mut s = NotifySettings::parse(&format!("slack:{}/services/gone", server.uri()), "").unwrap();
        s.fail_on_error = true;
        b.settings(s)
    });
    h.emitter.emit(model_event()).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(h.delays.lock().unwrap().is_empty());
    let err = h.emitter.finish().await.unwrap_err();
    assert!(
        matches!(err, EventsError::DeliveryFailed { count: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("slack ({})", server.address())),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_sink_is_a_warning_too() {
    // Bind then drop a listener: the port refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = harness(&format!("teams:http://127.0.0.1:{port}/workflows/abc"), "", |b| b);
    let report = h.emitter.emit(model_event()).await;
    assert_eq!(report.failed, vec![format!("teams (127.0.0.1:{port})")]);
    let text = visible(&h.out);
    assert!(text.contains("connection failed"), "{text}");
    assert!(!text.contains("/workflows/abc"), "{text}");
}

#[tokio::test]
async fn after_cancellation_deliveries_are_tried_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let h = harness(&format!("webhook:{}/h", server.uri()), "", |b| b.cancel(cancel));
    let report = h
        .emitter
        .emit(Event::job_canceled(AssetRef::job("train-1")))
        .await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn notify_on_keeps_other_events_from_webhooks_but_not_from_the_audit_trail() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let h = harness(&format!("webhook:{}/h", server.uri()), "gate.failed", |b| b);
    let passed = h
        .emitter
        .emit(Event::gate_passed(AssetRef::model("m", "1")))
        .await;
    assert!(passed.filtered_out && passed.delivered.is_empty());
    let failed = h
        .emitter
        .emit(Event::gate_failed(AssetRef::model("m", "1"), "too slow"))
        .await;
    assert!(!failed.filtered_out);
    assert_eq!(failed.delivered.len(), 1);
    let req = only_request(&server).await;
    let ce: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(ce["type"], "com.amlops.gate.failed");
    let finished = h.emitter.finish().await.unwrap();
    let audit = std::fs::read_to_string(finished.audit_path.unwrap()).unwrap();
    assert_eq!(audit.lines().count(), 2);
    server.verify().await;
}

#[tokio::test]
async fn the_audit_trail_is_json_lines_uploaded_as_the_amlops_audit_artifact() {
    let h = harness("", "", |b| b);
    let first = h
        .emitter
        .emit(Event::job_completed(AssetRef::job("train-9")).metric("acc", 0.93))
        .await;
    let second = h.emitter.emit(model_event()).await;
    let audit_path = h.emitter.audit_path().to_path_buf();
    let finished = h.emitter.finish().await.unwrap();
    assert_eq!(finished.events, 2);
    assert_eq!(finished.audit_path.as_deref(), Some(audit_path.as_path()));
    assert!(finished.audit_uploaded);
    assert_eq!(audit_path.extension().unwrap(), "jsonl");

    let audit = std::fs::read_to_string(&audit_path).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], first.id.as_str());
    assert_eq!(lines[0]["type"], "com.amlops.job.completed");
    assert_eq!(lines[0]["data"]["metrics"]["acc"], 0.93);
    assert_eq!(lines[1]["id"], second.id.as_str());
    assert_eq!(lines[1]["type"], "com.amlops.model.registered");
    assert_eq!(lines[1]["data"]["who"]["email"], "grace@example.org");

    let text = h.out.text();
    let upload = text
        .lines()
        .find(|l| l.starts_with("##vso[artifact.upload "))
        .expect("artifact.upload");
    let (props, target) = upload["##vso[artifact.upload ".len()..].split_once(']').unwrap();
    let props: Vec<&str> = props.split(';').filter(|p| !p.is_empty()).collect();
    assert_eq!(
        props,
        ["containerfolder=amlops-audit", "artifactname=amlops-audit"]
    );
    assert_eq!(target, audit_path.display().to_string());
    let summary_path = finished.summary_path.unwrap();
    assert!(
        text.lines()
            .any(|l| l == format!("##vso[task.uploadsummary]{}", summary_path.display())),
        "{text}"
    );
    let summary = std::fs::read_to_string(summary_path).unwrap();
    assert!(summary.starts_with("## AzureML events: Register\n"), "{summary}");
    assert!(summary.contains("### ✅ Job completed: train-9"), "{summary}");
    assert!(
        summary.contains("### ✅ Model registered: credit-risk:3"),
        "{summary}"
    );
    assert!(summary.contains("| auc | 0.9134 |"), "{summary}");
    assert!(
        summary.contains("| Requested for | Grace Hopper <grace@example.org> |"),
        "{summary}"
    );
    // The log has one line per event.
    assert!(
        text.contains("Event com.amlops.job.completed: Job completed: train-9 (succeeded)"),
        "{text}"
    );
}

#[tokio::test]
async fn nothing_is_uploaded_without_events() {
    let h = harness("", "", |b| b);
    let finished = h.emitter.finish().await.unwrap();
    assert_eq!(finished.events, 0);
    assert!(finished.audit_path.is_none() && finished.summary_path.is_none());
    assert!(!h.out.text().contains("##vso[artifact.upload"));
    assert!(!h.out.text().contains("##vso[task.uploadsummary"));
}

fn task_context(extra: &[(&str, &str)]) -> (TaskContext, CaptureBuffer) {
    let (output, out) = Output::capture(false);
    let mut pairs = env_pairs();
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    (
        TaskContext::new(TaskEnv::from_map(pairs), output, CancellationToken::new()),
        out,
    )
}

#[tokio::test]
async fn from_task_reads_the_four_inputs_and_masks_every_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let slack = format!("{}/services/T1/B1/SLACKSECRET55", server.uri());
    let hook = format!("{}/hook?key=HOOKSECRET66", server.uri());
    let notify = format!("slack:{slack}\n\n# generic\nwebhook:{hook}\n");
    let dir = tempfile::tempdir().unwrap();
    let (ctx, out) = task_context(&[
        ("INPUT_NOTIFY", notify.as_str()),
        ("INPUT_NOTIFYON", "model.*, gate.failed"),
        ("INPUT_NOTIFYSECRET", "SIGNINGKEY88"),
        ("INPUT_FAILONNOTIFYERROR", "true"),
        ("AGENT_TEMPDIRECTORY", dir.path().to_str().unwrap()),
    ]);
    let (retry, _) = test_retry();
    let emitter = EmitterBuilder::from_task(&ctx)
        .unwrap()
        .retry(retry)
        .workspace(WorkspaceInfo::named("w"))
        .build()
        .unwrap();
    let settings = emitter.settings();
    assert_eq!(settings.targets.len(), 2);
    assert_eq!(settings.targets[1].line, 4);
    assert_eq!(settings.secret.as_deref(), Some("SIGNINGKEY88"));
    assert!(settings.fail_on_error);
    assert!(
        settings.filter.allows(EventType::ModelDeployed) && !settings.filter.allows(EventType::GatePassed)
    );
    assert!(emitter.audit_path().starts_with(dir.path()));

    emitter.emit(model_event()).await;
    emitter.emit(Event::gate_passed(AssetRef::model("m", "1"))).await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        2,
        "model.registered to both sinks, gate.passed filtered out"
    );
    let signed = requests.iter().find(|r| r.url.path() == "/hook").unwrap();
    assert_eq!(
        header(signed, "x-amlops-signature"),
        format!("sha256={}", hmac_sha256_hex(b"SIGNINGKEY88", &signed.body))
    );
    emitter.finish().await.unwrap();

    let text = out.text();
    for secret in [&slack, &hook] {
        assert!(
            text.contains(&format!("##vso[task.setsecret]{secret}")),
            "{secret} registered"
        );
    }
    let shown = visible(&out);
    for secret in ["SLACKSECRET55", "HOOKSECRET66", "SIGNINGKEY88"] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
    assert!(
        shown.contains(&format!("sent to slack ({})", server.address())),
        "{shown}"
    );
}

#[test]
fn from_task_reports_an_invalid_notify_line_by_input_and_line() {
    let (ctx, out) = task_context(&[(
        "INPUT_NOTIFY",
        "teams:https://ok.example/a\nwebhook:ftp://files.example/NOPE123",
    )]);
    let err = Emitter::from_task(&ctx, None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("the input 'notify', line 2:"), "{msg}");
    assert!(!msg.contains("NOPE123"), "{msg}");
    // The raw input was registered before parsing.
    assert!(out.text().contains("##vso[task.setsecret]"));

    let (ctx, _) = task_context(&[("INPUT_NOTIFYON", "model.trained")]);
    let msg = Emitter::from_task(&ctx, None).unwrap_err().to_string();
    assert!(
        msg.contains("'notifyOn'") && msg.contains("'model.trained'"),
        "{msg}"
    );
}

#[tokio::test]
async fn in_a_release_pipeline_the_audit_file_is_kept_but_not_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, out) = task_context(&[
        ("SYSTEM_HOSTTYPE", "release"),
        ("AGENT_TEMPDIRECTORY", dir.path().to_str().unwrap()),
    ]);
    let emitter = Emitter::from_task(&ctx, WorkspaceInfo::named("w")).unwrap();
    emitter.emit(model_event()).await;
    let finished = emitter.finish().await.unwrap();
    assert!(!finished.audit_uploaded);
    assert!(finished.audit_path.unwrap().exists());
    assert!(!out.text().contains("##vso[artifact.upload"));
    assert!(out.text().contains("##vso[task.uploadsummary]"));
}

#[test]
fn the_emitter_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}
    let h = harness("", "", |b| b);
    assert_send_sync(&h.emitter);
    assert_send(h.emitter.emit(model_event()));
}

#[derive(Debug)]
struct FixedSource(Arc<Mutex<Vec<String>>>);

#[async_trait::async_trait]
impl amlops_azureml::TokenSource for FixedSource {
    async fn fetch_token(
        &self,
        scope: &str,
        _cancel: &CancellationToken,
    ) -> Result<amlops_azureml::AccessToken, amlops_azureml::AzureMlError> {
        self.0.lock().unwrap().push(scope.to_string());
        Ok(amlops_azureml::AccessToken {
            token: "CRED-TOKEN-4242".into(),
            expires_on: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        })
    }
}

#[tokio::test]
async fn the_task_credential_provides_event_grid_tokens_once_per_scope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/events"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let scopes: Arc<Mutex<Vec<String>>> = Arc::default();
    let (output, out) = Output::capture(false);
    let sink_output = output.clone();
    let credential = Arc::new(amlops_azureml::Credential::new(
        Arc::new(FixedSource(scopes.clone())),
        Arc::new(move |s: &str| sink_output.register_secret(s)),
    ));
    let dir = tempfile::tempdir().unwrap();
    let emitter = EmitterBuilder::new(output, pipeline())
        .settings(NotifySettings::parse(&format!("eventgrid:{}/api/events", server.uri()), "").unwrap())
        .token_provider(amlops_events::credential_token_provider(credential))
        .dir(dir.path())
        .build()
        .unwrap();
    emitter.emit(model_event()).await;
    emitter.emit(Event::gate_passed(AssetRef::model("m", "2"))).await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| header(r, "authorization") == "Bearer CRED-TOKEN-4242")
    );
    assert_eq!(
        scopes.lock().unwrap().as_slice(),
        ["https://eventgrid.azure.net/.default"],
        "cached"
    );
    assert!(!visible(&out).contains("CRED-TOKEN-4242"));
}

#[tokio::test]
async fn retry_logs_from_the_http_stack_do_not_show_the_url_path() {
    use tracing_subscriber::layer::SubscriberExt;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let h = harness(
        &format!("{}/hooks/PATHSECRET12345?sig=SIGSECRET67890", server.uri()),
        "",
        |b| b,
    );
    let subscriber = tracing_subscriber::registry().with(amlops_agent::OutputLayer::new(h.out_output()));
    let _capture = amlops_testkit::capture_tracing(subscriber);
    let report = h.emitter.emit(model_event()).await;
    assert_eq!(report.delivered.len(), 1);
    let text = visible(&h.out);
    assert!(text.contains("retrying"), "the retry is logged:\n{text}");
    assert!(
        !text.contains("PATHSECRET12345") && !text.contains("SIGSECRET67890"),
        "{text}"
    );
}
