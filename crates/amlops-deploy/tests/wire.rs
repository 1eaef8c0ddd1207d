//! The deploy binary against a fake ARM on wiremock: the exact traffic PUT bodies of a canary that fails at 50%,
//! and the key or token sent with the smoke test.

use std::sync::{Arc, Mutex};

use amlops_testkit::{AgentRun, AzureRmSpec, TaskResult, cargo_bin};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const KEY: &str = "pk-secret-123";
const TOKEN: &str = "tok-secret-456";

fn ws_path() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
    )
}

#[derive(Default)]
struct State {
    endpoint: Value,
    deployments: serde_json::Map<String, Value>,
    endpoint_puts: Vec<Value>,
    deletes: Vec<String>,
    /// (Authorization, azureml-model-deployment) of each scoring call.
    scores: Vec<(String, String)>,
    fail_score: Option<usize>,
    /// The next this many endpoint writes (PUT, PATCH) answer 409: another operation is in progress.
    busy_writes: usize,
    /// Endpoint writes that were answered 409.
    busy_answers: usize,
    /// Endpoint PUTs become operations that run this long; writes meanwhile answer 409.
    update_takes: Option<std::time::Duration>,
    /// When each endpoint operation was accepted (`/ops/<index>`).
    ops: Vec<std::time::Instant>,
    /// The task's pid: SIGINT goes to it at the first operation status poll (while the update runs).
    sigint_pid: Option<u32>,
    sigint_at: Option<std::time::Instant>,
}

fn busy() -> ResponseTemplate {
    ResponseTemplate::new(409).set_body_json(json!({"error": {
        "code": "Conflict",
        "message": "Conflict",
        "details": [{
            "code": "OperationDuplicationConflict",
            "message": "Conflict of operation, another operation on same entity is already running in workspace ws."
        }]
    }}))
}

#[derive(Clone)]
struct Fake(Arc<Mutex<State>>, String);

impl Respond for Fake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let path = req.url.path().to_string();
        let ws = ws_path();
        let ep_path = format!("{ws}/onlineEndpoints/churn-ep");
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let header = |n: &str| {
            req.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let method = req.method.as_str();
        if path == ws && method == "GET" {
            return ResponseTemplate::new(200)
                .set_body_json(json!({"name": "ws", "location": "westeurope", "properties": {}}));
        }
        if let Some(n) = path.strip_prefix("/ops/") {
            let n: usize = n.parse().unwrap_or(0);
            if let Some(pid) = s.sigint_pid.take() {
                let ok = std::process::Command::new("kill")
                    .args(["-INT", &pid.to_string()])
                    .status()
                    .is_ok_and(|st| st.success());
                assert!(ok, "kill -INT {pid}");
                s.sigint_at = Some(std::time::Instant::now());
            }
            let running = s.update_takes.is_some_and(|d| s.ops[n].elapsed() < d);
            let status = if running { "InProgress" } else { "Succeeded" };
            return ResponseTemplate::new(200).set_body_json(json!({ "status": status }));
        }
        if path == ep_path {
            let in_flight = s
                .update_takes
                .is_some_and(|d| s.ops.iter().any(|t| t.elapsed() < d));
            if (method == "PUT" || method == "PATCH") && (s.busy_writes > 0 || in_flight) {
                s.busy_writes = s.busy_writes.saturating_sub(1);
                s.busy_answers += 1;
                return busy();
            }
            if method == "PATCH" {
                if let Some(tags) = body.get("tags") {
                    s.endpoint["tags"] = tags.clone();
                }
                return ResponseTemplate::new(200).set_body_json(s.endpoint.clone());
            }
            if method == "PUT" {
                s.endpoint_puts.push(body.clone());
                let mut ep = body;
                ep["properties"]["scoringUri"] = json!(format!("{}/score", self.1));
                ep["properties"]["provisioningState"] = json!("Succeeded");
                s.endpoint = ep.clone();
                if s.update_takes.is_some() {
                    s.ops.push(std::time::Instant::now());
                    let op = format!("{}/ops/{}", self.1, s.ops.len() - 1);
                    return ResponseTemplate::new(201)
                        .insert_header("azure-asyncoperation", op.as_str())
                        .set_body_json(ep);
                }
                return ResponseTemplate::new(200).set_body_json(ep);
            }
            return ResponseTemplate::new(200).set_body_json(s.endpoint.clone());
        }
        if path == format!("{ep_path}/listKeys") {
            return ResponseTemplate::new(200)
                .set_body_json(json!({"primaryKey": KEY, "secondaryKey": "other-secret-789"}));
        }
        if path == format!("{ep_path}/token") {
            return ResponseTemplate::new(200).set_body_json(
                json!({"accessToken": TOKEN, "expiryTimeUtc": 4102444800i64, "tokenType": "Bearer"}),
            );
        }
        if path == format!("{ep_path}/deployments") {
            let list: Vec<Value> = s.deployments.values().cloned().collect();
            return ResponseTemplate::new(200).set_body_json(json!({"value": list}));
        }
        if let Some(name) = path.strip_prefix(&format!("{ep_path}/deployments/")) {
            let name = name.to_string();
            return match method {
                "PUT" => {
                    let mut d = body;
                    d["name"] = json!(name);
                    d["properties"]["provisioningState"] = json!("Succeeded");
                    s.deployments.insert(name, d.clone());
                    ResponseTemplate::new(201).set_body_json(d)
                }
                "DELETE" => {
                    s.deletes.push(name.clone());
                    s.deployments.remove(&name);
                    ResponseTemplate::new(200)
                }
                _ => match s.deployments.get(&name) {
                    Some(d) => ResponseTemplate::new(200).set_body_json(d.clone()),
                    None => ResponseTemplate::new(404).set_body_json(
                        json!({"error": {"code": "ResourceNotFound", "message": "no such deployment"}}),
                    ),
                },
            };
        }
        if path == "/score" {
            s.scores
                .push((header("authorization"), header("azureml-model-deployment")));
            if s.fail_score == Some(s.scores.len()) {
                return ResponseTemplate::new(500).set_body_string("model crashed");
            }
            return ResponseTemplate::new(200).set_body_json(json!([1]));
        }
        ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "NotFound", "message": path}}))
    }
}

fn start(auth_mode: &str, traffic: Value) -> (tokio::runtime::Runtime, MockServer, Fake) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    let fake = Fake(Arc::new(Mutex::new(State::default())), server.uri());
    {
        let mut s = fake.0.lock().unwrap();
        s.endpoint = json!({
            "name": "churn-ep",
            "location": "westeurope",
            "properties": {
                "authMode": auth_mode,
                "scoringUri": format!("{}/score", server.uri()),
                "provisioningState": "Succeeded",
                "traffic": traffic,
            }
        });
        s.deployments.insert(
            "blue".into(),
            json!({"name": "blue", "properties": {"provisioningState": "Succeeded"}}),
        );
    }
    rt.block_on(Mock::given(any()).respond_with(fake.clone()).mount(&server));
    (rt, server, fake)
}

fn agent(server: &MockServer, dir: &std::path::Path) -> AgentRun {
    let req = dir.join("request.json");
    std::fs::write(&req, r#"{"data": [[1, 2]]}"#).unwrap();
    AgentRun::new(cargo_bin("amlops-deploy"))
        .azure_rm("azureSubscription", AzureRmSpec::anonymous(&server.uri()))
        .input("resourceGroup", "rg")
        .input("workspace", "ws")
        .input("endpointName", "churn-ep")
        .input("model", "azureml:churn:3")
        .input("deploymentName", "green")
        .input("smokeTestRequest", req.to_str().unwrap())
        .input("smokeTestExpect", "/0=1")
        .input("stepWaitSeconds", "0")
        .env("AMLOPS_POLL_INTERVAL_MS", "20")
        .secret(KEY)
        .secret(TOKEN)
}

#[test]
fn canary_failing_its_smoke_test_at_50_restores_the_exact_split() {
    let (_rt, server, fake) = start("Key", json!({"Blue": 100}));
    fake.0.lock().unwrap().fail_score = Some(3);
    let dir = tempfile::tempdir().unwrap();
    let run = agent(&server, dir.path())
        .input("strategy", "canary")
        .input("trafficSteps", "10,50,100")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    let errors = run.errors().join("\n");
    assert!(
        errors.contains("the smoke test at 50% failed: expected HTTP 200, got HTTP 500: model crashed"),
        "{errors}"
    );
    assert!(errors.contains("traffic restored to blue 100%"), "{errors}");
    let s = fake.0.lock().unwrap();
    let traffic: Vec<Value> = s
        .endpoint_puts
        .iter()
        .map(|b| b["properties"]["traffic"].clone())
        .collect();
    assert_eq!(
        traffic,
        vec![
            json!({"blue": 90, "green": 10}),
            json!({"blue": 50, "green": 50}),
            json!({"blue": 100}),
        ]
    );
    assert_eq!(s.deletes, vec!["green".to_string()]);
    assert_eq!(s.scores.len(), 3);
    for (auth, dep) in &s.scores {
        assert_eq!(auth, &format!("Bearer {KEY}"));
        assert_eq!(dep, "green");
    }
    assert_eq!(run.output("previousTraffic"), r#"{"blue":100}"#);
    assert_eq!(run.output("traffic"), r#"{"blue":100}"#);
    assert!(
        run.registered_secrets().contains(&KEY),
        "{:?}",
        run.registered_secrets()
    );
}

#[test]
fn aml_token_endpoint_is_smoke_tested_with_the_token() {
    let (_rt, server, fake) = start("AMLToken", json!({"blue": 100}));
    let dir = tempfile::tempdir().unwrap();
    let run = agent(&server, dir.path()).run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    let s = fake.0.lock().unwrap();
    assert_eq!(s.scores.len(), 2);
    assert!(
        s.scores
            .iter()
            .all(|(a, d)| a == &format!("Bearer {TOKEN}") && d == "green")
    );
    assert_eq!(s.endpoint_puts.len(), 1);
    assert_eq!(s.endpoint_puts[0]["properties"]["traffic"], json!({"green": 100}));
    assert_eq!(run.output("traffic"), r#"{"green":100}"#);
    // keepPreviousDeployments 1 keeps blue.
    assert!(s.deletes.is_empty());
    assert!(run.registered_secrets().contains(&TOKEN));
}

#[test]
fn an_endpoint_busy_with_another_operation_twice_ends_succeeded() {
    let (_rt, server, fake) = start("Key", json!({"blue": 100}));
    // The first endpoint write (the restore note's PATCH) meets a busy endpoint twice; the client waits it out.
    fake.0.lock().unwrap().busy_writes = 2;
    let dir = tempfile::tempdir().unwrap();
    let run = agent(&server, dir.path())
        .input("strategy", "canary")
        .input("trafficSteps", "10,100")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    let s = fake.0.lock().unwrap();
    assert_eq!(s.busy_answers, 2);
    let traffic: Vec<Value> = s
        .endpoint_puts
        .iter()
        .map(|b| b["properties"]["traffic"].clone())
        .collect();
    assert_eq!(
        traffic,
        vec![json!({"blue": 90, "green": 10}), json!({"green": 100})]
    );
    assert_eq!(
        s.endpoint["tags"].get("amlops.restoreTraffic"),
        None,
        "the note is cleared after success: {}",
        s.endpoint
    );
    assert!(
        run.stdout.contains("another operation in progress"),
        "the waits are in the log: {}",
        run.stdout
    );
    assert_eq!(run.output("traffic"), r#"{"green":100}"#);
}

#[test]
fn restore_traffic_restores_the_noted_split_through_a_busy_endpoint() {
    let (_rt, server, fake) = start("Key", json!({"blue": 90, "green": 10}));
    {
        let mut s = fake.0.lock().unwrap();
        s.endpoint["tags"] =
            json!({"team": "ml", "amlops.restoreTraffic": "blue=100", "amlops.restoreMirrorTraffic": ""});
        s.busy_writes = 1;
    }
    let run = AgentRun::new(cargo_bin("amlops-deploy"))
        .azure_rm("azureSubscription", AzureRmSpec::anonymous(&server.uri()))
        .input("action", "restoreTraffic")
        .input("resourceGroup", "rg")
        .input("workspace", "ws")
        .input("endpointName", "churn-ep")
        .env("AMLOPS_POLL_INTERVAL_MS", "20")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    let s = fake.0.lock().unwrap();
    assert_eq!(s.busy_answers, 1);
    assert_eq!(s.endpoint["properties"]["traffic"], json!({"blue": 100}));
    assert_eq!(s.endpoint["tags"], json!({"team": "ml"}));
    assert_eq!(run.output("traffic"), r#"{"blue":100}"#);

    // Run again: nothing is pending.
    drop(s);
    let again = AgentRun::new(cargo_bin("amlops-deploy"))
        .azure_rm("azureSubscription", AzureRmSpec::anonymous(&server.uri()))
        .input("action", "restoreTraffic")
        .input("resourceGroup", "rg")
        .input("workspace", "ws")
        .input("endpointName", "churn-ep")
        .run();
    assert_eq!(again.agent_result(), TaskResult::Succeeded, "{}", again.stdout);
    assert!(
        again.stdout.contains("No split to restore is pending"),
        "{}",
        again.stdout
    );
    assert_eq!(fake.0.lock().unwrap().endpoint_puts.len(), 1);
}

#[test]
fn sigint_while_the_canary_update_runs_restores_the_split_once_the_endpoint_is_free() {
    let (_rt, server, fake) = start("Key", json!({"blue": 100}));
    // Every endpoint update runs 2 s; the restore meets the 10% update still running (409) and waits it out.
    fake.0.lock().unwrap().update_takes = Some(std::time::Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let running = agent(&server, dir.path())
        .input("strategy", "canary")
        .input("trafficSteps", "10,100")
        .input("stepWaitSeconds", "600")
        .start();
    fake.0.lock().unwrap().sigint_pid = Some(running.child().id());
    let run = running.finish();
    let exited = std::time::Instant::now();
    assert_eq!(run.agent_result(), TaskResult::Canceled, "{}", run.stdout);
    let s = fake.0.lock().unwrap();
    let since_sigint = exited - s.sigint_at.expect("SIGINT was sent during the update");
    assert!(
        since_sigint < amlops_agent::cancel::AGENT_SIGINT_GRACE,
        "exited {since_sigint:?} after SIGINT: {}",
        run.stdout
    );
    assert!(
        s.busy_answers >= 1,
        "the restore met the running update: {}",
        run.stdout
    );
    let traffic: Vec<Value> = s
        .endpoint_puts
        .iter()
        .map(|b| b["properties"]["traffic"].clone())
        .collect();
    assert_eq!(
        traffic,
        vec![json!({"blue": 90, "green": 10}), json!({"blue": 100})]
    );
    assert_eq!(s.endpoint["properties"]["traffic"], json!({"blue": 100}));
    assert_eq!(
        s.endpoint["tags"].get("amlops.restoreTraffic"),
        None,
        "{}",
        s.endpoint
    );
    assert_eq!(s.deletes, vec!["green".to_string()]);
    assert!(
        run.stdout.contains("another operation in progress"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Traffic restored: blue 100%"),
        "{}",
        run.stdout
    );
}
