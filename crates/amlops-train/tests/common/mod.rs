//! A fake Azure ML workspace on wiremock: ARM jobs, run history, log blobs, MLflow and an Entra token endpoint,
//! with scripted job statuses, log chunks, throttling and short-lived tokens.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use amlops_testkit::{AgentRun, AzureRmSpec, cargo_bin};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub const RG: &str = "rg";
pub const WS_NAME: &str = "ws";
pub const KEY: &str = "p@ssw0rd-xyz";
pub const SAS_SIG: &str = "SECRETSIGxyz";

pub fn ws_path() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS_NAME}"
    )
}

/// A pipeline step.
#[derive(Clone, Debug)]
pub struct ChildSpec {
    pub id: String,
    pub name: String,
    pub log: String,
    pub metrics: Vec<(String, f64)>,
}

/// What a newly submitted job does.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Status served by the n-th successful GET of the job (the last repeats).
    pub statuses: Vec<String>,
    /// The user log, revealed one more chunk per log read (all of it once the job has ended).
    pub chunks: Vec<String>,
    /// The job's error when it fails.
    pub error: Option<String>,
    pub metrics: Vec<(String, f64)>,
    pub children: Vec<ChildSpec>,
    /// GET attempts of the job (counted from 1) answered 429: `(first, count)`.
    pub throttle: Option<(usize, usize)>,
}

impl Scenario {
    pub fn statuses(list: &[&str]) -> Self {
        Self {
            statuses: list.iter().map(|s| s.to_string()).collect(),
            chunks: Vec::new(),
            error: None,
            metrics: Vec::new(),
            children: Vec::new(),
            throttle: None,
        }
    }
}

#[derive(Debug)]
pub struct Job {
    pub body: Value,
    pub scenario: Scenario,
    pub gets: usize,
    pub get_attempts: usize,
    pub current: String,
    pub cancel_requested: bool,
    pub log_reads: usize,
}

impl Job {
    fn is_pipeline(&self) -> bool {
        self.body["properties"]["jobType"] == "Pipeline"
    }
    fn terminal(&self) -> bool {
        matches!(
            self.current.as_str(),
            "Completed" | "Failed" | "Canceled" | "NotResponding" | "Paused"
        )
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub scenario: Option<Scenario>,
    pub jobs: BTreeMap<String, Job>,
    /// (path, body) of every PUT.
    pub puts: Vec<(String, Value)>,
    pub job_puts: Vec<String>,
    pub cancels: Vec<(String, Instant)>,
    pub tokens_issued: usize,
    pub token_lifetime_s: u64,
    pub bearers_on_job_gets: Vec<String>,
    pub throttled: usize,
    pub unauthenticated: usize,
    /// Blob paths written (under /store/).
    pub blobs: Vec<String>,
    /// The body last written to each blob path (under /store/).
    pub blob_bodies: BTreeMap<String, Vec<u8>>,
    /// Code versions by ARM path.
    pub codes: BTreeMap<String, Value>,
    /// Bodies POSTed to /hook.
    pub hooks: Vec<Value>,
}

#[derive(Clone)]
pub struct Fake {
    pub state: Arc<Mutex<State>>,
    pub uri: String,
}

impl Fake {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn set_scenario(&self, s: Scenario) {
        self.lock().scenario = Some(s);
    }

    pub fn job_gets(&self) -> usize {
        self.lock().jobs.values().map(|j| j.gets).sum()
    }
}

fn json_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn not_found(what: &str) -> ResponseTemplate {
    json_response(
        404,
        json!({"error": {"code": "ResourceNotFound", "message": format!("{what} was not found")}}),
    )
}

struct Responder {
    state: Arc<Mutex<State>>,
    uri: String,
}

impl Responder {
    fn log_url(&self, run: &str) -> String {
        format!(
            "{}/blob/{run}/user_logs/std_log.txt?sv=2024&sig={SAS_SIG}",
            self.uri
        )
    }

    fn details(&self, name: &str, job: &Job) -> Value {
        let mut v = json!({
            "runId": name,
            "status": job.current,
            "startTimeUtc": "2026-11-26T06:00:00Z",
            "logFiles": {
                "user_logs/std_log.txt": self.log_url(name),
                "system_logs/lifecycler/lifecycler.log": format!("{}/blob/{name}/system?sig={SAS_SIG}", self.uri),
            },
        });
        if job.terminal() {
            v["endTimeUtc"] = json!("2026-11-26T06:02:05Z");
        }
        if job.current == "Failed"
            && let Some(e) = &job.scenario.error
        {
            v["error"] = json!({"error": {"code": "UserError", "message": e}});
        }
        v
    }

    fn child_details(&self, job: &Job, child: &ChildSpec) -> Value {
        let status = if job.terminal() {
            job.current.clone()
        } else {
            "Running".to_string()
        };
        let mut v = json!({
            "runId": child.id, "displayName": child.name, "status": status,
            "startTimeUtc": "2026-11-26T06:00:00Z",
            "properties": {"azureml.nodeid": child.name},
            "logFiles": {"user_logs/std_log.txt": self.log_url(&child.id)},
        });
        if job.terminal() {
            v["endTimeUtc"] = json!("2026-11-26T06:01:00Z");
        }
        v
    }

    fn handle(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.state.lock().unwrap();
        let path = req.url.path().to_string();
        let method = req.method.as_str().to_string();
        let ws = ws_path();
        let bearer = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_start_matches("Bearer ").to_string());

        if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
            st.tokens_issued += 1;
            let lifetime = if st.token_lifetime_s == 0 {
                3600
            } else {
                st.token_lifetime_s
            };
            return json_response(
                200,
                json!({"access_token": format!("token-{}-abcdefgh", st.tokens_issued),
                       "token_type": "Bearer", "expires_in": lifetime}),
            );
        }
        if path.starts_with("/blob/") {
            // /blob/{run}/user_logs/std_log.txt
            let run = path
                .trim_start_matches("/blob/")
                .split('/')
                .next()
                .unwrap_or("")
                .to_string();
            if !path.ends_with("std_log.txt") {
                return ResponseTemplate::new(200).set_body_string("system noise\n");
            }
            let content = if let Some(job) = st.jobs.get_mut(&run) {
                job.log_reads += 1;
                let n = if job.terminal() {
                    job.scenario.chunks.len()
                } else {
                    job.log_reads.min(job.scenario.chunks.len())
                };
                job.scenario.chunks[..n].concat()
            } else if let Some(child) = st
                .jobs
                .values()
                .flat_map(|j| j.scenario.children.iter())
                .find(|c| c.id == run)
            {
                child.log.clone()
            } else {
                return not_found("the blob");
            };
            let range = req
                .headers
                .get("range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes="))
                .and_then(|v| v.trim_end_matches('-').parse::<usize>().ok());
            return match range {
                Some(from) if from >= content.len() => ResponseTemplate::new(416),
                Some(from) => ResponseTemplate::new(206).set_body_bytes(content.as_bytes()[from..].to_vec()),
                None => ResponseTemplate::new(200).set_body_bytes(content.into_bytes()),
            };
        }
        if path.starts_with("/store/") {
            if method == "PUT" {
                st.blobs.push(path.clone());
                st.blob_bodies.insert(path.clone(), req.body.clone());
                return ResponseTemplate::new(201);
            }
            // No metadata: nothing uploaded before.
            return ResponseTemplate::new(404);
        }
        if path == "/hook" && method == "POST" {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            st.hooks.push(body);
            return ResponseTemplate::new(200);
        }
        if path == "/discovery" {
            return json_response(200, json!({"api": self.uri, "history": self.uri}));
        }
        let history = format!("/history/v1.0{ws}/runs/");
        if let Some(rest) = path.strip_prefix(&history) {
            let parts: Vec<&str> = rest.split('/').collect();
            let (run, what) = (parts[0], parts.get(1).copied().unwrap_or(""));
            if let Some(job) = st.jobs.get(run) {
                return match what {
                    "details" => json_response(200, self.details(run, job)),
                    "children" => {
                        // The listing leaves out log files, as Azure's may.
                        let value: Vec<Value> = job
                            .scenario
                            .children
                            .iter()
                            .map(|c| {
                                let mut d = self.child_details(job, c);
                                d.as_object_mut().unwrap().remove("logFiles");
                                d
                            })
                            .collect();
                        json_response(200, json!({"value": value}))
                    }
                    _ => not_found("the run resource"),
                };
            }
            for job in st.jobs.values() {
                if let Some(c) = job.scenario.children.iter().find(|c| c.id == run) {
                    return json_response(200, self.child_details(job, c));
                }
            }
            return not_found("the run");
        }
        if path.starts_with("/mlflow/v2.0") && path.ends_with("/api/2.0/mlflow/runs/get") {
            let run = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "run_id")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let metrics = st.jobs.get(&run).map(|j| j.scenario.metrics.clone()).or_else(|| {
                st.jobs
                    .values()
                    .flat_map(|j| j.scenario.children.iter())
                    .find(|c| c.id == run)
                    .map(|c| c.metrics.clone())
            });
            let Some(metrics) = metrics else {
                return json_response(
                    404,
                    json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run"}),
                );
            };
            let list: Vec<Value> = metrics
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v, "step": "3", "timestamp": "1764136800000"}))
                .collect();
            return json_response(
                200,
                json!({"run": {"info": {"run_id": run, "status": "FINISHED"}, "data": {"metrics": list}}}),
            );
        }

        // ARM from here on: a bearer is required.
        if bearer.is_none() {
            st.unauthenticated += 1;
            return json_response(
                401,
                json!({"error": {"code": "AuthenticationFailed", "message": "no token"}}),
            );
        }
        if method == "GET" && path == ws {
            return json_response(
                200,
                json!({"name": WS_NAME, "properties": {
                    "discoveryUrl": format!("{}/discovery", self.uri),
                    "mlFlowTrackingUri": format!("{}/mlflow/v1.0{ws}", self.uri),
                }}),
            );
        }
        let jobs_prefix = format!("{ws}/jobs/");
        if let Some(rest) = path.strip_prefix(&jobs_prefix) {
            let parts: Vec<&str> = rest.split('/').collect();
            let name = parts[0].to_string();
            match (method.as_str(), parts.get(1).copied()) {
                ("PUT", None) => {
                    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                    st.puts.push((path.clone(), body.clone()));
                    st.job_puts.push(name.clone());
                    let scenario = st
                        .scenario
                        .clone()
                        .unwrap_or_else(|| Scenario::statuses(&["Completed"]));
                    let mut echoed = body.clone();
                    echoed["name"] = json!(name);
                    echoed["properties"]["status"] = json!("NotStarted");
                    st.jobs.insert(
                        name,
                        Job {
                            body,
                            scenario,
                            gets: 0,
                            get_attempts: 0,
                            current: "NotStarted".into(),
                            cancel_requested: false,
                            log_reads: 0,
                        },
                    );
                    return json_response(201, echoed);
                }
                ("GET", None) => {
                    let Some(job) = st.jobs.get_mut(&name) else {
                        return not_found(&format!("the job '{name}'"));
                    };
                    job.get_attempts += 1;
                    if let Some((first, count)) = job.scenario.throttle
                        && (first..first + count).contains(&job.get_attempts)
                    {
                        st.throttled += 1;
                        return ResponseTemplate::new(429)
                            .insert_header("x-ms-retry-after-ms", "5")
                            .set_body_json(
                                json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
                            );
                    }
                    let status = if job.cancel_requested {
                        "Canceled".to_string()
                    } else {
                        let i = job.gets.min(job.scenario.statuses.len() - 1);
                        job.scenario.statuses[i].clone()
                    };
                    job.gets += 1;
                    job.current = status.clone();
                    let mut v = job.body.clone();
                    v["name"] = json!(name);
                    v["properties"]["status"] = json!(status);
                    if let Some(b) = bearer {
                        st.bearers_on_job_gets.push(b);
                    }
                    return json_response(200, v);
                }
                ("POST", Some("cancel")) => {
                    st.cancels.push((name.clone(), Instant::now()));
                    if let Some(job) = st.jobs.get_mut(&name) {
                        job.cancel_requested = true;
                    }
                    return ResponseTemplate::new(200);
                }
                _ => return not_found("the job resource"),
            }
        }
        let codes_prefix = format!("{ws}/codes/");
        if let Some(rest) = path.strip_prefix(&codes_prefix) {
            let parts: Vec<&str> = rest.split('/').collect();
            match (method.as_str(), parts.as_slice()) {
                ("GET", [_, "versions"]) => {
                    let hash = req
                        .url
                        .query_pairs()
                        .find(|(k, _)| k == "hash")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let prefix = format!("{path}/");
                    let value: Vec<Value> = st
                        .codes
                        .iter()
                        .filter(|(p, v)| {
                            p.starts_with(&prefix) && v["properties"]["properties"]["hash_sha256"] == hash
                        })
                        .map(|(_, v)| v.clone())
                        .collect();
                    return json_response(200, json!({"value": value}));
                }
                ("POST", [_, "versions", _, "startPendingUpload"]) => {
                    let container = format!("{}/store/acct/code-container", self.uri);
                    return json_response(
                        200,
                        json!({"blobReferenceForConsumption": {
                            "blobUri": format!("{container}/LocalUpload/u1"),
                            "credential": {"credentialType": "SAS", "sasUri": format!("{container}?sv=2024&sig={SAS_SIG}")},
                        }, "pendingUploadType": "TemporaryBlobReference"}),
                    );
                }
                ("PUT", [name, "versions", version]) => {
                    let mut body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                    // Azure keeps asset properties as strings.
                    if let Some(props) = body["properties"]["properties"].as_object_mut() {
                        for v in props.values_mut() {
                            if !v.is_string() {
                                *v = json!(v.to_string());
                            }
                        }
                    }
                    body["id"] = json!(path);
                    body["name"] = json!(version);
                    let _ = name;
                    st.puts.push((path.clone(), body.clone()));
                    st.codes.insert(path.clone(), body.clone());
                    return json_response(201, body);
                }
                ("GET", [_, "versions", _]) => {
                    return match st.codes.get(&path) {
                        Some(v) => json_response(200, v.clone()),
                        None => not_found("the code version"),
                    };
                }
                _ => return not_found("the code resource"),
            }
        }
        if method == "PUT" && path.starts_with(&ws) {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            st.puts.push((path.clone(), body.clone()));
            return json_response(201, body);
        }
        not_found(&format!("{method} {path}"))
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.handle(request)
    }
}

/// Start the fake on a runtime of its own (the tests themselves block on the task binary).
pub fn start() -> (tokio::runtime::Runtime, MockServer, Fake) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::start());
    let state = Arc::new(Mutex::new(State::default()));
    let uri = server.uri();
    rt.block_on(
        Mock::given(any())
            .respond_with(Responder {
                state: state.clone(),
                uri: uri.clone(),
            })
            .mount(&server),
    );
    (rt, server, Fake { state, uri })
}

/// The train binary against the fake, with a job file and a fast poll.
pub fn agent(fake: &Fake, yaml: &str) -> AgentRun {
    let mut spec = AzureRmSpec::service_principal(&format!("{}/", fake.uri), KEY);
    spec.data
        .insert("activeDirectoryAuthority".into(), format!("{}/", fake.uri));
    let run = AgentRun::new(cargo_bin("amlops-train"));
    let job = run.temp_dir().join("job.yml");
    std::fs::write(&job, yaml).unwrap();
    run.azure_rm("azureSubscription", spec)
        .input("resourceGroup", RG)
        .input("workspace", WS_NAME)
        .input("jobFile", job.to_string_lossy())
        .env("AMLOPS_POLL_INTERVAL_MS", "20")
        .secret(SAS_SIG)
}

pub const COMMAND_JOB: &str = "\
command: python train.py --epochs 3
environment: azureml:sklearn-env:1
compute: azureml:cpu-cluster
experiment_name: churn
display_name: churn training
tags:
  team: churn
";

pub const PIPELINE_JOB: &str = "\
type: pipeline
experiment_name: churn
settings:
  default_compute: azureml:cpu-cluster
jobs:
  prep:
    type: command
    command: echo prep
    environment: azureml:sklearn-env:1
  train:
    type: command
    command: echo train
    environment: azureml:sklearn-env:1
";

/// The log lines among `lines` that are one of `wanted`, in order.
pub fn picked<'a>(lines: &[&'a str], wanted: &[&str]) -> Vec<&'a str> {
    lines
        .iter()
        .copied()
        .filter(|l| wanted.contains(&l.trim()))
        .collect()
}

pub fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}
