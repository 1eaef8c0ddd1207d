//! The deploy binary run as the agent would run it, against the local workspace (real scoring under
//! init()/run()) and, for the checks made before any call, a wiremock server that must see no request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use amlops_local::{LocalConfig, LocalWorkspace, Timing};
use amlops_testkit::{AgentRun, AzureRmSpec, TaskResult, cargo_bin, send_sigint};
use serde_json::{Value, json};

const SCORE_PY: &str = r#"
import json, os

def init():
    global answer
    answer = None
    for root, _, files in os.walk(os.environ["AZUREML_MODEL_DIR"]):
        if "answer.txt" in files:
            answer = int(open(os.path.join(root, "answer.txt")).read().strip())
    if answer is None:
        raise RuntimeError("answer.txt not found in the model")
    print("model loaded, answer", answer, flush=True)

def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return [answer for _ in rows]
"#;

const BROKEN_PY: &str = r#"
def init():
    print("loading the model", flush=True)
    raise ImportError("No module named 'sklearn' (broken on purpose)")

def run(raw_data):
    return []
"#;

struct Env {
    rt: tokio::runtime::Runtime,
    ws: Option<LocalWorkspace>,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Env {
    fn start() -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = LocalConfig::new(dir.path().join("state"));
        config.timing = Timing::immediate();
        // The model version below names a local folder next to the state folder.
        config.allowed_dirs = vec![dir.path().to_path_buf()];
        let ws = rt.block_on(LocalWorkspace::start(config)).unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", ws.token()).parse().unwrap(),
        );
        let env = Self {
            rt,
            ws: Some(ws),
            dir,
            http: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap(),
        };
        // A model version whose files are a local folder.
        let model = env.dir.path().join("model");
        std::fs::create_dir_all(&model).unwrap();
        std::fs::write(model.join("answer.txt"), "7").unwrap();
        let (status, _) = env.arm(
            "PUT",
            "models/churn/versions/1",
            Some(json!({"properties": {"modelUri": model.to_str().unwrap(), "modelType": "custom_model"}})),
        );
        assert!(status < 300, "model registration: {status}");
        for (folder, script) in [("code", SCORE_PY), ("broken", BROKEN_PY)] {
            let d = env.dir.path().join(folder);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("score.py"), script).unwrap();
        }
        std::fs::write(env.dir.path().join("request.json"), r#"{"data": [[1, 2, 3]]}"#).unwrap();
        std::fs::write(env.dir.path().join("bad.json"), "{\"data\": [[1, 2, 3]]").unwrap();
        env
    }

    fn ws(&self) -> &LocalWorkspace {
        self.ws.as_ref().unwrap()
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// An ARM call on the workspace: (status, body).
    fn arm(&self, method: &str, rel: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/{rel}?api-version=2026-07-01", self.ws().workspace_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.rt.block_on(async {
            let mut r = self.http.request(method, url);
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    fn traffic(&self, ep: &str) -> Value {
        self.arm("GET", &format!("onlineEndpoints/{ep}"), None).1["properties"]["traffic"].clone()
    }

    fn agent(&self, endpoint: &str, deployment: &str) -> AgentRun {
        AgentRun::new(cargo_bin("amlops-deploy"))
            .azure_rm(
                "azureSubscription",
                AzureRmSpec::local(self.ws().base_url(), self.ws().token()),
            )
            .input("resourceGroup", "local")
            .input("workspace", "local")
            .input("endpointName", endpoint)
            .input("model", "azureml:churn:1")
            .input("codePath", self.path("code").to_str().unwrap())
            .input("scoringScript", "score.py")
            .input("deploymentName", deployment)
            .input("smokeTestRequest", self.path("request.json").to_str().unwrap())
            .input("smokeTestExpect", "/0=7")
            .input("stepWaitSeconds", "0")
            .env("AMLOPS_POLL_INTERVAL_MS", "20")
            .variable("Build.RequestedFor", "Ada Lovelace")
            .variable("Build.SourceVersion", "0123456789abcdef")
            .variable("Build.Reason", "Manual")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(ws) = self.ws.take() {
            let _ = self.rt.block_on(ws.shutdown());
        }
    }
}

fn text(run: &amlops_testkit::RunResult) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

#[test]
fn new_endpoint_first_deployment_then_blue_green_beside_it() {
    let env = Env::start();
    let run = env.agent("churn-ep", "blue").run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", text(&run));
    assert_eq!(run.output("previousTraffic"), "{}");
    assert_eq!(run.output("traffic"), r#"{"blue":100}"#);
    assert_eq!(run.output("endpointName"), "churn-ep");
    assert_eq!(run.output("deploymentName"), "blue");
    assert!(
        run.output("scoringUri").ends_with("/endpoints/churn-ep/score"),
        "{}",
        run.output("scoringUri")
    );
    assert!(
        run.stdout
            .contains("Endpoint 'churn-ep' does not exist: creating it"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Smoke test before live traffic: passed (HTTP 200, /0 = 7)"),
        "{}",
        run.stdout
    );
    assert_eq!(env.traffic("churn-ep"), json!({"blue": 100}));
    let (_, dep) = env.arm("GET", "onlineEndpoints/churn-ep/deployments/blue", None);
    assert!(
        dep["tags"]["amlops.deployedBy"]
            .as_str()
            .unwrap()
            .starts_with("Ada Lovelace"),
        "{dep}"
    );
    assert_eq!(dep["tags"]["amlops.commit"], "0123456789abcdef");
    assert!(
        dep["tags"]["amlops.modelId"]
            .as_str()
            .unwrap()
            .ends_with("/models/churn/versions/1")
    );

    let run = env.agent("churn-ep", "green").run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", text(&run));
    assert_eq!(run.output("previousTraffic"), r#"{"blue":100}"#);
    assert_eq!(run.output("traffic"), r#"{"green":100}"#);
    assert_eq!(env.traffic("churn-ep"), json!({"green": 100}));
    // keepPreviousDeployments 1: blue stays, without traffic.
    assert_eq!(
        env.arm("GET", "onlineEndpoints/churn-ep/deployments/blue", None)
            .0,
        200
    );
    let summary = run.summaries();
    assert!(summary.contains("| Live | blue 100% | green 100% |"), "{summary}");
    assert!(summary.contains("| at 100% | 200 | passed |"), "{summary}");
    assert!(summary.contains("| amlops.reason | Manual |"), "{summary}");
}

#[test]
fn aml_token_endpoint_is_smoke_tested_with_its_token() {
    let env = Env::start();
    let run = env
        .agent("token-ep", "blue")
        .input("authMode", "aml_token")
        .input("strategy", "replace")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", text(&run));
    let (_, ep) = env.arm("GET", "onlineEndpoints/token-ep", None);
    assert_eq!(ep["properties"]["authMode"], "AMLToken");
    assert!(
        run.stdout.contains("Smoke test before live traffic: passed"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Smoke test at 100%"), "replace checks once");
    assert!(
        run.stdout
            .contains("Deployment 'blue': provisioning state Creating"),
        "{}",
        run.stdout
    );
    assert!(
        !run.registered_secrets().is_empty(),
        "the token is registered as a secret"
    );
}

#[test]
fn provisioning_failure_prints_the_logs_and_removes_the_deployment() {
    let env = Env::start();
    let run = env.agent("churn-ep", "blue").run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", text(&run));
    let run = env
        .agent("churn-ep", "green")
        .input("codePath", env.path("broken").to_str().unwrap())
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", text(&run));
    let errors = run.errors().join("\n");
    assert!(errors.contains("failed to provision"), "{errors}");
    assert!(
        run.stdout
            .contains("No module named 'sklearn' (broken on purpose)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Logs of 'green' (InferenceServer)"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.arm("GET", "onlineEndpoints/churn-ep/deployments/green", None)
            .0,
        404
    );
    assert_eq!(env.traffic("churn-ep"), json!({"blue": 100}));
}

#[test]
fn cancellation_in_the_middle_of_a_canary_restores_the_traffic() {
    let env = Env::start();
    let run = env.agent("churn-ep", "blue").run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", text(&run));
    let agent = env
        .agent("churn-ep", "green")
        .input("strategy", "canary")
        .input("trafficSteps", "10,100")
        .input("stepWaitSeconds", "600");
    let mut running = agent.start();
    // The task reports each traffic change once the endpoint has it.
    running.wait_for_line(
        |l| l.starts_with("Traffic:") && l.contains("green 10%"),
        Duration::from_secs(60),
    );
    assert_eq!(env.traffic("churn-ep"), json!({"blue": 90, "green": 10}));
    send_sigint(running.child());
    let run = running.finish();
    assert_eq!(run.agent_result(), TaskResult::Canceled, "{}", text(&run));
    assert_eq!(env.traffic("churn-ep"), json!({"blue": 100}));
    assert_eq!(run.output("traffic"), r#"{"blue":100}"#);
    assert_eq!(
        env.arm("GET", "onlineEndpoints/churn-ep/deployments/green", None)
            .0,
        404
    );
}

fn no_call_agent(server: &str, dir: &Path) -> AgentRun {
    std::fs::write(dir.join("bad.json"), "{\"data\": [1,").unwrap();
    std::fs::write(dir.join("ok.json"), "{\"data\": [1]}").unwrap();
    AgentRun::new(cargo_bin("amlops-deploy"))
        .azure_rm("azureSubscription", AzureRmSpec::anonymous(server))
        .input("resourceGroup", "rg")
        .input("workspace", "ws")
        .input("model", "azureml:churn:1")
}

#[test]
fn invalid_inputs_fail_before_any_call() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(wiremock::MockServer::start());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    let ok = dir.path().join("ok.json");
    let cases: Vec<(AgentRun, &str)> = vec![
        (
            no_call_agent(&server.uri(), dir.path()).input("endpointName", "x_y"),
            "'endpointName' has the value 'x_y'",
        ),
        (
            no_call_agent(&server.uri(), dir.path())
                .input("endpointName", "churn-ep")
                .input("deploymentName", "-bad-"),
            "'deploymentName' has the value '-bad-'",
        ),
        (
            no_call_agent(&server.uri(), dir.path())
                .input("endpointName", "churn-ep")
                .input("smokeTestRequest", bad.to_str().unwrap()),
            "(input 'smokeTestRequest') is not valid JSON (line 1, column",
        ),
        (
            no_call_agent(&server.uri(), dir.path())
                .input("endpointName", "churn-ep")
                .input("smokeTestRequest", ok.to_str().unwrap())
                .input("strategy", "canary")
                .input("trafficSteps", "50,10"),
            "'trafficSteps'",
        ),
    ];
    for (agent, want) in cases {
        let run = agent.run();
        assert_eq!(run.agent_result(), TaskResult::Failed, "{}", text(&run));
        let errors = run.errors().join("\n");
        assert!(errors.contains(want), "{want}: {errors}");
    }
    let received = rt.block_on(server.received_requests()).unwrap_or_default();
    assert!(received.is_empty(), "{received:?}");
}

#[test]
fn endpoint_and_deployment_from_yaml_files() {
    let env = Env::start();
    std::fs::write(
        env.path("endpoint.yml"),
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\nname: yaml-ep\nauth_mode: key\ntags:\n  team: churn\n",
    )
    .unwrap();
    std::fs::write(
        env.path("deployment.yml"),
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n\
         name: blue\nendpoint_name: yaml-ep\nmodel: azureml:churn:1\ncode_configuration:\n  code: ./code\n  \
         scoring_script: score.py\nenvironment:\n  image: sklearn-inference:1\ninstance_type: Standard_DS3_v2\n\
         instance_count: 1\ntags:\n  owner: ada\n",
    )
    .unwrap();
    let run = AgentRun::new(cargo_bin("amlops-deploy"))
        .azure_rm(
            "azureSubscription",
            AzureRmSpec::local(env.ws().base_url(), env.ws().token()),
        )
        .input("resourceGroup", "local")
        .input("workspace", "local")
        .input("endpointFile", env.path("endpoint.yml").to_str().unwrap())
        .input("deploymentFile", env.path("deployment.yml").to_str().unwrap())
        .input("smokeTestRequest", env.path("request.json").to_str().unwrap())
        .input("smokeTestExpect", "/0=7")
        .env("AMLOPS_POLL_INTERVAL_MS", "20")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", text(&run));
    assert_eq!(run.output("deploymentName"), "blue");
    assert_eq!(env.traffic("yaml-ep"), json!({"blue": 100}));
    let (_, ep) = env.arm("GET", "onlineEndpoints/yaml-ep", None);
    assert_eq!(ep["tags"]["team"], "churn");
    let (_, dep) = env.arm("GET", "onlineEndpoints/yaml-ep/deployments/blue", None);
    assert_eq!(dep["tags"]["owner"], "ada");
    assert!(
        dep["tags"]["amlops.modelId"]
            .as_str()
            .unwrap()
            .ends_with("/models/churn/versions/1"),
        "{dep}"
    );
    // The inline environment became an anonymous environment version, sent before the deployment.
    let env_id = dep["properties"]["environmentId"].as_str().unwrap().to_string();
    let rel = env_id.split("/workspaces/local/").nth(1).unwrap().to_string();
    let (status, environment) = env.arm("GET", &rel, None);
    assert_eq!(status, 200, "{env_id}: {environment}");
    assert_eq!(
        environment["properties"]["image"], "sklearn-inference:1",
        "{environment}"
    );
    assert!(
        dep["properties"]["codeConfiguration"]["codeId"]
            .as_str()
            .unwrap()
            .contains("/codes/"),
        "{dep}"
    );
}

#[test]
fn a_deployment_yaml_with_a_local_model_path_fails_before_any_call() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(wiremock::MockServer::start());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("model")).unwrap();
    std::fs::write(dir.path().join("model/m.pkl"), "x").unwrap();
    let yml = dir.path().join("deployment.yml");
    std::fs::write(
        &yml,
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n\
         name: blue\nendpoint_name: churn-ep\nmodel:\n  path: ./model\ninstance_type: Standard_DS3_v2\n\
         instance_count: 1\n",
    )
    .unwrap();
    let run = AgentRun::new(cargo_bin("amlops-deploy"))
        .azure_rm("azureSubscription", AzureRmSpec::anonymous(&server.uri()))
        .input("resourceGroup", "rg")
        .input("workspace", "ws")
        .input("endpointName", "churn-ep")
        .input("deploymentFile", yml.to_str().unwrap())
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", text(&run));
    let errors = run.errors().join("\n");
    assert!(errors.contains("names the local path 'model'"), "{errors}");
    assert!(
        rt.block_on(server.received_requests())
            .unwrap_or_default()
            .is_empty()
    );
}
